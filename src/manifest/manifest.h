/* manifest.h - the manifest stage: traces -> process images -> classified,
 * hashed file sets -> a bundle directory (docs/formats.md "Bundle").
 *
 *   build.c     read traces, group processes into images, collect accesses
 *   rules.c     classification rules as data (pseudo, volatile, pyc, random names)
 *   classify.c  per image: trusted / allowed / stat / list, hashing
 *   widen.c     --widen-package: an image trusts all of a package it imports
 *   write.c     canonical JSON, Merkle hashes, the bundle directory
 *   gramine.c   BUNDLE/gramine/app.manifest.template (the union)
 *   sign.c      keys and signatures over the measurement
 *   verify.c    re-check a bundle and its files on this host */
#ifndef SGXPY_MANIFEST_H
#define SGXPY_MANIFEST_H

#include "common/hash.h"
#include "common/image.h"
#include "common/strmap.h"
#include "common/util.h"

#include <stdbool.h>
#include <stdint.h>

/* What an image did to a path, OR-ed over all its processes and runs. */
enum {
	ACC_READ = 1 << 0,
	ACC_WRITE = 1 << 1,
	ACC_CREATE = 1 << 2,
	ACC_REMOVE = 1 << 3,
	ACC_EXEC = 1 << 4,
	ACC_MAP = 1 << 5,
	ACC_STAT = 1 << 6,
	ACC_READLINK = 1 << 7,
	ACC_SYMLINK = 1 << 8,
	ACC_LIST = 1 << 9,
	ACC_CHDIR = 1 << 10,
	ACC_PROBE = 1 << 11,   /* a lookup that failed with ENOENT/ENOTDIR */
	ACC_PYC_STAT = 1 << 12, /* X.py inferred from a read __pycache__/X.*.pyc */
	ACC_ALIAS = 1 << 13,   /* seen as a kernel-resolved target, not as named */
};
#define ACC_CONTENT (ACC_READ | ACC_EXEC | ACC_MAP)
#define ACC_MODIFY (ACC_WRITE | ACC_CREATE | ACC_REMOVE | ACC_SYMLINK)

struct mf_options {
	char **allow, **trust, **exclude; /* absolute normal paths */
	size_t n_allow, n_trust, n_exclude;
	unsigned threads;                 /* hashing threads, 0 = all CPUs */
	bool trust_sources;               /* trust X.py beside each trusted .pyc */
	bool built_code;                  /* --allow-built-code (rule 13) */
	char **widen;                     /* --widen-package: import names, or "*" */
	size_t n_widen;
};

/* An allow rule; tree = everything below, write = may modify; code = a file
 * the run itself wrote there may be mapped executable (--allow-built-code). */
struct mf_allow {
	bool tree, write, code;
};

struct mf_image {
	struct image_key key;
	char *id;
	char **argv;           /* of the first process seen with this image */
	char *cwd;
	int threads;           /* most threads seen in one process */
	long peak_rss_kb;      /* -1 unknown */
	struct strmap access;  /* path -> (uintptr_t) ACC_* flags */
	struct strmap children; /* child id -> struct mf_image * */
	/* classify.c results */
	struct strmap trusted; /* path -> (uintptr_t) 1 + job index */
	struct strmap allowed; /* path -> struct mf_allow * */
	struct strmap stat;    /* set */
	struct strmap list;    /* set */
	struct strmap gramine_stat; /* stat-only regular files: path -> 1 + job index */
	size_t program_job;    /* 1 + job index of the program */
	/* write.c results */
	int scc;               /* strongly connected component of the exec graph */
	bool hashed;
	char *json;            /* canonical manifest bytes */
	size_t json_len;
	unsigned char sha256[SHA256_LEN];
};

/* What --widen-package did for one package (for --stats). */
struct mf_widened {
	char *name;    /* top-level import name */
	size_t images; /* images that import it, each widened to all of it */
	size_t files;  /* its files trusted, counted per image */
	size_t added;  /* of those, trusted because of the option alone */
};

struct mf_trace {
	char *path;
	unsigned char sha256[SHA256_LEN];
};

struct mf_model {
	struct mf_image **images; /* sorted by id after build */
	size_t n_images, cap_images;
	struct strmap by_id;      /* id -> struct mf_image * */
	struct mf_image *root;
	char *root_env_json;      /* environment of the first run's root */
	struct strmap tree_written; /* paths any image modified -> (uintptr_t) ACC_MODIFY bits */
	struct mf_trace *traces;
	size_t n_traces;
	struct mf_options opt;
	/* hashing */
	struct hash_job *jobs;
	size_t n_jobs, cap_jobs;
	struct strmap job_of;     /* path -> 1 + job index */
	int max_threads;
	long max_peak_rss_kb;
	/* widen.c results, sorted by name */
	struct mf_widened *widened;
	size_t n_widened;
};

/* build.c */
int mf_build(struct mf_model *m, char **traces, size_t n, struct sg_err *err);
void mf_model_free(struct mf_model *m);
/* classify.c */
int mf_classify(struct mf_model *m, struct sg_err *err);
const struct hash_job *mf_job(const struct mf_model *m, size_t job1);
/* img trusts path (a hash job for it is made once for all images). */
void mf_trust(struct mf_model *m, struct mf_image *img, const char *path);
/* widen.c: after classification, before hashing.  Fails naming every
 * requested package that no image imports. */
int mf_widen(struct mf_model *m, struct sg_err *err);
/* The top-level import name path belongs to (malloc'd), with in *site_len
 * the length of the import directory (site-packages, dist-packages,
 * pythonX.Y, pythonX.Y/lib-dynload) holding it; NULL if none. */
char *widen_top_of(const char *path, size_t *site_len);
/* A name --widen-package takes: "*" or a Python identifier. */
bool widen_name_ok(const char *name);
/* write.c */
int mf_write_bundle(struct mf_model *m, const char *dir, struct sg_err *err);
/* gramine.c: the template text for the union of all images. */
char *mf_gramine_template(const struct mf_model *m, size_t *len, struct sg_err *err);

/* rules.c */
struct pseudo_rule {
	const char *prefix;  /* matches prefix itself and below */
	const char *allow;   /* the rule emitted (generalised path) */
	bool tree;
	const char *why;
};
/* For a path under /proc, /sys or /dev: the allow path it generalises to
 * (malloc'd) and whether that is a tree.  NULL if path is not pseudo. */
char *rules_pseudo(const char *path, bool *tree);
bool rules_is_pseudo(const char *path);
/* The volatile root (temp dir) holding path, or NULL.  tmpdir: $TMPDIR of the
 * traced app, or NULL. */
const char *rules_volatile_root(const char *path, const char *tmpdir);
/* Python bytecode cache: a .pyc (or its X.pyc.NNN temp name) in __pycache__,
 * or the __pycache__ directory itself. */
bool rules_is_pycache(const char *path);
/* D/X.py for D/__pycache__/X.<tag>.pyc, else NULL (malloc'd). */
char *rules_pyc_source(const char *pyc);
/* A file name that will differ next run: pid-like digit runs, tempfile names. */
bool rules_random_name(const char *path);
/* Files Gramine's runtime dir replaces (glibc, ld.so): left out of the export. */
bool rules_gramine_provides(const char *path);
/* Environment variables worth carrying into the Gramine manifest. */
bool rules_env_exported(const char *name);

#endif
