/* tracee.c - see tracee.h.  Strings come in with process_vm_readv, one page at
 * a time so a string ending just before an unmapped page still reads; never
 * PTRACE_PEEKDATA word by word (ReproZip's ~30 calls per path). */
#include "trace/tracee.h"
#include "common/util.h"
#include "common/utf8.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#define PAGE 4096u

int tracee_read(pid_t tid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = {buf, len}, remote = {(void *)(uintptr_t)addr, len};
	ssize_t n = process_vm_readv(tid, &local, 1, &remote, 1, 0);
	return n == (ssize_t)len ? 0 : -1;
}

char *tracee_read_string(pid_t tid, uint64_t addr)
{
	char *buf = xmalloc(PATH_MAX + 1);
	size_t have = 0;
	while (have < PATH_MAX) {
		size_t chunk = PAGE - (size_t)((addr + have) % PAGE);
		if (chunk > PATH_MAX - have)
			chunk = PATH_MAX - have;
		struct iovec local = {buf + have, chunk};
		struct iovec remote = {(void *)(uintptr_t)(addr + have), chunk};
		ssize_t n = process_vm_readv(tid, &local, 1, &remote, 1, 0);
		if (n <= 0)
			break;
		char *nul = memchr(buf + have, '\0', (size_t)n);
		if (nul)
			return buf;
		have += (size_t)n;
	}
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
	return xstrdup(target);
}

char *proc_fd_path(pid_t tid, int fd)
{
	char what[32];
	snprintf(what, sizeof(what), "fd/%d", fd);
	return proc_link(tid, what);
}

static int read_proc_file(pid_t pid, const char *what, char **data, size_t *len)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", pid, what);
	return read_file(path, data, len, NULL);
}

char *proc_cmdline_json(pid_t pid)
{
	cleanup_free char *data = NULL;
	size_t len;
	if (read_proc_file(pid, "cmdline", &data, &len) < 0)
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
	if (read_proc_file(pid, "environ", &data, &len) < 0)
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

long proc_status_field(pid_t tid, const char *field)
{
	cleanup_free char *data = NULL;
	if (read_proc_file(tid, "status", &data, NULL) < 0)
		return -1;
	size_t flen = strlen(field);
	for (char *line = data; line && *line; line = strchr(line, '\n')) {
		if (*line == '\n')
			line++;
		if (strncmp(line, field, flen) == 0 && line[flen] == ':')
			return strtol(line + flen + 1, NULL, 10);
	}
	return -1;
}
