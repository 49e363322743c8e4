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

/* True if Python runs what it reads from path, or takes from it where to find
 * what it runs: source, bytecode, .pth files (whose "import" lines site.py
 * executes), and the start-up files that move sys.path (pyvenv.cfg, whose
 * home acts as PYTHONHOME, and <executable>._pth, which replaces sys.path:
 * found next to a python3 an attacker's PATH leads to, they put a zip of
 * theirs first on sys.path). */
bool path_is_python_code(const char *path);

#endif
