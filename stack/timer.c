/*
 * timer.c - the virtual clock's timers: FIFOs by kind, and a binary
 * min-heap for the rest.
 *
 * Path: stack_advance() -> timers due -> tcp_timer_fire() (tcp_in.c).
 *
 * Linux uses per-socket timer_lists on a timer wheel; here every timer
 * fires at its exact time, which matters because replays compare
 * retransmission times with a capture's. Ties fire in arming order (seq),
 * so a run never depends on how timers are stored.
 *
 * Most timers of a busy server run for a fixed time: TIME_WAIT lasts
 * TCP_TIMEWAIT_LEN, a request waits TCP_TIMEOUT_INIT << retransmissions,
 * a connection's first transmission TCP_TIMEOUT_INIT (no RTT sample yet).
 * Armed at "now + the same duration" on a clock that never goes back,
 * they come due in arming order, so each (kind, duration) gets a FIFO: a
 * ring in arming order, which is sorted by deadline by construction.
 * Arming appends, the earliest is the head, and a cancelled timer leaves
 * its entry behind (t = NULL) to be skipped when it reaches the head, or
 * squeezed out when such entries outnumber the live ones. All O(1), where
 * the heap paid O(log n) for each, with every TIME_WAIT entry of the last
 * minute in it. Timers of other durations (retransmissions after an RTT
 * sample, whose RTO varies) and kinds not listed in fifo_kind() stay in the heap;
 * the earliest timer is the least of the heap's top and each FIFO's head.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- ordering ------------------------------------------------------------ */

/*
 * Entries hold each timer's deadline beside its pointer, so comparisons do
 * not touch the timers themselves: they sit inside sockets scattered over
 * the whole heap of memory, and a compare through the pointer was a cache
 * miss per level. Only a tie reads the timers' seq.
 */
static int ent_before(const struct timer_ent *a, const struct timer_ent *b)
{
	if (a->when != b->when)
		return a->when < b->when;
	/* Serial comparison: arming order survives the 32-bit counter wrapping. */
	return (int32_t)(a->t->seq - b->t->seq) < 0;
}

/* ---- the heap -------------------------------------------------------------- */

