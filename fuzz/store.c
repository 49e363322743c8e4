/* fuzz/store.c - the trace store reader (src/common/store.c) and the trace
 * consumer that parses its JSON columns and groups processes into images
 * (src/manifest/build.c mf_build).
 *
 * Each input is written to a file and opened as a trace.  Properties: every
 * call returns 0 or -1; -1 always comes with a message; rows handed to the
 * callbacks have the fields the reader promises (kind, path and mode not
 * NULL) and every string is readable to its NUL (ASan checks the reads);
 * the reader never writes: the file's bytes are unchanged afterwards and no
 * journal/WAL file is left beside it (this found the WAL side-file bug, fixed
 * in cd97c3e). */
#include "fuzz_common.h"
#include "common/store.h"
#include "manifest/manifest.h"

#include <dirent.h>
#include <stdbool.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char path[4096], dir[4096];
static size_t sink;

static void touch(const char *s)
{
	if (s)
		sink += strlen(s);
}

static int on_proc(void *ctx, int run, const struct store_proc *p)
{
	(void)ctx;
	if (!p->kind)
		fz_fail("proc row without kind reached the callback");
	touch(p->kind), touch(p->exe), touch(p->argv_json), touch(p->env_json), touch(p->cwd);
	touch(p->abi);
	sink += (size_t)run + (size_t)p->id;
	return 0;
}

static int on_file(void *ctx, int run, const struct store_file *f)
{
	(void)ctx;
	if (!f->path || !f->mode)
		fz_fail("file row without path or mode reached the callback");
	touch(f->path), touch(f->mode), touch(f->target);
	sink += (size_t)run + (size_t)f->proc;
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	snprintf(dir, sizeof(dir), "%s/store", fz_scratch());
	mkdir(dir, 0755);
	snprintf(path, sizeof(path), "%s/in.trace", dir);
	return 0;
}

static void expect_only_input(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strcmp(e->d_name, "in.trace"))
			fz_fail("the reader left %s beside the trace", e->d_name);
	closedir(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_write(path, data, size);
	struct store st;
	struct sg_err err = {{0}};
	if (store_open_read(&st, path, &err) == 0) {
		err.msg[0] = '\0';
		int a = store_foreach_proc(&st, on_proc, NULL, &err);
		if (a != 0 && (a != -1 || !err.msg[0]))
			fz_fail("store_foreach_proc returned %d, message '%s'", a, err.msg);
		err.msg[0] = '\0';
		int b = store_foreach_file(&st, on_file, NULL, &err);
		if (b != 0 && (b != -1 || !err.msg[0]))
			fz_fail("store_foreach_file returned %d, message '%s'", b, err.msg);
		store_close(&st);
	} else if (!err.msg[0]) {
		fz_fail("store_open_read failed without a message");
	}
	/* The manifest stage's reading of the same file. */
	struct mf_model m = {0};
	char *traces[1] = {path};
	err.msg[0] = '\0';
	int rc = mf_build(&m, traces, 1, &err);
	if (rc != 0 && (rc != -1 || !err.msg[0]))
		fz_fail("mf_build returned %d, message '%s'", rc, err.msg);
	mf_model_free(&m);
	/* Read-only: same bytes, nothing beside it. */
	char *back = NULL;
	size_t n = 0;
	FILE *f = fopen(path, "rb");
	if (f) {
		back = malloc(size + 1);
		n = fread(back, 1, size + 1, f);
		fclose(f);
	}
	if (n != size || (size && memcmp(back, data, size) != 0))
		fz_fail("the reader changed the trace file");
	free(back);
	expect_only_input();
	return 0;
}
