/*
 * steps.c - cutting the record stream into steps (steps.h), and what
 * each step changed.
 *
 * Path: render_step.c / render_slides.c -> stepper_record() -> their
 *       step_ops; at each close, changes() sets the snapshot from before
 *       the step beside the latest one.
 *
 * Why the cut follows stack operations: the stack delivers the events of
 * one stack_input(), timer or call together, after it finished (event.op
 * numbers them), and a driver reports a call right after it returns. So
 * the events of a new operation that did not start with a segment or a
 * timer belong to the call record that follows them, if one does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errname.h"
#include "steps.h"

void stepper_init(struct stepper *sp, const struct step_ops *ops, void *ctx)
{
	memset(sp, 0, sizeof(*sp));
	sp->ops = ops;
	sp->ctx = ctx;
}

void stepper_free(struct stepper *sp)
{
	render_tables_free(&sp->before);
	render_tables_free(&sp->now);
}

const struct rec_tables *stepper_tables(const struct stepper *sp)
{
	return sp->have_now ? &sp->now.t : NULL;
}

int step_marked(const struct step *s, uint32_t id)
{
	int i;

	for (i = 0; i < s->nmarks; i++)
		if (s->marks[i] == id)
			return 1;
	return 0;
}

/* ---- what changed ---------------------------------------------------------------------- */

static void mark(struct step *s, uint32_t id)
{
	if (s->nmarks < STEP_MAX_MARKS && !step_marked(s, id))
		s->marks[s->nmarks++] = id;
}

/*
 * The line for the next change, counted in *total; NULL once the lines
 * are full (changes() then turns the last into a count of the rest).
 */
static char *change(struct step *s, int *total)
{
	int k = (*total)++;

	if (k >= STEP_MAX_CHANGES)
		return NULL;
	s->nchanges = k + 1;
	return s->changes[k];
}

