/* tracee.c - see tracee.h.  Strings come in with process_vm_readv, one page at
 * a time so a string ending just before an unmapped page still reads; never
 * PTRACE_PEEKDATA word by word (ReproZip's ~30 calls per path). */
#include "common/tracee.h"
#include "common/util.h"
#include "common/utf8.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>

#define PAGE 4096u

int tracee_read(pid_t tid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = {buf, len}, remote = {(void *)(uintptr_t)addr, len};
	ssize_t n = process_vm_readv(tid, &local, 1, &remote, 1, 0);
	return n == (ssize_t)len ? 0 : -1;
}

int tracee_read_string_buf(pid_t tid, uint64_t addr, char *buf, size_t len)
{
	size_t got = 0;
	while (got + 1 < len) {
		size_t chunk = PAGE - (size_t)((addr + got) % PAGE);
		if (chunk > len - 1 - got)
			chunk = len - 1 - got;
		struct iovec local = {buf + got, chunk};
		struct iovec remote = {(void *)(uintptr_t)(addr + got), chunk};
		ssize_t n = process_vm_readv(tid, &local, 1, &remote, 1, 0);
		if (n <= 0)
			return -1;
		if (memchr(buf + got, '\0', (size_t)n))
			return 0;
		got += (size_t)n;
	}
	errno = ENAMETOOLONG;
	return -1;
}

char *tracee_read_string_max(pid_t tid, uint64_t addr, size_t max)
{
	size_t cap = 4096 < max ? 4096 : max, got = 0;
	char *buf = xmalloc(cap);
	for (;;) {
		/* what fits, the last byte kept free: a NUL found there ends it */
		if (tracee_read_string_buf(tid, addr + got, buf + got, cap - got) == 0)
			return buf;
		if (errno != ENAMETOOLONG || cap == max)
			break;
		got = cap - 1;
		cap = cap * 2 < max ? cap * 2 : max;
		buf = xrealloc(buf, cap);
	}
	free(buf);
	return NULL;
}

char *tracee_read_string(pid_t tid, uint64_t addr)
{
	char *buf = xmalloc(PATH_MAX + 1);
	if (tracee_read_string_buf(tid, addr, buf, PATH_MAX + 1) == 0)
		return buf;
	free(buf);
	return NULL;
}

char *proc_link(pid_t tid, const char *what)
{
	char link[64], target[PATH_MAX];
	snprintf(link, sizeof(link), "/proc/%d/%s", tid, what);
	ssize_t n = readlink(link, target, sizeof(target) - 1);
	if (n <= 0)
		return NULL;
	target[n] = '\0';
	/* A removed file or directory (a cwd or dirfd in a temp dir already
	 * cleaned up) reads as "PATH (deleted)": no path names it any more.
	 * Unless a file really has that name. */
	static const char deleted[] = " (deleted)";
	size_t dl = sizeof(deleted) - 1;
	struct stat st;
	if ((size_t)n > dl && !strcmp(target + n - dl, deleted) && lstat(target, &st) < 0)
		return NULL;
	return xstrdup(target);
}

char *proc_fd_path(pid_t tid, int fd)
{
	char what[32];
	snprintf(what, sizeof(what), "fd/%d", fd);
	return proc_link(tid, what);
}

int proc_read_file(pid_t pid, const char *what, char **data, size_t *len)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", pid, what);
	return read_file(path, data, len, NULL);
}

char *proc_cmdline_json(pid_t pid)
{
	cleanup_free char *data = NULL;
	size_t len;
	if (proc_read_file(pid, "cmdline", &data, &len) < 0)
		return NULL;
	json_t *arr = json_array();
	for (size_t i = 0; i < len; i += strlen(data + i) + 1)
		json_array_append_new(arr, json_bytes(data + i));
	char *s = json_dumps(arr, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(arr);
	return s;
}

char *proc_environ_json(pid_t pid)
{
	cleanup_free char *data = NULL;
	size_t len;
	if (proc_read_file(pid, "environ", &data, &len) < 0)
		return NULL;
	json_t *obj = json_object();
	for (size_t i = 0; i < len; i += strlen(data + i) + 1) {
		char *eq = strchr(data + i, '=');
		if (!eq)
			continue;
		*eq = '\0';
		if (utf8_valid(data + i)) /* a key jansson refuses is dropped: rare, harmless */
			json_object_set_new(obj, data + i, json_bytes(eq + 1));
		*eq = '=';
	}
	char *s = json_dumps(obj, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_SORT_KEYS);
	json_decref(obj);
	return s;
}

const char *status_text_field(const char *status, const char *field)
{
	size_t flen = strlen(field);
	for (const char *line = status; line && *line; line = strchr(line, '\n')) {
		if (*line == '\n')
			line++;
		if (strncmp(line, field, flen) == 0 && line[flen] == ':')
			return line + flen + 1;
	}
	return NULL;
}

long proc_status_field(pid_t tid, const char *field)
{
	cleanup_free char *data = NULL;
	if (proc_read_file(tid, "status", &data, NULL) < 0)
		return -1;
	const char *value = status_text_field(data, field);
	return value ? strtol(value, NULL, 10) : -1;
}
