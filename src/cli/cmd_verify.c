/* cmd_verify.c - `sgxpy verify [--key KEY] BUNDLE` (src/manifest/verify.c). */
#include "cli/cli.h"
#include "common/util.h"
#include "manifest/verify.h"

#include <getopt.h>
#include <stdio.h>

static const char usage[] =
	"usage: sgxpy verify [--key KEY] BUNDLE\n"
	"\n"
	"Check a bundle on this host: every manifest against its hash in bundle.json\n"
	"and in its parent, and every trusted file (type, size, SHA-256).  Prints one\n"
	"line per mismatch, 'PATH: WHAT' (missing, type, size, content).\n"
	"\n"
	"  -k, --key KEY   also check signature.json with KEY (private or public PEM)\n"
	"\n"
	"Exit status: 0 all match, 1 mismatch, 2 usage, 3 unreadable bundle or key.\n";

int cmd_verify(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"key", required_argument, NULL, 'k'}, {"help", no_argument, NULL, 'h'}, {0},
	};
	const char *key = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "+k:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'k': key = optarg; break;
		case 'h': return print_usage(usage);
		default: usage_error("bad option");
		}
	}
	if (optind + 1 != argc)
		usage_error(optind >= argc ? "no BUNDLE given" : "only one BUNDLE, please");
	struct sg_err err;
	size_t n_files = 0;
	long bad = verify_bundle(argv[optind], key, stdout, &n_files, &err);
	if (bad < 0)
		die(EXIT_INPUT, "%s", err.msg);
	fflush(stdout);
	if (bad > 0) {
		warn_msg("%s: %ld mismatch%s", argv[optind], bad, bad == 1 ? "" : "es");
		return EXIT_MISMATCH;
	}
	if (isatty(STDERR_FILENO))
		warn_msg("%s: ok (%zu trusted files%s)", argv[optind], n_files, key ? ", signature" : "");
	return EXIT_OK;
}
