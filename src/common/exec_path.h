/* exec_path.h - find a command the way execvp would, before anything starts,
 * so `trace` and `run` can refuse a missing program with 127 and no output. */
#ifndef SGXPY_EXEC_PATH_H
#define SGXPY_EXEC_PATH_H

#include "common/util.h"

/* On success *out is the malloc'd path and 0 is returned.  Otherwise returns
 * EXIT_NOT_FOUND or EXIT_CANNOT_EXEC with err filled. */
int find_program(const char *name, char **out, struct sg_err *err);

#endif
