/* run.h - `sgxpy run`: the supervisor that enforces a bundle on a plain Linux host.
 *
 * The stage is split so that policy is data, apart from the mechanisms that enforce it:
 *   policy.c     decide(image, op, path) -> allow/deny + reason; pure, unit-tested
 *   filter.c     THE table of intercepted and denied syscalls (libseccomp)
 *   landlock.c   the kernel-enforced second wall: the union of the bundle's paths
 *   launch.c     the child: no_new_privs, Landlock, seccomp listener, exec
 *   supervisor.c the notification loop, ptrace exec/fork tracking, fd injection
 *   verify.c     hashing, the per-run verdict cache, sealed memfd copies
 *   log.c        one stderr line per violation, JSON lines with --log
 */
#ifndef SGXPY_RUN_H
#define SGXPY_RUN_H

#include "common/bundle.h"
#include "common/elf.h"
#include "common/util.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>

/* ---- policy.c ---------------------------------------------------------- */

enum run_op {
	OP_OPEN_READ,  /* open read-only (files and directories) */
	OP_OPEN_WRITE, /* open for writing, O_CREAT, O_TRUNC */
	OP_EXEC,       /* execve/execveat of a program */
};

enum run_verdict {
	V_DENY,
	V_TRUSTED, /* supervisor opens it, checks the hash, injects that fd */
	V_ALLOWED, /* no content check; the kernel opens it (Landlock holds the union) */
};

enum run_reason {
	R_NONE,
	R_NOT_IN_MANIFEST,
	R_HASH_MISMATCH,
	R_WRITE_TRUSTED,
	R_WRITE_READONLY,
	R_EXEC_NOT_ALLOWED,
	R_BLOCKED_SYSCALL,
	R_MAGIC_LINK,
	R_LOADER_ENV,
	R_UNVERIFIED_CODE,
	R_DIR_MOVED,
};

struct decision {
	enum run_verdict verdict;
	enum run_reason reason;
	const struct bundle_file *file;   /* V_TRUSTED: the manifest entry */
	const struct bundle_allow *allow; /* V_ALLOWED by an allow rule */
};

const char *reason_str(enum run_reason r);

/* What img may do with path (absolute, normal).  tgid is the caller's, so that
 * /proc/<tgid>/... is "self" and any other process's /proc entry is refused.
 * Pure: reads only img. */
void policy_decide(const struct bundle_image *img, enum run_op op, const char *path,
		   pid_t tgid, struct decision *d);

/* True for /proc/<pid|self|thread-self>/{fd,root,cwd,exe,map_files}/... and the
 * root/cwd/exe links themselves: paths whose meaning is not their text. */
bool policy_is_magic_link(const char *path);

/* Environment variables that change what is loaded (refused): entry is
 * "NAME=value" or "NAME". */
bool policy_env_is_loader(const char *entry);

/* ---- filter.c ---------------------------------------------------------- */

enum filter_action {
	FA_NOTIFY, /* the supervisor decides */
	FA_ERRNO,  /* refused in the kernel, errno in the row */
};

struct filter_row {
	const char *name;
	enum filter_action action;
	int err;           /* FA_ERRNO */
	int arg;           /* -1: whole syscall; else masked compare on this argument */
	uint64_t mask;
	uint64_t value;    /* (arg & mask) == value */
	const char *why;
};

extern const struct filter_row filter_table[];
extern const size_t filter_table_len;

struct sock_fprog;
/* Build the filter (libseccomp) into raw BPF, in the parent: the forked child
 * then needs only async-signal-safe syscalls while the hash threads run. */
int filter_export(struct sock_fprog *out, struct sg_err *err);
/* In the child (no_new_privs set): load it with a new listener; returns the
 * listener fd or -1 with errno. */
int filter_load(const struct sock_fprog *prog);
/* For tests and `--explain`: is syscall nr of the native arch intercepted? */
bool filter_is_notified(int nr);

/* ---- landlock.c -------------------------------------------------------- */

#define LANDLOCK_ABI_TESTED 7
#define LANDLOCK_ABI_MIN 3 /* below: trusted files could be truncated */

struct landlock_plan;
/* Query the ABI once: >0 ABI, 0 none. */
int landlock_abi(void);
/* Build the union ruleset for the whole bundle (in the parent, before fork). */
int landlock_plan_build(const struct bundle *b, int abi, struct landlock_plan **out,
			struct sg_err *err);
