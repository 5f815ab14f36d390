/*
 * check_rst.c - RST generation and handling.
 *
 * Covers: the answer to a segment that matches no socket (RFC 9293
 * 3.10.7.1 and tcp_v4_send_reset(): never answer a RST; an ACK-bearing
 * segment gets <SEQ=SEG.ACK><CTL=RST>; anything else gets
 * <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>; window 0, no options), for
 * the cases seen in Linux captures and then for all 256 flag
 * combinations; the OutRsts and NoSocket counters; a listener's answers
 * (ACK -> RST, RST and SYN+FIN ignored); a request's (final ACK with a
 * wrong ack number -> RST while the request lives on, in-window RST
 * removes it silently); an established connection's (RFC 5961 3.2: only
 * an exact RST resets, an in-window one draws a challenge ACK, an
 * out-of-window one is dropped) and what the application sees after a
 * reset; and the RSTs the stack sends on its own initiative, close() with
 * unread data (TCPAbortOnClose) and data after close() (TCPAbortOnData).
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "helpers.h"
#include "suites.h"

#define SERVER TS_SERVER
#define CLOSED_PORT "10.0.0.1:9"
#define CLIENT TS_CLIENT
#define CLIENT2 TS_CLIENT2

/* ---- helpers ------------------------------------------------------------ */

/* A RST built from a segment: swapped endpoints, window 0, no options, no payload. */
static void expect_rst(const struct segment *rst, const struct segment *in, uint8_t flags, uint32_t seq,
		       uint32_t ack, const char *what)
{
	ts_expect_seg(rst, flags, seq, ack, what);
	ck_assert_msg(addr_equal(&rst->src, &in->dst) && addr_equal(&rst->dst, &in->src),
		      "%s: addresses not swapped", what);
	ck_assert_msg(rst->sport == in->dport && rst->dport == in->sport, "%s: ports %u -> %u", what,
		      rst->sport, rst->dport);
	ck_assert_msg(rst->win == 0, "%s: window %u", what, rst->win);
	ck_assert_msg(!rst->opt.has_mss && !rst->opt.has_ts && !rst->opt.has_wscale && !rst->opt.sack_ok,
		      "%s: options on a RST", what);
	ck_assert_msg(rst->len == 0, "%s: %u payload bytes", what, rst->len);
}

static struct segment with_data(struct segment s, const char *data)
{
	s.data = (const uint8_t *)data;
	s.len = (uint32_t)strlen(data);
	return s;
}

static int listener_syn_queue(struct tstack *t, int lfd)
{
	return (int)fd_lookup(t->st, lfd)->ls->qlen;
}

/* ---- no socket ------------------------------------------------------------- */

START_TEST(test_closed_syn)
{
	struct tstack *t = ts_new(NULL);
	struct segment s = ts_seg(CLIENT, CLOSED_PORT, TH_SYN, 1000, 0);

	s.opt.has_mss = 1;
	s.opt.mss = 1460;
	s.opt.has_ts = 1;
	s.opt.tsval = 99;
	ck_assert_int_eq(ts_in(t, &s), 1);
	expect_rst(ts_out(t, -1), &s, TH_RST | TH_ACK, 0, 1001, "RST to a SYN");
	ck_assert_int_eq(t->in.lookup.result, LOOKUP_NONE);
	expect_action(t, ACT_RST, CNT_NOSOCKET, "SYN to a closed port");
	ck_assert_uint_eq(stack_counter(t->st, CNT_OUTRSTS), 1);
	ck_assert_uint_eq(stack_counter(t->st, CNT_NOSOCKET), 1);
	ck_assert_uint_eq(t->st->nsocks, 0);
	ts_free(t);
}
END_TEST

START_TEST(test_closed_bare_ack)
{
	struct tstack *t = ts_new(NULL);
	struct segment s = ts_seg(CLIENT, CLOSED_PORT, TH_ACK, 1000, 5555);

	ck_assert_int_eq(ts_in(t, &s), 1);
	expect_rst(ts_out(t, -1), &s, TH_RST, 5555, 0, "RST to a bare ACK");
	expect_action(t, ACT_RST, CNT_NOSOCKET, "bare ACK");

	/* Data with an ACK: the same, the payload does not matter. */
	s = with_data(ts_seg(CLIENT, CLOSED_PORT, TH_ACK | TH_PSH, 1000, 6666), "payload");
	ck_assert_int_eq(ts_in(t, &s), 1);
	expect_rst(ts_out(t, -1), &s, TH_RST, 6666, 0, "RST to data with ACK");
	ck_assert_uint_eq(stack_counter(t->st, CNT_OUTRSTS), 2);
	ts_free(t);
}
END_TEST

