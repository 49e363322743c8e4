/* compat_syscalls i386|x32: enter the kernel through the 32-bit (int 0x80) or
 * x32 (nr | 0x40000000) syscall tables, whose numbers a 64-bit filter does not
 * describe. */
#include "common.h"
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	long ret;
	fflush(stdout);
	if (!strcmp(argv[1], "i386")) {
		/* i386 getpid is 20 */
		__asm__ volatile("int $0x80" : "=a"(ret) : "a"(20L) : "memory");
	} else {
		/* x32 getpid: 0x40000000 | 39 */
		__asm__ volatile("syscall" : "=a"(ret) : "a"(0x40000000L | 39L) : "rcx", "r11", "memory");
	}
	if (ret == getpid())
		printf("ATTACK OK %s syscall returned our pid\n", argv[1]);
	else {
		errno = (int)-ret;
		BLOCKED(argv[1]);
	}
	return 0;
}
