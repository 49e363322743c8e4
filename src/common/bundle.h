/* bundle.h - a bundle loaded into memory: what the supervisor enforces and what
 * verify/show read.  The on-disk format is in docs/formats.md.  bundle_load()
 * checks everything it reads (JSON types, 64-hex hashes, normal absolute paths,
 * every manifest's hash against bundle.json) and names file and field on error. */
#ifndef SGXPY_BUNDLE_H
#define SGXPY_BUNDLE_H

#include "common/util.h"

#include <stdbool.h>
#include <stdint.h>

struct bundle_file {
	char *path;
	uint64_t size;
	unsigned char sha256[32];
	bool link;  /* the path itself was a symlink when the bundle was made */
};

struct bundle_allow {
	char *path;
	bool tree;  /* everything below path too */
	bool write; /* may write/create/remove, not only read */
	bool code;  /* a file this run wrote there may be mapped executable */
};

struct bundle_image {
	char *id;
	char *program;        /* absolute path */
	unsigned char program_sha256[32];
	char *script;         /* see image.h; NULL if none */
	char *cwd;            /* the root image's traced working directory, or NULL */
	char **argv;          /* NULL-terminated, as traced */
	struct bundle_file *trusted; /* sorted by path */
	size_t n_trusted;
	struct bundle_allow *allowed; /* sorted by path */
	size_t n_allowed;
	char **stat;          /* sorted */
	size_t n_stat;
	char **list;          /* sorted */
	size_t n_list;
	char **children;      /* image ids */
	size_t n_children;
	/* The hash this manifest gives each child (parallel to children);
	 * children_hashed[i] false where the exec graph has a cycle (null). */
	unsigned char (*children_sha256)[32];
	bool *children_hashed;
	unsigned char sha256[32]; /* of the manifest file's bytes */
	unsigned char listed_sha256[32]; /* what bundle.json says it should be */
	uint64_t program_size;
};

struct bundle {
	char *dir;
	unsigned char measurement[32]; /* SHA-256 of bundle.json */
	char *root;                    /* root image id */
	struct bundle_image *images;   /* sorted by id */
	size_t n_images;
	bool has_gramine;              /* bundle.json lists the Gramine template */
	unsigned char gramine_sha256[32];
};

int bundle_load(const char *dir, struct bundle **out, struct sg_err *err);
/* Flags for bundle_load_flags(). */
enum {
	/* Parse and check every field, but do not fail when a manifest's bytes
	 * differ from bundle.json or a child hash: `verify` reports those
	 * itself, one line each (compare sha256 with listed_sha256). */
	BUNDLE_NO_HASH_CHECK = 1,
};
int bundle_load_flags(const char *dir, int flags, struct bundle **out, struct sg_err *err);
/* The bytes of bundle.json are what the measurement hashes; this re-reads
 * them (for signing and verifying a signature). */
int bundle_measure(const char *dir, unsigned char out[32], struct sg_err *err);
void bundle_free(struct bundle *b);

const struct bundle_image *bundle_image_by_id(const struct bundle *b, const char *id);
const struct bundle_file *image_trusted(const struct bundle_image *img, const char *path);
/* The allow rule covering path (exact, or a tree rule above it), or NULL. */
const struct bundle_allow *image_allowed(const struct bundle_image *img, const char *path);
/* Does an allow rule for path, or a tree rule above it, carry "code"
 * (--allow-built-code)? */
bool image_allows_code(const struct bundle_image *img, const char *path);
bool image_may_stat(const struct bundle_image *img, const char *path);
bool image_may_list(const struct bundle_image *img, const char *path);
/* The child image of img matching an exec of program/argv/cwd, or NULL. */
const struct bundle_image *image_child_for_exec(const struct bundle *b,
						const struct bundle_image *img,
						const char *program, char *const argv[],
						const char *cwd);

#endif