START_TEST(test_closed_fin)
{
	struct tstack *t = ts_new(NULL);
	struct segment s = ts_seg(CLIENT, CLOSED_PORT, TH_FIN, 1000, 0);

	ck_assert_int_eq(ts_in(t, &s), 1);
	expect_rst(ts_out(t, -1), &s, TH_RST | TH_ACK, 0, 1001, "RST to a lone FIN");
	expect_action(t, ACT_RST, CNT_NOSOCKET, "lone FIN");
	ts_free(t);
}
END_TEST

START_TEST(test_closed_data_no_ack)
{
	struct tstack *t = ts_new(NULL);
	struct segment s = with_data(ts_seg(CLIENT, CLOSED_PORT, TH_PSH, 1000, 0), "0123456789");

	ck_assert_int_eq(ts_in(t, &s), 1);
	expect_rst(ts_out(t, -1), &s, TH_RST | TH_ACK, 0, 1010, "RST to data without ACK");

	/* Data with FIN: both count. */
	s = with_data(ts_seg(CLIENT, CLOSED_PORT, TH_PSH | TH_FIN, 0xfffffffa, 0), "0123456789");
	ck_assert_int_eq(ts_in(t, &s), 1);
	expect_rst(ts_out(t, -1), &s, TH_RST | TH_ACK, 0, 0xfffffffau + 11, "RST to data+FIN (wrapping)");
	ts_free(t);
}
END_TEST

START_TEST(test_closed_synack)
{
	struct tstack *t = ts_new(NULL);
	struct segment s = ts_seg(CLIENT, CLOSED_PORT, TH_SYN | TH_ACK, 1000, 777);

	ck_assert_int_eq(ts_in(t, &s), 1);
	expect_rst(ts_out(t, -1), &s, TH_RST, 777, 0, "RST to a SYN-ACK");
	expect_action(t, ACT_RST, CNT_NOSOCKET, "SYN-ACK to nothing");
	ts_free(t);
}
END_TEST

START_TEST(test_closed_rst_unanswered)
{
	struct tstack *t = ts_new(NULL);
	struct segment s = ts_seg(CLIENT, CLOSED_PORT, TH_RST, 1000, 0);

	ck_assert_int_eq(ts_in(t, &s), 0);
	expect_action(t, ACT_DROP, CNT_NOSOCKET, "RST to nothing");
	s = ts_seg(CLIENT, CLOSED_PORT, TH_RST | TH_ACK, 1000, 2000);
	ck_assert_int_eq(ts_in(t, &s), 0);
	expect_action(t, ACT_DROP, CNT_NOSOCKET, "RST|ACK to nothing");
	ck_assert_uint_eq(stack_counter(t->st, CNT_OUTRSTS), 0);
	ck_assert_uint_eq(stack_counter(t->st, CNT_OUTSEGS), 0);
	ck_assert_uint_eq(stack_counter(t->st, CNT_NOSOCKET), 2);
	ts_free(t);
}
END_TEST

/* Also right for IPv6. */
START_TEST(test_closed_ipv6)
{
	struct tstack *t = ts_new(NULL);
	struct segment s = ts_seg("[2001:db8::2]:5000", "[2001:db8::1]:9", TH_SYN, 41, 0);

	ck_assert_int_eq(ts_in(t, &s), 1);
	expect_rst(ts_out(t, -1), &s, TH_RST | TH_ACK, 0, 42, "IPv6 RST to a SYN");
	ck_assert_int_eq(ts_out(t, -1)->src.family, ADDR_V6);
	ts_free(t);
}
END_TEST

