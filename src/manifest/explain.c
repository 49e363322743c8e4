/* explain.c - the classification rules in words (see explain.h).  The order
 * of the tests is classify_path()'s, so the first that matches here is the
 * one that decided; the rule numbers are those of docs/formats.md. */
#include "manifest/explain.h"
#include "common/path.h"
#include "common/term.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

void access_words(uintptr_t fl, char *out, size_t len)
{
	static const struct term_word words[] = {
		{ACC_READ, "read"},      {ACC_WRITE, "write"},      {ACC_CREATE, "create"},
		{ACC_REMOVE, "remove"},  {ACC_EXEC, "exec"},        {ACC_MAP, "map"},
		{ACC_STAT, "stat"},      {ACC_READLINK, "readlink"}, {ACC_SYMLINK, "symlink"},
		{ACC_LIST, "list"},      {ACC_CHDIR, "chdir"},      {ACC_PROBE, "failed lookup"},
		{ACC_PYC_STAT, "source of a read .pyc"}, {ACC_ALIAS, "symlink target"},
	};
	term_words(fl, words, ARRAY_SIZE(words), out, len);
}

void explain_rule(const struct mf_model *m, const char *path, uintptr_t fl, char *out, size_t len)
{
	const struct mf_options *o = &m->opt;
	const char *opt, *root;
	bool tree;
	cleanup_free char *pseudo = rules_pseudo(path, &tree);
	struct stat st;
	if ((opt = path_under_any(path, o->exclude, o->n_exclude)))
		snprintf(out, len, "--exclude %s: left out", opt);
	else if (pseudo)
		snprintf(out, len, "rule 2: pseudo file system, allowed as %s%s, never hashed",
			 pseudo, tree ? " (tree)" : "");
	else if ((opt = path_under_any(path, o->trust, o->n_trust)) && (fl & (ACC_CONTENT | ACC_MODIFY)))
		snprintf(out, len, "--trust %s: hashed even if written", opt);
	else if ((opt = path_under_any(path, o->allow, o->n_allow)))
		snprintf(out, len, "--allow %s: allowed with write, tree", opt);
	else if ((fl & ACC_MODIFY) && (root = rules_volatile_root(path, NULL)))
		snprintf(out, len, "rule 5: modified below temp dir %s, so the whole dir is "
			 "writable (if the run made the entry)", root);
	else if (rules_is_pycache(path) && (fl & ACC_MODIFY) && !(fl & ACC_CONTENT))
		snprintf(out, len, "rule 6: bytecode cache write, dropped (a writable .pyc is an "
			 "injection point)");
	else if (fl & ACC_MODIFY && !rules_is_pycache(path))
		snprintf(out, len, "rule 7: modified by this image, so allowed with write%s",
			 rules_random_name(path) ? " (a random name: its directory, as a tree)" : "");
	else if ((fl & ACC_CONTENT) && strmap_get(&m->tree_written, path))
		snprintf(out, len, "rule 8: read here, written by another image: allowed read-only");
	else if (fl & ACC_CONTENT)
		snprintf(out, len, "rule 9: read, executed or mapped: %s",
			 stat(path, &st) == 0 && S_ISDIR(st.st_mode) ? "a directory, listed"
			 : "a regular file, trusted with its SHA-256");
	else if (fl & ACC_LIST)
		snprintf(out, len, "rule 10: listed (getdents or opened as a directory)");
	else if (fl & ACC_PYC_STAT)
		snprintf(out, len, "rule 11: the source of a read .pyc, which CPython stats");
	else if (fl & (ACC_STAT | ACC_READLINK | ACC_CHDIR))
		snprintf(out, len, "rule 10: looked up only: stat");
	else if (fl & ACC_PROBE)
		snprintf(out, len, "rule 10: a lookup that failed (ENOENT/ENOTDIR): stat, so it "
			 "may fail the same way again");
	else
		snprintf(out, len, "no rule: not recorded");
}
