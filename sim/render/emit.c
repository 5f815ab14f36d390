/*
 * emit.c - records built from what the drivers know (emit.h).
 *
 * Path: demo.c, script.c, replay.c, synth.c, net.c -> emit_*() -> a record
 *       (record.h) -> renderer_ops.record().
 *
 * The only code between the drivers and the renderers that reads the
 * stack: snapshots of its tables (stack_walk_*) and its counters go into
 * records here, so a renderer gets copies and never the stack itself.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "emit.h"
#include "frame.h"
#include "replay.h"
#include "verify.h"

/* A summary record has room for every skip reason and every verify class. */
_Static_assert(SKIP_COUNT - 1 <= REC_MAX_SKIPS, "REC_MAX_SKIPS is too small for frame.h's reasons");
_Static_assert(VC_COUNT == REC_VERIFY_CLASSES, "REC_VERIFY_CLASSES differs from verify.h's classes");

void emit_begin(struct renderer *r, int kind, const char *name, const char *summary,
		const char *intro, uint32_t hash_seed)
{
	struct rec_begin b = { (uint8_t)kind, name, summary, intro, hash_seed };
	struct record rec = { .type = REC_BEGIN, .t = 0, .begin = &b };

	if (r)
		render_record(r, &rec);
}

void emit_frame(struct renderer *r, const struct rec_frame *f, vtime_t t)
{
	struct record rec = { .type = REC_FRAME, .t = t, .frame = f };

	if (r)
		render_record(r, &rec);
}

/* ---- snapshots ----------------------------------------------------------------------------- */

/* A growing array of sockets, filled by a stack walk. */
struct view_list {
	struct sock_view *v;
	uint32_t n, cap;
	int failed; /* out of memory: an entry is missing */
};

/*
 * A snapshot being built: the listeners, every queue member in one list
 * (each listener's members consecutive; the listener keeps their index
 * until the list stops moving), and the ehash.
 */
struct snap {
	struct rec_listener *lis;
	uint32_t nlis, caplis;
	int failed;          /* out of memory: the snapshot is not sent */
	struct view_list q;  /* queue members */
	struct view_list eh; /* ehash entries */
};

/* Makes room for one more element of size sz in *arr. Returns 0 or -ENOMEM (nothing changed). */
static int grow(void **arr, uint32_t n, uint32_t *cap, size_t sz)
{
	void *p;
	uint32_t c;

	if (n < *cap)
		return 0;
	c = *cap ? *cap * 2 : 16;
	p = realloc(*arr, c * sz);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = c;
	return 0;
}

static void snap_listener(void *ctx, const struct listener_view *l)
{
	struct snap *s = ctx;

	if (grow((void **)&s->lis, s->nlis, &s->caplis, sizeof(*s->lis)) < 0) {
		s->failed = 1;
		return;
	}
	memset(&s->lis[s->nlis], 0, sizeof(s->lis[0]));
	s->lis[s->nlis++].l = *l;
}

/* stack_walk_*() callback: appends v to the view_list ctx. */
static void snap_sock(void *ctx, const struct sock_view *v)
{
	struct view_list *l = ctx;

	if (grow((void **)&l->v, l->n, &l->cap, sizeof(*l->v)) < 0) {
		l->failed = 1;
		return;
	}
	l->v[l->n++] = *v;
}

/* Sends a snapshot of st's tables and counters; asked: the run shows it (rec_tables.asked). */
static void send_tables(struct renderer *r, struct stack *st, int asked)
{
	static int told;
	struct snap s;
	struct rec_tables t;
	struct record rec = { .type = REC_TABLES, .t = stack_now(st), .tables = &t };
	uint64_t counters[CNT_COUNT];
	uint32_t i, *start;
	int c;

	memset(&s, 0, sizeof(s));
	stack_walk_listeners(st, snap_listener, &s);
	/* Each listener's members: first index and count, pointers once the array is whole. */
	start = s.nlis ? calloc(s.nlis, sizeof(*start)) : NULL;
	if (s.nlis && !start)
		s.failed = 1;
	for (i = 0; i < s.nlis && !s.failed; i++) {
		struct rec_listener *l = &s.lis[i];

		start[i] = s.q.n;
		stack_walk_syn_queue(st, l->l.id, snap_sock, &s.q);
		l->nsyn = s.q.n - start[i];
		stack_walk_accept_queue(st, l->l.id, snap_sock, &s.q);
		l->naccept = s.q.n - start[i] - l->nsyn;
	}
	stack_walk_ehash(st, snap_sock, &s.eh);
	if (s.failed || s.q.failed || s.eh.failed) {
		/* A table the run meant to show would be missing without a word. */
		if (!told++)
			fprintf(stderr, "tcpdemux: out of memory: table snapshots are left out of the output\n");
		goto out;
	}
	/* (no queue member anywhere: q.v is NULL, and so are the pointers) */
	for (i = 0; i < s.nlis && s.q.v; i++) {
		s.lis[i].syn_q = s.q.v + start[i];
		s.lis[i].accept_q = s.q.v + start[i] + s.lis[i].nsyn;
	}
	for (c = 0; c < CNT_COUNT; c++)
		counters[c] = stack_counter(st, c);
	t.asked = (uint8_t)asked;
	t.buckets = stack_buckets(st);
	t.seed = stack_seed(st);
	t.listeners = s.lis;
	t.nlisteners = s.nlis;
	t.ehash = s.eh.v;
	t.nehash = s.eh.n;
	t.counters = counters;
	render_record(r, &rec);
out:
	free(start);
	free(s.lis);
	free(s.q.v);
	free(s.eh.v);
}

