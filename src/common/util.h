/* util.h - the one error idiom, exit codes, memory and cleanup helpers.
 *
 * Error idiom, used everywhere:
 *   - library code returns 0 on success, -1 on failure, and fills a
 *     `struct sg_err` with one human sentence naming the thing at fault;
 *   - commands (src/cli) turn that into `die(status, "%s", err.msg)`.
 *   die() prints "sgxpy: <command>: <message>" and removes every temporary
 *   output registered with tmp_register(), so no half-written file survives.
 */
#ifndef SGXPY_UTIL_H
#define SGXPY_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdnoreturn.h>
#include <time.h>
#include <unistd.h>

/* Documented exit codes (README "Exit status"). */
enum {
	EXIT_OK = 0,
	EXIT_MISMATCH = 1,      /* verify/diff: the host or bundle differs */
	EXIT_USAGE = 2,         /* bad flag or argument */
	EXIT_INPUT = 3,         /* missing or malformed input file */
	EXIT_SYSTEM = 4,        /* I/O error, missing kernel feature */
	EXIT_WRAP_FAIL = 125,   /* trace/run: sgxpy failed around CMD */
	EXIT_CANNOT_EXEC = 126, /* trace/run: CMD found but not executable */
	EXIT_NOT_FOUND = 127,   /* trace/run: CMD not found */
};

struct sg_err {
	char msg[1024];
};

/* Fill err (may be NULL) and return -1, so callers can `return sg_fail(...)`. */
int sg_fail(struct sg_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Same, appending ": strerror(errno)". */
int sg_fail_errno(struct sg_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The running command's name, for messages ("trace", "manifest", ...). */
extern const char *sg_command;

noreturn void die(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
noreturn void die_errno(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void warn_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Grow *arr (of *cap elements of size elsize) so that index `need` fits. */
void grow_array(void *arr, size_t *cap, size_t need, size_t elsize);

static inline void cleanup_freep(void *p) { void **pp = p; free(*pp); }
static inline void cleanup_closep(int *fd) { if (*fd >= 0) close(*fd); }
#define cleanup_free __attribute__((cleanup(cleanup_freep)))
#define cleanup_fd __attribute__((cleanup(cleanup_closep)))
/* Hand ownership out of a cleanup_* variable. */
#define steal_pointer(pp) ({ __typeof__(*(pp)) _v = *(pp); *(pp) = NULL; _v; })
#define steal_fd(fdp) ({ int _fd = *(fdp); *(fdp) = -1; _fd; })

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Temporary outputs removed by die() and at exit unless unregistered first.
 * A directory is removed recursively. */
void tmp_register(const char *path);
void tmp_unregister(const char *path);

/* Atomic file output: write to a temp file beside `final`, then rename. */
struct atomic_file {
	char *final;
	char *tmp;
	int fd;
};
int atomic_file_open(struct atomic_file *af, const char *final, struct sg_err *err);
int atomic_file_commit(struct atomic_file *af, struct sg_err *err);
void atomic_file_abort(struct atomic_file *af);

/* Whole-file helpers. read_file() NUL-terminates; *len excludes the NUL. */
int read_file(const char *path, char **data, size_t *len, struct sg_err *err);
int write_all(int fd, const void *buf, size_t len);

/* Lowercase hex of n bytes into out (2n+1 bytes). */
void hex_encode(const unsigned char *in, size_t n, char *out);
/* Parse exactly 2n lowercase/uppercase hex chars; -1 on any other input. */
int hex_decode(const char *in, unsigned char *out, size_t n);

/* CLOCK_MONOTONIC in nanoseconds: for durations only. */
uint64_t mono_ns(void);
/* CLOCK_REALTIME ns from now, as the absolute deadline pthread's timed waits take. */
struct timespec realtime_after_ns(uint64_t ns);

/* Progress on a terminal only: quiet when stderr is not a TTY. */
void progress(const char *what, size_t done, size_t total);
void progress_done(void);

#endif
