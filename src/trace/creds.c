/* creds.c - see creds.h.  setfsuid, setfsgid and the raw setgroups syscall
 * act on the calling thread only (glibc's wrappers would broadcast
 * setgroups to every thread), which is what a prober thread needs. */
#include "trace/creds.h"
#include "common/tracee.h"
#include "common/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

bool creds_of_task(pid_t tid, struct creds *out)
{
	char path[64];
	cleanup_free char *status = NULL;
	snprintf(path, sizeof(path), "/proc/%d/status", tid);
	if (read_file(path, &status, NULL, NULL) < 0)
		return false;
	const char *uid = status_text_field(status, "Uid"), *gid = status_text_field(status, "Gid");
	const char *groups = status_text_field(status, "Groups");
	unsigned long u[4], g[4];
	if (!uid || !gid || sscanf(uid, "%lu %lu %lu %lu", &u[0], &u[1], &u[2], &u[3]) != 4 ||
	    sscanf(gid, "%lu %lu %lu %lu", &g[0], &g[1], &g[2], &g[3]) != 4)
		return false;
	out->fsuid = (uid_t)u[3]; /* real, effective, saved, fs */
	out->fsgid = (gid_t)g[3];
	out->ngroups = 0;
	for (const char *p = groups; p && *p && *p != '\n';) {
		char *end;
		unsigned long v = strtoul(p, &end, 10);
		if (end == p)
			break;
		if (out->ngroups == CREDS_MAX_GROUPS) {
			out->ngroups = -1; /* too many to mirror: trust the tracer's view */
			break;
		}
		out->groups[out->ngroups++] = (gid_t)v;
		p = end;
	}
	return true;
}

static bool same_creds(const struct creds *a, const struct creds *b)
{
	if (a->fsuid != b->fsuid || a->fsgid != b->fsgid)
		return false;
	if (a->ngroups < 0 || b->ngroups < 0)
		return true;
	return a->ngroups == b->ngroups &&
	       memcmp(a->groups, b->groups, (size_t)a->ngroups * sizeof(gid_t)) == 0;
}

static void set_fs_creds(const struct creds *c)
{
	/* Order matters: groups and gid while still privileged, uid last. */
	if (c->ngroups >= 0)
		syscall(SYS_setgroups, c->ngroups, c->groups);
	syscall(SYS_setfsgid, c->fsgid);
	syscall(SYS_setfsuid, c->fsuid);
}

bool creds_enter(const struct creds *own, const struct creds *want)
{
	if (same_creds(own, want))
		return false;
	set_fs_creds(want);
	return true;
}

void creds_leave(const struct creds *own)
{
	/* Back to our own uid first: that regains the privilege to set the rest. */
	syscall(SYS_setfsuid, own->fsuid);
	set_fs_creds(own);
}
