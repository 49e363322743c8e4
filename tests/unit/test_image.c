/* test_image.c - image keys: which processes share a manifest. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/image.h"

#include <stdlib.h>
#include <string.h>

static void key_of(const char *prog, char **argv, const char *cwd, struct image_key *k)
{
	image_key_from_exec(prog, argv, cwd, k);
}

static void check_script(const char *prog, char **argv, const char *want)
{
	struct image_key k;
	key_of(prog, argv, "/srv/app", &k);
	if (want)
		assert_string_equal(k.script, want);
	else
		assert_null(k.script);
	image_key_free(&k);
}

static void test_python_scripts(void **state)
{
	(void)state;
	check_script("/nonexistent/python3.11", (char *[]){"python3", "app.py", NULL}, "/srv/app/app.py");
	check_script("/nonexistent/python3", (char *[]){"python3", "-B", "-u", "../w/worker.py", "x", NULL},
		     "/srv/w/worker.py");
	check_script("/nonexistent/python3", (char *[]){"python3", "-m", "pytest", "-q", NULL}, "-m:pytest");
	check_script("/nonexistent/python3", (char *[]){"python3", "-Bm", "http.server", NULL}, "-m:http.server");
	check_script("/nonexistent/python3", (char *[]){"python3", "-W", "ignore", "x.py", NULL}, "/srv/app/x.py");
	check_script("/nonexistent/python3", (char *[]){"python3", "-Wignore", "-X", "dev", "x.py", NULL}, "/srv/app/x.py");
	check_script("/nonexistent/python3", (char *[]){"python3", NULL}, NULL);
	check_script("/nonexistent/python3", (char *[]){"python3", "-", NULL}, NULL);
	check_script("/nonexistent/python3", (char *[]){"python3", "-cprint(1)", NULL}, "-c:print(#)");
}

/* multiprocessing's spawn workers differ only in fd numbers: one image. */
static void test_c_digits_fold(void **state)
{
	(void)state;
	struct image_key a, b;
	key_of("/nonexistent/python3", (char *[]){"python3", "-B", "-c",
		"from multiprocessing.spawn import spawn_main; spawn_main(tracker_fd=5, pipe_handle=7)",
		"--multiprocessing-fork", NULL}, "/", &a);
	key_of("/nonexistent/python3", (char *[]){"python3", "-B", "-c",
		"from multiprocessing.spawn import spawn_main; spawn_main(tracker_fd=12, pipe_handle=140)",
		"--multiprocessing-fork", NULL}, "/", &b);
	assert_true(image_key_equal(&a, &b));
	assert_string_equal(a.script, "-c:from multiprocessing.spawn import spawn_main; "
				      "spawn_main(tracker_fd=#, pipe_handle=#)");
	char *ia = image_id(&a), *ib = image_id(&b);
	assert_string_equal(ia, ib);
	free(ia);
	free(ib);
	image_key_free(&a);
	image_key_free(&b);
}

/* A script the app wrote into a fresh temp dir is one image whatever the
 * random directory is called; elsewhere, paths are kept as they are. */
static void test_temp_script_folds(void **state)
{
	(void)state;
	check_script("/nonexistent/python3", (char *[]){"python3", "/tmp/tmpk7ptyzc8/setup.py", NULL},
		     "/tmp/*/setup.py");
	check_script("/nonexistent/python3", (char *[]){"python3", "setup.py", NULL}, "/srv/app/setup.py");
	struct image_key k;
	image_key_from_exec("/nonexistent/python3", (char *[]){"python3", "setup.py", NULL},
			    "/tmp/ev/tmp/tmpab_cd123/build-424242", &k);
	assert_string_equal(k.script, "/tmp/ev/tmp/*/*/setup.py");
	image_key_free(&k);
	check_script("/nonexistent/python3", (char *[]){"python3", "/srv/tmpk7ptyzc8/x.py", NULL},
		     "/srv/tmpk7ptyzc8/x.py");
	check_script("/nonexistent/python3", (char *[]){"python3", "/tmp/tmpk7ptyzc8.py", NULL},
		     "/tmp/tmpk7ptyzc8.py");
	assert_true(image_name_is_random("tmpk7ptyzc8"));
	assert_true(image_name_is_random("pid-123456"));
	assert_false(image_name_is_random("report-2024"));
	assert_false(image_name_is_random("tmp"));
}

static void test_shell(void **state)
{
	(void)state;
	check_script("/nonexistent/sh", (char *[]){"sh", "-c", "cat x | wc -l", NULL}, "-c:cat x | wc -l");
	/* a fresh temp dir named in -c text is folded like a script's */
	check_script("/nonexistent/python3",
		     (char *[]){"python3", "-c", "import sys; sys.path = ['/tmp/tmpk7ptyzc8', 'x']", NULL},
		     "-c:import sys; sys.path = ['/tmp/tmp*', 'x']");
	check_script("/nonexistent/python3", (char *[]){"python3", "-c", "open('/tmp/tmpfile')", NULL},
		     "-c:open('/tmp/tmpfile')");
	check_script("/nonexistent/bash", (char *[]){"bash", "-ec", "echo 1", "name", NULL}, "-c:echo #");
	check_script("/nonexistent/bash", (char *[]){"bash", "-o", "pipefail", "run.sh", NULL}, "/srv/app/run.sh");
	check_script("/nonexistent/dash", (char *[]){"dash", "-s", NULL}, NULL);
	check_script("/nonexistent/wc", (char *[]){"wc", "-l", "f", NULL}, NULL);
}

static void test_ids(void **state)
{
	(void)state;
	struct image_key a, b, c;
	key_of("/nonexistent/python3.11", (char *[]){"python3", "app.py", NULL}, "/srv/a", &a);
	key_of("/nonexistent/python3.11", (char *[]){"python3", "app.py", NULL}, "/srv/b", &b);
	key_of("/nonexistent/python3.11", (char *[]){"python3", "app.py", NULL}, "/srv/a", &c);
	assert_false(image_key_equal(&a, &b));
	assert_true(image_key_equal(&a, &c));
	char *ia = image_id(&a), *ib = image_id(&b), *ic = image_id(&c);
	assert_string_not_equal(ia, ib);
	assert_string_equal(ia, ic);
	assert_int_equal(strncmp(ia, "python3.11-app.py-", 18), 0);
	struct image_key m;
	key_of("/nonexistent/python3.11", (char *[]){"python3", "-m", "http.server", NULL}, "/", &m);
	char *im = image_id(&m);
	assert_int_equal(strncmp(im, "python3.11-m-http.server-", 25), 0);
	free(im);
	image_key_free(&m);
	for (const char *p = ia; *p; p++)
		assert_true(strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", *p));
	free(ia);
	free(ib);
	free(ic);
	image_key_free(&a);
	image_key_free(&b);
	image_key_free(&c);
}

/* Symlinked programs key by their target: /usr/bin/python3 -> python3.11. */
static void test_program_resolved(void **state)
{
	(void)state;
	struct image_key k;
	key_of("/proc/self/exe", (char *[]){"x", NULL}, "/", &k);
	assert_string_not_equal(k.program, "/proc/self/exe");
	image_key_free(&k);
	key_of("rel/prog", (char *[]){"x", NULL}, "/nonexistent", &k);
	assert_string_equal(k.program, "/nonexistent/rel/prog");
	image_key_free(&k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_python_scripts), cmocka_unit_test(test_c_digits_fold),
		cmocka_unit_test(test_shell),          cmocka_unit_test(test_ids),
		cmocka_unit_test(test_program_resolved), cmocka_unit_test(test_temp_script_folds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
