/* strmap.c - see strmap.h.  FNV-1a hash, linear probing, load <= 1/2. */
#include "common/strmap.h"
#include "common/util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static struct strmap_entry *find_slot(struct strmap_entry *slots, size_t cap, const char *key)
{
	size_t i = hash_str(key) & (cap - 1);
	while (slots[i].key && strcmp(slots[i].key, key) != 0)
		i = (i + 1) & (cap - 1);
	return &slots[i];
}

void **strmap_get(const struct strmap *m, const char *key)
{
	if (!m->cap)
		return NULL;
	struct strmap_entry *e = find_slot(m->slots, m->cap, key);
	return e->key ? &e->value : NULL;
}

static void rehash(struct strmap *m, size_t cap)
{
	struct strmap_entry *slots = xcalloc(cap, sizeof(*slots));
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].key)
			*find_slot(slots, cap, m->slots[i].key) = m->slots[i];
	free(m->slots);
	m->slots = slots;
	m->cap = cap;
}

void **strmap_put(struct strmap *m, const char *key, int *added)
{
	if (2 * (m->len + 1) > m->cap)
		rehash(m, m->cap ? 2 * m->cap : 64);
	struct strmap_entry *e = find_slot(m->slots, m->cap, key);
	if (added)
		*added = !e->key;
	if (!e->key) {
		e->key = xstrdup(key);
		e->value = NULL;
		m->len++;
	}
	return &e->value;
}

void strmap_free(struct strmap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->slots[i].key);
	free(m->slots);
	m->slots = NULL;
	m->cap = m->len = 0;
}

void strmap_free_values(struct strmap *m)
{
	strmap_foreach(m, e) free(e->value);
	strmap_free(m);
}

static int cmp_strp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const char **strmap_sorted_keys(const struct strmap *m)
{
	const char **keys = xmalloc((m->len + 1) * sizeof(*keys));
	size_t n = 0;
	strmap_foreach(m, e) keys[n++] = e->key;
	qsort(keys, n, sizeof(*keys), cmp_strp);
	keys[n] = NULL;
	return keys;
}
