/*
 * addr.h - IPv4/IPv6 addresses and endpoints as the stack stores them.
 *
 * Every table (listen table, ehash, bind buckets) keys on these, so one
 * fixed-size representation serves both families: an IPv4 address sits in
 * the first four bytes and the rest stay zero, which makes addr_equal() a
 * plain memcmp and keeps hashing family-agnostic.
 */
#ifndef TCPDEMUX_ADDR_H
#define TCPDEMUX_ADDR_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define ADDR_V4 4
#define ADDR_V6 6

/* "[ffff:...:ffff]:65535" plus NUL fits comfortably. */
#define ADDR_STRLEN 64

struct ip_addr {
	uint8_t family; /* ADDR_V4 or ADDR_V6 */
	uint8_t a[16];  /* network byte order; IPv4 uses a[0..3] */
};

/*
 * The small helpers below are inline because every table lookup calls them
 * for each entry it compares: out of line they cost about 5% of a replay.
 */

/* Builds an IPv4 address from a host-order 32-bit value (10.0.0.1 = 0x0a000001). */
static inline struct ip_addr addr_v4(uint32_t host_order)
{
	struct ip_addr x;

	memset(&x, 0, sizeof(x));
	x.family = ADDR_V4;
	x.a[0] = (uint8_t)(host_order >> 24);
	x.a[1] = (uint8_t)(host_order >> 16);
	x.a[2] = (uint8_t)(host_order >> 8);
	x.a[3] = (uint8_t)host_order;
	return x;
}

/* The IPv4-mapped IPv6 address of an IPv4 address (RFC 4291 2.5.5.2: ::ffff:a.b.c.d). */
static inline struct ip_addr addr_v4_mapped(const struct ip_addr *v4)
{
	struct ip_addr x;

	memset(&x, 0, sizeof(x));
	x.family = ADDR_V6;
	x.a[10] = 0xff;
	x.a[11] = 0xff;
	memcpy(x.a + 12, v4->a, 4);
	return x;
}

/* The wildcard address of a family (0.0.0.0 or ::). */
static inline struct ip_addr addr_any(int family)
{
	struct ip_addr x;

	memset(&x, 0, sizeof(x));
	x.family = (uint8_t)family;
	return x;
}

/*
 * Parses "10.0.0.1", "::1" or "[::1]" into *out.
 * Returns 0, or -EINVAL when the text is no address (*out unchanged).
 */
int addr_parse(const char *text, struct ip_addr *out);

/*
 * Parses "ADDR:PORT" or "[V6ADDR]:PORT". Returns 0 or -EINVAL
 * (*addr and *port unchanged on failure).
 */
int endpoint_parse(const char *text, struct ip_addr *addr, uint16_t *port);

static inline int addr_equal(const struct ip_addr *x, const struct ip_addr *y)
{
	return x->family == y->family && memcmp(x->a, y->a, 16) == 0;
}

static inline int addr_is_any(const struct ip_addr *x)
{
	static const uint8_t zero[16];

	return memcmp(x->a, zero, 16) == 0;
}

/* Multicast (224.0.0.0/4, ff00::/8) or the IPv4 limited broadcast address. */
int addr_is_multicast(const struct ip_addr *x);

/* IPv4 value in host order (only meaningful for ADDR_V4). */
uint32_t addr_v4_value(const struct ip_addr *x);

/*
 * Formats into buf (at least ADDR_STRLEN bytes); returns buf.
 * endpoint_format writes "10.0.0.1:80" or "[::1]:80".
 */
char *addr_format(const struct ip_addr *x, char *buf, size_t len);
char *endpoint_format(const struct ip_addr *x, uint16_t port, char *buf, size_t len);

#endif
