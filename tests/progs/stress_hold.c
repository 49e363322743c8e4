/* stress_hold - a process tree that stays alive, for killing its supervisor.
 *
 *   stress_hold DEPTH SECONDS PIDFILE
 *
 * Builds a fork chain DEPTH levels deep; odd levels exec this program again
 * (absolute argv[0]) so the tree holds several images.  Every process appends
 * "<pid>\n" to PIDFILE (O_APPEND, one write) and then sleeps SECONDS (the
 * leaf) or waits for its child.  With SECONDS 0 it is a quick run to trace.
 * Exits 0 when every child exited 0. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int level_main(int level, int seconds, const char *pidfile, const char *self);

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: stress_hold DEPTH SECONDS PIDFILE\n");
		return 2;
	}
	int level = atoi(argv[1]), seconds = atoi(argv[2]);
	if (level < 0 || level > 1000 || seconds < 0)
		return 2;
	return level_main(level, seconds, argv[3], argv[0]);
}

static int level_main(int level, int seconds, const char *pidfile, const char *self)
{
	char line[32];
	int n = snprintf(line, sizeof(line), "%d\n", (int)getpid());
	int fd = open(pidfile, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, line, (size_t)n) != n) {
		fprintf(stderr, "stress_hold: %s: %s\n", pidfile, strerror(errno));
		return 1;
	}
	close(fd);
	if (level == 0) {
		struct timespec ts = {seconds, 0};
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
		return 0;
	}
	pid_t pid = fork();
	if (pid < 0) {
		perror("stress_hold: fork");
		return 1;
	}
	if (pid == 0) {
		if (level % 2) {
			char l[16], s[16];
			snprintf(l, sizeof(l), "%d", level - 1);
			snprintf(s, sizeof(s), "%d", seconds);
			char *args[] = {(char *)self, l, s, (char *)pidfile, NULL};
			execv(self, args);
			_exit(127);
		}
		_exit(level_main(level - 1, seconds, pidfile, self));
	}
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return 1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
