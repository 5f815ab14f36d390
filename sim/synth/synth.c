/*
 * synth.c - `tcpdemux synth`: made-up traffic into the stack.
 *
 * Path: synth_run() ->
 *   --clients:    a client stack doing real active opens over the demo wire
 *                 (net.c) to the observed server stack; both applications
 *                 run after every delivered segment (after_input);
 *   --syn-flood:  SYNs from random spoofed sources fed straight into the
 *                 server, which answers into the void;
 *   --hash-flood: handshakes from 4-tuples crafted to share one ehash bucket
 *                 under a chosen seed, then one data segment on each, so
 *                 the trace shows how far every lookup walks.
 * Every run is fixed by --seed (the generator) and --hash-seed (the
 * stack's secret); --write records what the server saw and sent, as a
 * capture that `tcpdemux replay` plays back.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "emit.h"
#include "net.h"
#include "pcap_out.h"
#include "socket.h"
#include "synth.h"
#include "tuplemap.h"

#define LATENCY (500 * VT_USEC)   /* one way: a LAN */
#define CLIENT_ADDRS 64           /* 10.1.0.1 .. 10.1.0.64 */
#define K_CLIENT 1
#define K_SERVER 2

struct synth {
	const struct synth_opts *o;
	struct net net;
	struct stack *server, *clients;
	struct pcap_out *po;
	uint64_t rng;
	int lfd[REPLAY_MAX_LISTEN];
	int nl;
	struct ip_addr srv_addr;
	uint16_t srv_port;
	struct tuplemap conns;
	uint64_t started, finished, active;
	uint64_t walked, lookups;
	uint32_t max_walk, max_synq;
	uint8_t *buf;
	vtime_t next_accept;
};

static uint64_t rnd(struct synth *s)
{
	/* xorshift64*: the generator needs reproducibility, not secrecy */
	s->rng ^= s->rng >> 12;
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	return s->rng * 0x2545f4914f6cdd1dull;
}

/* ---- observing the server ---------------------------------------------------------- */

static void note_event(struct synth *s, const struct event *ev)
{
	if (ev->type != EV_SEGMENT_IN)
		return;
	s->lookups++;
	s->walked += ev->lookup.walked;
	if (ev->lookup.walked > s->max_walk)
		s->max_walk = ev->lookup.walked;
	if (ev->has_listener && ev->listener.syn_queue > s->max_synq)
		s->max_synq = ev->listener.syn_queue;
}

/* The server stack's observer when it runs without the wire. */
static void observe_direct(void *ctx, const struct event *ev)
{
	struct synth *s = ctx;

	note_event(s, ev);
	if (s->po && (ev->type == EV_SEGMENT_OUT || ev->type == EV_SEGMENT_IN))
		pcap_out_write(s->po, ev->seg, ev->t);
	emit_event(s->o->r, s->server, ev);
	if (s->o->tables == 1 && ev->type == EV_SEGMENT_IN)
		emit_tables(s->o->r, s->server);
}

/* The capture point is the server: what it sent when it sent it, what it got when it arrived. */
static void on_wire(void *ctx, int host, const struct segment *seg, vtime_t t)
{
	struct synth *s = ctx;

	if (s->po)
		pcap_out_write(s->po, seg, host == 0 ? t : t + LATENCY);
}

/* ---- listeners and the server application ---------------------------------------------- */

static int open_listeners(struct synth *s)
{
	const struct synth_opts *o = s->o;
	int i;

	for (i = 0; i < (o->nlisten ? o->nlisten : 1); i++) {
		struct replay_listen def, *l = o->nlisten ? (struct replay_listen *)&o->listen[i] : &def;
		int k, members;

		if (!o->nlisten) {
			memset(&def, 0, sizeof(def));
			def.addr = addr_v4(0x0a000001);
			def.port = 80;
			def.backlog = -1;
		}
		if (i == 0) {
			s->srv_addr = addr_is_any(&l->addr) ? addr_v4(0x0a000001) : l->addr;
			s->srv_port = l->port;
			if (stack_add_addr(s->server, &s->srv_addr) < 0)
				return -ENOMEM;
		} else if (!addr_is_any(&l->addr) && !stack_has_addr(s->server, &l->addr)) {
			stack_add_addr(s->server, &l->addr);
		}
		members = l->reuseport > 1 ? l->reuseport : 1;
		for (k = 0; k < members; k++) {
			int fd;

			if (s->nl == REPLAY_MAX_LISTEN)
				return -ENOMEM;
			fd = replay_listen_socket(s->server, &l->addr, l->port, l->backlog, l->reuseport > 0);
			if (fd < 0)
				return fd;
			s->lfd[s->nl++] = fd;
		}
	}
	return 0;
}

