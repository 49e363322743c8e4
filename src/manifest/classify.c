/* classify.c - turn each image's accesses into trusted / allowed / stat /
 * list sets, using rules.c and the file system as it is now, then hash every
 * trusted file once (hash.c) however many images list it.
 *
 * Order of the rules for one path (first match wins):
 *   --exclude; pseudo (/proc, /sys, /dev); --trust; --allow; __pycache__
 *   writes dropped; made by the run in a volatile dir -> the whole dir;
 *   modified -> allowed (random names -> their dir);
 *   modified by another image -> allowed read-only; read/exec/map of a regular
 *   file -> trusted (directory -> list); list; stat-only / probes -> stat.
 * Then --widen-package (widen.c) adds the rest of each package an image
 * imports, and --trust-sources the sources of trusted .pyc files.
 * --allow-built-code marks the allow rule that took a file the image mapped
 * executable and the run wrote (a library built during the run). */
#include "manifest/manifest.h"
#include "common/path.h"
#include "common/utf8.h"

#include <errno.h>
#include <jansson.h>
#include <ftw.h>
#include <string.h>
#include <sys/stat.h>

static size_t job_for(struct mf_model *m, const char *path)
{
	int added;
	void **slot = strmap_put(&m->job_of, path, &added);
	if (!added)
		return (size_t)(uintptr_t)*slot;
	grow_array(&m->jobs, &m->cap_jobs, m->n_jobs, sizeof(*m->jobs));
	/* The job owns its copy (freed in mf_model_free). */
	m->jobs[m->n_jobs] = (struct hash_job){.path = xstrdup(path)};
	*slot = (void *)(uintptr_t)(++m->n_jobs);
	return m->n_jobs;
}

const struct hash_job *mf_job(const struct mf_model *m, size_t job1)
{
	return job1 ? &m->jobs[job1 - 1] : NULL;
}

static struct mf_allow *add_allow(struct mf_image *img, const char *path, bool tree, bool write)
{
	void **slot = strmap_put(&img->allowed, path, NULL);
	struct mf_allow *a = *slot;
	if (!a)
		*slot = a = xcalloc(1, sizeof(*a));
	a->tree |= tree;
	a->write |= write;
	return a;
}

static void add_set(struct strmap *s, const char *path)
{
	strmap_put(s, path, NULL);
}

struct ctx {
	struct mf_model *m;
	const char *tmpdir;
	char **vanished;
	size_t n_vanished, cap_vanished;
	char **not_utf8; /* shown with \xNN */
	size_t n_not_utf8, cap_not_utf8;
};

static void note_vanished(struct ctx *c, const char *path)
{
	grow_array(&c->vanished, &c->cap_vanished, c->n_vanished, sizeof(char *));
	c->vanished[c->n_vanished++] = xstrdup(path);
}

void mf_trust(struct mf_model *m, struct mf_image *img, const char *path)
{
	*strmap_put(&img->trusted, path, NULL) = (void *)(uintptr_t)job_for(m, path);
}

static void trust(struct ctx *c, struct mf_image *img, const char *path)
{
	mf_trust(c->m, img, path);
}

/* Content use of an existing path: what its type now makes of it. */
static void classify_content(struct ctx *c, struct mf_image *img, const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		/* Removed by the app itself (pytest cleaning old temp dirs, a
		 * consumed work file): its own doing, not a stale trace.  A gone
		 * cache file is simply dropped, never allowed unchecked. */
		if (strmap_get(&c->m->tree_written, path)) {
			if (!rules_is_pycache(path))
				add_allow(img, path, false, false);
			return;
		}
		note_vanished(c, path);
		return;
	}
	if (S_ISREG(st.st_mode))
		trust(c, img, path);
	else if (S_ISDIR(st.st_mode))
		add_set(&img->list, path); /* opened to read entries (opendir) */
	else
		add_allow(img, path, false, false); /* a FIFO or socket: nothing to hash */
}

static void classify_stat(struct ctx *c, struct mf_image *img, const char *path)
{
	struct stat st;
	add_set(&img->stat, path);
	/* Gramine refuses a stat of an unlisted file, so the export needs these
	 * hashed; sgxpy's own manifest only lets them be looked up. */
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
		*strmap_put(&img->gramine_stat, path, NULL) = (void *)(uintptr_t)job_for(c->m, path);
}

/* In a temp dir, what the run itself made (tempfile's /tmp/tmpXXXXXXXX,
 * multiprocessing's /tmp/pymp-XXXXXXXX, pytest's /tmp/pytest-of-me/pytest-N)
 * gets a new name every run: allow the whole temp dir.  A path is such an
 * entry when a directory between the temp dir and it was created or removed
 * by the run (or, for a path the image modified, is gone), or when the path
 * sits directly in the temp dir and was modified here or created by the run.
 * An app directory that was there before and still is (an app unpacked in
 * /tmp) and the files in it are classified like any others. */
