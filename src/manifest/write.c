/* write.c - canonical manifests, their Merkle hashes, and the bundle
 * directory, written into a temporary directory and renamed into place.
 *
 * A manifest names each child by the SHA-256 of the child's manifest, so the
 * children must be serialised first: images are processed by strongly
 * connected components of the exec graph (Tarjan), callees first.  Inside a
 * cycle (python -> sh -> python) no order exists; those edges carry a null
 * hash and are covered by bundle.json, which lists every manifest's hash. */
#include "manifest/manifest.h"
#include "common/json.h"
#include "common/utf8.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <linux/fs.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>

/* ---- Tarjan's SCC over images (ids index m->images) ---- */

struct tarjan {
	struct mf_model *m;
	int *index, *low, *stack;
	bool *on;
	int next, sp, scc;
	struct mf_image **order; /* images in completion order: callees first */
	size_t n_order;
};

static size_t image_index(const struct mf_model *m, const struct mf_image *img)
{
	for (size_t i = 0; i < m->n_images; i++)
		if (m->images[i] == img)
			return i;
	return SIZE_MAX;
}

/* Recursion depth is bounded by the number of images, which is small. */
static void strongconnect(struct tarjan *t, size_t v)
{
	struct mf_model *m = t->m;
	t->index[v] = t->low[v] = t->next++;
	t->stack[t->sp++] = (int)v;
	t->on[v] = true;
	const char **kids = strmap_sorted_keys(&m->images[v]->children);
	for (size_t k = 0; kids[k]; k++) {
		size_t w = image_index(m, *strmap_get(&m->images[v]->children, kids[k]));
		if (t->index[w] < 0) {
			strongconnect(t, w);
			if (t->low[w] < t->low[v])
				t->low[v] = t->low[w];
		} else if (t->on[w] && t->index[w] < t->low[v]) {
			t->low[v] = t->index[w];
		}
	}
	free(kids);
	if (t->low[v] != t->index[v])
		return;
	int w;
	do {
		w = t->stack[--t->sp];
		t->on[w] = false;
		m->images[w]->scc = t->scc;
		t->order[t->n_order++] = m->images[w];
	} while ((size_t)w != v);
	t->scc++;
}

static struct mf_image **merkle_order(struct mf_model *m)
{
	size_t n = m->n_images;
	struct tarjan t = {.m = m};
	t.index = xmalloc(n * sizeof(int));
	t.low = xmalloc(n * sizeof(int));
	t.stack = xmalloc(n * sizeof(int));
	t.on = xcalloc(n, sizeof(bool));
	t.order = xmalloc(n * sizeof(*t.order));
	for (size_t i = 0; i < n; i++)
		t.index[i] = -1;
	for (size_t i = 0; i < n; i++)
		if (t.index[i] < 0)
			strongconnect(&t, i);
	free(t.index);
	free(t.low);
	free(t.stack);
	free(t.on);
	return t.order;
}

/* ---- manifest JSON ---- */

static char hexbuf[SHA256_HEX_LEN + 1];

static const char *hex(const unsigned char h[SHA256_LEN])
{
	hex_encode(h, SHA256_LEN, hexbuf);
	return hexbuf;
}

/* jansson refuses strings that are not UTF-8; say which path. */
static json_t *jstr(const char *s, struct sg_err *err)
{
	json_t *v = json_string(s);
	if (!v)
		sg_fail(err, "'%s' is not valid UTF-8 and cannot be written to a manifest", s);
	return v;
}

#define SET_STR(obj, key, s, err)                      \
	do {                                           \
		json_t *v_ = jstr((s), (err));         \
		if (!v_)                               \
			return -1;                     \
		json_object_set_new((obj), (key), v_); \
	} while (0)

static int add_file_entry(json_t *arr, const char *path, const struct hash_job *j,
			  struct sg_err *err)
{
	json_t *o = json_object();
	json_array_append_new(arr, o);
	SET_STR(o, "path", path, err);
	json_object_set_new(o, "size", json_integer((json_int_t)j->size));
	json_object_set_new(o, "sha256", json_string(hex(j->sha256)));
	struct stat st;
	if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
		json_object_set_new(o, "link", json_true());
	return 0;
}

static int add_path_set(json_t *man, const char *key, const struct strmap *set, struct sg_err *err)
{
	json_t *arr = json_array();
	json_object_set_new(man, key, arr);
	const char **keys = strmap_sorted_keys(set);
	int rc = 0;
	for (size_t i = 0; keys[i] && rc == 0; i++) {
		json_t *v = jstr(keys[i], err);
		if (!v)
			rc = -1;
		else
			json_array_append_new(arr, v);
	}
	free(keys);
	return rc;
}

