/* tracer.c - the ptrace loop: follows every thread and process of the tree,
 * turns seccomp stops into file records, and keeps one `tproc` per process
 * image (root, forked copy, exec'd program) as in docs/formats.md.
 *
 * Mechanism: the child installs the filter of syscalls.c and execs; the
 * tracer is attached with PTRACE_SEIZE before that (EXITKILL: if sgxpy dies,
 * the tree dies with it), and the TRACEFORK/VFORK/CLONE options follow every
 * descendant.  A tracee stops only on trapped syscalls; it is resumed with
 * PTRACE_CONT, or with PTRACE_SYSCALL when its row needs the result.
 * Threads live in an O(1) tid map; file records are deduplicated per image
 * in memory and reach the store in batched transactions. */
#include "trace/tracer.h"
#include "common/intmap.h"
#include "common/path.h"
#include "common/strmap.h"
#include "trace/elf.h"
#include "trace/syscalls.h"
#include "trace/tracee.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/audit.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#define FLUSH_EVERY 8192

/* How a probe checks a path (see record_probed). */
enum {
	PROBE_NOFOLLOW = 1, /* lstat-like: a final symlink is the answer */
	PROBE_DIR = 2,      /* O_DIRECTORY: anything else is ENOTDIR */
	PROBE_OPEN_NOFOLLOW = 4, /* open(O_NOFOLLOW): a final symlink is ELOOP */
};
#define MAX_SHEBANG_DEPTH 4 /* the kernel's own limit (BINPRM recursion) */

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

struct tracer {
	struct store *st;
	struct probe *probes; /* checks deferred until the tracee runs again */
	size_t n_probes, cap_probes;
	const struct tracer_opts *opts;
	struct trace_stats *stats;
	struct intmap threads;
	struct intmap early_gone; /* orphans that exited before their creation event: tid -> tproc */
	struct tproc **procs;
	size_t n_procs, cap_procs;
	pid_t root_pid;
	int root_status;
	unsigned long unflushed;
	struct sg_err store_err;
	bool store_failed;
	bool exact_now; /* take the exit stop for this call's result */
};

/* ---- processes and threads ------------------------------------------- */

static struct tproc *proc_new(struct tracer *tr, const char *kind, int parent, pid_t pid)
{
	struct tproc *p = xcalloc(1, sizeof(*p));
	p->id = (int)tr->n_procs + 1;
	p->parent = parent;
	p->pid = pid;
	p->kind = kind;
	p->threads = p->max_threads = 1;
	p->peak_rss_kb = -1;
	p->exit_status = -1;
	p->abi = "x86_64";
	p->cwd = proc_link(pid, "cwd");
	grow_array(&tr->procs, &tr->cap_procs, tr->n_procs, sizeof(*tr->procs));
	tr->procs[tr->n_procs++] = p;
	tr->stats->processes++;
	return p;
}

static void proc_free(struct tproc *p)
{
	free(p->exe);
	free(p->argv_json);
	free(p->env_json);
	free(p->cwd);
	strmap_free(&p->seen);
	free(p);
}

static void thread_clear_pending(struct tthread *t)
{
	free(t->path);
	free(t->path2);
	t->path = t->path2 = NULL;
	t->pending = -1;
	t->mode = NULL;
	t->creating = false;
}

static void thread_free(struct tthread *t)
{
	thread_clear_pending(t);
	free(t);
}

static void proc_add_thread(struct tproc *p)
{
	if (++p->threads > p->max_threads)
		p->max_threads = p->threads;
}

/* First sight of a tid: from its creator's fork/clone event, or from its own
 * first stop when that comes first (creator then found through PPid). */
static struct tthread *thread_attach(struct tracer *tr, pid_t tid, struct tthread *creator)
{
	struct tthread *t = xcalloc(1, sizeof(*t));
	t->tid = tid;
	t->pending = -1;
	long tgid = proc_status_field(tid, "Tgid");
	t->tgid = tgid > 0 ? (pid_t)tgid : tid;
	intmap_put(&tr->threads, tid, t);

