/*
 * cookie.c - SYN cookies: answering a SYN without keeping any state.
 *
 * Path: listen_rcv() with a full SYN queue (or tcp_syncookies=2) ->
 *       cookie_isn(); a later ACK to the listener that finds no request ->
 *       cookie_check() -> a child socket built from the cookie alone.
 *
 * The layout is Linux's (net/ipv4/syncookies.c): the ISN is
 *   H0(4-tuple) + client ISN + (minute << 24) + ((H1(4-tuple, minute) + mss index) mod 2^24)
 * so the ACK's ack-1 can be checked by recomputing H0 and H1, the minute
 * counter bounds a cookie's life to two minutes, and two bits carry the
 * MSS as an index into {536, 1300, 1440, 1460}. Linux keys H with SipHash
 * and boot-time secrets; this stack keys its own hash with the run's seed,
 * which keeps runs reproducible (the structure, not the secret, is what a
 * trace shows).
 */
#include "hash.h"
#include "internal.h"

#define COOKIEBITS 24
#define COOKIEMASK ((1u << COOKIEBITS) - 1)
#define MAX_SYNCOOKIE_AGE 2 /* minutes */
#define TSMASK 0x3fu        /* low TSval bits that carry the options */
#define TS_OPT_WSCALE_MASK 0xfu
#define TS_OPT_SACK 0x10u

/* msstab: common MSS values, most frequent last (syncookies.c). */
static const uint16_t msstab[] = { 536, 1300, 1440, 1460 };

static uint32_t cookie_hash(const struct stack *st, const struct ip_addr *saddr, uint16_t sport,
			    const struct ip_addr *daddr, uint16_t dport, uint32_t count, int c)
{
	uint32_t key = st->isn_key ^ (c ? 0x5bd1e995u : 0x1b873593u);
	int v6 = saddr->family == ADDR_V6;

	return hash_3words(hash_addr(saddr->a, v6, key) ^ count, hash_addr(daddr->a, v6, key),
			   (uint32_t)sport << 16 | dport, key);
}

static uint32_t cookie_minute(const struct stack *st)
{
	return (uint32_t)(st->now / (60 * VT_SEC));
}

uint16_t cookie_mss_round(uint16_t mss, uint32_t *index)
{
	uint32_t i;

	for (i = sizeof(msstab) / sizeof(msstab[0]) - 1; i; i--)
		if (mss >= msstab[i])
			break;
	*index = i;
	return msstab[i];
}

uint16_t stack_cookie_mss(uint16_t client_mss)
{
	uint32_t idx;

	return cookie_mss_round(client_mss, &idx);
}

/*
 * The ISN for a cookie SYN-ACK answering syn (the client's SYN); *mss gets
 * the MSS the cookie encodes (the client's, rounded down to msstab).
 */
uint32_t cookie_isn(const struct stack *st, const struct segment *syn, uint16_t *mss)
{
	uint32_t idx, count = cookie_minute(st);

	*mss = cookie_mss_round(syn->opt.has_mss ? syn->opt.mss : 536, &idx);
	return cookie_hash(st, &syn->src, syn->sport, &syn->dst, syn->dport, 0, 0) + syn->seq +
	       (count << COOKIEBITS) +
	       ((cookie_hash(st, &syn->src, syn->sport, &syn->dst, syn->dport, count, 1) + idx) &
		COOKIEMASK);
}

/*
 * Checks the ACK of a cookie handshake. Returns 0 and sets *mss when
 * ack-1 is a cookie this stack issued within MAX_SYNCOOKIE_AGE minutes for
 * this 4-tuple and client ISN seq-1; -1 otherwise (nothing changes).
 */
int cookie_check(const struct stack *st, const struct segment *ack, uint16_t *mss)
{
	uint32_t cookie = ack->ack - 1, sseq = ack->seq - 1;
	uint32_t count = cookie_minute(st), diff, idx;

	cookie -= cookie_hash(st, &ack->src, ack->sport, &ack->dst, ack->dport, 0, 0) + sseq;
	diff = (count - (cookie >> COOKIEBITS)) & (0xffffffffu >> COOKIEBITS);
	if (diff >= MAX_SYNCOOKIE_AGE)
		return -1;
	idx = (cookie - cookie_hash(st, &ack->src, ack->sport, &ack->dst, ack->dport, count - diff, 1)) &
	      COOKIEMASK;
	if (idx >= sizeof(msstab) / sizeof(msstab[0]))
		return -1;
	*mss = msstab[idx];
	return 0;
}

/*
 * cookie_init_timestamp(): with timestamps, the low six bits of our TSval
 * carry the client's window scale (0xf = none) and SACK permission, since
 * the cookie itself has no room for them. The value never runs ahead of
 * the real clock.
 */
uint32_t cookie_ts_encode(uint32_t ts_now, int wscale_ok, uint8_t snd_wscale, int sack_ok)
{
	uint32_t opts = wscale_ok ? (snd_wscale & TS_OPT_WSCALE_MASK) : TS_OPT_WSCALE_MASK;
	uint32_t ts;

	if (sack_ok)
		opts |= TS_OPT_SACK;
	ts = (ts_now & ~TSMASK) | opts;
	if (seq_after(ts, ts_now))
		ts -= TSMASK + 1;
	return ts;
}

void cookie_ts_decode(uint32_t tsecr, uint8_t *wscale_ok, uint8_t *snd_wscale, uint8_t *sack_ok)
{
	uint32_t ws = tsecr & TS_OPT_WSCALE_MASK;

	*wscale_ok = ws != TS_OPT_WSCALE_MASK;
	*snd_wscale = *wscale_ok ? (uint8_t)ws : 0; /* 4 bits, 15 taken: at most 14 */
	*sack_ok = !!(tsecr & TS_OPT_SACK);
}
