/*
 * check_timer.c - unit tests of the virtual clock and the timers it fires
 * (stack/timer.c, the timer handlers in stack/tcp_in.c).
 *
 * Covers: SYN-ACK retransmissions of a request at exactly 1, 3, 7, 15 and
 * 31 s after the first, each with the first one's seq and ack, and the
 * request's expiry at 63 s (tcp_synack_retries 5), and the same with
 * tcp_synack_retries 2; a duplicate SYN answered at most once per 500 ms,
 * with the identical SYN-ACK; TIME_WAIT lasting 60 s after an active
 * close; data retransmission after RTO 1 s with exponential backoff;
 * stack_advance() firing timers in time order (ties in arming order) and
 * never moving the clock backwards; stack_next_timer() naming the
 * earliest pending timer.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "helpers.h"
#include "suites.h"

#define LOCAL "10.0.0.1:80"
#define CLIENT "10.0.0.2:1000"

/* ---- helpers ------------------------------------------------------------ */

static struct tstack *new_stack(int synack_retries)
{
	struct stack_config c;

	ts_config(&c);
	c.tcp_synack_retries = synack_retries;
	return ts_new(&c);
}

static int syn(struct tstack *t, const char *src, uint32_t isn)
{
	struct segment s = ts_seg(src, LOCAL, TH_SYN, isn, 0);

	return ts_in(t, &s);
}

static struct listen_state *lstate(struct tstack *t, int lfd)
{
	struct sock *l = fd_lookup(t->st, lfd);

	ck_assert_msg(l != NULL && l->ls != NULL, "fd %d is not a listener", lfd);
	return l->ls;
}

/* The ehash entry of LOCAL <- src, or NULL. */
static struct sock_common *entry_of(struct tstack *t, const char *src)
{
	struct ip_addr la, ra;
	struct lookup_info li;
	uint16_t lp, rp;

	ck_assert_int_eq(endpoint_parse(LOCAL, &la, &lp), 0);
	ck_assert_int_eq(endpoint_parse(src, &ra, &rp), 0);
	return ehash_lookup(t->st, &la, lp, &ra, rp, &li);
}

/* Asserts that s is the SYN-ACK first: same numbers and flags. */
static void same_synack(const struct segment *s, const struct segment *first, const char *when)
{
	ck_assert_msg(s->flags == (TH_SYN | TH_ACK), "%s: flags %#x", when, s->flags);
	ck_assert_msg(s->seq == first->seq, "%s: seq %u, first SYN-ACK had %u", when, s->seq, first->seq);
	ck_assert_msg(s->ack == first->ack, "%s: ack %u, first SYN-ACK had %u", when, s->ack, first->ack);
	ck_assert_msg(s->dport == first->dport && addr_equal(&s->dst, &first->dst), "%s: sent elsewhere",
		      when);
	ck_assert_msg(s->win == first->win && s->opt.mss == first->opt.mss, "%s: window/MSS changed", when);
}

/*
 * Expects nothing to be sent until just before `at`, then exactly one
 * SYN-ACK identical to first at `at`.
 */
static void expect_synack_at(struct tstack *t, vtime_t at, const struct segment *first)
{
	char when[32];

	snprintf(when, sizeof(when), "at %llu ms", (unsigned long long)(at / VT_MSEC));
	ck_assert_msg(stack_next_timer(t->st) == at, "%s: next timer at %llu ns", when,
		      (unsigned long long)stack_next_timer(t->st));
	ck_assert_msg(ts_advance(t, at - 1) == 0, "%s: something was sent early", when);
	ck_assert_msg(ts_advance(t, at) == 1, "%s: no single SYN-ACK", when);
	same_synack(ts_out(t, -1), first, when);
	ts_check(t);
}

/* The last EV_TIMER recorded, or NULL. */
static const struct event *last_timer_event(const struct tstack *t)
{
	int i;

	for (i = t->nev - 1; i >= 0; i--)
		if (t->ev[i].type == EV_TIMER)
			return &t->ev[i];
	return NULL;
}

/* ---- SYN-ACK retransmission ---------------------------------------------------- */

