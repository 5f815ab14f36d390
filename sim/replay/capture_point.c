/*
 * capture_point.c - see capture_point.h.
 *
 * Path: replay.c -> here -> tuplemap.c. Nothing here reads the capture or
 *       calls back: the driver measures and hands the gaps over.
 */
#include <string.h>

#include "capture_point.h"

/* Both gaps under this: the same host (loopback, a container bridge). */
#define SAME_HOST (20 * VT_USEC)
/*
 * Automatic delays shorter than this are not applied: they change no
 * comparison (--verify's tolerance is 50 ms) and would only re-order
 * segments that crossed on a fast link, which the capture's order shows
 * best (veth pairs and LANs: 20-300 us).
 */
#define MIN_DELAY (1 * VT_MSEC)
/* Connections idle this long forget their delay (their 4-tuple may be reused). */
#define DELAY_IDLE (300 * VT_SEC)
#define K_DELAY 5
/* A local address -> the delay of its latest delayed handshake (frame), never swept. */
#define K_HOST 6

const char *capture_side_name(int side)
{
	static const char *const n[SIDE_COUNT] = { "unknown", "server side", "client side", "in between",
						   "same host" };

	return side >= 0 && side < SIDE_COUNT ? n[side] : "?";
}

const char *capture_side_key(int side)
{
	static const char *const n[SIDE_COUNT] = { "unknown", "server", "client", "between", "same_host" };

	return side >= 0 && side < SIDE_COUNT ? n[side] : "?";
}

int capture_point_init(struct capture_point *cp, int mode)
{
	memset(cp, 0, sizeof(*cp));
	cp->mode = mode;
	return tmap_init(&cp->delays);
}

void capture_point_free(struct capture_point *cp)
{
	tmap_free(&cp->delays);
}

/* The bin of v: 32 per octave, the octave's 32 equal steps (the 5 bits after the leading one). */
static int hist_bin(vtime_t v)
{
	int e, b;

	if (v < 1)
		return 0;
	e = 63 - __builtin_clzll(v);
	b = 32 * e + (int)(e >= 5 ? (v >> (e - 5)) & 31 : (v << (5 - e)) & 31);
	return b >= CP_BINS ? CP_BINS - 1 : b;
}

static void hist_add(struct cp_hist *h, vtime_t v)
{
	if (v == VT_NEVER) {
		h->above++;
		return;
	}
	h->bin[hist_bin(v)]++;
	h->sum[hist_bin(v)] += v;
	h->n++;
}

/* The mean of the values in the bin holding the k-th smallest value (1-based), or VT_NEVER. */
static vtime_t hist_rank(const struct cp_hist *h, uint64_t k)
{
	uint64_t seen = 0;
	int b;

	for (b = 0; b < CP_BINS; b++) {
		seen += h->bin[b];
		if (seen >= k)
			return h->sum[b] / h->bin[b];
	}
	return VT_NEVER; /* among the values above the bound */
}

vtime_t cp_hist_median(const struct cp_hist *h)
{
	uint64_t total = h->n + h->above;
	vtime_t lo, hi;

	if (!total)
		return 0;
	/* As statistics.median: the middle value, or the mean of the two middle ones. */
	lo = hist_rank(h, (total + 1) / 2);
	hi = hist_rank(h, total / 2 + 1);
	if (lo == VT_NEVER || hi == VT_NEVER)
		return VT_NEVER;
	return lo + (hi - lo) / 2;
}

int capture_point_side(vtime_t syn_sa, vtime_t sa_ack)
{
	if (sa_ack == VT_NEVER)
		return SIDE_SERVER;
	if (syn_sa < SAME_HOST && sa_ack < SAME_HOST)
		return SIDE_SAME_HOST;
	if (syn_sa > 3 * sa_ack)
		return SIDE_CLIENT;
	if (sa_ack > 3 * syn_sa)
		return SIDE_SERVER;
	return SIDE_BETWEEN;
}

int capture_point_overall(const struct capture_point *cp)
{
	vtime_t m1 = cp_hist_median(&cp->syn_synack), m2 = cp_hist_median(&cp->synack_ack);

	if (!cp->syn_synack.n)
		return SIDE_UNKNOWN;
	return capture_point_side(m1, m2);
}

static void host_set(struct capture_point *cp, const struct ip_addr *a, vtime_t delay)
{
	static const struct ip_addr none;
	struct tuple_key k;
	struct tentry *e;
	int added;

	tkey_set(&k, K_HOST, a, 0, &none, 0);
	e = tmap_put(&cp->delays, &k, &added);
	if (e) /* out of memory: connections without a handshake take no delay */
		e->frame = (int64_t)delay;
}

