/* fuzz_common.h - helpers shared by the libFuzzer targets in fuzz/. */
#ifndef SGXPY_FUZZ_COMMON_H
#define SGXPY_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

/* A private scratch directory (under $TMPDIR or /tmp), made once per process
 * and removed at exit.  Returns its path. */
const char *fz_scratch(void);
/* Write exactly len bytes to path (created or truncated); aborts on failure,
 * which is the harness's fault, not the code under test. */
void fz_write(const char *path, const void *data, size_t len);
/* Remove path recursively if it exists. */
void fz_rmtree(const char *path);
/* Fail the run loudly: print and abort, so libFuzzer saves the input. */
_Noreturn void fz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Split data at NUL bytes into at most max parts (NUL-terminated copies,
 * in one malloc'd block returned through *block).  Returns the count. */
size_t fz_split(const uint8_t *data, size_t len, char **parts, size_t max, char **block);

#endif
