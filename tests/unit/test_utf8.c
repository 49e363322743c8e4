/* test_utf8.c - non-UTF-8 bytes survive into JSON as "\xNN". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "common/utf8.h"

#include <stdlib.h>

static void check_escape(const char *in, const char *want)
{
	char *got = utf8_escape(in);
	assert_string_equal(got, want);
	free(got);
}

static void test_valid(void **state)
{
	(void)state;
	assert_true(utf8_valid(""));
	assert_true(utf8_valid("/usr/lib/python3.11/os.py"));
	assert_true(utf8_valid("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
	assert_false(utf8_valid("raw\xff"));
	assert_false(utf8_valid("\xc0\xaf"));         /* overlong '/' */
	assert_false(utf8_valid("\xed\xa0\x80"));     /* surrogate */
	assert_false(utf8_valid("\xf4\x90\x80\x80")); /* above U+10FFFF */
	assert_false(utf8_valid("\xe2\x82"));         /* truncated */
}

static void test_escape(void **state)
{
	(void)state;
	check_escape("plain", "plain");
	check_escape("caf\xc3\xa9", "caf\xc3\xa9");
	check_escape("raw\xff", "raw\\xff");
	check_escape("\xe2\x82x", "\\xe2\\x82x");
	check_escape("\xc0\xaf", "\\xc0\\xaf");
}

static void test_json(void **state)
{
	(void)state;
	json_t *v = json_bytes("a\xfe");
	assert_non_null(v);
	assert_string_equal(json_string_value(v), "a\\xfe");
	json_decref(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
