/* tracer.c - the ptrace loop: follows every thread and process of the tree,
 * turns seccomp stops into file records, and keeps one `tproc` per process
 * image (root, forked copy, exec'd program) as in docs/formats.md.
 *
 * Mechanism: the child installs the filter of syscalls.c and execs; the
 * tracer is attached with PTRACE_SEIZE before that (EXITKILL: if sgxpy dies,
 * the tree dies with it), and the TRACEFORK/VFORK/CLONE options follow every
 * descendant.  A tracee stops only on the trapped syscalls that are not
 * read-only (those go to notify.c); it is resumed with PTRACE_CONT, or with
 * PTRACE_SYSCALL when its row needs the result.  Threads live in an O(1)
 * tid map; record.c turns accesses into deduplicated store rows. */
#include "common/elf.h"
#include "trace/internal.h"
#include "common/tracee.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/audit.h>
#include <poll.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <stdnoreturn.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#define MAX_SHEBANG_DEPTH 4 /* the kernel's own limit (BINPRM recursion) */

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
	proc_read_creds(tr, p, pid);
	grow_array(&tr->procs, &tr->cap_procs, tr->n_procs, sizeof(*tr->procs));
	tr->procs[tr->n_procs++] = p;
	tr->stats->processes++;
	return p;
}

/* Credentials for the tracer's checks on p's behalf; the tracer's own if
 * they cannot be read (then the checks answer as sgxpy's user). */