static void synack_schedule(int retries, const vtime_t *at, int n, vtime_t expiry)
{
	struct tstack *t = new_stack(retries);
	struct segment first;
	const struct event *ev;
	struct segment s;
	int lfd, i;

	lfd = ts_listen(t, LOCAL, 16);
	ck_assert_int_eq(syn(t, CLIENT, 5000), 1);
	first = *ts_out(t, -1);
	ck_assert_uint_eq(first.ack, 5001);
	for (i = 0; i < n; i++) {
		expect_synack_at(t, at[i], &first);
		ev = last_timer_event(t);
		ck_assert_msg(ev != NULL && ev->action == ACT_SYN_ACK_RTX, "no syn_ack_again timer event");
		ck_assert_uint_eq(ev->retries, (uint32_t)i + 1);
		ck_assert_uint_eq(ev->t, at[i]);
		ck_assert_uint_eq(lstate(t, lfd)->qlen, 1);
	}
	ck_assert_uint_eq(stack_counter(t->st, CNT_TCPSYNRETRANS), (uint64_t)n);
	/* then silence, and the request is gone at the expiry time */
	ck_assert_msg(stack_next_timer(t->st) == expiry, "expiry timer at %llu ns, expected %llu",
		      (unsigned long long)stack_next_timer(t->st), (unsigned long long)expiry);
	ck_assert_int_eq(ts_advance(t, expiry - 1), 0);
	ck_assert_msg(entry_of(t, CLIENT) != NULL, "request gone before %llu s",
		      (unsigned long long)(expiry / VT_SEC));
	ck_assert_int_eq(ts_advance(t, expiry), 0);
	ck_assert_msg(entry_of(t, CLIENT) == NULL, "request still there at %llu s",
		      (unsigned long long)(expiry / VT_SEC));
	ck_assert_uint_eq(lstate(t, lfd)->qlen, 0);
	ev = last_timer_event(t);
	ck_assert_msg(ev != NULL && ev->action == ACT_EXPIRE, "no expire timer event");
	ck_assert_uint_eq(ev->t, expiry);
	ck_assert_uint_eq(ev->retries, (uint32_t)n);
	ck_assert_uint_eq(t->st->nsocks, 1);
	ck_assert_msg(stack_next_timer(t->st) == VT_NEVER, "a timer outlived the request");
	/* a late ACK now meets the listener: RST seq=SEG.ACK */
	s = ts_seg(CLIENT, LOCAL, TH_ACK, 5001, first.seq + 1);
	ck_assert_int_eq(ts_in(t, &s), 1);
	ck_assert_int_eq(t->in.lookup.result, LOOKUP_LISTENER);
	ck_assert_uint_eq(ts_out(t, -1)->flags, TH_RST);
	ck_assert_uint_eq(ts_out(t, -1)->seq, first.seq + 1);
	ts_free(t);
}

START_TEST(test_synack_retransmit_default)
{
	static const vtime_t at[] = { 1 * VT_SEC, 3 * VT_SEC, 7 * VT_SEC, 15 * VT_SEC, 31 * VT_SEC };

	synack_schedule(5, at, 5, 63 * VT_SEC);
}
END_TEST

START_TEST(test_synack_retransmit_retries_2)
{
	static const vtime_t at[] = { 1 * VT_SEC, 3 * VT_SEC };

	synack_schedule(2, at, 2, 7 * VT_SEC);
}
END_TEST

