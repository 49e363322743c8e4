/* cmd_build.c - `sgxpy build [-o BUNDLE] [--key KEY] -- CMD [ARG...]`: trace,
 * manifest and (with a key) sign in one go, through the same code paths as
 * `sgxpy trace`, `sgxpy manifest` and `sgxpy sign`, then print the image tree. */
#include "cli/cli.h"
#include "common/exec_path.h"
#include "common/path.h"
#include "common/term.h"
#include "manifest/manifest.h"
#include "manifest/origin.h"
#include "manifest/sign.h"
#include "trace/tracer.h"

#include <dirent.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static const char usage[] =
	"usage: sgxpy build [-o BUNDLE] [--trace TRACE] [--key KEY] [--allow PATH]...\n"
	"                   [--trust PATH]... [--exclude PATH]... [--trust-sources]\n"
	"                   [--widen-package NAME]... [--allow-built-code] [--stat] [--exact]\n"
	"                   [--json] -- CMD [ARG...]\n"
	"\n"
	"Protect an app in one command: run CMD under the tracer (as `sgxpy trace`),\n"
	"turn the trace into a bundle (as `sgxpy manifest`), sign it when --key is\n"
	"given (as `sgxpy sign`), and print the bundle's image tree.  Then:\n"
	"    sgxpy run BUNDLE -- CMD [ARG...]\n"
	"\n"
	"  -o, --output BUNDLE  bundle directory to write (default sgxpy.bundle)\n"
	"  -t, --trace TRACE    where to keep the trace (default: BUNDLE with .bundle\n"
	"                       replaced by .trace); `manifest --from-log` and\n"
	"                       `explain` read it again\n"
	"  -k, --key KEY        sign the bundle with this private key (`sgxpy keygen`)\n"
	"      --allow PATH     as `sgxpy manifest --allow`\n"
	"      --trust PATH     as `sgxpy manifest --trust`\n"
	"      --exclude PATH   as `sgxpy manifest --exclude`\n"
	"      --trust-sources  as `sgxpy manifest --trust-sources`\n"
	"      --widen-package NAME\n"
	"                       as `sgxpy manifest --widen-package`\n"
	"      --allow-built-code\n"
	"                       as `sgxpy manifest --allow-built-code`\n"
	"      --stat, --exact  as `sgxpy trace --stat`, `--exact`\n"
	"  -j, --json           print the bundle as JSON (as `sgxpy show --json`), after\n"
	"                       CMD's own output\n"
	"  -h, --help           this text\n"
	"\n"
	"Exit status: 0 ok; CMD's status if it failed (no bundle is made, the trace\n"
	"is kept); 2 usage; 3 the bundle cannot be made (files gone, bad key);\n"
	"4 system error; 125 sgxpy failed around CMD; 126/127 CMD not executable/found.\n";

/* BUNDLE -> its trace: "x.bundle" -> "x.trace", anything else -> "NAME.trace". */
static char *default_trace(const char *bundle)
{
	size_t n = strlen(bundle);
	while (n > 1 && bundle[n - 1] == '/')
		n--;
	if (n > 7 && !strncmp(bundle + n - 7, ".bundle", 7))
		n -= 7;
	return xasprintf("%.*s.trace", (int)n, bundle);
}

/* --allow/--trust/--exclude take paths relative to the cwd, stored absolute. */
static void push_path(char ***v, size_t *n, const char *opt, const char *arg)
{
	cleanup_free char *cwd = getcwd(NULL, 0);
	char *p = cwd && arg[0] ? path_resolve(cwd, arg) : NULL;
	if (!p)
		usage_error("--%s: '%s' is not a path", opt, arg);
	*v = xrealloc(*v, (*n + 1) * sizeof(char *));
	(*v)[(*n)++] = p;
}