/* Every flag combination, with and without payload, follows the rule. */
START_TEST(test_closed_all_flags)
{
	struct tstack *t = ts_new(NULL);
	uint64_t rsts = 0;
	int f, withdata;

	for (withdata = 0; withdata < 2; withdata++) {
		for (f = 0; f < 256; f++) {
			struct segment s = ts_seg(CLIENT, CLOSED_PORT, (uint8_t)f, 0x80000000u + (uint32_t)f,
						  0x1234u * (uint32_t)f);
			char fl[9];
			int n;

			ts_clear(t); /* 512 segments: each answer is checked alone */
			if (withdata)
				s = with_data(s, "abcde");
			n = ts_in(t, &s);
			seg_flags_str((uint8_t)f, fl);
			ck_assert_msg(t->in.lookup.result == LOOKUP_NONE && t->in.reason == CNT_NOSOCKET,
				      "flags %s: lookup %s reason %d", fl, lookup_result_name(t->in.lookup.result),
				      t->in.reason);
			if (f & TH_RST) {
				ck_assert_msg(n == 0, "flags %s: a RST was answered", fl);
				continue;
			}
			ck_assert_msg(n == 1, "flags %s: %d answers", fl, n);
			rsts++;
			if (f & TH_ACK)
				expect_rst(ts_out(t, -1), &s, TH_RST, s.ack, 0, fl);
			else
				expect_rst(ts_out(t, -1), &s, TH_RST | TH_ACK, 0,
					   s.seq + s.len + !!(f & TH_SYN) + !!(f & TH_FIN), fl);
		}
	}
	ck_assert_uint_eq(rsts, 256);
	ck_assert_uint_eq(stack_counter(t->st, CNT_OUTRSTS), rsts);
	ck_assert_uint_eq(stack_counter(t->st, CNT_NOSOCKET), 512);
	ck_assert_uint_eq(stack_counter(t->st, CNT_INSEGS), 512);
	ck_assert_uint_eq(t->st->nsocks, 0);
	ts_free(t);
}
END_TEST

/* ---- listener ---------------------------------------------------------------- */

START_TEST(test_listener_ack)
{
	struct tstack *t = ts_new(NULL);
	struct segment s = ts_seg(CLIENT, SERVER, TH_ACK, 1000, 4242);
	int lfd = ts_listen(t, SERVER, 8);

	ck_assert_int_eq(ts_in(t, &s), 1);
	ck_assert_int_eq(t->in.lookup.result, LOOKUP_LISTENER);
	expect_action(t, ACT_RST, CNT_TCPFLAGS, "ACK to a listener");
	expect_rst(ts_out(t, -1), &s, TH_RST, 4242, 0, "listener's RST");
	ck_assert_int_eq(listener_syn_queue(t, lfd), 0);
	ck_assert_uint_eq(t->st->ehash.count, 0);
	ck_assert_uint_eq(stack_counter(t->st, CNT_OUTRSTS), 1);
	ts_free(t);
}
END_TEST

START_TEST(test_listener_ignores_rst)
{
	struct tstack *t = ts_new(NULL);
	struct segment s = ts_seg(CLIENT, SERVER, TH_RST, 1000, 0);

	ts_listen(t, SERVER, 8);
	ck_assert_int_eq(ts_in(t, &s), 0);
	ck_assert_int_eq(t->in.lookup.result, LOOKUP_LISTENER);
	expect_action(t, ACT_DROP, CNT_TCPRESET, "RST to a listener");
	s = ts_seg(CLIENT, SERVER, TH_RST | TH_ACK, 1000, 1);
	ck_assert_int_eq(ts_in(t, &s), 0);
	expect_action(t, ACT_DROP, CNT_TCPRESET, "RST|ACK to a listener");
	ck_assert_uint_eq(stack_counter(t->st, CNT_TCPRESET), 2);
	ck_assert_uint_eq(stack_counter(t->st, CNT_OUTSEGS), 0);
	ts_free(t);
}
END_TEST

START_TEST(test_listener_drops_syn_fin)
{
	struct tstack *t = ts_new(NULL);
	struct segment s = ts_seg(CLIENT, SERVER, TH_SYN | TH_FIN, 1000, 0);
	int lfd = ts_listen(t, SERVER, 8);

	ck_assert_int_eq(ts_in(t, &s), 0);
	expect_action(t, ACT_DROP, CNT_TCPFLAGS, "SYN+FIN to a listener");
	ck_assert_int_eq(listener_syn_queue(t, lfd), 0);
	ck_assert_uint_eq(t->st->ehash.count, 0);
	/* A segment with neither SYN nor ACK is dropped as well. */
	s = ts_seg(CLIENT, SERVER, TH_FIN, 1000, 0);
	ck_assert_int_eq(ts_in(t, &s), 0);
	expect_action(t, ACT_DROP, CNT_TCPFLAGS, "FIN to a listener");
	ck_assert_uint_eq(stack_counter(t->st, CNT_TCPFLAGS), 2);
	ck_assert_uint_eq(stack_counter(t->st, CNT_OUTSEGS), 0);
	ts_free(t);
}
END_TEST