START_TEST(test_duplicate_syn_rate_limit)
{
	struct tstack *t = new_stack(5);
	struct segment first;

	ts_listen(t, LOCAL, 16);
	ck_assert_int_eq(syn(t, CLIENT, 7000), 1);
	first = *ts_out(t, -1);
	/* tcp_oow_rate_limited(): the first duplicate is answered at once */
	ts_advance(t, 100 * VT_MSEC);
	ck_assert_int_eq(syn(t, CLIENT, 7000), 1);
	ck_assert_int_eq(t->in.lookup.result, LOOKUP_REQUEST);
	ck_assert_int_eq(t->in.action, ACT_SYN_ACK_RTX);
	same_synack(ts_out(t, -1), &first, "first duplicate SYN");
	ck_assert_uint_eq(stack_counter(t->st, CNT_TCPSYNRETRANS), 1);
	/* within 500 ms of that answer: dropped */
	ts_advance(t, 599 * VT_MSEC);
	ck_assert_int_eq(syn(t, CLIENT, 7000), 0);
	ck_assert_int_eq(t->in.action, ACT_DROP);
	ck_assert_uint_eq(stack_counter(t->st, CNT_TCPSYNRETRANS), 1);
	/* at 500 ms after it: the identical SYN-ACK again */
	ts_advance(t, 600 * VT_MSEC);
	ck_assert_int_eq(syn(t, CLIENT, 7000), 1);
	ck_assert_int_eq(t->in.action, ACT_SYN_ACK_RTX);
	same_synack(ts_out(t, -1), &first, "duplicate SYN 500 ms after the last answer");
	ck_assert_uint_eq(stack_counter(t->st, CNT_TCPSYNRETRANS), 2);
	/* and the limit counts from that answer */
	ts_advance(t, 1099 * VT_MSEC);
	ck_assert_int_eq(syn(t, CLIENT, 7000), 0);
	ck_assert_int_eq(t->in.action, ACT_DROP);
	/* the last answer pushed the timer back: 1 s after it */
	ck_assert_msg(stack_next_timer(t->st) == 1600 * VT_MSEC, "timer at %llu ns after a duplicate SYN",
		      (unsigned long long)stack_next_timer(t->st));
	ck_assert_int_eq(ts_advance(t, 1600 * VT_MSEC - 1), 0);
	ck_assert_int_eq(ts_advance(t, 1600 * VT_MSEC), 1);
	same_synack(ts_out(t, -1), &first, "timer at 1.6 s");
	/* a SYN with another ISN is no duplicate: in window, it resets the request */
	ts_advance(t, 3 * VT_SEC);
	ck_assert_int_eq(syn(t, CLIENT, 7001), 1);
	ck_assert_int_eq(t->in.action, ACT_RST);
	ck_assert_msg(entry_of(t, CLIENT) == NULL, "request survived an in-window SYN");
	ts_free(t);
}
END_TEST

/* ---- TIME_WAIT ------------------------------------------------------------------ */

START_TEST(test_time_wait_60s)
{
	struct tstack *t = new_stack(5);
	struct stack_totals tot;
	struct sock_common *c;
	struct segment s;
	uint32_t iss, id;
	int lfd, fd;

	lfd = ts_listen(t, LOCAL, 16);
	iss = ts_handshake(t, CLIENT, LOCAL, 100);
	fd = sys_accept(t->st, lfd, NULL, NULL);
	ck_assert_int_ge(fd, 0);
	id = sys_sock_id(t->st, fd);
	/* our close: FIN|ACK */
	ck_assert_int_eq(sys_close(t->st, fd), 0);
	ck_assert_uint_eq(ts_out(t, -1)->flags, TH_FIN | TH_ACK);
	ck_assert_uint_eq(ts_out(t, -1)->seq, iss + 1);
	ck_assert_uint_eq(ts_out(t, -1)->ack, 101);
	/* the peer ACKs it at 0.5 s (before our FIN's RTO) */
	ts_advance(t, 500 * VT_MSEC);
	s = ts_seg(CLIENT, LOCAL, TH_ACK, 101, iss + 2);
	ck_assert_int_eq(ts_in(t, &s), 0);
	c = entry_of(t, CLIENT);
	ck_assert_msg(c != NULL && c->state == TCP_FIN_WAIT2, "after the ACK of our FIN: %s",
		      c ? tcp_state_name(c->state) : "no socket");
	/* and sends its FIN at 2 s */
	ts_advance(t, 2 * VT_SEC);
	s = ts_seg(CLIENT, LOCAL, TH_FIN | TH_ACK, 101, iss + 2);
	ck_assert_int_eq(ts_in(t, &s), 1);
	ck_assert_uint_eq(ts_out(t, -1)->flags, TH_ACK);
	ck_assert_uint_eq(ts_out(t, -1)->seq, iss + 2);
	ck_assert_uint_eq(ts_out(t, -1)->ack, 102);
	c = entry_of(t, CLIENT);
	ck_assert_msg(c != NULL && c->kind == SK_TW && c->state == TCP_TIME_WAIT, "no TIME_WAIT entry");
	ck_assert_uint_eq(c->id, id);
	stack_totals(t->st, &tot);
	ck_assert_uint_eq(tot.timewait, 1);
	ck_assert_uint_eq(tot.established + tot.other, 0);
	ts_check(t);

	/* 60 s of TIME_WAIT, nothing sent at its end */
	ck_assert_msg(stack_next_timer(t->st) == 62 * VT_SEC, "TIME_WAIT ends at %llu ns, expected 62 s",
		      (unsigned long long)stack_next_timer(t->st));
	ts_clear(t);
	ck_assert_int_eq(ts_advance(t, 62 * VT_SEC - 1), 0);
	ck_assert_msg(entry_of(t, CLIENT) != NULL, "TIME_WAIT ended before 60 s");
	ck_assert_uint_eq(stack_counter(t->st, CNT_TW), 0);
	ck_assert_int_eq(ts_advance(t, 62 * VT_SEC), 0);
	ck_assert_msg(entry_of(t, CLIENT) == NULL, "TIME_WAIT still there after 60 s");
	ck_assert_uint_eq(stack_counter(t->st, CNT_TW), 1);
	ck_assert_msg(last_timer_event(t) != NULL && last_timer_event(t)->action == ACT_EXPIRE &&
			      last_timer_event(t)->sock.id == id,
		      "no expire event for the TIME_WAIT entry");
	ck_assert_uint_eq(t->st->nsocks, 1);
	ck_assert_msg(stack_next_timer(t->st) == VT_NEVER, "a timer outlived TIME_WAIT");
	ts_free(t);
}
END_TEST

