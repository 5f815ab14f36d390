/*
 * check_queue.c - unit tests of a listener's two queues (stack/queue.c and
 * their use in stack/tcp_in.c and sys_accept / sys_close).
 *
 * Covers: accept() order is the order handshakes completed, not the order
 * SYNs arrived; accept() on an empty queue (-EAGAIN) and on a socket that
 * is not listening (-EINVAL); backlog+1 completed connections fit, the
 * next SYN is dropped silently (ListenOverflows, ListenDrops) until
 * accept() makes room; the SYN queue limit is the backlog too: past it a
 * SYN gets a SYN cookie (tcp_syncookies=1), is dropped (=0), and with =2
 * every SYN gets one; a valid cookie ACK makes an ESTABLISHED child, a
 * bogus ACK to the listener gets RST seq=SEG.ACK; the final ACK meeting a
 * full accept queue is dropped with the request kept (abort_on_overflow=0)
 * or answered with a RST (=1); closing a listener resets every queued
 * child; the accept queue's ring wraps and grows without changing the
 * order. stack_check()'s invariants are checked after every step.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "helpers.h"
#include "suites.h"

#define LOCAL "10.0.0.1:80"

/* ---- helpers ------------------------------------------------------------ */

static struct tstack *new_stack(int syncookies, int abort_on_overflow)
{
	struct stack_config c;

	ts_config(&c);
	c.tcp_syncookies = syncookies;
	c.tcp_abort_on_overflow = abort_on_overflow;
	return ts_new(&c);
}

/* Feeds a SYN; returns the number of segments sent and checks the invariants. */
static int syn(struct tstack *t, const char *src, uint32_t isn)
{
	struct segment s = ts_seg(src, LOCAL, TH_SYN, isn, 0);
	int n = ts_in(t, &s);

	ts_check(t);
	return n;
}

/* Feeds a bare ACK; returns the number of segments sent and checks the invariants. */
static int ack(struct tstack *t, const char *src, uint32_t seq, uint32_t ackno)
{
	struct segment s = ts_seg(src, LOCAL, TH_ACK, seq, ackno);
	int n = ts_in(t, &s);

	ts_check(t);
	return n;
}

static struct listen_state *lstate(struct tstack *t, int lfd)
{
	struct sock *l = fd_lookup(t->st, lfd);

	ck_assert_msg(l != NULL && l->ls != NULL, "fd %d is not a listener", lfd);
	return l->ls;
}

static void assert_queues(struct tstack *t, int lfd, uint32_t syn_q, uint32_t acc_q)
{
	struct listen_state *ls = lstate(t, lfd);

	ck_assert_msg(ls->qlen == syn_q, "SYN queue holds %u, expected %u", ls->qlen, syn_q);
	ck_assert_msg(ls->ack_backlog == acc_q, "accept queue holds %u, expected %u", ls->ack_backlog,
		      acc_q);
}

/* accept() must return the peer src ("ADDR:PORT"); returns the new fd. */
static int accept_from(struct tstack *t, int lfd, const char *src)
{
	struct ip_addr ra, want;
	uint16_t rp, wantp;
	int fd;

	ck_assert_int_eq(endpoint_parse(src, &want, &wantp), 0);
	fd = sys_accept(t->st, lfd, &ra, &rp);
	ck_assert_msg(fd >= 0, "accept() = %d, expected the connection from %s", fd, src);
	ck_assert_msg(addr_equal(&ra, &want) && rp == wantp, "accept() returned port %u, expected %s", rp,
		      src);
	ck_assert_int_eq(sys_state(t->st, fd), TCP_ESTABLISHED);
	ts_check(t);
	return fd;
}

struct port_list {
	uint16_t rport[8];
	uint8_t state[8];
	int n;
};

static void collect_port(void *ctx, const struct sock_view *v)
{
	struct port_list *l = ctx;

	if (l->n < 8) {
		l->rport[l->n] = v->rport;
		l->state[l->n] = v->state;
	}
	l->n++;
}

