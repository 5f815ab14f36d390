/*
 * tuple_hash.h - the unkeyed hash of (kind, a:pa -> b:pb) behind the
 * replay's own tables of frames and segments: the look-ahead's index
 * (lookahead.c) and the delay line's 4-tuple chains (delay_line.c).
 *
 * These tables are asked about every frame filed and several times per
 * SYN, so the hash is inline and short (about twenty instructions): each
 * word of the key times its own odd constant, the sum mixed by one more
 * multiplication, whose high half is taken (the bits every input bit
 * reaches). The stack's keyed hash (stack_ehash, lookup3 under the
 * configured seed, out of line) cost more than the probes it served. No
 * key is needed here: these tables were hashed under a fixed seed before,
 * and a capture chosen to collide slows only its own replay.
 */
#ifndef TCPDEMUX_TUPLE_HASH_H
#define TCPDEMUX_TUPLE_HASH_H

#include <stdint.h>
#include <string.h>

#include "addr.h"

/* An address's bytes as two words (an IPv4 address's last twelve are zeros: addr_equal compares them too). */
static inline uint64_t tuple_hash_word(const struct ip_addr *x, int half)
{
	uint64_t w;

	memcpy(&w, x->a + 8 * half, sizeof(w));
	return w;
}

static inline uint32_t tuple_hash(uint32_t kind, const struct ip_addr *a, uint16_t pa, const struct ip_addr *b,
				  uint16_t pb)
{
	uint64_t h = ((uint64_t)pa << 32 | (uint64_t)pb << 16 | kind) * 0x9e3779b97f4a7c15ull;

	h += tuple_hash_word(a, 0) * 0xc2b2ae3d27d4eb4full + tuple_hash_word(a, 1) * 0x165667b19e3779f9ull;
	h += tuple_hash_word(b, 0) * 0xd6e8feb86659fd93ull + tuple_hash_word(b, 1) * 0xff51afd7ed558ccdull;
	h ^= h >> 29;
	return (uint32_t)((h * 0xbf58476d1ce4e5b9ull) >> 32);
}

#endif
