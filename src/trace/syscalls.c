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

#define P1(n, d, p, m, o) {n, SK_PATH, d, p, -1, -1, -1, m, NULL, o}
#define PF(n, d, p, f, m, o) {n, SK_PATH, d, p, -1, -1, f, m, NULL, o}

const struct sys_row sys_table[] = {
	/* Opens: the heart of the trace. */
	{"open", SK_OPEN, -1, 0, -1, -1, 1, NULL, NULL, SO_RESULT},
	{"openat", SK_OPEN, 0, 1, -1, -1, 2, NULL, NULL, SO_RESULT},
	{"openat2", SK_OPEN, 0, 1, -1, -1, 2, NULL, NULL, SO_RESULT | SO_OPENHOW},
	{"creat", SK_OPEN, -1, 0, -1, -1, -1, NULL, NULL, SO_RESULT | SO_CREAT},
	/* Stat family: probes, trapped with --stat only. */
	P1("stat", -1, 0, "stat", SO_RESULT | SO_STAT),
	P1("stat64", -1, 0, "stat", SO_RESULT | SO_STAT),
	P1("lstat", -1, 0, "stat", SO_RESULT | SO_STAT | SO_NOFOLLOW),
	P1("lstat64", -1, 0, "stat", SO_RESULT | SO_STAT | SO_NOFOLLOW),
	PF("newfstatat", 0, 1, 3, "stat", SO_RESULT | SO_STAT),
	PF("fstatat64", 0, 1, 3, "stat", SO_RESULT | SO_STAT),
	PF("statx", 0, 1, 2, "stat", SO_RESULT | SO_STAT),
	/* access() is rare and often a real dependency test (shutil.which). */
	P1("access", -1, 0, "stat", SO_RESULT),
	P1("faccessat", 0, 1, "stat", SO_RESULT),
	PF("faccessat2", 0, 1, 3, "stat", SO_RESULT),
	P1("readlink", -1, 0, "readlink", SO_RESULT | SO_NOFOLLOW),
	P1("readlinkat", 0, 1, "readlink", SO_RESULT | SO_NOFOLLOW),
	/* Listings: FileFinder's directory cache makes them dependencies.
	 * Trapped with --exact only: by default a directory opened with
	 * O_DIRECTORY (opendir, scandir, listdir) is recorded as listed, which
	 * spares two stops per directory (getdents runs until it returns 0). */
	{"getdents", SK_FD, -1, 0, -1, -1, -1, "list", NULL, SO_EXACT},
	{"getdents64", SK_FD, -1, 0, -1, -1, -1, "list", NULL, SO_EXACT},
	P1("chdir", -1, 0, "chdir", SO_RESULT),
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

static int add_row_rule(scmp_filter_ctx ctx, unsigned idx)
{
	const struct sys_row *row = &sys_table[idx];
	int nr = seccomp_syscall_resolve_name(row->name);
	if (nr == __NR_SCMP_ERROR || nr < 0)
		return 0; /* not a native syscall (i386-only names) */
	uint32_t act = SCMP_ACT_TRACE(idx);
	if (strcmp(row->name, "newfstatat") == 0)
		/* newfstatat(fd, "", AT_EMPTY_PATH) is fstat: no path, no dependency. */
		return seccomp_rule_add(ctx, act, nr, 1,
					SCMP_A3(SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, 0));
	if (row->kind == SK_MMAP)
		return seccomp_rule_add(ctx, act, nr, 2, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, PROT_EXEC),
					SCMP_A3(SCMP_CMP_MASKED_EQ, MAP_ANONYMOUS, 0));
	return seccomp_rule_add(ctx, act, nr, 0);
}

int sys_filter_load(bool with_stat, bool exact)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return -ENOMEM;
	/* Anything not native x86_64 (i386, x32) stops the tracee: recorded, never missed. */
	int rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_TRACE(SYS_FOREIGN_ABI));
	for (unsigned i = 0; rc == 0 && i < sys_table_len; i++) {
		if ((sys_table[i].opt & SO_STAT) && !with_stat && !exact)
			continue;
		if ((sys_table[i].opt & SO_EXACT) && !exact)
			continue;
		rc = add_row_rule(ctx, i);
	}
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	return rc;
}
