/* rules.c - how paths are classified, as data: which are pseudo files, which
 * directories are volatile, what counts as a random name, what Gramine
 * provides itself.  docs/formats.md "Manifest rules" explains each choice. */
#include "manifest/manifest.h"
#include "common/image.h"
#include "common/path.h"

#include <ctype.h>
#include <string.h>

/* Pseudo paths allowed as a whole tree: their names vary per run or per
 * machine, and their content is the kernel's, so hashing them means nothing. */
static const struct pseudo_rule pseudo_trees[] = {
	{"/proc/self", "/proc/self", true, "the process's own state (fds, maps, status)"},
	{"/proc/thread-self", "/proc/thread-self", true, "the thread's own state"},
	{"/sys/devices/system/cpu", "/sys/devices/system/cpu", true, "CPU count and caches (os.cpu_count, OpenBLAS)"},
	{"/sys/devices/system/node", "/sys/devices/system/node", true, "NUMA layout"},
	{"/dev/fd", "/dev/fd", true, "alias of /proc/self/fd"},
	{"/dev/pts", "/dev/pts", true, "terminals"},
	{"/dev/shm", "/dev/shm", true, "POSIX shared memory (multiprocessing semaphores)"},
};

static const char *const pseudo_roots[] = {"/proc", "/sys", "/dev"};

bool rules_is_pseudo(const char *path)
{
	for (size_t i = 0; i < ARRAY_SIZE(pseudo_roots); i++)
		if (path_is_under(path, pseudo_roots[i]))
			return true;
	return false;
}

/* /proc/<digits>[/...]: the tracer writes /proc/self as /proc/PID, and pids
 * change every run, so every per-pid path folds to /proc/self. */
static char *fold_proc_pid(const char *path)
{
	const char *p = path + strlen("/proc/");
	if (!isdigit((unsigned char)*p))
		return NULL;
	while (isdigit((unsigned char)*p))
		p++;
	if (*p && *p != '/')
		return NULL;
	return xasprintf("/proc/self%s", p);
}

char *rules_pseudo(const char *path, bool *tree)
{
	if (!rules_is_pseudo(path))
		return NULL;
	cleanup_free char *folded = path_is_under(path, "/proc") ? fold_proc_pid(path) : NULL;
	const char *p = folded ? folded : path;
	for (size_t i = 0; i < ARRAY_SIZE(pseudo_trees); i++) {
		if (path_is_under(p, pseudo_trees[i].prefix)) {
			*tree = pseudo_trees[i].tree;
			return xstrdup(pseudo_trees[i].allow);
		}
	}
	/* Anything else (/dev/null, /dev/urandom, /proc/meminfo): exactly that path. */
	*tree = false;
	return xstrdup(p);
}

/* Directories whose entries are created and deleted with fresh names every
 * run: allowed as a whole, never trusted. */
static const char *const volatile_roots[] = {"/tmp", "/var/tmp", "/dev/shm", "/run/lock"};

const char *rules_volatile_root(const char *path, const char *tmpdir)
{
	if (tmpdir && path_is_normal(tmpdir) && strcmp(tmpdir, "/") != 0 && path_is_under(path, tmpdir))
		return tmpdir;
	for (size_t i = 0; i < ARRAY_SIZE(volatile_roots); i++)
		if (path_is_under(path, volatile_roots[i]))
			return volatile_roots[i];
	return NULL;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/* The parent directory's base name equals name. */
static bool parent_is(const char *path, const char *name)
{
	const char *slash = strrchr(path, '/');
	if (!slash || slash == path)
		return false;
	size_t n = strlen(name);
	const char *start = slash - n;
	return start > path && start[-1] == '/' && strncmp(start, name, n) == 0;
}

bool rules_is_pycache(const char *path)
{
	const char *base = base_name(path);
	if (strcmp(base, "__pycache__") == 0)
		return true;
	if (!parent_is(path, "__pycache__"))
		return false;
	/* X.cpython-311.pyc, or importlib's temp name X.cpython-311.pyc.140234 */
	const char *pyc = strstr(base, ".pyc");
	if (!pyc)
		return false;
	const char *rest = pyc + 4;
	if (*rest == '\0')
		return true;
	if (*rest++ != '.')
		return false;
	for (; *rest; rest++)
		if (!isdigit((unsigned char)*rest))
			return false;
	return true;
}

char *rules_pyc_source(const char *pyc)
{
	size_t n = strlen(pyc);
	if (n < 5 || strcmp(pyc + n - 4, ".pyc") != 0 || !parent_is(pyc, "__pycache__"))
		return NULL;
	const char *base = base_name(pyc);
	const char *dot = strchr(base, '.');
	if (!dot || dot == base)
		return NULL;
	/* base - 1 is the '/' before X; "__pycache__/" is 12 characters. */
	size_t dir_len = (size_t)(base - 1 - pyc) - strlen("/__pycache__");
	return xasprintf("%.*s/%.*s.py", (int)dir_len, pyc, (int)(dot - base), base);
}

bool rules_random_name(const char *path)
{
	return image_name_is_random(base_name(path));
}

/* Gramine runs its own glibc from gramine.runtimedir() mounted at /lib; the
 * host's copies would not even be reachable, so the export leaves them out. */
static const char *const gramine_libs[] = {
	"ld-linux-x86-64.so.2", "libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2",
	"librt.so.1", "libutil.so.1", "libresolv.so.2", "libanl.so.1", "libmvec.so.1",
	"libnsl.so.1", "libBrokenLocale.so.1", "libthread_db.so.1", "libc_malloc_debug.so.0",
};
static const char *const lib_dirs[] = {
	"/lib", "/lib64", "/lib/x86_64-linux-gnu", "/usr/lib", "/usr/lib64", "/usr/lib/x86_64-linux-gnu",
};

bool rules_gramine_provides(const char *path)
{
	const char *base = base_name(path);
	size_t dlen = (size_t)(base - 1 - path);
	bool in_lib_dir = false;
	for (size_t i = 0; i < ARRAY_SIZE(lib_dirs); i++)
		if (strlen(lib_dirs[i]) == dlen && strncmp(path, lib_dirs[i], dlen) == 0)
			in_lib_dir = true;
	if (!in_lib_dir)
		return false;
	if (strncmp(base, "libnss_", 7) == 0)
		return true;
	for (size_t i = 0; i < ARRAY_SIZE(gramine_libs); i++)
		if (strcmp(base, gramine_libs[i]) == 0)
			return true;
	return false;
}

/* Only variables that change what the app does; the rest of the traced
 * environment (SSH_*, DISPLAY, tokens) stays out of a measured manifest. */
static const char *const env_exact[] = {"PATH", "HOME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "TERM"};
static const char *const env_prefix[] = {"LC_", "PYTHON", "OMP_", "OPENBLAS_", "MKL_", "NUMEXPR_"};

bool rules_env_exported(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(env_exact); i++)
		if (strcmp(name, env_exact[i]) == 0)
			return true;
	for (size_t i = 0; i < ARRAY_SIZE(env_prefix); i++)
		if (strncmp(name, env_prefix[i], strlen(env_prefix[i])) == 0)
			return true;
	return false;
}
