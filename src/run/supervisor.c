/* supervisor.c - the enforcement loop.
 *
 * Two threads: the notification thread blocks in SECCOMP_IOCTL_NOTIF_RECV
 * (with SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP the kernel wakes it, and then the
 * process, on the same CPU); the main thread is the ptrace tracer and waits on
 * a signalfd (SIGCHLD for ptrace stops, termination signals to forward).  Hash
 * work runs on the verifier's threads, ahead of use.
 *
 * Per notification: RECV, read the path from the process's memory, ID_VALID
 * (the tid may have died and been reused), resolve it against the right
 * directory, ask policy_decide(), then one of:
 *   - trusted: open it here (openat2 RESOLVE_NO_MAGICLINKS), hash that fd (or
 *     take the cache verdict for its inode key), inject it with ADDFD +
 *     ADDFD_FLAG_SEND (atomic inject-and-reply, O_CLOEXEC as asked);
 *   - allowed, not trusted: CONTINUE.  The kernel re-reads the path, which a
 *     thread of the process could have rewritten; Landlock enforces the same
 *     allowance (the union), and no trusted file but programs is open to it;
 *   - denied: the errno a real denial gives, and one line on stderr.
 * Exec: the program, its PT_INTERP and a #! script are verified and the child
 * image chosen before CONTINUE; at the PTRACE_EVENT_EXEC stop (before the new
 * image runs) /proc/PID/exe and every file mapping must be the inodes that were
 * verified, else SIGKILL.  mmap/mprotect(PROT_EXEC): only of verified inodes. */
#include "common/exec_path.h"
#include "common/thread.h"
#include "common/tracee.h"
#include "run/run.h"

#include "common/image.h"
#include "common/path.h"
#include "common/strmap.h"
#include "manifest/sign.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP 1
#endif
#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif

enum pstate {
	P_RUNNING,
	P_NEW_STOPPED, /* auto-attached, stopped, its parent's fork event not seen yet */
	P_NEW_PENDING, /* fork event seen, initial stop not yet */
	P_DEAD,
};

struct proc {
	pid_t tid;
	enum pstate state;
	bool launcher; /* the root before its first exec */
	const struct bundle_image *img;
	/* the exec decided at the notification, checked at the exec stop */
	bool exec_pending;
	const struct bundle_image *exec_img;
	struct file_key exec_keys[3];
	int n_exec_keys;
	/* and the argv the kernel was to build, as /proc/PID/cmdline shows it
	 * (NUL-terminated strings); for a #! script, exec_name_at is where the
	 * kernel puts its own name for the script (any one string), else
	 * SIZE_MAX.  Owned here: moved, never copied, freed once checked. */
	char *exec_argv;
	size_t exec_argv_len, exec_name_at;
};

struct sup {
	const struct run_opts *o;
	struct bundle *b;
	struct verifier *v;
	struct run_log *log;
	int listener;
	int sigfd;
	pid_t root;
	bool root_done;
	int root_status;
	struct strmap procs; /* "tid" -> struct proc */
	/* "dev:ino" -> real path, at the start, of every directory holding a
	 * trusted file: a relative open is refused if its base directory is one
	 * of them and no longer there (moved into an allowed tree, its trusted
	 * files would be judged by their new, allowed paths). */
	struct strmap trusted_dirs;
	struct seccomp_notif_sizes sizes;
	unsigned long n_notif;
	uint64_t busy_ns;    /* notification received -> answered, summed */
	unsigned long n_addfd;
	uint64_t addfd_ns;   /* of busy_ns: in SECCOMP_IOCTL_NOTIF_ADDFD, which
			      * returns once the process has run to take the fd */
	uint64_t start_mono_ns, first_exec_ns; /* when the root's exec was let go */
	int64_t start_ns;    /* CLOCK_REALTIME when the run started: --allow-built-code */
	char *prog;          /* CMD's program as PATH finds it (sup_die frees it, and b) */
	/* The notification thread blocks in SECCOMP_IOCTL_NOTIF_RECV itself
	 * (not in poll), which is what SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
	 * wakes on the notifying task's CPU; this thread, the ptrace tracer,
	 * waits on the signalfd.  mu guards procs. */
	pthread_mutex_t mu;
	pthread_t notif_thread;
	volatile sig_atomic_t stop;
};

/* ---- process table ----------------------------------------------------- */

static struct proc *proc_get(struct sup *s, pid_t tid)
{
	char k[16];
	snprintf(k, sizeof(k), "%d", (int)tid);
	void **slot = strmap_get(&s->procs, k);
	return slot ? *slot : NULL;
}

static struct proc *proc_put(struct sup *s, pid_t tid)
{
	char k[16];
	snprintf(k, sizeof(k), "%d", (int)tid);
	int added;
	void **slot = strmap_put(&s->procs, k, &added);
	if (added)
		*slot = xcalloc(1, sizeof(struct proc));
	struct proc *p = *slot;
	free(p->exec_argv);
	memset(p, 0, sizeof(*p));
	p->tid = tid;
	return p;
}

static const char *img_id(const struct proc *p)
{
	return p && p->img ? p->img->id : NULL;
}

/* The thread group of tid (tid itself if /proc does not say). */
static pid_t tgid_of(pid_t tid)
{
	long tgid = proc_status_field(tid, "Tgid");
	return tgid > 0 ? (pid_t)tgid : tid;
}

/* ---- reading the process ----------------------------------------------- */

static char *read_link(const char *path)
{
	char buf[PATH_MAX];
	ssize_t n = readlink(path, buf, sizeof(buf) - 1);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	if (buf[0] != '/' || strstr(buf, " (deleted)"))
		return NULL;
	return xstrdup(buf);
}

static void dir_inode_name(const struct stat *st, char name[64])
{
	struct file_key k;
	file_key_of(st, &k);
	file_key_inode_name(&k, name);
}

