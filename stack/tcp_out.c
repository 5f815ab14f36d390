/*
 * tcp_out.c - every segment the stack sends is built here.
 *
 * Path: tcp_in.c / socket.c / timers -> tcp_send_*() -> stack_emit_out()
 *       -> EV_SEGMENT_OUT -> a front end (which may seg_build() it).
 *
 * Header values follow what Linux 6.x puts on the wire, because replays
 * compare our segments with a real kernel's: RSTs carry window 0 and no
 * options (tcp_v4_send_reset), SYN-ACK options mirror what the SYN offered
 * in tcp_options_write() order, and the initial window is 64 KiB rounded
 * down to whole segments (tcp_select_initial_window).
 */
#include <string.h>

#include "hash.h"
#include "internal.h"

/* TCP_RTO_MIN */
#define RTO_MIN (200 * VT_MSEC)

uint32_t tcp_isn(const struct stack *st, const struct ip_addr *laddr, uint16_t lport,
		 const struct ip_addr *raddr, uint16_t rport)
{
	/*
	 * secure_tcp_seq(): a keyed hash of the 4-tuple plus a clock ticking
	 * every 64 ns, so a reused 4-tuple starts far from its predecessor.
	 */
	uint32_t h = hash_3words(hash_addr(laddr->a, laddr->family == ADDR_V6, st->isn_key),
				 hash_addr(raddr->a, raddr->family == ADDR_V6, st->isn_key),
				 (uint32_t)lport << 16 | rport, st->isn_key);

	return h + (uint32_t)(st->now >> 6);
}

uint32_t tcp_ts_offset(const struct stack *st, const struct sock_common *c)
{
	/*
	 * Linux 4.10+ randomizes TSval per address pair (secure_tcp_ts_off).
	 * A keyed hash of the addresses, so it is recomputed rather than kept
	 * in each socket, request and TIME_WAIT entry.
	 */
	return hash_3words(hash_addr(c->laddr.a, c->laddr.family == ADDR_V6, st->ts_key),
			   hash_addr(c->raddr.a, c->raddr.family == ADDR_V6, st->ts_key), 0, st->ts_key);
}

uint32_t tcp_ts_now(const struct stack *st, uint32_t off)
{
	return (uint32_t)(st->now / VT_MSEC) + off; /* TSval ticks in milliseconds */
}

uint16_t tcp_our_mss(const struct stack *st, int family)
{
	return (uint16_t)(st->cfg.mtu - (family == ADDR_V6 ? IP6_HDR_LEN : IP4_HDR_MIN) - TCP_HDR_MIN);
}

/*
 * Payload bytes per segment we send: the smaller of the two MSS values,
 * less the timestamp option, and never below net.ipv4.tcp_min_snd_mss
 * (48), which Linux added so a peer announcing a tiny MSS cannot make it
 * cut data into slivers.
 */
uint16_t tcp_send_mss(uint16_t peer, uint16_t ours, int tstamp)
{
	uint32_t m = peer < ours ? peer : ours;

	if (tstamp)
		m = m > TCP_TS_COST ? m - TCP_TS_COST : 0;
	return (uint16_t)(m < 48 ? 48 : m);
}

uint16_t tcp_adv_mss(const struct stack *st, const struct sock *sk, int family)
{
	uint16_t ours = tcp_our_mss(st, family);

	/* tcp_mss_clamp(): TCP_MAXSEG lowers what we announce, never raises it */
	if (sk && sk->ext && sk->ext->user_mss && sk->ext->user_mss < ours)
		return sk->ext->user_mss;
	return ours;
}

uint32_t tcp_rcvbuf(const struct stack *st, const struct sock *sk)
{
	if (sk && sk->ext && sk->ext->rcvbuf_lock)
		return sk->ext->rcvbuf;
	return st->cfg.tcp_rmem[1];
}

/*
 * tcp_full_space(): the part of a receive buffer the window may offer.
 * Linux 6.x starts every socket at scaling_ratio 50 % (the rest is kept
 * for the overhead of the buffers that hold the bytes).
 */
