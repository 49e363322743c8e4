/* fromlog.c - parse run and Gramine logs, fold them into a bundle's model
 * (see fromlog.h). */
#include "manifest/fromlog.h"
#include "common/bundle.h"
#include "common/intmap.h"
#include "common/path.h"
#include "manifest/origin.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static void add_entry(struct fold_log *log, const char *image, const char *path,
		      enum fold_kind kind, char *note)
{
	grow_array(&log->e, &log->cap, log->n, sizeof(*log->e));
	log->e[log->n++] = (struct fold_entry){
		.image = image ? xstrdup(image) : NULL,
		.path = xstrdup(path),
		.kind = kind,
		.note = note,
	};
}

/* A file the audited run itself wrote or created has an mtime after the run
 * started (or is gone again): allow it, do not pin its content.  Except a
 * bytecode cache the run rewrote (its source changed): rule 6 trusts a .pyc
 * that was read, with its content now, as a fresh trace would. */
static enum fold_kind open_kind(const char *path, double started)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return FOLD_WRITE;
	if (rules_is_pycache(path))
		return FOLD_READ;
	if (S_ISREG(st.st_mode) && started > 0 &&
	    (double)st.st_mtim.tv_sec + st.st_mtim.tv_nsec / 1e9 >= started)
		return FOLD_WRITE;
	return FOLD_READ;
}

struct run_state {
	double started;          /* time of the last "start" event */
	struct intmap unlisted;  /* pid -> 1: exec'd something the bundle does not list */
};

static void parse_violation(struct fold_log *log, struct run_state *rs, json_t *o)
{
	const char *image = json_string_value(json_object_get(o, "image"));
	const char *op = json_string_value(json_object_get(o, "op"));
	const char *path = json_string_value(json_object_get(o, "path"));
	const char *reason = json_string_value(json_object_get(o, "reason"));
	const char *who = json_string_value(json_object_get(o, "process"));
	json_int_t pid = json_integer_value(json_object_get(o, "pid"));
	if (!op || !path || !reason) {
		log->ignored++;
		return;
	}
	char what[512];
	snprintf(what, sizeof(what), "pid %lld (%s) %s %s: %s", (long long)pid, who ? who : "?", op,
		 path, reason);
	if (!strcmp(reason, "hash mismatch")) {
		add_entry(log, image, path, path[0] == '/' ? FOLD_REHASH : FOLD_SKIP,
			  path[0] == '/' ? NULL : xasprintf("%s: not a path", what));
		return;
	}
	if (!strcmp(op, "exec")) {
		intmap_put(&rs->unlisted, (int)pid, (void *)1);
		add_entry(log, image, path, FOLD_SKIP,
			  xasprintf("%s: a process image the bundle does not have; trace the app "
				    "doing it (sgxpy trace --append TRACE -- CMD) and make the "
				    "bundle again", what));
		return;
	}
	bool open = !strcmp(op, "open");
	if (open && intmap_get(&rs->unlisted, (int)pid)) {
		add_entry(log, image, path, FOLD_SKIP,
			  xasprintf("%s: done after an exec the bundle does not list (see above)", what));
		return;
	}
	if (open && image && path_is_normal(path) && !strcmp(reason, "not in manifest")) {
		/* Logs that say how the file was opened are taken at their word;
		 * older ones leave it to the file's state (open_kind). */
		const char *access = json_string_value(json_object_get(o, "access"));
		enum fold_kind kind = access && !strcmp(access, "write")  ? FOLD_WRITE
				      : access && !strcmp(access, "read") ? FOLD_READ
									  : open_kind(path, rs->started);
		add_entry(log, image, path, kind, NULL);
		return;
	}
	if (open && image && path_is_normal(path) && !strncmp(reason, "write to ", 9)) {
		add_entry(log, image, path, FOLD_WRITE, NULL);
		return;
	}
	add_entry(log, image, path, FOLD_SKIP,
		  xasprintf("%s: a security refusal, not a missing manifest entry", what));
}

static void parse_json_line(struct fold_log *log, struct run_state *rs, json_t *o)
{
	const char *ev = json_string_value(json_object_get(o, "event"));
	if (!ev) {
		log->ignored++;
	} else if (!strcmp(ev, "start")) {
		rs->started = json_number_value(json_object_get(o, "time"));
		intmap_free(&rs->unlisted);
	} else if (!strcmp(ev, "exec")) {
		/* a listed exec: the pid has a known image again */
		json_int_t pid = json_integer_value(json_object_get(o, "pid"));
		if (intmap_get(&rs->unlisted, (int)pid))
			intmap_del(&rs->unlisted, (int)pid);
	} else if (!strcmp(ev, "violation")) {
		parse_violation(log, rs, o);
	}
}

