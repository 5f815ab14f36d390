/*
 * verify.c - see verify.h.
 *
 * Path: replay.c -> verify_expected() / verify_ours() / verify_inbound()
 *       -> per-connection lists (tuplemap.c) -> report() -> the driver's
 *       callbacks (first divergences, diverged connections) -> renderers.
 *
 * Each side's segments wait in their connection's list until a
 * counterpart from the other side arrives. Control segments (SYN, FIN,
 * RST) agree when their flags (PSH aside: where a sender sets it is a
 * buffering detail), the position of the flag in sequence space (a SYN's
 * and a RST's seq, a FIN's seq + len) and the ack agree; pure ACKs when
 * flags, seq and ack do; data by byte ranges, cut where the two sides'
 * segments overlap. "Close in time" is 50 ms, or 10% of the gap since
 * that side's previous segment on the connection when that is more: a
 * reply follows its trigger within microseconds on both sides, but a
 * kernel timer set for seconds may fire late by its timer wheel's
 * granularity (up to an eighth of the timeout), and the stack's fire
 * exactly.
 *
 * A segment that found no counterpart within its tolerance waits LATE more
 * seconds: the same segment from the other side then is one difference,
 * "late by X" (or early), not a missing one and an extra one. What still
 * has none is paired with a segment of its class close in time as
 * "differs" (naming the fields), or reported missing or extra.
 *
 * Per connection only the first divergence is reported as it happens;
 * the ones after it are counted, and when the connection is settled
 * (idle for minutes, or at the end) it is reported once with that count
 * and the cause that explains the first divergence best.
 */
#include <stdlib.h>
#include <string.h>

#include "tuplemap.h"
#include "verify.h"

#define TOL_MIN (50 * VT_MSEC)
/* How long a segment without a counterpart waits for the same one, late. */
#define LATE (3 * VT_SEC)
#define SWEEP_EVERY (10 * VT_SEC)
#define IDLE_FORGET (300 * VT_SEC)
/* Pieces a data range may be cut into by one arrival (more are left uncut). */
#define MAX_PIECES 16

enum { KERNEL = 0, OURS = 1 };
enum { WAITING = 0, SUSPECT = 1 };

struct vconn;

/* A segment (or, for data, a byte range) waiting for its counterpart. */
struct vitem {
	struct vitem *next, *prev;   /* its connection's list for its side */
	struct vitem *gnext, *gprev; /* every item of its stage, in the order it entered it */
	struct vconn *conn;          /* its connection */
	uint8_t side;                /* KERNEL or OURS */
	uint8_t cls;                 /* enum verify_class */
	uint8_t stage;               /* WAITING (within its tolerance) or SUSPECT (past it) */
	vtime_t t;                   /* when it was sent */
	vtime_t tol;                 /* how far in time a counterpart may be */
	struct segment seg;          /* the segment (data: seq and len are the range's); no payload */
};

/* A connection, keyed on (local, remote): both sides' segments go local -> remote. */
struct vconn {
	struct vitem *head[2], *tail[2]; /* items waiting, by side */
	vtime_t last_t[2];           /* each side's previous segment */
	uint8_t has_last[2];         /* ... if any */
	vtime_t active;              /* the last segment of either side */
	struct ip_addr local, remote; /* its ends */
	uint16_t lport, rport;
	unsigned notes;              /* VN_* from the driver */
	uint8_t seen_in;             /* the stack has received a segment of it */
	uint8_t diverged;            /* first holds its first divergence */
	uint8_t max_ttl;             /* the highest TTL of the kernel's segments */
	uint8_t syn_last_in;         /* the stack's latest inbound segment on it was a SYN without ACK ... */
	uint32_t syn_end;            /* ... and this is its sequence number + 1 */
	uint8_t reset_seq_not_zero;  /* the kernel reset that SYN with a sequence number other than 0 */
	uint32_t max_klen;           /* the largest payload of a kernel segment */
	uint64_t kernel_segs;        /* segments the kernel sent on it */
	uint64_t compared;           /* settled comparisons */
	uint64_t followed;           /* differences after the first */
	struct verify_report first;  /* the first divergence (segments point to first_k / first_o) */
	struct segment first_k, first_o;
};

