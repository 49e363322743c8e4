/* policy.c - what a manifest allows, as a pure function of (image, op, path).
 *
 * The mechanism (supervisor.c) asks decide() and acts; nothing here touches the
 * file system or the process, so every rule is unit-tested in isolation
 * (tests/unit/test_run_policy.c).
 *
 * Order of the rules, and why:
 *   1. magic links (/proc/PID/fd/N, root, cwd, exe, map_files) and other
 *      processes' /proc entries: their text says nothing about what they open,
 *      so no manifest entry can vouch for them;
 *   2. trusted files: read-only and content-checked; a write is refused even
 *      when an allow rule (a tree) also covers the path;
 *   3. allow rules (exact or tree), write only if the rule says so; Python
 *      code (.py, .pyc, .pth, and the image's own script, whatever its
 *      name) is not read from them: an allowed path is
 *      unverified, and the import system would run what it finds there (a
 *      json.py planted in a writable cwd, a .pth under a HOME in /tmp),
 *      unless the rule is marked code (--allow-built-code: the run itself
 *      wrote and read it at trace time);
 *   4. directories the image may list (open for getdents);
 *   5. everything else: not in manifest.  `stat` entries allow stat only, and
 *      stat is not intercepted (see filter.c), so they never reach here. */
#include "run/run.h"

#include "common/image.h"
#include "common/path.h"

#include <ctype.h>
#include <string.h>

const char *reason_str(enum run_reason r)
{
	switch (r) {
	case R_NONE: return "allowed";
	case R_NOT_IN_MANIFEST: return "not in manifest";
	case R_HASH_MISMATCH: return "hash mismatch";
	case R_WRITE_TRUSTED: return "write to trusted file";
	case R_WRITE_READONLY: return "write to read-only path";
	case R_EXEC_NOT_ALLOWED: return "exec not allowed";
	case R_BLOCKED_SYSCALL: return "blocked syscall";
	case R_MAGIC_LINK: return "magic link or other process's /proc entry";
	case R_LOADER_ENV: return "loader environment variable";
	case R_UNVERIFIED_CODE: return "code under an allowed path";
	case R_DIR_MOVED: return "relative to a directory moved since the start";
	}
	return "?";
}

/* If path is /proc/<x>/... return a pointer to <x> and set *rest to what follows. */
static const char *proc_pid_part(const char *path, size_t *len, const char **rest)
{
	if (strncmp(path, "/proc/", 6) != 0)
		return NULL;
	const char *p = path + 6;
	size_t n = strcspn(p, "/");
	*len = n;
	*rest = p + n; /* "" or "/..." */
	return p;
}

static bool is_self_word(const char *p, size_t n)
{
	return (n == 4 && !strncmp(p, "self", 4)) || (n == 11 && !strncmp(p, "thread-self", 11));
}

static bool all_digits(const char *p, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)p[i]))
			return false;
	return true;
}

bool policy_is_magic_link(const char *path)
{
	size_t n;
	const char *rest;
	const char *pid = proc_pid_part(path, &n, &rest);
	if (!pid || !(is_self_word(pid, n) || all_digits(pid, n)))
		return false;
	/* /proc/self/task/TID/... has the same links one level down. */
	if (!strncmp(rest, "/task/", 6)) {
		const char *t = rest + 6;
		size_t tn = strcspn(t, "/");
		if (!all_digits(t, tn))
			return false;
		rest = t + tn;
	}
	static const char *const links[] = {"/root", "/cwd", "/exe"};
	for (size_t i = 0; i < ARRAY_SIZE(links); i++) {
		size_t l = strlen(links[i]);
		if (!strncmp(rest, links[i], l) && (rest[l] == '\0' || rest[l] == '/'))
			return true;
	}
	/* The directories themselves may be listed (subprocess closes fds by
	 * listing /proc/self/fd); their entries are links. */
	static const char *const dirs[] = {"/fd/", "/map_files/"};
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++)
		if (!strncmp(rest, dirs[i], strlen(dirs[i])))
			return true;
	return false;
}

/* /proc/<digits>/... of a process other than tgid. */
static bool is_other_process(const char *path, pid_t tgid)
{
	size_t n;
	const char *rest;
	const char *pid = proc_pid_part(path, &n, &rest);
	if (!pid || !all_digits(pid, n))
		return false;
	char buf[24];
	snprintf(buf, sizeof(buf), "%d", (int)tgid);
	return !(strlen(buf) == n && !strncmp(buf, pid, n));
}

void policy_decide(const struct bundle_image *img, enum run_op op, const char *path,
		   pid_t tgid, struct decision *d)
{
	memset(d, 0, sizeof(*d));
	d->verdict = V_DENY;
	if (!img || !path || path[0] != '/') {
		d->reason = R_NOT_IN_MANIFEST;
		return;
	}
	if (policy_is_magic_link(path) || is_other_process(path, tgid)) {
		d->reason = R_MAGIC_LINK;
		return;
	}
	const struct bundle_file *f = image_trusted(img, path);
	if (f) {
		if (op == OP_OPEN_WRITE) {
			d->reason = R_WRITE_TRUSTED;
			return;
		}
		d->verdict = V_TRUSTED;
		d->file = f;
		return;
	}
	if (op == OP_EXEC) {
		/* Programs are matched against children by the caller; a path
		 * that is not even trusted can never be exec'd. */
		d->reason = R_EXEC_NOT_ALLOWED;
		return;
	}
	const struct bundle_allow *a = image_allowed(img, path);
	if (a) {
		if (op == OP_OPEN_WRITE && !a->write) {
			d->reason = R_WRITE_READONLY;
			return;
		}
		if (op == OP_OPEN_READ && !a->code &&
		    (path_is_python_code(path) || image_script_matches(img->script, path))) {
			d->reason = R_UNVERIFIED_CODE;
			return;
		}
		d->verdict = V_ALLOWED;
		d->allow = a;
		return;
	}
	if (op == OP_OPEN_READ && image_may_list(img, path)) {
		d->verdict = V_ALLOWED;
		return;
	}
	d->reason = R_NOT_IN_MANIFEST;
}

bool policy_env_is_loader(const char *entry)
{
	size_t n = strcspn(entry, "="); /* "NAME=value" or "NAME" */
	/* Each of these makes the dynamic loader or Python load code or data from
	 * somewhere the manifest did not vet. */
	static const char *const names[] = {
		"LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "LD_ORIGIN_PATH", "GCONV_PATH",
		"PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONUSERBASE",
		"PYTHONPLATLIBDIR", "PYTHONPYCACHEPREFIX", "PYTHONBREAKPOINT",
		"PYTHONEXECUTABLE", "PYTHONWARNINGS", "PYTHONINSPECT",
		/* shells: a file to source, functions, options that run code */
		"BASH_ENV", "ENV", "SHELLOPTS", "BASHOPTS", "PS4",
		/* other interpreters an app may run */
		"PERL5OPT", "PERL5LIB", "PERLLIB", "RUBYOPT", "RUBYLIB", "NODE_OPTIONS", "NODE_PATH",
	};
	if (!strncmp(entry, "BASH_FUNC_", 10)) /* exported functions replace commands */
		return true;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (strlen(names[i]) == n && !strncmp(entry, names[i], n))
			return true;
	return false;
}
