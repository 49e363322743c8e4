/* main.c - `sgxpy COMMAND [OPTIONS]`: dispatch to the command table. */
#include "cli/cli.h"
#include "common/util.h"
#include "run/run.h"

#include <errno.h>
#include <jansson.h>
#include <linux/seccomp.h>
#include <openssl/crypto.h>
#include <seccomp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>

static const struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
} commands[] = {
	{"build", cmd_build, "trace, manifest and sign in one go: protect CMD"},
	{"trace", cmd_trace, "run a command under the tracer and record its files"},
	{"show", cmd_show, "print a trace or a bundle"},
	{"manifest", cmd_manifest, "turn traces into a bundle of per-process manifests"},
	{"verify", cmd_verify, "check a bundle and its trusted files on this host"},
	{"keygen", cmd_keygen, "make a signing key"},
	{"sign", cmd_sign, "sign a bundle's measurement"},
	{"run", cmd_run, "run a command with its bundle enforced"},
	{"diff", cmd_diff, "what changed between two bundles, per image"},
	{"explain", cmd_explain, "which images trust or allow a path, and why"},
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

/* A seccomp filter flag this kernel knows: with a NULL program a known flag
 * fails copying it (EFAULT), an unknown one is refused first (EINVAL). */
static bool seccomp_flag_known(unsigned long flag)
{
	return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flag, NULL) < 0 && errno == EFAULT;
}

/* `sgxpy --version [--json]`: what this build is and what this kernel offers
 * the tracer and the supervisor (Landlock ABI, seccomp actions and flags).
 * The facts are gathered once, as JSON; the human lines are printed from it. */
static json_t *version_facts(void)
{
	char actions[256] = "";
	FILE *f = fopen("/proc/sys/kernel/seccomp/actions_avail", "re");
	if (f) {
		if (!fgets(actions, sizeof(actions), f))
			actions[0] = '\0';
		actions[strcspn(actions, "\n")] = '\0';
		fclose(f);
	}
	static const struct {
		unsigned long flag;
		const char *name;
	} flags[] = {
		{SECCOMP_FILTER_FLAG_LOG, "log"},
		{SECCOMP_FILTER_FLAG_NEW_LISTENER, "new_listener"},
		{SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_TSYNC_ESRCH, "tsync_esrch"},
		{SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
		 "wait_killable_recv"},
	};
	json_t *fl = json_array();
	for (size_t i = 0; i < ARRAY_SIZE(flags); i++)
		if (seccomp_flag_known(flags[i].flag))
			json_array_append_new(fl, json_string(flags[i].name));
	const struct scmp_version *v = seccomp_version();
	char lib[64];
	snprintf(lib, sizeof(lib), "%u.%u.%u", v->major, v->minor, v->micro);
	return json_pack("{s:s, s:{s:i, s:i, s:i}, s:{s:s, s:o, s:s, s:i}}", "version",
			 SGXPY_VERSION, "landlock", "abi", landlock_abi(), "uses_up_to",
			 LANDLOCK_ABI_TESTED, "needs", LANDLOCK_ABI_MIN, "seccomp", "actions",
			 actions, "filter_flags", fl, "libseccomp", lib, "api_level",
			 (int)seccomp_api_get());
}

static void print_version(bool json)
{
	json_t *o = version_facts();
	if (json) {
		print_json_doc(o);
		return;
	}
	json_t *ll = json_object_get(o, "landlock"), *sc = json_object_get(o, "seccomp");
	int abi = (int)json_integer_value(json_object_get(ll, "abi"));
	printf("sgxpy %s\n", SGXPY_VERSION);
	if (abi > 0)
		printf("landlock: ABI %d (sgxpy run uses up to %d, needs %d)\n", abi,
		       LANDLOCK_ABI_TESTED, LANDLOCK_ABI_MIN);
	else
		printf("landlock: not available (sgxpy run needs ABI %d, or --no-landlock)\n",
		       LANDLOCK_ABI_MIN);
	const char *actions = json_string_value(json_object_get(sc, "actions"));
	printf("seccomp: actions %s\nseccomp: filter flags", actions[0] ? actions : "(unknown)");
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(sc, "filter_flags"), i, v)
		printf(" %s", json_string_value(v));
	printf("\nseccomp: libseccomp %s, API level %d\n",
	       json_string_value(json_object_get(sc, "libseccomp")),
	       (int)json_integer_value(json_object_get(sc, "api_level")));
	json_decref(o);
}

void print_json_doc(json_t *doc)
{
	char *s = json_dumps(doc, JSON_INDENT(1) | JSON_ENSURE_ASCII);
	if (s)
		puts(s);
	free(s);
	json_decref(doc);
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
	/* sgxpy needs SHA-256 and signatures from OpenSSL's default provider,
	 * nothing a system openssl.cnf could add: skipping the config and the
	 * legacy cipher tables makes every run start ~1 ms sooner and behave
	 * the same on every host. */
	OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG | OPENSSL_INIT_NO_ADD_ALL_CIPHERS |
			    OPENSSL_INIT_NO_ADD_ALL_DIGESTS, NULL);
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
		print_version(argc > 2 && !strcmp(argv[2], "--json"));
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