static struct tentry *conn_entry(struct synth *s, int kind, const struct ip_addr *la, uint16_t lp,
				 const struct ip_addr *ra, uint16_t rp, int create)
{
	struct tuple_key k;
	int added;

	tkey_set(&k, (uint8_t)kind, la, lp, ra, rp);
	return create ? tmap_put(&s->conns, &k, &added) : tmap_get(&s->conns, &k);
}

static void server_accept(struct synth *s)
{
	int i;

	for (i = 0; i < s->nl; i++) {
		int fd;

		while ((fd = sys_accept(s->server, s->lfd[i], NULL, NULL)) >= 0) {
			struct ip_addr la, ra;
			uint16_t lp, rp;
			struct tentry *e;

			sys_getsockname(s->server, fd, &la, &lp);
			sys_getpeername(s->server, fd, &ra, &rp);
			e = conn_entry(s, K_SERVER, &la, lp, &ra, rp, 1);
			if (!e) {
				sys_close(s->server, fd);
				continue;
			}
			e->fd = fd;
			e->seq = 0;
			e->fin_done = 0;
		}
	}
}

/* The server application: read the request, answer with as many bytes, close. */
static void server_app(struct synth *s, struct tentry *e)
{
	ssize_t n;

	while ((n = sys_recv(s->server, e->fd, s->buf, 65536)) > 0)
		e->seq += (uint32_t)n;
	if (!e->fin_done && (e->seq >= s->o->data || n == 0)) {
		if (n != 0 && s->o->data)
			sys_send(s->server, e->fd, s->buf, s->o->data);
		sys_close(s->server, e->fd);
		e->fin_done = 1;
		tmap_del(&s->conns, e);
	}
}

/* ---- clients ------------------------------------------------------------------------------- */

static void client_addr(uint64_t i, struct ip_addr *a, uint16_t *port)
{
	*a = addr_v4(0x0a010001 + (uint32_t)(i % CLIENT_ADDRS));
	*port = (uint16_t)(1024 + (i / CLIENT_ADDRS) % 64000);
}

static int client_start(struct synth *s)
{
	struct ip_addr a;
	uint16_t port;
	struct tentry *e;
	int fd;

	client_addr(s->started, &a, &port);
	s->started++;
	fd = sys_socket(s->clients, ADDR_V4);
	if (fd < 0)
		return fd;
	sys_setsockopt(s->clients, fd, SOCKOPT_REUSEADDR, 1);
	if (sys_bind(s->clients, fd, &a, port) < 0 ||
	    sys_connect(s->clients, fd, &s->srv_addr, s->srv_port) != -EINPROGRESS) {
		sys_close(s->clients, fd);
		s->finished++;
		return -EADDRINUSE;
	}
	e = conn_entry(s, K_CLIENT, &a, port, &s->srv_addr, s->srv_port, 1);
	if (!e) {
		sys_close(s->clients, fd);
		s->finished++;
		return -ENOMEM;
	}
	e->fd = fd;
	e->seq = 0;
	e->have_seq = 0; /* request sent */
	e->fin_done = 0;
	s->active++;
	return 0;
}

static void client_done(struct synth *s, struct tentry *e)
{
	sys_close(s->clients, e->fd);
	tmap_del(&s->conns, e);
	s->active--;
	s->finished++;
}

