/* filter.c - THE table of syscalls the supervisor intercepts or the kernel refuses.
 *
 * Everything not in the table is allowed at full speed: the cost of `sgxpy run`
 * is one user-notification round trip per row marked NOTIFY that fires, so the
 * table intercepts only what changes what code or data the process loads.
 * Deliberately NOT intercepted: stat family, getdents, access, readlink (metadata
 * only, nothing is loaded; ~1,000 newfstatat in `import numpy`), and writes,
 * renames, links, unlinks (Landlock holds those: no write, truncate, remove,
 * make or refer right on any trusted file's directory unless an allow rule says
 * so; see landlock.c).
 *
 * Arch: the filter is built for x86_64 only.  i386 (`int 0x80`) entries fail the
 * arch check and x32 entries (nr | 0x40000000, same AUDIT_ARCH) are rejected by
 * libseccomp's x86_64 prologue; both kill the process (SCMP_FLTATR_ACT_BADARCH).
 * Integer arguments are compared through a mask, so high bits set by the caller
 * cannot dodge a rule (CVE-2019-10063). */
#include "run/run.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/personality.h>
#include <sched.h>
#include <seccomp.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/seccomp.h>
#include <unistd.h>

#define ALL -1, 0, 0
#define M32 0xffffffffULL

const struct filter_row filter_table[] = {
	/* Opens: trusted files are opened by the supervisor, hashed and injected;
	 * other allowed paths continue (Landlock enforces the union). */
	/* Directory and O_PATH opens load nothing (O_DIRECTORY on a file fails
	 * with ENOTDIR; O_CREAT|O_DIRECTORY is EINVAL): the kernel decides them,
	 * with Landlock's READ_DIR union; O_TMPFILE (which includes O_DIRECTORY)
	 * still comes here.  Two rows per syscall, OR'ed: notify unless the
	 * flags have O_DIRECTORY or O_PATH and not the __O_TMPFILE bit. */
	{"open", FA_NOTIFY, 0, 1, O_DIRECTORY | O_PATH, 0, "path open: trusted files are verified and injected"},
	{"open", FA_NOTIFY, 0, 1, __O_TMPFILE, __O_TMPFILE, "unnamed file creation in a directory"},
	{"openat", FA_NOTIFY, 0, 2, O_DIRECTORY | O_PATH, 0, "path open: trusted files are verified and injected"},
	{"openat", FA_NOTIFY, 0, 2, __O_TMPFILE, __O_TMPFILE, "unnamed file creation in a directory"},
	{"openat2", FA_NOTIFY, 0, ALL, "path open: trusted files are verified and injected"},
	{"creat", FA_NOTIFY, 0, ALL, "creates/truncates: never on a trusted path"},
	/* Exec cannot be emulated: checked here, then re-checked at the ptrace
	 * exec stop against what the kernel actually loaded. */
	{"execve", FA_NOTIFY, 0, ALL, "exec: child image, program, PT_INTERP, #! verified"},
	{"execveat", FA_ERRNO, EACCES, 4, AT_EMPTY_PATH, AT_EMPTY_PATH,
	 "fileless exec (memfd, O_PATH fd): no path to vouch for"},
	{"execveat", FA_NOTIFY, 0, 4, AT_EMPTY_PATH, 0, "exec by path: as execve"},
	/* Executable mappings only of verified files (Landlock does not see mmap). */
	{"mmap", FA_NOTIFY, 0, 2, PROT_EXEC, PROT_EXEC, "PROT_EXEC only of verified files"},
	{"mprotect", FA_NOTIFY, 0, 2, PROT_EXEC, PROT_EXEC, "PROT_EXEC only of verified files"},
	{"pkey_mprotect", FA_NOTIFY, 0, 2, PROT_EXEC, PROT_EXEC,
	 "PROT_EXEC only of verified files"},
	{"personality", FA_ERRNO, EPERM, 0, READ_IMPLIES_EXEC, READ_IMPLIES_EXEC,
	 "READ_IMPLIES_EXEC would make every PROT_READ map executable"},
	/* Ways around the supervisor. */
	/* ptrace attaches every new task at birth (launch.c), which is how the
	 * supervisor learns its image and stops it at exec; CLONE_UNTRACED opts
	 * out of that, so an untraced task could exec with no check of what was
	 * loaded, keep its parent's manifest, and outlive PTRACE_O_EXITKILL.
	 * clone3 passes its flags in memory the filter cannot read: ENOSYS, on
	 * which glibc (pthread_create, posix_spawn) falls back to clone. */
	{"clone", FA_ERRNO, EPERM, 0, CLONE_UNTRACED, CLONE_UNTRACED,
	 "an untraced task escapes the exec check and EXITKILL"},
	{"clone3", FA_ERRNO, ENOSYS, ALL, "flags in memory: CLONE_UNTRACED unseen"},
	{"io_uring_setup", FA_ERRNO, ENOSYS, ALL, "SQEs open files behind seccomp's back"},
	{"io_uring_enter", FA_ERRNO, ENOSYS, ALL, "SQEs open files behind seccomp's back"},
	{"io_uring_register", FA_ERRNO, ENOSYS, ALL, "SQEs open files behind seccomp's back"},
	{"open_by_handle_at", FA_ERRNO, EPERM, ALL, "opens without a path walk"},
	{"name_to_handle_at", FA_ERRNO, EPERM, ALL, "handles feed open_by_handle_at"},
	{"ptrace", FA_ERRNO, EPERM, ALL, "would rewrite a sibling's memory or syscalls"},
	{"process_vm_writev", FA_ERRNO, EPERM, ALL, "writes another process's memory"},
	{"pidfd_getfd", FA_ERRNO, EPERM, ALL, "steals fds from a sibling"},
	{"seccomp", FA_ERRNO, EPERM, ALL, "a later listener would take precedence"},
	{"prctl", FA_ERRNO, EPERM, 0, M32, PR_SET_SECCOMP, "a later filter/listener"},
	{"userfaultfd", FA_ERRNO, EPERM, ALL, "widens race windows at will"},
};
const size_t filter_table_len = ARRAY_SIZE(filter_table);