/* ---- accept() ---------------------------------------------------------------- */

START_TEST(test_accept_fifo_by_completion)
{
	struct tstack *t = new_stack(1, 0);
	struct port_list pl;
	uint32_t iss_a, iss_b, lid;
	int lfd;

	lfd = ts_listen(t, LOCAL, 8);
	lid = sys_sock_id(t->st, lfd);
	ck_assert_int_eq(syn(t, "10.0.0.2:1000", 100), 1);
	iss_a = ts_out(t, -1)->seq;
	ck_assert_int_eq(syn(t, "10.0.0.3:2000", 200), 1);
	iss_b = ts_out(t, -1)->seq;
	assert_queues(t, lfd, 2, 0);
	memset(&pl, 0, sizeof(pl));
	ck_assert_int_eq(stack_walk_syn_queue(t->st, lid, collect_port, &pl), 0);
	ck_assert_msg(pl.n == 2 && pl.rport[0] == 1000 && pl.rport[1] == 2000,
		      "SYN queue order %u %u (n %d), expected 1000 2000", pl.rport[0], pl.rport[1], pl.n);

	/* B completes first */
	ck_assert_int_eq(ack(t, "10.0.0.3:2000", 201, iss_b + 1), 0);
	ck_assert_int_eq(t->in.action, ACT_QUEUED);
	ck_assert_int_eq(ack(t, "10.0.0.2:1000", 101, iss_a + 1), 0);
	ck_assert_int_eq(t->in.action, ACT_QUEUED);
	assert_queues(t, lfd, 0, 2);
	ck_assert_uint_eq(t->in.listener.accept_queue, 2);
	memset(&pl, 0, sizeof(pl));
	ck_assert_int_eq(stack_walk_accept_queue(t->st, lid, collect_port, &pl), 0);
	ck_assert_msg(pl.n == 2 && pl.rport[0] == 2000 && pl.rport[1] == 1000,
		      "accept queue order %u %u, expected 2000 1000", pl.rport[0], pl.rport[1]);
	ck_assert_int_eq(pl.state[0], TCP_ESTABLISHED);
	ck_assert_uint_eq(stack_counter(t->st, CNT_PASSIVEOPENS), 2);

	accept_from(t, lfd, "10.0.0.3:2000");
	assert_queues(t, lfd, 0, 1);
	accept_from(t, lfd, "10.0.0.2:1000");
	assert_queues(t, lfd, 0, 0);
	ck_assert_int_eq(sys_accept(t->st, lfd, NULL, NULL), -EAGAIN);
	ck_assert_int_eq(ts_count(t, EV_ACCEPT), 2);
	ts_free(t);
}
END_TEST

/*
 * The accept queue is a ring in the listen state that grows (4, 8, 16 ...)
 * before a child is made: handshakes completed while accept() takes some
 * wrap the ring and grow it mid-way, and accept() still returns them in
 * the order they completed.
 */
START_TEST(test_accept_queue_ring_wraps_and_grows)
{
	struct tstack *t = new_stack(1, 0);
	char src[32];
	int lfd, i, next = 0;

	lfd = ts_listen(t, LOCAL, 64);
	for (i = 0; i < 3; i++) {
		snprintf(src, sizeof(src), "10.0.0.2:%d", 1000 + i);
		ts_handshake(t, src, LOCAL, 100 + 100 * (uint32_t)i);
	}
	ck_assert_uint_eq(lstate(t, lfd)->acc_cap, 4);
	/* two out, so the ring's oldest entry is no longer at its start */
	for (; next < 2; next++) {
		snprintf(src, sizeof(src), "10.0.0.2:%d", 1000 + next);
		accept_from(t, lfd, src);
	}
	/* eleven more: the queue wraps, then grows to 8 and 16 with entries on both sides of the wrap */
	for (i = 3; i < 14; i++) {
		snprintf(src, sizeof(src), "10.0.0.2:%d", 1000 + i);
		ts_handshake(t, src, LOCAL, 100 + 100 * (uint32_t)i);
		ts_check(t);
	}
	assert_queues(t, lfd, 0, 12);
	ck_assert_uint_eq(lstate(t, lfd)->acc_cap, 16);
	for (; next < 14; next++) {
		snprintf(src, sizeof(src), "10.0.0.2:%d", 1000 + next);
		accept_from(t, lfd, src);
	}
	ck_assert_int_eq(sys_accept(t->st, lfd, NULL, NULL), -EAGAIN);
	ts_free(t);
}
END_TEST

