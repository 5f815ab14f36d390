/*
 * check_tcp.c - the TCP state machine (RFC 9293) as stack/tcp_in.c and
 * stack/tcp_out.c run it.
 *
 * Covers: passive open up to ESTABLISHED with data delivered and ACKed;
 * sending (segments of the MSS, 12 bytes less with timestamps, limited by
 * the peer's window, window scaling on non-SYN segments, ACKs freeing the
 * send buffer); the receive-side checks (out-of-order data dropped with a
 * duplicate ACK, retransmitted overlap trimmed, unacceptable sequence
 * numbers ACKed and dropped); RFC 5961 challenge ACKs (SYN in ESTABLISHED,
 * ACK of unsent data); the three ways to close (passive, active,
 * simultaneous); TIME_WAIT (retransmitted FIN, bare ACK, 4-tuple reuse by
 * a newer SYN); active open with connect() (SYN options, SYN-ACK, SYN
 * retransmissions and ETIMEDOUT); SYN-ACK options mirroring the SYN; IPv6;
 * and two stacks talking to each other.
 *
 * The tests play the peer by hand, in the style of lwIP's unit tests,
 * with the peer helpers of helpers.c (struct peer, peer_send(),
 * open_conn(), expect_action()) that check_rst.c uses too.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "helpers.h"
#include "suites.h"

#define SERVER TS_SERVER
#define CLIENT TS_CLIENT
#define CLIENT2 TS_CLIENT2
#define REMOTE_ADDR "10.0.0.9"
#define REMOTE_PORT 80

/* ---- helpers ------------------------------------------------------------ */

/* A pure ACK from the stack with these numbers. */
static void expect_ack(const struct segment *s, uint32_t seq, uint32_t ack, const char *what)
{
	ts_expect_seg(s, TH_ACK, seq, ack, what);
	ck_assert_msg(s->len == 0, "%s: %u payload bytes on a pure ACK", what, s->len);
}

/* What the stack holds in ehash for the peer's 4-tuple (NULL if nothing). */
static struct sock_common *peer_lookup(struct tstack *t, const struct peer *p)
{
	struct ip_addr la, ra;
	uint16_t lp, rp;
	struct lookup_info li;

	ck_assert_int_eq(endpoint_parse(p->local, &la, &lp), 0);
	ck_assert_int_eq(endpoint_parse(p->ep, &ra, &rp), 0);
	memset(&li, 0, sizeof(li));
	return ehash_lookup(t->st, &la, lp, &ra, rp, &li);
}

static int peer_state(struct tstack *t, const struct peer *p)
{
	struct sock_common *c = peer_lookup(t, p);

	return c ? c->state : -1;
}

static void expect_state(struct tstack *t, const struct peer *p, int state, const char *what)
{
	int s = peer_state(t, p);

	ck_assert_msg(s == state, "%s: state %s, expected %s", what, s < 0 ? "(none)" : tcp_state_name(s),
		      tcp_state_name(state));
}

/* Fills buf with a recognisable pattern. */
static void pattern(uint8_t *buf, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		buf[i] = (uint8_t)(i * 7 + 3);
}

/*
 * Starts connect() to REMOTE_ADDR:REMOTE_PORT and prepares *p to play the
 * remote server (ISN isn). Returns the fd; *iss is the stack's ISN.
 */
static int active_open(struct tstack *t, struct peer *p, uint32_t isn, uint32_t *iss)
{
	struct ip_addr ra;
	const struct segment *syn;
	char local[ADDR_STRLEN], remote[ADDR_STRLEN];
	int fd;

	fd = sys_socket(t->st, ADDR_V4);
	ck_assert_msg(fd >= 3, "socket() = %d", fd);
	ck_assert_int_eq(addr_parse(REMOTE_ADDR, &ra), 0);
	ck_assert_int_eq(sys_connect(t->st, fd, &ra, REMOTE_PORT), -EINPROGRESS);
	syn = ts_out(t, -1);
	ck_assert_msg(syn->flags == TH_SYN, "connect() sent flags %#x", syn->flags);
	*iss = syn->seq;
	endpoint_format(&syn->src, syn->sport, local, sizeof(local));
	endpoint_format(&syn->dst, syn->dport, remote, sizeof(remote));
	peer_init(p, remote, local, isn);
	p->ack = syn->seq + 1;
	return fd;
}


/* The options of a peer's SYN: an MSS, a window scale (-1: none) and a timestamp (0: none). */
static struct tcp_opts syn_opts(uint16_t mss, int wscale, uint32_t tsval)
{
	struct tcp_opts o;

	memset(&o, 0, sizeof(o));
	o.has_mss = 1;
	o.mss = mss;
	o.has_wscale = wscale >= 0;
	o.wscale = (uint8_t)(wscale >= 0 ? wscale : 0);
	o.has_ts = tsval != 0;
	o.tsval = tsval;
	return o;
}

/* ---- passive open and data ------------------------------------------------ */

START_TEST(test_passive_open_deliver)
{
	struct tstack *t = ts_new(NULL);
	struct peer p;
	char buf[64];
	int lfd, fd;

	fd = open_conn(t, &p, &lfd, 1000);
	ck_assert_uint_eq(stack_counter(t->st, CNT_PASSIVEOPENS), 1);
	ck_assert_msg(p.nxt == 1001, "peer seq after the handshake %u", p.nxt);

	ck_assert_int_eq(peer_send(t, &p, TH_ACK | TH_PSH, "hello, world"), 1);
	expect_action(t, ACT_DELIVER, -1, "data");
	ck_assert_int_eq(t->in.lookup.result, LOOKUP_ESTABLISHED);
	ck_assert_uint_eq(t->in.sock.id, sys_sock_id(t->st, fd));
	/* ACK with ack = seq + len, from our next sequence number. */
	expect_ack(ts_out(t, -1), p.ack, 1001 + 12, "ACK of 12 bytes");
	/* No options, no window scaling: the window is 64 KiB in whole 1460-byte segments. */
	ck_assert_uint_eq(ts_out(t, -1)->win, 64240);

	ck_assert_int_eq(sys_recv(t->st, fd, buf, sizeof(buf)), 12);
	ck_assert_mem_eq(buf, "hello, world", 12);
	ck_assert_int_eq(sys_recv(t->st, fd, buf, sizeof(buf)), -EAGAIN);

	/* A partial read leaves the rest queued. */
	ck_assert_int_eq(peer_send(t, &p, TH_ACK | TH_PSH, "abcdef"), 1);
	expect_ack(ts_out(t, -1), p.ack, 1001 + 18, "ACK of 6 more bytes");
	ck_assert_int_eq(sys_recv(t->st, fd, buf, 4), 4);
	ck_assert_mem_eq(buf, "abcd", 4);
	ck_assert_int_eq(sys_recv(t->st, fd, buf, sizeof(buf)), 2);
	ck_assert_mem_eq(buf, "ef", 2);
	ts_free(t);
}
END_TEST

/* Sends n pattern bytes on fd and checks they leave as segments of `mss` (the last shorter). */
static void send_and_expect_segments(struct tstack *t, struct peer *p, int fd, uint32_t n,
				     uint32_t mss)
{
	static uint8_t buf[4096];
	int before = t->nout, i, want = (int)((n + mss - 1) / mss);

	ck_assert_uint_le(n, sizeof(buf));
	pattern(buf, n);
	ck_assert_int_eq(sys_send(t->st, fd, buf, n), (int)n);
	ck_assert_msg(t->nout - before == want, "%u bytes at MSS %u left as %d segments, expected %d", n,
		      mss, t->nout - before, want);
	for (i = 0; i < want; i++) {
		const struct segment *s = ts_out(t, before + i);
		uint32_t off = (uint32_t)i * mss, len = n - off < mss ? n - off : mss;

		ck_assert_msg((s->flags & (TH_SYN | TH_FIN | TH_RST | TH_ACK)) == TH_ACK,
			      "segment %d has flags %#x", i, s->flags);
		ck_assert_msg(s->seq == p->ack + off, "segment %d seq %u, expected %u", i, s->seq,
			      p->ack + off);
		ck_assert_uint_eq(s->ack, p->nxt);
		ck_assert_msg(s->len == len, "segment %d carries %u bytes, expected %u", i, s->len, len);
		ck_assert_msg(memcmp(s->data, buf + off, len) == 0, "segment %d carries the wrong bytes", i);
	}
}

