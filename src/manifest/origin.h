/* origin.h - where a bundle came from: the traces and options its bundle.json
 * records, and where those traces are on this host now.  `manifest
 * --from-log` rebuilds the bundle from them; `explain` reads them to say
 * which trace and which rule put a path in a manifest. */
#ifndef SGXPY_ORIGIN_H
#define SGXPY_ORIGIN_H

#include "manifest/manifest.h"

struct origin_trace {
	char *recorded; /* the path bundle.json records (as given to `manifest`) */
	char *found;    /* where it is now with the recorded SHA-256, or NULL */
	bool stale;     /* a file is there but its SHA-256 differs */
};

struct bundle_origin {
	struct origin_trace *traces;
	size_t n_traces;
	struct mf_options opt; /* --allow/--trust/--exclude as recorded */
};

/* Read BUNDLE/bundle.json's traces and options and look for each trace: as
 * recorded (relative to the cwd), then beside the bundle. */
int origin_load(const char *bundle_dir, struct bundle_origin *o, struct sg_err *err);
/* Every trace found and unchanged: 0; else -1 with err naming the first one
 * that is missing or changed and what to do. */
int origin_require_traces(const struct bundle_origin *o, const char *bundle_dir,
			  struct sg_err *err);
void origin_free(struct bundle_origin *o);
/* Free an options block's path lists. */
void mf_options_free(struct mf_options *opt);

#endif
