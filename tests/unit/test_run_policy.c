/* test_run_policy.c - the supervisor's policy as a pure function, the syscall
 * table, the ELF interpreter reader and the verifier, without any process. */
#include "run/run.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>

static struct bundle_file trusted[] = {
	{.path = "/app/app.py", .size = 3},
	{.path = "/app/data.csv", .size = 3},
	{.path = "/tmp/out/model.bin", .size = 3}, /* trusted inside a writable tree */
	{.path = "/usr/bin/python3.11", .size = 3},
};
static struct bundle_allow allowed[] = {
	{.path = "/dev/null", .tree = false, .write = true},
	{.path = "/etc/hosts", .tree = false, .write = false},
	{.path = "/proc/self/fd", .tree = false, .write = false},
	{.path = "/proc/self/status", .tree = false, .write = false},
	{.path = "/tmp/build", .tree = true, .write = true, .code = true},
	{.path = "/tmp/out", .tree = true, .write = true},
}; /* sorted, as loaded */
static char *lists[] = {"/app", "/usr/lib/python3.11"};

static struct bundle_image img = {
	.id = "python3.11-app.py-00000000",
	.program = "/usr/bin/python3.11",
	.trusted = trusted,
	.n_trusted = ARRAY_SIZE(trusted),
	.allowed = allowed,
	.n_allowed = ARRAY_SIZE(allowed),
	.list = lists,
	.n_list = ARRAY_SIZE(lists),
};

static struct decision decide(enum run_op op, const char *path)
{
	struct decision d;
	policy_decide(&img, op, path, 100, &d);
	return d;
}

static void test_trusted_read_is_verified(void **state)
{
	(void)state;
	struct decision d = decide(OP_OPEN_READ, "/app/app.py");
	assert_int_equal(d.verdict, V_TRUSTED);
	assert_ptr_equal(d.file, &trusted[0]);
}

static void test_write_to_trusted_refused_even_in_writable_tree(void **state)
{
	(void)state;
	struct decision d = decide(OP_OPEN_WRITE, "/app/data.csv");
	assert_int_equal(d.verdict, V_DENY);
	assert_int_equal(d.reason, R_WRITE_TRUSTED);
	d = decide(OP_OPEN_WRITE, "/tmp/out/model.bin");
	assert_int_equal(d.reason, R_WRITE_TRUSTED);
	/* its neighbours in the tree are writable */
	d = decide(OP_OPEN_WRITE, "/tmp/out/result.txt");
	assert_int_equal(d.verdict, V_ALLOWED);
}

static void test_allow_rules(void **state)
{
	(void)state;
	assert_int_equal(decide(OP_OPEN_WRITE, "/dev/null").verdict, V_ALLOWED);
	assert_int_equal(decide(OP_OPEN_READ, "/etc/hosts").verdict, V_ALLOWED);
	struct decision d = decide(OP_OPEN_WRITE, "/etc/hosts");
	assert_int_equal(d.verdict, V_DENY);
	assert_int_equal(d.reason, R_WRITE_READONLY);
	/* an exact rule is not a tree */
	assert_int_equal(decide(OP_OPEN_READ, "/etc/hosts/x").reason, R_NOT_IN_MANIFEST);
	assert_int_equal(decide(OP_OPEN_READ, "/tmp/out/a/b/c").verdict, V_ALLOWED);
}

/* An allowed path is unverified: Python code is not read from it, unless the
 * rule is marked code (--allow-built-code); written, it may be. */
static void test_no_python_code_from_allowed_paths(void **state)
{
	(void)state;
	const char *code[] = {"/tmp/out/json.py", "/tmp/out/__pycache__/json.cpython-311.pyc",
			      "/tmp/out/site-packages/evil.pth", "/tmp/out/x.pyw",
			      "/tmp/out/venv/pyvenv.cfg", "/tmp/out/venv/bin/python3._pth"};
	for (size_t i = 0; i < ARRAY_SIZE(code); i++) {
		struct decision d = decide(OP_OPEN_READ, code[i]);
		assert_int_equal(d.verdict, V_DENY);
		assert_int_equal(d.reason, R_UNVERIFIED_CODE);
		assert_int_equal(decide(OP_OPEN_WRITE, code[i]).verdict, V_ALLOWED);
	}
	assert_int_equal(decide(OP_OPEN_READ, "/tmp/out/data.pyx.csv").verdict, V_ALLOWED);
	assert_int_equal(decide(OP_OPEN_READ, "/tmp/out/py/notes").verdict, V_ALLOWED);
	assert_int_equal(decide(OP_OPEN_READ, "/tmp/build/gen.py").verdict, V_ALLOWED);
	assert_string_equal(reason_str(R_UNVERIFIED_CODE), "code under an allowed path");
}

