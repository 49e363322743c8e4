/* cmd_show.c - `sgxpy show [--files] [--json] TRACE|BUNDLE`
 *
 * A trace is loaded into one JSON document (the --json output); the human
 * view is rendered from that same document, so both always agree. */
#include "cli/cli.h"
#include "common/store.h"
#include "common/strmap.h"

#include <getopt.h>
#include "common/utf8.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static const char usage[] =
	"usage: sgxpy show [--files] [--json] TRACE|BUNDLE\n"
	"\n"
	"Print a trace's process tree (program, argv, file counts per process) or\n"
	"a bundle's image tree.\n"
	"\n"
	"  -f, --files  list each process's files (path, access, result)\n"
	"  -j, --json   print JSON instead\n"
	"  -h, --help   this text\n";

struct loader {
	json_t *runs;         /* [{"id", "argv", "cwd", "exit_status", "processes": []}] */
	struct strmap procs;  /* "run:id" -> process object (borrowed) */
	struct strmap by_run; /* "run" -> run object (borrowed) */
	struct sg_err err;
};

/* A JSON column of the store (argv, env): NULL stays null; anything that is
 * not the JSON type the format says is a damaged trace. */
static json_t *json_column(const char *text, json_type want)
{
	if (!text)
		return json_null();
	json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
	if (v && json_typeof(v) != want) {
		json_decref(v);
		v = NULL;
	}
	return v;
}

static json_t *run_object(struct loader *ld, int run)
{
	char key[32];
	snprintf(key, sizeof(key), "%d", run);
	void **slot = strmap_put(&ld->by_run, key, NULL);
	if (!*slot) {
		json_t *r = json_pack("{s:i, s:[], s:o}", "id", run, "processes", "exit_status", json_null());
		json_array_append_new(ld->runs, r);
		*slot = r;
	}
	return *slot;
}

static json_t *int_or_null(long v)
{
	return v < 0 ? json_null() : json_integer(v);
}

static int load_proc(void *ctx, int run, const struct store_proc *p)
{
	struct loader *ld = ctx;
	json_t *argv = json_column(p->argv_json, JSON_ARRAY);
	if (!argv)
		return sg_fail(&ld->err, "damaged trace: process %d of run %d: argv is not a JSON array",
			       p->id, run);
	json_t *obj = json_pack("{s:i, s:i, s:o, s:s, s:o, s:o, s:o, s:i, s:o, s:o, s:s, s:[]}",
				"id", p->id, "pid", p->pid, "parent",
				p->parent ? json_integer(p->parent) : json_null(), "kind", p->kind,
				"exe", p->exe ? json_bytes(p->exe) : json_null(), "argv", argv, "cwd",
				p->cwd ? json_bytes(p->cwd) : json_null(), "threads", p->threads,
				"exit_status", int_or_null(p->exit_status), "peak_rss_kb",
				int_or_null(p->peak_rss_kb), "abi", p->abi ? p->abi : "x86_64", "files");
	if (!obj)
		return -1;
	json_array_append_new(json_object_get(run_object(ld, run), "processes"), obj);
	char key[48];
	snprintf(key, sizeof(key), "%d:%d", run, p->id);
	*strmap_put(&ld->procs, key, NULL) = obj;
	return 0;
}

static int load_file(void *ctx, int run, const struct store_file *f)
{
	struct loader *ld = ctx;
	char key[48];
	snprintf(key, sizeof(key), "%d:%d", run, f->proc);
	void **slot = strmap_get(&ld->procs, key);
	if (!slot)
		return 0; /* a record of a process the trace does not list: ignore */
	json_array_append_new(json_object_get(*slot, "files"),
			      json_pack("{s:o, s:s, s:i, s:o}", "path", json_bytes(f->path), "mode", f->mode, "err",
					f->err, "target", f->target ? json_bytes(f->target) : json_null()));
	return 0;
}

