/* test_gramine.c - the Gramine template writer on a hand-made model: only
 * the two intended Jinja placeholders survive, strings are TOML-escaped,
 * pseudo paths and glibc stay out, trusted tables are sorted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "manifest/manifest.h"

#include <stdlib.h>
#include <string.h>

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void add_job(struct mf_model *m, struct strmap *set, const char *path)
{
	grow_array(&m->jobs, &m->cap_jobs, m->n_jobs, sizeof(*m->jobs));
	m->jobs[m->n_jobs] = (struct hash_job){.path = xstrdup(path), .size = 1};
	memset(m->jobs[m->n_jobs].sha256, 0xab, 32);
	*strmap_put(set, path, NULL) = (void *)(uintptr_t)(++m->n_jobs);
}

static void test_template(void **state)
{
	(void)state;
	struct mf_model m = {0};
	struct mf_image *img = xcalloc(1, sizeof(*img));
	img->key.program = xstrdup("/usr/bin/python3.11");
	img->id = xstrdup("python3.11-a-00000000");
	img->argv = xcalloc(3, sizeof(char *));
	img->argv[0] = xstrdup("python3");
	img->argv[1] = xstrdup("-c{{ evil }}\"q\"\n\\");
	img->cwd = xstrdup("/srv/{% x %}");
	img->threads = 3;
	m.images = xcalloc(1, sizeof(*m.images));
	m.images[0] = img;
	m.n_images = 1;
	m.root = img;
	m.max_threads = 3;
	m.max_peak_rss_kb = 100 * 1024; /* 100 MiB -> 2x + 128 MiB = 328 MiB -> 512M */
	m.root_env_json = xstrdup("{\"LANG\":\"C.UTF-8\",\"AWS_SECRET\":\"x\",\"LC_weird.name\":\"v\"}");
	add_job(&m, &img->trusted, "/srv/z.py");
	add_job(&m, &img->trusted, "/srv/a.py");
	add_job(&m, &img->trusted, "/lib/x86_64-linux-gnu/libc.so.6");
	add_job(&m, &img->trusted, "/lib/x86_64-linux-gnu/libz.so.1");
	add_job(&m, &img->gramine_stat, "/srv/b.py");
	struct mf_allow *a = xcalloc(1, sizeof(*a));
	a->tree = a->write = true;
	*strmap_put(&img->allowed, "/tmp", NULL) = a;
	a = xcalloc(1, sizeof(*a));
	a->write = true;
	*strmap_put(&img->allowed, "/dev/null", NULL) = a;
	a = xcalloc(1, sizeof(*a));
	a->write = true;
	*strmap_put(&img->allowed, "/srv/out.txt", NULL) = a;

	size_t len;
	struct sg_err err;
	char *t = mf_gramine_template(&m, &len, &err);
	assert_non_null(t);
	assert_int_equal(strlen(t), len);
	/* Placeholders: exactly the two Gramine ones. */
	assert_int_equal(count(t, "{{"), count(t, "{{ gramine.libos }}") + count(t, "{{ gramine.runtimedir() }}"));
	assert_null(strstr(t, "{%"));
	assert_non_null(strstr(t, "\\u007B\\u007B evil }}\\\"q\\\"\\u000A\\\\\""));
	assert_non_null(strstr(t, "loader.entrypoint.uri = \"file:{{ gramine.libos }}\""));
	assert_non_null(strstr(t, "libos.entrypoint = \"/usr/bin/python3.11\""));
	assert_non_null(strstr(t, "loader.env.LANG = \"C.UTF-8\""));
	assert_non_null(strstr(t, "loader.env.\"LC_weird.name\" = \"v\""));
	assert_null(strstr(t, "AWS_SECRET"));
	assert_non_null(strstr(t, "sgx.enclave_size = \"512M\""));
	assert_non_null(strstr(t, "sgx.max_threads = 7"));
	/* Sorted tables; stat-only b.py included; glibc and /dev left out. */
	const char *pa = strstr(t, "file:/srv/a.py"), *pb = strstr(t, "file:/srv/b.py"),
		   *pz = strstr(t, "file:/srv/z.py");
	assert_true(pa && pb && pz && pa < pb && pb < pz);
	assert_null(strstr(t, "libc.so.6"));
	assert_non_null(strstr(t, "libz.so.1"));
	assert_null(strstr(t, "/dev/null"));
	assert_non_null(strstr(t, "{ type = \"tmpfs\", path = \"/tmp\" }"));
	assert_non_null(strstr(t, "\"file:/srv/out.txt\""));
	assert_null(strstr(t, "thread_num"));
	assert_null(strstr(t, "fs.mount."));
	free(t);
	mf_model_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_template)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
