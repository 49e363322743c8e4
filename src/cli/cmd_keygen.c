/* cmd_keygen.c - `sgxpy keygen -o KEY [--type rsa3072|ed25519]`. */
#include "cli/cli.h"
#include "common/util.h"
#include "manifest/sign.h"

#include <getopt.h>
#include <string.h>

static const char usage[] =
	"usage: sgxpy keygen -o KEY [--type rsa3072|ed25519]\n"
	"\n"
	"Make a signing key: KEY (private, PEM, mode 0600) and KEY.pub.\n"
	"\n"
	"  -o, --output KEY  where to write the private key (never overwritten)\n"
	"  -t, --type TYPE   rsa3072 (default): RSA-3072 with exponent 3, the key type\n"
	"                    SGX requires, so the same key also works with\n"
	"                    gramine-sgx-sign --key; ed25519: small, fast, modern\n"
	"\n"
	"Exit status: 0 ok, 2 usage, 4 cannot write.\n";

int cmd_keygen(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"output", required_argument, NULL, 'o'}, {"type", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'}, {0},
	};
	const char *out = NULL;
	enum key_type type = KEY_RSA3072_E3;
	int c;
	while ((c = getopt_long(argc, argv, "+o:t:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 't':
			if (strcmp(optarg, "rsa3072") == 0 || strcmp(optarg, "rsa") == 0)
				type = KEY_RSA3072_E3;
			else if (strcmp(optarg, "ed25519") == 0)
				type = KEY_ED25519;
			else
				usage_error("--type: '%s' is not rsa3072 or ed25519", optarg);
			break;
		case 'h': return print_usage(usage);
		default: usage_error("bad option");
		}
	}
	if (!out || !out[0])
		usage_error("-o KEY is required");
	if (optind != argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	struct sg_err err;
	if (sign_keygen(out, type, &err) < 0)
		die(EXIT_SYSTEM, "%s", err.msg);
	return EXIT_OK;
}