static void test_lists_and_unlisted(void **state)
{
	(void)state;
	assert_int_equal(decide(OP_OPEN_READ, "/usr/lib/python3.11").verdict, V_ALLOWED);
	/* a listed directory may be read, not written, and not its files */
	assert_int_equal(decide(OP_OPEN_WRITE, "/app").reason, R_NOT_IN_MANIFEST);
	assert_int_equal(decide(OP_OPEN_READ, "/app/evil.py").reason, R_NOT_IN_MANIFEST);
	assert_int_equal(decide(OP_OPEN_READ, "relative").reason, R_NOT_IN_MANIFEST);
	struct decision d;
	policy_decide(NULL, OP_OPEN_READ, "/app/app.py", 1, &d);
	assert_int_equal(d.verdict, V_DENY);
}

static void test_magic_links(void **state)
{
	(void)state;
	const char *magic[] = {
		"/proc/self/fd/3", "/proc/thread-self/fd/1", "/proc/100/fd/0",
		"/proc/self/root", "/proc/self/root/app/app.py", "/proc/self/cwd/x",
		"/proc/self/exe", "/proc/self/map_files/400000-401000",
		"/proc/self/task/101/fd/3", "/proc/self/task/101/root/etc",
	};
	for (size_t i = 0; i < ARRAY_SIZE(magic); i++) {
		assert_true(policy_is_magic_link(magic[i]));
		assert_int_equal(decide(OP_OPEN_READ, magic[i]).reason, R_MAGIC_LINK);
	}
	assert_false(policy_is_magic_link("/proc/self/fd"));
	assert_false(policy_is_magic_link("/proc/self/status"));
	assert_false(policy_is_magic_link("/proc/cpuinfo"));
	assert_false(policy_is_magic_link("/procfs/self/fd/3"));
	/* the listing of one's own fds is allowed by the manifest */
	assert_int_equal(decide(OP_OPEN_READ, "/proc/self/fd").verdict, V_ALLOWED);
}

static void test_other_processes_proc(void **state)
{
	(void)state;
	struct decision d;
	policy_decide(&img, OP_OPEN_READ, "/proc/999/status", 100, &d);
	assert_int_equal(d.reason, R_MAGIC_LINK);
	policy_decide(&img, OP_OPEN_READ, "/proc/100/mem", 100, &d);
	assert_int_equal(d.reason, R_NOT_IN_MANIFEST); /* own, but not listed */
}

static void test_exec_needs_trusted(void **state)
{
	(void)state;
	assert_int_equal(decide(OP_EXEC, "/usr/bin/python3.11").verdict, V_TRUSTED);
	assert_int_equal(decide(OP_EXEC, "/bin/sh").reason, R_EXEC_NOT_ALLOWED);
	assert_int_equal(decide(OP_EXEC, "/tmp/out/dropped").reason, R_EXEC_NOT_ALLOWED);
}

static void test_reason_strings(void **state)
{
	(void)state;
	assert_string_equal(reason_str(R_NOT_IN_MANIFEST), "not in manifest");
	assert_string_equal(reason_str(R_HASH_MISMATCH), "hash mismatch");
	assert_string_equal(reason_str(R_WRITE_TRUSTED), "write to trusted file");
	assert_string_equal(reason_str(R_EXEC_NOT_ALLOWED), "exec not allowed");
	assert_string_equal(reason_str(R_BLOCKED_SYSCALL), "blocked syscall");
	assert_string_equal(reason_str(R_DIR_MOVED), "relative to a directory moved since the start");
}

