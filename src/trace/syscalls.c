/* syscalls.c - what the tracer traps, and why.
 *
 * The seccomp filter returns SECCOMP_RET_TRACE with the row index as data for
 * these calls only: every other syscall runs at full speed.  At the stop the
 * tracer reads the index with PTRACE_GETEVENTMSG (via GET_SYSCALL_INFO), so
 * dispatch needs no syscall-number decoding.
 *
 * Every stop costs about 60-80 us on these VMs (the tracee's wake-up on
 * another CPU dominates), so the default set is what the manifest cannot do
 * without; --exact traps every row (`sgxpy trace --help`).
 *
 * Exit stops cost a second context switch.  Rows marked SO_EXIT always take
 * one (the result matters and cannot be had otherwise: a created file, an
 * exec that may fail).  Rows marked SO_RESULT take one only with --exact;
 * otherwise the tracer checks the path itself at the entry stop (the file's
 * existence and kind at the moment of the call), which is what the manifest
 * needs at a fraction of the cost.
 *
 * The stat family (SO_STAT) is the bulk of a Python start-up (about 700 path
 * stats for `import numpy`, plus 360 fstat-like newfstatat(fd, "",
 * AT_EMPTY_PATH) that are never trapped).  By default it runs untrapped: a
 * module's stat of X.py is implied by the read of __pycache__/X.*.pyc, and
 * a directory probe by its listing (getdents).  --stat traps them too.
 *
 * Cheaper still: the read-only rows (SO_NOTIFY, and opens without write,
 * create or truncate flags) go to a seccomp user-notification listener
 * (notify.c) instead of ptrace.  The listener reads the path and answers
 * CONTINUE at once; a notification round trip costs about half a ptrace
 * stop.  Writes, creates and exec stay with ptrace, which sees their result
 * and the process events.  --exact puts everything on ptrace.
 *
 * Syscalls made through a foreign ABI (i386 int 0x80, x32) all trap with
 * SYS_FOREIGN_ABI (the filter's bad-arch action); the tracer looks the
 * number up by name and handles it with the same row, so no 32-bit path
 * call is ever missed. */
#include "trace/syscalls.h"

#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <string.h>
#include <sys/mman.h>

#include "common/util.h"

#define P1(n, d, p, m, o) {n, SK_PATH, d, p, -1, -1, -1, m, NULL, o}
#define PF(n, d, p, f, m, o) {n, SK_PATH, d, p, -1, -1, f, m, NULL, o}

