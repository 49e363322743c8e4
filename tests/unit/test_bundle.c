/* test_bundle.c - the bundle loader: accepts a good bundle, rejects bad
 * input with file and field named, survives random corruption (run this
 * binary from build-asan/ to fuzz under ASan), and canonical JSON is stable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/bundle.h"
#include "common/hash.h"
#include "common/json.h"

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char dir[64];

static void put(const char *rel, const char *text)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static const char *zeros = "0000000000000000000000000000000000000000000000000000000000000000";

static char *good_manifest(const char *id, const char *child_id, const char *child_sha)
{
	char children[256] = "[]";
	if (child_id)
		snprintf(children, sizeof(children), "[{\"id\":\"%s\",\"sha256\":%s%s%s}]", child_id,
			 child_sha ? "\"" : "", child_sha ? child_sha : "null", child_sha ? "\"" : "");
	return xasprintf("{\"allowed\":[{\"path\":\"/tmp\",\"tree\":true,\"write\":true},"
			 "{\"path\":\"/dev/null\",\"tree\":false,\"write\":true}],"
			 "\"argv\":[\"python3\",\"app.py\"],\"children\":%s,"
			 "\"format\":\"sgxpy-manifest/1\",\"id\":\"%s\",\"list\":[\"/srv\"],"
			 "\"program\":{\"path\":\"/usr/bin/python3.11\",\"sha256\":\"%s\",\"size\":10},"
			 "\"script\":\"/srv/app.py\",\"stat\":[\"/srv/b.py\",\"/srv/a.py\"],"
			 "\"trusted\":[{\"path\":\"/srv/z.py\",\"sha256\":\"%s\",\"size\":1},"
			 "{\"path\":\"/srv/app.py\",\"sha256\":\"%s\",\"size\":2}]}\n",
			 children, id, zeros, zeros, zeros);
}

static void hex_of(const char *text, char out[65])
{
	unsigned char h[32];
	sha256_buf(text, strlen(text), h);
	hex_encode(h, 32, out);
}

/* A two-image bundle: root "app" execs "sh". */
static void write_bundle(const char *root_text, const char *child_text)
{
	char hr[65], hc[65];
	put("manifests/app.json", root_text);
	put("manifests/sh.json", child_text);
	hex_of(root_text, hr);
	hex_of(child_text, hc);
	char *idx = xasprintf("{\"format\":\"sgxpy-bundle/1\",\"images\":{\"app\":\"%s\",\"sh\":\"%s\"},"
			      "\"root\":\"app\"}\n", hr, hc);
	put("bundle.json", idx);
	free(idx);
}

static void make_good(void)
{
	char *child = good_manifest("sh", NULL, NULL);
	char hc[65];
	hex_of(child, hc);
	char *root = good_manifest("app", "sh", hc);
	write_bundle(root, child);
	free(root);
	free(child);
}

static int rm_entry(const char *p, const struct stat *s, int f, struct FTW *w)
{
	(void)s, (void)f, (void)w;
	return remove(p);
}

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/sgxpy-test-bundle-XXXXXX");
	assert_non_null(mkdtemp(dir));
	char m[128];
	snprintf(m, sizeof(m), "%s/manifests", dir);
	mkdir(m, 0755);
	make_good();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	return 0;
}

static void test_good(void **state)
{
	(void)state;
	struct bundle *b;
	struct sg_err err = {0};
	int rc = bundle_load(dir, &b, &err);
	if (rc)
		fail_msg("%s", err.msg);
	assert_int_equal(b->n_images, 2);
	assert_string_equal(b->root, "app");
	const struct bundle_image *app = bundle_image_by_id(b, "app");
	assert_non_null(app);
	assert_int_equal(app->n_trusted, 2);
	assert_string_equal(app->trusted[0].path, "/srv/app.py"); /* sorted */
	assert_non_null(image_trusted(app, "/srv/z.py"));
	assert_null(image_trusted(app, "/srv/y.py"));
	assert_true(image_allowed(app, "/tmp/pymp-1/x")->tree);
	assert_non_null(image_allowed(app, "/dev/null"));
	assert_null(image_allowed(app, "/dev/null/x"));
	assert_null(image_allowed(app, "/tmpx"));
	assert_true(image_may_stat(app, "/srv/a.py"));
	assert_false(image_may_stat(app, "/srv/c.py"));
	assert_true(image_may_list(app, "/srv"));
	assert_int_equal(app->n_children, 1);
	assert_true(app->children_hashed[0]);
	bundle_free(b);
}

/* Replace the root manifest with text, keep bundle.json consistent, and
 * expect an error mentioning every string in want. */
static void expect_bad_root(const char *text, const char *want1, const char *want2)
{
	char *child = good_manifest("sh", NULL, NULL);
	write_bundle(text, child);
	free(child);
	struct bundle *b = NULL;
	struct sg_err err = {0};
	assert_int_equal(bundle_load(dir, &b, &err), -1);
	if (!strstr(err.msg, want1) || (want2 && !strstr(err.msg, want2)))
		fail_msg("error '%s' lacks '%s' / '%s'", err.msg, want1, want2 ? want2 : "");
	assert_non_null(strstr(err.msg, "app.json"));
	make_good();
}

static char *replace(const char *s, const char *from, const char *to)
{
	const char *p = strstr(s, from);
	assert_non_null(p);
	return xasprintf("%.*s%s%s", (int)(p - s), s, to, p + strlen(from));
}

