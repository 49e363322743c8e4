/* cmd_explain.c - `sgxpy explain [--json] BUNDLE PATH`: which images trust or
 * allow PATH, and why: the trace that recorded the access and the rule or
 * option that decided (src/manifest/explain.c, origin.c). */
#include "cli/cli.h"
#include "common/bundle.h"
#include "common/path.h"
#include "common/term.h"
#include "common/util.h"
#include "manifest/explain.h"
#include "manifest/origin.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

static const char usage[] =
	"usage: sgxpy explain [--json] BUNDLE PATH\n"
	"\n"
	"Say which images of BUNDLE trust, allow, list or may stat PATH (or exec it\n"
	"as a child image), and why: the access each trace recorded and the\n"
	"manifest rule or option (--trust, --allow, --widen-package) that decided.\n"
	"The traces are looked for where bundle.json records them and beside the\n"
	"bundle.\n"
	"\n"
	"  -j, --json   print JSON instead\n"
	"  -h, --help   this text\n"
	"\n"
	"Exit status: 0 some image lists PATH, 1 none does, 2 usage, 3 bad bundle.\n";

/* One trace read into a model, for the access flags of each image. */
struct source {
	const char *name; /* as bundle.json records it */
	struct mf_model m;
};

/* Where a path no trace recorded came from: an option, the program, a fold. */
static json_t *origin_of(const struct mf_options *opt, const struct bundle_image *img,
			 const char *path)
{
	const char *t = path_under_any(path, opt->trust, opt->n_trust);
	if (t)
		return json_sprintf("--trust %s (a path the trace never touched: trusted by the "
				    "root image)", t);
	if (!strcmp(img->program, path))
		return json_string("the image's program");
	size_t site_len;
	cleanup_free char *top = widen_top_of(path, &site_len);
	const char *by = NULL; /* the name itself rather than "*" */
	for (size_t i = 0; top && i < opt->n_widen && !(by && strcmp(by, "*")); i++)
		if (!strcmp(opt->widen[i], "*") || !strcmp(opt->widen[i], top))
			by = opt->widen[i];
	if (by)
		return json_sprintf("--widen-package %s: a file of package %s, which this image "
				    "imports", by, top);
	return json_string("added by a fold of a log (manifest --from-log), or by a trace that "
			   "is not here");
}

/* What img may do with path, in words; false if nothing. */
static bool rights_of(const struct bundle *b, const struct bundle_image *img, const char *path,
		      json_t *o, char *out, size_t len)
{
	size_t w = 0;
	out[0] = '\0';
#define SAY(...) (w += (size_t)snprintf(out + w, w < len ? len - w : 0, __VA_ARGS__))
	const struct bundle_file *f = image_trusted(img, path);
	if (!strcmp(img->program, path))
		SAY("%sits program", w ? "; " : "");
	if (f) {
		char sz[32], hex[65];
		term_size(f->size, sz, sizeof(sz));
		hex_encode(f->sha256, 32, hex);
		SAY("%strusted (%s, sha256 %.16s...)", w ? "; " : "", sz, hex);
		json_object_set_new(o, "trusted", json_pack("{s:I, s:s}", "size", (json_int_t)f->size,
							     "sha256", hex));
	}
	const struct bundle_allow *a = image_allowed(img, path);
	if (a) {
		SAY("%sallowed %s%s", w ? "; " : "", a->write ? "write" : "read",
		    a->tree ? " (tree)" : "");
		if (strcmp(a->path, path))
			SAY(" by the rule for %s", a->path);
		json_object_set_new(o, "allowed", json_pack("{s:s, s:b, s:b}", "rule", a->path, "tree",
							     a->tree, "write", a->write));
	}
	if (image_may_list(img, path)) {
		SAY("%slist", w ? "; " : "");
		json_object_set_new(o, "list", json_true());
	}
	if (image_may_stat(img, path)) {
		SAY("%sstat", w ? "; " : "");
		json_object_set_new(o, "stat", json_true());
	}
	for (size_t i = 0; i < img->n_children; i++) {
		const struct bundle_image *c = bundle_image_by_id(b, img->children[i]);
		if (c && !strcmp(c->program, path)) {
			SAY("%smay exec it as image %s", w ? "; " : "", c->id);
			json_object_set_new(o, "exec_child", json_string(c->id));
		}
	}
#undef SAY
	return w > 0;
}

/* Why: each trace's accesses of path (or, under a tree rule, of paths below
 * it, a few examples) in this image, and the rule they meet. */
static void why(const struct source *src, size_t n_src, const struct bundle_image *img,
		const char *path, json_t *reasons)
{
	/* under a tree rule the accesses that made it may be below path */
	const struct bundle_allow *a = image_allowed(img, path);
	const char *scope = a && a->tree ? a->path : NULL;
	for (size_t s = 0; s < n_src; s++) {
		void **slot = strmap_get(&src[s].m.by_id, img->id);
		if (!slot)
			continue;
		const struct mf_image *mi = *slot;
		const char **keys = strmap_sorted_keys(&mi->access);
		size_t shown = 0;
		for (size_t k = 0; keys[k] && shown < 3; k++) {
			if (strcmp(keys[k], path) && !(scope && path_is_under(keys[k], scope)))
				continue;
			uintptr_t fl = (uintptr_t)*strmap_get(&mi->access, keys[k]);
			char acc[256], rule[512];
			access_words(fl, acc, sizeof(acc));
			explain_rule(&src[s].m, keys[k], fl, rule, sizeof(rule));
			json_array_append_new(reasons, json_pack("{s:s, s:s, s:s, s:s}", "trace",
								 src[s].name, "path", keys[k],
								 "access", acc, "rule", rule));
			shown++;
		}
		free(keys);
	}
}