/* Gramine: "... Allowing access to unknown file '/p' due to file_check_policy
 * settings." (newer) or "...: file:/p" (Graphene).  The path is the host's. */
static bool parse_gramine_line(struct fold_log *log, const char *line)
{
	static const char key[] = "Allowing access to unknown file";
	const char *p = strstr(line, key);
	if (!p)
		return false;
	p += sizeof(key) - 1;
	cleanup_free char *path = NULL;
	const char *q;
	if (*p == ' ' && p[1] == '\'' && (q = strchr(p + 2, '\'')))
		path = xstrndup(p + 2, (size_t)(q - p - 2));
	else if ((q = strstr(p, "file:")))
		path = xstrndup(q + 5, strcspn(q + 5, " \t\r\n"));
	else
		return false;
	if (!strncmp(path, "file:", 5))
		memmove(path, path + 5, strlen(path + 5) + 1);
	if (!path_is_normal(path)) {
		add_entry(log, NULL, path, FOLD_SKIP,
			  xasprintf("Gramine: '%s' is not an absolute path (mount it at its host "
				    "path, or add it with --trust/--allow)", path));
		return true;
	}
	struct stat st;
	add_entry(log, NULL, path, stat(path, &st) == 0 ? FOLD_READ : FOLD_WRITE, NULL);
	return true;
}

int fold_parse_log(const char *path, struct fold_log *log, struct sg_err *err)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return sg_fail_errno(err, "cannot open log %s", path);
	struct run_state rs = {0};
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	size_t before = log->n;
	while ((len = getline(&line, &cap, f)) > 0) {
		log->lines++;
		json_t *o = line[0] == '{' ? json_loads(line, 0, NULL) : NULL;
		if (o && json_is_object(o))
			parse_json_line(log, &rs, o);
		else if (!parse_gramine_line(log, line))
			log->ignored++;
		json_decref(o);
	}
	int rc = ferror(f) ? sg_fail_errno(err, "cannot read log %s", path) : 0;
	free(line);
	fclose(f);
	intmap_free(&rs.unlisted);
	if (rc == 0 && log->n == before && log->lines > 0 && log->ignored == log->lines)
		rc = sg_fail(err, "%s: neither an sgxpy run log (--log) nor a Gramine log "
			     "(no 'Allowing access to unknown file' line)", path);
	return rc;
}

void fold_log_free(struct fold_log *log)
{
	for (size_t i = 0; i < log->n; i++) {
		free(log->e[i].image);
		free(log->e[i].path);
		free(log->e[i].note);
	}
	free(log->e);
	memset(log, 0, sizeof(*log));
}

/* ---- folding ----------------------------------------------------------- */

static void or_access(struct strmap *access, const char *path, uintptr_t fl)
{
	void **slot = strmap_put(access, path, NULL);
	*slot = (void *)((uintptr_t)*slot | fl);
}

static void append_opts(char ***v, size_t *n, char *const *add, size_t n_add)
{
	for (size_t i = 0; i < n_add; i++) {
		*v = xrealloc(*v, (*n + 1) * sizeof(char *));
		(*v)[(*n)++] = xstrdup(add[i]);
	}
}

static void fold_entry_into(struct mf_model *m, const struct fold_entry *e, struct strmap *rehash)
{
	if (e->kind == FOLD_SKIP)
		return;
	if (e->kind == FOLD_REHASH) {
		strmap_put(rehash, e->path, NULL);
		return;
	}
	void **slot = e->image ? strmap_get(&m->by_id, e->image) : NULL;
	struct mf_image *img = slot ? *slot : e->image ? NULL : m->root;
	if (!img)
		return; /* fold_model reported it */
	if (e->kind == FOLD_WRITE) {
		or_access(&img->access, e->path, ACC_WRITE | ACC_CREATE);
		strmap_put(&m->tree_written, e->path, NULL);
		return;
	}
	or_access(&img->access, e->path, ACC_READ);
	cleanup_free char *src = rules_pyc_source(e->path);
	if (src && access(src, F_OK) == 0)
		or_access(&img->access, src, ACC_PYC_STAT);
}

/* What BASE lists that its traces do not explain (earlier folds, --trust of
 * untouched paths) is carried over as the access that gives it, so a fold of
 * a folded bundle keeps what the first fold added. */
