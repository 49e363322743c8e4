/* log.c - what a refusal looks like: one line on stderr,
 *   sgxpy: denied: pid 123 (python3 worker.py) open /path: hash mismatch
 * and, with --log FILE, one JSON object per line per event (violations, execs,
 * start and end), flushed as written so a killed run keeps its log. */
#include "run/run.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <string.h>
#include <time.h>

struct run_log {
	FILE *f; /* NULL without --log */
};

int run_log_open(const char *path, struct run_log **out, struct sg_err *err)
{
	struct run_log *l = xcalloc(1, sizeof(*l));
	if (path) {
		int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd < 0) {
			free(l);
			return sg_fail_errno(err, "cannot open log %s", path);
		}
		l->f = fdopen(fd, "a");
		if (!l->f) {
			close(fd);
			free(l);
			return sg_fail_errno(err, "cannot open log %s", path);
		}
	}
	*out = l;
	return 0;
}

void run_log_close(struct run_log *l)
{
	if (!l)
		return;
	if (l->f)
		fclose(l->f);
	free(l);
}

/* "python3 worker.py": argv[0]'s base name and argv[1], from /proc. */
static void describe_pid(pid_t pid, char *buf, size_t len)
{
	char path[64], raw[512];
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	snprintf(buf, len, "?");
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, raw, sizeof(raw) - 1);
	close(fd);
	if (n <= 0)
		return;
	raw[n] = '\0';
	/* argv[0]'s base name, then what it runs: the first argument that is
	 * not an option (its base name), or -c / -m MODULE. */
	const char *a0 = strrchr(raw, '/') ? strrchr(raw, '/') + 1 : raw;
	size_t w = (size_t)snprintf(buf, len, "%.100s", a0);
	for (const char *a = raw + strlen(raw) + 1; a < raw + n && w + 1 < len; a += strlen(a) + 1) {
		if (!strcmp(a, "-c") || !strcmp(a, "-m")) {
			const char *next = a + strlen(a) + 1;
			if (!strcmp(a, "-m") && next < raw + n)
				snprintf(buf + w, len - w, " -m %.100s", next);
			else
				snprintf(buf + w, len - w, " %s", a);
			break;
		}
		if (a[0] == '-')
			continue;
		const char *base = strrchr(a, '/');
		snprintf(buf + w, len - w, " %.120s", base ? base + 1 : a);
		break;
	}
}

static void json_line(struct run_log *l, json_t *o)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	json_object_set_new(o, "time", json_real((double)ts.tv_sec + ts.tv_nsec / 1e9));
	char *s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
	if (s) {
		fprintf(l->f, "%s\n", s);
		fflush(l->f);
		free(s);
	}
}

void run_log_violation(struct run_log *l, pid_t pid, const char *image, const char *op,
		       const char *path, enum run_reason reason, bool allowed)
{
	run_log_access_violation(l, pid, image, op, NULL, path, reason, allowed);
}

void run_log_access_violation(struct run_log *l, pid_t pid, const char *image, const char *op,
			      const char *access, const char *path, enum run_reason reason,
			      bool allowed)
{
	char who[256];
	describe_pid(pid, who, sizeof(who));
	fprintf(stderr, "sgxpy: %s: pid %d (%s) %s %s: %s\n", allowed ? "audit" : "denied",
		(int)pid, who, op, path ? path : "", reason_str(reason));
	if (!l || !l->f)
		return;
	json_t *o = json_object();
	json_object_set_new(o, "event", json_string("violation"));
	json_object_set_new(o, "action", json_string(allowed ? "allowed (audit)" : "denied"));
	json_object_set_new(o, "pid", json_integer(pid));
	json_object_set_new(o, "process", json_string(who));
	json_object_set_new(o, "image", image ? json_string(image) : json_null());
	json_object_set_new(o, "op", json_string(op));
	if (access) /* "read" or "write": what the audit loop folds in */
		json_object_set_new(o, "access", json_string(access));
	json_object_set_new(o, "path", json_string(path ? path : ""));
	json_object_set_new(o, "reason", json_string(reason_str(reason)));
	json_line(l, o);
	json_decref(o);
}

void run_log_event(struct run_log *l, const char *kind, pid_t pid, const char *image,
		   const char *detail)
{
	if (!l || !l->f)
		return;
	json_t *o = json_object();
	json_object_set_new(o, "event", json_string(kind));
	if (pid > 0)
		json_object_set_new(o, "pid", json_integer(pid));
	if (image)
		json_object_set_new(o, "image", json_string(image));
	if (detail)
		json_object_set_new(o, "detail", json_string(detail));
	json_line(l, o);
	json_decref(o);
}
