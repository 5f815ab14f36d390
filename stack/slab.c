/*
 * slab.c - fixed-size object caches for sockets, requests and TIME_WAIT
 * entries, in the spirit of Linux's kmem_cache (tcp_sock, request_sock_TCP,
 * tw_sock_TCP each have their own).
 *
 * Path: sock_alloc() / reqsk_alloc() / twsk_alloc() -> slab_zalloc();
 *       stack_flush() -> free_one() -> slab_free().
 *
 * Why not malloc: a replay of a busy server allocates and frees three
 * objects per connection, and malloc's header and size classes turn a
 * 256-byte socket into a 272-byte chunk. Objects here are carved from 64 KiB
 * chunks with no header, and a freed object goes on a free list for the
 * next allocation of its kind, which is also the one most likely still in
 * the cache. Chunks are given back only by slab_destroy(): memory follows
 * the peak number of live objects, not the current one.
 *
 * Under AddressSanitizer the caches pass every call to calloc() and free(),
 * so a use after free of a socket is still caught.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* 64 KiB: 256 sockets or 512 requests per chunk, little waste at the tail. */
#define SLAB_CHUNK (64u * 1024u)

#if defined(__SANITIZE_ADDRESS__)
#define SLAB_PASSTHROUGH 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SLAB_PASSTHROUGH 1
#endif
#endif

struct slab_chunk {
	struct slab_chunk *next;
};

void slab_init(struct slab_cache *c, size_t size)
{
	memset(c, 0, sizeof(*c));
	/* Every object must hold the free-list link, 8-byte aligned. */
	c->size = (uint32_t)((size < sizeof(void *) ? sizeof(void *) : size) + 7) & ~7u;
}

/* Carves a new chunk into free objects. Returns 0 or -ENOMEM (cache unchanged). */
static int slab_grow(struct slab_cache *c)
{
	/* The chunk header is rounded to the object alignment. */
	size_t hdr = (sizeof(struct slab_chunk) + 7) & ~(size_t)7;
	struct slab_chunk *ch = malloc(SLAB_CHUNK);
	char *p, *end;

	if (!ch)
		return -ENOMEM;
	ch->next = c->chunks;
	c->chunks = ch;
	p = (char *)ch + hdr;
	end = (char *)ch + SLAB_CHUNK;
	for (; p + c->size <= end; p += c->size) {
		*(void **)(void *)p = c->free;
		c->free = p;
	}
	c->chunk_bytes += SLAB_CHUNK;
	return 0;
}

void *slab_zalloc(struct slab_cache *c)
{
	void *p;

#ifdef SLAB_PASSTHROUGH
	p = calloc(1, c->size);
#else
	if (!c->free && slab_grow(c) < 0)
		return NULL;
	p = c->free;
	c->free = *(void **)p;
	memset(p, 0, c->size);
#endif
	if (p)
		c->in_use++;
	return p;
}

void slab_free(struct slab_cache *c, void *p)
{
	if (!p)
		return;
	c->in_use--;
#ifdef SLAB_PASSTHROUGH
	free(p);
#else
	*(void **)p = c->free;
	c->free = p;
#endif
}

void slab_destroy(struct slab_cache *c)
{
	while (c->chunks) {
		struct slab_chunk *ch = c->chunks;

		c->chunks = ch->next;
		free(ch);
	}
	c->free = NULL;
	c->chunk_bytes = 0;
}
