/* killed_child - the root process is killed by a signal while a child runs.
 *
 *   killed_child DIR SIG
 *
 * Forks a child that waits (on a pipe, no sleep) until the parent is gone,
 * then creates DIR/child.txt and exits 0.  The parent creates DIR/parent.txt
 * and kills itself with SIG (default action).  sgxpy must report 128+SIG for
 * the root and still record what the orphaned child does afterwards.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void create(const char *dir, const char *name)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, "ok\n", 3) != 3) {
		fprintf(stderr, "killed_child: %s: %s\n", path, strerror(errno));
		_exit(1);
	}
	close(fd);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: killed_child DIR SIG\n");
		return 2;
	}
	int sig = atoi(argv[2]);
	int p[2];
	if (pipe(p) < 0) {
		perror("killed_child: pipe");
		return 1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		perror("killed_child: fork");
		return 1;
	}
	if (pid == 0) {
		close(p[1]);
		char c;
		while (read(p[0], &c, 1) < 0 && errno == EINTR)
			;
		/* EOF: the parent is dead. */
		create(argv[1], "child.txt");
		_exit(0);
	}
	close(p[0]);
	create(argv[1], "parent.txt");
	signal(sig, SIG_DFL);
	raise(sig);
	for (;;)
		pause(); /* a blocked/ignored signal would leave us here: the test times out */
}
