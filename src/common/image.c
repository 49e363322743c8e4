/* image.c - the process-image key (see image.h and docs/formats.md "Image key").
 *
 * An image is the program plus, for interpreters, what the interpreter runs:
 * `python3 app.py` and `python3 worker.py` must get different manifests, while
 * multiprocessing's `python3 -c "...spawn_main(tracker_fd=5, pipe_handle=7)"`
 * must be one image whatever fd numbers it was given, hence the digit folding. */
#include "common/image.h"
#include "common/hash.h"
#include "common/path.h"
#include "common/util.h"

#include <ctype.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

enum interp { INTERP_NONE, INTERP_PYTHON, INTERP_SHELL };

/* Interpreters by the base name of the (resolved) program. */
static enum interp interp_of(const char *program)
{
	const char *base = strrchr(program, '/');
	base = base ? base + 1 : program;
	if (strncmp(base, "python", 6) == 0) {
		/* python, python3, python3.11, python3.11d: digits, dots, a flag letter */
		for (const char *c = base + 6; *c; c++)
			if (!isdigit((unsigned char)*c) && *c != '.' && *c != 'd' && *c != 'm' && *c != 'u')
				return INTERP_NONE;
		return INTERP_PYTHON;
	}
	static const char *const shells[] = {"sh", "dash", "bash", "ash", "ksh", "mksh", "zsh", "busybox"};
	for (size_t i = 0; i < ARRAY_SIZE(shells); i++)
		if (strcmp(base, shells[i]) == 0)
			return INTERP_SHELL;
	return INTERP_NONE;
}

/* Length of a Python tempfile name at s ("tmp" + 8 or more of [a-z0-9_]),
 * or 0. */
static size_t temp_name_length(const char *s)
{
	if (strncmp(s, "tmp", 3) != 0)
		return 0;
	size_t k = 3;
	while (islower((unsigned char)s[k]) || isdigit((unsigned char)s[k]) || s[k] == '_')
		k++;
	return k >= 11 ? k : 0;
}

/* -c text with every run of digits folded to one '#' and every tempfile name
 * after a '/' to "tmp*": the same program given other fd numbers or another
 * fresh temp dir (f2py's `-c "...sys.path = ['/tmp/tmpk7ptyzc8', ...]..."`)
 * is one image. */
static char *fold_digits(const char *text)
{
	size_t n = strlen(text);
	char *out = xmalloc(n + 4), *o = out;
	memcpy(o, "-c:", 3);
	o += 3;
	for (const char *c = text; *c;) {
		size_t tmp = *c == '/' ? temp_name_length(c + 1) : 0;
		if (tmp) {
			memcpy(o, "/tmp*", 5);
			o += 5;
			c += 1 + tmp;
		} else if (isdigit((unsigned char)*c)) {
			*o++ = '#';
			while (isdigit((unsigned char)*c))
				c++;
		} else {
			*o++ = *c++;
		}
	}
	*o = '\0';
	return out;
}

int image_name_is_random(const char *name)
{
	if (strncmp(name, "tmp", 3) == 0) {
		size_t k = 0;
		for (const char *c = name + 3; *c && (islower((unsigned char)*c) ||
						     isdigit((unsigned char)*c) || *c == '_'); c++)
			k++;
		if (k >= 8)
			return 1;
	}
	int run = 0;
	for (const char *c = name; *c && *c != '/'; c++) {
		run = isdigit((unsigned char)*c) ? run + 1 : 0;
		if (run >= 5)
			return 1;
	}
	return 0;
}

/* A script the app wrote into a fresh temp dir (numpy's compiler probe runs
 * `python3 /tmp/tmpk7ptyzc8/setup.py`) has another path every run: fold each
 * random directory component below a temp dir to "*", so the traced image
 * and the next run's exec are one image.  Its content is never vetted anyway
 * (the run wrote it: the manifest allows it, read-only, as volatile). */
static const char *const temp_roots[] = {"/tmp/", "/var/tmp/", "/dev/shm/"};

static void fold_temp_script(char *path)
{
	bool in_temp = false;
	for (size_t i = 0; i < ARRAY_SIZE(temp_roots); i++)
		in_temp |= strncmp(path, temp_roots[i], strlen(temp_roots[i])) == 0;
	if (!in_temp)
		return;
	char *out = path + 1;
	for (const char *in = path + 1; *in;) {
		const char *end = strchrnul(in, '/');
		size_t len = (size_t)(end - in);
		if (*end == '/' && image_name_is_random(in)) { /* directories only */
			*out++ = '*';
		} else {
			memmove(out, in, len);
			out += len;
		}
		if (*end == '/')
			*out++ = '/';
		in = *end ? end + 1 : end;
	}
	*out = '\0';
}

static char *script_path(const char *arg, const char *cwd)
{
	char *p = path_resolve(cwd, arg);
	if (!p)
		return xstrdup(arg);
	fold_temp_script(p);
	return p;
}

