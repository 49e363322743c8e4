/* test_path.c - lexical path rules shared by trace, manifest and run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "common/path.h"

#include <stdlib.h>
#include <string.h>

static void check_resolve(const char *base, const char *rel, const char *want)
{
	char *got = path_resolve(base, rel);
	if (!want) {
		assert_null(got);
		return;
	}
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void test_resolve(void **state)
{
	(void)state;
	check_resolve(NULL, "/usr/lib/python3.11", "/usr/lib/python3.11");
	check_resolve(NULL, "/etc/ld.so.cache", "/etc/ld.so.cache");
	check_resolve(NULL, "//usr///lib//", "/usr/lib");
	check_resolve(NULL, "/a/./b/../c", "/a/c");
	check_resolve(NULL, "/../../x", "/x");
	check_resolve(NULL, "/", "/");
	check_resolve(NULL, "/..", "/");
	check_resolve(NULL, "/a/b/..", "/a");
	check_resolve("/home/u", "x.py", "/home/u/x.py");
	check_resolve("/home/u", "../v/./y", "/home/v/y");
	check_resolve("/", "a", "/a");
	check_resolve("relative", "a", NULL);
	check_resolve(NULL, "a", NULL);
}

static void test_is_normal(void **state)
{
	(void)state;
	assert_true(path_is_normal("/"));
	assert_true(path_is_normal("/usr/lib/x.so"));
	assert_true(path_is_normal("/a/.hidden/..x"));
	assert_false(path_is_normal("usr"));
	assert_false(path_is_normal("/usr/"));
	assert_false(path_is_normal("/usr//lib"));
	assert_false(path_is_normal("/usr/./lib"));
	assert_false(path_is_normal("/usr/../etc/shadow"));
	assert_false(path_is_normal("/.."));
	assert_false(path_is_normal(""));
}

static void test_is_under(void **state)
{
	(void)state;
	assert_true(path_is_under("/tmp/x", "/tmp"));
	assert_true(path_is_under("/tmp", "/tmp"));
	assert_false(path_is_under("/tmpx/y", "/tmp"));
	assert_true(path_is_under("/anything", "/"));
	assert_false(path_is_under("/usr", "/usr/lib"));
	char *dirs[] = {(char *)"/srv/a", (char *)"/usr/lib", (char *)"/usr"};
	assert_string_equal(path_under_any("/usr/lib/x", dirs, 3), "/usr/lib"); /* the first */
	assert_string_equal(path_under_any("/usr/bin", dirs, 3), "/usr");
	assert_null(path_under_any("/srv/ab", dirs, 3));
	assert_null(path_under_any("/usr/lib/x", dirs, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_is_normal),
		cmocka_unit_test(test_is_under),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
