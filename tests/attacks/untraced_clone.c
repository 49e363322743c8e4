/* untraced_clone MODE FILE: a task the tracer is never told about.
 * CLONE_UNTRACED keeps ptrace from attaching to a new task, so it could exec
 * with no exec stop and keep its parent's manifest (MODE thread: a thread that
 * execs cat FILE), or outlive the supervisor (MODE process).  MODE clone3: the
 * same flag through clone3, whose flags the seccomp filter cannot read. */
#include "common.h"
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static char *file;

static int cat(void *arg)
{
	(void)arg;
	execl("/bin/cat", "cat", file, (char *)NULL);
	_exit(127);
}

int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	file = argv[2];
	static char stack[1 << 16];
	if (strcmp(argv[1], "clone3") == 0) {
		struct clone_args a;
		memset(&a, 0, sizeof(a));
		a.flags = CLONE_UNTRACED;
		a.exit_signal = SIGCHLD;
		long pid = syscall(SYS_clone3, &a, sizeof(a));
		if (pid < 0)
			BLOCKED("clone3");
		if (pid == 0)
			cat(NULL);
		waitpid((pid_t)pid, NULL, 0);
		printf("ATTACK OK untraced child ran\n");
		return 0;
	}
	int flags = CLONE_UNTRACED | SIGCHLD;
	if (strcmp(argv[1], "thread") == 0)
		flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
			CLONE_SYSVSEM | CLONE_UNTRACED;
	if (clone(cat, stack + sizeof(stack), flags, NULL) < 0)
		BLOCKED("clone");
	if (flags & CLONE_THREAD)
		pause(); /* the exec replaces the whole process */
	wait(NULL);
	printf("ATTACK OK untraced child ran\n");
	return 0;
}
