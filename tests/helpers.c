/*
 * helpers.c - see helpers.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

static void record(void *ctx, const struct event *ev)
{
	struct tstack *t = ctx;

	if (ev->type == EV_SEGMENT_OUT && t->nout < TS_MAX_OUT) {
		struct segment *s = &t->out[t->nout];
		uint32_t n = ev->seg->len < TS_DATA_MAX ? ev->seg->len : TS_DATA_MAX;

		*s = *ev->seg;
		if (n)
			memcpy(t->out_data[t->nout], ev->seg->data, n);
		s->data = t->out_data[t->nout];
		s->len = n;
		t->nout++;
	}
	if (ev->type == EV_SEGMENT_IN) {
		t->in = *ev;
		t->in.seg = NULL;
		t->nin++;
	}
	if (t->nev < TS_MAX_EV) {
		t->ev[t->nev] = *ev;
		t->ev[t->nev].seg = NULL;
		t->nev++;
	}
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
