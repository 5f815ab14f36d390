/*
 * zmem.c - see zmem.h.
 */
#include <sys/mman.h>

#include "zmem.h"

void *zmem_alloc(size_t len)
{
	void *p = mmap(NULL, len ? len : 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

void zmem_free(void *p, size_t len)
{
	if (p)
		(void)munmap(p, len ? len : 1);
}
