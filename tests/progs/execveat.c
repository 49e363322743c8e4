/* execveat - exec by dirfd-relative name or by file descriptor.
 *
 *   execveat DIR NAME [ARG...]   execveat(open(DIR), NAME, [NAME, ARG...], 0)
 *   execveat -f FILE [ARG...]    execveat(open(FILE), "", [FILE, ARG...], AT_EMPTY_PATH)
 *                                (what glibc's fexecve does)
 * The cwd is moved to "/" first, so DIR/NAME is only reachable through the
 * dirfd.  The exit status is the exec'd program's.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: execveat DIR NAME [ARG...] | -f FILE [ARG...]\n");
		return 2;
	}
	int by_fd = strcmp(argv[1], "-f") == 0;
	int fd = open(argv[2 - !by_fd], by_fd ? O_RDONLY | O_CLOEXEC : O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || chdir("/") < 0) {
		fprintf(stderr, "execveat: %s: %s\n", argv[2 - !by_fd], strerror(errno));
		return 1;
	}
	if (by_fd)
		syscall(SYS_execveat, fd, "", argv + 2, environ, AT_EMPTY_PATH);
	else
		syscall(SYS_execveat, fd, argv[2], argv + 2, environ, 0);
	fprintf(stderr, "execveat: %s\n", strerror(errno));
	return 127;
}
