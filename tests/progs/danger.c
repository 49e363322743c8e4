/* danger - syscalls that open files behind the path checks.
 *
 *   danger FILE
 *
 * Calls io_uring_setup, name_to_handle_at(FILE) and open_by_handle_at; each
 * may fail (EPERM, ENOSYS, EOPNOTSUPP): the trace records the attempt
 * (files.mode 'syscall', path = the syscall's name) either way.  Exits 0.
 */
#include <fcntl.h>
#include <linux/io_uring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: danger FILE\n");
		return 2;
	}
	struct io_uring_params params;
	memset(&params, 0, sizeof(params));
	long ring = syscall(SYS_io_uring_setup, 4, &params);
	if (ring >= 0)
		close((int)ring);

	struct file_handle *fh = malloc(sizeof(*fh) + MAX_HANDLE_SZ);
	fh->handle_bytes = MAX_HANDLE_SZ;
	int mount_id;
	if (name_to_handle_at(AT_FDCWD, argv[1], fh, &mount_id, 0) == 0) {
		int mfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		int fd = open_by_handle_at(mfd, fh, O_RDONLY | O_CLOEXEC);
		if (fd >= 0)
			close(fd);
		close(mfd);
	} else {
		/* Still try it, with a junk handle: the attempt is what counts. */
		fh->handle_bytes = 8;
		fh->handle_type = 1;
		open_by_handle_at(AT_FDCWD, fh, O_RDONLY);
	}
	free(fh);
	printf("danger: ring=%s\n", ring >= 0 ? "yes" : "no");
	return 0;
}