static uint32_t full_space(uint32_t rcvbuf)
{
	return rcvbuf / 2;
}

/*
 * tcp_select_initial_window() with no window clamp set: the space rounded
 * down to whole segments, at most 65535 (a SYN's window is never scaled,
 * RFC 7323 2.2).
 */
uint32_t tcp_initial_window(const struct stack *st, uint32_t rcvbuf, uint16_t mss)
{
	uint32_t space = full_space(rcvbuf);

	(void)st;
	if (mss && space > mss)
		space = space / mss * mss;
	return space > 65535 ? 65535 : space;
}

/*
 * The scale is chosen for the largest window the socket may ever offer:
 * the larger of its buffer, tcp_rmem[2] and net.core.rmem_max, so with the
 * default tcp_rmem[2] of 6 MiB it is 7, and with packetdrill's 15 MiB 8.
 */
uint8_t tcp_rcv_wscale(const struct stack *st, uint32_t rcvbuf)
{
	uint32_t space = full_space(rcvbuf);
	int log;

	if (!st->cfg.tcp_window_scaling)
		return 0;
	if (space < st->cfg.tcp_rmem[2])
		space = st->cfg.tcp_rmem[2];
	if (space < st->cfg.rmem_max)
		space = st->cfg.rmem_max;
	/*
	 * The scale that brings space under 64 KiB: floor(log2(space)) - 15,
	 * as tcp_select_initial_window() computes it with ilog2(). The bit
	 * count, not a shift per bit: every SYN asks (23 turns of a loop).
	 */
	log = space ? 31 - __builtin_clz(space) : 0;
	log -= 15;
	return (uint8_t)(log < 0 ? 0 : log > TCP_MAX_WSCALE ? TCP_MAX_WSCALE : log);
}

static void out_init(struct segment *s, const struct sock_common *c)
{
	memset(s, 0, sizeof(*s));
	s->src = c->laddr;
	s->dst = c->raddr;
	s->sport = c->lport;
	s->dport = c->rport;
}

/* ---- segments without a socket ---------------------------------------- */

/*
 * RFC 9293 3.10.7.1 (CLOSED), as tcp_v4_send_reset() does it: never answer
 * a RST; if the segment carried an ACK, RST with seq = SEG.ACK and no ACK
 * flag; otherwise RST|ACK with seq 0 and ack = SEG.SEQ + SEG.LEN (SYN and
 * FIN each count one).
 */
void tcp_send_reset(struct stack *st, const struct segment *in)
{
	struct segment s;

	if (in->flags & TH_RST)
		return;
	if (stack_out_unseen(st, in->flags & TH_ACK ? TH_RST : TH_RST | TH_ACK))
		return;
	memset(&s, 0, sizeof(s));
	s.src = in->dst;
	s.dst = in->src;
	s.sport = in->dport;
	s.dport = in->sport;
	if (in->flags & TH_ACK) {
		s.seq = in->ack;
		s.flags = TH_RST;
	} else {
		s.seq = 0;
		s.ack = in->seq + seg_seqlen(in);
		s.flags = TH_RST | TH_ACK;
	}
	stack_emit_out(st, &s);
}

/* ---- request sockets ------------------------------------------------- */

static void synack_opts(struct stack *st, struct tcp_opts *o, const struct sock_common *c, int sack,
			int ts, uint32_t ts_recent, int ws, uint8_t wscale)
{
	memset(o, 0, sizeof(*o));
	o->has_mss = 1;
	o->mss = tcp_our_mss(st, c->laddr.family); /* a socket's TCP_MAXSEG: the caller sets it */
	o->sack_ok = (uint8_t)sack;
	if (ts) {
		o->has_ts = 1;
		o->tsval = tcp_ts_now(st, tcp_ts_offset(st, c));
		o->tsecr = ts_recent;
	}
	if (ws) {
		o->has_wscale = 1;
		o->wscale = wscale;
	}
}

