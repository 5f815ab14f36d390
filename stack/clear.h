/*
 * clear.h - clearing an object of a known size with plain stores.
 *
 * Path: the allocators (sock.c: sockets, requests, TIME_WAIT entries, ext
 * blocks) and the parser (segment.c: a segment per frame) clear what they
 * hand out through here.
 *
 * GCC 12 clears a constant size above 64 bytes with a rep stos, which is
 * slow to start (tens of cycles) and a step per 8 bytes; in pieces of 64
 * bytes or less each piece is a few 16-byte stores. The objects cleared
 * here (112 to 160 bytes) are cleared once per frame or per connection.
 */
#ifndef TCPDEMUX_CLEAR_H
#define TCPDEMUX_CLEAR_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* memset(p, 0, n) for a constant n: always inlined, so that the loop unrolls into stores. */
static inline __attribute__((always_inline)) void clear_obj(void *p, size_t n)
{
	uint8_t *b = p;

	while (n > 64) {
		memset(b, 0, 64);
		b += 64;
		n -= 64;
	}
	memset(b, 0, n);
}

#endif
