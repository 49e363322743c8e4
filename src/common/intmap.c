/* intmap.c - see intmap.h.  Load <= 1/2; deletion shifts later entries back
 * so lookups never need tombstones. */
#include "common/intmap.h"
#include "common/util.h"

#include <stdint.h>
#include <stdlib.h>

static size_t slot_of(int key, size_t cap)
{
	return (size_t)(((uint32_t)key * 2654435761u) & (cap - 1));
}

static struct intmap_entry *find(const struct intmap *m, int key)
{
	size_t i = slot_of(key, m->cap);
	while (m->slots[i].used && m->slots[i].key != key)
		i = (i + 1) & (m->cap - 1);
	return &m->slots[i];
}

void *intmap_get(const struct intmap *m, int key)
{
	if (!m->cap)
		return NULL;
	struct intmap_entry *e = find(m, key);
	return e->used ? e->value : NULL;
}

static void grow(struct intmap *m)
{
	struct intmap old = *m;
	m->cap = old.cap ? old.cap * 2 : 64;
	m->slots = xcalloc(m->cap, sizeof(*m->slots));
	m->len = 0;
	for (size_t i = 0; i < old.cap; i++)
		if (old.slots[i].used)
			intmap_put(m, old.slots[i].key, old.slots[i].value);
	free(old.slots);
}

void intmap_put(struct intmap *m, int key, void *value)
{
	if (2 * (m->len + 1) > m->cap)
		grow(m);
	struct intmap_entry *e = find(m, key);
	if (!e->used)
		m->len++;
	*e = (struct intmap_entry){.key = key, .used = 1, .value = value};
}

void *intmap_del(struct intmap *m, int key)
{
	if (!m->cap)
		return NULL;
	struct intmap_entry *e = find(m, key);
	if (!e->used)
		return NULL;
	void *value = e->value;
	size_t hole = (size_t)(e - m->slots), mask = m->cap - 1;
	for (size_t j = (hole + 1) & mask; m->slots[j].used; j = (j + 1) & mask) {
		size_t home = slot_of(m->slots[j].key, m->cap);
		/* Move j into the hole if its home is not in (hole, j]. */
		if (((j - home) & mask) >= ((j - hole) & mask)) {
			m->slots[hole] = m->slots[j];
			hole = j;
		}
	}
	m->slots[hole].used = 0;
	m->len--;
	return value;
}

void intmap_free(struct intmap *m)
{
	free(m->slots);
	m->slots = NULL;
	m->cap = m->len = 0;
}