void tcp_send_synack(struct stack *st, struct request_sock *req, const struct tcp_opts *fo)
{
	struct segment s;
	int fam = req->c.laddr.family;

	if (stack_out_unseen(st, TH_SYN | TH_ACK))
		return;
	out_init(&s, &req->c);
	s.seq = req->iss;
	s.ack = req->irs + 1;
	s.flags = TH_SYN | TH_ACK;
	/* tcp_ecn_make_synack(): an ECN-setup SYN-ACK sets ECE only (RFC 3168 6.1.1). */
	if (req->ecn_ok)
		s.flags |= TH_ECE;
	/* The window of a SYN or SYN-ACK is never scaled (RFC 7323 2.2). */
	uint16_t mss = tcp_adv_mss(st, req->listener, fam);

	/* tcp_openreq_init_rwin(): segments of the MSS less the timestamps we will send */
	s.win = (uint16_t)tcp_initial_window(st, tcp_rcvbuf(st, req->listener),
					     mss - (req->tstamp_ok ? TCP_TS_COST : 0));
	synack_opts(st, &s.opt, &req->c, req->sack_ok, req->tstamp_ok, req->ts_recent,
		    req->wscale_ok, req->rcv_wscale);
	s.opt.mss = mss;
	if (req->cookie && req->tstamp_ok)
		s.opt.tsval = cookie_ts_encode(s.opt.tsval, req->wscale_ok, req->snd_wscale, req->sack_ok);
	if (fo) {
		s.opt.fo_kind = fo->fo_kind;
		s.opt.fo_len = fo->fo_len;
		memcpy(s.opt.fo_cookie, fo->fo_cookie, fo->fo_len);
	}
	stack_emit_out(st, &s);
}

/*
 * A segment without payload from remembered numbers: the ACKs and RSTs of
 * requests, TIME_WAIT entries and full sockets differ only in where the
 * numbers come from.
 */
static void send_ctl(struct stack *st, const struct sock_common *c, uint32_t seq, uint32_t ack,
		     uint8_t flags, uint16_t win, int ts, uint32_t ts_recent)
{
	struct segment s;

	if (stack_out_unseen(st, flags))
		return;
	out_init(&s, c);
	s.seq = seq;
	s.ack = ack;
	s.flags = flags;
	s.win = win;
	if (ts) {
		s.opt.has_ts = 1;
		s.opt.tsval = tcp_ts_now(st, tcp_ts_offset(st, c));
		s.opt.tsecr = ts_recent;
	}
	stack_emit_out(st, &s);
}

/* tcp_check_req's out-of-window answer: an ACK from the request's state. */
void tcp_send_ack_req(struct stack *st, struct request_sock *req)
{
	uint32_t wnd = tcp_initial_window(st, tcp_rcvbuf(st, req->listener),
					  tcp_adv_mss(st, req->listener, req->c.laddr.family) -
						  (req->tstamp_ok ? TCP_TS_COST : 0));

	send_ctl(st, &req->c, req->iss + 1, req->irs + 1, TH_ACK,
		 (uint16_t)(wnd >> (req->wscale_ok ? req->rcv_wscale : 0)), req->tstamp_ok, req->ts_recent);
}

/* tcp_v4_timewait_ack(): ACK with the TIME_WAIT entry's remembered numbers. */
void tcp_send_ack_tw(struct stack *st, struct tw_sock *tw)
{
	send_ctl(st, &tw->c, tw->snd_nxt, tw->rcv_nxt, TH_ACK, tw->win, tw->tstamp_ok, tw->ts_recent);
}

/* ---- full sockets ------------------------------------------------------ */

uint32_t tcp_rcv_space(const struct stack *st, const struct sock *sk)
{
	uint32_t buf = tcp_rcvbuf(st, sk);

	return sk_rcv_len(sk) >= buf ? 0 : buf - sk_rcv_len(sk);
}

uint16_t tcp_window_field(const struct stack *st, const struct sock *sk)
{
	uint32_t space = tcp_rcv_space(st, sk);
	uint32_t wnd = space < sk->rcv_wnd ? space : sk->rcv_wnd;

	if (sk->wscale_ok)
		wnd >>= sk->rcv_wscale;
	return (uint16_t)(wnd > 65535 ? 65535 : wnd);
}