START_TEST(test_accept_errors)
{
	struct tstack *t = new_stack(1, 0);
	struct ip_addr a;
	int lfd, bound, fresh, conn;

	lfd = ts_listen(t, LOCAL, 8);
	ck_assert_int_eq(sys_accept(t->st, lfd, NULL, NULL), -EAGAIN);
	ck_assert_int_eq(sys_accept(t->st, lfd, NULL, NULL), -EAGAIN);
	fresh = sys_socket(t->st, ADDR_V4);
	ck_assert_int_eq(sys_accept(t->st, fresh, NULL, NULL), -EINVAL);
	bound = sys_socket(t->st, ADDR_V4);
	ck_assert_int_eq(addr_parse("10.0.0.1", &a), 0);
	ck_assert_int_eq(sys_bind(t->st, bound, &a, 81), 0);
	ck_assert_int_eq(sys_accept(t->st, bound, NULL, NULL), -EINVAL);
	ts_handshake(t, "10.0.0.2:1000", LOCAL, 100);
	conn = accept_from(t, lfd, "10.0.0.2:1000");
	ck_assert_int_eq(sys_accept(t->st, conn, NULL, NULL), -EINVAL);
	ck_assert_int_eq(sys_accept(t->st, 999, NULL, NULL), -EBADF);
	ck_assert_int_eq(sys_accept(t->st, -1, NULL, NULL), -EBADF);
	/* a closed listener's fd is gone */
	ck_assert_int_eq(sys_close(t->st, lfd), 0);
	ck_assert_int_eq(sys_accept(t->st, lfd, NULL, NULL), -EBADF);
	ts_free(t);
}
END_TEST

/* ---- accept queue overflow ------------------------------------------------------ */

START_TEST(test_accept_queue_overflow_at_syn)
{
	struct tstack *t = new_stack(1, 0);
	int lfd;

	lfd = ts_listen(t, LOCAL, 1);
	ts_handshake(t, "10.0.0.2:1000", LOCAL, 100);
	ts_check(t);
	ts_handshake(t, "10.0.0.2:1001", LOCAL, 200);
	ts_check(t);
	/* backlog 1 holds backlog+1 = 2 completed connections */
	assert_queues(t, lfd, 0, 2);
	ck_assert_uint_eq(stack_counter(t->st, CNT_LISTENOVERFLOWS), 0);

	/* the third SYN is dropped without a word, no request made */
	ck_assert_int_eq(syn(t, "10.0.0.2:1002", 300), 0);
	ck_assert_int_eq(t->in.lookup.result, LOOKUP_LISTENER);
	ck_assert_int_eq(t->in.action, ACT_DROP);
	ck_assert_int_eq(t->in.reason, CNT_LISTENOVERFLOWS);
	ck_assert_uint_eq(stack_counter(t->st, CNT_LISTENOVERFLOWS), 1);
	ck_assert_uint_eq(stack_counter(t->st, CNT_LISTENDROPS), 1);
	ck_assert_uint_eq(stack_counter(t->st, CNT_TCPREQQFULLDOCOOKIES), 0);
	assert_queues(t, lfd, 0, 2);
	ck_assert_uint_eq(t->st->ehash.count, 2);
	/* its retransmission meets the same fate */
	ck_assert_int_eq(syn(t, "10.0.0.2:1002", 300), 0);
	ck_assert_uint_eq(stack_counter(t->st, CNT_LISTENOVERFLOWS), 2);
	ck_assert_uint_eq(stack_counter(t->st, CNT_LISTENDROPS), 2);

	/* accept() makes room: the next SYN is answered */
	accept_from(t, lfd, "10.0.0.2:1000");
	ck_assert_int_eq(syn(t, "10.0.0.2:1002", 300), 1);
	ck_assert_int_eq(t->in.action, ACT_SYN_ACK);
	ck_assert_uint_eq(ts_out(t, -1)->flags, TH_SYN | TH_ACK);
	ck_assert_uint_eq(ts_out(t, -1)->ack, 301);
	assert_queues(t, lfd, 1, 1);
	ck_assert_uint_eq(stack_counter(t->st, CNT_LISTENOVERFLOWS), 2);
	ts_free(t);
}
END_TEST

