/* dirfd_open - path syscalls relative to dirfds and cwds, through symlinks.
 *
 *   dirfd_open DIR        (DIR: an existing, empty, absolute directory)
 *
 * Every step below is one expectation of the end-to-end tests (test_trace.py
 * test_dirfd_paths), which list the (path, mode, err) rows it must produce.
 * Between steps the cwd is moved away (to "/") so that a tracer resolving a
 * dirfd-relative name against the cwd by mistake records a wrong path.
 * Prints "dirfd_open: ok" and exits 0 if every call behaved as expected.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *step = "start";

#define CHECK(expr)                                                                  \
	do {                                                                         \
		step = #expr;                                                        \
		if (!(expr)) {                                                       \
			fprintf(stderr, "dirfd_open: failed: %s: %s\n", step,       \
				strerror(errno));                                    \
			exit(1);                                                     \
		}                                                                    \
	} while (0)

static int put(int fd)
{
	int ok = fd >= 0 && write(fd, "data\n", 5) == 5;
	if (fd >= 0)
		close(fd);
	return ok;
}

int main(int argc, char **argv)
{
	if (argc != 2 || argv[1][0] != '/') {
		fprintf(stderr, "usage: dirfd_open /ABS/DIR\n");
		return 2;
	}
	const char *dir = argv[1];
	struct stat st;
	char buf[256];

	CHECK(chdir(dir) == 0);                                     /* chdir DIR */
	CHECK(mkdir("sub", 0755) == 0);                             /* create DIR/sub */
	CHECK(chdir("sub") == 0);                                   /* chdir DIR/sub */
	CHECK(put(open("rel.txt", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)));
	                                                            /* create DIR/sub/rel.txt */
	int dfd = open("..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);   /* read DIR */
	CHECK(dfd >= 0);
	CHECK(chdir("/") == 0);                                     /* chdir / */

	int fd = openat(dfd, "sub/rel.txt", O_RDONLY | O_CLOEXEC);  /* read DIR/sub/rel.txt */
	CHECK(fd >= 0 && close(fd) == 0);
	CHECK(symlinkat("sub/rel.txt", dfd, "link.txt") == 0);      /* symlink DIR/link.txt */
	fd = openat(dfd, "link.txt", O_RDONLY | O_CLOEXEC);         /* read DIR/link.txt -> DIR/sub/rel.txt */
	CHECK(fd >= 0 && close(fd) == 0);
	CHECK(readlinkat(dfd, "link.txt", buf, sizeof(buf)) == 11); /* readlink DIR/link.txt */

	struct open_how how = {.flags = O_WRONLY | O_CREAT | O_CLOEXEC, .mode = 0644,
			       .resolve = RESOLVE_BENEATH};
	CHECK(put((int)syscall(SYS_openat2, dfd, "sub/o2.txt", &how, sizeof(how))));
	                                                            /* create DIR/sub/o2.txt */
	fd = openat(dfd, "/etc/hostname", O_RDONLY | O_CLOEXEC);    /* read /etc/hostname (abs ignores dirfd) */
	CHECK(fd >= 0 && close(fd) == 0);

	CHECK(fchdir(dfd) == 0);                                    /* chdir DIR */
	CHECK(put(creat("after_fchdir.txt", 0644)));                /* write/create DIR/after_fchdir.txt */
	CHECK(link("sub/rel.txt", "hard.txt") == 0);                /* stat DIR/sub/rel.txt, create DIR/hard.txt */
	CHECK(renameat(AT_FDCWD, "hard.txt", dfd, "renamed.txt") == 0);
	                                                            /* remove DIR/hard.txt, create DIR/renamed.txt */
	CHECK(truncate("renamed.txt", 1) == 0);                     /* write DIR/renamed.txt */
	CHECK(unlink("renamed.txt") == 0);                          /* remove DIR/renamed.txt */
	CHECK(stat("missing.txt", &st) < 0 && errno == ENOENT);     /* stat DIR/missing.txt ENOENT */
	CHECK(open("missing2.txt", O_RDONLY | O_CLOEXEC) < 0 && errno == ENOENT);
	                                                            /* read DIR/missing2.txt ENOENT */
	CHECK(access("sub", R_OK) == 0);                            /* stat DIR/sub */
	CHECK(mkdirat(dfd, "sub2", 0755) == 0);                     /* create DIR/sub2 */
	CHECK(rmdir("sub2") == 0);                                  /* remove DIR/sub2 */
	CHECK(put(open("./sub//../sub/./norm.txt", O_WRONLY | O_CREAT | O_CLOEXEC, 0644)));
	                                                            /* create DIR/sub/norm.txt */
	CHECK(symlink("sub", "dirlink") == 0);                      /* symlink DIR/dirlink */
	fd = open("dirlink/rel.txt", O_RDONLY | O_CLOEXEC);         /* read DIR/dirlink/rel.txt -> DIR/sub/rel.txt */
	CHECK(fd >= 0 && close(fd) == 0);
	int dfd2 = open("dirlink", O_RDONLY | O_DIRECTORY | O_CLOEXEC); /* read DIR/dirlink -> DIR/sub */
	CHECK(dfd2 >= 0);
	CHECK(chdir("/") == 0);                                     /* chdir / */
	fd = openat(dfd2, "norm.txt", O_RDONLY | O_CLOEXEC);        /* read DIR/sub/norm.txt (via the dirfd) */
	CHECK(fd >= 0 && close(fd) == 0);
	CHECK(fstatat(dfd2, "o2.txt", &st, 0) == 0);                /* stat DIR/sub/o2.txt */

	CHECK(fchdir(dfd) == 0);                                    /* chdir DIR */
	DIR *d = opendir(".");                                      /* read DIR, list DIR */
	CHECK(d != NULL);
	int n = 0;
	while (readdir(d))
		n++;
	closedir(d);
	CHECK(n == 6); /* . .. sub link.txt after_fchdir.txt dirlink */

	close(dfd2);
	close(dfd);
	printf("dirfd_open: ok\n");
	return 0;
}
