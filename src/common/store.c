/* store.c - see store.h. */
#include "common/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define STORE_FORMAT "sgxpy-trace"
#define STORE_VERSION "1"

static const char schema_sql[] =
	"CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"INSERT INTO meta VALUES('format','" STORE_FORMAT "'),('version','" STORE_VERSION "');"
	"CREATE TABLE runs(id INTEGER PRIMARY KEY, argv TEXT NOT NULL, cwd TEXT NOT NULL,"
	" started TEXT NOT NULL, exit_status INTEGER);"
	"CREATE TABLE procs(run INTEGER NOT NULL, id INTEGER NOT NULL, parent INTEGER,"
	" pid INTEGER NOT NULL, kind TEXT NOT NULL, exe TEXT, argv TEXT, env TEXT, cwd TEXT,"
	" threads INTEGER NOT NULL, peak_rss_kb INTEGER, exit_status INTEGER,"
	" abi TEXT NOT NULL DEFAULT 'x86_64', PRIMARY KEY(run, id));"
	"CREATE TABLE files(run INTEGER NOT NULL, proc INTEGER NOT NULL, path TEXT NOT NULL,"
	" mode TEXT NOT NULL, err INTEGER NOT NULL, target TEXT,"
	" PRIMARY KEY(run, proc, path, mode, err)) WITHOUT ROWID;";

static int db_fail(struct store *st, struct sg_err *err, const char *what)
{
	const char *name = st->final ? st->final : st->tmp;
	return sg_fail(err, "%s: %s: %s", name ? name : "trace", what,
		       st->db ? sqlite3_errmsg(st->db) : "out of memory");
}

static int exec_sql(struct store *st, const char *sql, struct sg_err *err)
{
	if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(st, err, "write failed");
	return 0;
}

static bool is_busy(int rc)
{
	return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED;
}

/* An sgxpy trace is a rollback-journal SQLite file.  Checking the header
 * first keeps readers from ever creating -wal/-shm files beside a file that
 * someone switched to WAL, and gives foreign files a plain answer. */
static int check_header(const char *path, struct sg_err *err)
{
	unsigned char h[100];
	cleanup_fd int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return sg_fail_errno(err, "cannot open trace %s", path);
	ssize_t n = pread(fd, h, sizeof(h), 0);
	if (n != (ssize_t)sizeof(h) || memcmp(h, "SQLite format 3", 16) != 0)
		return sg_fail(err, "%s: not an sgxpy trace", path);
	if (h[18] != 1 || h[19] != 1) /* write/read version 2 = WAL */
		return sg_fail(err, "%s: not an sgxpy trace (SQLite in WAL mode)", path);
	return 0;
}

/* Check that an open database is an sgxpy trace of a version we read. */
static int check_meta(struct store *st, const char *path, struct sg_err *err)
{
	sqlite3_stmt *q = NULL;
	int rc = sqlite3_prepare_v2(st->db, "SELECT value FROM meta WHERE key='format' UNION ALL "
					    "SELECT value FROM meta WHERE key='version'",
				    -1, &q, NULL);
	if (is_busy(rc))
		return sg_fail(err, "%s: the trace is locked by another writer", path);
	if (rc != SQLITE_OK)
		return sg_fail(err, "%s: not an sgxpy trace", path);
	const char *want[2] = {STORE_FORMAT, STORE_VERSION};
	int i = 0;
	while (i < 2 && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *v = (const char *)sqlite3_column_text(q, 0);
		if (!v || strcmp(v, want[i]) != 0)
			break;
		i++;
	}
	sqlite3_finalize(q);
	if (i != 2 && is_busy(rc))
		return sg_fail(err, "%s: the trace is locked by another writer", path);
	if (i != 2)
		return sg_fail(err, "%s: not an sgxpy trace (or an unsupported version)", path);
	/* The tables we read must exist with the columns we use. */
	if (sqlite3_exec(st->db, "SELECT run,id,parent,pid,kind,exe,argv,env,cwd,threads,"
				 "peak_rss_kb,exit_status,abi FROM procs LIMIT 0;"
				 "SELECT run,proc,path,mode,err,target FROM files LIMIT 0;"
				 "SELECT id,argv,cwd,started,exit_status FROM runs LIMIT 0",
			 NULL, NULL, NULL) != SQLITE_OK)
		return sg_fail(err, "%s: damaged sgxpy trace: %s", path, sqlite3_errmsg(st->db));
	return 0;
}

