/* creds.h - file-system credentials, so the tracer's own checks of a path
 * answer as the app would: a root tracer must not record a success where an
 * app running as another user got EACCES. */
#ifndef SGXPY_CREDS_H
#define SGXPY_CREDS_H

#include <stdbool.h>
#include <sys/types.h>

#define CREDS_MAX_GROUPS 32

struct creds {
	uid_t fsuid;
	gid_t fsgid;
	int ngroups; /* -1: unknown (treated as equal to the tracer's) */
	gid_t groups[CREDS_MAX_GROUPS];
};

/* Read from /proc/TID/status; false if the task is gone. */
bool creds_of_task(pid_t tid, struct creds *out);
/* Adopt `want` for file-system access on the calling thread only, when it
 * differs from `own`; returns whether anything was switched. */
bool creds_enter(const struct creds *own, const struct creds *want);
void creds_leave(const struct creds *own);

#endif