void proc_read_creds(struct tracer *tr, struct tproc *p, pid_t tid)
{
	if (!creds_of_task(tid, &p->creds))
		p->creds = tr->own_creds;
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

static bool wants_exit(const struct tracer *tr, const struct sys_row *row)
{
	return (row->opt & SO_EXIT) || (tr->exact_now && (row->opt & SO_RESULT));
}

/* ---- entry handlers: return true to take the exit stop ----------------- */

static bool on_open(struct tracer *tr, struct tthread *t, const struct sys_row *row,
		    const uint64_t *args)
{
	uint64_t flags = O_CREAT | O_WRONLY | O_TRUNC;
	if (row->opt & SO_OPENHOW) {
		if (tracee_read(t->tid, args[row->flags], &flags, sizeof(flags)) < 0)
			return false;
	} else if (!(row->opt & SO_CREAT)) {
		flags = (uint32_t)args[row->flags];
	}
	char *path = read_path_arg(t->tid, args, row->dirfd, row->path);
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
	defer_open_probes(&tr->probes, t->proc, path, flags);
	return false;
}

static bool on_path(struct tracer *tr, struct tthread *t, const struct sys_row *row,
		    const uint64_t *args)
{
	char *path = read_path_arg(t->tid, args, row->dirfd, row->path);
	if (!path)
		return false;
	if (wants_exit(tr, row)) {
		t->pending = (int)(row - sys_table);
		t->path = path;
		return true;
	}
	defer_probe(&tr->probes, t->proc, path, row->mode, path_probe_how(row, args));
	return false;
}

static bool on_path2(struct tracer *tr, struct tthread *t, const struct sys_row *row,
		     const uint64_t *args)
{
	(void)tr;
	t->path = read_path_arg(t->tid, args, row->dirfd, row->path);
	t->path2 = read_path_arg(t->tid, args, row->dirfd2, row->path2);
	t->pending = (int)(row - sys_table);
	return true;
}

static bool on_symlink(struct tracer *tr, struct tthread *t, const struct sys_row *row,
		       const uint64_t *args)
{
	(void)tr;
	t->path2 = tracee_read_string(t->tid, args[row->path]); /* link text */
	t->path = read_path_arg(t->tid, args, row->dirfd2, row->path2);
	t->pending = (int)(row - sys_table);
	return true;
}

/* The file behind an fd argument: getdents, fchdir, and mmap (fd is arg 4). */
static bool on_fd(struct tracer *tr, struct tthread *t, const struct sys_row *row,
		  const uint64_t *args)
{
	cleanup_free char *path = proc_fd_path(t->tid, arg_int(args, row->path));
	record(tr, t->proc, path, row->mode, 0, NULL);
	return false;
}

static bool on_exec(struct tracer *tr, struct tthread *t, const struct sys_row *row,
		    const uint64_t *args)
{
	/* The image may be gone after this call: note its mappings now (a
	 * forked copy's are its parent's, noted when the parent ends). */
	if (t->proc && t->proc->exe)
		record_maps(tr, t->proc);
	cleanup_free char *raw = tracee_read_string(t->tid, args[row->path]);
	int dirfd = row->dirfd >= 0 ? arg_int(args, row->dirfd) : AT_FDCWD;
	if (raw && raw[0] == '\0' && row->dirfd >= 0)
		t->path = proc_fd_path(t->tid, dirfd); /* execveat(fd, "", AT_EMPTY_PATH) */
	else if (raw)
		t->path = resolve_at(t->tid, dirfd, raw);
	t->pending = (int)(row - sys_table);
	return true;
}

static bool on_note(struct tracer *tr, struct tthread *t, const struct sys_row *row,
		    const uint64_t *args)
{
	(void)args;
	record(tr, t->proc, row->name, row->mode, 0, NULL);
	return false;
}

static bool on_creds(struct tracer *tr, struct tthread *t, const struct sys_row *row,
		     const uint64_t *args)
{
	(void)tr, (void)args;
	t->pending = (int)(row - sys_table);
	return true;
}

typedef bool (*entry_fn)(struct tracer *, struct tthread *, const struct sys_row *,
			 const uint64_t *);
static const entry_fn entry_handlers[] = {
	[SK_OPEN] = on_open,   [SK_PATH] = on_path, [SK_PATH2] = on_path2, [SK_SYMLINK] = on_symlink,
	[SK_FD] = on_fd,       [SK_EXEC] = on_exec, [SK_MMAP] = on_fd,     [SK_NOTE] = on_note,
	[SK_CREDS] = on_creds,
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
	return entry_handlers[sys_table[row].kind](tr, t, &sys_table[row], si.seccomp.args);
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
	case SK_CREDS:
		proc_read_creds(tr, p, t->tid);
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
	char file[PATH_MAX], interp[PATH_MAX], arg[256];
	snprintf(file, sizeof(file), "%s", named ? named : p->exe ? p->exe : "");
	for (int depth = 0; file[0] && depth < MAX_SHEBANG_DEPTH; depth++) {
		cleanup_fd int fd = open(file, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
		if (fd < 0 || shebang_parse(fd, interp, sizeof(interp), arg, sizeof(arg)) != 0)
			break;
		cleanup_free char *real = realpath(interp, NULL);
		record(tr, p, interp, "exec", real ? 0 : ENOENT, real);
		memcpy(file, interp, sizeof(file));
	}
	cleanup_fd int fd = p->exe ? open(p->exe, O_RDONLY | O_CLOEXEC) : -1;
	if (fd >= 0 && elf_interp(fd, interp, sizeof(interp)) == 0) {
		cleanup_free char *real = realpath(interp, NULL);
		record(tr, p, interp, "exec", real ? 0 : ENOENT, real);
	}
}

static void drop_thread(struct tracer *tr, struct tthread *t)
{
	intmap_del(&tr->threads, t->tid);
	if (t->proc && t->proc->threads > 0)
		t->proc->threads--;
	thread_free(t);
}

/* After an exec only the leader is left: forget the group's other threads
 * (the caller's old tid included).  Collected first, since removing from the
 * map while walking it would shift entries under the walk. */
static void drop_other_threads(struct tracer *tr, struct tthread *leader)
{
	struct tthread **gone = NULL;
	size_t n = 0, cap = 0;
	intmap_foreach(&tr->threads, e)
	{
		struct tthread *other = e->value;
		if (other->tgid == leader->tgid && other != leader) {
			grow_array(&gone, &cap, n, sizeof(*gone));
			gone[n++] = other;
		}
	}
	for (size_t i = 0; i < n; i++)
		drop_thread(tr, gone[i]);
	free(gone);
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
	drop_other_threads(tr, t);
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
	proc_read_creds(tr, p, t->tid);
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
	run_probes(tr, &tr->probes);
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

/* The child's report after loading its filter, sent before it execs:
 * 0 and the listener fd (close-on-exec, so it must travel now; none in
 * --exact mode), or the filter's errno, so the tracer never mistakes a
 * command that was never started for one that ran. */
static void send_report(int sock, int err, int fd)
{
	struct iovec iov = {&err, sizeof(err)};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u = {0};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	if (fd >= 0) {
		msg.msg_control = u.buf;
		msg.msg_controllen = sizeof(u.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	TEMP_FAILURE_RETRY(sendmsg(sock, &msg, MSG_NOSIGNAL));
}

/* Returns the child's errno (0: filter loaded), -1 if it sent nothing in
 * time (a child stopped or blocked before reporting, as under a debugger or
 * valgrind, which lack seccomp support, must not hang us). */
static int recv_report(int sock, int *fd)
{
	*fd = -1;
	struct pollfd pfd = {.fd = sock, .events = POLLIN};
	if (TEMP_FAILURE_RETRY(poll(&pfd, 1, 10000)) != 1)
		return -1;
	int err;
	struct iovec iov = {&err, sizeof(err)};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf)};
	if (TEMP_FAILURE_RETRY(recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) != sizeof(err))
		return -1;
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	if (c && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(fd, CMSG_DATA(c), sizeof(int));
	return err;
}

static noreturn void child_main(int go, int sock, const char *program, char **argv,
				const struct tracer_opts *opts)
{
	char c;
	/* Wait until the tracer is attached: a trapped syscall without a
	 * tracer would fail with ENOSYS. */
	if (read(go, &c, 1) != 1)
		_exit(EXIT_WRAP_FAIL);
	int listener = -1;
	int rc = trace_filter_load(opts->with_stat, opts->exact, opts->exact ? NULL : &listener);
	send_report(sock, rc < 0 ? -rc : 0, listener);
	if (rc < 0)
		_exit(EXIT_WRAP_FAIL);
	if (listener >= 0)
		close(listener);
	close(sock);
	execv(program, argv);
	int e = errno;
	fprintf(stderr, "sgxpy: %s: cannot execute %s: %s\n", sg_command, program, strerror(e));
	_exit(e == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC);
}

static void kill_and_reap(pid_t pid)
{
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, __WALL) < 0 && errno == EINTR)
		;
}

/* Fork the command's process, attach to it, let it install the filter and
 * exec.  *listener gets the user-notification fd (-1 in --exact mode). */
static pid_t start_child(const char *program, char **argv, const struct tracer_opts *opts,
			 int *listener, struct sg_err *err)
{
	int go[2], sock[2];
	*listener = -1;
	if (pipe2(go, O_CLOEXEC) < 0)
		return sg_fail_errno(err, "pipe");
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sock) < 0) {
		close(go[0]);
		close(go[1]);
		return sg_fail_errno(err, "socketpair");
	}
	pid_t pid = fork();
	if (pid == 0) {
		close(go[1]);
		close(sock[0]);
		child_main(go[0], sock[1], program, argv, opts);
	}
	close(go[0]);
	close(sock[1]);
	int rc = -1;
	if (pid < 0) {
		sg_fail_errno(err, "fork");
		goto out;
	}
	long options = PTRACE_O_EXITKILL | PTRACE_O_TRACESECCOMP | PTRACE_O_TRACEFORK |
		       PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC |
		       PTRACE_O_TRACEEXIT | PTRACE_O_TRACESYSGOOD;
	if (ptrace(PTRACE_SEIZE, pid, 0, options) < 0) {
		sg_fail_errno(err, "cannot trace the command (is ptrace forbidden here, e.g. by a "
				   "container's seccomp profile or Yama?)");
		kill_and_reap(pid);
		goto out;
	}
	if (write(go[1], "g", 1) != 1) {
		sg_fail_errno(err, "cannot start the command");
		kill_and_reap(pid);
		goto out;
	}
	int child_err = recv_report(sock[0], listener);
	if (child_err != 0) {
		if (child_err > 0) {
			errno = child_err;
			sg_fail_errno(err, "cannot install the seccomp filter in the command's process");
		} else {
			sg_fail(err, "the command's process did not start under the tracer");
		}
		if (*listener >= 0)
			close(*listener);
		*listener = -1;
		kill_and_reap(pid);
		goto out;
	}
	rc = pid;
out:
	close(go[1]);
	close(sock[0]);
	return rc;
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
	free_probes(&tr->probes);
	for (size_t i = 0; i < tr->n_procs; i++)
		proc_free(tr->procs[i]);
	free(tr->procs);
}

