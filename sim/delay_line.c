/*
 * delay_line.c - see delay_line.h.
 *
 * Path: replay.c -> here (a binary heap) -> back to replay.c.
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
		free(d->h[i].data);
	free(d->h);
	memset(d, 0, sizeof(*d));
}

static int before(const struct held_seg *a, const struct held_seg *b)
{
	return a->due != b->due ? a->due < b->due : a->n < b->n;
}

int delay_line_push(struct delay_line *d, const struct segment *seg, int64_t n, vtime_t t, vtime_t due)
{
	struct held_seg e;
	uint32_t i;

	if (d->n == d->cap) {
		uint32_t cap = d->cap ? 2 * d->cap : 64;
		struct held_seg *h = realloc(d->h, (size_t)cap * sizeof(*h));

		if (!h)
			return -ENOMEM;
		d->h = h;
		d->cap = cap;
	}
	memset(&e, 0, sizeof(e));
	e.due = due;
	e.t = t;
	e.n = n;
	e.seg = *seg;
	if (seg->len) {
		e.data = malloc(seg->len);
		if (!e.data)
			return -ENOMEM;
		memcpy(e.data, seg->data, seg->len);
	}
	e.seg.data = e.data;
	/* sift up */
	for (i = d->n++; i > 0 && before(&e, &d->h[(i - 1) / 2]); i = (i - 1) / 2)
		d->h[i] = d->h[(i - 1) / 2];
	d->h[i] = e;
	return 0;
}

/* Removes entry i, moving the last entry into its place (up or down, as it must go). */
static void remove_at(struct delay_line *d, uint32_t i)
{
	struct held_seg last = d->h[--d->n];

	if (i == d->n)
		return;
	while (i > 0 && before(&last, &d->h[(i - 1) / 2])) {
		d->h[i] = d->h[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	for (;;) {
		uint32_t c = 2 * i + 1;

		if (c >= d->n)
			break;
		if (c + 1 < d->n && before(&d->h[c + 1], &d->h[c]))
			c++;
		if (!before(&d->h[c], &last))
			break;
		d->h[i] = d->h[c];
		i = c;
	}
	d->h[i] = last;
}

int delay_line_pop(struct delay_line *d, struct held_seg *out)
{
	if (!d->n)
		return -ENOENT;
	*out = d->h[0];
	remove_at(d, 0);
	return 0;
}

int delay_line_take_acked(struct delay_line *d, const struct segment *ack, struct held_seg *out)
{
	uint32_t i, best = UINT32_MAX;

	if (!(ack->flags & TH_ACK))
		return -ENOENT;
	for (i = 0; i < d->n; i++) {
		const struct segment *s = &d->h[i].seg;

		if (s->sport != ack->dport || s->dport != ack->sport || !seq_before(s->seq, ack->ack) ||
		    !addr_equal(&s->src, &ack->dst) || !addr_equal(&s->dst, &ack->src))
			continue;
		if (best == UINT32_MAX || d->h[i].n < d->h[best].n)
			best = i;
	}
	if (best == UINT32_MAX)
		return -ENOENT;
	*out = d->h[best];
	remove_at(d, best);
	return 0;
}
