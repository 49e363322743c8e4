/* launch.c - start CMD already confined.
 *
 * The child, while still single-threaded (Landlock below ABI 8 binds one
 * thread) and before running any of CMD's code:
 *   1. PR_SET_PDEATHSIG(SIGKILL), so it dies if the supervisor dies before
 *      attaching (after that, PTRACE_O_EXITKILL covers the whole tree);
 *   2. PR_SET_NO_NEW_PRIVS (required by Landlock and unprivileged seccomp);
 *      PR_SET_MDWE(REFUSE_EXEC_GAIN): no mapping is ever writable and
 *      executable, and none becomes executable after the fact.  The supervisor
 *      checks that PROT_EXEC maps only verified files, but the kernel alone can
 *      refuse the write-then-execute sequence on a verified file's own pages
 *      (mprotect RW, patch, mprotect RX) and hold it for every descendant,
 *      inherited and never cleared;
 *   3. Landlock: the union ruleset built by the parent;
 *   4. the seccomp filter with a new listener; the listener fd goes to the
 *      parent over a socketpair (SCM_RIGHTS) and is closed here, so CMD never
 *      holds its own listener;
 *   5. waits for the parent's "go" (sent once it is attached with ptrace), then
 *      execve() - itself the first notification the supervisor decides.
 *
 * Why ptrace as well as user notification: PTRACE_SEIZE with TRACEFORK/VFORK/
 * CLONE attaches every new task atomically at fork, before it runs, so the
 * supervisor knows which image each pid runs (a forked child keeps its
 * parent's; PTRACE_EVENT_EXEC gives the new one, with the process stopped
 * before its first instruction, which is where what the kernel loaded is
 * compared with what was verified); and PTRACE_O_EXITKILL kills every tracee
 * if the supervisor dies, which PR_SET_PDEATHSIG (one level, cleared on fork)
 * cannot do for grandchildren, and a closed listener only turns intercepted
 * calls into ENOSYS.  No syscall is traced: the cost is one stop per fork,
 * clone, exec and signal, not per syscall. */
#include "run/run.h"

#include <errno.h>
#include <linux/filter.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/wait.h>

/* Not in Debian 12's kernel headers (Linux 6.3 uapi). */
#ifndef PR_SET_MDWE
#define PR_SET_MDWE 65
#define PR_GET_MDWE 66
#define PR_MDWE_REFUSE_EXEC_GAIN 1UL
#endif

bool launch_wx_available(void)
{
	return prctl(PR_GET_MDWE, 0L, 0L, 0L, 0L) >= 0;
}

static void send_fd(int sock, int fd, const char *msg)
{
	char buf[CMSG_SPACE(sizeof(int))];
	memset(buf, 0, sizeof(buf));
	struct iovec iov = {.iov_base = (void *)msg, .iov_len = strlen(msg) + 1};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	if (fd >= 0) {
		mh.msg_control = buf;
		mh.msg_controllen = sizeof(buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	while (sendmsg(sock, &mh, MSG_NOSIGNAL) < 0 && errno == EINTR)
		;
}

static int recv_fd(int sock, char *msg, size_t len)
{
	char buf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {.iov_base = msg, .iov_len = len - 1};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = buf,
			    .msg_controllen = sizeof(buf)};
	ssize_t n;
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		snprintf(msg, len, "the child died before starting");
		return -1;
	}
	msg[n] = '\0';
	int fd = -1;
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
		memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

/* The parent has threads (hashing ahead): from fork to exec only syscalls and
 * no allocation here. */
static noreturn void child(int sock, pid_t parent, const char *prog, char **argv,
			   struct landlock_plan *plan, const struct sock_fprog *filter, bool wx,
			   const sigset_t *oldmask)
{
	struct sg_err err = {{0}};
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(EXIT_WRAP_FAIL);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		sg_fail_errno(&err, "no_new_privs");
		goto fail;
	}
	if (wx && prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0L, 0L, 0L) < 0) {
		sg_fail_errno(&err, "PR_SET_MDWE");
		goto fail;
	}
	if (plan && landlock_plan_apply(plan, &err) < 0)
		goto fail;
	int listener = filter_load(filter);
	if (listener < 0) {
		sg_fail_errno(&err, "loading the seccomp filter");
		goto fail;
	}
	send_fd(sock, listener, "ok");
	close(listener);
	char go;
	if (read(sock, &go, 1) != 1)
		_exit(EXIT_WRAP_FAIL); /* the supervisor gave up */
	close(sock);
	sigprocmask(SIG_SETMASK, oldmask, NULL);
	execv(prog, argv);
	/* The supervisor already said why if it refused; otherwise: */
	int e = errno;
	const char *parts[] = {"sgxpy: run: cannot execute ", prog, ": ", strerror(e), "\n"};
	for (size_t i = 0; i < ARRAY_SIZE(parts); i++)
		if (write(2, parts[i], strlen(parts[i])) < 0)
			break;
	_exit(e == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC);
fail:
	send_fd(sock, -1, err.msg);
	_exit(EXIT_WRAP_FAIL);
}

int launch_child(const char *prog, char **argv, struct landlock_plan *plan,
		 const struct sock_fprog *filter, bool wx, const void *oldmask, pid_t *pid_out,
		 struct sg_err *err)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return sg_fail_errno(err, "socketpair");
	pid_t parent = getpid();
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return sg_fail_errno(err, "fork");
	}
	if (pid == 0) {
		close(sv[0]);
		child(sv[1], parent, prog, argv, plan, filter, wx, oldmask);
	}
	close(sv[1]);
	char msg[sizeof(err->msg)];
	int listener = recv_fd(sv[0], msg, sizeof(msg));
	if (listener < 0) {
		close(sv[0]);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return sg_fail(err, "%s", msg);
	}
	long opts = PTRACE_O_EXITKILL | PTRACE_O_TRACEEXEC | PTRACE_O_TRACEFORK |
		    PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE;
	if (ptrace(PTRACE_SEIZE, pid, 0, opts) < 0) {
		int e = errno;
		close(sv[0]);
		close(listener);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		errno = e;
		return sg_fail_errno(err, "ptrace(PTRACE_SEIZE) of the child");
	}
	if (write(sv[0], "g", 1) != 1) {
		close(sv[0]);
		close(listener);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, __WALL);
		return sg_fail(err, "the child died before exec");
	}
	close(sv[0]);
	*pid_out = pid;
	return listener;
}