static int add_row(scmp_filter_ctx ctx, const struct filter_row *r, struct sg_err *err)
{
	int nr = seccomp_syscall_resolve_name(r->name);
	if (nr == __NR_SCMP_ERROR)
		return 0; /* not on this arch: nothing to intercept */
	uint32_t action = r->action == FA_NOTIFY ? SCMP_ACT_NOTIFY : SCMP_ACT_ERRNO(r->err);
	int rc;
	if (r->arg < 0)
		rc = seccomp_rule_add(ctx, action, nr, 0);
	else
		rc = seccomp_rule_add(ctx, action, nr, 1,
				      SCMP_CMP((unsigned)r->arg, SCMP_CMP_MASKED_EQ, r->mask, r->value));
	if (rc < 0)
		return sg_fail(err, "seccomp rule for %s: %s", r->name, strerror(-rc));
	return 0;
}

static scmp_filter_ctx build(struct sg_err *err)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx) {
		sg_fail(err, "seccomp_init failed");
		return NULL;
	}
	if (seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS) < 0 ||
	    seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0) < 0) {
		seccomp_release(ctx);
		sg_fail(err, "seccomp attributes refused");
		return NULL;
	}
	for (size_t i = 0; i < filter_table_len; i++) {
		if (add_row(ctx, &filter_table[i], err) < 0) {
			seccomp_release(ctx);
			return NULL;
		}
	}
	return ctx;
}

int filter_export(struct sock_fprog *out, struct sg_err *err)
{
	scmp_filter_ctx ctx = build(err);
	if (!ctx)
		return -1;
	/* libseccomp 2.5 exports to an fd only: through a memfd. */
	int m = memfd_create("sgxpy-bpf", MFD_CLOEXEC);
	if (m < 0) {
		seccomp_release(ctx);
		return sg_fail_errno(err, "memfd_create");
	}
	int rc = seccomp_export_bpf(ctx, m);
	seccomp_release(ctx);
	off_t size = lseek(m, 0, SEEK_END);
	if (rc < 0 || size <= 0 || size % sizeof(struct sock_filter) != 0) {
		close(m);
		return sg_fail(err, "exporting the seccomp filter failed");
	}
	struct sock_filter *f = xmalloc((size_t)size);
	if (pread(m, f, (size_t)size, 0) != size) {
		close(m);
		free(f);
		return sg_fail_errno(err, "reading the seccomp filter");
	}
	close(m);
	out->len = (unsigned short)(size / sizeof(struct sock_filter));
	out->filter = f;
	return 0;
}

int filter_load(const struct sock_fprog *prog)
{
	/* WAIT_KILLABLE_RECV (5.19): once the supervisor has received a
	 * notification only a fatal signal interrupts the syscall, so an
	 * injected fd is never lost to a restart. */
	long fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
			  SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, prog);
	if (fd < 0 && errno == EINVAL)
		fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, prog);
	return (int)fd;
}

bool filter_is_notified(int nr)
{
	for (size_t i = 0; i < filter_table_len; i++)
		if (filter_table[i].action == FA_NOTIFY &&
		    seccomp_syscall_resolve_name(filter_table[i].name) == nr)
			return true;
	return false;
}
