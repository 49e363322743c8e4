/* record.c - from an access to a store row: per-image deduplication, the
 * tracer's own checks of a path (probes), the implied .py stat of a .pyc,
 * executable mappings from /proc/PID/maps, and syscall path arguments.
 * Callers hold tr->lock (see internal.h). */
#include "common/path.h"
#include "trace/internal.h"
#include "common/tracee.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define FLUSH_EVERY 8192

void record(struct tracer *tr, struct tproc *p, const char *path, const char *mode, int err,
		   const char *target)
{
	if (!p || !path || (path[0] != '/' && strcmp(mode, "syscall") != 0))
		return; /* sockets, pipes, anon inodes: not files */
	char key[PATH_MAX + 48];
	snprintf(key, sizeof(key), "%s\1%d\1%s", mode, err, path);
	int added;
	strmap_put(&p->seen, key, &added);
	if (!added)
		return;
	if (target && strcmp(target, path) == 0)
		target = NULL;
	p->records++;
	tr->stats->records++;
	if (tr->store_failed)
		return;
	struct store_file f = {.proc = p->id, .path = path, .mode = mode, .err = err, .target = target};
	if (store_add_file(tr->st, tr->st->run, &f, &tr->store_err) < 0 ||
	    (++tr->unflushed >= FLUSH_EVERY && store_flush(tr->st, &tr->store_err) < 0))
		tr->store_failed = true;
	if (tr->unflushed >= FLUSH_EVERY)
		tr->unflushed = 0;
}

/* Python loads DIR/__pycache__/NAME.TAG.pyc after a stat of DIR/NAME.py
 * that the default filter does not trap (too many stops): record that stat
 * as the tracer sees the source now, so the trace holds what the
 * interpreter checked (the .py's mtime and size validate the .pyc). */
static void record_probed(struct tracer *tr, struct tproc *p, const char *path, const char *mode,
			  unsigned how);

void record_pyc_source(struct tracer *tr, struct tproc *p, const char *pyc)
{
	const char *slash = strrchr(pyc, '/');
	size_t len = strlen(pyc);
	if (tr->opts->with_stat || !slash || len < 4 || strcmp(pyc + len - 4, ".pyc") != 0 ||
	    slash - pyc < 12 || strncmp(slash - 12, "/__pycache__", 12) != 0)
		return;
	const char *name = slash + 1, *dot = strchr(name, '.');
	char src[PATH_MAX];
	int n = snprintf(src, sizeof(src), "%.*s/%.*s.py", (int)(slash - 12 - pyc), pyc,
			 (int)(dot - name), name);
	if (n > 0 && (size_t)n < sizeof(src))
		record_probed(tr, p, src, "stat", 0);
}

/* Without an exit stop, the outcome is what the path is at the time of the
 * call: the tracer looks itself while the tracee is still stopped.  One
 * O_PATH open gives both the error and, through /proc/self/fd, the kernel's
 * resolved path (cheaper than realpath's lstat per component). */
/* The tracer's name for what the app named: magic links that mean "the
 * calling process" would otherwise be resolved as the tracer itself. */