START_TEST(test_backlog_zero_takes_one)
{
	struct tstack *t = new_stack(1, 0);
	int lfd;

	lfd = ts_listen(t, LOCAL, 0);
	ts_handshake(t, "10.0.0.2:1000", LOCAL, 100);
	assert_queues(t, lfd, 0, 1);
	ck_assert_int_eq(syn(t, "10.0.0.2:1001", 200), 0);
	ck_assert_int_eq(t->in.reason, CNT_LISTENOVERFLOWS);
	ck_assert_uint_eq(stack_counter(t->st, CNT_LISTENOVERFLOWS), 1);
	ts_free(t);
}
END_TEST

/* ---- SYN queue ------------------------------------------------------------------ */

START_TEST(test_syn_queue_full_cookie)
{
	struct tstack *t = new_stack(1, 0);
	uint32_t nsocks;
	int lfd;

	lfd = ts_listen(t, LOCAL, 1);
	ck_assert_int_eq(syn(t, "10.0.0.2:1000", 100), 1);
	ck_assert_int_eq(t->in.action, ACT_SYN_ACK);
	ck_assert_int_eq(syn(t, "10.0.0.2:1001", 200), 1);
	ck_assert_int_eq(t->in.action, ACT_SYN_ACK);
	assert_queues(t, lfd, 2, 0);
	nsocks = t->st->nsocks;

	/* the third concurrent SYN already finds the SYN queue full */
	ck_assert_int_eq(syn(t, "10.0.0.2:1002", 300), 1);
	ck_assert_int_eq(t->in.action, ACT_COOKIE);
	ck_assert_int_eq(t->in.cookie, 1);
	ck_assert_int_eq(t->in.cookie_mss, 536);
	ck_assert_int_eq(t->in.has_sock, 0);
	ck_assert_uint_eq(stack_counter(t->st, CNT_TCPREQQFULLDOCOOKIES), 1);
	ck_assert_uint_eq(stack_counter(t->st, CNT_SYNCOOKIESSENT), 1);
	ck_assert_uint_eq(stack_counter(t->st, CNT_LISTENDROPS), 0);
	ck_assert_uint_eq(ts_out(t, -1)->flags, TH_SYN | TH_ACK);
	ck_assert_uint_eq(ts_out(t, -1)->ack, 301);
	ck_assert_uint_eq(ts_out(t, -1)->dport, 1002);
	/* no request: nothing new in ehash, the SYN queue or the socket count */
	assert_queues(t, lfd, 2, 0);
	ck_assert_uint_eq(t->st->ehash.count, 2);
	ck_assert_uint_eq(t->st->nsocks, nsocks);

	/* only the two real requests retransmit at 1 s; the cookie never does */
	ts_clear(t);
	ck_assert_int_eq(ts_advance(t, 1 * VT_SEC), 2);
	ck_assert_uint_eq(ts_out(t, 0)->dport, 1000);
	ck_assert_uint_eq(ts_out(t, 1)->dport, 1001);
	ts_check(t);
	ts_free(t);
}
END_TEST