void emit_tables(struct renderer *r, struct stack *st)
{
	if (r)
		send_tables(r, st, 1);
}

/* ---- events, calls, words ------------------------------------------------------------------ */

/* The tables after this operation, once per operation (its events come after it finished). */
void emit_follow(struct renderer *r, struct stack *st, const struct event *ev)
{
	if (r->emit_stack == st && r->emit_op == ev->op)
		return;
	r->emit_stack = st;
	r->emit_op = ev->op;
	send_tables(r, st, 0);
}

void emit_call(struct renderer *r, struct stack *st, vtime_t t, const char *who, const char *call,
	       long ret, const char *detail)
{
	struct rec_call c = { who, call, ret, detail };
	struct record rec = { .type = REC_CALL, .t = t, .call = &c };

	if (!r)
		return;
	render_record(r, &rec);
	/* A call that changed nothing caused no event, so it gets its own snapshot. */
	if (r->wants & RENDER_WANT_TABLES)
		send_tables(r, st, 0);
}

void emit_say(struct renderer *r, const char *text)
{
	struct record rec = { .type = REC_SAY, .t = 0, .say = text };

	if (r)
		render_record(r, &rec);
}

void emit_inferred(struct renderer *r, vtime_t t, const char *what, const char *subject,
		   const char *why)
{
	struct rec_inferred in = { what, subject, why };
	struct record rec = { .type = REC_INFERRED, .t = t, .inferred = &in };

	if (r)
		render_record(r, &rec);
}

/* rep as the record carries it. */
static void verify_record(const struct verify_report *rep, struct rec_verify *v)
{
	memset(v, 0, sizeof(*v));
	v->matched = rep->result == VR_MATCHED;
	v->result = verify_result_name(rep->result);
	v->cls = verify_class_name(rep->cls);
	v->kernel = rep->kernel;
	v->kernel_t = rep->kernel_t;
	v->ours = rep->ours;
	v->ours_t = rep->ours_t;
	v->fields = rep->fields;
	v->nfields = rep->nfields;
	v->cause = rep->cause;
	if (rep->cls == VC_DATA)
		v->bytes = rep->kernel ? rep->kernel->len : rep->ours ? rep->ours->len : 0;
}

/* A REC_VERIFY or REC_VERDICT (both carry a struct rec_verify) of rep. */
static void emit_comparison(struct renderer *r, int type, const struct verify_report *rep)
{
	struct rec_verify v;
	struct record rec = { .type = (uint8_t)type, .t = rep->t, .verify = &v };

	if (!r)
		return;
	verify_record(rep, &v);
	render_record(r, &rec);
}

void emit_verify(struct renderer *r, const struct verify_report *rep)
{
	emit_comparison(r, REC_VERIFY, rep);
}

void emit_verdict(struct renderer *r, const struct verify_report *rep)
{
	emit_comparison(r, REC_VERDICT, rep);
}

void emit_verify_conn(struct renderer *r, vtime_t t, const struct verify_conn_report *rep)
{
	struct rec_verify first;
	struct rec_verify_conn c;
	struct record rec = { .type = REC_VERIFY_CONN, .t = t, .verify_conn = &c };

	if (!r)
		return;
	verify_record(rep->first, &first);
	c.local = &rep->local;
	c.lport = rep->lport;
	c.remote = &rep->remote;
	c.rport = rep->rport;
	c.first = &first;
	c.first_t = rep->first->t;
	c.followed = rep->followed;
	c.compared = rep->compared;
	c.cause = rep->cause;
	render_record(r, &rec);
}

/* ---- the summary --------------------------------------------------------------------------- */

int emit_skip_list(struct rec_skip *out, int max, const uint64_t *counts, const int64_t *first, int nreasons,
		   const char *(*name)(int reason))
{
	int i, n = 0;

	/* Reason 0 is "no error". */
	for (i = 1; i < nreasons && n < max; i++) {
		if (!counts[i])
			continue;
		out[n].reason = name(i);
		out[n].count = counts[i];
		out[n].first_frame = first[i];
		n++;
	}
	return n;
}