/* ---- requests (SYN_RECV) ------------------------------------------------------------ */

START_TEST(test_request_wrong_ack)
{
	struct tstack *t = ts_new(NULL);
	struct segment s = ts_seg(CLIENT, SERVER, TH_SYN, 1000, 0);
	struct ip_addr ra;
	uint16_t rport;
	uint32_t iss;
	int lfd = ts_listen(t, SERVER, 8), fd;

	ck_assert_int_eq(ts_in(t, &s), 1);
	iss = ts_out(t, -1)->seq;
	/* The final ACK acknowledges something never sent. */
	s = ts_seg(CLIENT, SERVER, TH_ACK, 1001, iss + 77);
	ck_assert_int_eq(ts_in(t, &s), 1);
	ck_assert_int_eq(t->in.lookup.result, LOOKUP_REQUEST);
	expect_action(t, ACT_RST, CNT_TCPINVALIDACK, "wrong final ACK");
	expect_rst(ts_out(t, -1), &s, TH_RST, iss + 77, 0, "RST to the wrong ACK");
	/* The request survives it. */
	ck_assert_int_eq(listener_syn_queue(t, lfd), 1);
	ck_assert_uint_eq(t->in.listener.syn_queue, 1);
	ck_assert_int_eq(sys_accept(t->st, lfd, NULL, NULL), -EAGAIN);

	/* The right ACK completes it. */
	s = ts_seg(CLIENT, SERVER, TH_ACK, 1001, iss + 1);
	ck_assert_int_eq(ts_in(t, &s), 0);
	ck_assert_int_eq(t->in.action, ACT_QUEUED);
	ck_assert_int_eq(listener_syn_queue(t, lfd), 0);
	fd = sys_accept(t->st, lfd, &ra, &rport);
	ck_assert_int_ge(fd, 3);
	ck_assert_uint_eq(rport, 40000);
	ck_assert_int_eq(sys_state(t->st, fd), TCP_ESTABLISHED);
	ts_free(t);
}
END_TEST

START_TEST(test_request_rst_in_window)
{
	struct tstack *t = ts_new(NULL);
	struct segment s = ts_seg(CLIENT, SERVER, TH_SYN, 2000, 0);
	uint32_t iss;
	int lfd = ts_listen(t, SERVER, 8), frees;

	ck_assert_int_eq(ts_in(t, &s), 1);
	iss = ts_out(t, -1)->seq;
	/* Out of window: dropped, never answered (it is a RST), request kept. */
	s = ts_seg(CLIENT, SERVER, TH_RST, 2001 + 200000, 0);
	ck_assert_int_eq(ts_in(t, &s), 0);
	expect_action(t, ACT_DROP, CNT_TCPINVALIDSEQ, "out-of-window RST to a request");
	ck_assert_int_eq(listener_syn_queue(t, lfd), 1);

	/* In window: the request goes, silently. */
	frees = ts_count(t, EV_SOCK_FREE);
	s = ts_seg(CLIENT, SERVER, TH_RST, 2001, 0);
	ck_assert_int_eq(ts_in(t, &s), 0);
	ck_assert_int_eq(t->in.lookup.result, LOOKUP_REQUEST);
	expect_action(t, ACT_RESET, CNT_TCPRESET, "in-window RST to a request");
	ck_assert_uint_eq(stack_counter(t->st, CNT_EMBRYONICRSTS), 1);
	ck_assert_int_eq(ts_count(t, EV_SOCK_FREE), frees + 1);
	ck_assert_int_eq(listener_syn_queue(t, lfd), 0);
	ck_assert_uint_eq(t->st->ehash.count, 0);
	ck_assert_uint_eq(stack_counter(t->st, CNT_OUTRSTS), 0);

	/* The client's late ACK now meets only the listener: RST seq = SEG.ACK. */
	s = ts_seg(CLIENT, SERVER, TH_ACK, 2001, iss + 1);
	ck_assert_int_eq(ts_in(t, &s), 1);
	ck_assert_int_eq(t->in.lookup.result, LOOKUP_LISTENER);
	expect_rst(ts_out(t, -1), &s, TH_RST, iss + 1, 0, "RST after the request is gone");
	ts_free(t);
}
END_TEST