static void print_human(const char *path, json_t *images, json_t *not_listed, json_t *notes)
{
	const char *b = term_style(stdout, TS_BOLD), *cy = term_style(stdout, TS_CYAN),
		   *dim = term_style(stdout, TS_DIM), *off = term_style(stdout, TS_RESET);
	printf("%s%s%s\n", b, path, off);
	size_t i, j;
	json_t *img, *r;
	json_array_foreach(images, i, img) {
		printf("  %s%s%s: %s\n", cy, json_string_value(json_object_get(img, "id")), off,
		       json_string_value(json_object_get(img, "rights")));
		json_t *reasons = json_object_get(img, "why");
		json_array_foreach(reasons, j, r) {
			const char *p = json_string_value(json_object_get(r, "path"));
			printf("    %strace %s:%s %s%s%s -> %s\n", dim,
			       json_string_value(json_object_get(r, "trace")), off,
			       json_string_value(json_object_get(r, "access")), strcmp(p, path) ? " of " : "",
			       strcmp(p, path) ? p : "", json_string_value(json_object_get(r, "rule")));
		}
		if (!json_array_size(reasons))
			printf("    %snot in the traces:%s %s\n", dim, off,
			       json_string_value(json_object_get(img, "origin")));
	}
	if (!json_array_size(images))
		printf("  no image trusts, allows, lists or may stat it: `sgxpy run` refuses it "
		       "(to add it: sgxpy run --audit --log LOG, then sgxpy manifest --from-log LOG)\n");
	if (json_array_size(not_listed)) {
		printf("  %snot listed by:", dim);
		json_array_foreach(not_listed, i, r)
			printf(" %s", json_string_value(r));
		printf("%s\n", off);
	}
	json_array_foreach(notes, i, r)
		printf("  %snote: %s%s\n", dim, json_string_value(r), off);
}

int cmd_explain(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {0},
	};
	bool json = false;
	int c;
	while ((c = getopt_long(argc, argv, "+jh", longopts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'h': return print_usage(usage);
		default: usage_error("bad option");
		}
	}
	if (argc - optind != 2)
		usage_error("BUNDLE and PATH are needed");
	const char *dir = argv[optind];
	cleanup_free char *cwd = getcwd(NULL, 0);
	cleanup_free char *path = cwd && argv[optind + 1][0] ? path_resolve(cwd, argv[optind + 1]) : NULL;
	if (!path)
		usage_error("'%s' is not a path", argv[optind + 1]);

	struct sg_err err;
	struct bundle *b;
	if (bundle_load(dir, &b, &err) < 0)
		die(EXIT_INPUT, "%s", err.msg);
	struct bundle_origin o;
	if (origin_load(dir, &o, &err) < 0) {
		bundle_free(b);
		die(EXIT_INPUT, "%s", err.msg);
	}
	json_t *notes = json_array();
	struct source *src = xcalloc(o.n_traces + 1, sizeof(*src));
	size_t n_src = 0;
	for (size_t i = 0; i < o.n_traces; i++) {
		struct origin_trace *t = &o.traces[i];
		if (!t->found) {
			json_array_append_new(notes, json_sprintf("trace %s is %s: not consulted",
								  t->recorded, t->stale ? "changed since the bundle was made" : "not here"));
			continue;
		}
		struct source *s = &src[n_src];
		s->name = t->recorded;
		s->m.opt = o.opt; /* borrowed: the rules read it */
		if (mf_build(&s->m, &t->found, 1, &err) < 0) {
			json_array_append_new(notes, json_sprintf("trace %s: %s", t->recorded, err.msg));
			s->m.opt = (struct mf_options){0};
			mf_model_free(&s->m);
			continue;
		}
		n_src++;
	}

	json_t *images = json_array(), *not_listed = json_array();
	for (size_t i = 0; i < b->n_images; i++) {
		const struct bundle_image *img = &b->images[i];
		json_t *io = json_object();
		char rights[1024];
		if (!rights_of(b, img, path, io, rights, sizeof(rights))) {
			json_decref(io);
			json_array_append_new(not_listed, json_string(img->id));
			continue;
		}
		json_t *reasons = json_array();
		why(src, n_src, img, path, reasons);
		json_object_set_new(io, "id", json_string(img->id));
		json_object_set_new(io, "rights", json_string(rights));
		json_object_set_new(io, "why", reasons);
		if (!json_array_size(reasons))
			json_object_set_new(io, "origin", origin_of(&o.opt, img, path));
		json_array_append_new(images, io);
	}
	int status = json_array_size(images) ? EXIT_OK : EXIT_MISMATCH;
	if (json) {
		print_json_doc(json_pack("{s:s, s:s, s:O, s:O, s:O}", "bundle", dir, "path", path,
					 "images", images, "not_listed", not_listed, "notes", notes));
	} else {
		print_human(path, images, not_listed, notes);
	}
	json_decref(images);
	json_decref(not_listed);
	json_decref(notes);
	for (size_t i = 0; i < n_src; i++) {
		src[i].m.opt = (struct mf_options){0};
		mf_model_free(&src[i].m);
	}
	free(src);
	origin_free(&o);
	bundle_free(b);
	return status;
}