static void carry_base(const struct bundle *b, struct mf_model *m)
{
	for (size_t i = 0; i < b->n_images; i++) {
		const struct bundle_image *bi = &b->images[i];
		void **slot = strmap_get(&m->by_id, bi->id);
		if (!slot)
			continue; /* check_drift() reports it */
		struct mf_image *img = *slot;
#define CARRY(path, fl)                                      \
	do {                                                 \
		if (!strmap_get(&img->access, (path)))      \
			or_access(&img->access, (path), (fl)); \
	} while (0)
		for (size_t k = 0; k < bi->n_trusted; k++)
			CARRY(bi->trusted[k].path, ACC_READ);
		for (size_t k = 0; k < bi->n_allowed; k++)
			CARRY(bi->allowed[k].path, bi->allowed[k].write ? ACC_WRITE | ACC_CREATE : ACC_READ);
		for (size_t k = 0; k < bi->n_list; k++)
			CARRY(bi->list[k], ACC_LIST);
		for (size_t k = 0; k < bi->n_stat; k++)
			CARRY(bi->stat[k], ACC_STAT);
#undef CARRY
	}
}

/* Files BASE trusts that hash differently now, unless a log said so. */
static int check_drift(const struct bundle *b, const struct mf_model *m,
		       const struct strmap *rehash, struct sg_err *err)
{
	char list[600] = "";
	size_t n = 0;
	for (size_t i = 0; i < b->n_images; i++) {
		const struct bundle_image *bi = &b->images[i];
		void **slot = strmap_get(&m->by_id, bi->id);
		if (!slot)
			return sg_fail(err, "image %s of the base bundle is not in its traces any more",
				       bi->id);
		const struct mf_image *img = *slot;
		for (size_t k = 0; k < bi->n_trusted; k++) {
			const struct bundle_file *f = &bi->trusted[k];
			void **js = strmap_get(&img->trusted, f->path);
			const struct hash_job *j = js ? mf_job(m, (size_t)(uintptr_t)*js) : NULL;
			if (!j || (j->size == f->size && !memcmp(j->sha256, f->sha256, 32)) ||
			    strmap_get(rehash, f->path))
				continue;
			if (n++ < 5 && strlen(list) + strlen(f->path) + 3 < sizeof(list))
				snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
					 n > 1 ? ", " : "", f->path);
		}
	}
	if (n)
		return sg_fail(err, "%zu trusted file(s) changed on this host since the base bundle "
			       "was made and no log entry says so: %s%s ('sgxpy verify BASE' lists "
			       "them; fold only what the app was refused)", n, list, n > 5 ? ", ..." : "");
	return 0;
}

int fold_model(const char *base, const struct fold_log *log, const struct mf_options *extra,
	       struct mf_model *m, struct sg_err *err)
{
	struct bundle *b = NULL;
	struct bundle_origin o;
	struct strmap rehash = {0};
	if (bundle_load(base, &b, err) < 0)
		return -1;
	if (origin_load(base, &o, err) < 0) {
		bundle_free(b);
		return -1;
	}
	int rc = origin_require_traces(&o, base, err);
	char **found = xcalloc(o.n_traces + 1, sizeof(char *));
	for (size_t i = 0; i < o.n_traces; i++)
		found[i] = o.traces[i].found;
	memset(m, 0, sizeof(*m));
	m->opt = o.opt;
	memset(&o.opt, 0, sizeof(o.opt));
	append_opts(&m->opt.allow, &m->opt.n_allow, extra->allow, extra->n_allow);
	append_opts(&m->opt.trust, &m->opt.n_trust, extra->trust, extra->n_trust);
	append_opts(&m->opt.exclude, &m->opt.n_exclude, extra->exclude, extra->n_exclude);
	append_opts(&m->opt.widen, &m->opt.n_widen, extra->widen, extra->n_widen);
	m->opt.threads = extra->threads;
	m->opt.trust_sources |= extra->trust_sources;
	m->opt.built_code |= extra->built_code;
	if (rc == 0)
		rc = mf_build(m, found, o.n_traces, err);
	/* bundle.json records the traces as BASE did, not where they are now */
	for (size_t i = 0; rc == 0 && i < m->n_traces; i++) {
		free(m->traces[i].path);
		m->traces[i].path = xstrdup(o.traces[i].recorded);
	}
	if (rc == 0)
		carry_base(b, m);
	for (size_t i = 0; rc == 0 && i < log->n; i++) {
		const struct fold_entry *e = &log->e[i];
		if (e->image && e->kind != FOLD_SKIP && e->kind != FOLD_REHASH &&
		    !strmap_get(&m->by_id, e->image))
			rc = sg_fail(err, "the log names image %s, which %s does not have (was the "
				     "log made with another bundle?)", e->image, base);
		else
			fold_entry_into(m, e, &rehash);
	}
	if (rc == 0)
		rc = mf_classify(m, err);
	if (rc == 0)
		rc = check_drift(b, m, &rehash, err);
	free(found);
	strmap_free(&rehash);
	origin_free(&o);
	bundle_free(b);
	return rc;
}
