/* elf.h - what the kernel loads at exec besides the program itself, with no
 * syscall anyone sees: the ELF interpreter (PT_INTERP) and a script's "#!"
 * interpreter.  The tracer records them; the supervisor verifies them. */
#ifndef SGXPY_ELF_H
#define SGXPY_ELF_H

#include <stddef.h>

/* PT_INTERP of the ELF file open at fd (ELF64 or ELF32) into buf.
 * 0: found (an absolute path); 1: not ELF, or no PT_INTERP (static);
 * -1: malformed (or longer than len). */
int elf_interp(int fd, char *buf, size_t len);

/* The DT_NEEDED names (sonames such as "libc.so.6") of the ELF64 file open at
 * fd, into names[0..max): what the dynamic loader maps right after exec, so
 * worth verifying first.  Returns how many (0 for a static, 32-bit or
 * malformed file: the list is an ordering hint, never a policy); free each. */
size_t elf_needed(int fd, char **names, size_t max);

/* The "#!" line of the file open at fd, as the kernel splits it: the
 * interpreter (first word) into interp and the rest of the line, trimmed,
 * into arg ("" if none).  0: a script; 1: not a script; -1: malformed. */
int shebang_parse(int fd, char *interp, size_t ilen, char *arg, size_t alen);

#endif
