/*
 * capture_point.c - see capture_point.h.
 *
 * Path: replay.c -> here (the connections' delays in a table of their
 *       own, the hosts' in tuplemap.c). Nothing here reads the capture or
 *       calls back: the driver measures and hands the gaps over.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "capture_point.h"
#include "hash.h"
#include "zmem.h"

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
/* The hash seeds (tuplemap's kinds) of a connection's 4-tuple and of a host's address. */
#define K_DELAY 5
#define K_HOST 6
/* The connection table's first size: slots (a power of two), entries. */
#define CONNS_MIN_SLOTS 512u
#define CONNS_MIN 256u

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
	/* Mapped, not a member: cleared in place, its 96 KiB were 24 page faults up front (zmem.h). */
	cp->pending = zmem_alloc(CP_PENDING * sizeof(*cp->pending));
	if (!cp->pending)
		return -ENOMEM;
	return tmap_init(&cp->hosts);
}

void capture_point_free(struct capture_point *cp)
{
	free(cp->conns.slot);
	free(cp->conns.seen);
	free(cp->conns.conn);
	memset(&cp->conns, 0, sizeof(cp->conns));
	zmem_free(cp->pending, CP_PENDING * sizeof(*cp->pending));
	cp->pending = NULL;
	tmap_free(&cp->hosts);
	cp->last_host = NULL;
}

/* ---- the connections' delays ------------------------------------------------------ */

/*
 * The hash of a connection's 4-tuple as the recorded host sees it, for
 * the connection table; never 0 (an empty slot). The quick hash: the
 * table's slots show nowhere (lookups compare the 4-tuple, sweeps go by
 * the entries' own order), and every inbound segment and its prefetch
 * compute one. Inlined for that.
 */
static inline __attribute__((always_inline)) uint32_t
conn_hash(const struct ip_addr *local, uint16_t lp, const struct ip_addr *remote, uint16_t rp)
{
	return hash_tuple_quick(local->a, lp, remote->a, rp, local->family == ADDR_V6, K_DELAY) | 1;
}

/*
 * The same 4-tuple's hash for the pending handshakes, never 0. The
 * stack's function, as before the connection table had its own: this
 * table's collisions lose samples, so its hash decides what the summary
 * counts.
 */
static uint32_t pending_hash(const struct ip_addr *local, uint16_t lp, const struct ip_addr *remote, uint16_t rp)
{
	return stack_ehash(K_DELAY, local, lp, remote, rp) | 1;
}

static int conn_is(const struct cp_conn *c, uint32_t h, const struct ip_addr *local, uint16_t lp,
		   const struct ip_addr *remote, uint16_t rp)
{
	return c->hash == h && c->lport == lp && c->rport == rp && addr_equal(&c->local, local) &&
	       addr_equal(&c->remote, remote);
}

/*
 * The slot of the 4-tuple's entry, or the empty slot where its probe
 * ended (where it would go). The table has slots, at most half of them
 * used, so the probe ends.
 */
static struct cp_slot *conn_slot(const struct cp_conns *t, uint32_t h, const struct ip_addr *local, uint16_t lp,
				 const struct ip_addr *remote, uint16_t rp)
{
	uint32_t i;

	for (i = h & t->mask;; i = (i + 1) & t->mask) {
		struct cp_slot *s = &t->slot[i];

		if (!s->hash || (s->hash == h && conn_is(&t->conn[s->conn], h, local, lp, remote, rp)))
			return s;
	}
}

/*
 * The filter's bit for hash h: bits the slot index does not use come
 * first (the slot index takes the low ones), so entries in neighbouring
 * slots rarely share a bit.
 */
static uint32_t conn_bit(const struct cp_conns *t, uint32_t h)
{
	return (h >> 16 | h << 16) & (8 * (t->mask + 1) - 1);
}

/* Inlined: every inbound segment of a capture that delays anything asks, and most are answered by the filter. */
static inline __attribute__((always_inline)) struct cp_conn *
conn_find(const struct cp_conns *t, uint32_t h, const struct ip_addr *local, uint16_t lp, const struct ip_addr *remote,
	  uint16_t rp)
{
	const struct cp_slot *s;
	uint32_t bit;

	if (!t->slot)
		return NULL;
	bit = conn_bit(t, h);
	if (!(t->seen[bit / 64] >> (bit % 64) & 1))
		return NULL;
	s = conn_slot(t, h, local, lp, remote, rp);
	return s->hash ? &t->conn[s->conn] : NULL;
}

/*
 * Puts entry i, whose hash is h, in slot s (NULL: the first empty one
 * from its hash's) and its bit in the filter.
 */
