/* main.c - `sgxpy COMMAND [OPTIONS]`: dispatch to the command table. */
#include "cli/cli.h"
#include "common/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
} commands[] = {
	{"trace", cmd_trace, "run a command under the tracer and record its files"},
	{"show", cmd_show, "print a trace or a bundle"},
	{"manifest", cmd_manifest, "turn traces into a bundle of per-process manifests"},
	{"verify", cmd_verify, "check a bundle and its trusted files on this host"},
	{"keygen", cmd_keygen, "make a signing key"},
	{"sign", cmd_sign, "sign a bundle's measurement"},
	{"run", cmd_run, "run a command with its bundle enforced"},
};

static void print_main_usage(FILE *out)
{
	fputs("usage: sgxpy COMMAND [OPTIONS] [ARGS]\n\n"
	      "Protects the integrity of Python applications: trace, manifest, run.\n\n"
	      "Commands:\n",
	      out);
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fputs("\n`sgxpy COMMAND --help` describes each command.\n", out);
}

int print_usage(const char *text)
{
	fputs(text, stdout);
	return EXIT_OK;
}

void usage_error(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	die(EXIT_USAGE, "%s (see 'sgxpy %s --help')", buf, sg_command ? sg_command : "");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		print_main_usage(stderr);
		return EXIT_USAGE;
	}
	const char *name = argv[1];
	if (!strcmp(name, "--help") || !strcmp(name, "-h") || !strcmp(name, "help")) {
		print_main_usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(name, "--version")) {
		printf("sgxpy %s\n", SGXPY_VERSION);
		return EXIT_OK;
	}
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		if (strcmp(name, commands[i].name) == 0) {
			sg_command = commands[i].name;
			return commands[i].run(argc - 1, argv + 1);
		}
	}
	die(EXIT_USAGE, "unknown command '%s' (see 'sgxpy --help')", name);
}
