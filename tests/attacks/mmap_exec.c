/* mmap_exec FILE: write machine code (mov eax, 42; ret) into FILE, a writable
 * path, and map it PROT_EXEC: code that no manifest vouches for. */
#include "common.h"
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	static const unsigned char code[] = {0xb8, 42, 0, 0, 0, 0xc3};
	int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0755);
	if (fd < 0 || write(fd, code, sizeof(code)) != sizeof(code))
		BLOCKED("write code file");
	void *p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		BLOCKED("mmap PROT_EXEC");
	int (*f)(void) = (int (*)(void))p;
	printf("ATTACK OK unverified code returned %d\n", f());
	return 0;
}
