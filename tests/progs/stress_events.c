/* stress_events - N distinct file events from one process, fast.
 *
 *   stress_events N DIR
 *
 * Opens DIR/n<i> read-only for i in [0, N): none exists, so each is one failed
 * open (ENOENT) with a distinct path: exactly one trace row each.  Prints
 * "events=N enoent=K errors=E" (K: opens that failed with ENOENT as expected)
 * and exits 0 when K == N. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: stress_events N DIR\n");
		return 2;
	}
	long n = atol(argv[1]);
	if (n < 1)
		return 2;
	long enoent = 0, errors = 0;
	char path[4096];
	for (long i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/n%ld", argv[2], i);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			close(fd);
			errors++;
		} else if (errno == ENOENT) {
			enoent++;
		} else {
			errors++;
		}
	}
	printf("events=%ld enoent=%ld errors=%ld\n", n, enoent, errors);
	return enoent == n ? 0 : 1;
}
