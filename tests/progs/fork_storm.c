/* fork_storm - many short-lived processes at once, some killed mid-syscall.
 *
 *   fork_storm DIR N
 *
 * Forks N children without waiting in between.  Child i forks a grandchild
 * that creates DIR/g<i>.txt and exits i%7; the child creates DIR/c<i>.txt,
 * waits for its grandchild, checks its status and exits 0.  Then the parent
 * forks N "spinners" that open /etc/hostname in a loop, and kills each with
 * SIGKILL once it has started (so the tracer sees processes die at arbitrary
 * points, often inside a trapped syscall).  Exits 0 if every child exited 0
 * and every spinner died of SIGKILL.
 * Races the tracer must survive: children that stop before their parent's
 * fork event is seen, deaths while stopped, pid reuse within one run.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void create(const char *dir, char kind, int i)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%c%d.txt", dir, kind, i);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "fork_storm: %s: %s\n", path, strerror(errno));
		_exit(90);
	}
	close(fd);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: fork_storm DIR N\n");
		return 2;
	}
	const char *dir = argv[1];
	int n = atoi(argv[2]);
	if (n < 1 || n > 500)
		return 2;
	pid_t *kids = calloc((size_t)n, sizeof(pid_t));
	for (int i = 0; i < n; i++) {
		kids[i] = fork();
		if (kids[i] < 0) {
			perror("fork_storm: fork");
			return 1;
		}
		if (kids[i] == 0) {
			pid_t g = fork();
			if (g == 0) {
				create(dir, 'g', i);
				_exit(i % 7);
			}
			create(dir, 'c', i);
			int st;
			if (g < 0 || waitpid(g, &st, 0) != g || !WIFEXITED(st) ||
			    WEXITSTATUS(st) != i % 7)
				_exit(91);
			_exit(0);
		}
	}
	int bad = 0;
	for (int i = 0; i < n; i++) {
		int st;
		if (waitpid(kids[i], &st, 0) != kids[i] || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "fork_storm: child %d failed (0x%x)\n", i, st);
			bad = 1;
		}
	}
	for (int i = 0; i < n; i++) {
		int p[2];
		if (pipe(p) < 0)
			return 1;
		pid_t s = fork();
		if (s == 0) {
			close(p[0]);
			if (write(p[1], "x", 1) != 1)
				_exit(92);
			for (;;) {
				int fd = open("/etc/hostname", O_RDONLY | O_CLOEXEC);
				if (fd >= 0)
					close(fd);
			}
		}
		close(p[1]);
		char c;
		if (read(p[0], &c, 1) != 1)
			bad = 1;
		close(p[0]);
		kill(s, SIGKILL);
		int st;
		if (waitpid(s, &st, 0) != s || !WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL) {
			fprintf(stderr, "fork_storm: spinner %d not killed (0x%x)\n", i, st);
			bad = 1;
		}
	}
	free(kids);
	if (!bad)
		printf("fork_storm: ok\n");
	return bad;
}
