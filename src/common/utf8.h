/* utf8.h - JSON holds only UTF-8, but argv, environment and paths are bytes.
 * Text that is not valid UTF-8 is written with each offending byte as the
 * four characters "\xNN" (documented in docs/formats.md). */
#ifndef SGXPY_UTF8_H
#define SGXPY_UTF8_H

#include <jansson.h>
#include <stdbool.h>

bool utf8_valid(const char *s);
/* malloc'd copy of s with every byte that is not part of a valid UTF-8
 * sequence replaced by "\xNN". */
char *utf8_escape(const char *s);
/* A JSON string for any C string: as is when valid UTF-8, escaped otherwise. */
json_t *json_bytes(const char *s);

#endif