/* A client: once connected, send the request; read the answer; close. */
static void client_app(struct synth *s, struct tentry *e)
{
	int st = sys_state(s->clients, e->fd);
	ssize_t n;

	if (st == TCP_CLOSED) {
		client_done(s, e); /* refused or reset */
		return;
	}
	if (!e->have_seq && (st == TCP_ESTABLISHED || st == TCP_CLOSE_WAIT)) {
		memset(s->buf, 'q', s->o->data);
		if (s->o->data)
			sys_send(s->clients, e->fd, s->buf, s->o->data);
		e->have_seq = 1;
	}
	while ((n = sys_recv(s->clients, e->fd, s->buf, 65536)) > 0)
		e->seq += (uint32_t)n;
	if (n == 0 || (s->o->data && e->seq >= s->o->data))
		client_done(s, e);
}

static void after_input(void *ctx, int host, const struct segment *seg)
{
	struct synth *s = ctx;
	struct tentry *e;

	if (host == 0) {
		if (s->o->accept_mode == ACCEPT_IMMEDIATE)
			server_accept(s);
		e = conn_entry(s, K_SERVER, &seg->dst, seg->dport, &seg->src, seg->sport, 0);
		if (e)
			server_app(s, e);
	} else {
		e = conn_entry(s, K_CLIENT, &seg->dst, seg->dport, &seg->src, seg->sport, 0);
		if (e)
			client_app(s, e);
	}
}

static void on_server_event(void *ctx, const struct event *ev)
{
	note_event(ctx, ev);
}

/* --accept every=MS: the server's accept() calls up to time t. */
static void accept_ticks(struct synth *s, vtime_t t)
{
	while (s->o->accept_mode == ACCEPT_EVERY && s->next_accept <= t) {
		net_run_until(&s->net, s->next_accept);
		server_accept(s);
		s->next_accept += s->o->accept_every;
	}
}

static vtime_t start_time(const struct synth *s, uint64_t i)
{
	return (vtime_t)((double)i * 1e9 / s->o->rate);
}

static int run_clients(struct synth *s)
{
	const struct synth_opts *o = s->o;
	struct stack_config ccfg = o->cfg;
	struct ip_addr a;
	uint16_t port;
	int i;

	ccfg.hash_seed = o->seed ^ 0x5eed5eedu;
	ccfg.ehash_buckets = 1u << 16;
	s->clients = stack_new(&ccfg);
	if (!s->clients)
		return -ENOMEM;
	for (i = 0; i < CLIENT_ADDRS; i++) {
		client_addr((uint64_t)i, &a, &port);
		stack_add_addr(s->clients, &a);
	}
	net_init(&s->net, o->r, LATENCY);
	net_add_host(&s->net, "server", s->server, 1);
	net_add_host(&s->net, "clients", s->clients, 0);
	s->net.after_input = after_input;
	s->net.after_ctx = s;
	s->net.on_wire = on_wire;
	s->net.wire_ctx = s;
	s->net.on_event = on_server_event;
	s->net.event_ctx = s;
	/* net.c observes the server for the renderer; count lookups beside it. */
	s->net.tables_after_input = o->tables == 1;
	while (s->finished < o->count) {
		vtime_t next;

		if (s->started < o->count && s->active < o->concurrent) {
			vtime_t t = start_time(s, s->started);

			if (t < s->net.now)
				t = s->net.now;
			next = net_next(&s->net);
			if (next < t) {
				accept_ticks(s, next);
				net_run_until(&s->net, next);
				continue;
			}
			accept_ticks(s, t);
			net_run_until(&s->net, t);
			client_start(s);
			continue;
		}
		next = net_next(&s->net);
		if (next == VT_NEVER)
			break; /* nothing can happen any more (an application that never accepts) */
		accept_ticks(s, next);
		net_run_until(&s->net, next);
	}
	/* Let the last segments land. */
	net_settle(&s->net, s->net.now + 2 * VT_SEC);
	return 0;
}

/* ---- floods ---------------------------------------------------------------------------- */

static void random_source(struct synth *s, struct ip_addr *a, uint16_t *port)
{
	uint64_t r = rnd(s);

	/* 198.18.0.0/15, the range set aside for benchmarks (RFC 2544) */
	*a = addr_v4(0xc6120000u | (uint32_t)(r & 0x1ffff));
	*port = (uint16_t)(1024 + (r >> 20) % 64512);
}

