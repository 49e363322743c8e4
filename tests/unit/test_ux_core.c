/* test_ux_core.c - the pieces behind build/diff/explain/--from-log that need no
 * process: bundle diff on hand-made bundles, rights and sizes in words, the
 * run-log and Gramine-log parser, and the rule explanations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/term.h"
#include "manifest/diff.h"
#include "manifest/explain.h"
#include "manifest/fromlog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- diff ---------------------------------------------------------------- */

static struct bundle_file F(const char *path, uint64_t size, unsigned char fill)
{
	struct bundle_file f = {.path = (char *)path, .size = size};
	memset(f.sha256, fill, 32);
	return f;
}

static void test_diff_kinds(void **state)
{
	(void)state;
	struct bundle_file ta[] = {F("/a", 1, 1), F("/b", 2, 2), F("/c", 3, 3)};
	struct bundle_file tb[] = {F("/a", 1, 1), F("/b", 5, 9), F("/n", 4, 4)};
	struct bundle_allow ab[] = {{.path = (char *)"/c", .write = true}};
	char *stat_a[] = {(char *)"/s"};
	struct bundle_image ia = {.id = (char *)"img", .program = (char *)"/a", .trusted = ta,
				  .n_trusted = 3, .stat = stat_a, .n_stat = 1};
	struct bundle_image ib = {.id = (char *)"img", .program = (char *)"/a", .trusted = tb,
				  .n_trusted = 3, .allowed = ab, .n_allowed = 1};
	struct bundle_image only = {.id = (char *)"new-image", .program = (char *)"/a"};
	struct bundle_image imgs_b[] = {ib, only};
	struct bundle a = {.images = &ia, .n_images = 1, .root = (char *)"img"};
	struct bundle b = {.images = imgs_b, .n_images = 2, .root = (char *)"img"};
	memset(b.measurement, 1, 32);

	struct bundle_diff d;
	bundle_diff(&a, &b, &d);
	assert_true(bundle_diff_any(&d));
	/* /b re-hashed, /c trusted -> allowed write, /n added, /s removed */
	assert_int_equal(d.n_items, 4);
	assert_string_equal(d.items[0].path, "/b");
	assert_int_equal(d.items[0].kind, DIFF_REHASHED);
	assert_int_equal(d.items[0].old_size, 2);
	assert_int_equal(d.items[0].new_size, 5);
	assert_string_equal(d.items[1].path, "/c");
	assert_int_equal(d.items[1].kind, DIFF_RIGHTS);
	assert_int_equal(d.items[1].old_rights, RT_TRUSTED);
	assert_int_equal(d.items[1].new_rights, RT_WRITE);
	assert_int_equal(d.items[2].kind, DIFF_ADDED);
	assert_int_equal(d.items[3].kind, DIFF_REMOVED);
	assert_string_equal(d.items[3].path, "/s");
	assert_int_equal(d.n_images, 1);
	assert_true(d.images[0].added);
	assert_int_equal(d.count[DIFF_ADDED], 1);
	assert_int_equal(d.count[DIFF_REMOVED], 1);

	json_t *j = bundle_diff_json(&d);
	assert_true(json_is_true(json_object_get(j, "differ")));
	assert_int_equal(json_array_size(json_object_get(j, "changes")), 4);
	json_decref(j);

	/* the same bundle: nothing */
	bundle_diff_free(&d);
	bundle_diff(&a, &a, &d);
	assert_false(bundle_diff_any(&d));
	bundle_diff_free(&d);
}