static int open_db(struct store *st, const char *path, int flags, struct sg_err *err)
{
	if (sqlite3_open_v2(path, &st->db, flags, NULL) != SQLITE_OK) {
		int rc = sg_fail(err, "%s: cannot open trace: %s", path,
				 st->db ? sqlite3_errmsg(st->db) : "out of memory");
		sqlite3_close(st->db);
		st->db = NULL;
		return rc;
	}
	sqlite3_busy_timeout(st->db, 2000);
	return 0;
}

static int prepare_writes(struct store *st, struct sg_err *err)
{
	if (sqlite3_prepare_v2(st->db,
			       "INSERT OR REPLACE INTO procs(run,id,parent,pid,kind,exe,argv,env,cwd,"
			       "threads,peak_rss_kb,exit_status,abi) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)",
			       -1, &st->ins_proc, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(st->db,
			       "INSERT OR IGNORE INTO files(run,proc,path,mode,err,target) "
			       "VALUES(?,?,?,?,?,?)",
			       -1, &st->ins_file, NULL) != SQLITE_OK)
		return db_fail(st, err, "cannot prepare statements");
	return 0;
}

/* --append: hold a write lock on the old trace (as any SQLite writer would
 * see it) for the whole run, so no other writer's commit, another sgxpy
 * append included, is lost when the new file replaces it.  The lock is taken
 * on the file the path names at that moment: retried if it was replaced
 * meanwhile.  Returns 1 when there is no old trace. */
static int lock_old_trace(struct store *st, const char *path, struct sg_err *err)
{
	for (int tries = 0; tries < 100; tries++) {
		struct stat before, after;
		if (stat(path, &before) < 0)
			return errno == ENOENT ? 1 : sg_fail_errno(err, "cannot open trace %s", path);
		if (check_header(path, err) < 0)
			return -1;
		if (sqlite3_open_v2(path, &st->lock_db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
			sg_fail(err, "%s: cannot open trace", path);
			return -1;
		}
		sqlite3_busy_timeout(st->lock_db, 10000);
		int rc = sqlite3_exec(st->lock_db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
		if (is_busy(rc))
			return sg_fail(err, "%s: the trace is locked by another writer", path);
		if (rc != SQLITE_OK)
			return sg_fail(err, "%s: not an sgxpy trace", path);
		if (stat(path, &after) == 0 && after.st_ino == before.st_ino &&
		    after.st_dev == before.st_dev)
			return 0;
		sqlite3_close(st->lock_db);
		st->lock_db = NULL;
	}
	return sg_fail(err, "%s: the trace keeps being replaced by another writer", path);
}

/* Copy the locked old trace into the new one through SQLite, which sees
 * exactly the committed content.  A second, read-only connection does the
 * reading: the locking one holds a write transaction, which backup refuses. */
static int copy_old_trace(struct store *st, struct sg_err *err)
{
	sqlite3 *src = NULL;
	int rc = sqlite3_open_v2(st->final, &src, SQLITE_OPEN_READONLY, NULL);
	sqlite3_backup *b = rc == SQLITE_OK ? sqlite3_backup_init(st->db, "main", src, "main") : NULL;
	if (b) {
		rc = sqlite3_backup_step(b, -1);
		sqlite3_backup_finish(b);
	}
	sqlite3_close(src);
	if (!b || rc != SQLITE_DONE)
		return db_fail(st, err, "cannot copy the old trace");
	return 0;
}

int store_create(struct store *st, const char *path, bool append, struct sg_err *err)
{
	memset(st, 0, sizeof(*st));
	st->final = xstrdup(path);
	int old = append ? lock_old_trace(st, path, err) : 1;
	if (old < 0)
		goto fail;
	st->tmp = xasprintf("%s.tmpXXXXXX", path);
	int fd = mkostemp(st->tmp, O_CLOEXEC);
	if (fd < 0) {
		sg_fail_errno(err, "cannot create trace %s", path);
		free(st->tmp);
		st->tmp = NULL;
		goto fail;
	}
	close(fd);
	tmp_register(st->tmp);
	if (open_db(st, st->tmp, SQLITE_OPEN_READWRITE, err) < 0)
		goto fail;
	if (old == 0 && copy_old_trace(st, err) < 0)
		goto fail;
	/* One writer on a private temporary file: crash safety comes from the
	 * rename, so no journal, no fsync per commit and one lock for the run. */
	if (exec_sql(st, "PRAGMA locking_mode=EXCLUSIVE; PRAGMA journal_mode=OFF;"
			 "PRAGMA synchronous=OFF", err) < 0)
		goto fail;
	if (old == 0 ? check_meta(st, path, err) < 0
		     : exec_sql(st, "BEGIN;", err) < 0 || exec_sql(st, schema_sql, err) < 0 ||
			       exec_sql(st, "COMMIT;", err) < 0)
		goto fail;
	if (prepare_writes(st, err) < 0)
		goto fail;
	return 0;
fail:
	store_abort(st);
	return -1;
}

static int begin_batch(struct store *st, struct sg_err *err)
{
	if (st->in_txn)
		return 0;
	if (exec_sql(st, "BEGIN", err) < 0)
		return -1;
	st->in_txn = 1;
	return 0;
}

int store_flush(struct store *st, struct sg_err *err)
{
	if (!st->in_txn)
		return 0;
	st->in_txn = 0;
	return exec_sql(st, "COMMIT", err);
}

int store_begin_run(struct store *st, const char *argv_json, const char *cwd, struct sg_err *err)
{
	char started[32];
	time_t now = time(NULL);
	struct tm tm;
	strftime(started, sizeof(started), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
	sqlite3_stmt *q = NULL;
	int rc = -1;
	if (sqlite3_prepare_v2(st->db, "INSERT INTO runs(argv,cwd,started) VALUES(?,?,?)", -1, &q,
			       NULL) != SQLITE_OK)
		return db_fail(st, err, "cannot add run");
	sqlite3_bind_text(q, 1, argv_json, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, cwd, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, started, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_DONE) {
		st->run = (int)sqlite3_last_insert_rowid(st->db);
		rc = 0;
	} else {
		db_fail(st, err, "cannot add run");
	}
	sqlite3_finalize(q);
	return rc;
}

static void bind_text_or_null(sqlite3_stmt *q, int col, const char *s)
{
	if (s)
		sqlite3_bind_text(q, col, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(q, col);
}

static int step_reset(struct store *st, sqlite3_stmt *q, struct sg_err *err)
{
	int rc = sqlite3_step(q);
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	return rc == SQLITE_DONE ? 0 : db_fail(st, err, "write failed");
}

int store_add_proc(struct store *st, int run, const struct store_proc *p, struct sg_err *err)
{
	if (begin_batch(st, err) < 0)
		return -1;
	sqlite3_stmt *q = st->ins_proc;
	sqlite3_bind_int(q, 1, run);
	sqlite3_bind_int(q, 2, p->id);
	if (p->parent)
		sqlite3_bind_int(q, 3, p->parent);
	sqlite3_bind_int(q, 4, p->pid);
	bind_text_or_null(q, 5, p->kind);
	bind_text_or_null(q, 6, p->exe);
	bind_text_or_null(q, 7, p->argv_json);
	bind_text_or_null(q, 8, p->env_json);
	bind_text_or_null(q, 9, p->cwd);
	sqlite3_bind_int(q, 10, p->threads);
	if (p->peak_rss_kb >= 0)
		sqlite3_bind_int64(q, 11, p->peak_rss_kb);
	if (p->exit_status >= 0)
		sqlite3_bind_int(q, 12, p->exit_status);
	bind_text_or_null(q, 13, p->abi ? p->abi : "x86_64");
	return step_reset(st, q, err);
}

int store_add_file(struct store *st, int run, const struct store_file *f, struct sg_err *err)
{
	if (begin_batch(st, err) < 0)
		return -1;
	sqlite3_stmt *q = st->ins_file;
	sqlite3_bind_int(q, 1, run);
	sqlite3_bind_int(q, 2, f->proc);
	sqlite3_bind_text(q, 3, f->path, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, f->mode, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 5, f->err);
	bind_text_or_null(q, 6, f->target);
	return step_reset(st, q, err);
}

int store_end_run(struct store *st, int exit_status, struct sg_err *err)
{
	char sql[96];
	snprintf(sql, sizeof(sql), "UPDATE runs SET exit_status=%d WHERE id=%d", exit_status, st->run);
	if (begin_batch(st, err) < 0)
		return -1;
	return exec_sql(st, sql, err);
}

static void finalize_all(struct store *st)
{
	sqlite3_finalize(st->ins_proc);
	sqlite3_finalize(st->ins_file);
	st->ins_proc = st->ins_file = NULL;
}

int store_commit(struct store *st, struct sg_err *err)
{
	if (store_flush(st, err) < 0) {
		store_abort(st);
		return -1;
	}
	finalize_all(st);
	if (sqlite3_close(st->db) != SQLITE_OK) {
		db_fail(st, err, "cannot close");
		st->db = NULL;
		store_abort(st);
		return -1;
	}
	st->db = NULL;
	cleanup_fd int fd = open(st->tmp, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0 || rename(st->tmp, st->final) < 0) {
		sg_fail_errno(err, "cannot write trace %s", st->final);
		store_abort(st);
		return -1;
	}
	tmp_unregister(st->tmp);
	free(st->tmp);
	free(st->final);
	st->tmp = st->final = NULL;
	sqlite3_close(st->lock_db); /* the old file is replaced: release it */
	st->lock_db = NULL;
	return 0;
}

void store_abort(struct store *st)
{
	finalize_all(st);
	if (st->db)
		sqlite3_close(st->db);
	st->db = NULL;
	sqlite3_close(st->lock_db);
	st->lock_db = NULL;
	if (st->tmp) {
		unlink(st->tmp);
		tmp_unregister(st->tmp);
	}
	free(st->tmp);
	free(st->final);
	st->tmp = st->final = NULL;
}

int store_open_read(struct store *st, const char *path, struct sg_err *err)
{
	memset(st, 0, sizeof(*st));
	struct stat sb;
	if (stat(path, &sb) < 0)
		return sg_fail_errno(err, "cannot open trace %s", path);
	if (!S_ISREG(sb.st_mode))
		return sg_fail(err, "%s: not an sgxpy trace (not a regular file)", path);
	if (check_header(path, err) < 0)
		return -1;
	if (open_db(st, path, SQLITE_OPEN_READONLY, err) < 0)
		return -1;
	if (check_meta(st, path, err) < 0) {
		store_close(st);
		return -1;
	}
	return 0;
}

void store_close(struct store *st)
{
	finalize_all(st);
	if (st->db)
		sqlite3_close(st->db);
	st->db = NULL;
}

static const char *col_text(sqlite3_stmt *q, int i)
{
	return (const char *)sqlite3_column_text(q, i);
}

int store_foreach_proc(struct store *st, store_proc_cb cb, void *ctx, struct sg_err *err)
{
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(st->db,
			       "SELECT run,id,parent,pid,kind,exe,argv,env,cwd,threads,peak_rss_kb,"
			       "exit_status,abi FROM procs ORDER BY run,id",
			       -1, &q, NULL) != SQLITE_OK)
		return db_fail(st, err, "cannot read processes");
	int rc = 0, step;
	while ((step = sqlite3_step(q)) == SQLITE_ROW) {
		struct store_proc p = {
			.id = sqlite3_column_int(q, 1),
			.parent = sqlite3_column_int(q, 2),
			.pid = sqlite3_column_int(q, 3),
			.kind = col_text(q, 4),
			.exe = col_text(q, 5),
			.argv_json = col_text(q, 6),
			.env_json = col_text(q, 7),
			.cwd = col_text(q, 8),
			.threads = sqlite3_column_int(q, 9),
			.peak_rss_kb = sqlite3_column_type(q, 10) == SQLITE_NULL ? -1 : sqlite3_column_int64(q, 10),
			.exit_status = sqlite3_column_type(q, 11) == SQLITE_NULL ? -1 : sqlite3_column_int(q, 11),
			.abi = col_text(q, 12),
		};
		if (!p.kind) {
			rc = sg_fail(err, "damaged trace: process %d has no kind", p.id);
			break;
		}
		if ((rc = cb(ctx, sqlite3_column_int(q, 0), &p)) != 0)
			break;
	}
	if (rc == 0 && step != SQLITE_DONE)
		rc = db_fail(st, err, "cannot read processes");
	sqlite3_finalize(q);
	return rc;
}

int store_foreach_file(struct store *st, store_file_cb cb, void *ctx, struct sg_err *err)
{
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(st->db,
			       "SELECT run,proc,path,mode,err,target FROM files ORDER BY run,proc,path,mode",
			       -1, &q, NULL) != SQLITE_OK)
		return db_fail(st, err, "cannot read files");
	int rc = 0, step;
	while ((step = sqlite3_step(q)) == SQLITE_ROW) {
		struct store_file f = {
			.proc = sqlite3_column_int(q, 1),
			.path = col_text(q, 2),
			.mode = col_text(q, 3),
			.err = sqlite3_column_int(q, 4),
			.target = col_text(q, 5),
		};
		if (!f.path || !f.mode) {
			rc = sg_fail(err, "damaged trace: file row without path or mode");
			break;
		}
		if ((rc = cb(ctx, sqlite3_column_int(q, 0), &f)) != 0)
			break;
	}
	if (rc == 0 && step != SQLITE_DONE)
		rc = db_fail(st, err, "cannot read files");
	sqlite3_finalize(q);
	return rc;
}
