/*
 * pool.c - the one allocator behind sockets, request sockets and TIME_WAIT
 * entries.
 *
 * Path: sock_alloc() / reqsk_alloc() / twsk_alloc() (sock.c) -> pool_alloc();
 *       stack_flush() -> free_grave() (stack.c) -> pool_free().
 *
 * Every connection passes through all three forms (request -> child
 * socket -> TIME_WAIT), each freed as the next is made. With malloc that
 * was three allocations and three frees per connection, plus malloc's
 * 8-byte header on each object. Here all three kinds share one size of
 * slot (the largest of the three), so the slot a request leaves serves
 * the child socket that replaces it, and a socket's serves its TIME_WAIT
 * entry: memory is reused across kinds, which a cache per kind cannot do
 * (measured in bench/RESULTS.md: a per-kind cache held 17 MB more at 1M
 * connections, because freed sockets could not become TIME_WAIT entries).
 *
 * Slots come from chunks of POOL_CHUNK bytes aligned to their size, so the
 * chunk of any slot is its address with the low bits cleared. Chunks are
 * mapped (mmap) POOL_REGION_CHUNKS at a time, not taken from
 * aligned_alloc(): glibc serves a 64 KiB block aligned to 64 KiB with a
 * 132 KiB mapping of its own and writes a header at its start and another
 * just below the aligned block, two pages touched for 16 in use, which at
 * 1M connections was 27 MB (12.5% of the slots; bench/RESULTS.md). A
 * region is mapped one chunk larger than it needs and trimmed to the
 * alignment, so the memory touched is the slots' alone; a chunk given back
 * is unmapped on its own (munmap takes any page-aligned part of a mapping). Each chunk
 * keeps its own free list and count; chunks with a free slot are on the
 * pool's partial list, most recently freed-into first (warm in the cache).
 * A chunk that becomes empty is unmapped, except one kept as a
 * spare so that a pool hovering at a chunk boundary does not allocate and
 * free a chunk per connection. A new chunk is carved as it is used (a bump
 * index), so a stack with three sockets touches one page, not 64 KiB.
 *
 * Builds with AddressSanitizer poison free slots, so a use after free of
 * a socket is still reported there.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "internal.h"

#if defined(__SANITIZE_ADDRESS__)
#define POOL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define POOL_ASAN 1
#endif
#endif
/*
 * LeakSanitizer looks for pointers to malloc()ed blocks in globals, stacks
 * and the malloc heap, not in memory mapped by hand: a listener's listen
 * state, pointed to only from its socket in a chunk, was reported leaked
 * whenever a program exited with the stack still alive (a demo quit half
 * way). Each chunk in use is therefore one of its root regions.
 */
#ifdef POOL_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/lsan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#define LSAN_ROOT(p, n) __lsan_register_root_region(p, n)
#define LSAN_UNROOT(p, n) __lsan_unregister_root_region(p, n)
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#define LSAN_ROOT(p, n) ((void)(p), (void)(n))
#define LSAN_UNROOT(p, n) ((void)(p), (void)(n))
#endif

/* A free slot: the free list runs through the slots themselves. */
struct pool_free_slot {
	struct pool_free_slot *next;
};

/* The head of each chunk; its slots follow, from the first multiple of 64. */
struct pool_chunk {
	struct pool_chunk *next, *prev; /* the pool's partial list (NULL, NULL when full) */
	struct pool_chunk *all_next, *all_prev; /* every chunk the pool holds but the spare */
	struct pool_free_slot *free;    /* freed slots of this chunk */
	uint32_t used;                  /* slots handed out and not freed */
	uint32_t carved;                /* slots taken from the bump index so far */
	uint8_t on_partial;             /* linked in the pool's partial list */
};

#define POOL_HEAD 64u /* sizeof(struct pool_chunk) rounded up: slots stay 8-aligned */
_Static_assert(sizeof(struct pool_chunk) <= POOL_HEAD, "chunk header outgrew its space");

static struct pool_chunk *chunk_of(const void *obj)
{
	return (struct pool_chunk *)((uintptr_t)obj & ~(uintptr_t)(POOL_CHUNK - 1));
}

static uint8_t *slot_at(struct pool_chunk *c, size_t slot, uint32_t i)
{
	return (uint8_t *)c + POOL_HEAD + (size_t)i * slot;
}

void pool_init(struct obj_pool *p, size_t slot)
{
	memset(p, 0, sizeof(*p));
	/* 8-byte alignment, which every object the pool holds needs at most. */
	p->slot = (slot + 7) & ~(size_t)7;
	p->per_chunk = (uint32_t)((POOL_CHUNK - POOL_HEAD) / p->slot);
}

