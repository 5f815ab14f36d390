/*
 * capture_point.h - where a capture was taken, connection by connection,
 * and the delay that puts each inbound segment at the recorded host's
 * time.
 *
 * Path: replay.c, at each inbound SYN it replays, measures the handshake
 *       in the look-ahead window (SYN -> SYN-ACK -> ACK, as the capture
 *       saw them) -> capture_point_handshake() classifies it and says by
 *       how much the connection's inbound segments are delayed ->
 *       capture_point_delay() for every later inbound segment ->
 *       capture_point_totals() for the summary.
 *
 * The model. A capture point C lies between a client and the recorded
 * host H (the server), a one-way delay a from H and b from the client.
 * C sees the SYN, then H's SYN-ACK 2a later, then the client's ACK 2b
 * after that. Taken on H (server side) a is nearly 0; taken on the client
 * (client side) b is. A client's segment seen at C at time t reached H at
 * t + a; H's segment seen at t left H at t - a. Delaying each inbound
 * segment by 2a (the SYN -> SYN-ACK time) and keeping H's own segments at
 * their capture times puts both on H's clock shifted by a, so the stack
 * answers when the capture saw H answer, and --verify compares like with
 * like. Per connection, since each server (and each path) has its own
 * delay.
 *
 * Classification, as FACTS.md measures it: SYN->SYN-ACK more than 3x
 * SYN-ACK->ACK is client side, the reverse server side, both under 20 us
 * the same host (loopback), else in between. Server-side and same-host
 * connections are not delayed, nor (in auto mode) those whose SYN ->
 * SYN-ACK is under 1 ms.
 */
#ifndef TCPDEMUX_CAPTURE_POINT_H
#define TCPDEMUX_CAPTURE_POINT_H

#include <stdint.h>

#include "addr.h"
#include "replay.h"
#include "stack.h"
#include "tuplemap.h"

/* --capture-point (replay_opts.capture_point). */
enum capture_mode {
	CAPTURE_AUTO = 0, /* decided per connection from its handshake */
	CAPTURE_SERVER,   /* taken on the recorded host: no delay */
	CAPTURE_CLIENT,   /* taken on the client (or anywhere): delay by SYN->SYN-ACK */
};

/* Where one handshake was captured. */
enum capture_side {
	SIDE_UNKNOWN = 0, /* no complete handshake to tell */
	SIDE_SERVER,      /* on or near the recorded host */
	SIDE_CLIENT,      /* on or near the client */
	SIDE_BETWEEN,     /* somewhere in between */
	SIDE_SAME_HOST,   /* client and server on one host (both gaps under 20 us) */
	SIDE_COUNT
};

const char *capture_side_name(int side); /* "server side", "client side", ... */
const char *capture_side_key(int side);  /* "server", "client", "between", "same_host", "unknown" */

/* log2 histogram bins: 32 per octave, from 1 ns to 2^40 ns (18 minutes). */
#define CP_BINS (40 * 32)

/* A median kept in fixed memory (to within 2%), and how many values were above a bound. */
struct cp_hist {
	uint32_t bin[CP_BINS]; /* values by log2 bin */
	uint64_t sum[CP_BINS]; /* their sum: the median is the mean of its bin's values */
	uint64_t n;            /* values counted in bins */
	uint64_t above;        /* values known only to exceed what the window showed */
};

/*
 * Handshakes waiting for their final ACK to be measured: the ones whose
 * delay does not depend on it (SYN -> SYN-ACK too short to be delayed),
 * measured when the stack completes them instead of by a search ahead.
 * A fixed table on the 4-tuple's hash (the stack's, seeded K_DELAY): a
 * collision loses one sample, so that hash is part of the output.
 */
#define CP_PENDING 4096
struct cp_pending {
	uint32_t hash;        /* the 4-tuple's hash; 0 with t_sa 0: empty */
	vtime_t t_sa;         /* when the capture saw the SYN-ACK */
	vtime_t syn_sa;       /* SYN -> SYN-ACK */
};

/*
 * One measured connection's delay (once anything is delayed, undelayed
 * ones get an entry too: a 0 that keeps the host's delay from being
 * guessed for them).
 */
struct cp_conn {
	struct ip_addr local, remote; /* the recorded host's end, the peer's */
	uint16_t lport, rport;
	uint32_t hash;                /* its 4-tuple's hash (capture_point.c: conn_hash(), never 0) */
	uint32_t used_s;              /* capture second of its last use: idle ones are swept */
	vtime_t delay;                /* its inbound segments' delay (0: none) */
};

/* A slot of the index: a connection's hash and where it is, so a miss reads no entry. */
struct cp_slot {
	uint32_t hash;                /* the entry's hash; 0: an empty slot */
	uint32_t conn;                /* its index in cp_conns.conn */
};