static int add_trusted(const struct mf_model *m, json_t *man, const struct mf_image *img,
		       struct sg_err *err)
{
	json_t *arr = json_array();
	json_object_set_new(man, "trusted", arr);
	const char **keys = strmap_sorted_keys(&img->trusted);
	int rc = 0;
	for (size_t i = 0; keys[i] && rc == 0; i++)
		rc = add_file_entry(arr, keys[i], mf_job(m, (size_t)(uintptr_t)*strmap_get(&img->trusted, keys[i])), err);
	free(keys);
	return rc;
}

static int add_allowed(json_t *man, const struct mf_image *img, struct sg_err *err)
{
	json_t *arr = json_array();
	json_object_set_new(man, "allowed", arr);
	const char **keys = strmap_sorted_keys(&img->allowed);
	int rc = 0;
	for (size_t i = 0; keys[i] && rc == 0; i++) {
		const struct mf_allow *a = *strmap_get(&img->allowed, keys[i]);
		json_t *o = json_object(), *p = jstr(keys[i], err);
		json_array_append_new(arr, o);
		if (!p) {
			rc = -1;
			break;
		}
		json_object_set_new(o, "path", p);
		json_object_set_new(o, "tree", json_boolean(a->tree));
		json_object_set_new(o, "write", json_boolean(a->write));
		if (a->code) /* only when set: older bundles stay byte-identical */
			json_object_set_new(o, "code", json_true());
	}
	free(keys);
	return rc;
}

static int add_head(const struct mf_model *m, json_t *man, const struct mf_image *img,
		    struct sg_err *err)
{
	json_object_set_new(man, "format", json_string("sgxpy-manifest/1"));
	json_object_set_new(man, "id", json_string(img->id));
	const struct hash_job *pj = mf_job(m, img->program_job);
	json_t *prog = json_object();
	json_object_set_new(man, "program", prog);
	SET_STR(prog, "path", img->key.program, err);
	json_object_set_new(prog, "size", json_integer((json_int_t)pj->size));
	json_object_set_new(prog, "sha256", json_string(hex(pj->sha256)));
	if (img->key.script)
		SET_STR(man, "script", img->key.script, err);
	else
		json_object_set_new(man, "script", json_null());
	/* The root's cwd is pinned: relative paths name files only there, and
	 * the attacker may choose where sgxpy run starts.  (A child's cwd is its
	 * parent's choice, often a fresh temp dir.) */
	if (img == m->root && img->cwd)
		SET_STR(man, "cwd", img->cwd, err);
	json_t *argv = json_array();
	json_object_set_new(man, "argv", argv);
	for (size_t i = 0; img->argv && img->argv[i]; i++) {
		json_t *v = jstr(img->argv[i], err);
		if (!v)
			return -1;
		json_array_append_new(argv, v);
	}
	json_object_set_new(man, "threads", json_integer(img->threads));
	return 0;
}

static json_t *children_json(const struct mf_image *img)
{
	json_t *arr = json_array();
	const char **kids = strmap_sorted_keys(&img->children);
	for (size_t k = 0; kids[k]; k++) {
		const struct mf_image *c = *strmap_get(&img->children, kids[k]);
		json_t *o = json_object();
		json_object_set_new(o, "id", json_string(c->id));
		/* Same component = a cycle: no hash can be known (see top of file). */
		json_object_set_new(o, "sha256", c->scc == img->scc || !c->hashed
						 ? json_null() : json_string(hex(c->sha256)));
		json_array_append_new(arr, o);
	}
	free(kids);
	return arr;
}

static int serialise_image(const struct mf_model *m, struct mf_image *img, struct sg_err *err)
{
	json_t *man = json_object();
	int rc = add_head(m, man, img, err);
	if (rc == 0)
		rc = add_trusted(m, man, img, err);
	if (rc == 0)
		rc = add_allowed(man, img, err);
	if (rc == 0)
		rc = add_path_set(man, "stat", &img->stat, err);
	if (rc == 0)
		rc = add_path_set(man, "list", &img->list, err);
	if (rc == 0) {
		json_object_set_new(man, "children", children_json(img));
		img->json = json_canonical(man, &img->json_len);
		if (!img->json)
			rc = sg_fail(err, "cannot encode the manifest of %s", img->id);
	}
	json_decref(man);
	if (rc == 0) {
		sha256_buf(img->json, img->json_len, img->sha256);
		img->hashed = true;
	} else {
		char msg[sizeof(err->msg)];
		snprintf(msg, sizeof(msg), "%s", err->msg);
		sg_fail(err, "image %s: %s", img->id, msg);
	}
	return rc;
}