static void test_loader_env(void **state)
{
	(void)state;
	assert_true(policy_env_is_loader("LD_PRELOAD"));
	assert_true(policy_env_is_loader("LD_LIBRARY_PATH"));
	assert_true(policy_env_is_loader("PYTHONPATH"));
	assert_true(policy_env_is_loader("PYTHONHOME"));
	assert_true(policy_env_is_loader("PYTHONSTARTUP"));
	assert_true(policy_env_is_loader("BASH_ENV=/tmp/x.sh"));
	assert_true(policy_env_is_loader("BASH_FUNC_echo%%=() { :; }"));
	assert_true(policy_env_is_loader("PS4=$(id)"));
	assert_false(policy_env_is_loader("BASH=/bin/bash"));
	assert_false(policy_env_is_loader("ENVIRONMENT=x"));
	assert_false(policy_env_is_loader("PATH"));
	assert_false(policy_env_is_loader("PYTHONDONTWRITEBYTECODE"));
	assert_false(policy_env_is_loader("LD_PRELOAD_X"));
}

static void test_filter_table(void **state)
{
	(void)state;
	assert_true(filter_is_notified(SYS_openat));
	assert_true(filter_is_notified(SYS_open));
	assert_true(filter_is_notified(SYS_execve));
	assert_false(filter_is_notified(SYS_newfstatat)); /* metadata: not intercepted */
	assert_false(filter_is_notified(SYS_io_uring_setup)); /* refused in the kernel */
	assert_false(filter_is_notified(SYS_read));
	for (size_t i = 0; i < filter_table_len; i++) {
		assert_non_null(filter_table[i].why);
		assert_true(strlen(filter_table[i].why) > 10);
	}
}

static void test_elf_interp(void **state)
{
	(void)state;
	char buf[256];
	int fd = open("/usr/bin/python3.11", O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(elf_interp(fd, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/lib64/ld-linux-x86-64.so.2");
	close(fd);
	fd = open("/etc/hostname", O_RDONLY);
	if (fd >= 0) {
		assert_int_equal(elf_interp(fd, buf, sizeof(buf)), 1);
		close(fd);
	}
}

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void test_verifier_open(void **state)
{
	(void)state;
	for (int seal = 0; seal < 2; seal++) {
		char dir[] = "/tmp/sgxpy-unit-XXXXXX";
		assert_non_null(mkdtemp(dir));
		char *path = xasprintf("%s/f", dir);
		write_file(path, "abc");
		struct bundle_file want = {.path = path, .size = 3};
		/* sha256("abc") */
		assert_int_equal(hex_decode("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
					    want.sha256, 32), 0);
		struct verifier *v;
		struct sg_err err;
		assert_int_equal(verifier_new(2, seal, &v, &err), 0);
		bool mismatch;
		int oerr;
		struct file_key k;
		for (int round = 0; round < 2; round++) { /* second: from the cache */
			int fd = verifier_open(v, path, 0, &want, false, &mismatch, &oerr, &k);
			assert_true(fd >= 0);
			assert_false(mismatch);
			char buf[8] = {0};
			assert_int_equal(read(fd, buf, sizeof(buf)), 3);
			assert_string_equal(buf, "abc");
			assert_int_equal(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
			close(fd);
		}
		assert_true(verifier_key_trusted(v, &k));
		/* same size, other bytes: refused, whatever the cache said */
		write_file(path, "abd");
		assert_int_equal(verifier_open(v, path, 0, &want, false, &mismatch, &oerr, NULL), -1);
		assert_true(mismatch);
		unlink(path);
		assert_int_equal(verifier_open(v, path, 0, &want, false, &mismatch, &oerr, NULL), -1);
		assert_false(mismatch);
		assert_int_equal(oerr, ENOENT);
		/* a FIFO planted at a trusted path never blocks the supervisor */
		assert_int_equal(mkfifo(path, 0644), 0);
		assert_int_equal(verifier_open(v, path, 0, &want, false, &mismatch, &oerr, NULL), -1);
		assert_true(mismatch);
		unlink(path);
		verifier_free(v);
		rmdir(dir);
		free(path);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trusted_read_is_verified),
		cmocka_unit_test(test_write_to_trusted_refused_even_in_writable_tree),
		cmocka_unit_test(test_allow_rules),
		cmocka_unit_test(test_no_python_code_from_allowed_paths),
		cmocka_unit_test(test_lists_and_unlisted),
		cmocka_unit_test(test_magic_links),
		cmocka_unit_test(test_other_processes_proc),
		cmocka_unit_test(test_exec_needs_trusted),
		cmocka_unit_test(test_reason_strings),
		cmocka_unit_test(test_loader_env),
		cmocka_unit_test(test_filter_table),
		cmocka_unit_test(test_elf_interp),
		cmocka_unit_test(test_verifier_open),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
