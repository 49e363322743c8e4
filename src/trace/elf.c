/* elf.c - see elf.h.  Written by hand: only two fields of a header are
 * needed, and <elf.h> gives the layouts.  Reads with pread, never maps. */
#include "trace/elf.h"
#include "common/util.h"

#include <elf.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>

static char *read_interp(int fd, uint64_t off, uint64_t size)
{
	if (size == 0 || size > PATH_MAX)
		return NULL;
	char *s = xmalloc(size + 1);
	if (pread(fd, s, size, (off_t)off) != (ssize_t)size) {
		free(s);
		return NULL;
	}
	s[size] = '\0';
	return s;
}

char *elf_interpreter(const char *path)
{
	cleanup_fd int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	Elf64_Ehdr eh;
	if (pread(fd, &eh, sizeof(eh), 0) != sizeof(eh) || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0)
		return NULL;
	if (eh.e_ident[EI_CLASS] == ELFCLASS32) {
		Elf32_Ehdr e32;
		if (pread(fd, &e32, sizeof(e32), 0) != sizeof(e32))
			return NULL;
		for (unsigned i = 0; i < e32.e_phnum && i < 256; i++) {
			Elf32_Phdr ph;
			if (pread(fd, &ph, sizeof(ph), e32.e_phoff + (off_t)i * e32.e_phentsize) != sizeof(ph))
				return NULL;
			if (ph.p_type == PT_INTERP)
				return read_interp(fd, ph.p_offset, ph.p_filesz ? ph.p_filesz - 1 : 0);
		}
		return NULL;
	}
	if (eh.e_ident[EI_CLASS] != ELFCLASS64)
		return NULL;
	for (unsigned i = 0; i < eh.e_phnum && i < 256; i++) {
		Elf64_Phdr ph;
		if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + (uint64_t)i * eh.e_phentsize)) != sizeof(ph))
			return NULL;
		if (ph.p_type == PT_INTERP) /* p_filesz counts the NUL */
			return read_interp(fd, ph.p_offset, ph.p_filesz ? ph.p_filesz - 1 : 0);
	}
	return NULL;
}

char *script_interpreter(const char *path)
{
	cleanup_fd int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	char line[256]; /* the kernel reads at most BINPRM_BUF_SIZE (256) */
	ssize_t n = pread(fd, line, sizeof(line) - 1, 0);
	if (n < 3 || line[0] != '#' || line[1] != '!')
		return NULL;
	line[n] = '\0';
	char *p = line + 2;
	p += strspn(p, " \t");
	size_t len = strcspn(p, " \t\n");
	return len ? xstrndup(p, len) : NULL;
}
