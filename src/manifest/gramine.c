/* gramine.c - BUNDLE/gramine/app.manifest.template in Gramine 1.8/1.9 syntax.
 *
 * Gramine runs every process of an app from one manifest (graphene PR #2050),
 * so the export is the union of all images; the per-image cascade is enforced
 * by `sgxpy run` only.  Gramine's schema is closed: only Gramine keys appear.
 * The two Jinja placeholders `gramine.libos` and `gramine.runtimedir()` are
 * left for gramine-manifest; any '{' in our own strings is written as \u007B so
 * Jinja never sees a placeholder we did not mean. */
#include "manifest/manifest.h"
#include "common/path.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

struct buf {
	char *s;
	size_t len, cap;
};

static void put(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s;
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	size_t n = strlen(s);
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->s = xrealloc(b->s, b->cap);
	}
	memcpy(b->s + b->len, s, n + 1);
	b->len += n;
	free(s);
}

/* A TOML basic string. */
static void put_str(struct buf *b, const char *s)
{
	put(b, "\"");
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (*c == '"' || *c == '\\')
			put(b, "\\%c", *c);
		else if (*c < 0x20 || *c == 0x7f || *c == '{')
			put(b, "\\u%04X", *c);
		else
			put(b, "%c", *c);
	}
	put(b, "\"");
}

static void put_key(struct buf *b, const char *k)
{
	bool bare = *k != '\0';
	for (const char *c = k; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '_' && *c != '-')
			bare = false;
	if (bare)
		put(b, "%s", k);
	else
		put_str(b, k);
}

/* Everything the union needs, gathered once. */
struct uni {
	struct strmap trusted;  /* path -> (uintptr_t) job */
	struct strmap allowed;  /* path -> (uintptr_t) 1 file, 2 tree */
	struct strmap mounts;   /* mount path -> NULL */
	struct strmap tmpfs;    /* volatile roots used */
};

static const char *runtime_lib_mount(const char *path, char *out, size_t n)
{
	/* /lib/<dir>/...: mount /lib/<dir> over Gramine's /lib; /lib/<file>: none. */
	const char *rest = path + 5;
	const char *slash = strchr(rest, '/');
	if (!slash)
		return NULL;
	snprintf(out, n, "%.*s", (int)(slash - path), path);
	return out;
}

static void add_mount_for(struct uni *u, const char *path, const char *tmpdir)
{
	char dir[4096];
	const char *vol = rules_volatile_root(path, tmpdir);
	if (vol && strcmp(vol, path) == 0) {
		strmap_put(&u->tmpfs, vol, NULL); /* the run's own temp files */
		return;
	}
	if (vol) {
		/* Something that was there before the run (an app unpacked in /tmp):
		 * an identity mount of its top directory, on top of the tmpfs. */
		const char *end = strchrnul(path + strlen(vol) + 1, '/');
		snprintf(dir, sizeof(dir), "%.*s", (int)(end - path), path);
		strmap_put(&u->mounts, dir, NULL);
		return;
	}
	if (path_is_under(path, "/lib")) {
		if (runtime_lib_mount(path, dir, sizeof(dir)))
			strmap_put(&u->mounts, dir, NULL);
		return;
	}
	const char *slash = strchr(path + 1, '/');
	if (!slash)
		return; /* a file in / itself: reachable through no mount we make */
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	strmap_put(&u->mounts, dir, NULL);
}

/* Reached only through a tmpfs mount, so never the host file. */
static bool under_tmpfs(const struct uni *u, const char *path)
{
	strmap_foreach(&u->mounts, e) if (path_is_under(path, e->key)) return false;
	strmap_foreach(&u->tmpfs, e) if (path_is_under(path, e->key)) return true;
	return false;
}

static bool under_allowed(const struct uni *u, const char *path)
{
	if (strmap_get(&u->allowed, path))
		return true;
	strmap_foreach(&u->allowed, e) if ((uintptr_t)e->value == 2 && path_is_under(path, e->key)) return true;
	return false;
}

