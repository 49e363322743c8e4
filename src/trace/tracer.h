/* tracer.h - run a command under ptrace + seccomp and record its process tree
 * and file accesses into a trace store. */
#ifndef SGXPY_TRACER_H
#define SGXPY_TRACER_H

#include "common/store.h"

#include <stdbool.h>

struct tracer_opts {
	bool with_stat; /* also stop on the stat family */
	bool exact;     /* take exit stops for every result, not only writes */
};

struct trace_stats {
	unsigned long stops, exit_stops, notifications, records, processes, threads, execs;
};

/* Trace `program` (already resolved) with argv.  Writes into st (a store with
 * a run begun).  Returns the status to exit with: the command's exit code, or
 * 128+N when it died of signal N; -1 with err on a tracer failure. */
int tracer_run(struct store *st, const char *program, char **argv,
	       const struct tracer_opts *opts, struct trace_stats *stats, struct sg_err *err);

#endif
