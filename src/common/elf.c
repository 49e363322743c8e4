/* elf.c - see elf.h.  Written by hand: only the program headers are needed
 * and <elf.h> gives their layouts.  Reads with pread, never maps, and trusts
 * no offset or size it reads. */
#include "common/elf.h"

#include <elf.h>
#include <stdint.h>
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