const struct sys_row sys_table[] = {
	/* Opens: the heart of the trace. */
	{"open", SK_OPEN, -1, 0, -1, -1, 1, NULL, NULL, SO_RESULT | SO_NOTIFY},
	{"openat", SK_OPEN, 0, 1, -1, -1, 2, NULL, NULL, SO_RESULT | SO_NOTIFY},
	{"openat2", SK_OPEN, 0, 1, -1, -1, 2, NULL, NULL, SO_RESULT | SO_OPENHOW},
	{"creat", SK_OPEN, -1, 0, -1, -1, -1, NULL, NULL, SO_RESULT | SO_CREAT},
	/* Stat family: probes, trapped with --stat only. */
	P1("stat", -1, 0, "stat", SO_RESULT | SO_STAT | SO_NOTIFY),
	P1("stat64", -1, 0, "stat", SO_RESULT | SO_STAT | SO_NOTIFY),
	P1("lstat", -1, 0, "stat", SO_RESULT | SO_STAT | SO_NOFOLLOW | SO_NOTIFY),
	P1("lstat64", -1, 0, "stat", SO_RESULT | SO_STAT | SO_NOFOLLOW | SO_NOTIFY),
	PF("newfstatat", 0, 1, 3, "stat", SO_RESULT | SO_STAT | SO_NOTIFY),
	PF("fstatat64", 0, 1, 3, "stat", SO_RESULT | SO_STAT | SO_NOTIFY),
	PF("statx", 0, 1, 2, "stat", SO_RESULT | SO_STAT | SO_NOTIFY),
	/* access() is rare and often a real dependency test (shutil.which). */
	P1("access", -1, 0, "stat", SO_RESULT | SO_NOTIFY | SO_ACCESS),
	P1("faccessat", 0, 1, "stat", SO_RESULT | SO_NOTIFY | SO_ACCESS),
	PF("faccessat2", 0, 1, 3, "stat", SO_RESULT | SO_NOTIFY | SO_ACCESS),
	P1("readlink", -1, 0, "readlink", SO_RESULT | SO_NOFOLLOW | SO_NOTIFY),
	P1("readlinkat", 0, 1, "readlink", SO_RESULT | SO_NOFOLLOW | SO_NOTIFY),
	/* Listings: FileFinder's directory cache makes them dependencies.
	 * Trapped with --exact only: by default a directory opened with
	 * O_DIRECTORY (opendir, scandir, listdir) is recorded as listed, which
	 * spares two stops per directory (getdents runs until it returns 0). */
	{"getdents", SK_FD, -1, 0, -1, -1, -1, "list", NULL, SO_EXACT},
	{"getdents64", SK_FD, -1, 0, -1, -1, -1, "list", NULL, SO_EXACT},
	P1("chdir", -1, 0, "chdir", SO_RESULT | SO_NOTIFY),
	{"fchdir", SK_FD, -1, 0, -1, -1, -1, "chdir", NULL, 0},
	/* Name changes: what a process creates or removes becomes writable. */
	P1("mkdir", -1, 0, "create", SO_EXIT | SO_NOFOLLOW),
	P1("mkdirat", 0, 1, "create", SO_EXIT | SO_NOFOLLOW),
	P1("unlink", -1, 0, "remove", SO_EXIT | SO_NOFOLLOW),
	P1("unlinkat", 0, 1, "remove", SO_EXIT | SO_NOFOLLOW),
	P1("rmdir", -1, 0, "remove", SO_EXIT | SO_NOFOLLOW),
	P1("truncate", -1, 0, "write", SO_EXIT),
	P1("truncate64", -1, 0, "write", SO_EXIT),
	{"rename", SK_PATH2, -1, 0, -1, 1, -1, "remove", "create", SO_EXIT | SO_NOFOLLOW},
	{"renameat", SK_PATH2, 0, 1, 2, 3, -1, "remove", "create", SO_EXIT | SO_NOFOLLOW},
	{"renameat2", SK_PATH2, 0, 1, 2, 3, -1, "remove", "create", SO_EXIT | SO_NOFOLLOW},
	{"link", SK_PATH2, -1, 0, -1, 1, -1, "stat", "create", SO_EXIT | SO_NOFOLLOW},
	{"linkat", SK_PATH2, 0, 1, 2, 3, -1, "stat", "create", SO_EXIT | SO_NOFOLLOW},
	{"symlink", SK_SYMLINK, -1, 0, -1, 1, -1, "symlink", NULL, SO_EXIT},
	{"symlinkat", SK_SYMLINK, -1, 0, 1, 2, -1, "symlink", NULL, SO_EXIT},
	/* Exec: the exit stop tells a failed exec (no PTRACE_EVENT_EXEC) apart. */
	{"execve", SK_EXEC, -1, 0, -1, -1, -1, "exec", NULL, SO_EXIT},
	{"execveat", SK_EXEC, 0, 1, -1, -1, 4, "exec", NULL, SO_EXIT},
	/* Executable mappings: with --exact only (filtered to PROT_EXEC, not
	 * anonymous); by default read from /proc/PID/maps when an image ends. */
	{"mmap", SK_MMAP, -1, 4, -1, -1, -1, "map", NULL, SO_EXACT},
	{"mmap2", SK_MMAP, -1, 4, -1, -1, -1, "map", NULL, SO_EXACT},
	/* Credential changes: rare, and the tracer's own checks of a path must
	 * then be made as the new user (a root tracer, an app dropping to nobody). */
	{"setuid", SK_CREDS, -1, -1, -1, -1, -1, NULL, NULL, SO_EXIT},
	{"setgid", SK_CREDS, -1, -1, -1, -1, -1, NULL, NULL, SO_EXIT},
	{"setreuid", SK_CREDS, -1, -1, -1, -1, -1, NULL, NULL, SO_EXIT},
	{"setregid", SK_CREDS, -1, -1, -1, -1, -1, NULL, NULL, SO_EXIT},
	{"setresuid", SK_CREDS, -1, -1, -1, -1, -1, NULL, NULL, SO_EXIT},
	{"setresgid", SK_CREDS, -1, -1, -1, -1, -1, NULL, NULL, SO_EXIT},
	{"setfsuid", SK_CREDS, -1, -1, -1, -1, -1, NULL, NULL, SO_EXIT},
	{"setfsgid", SK_CREDS, -1, -1, -1, -1, -1, NULL, NULL, SO_EXIT},
	{"setgroups", SK_CREDS, -1, -1, -1, -1, -1, NULL, NULL, SO_EXIT},
	/* Opens that no path check sees: the supervisor denies them. */
	{"io_uring_setup", SK_NOTE, -1, -1, -1, -1, -1, "syscall", NULL, 0},
	{"open_by_handle_at", SK_NOTE, -1, -1, -1, -1, -1, "syscall", NULL, 0},
	{"name_to_handle_at", SK_NOTE, -1, -1, -1, -1, -1, "syscall", NULL, 0},
};
const unsigned sys_table_len = sizeof(sys_table) / sizeof(sys_table[0]);