/* ---- data retransmission --------------------------------------------------------- */

START_TEST(test_data_retransmit_backoff)
{
	static const char msg[] = "hello, world";
	static const vtime_t at[] = { 1 * VT_SEC, 3 * VT_SEC, 7 * VT_SEC };
	static const vtime_t rto_after[] = { 2 * VT_SEC, 4 * VT_SEC, 8 * VT_SEC };
	struct tstack *t = new_stack(5);
	struct segment s;
	struct sock *sk;
	uint32_t iss;
	int lfd, fd, i;

	lfd = ts_listen(t, LOCAL, 16);
	iss = ts_handshake(t, CLIENT, LOCAL, 100);
	fd = sys_accept(t->st, lfd, NULL, NULL);
	ck_assert_int_ge(fd, 0);
	sk = fd_lookup(t->st, fd);
	ck_assert_uint_eq(sk_rto(sk), 1 * VT_SEC);
	ck_assert_msg(stack_next_timer(t->st) == VT_NEVER, "a timer is armed on an idle connection");

	ck_assert_int_eq(sys_send(t->st, fd, msg, sizeof(msg) - 1), (int)(sizeof(msg) - 1));
	ck_assert_int_eq(t->nout, 2);
	ck_assert_uint_eq(ts_out(t, -1)->seq, iss + 1);
	ck_assert_uint_eq(ts_out(t, -1)->len, sizeof(msg) - 1);
	for (i = 0; i < 3; i++) {
		const struct segment *r;

		ck_assert_msg(stack_next_timer(t->st) == at[i],
			      "retransmission %d due at %llu ns, expected %llu",
			      i + 1, (unsigned long long)stack_next_timer(t->st), (unsigned long long)at[i]);
		ck_assert_int_eq(ts_advance(t, at[i] - 1), 0);
		ck_assert_int_eq(ts_advance(t, at[i]), 1);
		r = ts_out(t, -1);
		ck_assert_uint_eq(r->seq, iss + 1);
		ck_assert_uint_eq(r->ack, 101);
		ck_assert_uint_eq(r->len, sizeof(msg) - 1);
		ck_assert_int_eq(memcmp(r->data, msg, sizeof(msg) - 1), 0);
		ck_assert_msg(sk_rto(sk) == rto_after[i], "RTO after retransmission %d: %llu ns", i + 1,
			      (unsigned long long)sk_rto(sk));
		ck_assert_uint_eq(sk->retries, (uint8_t)(i + 1));
	}
	ck_assert_uint_eq(stack_counter(t->st, CNT_RETRANSSEGS), 3);
	ck_assert_uint_eq(stack_counter(t->st, CNT_TCPTIMEOUTS), 3);
	/* the ACK stops the timer and resets the retry count */
	ts_advance(t, 8 * VT_SEC);
	s = ts_seg(CLIENT, LOCAL, TH_ACK, 101, iss + 1 + (uint32_t)(sizeof(msg) - 1));
	ck_assert_int_eq(ts_in(t, &s), 0);
	ck_assert_int_eq(t->in.action, ACT_ACK);
	ck_assert_uint_eq(sk->snd_una, iss + 1 + (uint32_t)(sizeof(msg) - 1));
	ck_assert_uint_eq(sk->retries, 0);
	ck_assert_msg(stack_next_timer(t->st) == VT_NEVER, "retransmission timer armed after the ACK");
	ts_check(t);
	ts_free(t);
}
END_TEST