/* Restrict the calling (single-threaded) process. */
int landlock_plan_apply(struct landlock_plan *p, struct sg_err *err);
/* One line for the log: ABI and rights active. */
const char *landlock_plan_describe(const struct landlock_plan *p);
void landlock_plan_free(struct landlock_plan *p);

/* ---- verify.c ---------------------------------------------------------- */

struct file_key {
	dev_t dev;
	ino_t ino;
	off_t size;
	int64_t mtime_ns, ctime_ns;
};

void file_key_of(const struct stat *st, struct file_key *k);
bool file_key_equal(const struct file_key *a, const struct file_key *b);
/* "dev:ino", the key of maps by inode (a file reached by several names). */
void file_key_inode_name(const struct file_key *k, char name[64]);

struct verifier;
int verifier_new(int threads, bool seal, struct verifier **out, struct sg_err *err);
void verifier_free(struct verifier *v);
/* Hash the image's trusted files on the worker threads, ahead of their use. */
void verifier_prefetch(struct verifier *v, const struct bundle_image *img);
/* Queue one path ahead of everything else (the program and its interpreter). */
void verifier_prefetch_first(struct verifier *v, const char *path);
/* Open path for reading (openat2, RESOLVE_NO_MAGICLINKS), check its bytes against
 * want (size, sha256) and return an fd to hand to the process: the opened fd, or
 * a sealed memfd copy in seal mode.  *mismatch tells a hash failure from an
 * open failure (errno in *open_errno).  extra_flags: O_NONBLOCK, O_DIRECTORY... */
int verifier_open(struct verifier *v, const char *path, int extra_flags,
		  const struct bundle_file *want, bool audit, bool *mismatch, int *open_errno,
		  struct file_key *key_out);
/* Verify a file the kernel itself will open (exec, ELF interpreter); records
 * its key so the post-exec check can compare.  0 ok, -1 mismatch/open error. */
int verifier_check_path(struct verifier *v, const char *path, const unsigned char sha[32],
			uint64_t size, struct file_key *key_out, int *open_errno);
/* Was an inode with this key verified in this run (for mmap(PROT_EXEC))? */
bool verifier_key_trusted(struct verifier *v, const struct file_key *k);
/* Stats for the closing log line. */
struct verifier_stats {
	unsigned long hashed;     /* files hashed (by workers or in place) */
	unsigned long hits;       /* opens answered from the verdict cache */
	unsigned long long bytes; /* bytes hashed */
	uint64_t wait_ns;         /* time a process waited for a hash */
};
void verifier_stats(struct verifier *v, struct verifier_stats *out);

/* ---- log.c ------------------------------------------------------------- */

struct run_log;
int run_log_open(const char *path, struct run_log **out, struct sg_err *err);
void run_log_close(struct run_log *l);
/* A violation: stderr line (always) + JSON line.  allowed: --audit let it pass. */
void run_log_violation(struct run_log *l, pid_t pid, const char *image, const char *op,
		       const char *path, enum run_reason reason, bool allowed);
/* The same for an open, saying whether it was for reading or writing. */
void run_log_access_violation(struct run_log *l, pid_t pid, const char *image, const char *op,
			      const char *access, const char *path, enum run_reason reason,
			      bool allowed);
/* An informational event (exec, start, landlock) to the JSON log only. */
void run_log_event(struct run_log *l, const char *kind, pid_t pid, const char *image,
		   const char *detail);

/* ---- supervisor.c / launch.c ------------------------------------------- */

struct run_opts {
	const char *bundle_dir;
	const char *log_path;
	const char *key_path;
	bool audit;
	bool seal;
	bool no_landlock; /* --no-landlock: run without the second wall */
	bool verbose;
	char **argv;      /* CMD */
};

/* launch.c: fork the child, restrict it (no_new_privs, W^X, Landlock, seccomp
 * listener), hand the listener fd to the parent, wait for the parent to attach,
 * then exec prog with argv.  Returns the listener fd; *pid the child.  mask: the
 * signal mask to restore in the child before exec.  wx: set the kernel's W^X
 * (PR_SET_MDWE), which the whole tree inherits and cannot clear. */
int launch_child(const char *prog, char **argv, struct landlock_plan *plan,
		 const struct sock_fprog *filter, bool wx, const void *oldmask, pid_t *pid,
		 struct sg_err *err);

/* Whether this kernel has PR_SET_MDWE (6.3). */
bool launch_wx_available(void);

/* The whole command; returns the exit status (CMD's, or EXIT_WRAP_FAIL). */
int run_main(const struct run_opts *o);

#endif
