/* bundle.c - load a bundle directory (docs/formats.md "Bundle") into memory.
 *
 * Everything read is checked before use: a bundle may have been edited by
 * hand or by an attacker, and the supervisor enforces what this returns.
 * Errors name the file and the JSON field ("manifests/x.json: trusted[2].sha256:
 * expected 64 hex digits"). */
#include "common/bundle.h"
#include "common/hash.h"
#include "common/image.h"
#include "common/json.h"
#include "common/path.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

#define MAX_JSON_BYTES (256u << 20)

/* Image ids become file names: keep them to a safe alphabet. */
static bool id_is_safe(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > 200 || id[0] == '.' || id[0] == '-')
		return false;
	for (const char *c = id; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '.' && *c != '_' && *c != '-')
			return false;
	return true;
}

/* Read and parse dir/rel; *bytes_sha gets the SHA-256 of the raw bytes. */
static json_t *load_json(const char *dir, const char *rel, unsigned char bytes_sha[32],
			 struct sg_err *err)
{
	cleanup_free char *path = xasprintf("%s/%s", dir, rel);
	cleanup_free char *data = NULL;
	size_t len;
	if (read_small_file(path, MAX_JSON_BYTES, &data, &len, err) < 0)
		return NULL;
	if (bytes_sha)
		sha256_buf(data, len, bytes_sha);
	json_error_t je;
	json_t *v = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
	if (!v) {
		sg_fail(err, "%s: bad JSON at line %d column %d: %s", path, je.line, je.column, je.text);
		return NULL;
	}
	if (!json_is_object(v)) {
		json_decref(v);
		sg_fail(err, "%s: expected a JSON object", path);
		return NULL;
	}
	return v;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_file(const void *a, const void *b)
{
	return strcmp(((const struct bundle_file *)a)->path, ((const struct bundle_file *)b)->path);
}

static int cmp_allow(const void *a, const void *b)
{
	return strcmp(((const struct bundle_allow *)a)->path, ((const struct bundle_allow *)b)->path);
}

static int cmp_image(const void *a, const void *b)
{
	return strcmp(((const struct bundle_image *)a)->id, ((const struct bundle_image *)b)->id);
}

/* Sort an array whose elements start with a char * and refuse duplicates. */
static int sort_unique(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *),
		       const char *file, const char *field, struct sg_err *err)
{
	if (n == 0)
		return 0;
	qsort(base, n, size, cmp);
	for (size_t i = 1; i < n; i++) {
		char *a = *(char **)((char *)base + (i - 1) * size);
		char *b = *(char **)((char *)base + i * size);
		if (strcmp(a, b) == 0)
			return sg_fail(err, "%s: %s: '%s' is listed twice", file, field, b);
	}
	return 0;
}

static int load_trusted(struct bundle_image *img, json_t *arr, const char *file, struct sg_err *err)
{
	size_t n = json_array_size(arr);
	img->trusted = xcalloc(n, sizeof(*img->trusted));
	for (size_t i = 0; i < n; i++) {
		json_t *e = json_array_get(arr, i), *v;
		char f[64];
		const char *path;
		struct bundle_file *bf = &img->trusted[i];
		snprintf(f, sizeof(f), "trusted[%zu]", i);
		if (!json_is_object(e))
			return sg_fail(err, "%s: %s: expected an object", file, f);
		snprintf(f, sizeof(f), "trusted[%zu].path", i);
		if (jreq(e, "path", JSON_STRING, file, f, &v, err) < 0 || jpath(v, file, f, &path, err) < 0)
			return -1;
		bf->path = xstrdup(path);
		img->n_trusted = i + 1;
		snprintf(f, sizeof(f), "trusted[%zu].size", i);
		if (juint(e, "size", file, f, &bf->size, err) < 0)
			return -1;
		snprintf(f, sizeof(f), "trusted[%zu].sha256", i);
		if (jreq(e, "sha256", JSON_STRING, file, f, &v, err) < 0 || jsha256(v, file, f, bf->sha256, err) < 0)
			return -1;
		snprintf(f, sizeof(f), "trusted[%zu].link", i);
		if (jbool(e, "link", file, f, false, &bf->link, err) < 0)
			return -1;
	}
	return sort_unique(img->trusted, n, sizeof(*img->trusted), cmp_file, file, "trusted", err);
}