static json_t *strv_json(char **v, size_t n)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_string(v[i]));
	return arr;
}

/* --widen-package names, sorted and each once: the measurement covers the
 * choice, not how the command line spelled it. */
static json_t *widen_json(const struct mf_options *o)
{
	struct strmap set = {0};
	for (size_t i = 0; i < o->n_widen; i++)
		strmap_put(&set, o->widen[i], NULL);
	const char **names = strmap_sorted_keys(&set);
	json_t *arr = json_array();
	for (size_t i = 0; names[i]; i++)
		json_array_append_new(arr, json_string(names[i]));
	free(names);
	strmap_free(&set);
	return arr;
}

static char *index_json(const struct mf_model *m, const unsigned char gramine_sha[SHA256_LEN],
			size_t *len)
{
	json_t *idx = json_object();
	json_object_set_new(idx, "format", json_string("sgxpy-bundle/1"));
	json_object_set_new(idx, "root", json_string(m->root->id));
	json_t *images = json_object();
	json_object_set_new(idx, "images", images);
	for (size_t i = 0; i < m->n_images; i++)
		json_object_set_new(images, m->images[i]->id, json_string(hex(m->images[i]->sha256)));
	json_t *opt = json_object();
	json_object_set_new(idx, "options", opt);
	json_object_set_new(opt, "allow", strv_json(m->opt.allow, m->opt.n_allow));
	json_object_set_new(opt, "trust", strv_json(m->opt.trust, m->opt.n_trust));
	json_object_set_new(opt, "exclude", strv_json(m->opt.exclude, m->opt.n_exclude));
	if (m->opt.trust_sources) /* only when set: older bundles stay byte-identical */
		json_object_set_new(opt, "trust_sources", json_true());
	if (m->opt.n_widen) /* likewise */
		json_object_set_new(opt, "widen", widen_json(&m->opt));
	if (m->opt.built_code) /* likewise */
		json_object_set_new(opt, "built_code", json_true());
	/* Traces by absolute path (how the command line spelled it must not
	 * change the measurement) and content. */
	json_t *traces = json_array();
	json_object_set_new(idx, "traces", traces);
	for (size_t i = 0; i < m->n_traces; i++) {
		json_t *t = json_object();
		json_object_set_new(t, "path", json_bytes(m->traces[i].path));
		json_object_set_new(t, "sha256", json_string(hex(m->traces[i].sha256)));
		json_array_append_new(traces, t);
	}
	json_object_set_new(idx, "gramine", json_string(hex(gramine_sha)));
	char *s = json_canonical(idx, len);
	json_decref(idx);
	return s;
}

/* ---- the directory ---- */

static const char gramine_readme[] =
	"# Running this app under Gramine\n"
	"\n"
	"`app.manifest.template` is a Gramine 1.8/1.9 manifest template for the traced\n"
	"app.  On a machine with SGX and Gramine installed:\n"
	"\n"
	"    gramine-manifest app.manifest.template app.manifest\n"
	"    gramine-sgx-sign --manifest app.manifest --output app.manifest.sgx\n"
	"    gramine-sgx <program base name>\n"
	"\n"
	"**Gramine enforces only the union.**  Gramine runs every process of an app\n"
	"from one manifest, so this template lists the union of the files of all the\n"
	"app's processes: under Gramine a child (a shell, a worker) may read every file\n"
	"any process of the app may read.  The per-process manifests in `../manifests/`\n"
	"(each child held to its own files, each exec checked against its parent's\n"
	"list) are enforced only by `sgxpy run`.\n"
	"\n"
	"Paths are listed as the app named them (symlinks and their targets both), with\n"
	"the SHA-256 each file had when `sgxpy manifest` ran; `/proc`, `/sys`, `/dev`,\n"
	"glibc (Gramine brings its own) and failed lookups are left out.  sgxpy's\n"
	"`sgxpy verify` re-checks those hashes on this host.\n";


static int write_file(const char *dir, const char *rel, const char *data, size_t len,
		      struct sg_err *err)
{
	cleanup_free char *path = xasprintf("%s/%s", dir, rel);
	cleanup_fd int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return sg_fail_errno(err, "cannot create %s", path);
	if (write_all(fd, data, len) < 0 || fsync(fd) < 0)
		return sg_fail_errno(err, "cannot write %s", path);
	return 0;
}

