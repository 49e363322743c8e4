/* stress_seccomp_full - exhaust the seccomp budget, then run a command.
 *
 *   stress_seccomp_full FREE CMD [ARG...]
 *
 * Stacks allow-all seccomp filters until only about FREE BPF instructions
 * remain of the kernel's 32768 per-path budget (MAX_INSNS_PER_PATH; each
 * filter costs its length + 4), then execs CMD.  Any filter CMD (or its
 * children) loads that is longer than FREE fails with ENOMEM: the fault
 * `sgxpy trace` and `sgxpy run` meet when a container runtime or a parent
 * sandbox already uses most of the budget. */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
static struct sock_filter f[4096];
static int load(int n)
{
	for (int i = 0; i < n - 1; i++)
		f[i] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0);
	f[n - 1] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	struct sock_fprog p = {(unsigned short)n, f};
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &p);
}
int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: stress_seccomp_full FREE CMD [ARG...]\n");
		return 2;
	}
	int left = 32768 - atoi(argv[1]);
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	while (left > 4) {
		int n = left - 4 > 4096 ? 4096 : left - 4;
		if (load(n) < 0) {
			perror("seccomp");
			return 1;
		}
		left -= n + 4;
	}
	execvp(argv[2], argv + 2);
	perror("exec");
	return 127;
}
