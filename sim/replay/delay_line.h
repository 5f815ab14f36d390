/*
 * delay_line.h - inbound segments held back until the recorded host would
 * have received them (capture_point.h says by how much).
 *
 * Path: replay.c: an inbound frame whose connection is delayed ->
 *       delay_line_push() (a copy: the window moves on) ... the driver,
 *       before each frame it replays, takes every held segment due by then
 *       (delay_line_due(), delay_line_pop()) and feeds it to the stack.
 *
 * Released in (due time, frame number) order. Segments are pushed in
 * capture order and a connection's are delayed alike (capture_point.c),
 * so the segments pushed with one delay come due in the order they are
 * pushed: each delay's segments form a run, a FIFO already in release
 * order, and a min-heap orders only the runs by their first segment. A
 * capture taken at the client mostly gives all its connections one delay
 * (one run: a push and a release cost no heap work); a segment that does
 * not fall after its run's last one (a timestamp stepping back, a segment
 * held again for later) starts a run of its own, so the order stays exact
 * whatever the delays are. The segments live in slots that do not move
 * (the runs link slot numbers), each also on its 4-tuple's chain of a
 * hash table, so that the recorded host's ACK finds what it acknowledges
 * among its own connection's held segments only, not among every
 * connection's (thousands at once on a busy capture taken at the client).
 */
#ifndef TCPDEMUX_DELAY_LINE_H
#define TCPDEMUX_DELAY_LINE_H

#include <stdint.h>

#include "hash.h"
#include "segment.h"
#include "stack.h"

/* One held segment. */
struct held_seg {
	vtime_t due;            /* when it is fed to the stack */
	vtime_t t;              /* when the capture saw it */
	int64_t n;              /* its frame number */
	struct segment seg;     /* the segment; seg.data points into data */
	uint8_t *data;          /* a copy of its payload (malloc'd; NULL without one) */
};

/* A slot: a held segment, its place in its run and on its 4-tuple's chain. */
struct delay_slot {
	struct held_seg e;      /* the segment */
	uint32_t hash;          /* hash of its 4-tuple */
	uint32_t chain_next;    /* next slot + 1 on its chain (0: the end); free slots: the free list */
	uint32_t run;           /* its run */
	uint32_t run_prev;      /* the slot + 1 before it in its run (0: it is the first) */
	uint32_t run_next;      /* the slot + 1 after it in its run (0: it is the last) */
};

/* A run: held segments in release order, pushed with one delay. */
struct delay_run {
	vtime_t delay;          /* due - t of its segments */
	uint32_t first, last;   /* its first (the next to leave) and last slot */
	uint32_t heap_pos;      /* its index in the heap */
	uint32_t map_next;      /* next run + 1 on its delay's chain, or on the free list (0: the end) */
	int mapped;             /* a push with this delay finds it (the newest run of its delay) */
};

struct delay_line {
	struct delay_slot *slot; /* slots, cap of them */
	uint32_t n;              /* segments held */
	uint32_t cap;            /* slots allocated */
	uint32_t free_slot;      /* first free slot + 1 (0: none beyond n used) */
	uint32_t *chain;         /* slot + 1 at the head of each 4-tuple chain (0: empty) */
	uint32_t chain_mask;     /* chains - 1 (0 with no table yet) */
	struct delay_run *run;   /* runs, run_cap of them */
	uint32_t *heap;          /* run numbers, a min-heap on their first segments' (due, n); nruns of them */
	uint32_t nruns;          /* runs holding segments */
	uint32_t run_cap;        /* runs (and heap entries) allocated */
	uint32_t free_run;       /* first free run + 1 (0: none beyond nruns used) */
	uint32_t *map;           /* run + 1 at the head of each delay's chain (0: empty) */
	uint32_t map_mask;       /* delay chains - 1 (0 with no table yet) */
	vtime_t due;             /* the earliest due time held, VT_NEVER when empty (asked before every frame) */
};

void delay_line_init(struct delay_line *d);
/* Frees every held segment. */
void delay_line_free(struct delay_line *d);

/* Holds a copy of seg (frame n, seen at t) until due. Returns 0 or -ENOMEM (nothing held). */
int delay_line_push(struct delay_line *d, const struct segment *seg, int64_t n, vtime_t t, vtime_t due);

/* The earliest due time held, or VT_NEVER when the line is empty. */
static inline vtime_t delay_line_due(const struct delay_line *d)
{
	return d->due;
}

/* The earliest held segment, left held (valid until the line next changes), or NULL when empty. */
static inline const struct segment *delay_line_peek(const struct delay_line *d)
{
	return d->n ? &d->slot[d->run[d->heap[0]].first].e.seg : NULL;
}

/*
 * Takes out the earliest held segment into *out; the caller frees
 * out->data after using it. Returns 0, or -ENOENT when empty.
 */
int delay_line_pop(struct delay_line *d, struct held_seg *out);

/* The hash of a held (inbound) segment's 4-tuple, src:sport -> dst:dport (the quick one: the chains' order shows nowhere). */
static inline uint32_t delay_line_hash(const struct ip_addr *src, uint16_t sport, const struct ip_addr *dst,
				       uint16_t dport)
{
	return hash_tuple_quick(src->a, sport, dst->a, dport, src->family == ADDR_V6, 0);
}

/*
 * Starts loading the chain that delay_line_take_acked(d, ack, ...) reads
 * first, for a frame of the recorded host still to be replayed: asked for
 * every such frame while anything is held, it is mostly a cache miss on
 * a connection with nothing held. Always inlined: GCC 12 takes a function
 * doing nothing but prefetch for one without effects and drops its calls.
 */
static inline __attribute__((always_inline)) void delay_line_prefetch(const struct delay_line *d,
									const struct segment *ack)
{
	if (d->n)
		__builtin_prefetch(&d->chain[delay_line_hash(&ack->dst, ack->dport, &ack->src, ack->sport) &
					     d->chain_mask]);
}

/*
 * Takes out, into *out, the earliest held segment that the recorded host's
 * segment ack shows it had already received: one of the same connection
 * (sent to ack's sender by its receiver) that starts before ack's
 * acknowledgement number. The host acknowledged it, so it reached the
 * host before ack left, whatever its delay said. A RST without ACK (the
 * kernel's answer to a segment, never an application's abort) shows the
 * host had every held segment of its connection. Returns 0, or -ENOENT.
 */
int delay_line_take_acked(struct delay_line *d, const struct segment *ack, struct held_seg *out);

#endif