START_TEST(test_syn_queue_full_no_cookies)
{
	struct tstack *t = new_stack(0, 0);
	int lfd;

	lfd = ts_listen(t, LOCAL, 1);
	ck_assert_int_eq(syn(t, "10.0.0.2:1000", 100), 1);
	ck_assert_int_eq(syn(t, "10.0.0.2:1001", 200), 1);
	ck_assert_int_eq(syn(t, "10.0.0.2:1002", 300), 0);
	ck_assert_int_eq(t->in.action, ACT_DROP);
	ck_assert_int_eq(t->in.reason, CNT_TCPREQQFULLDROP);
	ck_assert_int_eq(t->in.cookie, 0);
	ck_assert_uint_eq(stack_counter(t->st, CNT_TCPREQQFULLDROP), 1);
	ck_assert_uint_eq(stack_counter(t->st, CNT_TCPREQQFULLDOCOOKIES), 0);
	ck_assert_uint_eq(stack_counter(t->st, CNT_SYNCOOKIESSENT), 0);
	ck_assert_uint_eq(stack_counter(t->st, CNT_LISTENDROPS), 1);
	assert_queues(t, lfd, 2, 0);
	ck_assert_uint_eq(t->st->ehash.count, 2);
	ts_free(t);
}
END_TEST

START_TEST(test_syncookies_always)
{
	struct tstack *t = new_stack(2, 0);
	uint32_t cookie;
	int lfd, fd;

	lfd = ts_listen(t, LOCAL, 128);
	/* an empty SYN queue, still a cookie */
	ck_assert_int_eq(syn(t, "10.0.0.2:1000", 100), 1);
	ck_assert_int_eq(t->in.action, ACT_COOKIE);
	ck_assert_int_eq(syn(t, "10.0.0.2:1001", 200), 1);
	ck_assert_int_eq(t->in.action, ACT_COOKIE);
	ck_assert_uint_eq(stack_counter(t->st, CNT_SYNCOOKIESSENT), 2);
	assert_queues(t, lfd, 0, 0);
	ck_assert_uint_eq(t->st->ehash.count, 0);
	cookie = ts_out(t, -1)->seq;
	/* and the cookie ACK completes the connection */
	ck_assert_int_eq(ack(t, "10.0.0.2:1001", 201, cookie + 1), 0);
	ck_assert_int_eq(t->in.action, ACT_QUEUED);
	ck_assert_uint_eq(stack_counter(t->st, CNT_SYNCOOKIESRECV), 1);
	fd = accept_from(t, lfd, "10.0.0.2:1001");
	ck_assert_int_ge(fd, 0);
	/* no timer for a cookie */
	ck_assert_msg(stack_next_timer(t->st) == VT_NEVER, "a timer is armed after cookie SYN-ACKs");
	ts_free(t);
}
END_TEST

