/* util.c - error reporting, allocation, temporary outputs, small I/O helpers. */
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

const char *sg_command = NULL;

static void vformat_err(struct sg_err *err, int saved_errno, const char *fmt, va_list ap)
{
	if (!err)
		return;
	int n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	if (saved_errno && n >= 0 && (size_t)n < sizeof(err->msg))
		snprintf(err->msg + n, sizeof(err->msg) - n, ": %s", strerror(saved_errno));
}

int sg_fail(struct sg_err *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vformat_err(err, 0, fmt, ap);
	va_end(ap);
	return -1;
}

int sg_fail_errno(struct sg_err *err, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	va_start(ap, fmt);
	vformat_err(err, saved, fmt, ap);
	va_end(ap);
	errno = saved;
	return -1;
}

static void vprint_msg(int saved_errno, const char *fmt, va_list ap)
{
	char buf[2048];
	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (sg_command)
		fprintf(stderr, "sgxpy: %s: %s", sg_command, buf);
	else
		fprintf(stderr, "sgxpy: %s", buf);
	if (saved_errno)
		fprintf(stderr, ": %s", strerror(saved_errno));
	fputc('\n', stderr);
}

static void remove_registered_tmps(void);

void die(int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprint_msg(0, fmt, ap);
	va_end(ap);
	remove_registered_tmps();
	exit(status);
}

void die_errno(int status, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	va_start(ap, fmt);
	vprint_msg(saved, fmt, ap);
	va_end(ap);
	remove_registered_tmps();
	exit(status);
}

void warn_msg(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprint_msg(0, fmt, ap);
	va_end(ap);
}

static noreturn void out_of_memory(void)
{
	fputs("sgxpy: out of memory\n", stderr);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		out_of_memory();
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		out_of_memory();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		out_of_memory();
	return p;
}

char *xstrdup(const char *s)
{
	char *p = strdup(s);
	if (!p)
		out_of_memory();
	return p;
}

char *xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);
	if (!p)
		out_of_memory();
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	char *s;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		out_of_memory();
	return s;
}

void grow_array(void *arr, size_t *cap, size_t need, size_t elsize)
{
	void **p = arr;
	if (need < *cap)
		return;
	size_t n = *cap ? *cap : 8;
	while (n <= need)
		n *= 2;
	*p = xrealloc(*p, n * elsize);
	*cap = n;
}

/* Temporary outputs.  Few at a time, so a small array is enough. */
static char *tmp_paths[16];

void tmp_register(const char *path)
{
	for (size_t i = 0; i < ARRAY_SIZE(tmp_paths); i++) {
		if (!tmp_paths[i]) {
			tmp_paths[i] = xstrdup(path);
			return;
		}
	}
	die(EXIT_SYSTEM, "too many temporary outputs");
}

void tmp_unregister(const char *path)
{
	for (size_t i = 0; i < ARRAY_SIZE(tmp_paths); i++) {
		if (tmp_paths[i] && strcmp(tmp_paths[i], path) == 0) {
			free(tmp_paths[i]);
			tmp_paths[i] = NULL;
		}
	}
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	remove(path);
	return 0;
}

static void remove_registered_tmps(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(tmp_paths); i++) {
		if (!tmp_paths[i])
			continue;
		nftw(tmp_paths[i], remove_entry, 16, FTW_DEPTH | FTW_PHYS);
		free(tmp_paths[i]);
		tmp_paths[i] = NULL;
	}
}

__attribute__((destructor)) static void remove_tmps_at_exit(void)
{
	remove_registered_tmps();
}

int atomic_file_open(struct atomic_file *af, const char *final, struct sg_err *err)
{
	af->final = xstrdup(final);
	af->tmp = xasprintf("%s.tmpXXXXXX", final);
	af->fd = mkostemp(af->tmp, O_CLOEXEC);
	if (af->fd < 0) {
		sg_fail_errno(err, "cannot create %s", final);
		free(af->final);
		free(af->tmp);
		af->final = af->tmp = NULL;
		return -1;
	}
	/* mkostemp makes 0600; give the file the mode a plain creat() would. */
	mode_t mask = umask(0);
	umask(mask);
	fchmod(af->fd, 0666 & ~mask);
	tmp_register(af->tmp);
	return 0;
}

int atomic_file_commit(struct atomic_file *af, struct sg_err *err)
{
	int rc = 0;
	if (fsync(af->fd) < 0 || close(af->fd) < 0)
		rc = sg_fail_errno(err, "cannot write %s", af->final);
	else if (rename(af->tmp, af->final) < 0)
		rc = sg_fail_errno(err, "cannot rename %s to %s", af->tmp, af->final);
	af->fd = -1;
	if (rc < 0)
		unlink(af->tmp);
	tmp_unregister(af->tmp);
	free(af->tmp);
	free(af->final);
	af->tmp = af->final = NULL;
	return rc;
}

void atomic_file_abort(struct atomic_file *af)
{
	if (!af->tmp)
		return;
	if (af->fd >= 0)
		close(af->fd);
	unlink(af->tmp);
	tmp_unregister(af->tmp);
	free(af->tmp);
	free(af->final);
	af->tmp = af->final = NULL;
	af->fd = -1;
}

int read_file(const char *path, char **data, size_t *len, struct sg_err *err)
{
	cleanup_fd int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return sg_fail_errno(err, "cannot open %s", path);
	size_t cap = 4096, n = 0;
	cleanup_free char *buf = xmalloc(cap);
	for (;;) {
		if (n + 1 >= cap)
			buf = xrealloc(buf, cap *= 2);
		ssize_t r = TEMP_FAILURE_RETRY(read(fd, buf + n, cap - n - 1));
		if (r < 0)
			return sg_fail_errno(err, "cannot read %s", path);
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	*data = steal_pointer(&buf);
	if (len)
		*len = n;
	return 0;
}

int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t w = TEMP_FAILURE_RETRY(write(fd, p, len));
		if (w < 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

void hex_encode(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int hex_decode(const char *in, unsigned char *out, size_t n)
{
	if (strlen(in) != 2 * n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int hi = hex_value(in[2 * i]), lo = hex_value(in[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

static int progress_shown;

void progress(const char *what, size_t done, size_t total)
{
	static int tty = -1;
	if (tty < 0)
		tty = isatty(STDERR_FILENO);
	if (!tty)
		return;
	if (total)
		fprintf(stderr, "\r\033[K%s: %zu/%zu", what, done, total);
	else
		fprintf(stderr, "\r\033[K%s: %zu", what, done);
	progress_shown = 1;
}

void progress_done(void)
{
	if (progress_shown)
		fputs("\r\033[K", stderr);
	progress_shown = 0;
}

struct timespec realtime_after_ns(uint64_t ns)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t n = (uint64_t)ts.tv_nsec + ns;
	ts.tv_sec += (time_t)(n / 1000000000u);
	ts.tv_nsec = (long)(n % 1000000000u);
	return ts;
}

uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