/* CPython's command line: options, then -c TEXT, -m MOD, a script, or '-'. */
static char *python_script(char *const argv[], const char *cwd)
{
	for (size_t i = 1; argv[i]; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0)
			return argv[i + 1] && strcmp(argv[i + 1], "-") ? script_path(argv[i + 1], cwd) : NULL;
		if (strcmp(a, "--check-hash-based-pycs") == 0) {
			if (!argv[++i])
				return NULL;
			continue;
		}
		if (strncmp(a, "--", 2) == 0)
			continue; /* --version, --help: no script */
		if (a[0] != '-')
			return script_path(a, cwd);
		if (a[1] == '\0')
			return NULL; /* '-': stdin */
		/* A cluster such as -Bc or -W ignore: scan its letters. */
		for (const char *c = a + 1; *c; c++) {
			if (*c == 'c' || *c == 'm') {
				const char *val = c[1] ? c + 1 : argv[i + 1];
				if (!val)
					return NULL;
				return *c == 'c' ? fold_digits(val) : xasprintf("-m:%s", val);
			}
			if (*c == 'W' || *c == 'X') {
				if (!c[1] && !argv[++i])
					return NULL;
				break;
			}
		}
	}
	return NULL;
}

/* POSIX sh and bash: options (-e, -o NAME, +o NAME, --rcfile F), then -c TEXT
 * or a script; -s reads commands from stdin. */
static char *shell_script(char *const argv[], const char *cwd)
{
	bool have_c = false;
	for (size_t i = 1; argv[i]; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0 || strcmp(a, "-") == 0) {
			i++;
			if (!argv[i])
				return NULL;
			return have_c ? fold_digits(argv[i]) : script_path(argv[i], cwd);
		}
		if (strcmp(a, "--rcfile") == 0 || strcmp(a, "--init-file") == 0) {
			if (!argv[++i])
				return NULL;
			continue;
		}
		if (strncmp(a, "--", 2) == 0)
			continue;
		if (a[0] != '-' && a[0] != '+')
			return have_c ? fold_digits(a) : script_path(a, cwd);
		bool takes_o = false;
		for (const char *c = a + 1; *c; c++) {
			if (*c == 'c')
				have_c = true;
			else if (*c == 's')
				return NULL;
			else if (*c == 'o' || *c == 'O')
				takes_o = true;
		}
		if (takes_o && !argv[++i])
			return NULL;
	}
	return NULL;
}

static char *resolve_program(const char *program, const char *cwd)
{
	cleanup_free char *abs = path_resolve(cwd, program);
	if (!abs)
		return xstrdup(program);
	char real[PATH_MAX];
	/* The key is the file run, whatever symlink named it; a program gone
	 * since keeps its lexical path. */
	if (realpath(abs, real))
		return xstrdup(real);
	return steal_pointer(&abs);
}

void image_key_from_exec(const char *program, char *const argv[], const char *cwd,
			 struct image_key *out)
{
	out->program = resolve_program(program, cwd);
	out->script = NULL;
	if (!argv || !argv[0])
		return;
	switch (interp_of(out->program)) {
	case INTERP_PYTHON:
		out->script = python_script(argv, cwd);
		break;
	case INTERP_SHELL:
		out->script = shell_script(argv, cwd);
		break;
	case INTERP_NONE:
		break;
	}
}

/* Append up to max file-name-safe characters of s to buf. */
static void append_safe(char *buf, size_t cap, const char *s, size_t max)
{
	size_t len = strlen(buf);
	for (; *s && max && len + 1 < cap; s++, max--) {
		unsigned char c = (unsigned char)*s;
		buf[len++] = (isalnum(c) || c == '.' || c == '_' || c == '-') ? (char)c : '_';
	}
	buf[len] = '\0';
}

char *image_id(const struct image_key *key)
{
	char label[96] = "";
	const char *base = strrchr(key->program, '/');
	append_safe(label, sizeof(label), base ? base + 1 : key->program, 32);
	if (key->script) {
		strcat(label, "-");
		if (strncmp(key->script, "-c:", 3) == 0)
			strcat(label, "c");
		else if (strncmp(key->script, "-m:", 3) == 0) {
			strcat(label, "m-");
			append_safe(label, sizeof(label), key->script + 3, 32);
		}
		else {
			const char *sb = strrchr(key->script, '/');
			append_safe(label, sizeof(label), sb ? sb + 1 : key->script, 32);
		}
	}
	/* A leading '.' would hide the manifest file; '-' would look like an option. */
	if (label[0] == '.' || label[0] == '-')
		label[0] = '_';
	/* The hash tells apart keys whose labels collide (two app.py in two dirs). */
	size_t plen = strlen(key->program), slen = key->script ? strlen(key->script) : 0;
	char *buf = xmalloc(plen + slen + 2);
	memcpy(buf, key->program, plen + 1);
	if (key->script)
		memcpy(buf + plen + 1, key->script, slen + 1);
	unsigned char h[SHA256_LEN];
	sha256_buf(buf, plen + 1 + (key->script ? slen + 1 : 0), h);
	free(buf);
	char hex[SHA256_HEX_LEN + 1];
	hex_encode(h, 4, hex);
	return xasprintf("%s-%s", label, hex);
}

bool image_script_matches(const char *script, const char *path)
{
	if (!script || script[0] != '/')
		return false;
	cleanup_free char *p = xstrdup(path);
	fold_temp_script(p);
	return strcmp(p, script) == 0;
}

int image_key_equal(const struct image_key *a, const struct image_key *b)
{
	if (strcmp(a->program, b->program) != 0)
		return 0;
	if (!a->script || !b->script)
		return a->script == b->script;
	return strcmp(a->script, b->script) == 0;
}

void image_key_free(struct image_key *key)
{
	free(key->program);
	free(key->script);
	key->program = key->script = NULL;
}