struct verify {
	struct tuplemap conns;       /* (local, remote) -> struct vconn (e->ptr) */
	struct vitem *ghead[2], *gtail[2]; /* items by stage */
	struct verify_stats st;
	verify_report_fn fn;
	verify_conn_fn conn_fn;
	void *ctx;
	verify_report_fn verdict_fn; /* every comparison (verify_set_verdict_hook), or NULL */
	void *verdict_ctx;
	vtime_t last_sweep;
	uint64_t kernel_total;       /* segments the kernel sent, in all */
};

void verify_set_verdict_hook(struct verify *v, verify_report_fn fn, void *ctx)
{
	v->verdict_fn = fn;
	v->verdict_ctx = ctx;
}

const char *verify_class_name(int cls)
{
	static const char *const n[VC_COUNT] = { "control", "ack", "data" };

	return cls >= 0 && cls < VC_COUNT ? n[cls] : "?";
}

const char *verify_result_name(int r)
{
	static const char *const n[VR_COUNT] = { "matched", "missing", "extra", "differs", "late", "early" };

	return r >= 0 && r < VR_COUNT ? n[r] : "?";
}

const char *verify_cause_name(int cause)
{
	static const char *const n[CAUSE_COUNT] = {
		"listener drops", "not Linux", "mid-stream", "one direction", "unanswered", "offload", "timing", "model", "other",
	};

	return cause >= 0 && cause < CAUSE_COUNT ? n[cause] : "?";
}

double verify_agreement(const struct verify_class_stats *c)
{
	uint64_t d = c->expected + c->extra;

	return d ? (double)c->matched / (double)d : 1.0;
}

struct verify *verify_new(verify_report_fn fn, verify_conn_fn conn_fn, void *ctx)
{
	struct verify *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	if (tmap_init(&v->conns) < 0) {
		free(v);
		return NULL;
	}
	v->fn = fn;
	v->conn_fn = conn_fn;
	v->ctx = ctx;
	return v;
}

/* ---- lists ---------------------------------------------------------------------------- */

static void glink(struct verify *v, struct vitem *s, int stage)
{
	s->stage = (uint8_t)stage;
	s->gnext = NULL;
	s->gprev = v->gtail[stage];
	if (v->gtail[stage])
		v->gtail[stage]->gnext = s;
	else
		v->ghead[stage] = s;
	v->gtail[stage] = s;
}

static void gunlink(struct verify *v, struct vitem *s)
{
	if (s->gprev)
		s->gprev->gnext = s->gnext;
	else
		v->ghead[s->stage] = s->gnext;
	if (s->gnext)
		s->gnext->gprev = s->gprev;
	else
		v->gtail[s->stage] = s->gprev;
}

static void unlink_item(struct verify *v, struct vitem *s)
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
	gunlink(v, s);
	free(s);
}

/* A new item for c's side list (at its end, or right after 'after'), in stage WAITING. */
static struct vitem *new_item(struct verify *v, struct vconn *c, int side, int cls, const struct segment *seg,
			      vtime_t t, vtime_t tol, struct vitem *after)
{
	struct vitem *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->conn = c;
	s->side = (uint8_t)side;
	s->cls = (uint8_t)cls;
	s->t = t;
	s->tol = tol;
	s->seg = *seg;
	s->seg.data = NULL;
	if (after) {
		s->prev = after;
		s->next = after->next;
		if (after->next)
			after->next->prev = s;
		else
			c->tail[side] = s;
		after->next = s;
		/* In the stage list right after it too: the order of arrival stays. */
		s->stage = after->stage;
		s->gprev = after;
		s->gnext = after->gnext;
		if (after->gnext)
			after->gnext->gprev = s;
		else
			v->gtail[after->stage] = s;
		after->gnext = s;
		return s;
	}
	s->prev = c->tail[side];
	if (c->tail[side])
		c->tail[side]->next = s;
	else
		c->head[side] = s;
	c->tail[side] = s;
	glink(v, s, WAITING);
	return s;
}

/* ---- connections ---------------------------------------------------------------------- */

static struct vconn *conn_of(struct verify *v, const struct ip_addr *local, uint16_t lp,
			     const struct ip_addr *remote, uint16_t rp)
{
	struct tuple_key k;
	struct tentry *e;
	int added;

	tkey_set(&k, 1, local, lp, remote, rp);
	e = tmap_put(&v->conns, &k, &added);
	if (!e)
		return NULL;
	if (added) {
		struct vconn *c = calloc(1, sizeof(*c));

		if (!c) {
			tmap_del(&v->conns, e);
			return NULL;
		}
		c->local = *local;
		c->remote = *remote;
		c->lport = lp;
		c->rport = rp;
		e->ptr = c;
	}
	return e->ptr;
}

