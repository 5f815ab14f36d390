/*
 * delay_line.c - see delay_line.h.
 *
 * Path: replay.c -> here (a binary heap of slots, and a hash table of
 * their 4-tuples) -> back to replay.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "delay_line.h"

void delay_line_init(struct delay_line *d)
{
	memset(d, 0, sizeof(*d));
}

void delay_line_free(struct delay_line *d)
{
	uint32_t i;

	for (i = 0; i < d->n; i++)
		free(d->slot[d->heap[i]].e.data);
	free(d->slot);
	free(d->heap);
	free(d->chain);
	memset(d, 0, sizeof(*d));
}

/* The hash of a held (inbound) segment's 4-tuple: src:sport -> dst:dport. */
static uint32_t tuple_hash(const struct ip_addr *src, uint16_t sport, const struct ip_addr *dst, uint16_t dport)
{
	return stack_ehash(0, src, sport, dst, dport);
}

static int before(const struct delay_line *d, uint32_t a, uint32_t b)
{
	const struct held_seg *x = &d->slot[a].e, *y = &d->slot[b].e;

	return x->due != y->due ? x->due < y->due : x->n < y->n;
}

static void heap_put(struct delay_line *d, uint32_t i, uint32_t s)
{
	d->heap[i] = s;
	d->slot[s].heap_pos = i;
}

/* Moves slot s, at heap index i, to where it belongs. */
static void heap_fix(struct delay_line *d, uint32_t i, uint32_t s)
{
	while (i > 0 && before(d, s, d->heap[(i - 1) / 2])) {
		heap_put(d, i, d->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	for (;;) {
		uint32_t c = 2 * i + 1;

		if (c >= d->n)
			break;
		if (c + 1 < d->n && before(d, d->heap[c + 1], d->heap[c]))
			c++;
		if (!before(d, d->heap[c], s))
			break;
		heap_put(d, i, d->heap[c]);
		i = c;
	}
	heap_put(d, i, s);
}

/* Rebuilds the chains for 2 * cap of them (one per two slots at least). Returns 0 or -ENOMEM. */
static int chains_grow(struct delay_line *d, uint32_t want)
{
	uint32_t n = 64, i, *chain;

	while (n < want)
		n *= 2;
	chain = calloc(n, sizeof(*chain));
	if (!chain)
		return -ENOMEM;
	for (i = 0; i < d->n; i++) {
		uint32_t s = d->heap[i];

		d->slot[s].chain_next = chain[d->slot[s].hash & (n - 1)];
		chain[d->slot[s].hash & (n - 1)] = s + 1;
	}
	free(d->chain);
	d->chain = chain;
	d->chain_mask = n - 1;
	return 0;
}

/* A slot for a new segment, or -ENOMEM (nothing changed). */
static int slot_get(struct delay_line *d, uint32_t *out)
{
	if (d->free_slot) {
		*out = d->free_slot - 1;
		d->free_slot = d->slot[*out].chain_next;
		return 0;
	}
	if (d->n == d->cap) {
		uint32_t cap = d->cap ? 2 * d->cap : 64;
		struct delay_slot *slot = realloc(d->slot, (size_t)cap * sizeof(*slot));
		uint32_t *heap;

		if (!slot)
			return -ENOMEM;
		d->slot = slot;
		heap = realloc(d->heap, (size_t)cap * sizeof(*heap));
		if (!heap)
			return -ENOMEM;
		d->heap = heap;
		d->cap = cap;
	}
	/* No slot is free, so the n held occupy slots 0 .. n-1. */
	*out = d->n;
	return 0;
}

int delay_line_push(struct delay_line *d, const struct segment *seg, int64_t n, vtime_t t, vtime_t due)
{
	struct delay_slot *ds;
	uint8_t *data = NULL;
	uint32_t s;

	if ((d->n + 1 > 2 * (d->chain_mask + 1) || !d->chain) && chains_grow(d, d->n + 1) < 0)
		return -ENOMEM;
	if (seg->len) {
		data = malloc(seg->len);
		if (!data)
			return -ENOMEM;
		memcpy(data, seg->data, seg->len);
	}
	if (slot_get(d, &s) < 0) {
		free(data);
		return -ENOMEM;
	}
	ds = &d->slot[s];
	memset(&ds->e, 0, sizeof(ds->e));
	ds->e.due = due;
	ds->e.t = t;
	ds->e.n = n;
	ds->e.seg = *seg;
	ds->e.data = data;
	ds->e.seg.data = data;
	ds->hash = tuple_hash(&seg->src, seg->sport, &seg->dst, seg->dport);
	ds->chain_next = d->chain[ds->hash & d->chain_mask];
	d->chain[ds->hash & d->chain_mask] = s + 1;
	d->n++;
	heap_fix(d, d->n - 1, s);
	return 0;
}

/* Takes slot s out of the heap and its chain, copying its segment to *out. */
static void take(struct delay_line *d, uint32_t s, struct held_seg *out)
{
	struct delay_slot *ds = &d->slot[s];
	uint32_t *pp = &d->chain[ds->hash & d->chain_mask], i = ds->heap_pos, last;

	*out = ds->e;
	while (*pp != s + 1)
		pp = &d->slot[*pp - 1].chain_next;
	*pp = ds->chain_next;
	last = d->heap[--d->n];
	if (i < d->n)
		heap_fix(d, i, last);
	ds->chain_next = d->free_slot;
	d->free_slot = s + 1;
}

int delay_line_pop(struct delay_line *d, struct held_seg *out)
{
	if (!d->n)
		return -ENOENT;
	take(d, d->heap[0], out);
	return 0;
}

int delay_line_take_acked(struct delay_line *d, const struct segment *ack, struct held_seg *out)
{
	uint32_t h, c, best = UINT32_MAX;
	/*
	 * A RST without ACK is the kernel's answer to a segment that reached
	 * it (tcp_v4_send_reset: seq = that segment's ack); Linux's own aborts
	 * carry ACK (tcp_send_active_reset). Whatever it answered, every held
	 * segment of the connection came before it.
	 */
	int bare_rst = (ack->flags & (TH_RST | TH_ACK)) == TH_RST;

	if (!(ack->flags & TH_ACK) && !bare_rst)
		return -ENOENT;
	if (!d->n)
		return -ENOENT;
	/* What ack acknowledges was sent the other way: ack's receiver to its sender. */
	h = tuple_hash(&ack->dst, ack->dport, &ack->src, ack->sport);
	for (c = d->chain[h & d->chain_mask]; c; c = d->slot[c - 1].chain_next) {
		const struct delay_slot *ds = &d->slot[c - 1];
		const struct segment *s = &ds->e.seg;

		if (ds->hash != h || s->sport != ack->dport || s->dport != ack->sport ||
		    (!bare_rst && !seq_before(s->seq, ack->ack)) ||
		    !addr_equal(&s->src, &ack->dst) || !addr_equal(&s->dst, &ack->src))
			continue;
		if (best == UINT32_MAX || ds->e.n < d->slot[best].e.n)
			best = c - 1;
	}
	if (best == UINT32_MAX)
		return -ENOENT;
	take(d, best, out);
	return 0;
}
