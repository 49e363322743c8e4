/* stress_deep - a process tree DEPTH levels deep, by fork then exec.
 *
 *   stress_deep DEPTH DIR
 *
 * Level L (starting at DEPTH) creates DIR/d<L>; if L > 0 it forks, the child
 * execs this program again with L-1 (so every level is a fork and an exec),
 * and the parent waits and exits with the child's status.  The deepest level
 * prints "depth=DEPTH" and exits 0.  So DEPTH+1 images, DEPTH forks, DEPTH
 * execs, DEPTH+1 files, and every ancestor alive while the leaf runs. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: stress_deep DEPTH DIR\n");
		return 2;
	}
	int level = atoi(argv[1]);
	if (level < 0 || level > 1000)
		return 2;
	char path[4096];
	snprintf(path, sizeof(path), "%s/d%d", argv[2], level);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "stress_deep: %s: %s\n", path, strerror(errno));
		return 1;
	}
	close(fd);
	if (level == 0) {
		const char *d = getenv("STRESS_DEEP_TOTAL");
		printf("depth=%s\n", d ? d : "?");
		return 0;
	}
	if (level == atoi(argv[1]) && !getenv("STRESS_DEEP_TOTAL"))
		setenv("STRESS_DEEP_TOTAL", argv[1], 1);
	pid_t pid = fork();
	if (pid < 0) {
		perror("stress_deep: fork");
		return 1;
	}
	if (pid == 0) {
		char next[16];
		snprintf(next, sizeof(next), "%d", level - 1);
		char *args[] = {argv[0], next, argv[2], NULL};
		execv(argv[0], args); /* absolute: the tests pass one */
		fprintf(stderr, "stress_deep: exec: %s\n", strerror(errno));
		_exit(127);
	}
	int st;
	if (waitpid(pid, &st, 0) != pid)
		return 1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
