/* test_hash.c - SHA-256 of buffers, fds, paths and the parallel hasher. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/hash.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *abc_hex = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

static void test_buf(void **state)
{
	(void)state;
	unsigned char h[32];
	char hex[65];
	sha256_buf("abc", 3, h);
	hex_encode(h, 32, hex);
	assert_string_equal(hex, abc_hex);
}

static void write_tmp(char *path, const void *data, size_t len)
{
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void test_fd_and_path(void **state)
{
	(void)state;
	char path[] = "/tmp/sgxpy-hash-XXXXXX";
	write_tmp(path, "abc", 3);
	int fd = open(path, O_RDONLY);
	unsigned char h[32];
	uint64_t size = 0;
	char hex[65];
	assert_int_equal(sha256_fd(fd, 0, h, &size), 0);
	close(fd);
	hex_encode(h, 32, hex);
	assert_string_equal(hex, abc_hex);
	assert_int_equal(size, 3);
	struct sg_err err;
	assert_int_equal(sha256_path(path, h, &size, &err), 0);
	assert_int_equal(sha256_path("/tmp", h, &size, &err), -1);
	assert_non_null(strstr(err.msg, "/tmp"));
	assert_int_equal(sha256_path("/nonexistent/x", h, &size, &err), -1);
	unlink(path);
}

/* Many files, a large one, a missing one and two names for one file. */
static void test_parallel(void **state)
{
	(void)state;
	enum { N = 40 };
	char paths[N][32];
	struct hash_job jobs[N + 2];
	size_t big = 5 << 20;
	char *data = malloc(big);
	for (size_t i = 0; i < big; i++)
		data[i] = (char)(i * 7);
	for (int i = 0; i < N; i++) {
		strcpy(paths[i], "/tmp/sgxpy-hash-XXXXXX");
		write_tmp(paths[i], data, i == 0 ? big : (size_t)i * 1000);
		jobs[i] = (struct hash_job){.path = paths[i]};
	}
	jobs[N] = (struct hash_job){.path = "/nonexistent/file"};
	jobs[N + 1] = (struct hash_job){.path = paths[3]};
	struct sg_err err;
	assert_int_equal(hash_files(jobs, N + 2, 3, "test", &err), 0);
	for (int i = 0; i < N; i++) {
		unsigned char h[32];
		size_t len = i == 0 ? big : (size_t)i * 1000;
		sha256_buf(data, len, h);
		assert_int_equal(jobs[i].status, 0);
		assert_int_equal(jobs[i].size, len);
		assert_memory_equal(jobs[i].sha256, h, 32);
	}
	assert_int_equal(jobs[N].status, ENOENT);
	assert_int_equal(jobs[N + 1].status, 0);
	assert_memory_equal(jobs[N + 1].sha256, jobs[3].sha256, 32);
	struct hash_stats st;
	hash_last_stats(&st);
	assert_int_equal(st.files, N); /* the duplicate was read once */
	for (int i = 0; i < N; i++)
		unlink(paths[i]);
	free(data);
	assert_int_equal(hash_files(NULL, 0, 0, "none", &err), 0);
}

/* verify's jobs say the size they expect: a file of another size is not read
 * (a huge sparse file planted at a trusted path costs nothing), reported with
 * its size and a zero digest, and counted in no hashed bytes. */
static void test_sized_jobs_skip_other_sizes(void **state)
{
	(void)state;
	char same[32] = "/tmp/sgxpy-hash-XXXXXX", other[32] = "/tmp/sgxpy-hash-XXXXXX";
	write_tmp(same, "abc", 3);
	write_tmp(other, "abcdef", 6);
	struct hash_job jobs[2] = {
		{.path = same, .sized = true, .expect_size = 3},
		{.path = other, .sized = true, .expect_size = 3},
	};
	struct sg_err err;
	assert_int_equal(hash_files(jobs, 2, 2, "test", &err), 0);
	unsigned char h[32], zero[32] = {0};
	sha256_buf("abc", 3, h);
	assert_int_equal(jobs[0].status, 0);
	assert_memory_equal(jobs[0].sha256, h, 32);
	assert_int_equal(jobs[1].status, 0);
	assert_int_equal(jobs[1].size, 6);
	assert_memory_equal(jobs[1].sha256, zero, 32);
	struct hash_stats st;
	hash_last_stats(&st);
	assert_int_equal(st.bytes, 3);
	unlink(same);
	unlink(other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf),
		cmocka_unit_test(test_fd_and_path),
		cmocka_unit_test(test_parallel),
		cmocka_unit_test(test_sized_jobs_skip_other_sizes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