START_TEST(test_send_segmented_at_mss)
{
	struct tstack *t = ts_new(NULL);
	struct tcp_opts o;
	struct peer p;
	int lfd, fd;

	/* Peer MSS 536, no timestamps: 536-byte segments. */
	o = syn_opts(536, -1, 0);
	lfd = ts_listen(t, SERVER, 8);
	peer_init(&p, CLIENT, SERVER, 5000);
	fd = peer_connect(t, &p, lfd, &o);
	send_and_expect_segments(t, &p, fd, 1500, 536);
	ck_assert_int_eq(ts_out(t, -1)->opt.has_ts, 0);
	ck_assert_uint_eq(stack_counter(t->st, CNT_OUTSEGS), 4); /* SYN-ACK + 3 */

	/* No MSS option at all: RFC 9293's default of 536 as well. */
	peer_init(&p, CLIENT2, SERVER, 9000);
	fd = peer_connect(t, &p, lfd, NULL);
	send_and_expect_segments(t, &p, fd, 600, 536);
	ts_free(t);
}
END_TEST

START_TEST(test_send_mss_minus_timestamps)
{
	struct tstack *t = ts_new(NULL);
	struct tcp_opts o;
	struct peer p;
	int lfd, fd;

	o = syn_opts(536, -1, 4000);
	lfd = ts_listen(t, SERVER, 8);
	peer_init(&p, CLIENT, SERVER, 5000);
	fd = peer_connect(t, &p, lfd, &o);
	/* The timestamps option takes 12 bytes of every segment: 524 of payload. */
	send_and_expect_segments(t, &p, fd, 1100, 524);
	ck_assert_msg(ts_out(t, -1)->opt.has_ts, "data segment without the timestamps option");
	ck_assert_uint_eq(ts_out(t, -1)->opt.tsecr, p.tsval);

	/* A peer MSS larger than ours is capped at ours (1460), less 12. */
	o.mss = 9000;
	peer_init(&p, CLIENT2, SERVER, 9000);
	fd = peer_connect(t, &p, lfd, &o);
	send_and_expect_segments(t, &p, fd, 2000, 1448);
	ts_free(t);
}
END_TEST

START_TEST(test_send_window_and_ack)
{
	struct tstack *t = ts_new(NULL);
	static uint8_t buf[1500];
	struct peer p;
	struct sock *sk;
	int lfd, fd;
	uint32_t start;

	lfd = ts_listen(t, SERVER, 8);
	peer_init(&p, CLIENT, SERVER, 100);
	p.win = 1000;
	fd = peer_connect(t, &p, lfd, NULL);
	sk = fd_lookup(t->st, fd);
	ck_assert_uint_eq(sk->snd_wnd, 1000);
	start = p.ack;
	pattern(buf, sizeof(buf));

	/* 1500 bytes, window 1000: 536 + 464, then the window is full. */
	ck_assert_int_eq(sys_send(t->st, fd, buf, sizeof(buf)), 1500);
	ck_assert_int_eq(t->nout, 3);
	ck_assert_uint_eq(ts_out(t, 1)->len, 536);
	ck_assert_uint_eq(ts_out(t, 2)->len, 464);
	ck_assert_uint_eq(ts_out(t, 2)->seq, start + 536);
	ck_assert_uint_eq(sk->snd_nxt, start + 1000);
	ck_assert_uint_eq(sk_snd_len(sk), 1500);
	ck_assert_msg(sk_timer_armed(sk), "no retransmission timer with data in flight");

	/* The peer ACKs the first segment only: 536 bytes freed, 536 more may go. */
	p.ack = start + 536;
	ck_assert_int_eq(peer_send(t, &p, TH_ACK, NULL), 1);
	expect_action(t, ACT_ACK, -1, "ACK of 536");
	ck_assert_uint_eq(sk->snd_una, start + 536);
	ck_assert_uint_eq(sk_snd_len(sk), 1500 - 536);
	ck_assert_uint_eq(ts_out(t, -1)->seq, start + 1000);
	ck_assert_uint_eq(ts_out(t, -1)->len, 500);
	ck_assert_mem_eq(ts_out(t, -1)->data, buf + 1000, 500);

	/* Everything ACKed: the send buffer is empty and the timer stopped. */
	p.ack = start + 1500;
	ck_assert_int_eq(peer_send(t, &p, TH_ACK, NULL), 0);
	ck_assert_uint_eq(sk->snd_una, start + 1500);
	ck_assert_uint_eq(sk_snd_len(sk), 0);
	ck_assert_msg(!sk_timer_armed(sk), "retransmission timer still armed with nothing in flight");

	/* A duplicate (old) ACK changes nothing and sends nothing. */
	p.ack = start + 536;
	ck_assert_int_eq(peer_send(t, &p, TH_ACK, NULL), 0);
	ck_assert_uint_eq(sk->snd_una, start + 1500);
	ts_free(t);
}
END_TEST

START_TEST(test_window_scaling)
{
	struct tstack *t = ts_new(NULL);
	static uint8_t buf[2000];
	struct tcp_opts o;
	struct peer p;
	struct sock *sk;
	int lfd, fd;

	o = syn_opts(536, 3, 0);
	lfd = ts_listen(t, SERVER, 8);
	peer_init(&p, CLIENT, SERVER, 100);
	/* The final ACK is not a SYN: its window 100 means 100 << 3. */
	p.win = 100;
	fd = peer_connect(t, &p, lfd, &o);
	sk = fd_lookup(t->st, fd);
	ck_assert_uint_eq(sk->snd_wnd, 800);
	ck_assert_int_eq(sys_send(t->st, fd, buf, sizeof(buf)), 2000);
	ck_assert_int_eq(t->nout, 3);
	ck_assert_uint_eq(ts_out(t, 1)->len, 536);
	ck_assert_uint_eq(ts_out(t, 2)->len, 264);
	/* Our own window is scaled by the 7 we announced: 64240 >> 7. */
	ck_assert_uint_eq(ts_out(t, 1)->win, 64240 >> 7);

	/* A later ACK's window is scaled too. */
	p.ack += 800;
	p.win = 50;
	ck_assert_int_eq(peer_send(t, &p, TH_ACK, NULL), 1);
	ck_assert_uint_eq(sk->snd_wnd, 400);
	ck_assert_uint_eq(ts_out(t, -1)->len, 400);
	ts_free(t);
}
END_TEST

/*
 * A bare final ACK at rcv_nxt does not go through tcp_rcv_state() (the
 * child has taken all it says): the child is as that would leave it. Its
 * window is the ACK's, scaled, its timestamp the ACK's, nothing goes out,
 * and the same ACK again, which does go through tcp_rcv_state() on the
 * established socket, changes not a byte of it.
 */
START_TEST(test_bare_final_ack_as_rcv_state)
{
	struct tstack *t = ts_new(NULL);
	struct tcp_opts o;
	struct peer p;
	struct sock *sk, before;
	int lfd, fd, nout;

	o = syn_opts(1460, 2, 5000);
	o.sack_ok = 1;
	lfd = ts_listen(t, SERVER, 8);
	peer_init(&p, CLIENT, SERVER, 700);
	p.win = 1000;
	fd = peer_connect(t, &p, lfd, &o);
	sk = fd_lookup(t->st, fd);
	ck_assert_int_eq(sk->c.state, TCP_ESTABLISHED);
	ck_assert_uint_eq(sk->snd_wnd, 4000);
	ck_assert_uint_eq(sk->snd_wl1, p.nxt);
	ck_assert_uint_eq(sk->snd_wl2, p.ack);
	ck_assert_uint_eq(sk->snd_una, p.ack);
	ck_assert_uint_eq(sk->snd_nxt, p.ack);
	ck_assert_uint_eq(sk->rcv_nxt, p.nxt);
	ck_assert_uint_eq(sk->ts_recent, 5001);
	ck_assert_uint_eq(stack_counter(t->st, CNT_PASSIVEOPENS), 1);
	memcpy(&before, sk, sizeof(before));
	nout = t->nout;
	ck_assert_int_eq(peer_send(t, &p, TH_ACK, NULL), 0);
	expect_action(t, ACT_ACK, -1, "the final ACK again");
	ck_assert_int_eq(t->nout, nout);
	ck_assert_msg(memcmp(&before, sk, sizeof(before)) == 0, "the final ACK again changed the socket");
	ts_free(t);
}
END_TEST

/* ---- receive-side checks --------------------------------------------------- */

