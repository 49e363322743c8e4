/* thread.c - see thread.h. */
#include "common/thread.h"

#include <signal.h>
#include <time.h>

void thread_interrupt_join(pthread_t t, int sig)
{
	for (;;) {
		pthread_kill(t, sig);
		struct timespec deadline;
		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_nsec += 20 * 1000 * 1000;
		if (deadline.tv_nsec >= 1000000000) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000;
		}
		if (pthread_timedjoin_np(t, NULL, &deadline) == 0)
			return;
	}
}
