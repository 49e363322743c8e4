/* thread.c - see thread.h. */
#include "common/thread.h"
#include "common/util.h"

#include <signal.h>
#include <time.h>

void thread_interrupt_join(pthread_t t, int sig)
{
	for (;;) {
		pthread_kill(t, sig);
		struct timespec deadline = realtime_after_ns(20 * 1000 * 1000);
		if (pthread_timedjoin_np(t, NULL, &deadline) == 0)
			return;
	}
}