static int load_allowed(struct bundle_image *img, json_t *arr, const char *file, struct sg_err *err)
{
	size_t n = json_array_size(arr);
	img->allowed = xcalloc(n, sizeof(*img->allowed));
	for (size_t i = 0; i < n; i++) {
		json_t *e = json_array_get(arr, i), *v;
		char f[64];
		const char *path;
		struct bundle_allow *ba = &img->allowed[i];
		snprintf(f, sizeof(f), "allowed[%zu]", i);
		if (!json_is_object(e))
			return sg_fail(err, "%s: %s: expected an object", file, f);
		snprintf(f, sizeof(f), "allowed[%zu].path", i);
		if (jreq(e, "path", JSON_STRING, file, f, &v, err) < 0 || jpath(v, file, f, &path, err) < 0)
			return -1;
		ba->path = xstrdup(path);
		img->n_allowed = i + 1;
		snprintf(f, sizeof(f), "allowed[%zu].tree", i);
		if (jbool(e, "tree", file, f, false, &ba->tree, err) < 0)
			return -1;
		snprintf(f, sizeof(f), "allowed[%zu].write", i);
		if (jbool(e, "write", file, f, false, &ba->write, err) < 0)
			return -1;
		snprintf(f, sizeof(f), "allowed[%zu].code", i);
		if (jbool(e, "code", file, f, false, &ba->code, err) < 0)
			return -1;
	}
	return sort_unique(img->allowed, n, sizeof(*img->allowed), cmp_allow, file, "allowed", err);
}

/* An array of paths ("stat", "list"). */
static int load_paths(json_t *m, const char *key, const char *file, char ***out, size_t *n_out,
		      struct sg_err *err)
{
	json_t *arr;
	*out = NULL;
	*n_out = 0;
	if (jopt(m, key, JSON_ARRAY, file, key, &arr, err) < 0)
		return -1;
	size_t n = json_array_size(arr);
	*out = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		char f[64];
		const char *path;
		snprintf(f, sizeof(f), "%s[%zu]", key, i);
		if (jpath(json_array_get(arr, i), file, f, &path, err) < 0)
			return -1;
		(*out)[i] = xstrdup(path);
		*n_out = i + 1;
	}
	return sort_unique(*out, n, sizeof(char *), cmp_str, file, key, err);
}

static int load_argv(struct bundle_image *img, json_t *m, const char *file, struct sg_err *err)
{
	json_t *arr;
	if (jreq(m, "argv", JSON_ARRAY, file, "argv", &arr, err) < 0)
		return -1;
	size_t n = json_array_size(arr);
	img->argv = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		json_t *v = json_array_get(arr, i);
		if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
			return sg_fail(err, "%s: argv[%zu]: expected a string without NUL", file, i);
		img->argv[i] = xstrdup(json_string_value(v));
	}
	return 0;
}

static int load_script(struct bundle_image *img, json_t *m, const char *file, struct sg_err *err)
{
	json_t *v;
	if (jopt(m, "script", JSON_STRING, file, "script", &v, err) < 0)
		return -1;
	if (!v)
		return 0;
	const char *s = json_string_value(v);
	if (strlen(s) != json_string_length(v))
		return sg_fail(err, "%s: script: contains a NUL character", file);
	if (strncmp(s, "-c:", 3) != 0 && strncmp(s, "-m:", 3) != 0 && !path_is_normal(s))
		return sg_fail(err, "%s: script: expected \"-c:TEXT\", \"-m:MODULE\" or an absolute "
			       "normal path, got '%s'", file, s);
	img->script = xstrdup(s);
	return 0;
}

static int load_cwd(struct bundle_image *img, json_t *m, const char *file, struct sg_err *err)
{
	json_t *v;
	const char *s;
	if (jopt(m, "cwd", JSON_STRING, file, "cwd", &v, err) < 0 ||
	    (v && jpath(v, file, "cwd", &s, err) < 0))
		return -1;
	if (v)
		img->cwd = xstrdup(s);
	return 0;
}

static int load_program(struct bundle_image *img, json_t *m, const char *file, struct sg_err *err)
{
	json_t *p, *v;
	const char *path;
	if (jreq(m, "program", JSON_OBJECT, file, "program", &p, err) < 0 ||
	    jreq(p, "path", JSON_STRING, file, "program.path", &v, err) < 0 ||
	    jpath(v, file, "program.path", &path, err) < 0)
		return -1;
	img->program = xstrdup(path);
	if (juint(p, "size", file, "program.size", &img->program_size, err) < 0 ||
	    jreq(p, "sha256", JSON_STRING, file, "program.sha256", &v, err) < 0 ||
	    jsha256(v, file, "program.sha256", img->program_sha256, err) < 0)
		return -1;
	return 0;
}