START_TEST(test_out_of_order_dropped)
{
	struct tstack *t = ts_new(NULL);
	struct segment s;
	struct peer p;
	char buf[32];
	int lfd, fd;

	fd = open_conn(t, &p, &lfd, 1000);
	/* Bytes 10.. arrive before 0..9: no out-of-order queue, so a duplicate ACK. */
	s = peer_seg(&p, TH_ACK | TH_PSH, "later");
	s.seq = p.nxt + 10;
	ck_assert_int_eq(ts_in(t, &s), 1);
	expect_action(t, ACT_SEND_ACK, CNT_TCPOFODROP, "out-of-order segment");
	ck_assert_int_eq(t->in.reason, CNT_TCPOFODROP);
	expect_ack(ts_out(t, -1), p.ack, p.nxt, "duplicate ACK");
	ck_assert_uint_eq(stack_counter(t->st, CNT_TCPOFODROP), 1);
	ck_assert_int_eq(sys_recv(t->st, fd, buf, sizeof(buf)), -EAGAIN);

	/* The missing bytes then arrive in order and are delivered. */
	ck_assert_int_eq(peer_send(t, &p, TH_ACK | TH_PSH, "0123456789"), 1);
	expect_ack(ts_out(t, -1), p.ack, 1011, "ACK of the in-order bytes");
	ck_assert_int_eq(sys_recv(t->st, fd, buf, sizeof(buf)), 10);
	ck_assert_mem_eq(buf, "0123456789", 10);
	ck_assert_uint_eq(stack_counter(t->st, CNT_TCPOFODROP), 1);
	ts_free(t);
}
END_TEST

START_TEST(test_overlap_trimmed)
{
	struct tstack *t = ts_new(NULL);
	struct segment s;
	struct peer p;
	char buf[32];
	int lfd, fd;

	fd = open_conn(t, &p, &lfd, 1000);
	ck_assert_int_eq(peer_send(t, &p, TH_ACK | TH_PSH, "abcdefghij"), 1);
	/* A retransmission starting 5 bytes back, with 5 new bytes: only those are kept. */
	s = peer_seg(&p, TH_ACK | TH_PSH, "fghijKLMNO");
	s.seq = p.nxt - 5;
	ck_assert_int_eq(ts_in(t, &s), 1);
	expect_action(t, ACT_DELIVER, -1, "overlapping segment");
	expect_ack(ts_out(t, -1), p.ack, 1001 + 15, "ACK after the overlap");
	p.nxt += 5;
	ck_assert_int_eq(sys_recv(t->st, fd, buf, sizeof(buf)), 15);
	ck_assert_mem_eq(buf, "abcdefghijKLMNO", 15);

	/* A full duplicate is old: a duplicate ACK, nothing delivered. */
	s = peer_seg(&p, TH_ACK | TH_PSH, "abcdefghij");
	s.seq = 1001;
	ck_assert_int_eq(ts_in(t, &s), 1);
	expect_action(t, ACT_SEND_ACK, CNT_TCPOLDSEQ, "duplicate segment");
	ck_assert_int_eq(t->in.reason, CNT_TCPOLDSEQ);
	expect_ack(ts_out(t, -1), p.ack, 1016, "ACK of the duplicate");
	ck_assert_int_eq(sys_recv(t->st, fd, buf, sizeof(buf)), -EAGAIN);
	ts_free(t);
}
END_TEST

START_TEST(test_unacceptable_seq)
{
	struct tstack *t = ts_new(NULL);
	struct segment s;
	struct peer p;
	char buf[8];
	int lfd, fd;

	fd = open_conn(t, &p, &lfd, 1000);
	/* Beyond the 64240-byte window. */
	s = peer_seg(&p, TH_ACK | TH_PSH, "far");
	s.seq = p.nxt + 70000;
	ck_assert_int_eq(ts_in(t, &s), 1);
	expect_action(t, ACT_SEND_ACK, CNT_TCPINVALIDSEQ, "segment beyond the window");
	ck_assert_int_eq(t->in.reason, CNT_TCPINVALIDSEQ);
	expect_ack(ts_out(t, -1), p.ack, p.nxt, "ACK of an out-of-window segment");
	ck_assert_uint_eq(stack_counter(t->st, CNT_TCPINVALIDSEQ), 1);

	/* Entirely before rcv_nxt: old. */
	s.seq = p.nxt - 100;
	ck_assert_int_eq(ts_in(t, &s), 1);
	expect_action(t, ACT_SEND_ACK, CNT_TCPOLDSEQ, "old segment");
	ck_assert_int_eq(t->in.reason, CNT_TCPOLDSEQ);
	expect_ack(ts_out(t, -1), p.ack, p.nxt, "ACK of an old segment");
	ck_assert_uint_eq(stack_counter(t->st, CNT_TCPOLDSEQ), 1);

	/* Neither was delivered, and the connection carries on. */
	ck_assert_int_eq(sys_recv(t->st, fd, buf, sizeof(buf)), -EAGAIN);
	ck_assert_int_eq(sys_state(t->st, fd), TCP_ESTABLISHED);
	ck_assert_int_eq(peer_send(t, &p, TH_ACK | TH_PSH, "ok"), 1);
	ck_assert_int_eq(sys_recv(t->st, fd, buf, sizeof(buf)), 2);
	ts_free(t);
}
END_TEST

START_TEST(test_syn_in_established_challenged)
{
	struct tstack *t = ts_new(NULL);
	struct segment s;
	struct peer p;
	int lfd, fd;

	fd = open_conn(t, &p, &lfd, 1000);
	/* In-window SYN: RFC 5961 4.2, challenge ACK, never a reset. */
	s = peer_seg(&p, TH_SYN, NULL);
	ck_assert_int_eq(ts_in(t, &s), 1);
	expect_action(t, ACT_CHALLENGE_ACK, CNT_TCPCHALLENGEACK, "SYN in ESTABLISHED");
	expect_ack(ts_out(t, -1), p.ack, p.nxt, "challenge ACK");
	ck_assert_uint_eq(stack_counter(t->st, CNT_TCPCHALLENGEACK), 1);
	ck_assert_int_eq(sys_state(t->st, fd), TCP_ESTABLISHED);

	/* The old SYN again (seq = ISN, below the window): "irrespective of the
	 * sequence number" (RFC 5961 4.2), a challenge ACK as well. */
	s = peer_seg(&p, TH_SYN, NULL);
	s.seq = 1000;
	ck_assert_int_eq(ts_in(t, &s), 1);
	expect_action(t, ACT_CHALLENGE_ACK, CNT_TCPCHALLENGEACK, "old SYN in ESTABLISHED");
	expect_ack(ts_out(t, -1), p.ack, p.nxt, "challenge ACK to the old SYN");
	ck_assert_uint_eq(stack_counter(t->st, CNT_TCPCHALLENGEACK), 2);
	ck_assert_int_eq(sys_state(t->st, fd), TCP_ESTABLISHED);
	ck_assert_uint_eq(stack_counter(t->st, CNT_OUTRSTS), 0);
	ts_free(t);
}
END_TEST

START_TEST(test_ack_of_unsent_data)
{
	struct tstack *t = ts_new(NULL);
	struct segment s;
	struct peer p;
	char buf[8];
	int lfd, fd;

	fd = open_conn(t, &p, &lfd, 1000);
	s = peer_seg(&p, TH_ACK | TH_PSH, "xyz");
	s.ack = p.ack + 500;
	/* tcp_ack() refuses it and Linux drops the segment without an answer
	 * (SKB_DROP_REASON_TCP_ACK_UNSENT_DATA; packetdrill's ts_recent/invalid_ack). */
	ck_assert_int_eq(ts_in(t, &s), 0);
	expect_action(t, ACT_DROP, CNT_TCPINVALIDACK, "ACK of unsent data");
	ck_assert_int_eq(t->in.reason, CNT_TCPINVALIDACK);
	ck_assert_uint_eq(stack_counter(t->st, CNT_TCPINVALIDACK), 1);
	ck_assert_uint_eq(stack_counter(t->st, CNT_TCPCHALLENGEACK), 0);
	/* The segment was dropped, payload and all. */
	ck_assert_int_eq(sys_recv(t->st, fd, buf, sizeof(buf)), -EAGAIN);
	ck_assert_uint_eq(fd_lookup(t->st, fd)->snd_una, p.ack);
	ck_assert_int_eq(sys_state(t->st, fd), TCP_ESTABLISHED);
	ts_free(t);
}
END_TEST

/* ---- closing ---------------------------------------------------------------- */

