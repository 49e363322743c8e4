/* stress_procs - a bounded fork bomb: N short-lived processes.
 *
 *   stress_procs N DIR [WIDTH]
 *
 * The root keeps at most WIDTH (default 16) children alive; child i creates
 * DIR/p<i> (O_CREAT), and half of them (odd i) fork a grandchild that creates
 * DIR/g<i> before the child exits with i % 5.  The root reaps every child and
 * checks its status.  Prints one line "procs=P files=F errors=E" (P counts
 * every process created, root excluded) and exits 0 when E is 0.
 * What a tracer or supervisor must survive: many concurrent forks and exits,
 * pid reuse, children outliving nothing, grandchildren reaped by their parent. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int create(const char *dir, char kind, int i)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%c%d", dir, kind, i);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "stress_procs: %s: %s\n", path, strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: stress_procs N DIR [WIDTH]\n");
		return 2;
	}
	int n = atoi(argv[1]), width = argc == 4 ? atoi(argv[3]) : 16;
	const char *dir = argv[2];
	if (n < 1 || n > 100000 || width < 1 || width > 1024)
		return 2;
	int procs = 0, files = 0, errors = 0, alive = 0;
	for (int i = 0; i < n || alive > 0;) {
		if (i < n && alive < width) {
			pid_t pid = fork();
			if (pid < 0) {
				perror("stress_procs: fork");
				errors++;
				n = i; /* stop forking, reap the rest */
				continue;
			}
			if (pid == 0) {
				int bad = create(dir, 'p', i) < 0;
				if (i % 2) {
					pid_t g = fork();
					if (g == 0)
						_exit(create(dir, 'g', i) < 0 ? 1 : 0);
					int st;
					if (g < 0 || waitpid(g, &st, 0) != g || !WIFEXITED(st) || WEXITSTATUS(st))
						bad = 1;
				}
				_exit(bad ? 100 : i % 5);
			}
			procs += 1 + (i % 2);
			files += 1 + (i % 2);
			alive++;
			i++;
			continue;
		}
		int st;
		pid_t w = wait(&st);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			perror("stress_procs: wait");
			errors++;
			break;
		}
		alive--;
		if (!WIFEXITED(st) || WEXITSTATUS(st) >= 5)
			errors++;
	}
	printf("procs=%d files=%d errors=%d\n", procs, files, errors);
	return errors ? 1 : 0;
}