static int load_children(struct bundle_image *img, json_t *m, const char *file, struct sg_err *err)
{
	json_t *arr;
	if (jreq(m, "children", JSON_ARRAY, file, "children", &arr, err) < 0)
		return -1;
	size_t n = json_array_size(arr);
	img->children = xcalloc(n + 1, sizeof(char *));
	img->children_sha256 = xcalloc(n ? n : 1, sizeof(*img->children_sha256));
	img->children_hashed = xcalloc(n ? n : 1, sizeof(bool));
	for (size_t i = 0; i < n; i++) {
		json_t *e = json_array_get(arr, i), *v;
		char f[64];
		const char *id;
		snprintf(f, sizeof(f), "children[%zu]", i);
		if (!json_is_object(e))
			return sg_fail(err, "%s: %s: expected an object", file, f);
		snprintf(f, sizeof(f), "children[%zu].id", i);
		if (jstring(e, "id", file, f, &id, err) < 0)
			return -1;
		if (!id_is_safe(id))
			return sg_fail(err, "%s: %s: '%s' is not a valid image id", file, f, id);
		img->children[i] = xstrdup(id);
		img->n_children = i + 1;
		snprintf(f, sizeof(f), "children[%zu].sha256", i);
		if (jopt(e, "sha256", JSON_STRING, file, f, &v, err) < 0)
			return -1;
		if (v && jsha256(v, file, f, img->children_sha256[i], err) < 0)
			return -1;
		img->children_hashed[i] = v != NULL;
	}
	for (size_t i = 1; i < n; i++)
		for (size_t j = 0; j < i; j++)
			if (strcmp(img->children[i], img->children[j]) == 0)
				return sg_fail(err, "%s: children: '%s' is listed twice", file, img->children[i]);
	return 0;
}

static int load_manifest(const char *dir, struct bundle_image *img, struct sg_err *err)
{
	cleanup_free char *rel = xasprintf("manifests/%s.json", img->id);
	cleanup_free char *file = xasprintf("%s/%s", dir, rel);
	json_t *m = load_json(dir, rel, img->sha256, err);
	if (!m)
		return -1;
	int rc = -1;
	const char *fmt, *id;
	json_t *arr;
	if (jstring(m, "format", file, "format", &fmt, err) < 0)
		goto out;
	if (strcmp(fmt, "sgxpy-manifest/1") != 0) {
		sg_fail(err, "%s: format: '%s' is not sgxpy-manifest/1", file, fmt);
		goto out;
	}
	if (jstring(m, "id", file, "id", &id, err) < 0)
		goto out;
	if (strcmp(id, img->id) != 0) {
		sg_fail(err, "%s: id: '%s' does not match the file name", file, id);
		goto out;
	}
	if (load_program(img, m, file, err) < 0 || load_script(img, m, file, err) < 0 ||
	    load_cwd(img, m, file, err) < 0 || load_argv(img, m, file, err) < 0)
		goto out;
	if (jreq(m, "trusted", JSON_ARRAY, file, "trusted", &arr, err) < 0 ||
	    load_trusted(img, arr, file, err) < 0)
		goto out;
	if (jreq(m, "allowed", JSON_ARRAY, file, "allowed", &arr, err) < 0 ||
	    load_allowed(img, arr, file, err) < 0)
		goto out;
	if (load_paths(m, "stat", file, &img->stat, &img->n_stat, err) < 0 ||
	    load_paths(m, "list", file, &img->list, &img->n_list, err) < 0 ||
	    load_children(img, m, file, err) < 0)
		goto out;
	rc = 0;
out:
	json_decref(m);
	return rc;
}

