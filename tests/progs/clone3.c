/* clone3 - processes created with the raw clone3 syscall.
 *
 *   clone3 DIR          (DIR: an existing absolute directory)
 *
 * 1. clone3({exit_signal = SIGCHLD}): a plain child process that creates
 *    DIR/clone3_child.txt and exits 7 (the parent checks the 7).
 * 2. clone3({flags = CLONE_FS}): a child *sharing the parent's cwd* that
 *    chdir()s to DIR/sub and exits 0.  Afterwards the parent, which never
 *    called chdir itself after moving to DIR, creates the relative name
 *    "fs_parent.txt": the kernel puts it in DIR/sub/fs_parent.txt.
 * Exits 0 if everything behaved as expected.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t do_clone3(uint64_t flags)
{
	struct clone_args args;
	memset(&args, 0, sizeof(args));
	args.flags = flags;
	args.exit_signal = SIGCHLD;
	return (pid_t)syscall(SYS_clone3, &args, sizeof(args));
}

static int status_of(pid_t pid)
{
	int st;
	if (waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int main(int argc, char **argv)
{
	if (argc != 2 || argv[1][0] != '/') {
		fprintf(stderr, "usage: clone3 /ABS/DIR\n");
		return 2;
	}
	if (chdir(argv[1]) < 0 || mkdir("sub", 0755) < 0) {
		perror("clone3: setup");
		return 1;
	}
	pid_t pid = do_clone3(0);
	if (pid < 0) {
		perror("clone3: clone3");
		return errno == ENOSYS ? 77 : 1;
	}
	if (pid == 0) {
		int fd = open("clone3_child.txt", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		_exit(fd >= 0 ? 7 : 1);
	}
	int st = status_of(pid);
	if (st != 7) {
		fprintf(stderr, "clone3: plain child exited %d, expected 7\n", st);
		return 1;
	}

	pid = do_clone3(CLONE_FS);
	if (pid < 0) {
		perror("clone3: clone3(CLONE_FS)");
		return 1;
	}
	if (pid == 0)
		_exit(chdir("sub") == 0 ? 0 : 1);
	st = status_of(pid);
	if (st != 0) {
		fprintf(stderr, "clone3: CLONE_FS child exited %d\n", st);
		return 1;
	}
	int fd = open("fs_parent.txt", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		perror("clone3: fs_parent.txt");
		return 1;
	}
	close(fd);
	struct stat s;
	if (stat("../sub/fs_parent.txt", &s) < 0) {
		fprintf(stderr, "clone3: CLONE_FS did not share the cwd\n");
		return 1;
	}
	printf("clone3: ok\n");
	return 0;
}
