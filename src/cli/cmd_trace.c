/* cmd_trace.c - `sgxpy trace [-o TRACE] [--append] [--stat] [--exact] -- CMD [ARG...]` */
#include "cli/cli.h"
#include "common/exec_path.h"
#include "common/store.h"
#include "trace/tracer.h"

#include <getopt.h>
#include "common/utf8.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static const char usage[] =
	"usage: sgxpy trace [-o TRACE] [--append] [--stat] [--exact] -- CMD [ARG...]\n"
	"\n"
	"Run CMD as usual and record, for every process and thread of its tree,\n"
	"every file it opens, executes, maps, lists, creates or removes.\n"
	"Exits with CMD's status (128+N if it died of signal N).\n"
	"\n"
	"  -o, --output TRACE  trace store to write (default: sgxpy.trace)\n"
	"  -a, --append        add this run to an existing TRACE (runs merge later)\n"
	"      --stat          also stop on every stat/lstat/statx (slower; by default\n"
	"                      stat probes are implied by the files read and listed)\n"
	"      --exact         take every result from the kernel and stop on every\n"
	"                      stat and executable mmap too (slowest; by default the\n"
	"                      tracer checks read-only probes itself and reads\n"
	"                      executable mappings from /proc/PID/maps)\n"
	"  -v, --verbose       print what was recorded at the end (always on a terminal)\n"
	"  -h, --help          this text\n"
	"\n"
	"Exit status: CMD's own; 125 sgxpy failed; 126 CMD not executable; 127 CMD not found.\n";

static char *argv_json(char **argv)
{
	json_t *arr = json_array();
	for (; *argv; argv++)
		json_array_append_new(arr, json_bytes(*argv));
	char *s = json_dumps(arr, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(arr);
	return s;
}

int cmd_trace(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"output", required_argument, NULL, 'o'}, {"append", no_argument, NULL, 'a'},
		{"stat", no_argument, NULL, 'S'},         {"exact", no_argument, NULL, 'E'},
		{"verbose", no_argument, NULL, 'v'},      {"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *output = "sgxpy.trace";
	bool append = false, verbose = false;
	struct tracer_opts opts = {0};
	int c;
	while ((c = getopt_long(argc, argv, "+o:avh", longopts, NULL)) != -1) {
		switch (c) {
		case 'o': output = optarg; break;
		case 'a': append = true; break;
		case 'S': opts.with_stat = true; break;
		case 'E': opts.exact = true; break;
		case 'v': verbose = true; break;
		case 'h': return print_usage(usage);
		default: usage_error("bad option");
		}
	}
	if (optind >= argc)
		usage_error("no command given");
	char **cmd = argv + optind;

	struct sg_err err;
	cleanup_free char *program = NULL;
	int code = find_program(cmd[0], &program, &err);
	if (code)
		die(code, "%s", err.msg);

	struct stat sb;
	if (stat(output, &sb) == 0 && !S_ISREG(sb.st_mode))
		die(EXIT_WRAP_FAIL, "cannot write trace %s: not a regular file", output);
	struct store st;
	if (store_create(&st, output, append, &err) < 0)
		die(EXIT_WRAP_FAIL, "%s", err.msg);
	cleanup_free char *cwd = getcwd(NULL, 0);
	cleanup_free char *cmd_json = argv_json(cmd);
	if (store_begin_run(&st, cmd_json, cwd ? cwd : "/", &err) < 0) {
		store_abort(&st);
		die(EXIT_WRAP_FAIL, "%s", err.msg);
	}

	struct trace_stats stats = {0};
	int status = tracer_run(&st, program, cmd, &opts, &stats, &err);
	if (status < 0 || store_end_run(&st, status, &err) < 0 || store_commit(&st, &err) < 0) {
		store_abort(&st);
		die(EXIT_WRAP_FAIL, "%s", err.msg);
	}
	/* No live progress: the app owns the terminal while it runs, and our
	 * lines would interleave with its output.  A summary at the end, on a
	 * terminal (or with -v), says what was recorded. */
	if (verbose || isatty(STDERR_FILENO))
		fprintf(stderr,
			"sgxpy: %s: %lu processes, %lu threads, %lu execs, %lu records, "
			"%lu ptrace stops (%lu exit stops), %lu notifications -> %s\n",
			sg_command, stats.processes, stats.threads, stats.execs, stats.records, stats.stops,
			stats.exit_stops, stats.notifications, output);
	return status;
}
