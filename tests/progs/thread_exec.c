/* thread_exec - exec from a thread that is not the thread-group leader.
 *
 *   thread_exec [--busy] PROG [ARG...]
 *
 * The main thread first opens /etc/hostname (so the pre-exec image has a file
 * of its own), starts a second thread and then blocks forever in pause(), or
 * with --busy opens /etc/hostname in a loop, so that it is often stopped in a
 * trapped syscall when the exec kills it.
 * The second thread execve()s PROG: the kernel kills every other thread,
 * the exec'ing thread takes over the leader's pid, and only the leader's pid
 * is reported by ptrace afterwards (the old tid never reports an exit).
 * The exit status is PROG's.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static char **prog_argv;

static void *exec_thread(void *arg)
{
	(void)arg;
	if (syscall(SYS_gettid) == getpid()) {
		fprintf(stderr, "thread_exec: second thread is the leader?\n");
		_exit(97);
	}
	execv(prog_argv[0], prog_argv);
	fprintf(stderr, "thread_exec: exec %s: %s\n", prog_argv[0], strerror(errno));
	_exit(127);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: thread_exec PROG [ARG...]\n");
		return 2;
	}
	int busy = strcmp(argv[1], "--busy") == 0;
	if (busy && argc < 3) {
		fprintf(stderr, "usage: thread_exec [--busy] PROG [ARG...]\n");
		return 2;
	}
	prog_argv = argv + 1 + busy;
	int fd = open("/etc/hostname", O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
		close(fd);
	pthread_t t;
	int rc = pthread_create(&t, NULL, exec_thread, NULL);
	if (rc != 0) {
		fprintf(stderr, "thread_exec: pthread_create: %s\n", strerror(rc));
		return 1;
	}
	for (;;) {
		if (!busy) {
			pause();
			continue;
		}
		fd = open("/etc/hostname", O_RDONLY | O_CLOEXEC);
		if (fd >= 0)
			close(fd);
	}
}
