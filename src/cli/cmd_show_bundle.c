/* cmd_show_bundle.c - `sgxpy show BUNDLE [--json]`: the image tree with
 * per-image counts and sizes, or the whole bundle as one JSON document. */
#include "cli/cli.h"
#include "common/bundle.h"
#include "common/json.h"
#include "common/util.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

static void human_size(uint64_t n, char *out, size_t len)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double v = (double)n;
	size_t u = 0;
	while (v >= 1024 && u + 1 < ARRAY_SIZE(units))
		v /= 1024, u++;
	snprintf(out, len, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

static void print_image(const struct bundle *b, const struct bundle_image *img, const char *prefix,
			bool last, bool is_root, bool *on_path)
{
	uint64_t bytes = 0;
	for (size_t i = 0; i < img->n_trusted; i++)
		bytes += img->trusted[i].size;
	char sz[32];
	human_size(bytes, sz, sizeof(sz));
	size_t idx = (size_t)(img - b->images);
	printf("%s%s%s  %s%s%.60s%s\n", prefix, is_root ? "" : last ? "`-- " : "|-- ", img->id,
	       img->program, img->script ? " " : "", img->script ? img->script : "",
	       img->script && strlen(img->script) > 60 ? "..." : "");
	cleanup_free char *sub = xasprintf("%s%s", prefix, is_root ? "" : last ? "    " : "|   ");
	if (on_path[idx]) {
		printf("%s    (exec cycle: see above)\n", sub);
		return;
	}
	printf("%s    trusted %zu (%s), allowed %zu, stat %zu, list %zu, children %zu\n", sub,
	       img->n_trusted, sz, img->n_allowed, img->n_stat, img->n_list, img->n_children);
	on_path[idx] = true;
	for (size_t c = 0; c < img->n_children; c++)
		print_image(b, bundle_image_by_id(b, img->children[c]), sub, c + 1 == img->n_children,
			    false, on_path);
	on_path[idx] = false;
}

static json_t *strv(char **v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static json_t *image_json(const struct bundle_image *img)
{
	char hex[65];
	json_t *o = json_object();
	json_object_set_new(o, "id", json_string(img->id));
	json_object_set_new(o, "program", json_string(img->program));
	hex_encode(img->program_sha256, 32, hex);
	json_object_set_new(o, "program_sha256", json_string(hex));
	json_object_set_new(o, "script", img->script ? json_string(img->script) : json_null());
	size_t argc = 0;
	while (img->argv[argc])
		argc++;
	json_object_set_new(o, "argv", strv(img->argv, argc));
	json_t *t = json_array();
	for (size_t i = 0; i < img->n_trusted; i++) {
		hex_encode(img->trusted[i].sha256, 32, hex);
		json_array_append_new(t, json_pack("{s:s, s:I, s:s}", "path", img->trusted[i].path, "size",
						   (json_int_t)img->trusted[i].size, "sha256", hex));
	}
	json_object_set_new(o, "trusted", t);
	json_t *a = json_array();
	for (size_t i = 0; i < img->n_allowed; i++)
		json_array_append_new(a, json_pack("{s:s, s:b, s:b}", "path", img->allowed[i].path, "tree",
						   img->allowed[i].tree, "write", img->allowed[i].write));
	json_object_set_new(o, "allowed", a);
	json_object_set_new(o, "stat", strv(img->stat, img->n_stat));
	json_object_set_new(o, "list", strv(img->list, img->n_list));
	json_object_set_new(o, "children", strv(img->children, img->n_children));
	hex_encode(img->sha256, 32, hex);
	json_object_set_new(o, "manifest_sha256", json_string(hex));
	return o;
}

static void print_json(const struct bundle *b)
{
	char hex[65];
	hex_encode(b->measurement, 32, hex);
	json_t *o = json_object();
	json_object_set_new(o, "measurement", json_string(hex));
	json_object_set_new(o, "root", json_string(b->root));
	json_t *imgs = json_array();
	for (size_t i = 0; i < b->n_images; i++)
		json_array_append_new(imgs, image_json(&b->images[i]));
	json_object_set_new(o, "images", imgs);
	char *s = json_dumps(o, JSON_SORT_KEYS | JSON_INDENT(1));
	puts(s);
	free(s);
	json_decref(o);
}

int show_bundle(const char *dir, bool json)
{
	struct bundle *b;
	struct sg_err err;
	if (bundle_load(dir, &b, &err) < 0)
		die(EXIT_INPUT, "%s", err.msg);
	if (json) {
		print_json(b);
	} else {
		char hex[65];
		hex_encode(b->measurement, 32, hex);
		printf("bundle %s\nmeasurement %s\n%zu images\n\n", dir, hex, b->n_images);
		bool *on_path = xcalloc(b->n_images, sizeof(bool));
		print_image(b, bundle_image_by_id(b, b->root), "", true, true, on_path);
		free(on_path);
	}
	bundle_free(b);
	return EXIT_OK;
}