static void conn_index(struct cp_conns *t, uint32_t i, uint32_t h, struct cp_slot *s)
{
	uint32_t bit = conn_bit(t, h);

	if (!s)
		for (s = &t->slot[h & t->mask]; s->hash; s = &t->slot[(uint32_t)(s - t->slot + 1) & t->mask])
			;
	s->hash = h;
	s->conn = i;
	t->seen[bit / 64] |= (uint64_t)1 << (bit % 64);
}

/* Clears the slots and the filter and indexes every entry again. */
static void conns_refill(struct cp_conns *t)
{
	uint32_t i;

	memset(t->slot, 0, (t->mask + 1) * sizeof(*t->slot));
	memset(t->seen, 0, (t->mask + 1) / 8 * sizeof(*t->seen));
	for (i = 0; i < t->count; i++)
		conn_index(t, i, t->conn[i].hash, NULL);
}

/*
 * Re-indexes the entries in n slots (a power of two, at least 64 and more
 * than twice count), from the old slots (they hold each entry's hash: the
 * entries themselves, 7 times larger, stay unread). Returns 0 or -ENOMEM.
 */
static int conns_resize(struct cp_conns *t, uint32_t n)
{
	struct cp_slot *s = calloc(n, sizeof(*s)), *old = t->slot;
	uint64_t *seen = calloc(n / 8, sizeof(*seen));
	uint32_t i, slots = old ? t->mask + 1 : 0;

	if (!s || !seen) {
		free(s);
		free(seen);
		return -ENOMEM;
	}
	free(t->seen);
	t->slot = s;
	t->seen = seen;
	t->mask = n - 1;
	for (i = 0; i < slots; i++)
		if (old[i].hash)
			conn_index(t, old[i].conn, old[i].hash, NULL);
	free(old);
	return 0;
}

/* The 4-tuple's entry, added (delay 0) if absent; NULL if memory runs out. */
static struct cp_conn *conn_put(struct cp_conns *t, uint32_t h, const struct ip_addr *local, uint16_t lp,
				const struct ip_addr *remote, uint16_t rp)
{
	struct cp_conn *c = conn_find(t, h, local, lp, remote, rp);

	if (c)
		return c;
	if (t->count == t->cap) {
		uint32_t cap = t->cap ? 2 * t->cap : CONNS_MIN;

		c = realloc(t->conn, cap * sizeof(*c));
		if (!c)
			return NULL;
		t->conn = c;
		t->cap = cap;
	}
	/* At most half full: a miss's probe stays short (linear probing degrades fast past that). */
	if (!t->slot || 2 * (t->count + 1) > t->mask + 1)
		if (conns_resize(t, t->slot ? 2 * (t->mask + 1) : CONNS_MIN_SLOTS) < 0)
			return NULL;
	c = &t->conn[t->count];
	memset(c, 0, sizeof(*c));
	c->local = *local;
	c->remote = *remote;
	c->lport = lp;
	c->rport = rp;
	c->hash = h;
	conn_index(t, t->count++, h, conn_slot(t, h, local, lp, remote, rp));
	return c;
}

/*
 * Drops the entries idle longer than DELAY_IDLE at capture second now_s
 * and re-indexes the rest, in a smaller table when most were dropped: so
 * memory follows live connections.
 */