START_TEST(test_cookie_ack)
{
	struct tstack *t = new_stack(1, 0);
	const struct segment *r;
	struct sock *child;
	uint32_t cookie;
	int lfd, fd;

	lfd = ts_listen(t, LOCAL, 1);
	syn(t, "10.0.0.2:1000", 100);
	syn(t, "10.0.0.2:1001", 200);
	ck_assert_int_eq(syn(t, "10.0.0.2:1002", 0xfffffff0u), 1);
	ck_assert_int_eq(t->in.action, ACT_COOKIE);
	cookie = ts_out(t, -1)->seq;

	/* valid cookie: a child straight onto the accept queue */
	ck_assert_int_eq(ack(t, "10.0.0.2:1002", 0xfffffff1u, cookie + 1), 0);
	ck_assert_int_eq(t->in.lookup.result, LOOKUP_LISTENER);
	ck_assert_int_eq(t->in.action, ACT_QUEUED);
	ck_assert_int_eq(t->in.cookie, 1);
	ck_assert_int_eq(t->in.cookie_mss, 536);
	ck_assert_int_eq(t->in.sock.state, TCP_ESTABLISHED);
	ck_assert_uint_eq(stack_counter(t->st, CNT_SYNCOOKIESRECV), 1);
	ck_assert_uint_eq(stack_counter(t->st, CNT_SYNCOOKIESFAILED), 0);
	assert_queues(t, lfd, 2, 1);
	child = lstate(t, lfd)->ack_backlog ? accept_queue_at(lstate(t, lfd), 0) : NULL;
	ck_assert_msg(child != NULL, "accept queue empty after a valid cookie");
	ck_assert_uint_eq(child->iss, cookie);
	ck_assert_uint_eq(child->snd_nxt, cookie + 1);
	ck_assert_uint_eq(child->rcv_nxt, 0xfffffff1u);
	ck_assert_int_eq(child->c.hashed, 1);
	/* the child is in ehash: the next segment finds it there */
	ck_assert_int_eq(ack(t, "10.0.0.2:1002", 0xfffffff1u, cookie + 1), 0);
	ck_assert_int_eq(t->in.lookup.result, LOOKUP_ESTABLISHED);
	fd = accept_from(t, lfd, "10.0.0.2:1002");
	ck_assert_int_ge(fd, 0);

	/* a bogus ACK to the listener: RST seq=SEG.ACK, no ACK flag */
	ck_assert_int_eq(ack(t, "10.0.0.2:1003", 5000, 0x12345678u), 1);
	ck_assert_int_eq(t->in.lookup.result, LOOKUP_LISTENER);
	ck_assert_int_eq(t->in.action, ACT_RST);
	r = ts_out(t, -1);
	ck_assert_uint_eq(r->flags, TH_RST);
	ck_assert_uint_eq(r->seq, 0x12345678u);
	ck_assert_uint_eq(r->dport, 1003);
	ck_assert_uint_eq(r->win, 0);
	ck_assert_uint_eq(stack_counter(t->st, CNT_SYNCOOKIESFAILED), 1);
	ck_assert_uint_eq(stack_counter(t->st, CNT_SYNCOOKIESRECV), 1);
	/* a cookie for another client does not open this one */
	ck_assert_int_eq(ack(t, "10.0.0.2:1004", 0xfffffff1u, cookie + 1), 1);
	ck_assert_int_eq(t->in.action, ACT_RST);
	ck_assert_uint_eq(stack_counter(t->st, CNT_SYNCOOKIESFAILED), 2);
	assert_queues(t, lfd, 2, 0);
	ts_free(t);
}
END_TEST

/* ---- the final ACK and a full accept queue ---------------------------------------- */

/*
 * SYN1 SYN2 ACK1 SYN3 ACK2 ACK3 with backlog 1: ACK3 meets a full accept
 * queue. Returns our ISN for client 3.
 */
static uint32_t third_ack_overflows(struct tstack *t, int lfd)
{
	uint32_t iss1, iss2, iss3;

	ck_assert_int_eq(syn(t, "10.0.0.2:1001", 100), 1);
	iss1 = ts_out(t, -1)->seq;
	ck_assert_int_eq(syn(t, "10.0.0.2:1002", 200), 1);
	iss2 = ts_out(t, -1)->seq;
	ck_assert_int_eq(ack(t, "10.0.0.2:1001", 101, iss1 + 1), 0);
	ck_assert_int_eq(t->in.action, ACT_QUEUED);
	ck_assert_int_eq(syn(t, "10.0.0.2:1003", 300), 1);
	ck_assert_int_eq(t->in.action, ACT_SYN_ACK);
	iss3 = ts_out(t, -1)->seq;
	ck_assert_int_eq(ack(t, "10.0.0.2:1002", 201, iss2 + 1), 0);
	ck_assert_int_eq(t->in.action, ACT_QUEUED);
	assert_queues(t, lfd, 1, 2);
	ck_assert_uint_eq(stack_counter(t->st, CNT_LISTENOVERFLOWS), 0);
	return iss3;
}

