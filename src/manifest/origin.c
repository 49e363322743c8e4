/* origin.c - a bundle's traces and options (see origin.h). */
#include "manifest/origin.h"
#include "common/json.h"
#include "common/path.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

static int load_paths(json_t *opts, const char *key, const char *file, char ***out, size_t *n,
		      struct sg_err *err)
{
	json_t *arr;
	if (jopt(opts, key, JSON_ARRAY, file, key, &arr, err) < 0)
		return -1;
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) {
		const char *p;
		char field[64];
		snprintf(field, sizeof(field), "options.%s[%zu]", key, i);
		if (jpath(v, file, field, &p, err) < 0)
			return -1;
		*out = xrealloc(*out, (*n + 1) * sizeof(char *));
		(*out)[(*n)++] = xstrdup(p);
	}
	return 0;
}

/* options.widen: package names, absent in bundles made without it. */
static int load_names(json_t *opts, const char *file, struct mf_options *o, struct sg_err *err)
{
	json_t *arr;
	if (jopt(opts, "widen", JSON_ARRAY, file, "options.widen", &arr, err) < 0)
		return -1;
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) {
		const char *name = json_string_value(v);
		if (!name || !widen_name_ok(name))
			return sg_fail(err, "%s: options.widen[%zu]: expected a package name or \"*\"",
				       file, i);
		o->widen = xrealloc(o->widen, (o->n_widen + 1) * sizeof(char *));
		o->widen[o->n_widen++] = xstrdup(name);
	}
	return 0;
}

/* The recorded path if it holds the recorded hash, else the same name
 * beside the bundle (a bundle and its trace moved together). */
static void find_trace(struct origin_trace *t, const char *bundle_dir, const unsigned char want[32])
{
	cleanup_free char *dir = xstrdup(bundle_dir);
	size_t n = strlen(dir);
	while (n > 1 && dir[n - 1] == '/')
		dir[--n] = '\0';
	char *slash = strrchr(dir, '/');
	const char *parent = slash ? (slash == dir ? "/" : (*slash = '\0', dir)) : ".";
	const char *base = strrchr(t->recorded, '/') ? strrchr(t->recorded, '/') + 1 : t->recorded;
	char *cands[] = {
		xstrdup(t->recorded),
		t->recorded[0] == '/' ? NULL : xasprintf("%s/%s", parent, t->recorded),
		xasprintf("%s/%s", parent, base),
	};
	for (size_t i = 0; i < ARRAY_SIZE(cands); i++) {
		unsigned char got[32];
		struct sg_err e;
		if (!t->found && cands[i] && sha256_path(cands[i], got, NULL, &e) == 0) {
			if (!memcmp(got, want, 32))
				t->found = steal_pointer(&cands[i]);
			else
				t->stale = true;
		}
		free(cands[i]);
	}
	if (t->found)
		t->stale = false;
}

int origin_load(const char *bundle_dir, struct bundle_origin *o, struct sg_err *err)
{
	memset(o, 0, sizeof(*o));
	cleanup_free char *file = xasprintf("%s/bundle.json", bundle_dir);
	json_error_t je;
	json_t *idx = json_load_file(file, 0, &je);
	if (!idx)
		return sg_fail(err, "%s: %s", file, je.text);
	json_t *traces, *opts;
	int rc = -1;
	if (jreq(idx, "traces", JSON_ARRAY, file, "traces", &traces, err) < 0 ||
	    jreq(idx, "options", JSON_OBJECT, file, "options", &opts, err) < 0 ||
	    load_paths(opts, "allow", file, &o->opt.allow, &o->opt.n_allow, err) < 0 ||
	    load_paths(opts, "trust", file, &o->opt.trust, &o->opt.n_trust, err) < 0 ||
	    load_paths(opts, "exclude", file, &o->opt.exclude, &o->opt.n_exclude, err) < 0 ||
	    jbool(opts, "trust_sources", file, "options.trust_sources", false,
		  &o->opt.trust_sources, err) < 0 ||
	    jbool(opts, "built_code", file, "options.built_code", false,
		  &o->opt.built_code, err) < 0 ||
	    load_names(opts, file, &o->opt, err) < 0)
		goto out;
	o->traces = xcalloc(json_array_size(traces) + 1, sizeof(*o->traces));
	size_t i;
	json_t *t;
	json_array_foreach(traces, i, t) {
		char field[64];
		const char *path;
		json_t *sha;
		unsigned char want[32];
		snprintf(field, sizeof(field), "traces[%zu]", i);
		if (jstring(t, "path", file, field, &path, err) < 0 ||
		    jreq(t, "sha256", JSON_STRING, file, field, &sha, err) < 0 ||
		    jsha256(sha, file, field, want, err) < 0)
			goto out;
		struct origin_trace *ot = &o->traces[o->n_traces++];
		ot->recorded = xstrdup(path);
		find_trace(ot, bundle_dir, want);
	}
	rc = 0;
out:
	json_decref(idx);
	if (rc < 0)
		origin_free(o);
	return rc;
}

int origin_require_traces(const struct bundle_origin *o, const char *bundle_dir,
			  struct sg_err *err)
{
	for (size_t i = 0; i < o->n_traces; i++) {
		const struct origin_trace *t = &o->traces[i];
		if (t->stale)
			return sg_fail(err, "%s: trace %s changed since the bundle was made (it holds "
				       "other runs now): re-make the bundle from it first", bundle_dir,
				       t->recorded);
		if (!t->found)
			return sg_fail(err, "%s: trace %s, which the bundle was made from, is not "
				       "here (looked as recorded and beside the bundle)", bundle_dir,
				       t->recorded);
	}
	if (!o->n_traces)
		return sg_fail(err, "%s: bundle.json records no trace", bundle_dir);
	return 0;
}

void mf_options_free(struct mf_options *opt)
{
	char **lists[] = {opt->allow, opt->trust, opt->exclude, opt->widen};
	size_t lens[] = {opt->n_allow, opt->n_trust, opt->n_exclude, opt->n_widen};
	for (size_t l = 0; l < ARRAY_SIZE(lists); l++) {
		for (size_t i = 0; i < lens[l]; i++)
			free(lists[l][i]);
		free(lists[l]);
	}
	memset(opt, 0, sizeof(*opt));
}

void origin_free(struct bundle_origin *o)
{
	for (size_t i = 0; i < o->n_traces; i++) {
		free(o->traces[i].recorded);
		free(o->traces[i].found);
	}
	free(o->traces);
	mf_options_free(&o->opt);
	memset(o, 0, sizeof(*o));
}
