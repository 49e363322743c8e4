/* cmd_verify.c - `sgxpy verify [--key KEY] [--json] BUNDLE` (src/manifest/verify.c). */
#include "cli/cli.h"
#include "common/utf8.h"
#include "common/util.h"
#include "manifest/verify.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

static const char usage[] =
	"usage: sgxpy verify [--key KEY] [--json] BUNDLE\n"
	"\n"
	"Check a bundle on this host: every manifest against its hash in bundle.json\n"
	"and in its parent, and every trusted file (type, size, SHA-256).  Prints one\n"
	"line per mismatch, 'PATH: WHAT' (missing, type, size, content).\n"
	"\n"
	"  -k, --key KEY   also check signature.json with KEY (private or public PEM)\n"
	"  -j, --json      print {\"bundle\", \"ok\", \"trusted_files\", \"mismatches\":\n"
	"                  [{\"path\", \"problem\"}]} instead\n"
	"\n"
	"Exit status: 0 all match, 1 mismatch, 2 usage, 3 unreadable bundle or key.\n";

/* The report's "PATH: WHAT" lines as JSON objects. */
static json_t *mismatches_json(char *report)
{
	json_t *arr = json_array();
	for (char *line = strtok(report, "\n"); line; line = strtok(NULL, "\n")) {
		char *sep = strstr(line, ": ");
		if (sep)
			*sep = '\0';
		json_array_append_new(arr, json_pack("{s:o, s:o}", "path", json_bytes(line), "problem",
						     json_bytes(sep ? sep + 2 : "")));
	}
	return arr;
}

int cmd_verify(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"key", required_argument, NULL, 'k'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *key = NULL;
	bool as_json = false;
	int c;
	while ((c = getopt_long(argc, argv, "+k:jh", longopts, NULL)) != -1) {
		switch (c) {
		case 'k': key = optarg; break;
		case 'j': as_json = true; break;
		case 'h': return print_usage(usage);
		default: usage_error("bad option");
		}
	}
	if (optind + 1 != argc)
		usage_error(optind >= argc ? "no BUNDLE given" : "only one BUNDLE, please");
	const char *dir = argv[optind];
	struct sg_err err;
	size_t n_files = 0, len = 0;
	char *report = NULL;
	FILE *out = as_json ? open_memstream(&report, &len) : stdout;
	if (!out)
		die_errno(EXIT_SYSTEM, "open_memstream");
	long bad = verify_bundle(dir, key, out, &n_files, &err);
	if (as_json)
		fclose(out);
	if (bad < 0) {
		free(report);
		die(EXIT_INPUT, "%s", err.msg);
	}
	if (as_json) {
		print_json_doc(json_pack("{s:o, s:b, s:I, s:o}", "bundle", json_bytes(dir), "ok", bad == 0,
					 "trusted_files", (json_int_t)n_files, "mismatches", mismatches_json(report)));
		free(report);
		return bad > 0 ? EXIT_MISMATCH : EXIT_OK;
	}
	fflush(stdout);
	if (bad > 0) {
		warn_msg("%s: %ld mismatch%s", dir, bad, bad == 1 ? "" : "es");
		return EXIT_MISMATCH;
	}
	if (isatty(STDERR_FILENO))
		warn_msg("%s: ok (%zu trusted files%s)", dir, n_files, key ? ", signature" : "");
	return EXIT_OK;
}