/* The parent's pid, climbing over exec links (same pid) to the forking process. */
static void fill_ppids(struct loader *ld, int run, json_t *procs)
{
	size_t i;
	json_t *p;
	json_array_foreach(procs, i, p)
	{
		json_int_t pid = json_integer_value(json_object_get(p, "pid")), ppid = 0;
		json_t *cur = p;
		for (int hops = 0; hops < 1000; hops++) {
			json_t *parent_id = json_object_get(cur, "parent");
			if (!json_is_integer(parent_id))
				break;
			char key[48];
			snprintf(key, sizeof(key), "%d:%lld", run, (long long)json_integer_value(parent_id));
			void **slot = strmap_get(&ld->procs, key);
			if (!slot)
				break;
			cur = *slot;
			json_int_t cpid = json_integer_value(json_object_get(cur, "pid"));
			if (cpid != pid) {
				ppid = cpid;
				break;
			}
		}
		json_object_set_new(p, "ppid", ppid ? json_integer(ppid) : json_null());
	}
}

static int load_runs(struct store *st, struct loader *ld, struct sg_err *err)
{
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(st->db, "SELECT id, argv, cwd, exit_status FROM runs ORDER BY id", -1,
			       &q, NULL) != SQLITE_OK)
		return sg_fail(err, "damaged trace: %s", sqlite3_errmsg(st->db));
	while (sqlite3_step(q) == SQLITE_ROW) {
		int run = sqlite3_column_int(q, 0);
		json_t *r = run_object(ld, run);
		json_t *argv = json_column((const char *)sqlite3_column_text(q, 1), JSON_ARRAY);
		if (!argv || json_is_null(argv)) {
			json_decref(argv);
			sqlite3_finalize(q);
			return sg_fail(err, "damaged trace: run %d: argv is not a JSON array", run);
		}
		json_object_set_new(r, "argv", argv);
		const char *cwd = (const char *)sqlite3_column_text(q, 2);
		json_object_set_new(r, "cwd", cwd ? json_bytes(cwd) : json_null());
		if (sqlite3_column_type(q, 3) != SQLITE_NULL)
			json_object_set_new(r, "exit_status", json_integer(sqlite3_column_int(q, 3)));
	}
	sqlite3_finalize(q);
	return 0;
}

static json_t *load_trace(const char *path, struct sg_err *err)
{
	struct store st;
	if (store_open_read(&st, path, err) < 0)
		return NULL;
	struct loader ld = {.runs = json_array(), .err = {""}};
	struct sg_err inner = {""};
	int rc = load_runs(&st, &ld, &inner);
	if (rc == 0)
		rc = store_foreach_proc(&st, load_proc, &ld, &inner);
	if (rc == 0)
		rc = store_foreach_file(&st, load_file, &ld, &inner);
	store_close(&st);
	size_t i;
	json_t *r;
	json_array_foreach(ld.runs, i, r)
		fill_ppids(&ld, (int)json_integer_value(json_object_get(r, "id")),
			   json_object_get(r, "processes"));
	strmap_free(&ld.procs);
	strmap_free(&ld.by_run);
	if (rc != 0) {
		json_decref(ld.runs);
		const char *why = ld.err.msg[0] ? ld.err.msg : inner.msg[0] ? inner.msg : "damaged trace";
		sg_fail(err, "%s: %s", path, why);
		return NULL;
	}
	return json_pack("{s:o}", "runs", ld.runs);
}

/* ---- human view ------------------------------------------------------- */

/* One line per process: control characters (a -c program's newlines) are
 * shown as C escapes, long arguments cut at 60 bytes. */
static void print_arg(const char *s)
{
	size_t shown = 0;
	for (; *s && shown < 60; s++, shown++) {
		unsigned char c = (unsigned char)*s;
		if (c == '\n')
			fputs("\\n", stdout);
		else if (c == '\t')
			fputs("\\t", stdout);
		else if (c < 0x20 || c == 0x7f)
			printf("\\x%02x", c);
		else
			putchar(c);
	}
	if (*s)
		fputs("...", stdout);
}

static void print_argv(json_t *argv)
{
	size_t i;
	json_t *a;
	json_array_foreach(argv, i, a)
	{
		const char *s = json_string_value(a);
		if (!s)
			continue;
		if (i > 0)
			putchar(' ');
		print_arg(s);
	}
}

static void print_counts(json_t *files)
{
	static const char *modes[] = {"read", "write", "create", "remove", "exec", "map",
				      "stat", "readlink", "symlink", "list", "chdir", "syscall"};
	size_t counts[ARRAY_SIZE(modes)] = {0}, failed = 0, i;
	json_t *f;
	json_array_foreach(files, i, f)
	{
		if (json_integer_value(json_object_get(f, "err")) != 0) {
			failed++;
			continue;
		}
		const char *m = json_string_value(json_object_get(f, "mode"));
		for (size_t k = 0; k < ARRAY_SIZE(modes); k++)
			if (m && strcmp(m, modes[k]) == 0)
				counts[k]++;
	}
	printf("  [");
	const char *sep = "";
	for (size_t k = 0; k < ARRAY_SIZE(modes); k++) {
		if (counts[k]) {
			printf("%s%s %zu", sep, modes[k], counts[k]);
			sep = ", ";
		}
	}
	if (failed)
		printf("%sfailed %zu", sep, failed);
	printf("]");
}

