/* cmd_manifest.c - `sgxpy manifest`: traces -> bundle (src/manifest/). */
#include "cli/cli.h"
#include "common/path.h"
#include "common/util.h"
#include "manifest/manifest.h"
#include "manifest/origin.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static const char usage[] =
	"usage: sgxpy manifest [-o BUNDLE] [--allow PATH]... [--trust PATH]...\n"
	"                      [--exclude PATH]... [--trust-sources]\n"
	"                      [--widen-package NAME]... [--allow-built-code]\n"
	"                      [--stats] TRACE...\n"
	"       sgxpy manifest --from-log LOG... [--json] [-o NEW] [--allow PATH]... BASE\n"
	"\n"
	"Turn one or more traces (runs merge) into a bundle: one manifest per process\n"
	"image (program, plus script for interpreters), trusted files with SHA-256,\n"
	"allowed paths, and a Gramine manifest template (union of all images).\n"
	"\n"
	"  -o, --output BUNDLE  bundle directory to write (default sgxpy.bundle)\n"
	"      --allow PATH     allow PATH and everything below it (writable, unchecked)\n"
	"      --trust PATH     trust PATH (hash it) even if the app wrote it; a PATH the\n"
	"                       trace never touched is trusted by the root image\n"
	"      --exclude PATH   leave PATH and everything below it out\n"
	"      --trust-sources  trust the .py beside every trusted .pyc too (tracebacks\n"
	"                       and inspect.getsource), not only let it be stat'ed\n"
	"      --widen-package NAME\n"
	"                       an image that imports package NAME (top-level import\n"
	"                       name; '*': every package imported) trusts every file\n"
	"                       of its installed distribution, not only the modules\n"
	"                       the trace loaded\n"
	"      --allow-built-code\n"
	"                       an image that loaded a library the run itself built\n"
	"                       (a C extension compiled during the run) may load one\n"
	"                       again where it did, if written during that run: such\n"
	"                       code is not hashed, whoever can write there is trusted\n"
	"      --stats          print hashing statistics (and what --widen-package\n"
	"                       added) to stderr\n"
	"  -j, --jobs N         hashing threads (default: one per CPU)\n"
	"      --from-log LOG   fold what `sgxpy run --audit --log LOG` (or Gramine with\n"
	"                       allow_all_but_log) refused into a new bundle made from\n"
	"                       BASE's traces, and show what that adds (--json: as JSON)\n"
	"\n"
	"Exit status: 0 ok, 2 usage, 3 bad or stale trace (or a --widen-package NAME\n"
	"no image imports), 4 system error.\n";

/* Options take absolute paths; relative ones resolve against the cwd. */
static char *option_path(const char *opt, const char *arg)
{
	char cwd[4096];
	if (!getcwd(cwd, sizeof(cwd)))
		die_errno(EXIT_SYSTEM, "cannot get the current directory");
	char *p = path_resolve(cwd, arg);
	if (!p || !arg[0])
		usage_error("--%s: '%s' is not a path", opt, arg);
	return p;
}

static void push(char ***v, size_t *n, char *s)
{
	*v = xrealloc(*v, (*n + 1) * sizeof(char *));
	(*v)[(*n)++] = s;
}

void widen_option(struct mf_options *opt, const char *name)
{
	if (!widen_name_ok(name))
		usage_error("--widen-package: '%s' is not a top-level import name (such as numpy, "
			    "or '*' for every package imported)", name);
	push(&opt->widen, &opt->n_widen, xstrdup(name));
}

static void print_stats(const struct mf_model *m)
{
	struct hash_stats hs;
	hash_last_stats(&hs);
	fprintf(stderr, "sgxpy: manifest: %zu images, hashed %llu files, %llu bytes in %.3f s "
		"(%.1f MB/s; %.3f s of CPU, %.1f MB per CPU-second)\n", m->n_images,
		(unsigned long long)hs.files, (unsigned long long)hs.bytes, hs.seconds,
		hs.seconds > 0 ? (double)hs.bytes / hs.seconds / 1e6 : 0.0, hs.cpu_seconds,
		hs.cpu_seconds > 0 ? (double)hs.bytes / hs.cpu_seconds / 1e6 : 0.0);
	for (size_t i = 0; i < m->n_widened; i++) {
		const struct mf_widened *w = &m->widened[i];
		fprintf(stderr, "sgxpy: manifest: --widen-package %s: %zu file%s trusted in %zu "
			"image%s, %zu of them beyond the trace\n", w->name, w->files,
			w->files == 1 ? "" : "s", w->images, w->images == 1 ? "" : "s", w->added);
	}
}

int cmd_manifest(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"output", required_argument, NULL, 'o'}, {"allow", required_argument, NULL, 'A'},
		{"trust", required_argument, NULL, 'T'},  {"exclude", required_argument, NULL, 'X'},
		{"stats", no_argument, NULL, 'S'},        {"jobs", required_argument, NULL, 'j'},
		{"trust-sources", no_argument, NULL, 'P'},
		{"help", no_argument, NULL, 'h'},         {"from-log", required_argument, NULL, 'F'},
		{"json", no_argument, NULL, 'J'},
		{"widen-package", required_argument, NULL, 'W'},
		{"allow-built-code", no_argument, NULL, 'B'}, {0},
	};
	const char *out = "sgxpy.bundle";
	struct mf_model m = {0};
	bool stats = false, json = false;
	char **logs = NULL;
	size_t n_logs = 0;
	int c;
	while ((c = getopt_long(argc, argv, "+o:j:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'A': push(&m.opt.allow, &m.opt.n_allow, option_path("allow", optarg)); break;
		case 'T': push(&m.opt.trust, &m.opt.n_trust, option_path("trust", optarg)); break;
		case 'X': push(&m.opt.exclude, &m.opt.n_exclude, option_path("exclude", optarg)); break;
		case 'S': stats = true; break;
		case 'P': m.opt.trust_sources = true; break;
		case 'W': widen_option(&m.opt, optarg); break;
		case 'B': m.opt.built_code = true; break;
		case 'F': push(&logs, &n_logs, xstrdup(optarg)); break;
		case 'J': json = true; break;
		case 'j': {
			char *end;
			long n = strtol(optarg, &end, 10);
			if (*end || n < 1 || n > 1024)
				usage_error("--jobs: '%s' is not a number from 1 to 1024", optarg);
			m.opt.threads = (unsigned)n;
			break;
		}
		case 'h': return print_usage(usage);
		default: usage_error("bad option");
		}
	}
	if (optind >= argc)
		usage_error("no TRACE given");
	if (!out[0])
		usage_error("-o: empty bundle name");
	if (n_logs) /* frees logs and m.opt */
		return manifest_from_logs(out, logs, n_logs, argv + optind, (size_t)(argc - optind),
					  &m.opt, json);
	struct sg_err err;
	if (mf_build(&m, argv + optind, (size_t)(argc - optind), &err) < 0)
		die(EXIT_INPUT, "%s", err.msg);
	if (mf_classify(&m, &err) < 0)
		die(EXIT_INPUT, "%s", err.msg);
	if (mf_write_bundle(&m, out, &err) < 0)
		die(EXIT_SYSTEM, "%s", err.msg);
	if (stats)
		print_stats(&m);
	mf_options_free(&m.opt);
	mf_model_free(&m);
	return EXIT_OK;
}