/* bundle.json: format, root, images {id: sha256}, optional gramine hash. */
static int load_index(struct bundle *b, json_t *idx, const char *file, struct sg_err *err)
{
	const char *fmt, *root;
	json_t *images, *v;
	if (jstring(idx, "format", file, "format", &fmt, err) < 0)
		return -1;
	if (strcmp(fmt, "sgxpy-bundle/1") != 0)
		return sg_fail(err, "%s: format: '%s' is not sgxpy-bundle/1", file, fmt);
	if (jstring(idx, "root", file, "root", &root, err) < 0)
		return -1;
	if (!id_is_safe(root))
		return sg_fail(err, "%s: root: '%s' is not a valid image id", file, root);
	b->root = xstrdup(root);
	if (jreq(idx, "images", JSON_OBJECT, file, "images", &images, err) < 0)
		return -1;
	size_t n = json_object_size(images);
	if (n == 0)
		return sg_fail(err, "%s: images: empty", file);
	b->images = xcalloc(n, sizeof(*b->images));
	const char *id;
	json_object_foreach(images, id, v) {
		char f[256];
		snprintf(f, sizeof(f), "images.%.200s", id);
		if (!id_is_safe(id))
			return sg_fail(err, "%s: %s: not a valid image id", file, f);
		struct bundle_image *img = &b->images[b->n_images++];
		img->id = xstrdup(id);
		if (jsha256(v, file, f, img->listed_sha256, err) < 0)
			return -1;
	}
	qsort(b->images, b->n_images, sizeof(*b->images), cmp_image);
	if (!bundle_image_by_id(b, b->root))
		return sg_fail(err, "%s: root: '%s' is not in images", file, b->root);
	if (jopt(idx, "gramine", JSON_STRING, file, "gramine", &v, err) < 0)
		return -1;
	if (v) {
		if (jsha256(v, file, "gramine", b->gramine_sha256, err) < 0)
			return -1;
		b->has_gramine = true;
	}
	return 0;
}

/* Children must exist; with hash checks, their hashes must match too. */
static int check_links(struct bundle *b, int flags, struct sg_err *err)
{
	/* Own hashes first: an edited manifest is named, not its parent. */
	for (size_t i = 0; i < b->n_images && !(flags & BUNDLE_NO_HASH_CHECK); i++)
		if (memcmp(b->images[i].sha256, b->images[i].listed_sha256, 32) != 0)
			return sg_fail(err, "%s/manifests/%s.json: does not match its SHA-256 in "
				       "bundle.json (edited after the bundle was made?)", b->dir,
				       b->images[i].id);
	for (size_t i = 0; i < b->n_images; i++) {
		struct bundle_image *img = &b->images[i];
		for (size_t c = 0; c < img->n_children; c++) {
			const struct bundle_image *child = bundle_image_by_id(b, img->children[c]);
			if (!child)
				return sg_fail(err, "%s/manifests/%s.json: children[%zu].id: no image '%s' "
					       "in bundle.json", b->dir, img->id, c, img->children[c]);
			if (!(flags & BUNDLE_NO_HASH_CHECK) && img->children_hashed[c] &&
			    memcmp(img->children_sha256[c], child->sha256, 32) != 0)
				return sg_fail(err, "%s/manifests/%s.json: children[%zu].sha256: does "
					       "not match manifest '%s'", b->dir, img->id, c, child->id);
		}
	}
	return 0;
}

int bundle_load_flags(const char *dir, int flags, struct bundle **out, struct sg_err *err)
{
	struct bundle *b = xcalloc(1, sizeof(*b));
	b->dir = xstrdup(dir);
	cleanup_free char *file = xasprintf("%s/bundle.json", dir);
	json_t *idx = load_json(dir, "bundle.json", b->measurement, err);
	if (!idx) {
		if (access(dir, F_OK) < 0)
			sg_fail_errno(err, "cannot open bundle %s", dir);
		else if (access(file, F_OK) < 0)
			sg_fail(err, "%s: not an sgxpy bundle (no bundle.json)", dir);
		bundle_free(b);
		return -1;
	}
	int rc = load_index(b, idx, file, err);
	json_decref(idx);
	for (size_t i = 0; rc == 0 && i < b->n_images; i++)
		rc = load_manifest(dir, &b->images[i], err);
	if (rc == 0)
		rc = check_links(b, flags, err);
	if (rc < 0) {
		bundle_free(b);
		return -1;
	}
	*out = b;
	return 0;
}

int bundle_load(const char *dir, struct bundle **out, struct sg_err *err)
{
	return bundle_load_flags(dir, 0, out, err);
}