static void sk_opts(struct stack *st, const struct sock *sk, struct segment *s)
{
	if (sk->tstamp_ok) {
		s->opt.has_ts = 1;
		s->opt.tsval = tcp_ts_now(st, tcp_ts_offset(st, &sk->c));
		s->opt.tsecr = sk->ts_recent;
	}
}

void tcp_send_ack(struct stack *st, struct sock *sk)
{
	send_ctl(st, &sk->c, sk->snd_nxt, sk->rcv_nxt, TH_ACK, tcp_window_field(st, sk), sk->tstamp_ok,
		 sk->ts_recent);
}

/*
 * tcp_send_active_reset(): abort a connection from our side. It goes out
 * through tcp_transmit_skb() like any segment of the connection: with the
 * window and, when agreed, the timestamp option (packetdrill's
 * ts_recent/reset_tsval checks its TS value); tcp_v4_send_reset()'s
 * answers to strays are the ones with window 0 and no options.
 */
void tcp_send_rst_sk(struct stack *st, struct sock *sk)
{
	send_ctl(st, &sk->c, sk->snd_nxt, sk->rcv_nxt, TH_RST | TH_ACK, tcp_window_field(st, sk), sk->tstamp_ok,
		 sk->ts_recent);
}

/* SYN of an active open, or SYN-ACK of a simultaneous open (both from a full socket). */
void tcp_send_syn(struct stack *st, struct sock *sk)
{
	struct segment s;
	/* Anything but SYN_SENT that still resends its SYN answered one: a SYN-ACK. */
	int synack = sk->c.state != TCP_SYN_SENT;

	out_init(&s, &sk->c);
	s.seq = sk->iss;
	s.ack = synack ? sk->rcv_nxt : 0;
	s.flags = synack ? TH_SYN | TH_ACK : TH_SYN;
	/* tcp_ecn_send_syn(): only tcp_ecn=1 asks for ECN in our own SYNs. */
	if (!synack && st->cfg.tcp_ecn == 1)
		s.flags |= TH_ECE | TH_CWR;
	/*
	 * tcp_connect_init(): a SYN's window counts whole segments of the
	 * announced MSS (no timestamp has been agreed yet); a SYN-ACK's
	 * (tcp_openreq_init_rwin) leaves room for the timestamps.
	 */
	s.win = (uint16_t)tcp_initial_window(st, tcp_rcvbuf(st, sk),
					     sk->adv_mss - (synack && sk->tstamp_ok ? TCP_TS_COST : 0));
	if (synack)
		synack_opts(st, &s.opt, &sk->c, sk->sack_ok, sk->tstamp_ok, sk->ts_recent, sk->wscale_ok,
			    sk->rcv_wscale);
	else
		synack_opts(st, &s.opt, &sk->c, st->cfg.tcp_sack, st->cfg.tcp_timestamps, 0,
			    st->cfg.tcp_window_scaling, sk->rcv_wscale);
	s.opt.mss = sk->adv_mss;
	if (!synack && sk->ext && sk->ext->fastopen_req) {
		/*
		 * tcp_syn_options(): a Fast Open SYN carries the server's cookie
		 * (and data, tcp_send_syn_data) or asks for one. Only the first
		 * transmission: a retransmitted SYN is a plain one.
		 */
		uint16_t mss;

		s.opt.fo_kind = TCPOPT_FASTOPEN;
		if (!tfo_cache_get(st, &sk->c.raddr, s.opt.fo_cookie, &s.opt.fo_len, &mss))
			s.opt.fo_len = 0;
		/* no cookie needed (TFO_CLIENT_NO_COOKIE): the data goes without the option */
		if (!s.opt.fo_len && sk->ext->syn_data)
			s.opt.fo_kind = 0;
		if (sk->ext->syn_data) {
			s.data = sk->bufs->snd.p + sk->bufs->snd.off;
			s.len = sk->ext->syn_data;
		}
		sk->ext->fastopen_req = 0;
	}
	stack_emit_out(st, &s);
}

