/* counters.c - where the compiler's 8-bit coverage counters live (the linker's
 * __start/__stop symbols for section __sancov_cntrs).  Built WITHOUT coverage
 * instrumentation: in an instrumented file, declaring these symbols clashes
 * with the declarations the coverage pass makes itself, and the module's
 * counters then register as an empty range. */
#include <stddef.h>
#include <stdint.h>

extern uint8_t __start___sancov_cntrs[] __attribute__((weak));
extern uint8_t __stop___sancov_cntrs[] __attribute__((weak));

uint8_t *fz_counters(size_t *n);
uint8_t *fz_counters(size_t *n)
{
	*n = (size_t)(__stop___sancov_cntrs - __start___sancov_cntrs);
	return __start___sancov_cntrs;
}