START_TEST(test_passive_close)
{
	struct tstack *t = ts_new(NULL);
	struct peer p;
	char buf[8];
	int lfd, fd, frees;

	fd = open_conn(t, &p, &lfd, 1000);
	ck_assert_int_eq(peer_send(t, &p, TH_FIN | TH_ACK, NULL), 1);
	expect_action(t, ACT_FIN, -1, "peer's FIN");
	expect_ack(ts_out(t, -1), p.ack, 1002, "ACK of the FIN");
	ck_assert_int_eq(sys_state(t->st, fd), TCP_CLOSE_WAIT);
	/* End of stream, as often as asked. */
	ck_assert_int_eq(sys_recv(t->st, fd, buf, sizeof(buf)), 0);
	ck_assert_int_eq(sys_recv(t->st, fd, buf, sizeof(buf)), 0);

	ck_assert_int_eq(sys_close(t->st, fd), 0);
	ck_assert_int_eq(t->nout, 3);
	ts_expect_seg(ts_out(t, -1), TH_FIN | TH_ACK, p.ack, 1002, "our FIN");
	expect_state(t, &p, TCP_LAST_ACK, "after close()");

	p.ack++;
	frees = ts_count(t, EV_SOCK_FREE);
	ck_assert_int_eq(peer_send(t, &p, TH_ACK, NULL), 0);
	expect_action(t, ACT_ACK, -1, "ACK of our FIN");
	ck_assert_int_eq(t->in.sock.state, TCP_CLOSED);
	ck_assert_int_eq(ts_count(t, EV_SOCK_FREE), frees + 1);
	ck_assert_ptr_null(peer_lookup(t, &p));
	ck_assert_uint_eq(t->st->nsocks, 1); /* the listener */
	ck_assert_uint_eq(stack_counter(t->st, CNT_ESTABRESETS), 0);
	ts_free(t);
}
END_TEST

START_TEST(test_active_close)
{
	struct tstack *t = ts_new(NULL);
	struct stack_totals tot;
	struct sock_common *c;
	struct peer p;
	int lfd, fd;
	vtime_t t0;

	fd = open_conn(t, &p, &lfd, 1000);
	ck_assert_int_eq(sys_close(t->st, fd), 0);
	ts_expect_seg(ts_out(t, -1), TH_FIN | TH_ACK, p.ack, 1001, "our FIN");
	expect_state(t, &p, TCP_FIN_WAIT1, "after close()");

	p.ack++;
	ck_assert_int_eq(peer_send(t, &p, TH_ACK, NULL), 0);
	expect_state(t, &p, TCP_FIN_WAIT2, "after the ACK of our FIN");

	t0 = stack_now(t->st);
	ck_assert_int_eq(peer_send(t, &p, TH_FIN | TH_ACK, NULL), 1);
	expect_action(t, ACT_FIN, -1, "peer's FIN in FIN_WAIT2");
	expect_ack(ts_out(t, -1), p.ack, 1002, "ACK of the peer's FIN");
	c = peer_lookup(t, &p);
	ck_assert_ptr_nonnull(c);
	ck_assert_msg(c->kind == SK_TW && c->state == TCP_TIME_WAIT, "kind %d state %s after the peer's FIN",
		      c->kind, tcp_state_name(c->state));
	stack_totals(t->st, &tot);
	ck_assert_uint_eq(tot.timewait, 1);
	ck_assert_uint_eq(tot.established, 0);

	/* TIME_WAIT lasts 60 s. */
	ck_assert_int_eq(ts_advance(t, t0 + 60 * VT_SEC - 1), 0);
	ck_assert_ptr_nonnull(peer_lookup(t, &p));
	ck_assert_int_eq(ts_advance(t, t0 + 60 * VT_SEC), 0);
	ck_assert_ptr_null(peer_lookup(t, &p));
	ck_assert_uint_eq(stack_counter(t->st, CNT_TW), 1);
	ts_free(t);
}
END_TEST

START_TEST(test_shutdown_then_close)
{
	struct tstack *t = ts_new(NULL);
	struct peer p;
	char buf[8];
	int lfd, fd;

	/* shutdown(SHUT_WR) keeps the descriptor: the states show through sys_state(). */
	fd = open_conn(t, &p, &lfd, 1000);
	ck_assert_int_eq(sys_shutdown(t->st, fd, SHUTDOWN_WR), 0);
	ts_expect_seg(ts_out(t, -1), TH_FIN | TH_ACK, p.ack, 1001, "FIN after shutdown");
	ck_assert_int_eq(sys_state(t->st, fd), TCP_FIN_WAIT1);
	p.ack++;
	ck_assert_int_eq(peer_send(t, &p, TH_ACK, NULL), 0);
	ck_assert_int_eq(sys_state(t->st, fd), TCP_FIN_WAIT2);
	/* Half-closed: the peer may still send, and we still read. */
	ck_assert_int_eq(peer_send(t, &p, TH_ACK | TH_PSH, "more"), 1);
	expect_ack(ts_out(t, -1), p.ack, 1005, "ACK in FIN_WAIT2");
	ck_assert_int_eq(sys_recv(t->st, fd, buf, sizeof(buf)), 4);
	ck_assert_int_eq(peer_send(t, &p, TH_FIN | TH_ACK, NULL), 1);
	expect_ack(ts_out(t, -1), p.ack, 1006, "ACK of the FIN");
	ck_assert_int_eq(peer_lookup(t, &p)->kind, SK_TW);
	/* The descriptor outlives the connection, which a TIME_WAIT entry now holds. */
	ck_assert_int_eq(sys_state(t->st, fd), TCP_CLOSED);
	ck_assert_int_eq(sys_recv(t->st, fd, buf, sizeof(buf)), 0);
	ck_assert_int_eq(sys_close(t->st, fd), 0);
	ck_assert_int_eq(peer_lookup(t, &p)->kind, SK_TW);
	ts_free(t);
}
END_TEST

START_TEST(test_simultaneous_close)
{
	struct tstack *t = ts_new(NULL);
	struct peer p;
	int lfd, fd;
	uint32_t fin;

	fd = open_conn(t, &p, &lfd, 1000);
	ck_assert_int_eq(sys_close(t->st, fd), 0);
	fin = ts_out(t, -1)->seq;
	ts_expect_seg(ts_out(t, -1), TH_FIN | TH_ACK, p.ack, 1001, "our FIN");
	expect_state(t, &p, TCP_FIN_WAIT1, "after close()");

	/* The peer's FIN crosses ours: it does not ACK our FIN yet. */
	ck_assert_uint_eq(p.ack, fin);
	ck_assert_int_eq(peer_send(t, &p, TH_FIN | TH_ACK, NULL), 1);
	expect_action(t, ACT_FIN, -1, "crossing FIN");
	expect_ack(ts_out(t, -1), fin + 1, 1002, "ACK of the crossing FIN");
	expect_state(t, &p, TCP_CLOSING, "FIN in FIN_WAIT1");

	/* Then its ACK of our FIN arrives. */
	p.ack = fin + 1;
	ck_assert_int_eq(peer_send(t, &p, TH_ACK, NULL), 0);
	expect_state(t, &p, TCP_TIME_WAIT, "ACK in CLOSING");
	ck_assert_int_eq(peer_lookup(t, &p)->kind, SK_TW);
	ts_free(t);
}
END_TEST

/* ---- TIME_WAIT -------------------------------------------------------------- */

/* Opens a connection from CLIENT and closes it actively: *p's 4-tuple ends in TIME_WAIT. */
static uint32_t into_time_wait(struct tstack *t, struct peer *p, int *lfd)
{
	int fd = open_conn(t, p, lfd, 1000);

	ck_assert_int_eq(sys_close(t->st, fd), 0);
	p->ack++;
	ck_assert_int_eq(peer_send(t, p, TH_FIN | TH_ACK, NULL), 1);
	ck_assert_int_eq(peer_lookup(t, p)->kind, SK_TW);
	return p->ack; /* the TIME_WAIT entry's snd_nxt */
}

START_TEST(test_timewait_fin_retransmitted)
{
	struct tstack *t = ts_new(NULL);
	struct segment s;
	struct peer p;
	uint32_t snd_nxt;
	vtime_t t0;
	int lfd;

	snd_nxt = into_time_wait(t, &p, &lfd);
	/* The peer missed our ACK and sends its FIN again. */
	ts_advance(t, 30 * VT_SEC);
	t0 = stack_now(t->st);
	s = peer_seg(&p, TH_FIN | TH_ACK, NULL);
	s.seq = p.nxt - 1;
	ck_assert_int_eq(ts_in(t, &s), 1);
	ck_assert_int_eq(t->in.lookup.result, LOOKUP_TIMEWAIT);
	expect_action(t, ACT_SEND_ACK, -1, "FIN in TIME_WAIT");
	expect_ack(ts_out(t, -1), snd_nxt, p.nxt, "TIME_WAIT ACK");
	/* ... and the 60 s start again. */
	ts_advance(t, t0 + 60 * VT_SEC - 1);
	ck_assert_ptr_nonnull(peer_lookup(t, &p));
	ts_advance(t, t0 + 60 * VT_SEC);
	ck_assert_ptr_null(peer_lookup(t, &p));
	ts_free(t);
}
END_TEST

START_TEST(test_timewait_bare_ack_silent)
{
	struct tstack *t = ts_new(NULL);
	struct peer p;
	int lfd;

	into_time_wait(t, &p, &lfd);
	ck_assert_int_eq(peer_send(t, &p, TH_ACK, NULL), 0);
	ck_assert_int_eq(t->in.lookup.result, LOOKUP_TIMEWAIT);
	expect_action(t, ACT_ACK, -1, "bare ACK in TIME_WAIT");
	ck_assert_int_eq(peer_lookup(t, &p)->kind, SK_TW);
	ts_free(t);
}
END_TEST

