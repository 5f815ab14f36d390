/*
 * helpers.c - see helpers.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

/*
 * The stack's observer in every test stack: keeps each outbound segment
 * (with its payload) and each event. A test that records more than the
 * arrays hold fails at once, naming the limit: a recorder that stopped
 * quietly would make counts come out low and tests pass on them.
 */
static void record(void *ctx, const struct event *ev)
{
	struct tstack *t = ctx;

	if (ev->type == EV_SEGMENT_OUT) {
		struct segment *s;

		if (t->nout == TS_MAX_OUT)
			ck_abort_msg("test recorder full: more than %d segments sent since ts_new() or ts_clear() "
				     "(call ts_clear() between phases, or raise TS_MAX_OUT)", TS_MAX_OUT);
		if (ev->seg->len > TS_DATA_MAX)
			ck_abort_msg("test recorder: a segment of %u payload bytes, more than TS_DATA_MAX (%d)",
				     ev->seg->len, TS_DATA_MAX);
		s = &t->out[t->nout];
		*s = *ev->seg;
		if (s->len)
			memcpy(t->out_data[t->nout], ev->seg->data, s->len);
		s->data = t->out_data[t->nout];
		t->nout++;
	}
	if (ev->type == EV_SEGMENT_IN) {
		t->in = *ev;
		t->in.seg = NULL;
		t->nin++;
	}
	if (t->nev == TS_MAX_EV)
		ck_abort_msg("test recorder full: more than %d events since ts_new() or ts_clear() "
			     "(call ts_clear() between phases, or raise TS_MAX_EV)", TS_MAX_EV);
	t->ev[t->nev] = *ev;
	t->ev[t->nev].seg = NULL;
	t->nev++;
}

void ts_config(struct stack_config *c)
{
	stack_config_init(c);
	c->hash_seed = 1;
	c->ehash_buckets = 1024;
}

void ts_check(struct tstack *t)
{
	char why[256];

	ck_assert_msg(stack_check(t->st, why, sizeof(why)) == 0, "invariant broken: %s", why);
}

struct tstack *ts_new(const struct stack_config *cfg)
{
	struct tstack *t = calloc(1, sizeof(*t));
	struct stack_config c;
	struct ip_addr a;

	ck_assert_msg(t != NULL, "out of memory for the test stack");
	if (cfg)
		c = *cfg;
	else
		ts_config(&c);
	t->st = stack_new(&c);
	ck_assert_msg(t->st != NULL, "stack_new failed");
	ck_assert_int_eq(addr_parse(TS_LOCAL4, &a), 0);
	ck_assert_int_eq(stack_add_addr(t->st, &a), 0);
	ck_assert_int_eq(addr_parse(TS_LOCAL6, &a), 0);
	ck_assert_int_eq(stack_add_addr(t->st, &a), 0);
	stack_set_observer(t->st, record, t);
	return t;
}

void ts_free(struct tstack *t)
{
	char why[256];
	int fd;

	ts_check(t);
	/* The drain's events are not the test's: stop recording them. */
	stack_set_observer(t->st, NULL, NULL);
	for (fd = 0; fd < t->st->nfds; fd++)
		if (t->st->fds[fd])
			sys_close(t->st, fd);
	stack_advance(t->st, stack_now(t->st) + 3600 * VT_SEC);
	ck_assert_msg(stack_check(t->st, why, sizeof(why)) == 0, "invariant broken after drain: %s", why);
	ck_assert_msg(t->st->nsocks == 0, "%u sockets/requests/TIME_WAIT entries leaked", t->st->nsocks);
	ck_assert_msg(t->st->ehash.count == 0, "ehash still holds %u entries", t->st->ehash.count);
	ck_assert_msg(stack_next_timer(t->st) == VT_NEVER, "a timer is still armed after the drain");
	stack_free(t->st);
	free(t);
}

void ts_clear(struct tstack *t)
{
	t->nout = 0;
	t->nev = 0;
	t->nin = 0;
}

struct segment ts_seg(const char *src, const char *dst, uint8_t flags, uint32_t seq, uint32_t ack)
{
	struct segment s;

	memset(&s, 0, sizeof(s));
	ck_assert_msg(endpoint_parse(src, &s.src, &s.sport) == 0, "bad endpoint %s", src);
	ck_assert_msg(endpoint_parse(dst, &s.dst, &s.dport) == 0, "bad endpoint %s", dst);
	s.flags = flags;
	s.seq = seq;
	s.ack = ack;
	s.win = 65535;
	return s;
}

int ts_in(struct tstack *t, const struct segment *seg)
{
	int before = t->nout;

	stack_input(t->st, seg, t->nin + 1);
	return t->nout - before;
}

int ts_advance(struct tstack *t, vtime_t at)
{
	int before = t->nout;

	stack_advance(t->st, at);
	return t->nout - before;
}

const struct segment *ts_out(const struct tstack *t, int i)
{
	int k = i < 0 ? t->nout + i : i;

	ck_assert_msg(k >= 0 && k < t->nout, "asked for outbound segment %d of %d", i, t->nout);
	return &t->out[k];
}

