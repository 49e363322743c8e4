/* spawn - create children with vfork+exec and with posix_spawn.
 *
 *   spawn DIR
 *
 * 1. vfork(); the child first tries to exec DIR/missing-program (fails with
 *    ENOENT, still inside the vfork child), then execs this program again as
 *    `spawn --child DIR/vfork.out`.
 * 2. posix_spawn() (glibc: clone(CLONE_VM|CLONE_VFORK) or clone3) of
 *    `spawn --child DIR/posix_spawn.out`.
 * Each child creates its file and writes "child\n".  The parent waits for both
 * and exits 0 only if both exited 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int child(const char *out)
{
	int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, "child\n", 6) != 6) {
		fprintf(stderr, "spawn: %s: %s\n", out, strerror(errno));
		return 1;
	}
	close(fd);
	return 0;
}

static int wait_ok(pid_t pid, const char *what)
{
	int st;
	if (waitpid(pid, &st, 0) < 0) {
		fprintf(stderr, "spawn: waitpid %s: %s\n", what, strerror(errno));
		return 0;
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "spawn: %s child failed (status 0x%x)\n", what, st);
		return 0;
	}
	return 1;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--child") == 0)
		return child(argv[2]);
	if (argc != 2) {
		fprintf(stderr, "usage: spawn DIR\n");
		return 2;
	}
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0) {
		perror("spawn: /proc/self/exe");
		return 1;
	}
	self[n] = '\0';

	char missing[PATH_MAX], out1[PATH_MAX], out2[PATH_MAX];
	snprintf(missing, sizeof(missing), "%s/missing-program", argv[1]);
	snprintf(out1, sizeof(out1), "%s/vfork.out", argv[1]);
	snprintf(out2, sizeof(out2), "%s/posix_spawn.out", argv[1]);

	/* Everything the vfork child touches is prepared before vfork(). */
	char *argv_missing[] = {missing, NULL};
	char *argv1[] = {self, "--child", out1, NULL};
	pid_t p1 = vfork();
	if (p1 < 0) {
		perror("spawn: vfork");
		return 1;
	}
	if (p1 == 0) {
		execve(missing, argv_missing, environ);
		execve(self, argv1, environ);
		_exit(127);
	}

	char *argv2[] = {self, "--child", out2, NULL};
	pid_t p2;
	int rc = posix_spawn(&p2, self, NULL, NULL, argv2, environ);
	if (rc != 0) {
		fprintf(stderr, "spawn: posix_spawn: %s\n", strerror(rc));
		return 1;
	}
	int ok = wait_ok(p1, "vfork") & wait_ok(p2, "posix_spawn");
	if (ok)
		printf("spawn: ok\n");
	return ok ? 0 : 1;
}
