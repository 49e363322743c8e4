/* verify.h - re-check a bundle on this host, like `rpm -V`: every manifest
 * against bundle.json and its parent's child hash, the Gramine template, every
 * trusted file's type, size and SHA-256, and optionally the signature. */
#ifndef SGXPY_VERIFY_H
#define SGXPY_VERIFY_H

#include "common/util.h"

#include <stdio.h>

/* Prints one line per mismatch to out.  Returns the number of mismatches,
 * or -1 (err set) when the bundle cannot be read at all.  key may be NULL. */
long verify_bundle(const char *dir, const char *key, FILE *out, size_t *n_files,
		   struct sg_err *err);

#endif
