/* diff.c - bundle against bundle, image by image (see diff.h).
 *
 * Each image becomes a map path -> rights (+ hash and size for trusted
 * files); the union of the two maps' keys, in order, gives one item per path
 * whose rights or content differ.  Images are matched by id: the id holds a
 * hash of program and script, so a new interpreter is a new image. */
#include "manifest/diff.h"
#include "common/strmap.h"
#include "common/term.h"

#include <string.h>

struct entry {
	unsigned rights;
	const struct bundle_file *file;
};

static struct entry *entry_of(struct strmap *m, const char *key)
{
	void **slot = strmap_put(m, key, NULL);
	if (!*slot)
		*slot = xcalloc(1, sizeof(struct entry));
	return *slot;
}

static void image_map(const struct bundle_image *img, struct strmap *m)
{
	for (size_t i = 0; i < img->n_trusted; i++) {
		struct entry *e = entry_of(m, img->trusted[i].path);
		e->rights |= RT_TRUSTED;
		e->file = &img->trusted[i];
	}
	for (size_t i = 0; i < img->n_allowed; i++) {
		const struct bundle_allow *a = &img->allowed[i];
		entry_of(m, a->path)->rights |= (a->write ? RT_WRITE : RT_READ) | (a->tree ? RT_TREE : 0);
	}
	for (size_t i = 0; i < img->n_list; i++)
		entry_of(m, img->list[i])->rights |= RT_LIST;
	for (size_t i = 0; i < img->n_stat; i++)
		entry_of(m, img->stat[i])->rights |= RT_STAT;
	for (size_t i = 0; i < img->n_children; i++)
		entry_of(m, img->children[i])->rights |= RT_EXEC;
}

static void add_item(struct bundle_diff *d, const struct diff_item *it)
{
	grow_array(&d->items, &d->cap_items, d->n_items, sizeof(*d->items));
	d->items[d->n_items++] = *it;
	d->count[it->kind]++;
}

/* Keys point into the maps; the items must borrow from the bundles, so look
 * each path up again in the image it came from. */
static const char *bundle_path(const struct bundle_image *img, const char *key, unsigned rights)
{
	if (rights & RT_TRUSTED)
		return image_trusted(img, key)->path;
	for (size_t i = 0; i < img->n_allowed; i++)
		if (!strcmp(img->allowed[i].path, key))
			return img->allowed[i].path;
	char **sets[] = {img->list, img->stat, img->children};
	size_t lens[] = {img->n_list, img->n_stat, img->n_children};
	for (size_t s = 0; s < ARRAY_SIZE(sets); s++)
		for (size_t i = 0; i < lens[s]; i++)
			if (!strcmp(sets[s][i], key))
				return sets[s][i];
	return NULL;
}

static void diff_image(struct bundle_diff *d, const struct bundle_image *a, const struct bundle_image *b)
{
	struct strmap ma = {0}, mb = {0}, keys = {0};
	image_map(a, &ma);
	image_map(b, &mb);
	strmap_foreach(&ma, e) strmap_put(&keys, e->key, NULL);
	strmap_foreach(&mb, e) strmap_put(&keys, e->key, NULL);
	const char **sorted = strmap_sorted_keys(&keys);
	for (size_t i = 0; sorted[i]; i++) {
		void **pa = strmap_get(&ma, sorted[i]), **pb = strmap_get(&mb, sorted[i]);
		const struct entry *ea = pa ? *pa : NULL, *eb = pb ? *pb : NULL;
		struct diff_item it = {.image = b->id};
		it.old_rights = ea ? ea->rights : 0;
		it.new_rights = eb ? eb->rights : 0;
		it.old_size = ea && ea->file ? ea->file->size : 0;
		it.new_size = eb && eb->file ? eb->file->size : 0;
		if (!ea)
			it.kind = DIFF_ADDED;
		else if (!eb)
			it.kind = DIFF_REMOVED;
		else if (ea->rights != eb->rights)
			it.kind = DIFF_RIGHTS;
		else if (ea->file && (ea->file->size != eb->file->size ||
				      memcmp(ea->file->sha256, eb->file->sha256, 32)))
			it.kind = DIFF_REHASHED;
		else
			continue;
		it.path = eb ? bundle_path(b, sorted[i], eb->rights) : bundle_path(a, sorted[i], ea->rights);
		add_item(d, &it);
	}
	free(sorted);
	strmap_free_values(&ma);
	strmap_free_values(&mb);
	strmap_free(&keys);
}

