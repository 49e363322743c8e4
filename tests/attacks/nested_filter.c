/* nested_filter: install a second seccomp filter (seccomp() and
 * prctl(PR_SET_SECCOMP)), and try userfaultfd: a later listener would take
 * precedence over sgxpy's; userfaultfd widens race windows at will. */
#include "common.h"
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
	struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	struct sock_fprog prog = {1, &allow};
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	long a = syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
	int ea = errno;
	long b = prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0);
	int eb = errno;
	long c = syscall(__NR_userfaultfd, 0);
	int ec = errno;
	if (a == 0 && b == 0 && c >= 0)
		printf("ATTACK OK seccomp, prctl(PR_SET_SECCOMP) and userfaultfd\n");
	else
		printf("BLOCKED seccomp: %s; prctl: %s; userfaultfd: %s\n", a == 0 ? "ok" : strerror(ea),
		       b == 0 ? "ok" : strerror(eb), c >= 0 ? "ok" : strerror(ec));
	return 0;
}