static int by_id(const void *a, const void *b)
{
	const struct sock_view *x = *(const struct sock_view *const *)a, *y = *(const struct sock_view *const *)b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/* The ehash entries of t sorted by id (NULL when t has none or memory ran out; *n then 0). */
static const struct sock_view **sorted(const struct rec_tables *t, uint32_t *n)
{
	const struct sock_view **v;
	uint32_t i;

	*n = 0;
	if (!t || !t->nehash || !(v = malloc(t->nehash * sizeof(*v))))
		return NULL;
	for (i = 0; i < t->nehash; i++)
		v[i] = &t->ehash[i];
	qsort(v, t->nehash, sizeof(*v), by_id);
	*n = t->nehash;
	return v;
}

static const char *kind_of(const struct sock_view *v)
{
	return v->state == TCP_SYN_RECV ? "request" : v->state == TCP_TIME_WAIT ? "TIME_WAIT entry" : "socket";
}

static void ehash_changes(struct step *s, const struct rec_tables *b, const struct rec_tables *a,
			  int *total)
{
	const struct sock_view **x, **y;
	uint32_t nx, ny, i = 0, j = 0;
	char ep[ADDR_STRLEN], *c;

	x = sorted(b, &nx);
	y = sorted(a, &ny);
	while (i < nx || j < ny) {
		const struct sock_view *o = i < nx ? x[i] : NULL, *n = j < ny ? y[j] : NULL;

		if (n && (!o || n->id < o->id)) {
			/* a new entry */
			mark(s, n->id);
			if ((c = change(s, total)))
				snprintf(c, STEP_LINE, "* %s #%u created: %s %s, ehash bucket 0x%x", kind_of(n), n->id,
					 tcp_state_name(n->state),
					 endpoint_format(&n->raddr, n->rport, ep, sizeof(ep)), n->bucket);
			j++;
		} else if (o && (!n || o->id < n->id)) {
			/* gone from the ehash */
			if ((c = change(s, total)))
				snprintf(c, STEP_LINE, "* #%u left the ehash (it was %s, %s)", o->id,
					 tcp_state_name(o->state), endpoint_format(&o->raddr, o->rport, ep, sizeof(ep)));
			i++;
		} else {
			if (o->state != n->state) {
				mark(s, n->id);
				if ((c = change(s, total)))
					snprintf(c, STEP_LINE, "* #%u: %s -> %s", n->id, tcp_state_name(o->state),
						 tcp_state_name(n->state));
			}
			if (o->recv_q != n->recv_q || o->send_q != n->send_q) {
				mark(s, n->id);
				if ((c = change(s, total))) {
					if (o->recv_q != n->recv_q && o->send_q != n->send_q)
						snprintf(c, STEP_LINE, "* #%u: Recv-Q %u -> %u, Send-Q %u -> %u", n->id,
							 o->recv_q, n->recv_q, o->send_q, n->send_q);
					else if (o->recv_q != n->recv_q)
						snprintf(c, STEP_LINE, "* #%u: Recv-Q %u -> %u bytes (unread)", n->id,
							 o->recv_q, n->recv_q);
					else
						snprintf(c, STEP_LINE, "* #%u: Send-Q %u -> %u bytes (unacknowledged)",
							 n->id, o->send_q, n->send_q);
				}
			}
			if (o->fd != n->fd) {
				mark(s, n->id);
				if ((c = change(s, total))) {
					if (n->fd >= 0)
						snprintf(c, STEP_LINE, "* #%u accepted: descriptor %d", n->id, n->fd);
					else
						snprintf(c, STEP_LINE, "* #%u: descriptor %d closed", n->id, o->fd);
				}
			}
			i++;
			j++;
		}
	}
	free(x);
	free(y);
}

static const struct rec_listener *listener_in(const struct rec_tables *t, uint32_t id)
{
	uint32_t i;

	for (i = 0; t && i < t->nlisteners; i++)
		if (t->listeners[i].l.id == id)
			return &t->listeners[i];
	return NULL;
}

static void listener_changes(struct step *s, const struct rec_tables *b, const struct rec_tables *a,
			     int *total)
{
	char ep[ADDR_STRLEN], *c;
	uint32_t i;

	for (i = 0; a && i < a->nlisteners; i++) {
		const struct listener_view *n = &a->listeners[i].l;
		const struct rec_listener *ol = listener_in(b, n->id);

		endpoint_format(&n->addr, n->port, ep, sizeof(ep));
		if (!ol) {
			mark(s, n->id);
			if ((c = change(s, total)))
				snprintf(c, STEP_LINE, "* listener #%u on %s%s, backlog %d", n->id, ep,
					 n->reuseport ? " (SO_REUSEPORT)" : "", n->backlog);
			continue;
		}
		if (ol->l.syn_queue != n->syn_queue) {
			mark(s, n->id);
			if ((c = change(s, total)))
				snprintf(c, STEP_LINE, "* listener %s: SYN queue %u -> %u (backlog %d)", ep,
					 ol->l.syn_queue, n->syn_queue, n->backlog);
		}
		if (ol->l.accept_queue != n->accept_queue) {
			mark(s, n->id);
			if ((c = change(s, total)))
				snprintf(c, STEP_LINE, "* listener %s: accept queue %u -> %u (backlog %d)", ep,
					 ol->l.accept_queue, n->accept_queue, n->backlog);
		}
	}
	for (i = 0; b && i < b->nlisteners; i++) {
		const struct listener_view *o = &b->listeners[i].l;

		if (!listener_in(a, o->id) && (c = change(s, total)))
			snprintf(c, STEP_LINE, "* listener #%u on %s closed", o->id,
				 endpoint_format(&o->addr, o->port, ep, sizeof(ep)));
	}
}

/* Every counter that moved, but InSegs and OutSegs: each step moves those, and its lines say so. */
static void counter_changes(struct step *s, const struct rec_tables *b, const struct rec_tables *a,
			    int *total)
{
	char *c;
	int k;

	for (k = 0; a && k < CNT_COUNT; k++) {
		uint64_t was = b ? b->counters[k] : 0;

		if (k == CNT_INSEGS || k == CNT_OUTSEGS || a->counters[k] == was)
			continue;
		if ((c = change(s, total)))
			snprintf(c, STEP_LINE, "* %s %llu -> %llu", counter_name(k), (unsigned long long)was,
				 (unsigned long long)a->counters[k]);
	}
}

static void changes(struct stepper *sp)
{
	const struct rec_tables *b = sp->before.t.counters ? &sp->before.t : NULL;
	const struct rec_tables *a = stepper_tables(sp);
	int total = 0;

	sp->cur.nchanges = 0;
	sp->cur.nmarks = 0;
	listener_changes(&sp->cur, b, a, &total);
	ehash_changes(&sp->cur, b, a, &total);
	counter_changes(&sp->cur, b, a, &total);
	if (total > STEP_MAX_CHANGES)
		snprintf(sp->cur.changes[STEP_MAX_CHANGES - 1], STEP_LINE, "* ... and %d more changes",
			 total - (STEP_MAX_CHANGES - 1));
}

/* ---- the cut --------------------------------------------------------------------------- */

static void open_step(struct stepper *sp, vtime_t t)
{
	memset(&sp->cur, 0, sizeof(sp->cur));
	sp->cur.segment = -1;
	sp->cur.t = t;
	sp->open = 1;
	sp->op = 0;
	/* The diff's base: the tables as this step finds them (a failed copy keeps the older). */
	if (sp->have_now)
		render_tables_copy(&sp->before, &sp->now.t);
}

static void close_step(struct stepper *sp)
{
	struct step *s = &sp->cur;

	if (!sp->open)
		return;
	if (!s->kind)
		s->kind = s->title[0] ? STEP_CALL : STEP_APP;
	if (s->kind == STEP_SEGMENT)
		snprintf(s->title, sizeof(s->title), "segment #%lld", (long long)s->segment);
	else if (s->kind == STEP_TIMER && !s->title[0])
		snprintf(s->title, sizeof(s->title), "a timer");
	else if (!s->title[0])
		snprintf(s->title, sizeof(s->title), "the application");
	changes(sp);
	s->after = stepper_tables(sp);
	s->n = ++sp->count;
	sp->open = 0;
	sp->op = 0;
	sp->ops->close(sp->ctx, s);
}

static void call_title(struct step *s, const struct rec_call *c)
{
	if (c->ret < 0 && errno_name(c->ret))
		snprintf(s->title, sizeof(s->title), "%s: %s = -1 %s", c->who, c->call, errno_name(c->ret));
	else
		snprintf(s->title, sizeof(s->title), "%s: %s = %ld", c->who, c->call, c->ret);
}

static void on_event(struct stepper *sp, const struct record *rec)
{
	const struct event *ev = rec->event;
	struct step *s;

	/* A new operation ends the step of the previous one. */
	if (sp->open && sp->op && ev->op != sp->op)
		close_step(sp);
	if (!sp->open)
		open_step(sp, ev->t);
	s = &sp->cur;
	if (!sp->op) {
		sp->op = ev->op;
		s->t = ev->t;
	}
	if (ev->type == EV_SEGMENT_IN && !s->has_in) {
		s->kind = STEP_SEGMENT;
		s->segment = ev->frame;
		s->has_in = 1;
		s->in = *ev;
		s->in_seg = *ev->seg;
		s->in_seg.data = NULL;
		s->in.seg = &s->in_seg;
	} else if (ev->type == EV_TIMER && s->kind != STEP_SEGMENT) {
		s->kind = STEP_TIMER;
		snprintf(s->title, sizeof(s->title), "timer: #%u %s", ev->sock.id,
			 ev->action == ACT_SYN_ACK_RTX ? "SYN-ACK again"
			 : ev->action == ACT_RETRANSMIT ? "retransmission"
			 : ev->action == ACT_EXPIRE     ? "expires"
							: seg_action_name(ev->action));
	} else if (!s->kind) {
		s->kind = STEP_APP;
	}
	/* a replayed or generated application has no call records: its accept() or listen() names the step */
	if (ev->type == EV_ACCEPT && s->kind == STEP_APP && !s->title[0])
		snprintf(s->title, sizeof(s->title), "the application: accept() = %d (#%u)", ev->sock.fd, ev->sock.id);
	if (ev->type == EV_SOCK_STATE && ev->sock.state == TCP_LISTEN && s->kind == STEP_APP && !s->title[0]) {
		char ep[ADDR_STRLEN];

		snprintf(s->title, sizeof(s->title), "the application: listen() on %s",
			 endpoint_format(&ev->sock.laddr, ev->sock.lport, ep, sizeof(ep)));
	}
	sp->ops->record(sp->ctx, s, rec, 0);
}

static void on_call(struct stepper *sp, const struct record *rec)
{
	const struct rec_call *c = rec->call;

	if (sp->open && sp->op && sp->cur.kind == STEP_APP) {
		/* The events gathered were this call's doing. */
		sp->cur.kind = STEP_CALL;
		call_title(&sp->cur, c);
		sp->ops->record(sp->ctx, &sp->cur, rec, 1);
		close_step(sp);
		return;
	}
	if (sp->open && sp->op)
		close_step(sp);
	if (!sp->open)
		open_step(sp, rec->t);
	call_title(&sp->cur, c);
	sp->ops->record(sp->ctx, &sp->cur, rec, 0);
	/* A failed call is a step of its own; one that succeeded quietly joins the next. */
	if (c->ret < 0) {
		sp->cur.kind = STEP_CALL;
		close_step(sp);
	}
}

void stepper_record(struct stepper *sp, const struct record *rec)
{
	switch (rec->type) {
	case REC_EVENT:
		on_event(sp, rec);
		break;
	case REC_CALL:
		on_call(sp, rec);
		break;
	case REC_TABLES:
		/* a failed copy keeps the older snapshot */
		if (render_tables_copy(&sp->now, rec->tables) == 0)
			sp->have_now = 1;
		if (sp->open)
			sp->ops->record(sp->ctx, &sp->cur, rec, 0);
		else if (rec->tables->asked)
			sp->ops->outside(sp->ctx, rec);
		break;
	case REC_INFERRED:
	case REC_VERIFY:
		if (!sp->open)
			open_step(sp, rec->t);
		sp->ops->record(sp->ctx, &sp->cur, rec, 0);
		break;
	default:
		/* REC_BEGIN, REC_SAY, REC_SUMMARY stand between steps */
		close_step(sp);
		sp->ops->outside(sp->ctx, rec);
		break;
	}
}

void stepper_flush(struct stepper *sp)
{
	close_step(sp);
}