static const char *tracee_view(const char *path, pid_t pid, char *buf, size_t size)
{
	static const struct {
		const char *alias, *real;
	} aliases[] = {
		{"/proc/self", ""}, {"/proc/thread-self", ""}, {"/dev/fd", "/fd"},
		{"/dev/stdin", "/fd/0"}, {"/dev/stdout", "/fd/1"}, {"/dev/stderr", "/fd/2"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(aliases); i++) {
		size_t n = strlen(aliases[i].alias);
		if (strncmp(path, aliases[i].alias, n) == 0 && (path[n] == '\0' || path[n] == '/')) {
			int len = snprintf(buf, size, "/proc/%d%s%s", pid, aliases[i].real, path + n);
			return len > 0 && (size_t)len < size ? buf : path;
		}
	}
	return path;
}

static void record_probed(struct tracer *tr, struct tproc *p, const char *path, const char *mode,
			  unsigned how)
{
	char buf[PATH_MAX];
	const char *where = tracee_view(path, p->pid, buf, sizeof(buf));
	bool nofollow = how & (PROBE_NOFOLLOW | PROBE_OPEN_NOFOLLOW);
	bool as_app = creds_enter(&tr->own_creds, &p->creds);
	cleanup_fd int fd = open(where, O_PATH | O_CLOEXEC | (nofollow ? O_NOFOLLOW : 0));
	int err = fd < 0 ? errno : 0;
	struct stat sb;
	if (!err && (how & (PROBE_DIR | PROBE_OPEN_NOFOLLOW)) && fstat(fd, &sb) < 0)
		err = errno;
	if (!err && (how & PROBE_OPEN_NOFOLLOW) && S_ISLNK(sb.st_mode))
		err = ELOOP; /* O_PATH|O_NOFOLLOW opens the link itself; open() refuses */
	if (!err && (how & PROBE_DIR) && !S_ISDIR(sb.st_mode))
		err = ENOTDIR;
	/* O_PATH needs no permission on the file itself: ask as the app would
	 * (AT_EACCESS: with the fs credentials just adopted). */
	bool reads = strcmp(mode, "read") == 0 || strcmp(mode, "list") == 0;
	if (!err && as_app && reads && faccessat(AT_FDCWD, where, R_OK, AT_EACCESS) < 0)
		err = errno;
	if (!err && (how & PROBE_ACCESS) &&
	    faccessat(AT_FDCWD, where, (int)PROBE_ACCESS_MODE(how), AT_EACCESS) < 0)
		err = errno;
	if (as_app)
		creds_leave(&tr->own_creds);
	cleanup_free char *target = err || nofollow ? NULL : proc_fd_path(getpid(), fd);
	record(tr, p, path, mode, err, target);
	if (err == 0 && strcmp(mode, "read") == 0)
		record_pyc_source(tr, p, path);
}

/* Probes run after the tracee is resumed, in parallel with it: they look at
 * the file system, not at the tracee, whose memory and fd table were read
 * before resuming.  (The answer is as racy before as after: the call itself
 * runs concurrently with any probe.) */
void defer_probe(struct probe_queue *q, struct tproc *p, char *path, const char *mode, unsigned how)
{
	grow_array(&q->items, &q->cap, q->len, sizeof(*q->items));
	q->items[q->len++] = (struct probe){p, path, mode, how};
}

void defer_open_probes(struct probe_queue *q, struct tproc *p, char *path, uint64_t flags)
{
	const char *mode = (flags & O_PATH) ? "stat" : "read";
	bool opendir = (flags & O_DIRECTORY) && !(flags & O_PATH);
	unsigned how = opendir ? PROBE_DIR : 0;
	if (flags & O_NOFOLLOW)
		how |= (flags & O_PATH) ? PROBE_NOFOLLOW : PROBE_OPEN_NOFOLLOW;
	if (opendir) /* getdents is not trapped by default: see syscalls.c */
		defer_probe(q, p, xstrdup(path), "list", how);
	defer_probe(q, p, path, mode, how);
}

void run_probes(struct tracer *tr, struct probe_queue *q)
{
	for (size_t i = 0; i < q->len; i++) {
		struct probe *pr = &q->items[i];
		record_probed(tr, pr->proc, pr->path, pr->mode, pr->how);
		free(pr->path);
	}
	q->len = 0;
}

void free_probes(struct probe_queue *q)
{
	for (size_t i = 0; i < q->len; i++)
		free(q->items[i].path);
	free(q->items);
	*q = (struct probe_queue){0};
}

/* Executable file mappings, read from /proc/PID/maps when an image ends
 * (exit, or exec replacing it): mmap itself is not trapped, since every
 * mapped file was opened first and the stops would cost more than this. */
void record_maps(struct tracer *tr, struct tproc *p)
{
	char path[64];
	cleanup_free char *maps = NULL;
	if (!p || p->maps_read || (!p->exe && strcmp(p->kind, "root") == 0))
		return; /* nothing yet, or sgxpy's own image before the first exec */
	snprintf(path, sizeof(path), "/proc/%d/maps", p->pid);
	if (read_file(path, &maps, NULL, NULL) < 0)
		return;
	p->maps_read = true;
	for (char *line = maps; line && *line;) {
		char *next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		char perms[8] = "";
		int off = 0;
		/* address perms offset dev inode path */
		if (sscanf(line, "%*s %7s %*s %*s %*s %n", perms, &off) == 1 && perms[2] == 'x' && off > 0 &&
		    line[off] == '/' && !strstr(line + off, " (deleted)"))
			record(tr, p, line + off, "map", 0, NULL);
		line = next;
	}
}

int arg_int(const uint64_t *args, int i)
{
	/* Compare the low 32 bits only: a 32-bit AT_FDCWD arrives as 4294967196. */
	return (int)(uint32_t)args[i];
}

/* Absolute, normal path for (dirfd, path) as the tracee sees it. */
char *resolve_at(pid_t tid, int dirfd, const char *path)
{
	if (!path)
		return NULL;
	if (path[0] == '/')
		return path_resolve(NULL, path);
	cleanup_free char *base = dirfd == AT_FDCWD || dirfd == -1 ? proc_link(tid, "cwd")
								    : proc_fd_path(tid, dirfd);
	if (!base || base[0] != '/')
		return NULL;
	return path_resolve(base, path);
}

char *read_path_arg(pid_t tid, const uint64_t *args, int dirfd_arg, int path_arg)
{
	cleanup_free char *raw = tracee_read_string(tid, args[path_arg]);
	if (!raw || raw[0] == '\0')
		return NULL; /* bad pointer, or "" with AT_EMPTY_PATH: an fd, not a path */
	int dirfd = dirfd_arg >= 0 ? arg_int(args, dirfd_arg) : AT_FDCWD;
	return resolve_at(tid, dirfd, raw);
}

unsigned path_probe_how(const struct sys_row *row, const uint64_t *args)
{
	unsigned how = 0;
	if ((row->opt & SO_NOFOLLOW) ||
	    (row->flags >= 0 && (arg_int(args, row->flags) & AT_SYMLINK_NOFOLLOW)))
		how |= PROBE_NOFOLLOW;
	if (row->opt & SO_ACCESS) /* access(path, mode), faccessat(dirfd, path, mode, ...) */
		how |= PROBE_WITH_ACCESS_MODE(arg_int(args, row->path + 1));
	return how;
}
