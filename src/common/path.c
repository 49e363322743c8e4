/* path.c - see path.h.  Purely lexical: no file system access, so the same
 * answer at trace time, manifest time and run time. */
#include "common/path.h"
#include "common/util.h"

#include <stdlib.h>
#include <string.h>

void path_normalize(char *path)
{
	char *out = path; /* write cursor; path[0] is '/' */
	const char *in = path;
	*out++ = '/';
	while (*in) {
		while (*in == '/')
			in++;
		const char *end = strchrnul(in, '/');
		size_t len = (size_t)(end - in);
		if (len == 0)
			break;
		if (len == 1 && in[0] == '.') {
			/* skip */
		} else if (len == 2 && in[0] == '.' && in[1] == '.') {
			if (out > path + 1) {
				out--; /* drop the trailing '/' */
				while (out > path + 1 && out[-1] != '/')
					out--;
			}
		} else {
			bool last = *end == '\0'; /* the '/' written below may cover it */
			memmove(out, in, len);
			out += len;
			*out++ = '/';
			if (last)
				break;
		}
		in = end;
	}
	if (out > path + 1)
		out--; /* no trailing '/' */
	*out = '\0';
}

char *path_resolve(const char *base, const char *rel)
{
	char *p;
	if (rel[0] == '/')
		p = xstrdup(rel);
	else if (base && base[0] == '/')
		p = xasprintf("%s/%s", base, rel);
	else
		return NULL;
	path_normalize(p);
	return p;
}

bool path_is_normal(const char *path)
{
	if (path[0] != '/')
		return false;
	if (path[1] == '\0')
		return true;
	for (const char *c = path; *c;) {
		/* c points at a '/' */
		const char *next = strchrnul(c + 1, '/');
		size_t len = (size_t)(next - c - 1);
		if (len == 0)
			return false; /* "//" or trailing '/' */
		if ((len == 1 && c[1] == '.') || (len == 2 && c[1] == '.' && c[2] == '.'))
			return false;
		c = next;
	}
	return true;
}

bool path_is_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	if (n == 1 && dir[0] == '/')
		return path[0] == '/';
	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

bool path_is_python_code(const char *path)
{
	static const char *const suffixes[] = {".py", ".pyc", ".pyo", ".pyw", ".pth", "._pth"};
	const char *base = strrchr(path, '/');
	if (!strcmp(base ? base + 1 : path, "pyvenv.cfg"))
		return true;
	const char *dot = strrchr(path, '.');
	if (!dot || strchr(dot, '/'))
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++)
		if (!strcmp(dot, suffixes[i]))
			return true;
	return false;
}

const char *path_under_any(const char *path, char *const *dirs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (path_is_under(path, dirs[i]))
			return dirs[i];
	return NULL;
}
