/* build.c - read traces and group their processes into process images.
 *
 * A 'root' or 'exec' process starts an image (its exe, argv and cwd give the
 * key, image.c); a 'fork' process belongs to its parent's image.  Each file
 * row is OR-ed into its image's access map, under the path as named and,
 * when the kernel resolved a symlink, under the resolved target too. */
#include "manifest/manifest.h"
#include "common/path.h"
#include "common/store.h"

#include <errno.h>
#include <jansson.h>
#include <string.h>

struct proc_rec {
	int run, id, parent;
	bool is_fork;
	struct mf_image *img;
};

struct reader {
	struct mf_model *m;
	const char *trace;
	struct proc_rec *procs;
	size_t n, cap;
	int first_run;
	struct sg_err *err;
};

static int cmp_proc(const void *a, const void *b)
{
	const struct proc_rec *x = a, *y = b;
	if (x->run != y->run)
		return x->run < y->run ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

static struct proc_rec *find_proc(struct reader *r, int run, int id)
{
	struct proc_rec key = {.run = run, .id = id};
	return bsearch(&key, r->procs, r->n, sizeof(*r->procs), cmp_proc);
}

/* argv JSON -> NULL-terminated vector, or NULL if it is not an array of strings. */
static char **parse_argv(const char *json)
{
	json_t *a = json ? json_loads(json, 0, NULL) : NULL;
	if (!json_is_array(a)) {
		json_decref(a);
		return NULL;
	}
	size_t n = json_array_size(a);
	char **v = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		json_t *s = json_array_get(a, i);
		if (!json_is_string(s)) {
			for (size_t j = 0; j < i; j++)
				free(v[j]);
			free(v);
			json_decref(a);
			return NULL;
		}
		v[i] = xstrdup(json_string_value(s));
	}
	json_decref(a);
	return v;
}

