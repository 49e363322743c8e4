/* internal.h - the tracer's state, shared by its three parts: tracer.c (the
 * ptrace loop and the process tree), record.c (turning accesses into store
 * rows) and notify.c (the seccomp user-notification listener that handles
 * read-only path calls without a ptrace stop).
 *
 * Locking: `lock` guards the thread map, the process images and the store.
 * The ptrace thread holds it while it handles a stop; the notify thread
 * while it looks a tid up and while it records. */
#ifndef SGXPY_TRACE_INTERNAL_H
#define SGXPY_TRACE_INTERNAL_H

#include "common/intmap.h"
#include "common/strmap.h"
#include "trace/creds.h"
#include "trace/syscalls.h"
#include "trace/tracer.h"

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

/* How a probe checks a path (see record_probed). */
enum {
	PROBE_NOFOLLOW = 1,      /* lstat-like: a final symlink is the answer */
	PROBE_DIR = 2,           /* O_DIRECTORY: anything else is ENOTDIR */
	PROBE_OPEN_NOFOLLOW = 4, /* open(O_NOFOLLOW): a final symlink is ELOOP */
	PROBE_ACCESS = 8,        /* access(): check the mode in PROBE_ACCESS_MODE */
};
#define PROBE_WITH_ACCESS_MODE(mode) (PROBE_ACCESS | ((unsigned)(mode) & 7) << 8)
#define PROBE_ACCESS_MODE(how) (((how) >> 8) & 7)

/* How to probe a path call of this row (PROBE_*), from its arguments. */
unsigned path_probe_how(const struct sys_row *row, const uint64_t *args);

struct tproc {
	int id, parent;
	pid_t pid;
	const char *kind;
	char *exe, *argv_json, *env_json, *cwd;
	int threads, max_threads;
	long peak_rss_kb;
	int exit_status;
	const char *abi;
	struct strmap seen; /* "mode\1err\1path" already recorded */
	unsigned long records;
	bool maps_read;
	struct creds creds; /* as of the image's start or its last set*id call */
};

struct tthread {
	pid_t tid, tgid;
	struct tproc *proc;
	/* A syscall waiting for its exit stop. */
	int pending;          /* sys_table row, or -1 */
	char *path, *path2;   /* resolved at entry */
	const char *mode;     /* for opens: "read" / "write" / "stat" */
	bool creating;        /* O_CREAT */
	bool orphan;          /* seen before its creator's fork/clone event */
};

struct probe {
	struct tproc *proc;
	char *path;
	const char *mode;
	unsigned how; /* PROBE_* */
};

/* Path checks deferred until the tracee runs again. */
struct probe_queue {
	struct probe *items;
	size_t len, cap;
};

struct tracer {
	struct store *st;
	pthread_mutex_t lock;
	struct probe_queue probes; /* the ptrace thread's */
	const struct tracer_opts *opts;
	struct trace_stats *stats;
	struct intmap threads;
	struct intmap early_gone; /* orphans that exited before their creation event: tid -> tproc */
	struct creds own_creds; /* the tracer's */
	struct tproc **procs;
	size_t n_procs, cap_procs;
	pid_t root_pid;
	int root_status;
	unsigned long unflushed;
	struct sg_err store_err;
	bool store_failed;
	bool exact_now; /* take the exit stop for this call's result */
	/* The user-notification listener (-1 without one) and its thread. */
	int notify_fd;
	pthread_t notify_thread;
	bool notify_running;
	volatile sig_atomic_t notify_stopping;
};

/* record.c */
void record(struct tracer *tr, struct tproc *p, const char *path, const char *mode, int err,
	    const char *target);
void defer_probe(struct probe_queue *q, struct tproc *p, char *path, const char *mode,
		 unsigned how);
/* Queue the probes of a read-only open of path (taken) with these flags. */
void defer_open_probes(struct probe_queue *q, struct tproc *p, char *path, uint64_t flags);
void run_probes(struct tracer *tr, struct probe_queue *q);
/* The stat of X.py that Python made before loading a read __pycache__/X.*.pyc. */
void record_pyc_source(struct tracer *tr, struct tproc *p, const char *pyc);
void free_probes(struct probe_queue *q);
void record_maps(struct tracer *tr, struct tproc *p);
int arg_int(const uint64_t *args, int i);
char *resolve_at(pid_t tid, int dirfd, const char *path);
char *read_path_arg(pid_t tid, const uint64_t *args, int dirfd_arg, int path_arg);

/* tracer.c */
void proc_read_creds(struct tracer *tr, struct tproc *p, pid_t tid);

/* notify.c */
int notify_start(struct tracer *tr, int listener, struct sg_err *err);
void notify_stop(struct tracer *tr);

#endif