/* ---- the clock -------------------------------------------------------------------- */

START_TEST(test_advance_order)
{
	struct tstack *t = new_stack(5);
	static const struct {
		vtime_t t;
		uint16_t dport;
		uint8_t action;
	} want[] = {
		{ 1000 * VT_MSEC, 1001, ACT_SYN_ACK_RTX }, /* A and B tie: arming order */
		{ 1000 * VT_MSEC, 1002, ACT_SYN_ACK_RTX },
		{ 1250 * VT_MSEC, 1003, ACT_SYN_ACK_RTX },
		{ 1500 * VT_MSEC, 1004, ACT_RETRANSMIT },
		{ 3000 * VT_MSEC, 1001, ACT_SYN_ACK_RTX },
		{ 3000 * VT_MSEC, 1002, ACT_SYN_ACK_RTX },
		{ 3250 * VT_MSEC, 1003, ACT_SYN_ACK_RTX },
		{ 3500 * VT_MSEC, 1004, ACT_RETRANSMIT },
		{ 7000 * VT_MSEC, 1001, ACT_SYN_ACK_RTX },
		{ 7000 * VT_MSEC, 1002, ACT_SYN_ACK_RTX },
		{ 7250 * VT_MSEC, 1003, ACT_SYN_ACK_RTX },
		{ 7500 * VT_MSEC, 1004, ACT_RETRANSMIT },
	};
	const int nwant = (int)(sizeof(want) / sizeof(want[0]));
	vtime_t last = 0;
	int lfd, fd, i, k;

	ck_assert_msg(stack_next_timer(t->st) == VT_NEVER, "a fresh stack has a timer");
	ck_assert_uint_eq(stack_now(t->st), 0);
	lfd = ts_listen(t, LOCAL, 16);
	/* D: an established connection, accepted at 0 */
	ts_handshake(t, "10.0.0.2:1004", LOCAL, 400);
	fd = sys_accept(t->st, lfd, NULL, NULL);
	ck_assert_int_ge(fd, 0);
	/* A and B at 0, C at 250 ms, D's data at 500 ms */
	ck_assert_int_eq(syn(t, "10.0.0.2:1001", 100), 1);
	ck_assert_int_eq(syn(t, "10.0.0.2:1002", 200), 1);
	ck_assert_uint_eq(stack_next_timer(t->st), 1 * VT_SEC);
	ts_advance(t, 250 * VT_MSEC);
	ck_assert_uint_eq(stack_now(t->st), 250 * VT_MSEC);
	ck_assert_int_eq(syn(t, "10.0.0.2:1003", 300), 1);
	ck_assert_uint_eq(stack_next_timer(t->st), 1 * VT_SEC);
	ts_advance(t, 500 * VT_MSEC);
	ck_assert_int_eq(sys_send(t->st, fd, "x", 1), 1);
	ck_assert_uint_eq(stack_next_timer(t->st), 1 * VT_SEC);

	/* one big step fires all of them in time order */
	ts_clear(t);
	ts_advance(t, 10 * VT_SEC);
	ck_assert_uint_eq(stack_now(t->st), 10 * VT_SEC);
	for (i = 0, k = 0; i < t->nev; i++) {
		const struct event *ev = &t->ev[i];

		ck_assert_msg(ev->t >= last, "event %d at %llu ns after one at %llu ns", i,
			      (unsigned long long)ev->t, (unsigned long long)last);
		last = ev->t;
		if (ev->type != EV_TIMER)
			continue;
		ck_assert_msg(k < nwant, "more timer events than expected (%d)", k + 1);
		ck_assert_msg(ev->t == want[k].t && ev->sock.rport == want[k].dport &&
				      ev->action == want[k].action,
			      "timer event %d: %llu ns port %u %s, expected %llu ns port %u %s", k,
			      (unsigned long long)ev->t, ev->sock.rport, seg_action_name(ev->action),
			      (unsigned long long)want[k].t, want[k].dport, seg_action_name(want[k].action));
		k++;
	}
	ck_assert_int_eq(k, nwant);
	ck_assert_int_eq(t->nout, nwant);
	for (i = 0; i < nwant; i++)
		ck_assert_uint_eq(ts_out(t, i)->dport, want[i].dport);
	ck_assert_uint_eq(stack_next_timer(t->st), 15 * VT_SEC);

	/* the clock never runs backwards, and a past time fires nothing */
	ts_clear(t);
	stack_advance(t->st, 5 * VT_SEC);
	ck_assert_uint_eq(stack_now(t->st), 10 * VT_SEC);
	stack_advance(t->st, 0);
	ck_assert_uint_eq(stack_now(t->st), 10 * VT_SEC);
	ck_assert_int_eq(t->nev, 0);
	/* advancing exactly to a timer's time fires it, with the clock at that time */
	ck_assert_int_eq(ts_advance(t, 15 * VT_SEC), 2);
	ck_assert_uint_eq(stack_now(t->st), 15 * VT_SEC);
	ck_assert_uint_eq(stack_next_timer(t->st), 15250 * VT_MSEC);
	ck_assert_int_eq(ts_advance(t, 15250 * VT_MSEC), 1);
	ck_assert_uint_eq(stack_next_timer(t->st), 15500 * VT_MSEC);
	ts_check(t);
	ts_free(t);
}
END_TEST