int ts_listen(struct tstack *t, const char *ep, int backlog)
{
	struct ip_addr a;
	uint16_t port;
	int fd;

	ck_assert_int_eq(endpoint_parse(ep, &a, &port), 0);
	fd = sys_socket(t->st, a.family);
	ck_assert_msg(fd >= 0, "socket() = %d", fd);
	ck_assert_msg(sys_bind(t->st, fd, &a, port) == 0, "bind(%s) failed", ep);
	ck_assert_msg(sys_listen(t->st, fd, backlog) == 0, "listen(%s) failed", ep);
	return fd;
}

uint32_t ts_handshake(struct tstack *t, const char *src, const char *dst, uint32_t isn)
{
	struct segment syn = ts_seg(src, dst, TH_SYN, isn, 0), ack;
	const struct segment *sa;
	uint32_t iss;

	ck_assert_msg(ts_in(t, &syn) == 1, "SYN from %s got no single answer", src);
	sa = ts_out(t, -1);
	ck_assert_msg(sa->flags == (TH_SYN | TH_ACK), "answer to SYN has flags %#x", sa->flags);
	ck_assert_uint_eq(sa->ack, isn + 1);
	iss = sa->seq;
	ack = ts_seg(src, dst, TH_ACK, isn + 1, iss + 1);
	ts_in(t, &ack);
	ck_assert_msg(t->in.action == ACT_QUEUED, "final ACK from %s: action %s", src,
		      seg_action_name(t->in.action));
	return iss;
}

int ts_count(const struct tstack *t, int type)
{
	int i, n = 0;

	for (i = 0; i < t->nev; i++)
		n += t->ev[i].type == type;
	return n;
}

void ts_expect_seg(const struct segment *s, uint8_t flags, uint32_t seq, uint32_t ack,
		   const char *what)
{
	char got[9], want[9];

	ck_assert_msg(s->flags == flags, "%s: flags %s, expected %s", what, seg_flags_str(s->flags, got),
		      seg_flags_str(flags, want));
	ck_assert_msg(s->seq == seq, "%s: seq %u, expected %u", what, s->seq, seq);
	ck_assert_msg(s->ack == ack, "%s: ack %u, expected %u", what, s->ack, ack);
}

/* ---- the peer ---------------------------------------------------------------- */

void peer_init(struct peer *p, const char *ep, const char *local, uint32_t isn)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->ep, sizeof(p->ep), "%s", ep);
	snprintf(p->local, sizeof(p->local), "%s", local);
	p->nxt = isn;
	p->win = 65535;
}

struct segment peer_seg(const struct peer *p, uint8_t flags, const char *data)
{
	struct segment s = ts_seg(p->ep, p->local, flags, p->nxt, (flags & TH_ACK) ? p->ack : 0);

	s.win = p->win;
	if (p->ts) {
		s.opt.has_ts = 1;
		s.opt.tsval = p->tsval;
		s.opt.tsecr = p->tsecr;
	}
	if (data) {
		s.data = (const uint8_t *)data;
		s.len = (uint32_t)strlen(data);
	}
	return s;
}

int peer_send(struct tstack *t, struct peer *p, uint8_t flags, const char *data)
{
	struct segment s = peer_seg(p, flags, data);
	int n = ts_in(t, &s);

	p->nxt += seg_seqlen(&s);
	return n;
}

int peer_connect(struct tstack *t, struct peer *p, int lfd, const struct tcp_opts *opt)
{
	struct segment syn = peer_seg(p, TH_SYN, NULL);
	const struct segment *sa;
	struct ip_addr ra;
	uint16_t rport;
	int fd;

	if (opt)
		syn.opt = *opt;
	ck_assert_msg(ts_in(t, &syn) == 1, "SYN from %s got no single answer", p->ep);
	sa = ts_out(t, -1);
	ck_assert_msg(sa->flags == (TH_SYN | TH_ACK), "answer to the SYN has flags %#x", sa->flags);
	ck_assert_uint_eq(sa->ack, p->nxt + 1);
	p->nxt++;
	p->ack = sa->seq + 1;
	if (opt && opt->has_ts) {
		p->ts = 1;
		p->tsval = opt->tsval + 1;
		p->tsecr = sa->opt.tsval;
	}
	ck_assert_msg(peer_send(t, p, TH_ACK, NULL) == 0, "the final ACK was answered");
	expect_action(t, ACT_QUEUED, -1, "final ACK");
	fd = sys_accept(t->st, lfd, &ra, &rport);
	ck_assert_msg(fd >= 3, "accept() = %d", fd);
	ck_assert_int_eq(sys_state(t->st, fd), TCP_ESTABLISHED);
	return fd;
}

int open_conn(struct tstack *t, struct peer *p, int *lfd, uint32_t isn)
{
	*lfd = ts_listen(t, TS_SERVER, 8);
	peer_init(p, TS_CLIENT, TS_SERVER, isn);
	return peer_connect(t, p, *lfd, NULL);
}

void expect_action(const struct tstack *t, int action, int reason, const char *what)
{
	ck_assert_msg(t->in.action == action, "%s: action %s, expected %s", what,
		      seg_action_name(t->in.action), seg_action_name(action));
	ck_assert_msg(t->in.reason == reason, "%s: reason %s, expected %s", what,
		      t->in.reason < 0 ? "none" : counter_name(t->in.reason),
		      reason < 0 ? "none" : counter_name(reason));
}
