/* clone_fs - a child process created with clone(CLONE_FS) (not a thread)
 * sees the parent's later chdir().
 *
 *   clone_fs DIR        (DIR: an existing absolute directory)
 *
 * The parent moves to "/", creates the child with clone(CLONE_FS|SIGCHLD)
 * (glibc wrapper, own stack), then chdir()s to DIR and tells the child over a
 * pipe.  The child, which never called chdir, creates the relative name
 * "fs_child.txt": DIR/fs_child.txt.  A tracer that keeps one cwd per process
 * and copies it at clone time records /fs_child.txt instead.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int pipefd[2];

static int child_fn(void *arg)
{
	(void)arg;
	char c;
	if (read(pipefd[0], &c, 1) != 1)
		return 3;
	int fd = open("fs_child.txt", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return 1;
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 2 || argv[1][0] != '/') {
		fprintf(stderr, "usage: clone_fs /ABS/DIR\n");
		return 2;
	}
	if (pipe(pipefd) < 0 || chdir("/") < 0) {
		perror("clone_fs: setup");
		return 1;
	}
	size_t size = 256 * 1024;
	char *stack = malloc(size);
	if (!stack)
		return 1;
	pid_t pid = clone(child_fn, stack + size, CLONE_FS | SIGCHLD, NULL);
	if (pid < 0) {
		perror("clone_fs: clone");
		return 1;
	}
	if (chdir(argv[1]) < 0 || write(pipefd[1], "x", 1) != 1) {
		perror("clone_fs: chdir");
		return 1;
	}
	int st;
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "clone_fs: child failed (0x%x)\n", st);
		return 1;
	}
	if (access("fs_child.txt", F_OK) < 0) {
		fprintf(stderr, "clone_fs: CLONE_FS did not share the cwd\n");
		return 1;
	}
	printf("clone_fs: ok\n");
	return 0;
}