/* The cause that best explains c's first divergence (v: the whole comparison). */
static int cause_of(const struct verify *v, const struct vconn *c)
{
	const struct verify_report *f = &c->first;

	if (c->notes & VN_LISTENER_DROP)
		return CAUSE_LISTENER_DROPS;
	if (c->max_ttl > 64 || (c->max_ttl && c->max_ttl <= 32) || c->reset_seq_not_zero)
		return CAUSE_NOT_LINUX;
	/* Nothing received on it, or nothing the host sent in the whole capture. */
	if (!c->seen_in || !v->kernel_total)
		return CAUSE_ONE_DIRECTION;
	if (!c->kernel_segs)
		return CAUSE_UNANSWERED;
	if (c->notes & VN_PICKED_UP)
		return CAUSE_MID_STREAM;
	if (c->max_klen > 1460 && (f->cls == VC_DATA || f->result == VR_DIFFERS))
		return CAUSE_OFFLOAD;
	if (f->result == VR_LATE || f->result == VR_EARLY)
		return CAUSE_TIMING;
	if (f->cls != VC_CONTROL)
		return CAUSE_MODEL;
	return CAUSE_OTHER;
}

/* c is settled for good: a diverged connection is reported once, with its cause. */
static void conn_done(struct verify *v, struct vconn *c)
{
	struct verify_conn_report r;
	int cause;

	if (!c->diverged)
		return;
	cause = cause_of(v, c);
	c->first.cause = verify_cause_name(cause);
	v->st.cause_conns[cause]++;
	v->st.cause_segs[cause] += 1 + c->followed;
	c->diverged = 0;
	if (!v->conn_fn)
		return;
	memset(&r, 0, sizeof(r));
	r.local = c->local;
	r.remote = c->remote;
	r.lport = c->lport;
	r.rport = c->rport;
	r.first = &c->first;
	r.followed = c->followed;
	r.compared = c->compared;
	r.cause = c->first.cause;
	v->conn_fn(v->ctx, &r);
}

static int conn_drop_any(void *ctx, struct tentry *e)
{
	(void)ctx;
	free(e->ptr);
	return 1;
}

void verify_free(struct verify *v)
{
	int k;

	if (!v)
		return;
	for (k = 0; k < 2; k++)
		while (v->ghead[k])
			unlink_item(v, v->ghead[k]);
	tmap_sweep(&v->conns, conn_drop_any, NULL);
	tmap_free(&v->conns);
	free(v);
}

/* ---- matching ------------------------------------------------------------------------- */

static int seg_class(const struct segment *s)
{
	if (s->flags & (TH_SYN | TH_FIN | TH_RST))
		return VC_CONTROL;
	return s->len ? VC_DATA : VC_ACK;
}

/* Where a control segment's flag sits in sequence space. */
static uint32_t ctl_pos(const struct segment *s)
{
	return (s->flags & TH_FIN) && !(s->flags & (TH_SYN | TH_RST)) ? s->seq + s->len : s->seq;
}

static int same_key(int cls, const struct segment *a, const struct segment *b)
{
	uint8_t fa = a->flags & (uint8_t)~TH_PSH, fb = b->flags & (uint8_t)~TH_PSH;

	if (fa != fb)
		return 0;
	if ((fa & TH_ACK) && a->ack != b->ack)
		return 0;
	return cls == VC_CONTROL ? ctl_pos(a) == ctl_pos(b) : a->seq == b->seq;
}