static int delay_idle(void *ctx, struct tentry *e)
{
	const struct capture_point *cp = ctx;

	if (e->k.kind == K_HOST)
		return 0;
	return cp->last_sweep / VT_SEC - e->seq > DELAY_IDLE / VT_SEC;
}

/* Forgets delays of connections idle for minutes, so memory follows live connections. */
static void sweep(struct capture_point *cp, vtime_t now)
{
	if (now - cp->last_sweep < 10 * VT_SEC)
		return;
	cp->last_sweep = now;
	tmap_sweep(&cp->delays, delay_idle, cp);
}

vtime_t capture_point_handshake(struct capture_point *cp, const struct ip_addr *local, uint16_t lp,
				const struct ip_addr *remote, uint16_t rp, vtime_t syn_sa, vtime_t sa_ack,
				int *side, vtime_t now)
{
	vtime_t delay = 0;
	struct tuple_key k;
	struct tentry *e;
	int added;

	*side = capture_point_side(syn_sa, sa_ack);
	cp->sides[*side]++;
	hist_add(&cp->syn_synack, syn_sa);
	hist_add(&cp->synack_ack, sa_ack);
	if (cp->mode == CAPTURE_CLIENT ||
	    (cp->mode == CAPTURE_AUTO && (*side == SIDE_CLIENT || *side == SIDE_BETWEEN) && syn_sa >= MIN_DELAY))
		delay = syn_sa;
	/*
	 * Undelayed connections need no entry while nothing is delayed (the
	 * common, server-side capture costs no map); once something is, they
	 * get one too, so that the host's delay is not guessed for them.
	 */
	if (!delay && !cp->delayed)
		return 0;
	if (delay) {
		cp->delayed++;
		host_set(cp, local, delay);
	}
	sweep(cp, now);
	tkey_set(&k, K_DELAY, local, lp, remote, rp);
	e = tmap_put(&cp->delays, &k, &added);
	if (!e)
		return 0; /* out of memory: this connection replays undelayed */
	e->frame = (int64_t)delay;
	e->seq = (uint32_t)(now / VT_SEC);
	return delay;
}

int capture_point_needs_ack(const struct capture_point *cp, vtime_t syn_sa)
{
	return cp->mode == CAPTURE_CLIENT || (cp->mode == CAPTURE_AUTO && syn_sa >= MIN_DELAY);
}

static uint32_t pending_hash(const struct ip_addr *local, uint16_t lp, const struct ip_addr *remote, uint16_t rp)
{
	return stack_ehash(K_DELAY, local, lp, remote, rp) | 1; /* never 0: 0 is an empty slot */
}

void capture_point_pending(struct capture_point *cp, const struct ip_addr *local, uint16_t lp,
			   const struct ip_addr *remote, uint16_t rp, vtime_t t_sa, vtime_t syn_sa)
{
	uint32_t h = pending_hash(local, lp, remote, rp);
	struct cp_pending *e = &cp->pending[h % CP_PENDING];

	e->hash = h;
	e->t_sa = t_sa;
	e->syn_sa = syn_sa;
}

void capture_point_completed(struct capture_point *cp, const struct ip_addr *local, uint16_t lp,
			     const struct ip_addr *remote, uint16_t rp, vtime_t t)
{
	uint32_t h = pending_hash(local, lp, remote, rp);
	struct cp_pending *e = &cp->pending[h % CP_PENDING];
	int side;

	if (e->hash != h)
		return;
	e->hash = 0;
	capture_point_handshake(cp, local, lp, remote, rp, e->syn_sa, t > e->t_sa ? t - e->t_sa : 0, &side, t);
}

vtime_t capture_point_conn_delay(struct capture_point *cp, const struct segment *seg, vtime_t now)
{
	static const struct ip_addr none;
	struct tuple_key k;
	struct tentry *e;
	tkey_set(&k, K_DELAY, &seg->dst, seg->dport, &seg->src, seg->sport);
	e = tmap_get(&cp->delays, &k);
	if (e) {
		e->seq = (uint32_t)(now / VT_SEC);
		return (vtime_t)e->frame;
	}
	if ((seg->flags & (TH_SYN | TH_ACK)) == TH_SYN)
		return 0; /* a new handshake: measured, not guessed */
	tkey_set(&k, K_HOST, &seg->dst, 0, &none, 0);
	e = tmap_get(&cp->delays, &k);
	return e ? (vtime_t)e->frame : 0;
}
