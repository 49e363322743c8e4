/* fuzz/path.c - the path resolver: path_resolve/path_normalize/path_is_normal
 * (src/common/path.c) and the tracer's use of them, a dirfd's path from
 * /proc/self/fd plus a relative path (src/trace/tracer.c resolve_at).
 *
 * Input: byte 0 picks a directory fd; the rest is "BASE\0REL" (or just REL).
 * Properties checked on every input, not only "no crash":
 *   1. NULL exactly when REL is relative and BASE is not absolute;
 *   2. the result is absolute and path_is_normal();
 *   3. it equals an independent reference normaliser (a component stack that
 *      never pops above "/");
 *   4. idempotent: resolving or normalising the result gives it back, and
 *      path_is_normal(x) holds exactly when normalising x changes nothing;
 *   5. a REL without ".." stays under BASE (path_is_under);
 *   6. against the kernel, for REL relative to a real dirfd in a scratch tree
 *      with symlinks (relative, absolute, "..", loops, dangling): when only
 *      real directories are passed before a "..", the lexical path names the
 *      same file openat(dirfd, REL) opens (same st_dev/st_ino), or both fail.
 *      (A symlink, file or missing name followed by "..", "." or a trailing
 *      "/" is where lexical and physical resolution part ways by design:
 *      formats.md records paths as named, the kernel's result in `err` and
 *      its resolved path as `target`.) */
#include "fuzz_common.h"
#include "common/path.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define N_DIRS 5
static int dirfds[N_DIRS];
static char tree[PATH_MAX];

static void mk(const char *rel, int dir)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/%s", tree, rel);
	if (dir ? mkdir(p, 0755) : (close(open(p, O_CREAT | O_WRONLY, 0644)), 0))
		fz_fail("harness: mkdir %s", p);
}