static void test_rights_and_sizes(void **state)
{
	(void)state;
	char s[128];
	rights_str(RT_TRUSTED, s, sizeof(s));
	assert_string_equal(s, "trusted");
	rights_str(RT_WRITE | RT_TREE, s, sizeof(s));
	assert_string_equal(s, "allowed write, tree");
	rights_str(RT_LIST | RT_STAT, s, sizeof(s));
	assert_string_equal(s, "list, stat");
	rights_str(0, s, sizeof(s));
	assert_string_equal(s, "none");
	rights_str(RT_TRUSTED | RT_READ | RT_WRITE | RT_TREE | RT_LIST | RT_STAT | RT_EXEC, s, 12);
	assert_int_equal(strlen(s), 11); /* truncated, terminated */
	term_size(512, s, sizeof(s));
	assert_string_equal(s, "512 B");
	term_size(1536, s, sizeof(s));
	assert_string_equal(s, "1.5 KiB");
	term_size(3ull << 30, s, sizeof(s));
	assert_string_equal(s, "3.0 GiB");
}

static void test_no_color_off_a_tty(void **state)
{
	(void)state;
	/* the unit tests run with stdout in a pipe or a file under make */
	if (!isatty(STDOUT_FILENO)) {
		assert_false(term_color(stdout));
		assert_string_equal(term_style(stdout, TS_RED), "");
	}
	assert_string_equal(term_style(NULL, TS_RED), "");
}

/* ---- log parsing ----------------------------------------------------------- */

static char logpath[64];

