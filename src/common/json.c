/* json.c - see json.h. */
#include "common/json.h"
#include "common/path.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

char *json_canonical(const json_t *v, size_t *len)
{
	char *s = json_dumps(v, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENSURE_ASCII);
	if (!s)
		return NULL;
	size_t n = strlen(s);
	char *out = xmalloc(n + 2);
	memcpy(out, s, n);
	out[n] = '\n';
	out[n + 1] = '\0';
	free(s);
	if (len)
		*len = n + 1;
	return out;
}

int read_small_file(const char *path, size_t max, char **data, size_t *len, struct sg_err *err)
{
	cleanup_fd int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return sg_fail_errno(err, "cannot open %s", path);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return sg_fail_errno(err, "cannot stat %s", path);
	if (!S_ISREG(st.st_mode))
		return sg_fail(err, "%s: not a regular file", path);
	if ((uint64_t)st.st_size > max)
		return sg_fail(err, "%s: too large (%lld bytes, at most %zu)", path,
			       (long long)st.st_size, max);
	size_t cap = (size_t)st.st_size + 1, n = 0;
	cleanup_free char *buf = xmalloc(cap + 1);
	for (;;) {
		/* Read one byte past the size: a file that grew is caught too. */
		ssize_t r = TEMP_FAILURE_RETRY(read(fd, buf + n, cap - n));
		if (r < 0)
			return sg_fail_errno(err, "cannot read %s", path);
		if (r == 0)
			break;
		n += (size_t)r;
		if (n == cap)
			return sg_fail(err, "%s: changed while being read", path);
	}
	buf[n] = '\0';
	*data = steal_pointer(&buf);
	if (len)
		*len = n;
	return 0;
}

json_t *json_str_checked(const char *s)
{
	return json_string(s);
}

static const char *type_name(json_type t)
{
	switch (t) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	case JSON_NULL: return "null";
	}
	return "a value";
}

static bool is_type(const json_t *v, json_type t)
{
	if (t == JSON_TRUE || t == JSON_FALSE)
		return json_is_boolean(v);
	return json_typeof(v) == t;
}

int jopt(const json_t *obj, const char *key, json_type type, const char *file,
	 const char *field, json_t **out, struct sg_err *err)
{
	json_t *v = json_object_get(obj, key);
	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!is_type(v, type))
		return sg_fail(err, "%s: %s: expected %s", file, field, type_name(type));
	*out = v;
	return 0;
}

int jreq(const json_t *obj, const char *key, json_type type, const char *file,
	 const char *field, json_t **out, struct sg_err *err)
{
	json_t *v = json_object_get(obj, key);
	if (!v)
		return sg_fail(err, "%s: %s: missing", file, field);
	if (!is_type(v, type))
		return sg_fail(err, "%s: %s: expected %s", file, field, type_name(type));
	*out = v;
	return 0;
}

int jstring(const json_t *obj, const char *key, const char *file, const char *field,
	    const char **out, struct sg_err *err)
{
	json_t *v = NULL;
	if (jreq(obj, key, JSON_STRING, file, field, &v, err) < 0)
		return -1;
	*out = json_string_value(v);
	if (strlen(*out) != json_string_length(v))
		return sg_fail(err, "%s: %s: contains a NUL character", file, field);
	return 0;
}

int jpath(const json_t *v, const char *file, const char *field, const char **out,
	  struct sg_err *err)
{
	if (!json_is_string(v))
		return sg_fail(err, "%s: %s: expected a string", file, field);
	const char *s = json_string_value(v);
	if (strlen(s) != json_string_length(v))
		return sg_fail(err, "%s: %s: contains a NUL character", file, field);
	if (!path_is_normal(s))
		return sg_fail(err, "%s: %s: '%s' is not an absolute normal path "
			       "(no '.', '..', '//' or trailing '/')", file, field, s);
	*out = s;
	return 0;
}

int jsha256(const json_t *v, const char *file, const char *field, unsigned char out[32],
	    struct sg_err *err)
{
	if (!json_is_string(v))
		return sg_fail(err, "%s: %s: expected a SHA-256 string", file, field);
	const char *s = json_string_value(v);
	if (json_string_length(v) != 64 || hex_decode(s, out, 32) < 0)
		return sg_fail(err, "%s: %s: expected 64 hex digits, got %zu characters", file,
			       field, json_string_length(v));
	return 0;
}

int juint(const json_t *obj, const char *key, const char *file, const char *field,
	  uint64_t *out, struct sg_err *err)
{
	json_t *v = NULL;
	if (jreq(obj, key, JSON_INTEGER, file, field, &v, err) < 0)
		return -1;
	if (json_integer_value(v) < 0)
		return sg_fail(err, "%s: %s: must not be negative", file, field);
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

int jbool(const json_t *obj, const char *key, const char *file, const char *field, bool def,
	  bool *out, struct sg_err *err)
{
	json_t *v = NULL;
	if (jopt(obj, key, JSON_TRUE, file, field, &v, err) < 0)
		return -1;
	*out = v ? json_is_true(v) : def;
	return 0;
}
