/* fuzz/elf.c - the ELF and "#!" readers (src/common/elf.c), which the
 * supervisor runs on a program *before* its hash is checked (to order the
 * hashing and to find what the kernel will load), so on bytes anyone who
 * can write the file chooses.
 *
 * Input: the file's bytes.  Properties checked on every input:
 *   1. no crash, no read outside what pread returned (ASan);
 *   2. elf_interp: 0 only with an absolute, NUL-free path that fits;
 *   3. elf_needed: at most max names, each non-empty and shorter than 256;
 *   4. shebang_parse: 0 only for input starting with "#!", with a
 *      non-empty interpreter without blanks. */
#include "fuzz_common.h"
#include "common/elf.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static char path[4096];
	if (!path[0])
		snprintf(path, sizeof(path), "%s/elf", fz_scratch());
	fz_write(path, data, len);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fz_fail("cannot reopen %s", path);

	char interp[64];
	if (elf_interp(fd, interp, sizeof(interp)) == 0 &&
	    (interp[0] != '/' || strlen(interp) >= sizeof(interp)))
		fz_fail("elf_interp gave \"%s\"", interp);

	char *names[MAX];
	size_t n = elf_needed(fd, names, MAX);
	if (n > MAX)
		fz_fail("elf_needed gave %zu names for %d slots", n, MAX);
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(names[i]);
		if (l == 0 || l >= 256)
			fz_fail("elf_needed gave a name of %zu bytes", l);
		free(names[i]);
	}

	char arg[64];
	if (shebang_parse(fd, interp, sizeof(interp), arg, sizeof(arg)) == 0 &&
	    (len < 2 || data[0] != '#' || data[1] != '!' || !interp[0] || strpbrk(interp, " \t")))
		fz_fail("shebang_parse accepted \"%s\"", interp);
	close(fd);
	return 0;
}
