/* strmap.h - string-keyed hash map (open addressing, keys owned by the map).
 * Also serves as a set (value NULL).  O(1) lookups for the tracer's per-process
 * dedup and the manifest builder's file tables. */
#ifndef SGXPY_STRMAP_H
#define SGXPY_STRMAP_H

#include <stddef.h>

struct strmap_entry {
	char *key;
	void *value;
};

struct strmap {
	struct strmap_entry *slots;
	size_t cap; /* power of two */
	size_t len;
};

/* Returns the value slot for key, or NULL. */
void **strmap_get(const struct strmap *m, const char *key);
/* Inserts key if absent.  Returns the value slot; *added tells whether new. */
void **strmap_put(struct strmap *m, const char *key, int *added);
/* Frees keys and the table (values are the caller's). */
void strmap_free(struct strmap *m);
/* The same, and free() on every value. */
void strmap_free_values(struct strmap *m);

#define strmap_foreach(m, e) \
	for (struct strmap_entry *e = (m)->slots; (m)->slots && e < (m)->slots + (m)->cap; e++) \
		if (e->key)

/* Keys in sorted order (array owned by caller, keys by the map). */
const char **strmap_sorted_keys(const struct strmap *m);

#endif