static void partial_push(struct obj_pool *p, struct pool_chunk *c)
{
	c->prev = NULL;
	c->next = p->partial;
	if (p->partial)
		p->partial->prev = c;
	p->partial = c;
	c->on_partial = 1;
}

static void partial_unlink(struct obj_pool *p, struct pool_chunk *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		p->partial = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->next = c->prev = NULL;
	c->on_partial = 0;
}

/*
 * Maps the next POOL_REGION_CHUNKS chunks into p->region. The mapping is
 * one chunk larger, and what lies before the first aligned address and
 * after the last chunk is unmapped again. Returns 0 or -1 (out of memory).
 */
static int region_map(struct obj_pool *p)
{
	size_t want = (size_t)POOL_REGION_CHUNKS * POOL_CHUNK, len = want + POOL_CHUNK;
	uint8_t *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t *a;
	size_t head;

	if (m == MAP_FAILED)
		return -1;
	a = (uint8_t *)(((uintptr_t)m + POOL_CHUNK - 1) & ~(uintptr_t)(POOL_CHUNK - 1));
	head = (size_t)(a - m);
	if (head)
		munmap(m, head);
	munmap(a + want, len - head - want); /* never 0: head < POOL_CHUNK */
	p->region = a;
	p->region_left = POOL_REGION_CHUNKS;
	return 0;
}

static struct pool_chunk *chunk_new(struct obj_pool *p)
{
	struct pool_chunk *c;

	if (p->spare) {
		c = p->spare;
		p->spare = NULL;
	} else {
		if (!p->region_left && region_map(p) < 0)
			return NULL;
		c = (struct pool_chunk *)(void *)p->region;
		p->region += POOL_CHUNK;
		p->region_left--;
		p->chunks++;
		LSAN_ROOT(c, POOL_CHUNK);
		POISON((uint8_t *)c + POOL_HEAD, POOL_CHUNK - POOL_HEAD);
	}
	memset(c, 0, sizeof(*c));
	c->all_next = p->all;
	if (p->all)
		p->all->all_prev = c;
	p->all = c;
	return c;
}

/* Takes an empty chunk out of the pool's list of chunks (it becomes the spare, or is freed). */
static void chunk_retire(struct obj_pool *p, struct pool_chunk *c)
{
	if (c->all_prev)
		c->all_prev->all_next = c->all_next;
	else
		p->all = c->all_next;
	if (c->all_next)
		c->all_next->all_prev = c->all_prev;
}

static void chunk_release(struct obj_pool *p, struct pool_chunk *c)
{
	p->chunks--;
	UNPOISON((uint8_t *)c + POOL_HEAD, POOL_CHUNK - POOL_HEAD);
	LSAN_UNROOT(c, POOL_CHUNK);
	munmap(c, POOL_CHUNK);
}

void *pool_alloc(struct obj_pool *p)
{
	struct pool_chunk *c = p->partial;
	uint8_t *obj;

	if (!c) {
		c = chunk_new(p);
		if (!c)
			return NULL;
		partial_push(p, c);
	}
	if (c->free) {
		obj = (uint8_t *)c->free;
		UNPOISON(obj, p->slot);
		c->free = c->free->next;
	} else {
		obj = slot_at(c, p->slot, c->carved++);
		UNPOISON(obj, p->slot);
	}
	if (++c->used == p->per_chunk)
		partial_unlink(p, c);
	p->live++;
	return obj;
}

void pool_free(struct obj_pool *p, void *obj)
{
	struct pool_chunk *c;
	struct pool_free_slot *s = obj;

	if (!obj)
		return;
	c = chunk_of(obj);
	s->next = c->free;
	c->free = s;
	POISON(obj, p->slot);
	p->live--;
	if (!c->on_partial)
		partial_push(p, c);
	if (--c->used)
		return;
	/* Empty: keep one chunk for the next allocation, give the rest back. */
	partial_unlink(p, c);
	chunk_retire(p, c);
	if (!p->spare) {
		p->spare = c;
		return;
	}
	chunk_release(p, c);
}

void pool_destroy(struct obj_pool *p)
{
	while (p->all) {
		struct pool_chunk *c = p->all;

		chunk_retire(p, c);
		chunk_release(p, c);
	}
	if (p->spare)
		chunk_release(p, p->spare);
	if (p->region_left) /* mapped, never handed out (nor touched) */
		munmap(p->region, (size_t)p->region_left * POOL_CHUNK);
	memset(p, 0, sizeof(*p));
}