/* ---- established -------------------------------------------------------------- */

START_TEST(test_established_exact_rst)
{
	struct tstack *t = ts_new(NULL);
	struct peer p;
	struct segment s;
	char buf[8];
	int lfd, fd;

	fd = open_conn(t, &p, &lfd, 1000);
	s = peer_seg(&p, TH_RST, NULL);
	ck_assert_int_eq(ts_in(t, &s), 0);
	ck_assert_int_eq(t->in.lookup.result, LOOKUP_ESTABLISHED);
	expect_action(t, ACT_RESET, CNT_TCPRESET, "exact RST");
	ck_assert_int_eq(t->in.sock.state, TCP_CLOSED);
	ck_assert_uint_eq(stack_counter(t->st, CNT_ESTABRESETS), 1);
	ck_assert_uint_eq(stack_counter(t->st, CNT_TCPRESET), 1);
	ck_assert_uint_eq(t->st->ehash.count, 0);
	ck_assert_int_eq(sys_state(t->st, fd), TCP_CLOSED);
	/* The application hears of it once, then sees end of stream. */
	ck_assert_int_eq(sys_recv(t->st, fd, buf, sizeof(buf)), -ECONNRESET);
	ck_assert_int_eq(sys_recv(t->st, fd, buf, sizeof(buf)), 0);
	ck_assert_uint_eq(stack_counter(t->st, CNT_OUTSEGS), 1); /* the SYN-ACK only */

	/* A second connection reset with RST|ACK: send() reports it. */
	peer_init(&p, CLIENT2, SERVER, 5000);
	fd = peer_connect(t, &p, lfd, NULL);
	s = peer_seg(&p, TH_RST | TH_ACK, NULL);
	ck_assert_int_eq(ts_in(t, &s), 0);
	expect_action(t, ACT_RESET, CNT_TCPRESET, "exact RST|ACK");
	ck_assert_int_eq(sys_send(t->st, fd, "x", 1), -ECONNRESET);
	ck_assert_int_eq(sys_error(t->st, fd), 0);
	ck_assert_uint_eq(stack_counter(t->st, CNT_ESTABRESETS), 2);
	ts_free(t);
}
END_TEST

START_TEST(test_close_wait_rst_epipe)
{
	struct tstack *t = ts_new(NULL);
	struct peer p;
	struct segment s;
	int lfd, fd;

	fd = open_conn(t, &p, &lfd, 1000);
	ck_assert_int_eq(peer_send(t, &p, TH_FIN | TH_ACK, NULL), 1);
	ck_assert_int_eq(sys_state(t->st, fd), TCP_CLOSE_WAIT);
	/* tcp_reset(): in CLOSE_WAIT the error is EPIPE. */
	s = peer_seg(&p, TH_RST, NULL);
	ck_assert_int_eq(ts_in(t, &s), 0);
	expect_action(t, ACT_RESET, CNT_TCPRESET, "RST in CLOSE_WAIT");
	ck_assert_int_eq(sys_error(t->st, fd), -EPIPE);
	ck_assert_uint_eq(stack_counter(t->st, CNT_ESTABRESETS), 1);
	ts_free(t);
}
END_TEST

START_TEST(test_established_rst_in_window_challenged)
{
	struct tstack *t = ts_new(NULL);
	struct peer p;
	struct segment s;
	int lfd, fd;

	fd = open_conn(t, &p, &lfd, 1000);
	s = peer_seg(&p, TH_RST, NULL);
	s.seq = p.nxt + 1000;
	ck_assert_int_eq(ts_in(t, &s), 1);
	expect_action(t, ACT_CHALLENGE_ACK, CNT_TCPCHALLENGEACK, "in-window RST");
	ts_expect_seg(ts_out(t, -1), TH_ACK, p.ack, p.nxt, "challenge ACK");
	ck_assert_uint_eq(stack_counter(t->st, CNT_TCPCHALLENGEACK), 1);
	ck_assert_int_eq(sys_state(t->st, fd), TCP_ESTABLISHED);
	ck_assert_uint_eq(stack_counter(t->st, CNT_ESTABRESETS), 0);
	ck_assert_uint_eq(stack_counter(t->st, CNT_OUTRSTS), 0);

	/* The last byte of the window is "in window" too. */
	s.seq = p.nxt + 64240 - 1;
	ck_assert_int_eq(ts_in(t, &s), 1);
	expect_action(t, ACT_CHALLENGE_ACK, CNT_TCPCHALLENGEACK, "RST at the window's edge");
	ck_assert_int_eq(sys_state(t->st, fd), TCP_ESTABLISHED);
	ts_free(t);
}
END_TEST