int sys_row_by_name(const char *name)
{
	for (unsigned i = 0; i < sys_table_len; i++)
		if (strcmp(sys_table[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* Flags that make an open more than a read: those stay with ptrace.  The
 * rules are one per bit plus their complement, so every open matches one.
 * (O_TMPFILE is its own bit plus O_DIRECTORY: only the former counts.) */
static const uint64_t open_write_bits[] = {O_WRONLY, O_RDWR, O_CREAT, O_TRUNC,
					   O_TMPFILE & ~O_DIRECTORY};

static int add_open_rules(scmp_filter_ctx ctx, int nr, unsigned flags_arg, uint32_t trace,
			  uint32_t notify)
{
	uint64_t all = 0;
	for (unsigned i = 0; i < ARRAY_SIZE(open_write_bits); i++) {
		uint64_t bit = open_write_bits[i];
		all |= bit;
		struct scmp_arg_cmp cmp = {flags_arg, SCMP_CMP_MASKED_EQ, bit, bit};
		int rc = seccomp_rule_add_array(ctx, trace, nr, 1, &cmp);
		if (rc < 0)
			return rc;
	}
	struct scmp_arg_cmp none = {flags_arg, SCMP_CMP_MASKED_EQ, all, 0};
	return seccomp_rule_add_array(ctx, notify, nr, 1, &none);
}

static int add_row_rule(scmp_filter_ctx ctx, unsigned idx, bool notify)
{
	const struct sys_row *row = &sys_table[idx];
	int nr = seccomp_syscall_resolve_name(row->name);
	if (nr == __NR_SCMP_ERROR || nr < 0)
		return 0; /* not a native syscall (i386-only names) */
	uint32_t act = SCMP_ACT_TRACE(idx);
	bool to_listener = notify && (row->opt & SO_NOTIFY);
	if (to_listener && row->kind == SK_OPEN)
		return add_open_rules(ctx, nr, (unsigned)row->flags, act, SCMP_ACT_NOTIFY);
	if (to_listener)
		act = SCMP_ACT_NOTIFY;
	if (strcmp(row->name, "newfstatat") == 0)
		/* newfstatat(fd, "", AT_EMPTY_PATH) is fstat: no path, no dependency. */
		return seccomp_rule_add(ctx, act, nr, 1,
					SCMP_A3(SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, 0));
	if (row->kind == SK_MMAP)
		return seccomp_rule_add(ctx, act, nr, 2, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, PROT_EXEC),
					SCMP_A3(SCMP_CMP_MASKED_EQ, MAP_ANONYMOUS, 0));
	return seccomp_rule_add(ctx, act, nr, 0);
}

static bool row_enabled(unsigned opt, bool with_stat, bool exact)
{
	if ((opt & SO_STAT) && !with_stat && !exact)
		return false;
	return !(opt & SO_EXACT) || exact;
}

int trace_filter_load(bool with_stat, bool exact, int *listener)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return -ENOMEM;
	bool notify = listener && !exact;
	/* Anything not native x86_64 (i386, x32) stops the tracee: recorded, never missed. */
	int rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_TRACE(SYS_FOREIGN_ABI));
	for (unsigned i = 0; rc == 0 && i < sys_table_len; i++)
		if (row_enabled(sys_table[i].opt, with_stat, exact))
			rc = add_row_rule(ctx, i, notify);
	if (rc == 0)
		rc = seccomp_load(ctx);
	if (rc == 0 && notify) {
		*listener = seccomp_notify_fd(ctx);
		if (*listener < 0)
			rc = *listener;
	}
	seccomp_release(ctx);
	return rc;
}

const struct sys_row *sys_notify_row(long nr)
{
	/* Built on first use by the listener thread, its only caller. */
	static struct {
		long nr;
		const struct sys_row *row;
	} map[32];
	static unsigned n = 0, built = 0;
	if (!built) {
		for (unsigned i = 0; i < sys_table_len && n < ARRAY_SIZE(map); i++) {
			int row_nr = seccomp_syscall_resolve_name(sys_table[i].name);
			if ((sys_table[i].opt & SO_NOTIFY) && row_nr >= 0)
				map[n].nr = row_nr, map[n++].row = &sys_table[i];
		}
		built = 1;
	}
	for (unsigned i = 0; i < n; i++)
		if (map[i].nr == nr)
			return map[i].row;
	return NULL;
}