static void write_log(const char *text)
{
	strcpy(logpath, "/tmp/sgxpy-test-ux-XXXXXX");
	int fd = mkstemp(logpath);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void test_parse_run_log(void **state)
{
	(void)state;
	write_log(
		"{\"event\":\"start\",\"pid\":1,\"image\":\"root\",\"time\":4000000000.0}\n"
		"{\"event\":\"violation\",\"pid\":5,\"process\":\"python3 a.py\",\"image\":\"img\","
		"\"op\":\"open\",\"path\":\"/etc/passwd\",\"reason\":\"not in manifest\",\"time\":2}\n"
		"{\"event\":\"violation\",\"pid\":5,\"process\":\"python3 a.py\",\"image\":\"img\","
		"\"op\":\"open\",\"path\":\"/x/y\",\"reason\":\"write to read-only path\",\"time\":2}\n"
		"{\"event\":\"violation\",\"pid\":5,\"process\":\"python3 a.py\",\"image\":\"img\","
		"\"op\":\"open\",\"path\":\"/usr/lib/m.py\",\"reason\":\"hash mismatch\",\"time\":2}\n"
		"{\"event\":\"violation\",\"pid\":6,\"process\":\"python3 a.py\",\"image\":\"img\","
		"\"op\":\"exec\",\"path\":\"/bin/ls\",\"reason\":\"exec not allowed\",\"time\":2}\n"
		"{\"event\":\"violation\",\"pid\":6,\"process\":\"ls\",\"image\":\"img\","
		"\"op\":\"open\",\"path\":\"/etc/passwd\",\"reason\":\"not in manifest\",\"time\":2}\n"
		"{\"event\":\"exec\",\"pid\":6,\"image\":\"child\",\"detail\":\"/bin/x\",\"time\":3}\n"
		"{\"event\":\"violation\",\"pid\":6,\"process\":\"x\",\"image\":\"child\","
		"\"op\":\"open\",\"path\":\"/etc/hostname\",\"reason\":\"not in manifest\",\"time\":4}\n"
		"not json at all\n"
		"{\"event\":\"end\",\"detail\":\"status 0\",\"time\":5}\n");
	struct fold_log log = {0};
	struct sg_err err;
	assert_int_equal(fold_parse_log(logpath, &log, &err), 0);
	unlink(logpath);
	assert_int_equal(log.lines, 10);
	assert_int_equal(log.ignored, 1);
	assert_int_equal(log.n, 6);
	assert_int_equal(log.e[0].kind, FOLD_READ); /* exists, not changed since the run started */
	assert_string_equal(log.e[0].image, "img");
	assert_int_equal(log.e[1].kind, FOLD_WRITE);
	assert_int_equal(log.e[2].kind, FOLD_REHASH);
	assert_int_equal(log.e[3].kind, FOLD_SKIP);
	assert_non_null(strstr(log.e[3].note, "/bin/ls"));
	assert_int_equal(log.e[4].kind, FOLD_SKIP); /* after the unlisted exec */
	assert_int_equal(log.e[5].kind, FOLD_READ); /* a listed exec gave pid 6 an image */
	assert_string_equal(log.e[5].image, "child");
	fold_log_free(&log);
}

static void test_parse_gramine_log(void **state)
{
	(void)state;
	write_log("[P1:T1:python3.11] warning: Allowing access to unknown file '/etc/hostname' "
		  "due to file_check_policy settings.\n"
		  "[P2:T3:sh] warning: Allowing access to unknown file '/nonexistent/out' due to "
		  "file_check_policy settings.\n"
		  "Allowing access to unknown file due to file_check_policy settings: file:/etc/hosts\n"
		  "[P1:T1:python3.11] warning: Allowing access to unknown file 'rel/name' due to "
		  "file_check_policy.\n"
		  "[P1:T1:python3.11] error: something else\n");
	struct fold_log log = {0};
	struct sg_err err;
	assert_int_equal(fold_parse_log(logpath, &log, &err), 0);
	unlink(logpath);
	assert_int_equal(log.n, 4);
	assert_null(log.e[0].image); /* the root image */
	assert_string_equal(log.e[0].path, "/etc/hostname");
	assert_int_equal(log.e[0].kind, FOLD_READ);
	assert_int_equal(log.e[1].kind, FOLD_WRITE);
	assert_string_equal(log.e[2].path, "/etc/hosts");
	assert_int_equal(log.e[3].kind, FOLD_SKIP);
	assert_int_equal(log.ignored, 1);
	fold_log_free(&log);
}

static void test_parse_errors(void **state)
{
	(void)state;
	struct fold_log log = {0};
	struct sg_err err;
	write_log("hello\nworld\n");
	assert_int_equal(fold_parse_log(logpath, &log, &err), -1);
	assert_non_null(strstr(err.msg, logpath));
	unlink(logpath);
	assert_int_equal(fold_parse_log("/nonexistent/log", &log, &err), -1);
	assert_non_null(strstr(err.msg, "/nonexistent/log"));
	fold_log_free(&log);
}

/* ---- explain --------------------------------------------------------------- */

static void test_explain_rules(void **state)
{
	(void)state;
	struct mf_model m = {0};
	char out[512], acc[256];
	explain_rule(&m, "/proc/123/status", ACC_READ, out, sizeof(out));
	assert_non_null(strstr(out, "rule 2"));
	explain_rule(&m, "/tmp/tmpabcd1234/x", ACC_CREATE | ACC_WRITE, out, sizeof(out));
	assert_non_null(strstr(out, "rule 5"));
	explain_rule(&m, "/srv/app/__pycache__/m.cpython-311.pyc", ACC_WRITE, out, sizeof(out));
	assert_non_null(strstr(out, "rule 6"));
	explain_rule(&m, "/srv/app/out.txt", ACC_WRITE, out, sizeof(out));
	assert_non_null(strstr(out, "rule 7"));
	explain_rule(&m, "/etc/hostname", ACC_READ, out, sizeof(out));
	assert_non_null(strstr(out, "rule 9"));
	explain_rule(&m, "/usr/lib/x.py", ACC_PYC_STAT, out, sizeof(out));
	assert_non_null(strstr(out, "rule 11"));
	explain_rule(&m, "/nope", ACC_PROBE, out, sizeof(out));
	assert_non_null(strstr(out, "failed"));
	char *trust[] = {(char *)"/srv"};
	m.opt.trust = trust;
	m.opt.n_trust = 1;
	explain_rule(&m, "/srv/app/out.txt", ACC_WRITE, out, sizeof(out));
	assert_string_equal(out, "--trust /srv: hashed even if written");
	access_words(ACC_READ | ACC_STAT, acc, sizeof(acc));
	assert_string_equal(acc, "read, stat");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_diff_kinds),       cmocka_unit_test(test_rights_and_sizes),
		cmocka_unit_test(test_no_color_off_a_tty), cmocka_unit_test(test_parse_run_log),
		cmocka_unit_test(test_parse_gramine_log), cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_explain_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