static void add_image(struct bundle_diff *d, const struct bundle_image *img, bool added)
{
	grow_array(&d->images, &d->cap_images, d->n_images, sizeof(*d->images));
	d->images[d->n_images++] = (struct diff_image){img, added};
}

void bundle_diff(const struct bundle *old_b, const struct bundle *new_b, struct bundle_diff *d)
{
	memset(d, 0, sizeof(*d));
	d->index_differs = memcmp(old_b->measurement, new_b->measurement, 32) != 0;
	/* Both image arrays are sorted by id: merge them. */
	size_t i = 0, j = 0;
	while (i < old_b->n_images || j < new_b->n_images) {
		int c = i == old_b->n_images ? 1 : j == new_b->n_images ? -1
			: strcmp(old_b->images[i].id, new_b->images[j].id);
		if (c < 0)
			add_image(d, &old_b->images[i++], false);
		else if (c > 0)
			add_image(d, &new_b->images[j++], true);
		else
			diff_image(d, &old_b->images[i++], &new_b->images[j++]);
	}
}

bool bundle_diff_any(const struct bundle_diff *d)
{
	return d->index_differs || d->n_items || d->n_images;
}

void rights_str(unsigned r, char *out, size_t len)
{
	static const struct term_word words[] = {
		{RT_TRUSTED, "trusted"}, {RT_READ, "allowed read"}, {RT_WRITE, "allowed write"},
		{RT_TREE, "tree"},       {RT_LIST, "list"},         {RT_STAT, "stat"},
		{RT_EXEC, "exec"},
	};
	term_words(r, words, ARRAY_SIZE(words), out, len);
	if (!out[0])
		snprintf(out, len, "none");
}

static const char kind_mark[DIFF_KINDS] = {'+', '-', '~', '!'};
static const enum term_style kind_style[DIFF_KINDS] = {TS_GREEN, TS_RED, TS_YELLOW, TS_YELLOW};
static const char *const kind_json[DIFF_KINDS] = {"added", "removed", "rehashed", "rights"};

static void print_item(const struct diff_item *it, FILE *out)
{
	char ra[128], rb[128], sa[32], sb[32];
	rights_str(it->old_rights, ra, sizeof(ra));
	rights_str(it->new_rights, rb, sizeof(rb));
	term_size(it->old_size, sa, sizeof(sa));
	term_size(it->new_size, sb, sizeof(sb));
	const char *on = term_style(out, kind_style[it->kind]), *off = term_style(out, TS_RESET);
	const char *name = it->path, *pre = "";
	if ((it->old_rights | it->new_rights) & RT_EXEC)
		pre = "exec ";
	fprintf(out, "  %s%c %s%s%s  ", on, kind_mark[it->kind], pre, name, off);
	switch (it->kind) {
	case DIFF_ADDED:
		if (it->new_rights & RT_TRUSTED)
			fprintf(out, "%s (%s)\n", rb, sb);
		else
			fprintf(out, "%s\n", rb);
		break;
	case DIFF_REMOVED: fprintf(out, "%s\n", ra); break;
	case DIFF_REHASHED: fprintf(out, "re-hashed (%s -> %s)\n", sa, sb); break;
	default: fprintf(out, "%s -> %s\n", ra, rb); break;
	}
}

static void image_summary(const struct bundle_image *img, char *out, size_t len)
{
	uint64_t bytes = 0;
	for (size_t i = 0; i < img->n_trusted; i++)
		bytes += img->trusted[i].size;
	char sz[32];
	term_size(bytes, sz, sizeof(sz));
	snprintf(out, len, "%s%s%s: %zu trusted (%s), %zu allowed, %zu stat, %zu list",
		 img->program, img->script ? " " : "", img->script ? img->script : "",
		 img->n_trusted, sz, img->n_allowed, img->n_stat, img->n_list);
}

/* One image's counts, as `git diff --stat` does for a file. */
static void print_stat_line(FILE *out, const char *id, const size_t cnt[DIFF_KINDS], int idw,
			    int barw)
{
	size_t total = 0;
	for (int k = 0; k < DIFF_KINDS; k++)
		total += cnt[k];
	fprintf(out, " %-*s | %4zu ", idw, id, total);
	double scale = total > (size_t)barw ? (double)barw / (double)total : 1.0;
	for (int k = 0; k < DIFF_KINDS; k++) {
		size_t n = (size_t)((double)cnt[k] * scale + 0.5);
		if (cnt[k] && !n)
			n = 1;
		fputs(term_style(out, kind_style[k]), out);
		for (size_t x = 0; x < n; x++)
			fputc(kind_mark[k], out);
		fputs(term_style(out, TS_RESET), out);
	}
	fputc('\n', out);
}

