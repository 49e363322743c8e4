/* store.h - the trace store: one SQLite file, schema in docs/formats.md.
 *
 * Writer: store_create() makes a temporary copy beside the target (of the old
 * file with --append), events go in through batched transactions, and
 * store_commit() renames it into place: readers see the old file or a whole new one.
 * Reader: store_open_read() refuses anything that is not an sgxpy trace. */
#ifndef SGXPY_STORE_H
#define SGXPY_STORE_H

#include "common/util.h"

#include <sqlite3.h>
#include <stdint.h>

struct store {
	sqlite3 *db;
	char *final; /* NULL when opened for reading */
	char *tmp;
	sqlite3 *lock_db; /* --append: the old trace, write-locked until commit */
	int run;     /* run id being written */
	sqlite3_stmt *ins_proc, *ins_file;
	int in_txn;
};

struct store_proc {
	int id, parent; /* parent 0 = none */
	int pid;
	const char *kind; /* "root", "fork", "exec" */
	const char *exe, *argv_json, *env_json, *cwd;
	int threads;
	long peak_rss_kb;  /* -1 unknown */
	int exit_status;   /* -1 unknown */
	const char *abi;
};

struct store_file {
	int proc;
	const char *path, *mode, *target;
	int err;
};

int store_create(struct store *st, const char *path, bool append, struct sg_err *err);
int store_begin_run(struct store *st, const char *argv_json, const char *cwd, struct sg_err *err);
int store_add_file(struct store *st, int run, const struct store_file *f, struct sg_err *err);
int store_add_proc(struct store *st, int run, const struct store_proc *p, struct sg_err *err);
int store_end_run(struct store *st, int exit_status, struct sg_err *err);
/* Flush the current batch (a transaction boundary). */
int store_flush(struct store *st, struct sg_err *err);
int store_commit(struct store *st, struct sg_err *err);
void store_abort(struct store *st);

int store_open_read(struct store *st, const char *path, struct sg_err *err);
void store_close(struct store *st);

/* Reader callbacks, called in (run, id) / (run, proc, path, mode) order. */
typedef int (*store_proc_cb)(void *ctx, int run, const struct store_proc *p);
typedef int (*store_file_cb)(void *ctx, int run, const struct store_file *f);
int store_foreach_proc(struct store *st, store_proc_cb cb, void *ctx, struct sg_err *err);
int store_foreach_file(struct store *st, store_file_cb cb, void *ctx, struct sg_err *err);

#endif
