/* signals - signals a tracer must deliver untouched.
 *
 *   signals
 *
 * 1. SIGUSR1 sent to itself reaches its handler.
 * 2. A child stops itself with SIGSTOP; the parent sees it stopped through
 *    waitpid(WUNTRACED) (group-stop must not be swallowed by the tracer),
 *    resumes it with SIGCONT, and sees it exit 0.
 * 3. The parent's SIGCHLD handler ran.
 * alarm(20) turns a hang into a failure (death by SIGALRM, status 142).
 * Prints "signals: ok" and exits 0 if all three held.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t got_usr1, got_chld;

static void on_usr1(int s) { (void)s; got_usr1 = 1; }
static void on_chld(int s) { (void)s; got_chld = 1; }

int main(void)
{
	alarm(20);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = on_chld;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGCHLD, &sa, NULL);

	raise(SIGUSR1);
	if (!got_usr1) {
		fprintf(stderr, "signals: SIGUSR1 handler did not run\n");
		return 1;
	}
	pid_t pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		raise(SIGSTOP);
		_exit(0);
	}
	int st;
	if (waitpid(pid, &st, WUNTRACED) != pid || !WIFSTOPPED(st) || WSTOPSIG(st) != SIGSTOP) {
		fprintf(stderr, "signals: child not seen stopped (0x%x)\n", st);
		return 1;
	}
	kill(pid, SIGCONT);
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "signals: child did not exit 0 (0x%x)\n", st);
		return 1;
	}
	if (!got_chld) {
		fprintf(stderr, "signals: no SIGCHLD\n");
		return 1;
	}
	printf("signals: ok\n");
	return 0;
}