static void print_files(json_t *files, const char *indent)
{
	size_t i;
	json_t *f;
	json_array_foreach(files, i, f)
	{
		json_int_t e = json_integer_value(json_object_get(f, "err"));
		const char *target = json_string_value(json_object_get(f, "target"));
		printf("%s    %-8s %s", indent, json_string_value(json_object_get(f, "mode")),
		       json_string_value(json_object_get(f, "path")));
		if (target)
			printf(" -> %s", target);
		if (e > 0)
			printf("  (%s)", strerror((int)e));
		else if (e < 0)
			printf("  (result not known)");
		putchar('\n');
	}
}

static void print_proc_tree(json_t *procs, json_int_t parent, int depth, bool files)
{
	size_t i;
	json_t *p;
	json_array_foreach(procs, i, p)
	{
		json_t *par = json_object_get(p, "parent");
		if (parent ? json_integer_value(par) != parent : !json_is_null(par))
			continue;
		char indent[128];
		int n = depth * 2 < (int)sizeof(indent) - 1 ? depth * 2 : (int)sizeof(indent) - 1;
		memset(indent, ' ', (size_t)n);
		indent[n] = '\0';
		json_t *st = json_object_get(p, "exit_status");
		printf("%s%s pid %lld %s", indent, depth ? "└─" : "", 
		       (long long)json_integer_value(json_object_get(p, "pid")),
		       json_string_value(json_object_get(p, "kind")));
		if (json_is_string(json_object_get(p, "exe"))) {
			printf(" %s: ", json_string_value(json_object_get(p, "exe")));
			print_argv(json_object_get(p, "argv"));
		}
		json_int_t threads = json_integer_value(json_object_get(p, "threads"));
		if (threads > 1)
			printf("  threads %lld", (long long)threads);
		if (json_is_integer(st))
			printf("  exit %lld", (long long)json_integer_value(st));
		print_counts(json_object_get(p, "files"));
		putchar('\n');
		if (files)
			print_files(json_object_get(p, "files"), indent);
		print_proc_tree(procs, json_integer_value(json_object_get(p, "id")), depth + 1, files);
	}
}

static void print_trace(json_t *doc, bool files)
{
	size_t i;
	json_t *r;
	json_array_foreach(json_object_get(doc, "runs"), i, r)
	{
		printf("run %lld: ", (long long)json_integer_value(json_object_get(r, "id")));
		print_argv(json_object_get(r, "argv"));
		json_t *st = json_object_get(r, "exit_status");
		if (json_is_integer(st))
			printf("  (exit %lld)", (long long)json_integer_value(st));
		putchar('\n');
		print_proc_tree(json_object_get(r, "processes"), 0, 1, files);
	}
}

int cmd_show(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"files", no_argument, NULL, 'f'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	bool files = false, as_json = false;
	int c;
	while ((c = getopt_long(argc, argv, "fjh", longopts, NULL)) != -1) {
		switch (c) {
		case 'f': files = true; break;
		case 'j': as_json = true; break;
		case 'h': return print_usage(usage);
		default: usage_error("bad option");
		}
	}
	if (argc - optind != 1)
		usage_error("expected one TRACE or BUNDLE");
	const char *path = argv[optind];
	struct stat sb;
	if (stat(path, &sb) < 0)
		die_errno(EXIT_INPUT, "cannot open %s", path);
	if (S_ISDIR(sb.st_mode))
		return show_bundle(path, as_json);

	struct sg_err err;
	json_t *doc = load_trace(path, &err);
	if (!doc)
		die(EXIT_INPUT, "%s", err.msg);
	if (as_json) {
		char *s = json_dumps(doc, JSON_INDENT(1) | JSON_ENSURE_ASCII);
		puts(s);
		free(s);
	} else {
		print_trace(doc, files);
	}
	json_decref(doc);
	return EXIT_OK;
}