static void free_argv(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* The image for key, created on first sight (the key is consumed). */
static struct mf_image *image_for(struct mf_model *m, struct image_key *key, char **argv,
				  const char *cwd, struct sg_err *err, const char *trace)
{
	char *id = image_id(key);
	void **slot = strmap_put(&m->by_id, id, NULL);
	struct mf_image *img = *slot;
	if (img) {
		free(id);
		if (!image_key_equal(&img->key, key)) {
			sg_fail(err, "%s: two different programs share image id '%s'", trace, img->id);
			image_key_free(key);
			free_argv(argv);
			return NULL;
		}
		image_key_free(key);
		free_argv(argv);
		return img;
	}
	img = xcalloc(1, sizeof(*img));
	img->key = *key;
	img->id = id;
	img->argv = argv;
	img->cwd = xstrdup(cwd ? cwd : "/");
	img->peak_rss_kb = -1;
	*slot = img;
	grow_array(&m->images, &m->cap_images, m->n_images, sizeof(*m->images));
	m->images[m->n_images++] = img;
	return img;
}

static int on_proc(void *ctx, int run, const struct store_proc *p)
{
	struct reader *r = ctx;
	struct mf_model *m = r->m;
	bool is_fork = strcmp(p->kind, "fork") == 0;
	if (!is_fork && strcmp(p->kind, "root") != 0 && strcmp(p->kind, "exec") != 0)
		return sg_fail(r->err, "%s: damaged trace: process %d of run %d has kind '%s'", r->trace,
			       p->id, run, p->kind);
	grow_array(&r->procs, &r->cap, r->n, sizeof(*r->procs));
	struct proc_rec *rec = &r->procs[r->n++];
	*rec = (struct proc_rec){.run = run, .id = p->id, .parent = p->parent, .is_fork = is_fork};
	if (p->threads > m->max_threads)
		m->max_threads = p->threads;
	if (p->peak_rss_kb > m->max_peak_rss_kb)
		m->max_peak_rss_kb = p->peak_rss_kb;
	if (is_fork)
		return 0;
	char **argv = parse_argv(p->argv_json);
	if (!argv)
		return sg_fail(r->err, "%s: damaged trace: process %d of run %d: argv is not a JSON "
			       "array of strings", r->trace, p->id, run);
	const char *exe = p->exe ? p->exe : argv[0];
	if (!exe || !p->cwd || p->cwd[0] != '/' || (exe[0] != '/' && !p->exe)) {
		free_argv(argv);
		return sg_fail(r->err, "%s: damaged trace: process %d of run %d has no absolute exe or cwd",
			       r->trace, p->id, run);
	}
	struct image_key key;
	image_key_from_exec(exe, argv, p->cwd, &key);
	rec->img = image_for(m, &key, argv, p->cwd, r->err, r->trace);
	if (!rec->img)
		return -1;
	if (p->threads > rec->img->threads)
		rec->img->threads = p->threads;
	if (p->peak_rss_kb > rec->img->peak_rss_kb)
		rec->img->peak_rss_kb = p->peak_rss_kb;
	if (strcmp(p->kind, "root") == 0) {
		if (!m->root) {
			m->root = rec->img;
			m->root_env_json = p->env_json ? xstrdup(p->env_json) : NULL;
		} else if (m->root != rec->img) {
			return sg_fail(r->err, "%s: run %d starts '%s' but an earlier run started '%s': "
				       "traces to merge must run the same program", r->trace, run,
				       rec->img->id, m->root->id);
		}
	}
	return 0;
}

/* Give fork processes their parent's image and record exec edges.  Parents
 * normally precede children; the loop bound guards a damaged parent chain. */
static int link_procs(struct reader *r)
{
	if (r->n)
		qsort(r->procs, r->n, sizeof(*r->procs), cmp_proc);
	for (size_t i = 0; i < r->n; i++) {
		struct proc_rec *p = &r->procs[i];
		struct proc_rec *q = p;
		for (size_t hops = 0; !q->img; hops++) {
			q = q->parent && hops < r->n ? find_proc(r, q->run, q->parent) : NULL;
			if (!q)
				return sg_fail(r->err, "%s: damaged trace: process %d of run %d has no "
					       "exec'd ancestor", r->trace, p->id, p->run);
		}
		p->img = q->img;
	}
	for (size_t i = 0; i < r->n; i++) {
		struct proc_rec *p = &r->procs[i];
		if (p->is_fork || !p->parent)
			continue;
		struct proc_rec *q = find_proc(r, p->run, p->parent);
		if (!q)
			return sg_fail(r->err, "%s: damaged trace: process %d of run %d names a missing "
				       "parent %d", r->trace, p->id, p->run, p->parent);
		*strmap_put(&q->img->children, p->img->id, NULL) = p->img;
	}
	return 0;
}

static const struct {
	const char *mode;
	int flag;
} modes[] = {
	{"read", ACC_READ}, {"write", ACC_WRITE}, {"create", ACC_CREATE}, {"remove", ACC_REMOVE},
	{"exec", ACC_EXEC}, {"map", ACC_MAP}, {"stat", ACC_STAT}, {"readlink", ACC_READLINK},
	{"symlink", ACC_SYMLINK}, {"list", ACC_LIST}, {"chdir", ACC_CHDIR}, {"syscall", 0},
};

static void add_access(struct mf_model *m, struct mf_image *img, const char *path, int flags)
{
	void **slot = strmap_put(&img->access, path, NULL);
	*slot = (void *)((uintptr_t)*slot | (uintptr_t)flags);
	if (flags & ACC_MODIFY) {
		void **w = strmap_put(&m->tree_written, path, NULL);
		*w = (void *)((uintptr_t)*w | (uintptr_t)(flags & ACC_MODIFY));
	}
}

static int on_file(void *ctx, int run, const struct store_file *f)
{
	struct reader *r = ctx;
	int flag = -1;
	for (size_t i = 0; i < ARRAY_SIZE(modes); i++)
		if (strcmp(f->mode, modes[i].mode) == 0)
			flag = modes[i].flag;
	if (flag < 0)
		return sg_fail(r->err, "%s: damaged trace: unknown access mode '%s' for %s", r->trace,
			       f->mode, f->path);
	if (flag == 0) {
		warn_msg("%s: the app used %s, which goes around path checks", r->trace, f->path);
		return 0;
	}
	if (!path_is_normal(f->path))
		return sg_fail(r->err, "%s: damaged trace: path '%s' is not absolute and normal",
			       r->trace, f->path);
	struct proc_rec *p = find_proc(r, run, f->proc);
	if (!p)
		return sg_fail(r->err, "%s: damaged trace: file %s names a missing process %d",
			       r->trace, f->path, f->proc);
	if (f->err > 0) {
		/* Failed probes (ENOENT, ENOTDIR) are kept so the app meets the same
		 * "no such file" again; other failures (EACCES, EEXIST) grant nothing. */
		if (f->err == ENOENT || f->err == ENOTDIR)
			add_access(r->m, p->img, f->path, ACC_PROBE);
		return 0;
	}
	add_access(r->m, p->img, f->path, flag);
	/* The resolved target of a followed symlink is used too (Gramine and the
	 * supervisor see whichever name the app uses); a symlink row's target is
	 * link text, not a path used. */
	if (f->target && flag != ACC_SYMLINK && path_is_normal(f->target) && strcmp(f->target, f->path))
		add_access(r->m, p->img, f->target, flag | ACC_ALIAS);
	return 0;
}

static int hash_trace(struct mf_model *m, const char *path, struct sg_err *err)
{
	m->traces = xrealloc(m->traces, (m->n_traces + 1) * sizeof(*m->traces));
	struct mf_trace *t = &m->traces[m->n_traces];
	if (sha256_path(path, t->sha256, NULL, err) < 0)
		return -1;
	char *abs = realpath(path, NULL); /* exists: it was just read */
	t->path = abs ? abs : xstrdup(path);
	m->n_traces++;
	return 0;
}

static int read_trace(struct mf_model *m, const char *path, struct sg_err *err)
{
	struct store st;
	if (store_open_read(&st, path, err) < 0)
		return -1;
	struct reader r = {.m = m, .trace = path, .err = err};
	int rc = store_foreach_proc(&st, on_proc, &r, err);
	if (rc == 0 && r.n == 0)
		rc = sg_fail(err, "%s: the trace records no process", path);
	if (rc == 0)
		rc = link_procs(&r);
	if (rc == 0)
		rc = store_foreach_file(&st, on_file, &r, err);
	free(r.procs);
	store_close(&st);
	if (rc == 0)
		rc = hash_trace(m, path, err);
	return rc;
}

static int cmp_image_id(const void *a, const void *b)
{
	return strcmp((*(struct mf_image *const *)a)->id, (*(struct mf_image *const *)b)->id);
}

/* Add X.py for every read __pycache__/X.*.pyc: CPython stats the source to
 * validate the pyc, and the tracer may not trap stat calls. */
static void infer_pyc_sources(struct mf_image *img)
{
	const char **keys = strmap_sorted_keys(&img->access);
	for (size_t i = 0; keys[i]; i++) {
		uintptr_t fl = (uintptr_t)*strmap_get(&img->access, keys[i]);
		if (!(fl & ACC_READ))
			continue;
		cleanup_free char *src = rules_pyc_source(keys[i]);
		if (src && access(src, F_OK) == 0) {
			void **slot = strmap_put(&img->access, src, NULL);
			*slot = (void *)((uintptr_t)*slot | ACC_PYC_STAT);
		}
	}
	free(keys);
}

int mf_build(struct mf_model *m, char **traces, size_t n, struct sg_err *err)
{
	for (size_t i = 0; i < n; i++) {
		/* The rows carry errors in store.c's wording; name the trace file. */
		struct sg_err e;
		if (read_trace(m, traces[i], &e) < 0) {
			if (strstr(e.msg, traces[i]))
				*err = e;
			else
				sg_fail(err, "%s: %s", traces[i], e.msg);
			return -1;
		}
	}
	if (!m->root)
		return sg_fail(err, "%s: the trace has no root process", traces[0]);
	qsort(m->images, m->n_images, sizeof(*m->images), cmp_image_id);
	for (size_t i = 0; i < m->n_images; i++)
		infer_pyc_sources(m->images[i]);
	return 0;
}

void mf_model_free(struct mf_model *m)
{
	for (size_t i = 0; i < m->n_images; i++) {
		struct mf_image *img = m->images[i];
		image_key_free(&img->key);
		free(img->id);
		free_argv(img->argv);
		free(img->cwd);
		strmap_free(&img->access);
		strmap_free(&img->children);
		strmap_free(&img->trusted);
		strmap_free_values(&img->allowed);
		strmap_free(&img->stat);
		strmap_free(&img->list);
		strmap_free(&img->gramine_stat);
		free(img->json);
		free(img);
	}
	free(m->images);
	strmap_free(&m->by_id);
	strmap_free(&m->tree_written);
	for (size_t i = 0; i < m->n_traces; i++)
		free(m->traces[i].path);
	free(m->traces);
	free(m->root_env_json);
	for (size_t i = 0; i < m->n_jobs; i++)
		free((char *)m->jobs[i].path);
	free(m->jobs);
	strmap_free(&m->job_of);
	for (size_t i = 0; i < m->n_widened; i++)
		free(m->widened[i].name);
	free(m->widened);
	memset(m, 0, sizeof(*m));
}
