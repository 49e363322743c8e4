/* abi32 - path syscalls through the 32-bit entry point of a 64-bit process.
 *
 *   abi32 FILE
 *
 * Opens FILE with the i386 open syscall (int $0x80, nr 5) using a string in
 * the low 4 GiB (mmap MAP_32BIT), then closes it (i386 nr 6).  A tracer that
 * only knows x86_64 numbers misses this open (or misreads it).  Exits 0 if the
 * open worked, 77 if the kernel has no 32-bit emulation.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

static long int80(long nr, long a, long b, long c)
{
	long ret;
	__asm__ volatile("int $0x80"
			 : "=a"(ret)
			 : "a"(nr), "b"(a), "c"(b), "d"(c)
			 : "memory", "r8", "r9", "r10", "r11");
	return ret;
}

int main(int argc, char **argv)
{
	if (argc != 2 || strlen(argv[1]) > 4000) {
		fprintf(stderr, "usage: abi32 FILE\n");
		return 2;
	}
	char *low = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT,
			 -1, 0);
	if (low == MAP_FAILED) {
		perror("abi32: mmap");
		return 1;
	}
	strcpy(low, argv[1]);
	long fd = int80(5 /* i386 open */, (long)(unsigned long)low, 0 /* O_RDONLY */, 0);
	if (fd == -ENOSYS) {
		fprintf(stderr, "abi32: no 32-bit syscalls here\n");
		return 77;
	}
	if (fd < 0) {
		fprintf(stderr, "abi32: open: %s\n", strerror((int)-fd));
		return 1;
	}
	int80(6 /* i386 close */, fd, 0, 0);
	printf("abi32: ok\n");
	return 0;
}
