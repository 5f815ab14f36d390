/*
 * verify.c - see verify.h.
 *
 * Each side's segments wait in a per-connection list until a counterpart
 * from the other side arrives: same 4-tuple, same flags (PSH aside: where
 * a sender sets it is a buffering detail), same seq, ack and payload
 * length, close enough in time. The time tolerance is 50 ms, or 10% of
 * the gap since that side's previous segment on the connection when that
 * is more: a reply follows its trigger within microseconds on both sides,
 * but a kernel timer set for seconds may fire late by its timer wheel's
 * granularity (up to an eighth of the timeout), and the stack's timers
 * fire exactly. A segment still unmatched when its tolerance runs out is
 * settled: paired with a same-kind segment from the other side as
 * "differs" (naming the fields), or reported "missing" / "extra".
 */
#include <stdlib.h>
#include <string.h>

#include "tuplemap.h"
#include "verify.h"

#define TOL_MIN (50 * VT_MSEC)
#define SWEEP_EVERY (10 * VT_SEC)
#define IDLE_FORGET (300 * VT_SEC)

enum { KERNEL = 0, OURS = 1 };

struct vconn;

struct vseg {
	struct vseg *next, *prev;   /* the connection's list for this side */
	struct vseg *gnext, *gprev; /* every pending segment, in arrival order */
	struct vconn *conn;
	int side;
	vtime_t t, tol;
	struct segment seg;
	uint8_t cls;
};

struct vconn {
	struct vseg *head[2], *tail[2];
	vtime_t last_t[2];
	uint8_t has_last[2];
	vtime_t active;
};

struct verify {
	struct tuplemap conns;
	struct vseg *ghead, *gtail;
	struct verify_stats st;
	verify_report_fn fn;
	void *ctx;
	vtime_t last_sweep;
};

const char *verify_class_name(int cls)
{
	static const char *const n[VC_COUNT] = { "control", "ack", "data" };

	return cls >= 0 && cls < VC_COUNT ? n[cls] : "?";
}

const char *verify_result_name(int r)
{
	static const char *const n[] = { "matched", "missing", "extra", "differs" };

	return r >= 0 && r <= VR_DIFFERS ? n[r] : "?";
}

double verify_agreement(const struct verify_class_stats *c)
{
	uint64_t d = c->expected + c->extra;

	return d ? (double)c->matched / (double)d : 1.0;
}

struct verify *verify_new(verify_report_fn fn, void *ctx)
{
	struct verify *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	if (tmap_init(&v->conns) < 0) {
		free(v);
		return NULL;
	}
	v->fn = fn;
	v->ctx = ctx;
	return v;
}

static void unlink_seg(struct verify *v, struct vseg *s)
{
	struct vconn *c = s->conn;

	if (s->prev)
		s->prev->next = s->next;
	else
		c->head[s->side] = s->next;
	if (s->next)
		s->next->prev = s->prev;
	else
		c->tail[s->side] = s->prev;
	if (s->gprev)
		s->gprev->gnext = s->gnext;
	else
		v->ghead = s->gnext;
	if (s->gnext)
		s->gnext->gprev = s->gprev;
	else
		v->gtail = s->gprev;
	free(s);
}

static int conn_drop_any(void *ctx, struct tentry *e)
{
	(void)ctx;
	free(e->ptr);
	return 1;
}

void verify_free(struct verify *v)
{
	if (!v)
		return;
	while (v->ghead)
		unlink_seg(v, v->ghead);
	tmap_sweep(&v->conns, conn_drop_any, NULL);
	tmap_free(&v->conns);
	free(v);
}

static int seg_class(const struct segment *s)
{
	if (s->flags & (TH_SYN | TH_FIN | TH_RST))
		return VC_CONTROL;
	return s->len ? VC_DATA : VC_ACK;
}

static int same_key(const struct segment *a, const struct segment *b)
{
	uint8_t fa = a->flags & (uint8_t)~TH_PSH, fb = b->flags & (uint8_t)~TH_PSH;

	if (fa != fb || a->seq != b->seq || a->len != b->len)
		return 0;
	return !(fa & TH_ACK) || a->ack == b->ack;
}

static vtime_t absdiff(vtime_t a, vtime_t b)
{
	return a > b ? a - b : b - a;
}

static struct vconn *conn_of(struct verify *v, const struct segment *s)
{
	struct tuple_key k;
	struct tentry *e;
	int added;

	tkey_set(&k, 1, &s->src, s->sport, &s->dst, s->dport);
	e = tmap_put(&v->conns, &k, &added);
	if (!e)
		return NULL;
	if (added) {
		e->ptr = calloc(1, sizeof(struct vconn));
		if (!e->ptr) {
			tmap_del(&v->conns, e);
			return NULL;
		}
	}
	return e->ptr;
}

static void option_diffs(const struct segment *k, const struct segment *o, struct verify_report *r)
{
	const struct tcp_opts *a = &k->opt, *b = &o->opt;

	if (k->win != o->win)
		r->fields[r->nfields++] = "win";
	if (a->has_mss != b->has_mss || a->mss != b->mss)
		r->fields[r->nfields++] = "mss";
	if (a->has_wscale != b->has_wscale || a->wscale != b->wscale)
		r->fields[r->nfields++] = "wscale";
	if (a->sack_ok != b->sack_ok)
		r->fields[r->nfields++] = "sackOK";
	if (a->has_ts != b->has_ts)
		r->fields[r->nfields++] = "TS";
}

