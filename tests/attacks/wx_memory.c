/* wx_memory MODE: run code that no manifest vouches for, written into memory
 * that becomes executable (mov eax, 42; ret).
 *   rwx     mprotect a page of the program's own (verified) text RWX, patch it
 *   split   the same in two steps: mprotect RW, patch, mprotect RX
 *   shared  map shared anonymous memory RX; a forked child writes the code
 *           through its own RW view of it
 *   none    no attack (what a bundle is traced from) */
#include "common.h"
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static const unsigned char code[] = {0xb8, 42, 0, 0, 0, 0xc3};

/* A page of the program's own text holding nothing else: "mov eax, 7; ret"
 * and int3 filler, so that making it non-executable stops no other code. */
__asm__(".pushsection .text.victim, \"ax\", @progbits\n"
	".p2align 12\n"
	"victim: mov $7, %eax\n"
	"ret\n"
	".fill 4090, 1, 0xcc\n"
	".popsection\n");
int victim(void);

static void call(void *p)
{
	printf("ATTACK OK unverified code returned %d\n", ((int (*)(void))p)());
}

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	void *page = (void *)((uintptr_t)victim & ~(uintptr_t)4095);
	if (strcmp(argv[1], "none") == 0) {
		printf("no attack: victim returned %d\n", victim());
	} else if (strcmp(argv[1], "rwx") == 0) {
		if (mprotect(page, 4096, PROT_READ | PROT_WRITE | PROT_EXEC) < 0)
			BLOCKED("mprotect RWX");
		memcpy(page, code, sizeof(code));
		call(page);
	} else if (strcmp(argv[1], "split") == 0) {
		if (mprotect(page, 4096, PROT_READ | PROT_WRITE) < 0)
			BLOCKED("mprotect RW");
		memcpy(page, code, sizeof(code));
		if (mprotect(page, 4096, PROT_READ | PROT_EXEC) < 0)
			BLOCKED("mprotect RX");
		call(page);
	} else {
		unsigned char *p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			BLOCKED("mmap shared RX");
		pid_t c = fork();
		if (c == 0) {
			if (mprotect(p, 4096, PROT_READ | PROT_WRITE) == 0)
				memcpy(p, code, sizeof(code));
			_exit(0);
		}
		waitpid(c, NULL, 0);
		call(p);
	}
	return 0;
}