START_TEST(test_established_rst_out_of_window)
{
	struct tstack *t = ts_new(NULL);
	struct peer p;
	struct segment s;
	int lfd, fd;

	fd = open_conn(t, &p, &lfd, 1000);
	s = peer_seg(&p, TH_RST, NULL);
	s.seq = p.nxt + 64240;
	ck_assert_int_eq(ts_in(t, &s), 0);
	expect_action(t, ACT_DROP, CNT_TCPINVALIDSEQ, "RST past the window");
	s.seq = p.nxt - 1;
	ck_assert_int_eq(ts_in(t, &s), 0);
	expect_action(t, ACT_DROP, CNT_TCPOLDSEQ, "RST before the window");
	ck_assert_int_eq(sys_state(t->st, fd), TCP_ESTABLISHED);
	ck_assert_uint_eq(stack_counter(t->st, CNT_TCPCHALLENGEACK), 0);
	ck_assert_uint_eq(stack_counter(t->st, CNT_OUTSEGS), 1); /* the SYN-ACK only */
	ts_free(t);
}
END_TEST

/* ---- RSTs the stack starts ------------------------------------------------------ */

START_TEST(test_close_with_unread_data)
{
	struct tstack *t = ts_new(NULL);
	struct peer p;
	struct segment s;
	int lfd, fd, frees;

	fd = open_conn(t, &p, &lfd, 1000);
	ck_assert_int_eq(peer_send(t, &p, TH_ACK | TH_PSH, "unread"), 1);
	frees = ts_count(t, EV_SOCK_FREE);
	ck_assert_int_eq(sys_close(t->st, fd), 0);
	/* RFC 2525 2.17: RST, not FIN, from the socket's own numbers. */
	ts_expect_seg(ts_out(t, -1), TH_RST | TH_ACK, p.ack, p.nxt, "abort on close");
	ck_assert_uint_eq(stack_counter(t->st, CNT_TCPABORTONCLOSE), 1);
	ck_assert_uint_eq(stack_counter(t->st, CNT_OUTRSTS), 1);
	ck_assert_uint_eq(stack_counter(t->st, CNT_ESTABRESETS), 1);
	ck_assert_int_eq(ts_count(t, EV_SOCK_FREE), frees + 1);
	ck_assert_uint_eq(t->st->ehash.count, 0);
	ck_assert_uint_eq(t->st->nsocks, 1);

	/* The peer's next segment meets no socket. */
	s = peer_seg(&p, TH_ACK | TH_PSH, "more");
	ck_assert_int_eq(ts_in(t, &s), 1);
	ck_assert_int_eq(t->in.lookup.result, LOOKUP_LISTENER);
	expect_rst(ts_out(t, -1), &s, TH_RST, p.ack, 0, "RST after the abort");
	ts_free(t);
}
END_TEST

