/*
 * net.h - a tiny wire between stacks, for demos and tests.
 *
 * Path: a host's EV_SEGMENT_OUT -> net queue (one-way latency) ->
 *       stack_input() of the host that owns the destination address.
 *
 * Clients in a demo are real instances of the same stack doing active
 * opens, so every segment the observed server receives was produced by
 * TCP code, not typed in by hand. Only one host is observed: its events go
 * to the renderer, and its inbound segments are numbered as frames.
 */
#ifndef TCPDEMUX_NET_H
#define TCPDEMUX_NET_H

#include "render.h"
#include "stack.h"

#define NET_MAX_HOSTS 8

struct net;

struct net_host {
	struct net *net;
	struct stack *st;
	const char *name;
	int observed;
};

struct net_pkt;

struct net {
	struct net_host hosts[NET_MAX_HOSTS];
	int nhosts;
	struct net_pkt *q, *q_tail;
	vtime_t now;
	vtime_t latency;
	int64_t frames;          /* segments delivered to the observed host */
	int tables_after_input;  /* print the tables after each observed input */
	struct renderer *r;
	/* Called after each delivered segment (the applications' turn), or NULL. */
	void (*after_input)(void *ctx, int host, const struct segment *seg);
	void *after_ctx;
	/* Called with every event of the observed host, before the renderer, or NULL. */
	void (*on_event)(void *ctx, const struct event *ev);
	void *event_ctx;
	/* Called with every segment a host puts on the wire, at its send time, or NULL. */
	void (*on_wire)(void *ctx, int host, const struct segment *seg, vtime_t t);
	void *wire_ctx;
};

/* latency: one-way delay of every segment. */
void net_init(struct net *n, struct renderer *r, vtime_t latency);

/* Adds a host; observed != 0 sends its events to the renderer. Returns 0 or -ENOSPC. */
int net_add_host(struct net *n, const char *name, struct stack *st, int observed);

/*
 * Runs the network up to time t: timers fire and segments are delivered in
 * time order across all hosts. Afterwards every host's clock reads t.
 */
void net_run_until(struct net *n, vtime_t t);

/* Time of the next delivery or timer on any host, or VT_NEVER. */
vtime_t net_next(const struct net *n);

/* Runs until nothing is in flight and no timer is due before t_max. */
void net_settle(struct net *n, vtime_t t_max);

/* Frees packets in flight (not the stacks). */
void net_free(struct net *n);

#endif
