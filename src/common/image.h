/* image.h - what a "process image" is: the key shared by the manifest builder
 * (grouping trace processes into manifests) and the supervisor (which manifest
 * governs a process after exec).  Rules in docs/formats.md "Image key". */
#ifndef SGXPY_IMAGE_H
#define SGXPY_IMAGE_H

#include <stdbool.h>

struct image_key {
	char *program; /* absolute path of the exec'd file, symlinks resolved */
	char *script;  /* "/abs/script.py", "-c:<text>", "-m:<module>", or NULL */
};

/* Derive the key from the program, its argv and cwd.  Never fails for a
 * non-interpreter; for an interpreter with an unparsable argv, script = NULL. */
void image_key_from_exec(const char *program, char *const argv[], const char *cwd,
			 struct image_key *out);
/* A readable, file-name-safe, deterministic id, unique per key
 * (e.g. "python3.11-app.py-1a2b3c4d"). */
char *image_id(const struct image_key *key);
/* True if both keys name the same image. */
int image_key_equal(const struct image_key *a, const struct image_key *b);

/* Is path the file that key's script names (its temp directories folded to
 * "*" as image keys fold them)?  False for -c/-m scripts and no script. */
bool image_script_matches(const char *script, const char *path);
void image_key_free(struct image_key *key);

/* A file name that will differ next run: a run of 5+ digits (a pid, a time
 * stamp) or tempfile's "tmp" + 8 characters of [a-z0-9_].  Shared by the
 * image key (scripts in temp dirs) and the manifest rules (written paths). */
int image_name_is_random(const char *name);

#endif
