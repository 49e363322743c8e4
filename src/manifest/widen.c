/* widen.c - `manifest --widen-package NAME`: an image that imports a package
 * trusts every installed file of the distribution that provides it, not only
 * the modules its trace happened to load (docs/formats.md, rule 12).  Images
 * that never imported it get nothing: least privilege per image is kept.
 *
 * No Python is run.  Where packages live is read from the trusted paths: the
 * first site-packages or dist-packages component (else the stdlib's
 * pythonX.Y, or pythonX.Y/lib-dynload) is the import directory, "the site",
 * and the name right below it the top-level import name (widen_top_of).  The
 * files of the distribution providing NAME in a site are those listed below
 * SITE by each NAME-VERSION.dist-info/RECORD in SITE that lists a file of
 * NAME, with the .pyc of each listed .py; with no such RECORD (Debian's
 * *.egg-info, the stdlib) every file below SITE/NAME/, or SITE/NAME.py,
 * SITE/NAME.*.so and the .pyc of the first.  Only what exists now is taken, regular files only;
 * a symlink to one is taken under both names, as a traced open records both.
 *
 * Each file then meets the rules a read of it meets in classify_path():
 * --exclude wins, pseudo paths are never hashed, --trust trusts, --allow and
 * the image's own allow rules keep it allowed, and a file some image of the
 * run wrote (bytecode caches aside, rule 6) is not trusted. */
#include "manifest/manifest.h"
#include "common/json.h"
#include "common/path.h"

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* The files of one top-level name in one site. */
struct pkg {
	struct strmap files; /* regular files (set): names and symlink targets */
	struct strmap dirs;  /* directories to list (set) */
};

struct widen {
	struct mf_model *m;
	struct strmap names;    /* the names asked for (set), "*" aside */
	bool all;               /* "*": every package an image imports */
	struct strmap pkgs;     /* "SITE/NAME" -> struct pkg * */
	struct strmap indexed;  /* sites whose RECORD files were read (set) */
	struct strmap provided; /* "SITE/NAME" -> struct strmap * (RECORDs listing NAME) */
	struct strmap stats;    /* name -> struct mf_widened * */
};

/* ---- names and sites (lexical) ---- */

