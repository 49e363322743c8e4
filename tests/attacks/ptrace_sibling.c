/* ptrace_sibling: fork a sibling, then PTRACE_ATTACH to it and write its memory
 * with process_vm_writev: what a compromised process would do to another one
 * of the same app whose manifest is wider. */
#include "common.h"
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile char secret[16] = "original";

int main(void)
{
	pid_t c = fork();
	if (c == 0) {
		for (;;)
			pause();
	}
	char evil[16] = "overwritten";
	struct iovec l = {evil, sizeof(evil)}, r = {(void *)secret, sizeof(evil)};
	ssize_t n = process_vm_writev(c, &l, 1, &r, 1, 0);
	int werr = errno;
	long a = ptrace(PTRACE_ATTACH, c, 0, 0);
	int perr = errno;
	kill(c, SIGKILL);
	waitpid(c, NULL, 0);
	if (n > 0 && a == 0) {
		printf("ATTACK OK process_vm_writev and ptrace\n");
	} else {
		printf("BLOCKED process_vm_writev: %s; ptrace: %s\n", n > 0 ? "ok" : strerror(werr),
		       a == 0 ? "ok" : strerror(perr));
	}
	return 0;
}