START_TEST(test_next_timer_tracks_cancel)
{
	struct tstack *t = new_stack(5);
	uint32_t iss_a;

	ts_listen(t, LOCAL, 16);
	ck_assert_int_eq(syn(t, "10.0.0.2:1001", 100), 1);
	iss_a = ts_out(t, -1)->seq;
	ts_advance(t, 400 * VT_MSEC);
	ck_assert_int_eq(syn(t, "10.0.0.2:1002", 200), 1);
	ck_assert_uint_eq(stack_next_timer(t->st), 1 * VT_SEC);
	ck_assert_uint_eq(t->st->timers.armed, 2);
	/* A completes: its timer goes, B's is the earliest now */
	{
		struct segment s = ts_seg("10.0.0.2:1001", LOCAL, TH_ACK, 101, iss_a + 1);

		ck_assert_int_eq(ts_in(t, &s), 0);
		ck_assert_int_eq(t->in.action, ACT_QUEUED);
	}
	ck_assert_uint_eq(stack_next_timer(t->st), 1400 * VT_MSEC);
	ck_assert_uint_eq(t->st->timers.armed, 1);
	/* B is reset: no timer left */
	{
		struct segment s = ts_seg("10.0.0.2:1002", LOCAL, TH_RST, 201, 0);

		ck_assert_int_eq(ts_in(t, &s), 0);
		ck_assert_int_eq(t->in.action, ACT_RESET);
	}
	ck_assert_msg(stack_next_timer(t->st) == VT_NEVER, "timer left after both requests ended");
	ck_assert_int_eq(ts_advance(t, 100 * VT_SEC), 0);
	ck_assert_uint_eq(stack_now(t->st), 100 * VT_SEC);
	ts_free(t);
}
END_TEST

Suite *timer_suite(void)
{
	Suite *s = suite_create("timer");
	TCase *tc;

	tc = tcase_create("synack");
	tcase_add_test(tc, test_synack_retransmit_default);
	tcase_add_test(tc, test_synack_retransmit_retries_2);
	tcase_add_test(tc, test_duplicate_syn_rate_limit);
	suite_add_tcase(s, tc);

	tc = tcase_create("connection");
	tcase_add_test(tc, test_time_wait_60s);
	tcase_add_test(tc, test_data_retransmit_backoff);
	suite_add_tcase(s, tc);

	tc = tcase_create("clock");
	tcase_add_test(tc, test_advance_order);
	tcase_add_test(tc, test_next_timer_tracks_cancel);
	suite_add_tcase(s, tc);
	return s;
}
