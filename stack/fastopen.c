/*
 * fastopen.c - TCP Fast Open (RFC 7413) as Linux 6.x does it: the
 * server's cookies and the client's cookie cache.
 *
 * Path: tcp_in.c syn_recv() -> tfo_server_check() (is this SYN's data
 *       taken at once?) and tfo_cookie_gen() for a SYN-ACK's cookie;
 *       socket.c connect()/send() -> tfo_cache_get() (a cookie for this
 *       server?); tcp_in.c tcp_syn_sent_rcv() -> tfo_cache_set() with the
 *       cookie a SYN-ACK brought.
 *
 * A server cookie is SipHash-2-4 of the SYN's source and destination
 * addresses under net.ipv4.tcp_fastopen_key, written little-endian, as
 * __tcp_fastopen_cookie_gen_cipher() computes it, so a script's cookie
 * for a known key is the one a real kernel would give.
 */
#include <string.h>

#include "internal.h"

/* ---- SipHash-2-4 (Aumasson and Bernstein) -------------------------------------------- */

static uint64_t rotl64(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

#define SIPROUND                                                  \
	do {                                                      \
		v0 += v1; v1 = rotl64(v1, 13); v1 ^= v0; v0 = rotl64(v0, 32); \
		v2 += v3; v3 = rotl64(v3, 16); v3 ^= v2;                \
		v0 += v3; v3 = rotl64(v3, 21); v3 ^= v0;                \
		v2 += v1; v1 = rotl64(v1, 17); v1 ^= v2; v2 = rotl64(v2, 32); \
	} while (0)

static uint64_t siphash24(uint64_t k0, uint64_t k1, const uint8_t *data, size_t len)
{
	uint64_t v0 = k0 ^ 0x736f6d6570736575ull, v1 = k1 ^ 0x646f72616e646f6dull;
	uint64_t v2 = k0 ^ 0x6c7967656e657261ull, v3 = k1 ^ 0x7465646279746573ull;
	uint64_t b = (uint64_t)len << 56, m;
	size_t i, whole = len & ~(size_t)7;

	for (i = 0; i < whole; i += 8) {
		m = le64(data + i);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (i = whole; i < len; i++)
		b |= (uint64_t)data[i] << (8 * (i - whole));
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

/* ---- server cookies ---------------------------------------------------------------------- */

void tfo_cookie_gen(const struct stack *st, const struct ip_addr *src, const struct ip_addr *dst,
		    const uint32_t key[4], uint8_t cookie[TFO_COOKIE_LEN])
{
	uint8_t data[32], kb[16];
	size_t alen = src->family == ADDR_V6 ? 16 : 4, i;
	uint64_t h;

	(void)st;
	/* The key's four words are stored little-endian (sscanf_key() + cpu_to_le32). */
	for (i = 0; i < 4; i++) {
		kb[4 * i] = (uint8_t)key[i];
		kb[4 * i + 1] = (uint8_t)(key[i] >> 8);
		kb[4 * i + 2] = (uint8_t)(key[i] >> 16);
		kb[4 * i + 3] = (uint8_t)(key[i] >> 24);
	}
	memcpy(data, src->a, alen);
	memcpy(data + alen, dst->a, alen);
	h = siphash24(le64(kb), le64(kb + 8), data, 2 * alen);
	for (i = 0; i < TFO_COOKIE_LEN; i++)
		cookie[i] = (uint8_t)(h >> (8 * i));
}

/* tcp_fastopen_queue_check(): may one more Fast Open child wait for its handshake? */
static int queue_check(const struct stack *st, const struct sock *l)
{
	uint32_t max = l->ext ? l->ext->fastopen_qlen : 0;

	(void)st;
	return max && l->ls->fastopen_qlen < max;
}

int tfo_server_check(struct stack *st, const struct sock *l, const struct segment *syn, struct tcp_opts *synack)
{
	uint8_t valid[TFO_COOKIE_LEN];
	int syn_data = syn->len > 0;
	int has_option = syn->opt.fo_kind != 0;

	/* tcp_try_fastopen(): server on, data or a Fast Open option, room in the queue */
	if (!(st->cfg.tcp_fastopen & TFO_SERVER_ENABLE) || !(syn_data || has_option) || !queue_check(st, l))
		return 0;
	if (st->cfg.tcp_fastopen & TFO_SERVER_COOKIE_NOT_REQD)
		return 1;
	if (!has_option)
		return 0;
	tfo_cookie_gen(st, &syn->src, &syn->dst, st->cfg.tcp_fastopen_key, valid);
	if (syn->opt.fo_len == TFO_COOKIE_LEN && memcmp(syn->opt.fo_cookie, valid, TFO_COOKIE_LEN) == 0)
		return 1;
	/* A request, or a wrong cookie: the SYN-ACK brings the right one, in the option's form. */
	synack->fo_kind = syn->opt.fo_kind;
	synack->fo_len = TFO_COOKIE_LEN;
	memcpy(synack->fo_cookie, valid, TFO_COOKIE_LEN);
	return 0;
}

int tfo_have_cookie(const struct stack *st, const struct sock *sk)
{
	uint8_t cookie[TCP_FASTOPEN_COOKIE_MAX], len;
	uint16_t mss;

	if ((st->cfg.tcp_fastopen & TFO_CLIENT_NO_COOKIE) || (sk->ext && sk->ext->fastopen_no_cookie))
		return 1;
	return tfo_cache_get(st, &sk->c.raddr, cookie, &len, &mss) && len > 0;
}

/* ---- the client's cache (tcp_metrics' Fast Open part) ----------------------------------------- */

int tfo_cache_get(const struct stack *st, const struct ip_addr *server, uint8_t *cookie, uint8_t *len,
		  uint16_t *mss)
{
	uint32_t i;

	for (i = 0; i < st->ntfo; i++)
		if (addr_equal(&st->tfo[i].server, server)) {
			*len = st->tfo[i].len;
			memcpy(cookie, st->tfo[i].cookie, st->tfo[i].len);
			*mss = st->tfo[i].mss;
			return 1;
		}
	return 0;
}

void tfo_cache_set(struct stack *st, const struct ip_addr *server, const uint8_t *cookie, uint8_t len,
		   uint16_t mss)
{
	struct tfo_cache_ent *e = NULL;
	uint32_t i;

	for (i = 0; i < st->ntfo; i++)
		if (addr_equal(&st->tfo[i].server, server))
			e = &st->tfo[i];
	if (!e) {
		/* a small table, oldest entry replaced, as tcp_metrics evicts */
		if (st->ntfo < TFO_CACHE_SIZE)
			e = &st->tfo[st->ntfo++];
		else
			e = &st->tfo[st->tfo_next++ % TFO_CACHE_SIZE];
		memset(e, 0, sizeof(*e));
		e->server = *server;
	}
	if (len <= TCP_FASTOPEN_COOKIE_MAX && (len || !e->len)) {
		e->len = len;
		if (len)
			memcpy(e->cookie, cookie, len);
	}
	if (mss)
		e->mss = mss;
}
