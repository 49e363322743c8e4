/* memfd_exec PROGRAM: copy PROGRAM into a memfd and fexecve it (execveat with
 * AT_EMPTY_PATH): fileless exec of bytes nobody verified. */
#include "common.h"
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	int src = open(argv[1], O_RDONLY);
	struct stat st;
	if (src < 0 || fstat(src, &st) < 0)
		BLOCKED("open program");
	int m = memfd_create("payload", MFD_CLOEXEC);
	if (m < 0)
		BLOCKED("memfd_create");
	off_t off = 0;
	if (sendfile(m, src, &off, (size_t)st.st_size) != st.st_size)
		BLOCKED("copy");
	char *args[] = {"payload", "ATTACK OK: fileless exec ran", NULL};
	fflush(stdout);
	fexecve(m, args, environ);
	BLOCKED("fexecve");
}