START_TEST(test_data_after_close)
{
	struct tstack *t = ts_new(NULL);
	struct peer p;
	struct segment s;
	int lfd, fd;

	fd = open_conn(t, &p, &lfd, 1000);
	ck_assert_int_eq(sys_close(t->st, fd), 0);
	ts_expect_seg(ts_out(t, -1), TH_FIN | TH_ACK, p.ack, p.nxt, "FIN on close");
	/* Data for an application that is gone: RST built from the segment. */
	s = peer_seg(&p, TH_ACK | TH_PSH, "late");
	ck_assert_int_eq(ts_in(t, &s), 1);
	ck_assert_int_eq(t->in.lookup.result, LOOKUP_ESTABLISHED);
	expect_action(t, ACT_RST, CNT_TCPABORTONDATA, "data after close()");
	expect_rst(ts_out(t, -1), &s, TH_RST, p.ack, 0, "abort on data");
	ck_assert_uint_eq(stack_counter(t->st, CNT_TCPABORTONDATA), 1);
	ck_assert_uint_eq(t->st->ehash.count, 0);
	ck_assert_uint_eq(t->st->nsocks, 1);

	/* The same once our FIN is ACKed (FIN_WAIT2). */
	peer_init(&p, CLIENT2, SERVER, 7000);
	fd = peer_connect(t, &p, lfd, NULL);
	ck_assert_int_eq(sys_close(t->st, fd), 0);
	p.ack++;
	s = peer_seg(&p, TH_ACK, NULL);
	ck_assert_int_eq(ts_in(t, &s), 0);
	ck_assert_int_eq(t->in.sock.state, TCP_FIN_WAIT2);
	s = peer_seg(&p, TH_ACK | TH_PSH, "later");
	ck_assert_int_eq(ts_in(t, &s), 1);
	expect_action(t, ACT_RST, CNT_TCPABORTONDATA, "data in FIN_WAIT2 after close()");
	expect_rst(ts_out(t, -1), &s, TH_RST, p.ack, 0, "abort on data in FIN_WAIT2");
	ck_assert_uint_eq(stack_counter(t->st, CNT_TCPABORTONDATA), 2);
	ck_assert_uint_eq(t->st->nsocks, 1);
	ts_free(t);
}
END_TEST

START_TEST(test_listener_close_resets_queue)
{
	struct tstack *t = ts_new(NULL);
	uint32_t iss1, iss2;
	int lfd = ts_listen(t, SERVER, 8);

	iss1 = ts_handshake(t, CLIENT, SERVER, 100);
	iss2 = ts_handshake(t, CLIENT2, SERVER, 200);
	ts_clear(t);
	ck_assert_int_eq(sys_close(t->st, lfd), 0);
	/* Each queued child gets a RST|ACK from its own numbers, in accept order. */
	ck_assert_int_eq(t->nout, 2);
	ts_expect_seg(ts_out(t, 0), TH_RST | TH_ACK, iss1 + 1, 101, "RST of the first child");
	ts_expect_seg(ts_out(t, 1), TH_RST | TH_ACK, iss2 + 1, 201, "RST of the second child");
	ck_assert_uint_eq(ts_out(t, 1)->dport, 40001);
	ck_assert_uint_eq(stack_counter(t->st, CNT_OUTRSTS), 2);
	/* Both went straight from ESTABLISHED to CLOSED. */
	ck_assert_uint_eq(stack_counter(t->st, CNT_ESTABRESETS), 2);
	ck_assert_uint_eq(t->st->nsocks, 0);
	ck_assert_uint_eq(t->st->ehash.count, 0);
	ts_free(t);
}
END_TEST

Suite *rst_suite(void)
{
	Suite *s = suite_create("rst");
	TCase *tc;

	tc = tcase_create("no_socket");
	tcase_add_test(tc, test_closed_syn);
	tcase_add_test(tc, test_closed_bare_ack);
	tcase_add_test(tc, test_closed_fin);
	tcase_add_test(tc, test_closed_data_no_ack);
	tcase_add_test(tc, test_closed_synack);
	tcase_add_test(tc, test_closed_rst_unanswered);
	tcase_add_test(tc, test_closed_ipv6);
	tcase_add_test(tc, test_closed_all_flags);
	suite_add_tcase(s, tc);

	tc = tcase_create("listener");
	tcase_add_test(tc, test_listener_ack);
	tcase_add_test(tc, test_listener_ignores_rst);
	tcase_add_test(tc, test_listener_drops_syn_fin);
	tcase_add_test(tc, test_listener_close_resets_queue);
	suite_add_tcase(s, tc);

	tc = tcase_create("request");
	tcase_add_test(tc, test_request_wrong_ack);
	tcase_add_test(tc, test_request_rst_in_window);
	suite_add_tcase(s, tc);

	tc = tcase_create("established");
	tcase_add_test(tc, test_established_exact_rst);
	tcase_add_test(tc, test_close_wait_rst_epipe);
	tcase_add_test(tc, test_established_rst_in_window_challenged);
	tcase_add_test(tc, test_established_rst_out_of_window);
	suite_add_tcase(s, tc);

	tc = tcase_create("abort");
	tcase_add_test(tc, test_close_with_unread_data);
	tcase_add_test(tc, test_data_after_close);
	suite_add_tcase(s, tc);
	return s;
}
