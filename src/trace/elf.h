/* elf.h - what the kernel loads at exec without a syscall the tracer sees. */
#ifndef SGXPY_ELF_H
#define SGXPY_ELF_H

/* PT_INTERP of an ELF file (malloc'd), or NULL if none / not ELF. */
char *elf_interpreter(const char *path);
/* The "#!" interpreter of a script (malloc'd path only), or NULL. */
char *script_interpreter(const char *path);

#endif