static void test_bad_manifests(void **state)
{
	(void)state;
	char *good = good_manifest("app", "sh", NULL);
	static const struct {
		const char *from, *to, *want1, *want2;
	} cases[] = {
		{"{\"allowed\"", "{\"allowed\":,", "bad JSON", NULL},
		{"\"size\":1}", "\"size\":\"1\"}", "trusted[0].size", "integer"},
		{"\"size\":1}", "\"size\":-1}", "trusted[0].size", "negative"},
		{"\"/srv/z.py\"", "\"/srv/../etc/shadow\"", "trusted[0].path", "normal"},
		{"\"/srv/z.py\"", "\"srv/z.py\"", "trusted[0].path", NULL},
		{"\"/srv/z.py\"", "\"/srv/app.py\"", "trusted", "twice"},
		{"\"format\":\"sgxpy-manifest/1\"", "\"format\":\"sgxpy-manifest/9\"", "format", NULL},
		{"\"id\":\"app\"", "\"id\":\"other\"", "id", "file name"},
		{"\"argv\":[\"python3\",\"app.py\"]", "\"argv\":[\"python3\",3]", "argv[1]", NULL},
		{"\"script\":\"/srv/app.py\"", "\"script\":\"app.py\"", "script", NULL},
		{"\"tree\":true", "\"tree\":1", "allowed[0].tree", "boolean"},
		{"\"stat\":[", "\"trusted2\":0,\"stat\":{},\"x\":[", "stat", "array"},
		{"\"list\":[\"/srv\"]", "\"list\":[\"/srv/\"]", "list[0]", NULL},
		{"\"id\":\"sh\"", "\"id\":\"../sh\"", "children[0].id", NULL},
		{"\"id\":\"sh\"", "\"id\":\"nosuch\"", "children[0].id", "nosuch"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *bad = replace(good, cases[i].from, cases[i].to);
		expect_bad_root(bad, cases[i].want1, cases[i].want2);
		free(bad);
	}
	/* A hash of the wrong length, in the manifest and in bundle.json. */
	char *bad = replace(good, zeros, "abc");
	expect_bad_root(bad, "program.sha256", "64 hex");
	free(bad);
	free(good);
}

static void test_bad_index(void **state)
{
	(void)state;
	struct bundle *b = NULL;
	struct sg_err err = {0};
	put("bundle.json", "{\"format\":\"sgxpy-bundle/1\",\"images\":{\"app\":\"12\"},\"root\":\"app\"}");
	assert_int_equal(bundle_load(dir, &b, &err), -1);
	assert_non_null(strstr(err.msg, "bundle.json: images.app"));
	put("bundle.json", "[1,2]");
	assert_int_equal(bundle_load(dir, &b, &err), -1);
	assert_non_null(strstr(err.msg, "bundle.json"));
	put("bundle.json", "");
	assert_int_equal(bundle_load(dir, &b, &err), -1);
	assert_non_null(strstr(err.msg, "bad JSON"));
	make_good();
	/* An edited manifest no longer matches bundle.json. */
	char *sh = good_manifest("sh", NULL, NULL);
	char *edited = replace(sh, "\"python3\"", "\"python4\"");
	put("manifests/sh.json", edited);
	free(sh);
	free(edited);
	assert_int_equal(bundle_load(dir, &b, &err), -1);
	assert_non_null(strstr(err.msg, "sh.json"));
	assert_non_null(strstr(err.msg, "bundle.json"));
	assert_int_equal(bundle_load("/nonexistent/bundle", &b, &err), -1);
	make_good();
}

/* Random byte edits of a manifest: every outcome is success or a clean
 * error, never a crash or leak (ASan build). */
static void test_fuzz(void **state)
{
	(void)state;
	char *good = good_manifest("app", "sh", NULL);
	size_t n = strlen(good);
	unsigned seed = 12345;
	static const char alphabet[] = "{}[]\",:0123456789abcdef/.\\ntruefalsnul\x01\xff";
	int loaded = 0;
	for (int iter = 0; iter < 3000; iter++) {
		char *m = xstrdup(good);
		int edits = 1 + (int)(rand_r(&seed) % 4);
		for (int e = 0; e < edits; e++) {
			size_t at = (size_t)rand_r(&seed) % n;
			m[at] = alphabet[(size_t)rand_r(&seed) % (sizeof(alphabet) - 1)];
		}
		if (rand_r(&seed) % 8 == 0)
			m[(size_t)rand_r(&seed) % n] = '\0'; /* truncation */
		put("manifests/app.json", m);
		struct bundle *b = NULL;
		struct sg_err err = {0};
		if (bundle_load_flags(dir, BUNDLE_NO_HASH_CHECK, &b, &err) == 0) {
			loaded++;
			bundle_free(b);
		} else {
			assert_true(err.msg[0] != '\0');
		}
		free(m);
	}
	free(good);
	make_good();
	(void)loaded;
}

static void test_canonical(void **state)
{
	(void)state;
	json_t *a = json_pack("{s:i, s:s, s:[s,s]}", "zeta", 1, "alpha", "\xc3\xa9t\xc3\xa9", "mid", "x", "y");
	json_t *b = json_object();
	json_object_set_new(b, "mid", json_pack("[s,s]", "x", "y"));
	json_object_set_new(b, "alpha", json_string("\xc3\xa9t\xc3\xa9"));
	json_object_set_new(b, "zeta", json_integer(1));
	size_t la, lb;
	char *sa = json_canonical(a, &la), *sb = json_canonical(b, &lb);
	assert_string_equal(sa, sb);
	assert_string_equal(sa, "{\"alpha\":\"\\u00E9t\\u00E9\",\"mid\":[\"x\",\"y\"],\"zeta\":1}\n");
	assert_int_equal(la, strlen(sa));
	free(sa);
	free(sb);
	json_decref(a);
	json_decref(b);
	assert_null(json_str_checked("\xff\xfe"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),  cmocka_unit_test(test_bad_manifests),
		cmocka_unit_test(test_bad_index), cmocka_unit_test(test_fuzz),
		cmocka_unit_test(test_canonical),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