static void note_trusted_dirs(struct sup *s)
{
	/* Each directory once, however many files (and images) it holds:
	 * realpath walks every component. */
	struct strmap seen = {0};
	for (size_t i = 0; i < s->b->n_images; i++) {
		const struct bundle_image *img = &s->b->images[i];
		for (size_t j = 0; j < img->n_trusted; j++) {
			cleanup_free char *dir = xstrdup(img->trusted[j].path);
			*strrchr(dir, '/') = '\0'; /* absolute: there is one */
			int added;
			strmap_put(&seen, dir, &added);
			if (!added)
				continue;
			cleanup_free char *real = realpath(dir[0] ? dir : "/", NULL);
			struct stat st;
			char name[64];
			if (!real || stat(real, &st) < 0)
				continue;
			dir_inode_name(&st, name);
			void **slot = strmap_put(&s->trusted_dirs, name, &added);
			if (added)
				*slot = steal_pointer(&real);
		}
	}
	strmap_free(&seen);
}

/* Is the directory behind link (/proc/TID/cwd or fd/N) one that held trusted
 * files at the start, and no longer where it was? */
static bool base_dir_moved(struct sup *s, const char *link)
{
	struct stat st, was;
	char name[64];
	if (stat(link, &st) < 0 || !S_ISDIR(st.st_mode))
		return false;
	dir_inode_name(&st, name);
	void **slot = strmap_get(&s->trusted_dirs, name);
	return slot && !(stat(*slot, &was) == 0 && was.st_dev == st.st_dev && was.st_ino == st.st_ino);
}

/* The absolute, lexically normal form of (dirfd, path) as tid sees it; NULL
 * if it cannot be had, *moved if path is relative to a directory that
 * base_dir_moved(). */
static char *abs_path(struct sup *s, pid_t tid, int dirfd, const char *path, bool *moved)
{
	*moved = false;
	if (path[0] == '/')
		return path_resolve("/", path);
	char link[64];
	if (dirfd == AT_FDCWD)
		snprintf(link, sizeof(link), "/proc/%d/cwd", (int)tid);
	else
		snprintf(link, sizeof(link), "/proc/%d/fd/%d", (int)tid, dirfd);
	cleanup_free char *base = read_link(link);
	*moved = base && base_dir_moved(s, link);
	return base ? path_resolve(base, path) : NULL;
}

