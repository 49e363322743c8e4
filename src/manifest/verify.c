/* verify.c - see verify.h.  One output line per mismatch, "PATH: WHAT", where
 * WHAT lists what differs: missing, type, size, content (like rpm -V). */
#include "manifest/verify.h"
#include "common/bundle.h"
#include "common/hash.h"
#include "common/strmap.h"
#include "manifest/sign.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

static long check_manifests(const struct bundle *b, FILE *out)
{
	long bad = 0;
	for (size_t i = 0; i < b->n_images; i++) {
		const struct bundle_image *img = &b->images[i];
		if (memcmp(img->sha256, img->listed_sha256, 32) != 0) {
			fprintf(out, "%s/manifests/%s.json: content (differs from its hash in bundle.json)\n",
				b->dir, img->id);
			bad++;
		}
		for (size_t c = 0; c < img->n_children; c++) {
			const struct bundle_image *child = bundle_image_by_id(b, img->children[c]);
			if (img->children_hashed[c] && memcmp(img->children_sha256[c], child->sha256, 32)) {
				fprintf(out, "%s/manifests/%s.json: child %s (manifest differs from the "
					"hash its parent gives)\n", b->dir, img->id, child->id);
				bad++;
			}
		}
	}
	return bad;
}

static long check_gramine(const struct bundle *b, FILE *out)
{
	if (!b->has_gramine)
		return 0;
	cleanup_free char *path = xasprintf("%s/gramine/app.manifest.template", b->dir);
	unsigned char h[32];
	struct sg_err e;
	if (sha256_path(path, h, NULL, &e) < 0) {
		fprintf(out, "%s: missing\n", path);
		return 1;
	}
	if (memcmp(h, b->gramine_sha256, 32) != 0) {
		fprintf(out, "%s: content\n", path);
		return 1;
	}
	return 0;
}

/* What lstat says against what the bundle recorded. */
static const char *type_problem(const struct bundle_file *f, const struct stat *lst)
{
	if (S_ISLNK(lst->st_mode) && !f->link)
		return "type (now a symbolic link)";
	if (!S_ISLNK(lst->st_mode) && f->link)
		return "type (no longer a symbolic link)";
	return NULL;
}

static void describe(FILE *out, const struct bundle_file *f, const struct hash_job *j)
{
	struct stat lst;
	if (lstat(f->path, &lst) < 0) {
		fprintf(out, "%s: missing\n", f->path);
		return;
	}
	const char *tp = type_problem(f, &lst);
	if (j->status == ENOENT) {
		fprintf(out, "%s: %s%smissing target\n", f->path, tp ? tp : "", tp ? ", " : "");
		return;
	}
	if (j->status) {
		fprintf(out, "%s: %s%s%s\n", f->path, tp ? tp : "", tp ? ", " : "",
			j->status == EISDIR || j->status == EINVAL ? "type (not a regular file)" : strerror(j->status));
		return;
	}
	char what[256] = "";
	if (tp)
		snprintf(what, sizeof(what), "%s", tp);
	if (j->size != f->size)
		snprintf(what + strlen(what), sizeof(what) - strlen(what), "%ssize %llu -> %llu",
			 what[0] ? ", " : "", (unsigned long long)f->size, (unsigned long long)j->size);
	if (memcmp(j->sha256, f->sha256, 32) != 0)
		snprintf(what + strlen(what), sizeof(what) - strlen(what), "%scontent", what[0] ? ", " : "");
	if (what[0])
		fprintf(out, "%s: %s\n", f->path, what);
}

static int cmp_path(const void *a, const void *b)
{
	return strcmp((*(const struct bundle_file *const *)a)->path,
		      (*(const struct bundle_file *const *)b)->path);
}

/* Every trusted file of every image, once per path: hashed in parallel. */
static long check_files(const struct bundle *b, FILE *out, size_t *n_files, struct sg_err *err)
{
	struct strmap seen = {0};
	const struct bundle_file **files = NULL;
	size_t n = 0, cap = 0;
	for (size_t i = 0; i < b->n_images; i++) {
		for (size_t t = 0; t < b->images[i].n_trusted; t++) {
			const struct bundle_file *f = &b->images[i].trusted[t];
			int added;
			strmap_put(&seen, f->path, &added);
			if (!added)
				continue;
			grow_array(&files, &cap, n, sizeof(*files));
			files[n++] = f;
		}
	}
	strmap_free(&seen);
	if (n)
		qsort(files, n, sizeof(*files), cmp_path);
	struct hash_job *jobs = xcalloc(n ? n : 1, sizeof(*jobs));
	for (size_t i = 0; i < n; i++) {
		jobs[i].path = files[i]->path;
		jobs[i].sized = true;
		jobs[i].expect_size = files[i]->size;
	}
	long bad = -1;
	if (hash_files(jobs, n, 0, "verifying", err) == 0) {
		bad = 0;
		for (size_t i = 0; i < n; i++) {
			struct stat lst;
			bool differs = jobs[i].status || jobs[i].size != files[i]->size ||
				       memcmp(jobs[i].sha256, files[i]->sha256, 32) != 0 ||
				       lstat(files[i]->path, &lst) < 0 || type_problem(files[i], &lst);
			if (differs) {
				describe(out, files[i], &jobs[i]);
				bad++;
			}
		}
	}
	*n_files = n;
	free(jobs);
	free(files);
	return bad;
}

long verify_bundle(const char *dir, const char *key, FILE *out, size_t *n_files,
		   struct sg_err *err)
{
	struct bundle *b;
	if (bundle_load_flags(dir, BUNDLE_NO_HASH_CHECK, &b, err) < 0)
		return -1;
	long bad = check_manifests(b, out) + check_gramine(b, out);
	long files = check_files(b, out, n_files, err);
	unsigned char measurement[32]; /* of the bundle.json just checked */
	memcpy(measurement, b->measurement, sizeof(measurement));
	bundle_free(b);
	if (files < 0)
		return -1;
	bad += files;
	if (key) {
		struct sg_err se;
		int rc = sign_check(dir, measurement, key, &se);
		if (rc < 0) {
			*err = se;
			return -1;
		}
		if (rc > 0) {
			fprintf(out, "%s\n", se.msg);
			bad++;
		}
	}
	return bad;
}
