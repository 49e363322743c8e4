/* cmd_diff.c - `sgxpy diff [--stat] [--json] OLD NEW`: what changed between
 * two bundles, per image (src/manifest/diff.c). */
#include "cli/cli.h"
#include "common/bundle.h"
#include "common/util.h"
#include "manifest/diff.h"

#include <getopt.h>
#include <stdio.h>

static const char usage[] =
	"usage: sgxpy diff [--stat] [--json] OLD NEW\n"
	"\n"
	"Compare two bundles image by image, for reviewing a dependency upgrade\n"
	"before signing again: paths added (+), removed (-), re-hashed (~: same\n"
	"rights, other content) and with other rights (!: trusted -> allowed,\n"
	"read -> write, ...), and images only one bundle has.  Ends with one line\n"
	"per image and the totals, like `git diff --stat`.\n"
	"\n"
	"  -s, --stat   only the per-image lines and the totals\n"
	"  -j, --json   print JSON instead\n"
	"  -h, --help   this text\n"
	"\n"
	"Exit status: 0 same, 1 they differ, 2 usage, 3 bad bundle.\n";

int cmd_diff(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"stat", no_argument, NULL, 's'}, {"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'}, {0},
	};
	bool stat_only = false, json = false;
	int c;
	while ((c = getopt_long(argc, argv, "+sjh", longopts, NULL)) != -1) {
		switch (c) {
		case 's': stat_only = true; break;
		case 'j': json = true; break;
		case 'h': return print_usage(usage);
		default: usage_error("bad option");
		}
	}
	if (argc - optind != 2)
		usage_error(argc - optind < 2 ? "OLD and NEW bundles are needed" : "only OLD and NEW, please");
	struct sg_err err;
	struct bundle *a, *b;
	if (bundle_load(argv[optind], &a, &err) < 0)
		die(EXIT_INPUT, "%s", err.msg);
	if (bundle_load(argv[optind + 1], &b, &err) < 0) {
		bundle_free(a);
		die(EXIT_INPUT, "%s", err.msg);
	}
	struct bundle_diff d;
	bundle_diff(a, b, &d);
	if (json) {
		print_json_doc(bundle_diff_json(&d));
	} else {
		bundle_diff_print(&d, stdout, stat_only);
	}
	int status = bundle_diff_any(&d) ? EXIT_MISMATCH : EXIT_OK;
	bundle_diff_free(&d);
	bundle_free(a);
	bundle_free(b);
	return status;
}