static void key_diffs(const struct segment *k, const struct segment *o, struct verify_report *r)
{
	if ((k->flags & (uint8_t)~TH_PSH) != (o->flags & (uint8_t)~TH_PSH))
		r->fields[r->nfields++] = "flags";
	if (k->seq != o->seq)
		r->fields[r->nfields++] = "seq";
	if (((k->flags | o->flags) & TH_ACK) && k->ack != o->ack)
		r->fields[r->nfields++] = "ack";
	if (k->len != o->len)
		r->fields[r->nfields++] = "len";
}

static void report(struct verify *v, int result, int cls, const struct vseg *kern,
		   const struct vseg *ours, vtime_t t)
{
	struct verify_report r;
	struct verify_class_stats *c = &v->st.c[cls];

	memset(&r, 0, sizeof(r));
	r.t = t;
	r.result = (uint8_t)result;
	r.cls = (uint8_t)cls;
	if (kern) {
		r.kernel = &kern->seg;
		r.kernel_t = kern->t;
	}
	if (ours) {
		r.ours = &ours->seg;
		r.ours_t = ours->t;
	}
	switch (result) {
	case VR_MATCHED:
		c->expected++;
		c->matched++;
		option_diffs(&kern->seg, &ours->seg, &r);
		if (r.nfields)
			v->st.option_diffs++;
		break;
	case VR_MISSING:
		c->expected++;
		c->missing++;
		break;
	case VR_EXTRA:
		c->extra++;
		break;
	default:
		c->expected++;
		c->differs++;
		key_diffs(&kern->seg, &ours->seg, &r);
		break;
	}
	if (v->fn)
		v->fn(v->ctx, &r);
}

static void add(struct verify *v, int side, const struct segment *seg, vtime_t t)
{
	struct vconn *c = conn_of(v, seg);
	struct vseg *s, *o;
	vtime_t tol = TOL_MIN;
	int other = !side;

	if (!c)
		return;
	if (c->has_last[side] && (t - c->last_t[side]) / 10 > tol)
		tol = (t - c->last_t[side]) / 10;
	c->last_t[side] = t;
	c->has_last[side] = 1;
	c->active = t;
	for (o = c->head[other]; o; o = o->next) {
		if (same_key(&o->seg, seg) && absdiff(o->t, t) <= (o->tol > tol ? o->tol : tol)) {
			struct vseg me;

			memset(&me, 0, sizeof(me));
			me.seg = *seg;
			me.seg.data = NULL;
			me.t = t;
			if (side == KERNEL)
				report(v, VR_MATCHED, seg_class(seg), &me, o, t);
			else
				report(v, VR_MATCHED, seg_class(seg), o, &me, t);
			unlink_seg(v, o);
			return;
		}
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return;
	s->conn = c;
	s->side = side;
	s->t = t;
	s->tol = tol;
	s->seg = *seg;
	s->seg.data = NULL;
	s->cls = (uint8_t)seg_class(seg);
	s->prev = c->tail[side];
	if (c->tail[side])
		c->tail[side]->next = s;
	else
		c->head[side] = s;
	c->tail[side] = s;
	s->gprev = v->gtail;
	if (v->gtail)
		v->gtail->gnext = s;
	else
		v->ghead = s;
	v->gtail = s;
}

void verify_expected(struct verify *v, const struct segment *seg, vtime_t t)
{
	add(v, KERNEL, seg, t);
}

void verify_ours(struct verify *v, const struct segment *seg, vtime_t t)
{
	add(v, OURS, seg, t);
}

/* Settles s, whose tolerance ran out: a same-kind counterpart, or none. */
static void settle(struct verify *v, struct vseg *s, vtime_t now)
{
	struct vconn *c = s->conn;
	struct vseg *o, *best = NULL;

	for (o = c->head[!s->side]; o; o = o->next) {
		if (o->cls != s->cls || absdiff(o->t, s->t) > (o->tol > s->tol ? o->tol : s->tol))
			continue;
		if (!best || absdiff(o->t, s->t) < absdiff(best->t, s->t))
			best = o;
	}
	if (best) {
		if (s->side == KERNEL)
			report(v, VR_DIFFERS, s->cls, s, best, now);
		else
			report(v, VR_DIFFERS, s->cls, best, s, now);
		unlink_seg(v, best);
	} else {
		report(v, s->side == KERNEL ? VR_MISSING : VR_EXTRA, s->cls, s->side == KERNEL ? s : NULL,
		       s->side == OURS ? s : NULL, now);
	}
	unlink_seg(v, s);
}

static int conn_idle(void *ctx, struct tentry *e)
{
	const struct verify *v = ctx;
	struct vconn *c = e->ptr;

	if (c->head[0] || c->head[1] || v->last_sweep - c->active <= IDLE_FORGET)
		return 0;
	free(c);
	return 1;
}

/* Forgets connections idle for minutes, so memory follows live connections. */
static void sweep(struct verify *v, vtime_t now)
{
	v->last_sweep = now;
	tmap_sweep(&v->conns, conn_idle, v);
}

void verify_tick(struct verify *v, vtime_t now)
{
	while (v->ghead && now > v->ghead->t + v->ghead->tol)
		settle(v, v->ghead, now);
	if (now - v->last_sweep > SWEEP_EVERY)
		sweep(v, now);
}

void verify_finish(struct verify *v)
{
	while (v->ghead)
		settle(v, v->ghead, v->ghead->t + v->ghead->tol);
}

const struct verify_stats *verify_stats(const struct verify *v)
{
	return &v->st;
}
