/* diff.h - what changed between two bundles, per image: paths added,
 * removed, re-hashed (same rights, other content) and with other rights
 * (trusted -> allowed, read -> write, ...).  `sgxpy diff` prints it, and
 * `sgxpy manifest --from-log` prints what a fold added with it. */
#ifndef SGXPY_DIFF_H
#define SGXPY_DIFF_H

#include "common/bundle.h"

#include <jansson.h>
#include <stdio.h>

enum diff_kind {
	DIFF_ADDED,
	DIFF_REMOVED,
	DIFF_REHASHED,
	DIFF_RIGHTS,
	DIFF_KINDS
};

/* What an image may do with one path, as bits (rights_str() spells them). */
enum {
	RT_TRUSTED = 1 << 0,
	RT_READ = 1 << 1,  /* allowed, read only */
	RT_WRITE = 1 << 2, /* allowed, writable */
	RT_TREE = 1 << 3,  /* the allow rule covers everything below */
	RT_LIST = 1 << 4,
	RT_STAT = 1 << 5,
	RT_EXEC = 1 << 6,  /* path is a child image id: may exec it */
};

struct diff_item {
	const char *image; /* borrowed from the bundles */
	const char *path;  /* a path, or a child image id for RT_EXEC */
	enum diff_kind kind;
	unsigned old_rights, new_rights;
	uint64_t old_size, new_size; /* trusted files */
};

/* An image only one side has: summarised, not listed path by path. */
struct diff_image {
	const struct bundle_image *img;
	bool added; /* only in the new bundle; else only in the old */
};

struct bundle_diff {
	struct diff_item *items;  /* by image id, then path */
	size_t n_items, cap_items;
	struct diff_image *images;
	size_t n_images, cap_images;
	bool index_differs; /* the measurements differ (bundle.json: options, traces) */
	size_t count[DIFF_KINDS];
};

/* Compare old and new.  Never fails. */
void bundle_diff(const struct bundle *old_b, const struct bundle *new_b, struct bundle_diff *d);
/* True if anything differs, including bundle.json alone. */
bool bundle_diff_any(const struct bundle_diff *d);
/* "trusted", "allowed write, tree", "list, stat", "exec". */
void rights_str(unsigned rights, char *out, size_t len);
/* Human output: one line per path (unless stat_only), then one line per image
 * with its counts, then the totals (colour on a TTY, see term.h). */
void bundle_diff_print(const struct bundle_diff *d, FILE *out, bool stat_only);
json_t *bundle_diff_json(const struct bundle_diff *d);
void bundle_diff_free(struct bundle_diff *d);

#endif
