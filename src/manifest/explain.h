/* explain.h - why a path is in an image's manifest: the access the trace
 * recorded and the classification rule (docs/formats.md "Manifest rules")
 * or option that turned it into trusted / allowed / stat / list. */
#ifndef SGXPY_EXPLAIN_H
#define SGXPY_EXPLAIN_H

#include "manifest/manifest.h"

/* "read, stat": the ACC_* flags as words. */
void access_words(uintptr_t fl, char *out, size_t len);
/* The rule that decides path for img, given its access flags fl, in the
 * order classify.c applies them ("rule 9: ..."). */
void explain_rule(const struct mf_model *m, const char *path, uintptr_t fl, char *out, size_t len);

#endif