START_TEST(test_timewait_syn_recycles)
{
	struct tstack *t = ts_new(NULL);
	struct stack_totals tot;
	struct segment s;
	struct peer p;
	uint32_t snd_nxt, isn;
	int lfd, fd;

	snd_nxt = into_time_wait(t, &p, &lfd);
	/* A new SYN above the old connection's sequence space. */
	isn = p.nxt + 100000;
	s = ts_seg(CLIENT, SERVER, TH_SYN, isn, 0);
	ck_assert_int_eq(ts_in(t, &s), 1);
	ck_assert_int_eq(t->in.lookup.result, LOOKUP_TIMEWAIT);
	expect_action(t, ACT_TW_RECYCLE, -1, "SYN to a TIME_WAIT 4-tuple");
	ts_expect_seg(ts_out(t, -1), TH_SYN | TH_ACK, snd_nxt + 65537, isn + 1, "SYN-ACK of the reuse");
	stack_totals(t->st, &tot);
	ck_assert_uint_eq(tot.timewait, 0);
	ck_assert_uint_eq(tot.request, 1);

	/* The new connection completes as any other. */
	s = ts_seg(CLIENT, SERVER, TH_ACK, isn + 1, snd_nxt + 65538);
	ck_assert_int_eq(ts_in(t, &s), 0);
	expect_action(t, ACT_QUEUED, -1, "final ACK of the reuse");
	fd = sys_accept(t->st, lfd, NULL, NULL);
	ck_assert_int_ge(fd, 3);
	ck_assert_int_eq(sys_state(t->st, fd), TCP_ESTABLISHED);
	ck_assert_uint_eq(fd_lookup(t->st, fd)->iss, snd_nxt + 65537);
	ts_free(t);
}
END_TEST

START_TEST(test_timewait_old_syn_acked)
{
	struct tstack *t = ts_new(NULL);
	struct segment s;
	struct peer p;
	uint32_t snd_nxt;
	int lfd;

	snd_nxt = into_time_wait(t, &p, &lfd);
	/* An old SYN (below rcv_nxt) only gets the TIME_WAIT ACK. */
	s = ts_seg(CLIENT, SERVER, TH_SYN, 1000, 0);
	ck_assert_int_eq(ts_in(t, &s), 1);
	expect_action(t, ACT_SEND_ACK, -1, "old SYN in TIME_WAIT");
	expect_ack(ts_out(t, -1), snd_nxt, p.nxt, "TIME_WAIT ACK to an old SYN");
	ck_assert_int_eq(peer_lookup(t, &p)->kind, SK_TW);

	/* Without a listener even a newer SYN cannot reuse the 4-tuple. */
	ck_assert_int_eq(sys_close(t->st, lfd), 0);
	s = ts_seg(CLIENT, SERVER, TH_SYN, p.nxt + 100000, 0);
	ck_assert_int_eq(ts_in(t, &s), 1);
	expect_action(t, ACT_SEND_ACK, -1, "newer SYN, no listener");
	expect_ack(ts_out(t, -1), snd_nxt, p.nxt, "TIME_WAIT ACK without a listener");
	ts_free(t);
}
END_TEST

/* ---- active open -------------------------------------------------------------- */

START_TEST(test_active_open)
{
	struct tstack *t = ts_new(NULL);
	const struct segment *syn;
	struct segment s;
	struct ip_addr la;
	uint16_t lport;
	struct peer p;
	struct sock *sk;
	static uint8_t buf[2000];
	uint32_t iss;
	int fd;

	fd = active_open(t, &p, 7000, &iss);
	ck_assert_int_eq(t->nout, 1);
	syn = ts_out(t, 0);
	ck_assert_uint_eq(syn->ack, 0);
	ck_assert_uint_eq(syn->len, 0);
	/*
	 * Linux's SYN: mss 1460, sackOK, TS, wscale 7; window 64240 (44 x 1460:
	 * tcp_connect_init() counts whole segments of the MSS, no timestamp
	 * agreed yet), as every Linux client's SYN in a capture shows.
	 */
	ck_assert_msg(syn->opt.has_mss && syn->opt.mss == 1460, "SYN MSS %u (has %u)", syn->opt.mss,
		      syn->opt.has_mss);
	ck_assert_msg(syn->opt.sack_ok, "SYN without sackOK");
	ck_assert_msg(syn->opt.has_ts && syn->opt.tsecr == 0, "SYN TS %u ecr %u", syn->opt.has_ts,
		      syn->opt.tsecr);
	ck_assert_msg(syn->opt.has_wscale && syn->opt.wscale == 7, "SYN wscale %u (has %u)",
		      syn->opt.wscale, syn->opt.has_wscale);
	ck_assert_uint_eq(syn->win, 64240);
	ck_assert_int_eq(sys_state(t->st, fd), TCP_SYN_SENT);
	ck_assert_uint_eq(stack_counter(t->st, CNT_ACTIVEOPENS), 1);
	ck_assert_int_eq(sys_getsockname(t->st, fd, &la, &lport), 0);
	ck_assert_uint_eq(addr_v4_value(&la), 0x0a000001);
	ck_assert_uint_eq(lport, syn->sport);
	/* Sending before the handshake is done: not yet. */
	ck_assert_int_eq(sys_send(t->st, fd, "x", 1), -EAGAIN);

	/* SYN-ACK: mss 1400, TS, wscale 2; its window (1000) is not scaled. */
	s = peer_seg(&p, TH_SYN | TH_ACK, NULL);
	s.win = 1000;
	s.opt.has_mss = 1;
	s.opt.mss = 1400;
	s.opt.has_ts = 1;
	s.opt.tsval = 555;
	s.opt.tsecr = syn->opt.tsval;
	s.opt.has_wscale = 1;
	s.opt.wscale = 2;
	s.opt.sack_ok = 1;
	ck_assert_int_eq(ts_in(t, &s), 1);
	p.nxt++;
	expect_action(t, ACT_ESTABLISHED, -1, "SYN-ACK");
	ck_assert_int_eq(t->in.lookup.result, LOOKUP_ESTABLISHED);
	expect_ack(ts_out(t, -1), iss + 1, 7001, "ACK of the SYN-ACK");
	ck_assert_msg(ts_out(t, -1)->opt.has_ts && ts_out(t, -1)->opt.tsecr == 555,
		      "third ACK TS %u ecr %u", ts_out(t, -1)->opt.has_ts, ts_out(t, -1)->opt.tsecr);
	ck_assert_uint_eq(ts_out(t, -1)->win, 65160 >> 7);
	ck_assert_int_eq(sys_state(t->st, fd), TCP_ESTABLISHED);

	sk = fd_lookup(t->st, fd);
	ck_assert_uint_eq(sk->mss, 1400 - 12);
	ck_assert_uint_eq(sk->snd_wnd, 1000);
	/* 2000 bytes: only the 1000-byte window goes now. */
	pattern(buf, sizeof(buf));
	ck_assert_int_eq(sys_send(t->st, fd, buf, sizeof(buf)), 2000);
	ck_assert_int_eq(t->nout, 3);
	ck_assert_uint_eq(ts_out(t, -1)->seq, iss + 1);
	ck_assert_uint_eq(ts_out(t, -1)->len, 1000);
	/* Now a non-SYN segment: window 1000 << 2 lets the rest out. */
	p.ack = iss + 1001;
	p.win = 1000;
	p.ts = 1;
	p.tsval = 556;
	ck_assert_int_eq(peer_send(t, &p, TH_ACK, NULL), 1);
	ck_assert_uint_eq(sk->snd_wnd, 4000);
	ck_assert_uint_eq(ts_out(t, -1)->seq, iss + 1001);
	ck_assert_uint_eq(ts_out(t, -1)->len, 1000);
	ck_assert_int_eq(sys_connect(t->st, fd, &s.src, REMOTE_PORT), -EISCONN);
	ts_free(t);
}
END_TEST