	if (t->tgid != tid) { /* a thread joins its group's image */
		t->orphan = !creator;
		struct tthread *leader = intmap_get(&tr->threads, t->tgid);
		t->proc = leader ? leader->proc : creator ? creator->proc : NULL;
		if (t->proc)
			proc_add_thread(t->proc);
		tr->stats->threads++;
		return t;
	}
	if (!creator && tid != tr->root_pid) {
		/* Provisional: PPid names the creator's group, corrected (for
		 * CLONE_PARENT) when the creator's event arrives. */
		t->orphan = true;
		long ppid = proc_status_field(tid, "PPid");
		creator = ppid > 0 ? intmap_get(&tr->threads, (int)ppid) : NULL;
	}
	struct tproc *parent = creator ? creator->proc : NULL;
	t->proc = proc_new(tr, parent ? "fork" : "root", parent ? parent->id : 0, tid);
	return t;
}

/* ---- records ---------------------------------------------------------- */

static void record(struct tracer *tr, struct tproc *p, const char *path, const char *mode, int err,
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

static void record_pyc_source(struct tracer *tr, struct tproc *p, const char *pyc)
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
static void record_probed(struct tracer *tr, struct tproc *p, const char *path, const char *mode,
			  unsigned how)
{
	bool nofollow = how & (PROBE_NOFOLLOW | PROBE_OPEN_NOFOLLOW);
	cleanup_fd int fd = open(path, O_PATH | O_CLOEXEC | (nofollow ? O_NOFOLLOW : 0));
	int err = fd < 0 ? errno : 0;
	struct stat sb;
	if (!err && (how & (PROBE_DIR | PROBE_OPEN_NOFOLLOW)) && fstat(fd, &sb) < 0)
		err = errno;
	if (!err && (how & PROBE_OPEN_NOFOLLOW) && S_ISLNK(sb.st_mode))
		err = ELOOP; /* O_PATH|O_NOFOLLOW opens the link itself; open() refuses */
	if (!err && (how & PROBE_DIR) && !S_ISDIR(sb.st_mode))
		err = ENOTDIR;
	cleanup_free char *target = err || nofollow ? NULL : proc_fd_path(getpid(), fd);
	record(tr, p, path, mode, err, target);
	if (err == 0 && strcmp(mode, "read") == 0)
		record_pyc_source(tr, p, path);
}

/* Probes run after the tracee is resumed, in parallel with it: they look at
 * the file system, not at the tracee, whose memory and fd table were read
 * before resuming.  (The answer is as racy before as after: the call itself
 * runs concurrently with any probe.) */
static void defer_probe(struct tracer *tr, struct tproc *p, char *path, const char *mode,
			unsigned how)
{
	grow_array(&tr->probes, &tr->cap_probes, tr->n_probes, sizeof(*tr->probes));
	tr->probes[tr->n_probes++] = (struct probe){p, path, mode, how};
}

static void run_probes(struct tracer *tr)
{
	for (size_t i = 0; i < tr->n_probes; i++) {
		struct probe *pr = &tr->probes[i];
		record_probed(tr, pr->proc, pr->path, pr->mode, pr->how);
		free(pr->path);
	}
	tr->n_probes = 0;
}

/* Executable file mappings, read from /proc/PID/maps when an image ends
 * (exit, or exec replacing it): mmap itself is not trapped, since every
 * mapped file was opened first and the stops would cost more than this. */
static void record_maps(struct tracer *tr, struct tproc *p)
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

/* ---- syscall arguments ------------------------------------------------ */

static int arg_int(const struct __ptrace_syscall_info *si, int i)
{
	/* Compare the low 32 bits only: a 32-bit AT_FDCWD arrives as 4294967196. */
	return (int)(uint32_t)si->seccomp.args[i];
}

/* Absolute, normal path for (dirfd, path) as the tracee sees it. */
static char *resolve_at(pid_t tid, int dirfd, const char *path)
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

static char *read_path_arg(pid_t tid, const struct __ptrace_syscall_info *si, int dirfd_arg, int path_arg)
{
	cleanup_free char *raw = tracee_read_string(tid, si->seccomp.args[path_arg]);
	if (!raw || raw[0] == '\0')
		return NULL; /* bad pointer, or "" with AT_EMPTY_PATH: an fd, not a path */
	int dirfd = dirfd_arg >= 0 ? arg_int(si, dirfd_arg) : AT_FDCWD;
	return resolve_at(tid, dirfd, raw);
}

static bool wants_exit(const struct tracer *tr, const struct sys_row *row)
{
	return (row->opt & SO_EXIT) || (tr->exact_now && (row->opt & SO_RESULT));
}

/* ---- entry handlers: return true to take the exit stop ----------------- */

static bool on_open(struct tracer *tr, struct tthread *t, const struct sys_row *row,
		    const struct __ptrace_syscall_info *si)
{
	uint64_t flags = O_CREAT | O_WRONLY | O_TRUNC;
	if (row->opt & SO_OPENHOW) {
		if (tracee_read(t->tid, si->seccomp.args[row->flags], &flags, sizeof(flags)) < 0)
			return false;
	} else if (!(row->opt & SO_CREAT)) {
		flags = (uint32_t)si->seccomp.args[row->flags];
	}
	char *path = read_path_arg(t->tid, si, row->dirfd, row->path);
	if (!path)
		return false;
	const char *mode = (flags & O_PATH) ? "stat"
			   : ((flags & O_ACCMODE) == O_RDONLY && !(flags & O_TRUNC)) ? "read"
										       : "write";
	bool creating = flags & O_CREAT;
	if (creating || strcmp(mode, "write") == 0 || tr->exact_now) {
		t->pending = (int)(row - sys_table);
		t->path = path;
		t->mode = mode;
		t->creating = creating;
		return true;
	}
	bool opendir = (flags & O_DIRECTORY) && !(flags & O_PATH);
	unsigned how = opendir ? PROBE_DIR : 0;
	if (flags & O_NOFOLLOW)
		how |= (flags & O_PATH) ? PROBE_NOFOLLOW : PROBE_OPEN_NOFOLLOW;
	if (opendir) /* getdents is not trapped by default: see syscalls.c */
		defer_probe(tr, t->proc, xstrdup(path), "list", how);
	defer_probe(tr, t->proc, path, mode, how);
	return false;
}

static bool on_path(struct tracer *tr, struct tthread *t, const struct sys_row *row,
		    const struct __ptrace_syscall_info *si)
{
	char *path = read_path_arg(t->tid, si, row->dirfd, row->path);
	if (!path)
		return false;
	bool nofollow = row->opt & SO_NOFOLLOW;
	if (row->flags >= 0 && (arg_int(si, row->flags) & AT_SYMLINK_NOFOLLOW))
		nofollow = true;
	if (wants_exit(tr, row)) {
		t->pending = (int)(row - sys_table);
		t->path = path;
		return true;
	}
	defer_probe(tr, t->proc, path, row->mode, nofollow ? PROBE_NOFOLLOW : 0);
	return false;
}

static bool on_path2(struct tracer *tr, struct tthread *t, const struct sys_row *row,
		     const struct __ptrace_syscall_info *si)
{
	(void)tr;
	t->path = read_path_arg(t->tid, si, row->dirfd, row->path);
	t->path2 = read_path_arg(t->tid, si, row->dirfd2, row->path2);
	t->pending = (int)(row - sys_table);
	return true;
}

static bool on_symlink(struct tracer *tr, struct tthread *t, const struct sys_row *row,
		       const struct __ptrace_syscall_info *si)
{
	(void)tr;
	t->path2 = tracee_read_string(t->tid, si->seccomp.args[row->path]); /* link text */
	t->path = read_path_arg(t->tid, si, row->dirfd2, row->path2);
	t->pending = (int)(row - sys_table);
	return true;
}

static bool on_fd(struct tracer *tr, struct tthread *t, const struct sys_row *row,
		  const struct __ptrace_syscall_info *si)
{
	cleanup_free char *path = proc_fd_path(t->tid, arg_int(si, row->path));
	record(tr, t->proc, path, row->mode, 0, NULL);
	return false;
}

static bool on_exec(struct tracer *tr, struct tthread *t, const struct sys_row *row,
		    const struct __ptrace_syscall_info *si)
{
	/* The image may be gone after this call: note its mappings now (a
	 * forked copy's are its parent's, noted when the parent ends). */
	if (t->proc && t->proc->exe)
		record_maps(tr, t->proc);
	cleanup_free char *raw = tracee_read_string(t->tid, si->seccomp.args[row->path]);
	int dirfd = row->dirfd >= 0 ? arg_int(si, row->dirfd) : AT_FDCWD;
	if (raw && raw[0] == '\0' && row->dirfd >= 0)
		t->path = proc_fd_path(t->tid, dirfd); /* execveat(fd, "", AT_EMPTY_PATH) */
	else if (raw)
		t->path = resolve_at(t->tid, dirfd, raw);
	t->pending = (int)(row - sys_table);
	return true;
}

static bool on_mmap(struct tracer *tr, struct tthread *t, const struct sys_row *row,
		    const struct __ptrace_syscall_info *si)
{
	cleanup_free char *path = proc_fd_path(t->tid, arg_int(si, row->path));
	record(tr, t->proc, path, row->mode, 0, NULL);
	return false;
}

static bool on_note(struct tracer *tr, struct tthread *t, const struct sys_row *row,
		    const struct __ptrace_syscall_info *si)
{
	(void)si;
	record(tr, t->proc, row->name, row->mode, 0, NULL);
	return false;
}

typedef bool (*entry_fn)(struct tracer *, struct tthread *, const struct sys_row *,
			 const struct __ptrace_syscall_info *);
static const entry_fn entry_handlers[] = {
	[SK_OPEN] = on_open,   [SK_PATH] = on_path, [SK_PATH2] = on_path2, [SK_SYMLINK] = on_symlink,
	[SK_FD] = on_fd,       [SK_EXEC] = on_exec, [SK_MMAP] = on_mmap,   [SK_NOTE] = on_note,
};

/* A syscall from the i386 or x32 entry points: same rows, found by name. */
static int foreign_row(struct tthread *t, const struct __ptrace_syscall_info *si)
{
	uint32_t arch = si->arch == AUDIT_ARCH_I386 ? SCMP_ARCH_X86 : SCMP_ARCH_X32;
	t->proc->abi = arch == SCMP_ARCH_X86 ? "i386" : "x32";
	cleanup_free char *name = seccomp_syscall_resolve_num_arch(arch, (int)si->seccomp.nr);
	return name ? sys_row_by_name(name) : -1;
}

/* Returns true when the tracee must run to its exit stop. */
static bool on_seccomp_stop(struct tracer *tr, struct tthread *t)
{
	struct __ptrace_syscall_info si;
	if (ptrace(PTRACE_GET_SYSCALL_INFO, t->tid, sizeof(si), &si) <= 0 ||
	    si.op != PTRACE_SYSCALL_INFO_SECCOMP)
		return false;
	int row = (int)si.seccomp.ret_data;
	/* Foreign-ABI calls are rare and suspicious: always take their result
	 * from the kernel (a 64-bit kernel may lack the entry: ENOSYS). */
	tr->exact_now = tr->opts->exact || si.seccomp.ret_data == SYS_FOREIGN_ABI;
	if (si.seccomp.ret_data == SYS_FOREIGN_ABI)
		row = foreign_row(t, &si);
	if (row < 0 || (unsigned)row >= sys_table_len)
		return false;
	thread_clear_pending(t);
	return entry_handlers[sys_table[row].kind](tr, t, &sys_table[row], &si);
}

/* ---- exit stops ------------------------------------------------------- */

static bool is_restart(int64_t rval)
{
	/* ERESTARTSYS..ERESTART_RESTARTBLOCK: the call will run again. */
	return rval <= -512 && rval >= -516;
}

static void on_syscall_exit(struct tracer *tr, struct tthread *t)
{
	struct __ptrace_syscall_info si;
	if (t->pending < 0)
		return;
	if (ptrace(PTRACE_GET_SYSCALL_INFO, t->tid, sizeof(si), &si) <= 0 ||
	    si.op != PTRACE_SYSCALL_INFO_EXIT || is_restart(si.exit.rval)) {
		thread_clear_pending(t);
		return;
	}
	tr->stats->exit_stops++;
	const struct sys_row *row = &sys_table[t->pending];
	int err = si.exit.is_error ? (int)-si.exit.rval : 0;
	struct tproc *p = t->proc;
	switch (row->kind) {
	case SK_OPEN: {
		cleanup_free char *target = err ? NULL : proc_fd_path(t->tid, (int)si.exit.rval);
		record(tr, p, t->path, t->mode, err, target);
		if (err == 0 && strcmp(t->mode, "read") == 0)
			record_pyc_source(tr, p, t->path);
		if (t->creating)
			record(tr, p, t->path, "create", err, target);
		break;
	}
	case SK_PATH2:
		record(tr, p, t->path, row->mode, err, NULL);
		record(tr, p, t->path2, row->mode2, err, NULL);
		break;
	case SK_SYMLINK:
		record(tr, p, t->path, row->mode, err, t->path2);
		break;
	case SK_EXEC: /* only a failed exec gets here: success is PTRACE_EVENT_EXEC */
		record(tr, p, t->path, row->mode, err, NULL);
		break;
	default:
		record(tr, p, t->path, row->mode, err, NULL);
		break;
	}
	thread_clear_pending(t);
}

/* ---- process events --------------------------------------------------- */

/* Everything the kernel loads for an exec without a syscall we see: the ELF
 * interpreter of the program and the #! chain of a script. */
static void record_exec_loads(struct tracer *tr, struct tproc *p, const char *named)
{
	const char *file = named ? named : p->exe;
	cleanup_free char *script = NULL;
	for (int depth = 0; file && depth < MAX_SHEBANG_DEPTH; depth++) {
		char *interp = script_interpreter(file);
		if (!interp)
			break;
		cleanup_free char *real = realpath(interp, NULL);
		record(tr, p, interp, "exec", 0, real);
		free(script);
		file = script = interp;
	}
	if (!p->exe)
		return;
	cleanup_free char *elf_interp = elf_interpreter(p->exe);
	if (elf_interp) {
		cleanup_free char *real = realpath(elf_interp, NULL);
		record(tr, p, elf_interp, "exec", real ? 0 : ENOENT, real);
	}
}

static void drop_thread(struct tracer *tr, struct tthread *t)
{
	intmap_del(&tr->threads, t->tid);
	if (t->proc && t->proc->threads > 0)
		t->proc->threads--;
	thread_free(t);
}

/* PTRACE_EVENT_EXEC arrives under the thread-group leader's tid, even when
 * another thread called execve; the other threads are gone by now. */
static void on_exec_event(struct tracer *tr, struct tthread *t)
{
	unsigned long former = 0;
	ptrace(PTRACE_GETEVENTMSG, t->tid, 0, &former);
	struct tthread *caller = intmap_get(&tr->threads, (int)former);
	cleanup_free char *named = NULL;
	if (caller && caller->pending >= 0 && sys_table[caller->pending].kind == SK_EXEC)
		named = steal_pointer(&caller->path);
	/* Forget the group's other threads, the caller's old tid included. */
	intmap_foreach(&tr->threads, e)
	{
		struct tthread *other = e->value;
		if (other->tgid == t->tgid && other->tid != t->tid) {
			drop_thread(tr, other);
			e = tr->threads.slots - 1; /* the map shifted: rescan */
		}
	}
	thread_clear_pending(t);
	tr->stats->execs++;

	/* The root's first exec fills in the root row (before it, the process
	 * was sgxpy's own child); any other exec starts a new row whose parent
	 * is the image it replaces (same pid), as docs/formats.md says. */
	struct tproc *old = t->proc;
	struct tproc *p = old;
	if (!old || old->exe || strcmp(old->kind, "root") != 0)
		p = proc_new(tr, "exec", old ? old->id : 0, t->tid);
	if (old && p != old)
		old->threads = 0;
	t->proc = p;
	p->threads = p->max_threads = 1;
	free(p->cwd);
	p->cwd = proc_link(t->tid, "cwd");
	p->exe = proc_link(t->tid, "exe");
	p->argv_json = proc_cmdline_json(t->tid);
	p->env_json = proc_environ_json(t->tid);
	record(tr, p, named ? named : p->exe, "exec", 0, p->exe);
	record_exec_loads(tr, p, named);
}

static int status_code(int status)
{
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

static void on_thread_gone(struct tracer *tr, pid_t tid, int status)
{
	struct tthread *t = intmap_get(&tr->threads, tid);
	if (tid == tr->root_pid)
		tr->root_status = status_code(status);
	if (!t)
		return;
	if (t->tid == t->tgid && t->proc)
		t->proc->exit_status = status_code(status);
	if (t->orphan) /* its creator's event is still to come: remember it */
		intmap_put(&tr->early_gone, tid, t->tid == t->tgid && t->proc ? (void *)t->proc : (void *)tr);
	drop_thread(tr, t);
}

/* The creator's fork/clone event: attach the child, or confirm the one
 * already attached through its own first stop (the two race, and the child
 * may even have exited already). */
static void on_new_task(struct tracer *tr, struct tthread *creator, pid_t child)
{
	struct tthread *c = intmap_get(&tr->threads, child);
	void *gone = c ? NULL : intmap_del(&tr->early_gone, child);
	if (!c && !gone) {
		thread_attach(tr, child, creator);
		return;
	}
	struct tproc *proc = c ? (c->tid == c->tgid ? c->proc : NULL) : gone == tr ? NULL : gone;
	if (c)
		c->orphan = false;
	/* The PPid guess is wrong for CLONE_PARENT: the creator is the truth. */
	if (proc && creator->proc && strcmp(proc->kind, "fork") == 0)
		proc->parent = creator->proc->id;
}

static void on_exit_event(struct tracer *tr, struct tthread *t)
{
	record_maps(tr, t->proc);
	long hwm = proc_status_field(t->tid, "VmHWM");
	if (t->proc && hwm > t->proc->peak_rss_kb)
		t->proc->peak_rss_kb = hwm;
}

/* ---- the loop --------------------------------------------------------- */

static pid_t forward_to = 0;

static void forward_signal(int sig)
{
	if (forward_to > 0)
		kill(forward_to, sig);
}

/* The terminal sends Ctrl-C and Ctrl-\ to the whole foreground group, the
 * app included, so the tracer ignores them; signals sent to sgxpy alone
 * are passed on to the app. */
static void setup_signals(pid_t root)
{
	forward_to = root;
	struct sigaction ign = {.sa_handler = SIG_IGN}, fwd = {.sa_handler = forward_signal};
	sigaction(SIGINT, &ign, NULL);
	sigaction(SIGQUIT, &ign, NULL);
	sigaction(SIGTERM, &fwd, NULL);
	sigaction(SIGHUP, &fwd, NULL);
	sigaction(SIGUSR1, &fwd, NULL);
	sigaction(SIGUSR2, &fwd, NULL);
}

static bool is_group_stop_signal(int sig)
{
	return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

static void handle_stop(struct tracer *tr, pid_t tid, int status)
{
	struct tthread *t = intmap_get(&tr->threads, tid);
	if (!t)
		t = thread_attach(tr, tid, NULL);
	int sig = WSTOPSIG(status), event = (unsigned)status >> 16;
	enum __ptrace_request resume = PTRACE_CONT;
	int inject = 0;
	tr->stats->stops++;

	switch (event) {
	case PTRACE_EVENT_SECCOMP:
		if (on_seccomp_stop(tr, t))
			resume = PTRACE_SYSCALL;
		break;
	case PTRACE_EVENT_FORK:
	case PTRACE_EVENT_VFORK:
	case PTRACE_EVENT_CLONE: {
		unsigned long child = 0;
		if (ptrace(PTRACE_GETEVENTMSG, tid, 0, &child) == 0)
			on_new_task(tr, t, (pid_t)child);
		break;
	}
	case PTRACE_EVENT_EXEC:
		on_exec_event(tr, t);
		break;
	case PTRACE_EVENT_EXIT:
		on_exit_event(tr, t);
		break;
	case PTRACE_EVENT_STOP:
		if (is_group_stop_signal(sig))
			resume = PTRACE_LISTEN;
		break;
	case 0:
		if (sig == (SIGTRAP | 0x80))
			on_syscall_exit(tr, t);
		else
			inject = sig; /* a signal for the tracee: deliver it */
		break;
	default:
		break;
	}
	/* ESRCH: the tracee died meanwhile; its exit comes through waitpid. */
	ptrace(resume, tid, 0, inject);
	run_probes(tr);
}

static int check_kernel(struct sg_err *err)
{
	struct utsname u;
	int major = 0, minor = 0;
	if (uname(&u) == 0)
		sscanf(u.release, "%d.%d", &major, &minor);
	if (major < 5 || (major == 5 && minor < 3))
		return sg_fail(err, "Linux %d.%d is too old: the tracer needs 5.3 (PTRACE_GET_SYSCALL_INFO)",
			       major, minor);
	return 0;
}

static pid_t start_child(const char *program, char **argv, const struct tracer_opts *opts,
			 struct sg_err *err)
{
	int go[2];
	if (pipe2(go, O_CLOEXEC) < 0)
		return sg_fail_errno(err, "pipe");
	pid_t pid = fork();
	if (pid < 0) {
		close(go[0]);
		close(go[1]);
		return sg_fail_errno(err, "fork");
	}
	if (pid == 0) {
		char c;
		close(go[1]);
		/* Wait until the tracer is attached: a trapped syscall without a
		 * tracer would fail with ENOSYS. */
		if (read(go[0], &c, 1) != 1)
			_exit(EXIT_WRAP_FAIL);
		int rc = sys_filter_load(opts->with_stat, opts->exact);
		if (rc < 0) {
			fprintf(stderr, "sgxpy: trace: cannot install the seccomp filter: %s\n", strerror(-rc));
			_exit(EXIT_WRAP_FAIL);
		}
		execv(program, argv);
		int e = errno;
		fprintf(stderr, "sgxpy: trace: cannot execute %s: %s\n", program, strerror(e));
		_exit(e == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC);
	}
	close(go[0]);
	long options = PTRACE_O_EXITKILL | PTRACE_O_TRACESECCOMP | PTRACE_O_TRACEFORK |
		       PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC |
		       PTRACE_O_TRACEEXIT | PTRACE_O_TRACESYSGOOD;
	if (ptrace(PTRACE_SEIZE, pid, 0, options) < 0) {
		sg_fail_errno(err, "cannot trace the command (is ptrace forbidden here, e.g. by a "
				   "container's seccomp profile or Yama?)");
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		close(go[1]);
		return -1;
	}
	if (write(go[1], "g", 1) != 1) {
		close(go[1]);
		kill(pid, SIGKILL);
		return sg_fail_errno(err, "cannot start the command");
	}
	close(go[1]);
	return pid;
}

static int save_procs(struct tracer *tr, struct sg_err *err)
{
	for (size_t i = 0; i < tr->n_procs; i++) {
		struct tproc *p = tr->procs[i];
		struct store_proc sp = {
			.id = p->id, .parent = p->parent, .pid = p->pid, .kind = p->kind,
			.exe = p->exe, .argv_json = p->argv_json, .env_json = p->env_json,
			.cwd = p->cwd, .threads = p->max_threads, .peak_rss_kb = p->peak_rss_kb,
			.exit_status = p->exit_status, .abi = p->abi,
		};
		if (store_add_proc(tr->st, tr->st->run, &sp, err) < 0)
			return -1;
	}
	return 0;
}

static void tracer_free(struct tracer *tr)
{
	intmap_foreach(&tr->threads, e) thread_free(e->value);
	intmap_free(&tr->threads);
	intmap_free(&tr->early_gone);
	free(tr->probes);
	for (size_t i = 0; i < tr->n_procs; i++)
		proc_free(tr->procs[i]);
	free(tr->procs);
}

int tracer_run(struct store *st, const char *program, char **argv, const struct tracer_opts *opts,
	       struct trace_stats *stats, struct sg_err *err)
{
	if (check_kernel(err) < 0)
		return -1;
	struct tracer tr = {.st = st, .opts = opts, .stats = stats, .root_status = -1};
	pid_t root = start_child(program, argv, opts, err);
	if (root < 0)
		return -1;
	tr.root_pid = root;
	setup_signals(root);

	thread_attach(&tr, root, NULL);

	for (;;) {
		int status;
		pid_t tid = waitpid(-1, &status, __WALL);
		if (tid < 0) {
			if (errno == EINTR)
				continue;
			break; /* ECHILD: the whole tree is gone */
		}
		if (WIFEXITED(status) || WIFSIGNALED(status))
			on_thread_gone(&tr, tid, status);
		else if (WIFSTOPPED(status))
			handle_stop(&tr, tid, status);
	}
	forward_to = 0;
	int rc = tr.root_status;
	if (tr.store_failed)
		rc = sg_fail(err, "%s", tr.store_err.msg);
	else if (save_procs(&tr, err) < 0)
		rc = -1;
	tracer_free(&tr);
	return rc;
}