static void heap_set(struct timer_heap *th, uint32_t i, struct timer_ent e)
{
	th->h[i] = e;
	e.t->pos = i + 1;
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

/*
 * Entry i moves down to its place. Bottom-up (as in Wegener's bottom-up
 * heapsort): the hole goes down the path of the earlier children to a
 * leaf, one compare a level, and the entry then rises from there, mostly
 * not at all: the entries sifted down are a heap's last (one of the
 * latest deadlines, on a delete or a pop) or a timer re-armed later,
 * which belong near the bottom. The usual way compared the entry with
 * both children on the way, twice the compares.
 */
static void sift_down(struct timer_heap *th, uint32_t i)
{
	struct timer_ent e = th->h[i];
	uint32_t top = i;

	for (;;) {
		uint32_t l = 2 * i + 1, m = l;

		if (l >= th->n)
			break;
		if (l + 1 < th->n && ent_before(&th->h[l + 1], &th->h[l]))
			m = l + 1;
		heap_set(th, i, th->h[m]);
		i = m;
	}
	while (i > top) {
		uint32_t parent = (i - 1) / 2;

		if (!ent_before(&e, &th->h[parent]))
			break;
		heap_set(th, i, th->h[parent]);
		i = parent;
	}
	heap_set(th, i, e);
}

/* Moves entry i, whose deadline changed, to its place. */
static void heap_fix(struct timer_heap *th, uint32_t i)
{
	if (i > 0 && ent_before(&th->h[i], &th->h[(i - 1) / 2]))
		sift_up(th, i);
	else
		sift_down(th, i);
}

static void heap_delete(struct timer_heap *th, uint32_t i)
{
	struct timer_ent last;

	th->h[i].t->pos = 0;
	last = th->h[--th->n];
	if (i == th->n)
		return;
	heap_set(th, i, last);
	heap_fix(th, i);
}

/* Returns 0 or -ENOMEM (t unchanged). */
static int heap_insert(struct timer_heap *th, struct timer *t, vtime_t when)
{
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
	t->queue = 0;
	th->h[th->n].when = when;
	th->h[th->n].t = t;
	sift_up(th, th->n++);
	return 0;
}

/* ---- the FIFOs --------------------------------------------------------------- */

/*
 * The timers that run for one of a few fixed durations: TIME_WAIT and
 * requests always; a retransmission timer when it waits TCP_TIMEOUT_INIT,
 * the RTO before any round-trip sample (RFC 6298 2.1), which is how a
 * busy server's every first response and every SYN wait. Others, of an
 * RTO measured to the microsecond, would each claim a FIFO of their own.
 */
static int fifo_kind(uint8_t kind, vtime_t dur)
{
	return kind == TIMER_TW || kind == TIMER_REQ || (kind == TIMER_RTX && dur == TIMEOUT_INIT);
}

/* The FIFO for timers of this kind lasting dur, claimed if new; NULL when all are taken. */
static struct timer_fifo *fifo_for(struct timer_heap *th, uint8_t kind, vtime_t dur)
{
	int q;

	for (q = 0; q < TIMER_FIFOS; q++) {
		struct timer_fifo *f = &th->fifo[q];

		if (f->kind == kind && f->dur == dur)
			return f;
		if (!f->kind) {
			f->kind = kind;
			f->dur = dur;
			return f;
		}
	}
	return NULL;
}

static struct timer_ent *fifo_at(const struct timer_fifo *f, uint32_t i)
{
	return &f->ring[(f->head + i) & (f->cap - 1)];
}

/*
 * Rewrites f's entries into a ring of cap slots from slot 0, leaving out
 * the cancelled ones, and tells each timer its new position. Returns 0 or
 * -ENOMEM (f unchanged).
 */
static int fifo_rebuild(struct timer_fifo *f, uint32_t cap)
{
	struct timer_ent *ring = malloc((size_t)cap * sizeof(*ring));
	uint32_t i, n = 0;

	if (!ring)
		return -ENOMEM;
	for (i = 0; i < f->n; i++) {
		const struct timer_ent *e = fifo_at(f, i);

		if (!e->t)
			continue;
		ring[n] = *e;
		e->t->pos = n + 1;
		n++;
	}
	free(f->ring);
	f->ring = ring;
	f->cap = cap;
	f->head = 0;
	f->n = n;
	return 0;
}

/* Skips the cancelled entries at the head; an emptied FIFO starts over at slot 0. */
static void fifo_trim(struct timer_heap *th, struct timer_fifo *f)
{
	while (f->n && !f->ring[f->head].t) {
		f->head = (f->head + 1) & (f->cap - 1);
		f->n--;
	}
	if (!f->n) {
		f->head = 0;
		th->fifo_busy &= ~(1u << (f - th->fifo));
	}
}

/* Appends t, due at when, to f. Returns 0, or -ENOMEM (t unchanged: the caller uses the heap). */
static int fifo_append(struct timer_heap *th, struct timer_fifo *f, struct timer *t, vtime_t when)
{
	struct timer_ent *e;

	/* Arming order is deadline order only while deadlines do not go back. */
	if (f->n && fifo_at(f, f->n - 1)->when > when)
		return -ENOMEM;
	if (f->n == f->cap) {
		/* Full: squeeze out the cancelled entries, or double. */
		uint32_t cap = f->live < f->cap / 2 ? f->cap : (f->cap ? f->cap * 2 : 64);

		if (cap > TIMER_IDX_MAX / 2 + 1 || fifo_rebuild(f, cap) < 0)
			return -ENOMEM;
	}
	e = fifo_at(f, f->n);
	e->when = when;
	e->t = t;
	t->pos = ((f->head + f->n) & (f->cap - 1)) + 1;
	t->queue = (uint32_t)(f - th->fifo) + 1;
	f->n++;
	f->live++;
	th->fifo_busy |= 1u << (f - th->fifo);
	return 0;
}

static void fifo_delete(struct timer_heap *th, struct timer_fifo *f, struct timer *t)
{
	f->ring[t->pos - 1].t = NULL;
	t->pos = 0;
	f->live--;
	fifo_trim(th, f);
}

/* ---- arming, cancelling, firing ------------------------------------------------- */

static const struct timer_ent *earliest(const struct timer_heap *th);

/*
 * th->next caches the earliest deadline (VT_NEVER: none), so the common
 * case of stack_advance(), a frame before any timer is due, is one compare.
 */
static void next_update(struct timer_heap *th)
{
	const struct timer_ent *e = earliest(th);

	th->next = e ? e->when : VT_NEVER;
}

/* Takes t out of whichever queue holds it (t armed). */
static void timer_unlink(struct timer_heap *th, struct timer *t)
{
	vtime_t when;

	if (t->queue) {
		struct timer_fifo *f = &th->fifo[t->queue - 1];

		when = f->ring[t->pos - 1].when;
		fifo_delete(th, f, t);
	} else {
		when = th->h[t->pos - 1].when;
		heap_delete(th, t->pos - 1);
	}
	th->armed--;
	if (when == th->next)
		next_update(th);
}

int timer_arm(struct stack *st, struct timer *t, uint8_t kind, vtime_t when)
{
	struct timer_heap *th = &st->timers;
	struct timer_fifo *f = NULL;
	int r;

	if (when >= st->now && fifo_kind(kind, when - st->now))
		f = fifo_for(th, kind, when - st->now);
	if (timer_armed(t)) {
		if (!t->queue && !f) {
			/* Re-armed in place: one sift instead of a delete and an insert. */
			uint32_t i = t->pos - 1;

			vtime_t old = th->h[i].when;

			t->kind = kind & 15u;
			t->seq = th->seq++;
			th->h[i].when = when;
			heap_fix(th, i);
			if (old == th->next || when < th->next)
				next_update(th);
			return 0;
		}
		timer_unlink(th, t);
	}
	t->kind = kind & 15u;
	t->seq = th->seq++;
	r = f ? fifo_append(th, f, t, when) : -ENOMEM;
	if (r < 0)
		r = heap_insert(th, t, when);
	if (r == 0) {
		th->armed++;
		if (when < th->next)
			th->next = when;
	}
	return r;
}

void timer_cancel(struct stack *st, struct timer *t)
{
	if (timer_armed(t))
		timer_unlink(&st->timers, t);
}

void timer_heap_free(struct timer_heap *th)
{
	int q;

	free(th->h);
	for (q = 0; q < TIMER_FIFOS; q++)
		free(th->fifo[q].ring);
	memset(th, 0, sizeof(*th));
	th->next = VT_NEVER;
}

/* The earliest entry of all, or NULL when no timer is armed. */
static const struct timer_ent *earliest(const struct timer_heap *th)
{
	const struct timer_ent *best = th->n ? &th->h[0] : NULL;
	uint32_t busy = th->fifo_busy;

	while (busy) {
		const struct timer_fifo *f = &th->fifo[__builtin_ctz(busy)];
		const struct timer_ent *e = &f->ring[f->head];

		busy &= busy - 1;
		if (!best || ent_before(e, best))
			best = e;
	}
	return best;
}

vtime_t stack_next_timer(const struct stack *st)
{
	return st->timers.next;
}

/* stack_advance() when a timer is due by t. Out of line: see there. */
static void __attribute__((noinline)) fire_due(struct stack *st, vtime_t t)
{
	struct timer_heap *th = &st->timers;
	const struct timer_ent *e;

	while (th->next <= t && (e = earliest(th)) != NULL) {
		struct timer *due = e->t;
		vtime_t when = e->when;

		timer_unlink(th, due);
		if (when > st->now)
			st->now = when;
		st->frame = -1;
		tcp_timer_fire(st, due);
		stack_flush(st);
#ifdef TCPDEMUX_INVARIANTS
		stack_assert_invariants(st);
#endif
	}
}

void stack_advance(struct stack *st, vtime_t t)
{
	/*
	 * A replay moves the clock before every frame, and mostly no timer
	 * is due yet: then the clock is all that moves, without setting up
	 * the firing loop's frame.
	 */
	if (st->timers.next <= t)
		fire_due(st, t);
	if (t > st->now)
		st->now = t;
}

/*
 * Debug builds and tests: every entry points at a timer that points back,
 * the heap is a heap, each FIFO is in deadline order and its counts add
 * up. Returns NULL, or what broke.
 */
const char *timer_check(const struct timer_heap *th)
{
	uint32_t i, q, armed = th->n;

	for (i = 0; i < th->n; i++) {
		if (!th->h[i].t || th->h[i].t->pos != i + 1 || th->h[i].t->queue != 0)
			return "a heap entry and its timer disagree on its slot";
		if (i > 0 && ent_before(&th->h[i], &th->h[(i - 1) / 2]))
			return "a heap entry is earlier than its parent";
	}
	for (q = 0; q < TIMER_FIFOS; q++) {
		const struct timer_fifo *f = &th->fifo[q];
		const struct timer_ent *prev = NULL;
		uint32_t live = 0;

		for (i = 0; i < f->n; i++) {
			const struct timer_ent *e = fifo_at(f, i);

			if (!e->t)
				continue;
			if (e->t->queue != q + 1 || e->t->pos != (uint32_t)(e - f->ring) + 1)
				return "a FIFO entry and its timer disagree on its slot";
			if (prev && ent_before(e, prev))
				return "a FIFO is out of deadline order";
			prev = e;
			live++;
		}
		if (live != f->live || (f->n && !f->ring[f->head].t))
			return "a FIFO's counts are wrong, or a cancelled entry is at its head";
		if (!!f->n != !!(th->fifo_busy & (1u << q)))
			return "a FIFO's busy bit is wrong";
		armed += live;
	}
	if (armed != th->armed)
		return "the armed count is wrong";
	{
		const struct timer_ent *e = earliest(th);

		if ((e ? e->when : VT_NEVER) != th->next)
			return "the cached earliest deadline is stale";
	}
	return NULL;
}
