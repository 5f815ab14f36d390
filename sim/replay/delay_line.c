/*
 * delay_line.c - see delay_line.h.
 *
 * Path: replay.c -> here (runs of slots, one per delay, a binary heap of
 * the runs, a hash table of the delays' runs and one of the slots'
 * 4-tuples) -> back to replay.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "delay_line.h"

void delay_line_init(struct delay_line *d)
{
	memset(d, 0, sizeof(*d));
	d->due = VT_NEVER;
}

/* No slot or run (a slot or run number's "none"). */
#define NONE UINT32_MAX

void delay_line_free(struct delay_line *d)
{
	uint32_t i, s;

	for (i = 0; i < d->nruns; i++)
		for (s = d->run[d->heap[i]].first; s != NONE; s = d->slot[s].run_next - 1)
			free(d->slot[s].e.data);
	free(d->slot);
	free(d->run);
	free(d->heap);
	free(d->chain);
	free(d->map);
	delay_line_init(d);
}

/* The chain of a delay's runs (Fibonacci hashing: delays are often round numbers). */
static uint32_t *map_chain(const struct delay_line *d, vtime_t delay)
{
	return &d->map[(uint32_t)((delay * 0x9e3779b97f4a7c15ull) >> 32) & d->map_mask];
}

/* Is slot a's segment due before slot b's? (Frame numbers break ties: no two held are the same frame.) */
static int before(const struct delay_line *d, uint32_t a, uint32_t b)
{
	const struct held_seg *x = &d->slot[a].e, *y = &d->slot[b].e;

	return x->due != y->due ? x->due < y->due : x->n < y->n;
}

/* Is run a's first segment due before run b's? */
static int run_before(const struct delay_line *d, uint32_t a, uint32_t b)
{
	return before(d, d->run[a].first, d->run[b].first);
}

static void heap_put(struct delay_line *d, uint32_t i, uint32_t r)
{
	d->heap[i] = r;
	d->run[r].heap_pos = i;
}