/*
 * The connections' delays, looked up for every inbound segment of a
 * capture that delays anything. Open addressing (linear probing, at most
 * half full) over an array of 8-byte slots, the entries themselves in a
 * dense array, and in front a filter of one bit per hash (8 per slot):
 * a segment of a connection without an entry (the common case: most
 * handshakes are not measured) mostly costs one bit of a filter small
 * enough to stay in cache, where a chained map cost a bucket and a walk
 * over cold entries, both cache misses with 200,000 connections.
 */
struct cp_conns {
	struct cp_slot *slot;         /* mask + 1 slots */
	uint32_t mask;                /* slots - 1 (a power of two minus one; 0 before the first entry) */
	uint64_t *seen;               /* (mask + 1) / 8 words: bit conn_bit(hash) set for every entry's hash
				       * (and for entries dropped since the last re-index: a filter may say yes wrongly, never no) */
	struct cp_conn *conn;         /* count entries, room for cap */
	uint32_t count, cap;
};

struct capture_point {
	int mode;                         /* enum capture_mode */
	struct cp_conns conns;            /* (local, remote) -> inbound delay, last use */
	struct tuplemap hosts;            /* a local address alone -> frame: its latest delayed handshake's delay */
	struct tentry *last_host;         /* the hosts entry found last (entries stay put: hosts are never removed) */
	uint64_t sides[SIDE_COUNT];       /* handshakes by where they were captured */
	uint64_t delayed;                 /* handshakes whose connection's inbound segments are delayed */
	struct cp_hist syn_synack;        /* SYN -> SYN-ACK at the capture point */
	struct cp_hist synack_ack;        /* SYN-ACK -> ACK at the capture point */
	vtime_t last_sweep;               /* when idle delays were last forgotten */
	struct cp_pending *pending;       /* CP_PENDING handshakes measured when completed (zmem: only the slots used are touched) */
};

/* Returns 0 or -ENOMEM. */
int capture_point_init(struct capture_point *cp, int mode);
void capture_point_free(struct capture_point *cp);

/*
 * The side a handshake with these gaps was captured on (sa_ack VT_NEVER:
 * the ACK did not come within 3x syn_sa of the SYN-ACK).
 */
int capture_point_side(vtime_t syn_sa, vtime_t sa_ack);

/*
 * A handshake of local:lp with remote:rp as the capture saw it: SYN to
 * SYN-ACK syn_sa, SYN-ACK to ACK sa_ack (VT_NEVER: not within 3x syn_sa).
 * It is counted, and from now on capture_point_delay() gives its
 * connection's delay. Returns that delay (0: none). *side gets its side.
 */
vtime_t capture_point_handshake(struct capture_point *cp, const struct ip_addr *local, uint16_t lp,
				const struct ip_addr *remote, uint16_t rp, vtime_t syn_sa, vtime_t sa_ack,
				int *side, vtime_t now);

/*
 * Whether a handshake whose SYN -> SYN-ACK is syn_sa needs its final ACK
 * found now, because its connection's delay depends on where it was
 * captured; if not, capture_point_pending() and capture_point_completed()
 * measure it when the stack completes it.
 */
int capture_point_needs_ack(const struct capture_point *cp, vtime_t syn_sa);

/* The SYN-ACK of local:lp to remote:rp was seen at t_sa, syn_sa after its SYN. */
void capture_point_pending(struct capture_point *cp, const struct ip_addr *local, uint16_t lp,
			   const struct ip_addr *remote, uint16_t rp, vtime_t t_sa, vtime_t syn_sa);

/*
 * The stack completed the handshake of local:lp with remote:rp at t (the
 * final ACK's capture time): counted as capture_point_handshake() would,
 * if it was pending.
 */
void capture_point_completed(struct capture_point *cp, const struct ip_addr *local, uint16_t lp,
			     const struct ip_addr *remote, uint16_t rp, vtime_t t);

/*
 * The delay of an inbound segment seg: its connection's, else (a
 * connection without a measured handshake) the latest of its local
 * address's, else 0. Cheap when nothing is delayed (a server-side capture).
 * hash is what capture_point_prefetch() of seg returned, or 0 (none).
 */
vtime_t capture_point_conn_delay(struct capture_point *cp, const struct segment *seg, uint32_t hash, vtime_t now);

static inline vtime_t capture_point_delay(struct capture_point *cp, const struct segment *seg, uint32_t hash,
					  vtime_t now)
{
	return cp->delayed ? capture_point_conn_delay(cp, seg, hash, now) : 0;
}

/*
 * Starts loading what capture_point_delay() of seg will read (its filter
 * word and slot), so that the call, some work later, finds them in cache.
 * Changes nothing; costs a hash, and nothing while nothing is delayed.
 * Returns that hash, for the call to use (0: none was computed).
 */
uint32_t capture_point_prefetch(const struct capture_point *cp, const struct segment *seg);

/* The median of h (nanoseconds), VT_NEVER when most values are above the bound, 0 when empty. */
vtime_t cp_hist_median(const struct cp_hist *h);

/* The side the capture as a whole was taken on: the rule above on the two medians. */
int capture_point_overall(const struct capture_point *cp);

#endif
