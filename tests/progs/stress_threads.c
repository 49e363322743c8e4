/* stress_threads - N threads opening files at the same time.
 *
 *   stress_threads N DIR ROUNDS
 *
 * N threads (at most 256) wait at a barrier, then each creates ROUNDS files
 * DIR/t<thread>-<round> (O_CREAT|O_WRONLY, writes its name), reopens each
 * read-only and checks the contents.  Prints "threads=N creates=C reads=R
 * errors=E" and exits 0 when E is 0. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_barrier_t start;
static const char *dir;
static int rounds;
static int creates, reads, errors;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void *worker(void *arg)
{
	long t = (long)arg;
	int c = 0, r = 0, e = 0;
	pthread_barrier_wait(&start);
	for (int i = 0; i < rounds; i++) {
		char path[4096], name[64], back[64] = "";
		snprintf(name, sizeof(name), "t%ld-%d", t, i);
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0 || write(fd, name, strlen(name)) != (ssize_t)strlen(name)) {
			fprintf(stderr, "stress_threads: %s: %s\n", path, strerror(errno));
			e++;
		} else {
			c++;
		}
		if (fd >= 0)
			close(fd);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd < 0 ? -1 : read(fd, back, sizeof(back) - 1);
		if (n != (ssize_t)strlen(name) || memcmp(back, name, (size_t)n) != 0) {
			fprintf(stderr, "stress_threads: %s: read back failed\n", path);
			e++;
		} else {
			r++;
		}
		if (fd >= 0)
			close(fd);
	}
	pthread_mutex_lock(&lock);
	creates += c, reads += r, errors += e;
	pthread_mutex_unlock(&lock);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: stress_threads N DIR ROUNDS\n");
		return 2;
	}
	int n = atoi(argv[1]);
	dir = argv[2];
	rounds = atoi(argv[3]);
	if (n < 1 || n > 256 || rounds < 1)
		return 2;
	pthread_t th[256];
	pthread_barrier_init(&start, NULL, (unsigned)n);
	for (long i = 0; i < n; i++) {
		int rc = pthread_create(&th[i], NULL, worker, (void *)i);
		if (rc) {
			fprintf(stderr, "stress_threads: pthread_create: %s\n", strerror(rc));
			return 1; /* the barrier would never open */
		}
	}
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	printf("threads=%d creates=%d reads=%d errors=%d\n", n, creates, reads, errors);
	return errors ? 1 : 0;
}