static void send_data(struct stack *st, struct sock *sk, uint32_t seq, uint32_t off, uint32_t n,
		      int fin)
{
	struct segment s;

	if (stack_out_unseen(st, TH_ACK))
		return;
	out_init(&s, &sk->c);
	s.seq = seq;
	s.ack = sk->rcv_nxt;
	s.flags = TH_ACK | (n ? TH_PSH : 0) | (fin ? TH_FIN : 0);
	s.win = tcp_window_field(st, sk);
	s.data = n ? sk->bufs->snd.p + sk->bufs->snd.off + off : NULL;
	s.len = n;
	sk_opts(st, sk, &s);
	stack_emit_out(st, &s);
}


uint32_t tcp_packets_out(const struct sock *sk)
{
	uint32_t flight = sk->snd_nxt - sk->snd_una, syn = sk->snd_una == sk->iss;

	/* our SYN in flight counts one, and so does each MSS of data after it */
	if (syn)
		flight = flight ? flight - 1 : 0;
	return syn + (sk->mss ? (flight + sk->mss - 1) / sk->mss : 0);
}

void tcp_cwnd_init(const struct stack *st, struct sock *sk)
{
	/* A new socket has no ext: its window is what sk_cwnd() answers from this flag. */
	sk->cwnd_model = st->cfg.model_cwnd != 0;
}

void tcp_cwnd_acked(struct sock *sk, uint32_t acked)
{
	struct sock_tx *tx;
	uint32_t cwnd;

	if (!sk->ext)
		return; /* it never sent: nothing it sent was acknowledged */
	tx = &sk->ext->tx;
	cwnd = tx->cwnd;
	if (cwnd == CWND_INFINITE && tx->ssthresh == CWND_INFINITE)
		return; /* not modelled */
	/*
	 * tcp_is_cwnd_limited(): the window grows only while it is what
	 * holds the sender back - in slow start, while it is under twice the
	 * most segments in flight lately.
	 */
	if (cwnd >= 2u * tx->peak_out)
		return;
	if (cwnd < tx->ssthresh) {
		/* tcp_slow_start(): one segment per segment acknowledged, up to ssthresh */
		cwnd += acked;
		if (cwnd > tx->ssthresh)
			cwnd = tx->ssthresh;
	} else {
		/* tcp_cong_avoid_ai(): one segment per window of acknowledgements */
		tx->cwnd_cnt = (uint16_t)(tx->cwnd_cnt + acked);
		if (tx->cwnd_cnt >= cwnd) {
			tx->cwnd_cnt = (uint16_t)(tx->cwnd_cnt - cwnd);
			cwnd++;
		}
	}
	if (cwnd >= CWND_INFINITE)
		cwnd = CWND_INFINITE - 1;
	if (cwnd != tx->cwnd) {
		tx->cwnd = (uint16_t)cwnd;
		tx->peak_out = (uint16_t)tcp_packets_out(sk);
	}
}

void tcp_cwnd_loss(struct sock *sk)
{
	struct sock_tx *tx;
	uint32_t half;

	if (!sk->ext)
		return; /* it never sent: nothing to lose */
	tx = &sk->ext->tx;
	if (tx->cwnd == CWND_INFINITE && tx->ssthresh == CWND_INFINITE)
		return;
	/* CUBIC's ssthresh: 0.7 of the window (beta 717/1024), at least 2 */
	half = (uint32_t)tx->cwnd * 717 / 1024;
	tx->ssthresh = (uint16_t)(half < 2 ? 2 : half);
	tx->cwnd = 1;
	tx->cwnd_cnt = 0;
	tx->peak_out = 0;
}

/*
 * Sends what the peer's window and the congestion window allow: whole
 * segments of sk->mss, the FIN riding on the last one when close() or
 * shutdown() asked for it (as tcp_send_fin() sets FIN on a not-yet-sent
 * tail). TCP_CORK holds back a last segment smaller than the MSS.
 */