START_TEST(test_connect_syn_retransmits)
{
	/* tcp_syn_linear_timeouts = 4: four more at 1 s, then doubling. */
	static const unsigned at[] = { 1, 2, 3, 4, 5, 7 };
	struct tstack *t = ts_new(NULL);
	struct peer p;
	uint32_t iss;
	char buf[4];
	size_t i;
	int fd;

	fd = active_open(t, &p, 7000, &iss);
	for (i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		ck_assert_msg(ts_advance(t, at[i] * VT_SEC - 1) == 0, "a segment before %u s", at[i]);
		ck_assert_msg(ts_advance(t, at[i] * VT_SEC) == 1, "no SYN retransmission at %u s", at[i]);
		ts_expect_seg(ts_out(t, -1), TH_SYN, iss, 0, "retransmitted SYN");
		ck_assert_uint_eq(ts_out(t, -1)->opt.mss, 1460);
		ck_assert_int_eq(sys_state(t->st, fd), TCP_SYN_SENT);
	}
	ck_assert_uint_eq(stack_counter(t->st, CNT_TCPSYNRETRANS), 6);
	ck_assert_uint_eq(stack_counter(t->st, CNT_RETRANSSEGS), 6);
	/* tcp_syn_retries = 6: the sixth waits 4 s, then the connection gives up at 11 s. */
	ck_assert_int_eq(ts_advance(t, 11 * VT_SEC - 1), 0);
	ck_assert_int_eq(sys_state(t->st, fd), TCP_SYN_SENT);
	ck_assert_int_eq(ts_advance(t, 11 * VT_SEC), 0);
	ck_assert_int_eq(sys_state(t->st, fd), TCP_CLOSED);
	ck_assert_uint_eq(stack_counter(t->st, CNT_ATTEMPTFAILS), 1);
	ck_assert_int_eq(sys_recv(t->st, fd, buf, sizeof(buf)), -ETIMEDOUT);
	ck_assert_int_eq(sys_error(t->st, fd), 0);
	ck_assert_ptr_null(peer_lookup(t, &p));
	ck_assert_uint_eq(stack_next_timer(t->st), VT_NEVER);
	ts_free(t);
}
END_TEST

START_TEST(test_connect_syn_retries_config)
{
	struct stack_config c;
	struct tstack *t;
	struct peer p;
	uint32_t iss;
	int fd;

	ts_config(&c);
	c.tcp_syn_retries = 2;
	t = ts_new(&c);
	fd = active_open(t, &p, 7000, &iss);
	ck_assert_int_eq(ts_advance(t, 2 * VT_SEC), 2);
	ck_assert_int_eq(sys_state(t->st, fd), TCP_SYN_SENT);
	ck_assert_int_eq(ts_advance(t, 3 * VT_SEC - 1), 0);
	ck_assert_int_eq(ts_advance(t, 3 * VT_SEC), 0);
	ck_assert_int_eq(sys_state(t->st, fd), TCP_CLOSED);
	ck_assert_int_eq(sys_error(t->st, fd), -ETIMEDOUT);
	ts_free(t);
}
END_TEST

/* ---- SYN-ACK options ------------------------------------------------------------ */

START_TEST(test_synack_mirrors_options)
{
	struct tstack *t = ts_new(NULL);
	const struct segment *sa;
	struct segment s;

	ts_listen(t, SERVER, 8);
	/* mss 1460,sackOK,TS,nop,wscale 10 -> the full set back, window 65160. */
	s = ts_seg(CLIENT, SERVER, TH_SYN, 100, 0);
	s.opt.has_mss = 1;
	s.opt.mss = 1460;
	s.opt.sack_ok = 1;
	s.opt.has_ts = 1;
	s.opt.tsval = 12345;
	s.opt.has_wscale = 1;
	s.opt.wscale = 10;
	ck_assert_int_eq(ts_in(t, &s), 1);
	sa = ts_out(t, -1);
	ck_assert_msg(sa->opt.has_mss && sa->opt.mss == 1460, "MSS %u (has %u)", sa->opt.mss,
		      sa->opt.has_mss);
	ck_assert_msg(sa->opt.sack_ok, "no sackOK in the SYN-ACK");
	ck_assert_msg(sa->opt.has_ts && sa->opt.tsecr == 12345, "TS %u ecr %u", sa->opt.has_ts,
		      sa->opt.tsecr);
	ck_assert_msg(sa->opt.has_wscale && sa->opt.wscale == 7, "wscale %u (has %u)", sa->opt.wscale,
		      sa->opt.has_wscale);
	ck_assert_uint_eq(sa->win, 65160);

	/* Only mss 1460 -> only mss 1460 back, window 64240. */
	s = ts_seg(CLIENT2, SERVER, TH_SYN, 200, 0);
	s.opt.has_mss = 1;
	s.opt.mss = 1460;
	ck_assert_int_eq(ts_in(t, &s), 1);
	sa = ts_out(t, -1);
	ck_assert_msg(sa->opt.has_mss && sa->opt.mss == 1460, "MSS %u (has %u)", sa->opt.mss,
		      sa->opt.has_mss);
	ck_assert_msg(!sa->opt.sack_ok && !sa->opt.has_ts && !sa->opt.has_wscale,
		      "SYN-ACK offers options the SYN did not: sack %u ts %u ws %u", sa->opt.sack_ok,
		      sa->opt.has_ts, sa->opt.has_wscale);
	ck_assert_uint_eq(sa->win, 64240);

	/* Only wscale: wscale back, no timestamps so 64240. */
	s = ts_seg("10.0.0.2:40002", SERVER, TH_SYN, 300, 0);
	s.opt.has_wscale = 1;
	s.opt.wscale = 0;
	ck_assert_int_eq(ts_in(t, &s), 1);
	sa = ts_out(t, -1);
	ck_assert_msg(sa->opt.has_wscale && sa->opt.wscale == 7 && !sa->opt.has_ts && !sa->opt.sack_ok,
		      "ws %u/%u ts %u sack %u", sa->opt.has_wscale, sa->opt.wscale, sa->opt.has_ts,
		      sa->opt.sack_ok);
	ck_assert_uint_eq(sa->opt.mss, 1460);
	ck_assert_uint_eq(sa->win, 64240);
	ts_free(t);
}
END_TEST

START_TEST(test_synack_options_disabled)
{
	struct stack_config c;
	const struct segment *sa;
	struct tstack *t;
	struct segment s;

	ts_config(&c);
	c.tcp_timestamps = 0;
	c.tcp_sack = 0;
	c.tcp_window_scaling = 0;
	t = ts_new(&c);
	ts_listen(t, SERVER, 8);
	s = ts_seg(CLIENT, SERVER, TH_SYN, 100, 0);
	s.opt.has_mss = 1;
	s.opt.mss = 1460;
	s.opt.sack_ok = 1;
	s.opt.has_ts = 1;
	s.opt.tsval = 1;
	s.opt.has_wscale = 1;
	s.opt.wscale = 7;
	ck_assert_int_eq(ts_in(t, &s), 1);
	sa = ts_out(t, -1);
	ck_assert_msg(!sa->opt.sack_ok && !sa->opt.has_ts && !sa->opt.has_wscale,
		      "switched-off options offered: sack %u ts %u ws %u", sa->opt.sack_ok, sa->opt.has_ts,
		      sa->opt.has_wscale);
	ck_assert_uint_eq(sa->opt.mss, 1460);
	ck_assert_uint_eq(sa->win, 64240);
	ts_free(t);
}
END_TEST

/* ---- IPv6 and two stacks ---------------------------------------------------------- */

START_TEST(test_ipv6_end_to_end)
{
	struct tstack *t = ts_new(NULL);
	static uint8_t buf[3000];
	uint8_t in[16];
	struct ip_addr ra, la;
	uint16_t rport, lport;
	struct tcp_opts o;
	struct peer p;
	int lfd, fd, i;

	lfd = ts_listen(t, "[2001:db8::1]:80", 8);
	peer_init(&p, "[2001:db8::2]:5000", "[2001:db8::1]:80", 77);
	o = syn_opts(1440, -1, 0);
	fd = peer_connect(t, &p, lfd, &o);
	/* IPv6 headers are 40 bytes: our MSS is 1440, window 45 x 1440. */
	ck_assert_uint_eq(ts_out(t, 0)->opt.mss, 1440);
	ck_assert_uint_eq(ts_out(t, 0)->win, 64800);
	ck_assert_int_eq(ts_out(t, 0)->src.family, ADDR_V6);
	ck_assert_int_eq(sys_getpeername(t->st, fd, &ra, &rport), 0);
	ck_assert_int_eq(addr_parse("2001:db8::2", &la), 0);
	ck_assert_msg(addr_equal(&ra, &la) && rport == 5000, "getpeername of the IPv6 child");
	ck_assert_int_eq(sys_getsockname(t->st, fd, &la, &lport), 0);
	ck_assert_int_eq(la.family, ADDR_V6);
	ck_assert_uint_eq(lport, 80);

	ck_assert_int_eq(peer_send(t, &p, TH_ACK | TH_PSH, "six"), 1);
	ck_assert_int_eq(t->in.lookup.result, LOOKUP_ESTABLISHED);
	expect_ack(ts_out(t, -1), p.ack, 78 + 3, "IPv6 ACK");
	ck_assert_int_eq(sys_recv(t->st, fd, in, sizeof(in)), 3);
	ck_assert_mem_eq(in, "six", 3);

	pattern(buf, sizeof(buf));
	ck_assert_int_eq(sys_send(t->st, fd, buf, sizeof(buf)), 3000);
	for (i = 0; i < 3; i++) {
		const struct segment *s = ts_out(t, -3 + i);

		ck_assert_int_eq(s->dst.family, ADDR_V6);
		ck_assert_uint_eq(s->seq, p.ack + 1440u * (uint32_t)i);
		ck_assert_uint_eq(s->len, i < 2 ? 1440 : 120);
	}
	p.ack += 3000;
	ck_assert_int_eq(peer_send(t, &p, TH_FIN | TH_ACK, NULL), 1);
	ck_assert_int_eq(sys_state(t->st, fd), TCP_CLOSE_WAIT);
	ck_assert_int_eq(sys_close(t->st, fd), 0);
	ts_expect_seg(ts_out(t, -1), TH_FIN | TH_ACK, p.ack, p.nxt, "IPv6 FIN");
	p.ack++;
	ck_assert_int_eq(peer_send(t, &p, TH_ACK, NULL), 0);
	ck_assert_ptr_null(peer_lookup(t, &p));
	ts_free(t);
}
END_TEST

