/* int80.c - open a file through a foreign syscall ABI of a 64-bit process,
 * the way a 32-bit library or an attacker would, so the tracer must see it:
 *   int80 PATH        i386 entry (int $0x80)
 *   int80 -x32 PATH   x32 entry (syscall with __X32_SYSCALL_BIT)
 * Prints "ok" if the call returned an fd, "nosys" if the kernel lacks that
 * entry (ENOSYS), "error N" otherwise. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define I386_OPEN 5
#define I386_CLOSE 6

static long int80(long nr, long a, long b, long c)
{
	long ret;
	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
	return ret;
}

#define X32_BIT 0x40000000L
#define X32_OPEN 2

static long x32(long nr, long a, long b, long c)
{
	long ret;
	register long r10 __asm__("r10") = 0;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr | X32_BIT), "D"(a), "S"(b), "d"(c), "r"(r10)
			 : "rcx", "r11", "memory");
	return ret;
}

int main(int argc, char **argv)
{
	int use_x32 = argc == 3 && strcmp(argv[1], "-x32") == 0;
	if (argc != 2 && !use_x32)
		return 2;
	argv += use_x32;
	/* The i386 ABI passes 32-bit pointers: the path must live below 4 GiB. */
	char *low = mmap((void *)0x100000, 4096, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	if (low == MAP_FAILED)
		return 3;
	strncpy(low, argv[1], 4095);
	long fd = use_x32 ? x32(X32_OPEN, (long)(unsigned long)low, 0, 0)
			  : int80(I386_OPEN, (long)(unsigned long)low, 0 /* O_RDONLY */, 0);
	if (fd == -38) { /* -ENOSYS */
		puts("nosys");
		return 0;
	}
	if (fd < 0) {
		printf("error %ld\n", -fd);
		return 1;
	}
	if (!use_x32)
		int80(I386_CLOSE, fd, 0, 0);
	puts("ok");
	return 0;
}
