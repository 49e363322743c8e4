/* common.h - shared by the attack programs: each prints "ATTACK OK ..." when
 * the attack worked, "BLOCKED <step>: <errno>" when it did not, and exits 0. */
#ifndef ATTACK_COMMON_H
#define ATTACK_COMMON_H
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define BLOCKED(step) do { printf("BLOCKED %s: %s\n", step, strerror(errno)); fflush(stdout); exit(0); } while (0)
#endif