/* What the run's images did to path's name (ACC_CREATE, ACC_REMOVE...),
 * bytecode caches aside (their writes are dropped, rule 6). */
static uintptr_t run_changed(struct ctx *c, const char *path)
{
	void **fl = strmap_get(&c->m->tree_written, path);
	return fl && !rules_is_pycache(path) ? (uintptr_t)*fl : 0;
}

static bool volatile_entry(struct ctx *c, const char *path, const char *root, bool modified)
{
	size_t n = strlen(root);
	if (path[n] != '/')
		return false;
	cleanup_free char *p = xstrdup(path);
	struct stat st;
	/* The directories strictly between the temp dir and path. */
	for (char *slash = strchr(p + n + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		if ((run_changed(c, p) & (ACC_CREATE | ACC_REMOVE)) || (modified && lstat(p, &st) < 0))
			return true;
		*slash = '/';
	}
	/* Directly in the temp dir: written here, or another image's temp file
	 * (/tmp/tmpXXXXXXXX) read here.  Deeper down, a file the run wrote in a
	 * directory that was there before is that app's own output (rule 7/8). */
	if (strchr(path + n + 1, '/'))
		return false;
	return modified || (run_changed(c, path) & (ACC_CREATE | ACC_REMOVE));
}

/* For a modified path with a random component (a pid, tempfile's name), the
 * directory above the first such component, to be allowed as a tree; NULL if
 * no component is random (or only a top-level one: "/" is never allowed). */
static char *random_parent(const char *path)
{
	cleanup_free char *p = xstrdup(path);
	char *slash = p;
	do {
		char *next = strchr(slash + 1, '/');
		if (next)
			*next = '\0';
		if (rules_random_name(p)) {
			if (slash == p)
				return NULL;
			*slash = '\0';
			return xstrdup(p);
		}
		if (next)
			*next = '/';
		slash = next;
	} while (slash);
	return NULL;
}

/* Rule 13: with --allow-built-code, the rule that allows a library the image
 * mapped executable, or Python code it read (sgxpy run reads no .py, .pyc or
 * .pth from an allow rule otherwise), and some image of the run wrote lets
 * such code load. */
static void mark_built_code(struct ctx *c, const struct mf_image *img, struct mf_allow *a,
			    uintptr_t fl, const char *path)
{
	bool code = (fl & ACC_MAP) ||
		    ((fl & ACC_READ) && (path_is_python_code(path) ||
					 image_script_matches(img->key.script, path)));
	if (c->m->opt.built_code && code && run_changed(c, path))
		a->code = true;
}

static void classify_path(struct ctx *c, struct mf_image *img, const char *path, uintptr_t fl)
{
	struct mf_options *o = &c->m->opt;
	const char *rule;
	if (path_under_any(path, o->exclude, o->n_exclude))
		return;
	bool tree;
	cleanup_free char *pseudo = rules_pseudo(path, &tree);
	if (pseudo) {
		add_allow(img, pseudo, tree, fl & ACC_MODIFY);
		return;
	}
	if (path_under_any(path, o->trust, o->n_trust) && (fl & (ACC_CONTENT | ACC_MODIFY))) {
		classify_content(c, img, path);
		return;
	}
	if ((rule = path_under_any(path, o->allow, o->n_allow))) {
		add_allow(img, rule, true, true);
		return;
	}
	/* Before the volatile rule: a dropped cache write widens nothing. */
	bool pycache = rules_is_pycache(path);
	if (pycache)
		fl &= ~(uintptr_t)ACC_MODIFY; /* a rewritable .pyc is an injection point */
	if ((rule = rules_volatile_root(path, c->tmpdir)) &&
	    volatile_entry(c, path, rule, fl & ACC_MODIFY)) {
		mark_built_code(c, img, add_allow(img, rule, true, fl & ACC_MODIFY), fl, path);
		return;
	}
	if (fl & ACC_MODIFY) {
		cleanup_free char *dir = random_parent(path);
		struct stat st;
		struct mf_allow *a = dir ? add_allow(img, dir, true, true)
					 : add_allow(img, path, stat(path, &st) == 0 && S_ISDIR(st.st_mode), true);
		mark_built_code(c, img, a, fl, path);
		return;
	}
	if ((fl & ACC_CONTENT) && !pycache && strmap_get(&c->m->tree_written, path)) {
		/* another image's output */
		mark_built_code(c, img, add_allow(img, path, false, false), fl, path);
		return;
	}
	if (fl & ACC_CONTENT)
		classify_content(c, img, path);
	if (fl & ACC_LIST)
		add_set(&img->list, path);
	if (!(fl & ACC_CONTENT) && (fl & (ACC_STAT | ACC_READLINK | ACC_PYC_STAT | ACC_CHDIR)))
		classify_stat(c, img, path);
	else if (!(fl & ~(uintptr_t)(ACC_PROBE | ACC_ALIAS)))
		add_set(&img->stat, path); /* a probe that failed: may fail the same way */
}

/* Drop allow rules that a tree rule above already covers as widely. */
static void prune_allowed(struct mf_image *img)
{
	const char **keys = strmap_sorted_keys(&img->allowed);
	struct strmap kept = {0};
	for (size_t i = 0; keys[i]; i++) {
		struct mf_allow *a = *strmap_get(&img->allowed, keys[i]);
		bool covered = false;
		cleanup_free char *p = xstrdup(keys[i]);
		char *slash;
		while (!covered && strcmp(p, "/") != 0 && (slash = strrchr(p, '/'))) {
			slash[slash == p ? 1 : 0] = '\0';
			void **up = strmap_get(&img->allowed, p);
			struct mf_allow *u = up ? *up : NULL;
			covered = u && u->tree && (u->write || !a->write) && (u->code || !a->code);
		}
		if (covered)
			free(a);
		else
			*strmap_put(&kept, keys[i], NULL) = a;
	}
	free(keys);
	strmap_free(&img->allowed);
	img->allowed = kept;
}

/* JSON holds only UTF-8: a name that would be written and is not is an error
 * (names folded into a directory rule never reach the manifest). */
static void check_utf8(struct ctx *c, const struct mf_image *img)
{
	const struct strmap *sets[] = {&img->trusted, &img->allowed, &img->stat, &img->list,
				       &img->gramine_stat};
	for (size_t i = 0; i < ARRAY_SIZE(sets); i++) {
		strmap_foreach(sets[i], e) {
			if (utf8_valid(e->key))
				continue;
			grow_array(&c->not_utf8, &c->cap_not_utf8, c->n_not_utf8, sizeof(char *));
			c->not_utf8[c->n_not_utf8++] = utf8_escape(e->key);
		}
	}
}

/* --trust-sources: the X.py of every trusted __pycache__/X.*.pyc is trusted
 * too (tracebacks show source lines, inspect.getsource works), instead of
 * being only stat-able.  Sources the app wrote, or excluded, stay as they are. */
static void trust_sources(struct ctx *c, struct mf_image *img)
{
	const char **keys = strmap_sorted_keys(&img->trusted);
	for (size_t i = 0; keys[i]; i++) {
		cleanup_free char *src = rules_pyc_source(keys[i]);
		struct stat st;
		if (!src || strmap_get(&img->trusted, src) || strmap_get(&c->m->tree_written, src) ||
		    path_under_any(src, c->m->opt.exclude, c->m->opt.n_exclude) ||
		    stat(src, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		trust(c, img, src);
	}
	free(keys);
}

/* Stat entries that are also trusted, allowed or listed say nothing more. */
static void prune_stat(struct mf_image *img)
{
	struct strmap kept = {0};
	strmap_foreach(&img->stat, e) {
		if (strmap_get(&img->trusted, e->key) || strmap_get(&img->allowed, e->key))
			continue;
		add_set(&kept, e->key);
	}
	strmap_free(&img->stat);
	img->stat = kept;
}

static struct ctx *nftw_ctx; /* nftw() has no user pointer */

static int trust_walk(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)ftw;
	if (flag == FTW_F && S_ISREG(st->st_mode) && path_is_normal(path))
		trust(nftw_ctx, nftw_ctx->m->root, path);
	return 0;
}

/* --trust PATH nobody touched: the root image trusts it (every regular file
 * below, for a directory), for code paths the trace did not reach. */
static int trust_untouched(struct ctx *c, struct sg_err *err)
{
	struct mf_model *m = c->m;
	for (size_t i = 0; i < m->opt.n_trust; i++) {
		const char *t = m->opt.trust[i];
		bool touched = false;
		for (size_t j = 0; j < m->n_images && !touched; j++)
			strmap_foreach(&m->images[j]->access, e) if (path_is_under(e->key, t)) touched = true;
		if (touched)
			continue;
		struct stat st;
		if (stat(t, &st) < 0)
			return sg_fail_errno(err, "--trust %s", t);
		nftw_ctx = c;
		if (nftw(t, trust_walk, 16, FTW_PHYS) < 0)
			return sg_fail_errno(err, "--trust %s: cannot walk", t);
	}
	return 0;
}

/* $TMPDIR of the traced app: its temp files are volatile too. */
static char *app_tmpdir(const struct mf_model *m)
{
	if (!m->root_env_json)
		return NULL;
	json_t *env = json_loads(m->root_env_json, 0, NULL);
	const char *v = json_string_value(json_object_get(env, "TMPDIR"));
	char *out = v && path_is_normal(v) && strcmp(v, "/") ? xstrdup(v) : NULL;
	json_decref(env);
	return out;
}

static int report_vanished(struct ctx *c, struct sg_err *err)
{
	if (!c->n_vanished)
		return 0;
	char list[700] = "";
	size_t shown = 0;
	for (size_t i = 0; i < c->n_vanished; i++) {
		if (i && strcmp(c->vanished[i], c->vanished[i - 1]) == 0)
			continue;
		if (strlen(list) + strlen(c->vanished[i]) + 3 >= sizeof(list))
			break;
		if (shown++)
			strcat(list, ", ");
		strcat(list, c->vanished[i]);
	}
	return sg_fail(err, "%zu file(s) the trace read no longer exist: %s%s (re-trace, or "
		       "leave them out with --exclude PATH)", c->n_vanished, list,
		       shown < c->n_vanished ? ", ..." : "");
}

static int cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Trusted files that could not be hashed are errors; stat-only ones drop. */
static int check_hashes(struct mf_model *m, struct ctx *c, struct sg_err *err)
{
	for (size_t i = 0; i < m->n_images; i++) {
		struct mf_image *img = m->images[i];
		strmap_foreach(&img->trusted, e) {
			const struct hash_job *j = mf_job(m, (size_t)(uintptr_t)e->value);
			if (j->status == ENOENT)
				note_vanished(c, e->key);
			else if (j->status)
				return sg_fail(err, "cannot hash %s: %s", e->key, strerror(j->status));
		}
	}
	if (c->n_vanished)
		qsort(c->vanished, c->n_vanished, sizeof(char *), cmp_strp);
	return report_vanished(c, err);
}

static void classify_image(struct ctx *c, struct mf_image *img)
{
	struct mf_model *m = c->m;
	const char **keys = strmap_sorted_keys(&img->access);
	for (size_t k = 0; keys[k]; k++)
		classify_path(c, img, keys[k], (uintptr_t)*strmap_get(&img->access, keys[k]));
	free(keys);
	/* The program itself, as the key names it (symlinks resolved). */
	if (!path_under_any(img->key.program, m->opt.exclude, m->opt.n_exclude))
		trust(c, img, img->key.program);
	/* Rule 14: the CPU topology, read-only, for every image.  glibc
	 * (sysconf, get_nprocs), OpenBLAS and os.cpu_count read it on their own
	 * schedule, so a trace may miss it; refused, glibc falls back to
	 * /proc/stat and the run logs two denials of nothing the app chose. */
	add_allow(img, "/sys/devices/system/cpu", true, false);
	img->program_job = job_for(m, img->key.program);
}

static void finish_image(struct ctx *c, struct mf_image *img)
{
	if (c->m->opt.trust_sources)
		trust_sources(c, img);
	prune_allowed(img);
	prune_stat(img);
	check_utf8(c, img);
}

int mf_classify(struct mf_model *m, struct sg_err *err)
{
	struct ctx c = {.m = m};
	cleanup_free char *tmpdir = app_tmpdir(m);
	c.tmpdir = tmpdir;
	for (size_t i = 0; i < m->n_images; i++)
		classify_image(&c, m->images[i]);
	/* Widening reads what each image trusts and adds to it: before the
	 * clean-up below, and before anything is hashed. */
	int rc = mf_widen(m, err);
	for (size_t i = 0; i < m->n_images; i++)
		finish_image(&c, m->images[i]);
	if (rc == 0 && c.n_not_utf8)
		rc = sg_fail(err, "%zu path(s) are not valid UTF-8 and cannot be written to a JSON "
			     "manifest, e.g. %s (leave them out with --exclude DIR, or allow their "
			     "directory with --allow DIR)", c.n_not_utf8, c.not_utf8[0]);
	if (rc == 0 && trust_untouched(&c, err) < 0)
		rc = -1;
	if (c.n_vanished)
		qsort(c.vanished, c.n_vanished, sizeof(char *), cmp_strp);
	if (rc == 0)
		rc = report_vanished(&c, err);
	if (rc == 0)
		rc = hash_files(m->jobs, m->n_jobs, m->opt.threads, "hashing", err);
	if (rc == 0)
		rc = check_hashes(m, &c, err);
	const struct hash_job *pj;
	for (size_t i = 0; rc == 0 && i < m->n_images; i++)
		if ((pj = mf_job(m, m->images[i]->program_job))->status)
			rc = sg_fail(err, "cannot hash program %s: %s", pj->path, strerror(pj->status));
	for (size_t i = 0; i < c.n_vanished; i++)
		free(c.vanished[i]);
	free(c.vanished);
	for (size_t i = 0; i < c.n_not_utf8; i++)
		free(c.not_utf8[i]);
	free(c.not_utf8);
	return rc;
}
