/* intmap.h - int-keyed hash map (open addressing, backward-shift deletion).
 * O(1) thread/process lookups for the tracer and the supervisor. */
#ifndef SGXPY_INTMAP_H
#define SGXPY_INTMAP_H

#include <stddef.h>

struct intmap_entry {
	int key;
	int used;
	void *value;
};

struct intmap {
	struct intmap_entry *slots;
	size_t cap; /* power of two */
	size_t len;
};

void *intmap_get(const struct intmap *m, int key);
/* Insert or replace. */
void intmap_put(struct intmap *m, int key, void *value);
/* Remove key; returns its value or NULL. */
void *intmap_del(struct intmap *m, int key);
void intmap_free(struct intmap *m);

#define intmap_foreach(m, e) \
	for (struct intmap_entry *e = (m)->slots; (m)->slots && e < (m)->slots + (m)->cap; e++) \
		if (e->used)

#endif