static bool dir_is_empty(const char *path)
{
	DIR *d = opendir(path);
	if (!d)
		return false;
	struct dirent *e;
	while ((e = readdir(d)) && (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")))
		;
	closedir(d);
	return e == NULL;
}

/* Refuse what would fail only after CMD ran: an output that is not a bundle,
 * an unreadable key, a trace path that is a directory. */
static void check_outputs(const char *out, const char *trace, const char *key)
{
	struct stat st;
	if (stat(out, &st) == 0) {
		cleanup_free char *idx = xasprintf("%s/bundle.json", out);
		if (!S_ISDIR(st.st_mode))
			die(EXIT_USAGE, "%s exists and is not a directory: not replacing it", out);
		if (access(idx, F_OK) < 0 && !dir_is_empty(out))
			die(EXIT_USAGE, "%s exists and is not an sgxpy bundle: not replacing it", out);
	}
	if (stat(trace, &st) == 0 && !S_ISREG(st.st_mode))
		die(EXIT_USAGE, "cannot write trace %s: not a regular file", trace);
	if (key) {
		cleanup_free char *pem = NULL;
		size_t len;
		struct sg_err err;
		if (read_file(key, &pem, &len, &err) < 0)
			die(EXIT_INPUT, "%s", err.msg);
		if (!strstr(pem, "PRIVATE KEY-----"))
			die(EXIT_INPUT, "%s: not a PEM private key (make one with 'sgxpy keygen')", key);
	}
}

/* The trace step is `sgxpy trace -o TRACE [--stat] [--exact] -- CMD...`
 * itself: cmd_trace() with the same checks, store handling and exit codes.
 * Returns CMD's status; the trace is committed either way. */
static int build_trace(const char *trace, char **cmd, const struct tracer_opts *opts)
{
	size_t n = 0;
	while (cmd[n])
		n++;
	char **av = xcalloc(n + 7, sizeof(char *));
	size_t k = 0;
	av[k++] = (char *)"trace";
	av[k++] = (char *)"-o";
	av[k++] = (char *)trace;
	if (opts->with_stat)
		av[k++] = (char *)"--stat";
	if (opts->exact)
		av[k++] = (char *)"--exact";
	av[k++] = (char *)"--";
	memcpy(av + k, cmd, (n + 1) * sizeof(char *));
	optind = 0; /* a fresh getopt scan (glibc) */
	int status = cmd_trace((int)(k + n), av);
	free(av);
	return status;
}

int cmd_build(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"output", required_argument, NULL, 'o'}, {"trace", required_argument, NULL, 't'},
		{"key", required_argument, NULL, 'k'},    {"allow", required_argument, NULL, 'A'},
		{"trust", required_argument, NULL, 'T'},  {"exclude", required_argument, NULL, 'X'},
		{"stat", no_argument, NULL, 'S'},         {"exact", no_argument, NULL, 'E'},
		{"json", no_argument, NULL, 'j'},         {"help", no_argument, NULL, 'h'},
		{"trust-sources", no_argument, NULL, 'P'},
		{"widen-package", required_argument, NULL, 'W'},
		{"allow-built-code", no_argument, NULL, 'B'}, {0},
	};
	const char *out = "sgxpy.bundle", *trace_opt = NULL, *key = NULL;
	struct tracer_opts topts = {0};
	struct mf_model m = {0};
	bool json = false;
	int c;
	while ((c = getopt_long(argc, argv, "+o:t:k:jh", longopts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 't': trace_opt = optarg; break;
		case 'k': key = optarg; break;
		case 'A': push_path(&m.opt.allow, &m.opt.n_allow, "allow", optarg); break;
		case 'T': push_path(&m.opt.trust, &m.opt.n_trust, "trust", optarg); break;
		case 'X': push_path(&m.opt.exclude, &m.opt.n_exclude, "exclude", optarg); break;
		case 'P': m.opt.trust_sources = true; break;
		case 'W': widen_option(&m.opt, optarg); break;
		case 'B': m.opt.built_code = true; break;
		case 'S': topts.with_stat = true; break;
		case 'E': topts.exact = true; break;
		case 'j': json = true; break;
		case 'h': return print_usage(usage);
		default: usage_error("bad option");
		}
	}
	if (optind >= argc)
		usage_error("no command given (sgxpy build -o BUNDLE -- CMD [ARG...])");
	if (!out[0] || (trace_opt && !trace_opt[0]))
		usage_error("empty output name");
	char **cmd = argv + optind;
	cleanup_free char *trace = trace_opt ? xstrdup(trace_opt) : default_trace(out);

	struct sg_err err;
	cleanup_free char *program = NULL;
	int code = find_program(cmd[0], &program, &err);
	if (code)
		die(code, "%s", err.msg);
	check_outputs(out, trace, key);

	int status = build_trace(trace, cmd, &topts);
	if (status != 0)
		die(status, "%s exited with status %d: no bundle made (the trace is in %s; "
		    "'sgxpy manifest -o %s %s' makes one anyway)", cmd[0], status, trace, out, trace);

	if (mf_build(&m, &trace, 1, &err) < 0 || mf_classify(&m, &err) < 0)
		die(EXIT_INPUT, "%s", err.msg);
	if (mf_write_bundle(&m, out, &err) < 0)
		die(EXIT_SYSTEM, "%s", err.msg);
	mf_options_free(&m.opt);
	mf_model_free(&m);
	int signed_rc = key ? sign_bundle(out, key, &err) : 0;
	if (signed_rc < 0)
		die(signed_rc == -2 ? EXIT_SYSTEM : EXIT_INPUT, "%s was made but not signed: %s", out,
		    err.msg);

	fflush(stdout); /* CMD's output first */
	show_bundle(out, json);
	if (!json && isatty(STDERR_FILENO)) {
		fprintf(stderr, "\n%s%s%s: %s; trace kept in %s.  Run it with:\n  sgxpy run %s --",
			term_style(stderr, TS_GREEN), out, term_style(stderr, TS_RESET),
			key ? "signed" : "not signed (--key KEY signs it)", trace, out);
		for (char **a = cmd; *a; a++)
			fprintf(stderr, " %s", *a);
		fputc('\n', stderr);
	}
	return EXIT_OK;
}
