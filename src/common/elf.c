/* elf.c - see elf.h.  Written by hand: only the program headers are needed
 * and <elf.h> gives their layouts.  Reads with pread, never maps, and trusts
 * no offset or size it reads. */
#include "common/elf.h"
#include "common/util.h"

#include <elf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#define MAX_PHNUM 512

static int read_interp(int fd, uint64_t off, uint64_t size, char *buf, size_t len)
{
	if (size == 0 || size >= len)
		return -1;
	if (pread(fd, buf, size, (off_t)off) != (ssize_t)size)
		return -1;
	buf[size] = '\0';
	/* p_filesz counts the NUL: no NUL inside, and an absolute path. */
	if (strlen(buf) != size - 1 || buf[0] != '/')
		return -1;
	return 0;
}

/* One loop for both classes: the fields differ only in width. */
#define FIND_PT_INTERP(Ehdr, Phdr)                                                              \
	do {                                                                                    \
		Ehdr eh;                                                                        \
		if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh))                       \
			return -1;                                                              \
		if (eh.e_phentsize != sizeof(Phdr) || eh.e_phnum > MAX_PHNUM)                   \
			return -1;                                                              \
		for (unsigned i = 0; i < eh.e_phnum; i++) {                                     \
			Phdr ph;                                                                \
			off_t at = (off_t)eh.e_phoff + (off_t)i * (off_t)sizeof(ph);            \
			if (pread(fd, &ph, sizeof(ph), at) != (ssize_t)sizeof(ph))              \
				return -1;                                                      \
			if (ph.p_type == PT_INTERP)                                             \
				return read_interp(fd, ph.p_offset, ph.p_filesz, buf, len);     \
		}                                                                               \
		return 1;                                                                       \
	} while (0)

int elf_interp(int fd, char *buf, size_t len)
{
	unsigned char ident[EI_NIDENT];
	if (pread(fd, ident, sizeof(ident), 0) != (ssize_t)sizeof(ident) ||
	    memcmp(ident, ELFMAG, SELFMAG) != 0)
		return 1;
	if (ident[EI_CLASS] == ELFCLASS64)
		FIND_PT_INTERP(Elf64_Ehdr, Elf64_Phdr);
	if (ident[EI_CLASS] == ELFCLASS32)
		FIND_PT_INTERP(Elf32_Ehdr, Elf32_Phdr);
	return -1;
}

/* File offset of virtual address va, through the PT_LOAD that maps it. */
static int64_t va_to_offset(const Elf64_Phdr *ph, unsigned n, uint64_t va)
{
	for (unsigned i = 0; i < n; i++)
		if (ph[i].p_type == PT_LOAD && va >= ph[i].p_vaddr &&
		    va - ph[i].p_vaddr < ph[i].p_filesz)
			return (int64_t)(ph[i].p_offset + (va - ph[i].p_vaddr));
	return -1;
}

#define MAX_DYN 4096

/* pread exactly len bytes at off into a new buffer, or NULL. */
static void *pread_new(int fd, size_t len, uint64_t off)
{
	void *p = len ? malloc(len) : NULL;
	if (p && pread(fd, p, len, (off_t)off) != (ssize_t)len) {
		free(p);
		p = NULL;
	}
	return p;
}

/* Offset of the dynamic string table, or -1. */
static int64_t dyn_strtab(const Elf64_Dyn *d, size_t nd, const Elf64_Phdr *ph, unsigned nph)
{
	for (size_t i = 0; i < nd && d[i].d_tag != DT_NULL; i++)
		if (d[i].d_tag == DT_STRTAB)
			return va_to_offset(ph, nph, d[i].d_un.d_ptr);
	return -1;
}

size_t elf_needed(int fd, char **names, size_t max)
{
	Elf64_Ehdr eh;
	if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum > MAX_PHNUM)
		return 0;
	cleanup_free Elf64_Phdr *ph = pread_new(fd, (size_t)eh.e_phnum * sizeof(*ph), eh.e_phoff);
	const Elf64_Phdr *dyn = NULL;
	for (unsigned i = 0; ph && i < eh.e_phnum; i++)
		if (ph[i].p_type == PT_DYNAMIC)
			dyn = &ph[i];
	size_t nd = dyn ? dyn->p_filesz / sizeof(Elf64_Dyn) : 0;
	if (nd > MAX_DYN)
		return 0;
	cleanup_free Elf64_Dyn *d = pread_new(fd, nd * sizeof(*d), dyn ? dyn->p_offset : 0);
	int64_t strtab = d ? dyn_strtab(d, nd, ph, eh.e_phnum) : -1;
	if (strtab < 0)
		return 0;
	size_t n = 0;
	for (size_t i = 0; i < nd && d[i].d_tag != DT_NULL && n < max; i++) {
		if (d[i].d_tag != DT_NEEDED)
			continue;
		char name[256];
		ssize_t r = pread(fd, name, sizeof(name) - 1, strtab + (off_t)d[i].d_un.d_val);
		if (r <= 0)
			continue;
		name[r] = '\0';
		if (name[0] && strlen(name) < (size_t)r) /* its NUL lies within the read */
			names[n++] = xstrdup(name);
	}
	return n;
}

static char *skip_blanks(char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

int shebang_parse(int fd, char *interp, size_t ilen, char *arg, size_t alen)
{
	char line[256]; /* the kernel reads at most BINPRM_BUF_SIZE (256) bytes */
	ssize_t n = pread(fd, line, sizeof(line) - 1, 0);
	if (n < 2 || line[0] != '#' || line[1] != '!')
		return 1;
	line[n] = '\0';
	line[strcspn(line, "\n")] = '\0';
	char *name = skip_blanks(line + 2);
	size_t name_len = strcspn(name, " \t");
	char *rest = skip_blanks(name + name_len);
	size_t rest_len = strlen(rest);
	while (rest_len && (rest[rest_len - 1] == ' ' || rest[rest_len - 1] == '\t'))
		rest_len--;
	if (name_len == 0 || name_len >= ilen || rest_len >= alen)
		return -1;
	memcpy(interp, name, name_len);
	interp[name_len] = '\0';
	memcpy(arg, rest, rest_len);
	arg[rest_len] = '\0';
	return 0;
}
