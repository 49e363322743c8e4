/* notify.c - the read-only half of the tracer: a thread that serves the
 * filter's SECCOMP_RET_USER_NOTIF calls (read-only opens, access, readlink,
 * chdir, and the stat family with --stat).
 *
 * For each notification it reads the path from the caller's memory while
 * the caller waits, answers CONTINUE (the call then runs as if untraced),
 * and only then checks the path and records it.  Nothing here decides
 * anything: the trace is the build stage, not a security boundary, so the
 * well-known race of reading a waiting thread's memory (seccomp_unotify(2))
 * costs at worst an inexact record, never a bypass. */
#include "common/thread.h"
#include "trace/internal.h"
#include "common/tracee.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>

#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP 1
#endif

struct notify_buffers {
	struct seccomp_notif *req;
	struct seccomp_notif_resp *resp;
	size_t req_size, resp_size;
};

static int alloc_buffers(struct notify_buffers *b)
{
	struct seccomp_notif_sizes sizes;
	if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) < 0)
		return -1;
	/* The kernel may know a larger struct than our headers. */
	b->req_size = sizes.seccomp_notif > sizeof(*b->req) ? sizes.seccomp_notif : sizeof(*b->req);
	b->resp_size = sizes.seccomp_notif_resp > sizeof(*b->resp) ? sizes.seccomp_notif_resp
								    : sizeof(*b->resp);
	b->req = xcalloc(1, b->req_size);
	b->resp = xcalloc(1, b->resp_size);
	return 0;
}

/* The image a calling thread belongs to, as of its call. */
static struct tproc *caller_image(struct tracer *tr, pid_t tid)
{
	pthread_mutex_lock(&tr->lock);
	struct tthread *t = intmap_get(&tr->threads, tid);
	struct tproc *p = t ? t->proc : NULL;
	pthread_mutex_unlock(&tr->lock);
	return p;
}

/* Queue what this call tells (before answering: the path is read while the
 * caller still waits). */
static void queue_call(struct probe_queue *q, struct tproc *p, pid_t tid, const struct sys_row *row,
		       const uint64_t *args)
{
	char *path = read_path_arg(tid, args, row->dirfd, row->path);
	if (!path)
		return;
	if (row->kind == SK_OPEN) {
		defer_open_probes(q, p, path, (uint32_t)args[row->flags]);
		return;
	}
	defer_probe(q, p, path, row->mode, path_probe_how(row, args));
}

/* True once no process uses the filter any more: RECV would then fail at
 * once, again and again, so the thread must stop rather than spin. */
static bool listener_orphaned(int fd)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	return poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLHUP | POLLERR));
}

/* Serve one notification; false when the thread should stop. */
static bool serve_one(struct tracer *tr, int fd, struct notify_buffers *b, struct probe_queue *q)
{
	memset(b->req, 0, b->req_size);
	if (ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, b->req) < 0) {
		/* EINTR: maybe stopping; ENOENT: the caller died meanwhile, or
		 * every process is gone. */
		if (errno == EINTR)
			return true;
		if (listener_orphaned(fd))
			return false;
		if (errno != ENOENT && !tr->notify_stopping)
			pause(); /* unexpected: wait for the stop signal, never spin */
		return true;
	}
	const struct sys_row *row = sys_notify_row(b->req->data.nr);
	struct tproc *p = row ? caller_image(tr, (pid_t)b->req->pid) : NULL;
	if (p) {
		uint64_t args[6];
		for (int i = 0; i < 6; i++)
			args[i] = b->req->data.args[i];
		queue_call(q, p, (pid_t)b->req->pid, row, args);
	}

	memset(b->resp, 0, b->resp_size);
	b->resp->id = b->req->id;
	b->resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
	ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, b->resp); /* ENOENT: caller gone */

	if (q->len) {
		pthread_mutex_lock(&tr->lock);
		tr->stats->notifications++;
		run_probes(tr, q);
		pthread_mutex_unlock(&tr->lock);
	}
	return true;
}

/* The thread blocks in NOTIF_RECV itself, not in poll(): only that wait is
 * woken on the notifying CPU by SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP.  It is
 * stopped by a signal (its handler does nothing; without SA_RESTART the
 * ioctl returns EINTR and the loop sees the stop flag). */
#define STOP_SIGNAL SIGRTMIN

static void on_stop_signal(int sig)
{
	(void)sig;
}

static void *notify_main(void *arg)
{
	struct tracer *tr = arg;
	struct notify_buffers b;
	struct probe_queue q = {0};
	if (alloc_buffers(&b) < 0)
		return NULL;
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, STOP_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &stop, NULL);
	while (!tr->notify_stopping && serve_one(tr, tr->notify_fd, &b, &q))
		;
	free_probes(&q);
	free(b.req);
	free(b.resp);
	return NULL;
}

int notify_start(struct tracer *tr, int listener, struct sg_err *err)
{
	tr->notify_fd = listener;
	/* Wake the caller on our CPU (6.6+): the cheapest round trip the
	 * kernel offers; older kernels refuse the flag, which is fine. */
	ioctl(listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP);
	struct sigaction sa = {.sa_handler = on_stop_signal}; /* no SA_RESTART */
	sigaction(STOP_SIGNAL, &sa, NULL);
	int rc = pthread_create(&tr->notify_thread, NULL, notify_main, tr);
	if (rc != 0) {
		errno = rc;
		return sg_fail_errno(err, "cannot start the notification thread");
	}
	tr->notify_running = true;
	return 0;
}

void notify_stop(struct tracer *tr)
{
	if (tr->notify_running) {
		tr->notify_stopping = 1;
		thread_interrupt_join(tr->notify_thread, STOP_SIGNAL);
		tr->notify_running = false;
	}
	if (tr->notify_fd >= 0)
		close(tr->notify_fd);
	tr->notify_fd = -1;
}
