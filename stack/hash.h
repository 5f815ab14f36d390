/*
 * hash.h - the keyed hash behind ehash buckets, reuseport choice and ISNs.
 *
 * Linux hashes the 4-tuple with jhash_3words() under a boot-time random
 * secret (inet_ehashfn), so an outsider cannot aim many connections at one
 * bucket. This is Bob Jenkins' lookup3 final mix (public domain), written
 * out here; the seed plays the secret's part.
 */
#ifndef TCPDEMUX_HASH_H
#define TCPDEMUX_HASH_H

#include <stdint.h>

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

#endif