static bool id_valid(struct sup *s, uint64_t id)
{
	return ioctl(s->listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
}

/* ---- replies ----------------------------------------------------------- */

static void reply(struct sup *s, uint64_t id, int err, bool cont)
{
	struct seccomp_notif_resp resp = {.id = id};
	if (cont)
		resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
	else
		resp.error = -err;
	/* ENOENT: the target was interrupted or died; nothing to undo. */
	ioctl(s->listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
}

static void deny_access(struct sup *s, const struct seccomp_notif *req, struct proc *p,
			const char *op, const char *access, const char *path, enum run_reason why,
			int err)
{
	bool audit = s->o->audit && why != R_WRITE_TRUSTED;
	run_log_access_violation(s->log, req->pid, img_id(p), op, access, path, why, audit);
	reply(s, req->id, err, audit);
}

static void deny(struct sup *s, const struct seccomp_notif *req, struct proc *p,
		 const char *op, const char *path, enum run_reason why, int err)
{
	deny_access(s, req, p, op, NULL, path, why, err);
}

/* ---- open -------------------------------------------------------------- */

/* /dev/tty opens fail natively with ENXIO when there is no controlling
 * terminal (a shell redirecting to it from a test runner or a service).
 * The supervisor shares the app's session, so it asks the same question
 * (O_NOCTTY|O_NONBLOCK: no side effect) and passes that answer on quietly:
 * nothing is opened either way.  With a terminal the refusal stands.  Only
 * /dev/tty: opening other devices can have side effects. */
static int no_terminal_errno(const char *path)
{
	if (strcmp(path, "/dev/tty") != 0)
		return 0;
	int fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	return errno == ENXIO ? ENXIO : 0;
}

static void on_open(struct sup *s, const struct seccomp_notif *req, struct proc *p)
{
	const struct seccomp_data *d = &req->data;
	int dirfd = AT_FDCWD;
	uint64_t path_addr, flags, mode = 0;
	const char *name = "open";
	switch (d->nr) {
	case __NR_open:
		path_addr = d->args[0];
		flags = d->args[1];
		break;
	case __NR_creat:
		path_addr = d->args[0];
		flags = O_CREAT | O_WRONLY | O_TRUNC;
		break;
	case __NR_openat:
		dirfd = (int)d->args[0];
		path_addr = d->args[1];
		flags = d->args[2];
		break;
	default: { /* openat2 */
		struct open_how how;
		dirfd = (int)d->args[0];
		path_addr = d->args[1];
		if (d->args[3] < sizeof(how) || tracee_read(req->pid, d->args[2], &how, sizeof(how)) < 0) {
			reply(s, req->id, EFAULT, false);
			return;
		}
		flags = how.flags;
		mode = how.mode;
		break;
	}
	}
	(void)mode;
	flags &= 0xffffffffULL; /* an int in the kernel: ignore high bits */
	char raw[PATH_MAX];
	if (tracee_read_string_buf(req->pid, path_addr, raw, sizeof(raw)) < 0) {
		reply(s, req->id, errno == ENAMETOOLONG ? ENAMETOOLONG : EFAULT, false);
		return;
	}
	if (!id_valid(s, req->id))
		return;
	if (raw[0] == '\0' || (flags & O_PATH)) {
		/* empty path: the kernel fails it; O_PATH: no content, like stat */
		reply(s, req->id, 0, true);
		return;
	}
	bool moved;
	cleanup_free char *path = abs_path(s, req->pid, dirfd, raw, &moved);
	if (!path || moved) {
		deny(s, req, p, name, path ? path : raw, moved ? R_DIR_MOVED : R_NOT_IN_MANIFEST, EACCES);
		return;
	}
	bool write = (flags & O_ACCMODE) != O_RDONLY || (flags & (O_CREAT | O_TRUNC)) ||
		     (flags & O_TMPFILE) == O_TMPFILE; /* O_TMPFILE includes O_DIRECTORY */
	if (!p->img) {
		/* no image: the launcher never opens; an audit run after an
		 * unlisted exec keeps going unchecked */
		deny(s, req, p, name, path, R_NOT_IN_MANIFEST, EACCES);
		return;
	}
	struct decision dec;
	/* the tgid matters only for /proc paths: /proc/PID/status is not read per open */
	pid_t tgid = strncmp(path, "/proc/", 6) == 0 ? tgid_of((pid_t)req->pid) : (pid_t)req->pid;
	policy_decide(p->img, write ? OP_OPEN_WRITE : OP_OPEN_READ, path, tgid, &dec);
	if (dec.verdict == V_DENY) {
		/* A probe for a file that does not exist (pyvenv.cfg, ._pth, a
		 * module on a later sys.path entry, a path through a file: ENOTDIR)
		 * gets what it would get natively: nothing can be opened there, so
		 * the answer is the lookup's own.  A file planted there later is
		 * refused loudly. */
		struct stat st;
		if ((dec.reason == R_NOT_IN_MANIFEST || dec.reason == R_UNVERIFIED_CODE) && !write &&
		    stat(path, &st) < 0 &&
		    (errno == ENOENT || errno == ENOTDIR || errno == ELOOP || errno == ENAMETOOLONG)) {
			reply(s, req->id, errno, false);
			return;
		}
		int tty_err = dec.reason == R_NOT_IN_MANIFEST ? no_terminal_errno(path) : 0;
		if (tty_err) {
			reply(s, req->id, tty_err, false);
			return;
		}
		deny_access(s, req, p, name, write ? "write" : "read", path, dec.reason, EACCES);
		return;
	}
	if (dec.verdict == V_ALLOWED) {
		reply(s, req->id, 0, true);
		return;
	}
	bool mismatch;
	int oerr;
	int fd = verifier_open(s->v, path, (int)flags, dec.file, s->o->audit, &mismatch, &oerr, NULL);
	if (fd < 0) {
		if (mismatch)
			deny(s, req, p, name, path, R_HASH_MISMATCH, EPERM);
		else
			reply(s, req->id, oerr ? oerr : EACCES, false);
		return;
	}
	if (mismatch) /* audit: logged, handed over anyway */
		run_log_violation(s->log, req->pid, img_id(p), name, path, R_HASH_MISMATCH, true);
	struct seccomp_notif_addfd add = {
		.id = req->id,
		.flags = SECCOMP_ADDFD_FLAG_SEND,
		.srcfd = (uint32_t)fd,
		.newfd = 0,
		.newfd_flags = (flags & O_CLOEXEC) ? O_CLOEXEC : 0,
	};
	uint64_t t0 = mono_ns();
	ioctl(s->listener, SECCOMP_IOCTL_NOTIF_ADDFD, &add);
	s->addfd_ns += mono_ns() - t0;
	s->n_addfd++;
	close(fd);
}

/* ---- exec -------------------------------------------------------------- */

/* The kernel's own bounds: one string at most MAX_ARG_STRLEN (32 pages);
 * all of them within a quarter of the stack limit, so fewer pointers than
 * this at 8 bytes + 1 each. */
#define MAX_ARG_STRLEN (32u * 4096u)
#define MAX_ARGS (1u << 20)

static void free_strv(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

/* argv (or envp) of the notified execve, NULL-terminated. */
static char **read_strv(pid_t tid, uint64_t addr)
{
	size_t n = 0, cap = 16;
	char **v = xcalloc(cap, sizeof(char *));
	for (; addr && n < MAX_ARGS; n++) {
		uint64_t ptr;
		if (tracee_read(tid, addr + n * 8, &ptr, 8) < 0) {
			free_strv(v);
			return NULL;
		}
		if (!ptr)
			break;
		char *str = tracee_read_string_max(tid, ptr, MAX_ARG_STRLEN);
		if (!str) {
			free_strv(v);
			return NULL;
		}
		grow_array(&v, &cap, n + 1, sizeof(char *));
		v[n] = str;
		v[n + 1] = NULL;
	}
	return v;
}

/* Verify file `path` (trusted in img) as one the kernel will load at exec. */
static int check_exec_file(struct sup *s, struct proc *p, const struct seccomp_notif *req,
			   const struct bundle_image *img, const char *path,
			   const unsigned char *sha, struct file_key *key)
{
	const struct bundle_file *f = image_trusted(img, path);
	if (!sha && !f) {
		deny(s, req, p, "exec", path, R_NOT_IN_MANIFEST, EACCES);
		return -1;
	}
	int oerr;
	uint64_t size = sha ? img->program_size : f->size;
	if (verifier_check_path(s->v, path, sha ? sha : f->sha256, size ? size : UINT64_MAX, key,
				&oerr) < 0) {
		if (oerr)
			reply(s, req->id, oerr, false);
		else
			deny(s, req, p, "exec", path, R_HASH_MISMATCH, EACCES);
		return -1;
	}
	return 0;
}

static void append_str(char **buf, size_t *len, const char *str)
{
	size_t n = strlen(str) + 1;
	*buf = xrealloc(*buf, *len + n);
	memcpy(*buf + *len, str, n);
	*len += n;
}

/* What /proc/PID/cmdline must read at the exec stop: the argv the process
 * passed.  A #! script's is the kernel's (kargv: the interpreter and its
 * optional argument, n_interp strings from the line the supervisor parsed,
 * then the script's name, then argv[1...]): the kernel reads that line again
 * after the check, so what it found there is compared too.  The script's name
 * is the kernel's choice (the path as passed, or /dev/fd/N/...): any one
 * string there, at *name_at (else SIZE_MAX). */
static char *expected_cmdline(char **v, size_t n_interp, size_t *len, size_t *name_at)
{
	char *buf = NULL;
	*len = 0;
	*name_at = SIZE_MAX;
	if (!v[0]) {
		append_str(&buf, len, ""); /* what the kernel makes of argc 0 (5.18) */
		return buf;
	}
	for (size_t i = 0; v[i]; i++) {
		if (n_interp && i == n_interp) {
			*name_at = *len;
			continue;
		}
		append_str(&buf, len, v[i]);
	}
	return buf;
}

static void on_exec(struct sup *s, const struct seccomp_notif *req, struct proc *p)
{
	const struct seccomp_data *d = &req->data;
	int dirfd = AT_FDCWD;
	uint64_t a_path = d->args[0], a_argv = d->args[1], a_envp = d->args[2];
	if (d->nr == __NR_execveat) {
		dirfd = (int)d->args[0];
		a_path = d->args[1];
		a_argv = d->args[2];
		a_envp = d->args[3];
	}
	char raw[PATH_MAX];
	if (tracee_read_string_buf(req->pid, a_path, raw, sizeof(raw)) < 0) {
		reply(s, req->id, EFAULT, false);
		return;
	}
	char **argv = read_strv(req->pid, a_argv);
	char **envp = read_strv(req->pid, a_envp);
	char *path = NULL, *prog = NULL, *cwd = NULL, **kargv = NULL;
	if (!argv || !envp) {
		reply(s, req->id, EFAULT, false);
		goto out;
	}
	if (!id_valid(s, req->id))
		goto out;
	bool moved;
	path = abs_path(s, req->pid, dirfd, raw, &moved);
	if (!path || moved || policy_is_magic_link(path) || path_is_under(path, "/proc")) {
		deny(s, req, p, "exec", path ? path : raw, moved ? R_DIR_MOVED : R_EXEC_NOT_ALLOWED, EACCES);
		goto out;
	}
	for (char **e = envp; *e; e++) {
		if (policy_env_is_loader(*e)) {
			if (!s->o->audit) {
				deny(s, req, p, "exec", path, R_LOADER_ENV, EACCES);
				goto out;
			}
			run_log_violation(s->log, req->pid, img_id(p), "exec", path, R_LOADER_ENV, true);
		}
	}
	prog = realpath(path, NULL);
	if (!prog) {
		reply(s, req->id, errno, false);
		goto out;
	}
	/* #! script: the program the kernel runs is the interpreter. */
	int fd = open(prog, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		reply(s, req->id, errno, false);
		goto out;
	}
	char *script = NULL;
	char line[PATH_MAX], arg[256];
	size_t kargv_prefix = 0; /* strings from the #! line */
	if (shebang_parse(fd, line, sizeof(line), arg, sizeof(arg)) == 0) {
		char *interp = realpath(line, NULL);
		if (!interp) {
			close(fd);
			reply(s, req->id, ENOENT, false);
			goto out;
		}
		size_t n = 0;
		while (argv[n])
			n++;
		kargv = xcalloc(n + 4, sizeof(char *));
		size_t k = 0;
		kargv[k++] = xstrdup(line);
		if (*arg)
			kargv[k++] = xstrdup(arg);
		kargv_prefix = k;
		kargv[k++] = xstrdup(path);
		for (size_t i = 1; i < n; i++)
			kargv[k++] = xstrdup(argv[i]);
		script = prog;
		prog = interp;
		close(fd);
		fd = open(prog, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
		if (fd < 0) {
			free(script);
			reply(s, req->id, errno, false);
			goto out;
		}
	}
	char interp_path[PATH_MAX];
	int has_interp = elf_interp(fd, interp_path, sizeof(interp_path)) == 0;
	close(fd);

	/* Which image does this become? */
	const struct bundle_image *child;
	char link[64];
	snprintf(link, sizeof(link), "/proc/%d/cwd", (int)req->pid);
	cwd = read_link(link);
	if (p->launcher) {
		child = bundle_image_by_id(s->b, s->b->root);
	} else {
		child = p->img && cwd ? image_child_for_exec(s->b, p->img, prog,
							     kargv ? kargv : argv, cwd)
				      : NULL;
	}
	if (!child) {
		deny(s, req, p, "exec", script ? path : prog, R_EXEC_NOT_ALLOWED, EACCES);
		free(script);
		goto out;
	}
	struct proc pend = *p;
	pend.n_exec_keys = 0;
	if (check_exec_file(s, p, req, child, prog, child->program_sha256,
			    &pend.exec_keys[pend.n_exec_keys++]) < 0) {
		free(script);
		goto out;
	}
	if (has_interp) {
		cleanup_free char *ireal = realpath(interp_path, NULL);
		const char *ip = image_trusted(child, interp_path) ? interp_path : ireal;
		if (!ip || check_exec_file(s, p, req, child, ip, NULL,
					   &pend.exec_keys[pend.n_exec_keys++]) < 0) {
			if (!ip)
				deny(s, req, p, "exec", interp_path, R_NOT_IN_MANIFEST, EACCES);
			free(script);
			goto out;
		}
	}
	if (script) {
		const char *sp = image_trusted(child, path) ? path : script;
		struct file_key sk;
		int rc = check_exec_file(s, p, req, child, sp, NULL, &sk);
		free(script);
		if (rc < 0)
			goto out;
	}
	size_t argv_len, name_at;
	char *want_argv = expected_cmdline(kargv ? kargv : argv, kargv ? kargv_prefix : 0,
					   &argv_len, &name_at);
	pthread_mutex_lock(&s->mu);
	free(p->exec_argv);
	p->exec_argv = want_argv;
	p->exec_argv_len = argv_len;
	p->exec_name_at = name_at;
	p->exec_pending = true;
	p->exec_img = child;
	memcpy(p->exec_keys, pend.exec_keys, sizeof(p->exec_keys));
	p->n_exec_keys = pend.n_exec_keys;
	pthread_mutex_unlock(&s->mu);
	verifier_prefetch(s->v, child);
	if (!s->first_exec_ns)
		s->first_exec_ns = mono_ns() - s->start_mono_ns;
	reply(s, req->id, 0, true);
out:
	free_strv(argv);
	free_strv(envp);
	free_strv(kargv);
	free(path);
	free(prog);
	free(cwd);
}

/* At the exec stop: is what the kernel mapped what was verified? */
static bool exec_loaded_verified(const struct proc *p, pid_t pid)
{
	char path[64];
	/* The program itself first: every mapping being one of the verified
	 * files is not enough (the verified ELF interpreter run as the program
	 * maps only itself). */
	struct stat exe;
	struct file_key k;
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	if (p->n_exec_keys < 1 || stat(path, &exe) < 0)
		return false;
	file_key_of(&exe, &k);
	if (!file_key_equal(&k, &p->exec_keys[0]))
		return false;
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	char line[PATH_MAX + 128];
	bool ok = true, saw = false;
	while (ok && fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		int off = 0;
		if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %n", &lo, &hi, &off) < 2 || !off)
			continue;
		if (line[off] != '/')
			continue; /* [stack], [vdso], anonymous */
		char mf[96];
		snprintf(mf, sizeof(mf), "/proc/%d/map_files/%lx-%lx", (int)pid, lo, hi);
		struct stat st;
		if (stat(mf, &st) < 0) {
			ok = false;
			break;
		}
		file_key_of(&st, &k);
		bool match = false;
		for (int i = 0; i < p->n_exec_keys; i++)
			match |= file_key_equal(&k, &p->exec_keys[i]);
		ok = match;
		saw = true;
	}
	fclose(f);
	return ok && saw;
}

/* At the exec stop: did the kernel build the argv that was checked?  It
 * reads argv from the process's memory (another thread could rewrite it)
 * and a script's #! line from the file (which could be swapped) after the
 * check. */
static bool exec_argv_as_checked(const struct proc *p, pid_t pid)
{
	cleanup_free char *got = NULL;
	size_t n;
	if (!p->exec_argv || proc_read_file(pid, "cmdline", &got, &n) < 0)
		return false;
	const char *want = p->exec_argv;
	size_t want_n = p->exec_argv_len, pre = p->exec_name_at;
	if (pre == SIZE_MAX)
		return n == want_n && memcmp(got, want, n) == 0;
	size_t post = want_n - pre;
	if (n < want_n + 1 || memcmp(got, want, pre) != 0 ||
	    memcmp(got + n - post, want + pre, post) != 0)
		return false;
	/* between them, exactly one string: the script's name */
	const char *name = got + pre;
	size_t name_n = n - pre - post;
	return memchr(name, '\0', name_n) == name + name_n - 1;
}

/* At the exec stop: the environment the kernel copied has no loader variable
 * (checked in envp at the notification; another thread could have rewritten
 * it since). */
static bool exec_env_clean(pid_t pid)
{
	cleanup_free char *env = NULL;
	size_t n;
	if (proc_read_file(pid, "environ", &env, &n) < 0)
		return false;
	for (size_t at = 0; at < n; at += strlen(env + at) + 1)
		if (policy_env_is_loader(env + at))
			return false;
	return true;
}

/* ---- mmap/mprotect PROT_EXEC ------------------------------------------- */

static bool stat_key(const char *path, struct file_key *k)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return false;
	file_key_of(&st, k);
	return true;
}

/* --allow-built-code (formats.md rule 13): a library this run built may be
 * mapped executable where the image's manifest says so (an allow rule with
 * "code"), if the file at link (a /proc magic link to it) is a regular file
 * of ours that changed since the run started.  Its bytes are not checked:
 * nothing could say what they should be.  Logged, as "built-code". */
static bool built_code_ok(struct sup *s, const struct seccomp_notif *req, struct proc *p,
			  const char *link)
{
	if (!p->img)
		return false;
	cleanup_free char *target = read_link(link);
	struct stat st;
	if (!target || stat(link, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (int64_t)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec < s->start_ns)
		return false;
	struct decision dec;
	policy_decide(p->img, OP_OPEN_READ, target, (pid_t)req->pid, &dec);
	if (dec.verdict != V_ALLOWED || !image_allows_code(p->img, target))
		return false;
	run_log_event(s->log, "built-code", req->pid, p->img->id, target);
	return true;
}

static void on_map(struct sup *s, const struct seccomp_notif *req, struct proc *p)
{
	const struct seccomp_data *d = &req->data;
	char link[96];
	struct file_key k;
	const char *call = d->nr == __NR_mmap ? "mmap" : "mprotect";
	/* Write and execute at once: code that was never verified (PR_SET_MDWE
	 * refuses it too where the kernel has it, launch.c). */
	if (d->args[2] & PROT_WRITE) {
		deny(s, req, p, call, "write+exec memory", R_BLOCKED_SYSCALL, EACCES);
		return;
	}
	if (d->nr == __NR_mmap) {
		uint64_t flags = d->args[3];
		int fd = (int)d->args[4];
		if (flags & MAP_ANONYMOUS) {
			/* Private: zeros, and writable later only through an
			 * mprotect(PROT_EXEC) refused below.  Shared: another
			 * mapping of it (a forked child's) can write the code. */
			if ((flags & MAP_TYPE) == MAP_PRIVATE)
				reply(s, req->id, 0, true);
			else
				deny(s, req, p, "mmap", "shared anonymous exec memory", R_BLOCKED_SYSCALL, EACCES);
			return;
		}
		snprintf(link, sizeof(link), "/proc/%d/fd/%d", (int)req->pid, fd);
		if ((stat_key(link, &k) && verifier_key_trusted(s->v, &k)) ||
		    built_code_ok(s, req, p, link)) {
			reply(s, req->id, 0, true);
			return;
		}
		cleanup_free char *target = read_link(link);
		deny(s, req, p, "mmap", target ? target : link, R_NOT_IN_MANIFEST, EACCES);
		return;
	}
	/* mprotect/pkey_mprotect: find the mapping holding addr */
	uint64_t addr = d->args[0];
	char maps[64];
	snprintf(maps, sizeof(maps), "/proc/%d/maps", (int)req->pid);
	FILE *f = fopen(maps, "re");
	bool ok = false;
	char found[PATH_MAX] = "anonymous memory";
	if (f) {
		char line[PATH_MAX + 128];
		while (fgets(line, sizeof(line), f)) {
			unsigned long lo, hi;
			int off = 0;
			if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %n", &lo, &hi, &off) < 2)
				continue;
			if (addr < lo || addr >= hi)
				continue;
			if (off && line[off] == '/') {
				line[strcspn(line, "\n")] = '\0';
				snprintf(found, sizeof(found), "%s", line + off);
				snprintf(link, sizeof(link), "/proc/%d/map_files/%lx-%lx",
					 (int)req->pid, lo, hi);
				ok = (stat_key(link, &k) && verifier_key_trusted(s->v, &k)) ||
				     built_code_ok(s, req, p, link);
			}
			break;
		}
		fclose(f);
	}
	if (ok)
		reply(s, req->id, 0, true);
	else
		deny(s, req, p, call, found, R_NOT_IN_MANIFEST, EACCES);
}

/* ---- the notification side --------------------------------------------- */

static void handle_notification(struct sup *s, const struct seccomp_notif *req)
{
	pthread_mutex_lock(&s->mu);
	struct proc *p = proc_get(s, (pid_t)req->pid);
	if (!p || p->state == P_DEAD) {
		/* a thread we have not seen: it belongs to a known process */
		struct proc *leader = proc_get(s, tgid_of((pid_t)req->pid));
		if (!leader) {
			pthread_mutex_unlock(&s->mu);
			run_log_violation(s->log, req->pid, NULL, "syscall", "unknown process",
					  R_BLOCKED_SYSCALL, false);
			reply(s, req->id, EPERM, false);
			return;
		}
		const struct bundle_image *img = leader->img;
		p = proc_put(s, (pid_t)req->pid);
		p->img = img;
	}
	/* p stays valid (entries are never freed while running) and its
	 * image cannot change while this task waits for our reply. */
	pthread_mutex_unlock(&s->mu);
	if (req->data.arch != AUDIT_ARCH_X86_64) {
		reply(s, req->id, ENOSYS, false);
		return;
	}
	switch (req->data.nr) {
	case __NR_open:
	case __NR_openat:
	case __NR_openat2:
	case __NR_creat:
		on_open(s, req, p);
		break;
	case __NR_execve:
	case __NR_execveat:
		on_exec(s, req, p);
		break;
	case __NR_mmap:
	case __NR_mprotect:
	case __NR_pkey_mprotect:
		on_map(s, req, p);
		break;
	default:
		deny(s, req, p, "syscall", "unexpected notification", R_BLOCKED_SYSCALL, EPERM);
	}
}

static void on_notification(struct sup *s)
{
	char buf[s->sizes.seccomp_notif + 64];
	struct seccomp_notif *req = (struct seccomp_notif *)buf;
	memset(buf, 0, sizeof(buf));
	if (ioctl(s->listener, SECCOMP_IOCTL_NOTIF_RECV, req) < 0) {
		/* EINTR (stop), ENOENT (the target is gone); anything else
		 * (no task left) would spin: wait for the stop signal */
		if (errno != EINTR && errno != ENOENT && !s->stop)
			pause();
		return;
	}
	s->n_notif++;
	uint64_t t0 = mono_ns();
	handle_notification(s, req);
	s->busy_ns += mono_ns() - t0;
}

/* ---- the ptrace side ---------------------------------------------------- */

static void cont(pid_t pid, int sig)
{
	ptrace(PTRACE_CONT, pid, 0, (void *)(long)sig);
}

static void on_new_task(struct sup *s, struct proc *parent, pid_t child)
{
	struct proc *c = proc_get(s, child);
	bool was_stopped = c && c->state == P_NEW_STOPPED;
	c = proc_put(s, child);
	c->img = parent->img;
	c->launcher = parent->launcher;
	if (was_stopped) {
		c->state = P_RUNNING;
		cont(child, 0);
	} else {
		c->state = P_NEW_PENDING;
	}
}

static void on_exec_stop(struct sup *s, pid_t pid)
{
	unsigned long former = 0;
	ptrace(PTRACE_GETEVENTMSG, pid, 0, &former);
	struct proc *p = proc_get(s, (pid_t)former);
	if (p && !p->exec_pending && s->o->audit) {
		/* audit: the exec was logged and let through; keep the image */
		if ((pid_t)former != pid) {
			struct proc saved = *p;
			p->state = P_DEAD;
			p = proc_put(s, pid);
			*p = saved;
			p->tid = pid;
		}
		cont(pid, 0);
		return;
	}
	if (!p || !p->exec_pending) {
		run_log_violation(s->log, pid, NULL, "exec", "(unchecked exec)", R_EXEC_NOT_ALLOWED, false);
		kill(pid, SIGKILL);
		cont(pid, 0);
		return;
	}
	struct proc saved = *p;
	if ((pid_t)former != pid) {
		p->state = P_DEAD;
		p->exec_argv = NULL; /* moved */
		p = proc_put(s, pid);
		*p = saved;
		p->tid = pid;
	}
	p->exec_pending = false;
	bool argv_ok = s->o->audit || exec_argv_as_checked(p, pid);
	free(p->exec_argv);
	p->exec_argv = NULL;
	if (!argv_ok || (!s->o->audit && !exec_env_clean(pid))) {
		run_log_violation(s->log, pid, saved.exec_img->id, "exec",
				  argv_ok ? "(a loader variable set after the check)"
					  : "(argv or #! line changed after the check)",
				  argv_ok ? R_LOADER_ENV : R_EXEC_NOT_ALLOWED, false);
		kill(pid, SIGKILL);
		cont(pid, 0);
		return;
	}
	if (!s->o->audit && !exec_loaded_verified(p, pid)) {
		char exe[64];
		snprintf(exe, sizeof(exe), "/proc/%d/exe", (int)pid);
		cleanup_free char *target = read_link(exe);
		run_log_violation(s->log, pid, saved.exec_img->id, "exec",
				  target ? target : "(program)", R_HASH_MISMATCH, false);
		kill(pid, SIGKILL);
		cont(pid, 0);
		return;
	}
	p->img = saved.exec_img;
	p->launcher = false;
	p->state = P_RUNNING;
	run_log_event(s->log, "exec", pid, p->img->id, p->img->program);
	cont(pid, 0);
}

static void on_wait_status(struct sup *s, pid_t pid, int st)
{
	if (WIFEXITED(st) || WIFSIGNALED(st)) {
		struct proc *p = proc_get(s, pid);
		if (p)
			p->state = P_DEAD;
		if (pid == s->root) {
			s->root_done = true;
			s->root_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		}
		return;
	}
	if (!WIFSTOPPED(st))
		return;
	int event = st >> 16, sig = WSTOPSIG(st);
	struct proc *p = proc_get(s, pid);
	switch (event) {
	case PTRACE_EVENT_FORK:
	case PTRACE_EVENT_VFORK:
	case PTRACE_EVENT_CLONE: {
		unsigned long child = 0;
		ptrace(PTRACE_GETEVENTMSG, pid, 0, &child);
		if (p && child)
			on_new_task(s, p, (pid_t)child);
		cont(pid, 0);
		return;
	}
	case PTRACE_EVENT_EXEC:
		on_exec_stop(s, pid);
		return;
	case PTRACE_EVENT_STOP:
		if (!p || p->state == P_DEAD) {
			p = proc_put(s, pid); /* fork event still to come */
			p->state = P_NEW_STOPPED;
			return;
		}
		if (p->state == P_NEW_PENDING) {
			p->state = P_RUNNING;
			cont(pid, 0);
			return;
		}
		if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU)
			ptrace(PTRACE_LISTEN, pid, 0, 0); /* group-stop: stay stopped */
		else
			cont(pid, 0);
		return;
	default:
		/* signal-delivery-stop: deliver it */
		cont(pid, sig);
	}
}

static void on_signals(struct sup *s)
{
	struct signalfd_siginfo si;
	while (read(s->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGCHLD)
			continue;
		/* SIGINT/SIGQUIT from a terminal reach the whole foreground
		 * group, the app included: forwarding would double them.
		 * Others (kill(1) of sgxpy) go to the root process. */
		if (si.ssi_signo != SIGINT && si.ssi_signo != SIGQUIT && !s->root_done)
			kill(s->root, (int)si.ssi_signo);
	}
	int st;
	pid_t pid;
	while ((pid = waitpid(-1, &st, WNOHANG | __WALL)) > 0) {
		pthread_mutex_lock(&s->mu);
		on_wait_status(s, pid, st);
		pthread_mutex_unlock(&s->mu);
	}
}

/* ---- the loop ------------------------------------------------------------ */

static void on_wake(int sig)
{
	(void)sig; /* only interrupts the RECV ioctl */
}

static void *notif_main(void *arg)
{
	struct sup *s = arg;
	sigset_t wake;
	sigemptyset(&wake);
	sigaddset(&wake, SIGRTMIN);
	pthread_sigmask(SIG_UNBLOCK, &wake, NULL);
	while (!s->stop)
		on_notification(s);
	return NULL;
}

static int supervise(struct sup *s)
{
	if (ioctl(s->listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS,
		  (uint64_t)SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP) < 0 && s->o->verbose)
		warn_msg("synchronous wake-up unavailable: %s", strerror(errno));
	int rc = pthread_create(&s->notif_thread, NULL, notif_main, s);
	if (rc == 0)
		pthread_setname_np(s->notif_thread, "sgxpy-notify"); /* for top -H, perf */
	if (rc != 0) {
		warn_msg("cannot start the notification thread: %s", strerror(rc));
		kill(s->root, SIGKILL);
		return EXIT_WRAP_FAIL;
	}
	struct pollfd pfd = {.fd = s->sigfd, .events = POLLIN};
	while (!s->root_done) {
		if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
			break;
		on_signals(s);
	}
	/* Stop the notification thread: a signal interrupts its RECV. */
	s->stop = 1;
	thread_interrupt_join(s->notif_thread, SIGRTMIN);
	return s->root_status;
}

/* CMD's path by PATH search (common/exec_path.c), or NULL. */
static char *command_path(const char *name)
{
	char *path = NULL;
	struct sg_err ignored;
	return find_program(name, &path, &ignored) == 0 ? path : NULL;
}

static void free_procs(struct strmap *m)
{
	strmap_foreach(m, e) {
		struct proc *p = e->value;
		free(p->exec_argv);
		free(p);
	}
	strmap_free(m);
}

/* die() once the hash threads run: stop them first (exit handlers must not run
 * under a thread still inside OpenSSL). */
static noreturn void __attribute__((format(printf, 3, 4)))
sup_die(struct sup *s, int status, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	verifier_free(s->v);
	s->v = NULL;
	strmap_free_values(&s->trusted_dirs);
	bundle_free(s->b);
	free(s->prog);
	die(status, "%s", msg);
}

int run_main(const struct run_opts *o)
{
	struct sg_err err = {{0}};
	struct sup s = {.o = o, .listener = -1, .sigfd = -1};
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	s.start_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
	s.start_mono_ns = mono_ns();
	struct landlock_plan *plan = NULL;
	int status = EXIT_WRAP_FAIL;

	/* Blocked before any thread exists, so that every thread has them
	 * blocked and they reach the signalfd (a hash thread with SIGCHLD
	 * unblocked would swallow it). */
	sigset_t mask, old;
	sigemptyset(&mask);
	int fwd[] = {SIGCHLD, SIGINT, SIGQUIT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2};
	for (size_t i = 0; i < ARRAY_SIZE(fwd); i++)
		sigaddset(&mask, fwd[i]);
	sigset_t block = mask;
	sigaddset(&block, SIGRTMIN); /* unblocked in the notification thread only */
	sigprocmask(SIG_BLOCK, &block, &old);
	struct sigaction wake_sa;
	memset(&wake_sa, 0, sizeof(wake_sa));
	wake_sa.sa_handler = on_wake; /* no SA_RESTART: RECV returns EINTR */
	sigaction(SIGRTMIN, &wake_sa, NULL);
	pthread_mutex_init(&s.mu, NULL);

	/* Hashing starts first, on the other cores: the program CMD names and
	 * its ELF interpreter (the exec check waits for them), while the bundle
	 * loads; then the root image's files, largest first. */
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (verifier_new(ncpu > 2 ? (int)ncpu - 1 : 1, o->seal, &s.v, &err) < 0)
		die(EXIT_SYSTEM, "%s", err.msg);
	s.prog = command_path(o->argv[0]);
	cleanup_free char *real = s.prog ? realpath(s.prog, NULL) : NULL;
	{
		char interp[PATH_MAX];
		int fd = real ? open(real, O_RDONLY | O_CLOEXEC) : -1;
		if (fd >= 0 && elf_interp(fd, interp, sizeof(interp)) == 0)
			verifier_prefetch_first(s.v, interp);
		if (fd >= 0)
			close(fd);
		if (real)
			verifier_prefetch_first(s.v, real);
	}
	/* The bundle, whose loader reads bundle.json once and checks every
	 * manifest's hash against those bytes; then the signature, over the
	 * measurement of exactly those bytes (reading bundle.json again for it
	 * let a rename in between get an unsigned bundle enforced). */
	if (bundle_load(o->bundle_dir, &s.b, &err) < 0)
		sup_die(&s, EXIT_WRAP_FAIL, "%s", err.msg);
	if (o->key_path && sign_check(o->bundle_dir, s.b->measurement, o->key_path, &err) != 0)
		sup_die(&s, EXIT_WRAP_FAIL, "%s", err.msg);
	note_trusted_dirs(&s);
	for (char **e = environ; *e; e++) {
		if (policy_env_is_loader(*e))
			sup_die(&s, EXIT_WRAP_FAIL, "%.*s is set: it changes what is loaded; unset it "
				"(the bundle vouches only for the traced files)", (int)strcspn(*e, "="), *e);
	}

	const struct bundle_image *root = bundle_image_by_id(s.b, s.b->root);
	cleanup_free char *cwd = getcwd(NULL, 0);
	if (root && root->cwd && (!cwd || strcmp(cwd, root->cwd) != 0))
		sup_die(&s, EXIT_WRAP_FAIL, "the current directory %s is not the traced one, %s "
			"(relative paths would name other files): cd there first",
			cwd ? cwd : "(unknown)", root->cwd);
	if (!s.prog)
		sup_die(&s, EXIT_WRAP_FAIL, "%s: command not found", o->argv[0]);
	{
		struct image_key k = {0}, want = {.program = root ? root->program : NULL,
						  .script = root ? root->script : NULL};
		if (real && cwd)
			image_key_from_exec(real, o->argv, cwd, &k);
		bool same = root && real && cwd && image_key_equal(&k, &want);
		if (real && cwd)
			image_key_free(&k);
		if (!same) {
			char *msg = xasprintf("the command is not the bundle's root image (%s%s%s)",
					      root ? root->program : "?", root && root->script ? " " : "",
					      root && root->script ? root->script : "");
			sup_die(&s, EXIT_WRAP_FAIL, "%s", msg);
		}
	}

	int abi = landlock_abi();
	/* --audit lets violations through, which Landlock would refuse: the
	 * audit run is a manifest-debugging aid, not a protected run. */
	if (!o->no_landlock && !o->audit) {
		if (abi < LANDLOCK_ABI_MIN)
			sup_die(&s, EXIT_SYSTEM, "Landlock ABI %d is missing or too old (need %d); "
				"pass --no-landlock to run without the kernel's second wall", abi,
				LANDLOCK_ABI_MIN);
		if (landlock_plan_build(s.b, abi, &plan, &err) < 0)
			sup_die(&s, EXIT_SYSTEM, "%s", err.msg);
	}
	if (run_log_open(o->log_path, &s.log, &err) < 0) {
		landlock_plan_free(plan);
		sup_die(&s, EXIT_WRAP_FAIL, "%s", err.msg);
	}
	/* W^X as the kernel's own rule where it has one (6.3); the supervisor's
	 * PROT_EXEC checks hold either way. */
	bool wx = !o->audit && launch_wx_available();
	cleanup_free char *ll = xasprintf("%s; W^X %s",
					  o->audit ? "landlock off (--audit)" : landlock_plan_describe(plan),
					  wx ? "on (PR_SET_MDWE)" : o->audit ? "off (--audit)"
									  : "unavailable (kernel < 6.3)");
	run_log_event(s.log, "start", getpid(), s.b->root, ll);
	if (o->audit)
		warn_msg("audit mode: violations are logged and allowed; this run is NOT protected");
	else if (o->no_landlock)
		warn_msg("--no-landlock: no kernel wall behind the supervisor (Landlock off)");
	if (o->verbose)
		warn_msg("%s", ll);

	s.sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &s.sizes);
	if (s.sigfd < 0)
		goto fail_errno;

	verifier_prefetch(s.v, root);
	struct sock_fprog filter = {0};
	if (filter_export(&filter, &err) < 0)
		goto fail;
	s.listener = launch_child(s.prog, o->argv, plan, &filter, wx, &old, &s.root, &err);
	free(filter.filter);
	if (s.listener < 0)
		goto fail;
	struct proc *rp = proc_put(&s, s.root);
	rp->launcher = true;
	rp->state = P_RUNNING;
	status = supervise(&s);
	struct verifier_stats vs;
	verifier_stats(s.v, &vs);
	char *end = xasprintf("status %d; CMD exec'd %.1f ms after start; %lu notifications "
			      "answered in %.1f ms (%.1f ms of it waiting for hashes, %.1f ms handing "
			      "%lu files over); %lu files hashed (%llu bytes), %lu cache hits",
			      status, (double)s.first_exec_ns / 1e6, s.n_notif,
			      (double)s.busy_ns / 1e6, (double)vs.wait_ns / 1e6,
			      (double)s.addfd_ns / 1e6, s.n_addfd, vs.hashed, vs.bytes, vs.hits);
	run_log_event(s.log, "end", 0, NULL, end);
	if (o->verbose)
		warn_msg("%s", end);
	free(end);
	goto out;
fail_errno:
	sg_fail_errno(&err, "signalfd");
fail:
	warn_msg("%s", err.msg);
	status = EXIT_WRAP_FAIL;
out:
	verifier_free(s.v);
	if (s.listener >= 0)
		close(s.listener);
	if (s.sigfd >= 0)
		close(s.sigfd);
	free_procs(&s.procs);
	strmap_free_values(&s.trusted_dirs);
	run_log_close(s.log);
	landlock_plan_free(plan);
	bundle_free(s.b);
	free(s.prog);
	pthread_mutex_destroy(&s.mu);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return status;
}
