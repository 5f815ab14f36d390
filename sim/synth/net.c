/*
 * net.c - the demo wire: a time-ordered queue of segments between stacks.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "emit.h"
#include "net.h"

struct net_pkt {
	struct net_pkt *next;
	vtime_t at;
	int host;
	struct segment seg;
	uint8_t data[];
};

static int owner_of(const struct net *n, const struct ip_addr *a)
{
	int i;

	for (i = 0; i < n->nhosts; i++)
		if (stack_has_addr(n->hosts[i].st, a))
			return i;
	return -1;
}

static void enqueue(struct net *n, const struct segment *seg, vtime_t at)
{
	int h = owner_of(n, &seg->dst);
	struct net_pkt *p;

	if (h < 0)
		return; /* no host has that address: the packet is lost */
	p = malloc(sizeof(*p) + seg->len);
	if (!p)
		return;
	p->next = NULL;
	p->at = at;
	p->host = h;
	p->seg = *seg;
	if (seg->len)
		memcpy(p->data, seg->data, seg->len);
	p->seg.data = p->data;
	/* Same latency for all, so arrival order is send order: append. */
	if (n->q_tail)
		n->q_tail->next = p;
	else
		n->q = p;
	n->q_tail = p;
}

static void observe(void *ctx, const struct event *ev)
{
	struct net_host *h = ctx;
	struct net *n = h->net;

	if (ev->type == EV_SEGMENT_OUT) {
		enqueue(n, ev->seg, ev->t + n->latency);
		if (n->on_wire)
			n->on_wire(n->wire_ctx, (int)(h - n->hosts), ev->seg, ev->t);
	}
	if (h->observed && n->on_event)
		n->on_event(n->event_ctx, ev);
	if (h->observed && n->r)
		emit_event(n->r, h->st, ev);
}

void net_init(struct net *n, struct renderer *r, vtime_t latency)
{
	memset(n, 0, sizeof(*n));
	n->r = r;
	n->latency = latency;
}

int net_add_host(struct net *n, const char *name, struct stack *st, int observed)
{
	struct net_host *h;

	if (n->nhosts == NET_MAX_HOSTS)
		return -ENOSPC;
	h = &n->hosts[n->nhosts++];
	h->net = n;
	h->st = st;
	h->name = name;
	h->observed = observed;
	stack_set_observer(st, observe, h);
	return 0;
}

vtime_t net_next(const struct net *n)
{
	vtime_t t = n->q ? n->q->at : VT_NEVER;
	int i;

	for (i = 0; i < n->nhosts; i++) {
		vtime_t ht = stack_next_timer(n->hosts[i].st);

		if (ht < t)
			t = ht;
	}
	return t;
}

static void advance_all(struct net *n, vtime_t t)
{
	int i;

	for (i = 0; i < n->nhosts; i++)
		stack_advance(n->hosts[i].st, t);
	if (t > n->now)
		n->now = t;
}

void net_run_until(struct net *n, vtime_t t)
{
	for (;;) {
		vtime_t next = net_next(n);
		struct net_pkt *p;

		if (next > t)
			break;
		advance_all(n, next);
		/* Deliver everything due now (timers above may have added more). */
		while (n->q && n->q->at <= next) {
			struct net_host *h;

			p = n->q;
			n->q = p->next;
			if (!n->q)
				n->q_tail = NULL;
			h = &n->hosts[p->host];
			if (h->observed) {
				n->frames++;
				stack_input(h->st, &p->seg, n->frames);
				if (n->tables_after_input)
					emit_tables(n->r, h->st);
			} else {
				stack_input(h->st, &p->seg, -1);
			}
			if (n->after_input)
				n->after_input(n->after_ctx, p->host, &p->seg);
			free(p);
		}
	}
	advance_all(n, t);
}

void net_settle(struct net *n, vtime_t t_max)
{
	while (n->q && n->q->at <= t_max)
		net_run_until(n, n->q->at);
}

void net_free(struct net *n)
{
	while (n->q) {
		struct net_pkt *p = n->q;

		n->q = p->next;
		free(p);
	}
	n->q_tail = NULL;
}