int tracer_run(struct store *st, const char *program, char **argv, const struct tracer_opts *opts,
	       struct trace_stats *stats, struct sg_err *err)
{
	if (check_kernel(err) < 0)
		return -1;
	struct tracer tr = {.st = st, .opts = opts, .stats = stats, .root_status = -1,
			    .notify_fd = -1, .lock = PTHREAD_MUTEX_INITIALIZER};
	if (!creds_of_task((pid_t)syscall(SYS_gettid), &tr.own_creds))
		return sg_fail(err, "cannot read this process's credentials from /proc");
	int listener;
	pid_t root = start_child(program, argv, opts, &listener, err);
	if (root < 0)
		return -1;
	tr.root_pid = root;
	setup_signals(root);
	pthread_mutex_lock(&tr.lock);
	thread_attach(&tr, root, NULL);
	pthread_mutex_unlock(&tr.lock);
	if (listener >= 0 && notify_start(&tr, listener, err) < 0) {
		kill(root, SIGKILL);
		while (waitpid(-1, NULL, __WALL) > 0 || errno == EINTR)
			;
		tracer_free(&tr);
		return -1;
	}

	for (;;) {
		int status;
		pid_t tid = waitpid(-1, &status, __WALL);
		if (tid < 0) {
			if (errno == EINTR)
				continue;
			break; /* ECHILD: the whole tree is gone */
		}
		pthread_mutex_lock(&tr.lock);
		if (WIFEXITED(status) || WIFSIGNALED(status))
			on_thread_gone(&tr, tid, status);
		else if (WIFSTOPPED(status))
			handle_stop(&tr, tid, status);
		pthread_mutex_unlock(&tr.lock);
	}
	notify_stop(&tr);
	forward_to = 0;
	int rc = tr.root_status;
	if (tr.store_failed)
		rc = sg_fail(err, "%s", tr.store_err.msg);
	else if (save_procs(&tr, err) < 0)
		rc = -1;
	tracer_free(&tr);
	return rc;
}
