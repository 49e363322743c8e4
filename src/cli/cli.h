/* cli.h - one entry point per command; each lives in src/cli/cmd_<name>.c and
 * only parses arguments before calling into src/<stage>/. */
#ifndef SGXPY_CLI_H
#define SGXPY_CLI_H

#include <stdbool.h>
#include <stddef.h>

int cmd_trace(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_manifest(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_keygen(int argc, char **argv);
int cmd_sign(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_build(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_explain(int argc, char **argv);

struct mf_options;
/* `sgxpy manifest --from-log` (cmd_manifest_fromlog.c); frees logs and extra. */
int manifest_from_logs(const char *out, char **logs, size_t n_logs, char **bases, size_t n_bases,
		       struct mf_options *extra, bool json);

/* --widen-package NAME for manifest and build: usage error unless NAME is
 * a top-level import name or "*" (cmd_manifest.c). */
void widen_option(struct mf_options *opt, const char *name);

/* `sgxpy show` on a bundle directory (cmd_show_bundle.c). */
int show_bundle(const char *dir, bool json);

/* Print a JSON document to stdout (indented, ASCII) and drop the reference. */
struct json_t;
void print_json_doc(struct json_t *doc);

/* Print a usage text to stdout (for --help) and return 0. */
int print_usage(const char *text);
/* Report a usage error naming the command, exit EXIT_USAGE. */
_Noreturn void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