void bundle_diff_print(const struct bundle_diff *d, FILE *out, bool stat_only)
{
	const char *bold = term_style(out, TS_BOLD), *off = term_style(out, TS_RESET);
	char line[8192];
	if (!stat_only) {
		const char *cur = NULL;
		for (size_t i = 0; i < d->n_items; i++) {
			if (!cur || strcmp(cur, d->items[i].image)) {
				cur = d->items[i].image;
				fprintf(out, "%s%s%s\n", bold, cur, off);
			}
			print_item(&d->items[i], out);
		}
		for (size_t i = 0; i < d->n_images; i++) {
			image_summary(d->images[i].img, line, sizeof(line));
			fprintf(out, "%s%c image %s%s  %s\n",
				term_style(out, d->images[i].added ? TS_GREEN : TS_RED),
				d->images[i].added ? '+' : '-', d->images[i].img->id, off, line);
		}
		if (d->n_items || d->n_images)
			fputc('\n', out);
	}
	/* The stat block: one line per image with items. */
	int idw = 10, barw;
	for (size_t i = 0; i < d->n_items; i++)
		if ((int)strlen(d->items[i].image) > idw)
			idw = (int)strlen(d->items[i].image);
	barw = term_width() - idw - 10;
	if (barw < 10)
		barw = 10;
	size_t images_changed = 0;
	for (size_t i = 0; i < d->n_items;) {
		size_t cnt[DIFF_KINDS] = {0}, j = i;
		for (; j < d->n_items && !strcmp(d->items[j].image, d->items[i].image); j++)
			cnt[d->items[j].kind]++;
		print_stat_line(out, d->items[i].image, cnt, idw, barw);
		images_changed++;
		i = j;
	}
	size_t added = 0;
	for (size_t i = 0; i < d->n_images; i++)
		added += d->images[i].added;
	if (!bundle_diff_any(d)) {
		fprintf(out, " no differences\n");
		return;
	}
	fprintf(out, " %zu image%s changed, %zu added, %zu removed: %zu added, %zu removed, "
		"%zu re-hashed, %zu rights changed\n",
		images_changed, images_changed == 1 ? "" : "s", added, d->n_images - added,
		d->count[DIFF_ADDED], d->count[DIFF_REMOVED], d->count[DIFF_REHASHED],
		d->count[DIFF_RIGHTS]);
	if (!d->n_items && !d->n_images)
		fprintf(out, " (only bundle.json differs: the traces or options it records)\n");
}

static json_t *rights_json(unsigned r)
{
	if (!r)
		return json_null();
	char s[128];
	rights_str(r, s, sizeof(s));
	return json_string(s);
}

json_t *bundle_diff_json(const struct bundle_diff *d)
{
	json_t *items = json_array(), *imgs = json_array(), *counts = json_object();
	for (size_t i = 0; i < d->n_items; i++) {
		const struct diff_item *it = &d->items[i];
		json_t *o = json_pack("{s:s, s:s, s:s, s:o, s:o, s:b}", "image", it->image, "path",
				      it->path, "change", kind_json[it->kind], "old",
				      rights_json(it->old_rights), "new", rights_json(it->new_rights),
				      "exec", ((it->old_rights | it->new_rights) & RT_EXEC) != 0);
		if (it->old_rights & RT_TRUSTED)
			json_object_set_new(o, "old_size", json_integer((json_int_t)it->old_size));
		if (it->new_rights & RT_TRUSTED)
			json_object_set_new(o, "new_size", json_integer((json_int_t)it->new_size));
		json_array_append_new(items, o);
	}
	for (size_t i = 0; i < d->n_images; i++)
		json_array_append_new(imgs, json_pack("{s:s, s:s}", "id", d->images[i].img->id,
						      "change", d->images[i].added ? "added" : "removed"));
	for (int k = 0; k < DIFF_KINDS; k++)
		json_object_set_new(counts, kind_json[k], json_integer((json_int_t)d->count[k]));
	return json_pack("{s:b, s:b, s:o, s:o, s:o}", "differ", bundle_diff_any(d), "index_differs",
			 d->index_differs, "changes", items, "images", imgs, "counts", counts);
}

void bundle_diff_free(struct bundle_diff *d)
{
	free(d->items);
	free(d->images);
	memset(d, 0, sizeof(*d));
}
