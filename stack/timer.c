/*
 * timer.c - the virtual clock's timers: a binary min-heap.
 *
 * Path: stack_advance() -> timers due -> tcp_timer_fire() (tcp_in.c).
 *
 * Linux uses per-socket timer_lists on a timer wheel; a heap gives the same
 * firing order with exact times, which matters here because replays compare
 * retransmission times with a capture's. Ties fire in arming order (seq),
 * so a run never depends on heap layout.
 */
#include <errno.h>
#include <stdlib.h>

#include "internal.h"

/*
 * The heap array holds each timer's deadline beside its pointer, so sifting
 * compares without touching the timers themselves: they sit inside sockets
 * scattered over the whole heap of memory, and a compare through the
 * pointer was a cache miss per level. Only a tie reads the timers' seq.
 */
static int ent_before(const struct timer_ent *a, const struct timer_ent *b)
{
	if (a->when != b->when)
		return a->when < b->when;
	/* Serial comparison: arming order survives the 32-bit counter wrapping. */
	return (int32_t)(a->t->seq - b->t->seq) < 0;
}

static void heap_set(struct timer_heap *th, uint32_t i, struct timer_ent e)
{
	th->h[i] = e;
	e.t->idx = i + 1;
}

static void sift_up(struct timer_heap *th, uint32_t i)
{
	struct timer_ent e = th->h[i];

	while (i > 0) {
		uint32_t parent = (i - 1) / 2;

		if (!ent_before(&e, &th->h[parent]))
			break;
		heap_set(th, i, th->h[parent]);
		i = parent;
	}
	heap_set(th, i, e);
}

static void sift_down(struct timer_heap *th, uint32_t i)
{
	struct timer_ent e = th->h[i];

	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, m = i;
		const struct timer_ent *best = &e;

		if (l < th->n && ent_before(&th->h[l], best)) {
			m = l;
			best = &th->h[l];
		}
		if (r < th->n && ent_before(&th->h[r], best))
			m = r;
		if (m == i)
			break;
		heap_set(th, i, th->h[m]);
		i = m;
	}
	heap_set(th, i, e);
}

static void heap_delete(struct timer_heap *th, uint32_t i)
{
	struct timer_ent last;

	th->h[i].t->idx = 0;
	last = th->h[--th->n];
	if (i == th->n)
		return;
	heap_set(th, i, last);
	if (i > 0 && ent_before(&last, &th->h[(i - 1) / 2]))
		sift_up(th, i);
	else
		sift_down(th, i);
}

int timer_arm(struct stack *st, struct timer *t, uint8_t kind, vtime_t when)
{
	struct timer_heap *th = &st->timers;

	if (timer_armed(t)) {
		/* Re-armed in place: one sift instead of a delete and an insert. */
		uint32_t i = t->idx - 1;

		t->kind = kind & 15u;
		t->seq = th->seq++;
		th->h[i].when = when;
		if (i > 0 && ent_before(&th->h[i], &th->h[(i - 1) / 2]))
			sift_up(th, i);
		else
			sift_down(th, i);
		return 0;
	}
	if (th->n >= TIMER_IDX_MAX)
		return -ENOMEM;
	if (th->n == th->cap) {
		uint32_t cap = th->cap ? th->cap * 2 : 64;
		struct timer_ent *h = realloc(th->h, cap * sizeof(*h));

		if (!h)
			return -ENOMEM;
		th->h = h;
		th->cap = cap;
	}
	t->kind = kind & 15u;
	t->seq = th->seq++;
	th->h[th->n].when = when;
	th->h[th->n].t = t;
	sift_up(th, th->n++);
	return 0;
}

void timer_cancel(struct stack *st, struct timer *t)
{
	if (timer_armed(t))
		heap_delete(&st->timers, t->idx - 1);
}

void timer_heap_free(struct timer_heap *th)
{
	free(th->h);
	th->h = NULL;
	th->n = th->cap = 0;
}

vtime_t stack_next_timer(const struct stack *st)
{
	return st->timers.n ? st->timers.h[0].when : VT_NEVER;
}

void stack_advance(struct stack *st, vtime_t t)
{
	struct timer_heap *th = &st->timers;

	while (th->n && th->h[0].when <= t) {
		struct timer *due = th->h[0].t;
		vtime_t when = th->h[0].when;

		heap_delete(th, 0);
		if (when > st->now)
			st->now = when;
		st->frame = -1;
		tcp_timer_fire(st, due);
		stack_flush(st);
#ifdef TCPDEMUX_INVARIANTS
		stack_assert_invariants(st);
#endif
	}
	if (t > st->now)
		st->now = t;
}
