/* json.h - the few jansson helpers the bundle writer and loader share:
 * canonical serialisation (what the measurement hashes) and typed getters that
 * name file and field in every error ("manifests/x.json: trusted[3].sha256: ..."). */
#ifndef SGXPY_JSON_H
#define SGXPY_JSON_H

#include "common/util.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* Canonical bytes: sorted keys, compact, ASCII only, one trailing newline.
 * Returns malloc'd text, or NULL if v holds something jansson cannot encode. */
char *json_canonical(const json_t *v, size_t *len);

/* Read a whole regular file of at most max bytes (NUL-terminated).  Unlike
 * read_file() it refuses FIFOs, devices and directories up front (opened
 * O_NONBLOCK, so a FIFO planted in a bundle cannot hang us) and files larger
 * than max (a symlink to /dev/zero cannot exhaust memory). */
int read_small_file(const char *path, size_t max, char **data, size_t *len, struct sg_err *err);

/* A JSON string for s, or NULL if s is not valid UTF-8 (jansson refuses it);
 * callers turn NULL into an error naming the path. */
json_t *json_str_checked(const char *s);

/* Typed member access.  `field` names the member for messages (e.g. "trusted[3].path").
 * On failure: -1 and err = "<file>: <field>: <problem>". */
int jreq(const json_t *obj, const char *key, json_type type, const char *file,
	 const char *field, json_t **out, struct sg_err *err);
/* Optional member: *out NULL when absent or null. */
int jopt(const json_t *obj, const char *key, json_type type, const char *file,
	 const char *field, json_t **out, struct sg_err *err);
int jstring(const json_t *obj, const char *key, const char *file, const char *field,
	    const char **out, struct sg_err *err);
/* A string that is an absolute, lexically normal path (no "..", ".", "//"). */
int jpath(const json_t *v, const char *file, const char *field, const char **out,
	  struct sg_err *err);
/* A string of exactly 64 hex digits. */
int jsha256(const json_t *v, const char *file, const char *field, unsigned char out[32],
	    struct sg_err *err);
int juint(const json_t *obj, const char *key, const char *file, const char *field,
	  uint64_t *out, struct sg_err *err);
int jbool(const json_t *obj, const char *key, const char *file, const char *field, bool def,
	  bool *out, struct sg_err *err);

#endif