START_TEST(test_final_ack_overflow_kept)
{
	struct tstack *t = new_stack(1, 0);
	const struct segment *s;
	struct request_sock *req;
	uint32_t iss3;
	int lfd;

	lfd = ts_listen(t, LOCAL, 1);
	iss3 = third_ack_overflows(t, lfd);
	ck_assert_int_eq(ack(t, "10.0.0.2:1003", 301, iss3 + 1), 0);
	ck_assert_int_eq(t->in.lookup.result, LOOKUP_REQUEST);
	ck_assert_int_eq(t->in.action, ACT_DROP);
	ck_assert_int_eq(t->in.reason, CNT_LISTENOVERFLOWS);
	ck_assert_uint_eq(stack_counter(t->st, CNT_LISTENOVERFLOWS), 1);
	ck_assert_uint_eq(stack_counter(t->st, CNT_LISTENDROPS), 1);
	/* the request stays, marked acked */
	assert_queues(t, lfd, 1, 2);
	req = lstate(t, lfd)->syn_head;
	ck_assert_msg(req != NULL && req->c.rport == 1003, "request of client 3 gone");
	ck_assert_int_eq(req->acked, 1);

	/* its SYN-ACK timer runs on: 1 s and 3 s after the first */
	ts_clear(t);
	ck_assert_int_eq(ts_advance(t, 1 * VT_SEC - 1), 0);
	ck_assert_int_eq(ts_advance(t, 1 * VT_SEC), 1);
	s = ts_out(t, -1);
	ck_assert_uint_eq(s->flags, TH_SYN | TH_ACK);
	ck_assert_uint_eq(s->seq, iss3);
	ck_assert_uint_eq(s->ack, 301);
	ck_assert_uint_eq(s->dport, 1003);
	ck_assert_int_eq(ts_advance(t, 3 * VT_SEC - 1), 0);
	ck_assert_int_eq(ts_advance(t, 3 * VT_SEC), 1);
	ck_assert_uint_eq(ts_out(t, -1)->seq, iss3);
	ts_check(t);

	/* the client's next ACK completes once accept() made room */
	accept_from(t, lfd, "10.0.0.2:1001");
	ck_assert_int_eq(ack(t, "10.0.0.2:1003", 301, iss3 + 1), 0);
	ck_assert_int_eq(t->in.action, ACT_QUEUED);
	assert_queues(t, lfd, 0, 2);
	ck_assert_uint_eq(stack_counter(t->st, CNT_LISTENOVERFLOWS), 1);
	ts_free(t);
}
END_TEST

START_TEST(test_final_ack_overflow_abort)
{
	struct tstack *t = new_stack(1, 1);
	const struct segment *r;
	uint32_t iss3;
	int lfd;

	lfd = ts_listen(t, LOCAL, 1);
	iss3 = third_ack_overflows(t, lfd);
	ts_clear(t);
	ck_assert_int_eq(ack(t, "10.0.0.2:1003", 301, iss3 + 1), 1);
	ck_assert_int_eq(t->in.lookup.result, LOOKUP_REQUEST);
	ck_assert_int_eq(t->in.action, ACT_RST);
	r = ts_out(t, -1);
	ck_assert_uint_eq(r->flags, TH_RST);
	ck_assert_uint_eq(r->seq, iss3 + 1);
	ck_assert_uint_eq(r->ack, 0);
	ck_assert_uint_eq(r->dport, 1003);
	ck_assert_uint_eq(stack_counter(t->st, CNT_LISTENOVERFLOWS), 1);
	ck_assert_uint_eq(stack_counter(t->st, CNT_LISTENDROPS), 1);
	/* the request is gone: no retransmission, the next ACK meets the listener */
	assert_queues(t, lfd, 0, 2);
	ck_assert_uint_eq(t->st->ehash.count, 2);
	ck_assert_int_eq(ts_advance(t, 5 * VT_SEC), 0);
	ck_assert_int_eq(ack(t, "10.0.0.2:1003", 301, iss3 + 1), 1);
	ck_assert_int_eq(t->in.lookup.result, LOOKUP_LISTENER);
	ck_assert_uint_eq(ts_out(t, -1)->flags, TH_RST);
	ck_assert_uint_eq(ts_out(t, -1)->seq, iss3 + 1);
	ts_free(t);
}
END_TEST