/* Swap the new directory into place: rename over a missing or empty target,
 * or exchange atomically with an old bundle (*swapped: tmp now holds it). */
static int install_dir(const char *tmp, const char *dir, bool *swapped, struct sg_err *err)
{
	*swapped = false;
	if (rename(tmp, dir) == 0)
		return 0;
	if (errno != ENOTEMPTY && errno != EEXIST && errno != ENOTDIR)
		return sg_fail_errno(err, "cannot rename %s to %s", tmp, dir);
	cleanup_free char *old_index = xasprintf("%s/bundle.json", dir);
	if (access(old_index, F_OK) < 0)
		return sg_fail(err, "%s exists and is not an sgxpy bundle: not replacing it", dir);
	if (syscall(SYS_renameat2, AT_FDCWD, tmp, AT_FDCWD, dir, RENAME_EXCHANGE) < 0)
		return sg_fail_errno(err, "cannot replace %s", dir);
	*swapped = true;
	return 0;
}

static int write_dir(const struct mf_model *m, const char *tmp, const char *final,
		     const char *gramine, size_t glen, const char *index, size_t ilen,
		     bool *leftover, struct sg_err *err);
static void remove_tree(const char *path);

int mf_write_bundle(struct mf_model *m, const char *dir, struct sg_err *err)
{
	struct mf_image **order = merkle_order(m);
	int rc = 0;
	for (size_t i = 0; i < m->n_images && rc == 0; i++)
		rc = serialise_image(m, order[i], err);
	free(order);
	if (rc < 0)
		return -1;
	size_t glen = 0;
	cleanup_free char *gramine = mf_gramine_template(m, &glen, err);
	if (!gramine)
		return -1;
	unsigned char gsha[SHA256_LEN];
	sha256_buf(gramine, glen, gsha);
	size_t ilen;
	cleanup_free char *index = index_json(m, gsha, &ilen);
	if (!index)
		return sg_fail(err, "cannot encode bundle.json");

	/* From creating the temporary directory to removing whatever is left
	 * (a failed attempt, or the previous bundle after an exchange), hold off
	 * Ctrl-C and friends: no half bundle or stray directory survives them. */
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGQUIT);
	sigprocmask(SIG_BLOCK, &block, &old);
	size_t dlen = strlen(dir);
	while (dlen > 1 && dir[dlen - 1] == '/')
		dlen--;
	cleanup_free char *tmp = xasprintf("%.*s.tmpXXXXXX", (int)dlen, dir);
	cleanup_free char *final = xstrndup(dir, dlen);
	bool leftover = true;
	if (!mkdtemp(tmp)) {
		rc = sg_fail_errno(err, "cannot create a temporary directory beside %s", final);
		leftover = false;
	} else {
		tmp_register(tmp);
		rc = write_dir(m, tmp, final, gramine, glen, index, ilen, &leftover, err);
		if (leftover)
			remove_tree(tmp);
		tmp_unregister(tmp);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	return rc;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	remove(path);
	return 0;
}

static void remove_tree(const char *path)
{
	nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Fill tmp, then put it in place of final.  *leftover: tmp still exists
 * afterwards (failure, or it now holds the previous bundle). */
static int write_dir(const struct mf_model *m, const char *tmp, const char *final,
		     const char *gramine, size_t glen, const char *index, size_t ilen,
		     bool *leftover, struct sg_err *err)
{
	*leftover = true;
	mode_t mask = umask(0);
	umask(mask);
	chmod(tmp, 0777 & ~mask); /* mkdtemp makes 0700; a bundle is readable like any output */
	cleanup_free char *mdir = xasprintf("%s/manifests", tmp);
	cleanup_free char *gdir = xasprintf("%s/gramine", tmp);
	if (mkdir(mdir, 0755) < 0 || mkdir(gdir, 0755) < 0)
		return sg_fail_errno(err, "cannot create %s", mdir);
	for (size_t i = 0; i < m->n_images; i++) {
		cleanup_free char *rel = xasprintf("manifests/%s.json", m->images[i]->id);
		if (write_file(tmp, rel, m->images[i]->json, m->images[i]->json_len, err) < 0)
			return -1;
	}
	if (write_file(tmp, "gramine/app.manifest.template", gramine, glen, err) < 0 ||
	    write_file(tmp, "gramine/README.md", gramine_readme, strlen(gramine_readme), err) < 0 ||
	    write_file(tmp, "bundle.json", index, ilen, err) < 0)
		return -1;
	bool swapped;
	if (install_dir(tmp, final, &swapped, err) < 0)
		return -1;
	*leftover = swapped;
	return 0;
}