/* Moves run r, at heap index i, to where it belongs. */
static void heap_fix(struct delay_line *d, uint32_t i, uint32_t r)
{
	while (i > 0 && run_before(d, r, d->heap[(i - 1) / 2])) {
		heap_put(d, i, d->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	for (;;) {
		uint32_t c = 2 * i + 1;

		if (c >= d->nruns)
			break;
		if (c + 1 < d->nruns && run_before(d, d->heap[c + 1], d->heap[c]))
			c++;
		if (!run_before(d, d->heap[c], r))
			break;
		heap_put(d, i, d->heap[c]);
		i = c;
	}
	heap_put(d, i, r);
}

/* A table of at least want chains, 64 or a power of two above: *table, *mask. Returns 0 or -ENOMEM. */
static int table_new(uint32_t want, uint32_t **table, uint32_t *mask)
{
	uint32_t n = 64;

	while (n < want)
		n *= 2;
	*table = calloc(n, sizeof(**table));
	if (!*table)
		return -ENOMEM;
	*mask = n - 1;
	return 0;
}

/*
 * Rebuilds the 4-tuple chains for want segments, four chains per segment
 * (then at least two until the next growth): the recorded host's every
 * segment looks up its connection (delay_line_take_acked), mostly one
 * with nothing held, and finds its chain empty, instead of walking other
 * connections' slots, a cache miss each. Returns 0 or -ENOMEM.
 */
static int chains_grow(struct delay_line *d, uint32_t want)
{
	uint32_t *chain, mask, i, s;

	if (table_new(4 * want, &chain, &mask) < 0)
		return -ENOMEM;
	for (i = 0; i < d->nruns; i++)
		for (s = d->run[d->heap[i]].first; s != NONE; s = d->slot[s].run_next - 1) {
			d->slot[s].chain_next = chain[d->slot[s].hash & mask];
			chain[d->slot[s].hash & mask] = s + 1;
		}
	free(d->chain);
	d->chain = chain;
	d->chain_mask = mask;
	return 0;
}

/* Rebuilds the delays' chains for want runs (one chain per two at least). Returns 0 or -ENOMEM. */
static int map_grow(struct delay_line *d, uint32_t want)
{
	uint32_t *map = d->map, i;

	if (table_new(want, &d->map, &d->map_mask) < 0) {
		d->map = map; /* and the mask is unchanged */
		return -ENOMEM;
	}
	for (i = 0; i < d->nruns; i++) {
		struct delay_run *ru = &d->run[d->heap[i]];

		if (ru->mapped) {
			uint32_t *c = map_chain(d, ru->delay);

			ru->map_next = *c;
			*c = d->heap[i] + 1;
		}
	}
	free(map);
	return 0;
}

/* A slot for a new segment (and room for a run: never more runs than segments), or -ENOMEM (nothing changed). */
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
		struct delay_run *run;
		uint32_t *heap;

		if (!slot)
			return -ENOMEM;
		d->slot = slot;
		run = realloc(d->run, (size_t)cap * sizeof(*run));
		if (!run)
			return -ENOMEM;
		d->run = run;
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

/*
 * Starts a run with slot s alone, the one a push with its delay finds from
 * now on (in place of the one before, whose last segment is due later):
 * *link is where the delay's chain pointed to that run (or its end).
 */
static void run_start(struct delay_line *d, uint32_t s, vtime_t delay, uint32_t *link)
{
	uint32_t r;
	struct delay_run *ru;

	if (d->free_run) {
		r = d->free_run - 1;
		d->free_run = d->run[r].map_next;
	} else {
		r = d->nruns; /* as with slots: none free, so the runs held are 0 .. nruns-1 */
	}
	ru = &d->run[r];
	ru->delay = delay;
	ru->first = ru->last = s;
	ru->mapped = 1;
	if (*link) {
		ru->map_next = d->run[*link - 1].map_next;
		d->run[*link - 1].mapped = 0;
	} else {
		ru->map_next = 0;
	}
	*link = r + 1;
	d->slot[s].run = r;
	d->slot[s].run_prev = d->slot[s].run_next = 0;
	heap_fix(d, d->nruns++, r);
}

/* Run r is empty: out of the heap and off its delay's chain, onto the free list. */
static void run_end(struct delay_line *d, uint32_t r)
{
	struct delay_run *ru = &d->run[r];
	uint32_t i = ru->heap_pos, last = d->heap[--d->nruns];

	if (i < d->nruns)
		heap_fix(d, i, last);
	if (ru->mapped) {
		uint32_t *pp = map_chain(d, ru->delay);

		while (*pp != r + 1)
			pp = &d->run[*pp - 1].map_next;
		*pp = ru->map_next;
	}
	ru->map_next = d->free_run;
	d->free_run = r + 1;
}

/* The line changed: its earliest due time again (the first of the heap's first run). */
static void due_update(struct delay_line *d)
{
	d->due = d->n ? d->slot[d->run[d->heap[0]].first].e.due : VT_NEVER;
}

int delay_line_push(struct delay_line *d, const struct segment *seg, int64_t n, vtime_t t, vtime_t due)
{
	struct delay_slot *ds;
	uint8_t *data = NULL;
	uint32_t s, *link, r;
	vtime_t delay = due - t;

	if ((2 * (d->n + 1) > d->chain_mask + 1 || !d->chain) && chains_grow(d, d->n + 1) < 0)
		return -ENOMEM;
	if ((d->nruns + 1 > 2 * (d->map_mask + 1) || !d->map) && map_grow(d, d->nruns + 1) < 0)
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
	ds->e.due = due;
	ds->e.t = t;
	ds->e.n = n;
	ds->e.seg = *seg;
	ds->e.data = data;
	ds->e.seg.data = data;
	ds->hash = delay_line_hash(&seg->src, seg->sport, &seg->dst, seg->dport);
	ds->chain_next = d->chain[ds->hash & d->chain_mask];
	d->chain[ds->hash & d->chain_mask] = s + 1;
	d->n++;
	/* Its delay's newest run, if it goes last there; else a run of its own. */
	for (link = map_chain(d, delay); *link && d->run[*link - 1].delay != delay; link = &d->run[*link - 1].map_next)
		;
	if (*link && before(d, d->run[*link - 1].last, s)) {
		r = *link - 1;
		ds->run = r;
		ds->run_prev = d->run[r].last + 1;
		ds->run_next = 0;
		d->slot[d->run[r].last].run_next = s + 1;
		d->run[r].last = s;
	} else {
		run_start(d, s, delay, link);
	}
	due_update(d);
	return 0;
}

/* Takes slot s out of its run and its chain, copying its segment to *out. */
static void take(struct delay_line *d, uint32_t s, struct held_seg *out)
{
	struct delay_slot *ds = &d->slot[s];
	struct delay_run *ru = &d->run[ds->run];
	uint32_t *pp = &d->chain[ds->hash & d->chain_mask];

	*out = ds->e;
	while (*pp != s + 1)
		pp = &d->slot[*pp - 1].chain_next;
	*pp = ds->chain_next;
	if (ds->run_next)
		d->slot[ds->run_next - 1].run_prev = ds->run_prev;
	else
		ru->last = ds->run_prev - 1;
	if (ds->run_prev) {
		d->slot[ds->run_prev - 1].run_next = ds->run_next;
	} else if (ds->run_next) {
		/* Its run's next segment is now its first, due later: the run moves down the heap (if not alone). */
		ru->first = ds->run_next - 1;
		if (d->nruns > 1)
			heap_fix(d, ru->heap_pos, ds->run);
	} else {
		run_end(d, ds->run);
	}
	d->n--;
	ds->chain_next = d->free_slot;
	d->free_slot = s + 1;
	due_update(d);
}

int delay_line_pop(struct delay_line *d, struct held_seg *out)
{
	if (!d->n)
		return -ENOENT;
	take(d, d->run[d->heap[0]].first, out);
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
	h = delay_line_hash(&ack->dst, ack->dport, &ack->src, ack->sport);
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