static bool is_identifier(const char *s, size_t n)
{
	if (!n || isdigit((unsigned char)s[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return false;
	return true;
}

bool widen_name_ok(const char *name)
{
	return !strcmp(name, "*") || is_identifier(name, strlen(name));
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && !strcmp(s + n - k, suffix);
}

static bool component_is(const char *s, size_t n, const char *name)
{
	return n == strlen(name) && !strncmp(s, name, n);
}

/* pythonX.Y */
static bool is_stdlib_dir(const char *s, size_t n)
{
	size_t i = 6;
	if (n < 9 || strncmp(s, "python", 6))
		return false;
	while (i < n && isdigit((unsigned char)s[i]))
		i++;
	if (i == 6 || i >= n || s[i] != '.')
		return false;
	size_t minor = ++i;
	while (i < n && isdigit((unsigned char)s[i]))
		i++;
	return i == n && i > minor;
}

/* The length of path's import directory, 0 if none: the first site-packages
 * or dist-packages component (the first, so that a package shipping such a
 * directory inside cannot pose as a site), else the first pythonX.Y, with a
 * lib-dynload right below it. */
static size_t site_len_of(const char *path)
{
	size_t stdlib = 0;
	for (const char *c = path; *c == '/' && c[1];) {
		const char *s = c + 1, *e = strchrnul(s, '/');
		size_t n = (size_t)(e - s);
		if (component_is(s, n, "site-packages") || component_is(s, n, "dist-packages"))
			return (size_t)(e - path);
		if (!stdlib && is_stdlib_dir(s, n))
			stdlib = (size_t)(e - path);
		else if (stdlib && stdlib == (size_t)(c - path) && component_is(s, n, "lib-dynload"))
			stdlib = (size_t)(e - path);
		c = e;
	}
	return stdlib;
}

char *widen_top_of(const char *path, size_t *site_len)
{
	size_t site = site_len_of(path);
	if (!site || path[site] != '/')
		return NULL;
	const char *rest = path + site + 1, *slash = strchr(rest, '/'), *name = rest;
	size_t n;
	if (slash && !strncmp(rest, "__pycache__/", 12)) {
		name = rest + 12; /* SITE/__pycache__/X.cpython-311.pyc */
		if (strchr(name, '/') || !ends_with(name, ".pyc"))
			return NULL;
		n = strcspn(name, ".");
	} else if (slash) {
		n = (size_t)(slash - rest); /* SITE/X/...: a package */
	} else if (ends_with(rest, ".py") || ends_with(rest, ".so")) {
		n = strcspn(rest, "."); /* SITE/X.py, SITE/X.cpython-311-x86_64-linux-gnu.so */
	} else {
		return NULL;
	}
	if (!is_identifier(name, n))
		return NULL;
	*site_len = site;
	return xstrndup(name, n);
}

/* ---- the files of a distribution ---- */

/* A regular file now; a symlink to one is taken under its name and its
 * target, as the trace records a followed link. */
static bool add_file(struct pkg *p, const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return false;
	if (S_ISLNK(st.st_mode)) {
		if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
			return false;
		cleanup_free char *target = realpath(path, NULL);
		if (target && path_is_normal(target))
			strmap_put(&p->files, target, NULL);
	} else if (!S_ISREG(st.st_mode)) {
		return false;
	}
	strmap_put(&p->files, path, NULL);
	return true;
}

/* The directories between site and path, to list. */
static void add_dirs_up(struct pkg *p, const char *path, const char *site)
{
	cleanup_free char *d = xstrdup(path);
	char *slash;
	int added = 1;
	while (added && (slash = strrchr(d, '/')) && slash != d) {
		*slash = '\0';
		if (!path_is_under(d, site) || !strcmp(d, site))
			break;
		strmap_put(&p->dirs, d, &added); /* a known one: its parents are in too */
	}
}

/* Every regular file and directory below dir.  Symlinked directories are not
 * followed: what they hold is not the package's. */
static void walk(struct pkg *p, const char *dir)
{
	strmap_put(&p->dirs, dir, NULL);
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		cleanup_free char *path = xasprintf("%s/%s", dir, e->d_name);
		struct stat st;
		if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
			walk(p, path);
		else
			add_file(p, path);
	}
	closedir(d);
}

/* D/__pycache__/X.*.pyc of D/X.py, those that exist. */
static void add_pycs(struct pkg *p, const char *py)
{
	const char *slash = strrchr(py, '/');
	cleanup_free char *cache = xasprintf("%.*s/__pycache__", (int)(slash - py), py);
	DIR *d = opendir(cache);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		cleanup_free char *pyc = xasprintf("%s/%s", cache, e->d_name);
		cleanup_free char *src = rules_pyc_source(pyc);
		if (src && !strcmp(src, py))
			add_file(p, pyc);
	}
	closedir(d);
}

/* A single-module distribution: SITE/NAME.py (and its .pyc), SITE/NAME.*.so. */
static void add_module(struct pkg *p, const char *site, const char *name)
{
	cleanup_free char *py = xasprintf("%s/%s.py", site, name);
	add_file(p, py);
	add_pycs(p, py);
	DIR *d = opendir(site);
	if (!d)
		return;
	size_t n = strlen(name);
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, name, n) || e->d_name[n] != '.' || !ends_with(e->d_name, ".so"))
			continue;
		cleanup_free char *so = xasprintf("%s/%s", site, e->d_name);
		add_file(p, so);
	}
	closedir(d);
}

/* The first field of a RECORD line, malloc'd.  RECORD is CSV: a field with a
 * comma or a quote is quoted, a quote inside doubled. */
static char *csv_first(const char *line, size_t len)
{
	if (!len || line[0] != '"') {
		const char *comma = memchr(line, ',', len);
		return xstrndup(line, comma ? (size_t)(comma - line) : len);
	}
	char *out = xmalloc(len), *o = out;
	for (size_t i = 1; i < len; i++) {
		if (line[i] == '"' && (i + 1 >= len || line[i + 1] != '"'))
			break;
		*o++ = line[i];
		i += line[i] == '"'; /* "" is one quote */
	}
	*o = '\0';
	return out;
}

/* The paths a RECORD lists below site (its scripts in ../../bin are not
 * importable), absolute and normal; *n of them, existing or not. */
static char **record_paths(const char *record, const char *site, size_t *n)
{
	cleanup_free char *data = NULL;
	size_t len, cap = 0;
	char **v = NULL;
	*n = 0;
	if (read_small_file(record, (size_t)64 << 20, &data, &len, NULL) < 0)
		return NULL;
	for (char *line = data; line < data + len;) {
		char *end = memchr(line, '\n', (size_t)(data + len - line));
		if (!end)
			end = data + len;
		size_t l = (size_t)(end - line);
		if (l && line[l - 1] == '\r')
			l--;
		cleanup_free char *rel = csv_first(line, l);
		char *abs = rel[0] ? path_resolve(site, rel) : NULL;
		if (abs && path_is_under(abs, site) && strcmp(abs, site)) {
			grow_array(&v, &cap, *n, sizeof(*v));
			v[(*n)++] = abs;
		} else {
			free(abs);
		}
		line = end + 1;
	}
	return v;
}

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Which names each RECORD of a dist-info directory in site provides, read
 * once per site. */
