/* exec_path.c - see exec_path.h. */
#include "common/exec_path.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int check_candidate(const char *path)
{
	struct stat sb;
	if (stat(path, &sb) < 0)
		return ENOENT;
	if (S_ISDIR(sb.st_mode) || access(path, X_OK) < 0)
		return EACCES;
	return 0;
}

int find_program(const char *name, char **out, struct sg_err *err)
{
	if (!name[0])
		return sg_fail(err, "empty command name"), EXIT_NOT_FOUND;
	if (strchr(name, '/')) {
		int e = check_candidate(name);
		if (e == 0) {
			*out = xstrdup(name);
			return 0;
		}
		sg_fail(err, "%s: %s", name, e == ENOENT ? "no such file" : "not executable");
		return e == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC;
	}
	const char *path = getenv("PATH");
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	int seen_eacces = 0;
	for (const char *dir = path;; dir++) {
		const char *end = strchrnul(dir, ':');
		cleanup_free char *cand = end == dir ? xasprintf("./%s", name)
						     : xasprintf("%.*s/%s", (int)(end - dir), dir, name);
		int e = check_candidate(cand);
		if (e == 0) {
			*out = steal_pointer(&cand);
			return 0;
		}
		seen_eacces |= e == EACCES;
		if (!*end)
			break;
		dir = end;
	}
	sg_fail(err, "%s: %s", name, seen_eacces ? "not executable" : "command not found");
	return seen_eacces ? EXIT_CANNOT_EXEC : EXIT_NOT_FOUND;
}
