/*
 * hash.h - the keyed hash behind ehash buckets, reuseport choice and ISNs,
 * and a quick unkeyed one for the simulator's own tables.
 *
 * Linux hashes the 4-tuple with jhash_3words() under a boot-time random
 * secret (inet_ehashfn), so an outsider cannot aim many connections at one
 * bucket. This is Bob Jenkins' lookup3 final mix (public domain), written
 * out here; the seed plays the secret's part.
 */
#ifndef TCPDEMUX_HASH_H
#define TCPDEMUX_HASH_H

#include <stdint.h>
#include <string.h>

static inline uint32_t hash_rol32(uint32_t x, unsigned k)
{
	return (x << k) | (x >> (32 - k));
}

/* lookup3's final(): every input bit affects every output bit. */
static inline uint32_t hash_3words(uint32_t a, uint32_t b, uint32_t c, uint32_t seed)
{
	/* 0xdeadbeef is lookup3's arbitrary start value; 12 = three words in bytes. */
	uint32_t init = 0xdeadbeefu + (3u << 2) + seed;

	a += init;
	b += init;
	c += init;
	c ^= b; c -= hash_rol32(b, 14);
	a ^= c; a -= hash_rol32(c, 11);
	b ^= a; b -= hash_rol32(a, 25);
	c ^= b; c -= hash_rol32(b, 16);
	a ^= c; a -= hash_rol32(c, 4);
	b ^= a; b -= hash_rol32(a, 14);
	c ^= b; c -= hash_rol32(b, 24);
	return c;
}

/* Four bytes in network order as a number. */
static inline uint32_t hash_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/*
 * Folds 16 address bytes into one word, keyed (IPv6 only; IPv4 uses the
 * word itself). Every segment hashes two addresses at least twice, so the
 * IPv4 case reads only the four bytes it uses.
 */
static inline uint32_t hash_addr(const uint8_t a[16], int v6, uint32_t seed)
{
	if (!v6)
		return hash_be32(a);
	return hash_3words(hash_be32(a) ^ hash_be32(a + 12), hash_be32(a + 4), hash_be32(a + 8), seed);
}

/* Four bytes as they lie in memory: the quick hash needs no byte order. */
static inline uint32_t hash_word(const uint8_t *p)
{
	uint32_t w;

	memcpy(&w, p, sizeof(w));
	return w;
}

/*
 * A 4-tuple's hash for a table whose order nothing shows: one a lookup
 * searches for the whole 4-tuple, whose walks go by their own order (the
 * replay's per-connection tables, looked up for every segment). Two
 * multiplications (Fibonacci hashing, then the ports folded in and mixed
 * again; the high half kept) instead of hash_3words()'s dozen rounds:
 * about a third of the instructions. seed keeps tables apart. Unkeyed,
 * so not for ehash, whose buckets a replay shows and --hash-seed keys.
 * IPv6 addresses are folded to a word each (a collision, never a wrong
 * match: the tables compare addresses).
 */
static inline uint32_t hash_tuple_quick(const uint8_t a[16], uint16_t pa, const uint8_t b[16], uint16_t pb,
					int v6, uint32_t seed)
{
	uint32_t wa = hash_word(a), wb = hash_word(b);
	uint64_t k;

	if (v6) {
		wa ^= hash_word(a + 4) ^ hash_word(a + 8) ^ hash_word(a + 12);
		wb ^= hash_word(b + 4) ^ hash_word(b + 8) ^ hash_word(b + 12);
	}
	k = ((uint64_t)wa << 32 | wb) * 0x9e3779b97f4a7c15ull;
	k ^= (uint64_t)seed << 32 | (uint32_t)pa << 16 | pb;
	k *= 0xc2b2ae3d27d4eb4full;
	return (uint32_t)(k >> 32);
}

#endif
