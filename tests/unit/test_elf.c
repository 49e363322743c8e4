/* test_elf.c - what the kernel loads at exec: PT_INTERP and "#!" lines, as
 * the tracer records them and the supervisor verifies them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "common/elf.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int fd_with(const char *text)
{
	char path[] = "/tmp/sgxpy-test-elf-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	return fd;
}

static int parse(const char *text, char *interp, char *arg)
{
	int fd = fd_with(text);
	int rc = shebang_parse(fd, interp, 64, arg, 64);
	close(fd);
	return rc;
}

static void test_shebang(void **state)
{
	(void)state;
	char interp[64], arg[64];
	assert_int_equal(parse("#!/bin/sh\necho\n", interp, arg), 0);
	assert_string_equal(interp, "/bin/sh");
	assert_string_equal(arg, "");
	assert_int_equal(parse("#! /usr/bin/env  python3 -u \t\nx", interp, arg), 0);
	assert_string_equal(interp, "/usr/bin/env");
	assert_string_equal(arg, "python3 -u");
	assert_int_equal(parse("#!/usr/bin/python3", interp, arg), 0); /* no newline */
	assert_string_equal(interp, "/usr/bin/python3");
	assert_int_equal(parse("#!\n", interp, arg), -1);
	assert_int_equal(parse("#", interp, arg), 1);
	assert_int_equal(parse("\x7f" "ELF", interp, arg), 1);
	assert_int_equal(parse("import os\n", interp, arg), 1);
}

static void test_elf_of_real_programs(void **state)
{
	(void)state;
	char buf[256];
	int fd = open("/bin/true", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(elf_interp(fd, buf, sizeof(buf)), 0);
	assert_true(buf[0] == '/' && strstr(buf, "ld-linux") != NULL);
	assert_int_equal(elf_interp(fd, buf, 4), -1); /* too long for the buffer */
	close(fd);
	fd = fd_with("#!/bin/sh\n");
	assert_int_equal(elf_interp(fd, buf, sizeof(buf)), 1);
	close(fd);
	fd = fd_with("\x7f" "ELF\x02"); /* truncated header */
	assert_int_equal(elf_interp(fd, buf, sizeof(buf)), 1);
	close(fd);
}

static bool has_name(char **names, size_t n, const char *want)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], want) == 0)
			return true;
	return false;
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
}

/* This test binary is linked against libcmocka and libc: its DT_NEEDED
 * entries name them, as the dynamic loader will look them up. */
static void test_needed_of_this_binary(void **state)
{
	(void)state;
	char *names[16];
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	size_t n = elf_needed(fd, names, 16);
	assert_true(has_name(names, n, "libc.so.6"));
	assert_true(has_name(names, n, "libcmocka.so.0"));
	free_names(names, n);
	assert_int_equal(elf_needed(fd, names, 1), 1); /* max respected */
	free_names(names, 1);
	/* the first 4 KiB only: headers point past the end, nothing is trusted */
	char head[4096];
	assert_int_equal(pread(fd, head, sizeof(head), 0), (ssize_t)sizeof(head));
	close(fd);
	char path[] = "/tmp/sgxpy-test-elf-XXXXXX";
	fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(write(fd, head, sizeof(head)), (ssize_t)sizeof(head));
	n = elf_needed(fd, names, 16);
	free_names(names, n);
	close(fd);
	fd = fd_with("#!/bin/sh\n");
	assert_int_equal(elf_needed(fd, names, 16), 0);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shebang),
		cmocka_unit_test(test_elf_of_real_programs),
		cmocka_unit_test(test_needed_of_this_binary),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