static void index_site(struct widen *w, const char *site)
{
	int added;
	strmap_put(&w->indexed, site, &added);
	DIR *d = added ? opendir(site) : NULL;
	if (!d)
		return;
	size_t site_len = strlen(site);
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!ends_with(e->d_name, ".dist-info"))
			continue;
		cleanup_free char *record = xasprintf("%s/%s/RECORD", site, e->d_name);
		size_t n, len;
		char **paths = record_paths(record, site, &n);
		for (size_t i = 0; i < n; i++) {
			cleanup_free char *top = widen_top_of(paths[i], &len);
			if (!top || len != site_len)
				continue;
			cleanup_free char *key = xasprintf("%s/%s", site, top);
			void **slot = strmap_put(&w->provided, key, NULL);
			if (!*slot)
				*slot = xcalloc(1, sizeof(struct strmap));
			strmap_put(*slot, record, NULL);
		}
		free_strv(paths, n);
	}
	closedir(d);
}

static void add_record(struct pkg *p, const char *record, const char *site)
{
	size_t n;
	char **paths = record_paths(record, site, &n);
	for (size_t i = 0; i < n; i++) {
		if (add_file(p, paths[i]))
			add_dirs_up(p, paths[i], site);
		if (ends_with(paths[i], ".py"))
			add_pycs(p, paths[i]);
	}
	free_strv(paths, n);
}

/* The files of the distribution that provides name in site, found once. */
static struct pkg *pkg_of(struct widen *w, const char *site, const char *name)
{
	cleanup_free char *key = xasprintf("%s/%s", site, name);
	int added;
	void **slot = strmap_put(&w->pkgs, key, &added);
	if (!added)
		return *slot;
	struct pkg *p = xcalloc(1, sizeof(*p));
	*slot = p;
	index_site(w, site);
	void **records = strmap_get(&w->provided, key);
	struct stat st;
	if (records) {
		strmap_foreach((struct strmap *)*records, r) add_record(p, r->key, site);
	} else if (stat(key, &st) == 0 && S_ISDIR(st.st_mode)) {
		walk(p, key);
	} else {
		add_module(p, site, name);
	}
	return p;
}

/* ---- per image ---- */

/* img allows path, or a directory above it as a tree. */
static bool allowed_here(const struct mf_image *img, const char *path)
{
	if (strmap_get(&img->allowed, path))
		return true;
	cleanup_free char *p = xstrdup(path);
	char *slash;
	while ((slash = strrchr(p, '/')) && slash != p) {
		*slash = '\0';
		void **a = strmap_get(&img->allowed, p);
		if (a && ((const struct mf_allow *)*a)->tree)
			return true;
	}
	return false;
}

/* Would classify_path() trust a read of path by img? */
static bool trustworthy(const struct widen *w, const struct mf_image *img, const char *path)
{
	const struct mf_options *o = &w->m->opt;
	if (path_under_any(path, o->exclude, o->n_exclude) || rules_is_pseudo(path))
		return false;
	if (path_under_any(path, o->trust, o->n_trust))
		return true;
	if (path_under_any(path, o->allow, o->n_allow) || allowed_here(img, path))
		return false;
	return !strmap_get(&w->m->tree_written, path) || rules_is_pycache(path);
}

/* img trusts a file of p. */
static bool imports(const struct mf_image *img, const struct pkg *p)
{
	const struct strmap *few = &img->trusted, *many = &p->files;
	if (few->len > many->len) {
		few = &p->files;
		many = &img->trusted;
	}
	strmap_foreach(few, e) if (strmap_get(many, e->key)) return true;
	return false;
}

static struct mf_widened *stats_for(struct widen *w, const char *name)
{
	void **slot = strmap_put(&w->stats, name, NULL);
	if (!*slot) {
		struct mf_widened *s = xcalloc(1, sizeof(*s));
		s->name = xstrdup(name);
		*slot = s;
	}
	return *slot;
}

static void widen_pkg(struct widen *w, struct mf_image *img, const struct pkg *p, const char *name)
{
	struct mf_widened *s = stats_for(w, name);
	s->images++;
	const char **files = strmap_sorted_keys(&p->files);
	for (size_t i = 0; files[i]; i++) {
		if (strmap_get(&img->trusted, files[i])) {
			s->files++;
		} else if (trustworthy(w, img, files[i])) {
			mf_trust(w->m, img, files[i]);
			s->files++;
			s->added++;
		}
	}
	free(files);
	const struct mf_options *o = &w->m->opt;
	strmap_foreach(&p->dirs, d) {
		if (!path_under_any(d->key, o->exclude, o->n_exclude))
			strmap_put(&img->list, d->key, NULL);
	}
}