/* Carries every segment not yet delivered between a and b until both are quiet. */
static void wire(struct tstack *a, int *sent_a, struct tstack *b, int *sent_b)
{
	int moved;

	do {
		moved = 0;
		while (*sent_a < a->nout) {
			struct segment s = a->out[(*sent_a)++];

			ts_in(b, &s);
			moved = 1;
		}
		while (*sent_b < b->nout) {
			struct segment s = b->out[(*sent_b)++];

			ts_in(a, &s);
			moved = 1;
		}
	} while (moved);
}

START_TEST(test_two_stacks)
{
	struct tstack *srv = ts_new(NULL), *cli = ts_new(NULL);
	struct stack_totals tot;
	struct ip_addr a2, a1, ra, la;
	uint16_t cport, rport;
	int ns = 0, nc = 0, lfd, sfd, cfd;
	char buf[16];

	/* The client stack owns 10.0.0.2 and connects from there. */
	ck_assert_int_eq(addr_parse("10.0.0.2", &a2), 0);
	ck_assert_int_eq(addr_parse("10.0.0.1", &a1), 0);
	ck_assert_int_eq(stack_add_addr(cli->st, &a2), 0);
	lfd = ts_listen(srv, SERVER, 8);
	cfd = sys_socket(cli->st, ADDR_V4);
	ck_assert_int_eq(sys_bind(cli->st, cfd, &a2, 0), 0);
	ck_assert_int_eq(sys_connect(cli->st, cfd, &a1, 80), -EINPROGRESS);
	wire(cli, &nc, srv, &ns);
	/* SYN, SYN-ACK, ACK: both ends established. */
	ck_assert_int_eq(nc, 2);
	ck_assert_int_eq(ns, 1);
	ck_assert_int_eq(sys_state(cli->st, cfd), TCP_ESTABLISHED);
	sfd = sys_accept(srv->st, lfd, &ra, &rport);
	ck_assert_int_ge(sfd, 3);
	ck_assert_int_eq(sys_getsockname(cli->st, cfd, &la, &cport), 0);
	ck_assert_msg(addr_equal(&ra, &a2) && rport == cport, "server sees the client at port %u, not %u",
		      rport, cport);
	ck_assert_uint_eq(stack_counter(cli->st, CNT_ACTIVEOPENS), 1);
	ck_assert_uint_eq(stack_counter(srv->st, CNT_PASSIVEOPENS), 1);

	ck_assert_int_eq(sys_send(cli->st, cfd, "ping", 4), 4);
	wire(cli, &nc, srv, &ns);
	ck_assert_int_eq(sys_recv(srv->st, sfd, buf, sizeof(buf)), 4);
	ck_assert_mem_eq(buf, "ping", 4);
	ck_assert_int_eq(sys_send(srv->st, sfd, "pong!", 5), 5);
	wire(cli, &nc, srv, &ns);
	ck_assert_int_eq(sys_recv(cli->st, cfd, buf, sizeof(buf)), 5);
	ck_assert_mem_eq(buf, "pong!", 5);
	ck_assert_uint_eq(sk_snd_len(fd_lookup(cli->st, cfd)), 0);
	ck_assert_uint_eq(sk_snd_len(fd_lookup(srv->st, sfd)), 0);

	/* The client closes first: it ends in TIME_WAIT, the server's socket is freed. */
	ck_assert_int_eq(sys_close(cli->st, cfd), 0);
	wire(cli, &nc, srv, &ns);
	ck_assert_int_eq(sys_state(srv->st, sfd), TCP_CLOSE_WAIT);
	ck_assert_int_eq(sys_recv(srv->st, sfd, buf, sizeof(buf)), 0);
	ck_assert_int_eq(sys_close(srv->st, sfd), 0);
	wire(cli, &nc, srv, &ns);
	stack_totals(cli->st, &tot);
	ck_assert_uint_eq(tot.timewait, 1);
	ck_assert_uint_eq(srv->st->nsocks, 1);
	ck_assert_uint_eq(stack_counter(srv->st, CNT_OUTRSTS) + stack_counter(cli->st, CNT_OUTRSTS), 0);
	ts_free(cli);
	ts_free(srv);
}
END_TEST


/* ---- regressions: inputs the fuzzers found ------------------------------------ */

/* A peer announcing MSS 1 (with timestamps) gets 48-byte segments, not a wrapped size. */
START_TEST(test_tiny_peer_mss)
{
	struct tstack *t = ts_new(NULL);
	struct tcp_opts o;
	struct peer p;
	char data[200];
	int lfd, fd, i, before;

	lfd = ts_listen(t, SERVER, 8);
	peer_init(&p, CLIENT, SERVER, 1000);
	o = syn_opts(1, -1, 5);
	p.ts = 1;
	p.tsval = 6;
	fd = peer_connect(t, &p, lfd, &o);
	memset(data, 'd', sizeof(data));
	before = t->nout;
	ck_assert_int_eq(sys_send(t->st, fd, data, sizeof(data)), (int)sizeof(data));
	ck_assert_msg(t->nout - before == 5, "%d segments for 200 bytes at MSS 48", t->nout - before);
	for (i = before; i < before + 4; i++)
		ck_assert_msg(t->out[i].len == 48, "segment %d carries %u bytes", i - before, t->out[i].len);
	ck_assert_uint_eq(t->out[before + 4].len, 8);
	ts_free(t);
}
END_TEST

/* close() in SYN_RECV (a simultaneous open) waits for the SYN's ACK, then sends its FIN. */
START_TEST(test_close_in_syn_recv)
{
	struct tstack *t = ts_new(NULL);
	struct peer p;
	uint32_t iss;
	int fd = active_open(t, &p, 5000, &iss);

	/* The peer's own SYN crosses ours: SYN_RECV, and a SYN-ACK from us. */
	ck_assert_int_eq(peer_send(t, &p, TH_SYN, NULL), 1);
	ts_expect_seg(ts_out(t, -1), TH_SYN | TH_ACK, iss, 5001, "simultaneous open");
	ck_assert_int_eq(sys_state(t->st, fd), TCP_SYN_RECV);
	ck_assert_int_eq(sys_close(t->st, fd), 0);
	ck_assert_msg(ts_out(t, -1)->flags == (TH_SYN | TH_ACK), "a FIN went out before the SYN was acknowledged");
	/* The SYN's ACK: now the FIN. */
	ck_assert_int_eq(peer_send(t, &p, TH_ACK, NULL), 1);
	ts_expect_seg(ts_out(t, -1), TH_FIN | TH_ACK, iss + 1, 5001, "FIN after the handshake");
	p.ack = iss + 2;
	ck_assert_int_eq(peer_send(t, &p, TH_FIN | TH_ACK, NULL), 1);
	expect_ack(ts_out(t, -1), iss + 2, 5002, "ACK of the peer's FIN");
	ts_free(t);
}
END_TEST