void tcp_push(struct stack *st, struct sock *sk)
{
	uint32_t wnd_end = sk->snd_una + sk->snd_wnd;
	struct sock_tx *tx;
	int sent = 0;

	/*
	 * Nothing queued and no FIN to send: nothing below would send or
	 * arm anything. Every segment received ends in a push (tcp_rcv_state),
	 * and mostly nothing waits (a handshake's last ACK, the ACK of a
	 * response), so this is asked first.
	 */
	if (!sk_snd_len(sk) && !sk->fin_queued)
		return;
	switch (sk->c.state) {
	case TCP_ESTABLISHED:
	case TCP_CLOSE_WAIT:
	case TCP_FIN_WAIT1:
	case TCP_LAST_ACK:
	case TCP_CLOSING: /* after close() in SYN_RECV the FIN may still wait for its turn */
		break;
	case TCP_SYN_RECV:
		if (sk->fastopen) /* a Fast Open child may send before the final ACK */
			break;
		return;
	default:
		return;
	}
	while (!sk->fin_sent && (sk->snd_una != sk->iss || sk->fastopen)) {
		/* the send queue starts at snd_una, or after our SYN while it is unacknowledged */
		uint32_t off = sk->snd_nxt - sk->snd_una - (sk->snd_una == sk->iss ? 1u : 0u);
		uint32_t left = sk_snd_len(sk) - off, n;
		int fin;

		if (off > sk_snd_len(sk))
			break;
		n = left < sk->mss ? left : sk->mss;
		if (n && !seq_before(sk->snd_nxt, wnd_end))
			break; /* window full: wait for an ACK (no zero-window probes) */
		if (n && seq_before(wnd_end, sk->snd_nxt + n))
			n = wnd_end - sk->snd_nxt;
		fin = sk->fin_queued && n == left;
		if (n == 0 && !fin)
			break;
		if (n && tcp_packets_out(sk) >= sk_cwnd(sk))
			break; /* tcp_cwnd_test(): the congestion window is full */
		/* TCP_CORK: a segment smaller than the MSS waits for more (a FIN sends it) */
		if (n && n < sk->mss && n == left && !sk->fin_queued && sk->ext && sk->ext->cork)
			break;
		/* what goes out now is timed and may be resent: it needs the transmit state */
		if (!sock_ext_get(st, sk))
			break; /* out of memory: the bytes wait in the queue */
		tx = &sk->ext->tx;
		send_data(st, sk, sk->snd_nxt, off, n, fin);
		if (!sk->rtt_on) {
			sk->rtt_on = 1;
			tx->rtt_seq = sk->snd_nxt;
			tx->rtt_start = st->now;
		}
		sk->snd_nxt += n;
		if (fin) {
			tx->fin_seq = sk->snd_nxt;
			sk->snd_nxt++;
			sk->fin_sent = 1;
		}
		if (tcp_packets_out(sk) > tx->peak_out)
			tx->peak_out = (uint16_t)tcp_packets_out(sk);
		sent = 1;
	}
	if (sent && !sk_timer_armed(sk))
		sk_timer_arm(st, sk, TIMER_RTX, st->now + sk_rto(sk));
	/*
	 * Nothing in flight, something waiting, and the peer's window shut:
	 * the persist timer (tcp_probe_timer) will probe, or the connection
	 * would wait for an ACK that never comes.
	 */
	if (!sent && sk->snd_una == sk->snd_nxt && (sk_snd_len(sk) || (sk->fin_queued && !sk->fin_sent)) &&
	    !sk_timer_armed(sk))
		sk_timer_arm(st, sk, TIMER_RTX, st->now + sk_rto(sk));
}