static void ln(const char *target, const char *rel)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/%s", tree, rel);
	if (symlink(target, p) < 0)
		fz_fail("harness: symlink %s", p);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	snprintf(tree, sizeof(tree), "%s/t", fz_scratch());
	mkdir(tree, 0755);
	mk("a", 1), mk("a/b", 1), mk("a/b/c", 1), mk("f", 0), mk("a/g", 0);
	ln("a/b", "l1");
	ln("..", "a/up");
	char abs[PATH_MAX + 8];
	snprintf(abs, sizeof(abs), "%s/a", tree);
	ln(abs, "abs");
	ln("loop", "loop");
	ln("nowhere", "dangling");
	ln("../../../l1", "a/b/c/deep");
	ln("f", "a/b/tofile");
	const char *dirs[N_DIRS] = {"", "/a", "/a/b", "/a/b/c", "/l1"};
	for (int i = 0; i < N_DIRS; i++) {
		char p[PATH_MAX + 8];
		snprintf(p, sizeof(p), "%s%s", tree, dirs[i]);
		if ((dirfds[i] = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
			fz_fail("harness: open %s", p);
	}
	return 0;
}

/* Reference: split on '/', keep a stack, ".." pops (never above root). */
static char *reference(const char *base, const char *rel)
{
	size_t cap = strlen(rel) + (base ? strlen(base) : 0) + 3;
	char *buf = malloc(cap), *out = malloc(cap);
	if (!buf || !out)
		abort();
	if (rel[0] == '/')
		snprintf(buf, cap, "%s", rel);
	else
		snprintf(buf, cap, "%s/%s", base, rel);
	size_t olen = 0;
	out[0] = '\0';
	for (char *save = NULL, *c = strtok_r(buf, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (!strcmp(c, "."))
			continue;
		if (!strcmp(c, "..")) {
			while (olen > 0 && out[olen - 1] != '/')
				olen--;
			if (olen > 0)
				olen--; /* the '/' */
			out[olen] = '\0';
			continue;
		}
		out[olen++] = '/';
		size_t n = strlen(c);
		memcpy(out + olen, c, n);
		olen += n;
		out[olen] = '\0';
	}
	if (olen == 0)
		strcpy(out, "/");
	free(buf);
	return out;
}

static void check_lexical(const char *base, const char *rel)
{
	char *r = path_resolve(base, rel);
	bool want_null = rel[0] != '/' && !(base && base[0] == '/');
	if (want_null || !r) {
		if (want_null != !r)
			fz_fail("path_resolve('%s', '%s') = %s, expected %s", base ? base : "(null)", rel,
				r ? r : "NULL", want_null ? "NULL" : "a path");
		return;
	}
	if (!path_is_normal(r))
		fz_fail("path_resolve('%s', '%s') = '%s' is not normal", base, rel, r);
	char *ref = reference(base, rel);
	if (strcmp(r, ref) != 0)
		fz_fail("path_resolve('%s', '%s') = '%s', reference says '%s'", base, rel, r, ref);
	free(ref);
	char *again = path_resolve(NULL, r), *dot = path_resolve(r, ".");
	if (strcmp(again, r) || strcmp(dot, r))
		fz_fail("not idempotent: '%s' -> '%s' / '%s'", r, again, dot);
	free(again), free(dot);
	if (!path_is_under(r, "/"))
		fz_fail("'%s' not under /", r);
	if (rel[0] != '/' && !strstr(rel, "..")) {
		char *nb = path_resolve(NULL, base);
		if (!path_is_under(r, nb))
			fz_fail("path_resolve('%s', '%s') = '%s' left the base '%s'", base, rel, r, nb);
		free(nb);
	}
	free(r);
	/* path_is_normal(x) <=> normalize(x) == x, for absolute x */
	const char *xs[2] = {rel, base};
	for (int i = 0; i < 2; i++) {
		const char *x = xs[i];
		if (!x || x[0] != '/')
			continue;
		char *copy = strdup(x);
		path_normalize(copy);
		bool same = strcmp(copy, x) == 0;
		if (same != path_is_normal(x))
			fz_fail("path_is_normal('%s') = %d but normalize gives '%s'", x, !same, copy);
		if (!path_is_normal(copy))
			fz_fail("path_normalize('%s') = '%s' is not normal", x, copy);
		free(copy);
	}
}

static char *fd_path(int fd)
{
	char link[64], buf[PATH_MAX];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, buf, sizeof(buf) - 1);
	if (n <= 0)
		fz_fail("harness: readlink %s", link);
	buf[n] = '\0';
	return strdup(buf);
}

/* True if walking rel lexically from base passes something other than a real
 * directory (a symlink, a file, a missing name) and later a "..", a "." or a
 * trailing "/": there the kernel's walk and the lexical one part ways by
 * design ("f/." and "f/" are ENOTDIR for the kernel, "f" lexically). */
static bool nondir_then_dotdot(const char *base, const char *rel)
{
	char *cur = strdup(base), *copy = strdup(rel);
	bool seen_nondir = false, bad = false;
	for (char *save = NULL, *c = strtok_r(copy, "/", &save); c && !bad; c = strtok_r(NULL, "/", &save)) {
		if (!strcmp(c, "..") || !strcmp(c, "."))
			bad = seen_nondir;
		char *next = path_resolve(cur, c);
		free(cur);
		cur = next;
		struct stat sb;
		if (lstat(cur, &sb) < 0 || !S_ISDIR(sb.st_mode))
			seen_nondir = true;
	}
	size_t n = strlen(rel);
	if (n && rel[n - 1] == '/' && seen_nondir)
		bad = true; /* "file/" : ENOTDIR for the kernel, "file" lexically */
	free(cur), free(copy);
	return bad;
}

static void check_kernel(int which, const char *rel)
{
	if (!rel[0] || rel[0] == '/' || strlen(rel) >= PATH_MAX - 256)
		return;
	char *base = fd_path(dirfds[which]);
	char *lex = path_resolve(base, rel);
	if (!path_is_under(lex, tree) || nondir_then_dotdot(base, rel)) {
		free(base), free(lex);
		return; /* outside the scratch tree (host files may change) */
	}
	int fd = openat(dirfds[which], rel, O_PATH | O_CLOEXEC);
	int kerr = fd < 0 ? errno : 0;
	struct stat ks, ls;
	int lerr = stat(lex, &ls) < 0 ? errno : 0;
	if (fd >= 0 && fstat(fd, &ks) < 0)
		fz_fail("harness: fstat");
	if (!kerr != !lerr && !(kerr == ELOOP || lerr == ELOOP))
		fz_fail("dirfd %s + '%s': kernel %s, lexical '%s' %s", base, rel, strerror(kerr), lex,
			strerror(lerr));
	if (!kerr && !lerr && (ks.st_dev != ls.st_dev || ks.st_ino != ls.st_ino))
		fz_fail("dirfd %s + '%s': lexical '%s' names another file than the kernel opened", base,
			rel, lex);
	if (fd >= 0)
		close(fd);
	free(base), free(lex);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 8192)
		return 0;
	char *parts[2], *block;
	size_t n = fz_split(data + 1, size - 1, parts, 2, &block);
	const char *base = n == 2 ? parts[0] : "/";
	const char *rel = n == 2 ? parts[1] : parts[0];
	check_lexical(base, rel);
	check_lexical(NULL, rel);
	check_kernel(data[0] % N_DIRS, rel);
	free(block);
	return 0;
}