static void syn_of(struct synth *s, struct segment *seg, const struct ip_addr *src, uint16_t sport,
		   uint32_t isn)
{
	memset(seg, 0, sizeof(*seg));
	seg->src = *src;
	seg->sport = sport;
	seg->dst = s->srv_addr;
	seg->dport = s->srv_port;
	seg->seq = isn;
	seg->flags = TH_SYN;
	seg->win = 64240;
	seg->opt.has_mss = 1;
	seg->opt.mss = 1460;
}

static int run_syn_flood(struct synth *s)
{
	uint64_t i;

	stack_set_observer(s->server, observe_direct, s);
	for (i = 0; i < s->o->count; i++) {
		struct ip_addr src;
		uint16_t sport;
		struct segment seg;
		vtime_t t = start_time(s, i);

		if (s->o->accept_mode == ACCEPT_EVERY)
			while (s->next_accept <= t) {
				stack_advance(s->server, s->next_accept);
				server_accept(s);
				s->next_accept += s->o->accept_every;
			}
		stack_advance(s->server, t);
		random_source(s, &src, &sport);
		syn_of(s, &seg, &src, sport, (uint32_t)rnd(s));
		stack_input(s->server, &seg, (int64_t)i + 1);
	}
	return 0;
}

/* The server's last outbound segment to a 4-tuple (the SYN-ACK a raw client answers). */
struct last_out {
	struct synth *s;
	struct segment seg;
	int have;
};

static void observe_raw(void *ctx, const struct event *ev)
{
	struct last_out *lo = ctx;

	if (ev->type == EV_SEGMENT_OUT) {
		lo->seg = *ev->seg;
		lo->seg.data = NULL;
		lo->have = 1;
	}
	observe_direct(lo->s, ev);
}

/*
 * 4-tuples that share one ehash bucket under the target seed: the
 * attacker's side of hash flooding. Brute force over client addresses in
 * 10.2.0.0/16 and ports: with B buckets about one candidate in B fits.
 */
static int run_hash_flood(struct synth *s)
{
	const struct synth_opts *o = s->o;
	/* The attacker's guess at the secret: the seed the 4-tuples are crafted for. */
	uint32_t target_seed = SYNTH_KNOWN_SEED;
	uint32_t mask = o->cfg.ehash_buckets - 1, bucket = 0;
	struct last_out lo;
	struct ip_addr *src;
	uint16_t *sport;
	uint32_t *iss;
	uint64_t found = 0, cand, i;
	int64_t frame = o->frames ? *o->frames : 0; /* inbound segments are numbered on from here */
	static const uint8_t req[] = "GET / HTTP/1.0\r\n\r\n";

	src = calloc(o->count, sizeof(*src));
	sport = calloc(o->count, sizeof(*sport));
	iss = calloc(o->count, sizeof(*iss));
	if (!src || !sport || !iss) {
		free(src);
		free(sport);
		free(iss);
		return -ENOMEM;
	}
	for (cand = 0; found < o->count && cand < (1ull << 32); cand++) {
		struct ip_addr a = addr_v4(0x0a020000u | (uint32_t)(cand & 0xffff));
		uint16_t p = (uint16_t)(1024 + (cand >> 16) % 64512);
		uint32_t b = stack_ehash(target_seed, &s->srv_addr, s->srv_port, &a, p) & mask;

		if (cand == 0)
			bucket = b;
		if (b == bucket) {
			src[found] = a;
			sport[found] = p;
			found++;
		}
	}
	if (o->r) {
		char line[200];

		snprintf(line, sizeof(line),
			 "== %llu 4-tuples crafted to share bucket 0x%x under hash seed %u; the stack's seed is %u",
			 (unsigned long long)found, bucket, target_seed, o->cfg.hash_seed);
		emit_say(o->r, line);
	}
	memset(&lo, 0, sizeof(lo));
	lo.s = s;
	stack_set_observer(s->server, observe_raw, &lo);
	/* Handshakes: SYN, then the ACK of the server's SYN-ACK. */
	for (i = 0; i < found; i++) {
		struct segment seg;
		vtime_t t = start_time(s, i);

		stack_advance(s->server, t);
		syn_of(s, &seg, &src[i], sport[i], 1000);
		lo.have = 0;
		stack_input(s->server, &seg, ++frame);
		if (!lo.have || lo.seg.flags != (TH_SYN | TH_ACK))
			continue;
		iss[i] = lo.seg.seq;
		seg.flags = TH_ACK;
		seg.seq = 1001;
		seg.ack = lo.seg.seq + 1;
		seg.opt.has_mss = 0;
		stack_input(s->server, &seg, ++frame);
		if (o->accept_mode == ACCEPT_IMMEDIATE)
			server_accept(s);
	}
	/* One request on every connection: each lookup walks the shared chain. */
	s->walked = s->lookups = 0;
	s->max_walk = 0;
	for (i = 0; i < found; i++) {
		struct segment seg;

		syn_of(s, &seg, &src[i], sport[i], 1001);
		seg.flags = TH_ACK | TH_PSH;
		seg.opt.has_mss = 0;
		seg.data = req;
		seg.len = sizeof(req) - 1;
		if (!stack_find(s->server, &s->srv_addr, s->srv_port, &src[i], sport[i], NULL))
			continue;
		seg.ack = iss[i] + 1;
		lo.have = 0;
		stack_input(s->server, &seg, ++frame);
	}
	if (o->frames)
		*o->frames = frame;
	free(src);
	free(sport);
	free(iss);
	return 0;
}