static void gather(const struct mf_model *m, struct uni *u, const char *tmpdir)
{
	for (size_t i = 0; i < m->n_images; i++) {
		const struct mf_image *img = m->images[i];
		strmap_foreach(&img->allowed, e) {
			const struct mf_allow *a = e->value;
			if (rules_is_pseudo(e->key))
				continue;
			add_mount_for(u, e->key, tmpdir);
			const char *vol = rules_volatile_root(e->key, tmpdir);
			if (!vol || strcmp(vol, e->key) != 0) /* temp dirs are tmpfs mounts */
				*strmap_put(&u->allowed, e->key, NULL) = (void *)(uintptr_t)(a->tree ? 2 : 1);
		}
		const struct strmap *sets[] = {&img->trusted, &img->gramine_stat};
		for (size_t s = 0; s < 2; s++) {
			strmap_foreach(sets[s], e) {
				const struct hash_job *j = mf_job(m, (size_t)(uintptr_t)e->value);
				if (j->status || rules_is_pseudo(e->key) || rules_gramine_provides(e->key))
					continue;
				add_mount_for(u, e->key, tmpdir);
				*strmap_put(&u->trusted, e->key, NULL) = e->value;
			}
		}
	}
	/* Writable wins in Gramine (allowed_files is checked first): keep the
	 * trusted list to what Gramine will really check. */
	struct strmap kept = {0};
	strmap_foreach(&u->trusted, e) {
		if (!under_tmpfs(u, e->key) && !under_allowed(u, e->key))
			*strmap_put(&kept, e->key, NULL) = e->value;
	}
	strmap_free(&u->trusted);
	u->trusted = kept;
}

static void put_head(struct buf *b, const struct mf_model *m)
{
	put(b, "# Gramine manifest template written by sgxpy %s from bundle image %s.\n",
	    SGXPY_VERSION, m->root->id);
	put(b, "# Build: gramine-manifest app.manifest.template app.manifest &&\n"
	       "#        gramine-sgx-sign --manifest app.manifest --output app.manifest.sgx\n"
	       "# Gramine enforces one manifest for every process of the app: this is the\n"
	       "# union of all of sgxpy's per-process manifests.  The per-process cascade\n"
	       "# (each child held to its own files) is enforced only by `sgxpy run`.\n\n");
	put(b, "libos.entrypoint = ");
	put_str(b, m->root->key.program);
	put(b, "\nloader.entrypoint.uri = \"file:{{ gramine.libos }}\"\n");
	put(b, "loader.log_level = \"error\"\n");
	put(b, "loader.argv = [");
	for (size_t i = 0; m->root->argv && m->root->argv[i]; i++) {
		put(b, i ? ", " : "");
		put_str(b, m->root->argv[i]);
	}
	put(b, "]\n");
}

/* loader.env: the fixed entries Gramine's Python example needs, then the
 * traced root environment filtered by rules_env_exported(). */
static void put_env(struct buf *b, const struct mf_model *m)
{
	json_t *env = m->root_env_json ? json_loads(m->root_env_json, 0, NULL) : NULL;
	struct strmap vars = {0};
	const char *k;
	json_t *v;
	json_object_foreach(env, k, v)
		if (json_is_string(v) && rules_env_exported(k))
			*strmap_put(&vars, k, NULL) = (void *)json_string_value(v);
	/* Gramine's glibc lives in /lib; NumPy's thread per core exhausts enclave
	 * memory; bytecode writes would fail on trusted files anyway. */
	*strmap_put(&vars, "LD_LIBRARY_PATH", NULL) = "/lib:/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu";
	*strmap_put(&vars, "PYTHONDONTWRITEBYTECODE", NULL) = "1";
	void **omp = strmap_put(&vars, "OMP_NUM_THREADS", NULL);
	if (!*omp)
		*omp = "4";
	const char **keys = strmap_sorted_keys(&vars);
	for (size_t i = 0; keys[i]; i++) {
		put(b, "loader.env.");
		put_key(b, keys[i]);
		put(b, " = ");
		put_str(b, *strmap_get(&vars, keys[i]));
		put(b, "\n");
	}
	free(keys);
	strmap_free(&vars);
	json_decref(env);
}