/* ---- closing a listener ------------------------------------------------------------ */

START_TEST(test_listener_close_resets_queue)
{
	struct tstack *t = new_stack(1, 0);
	uint32_t iss_a, iss_b, iss_c;
	int lfd, i;

	lfd = ts_listen(t, LOCAL, 4);
	iss_a = ts_handshake(t, "10.0.0.2:1000", LOCAL, 100);
	iss_b = ts_handshake(t, "10.0.0.3:2000", LOCAL, 200);
	ck_assert_int_eq(syn(t, "10.0.0.4:3000", 300), 1);
	iss_c = ts_out(t, -1)->seq;
	assert_queues(t, lfd, 1, 2);
	ck_assert_uint_eq(t->st->nsocks, 4);

	ts_clear(t);
	ck_assert_int_eq(sys_close(t->st, lfd), 0);
	ts_check(t);
	/* RST|ACK to each queued child, in queue order; nothing to the request */
	ck_assert_int_eq(t->nout, 2);
	for (i = 0; i < 2; i++) {
		const struct segment *r = ts_out(t, i);

		ck_assert_uint_eq(r->flags, TH_RST | TH_ACK);
		ck_assert_uint_eq(r->dport, i == 0 ? 1000 : 2000);
		ck_assert_uint_eq(r->seq, (i == 0 ? iss_a : iss_b) + 1);
		ck_assert_uint_eq(r->ack, (i == 0 ? 100u : 200u) + 1);
	}
	ck_assert_uint_eq(stack_counter(t->st, CNT_OUTRSTS), 2);
	ck_assert_uint_eq(t->st->nsocks, 0);
	ck_assert_uint_eq(t->st->ehash.count, 0);
	ck_assert_uint_eq(t->st->lt.count, 0);
	ck_assert_msg(stack_next_timer(t->st) == VT_NEVER, "the request's timer survived the listener");
	/* the half-open client's ACK now meets nothing */
	ck_assert_int_eq(ack(t, "10.0.0.4:3000", 301, iss_c + 1), 1);
	ck_assert_int_eq(t->in.lookup.result, LOOKUP_NONE);
	ck_assert_uint_eq(ts_out(t, -1)->flags, TH_RST);
	ck_assert_uint_eq(ts_out(t, -1)->seq, iss_c + 1);
	ts_free(t);
}
END_TEST

Suite *queue_suite(void)
{
	Suite *s = suite_create("queue");
	TCase *tc;

	tc = tcase_create("accept");
	tcase_add_test(tc, test_accept_fifo_by_completion);
	tcase_add_test(tc, test_accept_errors);
	tcase_add_test(tc, test_accept_queue_ring_wraps_and_grows);
	tcase_add_test(tc, test_accept_queue_overflow_at_syn);
	tcase_add_test(tc, test_backlog_zero_takes_one);
	suite_add_tcase(s, tc);

	tc = tcase_create("syn_queue");
	tcase_add_test(tc, test_syn_queue_full_cookie);
	tcase_add_test(tc, test_syn_queue_full_no_cookies);
	tcase_add_test(tc, test_syncookies_always);
	tcase_add_test(tc, test_cookie_ack);
	suite_add_tcase(s, tc);

	tc = tcase_create("overflow");
	tcase_add_test(tc, test_final_ack_overflow_kept);
	tcase_add_test(tc, test_final_ack_overflow_abort);
	tcase_add_test(tc, test_listener_close_resets_queue);
	suite_add_tcase(s, tc);
	return s;
}