void tcp_send_range(struct stack *st, struct sock *sk, uint32_t n)
{
	uint32_t off = sk->snd_nxt - sk->snd_una;

	if (off > sk_snd_len(sk) || n > sk_snd_len(sk) - off)
		n = sk_snd_len(sk) > off ? sk_snd_len(sk) - off : 0;
	if (!n)
		return;
	send_data(st, sk, sk->snd_nxt, off, n, 0);
	sk->snd_nxt += n;
	stack_count(st, CNT_RETRANSSEGS);
	if (!sk_timer_armed(sk))
		sk_timer_arm(st, sk, TIMER_RTX, st->now + sk_rto(sk));
}

/* tcp_xmit_probe_skb(): an ACK one below snd_una, which the peer must answer with its window. */
void tcp_send_probe(struct stack *st, struct sock *sk)
{
	send_ctl(st, &sk->c, sk->snd_una - 1, sk->rcv_nxt, TH_ACK, tcp_window_field(st, sk), sk->tstamp_ok,
		 sk->ts_recent);
}

/*
 * RTO expiry: resend the oldest unacknowledged segment (SYN, data or FIN).
 * Only the head is resent; later segments follow as ACKs come back.
 */
void tcp_retransmit(struct stack *st, struct sock *sk)
{
	uint32_t unacked_data, n;
	int fin;

	stack_count(st, CNT_RETRANSSEGS);
	/* Our SYN is not acknowledged yet (also after close() in SYN_RECV): resend it. */
	if (sk->c.state == TCP_SYN_SENT || sk->c.state == TCP_SYN_RECV || sk->snd_una == sk->iss) {
		if (sk->c.state == TCP_SYN_SENT)
			stack_count(st, CNT_TCPSYNRETRANS);
		tcp_send_syn(st, sk);
		return;
	}
	unacked_data = sk->snd_nxt - sk->snd_una - (sk->fin_sent ? 1 : 0);
	if (unacked_data > sk_snd_len(sk))
		unacked_data = sk_snd_len(sk);
	n = unacked_data < sk->mss ? unacked_data : sk->mss;
	fin = sk->fin_sent && n == unacked_data;
	sk->rtt_on = 0; /* Karn: never time a retransmitted segment */
	send_data(st, sk, sk->snd_una, 0, n, fin);
}

void tcp_rearm_rtx(struct stack *st, struct sock *sk)
{
	if (sk->snd_una == sk->snd_nxt)
		sk_timer_cancel(st, sk);
	else
		sk_timer_arm(st, sk, TIMER_RTX, st->now + sk_rto(sk));
}

/*
 * RFC 6298 2.3, with Linux's floor of 200 ms on the variance term. The
 * estimators are kept in microseconds, as Linux keeps srtt_us and mdev_us;
 * a sample under 1 us counts as 1 us, so that 0 can mean "none yet".
 */
void tcp_rtt_sample(struct sock *sk, vtime_t r)
{
	/* Clamped so that 7 * srtt_us cannot overflow: 10 minutes is plenty. */
	uint32_t r_us = r / VT_USEC > 600000000u ? 600000000u : (uint32_t)(r / VT_USEC);
	struct sock_tx *tx = &sk->ext->tx; /* a sample is of something sent: sk has its ext */
	vtime_t var4;

	if (!r_us)
		r_us = 1;
	if (!tx->srtt_us) {
		tx->srtt_us = r_us;
		tx->rttvar_us = r_us / 2;
	} else {
		uint32_t d = tx->srtt_us > r_us ? tx->srtt_us - r_us : r_us - tx->srtt_us;

		tx->rttvar_us = (uint32_t)((3 * (uint64_t)tx->rttvar_us + d) / 4);
		tx->srtt_us = (uint32_t)((7 * (uint64_t)tx->srtt_us + r_us) / 8);
	}
	var4 = 4 * (vtime_t)tx->rttvar_us * VT_USEC;
	tx->rto = (vtime_t)tx->srtt_us * VT_USEC + (var4 > RTO_MIN ? var4 : RTO_MIN);
	if (tx->rto > RTO_MAX)
		tx->rto = RTO_MAX;
}

vtime_t tcp_rto_backoff(vtime_t rto)
{
	return rto * 2 > RTO_MAX ? RTO_MAX : rto * 2;
}