static vtime_t absdiff(vtime_t a, vtime_t b)
{
	return a > b ? a - b : b - a;
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

/*
 * One settled comparison on c of n units (1 segment, or n bytes): counted,
 * and, when it differs, reported if it is c's first divergence.
 */
static void report(struct verify *v, struct vconn *c, int result, int cls, const struct segment *kern,
		   vtime_t kt, const struct segment *ours, vtime_t ot, vtime_t now, uint64_t n)
{
	struct verify_class_stats *s = &v->st.c[cls];
	struct verify_report r;

	if (!c->compared++)
		v->st.connections++;
	if (v->verdict_fn) {
		memset(&r, 0, sizeof(r));
		r.t = now;
		r.result = (uint8_t)result;
		r.cls = (uint8_t)cls;
		r.kernel = kern;
		r.kernel_t = kt;
		r.ours = ours;
		r.ours_t = ot;
		if (kern && ours && result == VR_MATCHED && cls != VC_DATA)
			option_diffs(kern, ours, &r);
		else if (kern && ours && result == VR_DIFFERS)
			key_diffs(kern, ours, &r);
		v->verdict_fn(v->verdict_ctx, &r);
	}
	switch (result) {
	case VR_MATCHED:
		s->expected += n;
		s->matched += n;
		if (cls != VC_DATA) {
			memset(&r, 0, sizeof(r));
			option_diffs(kern, ours, &r);
			if (r.nfields)
				v->st.option_diffs++;
		}
		return;
	case VR_MISSING:
		s->expected += n;
		s->missing += n;
		break;
	case VR_EXTRA:
		s->extra += n;
		break;
	case VR_DIFFERS:
		s->expected += n;
		s->differs += n;
		break;
	default: /* late, early */
		s->expected += n;
		s->late += n;
		break;
	}
	if (c->diverged || c->first.result) {
		/* After the first divergence of c (reported or already settled): counted only. */
		c->followed++;
		return;
	}
	v->st.diverged++;
	c->diverged = 1;
	memset(&c->first, 0, sizeof(c->first));
	c->first.t = now;
	c->first.result = (uint8_t)result;
	c->first.cls = (uint8_t)cls;
	if (kern) {
		c->first_k = *kern;
		c->first.kernel = &c->first_k;
		c->first.kernel_t = kt;
	}
	if (ours) {
		c->first_o = *ours;
		c->first.ours = &c->first_o;
		c->first.ours_t = ot;
	}
	if (kern && ours && result == VR_DIFFERS)
		key_diffs(kern, ours, &c->first);
	c->first.cause = verify_cause_name(cause_of(v, c));
	if (v->fn)
		v->fn(v->ctx, &c->first);
}

/* A segment pair (kernel's a or b, whichever side) reported as result. */
static void report_pair(struct verify *v, int result, int cls, const struct vitem *x, const struct segment *seg,
			int side, vtime_t t, vtime_t now)
{
	if (side == KERNEL)
		report(v, x->conn, result, cls, seg, t, &x->seg, x->t, now, 1);
	else
		report(v, x->conn, result, cls, &x->seg, x->t, seg, t, now, 1);
}

/* A control segment or pure ACK arrives from side: matched, paired late or early, or waits. */
static void add_segment(struct verify *v, struct vconn *c, int side, int cls, const struct segment *seg, vtime_t t,
			vtime_t tol)
{
	struct vitem *o;

	for (o = c->head[!side]; o; o = o->next)
		if (o->cls == cls && same_key(cls, &o->seg, seg) && absdiff(o->t, t) <= (o->tol > tol ? o->tol : tol)) {
			report_pair(v, VR_MATCHED, cls, o, seg, side, t, t);
			unlink_item(v, o);
			return;
		}
	for (o = c->head[!side]; o; o = o->next)
		if (o->cls == cls && same_key(cls, &o->seg, seg)) {
			/* The same segment, too far in time: the later side is late. */
			report_pair(v, side == OURS ? VR_LATE : VR_EARLY, cls, o, seg, side, t, t);
			unlink_item(v, o);
			return;
		}
	new_item(v, c, side, cls, seg, t, tol, NULL);
}

/*
 * Bytes [seq, seq + len) arrive from side: the parts the other side sent
 * too (close in time: matched; farther: late or early) are settled, the
 * rest wait.
 */
static void add_range(struct verify *v, struct vconn *c, int side, const struct segment *seg, vtime_t t, vtime_t tol)
{
	uint32_t ps[MAX_PIECES], pl[MAX_PIECES];
	int np = 1, i;
	struct vitem *o, *next;

	ps[0] = seg->seq;
	pl[0] = seg->len;
	for (o = c->head[!side]; o && np; o = next) {
		next = o->next;
		if (o->cls != VC_DATA)
			continue;
		for (i = 0; i < np && o; i++) {
			uint32_t a = seq_after(ps[i], o->seg.seq) ? ps[i] : o->seg.seq;
			uint32_t e1 = ps[i] + pl[i], e2 = o->seg.seq + o->seg.len;
			uint32_t b = seq_before(e1, e2) ? e1 : e2;
			struct segment piece = *seg;
			int result;

			if (!seq_before(a, b))
				continue;
			result = absdiff(o->t, t) <= (o->tol > tol ? o->tol : tol) ? VR_MATCHED
				 : side == OURS ? VR_LATE : VR_EARLY;
			piece.seq = a;
			piece.len = b - a;
			{
				struct segment other = o->seg;

				other.seq = a;
				other.len = b - a;
				if (side == KERNEL)
					report(v, c, result, VC_DATA, &piece, t, &other, o->t, t, b - a);
				else
					report(v, c, result, VC_DATA, &other, o->t, &piece, t, t, b - a);
			}
			/* Cut the overlap out of the waiting range... */
			if (o->seg.seq == a && e2 == b) {
				unlink_item(v, o);
				o = NULL;
			} else if (o->seg.seq == a) {
				o->seg.seq = b;
				o->seg.len = e2 - b;
			} else {
				o->seg.len = a - o->seg.seq;
				if (b != e2) {
					struct segment rest = o->seg;

					rest.seq = b;
					rest.len = e2 - b;
					/* (out of memory: those bytes are forgotten) */
					new_item(v, c, o->side, VC_DATA, &rest, o->t, o->tol, o);
					next = o->next;
				}
			}
			/* ...and out of the arriving piece. */
			if (ps[i] == a && e1 == b) {
				ps[i] = ps[np - 1];
				pl[i] = pl[np - 1];
				np--;
				i--;
			} else if (ps[i] == a) {
				pl[i] = e1 - b;
				ps[i] = b;
			} else {
				pl[i] = a - ps[i];
				if (b != e1 && np < MAX_PIECES) {
					ps[np] = b;
					pl[np] = e1 - b;
					np++;
				}
			}
		}
	}
	for (i = 0; i < np; i++) {
		struct segment piece = *seg;

		piece.seq = ps[i];
		piece.len = pl[i];
		new_item(v, c, side, VC_DATA, &piece, t, tol, NULL);
	}
}

static void add(struct verify *v, int side, const struct segment *seg, vtime_t t)
{
	struct vconn *c = conn_of(v, &seg->src, seg->sport, &seg->dst, seg->dport);
	vtime_t tol = TOL_MIN;
	int cls = seg_class(seg);

	if (!c)
		return;
	if (side == KERNEL) {
		/* An answer (SYN-ACK, RST, pure ACK) to what the stack never received predates the capture. */
		if (!c->seen_in && !seg->len && !(seg->flags & TH_FIN) &&
		    ((seg->flags & (TH_SYN | TH_ACK)) == (TH_SYN | TH_ACK) || (seg->flags & TH_RST) || cls == VC_ACK)) {
			v->st.uncounted++;
			return;
		}
		c->kernel_segs++;
		v->kernel_total++;
		if (seg->ttl > c->max_ttl)
			c->max_ttl = seg->ttl;
		if (seg->len > c->max_klen)
			c->max_klen = seg->len;
		/*
		 * RFC 9293 3.10.7.1: the reset for a segment without ACK (a SYN to a
		 * closed port) carries sequence number 0, as tcp_v4_send_reset() sends
		 * it. Another number (a firewall's or another stack's reset) is not Linux.
		 */
		if ((seg->flags & (TH_RST | TH_ACK)) == (TH_RST | TH_ACK) && seg->seq && c->syn_last_in &&
		    seg->ack == c->syn_end)
			c->reset_seq_not_zero = 1;
	}
	if (c->has_last[side] && (t - c->last_t[side]) / 10 > tol)
		tol = (t - c->last_t[side]) / 10;
	c->last_t[side] = t;
	c->has_last[side] = 1;
	c->active = t;
	if (cls != VC_DATA)
		add_segment(v, c, side, cls, seg, t, tol);
	if (seg->len)
		add_range(v, c, side, seg, t, tol);
}

void verify_expected(struct verify *v, const struct segment *seg, vtime_t t)
{
	add(v, KERNEL, seg, t);
}

void verify_ours(struct verify *v, const struct segment *seg, vtime_t t)
{
	add(v, OURS, seg, t);
}

void verify_inbound(struct verify *v, const struct segment *seg)
{
	struct vconn *c = conn_of(v, &seg->dst, seg->dport, &seg->src, seg->sport);

	if (!c)
		return;
	c->seen_in = 1;
	c->syn_last_in = (seg->flags & (TH_SYN | TH_ACK)) == TH_SYN;
	c->syn_end = seg->seq + 1;
}

void verify_note(struct verify *v, const struct ip_addr *local, uint16_t lp, const struct ip_addr *remote,
		 uint16_t rp, unsigned note)
{
	struct vconn *c = conn_of(v, local, lp, remote, rp);

	if (c)
		c->notes |= note;
}

/* ---- settling ------------------------------------------------------------------------- */

/* s waited LATE past its tolerance: paired with a same-class segment close in time, or none. */
static void settle(struct verify *v, struct vitem *s, vtime_t now)
{
	struct vconn *c = s->conn;
	struct vitem *o, *best = NULL;

	if (s->cls == VC_DATA) {
		if (s->side == KERNEL)
			report(v, c, VR_MISSING, VC_DATA, &s->seg, s->t, NULL, 0, now, s->seg.len);
		else
			report(v, c, VR_EXTRA, VC_DATA, NULL, 0, &s->seg, s->t, now, s->seg.len);
		unlink_item(v, s);
		return;
	}
	for (o = c->head[!s->side]; o; o = o->next) {
		if (o->cls != s->cls || absdiff(o->t, s->t) > (o->tol > s->tol ? o->tol : s->tol))
			continue;
		if (!best || absdiff(o->t, s->t) < absdiff(best->t, s->t))
			best = o;
	}
	if (best) {
		if (s->side == KERNEL)
			report(v, c, VR_DIFFERS, s->cls, &s->seg, s->t, &best->seg, best->t, now, 1);
		else
			report(v, c, VR_DIFFERS, s->cls, &best->seg, best->t, &s->seg, s->t, now, 1);
		unlink_item(v, best);
	} else if (s->side == KERNEL) {
		report(v, c, VR_MISSING, s->cls, &s->seg, s->t, NULL, 0, now, 1);
	} else {
		report(v, c, VR_EXTRA, s->cls, NULL, 0, &s->seg, s->t, now, 1);
	}
	unlink_item(v, s);
}

static int conn_idle(void *ctx, struct tentry *e)
{
	struct verify *v = ctx;
	struct vconn *c = e->ptr;

	if (c->head[0] || c->head[1] || v->last_sweep - c->active <= IDLE_FORGET)
		return 0;
	conn_done(v, c);
	free(c);
	return 1;
}

/* Forgets connections idle for minutes (reporting the diverged), so memory follows live connections. */
static void sweep(struct verify *v, vtime_t now)
{
	v->last_sweep = now;
	tmap_sweep(&v->conns, conn_idle, v);
}

void verify_tick(struct verify *v, vtime_t now)
{
	struct vitem *s;

	while ((s = v->ghead[WAITING]) && now > s->t + s->tol) {
		gunlink(v, s);
		glink(v, s, SUSPECT);
	}
	while ((s = v->ghead[SUSPECT]) && now > s->t + s->tol + LATE)
		settle(v, s, now);
	if (now - v->last_sweep > SWEEP_EVERY)
		sweep(v, now);
}

static int conn_report_all(void *ctx, struct tentry *e)
{
	conn_done(ctx, e->ptr);
	return 0;
}

void verify_finish(struct verify *v)
{
	struct vitem *s;

	while ((s = v->ghead[WAITING])) {
		gunlink(v, s);
		glink(v, s, SUSPECT);
	}
	while ((s = v->ghead[SUSPECT]))
		settle(v, s, s->t + s->tol + LATE);
	tmap_sweep(&v->conns, conn_report_all, v);
}

const struct verify_stats *verify_stats(const struct verify *v)
{
	return &v->st;
}

const char *verify_nothing_compared(const struct verify *v, int one_direction)
{
	const struct verify_class_stats *c = &v->st.c[VC_CONTROL];

	/* The stack's answers to a capture of one direction have nothing to be compared with. */
	if (one_direction || !v->kernel_total)
		return "the capture holds one direction only: the stack's answers have nothing to be compared with";
	if (c->expected + c->extra)
		return NULL;
	return "no SYN, FIN or RST of the recorded host's was compared (none in the capture, or only answers to what came before it)";
}