/* The same, but the ACK of our SYN carries the peer's FIN: CLOSING, and our FIN still goes. */
START_TEST(test_close_in_syn_recv_fin_in_ack)
{
	struct tstack *t = ts_new(NULL);
	struct peer p;
	uint32_t iss;
	int fd = active_open(t, &p, 5000, &iss), before;

	ck_assert_int_eq(peer_send(t, &p, TH_SYN, NULL), 1);
	ck_assert_int_eq(sys_close(t->st, fd), 0);
	before = t->nout;
	peer_send(t, &p, TH_ACK | TH_FIN, NULL);
	ck_assert_msg(t->nout > before, "nothing answered the ACK+FIN");
	ck_assert_msg(ts_out(t, -1)->flags & TH_FIN, "our FIN was not sent (flags %#x)", ts_out(t, -1)->flags);
	ck_assert_uint_eq(ts_out(t, -1)->seq, iss + 1);
	ck_assert_uint_eq(ts_out(t, -1)->ack, 5002);
	/* The peer acknowledges our FIN: TIME_WAIT, and ts_free finds nothing left after it. */
	p.ack = iss + 2;
	ck_assert_int_eq(peer_send(t, &p, TH_ACK, NULL), 0);
	ck_assert_int_eq(t->in.sock.state, TCP_TIME_WAIT);
	ts_free(t);
}
END_TEST

/* Data behind a window the peer shut, on a closed socket: probes, then the stack gives up. */
START_TEST(test_zero_window_orphan)
{
	struct tstack *t = ts_new(NULL);
	struct peer p;
	int lfd, fd, before;

	fd = open_conn(t, &p, &lfd, 1000);
	p.win = 0;
	ck_assert_int_eq(peer_send(t, &p, TH_ACK, NULL), 0);
	before = t->nout;
	ck_assert_int_eq(sys_send(t->st, fd, "queued", 6), 6);
	ck_assert_int_eq(sys_close(t->st, fd), 0);
	ck_assert_msg(t->nout == before, "data went out into a zero window");
	/* The persist timer probes with an ACK one below snd_una. */
	ck_assert_int_eq(ts_advance(t, stack_now(t->st) + VT_SEC), 1);
	ck_assert_msg(ts_out(t, -1)->flags == TH_ACK && ts_out(t, -1)->seq == p.ack - 1,
		      "probe: flags %#x seq %u (snd_una %u)", ts_out(t, -1)->flags, ts_out(t, -1)->seq, p.ack);
	/* ts_free runs the clock an hour on: the socket must be gone by then. */
	ts_free(t);
}
END_TEST

/* listen() again with a smaller backlog trims nothing, and the invariants accept that. */
START_TEST(test_relisten_smaller_backlog)
{
	struct tstack *t = ts_new(NULL);
	struct peer a, b, c;
	char why[128];
	int lfd = ts_listen(t, SERVER, 4);

	peer_init(&a, "10.0.0.2:1001", SERVER, 100);
	peer_init(&b, "10.0.0.2:1002", SERVER, 200);
	peer_init(&c, "10.0.0.2:1003", SERVER, 300);
	ck_assert_int_eq(peer_send(t, &a, TH_SYN, NULL), 1);
	a.ack = ts_out(t, -1)->seq + 1;
	ck_assert_int_eq(peer_send(t, &a, TH_ACK, NULL), 0);
	ck_assert_int_eq(peer_send(t, &b, TH_SYN, NULL), 1);
	b.ack = ts_out(t, -1)->seq + 1;
	ck_assert_int_eq(peer_send(t, &b, TH_ACK, NULL), 0);
	ck_assert_int_eq(peer_send(t, &c, TH_SYN, NULL), 1);
	c.ack = ts_out(t, -1)->seq + 1;
	ck_assert_int_eq(peer_send(t, &c, TH_ACK, NULL), 0);
	ck_assert_int_eq(sys_listen(t->st, lfd, 0), 0);
	ck_assert_msg(stack_check(t->st, why, sizeof(why)) == 0, "%s", why);
	/* Three queued, backlog 0: a new SYN is dropped (3 > 0)... */
	peer_init(&a, "10.0.0.2:1004", SERVER, 400);
	ck_assert_int_eq(peer_send(t, &a, TH_SYN, NULL), 0);
	ck_assert_int_eq(stack_counter(t->st, CNT_LISTENOVERFLOWS), 1);
	/* ...and accept() still drains all three, oldest first. */
	ck_assert_int_eq(sys_accept(t->st, lfd, NULL, NULL), 4);
	ck_assert_int_eq(sys_accept(t->st, lfd, NULL, NULL), 5);
	ck_assert_int_eq(sys_accept(t->st, lfd, NULL, NULL), 6);
	ck_assert_int_eq(sys_accept(t->st, lfd, NULL, NULL), -EAGAIN);
	ts_free(t);
}
END_TEST

/*
 * Nobody observing (replay --quiet), the stack counts what it sends
 * without building it (stack_out_unseen): the same OutSegs and OutRsts as
 * a twin stack that builds and shows every segment of the same exchange.
 */
START_TEST(test_unobserved_sends_counted)
{
	uint64_t segs[2], rsts[2];
	int k;

	for (k = 0; k < 2; k++) {
		struct tstack *t = ts_new(NULL);
		struct peer p;
		struct segment s;
		int lfd, fd = open_conn(t, &p, &lfd, 1000);

		if (k)
			stack_set_observer(t->st, NULL, NULL);
		ck_assert_int_eq(sys_send(t->st, fd, "hello", 5), 5); /* data */
		p.ack += 5;
		peer_send(t, &p, TH_ACK | TH_PSH, "hi");              /* answered by an ACK */
		s = ts_seg(CLIENT2, "10.0.0.1:81", TH_SYN, 5, 0);      /* RST|ACK: nobody listens */
		stack_input(t->st, &s, 10);
		s = ts_seg(CLIENT2, "10.0.0.1:81", TH_ACK, 6, 7);      /* RST */
		stack_input(t->st, &s, 11);
		segs[k] = stack_counter(t->st, CNT_OUTSEGS);
		rsts[k] = stack_counter(t->st, CNT_OUTRSTS);
		ck_assert_int_eq(sys_close(t->st, fd), 0);
		ts_free(t);
	}
	ck_assert_msg(segs[0] >= 4 && rsts[0] == 2, "the exchange sent %llu segments, %llu RSTs",
		      (unsigned long long)segs[0], (unsigned long long)rsts[0]);
	ck_assert_uint_eq(segs[1], segs[0]);
	ck_assert_uint_eq(rsts[1], rsts[0]);
}
END_TEST

Suite *tcp_suite(void)
{
	Suite *s = suite_create("tcp");
	TCase *tc;

	tc = tcase_create("data");
	tcase_add_test(tc, test_passive_open_deliver);
	tcase_add_test(tc, test_send_segmented_at_mss);
	tcase_add_test(tc, test_send_mss_minus_timestamps);
	tcase_add_test(tc, test_send_window_and_ack);
	tcase_add_test(tc, test_window_scaling);
	tcase_add_test(tc, test_bare_final_ack_as_rcv_state);
	tcase_add_test(tc, test_unobserved_sends_counted);
	suite_add_tcase(s, tc);

	tc = tcase_create("receive_checks");
	tcase_add_test(tc, test_out_of_order_dropped);
	tcase_add_test(tc, test_overlap_trimmed);
	tcase_add_test(tc, test_unacceptable_seq);
	tcase_add_test(tc, test_syn_in_established_challenged);
	tcase_add_test(tc, test_ack_of_unsent_data);
	suite_add_tcase(s, tc);

	tc = tcase_create("close");
	tcase_add_test(tc, test_passive_close);
	tcase_add_test(tc, test_active_close);
	tcase_add_test(tc, test_shutdown_then_close);
	tcase_add_test(tc, test_simultaneous_close);
	suite_add_tcase(s, tc);

	tc = tcase_create("time_wait");
	tcase_add_test(tc, test_timewait_fin_retransmitted);
	tcase_add_test(tc, test_timewait_bare_ack_silent);
	tcase_add_test(tc, test_timewait_syn_recycles);
	tcase_add_test(tc, test_timewait_old_syn_acked);
	suite_add_tcase(s, tc);

	tc = tcase_create("regressions");
	tcase_add_test(tc, test_tiny_peer_mss);
	tcase_add_test(tc, test_close_in_syn_recv);
	tcase_add_test(tc, test_close_in_syn_recv_fin_in_ack);
	tcase_add_test(tc, test_zero_window_orphan);
	tcase_add_test(tc, test_relisten_smaller_backlog);
	suite_add_tcase(s, tc);

	tc = tcase_create("active_open");
	tcase_add_test(tc, test_active_open);
	tcase_add_test(tc, test_connect_syn_retransmits);
	tcase_add_test(tc, test_connect_syn_retries_config);
	suite_add_tcase(s, tc);

	tc = tcase_create("options");
	tcase_add_test(tc, test_synack_mirrors_options);
	tcase_add_test(tc, test_synack_options_disabled);
	suite_add_tcase(s, tc);

	tc = tcase_create("end_to_end");
	tcase_add_test(tc, test_ipv6_end_to_end);
	tcase_add_test(tc, test_two_stacks);
	suite_add_tcase(s, tc);
	return s;
}