static void put_mounts(struct buf *b, const struct mf_model *m, const struct uni *u)
{
	put(b, "\nfs.start_dir = ");
	put_str(b, m->root->cwd);
	put(b, "\nfs.mounts = [\n");
	put(b, "  { type = \"chroot\", path = \"/lib\", uri = \"file:{{ gramine.runtimedir() }}\" },\n");
	/* Gramine applies mounts in order: temp dirs first, so that an app
	 * directory inside one is mounted on top of the tmpfs. */
	const char **keys = strmap_sorted_keys(&u->tmpfs);
	for (size_t i = 0; keys[i]; i++) {
		put(b, "  { type = \"tmpfs\", path = ");
		put_str(b, keys[i]);
		put(b, " },\n");
	}
	free(keys);
	keys = strmap_sorted_keys(&u->mounts);
	for (size_t i = 0; keys[i]; i++) {
		put(b, "  { type = \"chroot\", path = ");
		put_str(b, keys[i]);
		put(b, ", uri = ");
		cleanup_free char *uri = xasprintf("file:%s", keys[i]);
		put_str(b, uri);
		put(b, " },\n");
	}
	free(keys);
	put(b, "]\n");
}

static const char *size_str(long kb, char *out, size_t n)
{
	/* Enclave size must be a power of two; without EDMM it is committed up
	 * front in every process, so take twice the largest resident peak plus
	 * 128M for the LibOS itself, and at least 256M. */
	unsigned long long want = kb > 0 ? 2ull * (unsigned long long)kb * 1024 + (128ull << 20) : 0,
			   sz = 256ull << 20;
	while (sz < want)
		sz <<= 1;
	if (sz >= (1ull << 30))
		snprintf(out, n, "%lluG", sz >> 30);
	else
		snprintf(out, n, "%lluM", sz >> 20);
	return out;
}

static void put_sgx(struct buf *b, const struct mf_model *m, const struct uni *u)
{
	char sz[32];
	/* Gramine adds its own IPC, async and TLS helper threads. */
	int threads = m->max_threads + 4;
	put(b, "\nsgx.enclave_size = \"%s\"\n", size_str(m->max_peak_rss_kb, sz, sizeof(sz)));
	put(b, "sgx.max_threads = %d\n", threads < 4 ? 4 : threads);
	put(b, "sgx.file_check_policy = \"strict\"\n");
	put(b, "\nsgx.trusted_files = [\n");
	put(b, "  \"file:{{ gramine.libos }}\",\n");
	put(b, "  \"file:{{ gramine.runtimedir() }}/\",\n");
	const char **keys = strmap_sorted_keys(&u->trusted);
	char hexs[SHA256_HEX_LEN + 1];
	for (size_t i = 0; keys[i]; i++) {
		const struct hash_job *j = mf_job(m, (size_t)(uintptr_t)*strmap_get(&u->trusted, keys[i]));
		cleanup_free char *uri = xasprintf("file:%s", keys[i]);
		hex_encode(j->sha256, SHA256_LEN, hexs);
		put(b, "  { uri = ");
		put_str(b, uri);
		put(b, ", sha256 = \"%s\" },\n", hexs);
	}
	free(keys);
	put(b, "]\n\nsgx.allowed_files = [\n");
	keys = strmap_sorted_keys(&u->allowed);
	for (size_t i = 0; keys[i]; i++) {
		bool tree = (uintptr_t)*strmap_get(&u->allowed, keys[i]) == 2;
		cleanup_free char *uri = xasprintf("file:%s%s", keys[i], tree && strcmp(keys[i], "/") ? "/" : "");
		put(b, "  ");
		put_str(b, uri);
		put(b, ",\n");
	}
	free(keys);
	put(b, "]\n");
}

static char *tmpdir_of(const struct mf_model *m)
{
	json_t *env = m->root_env_json ? json_loads(m->root_env_json, 0, NULL) : NULL;
	const char *v = json_string_value(json_object_get(env, "TMPDIR"));
	char *out = v && path_is_normal(v) && strcmp(v, "/") ? xstrdup(v) : NULL;
	json_decref(env);
	return out;
}

char *mf_gramine_template(const struct mf_model *m, size_t *len, struct sg_err *err)
{
	(void)err;
	struct uni u = {0};
	cleanup_free char *tmpdir = tmpdir_of(m);
	gather(m, &u, tmpdir);
	struct buf b = {0};
	put_head(&b, m);
	put_env(&b, m);
	put_mounts(&b, m, &u);
	put_sgx(&b, m, &u);
	strmap_free(&u.trusted);
	strmap_free(&u.allowed);
	strmap_free(&u.mounts);
	strmap_free(&u.tmpfs);
	*len = b.len;
	return b.s;
}
