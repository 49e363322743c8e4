/* fuzz_common.c - see fuzz_common.h. */
#include "fuzz_common.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char scratch[4096];
static pid_t scratch_owner;

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	remove(path);
	return 0;
}

void fz_rmtree(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void remove_scratch(void)
{
	if (scratch[0] && getpid() == scratch_owner)
		fz_rmtree(scratch);
}

const char *fz_scratch(void)
{
	if (scratch[0])
		return scratch;
	const char *tmp = getenv("TMPDIR");
	snprintf(scratch, sizeof(scratch), "%s/sgxpy-fuzz.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(scratch))
		fz_fail("mkdtemp %s: %s", scratch, strerror(errno));
	scratch_owner = getpid();
	atexit(remove_scratch);
	return scratch;
}

void fz_write(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		fz_fail("harness: cannot write %s: %s", path, strerror(errno));
	const char *p = data;
	while (len) {
		ssize_t w = write(fd, p, len);
		if (w < 0)
			fz_fail("harness: write %s: %s", path, strerror(errno));
		p += w;
		len -= (size_t)w;
	}
	close(fd);
}

void fz_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("FUZZ PROPERTY FAILED: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	abort();
}

size_t fz_split(const uint8_t *data, size_t len, char **parts, size_t max, char **block)
{
	char *b = malloc(len + 1);
	if (!b)
		abort();
	if (len)
		memcpy(b, data, len);
	b[len] = '\0';
	size_t n = 0;
	for (size_t i = 0; n < max; ) {
		parts[n++] = b + i;
		char *nul = memchr(b + i, '\0', len - i);
		if (!nul || (size_t)(nul - b) >= len)
			break;
		i = (size_t)(nul - b) + 1;
	}
	*block = b;
	return n;
}
