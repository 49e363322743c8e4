/* test_manifest_rules.c - path classification rules (src/manifest/rules.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "manifest/manifest.h"

#include <stdlib.h>
#include <string.h>

static void check_pseudo(const char *path, const char *want, bool want_tree)
{
	bool tree = !want_tree;
	char *got = rules_pseudo(path, &tree);
	if (!want) {
		assert_null(got);
		return;
	}
	assert_non_null(got);
	assert_string_equal(got, want);
	assert_int_equal(tree, want_tree);
	free(got);
}

static void test_pseudo(void **state)
{
	(void)state;
	check_pseudo("/dev/null", "/dev/null", false);
	check_pseudo("/dev/urandom", "/dev/urandom", false);
	check_pseudo("/proc/self/fd/3", "/proc/self", true);
	check_pseudo("/proc/4242/status", "/proc/self", true);
	check_pseudo("/proc/4242", "/proc/self", true);
	check_pseudo("/proc/meminfo", "/proc/meminfo", false);
	check_pseudo("/sys/devices/system/cpu/online", "/sys/devices/system/cpu", true);
	check_pseudo("/dev/shm/sem.mp-x1", "/dev/shm", true);
	check_pseudo("/devices/x", NULL, false);
	check_pseudo("/usr/lib/python3.11/os.py", NULL, false);
	check_pseudo("/process", NULL, false);
}

static void test_volatile(void **state)
{
	(void)state;
	assert_string_equal(rules_volatile_root("/tmp/pymp-abc/x", NULL), "/tmp");
	assert_string_equal(rules_volatile_root("/var/tmp/x", NULL), "/var/tmp");
	assert_string_equal(rules_volatile_root("/scratch/me/x", "/scratch/me"), "/scratch/me");
	assert_null(rules_volatile_root("/tmpfoo/x", NULL));
	assert_null(rules_volatile_root("/srv/app/x", "/"));
}

static void test_pycache(void **state)
{
	(void)state;
	assert_true(rules_is_pycache("/a/__pycache__/m.cpython-311.pyc"));
	assert_true(rules_is_pycache("/a/__pycache__/m.cpython-311.pyc.140234"));
	assert_true(rules_is_pycache("/a/__pycache__"));
	assert_false(rules_is_pycache("/a/m.pyc"));
	assert_false(rules_is_pycache("/a/__pycache__/m.pyc.bak"));
	assert_false(rules_is_pycache("/a/__pycache__/notes.txt"));

	char *s = rules_pyc_source("/usr/lib/python3.11/__pycache__/os.cpython-311.pyc");
	assert_string_equal(s, "/usr/lib/python3.11/os.py");
	free(s);
	s = rules_pyc_source("/a/b/__pycache__/__init__.cpython-311.opt-1.pyc");
	assert_string_equal(s, "/a/b/__init__.py");
	free(s);
	assert_null(rules_pyc_source("/a/b/os.cpython-311.pyc"));
	assert_null(rules_pyc_source("/a/__pycache__/x.txt"));
	assert_null(rules_pyc_source("/__pycache__/.pyc"));
}

static void test_random_names(void **state)
{
	(void)state;
	assert_true(rules_random_name("/srv/out/tmpa1b2c3d4"));
	assert_true(rules_random_name("/srv/out/job-123456.log"));
	assert_false(rules_random_name("/srv/out/report-2024.csv"));
	assert_false(rules_random_name("/srv/out/out.txt"));
	assert_false(rules_random_name("/srv/out/tmp"));
}

static void test_gramine_provides(void **state)
{
	(void)state;
	assert_true(rules_gramine_provides("/lib/x86_64-linux-gnu/libc.so.6"));
	assert_true(rules_gramine_provides("/lib64/ld-linux-x86-64.so.2"));
	assert_true(rules_gramine_provides("/usr/lib/x86_64-linux-gnu/libnss_files.so.2"));
	assert_false(rules_gramine_provides("/lib/x86_64-linux-gnu/libz.so.1"));
	assert_false(rules_gramine_provides("/srv/app/libc.so.6"));
}

static void test_env(void **state)
{
	(void)state;
	assert_true(rules_env_exported("PATH"));
	assert_true(rules_env_exported("LC_ALL"));
	assert_true(rules_env_exported("PYTHONHASHSEED"));
	assert_true(rules_env_exported("OMP_NUM_THREADS"));
	assert_false(rules_env_exported("SSH_AUTH_SOCK"));
	assert_false(rules_env_exported("AWS_SECRET_ACCESS_KEY"));
}

static void check_top(const char *path, const char *want, const char *want_site)
{
	size_t site_len = 0;
	char *got = widen_top_of(path, &site_len);
	if (!want) {
		assert_null(got);
		return;
	}
	assert_non_null(got);
	assert_string_equal(got, want);
	assert_int_equal(site_len, strlen(want_site));
	assert_memory_equal(path, want_site, site_len);
	free(got);
}

static void test_widen_top(void **state)
{
	(void)state;
	const char *dp = "/usr/lib/python3/dist-packages", *std = "/usr/lib/python3.11";
	check_top("/usr/lib/python3/dist-packages/numpy/core/_methods.py", "numpy", dp);
	check_top("/usr/lib/python3/dist-packages/numpy/__pycache__/x.cpython-311.pyc", "numpy", dp);
	check_top("/usr/lib/python3/dist-packages/six.py", "six", dp);
	check_top("/usr/lib/python3/dist-packages/__pycache__/six.cpython-311.pyc", "six", dp);
	check_top("/usr/lib/python3/dist-packages/_cffi_backend.cpython-311-x86_64-linux-gnu.so",
		  "_cffi_backend", dp);
	check_top("/usr/lib/python3.11/json/decoder.py", "json", std);
	check_top("/usr/lib/python3.11/os.py", "os", std);
	check_top("/usr/lib/python3.11/lib-dynload/_json.cpython-311-x86_64-linux-gnu.so", "_json",
		  "/usr/lib/python3.11/lib-dynload");
	/* site-packages wins over the pythonX.Y above it, and over one further down */
	check_top("/v/lib/python3.11/site-packages/pkg_a/m.py", "pkg_a", "/v/lib/python3.11/site-packages");
	check_top("/v/site-packages/a/site-packages/b/m.py", "a", "/v/site-packages");
	/* not an importable name, or not in an import directory */
	check_top("/usr/lib/python3/dist-packages/numpy-1.24.2.egg-info/PKG-INFO", NULL, NULL);
	check_top("/usr/lib/python3/dist-packages/attrs-22.2.0.dist-info/RECORD", NULL, NULL);
	check_top("/usr/lib/python3/dist-packages/numpy.libs/libz.so", NULL, NULL);
	check_top("/usr/lib/python3/dist-packages/distutils-precedence.pth", NULL, NULL);
	check_top("/usr/lib/python3/dist-packages/numpy", NULL, NULL);
	check_top("/usr/lib/python3/dist-packages", NULL, NULL);
	check_top("/usr/lib/python3.11/lib-dynload", NULL, NULL);
	check_top("/usr/lib/python3/x.py", NULL, NULL);
	check_top("/srv/python3.x/m.py", NULL, NULL);
	check_top("/lib-dynload/m.py", NULL, NULL);
	check_top("/usr/lib/python3.11/json/lib-dynload/m.py", "json", std);
	check_top("/usr/lib/python3.11/config-3.11-x86_64-linux-gnu/Makefile", NULL, NULL);
	check_top("/usr/lib/python3.11/2to3/m.py", NULL, NULL);
}

static void test_widen_names(void **state)
{
	(void)state;
	assert_true(widen_name_ok("numpy"));
	assert_true(widen_name_ok("_cffi_backend"));
	assert_true(widen_name_ok("*"));
	assert_false(widen_name_ok(""));
	assert_false(widen_name_ok("numpy.linalg"));
	assert_false(widen_name_ok("2to3"));
	assert_false(widen_name_ok("pkg-a"));
	assert_false(widen_name_ok("**"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pseudo),        cmocka_unit_test(test_volatile),
		cmocka_unit_test(test_pycache),       cmocka_unit_test(test_random_names),
		cmocka_unit_test(test_gramine_provides), cmocka_unit_test(test_env),
		cmocka_unit_test(test_widen_top),     cmocka_unit_test(test_widen_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
