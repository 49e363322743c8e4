/* path.h - lexical path handling shared by tracer, manifest builder and supervisor. */
#ifndef SGXPY_PATH_H
#define SGXPY_PATH_H

#include <stdbool.h>
#include <stddef.h>

/* Join base and rel (rel absolute: rel alone) and normalise lexically:
 * collapse "//", drop ".", resolve ".." against the previous component
 * (never above "/").  Returns a malloc'd absolute path, or NULL if base is
 * not absolute while rel is relative. */
char *path_resolve(const char *base, const char *rel);

/* Normalise an absolute path in place (same rules as path_resolve). */
void path_normalize(char *path);

/* True if path is absolute and already normal: no "//", ".", ".." parts and
 * no trailing "/" (except "/" itself).  Manifest loaders require this. */
bool path_is_normal(const char *path);

/* True if path equals dir or lies below it (dir given without trailing '/'). */
bool path_is_under(const char *path, const char *dir);

/* The first of dirs[0..n) that path is under (path_is_under), or NULL. */
const char *path_under_any(const char *path, char *const *dirs, size_t n);

/* True if Python's import system runs what it reads from path: source,
 * bytecode, and .pth files (whose "import" lines site.py executes). */
bool path_is_python_code(const char *path);

#endif