int bundle_measure(const char *dir, unsigned char out[32], struct sg_err *err)
{
	cleanup_free char *file = xasprintf("%s/bundle.json", dir);
	cleanup_free char *data = NULL;
	size_t len;
	if (read_small_file(file, MAX_JSON_BYTES, &data, &len, err) < 0)
		return -1;
	sha256_buf(data, len, out);
	return 0;
}

static void free_strv(char **v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; n == SIZE_MAX ? v[i] != NULL : i < n; i++)
		free(v[i]);
	free(v);
}

void bundle_free(struct bundle *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n_images; i++) {
		struct bundle_image *img = &b->images[i];
		free(img->id);
		free(img->program);
		free(img->script);
		free(img->cwd);
		free_strv(img->argv, SIZE_MAX);
		for (size_t j = 0; j < img->n_trusted; j++)
			free(img->trusted[j].path);
		free(img->trusted);
		for (size_t j = 0; j < img->n_allowed; j++)
			free(img->allowed[j].path);
		free(img->allowed);
		free_strv(img->stat, img->n_stat);
		free_strv(img->list, img->n_list);
		free_strv(img->children, img->n_children);
		free(img->children_sha256);
		free(img->children_hashed);
	}
	free(b->images);
	free(b->root);
	free(b->dir);
	free(b);
}

/* ---- lookups (hot in the supervisor: binary search on sorted arrays) ---- */

const struct bundle_image *bundle_image_by_id(const struct bundle *b, const char *id)
{
	struct bundle_image key = {.id = (char *)id};
	return bsearch(&key, b->images, b->n_images, sizeof(*b->images), cmp_image);
}

const struct bundle_file *image_trusted(const struct bundle_image *img, const char *path)
{
	struct bundle_file key = {.path = (char *)path};
	return bsearch(&key, img->trusted, img->n_trusted, sizeof(*img->trusted), cmp_file);
}

static const struct bundle_allow *find_allow(const struct bundle_image *img, const char *path)
{
	struct bundle_allow key = {.path = (char *)path};
	return bsearch(&key, img->allowed, img->n_allowed, sizeof(*img->allowed), cmp_allow);
}

const struct bundle_allow *image_allowed(const struct bundle_image *img, const char *path)
{
	if (!img->n_allowed || path[0] != '/')
		return NULL;
	const struct bundle_allow *a = find_allow(img, path);
	if (a)
		return a;
	/* The nearest tree rule above path wins: most specific first. */
	cleanup_free char *p = xstrdup(path);
	for (;;) {
		char *slash = strrchr(p, '/');
		if (!slash)
			return NULL;
		if (slash == p) {
			a = find_allow(img, "/");
			return a && a->tree ? a : NULL;
		}
		*slash = '\0';
		a = find_allow(img, p);
		if (a && a->tree)
			return a;
	}
}

bool image_allows_code(const struct bundle_image *img, const char *path)
{
	if (!img->n_allowed || path[0] != '/')
		return false;
	const struct bundle_allow *a = find_allow(img, path);
	if (a && a->code)
		return true;
	/* Any tree rule above path with "code", not only the nearest: a
	 * narrower rule for other files there must not hide it. */
	cleanup_free char *p = xstrdup(path);
	char *slash;
	while ((slash = strrchr(p, '/'))) {
		slash[slash == p ? 1 : 0] = '\0';
		a = find_allow(img, p);
		if (a && a->tree && a->code)
			return true;
		if (slash == p)
			return false;
	}
	return false;
}

static bool in_sorted(char **v, size_t n, const char *path)
{
	return n && bsearch(&path, v, n, sizeof(char *), cmp_str) != NULL;
}

bool image_may_stat(const struct bundle_image *img, const char *path)
{
	return in_sorted(img->stat, img->n_stat, path);
}

bool image_may_list(const struct bundle_image *img, const char *path)
{
	return in_sorted(img->list, img->n_list, path);
}

const struct bundle_image *image_child_for_exec(const struct bundle *b,
						const struct bundle_image *img,
						const char *program, char *const argv[],
						const char *cwd)
{
	struct image_key want;
	image_key_from_exec(program, argv, cwd, &want);
	const struct bundle_image *found = NULL;
	for (size_t i = 0; i < img->n_children && !found; i++) {
		const struct bundle_image *c = bundle_image_by_id(b, img->children[i]);
		if (!c)
			continue;
		struct image_key have = {.program = c->program, .script = c->script};
		if (image_key_equal(&want, &have))
			found = c;
	}
	image_key_free(&want);
	return found;
}