static void replay_record(const struct replay_stats *rs, struct rec_replay *out)
{
	memset(out, 0, sizeof(*out));
	out->file = rs->file;
	out->linktype = rs->linktype;
	out->precision = rs->precision;
	out->compression = rs->compression;
	out->filter = rs->filter;
	out->frames = rs->frames;
	out->filtered = rs->filtered;
	out->inbound = rs->inbound;
	out->outbound = rs->outbound;
	out->ignored = rs->ignored;
	out->payload_cut = rs->payload_cut;
	out->header_cut = rs->header_cut;
	out->tso_length_0 = rs->tso_length_0;
	out->duplicates = rs->duplicates;
	out->picked_up = rs->picked_up;
	out->isn_recorded = rs->isn_recorded;
	out->isn_own = rs->isn_own;
	out->isn_rebased = rs->isn_rebased;
	out->listener_drops = rs->listener_drops;
	out->synack_nosyn = rs->synack_nosyn;
	out->nosyn_hosts = rs->nosyn_hosts;
	out->nosyn_first = rs->nosyn_first;
	out->nosyn_frame = rs->nosyn_frame;
	out->capture = rs->capture;
	out->nskipped = emit_skip_list(out->skipped, REC_MAX_SKIPS, rs->skipped, rs->first_skipped, SKIP_COUNT,
				       frame_skip_name);
}

static void verify_totals_record(const struct verify_stats *vs, const char *nothing, struct rec_verify_totals *out)
{
	static const char *names[CAUSE_COUNT];
	int c;

	memset(out, 0, sizeof(*out));
	out->agreement = verify_agreement(&vs->c[VC_CONTROL]);
	for (c = 0; c < VC_COUNT && c < REC_VERIFY_CLASSES; c++) {
		const struct verify_class_stats *k = &vs->c[c];
		struct rec_verify_class *o = &out->cls[out->ncls++];

		o->name = verify_class_name(c);
		o->expected = k->expected;
		o->matched = k->matched;
		o->missing = k->missing;
		o->differs = k->differs;
		o->extra = k->extra;
		o->late = k->late;
		o->agreement = verify_agreement(k);
	}
	out->option_diffs = vs->option_diffs;
	out->uncounted = vs->uncounted;
	out->connections = vs->connections;
	out->diverged = vs->diverged;
	for (c = 0; c < CAUSE_COUNT; c++)
		names[c] = verify_cause_name(c);
	out->cause_names = names;
	out->cause_conns = vs->cause_conns;
	out->cause_segs = vs->cause_segs;
	out->ncauses = CAUSE_COUNT;
	out->nothing = nothing;
}

/* Sends the summary record of st with the blocks given (each may be NULL). */
/* The listeners of a summary, gathered by stack_walk_listeners(). */
struct listener_ends {
	const struct stack *st;
	struct rec_listener_end *v;
	uint32_t n, cap;
	int oom;
};

static void listener_end(void *ctx, const struct listener_view *l)
{
	struct listener_ends *e = ctx;

	if (e->oom)
		return;
	if (e->n == e->cap) {
		uint32_t cap = e->cap ? e->cap * 2 : 8;
		struct rec_listener_end *v = realloc(e->v, cap * sizeof(*v));

		if (!v) {
			e->oom = 1;
			return;
		}
		e->v = v;
		e->cap = cap;
	}
	e->v[e->n].l = *l;
	if (stack_listener_stats(e->st, l->id, &e->v[e->n].stats) == 0)
		e->n++;
}

static void summary_send(struct renderer *r, struct stack *st, const struct rec_replay *rr,
			 const struct rec_verify_totals *vt, const struct rec_live *lv)
{
	struct rec_summary sum;
	struct record rec = { .type = REC_SUMMARY, .t = 0, .summary = &sum };
	struct listener_ends ends = { st, NULL, 0, 0, 0 };
	uint64_t counters[CNT_COUNT];
	int c;

	rec.t = stack_now(st);
	for (c = 0; c < CNT_COUNT; c++)
		counters[c] = stack_counter(st, c);
	sum.counters = counters;
	stack_totals(st, &sum.sockets);
	stack_walk_listeners(st, listener_end, &ends);
	sum.listeners = ends.oom ? NULL : ends.v;
	sum.nlisteners = ends.oom ? 0 : ends.n;
	sum.replay = rr;
	sum.verify = vt;
	sum.live = lv;
	render_record(r, &rec);
	free(ends.v);
}

void emit_summary(struct renderer *r, struct stack *st, const struct replay_stats *rs)
{
	struct rec_replay rr;
	struct rec_verify_totals vt;

	if (!r)
		return;
	if (rs) {
		replay_record(rs, &rr);
		if (rs->verify)
			verify_totals_record(rs->verify, rs->verify_nothing, &vt);
	}
	summary_send(r, st, rs ? &rr : NULL, rs && rs->verify ? &vt : NULL, NULL);
}

void emit_live_summary(struct renderer *r, struct stack *st, const struct rec_live *lv)
{
	if (r)
		summary_send(r, st, NULL, NULL, lv);
}