/* ---- the run ----------------------------------------------------------------------------- */

static void print_summary(struct synth *s)
{
	const struct synth_opts *o = s->o;
	struct renderer *r = o->summary_r;
	struct ehash_stats es;
	struct rusage ru;
	char line[300];

	if (!r)
		return;
	stack_ehash_stats(s->server, &es);
	getrusage(RUSAGE_SELF, &ru);
	snprintf(line, sizeof(line),
		 "synth: %llu lookups walked %.2f ehash entries on average (at most %u); ehash now %u entries in %u of %u buckets, longest chain %u; SYN queue peaked at %u; peak RSS %ld MiB",
		 (unsigned long long)s->lookups, s->lookups ? (double)s->walked / (double)s->lookups : 0.0,
		 s->max_walk, es.entries, es.used_buckets, stack_buckets(s->server), es.max_chain, s->max_synq,
		 ru.ru_maxrss / 1024);
	emit_say(r, line);
	if (o->tables == 2)
		emit_tables(r, s->server);
	emit_summary(r, s->server, NULL);
}

int synth_run(const struct synth_opts *o)
{
	struct synth *s = calloc(1, sizeof(*s));
	int rc = 0;

	if (!s || tmap_init(&s->conns) < 0 || !(s->buf = malloc(65536 > o->data ? 65536 : o->data))) {
		fprintf(stderr, "tcpdemux: out of memory\n");
		if (s)
			tmap_free(&s->conns);
		free(s);
		return 2;
	}
	s->o = o;
	s->rng = o->seed * 0x9e3779b97f4a7c15ull + 1;
	s->next_accept = o->accept_every;
	s->server = stack_new(&o->cfg);
	if (!s->server || open_listeners(s) < 0) {
		fprintf(stderr, "tcpdemux: synth: cannot open the listeners (an address listed twice?)\n");
		rc = 2;
		goto out;
	}
	if (o->write_path && !(s->po = pcap_out_open(o->write_path))) {
		rc = 2;
		goto out;
	}
	stack_set_observer(s->server, observe_direct, s);
	switch (o->mode) {
	case SYNTH_CLIENTS:
		rc = run_clients(s);
		/* the wire's observer replaced ours; count lookups from the trace's events too */
		break;
	case SYNTH_SYN_FLOOD:
		rc = run_syn_flood(s);
		break;
	default:
		rc = run_hash_flood(s);
		break;
	}
	if (rc < 0) {
		fprintf(stderr, "tcpdemux: synth: %s\n", strerror(-rc));
		rc = 2;
		goto out;
	}
	print_summary(s);
out:
	pcap_out_close(s->po);
	net_free(&s->net);
	stack_free(s->server);
	stack_free(s->clients);
	tmap_free(&s->conns);
	free(s->buf);
	free(s);
	return rc;
}
