/* exit_code - exit with a given status or die of a given signal.
 *
 *   exit_code N          exit(N)
 *   exit_code -s SIG     kill itself with signal SIG (default action restored first)
 *   exit_code -w FILE N  write "ok\n" to FILE (created), then exit(N)
 *
 * Used by the end-to-end tests for status passthrough (exit 3 -> 3,
 * SIGTERM -> 143) and as a small exec target for other test programs.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "-s") == 0) {
		int sig = atoi(argv[2]);
		signal(sig, SIG_DFL);
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, sig);
		sigprocmask(SIG_UNBLOCK, &set, NULL);
		raise(sig);
		fprintf(stderr, "exit_code: signal %d did not kill me\n", sig);
		return 99;
	}
	if (argc == 4 && strcmp(argv[1], "-w") == 0) {
		int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0 || write(fd, "ok\n", 3) != 3) {
			fprintf(stderr, "exit_code: %s: %s\n", argv[2], strerror(errno));
			return 98;
		}
		close(fd);
		return atoi(argv[3]);
	}
	if (argc == 2)
		return atoi(argv[1]);
	fprintf(stderr, "usage: exit_code N | -s SIG | -w FILE N\n");
	return 2;
}
