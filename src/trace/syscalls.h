/* syscalls.h - the one table of syscalls the tracer stops on, and the
 * seccomp filter built from it. */
#ifndef SGXPY_SYSCALLS_H
#define SGXPY_SYSCALLS_H

#include <stdbool.h>
#include <stdint.h>

enum sys_kind {
	SK_OPEN,    /* path opened with flags (open, openat, openat2, creat) */
	SK_PATH,    /* one path, fixed mode (stat, mkdir, unlink, ...) */
	SK_PATH2,   /* old and new path (rename, link) */
	SK_SYMLINK, /* link text + new path */
	SK_FD,      /* a directory or file fd (getdents, fchdir) */
	SK_EXEC,    /* execve, execveat */
	SK_MMAP,    /* PROT_EXEC mapping of a file */
	SK_NOTE,    /* syscalls that go around path checks: recorded by name */
	SK_CREDS,   /* set*id: the probes' credentials follow the app's */
};

/* Row options. */
enum {
	SO_RESULT = 1,   /* the outcome matters: take the exit stop in --exact mode */
	SO_EXIT = 2,     /* always take the exit stop (writes, creates, exec) */
	SO_STAT = 4,     /* stat family: trapped only with --stat (see syscalls.c) */
	SO_NOFOLLOW = 8, /* does not follow a final symlink (lstat, readlink, ...) */
	SO_OPENHOW = 16, /* flags are in struct open_how at the flags argument */
	SO_CREAT = 32,   /* creat(): flags are O_CREAT|O_WRONLY|O_TRUNC */
	SO_EXACT = 64,   /* trapped only with --exact */
	SO_NOTIFY = 128, /* read-only: a user notification instead of a ptrace stop */
	SO_ACCESS = 256, /* access family: the mode follows the path argument */
};

struct sys_row {
	const char *name;
	enum sys_kind kind;
	int8_t dirfd, path;   /* argument indexes; dirfd -1 = cwd */
	int8_t dirfd2, path2; /* second path, or -1 */
	int8_t flags;         /* open flags / AT_* flags argument, or -1 */
	const char *mode, *mode2;
	unsigned opt;
};

extern const struct sys_row sys_table[];
extern const unsigned sys_table_len;

/* RET_DATA of syscalls made through a foreign ABI (i386 via int 0x80, x32). */
#define SYS_FOREIGN_ABI 0xffffu

/* Row of a syscall by name (for foreign-ABI stops), or -1. */
int sys_row_by_name(const char *name);

/* Build and load the filter into the calling process (a child about to exec).
 * with_stat: also stop on the stat family; exact: on every row, all through
 * ptrace.  With listener non-NULL, SO_NOTIFY rows (and read-only opens) go
 * to a seccomp user-notification listener returned there.
 * Returns 0 or -errno. */
int trace_filter_load(bool with_stat, bool exact, int *listener);
/* The SO_NOTIFY row of a native syscall number, or NULL. */
const struct sys_row *sys_notify_row(long nr);

#endif