/* "SITE/NAME" -> (uintptr_t) length of SITE */
static void add_candidate(struct strmap *cands, const char *site, size_t site_len, const char *name)
{
	cleanup_free char *key = xasprintf("%.*s/%s", (int)site_len, site, name);
	*strmap_put(cands, key, NULL) = (void *)(uintptr_t)site_len;
}

/* The packages img may be widened to: those it imports from (for "*"), and
 * each name asked for in each site it imports from (a distribution may
 * provide several names: attrs provides attr too). */
static void candidates(const struct widen *w, const struct mf_image *img, struct strmap *cands)
{
	struct strmap sites = {0};
	strmap_foreach(&img->trusted, e) {
		size_t len;
		cleanup_free char *top = widen_top_of(e->key, &len);
		if (!top)
			continue;
		cleanup_free char *site = xstrndup(e->key, len);
		strmap_put(&sites, site, NULL);
		if (w->all || strmap_get(&w->names, top))
			add_candidate(cands, site, len, top);
	}
	strmap_foreach(&sites, s) {
		strmap_foreach(&w->names, n) add_candidate(cands, s->key, strlen(s->key), n->key);
	}
	strmap_free(&sites);
}

static void widen_image(struct widen *w, struct mf_image *img)
{
	struct strmap cands = {0};
	candidates(w, img, &cands);
	const char **keys = strmap_sorted_keys(&cands);
	const struct pkg **todo = xcalloc(cands.len + 1, sizeof(*todo));
	/* Decide on what the trace made trusted, then add. */
	for (size_t i = 0; keys[i]; i++) {
		size_t site_len = (size_t)(uintptr_t)*strmap_get(&cands, keys[i]);
		cleanup_free char *site = xstrndup(keys[i], site_len);
		const struct pkg *p = pkg_of(w, site, keys[i] + site_len + 1);
		todo[i] = imports(img, p) ? p : NULL;
	}
	for (size_t i = 0; keys[i]; i++) {
		size_t site_len = (size_t)(uintptr_t)*strmap_get(&cands, keys[i]);
		if (todo[i])
			widen_pkg(w, img, todo[i], keys[i] + site_len + 1);
	}
	free(todo);
	free(keys);
	strmap_free(&cands);
}

/* Every name asked for must be imported by some image: a typo or a package
 * the trace never loaded would otherwise widen nothing, silently. */
static int check_names(const struct widen *w, struct sg_err *err)
{
	char list[600] = "";
	size_t n = 0, used = 0;
	const char **names = strmap_sorted_keys(&w->names);
	for (size_t i = 0; names[i]; i++) {
		if (strmap_get(&w->stats, names[i]))
			continue;
		int k = snprintf(list + used, sizeof(list) - used, "%s%s", n++ ? ", " : "", names[i]);
		if (k > 0 && (size_t)k < sizeof(list) - used)
			used += (size_t)k;
	}
	free(names);
	if (!n)
		return 0;
	return sg_fail(err, "--widen-package %s: no image imports %s from a site-packages, "
		       "dist-packages or pythonX.Y directory (NAME is a top-level import name, "
		       "such as numpy for numpy.linalg; '*' widens every package imported)", list,
		       n == 1 ? "it" : "them");
}

static void keep_stats(struct widen *w, struct mf_model *m)
{
	const char **names = strmap_sorted_keys(&w->stats);
	m->widened = xcalloc(w->stats.len + 1, sizeof(*m->widened));
	for (m->n_widened = 0; names[m->n_widened]; m->n_widened++) {
		struct mf_widened *s = *strmap_get(&w->stats, names[m->n_widened]);
		m->widened[m->n_widened] = *s;
		free(s);
	}
	free(names);
	strmap_free(&w->stats);
}

static void widen_free(struct widen *w)
{
	strmap_foreach(&w->pkgs, e) {
		struct pkg *p = e->value;
		strmap_free(&p->files);
		strmap_free(&p->dirs);
		free(p);
	}
	strmap_foreach(&w->provided, e) {
		strmap_free(e->value);
		free(e->value);
	}
	strmap_free(&w->pkgs);
	strmap_free(&w->provided);
	strmap_free(&w->indexed);
	strmap_free(&w->names);
}

int mf_widen(struct mf_model *m, struct sg_err *err)
{
	if (!m->opt.n_widen)
		return 0;
	struct widen w = {.m = m};
	for (size_t i = 0; i < m->opt.n_widen; i++) {
		if (!strcmp(m->opt.widen[i], "*"))
			w.all = true;
		else
			strmap_put(&w.names, m->opt.widen[i], NULL);
	}
	for (size_t i = 0; i < m->n_images; i++)
		widen_image(&w, m->images[i]);
	int rc = check_names(&w, err);
	keep_stats(&w, m);
	widen_free(&w);
	return rc;
}
