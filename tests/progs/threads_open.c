/* threads_open - N threads of one process open distinct files.
 *
 *   threads_open N DIR
 *
 * The main thread moves to "/" and starts N threads.  Thread 0 chdir()s to DIR
 * (threads share the cwd), then all threads meet at a barrier, so N+1 threads
 * are alive at once, and each thread i creates the *relative* name
 * "thread-<i>.txt", i.e. DIR/thread-<i>.txt.  A second barrier keeps them all
 * alive until every file exists.  Exits 0 after joining them all.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_barrier_t b1, b2;
static const char *dir;
static int failed;

static void *worker(void *arg)
{
	long i = (long)arg;
	if (i == 0 && chdir(dir) < 0) {
		perror("threads_open: chdir");
		failed = 1;
	}
	pthread_barrier_wait(&b1);
	char name[64];
	snprintf(name, sizeof(name), "thread-%ld.txt", i);
	int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, name, strlen(name)) < 0) {
		fprintf(stderr, "threads_open: %s: %s\n", name, strerror(errno));
		failed = 1;
	}
	if (fd >= 0)
		close(fd);
	pthread_barrier_wait(&b2);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: threads_open N DIR\n");
		return 2;
	}
	int n = atoi(argv[1]);
	dir = argv[2];
	if (n < 1 || n > 64 || chdir("/") < 0)
		return 2;
	pthread_t t[64];
	pthread_barrier_init(&b1, NULL, (unsigned)n);
	pthread_barrier_init(&b2, NULL, (unsigned)n + 1);
	for (long i = 0; i < n; i++) {
		int rc = pthread_create(&t[i], NULL, worker, (void *)i);
		if (rc != 0) {
			fprintf(stderr, "threads_open: pthread_create: %s\n", strerror(rc));
			return 1;
		}
	}
	pthread_barrier_wait(&b2); /* all N+1 threads alive here */
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	if (!failed)
		printf("threads_open: ok\n");
	return failed;
}
