/* cmd_sign.c - `sgxpy sign --key KEY BUNDLE`: BUNDLE/signature.json. */
#include "cli/cli.h"
#include "common/util.h"
#include "manifest/sign.h"

#include <getopt.h>

static const char usage[] =
	"usage: sgxpy sign --key KEY BUNDLE\n"
	"\n"
	"Sign the bundle's measurement (SHA-256 of bundle.json, which lists every\n"
	"manifest's hash) with the private key KEY; writes BUNDLE/signature.json.\n"
	"The bundle is fully checked first.\n"
	"\n"
	"Exit status: 0 ok, 2 usage, 3 bad bundle or key, 4 cannot write the signature.\n";

int cmd_sign(int argc, char **argv)
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
	if (!key)
		usage_error("--key KEY is required");
	if (optind + 1 != argc)
		usage_error(optind >= argc ? "no BUNDLE given" : "only one BUNDLE, please");
	struct sg_err err;
	int rc = sign_bundle(argv[optind], key, &err);
	if (rc < 0)
		die(rc == -2 ? EXIT_SYSTEM : EXIT_INPUT, "%s", err.msg);
	return EXIT_OK;
}
