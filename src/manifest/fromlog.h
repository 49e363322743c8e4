/* fromlog.h - the audit loop: fold what a run was refused into a new bundle.
 *
 * Two log formats are read, line by line, told apart by their shape:
 *   - `sgxpy run --audit --log FILE` JSON lines (src/run/log.c): each
 *     "violation" names the image, the operation, the path and the reason;
 *   - Gramine's log with sgx.file_check_policy = "allow_all_but_log":
 *     "Allowing access to unknown file '/path' ..." (no process named: the
 *     root image gets them, as Gramine enforces the union anyway).
 * The new bundle is the base bundle made again from its own traces and
 * options (origin.h) as if the trace had also seen the folded accesses, so
 * the same classification rules apply to them (a written file is allowed,
 * a read one is trusted with its hash, a temp file widens to its temp dir). */
#ifndef SGXPY_FROMLOG_H
#define SGXPY_FROMLOG_H

#include "manifest/manifest.h"

enum fold_kind {
	FOLD_READ,   /* read, executed or listed: trusted (or list) */
	FOLD_WRITE,  /* written or created: allowed with write */
	FOLD_REHASH, /* hash mismatch: take the file's content now */
	FOLD_SKIP,   /* cannot be folded: `note` says why and what to do */
};

struct fold_entry {
	char *image; /* image id; NULL: the root image (Gramine lines) */
	char *path;
	enum fold_kind kind;
	char *note;  /* FOLD_SKIP: one line for the user */
};

struct fold_log {
	struct fold_entry *e;
	size_t n, cap;
	size_t lines, ignored; /* lines read, lines that were neither format */
};

/* Append the entries of one log file to log. */
int fold_parse_log(const char *path, struct fold_log *log, struct sg_err *err);
void fold_log_free(struct fold_log *log);

/* Make the new model: BASE's traces (found and unchanged, see origin.h) and
 * options plus `extra` options, the folded accesses, classified and hashed.
 * Refuses when a file BASE trusts now hashes differently and no "hash
 * mismatch" entry names it: a fold adds what the app was refused, never
 * silently what changed on the host.  m is the caller's to write and free. */
int fold_model(const char *base, const struct fold_log *log, const struct mf_options *extra,
	       struct mf_model *m, struct sg_err *err);

#endif
