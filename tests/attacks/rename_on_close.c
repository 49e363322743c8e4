/* rename_on_close WATCHED NEW CMD [ARG...]: run CMD, and the moment a file
 * it opened read-only at WATCHED is first closed, rename NEW over WATCHED.
 * It wins the race against a program that reads WATCHED twice (once to check
 * it, once to use it).  Prints "exit N" with CMD's status (-S if killed). */
#include "common.h"
#include <poll.h>
#include <stdio.h>
#include <sys/inotify.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 4)
		return 2;
	int in = inotify_init1(IN_CLOEXEC);
	if (in < 0 || inotify_add_watch(in, argv[1], IN_CLOSE_NOWRITE) < 0)
		BLOCKED("inotify");
	pid_t pid = fork();
	if (pid == 0) {
		execvp(argv[3], argv + 3);
		_exit(127);
	}
	struct pollfd p = {.fd = in, .events = POLLIN};
	if (poll(&p, 1, 10000) == 1) {
		char buf[4096];
		if (read(in, buf, sizeof(buf)) > 0 && rename(argv[2], argv[1]) < 0)
			BLOCKED("rename");
	}
	int st;
	waitpid(pid, &st, 0);
	printf("exit %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st));
	return 0;
}
