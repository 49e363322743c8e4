/* thread.h - stopping a thread that is blocked in a syscall (the seccomp
 * listeners of trace and run wait in SECCOMP_IOCTL_NOTIF_RECV). */
#ifndef SGXPY_THREAD_H
#define SGXPY_THREAD_H

#include <pthread.h>

/* Send sig to t until it has exited, then join it.  The caller has already
 * set the flag t checks; sig's handler must be installed without SA_RESTART
 * so the blocked call returns EINTR.  Sent again every 20 ms: t may have been
 * between its check of the flag and the call when the first one came. */
void thread_interrupt_join(pthread_t t, int sig);

#endif