static void conns_sweep(struct cp_conns *t, vtime_t now_s)
{
	uint32_t i, n = 0, slots;

	for (i = 0; i < t->count; i++)
		if (!(now_s - t->conn[i].used_s > DELAY_IDLE / VT_SEC))
			t->conn[n++] = t->conn[i];
	if (n == t->count)
		return;
	t->count = n;
	for (slots = CONNS_MIN_SLOTS; slots < 4 * n; slots *= 2)
		;
	if (slots < t->mask + 1 && t->cap > CONNS_MIN && n <= t->cap / 4) {
		struct cp_conn *c = realloc(t->conn, t->cap / 2 * sizeof(*c));

		if (c) {
			t->conn = c;
			t->cap /= 2;
		}
	}
	conns_refill(t); /* the entries moved: indexed again where they are now */
	if (slots < t->mask + 1)
		(void)conns_resize(t, slots); /* out of memory: the larger table, still correct */
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

/* ---- the hosts' delays ---------------------------------------------------------- */

static void host_set(struct capture_point *cp, const struct ip_addr *a, vtime_t delay)
{
	static const struct ip_addr none;
	struct tuple_key k;
	struct tentry *e = cp->last_host;
	int added;

	/* Every delayed handshake sets its host's: mostly the host of the last one, kept (host_delay). */
	if (!e || !addr_equal(&e->k.a, a)) {
		tkey_set(&k, K_HOST, a, 0, &none, 0);
		e = tmap_put(&cp->hosts, &k, &added);
		if (!e)
			return; /* out of memory: connections without a handshake take no delay */
		cp->last_host = e;
	}
	e->frame = (int64_t)delay;
}

/* The delay of a's latest delayed handshake, 0 if none. A capture names few local addresses: the last one found is kept. */
static vtime_t host_delay(struct capture_point *cp, const struct ip_addr *a)
{
	static const struct ip_addr none;
	struct tuple_key k;

	if (!cp->last_host || !addr_equal(&cp->last_host->k.a, a)) {
		tkey_set(&k, K_HOST, a, 0, &none, 0);
		cp->last_host = tmap_get(&cp->hosts, &k);
		if (!cp->last_host)
			return 0;
	}
	return (vtime_t)cp->last_host->frame;
}

/* ---- handshakes ----------------------------------------------------------------- */

/* Forgets delays of connections idle for minutes (their 4-tuple may be reused), every 10 s of capture time. */
static void sweep(struct capture_point *cp, vtime_t now)
{
	if (now - cp->last_sweep < 10 * VT_SEC)
		return;
	cp->last_sweep = now;
	conns_sweep(&cp->conns, cp->last_sweep / VT_SEC);
}

/* capture_point_handshake(), also for a pending handshake completed. */
static vtime_t handshake(struct capture_point *cp, const struct ip_addr *local, uint16_t lp,
			 const struct ip_addr *remote, uint16_t rp, vtime_t syn_sa, vtime_t sa_ack, int *side,
			 vtime_t now)
{
	vtime_t delay = 0;
	struct cp_conn *c;

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
	c = conn_put(&cp->conns, conn_hash(local, lp, remote, rp), local, lp, remote, rp);
	if (!c)
		return 0; /* out of memory: this connection replays undelayed */
	c->delay = delay;
	c->used_s = (uint32_t)(now / VT_SEC);
	return delay;
}

vtime_t capture_point_handshake(struct capture_point *cp, const struct ip_addr *local, uint16_t lp,
				const struct ip_addr *remote, uint16_t rp, vtime_t syn_sa, vtime_t sa_ack,
				int *side, vtime_t now)
{
	return handshake(cp, local, lp, remote, rp, syn_sa, sa_ack, side, now);
}

int capture_point_needs_ack(const struct capture_point *cp, vtime_t syn_sa)
{
	return cp->mode == CAPTURE_CLIENT || (cp->mode == CAPTURE_AUTO && syn_sa >= MIN_DELAY);
}

void capture_point_pending(struct capture_point *cp, const struct ip_addr *local, uint16_t lp,
			   const struct ip_addr *remote, uint16_t rp, vtime_t t_sa, vtime_t syn_sa)
{
	uint32_t h = pending_hash(local, lp, remote, rp); /* never 0: 0 is an empty slot */
	struct cp_pending *e = &cp->pending[h % CP_PENDING];

	e->hash = h;
	e->t_sa = t_sa;
	e->syn_sa = syn_sa;
}

void capture_point_completed(struct capture_point *cp, const struct ip_addr *local, uint16_t lp,
			     const struct ip_addr *remote, uint16_t rp, vtime_t t)
{
	uint32_t h = pending_hash(local, lp, remote, rp); /* never 0: 0 is an empty slot */
	struct cp_pending *e = &cp->pending[h % CP_PENDING];
	int side;

	if (e->hash != h)
		return;
	e->hash = 0;
	handshake(cp, local, lp, remote, rp, e->syn_sa, t > e->t_sa ? t - e->t_sa : 0, &side, t);
}

vtime_t capture_point_conn_delay(struct capture_point *cp, const struct segment *seg, uint32_t hash, vtime_t now)
{
	struct cp_conn *c;

	if (!hash)
		hash = conn_hash(&seg->dst, seg->dport, &seg->src, seg->sport);
	c = conn_find(&cp->conns, hash, &seg->dst, seg->dport, &seg->src, seg->sport);

	if (c) {
		c->used_s = (uint32_t)(now / VT_SEC);
		return c->delay;
	}
	if ((seg->flags & (TH_SYN | TH_ACK)) == TH_SYN)
		return 0; /* a new handshake: measured, not guessed */
	return host_delay(cp, &seg->dst);
}

uint32_t capture_point_prefetch(const struct capture_point *cp, const struct segment *seg)
{
	const struct cp_conns *t = &cp->conns;
	uint32_t h, bit;

	if (!cp->delayed || !t->slot)
		return 0;
	h = conn_hash(&seg->dst, seg->dport, &seg->src, seg->sport);
	bit = conn_bit(t, h);
	__builtin_prefetch(&t->seen[bit / 64]);
	__builtin_prefetch(&t->slot[h & t->mask]);
	return h;
}
