/* cmd_manifest_fromlog.c - `sgxpy manifest --from-log LOG... BASE [-o NEW]`:
 * the audit loop's second half (src/manifest/fromlog.c), then what the fold
 * changed, as `sgxpy diff BASE NEW` shows it. */
#include "cli/cli.h"
#include "common/bundle.h"
#include "common/strmap.h"
#include "common/util.h"
#include "manifest/diff.h"
#include "manifest/fromlog.h"
#include "manifest/origin.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int manifest_from_logs(const char *out, char **logs, size_t n_logs, char **bases, size_t n_bases,
		       struct mf_options *extra, bool json)
{
	/* `manifest --from-log LOG BASE -o NEW` reads naturally: take -o after
	 * BASE too (the manifest options stop at the first operand). */
	const char *base = NULL;
	for (size_t i = 0; i < n_bases; i++) {
		if ((!strcmp(bases[i], "-o") || !strcmp(bases[i], "--output")) && i + 1 < n_bases)
			out = bases[++i];
		else if (!strncmp(bases[i], "--output=", 9))
			out = bases[i] + 9;
		else if (base || bases[i][0] == '-')
			usage_error("--from-log folds into one BASE bundle: '%s' is one too many", bases[i]);
		else
			base = bases[i];
	}
	if (!base)
		usage_error("--from-log needs the BASE bundle the log was made with");
	if (!out[0])
		usage_error("-o: empty bundle name");
	struct sg_err err;
	struct fold_log log = {0};
	for (size_t i = 0; i < n_logs; i++)
		if (fold_parse_log(logs[i], &log, &err) < 0)
			die(EXIT_INPUT, "%s", err.msg);
	struct bundle *old_b, *new_b;
	if (bundle_load(base, &old_b, &err) < 0)
		die(EXIT_INPUT, "%s", err.msg);
	cleanup_free char *sig = xasprintf("%s/signature.json", base);
	bool base_signed = access(sig, F_OK) == 0; /* before NEW may replace BASE */
	struct mf_model m;
	if (fold_model(base, &log, extra, &m, &err) < 0)
		die(EXIT_INPUT, "%s", err.msg);
	if (mf_write_bundle(&m, out, &err) < 0)
		die(EXIT_SYSTEM, "%s", err.msg);
	mf_options_free(&m.opt); /* the base's options, moved into the model */
	mf_model_free(&m);
	if (bundle_load(out, &new_b, &err) < 0)
		die(EXIT_SYSTEM, "%s", err.msg);

	struct bundle_diff d;
	bundle_diff(old_b, new_b, &d);
	struct strmap seen = {0};
	json_t *skipped = json_array();
	for (size_t i = 0; i < log.n; i++) {
		int added;
		if (log.e[i].kind == FOLD_SKIP && (strmap_put(&seen, log.e[i].note, &added), added))
			json_array_append_new(skipped, json_string(log.e[i].note));
	}
	if (json) {
		print_json_doc(json_pack("{s:s, s:s, s:I, s:o, s:o}", "base", base, "bundle", out,
					 "log_lines", (json_int_t)log.lines, "changes",
					 bundle_diff_json(&d), "not_folded", skipped));
	} else {
		printf("%s + %zu log line%s -> %s%s\n", base, log.lines, log.lines == 1 ? "" : "s",
		       out, bundle_diff_any(&d) ? ":" : " (nothing to add)");
		bundle_diff_print(&d, stdout, false);
		fflush(stdout);
		size_t i;
		json_t *v;
		json_array_foreach(skipped, i, v)
			warn_msg("not folded: %s", json_string_value(v));
		if (bundle_diff_any(&d) && base_signed)
			warn_msg("the new bundle %s is not signed (the base was): review the "
				 "changes above, then 'sgxpy sign --key KEY %s'", out, out);
		json_decref(skipped);
	}
	strmap_free(&seen);
	bundle_diff_free(&d);
	bundle_free(old_b);
	bundle_free(new_b);
	fold_log_free(&log);
	for (size_t i = 0; i < n_logs; i++)
		free(logs[i]);
	free(logs);
	mf_options_free(extra);
	return EXIT_OK;
}
