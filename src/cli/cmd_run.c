/* cmd_run.c - `sgxpy run [OPTIONS] BUNDLE -- CMD [ARG...]`: argument parsing only;
 * the supervisor is src/run/. */
#include "cli/cli.h"
#include "common/util.h"
#include "run/run.h"

#include <getopt.h>
#include <string.h>

static const char usage[] =
	"usage: sgxpy run [--audit] [--seal] [--log FILE] [--key KEY] [--no-landlock] [-v]\n"
	"                 BUNDLE -- CMD [ARG...]\n"
	"\n"
	"Run CMD with BUNDLE enforced: every trusted file it opens or executes must hash\n"
	"to its manifest's SHA-256, each process may touch only its own image's paths,\n"
	"and may exec only its listed children.  Each refusal prints one line:\n"
	"  sgxpy: denied: pid 123 (python3 worker.py) open /path: hash mismatch\n"
	"\n"
	"  --audit        log violations but allow them (writes to trusted files stay refused)\n"
	"  --seal         hand trusted files over as sealed memfd copies\n"
	"  --log FILE     append one JSON line per event to FILE\n"
	"  --key KEY      check the bundle's signature with KEY first\n"
	"  --no-landlock  run even where Landlock is missing or older than ABI 3\n"
	"  -v, --verbose  print the Landlock ABI and rights, and a summary at the end\n"
	"\n"
	"Exit status: CMD's own (128+N if killed by signal N); 125 if sgxpy failed\n"
	"(bad bundle, CMD not the bundle's root image) and nothing was started;\n"
	"4 if the kernel lacks a needed feature.\n";

int cmd_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"audit", no_argument, NULL, 'a'},   {"seal", no_argument, NULL, 's'},
		{"log", required_argument, NULL, 'l'}, {"key", required_argument, NULL, 'k'},
		{"no-landlock", no_argument, NULL, 'L'}, {"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},    {NULL, 0, NULL, 0},
	};
	struct run_opts o = {0};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'a': o.audit = true; break;
		case 's': o.seal = true; break;
		case 'l': o.log_path = optarg; break;
		case 'k': o.key_path = optarg; break;
		case 'L': o.no_landlock = true; break;
		case 'v': o.verbose = true; break;
		case 'h': return print_usage(usage);
		default: usage_error("unknown option");
		}
	}
	if (optind >= argc)
		usage_error("missing BUNDLE");
	o.bundle_dir = argv[optind++];
	if (optind < argc && !strcmp(argv[optind], "--"))
		optind++;
	if (optind >= argc)
		usage_error("missing CMD after BUNDLE --");
	o.argv = argv + optind;
	return run_main(&o);
}
