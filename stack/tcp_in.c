/*
 * tcp_in.c - demultiplexing and the receive side of the state machine.
 *
 * Path: stack_input() -> tcp_input() -> tcp_demux():
 *         ehash_lookup()  hit: full socket    -> tcp_rcv_state()
 *                         hit: request        -> tcp_check_req()
 *                         hit: TIME_WAIT      -> tcp_timewait_rcv()
 *         listener_lookup() (exact, wildcard) -> tcp_listen_rcv() -> syn_recv()
 *         nothing                             -> RST (RFC 9293 3.10.7.1)
 *       stack_advance() -> tcp_timer_fire().
 *
 * The code follows RFC 9293 3.10.7 in its order and mirrors the Linux 6.x
 * functions named at each step (tcp_v4_rcv, tcp_conn_request,
 * tcp_check_req, tcp_rcv_state_process, tcp_timewait_state_process). Every
 * way a segment can end is a labelled tail that records the action and,
 * for drops and resets, the counter that explains it; the caller turns
 * that record into the EV_SEGMENT_IN event.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"

/* TCP_TIMEWAIT_LEN */
#define TIMEWAIT_LEN (60 * VT_SEC)
/* tcp_invalid_ratelimit: at most one SYN-ACK per 500 ms for duplicate SYNs */
#define OOW_RATE_LIMIT (500 * VT_MSEC)
/* TCP_SYNCOOKIE_VALID: cookies are checked only this long after an overflow */
#define SYNCOOKIE_VALID (120 * VT_SEC)
/* inet_twsk_... : a recycled TIME_WAIT 4-tuple starts 65537 past the old snd_nxt */
#define TW_ISN_GAP 65537u

/* What became of one inbound segment; becomes its EV_SEGMENT_IN. */
struct in_ctx {
	const struct segment *seg;
	struct lookup_info lookup;
	struct sock *listener;      /* listener consulted, if any */
	uint8_t has_cv;
	uint8_t action;
	int8_t reason;
	uint8_t cookie;
	uint16_t cookie_mss;
	uint8_t isn_adopted;
	int fd;                     /* descriptor of the full socket it reached, or -1 */
	/*
	 * The socket to report, taken before it could be freed; last, and
	 * not cleared with the rest: read only while has_cv, which only
	 * set_sock() sets, through sock_view_of() (which clears it) when an
	 * observer is there to read it.
	 */
	struct sock_view cv;
};


static void note(struct in_ctx *x, uint8_t action, int reason)
{
	x->action = action;
	x->reason = (int8_t)reason;
}

/*
 * Photographs c for the segment's event, before later steps can change or
 * free it. Nobody reads events without an observer, so then it costs
 * nothing: the view is the largest part of a segment's bookkeeping.
 */
static void take_view(const struct stack *st, struct in_ctx *x, const struct sock_common *c)
{
	if (st->obs)
		sock_view_of(st, c, &x->cv);
}

static void set_sock(struct stack *st, struct in_ctx *x, struct sock_common *c)
{
	take_view(st, x, c);
	x->has_cv = 1;
}

/* Counts a drop and records it (the "goto drop" tail). */
static void drop(struct stack *st, struct in_ctx *x, int counter)
{
	if (counter >= 0)
		stack_count(st, counter);
	note(x, ACT_DROP, counter);
}

/* A RST accepted: the connection ends (TCPReset counts these as well as ignored RSTs). */
static void reset_by_peer(struct stack *st, struct in_ctx *x)
{
	stack_count(st, CNT_TCPRESET);
	note(x, ACT_RESET, CNT_TCPRESET);
}

/* Answers with a RST built from the segment (the "goto dropwithreset" tail). */
static void drop_with_reset(struct stack *st, struct in_ctx *x, int counter)
{
	if (counter >= 0)
		stack_count(st, counter);
	if (x->seg->flags & TH_RST) {
		note(x, ACT_DROP, counter);
		return;
	}
	tcp_send_reset(st, x->seg);
	note(x, ACT_RST, counter);
}

static void challenge_ack(struct stack *st, struct in_ctx *x, struct sock *sk)
{
	/* RFC 5961 3.2 / 4.2: make a blind attacker's guess cost a round trip. */
	stack_count(st, CNT_TCPCHALLENGEACK);
	tcp_send_ack(st, sk);
	note(x, ACT_CHALLENGE_ACK, CNT_TCPCHALLENGEACK);
}

/* ---- creating connections ---------------------------------------------- */

/* Negotiated options of a SYN, as tcp_parse_options() + tcp_openreq_init() keep them. */
/* The MSS a SYN announces, or RFC 9293 3.7.1's 536 when it has none (or 0). */
static uint16_t syn_peer_mss(const struct segment *syn)
{
	return syn->opt.has_mss && syn->opt.mss ? syn->opt.mss : 536;
}

/*
 * The window scale a SYN announces, 0 without the option; RFC 7323 2.3: a
 * shift above 14 is taken as 14 (segments built without the parser too).
 */
static uint8_t syn_wscale(const struct segment *syn)
{
	if (!syn->opt.has_wscale)
		return 0;
	return syn->opt.wscale > TCP_MAX_WSCALE ? TCP_MAX_WSCALE : syn->opt.wscale;
}

static void req_take_options(struct stack *st, struct request_sock *req, const struct sock *l,
			     const struct segment *syn)
{
	req->mss = syn_peer_mss(syn);
	/* tcp_parse_options(): the listener's TCP_MAXSEG caps the MSS we send with */
	if (l->ext && l->ext->user_mss && l->ext->user_mss < req->mss)
		req->mss = l->ext->user_mss;
	req->sack_ok = syn->opt.sack_ok && st->cfg.tcp_sack;
	req->tstamp_ok = syn->opt.has_ts && st->cfg.tcp_timestamps;
	req->ts_recent = syn->opt.has_ts ? syn->opt.tsval : 0;
	req->wscale_ok = syn->opt.has_wscale && st->cfg.tcp_window_scaling;
	/* tcp_ecn_create_request(): an ECN-setup SYN (ECE and CWR) is accepted unless tcp_ecn=0. */
	req->ecn_ok = (syn->flags & (TH_ECE | TH_CWR)) == (TH_ECE | TH_CWR) && st->cfg.tcp_ecn;
	req->snd_wscale = req->wscale_ok ? syn_wscale(syn) : 0;
	req->rcv_wscale = req->wscale_ok ? tcp_rcv_wscale(st, tcp_rcvbuf(st, l)) : 0;
	req->irs = syn->seq;
	req->c.laddr = syn->dst;
	req->c.raddr = syn->src;
	req->c.lport = syn->dport;
	req->c.rport = syn->sport;
}

/*
 * tcp_v4_syn_recv_sock() + tcp_create_openreq_child(): the full socket for
 * a completed handshake, in ESTABLISHED, already on the listener's accept
 * queue. The caller has checked the queue has room. Returns NULL when
 * memory runs out (the segment is then dropped, as a failed clone is).
 */
static struct sock *syn_recv_child(struct stack *st, struct sock *l, const struct request_sock *req,
				   const struct segment *ack, uint32_t id)
{
	struct sock *sk = sock_alloc(st, req->c.laddr.family, id);
	uint16_t ours;

	if (!sk)
		return NULL;
	sk->c.laddr = req->c.laddr;
	sk->c.raddr = req->c.raddr;
	sk->c.lport = req->c.lport;
	sk->c.rport = req->c.rport;
	sk->c.state = TCP_SYN_RECV;
	sk->bound = 1;
	sk->reuseaddr = l->reuseaddr;
	sk->reuseport = l->reuseport;
	sk->iss = req->iss;
	sk->irs = req->irs;
	sk->snd_una = sk->snd_nxt = req->iss + 1;
	sk->rcv_nxt = req->irs + 1;
	sk->wscale_ok = req->wscale_ok;
	sk->snd_wscale = req->snd_wscale;
	sk->rcv_wscale = req->rcv_wscale;
	sk->sack_ok = req->sack_ok;
	sk->tstamp_ok = req->tstamp_ok;
	sk->ts_recent = ack->opt.has_ts ? ack->opt.tsval : req->ts_recent;
	if (l->ext)
		sock_ext_copy(st, sk, l->ext); /* a child inherits the listener's options (sk_clone_lock) */
	ours = tcp_adv_mss(st, l, sk->c.laddr.family);
	sk->adv_mss = ours;
	sk->mss = tcp_send_mss(req->mss, ours, sk->tstamp_ok);
	sk->rcv_wnd = tcp_initial_window(st, tcp_rcvbuf(st, l), ours - (sk->tstamp_ok ? TCP_TS_COST : 0));
	/* RFC 7323 2.2: the window of a non-SYN segment is scaled. */
	sk->snd_wnd = (uint32_t)ack->win << sk->snd_wscale;
	sk->snd_wl1 = ack->seq;
	sk->snd_wl2 = ack->ack;
	bind_add(st, &sk->bind, sk->c.lport);
	return sk;
}

/* inet_csk_complete_hashdance(): the child takes the request's ehash slot
 * and joins the accept queue; then tcp_child_process() moves it on. */
static void child_enqueue(struct stack *st, struct sock *l, struct sock *sk)
{
	accept_queue_push(st, l, sk);
	stack_count(st, CNT_PASSIVEOPENS);
	l->ls->stats.handshakes++;
	sock_set_state(st, sk, TCP_ESTABLISHED);
}

static void tcp_rcv_state(struct stack *st, struct in_ctx *x, struct sock *sk);

/*
 * tcp_child_process(): the rest of the final ACK (data, FIN) goes to the
 * child. A bare ACK at the child's rcv_nxt, as nearly every handshake
 * ends, has no rest: the child took its window and timestamp from it
 * (syn_recv_child), its ACK field is the child's snd_una already (checked
 * against the request, or the cookie's ISN was taken from it), and the
 * child has nothing to send: tcp_rcv_state() would count nothing and
 * change nothing.
 */
static inline __attribute__((always_inline)) void child_process(struct stack *st, struct in_ctx *x,
								   struct sock *sk)
{
	const struct segment *seg = x->seg;

	if (seg->len || (seg->flags & TH_FIN) || seg->seq != sk->rcv_nxt)
		tcp_rcv_state(st, x, sk);
}

/* ---- LISTEN -------------------------------------------------------------- */

/*
 * tcp_fastopen_create_child(): a Fast Open SYN with a valid cookie (or
 * none needed). The child is made now, in SYN_RECV with the SYN's data
 * queued and acknowledged by its SYN-ACK, and put on the accept queue at
 * once, so accept() returns it before the handshake completes; it may
 * send before the final ACK. The SYN-ACK carries no cookie and is resent
 * by the child's own timer.
 */
static void tfo_child(struct stack *st, struct in_ctx *x, struct sock *l, uint32_t isn)
{
	const struct segment *seg = x->seg;
	struct request_sock tmp;
	struct sock *sk;

	memset(&tmp, 0, sizeof(tmp));
	req_take_options(st, &tmp, l, seg);
	tmp.listener = l;
	if (isn)
		tmp.iss = isn;
	else if (st->isn_fn && st->isn_fn(st->isn_ctx, seg, ISN_REQUEST, &tmp.iss))
		x->isn_adopted = 1;
	else
		tmp.iss = tcp_isn(st, &seg->dst, seg->dport, &seg->src, seg->sport);
	sk = accept_queue_reserve(l->ls) == 0 ? syn_recv_child(st, l, &tmp, seg, 0) : NULL;
	if (!sk) {
		drop(st, x, CNT_LISTENDROPS);
		return;
	}
	/* Only the SYN is known: its window is not scaled (RFC 7323 2.2), our SYN-ACK is out. */
	sk->snd_wnd = seg->win;
	sk->snd_wl1 = seg->seq;
	sk->snd_wl2 = 0;
	sk->snd_una = sk->iss;
	sk->snd_nxt = sk->iss + 1;
	sk->fastopen = 1;
	if (seg->len && sock_queue_append(st, sk, 1, seg->data, seg->len) == 0) {
		sk->rcv_nxt += seg->len;
		sk->syn_data_acked = 1; /* tcp_fastopen_add_skb() */
	}
	ehash_insert_hashed(st, &sk->c, x->lookup.hash);
	accept_queue_push(st, l, sk);
	l->ls->fastopen_qlen++;
	sk->tfo_counted = 1;
	stack_count(st, CNT_PASSIVEOPENS);
	tcp_send_syn(st, sk);
	sk_timer_arm(st, sk, TIMER_RTX, st->now + TIMEOUT_INIT);
	set_sock(st, x, &sk->c);
	note(x, ACT_FASTOPEN, -1);
}

/*
 * tcp_conn_request(): a SYN reached listener l. isn is 0, or the ISN a
 * recycled TIME_WAIT 4-tuple must use. Linux's order of checks matters and
 * is kept: cookies when the SYN queue is full, then the accept queue, then
 * the tcp_max_syn_backlog reserve when cookies are off.
 */
static void syn_recv(struct stack *st, struct in_ctx *x, struct sock *l, uint32_t isn)
{
	const struct segment *seg = x->seg;
	struct listen_state *ls = l->ls;
	struct request_sock *req;
	struct tcp_opts foc;
	int want_cookie = 0;

	if (!isn && (st->cfg.tcp_syncookies == 2 || syn_queue_full(ls))) {
		/* tcp_syn_flood_action() */
		if (st->cfg.tcp_syncookies) {
			want_cookie = 1;
			stack_count(st, CNT_TCPREQQFULLDOCOOKIES);
		} else {
			stack_count(st, CNT_TCPREQQFULLDROP);
			drop(st, x, CNT_LISTENDROPS);
			x->reason = CNT_TCPREQQFULLDROP;
			return;
		}
	}
	if (accept_queue_full(ls)) {
		/* Even with cookies: a full accept queue drops the SYN silently. */
		stack_count(st, CNT_LISTENOVERFLOWS);
		drop(st, x, CNT_LISTENDROPS);
		x->reason = CNT_LISTENOVERFLOWS;
		return;
	}
	if (!want_cookie && !st->cfg.tcp_syncookies &&
	    st->cfg.tcp_max_syn_backlog - (int)ls->qlen < st->cfg.tcp_max_syn_backlog / 4) {
		/* The last quarter of tcp_max_syn_backlog is kept for proven peers;
		 * this stack keeps no peer history, so no peer is proven. */
		drop(st, x, CNT_LISTENDROPS);
		return;
	}
	if (want_cookie) {
		struct request_sock tmp;

		memset(&tmp, 0, sizeof(tmp));
		req_take_options(st, &tmp, l, seg);
		tmp.listener = l; /* for its TCP_MAXSEG and buffer: the SYN-ACK reads them */
		tmp.cookie = 1;
		tmp.iss = cookie_isn(st, seg, &x->cookie_mss);
		if (st->isn_fn && st->isn_fn(st->isn_ctx, seg, ISN_COOKIE, &tmp.iss))
			x->isn_adopted = 1;
		/* Without timestamps there is nowhere to keep wscale and SACK. */
		if (!tmp.tstamp_ok) {
			tmp.wscale_ok = tmp.sack_ok = 0;
			tmp.rcv_wscale = tmp.snd_wscale = 0;
		}
		ls->last_overflow = st->now;
		ls->overflowed = 1;
		stack_count(st, CNT_SYNCOOKIESSENT);
		ls->stats.cookies_sent++;
		tcp_send_synack(st, &tmp, NULL);
		x->cookie = 1;
		note(x, ACT_COOKIE, -1);
		return;
	}
	if (st->nsocks >= st->cfg.max_sockets) {
		drop(st, x, CNT_SOCKETLIMIT);
		return;
	}
	/* tcp_try_fastopen(): a valid cookie makes the child now, data and all */
	memset(&foc, 0, sizeof(foc));
	if (tfo_server_check(st, l, seg, &foc)) {
		tfo_child(st, x, l, isn);
		return;
	}
	req = reqsk_alloc(st);
	if (!req) {
		drop(st, x, CNT_LISTENDROPS);
		return;
	}
	req_take_options(st, req, l, seg);
	if (isn) {
		req->iss = isn;
	} else if (st->isn_fn && st->isn_fn(st->isn_ctx, seg, ISN_REQUEST, &req->iss)) {
		x->isn_adopted = 1;
	} else {
		req->iss = tcp_isn(st, &seg->dst, seg->dport, &seg->src, seg->sport);
	}
	/* inet_csk_reqsk_queue_hash_add(): into ehash, SYN queue, timer armed. */
	ehash_insert_hashed(st, &req->c, x->lookup.hash);
	syn_queue_add(l, req);
	timer_arm(st, &req->timer, TIMER_REQ, st->now + TIMEOUT_INIT);
	tcp_send_synack(st, req, foc.fo_kind ? &foc : NULL);
	set_sock(st, x, &req->c);
	note(x, ACT_SYN_ACK, -1);
}

/*
 * cookie_v4_check(): an ACK reached the listener with no request. Returns
 * 1 when it was handled here (a valid cookie made a child, or the accept
 * queue was full), 0 to let the listener answer it with a RST.
 */
static int cookie_ack(struct stack *st, struct in_ctx *x, struct sock *l)
{
	const struct segment *seg = x->seg;
	struct request_sock tmp;
	struct sock *sk;
	uint16_t mss;
	int valid;

	if (!st->cfg.tcp_syncookies || (seg->flags & (TH_RST | TH_SYN)) || !(seg->flags & TH_ACK))
		return 0;
	/* tcp_synq_no_recent_overflow(): no cookie was sent lately, so none is checked. */
	if (!l->ls->overflowed || st->now - l->ls->last_overflow > SYNCOOKIE_VALID)
		return 0;
	valid = st->cookie_fn ? st->cookie_fn(st->cookie_ctx, seg, &mss) : -1;
	if (valid < 0)
		valid = cookie_check(st, seg, &mss) == 0;
	else
		x->isn_adopted = 1;
	if (!valid) {
		stack_count(st, CNT_SYNCOOKIESFAILED);
		x->isn_adopted = 0;
		return 0;
	}
	stack_count(st, CNT_SYNCOOKIESRECV);
	l->ls->stats.cookies_ok++;
	x->cookie = 1;
	x->cookie_mss = mss;
	memset(&tmp, 0, sizeof(tmp));
	tmp.c.laddr = seg->dst;
	tmp.c.raddr = seg->src;
	tmp.c.lport = seg->dport;
	tmp.c.rport = seg->sport;
	tmp.iss = seg->ack - 1;
	tmp.irs = seg->seq - 1;
	tmp.mss = mss;
	tmp.tstamp_ok = seg->opt.has_ts && st->cfg.tcp_timestamps;
	if (tmp.tstamp_ok) {
		uint8_t wscale_ok, sack_ok;

		cookie_ts_decode(seg->opt.tsecr, &wscale_ok, &tmp.snd_wscale, &sack_ok);
		tmp.wscale_ok = wscale_ok;
		tmp.sack_ok = sack_ok;
		tmp.rcv_wscale = tmp.wscale_ok ? tcp_rcv_wscale(st, tcp_rcvbuf(st, l)) : 0;
		tmp.ts_recent = seg->opt.tsval;
	}
	if (accept_queue_full(l->ls)) {
		stack_count(st, CNT_LISTENOVERFLOWS);
		drop(st, x, CNT_LISTENDROPS);
		x->reason = CNT_LISTENOVERFLOWS;
		return 1;
	}
	sk = accept_queue_reserve(l->ls) == 0 ? syn_recv_child(st, l, &tmp, seg, 0) : NULL;
	if (!sk) {
		drop(st, x, CNT_LISTENDROPS);
		return 1;
	}
	ehash_insert_hashed(st, &sk->c, x->lookup.hash);
	child_enqueue(st, l, sk);
	child_process(st, x, sk);
	set_sock(st, x, &sk->c);
	if (x->action != ACT_RST && x->action != ACT_RESET)
		note(x, ACT_QUEUED, -1);
	return 1;
}

/* RFC 9293 3.10.7.2: LISTEN. */
static void tcp_listen_rcv(struct stack *st, struct in_ctx *x, struct sock *l, uint32_t isn)
{
	const struct segment *seg = x->seg;

	x->listener = l;
	/* first, check for a RST: ignore it */
	if (seg->flags & TH_RST) {
		drop(st, x, CNT_TCPRESET);
		return;
	}
	/* second, check for an ACK: only a cookie can make it acceptable */
	if (seg->flags & TH_ACK) {
		if (cookie_ack(st, x, l))
			return;
		drop_with_reset(st, x, CNT_TCPFLAGS);
		return;
	}
	/* third, check for a SYN (Linux 6.x discards SYN+FIN) */
	if (!(seg->flags & TH_SYN) || (seg->flags & TH_FIN)) {
		drop(st, x, CNT_TCPFLAGS);
		return;
	}
	l->ls->stats.syns++;
	/* tcp_v4_conn_request(): never answer a broadcast or multicast SYN */
	if (addr_is_multicast(&seg->dst) || addr_is_multicast(&seg->src)) {
		drop(st, x, CNT_LISTENDROPS);
		return;
	}
	syn_recv(st, x, l, isn);
}

/* ---- SYN_RECV request sockets -------------------------------------------- */

static int in_window(uint32_t seq, uint32_t end_seq, uint32_t s_win, uint32_t e_win)
{
	/* tcp_in_window() */
	if (seq == s_win)
		return 1;
	if (seq_after(end_seq, s_win) && seq_before(seq, e_win))
		return 1;
	return seq == e_win && seq == end_seq;
}

/*
 * The SYN-ACK again, from a retransmission timer or for a duplicate SYN,
 * and the request's timer re-armed for req->retrans answers so far:
 * min(TCP_TIMEOUT_INIT << retrans, TCP_RTO_MAX), as reqsk_timer_handler().
 */
static void req_resend_synack(struct stack *st, struct request_sock *req)
{
	/* Past 7 doublings the cap holds; the check also keeps the shift defined. */
	vtime_t timeo = req->retrans >= 7 ? RTO_MAX : TIMEOUT_INIT << req->retrans;

	stack_count(st, CNT_RETRANSSEGS);
	stack_count(st, CNT_TCPSYNRETRANS);
	tcp_send_synack(st, req, NULL);
	timer_arm(st, &req->timer, TIMER_REQ, st->now + (timeo > RTO_MAX ? RTO_MAX : timeo));
}

/* The window a request's SYN-ACK offered (as its child's rcv_wnd starts). */
static uint32_t req_rcv_wnd(const struct stack *st, const struct request_sock *req)
{
	const struct sock *l = req->listener;

	return tcp_initial_window(st, tcp_rcvbuf(st, l),
				  tcp_adv_mss(st, l, req->c.laddr.family) - (req->tstamp_ok ? TCP_TS_COST : 0));
}

/* tcp_check_req(): a segment for a half-open connection. */
static void tcp_check_req(struct stack *st, struct in_ctx *x, struct request_sock *req)
{
	const struct segment *seg = x->seg;
	struct sock *l = req->listener;
	uint8_t flg = seg->flags & (TH_RST | TH_SYN | TH_ACK);
	struct sock *sk;

	x->listener = l;
	set_sock(st, x, &req->c);
	/* A retransmitted SYN: send the same SYN-ACK again, rate limited. */
	if (flg == TH_SYN && seg->seq == req->irs) {
		/*
		 * tcp_oow_rate_limited(): the first duplicate is answered at
		 * once; later ones only 500 ms after the previous answer. Like
		 * the kernel's 32-bit jiffies stamp, the time is kept in
		 * wrapping 32-bit milliseconds.
		 */
		uint32_t now_ms = (uint32_t)(st->now / VT_MSEC);

		if (req->last_oow && now_ms - req->last_oow < OOW_RATE_LIMIT / VT_MSEC) {
			drop(st, x, -1);
			return;
		}
		req->last_oow = now_ms ? now_ms : 1;
		req_resend_synack(st, req);
		note(x, ACT_SYN_ACK_RTX, -1);
		return;
	}
	/* An ACK of something we never sent goes to the listener, which resets it;
	 * the request survives. */
	if ((flg & TH_ACK) && seg->ack != req->iss + 1) {
		drop_with_reset(st, x, CNT_TCPINVALIDACK);
		return;
	}
	/*
	 * RFC 9293 3.10.7.4 first check: acceptable sequence number? One at
	 * the window's left edge always is (in_window's first test), as the
	 * handshake's final ACK is: then the window is not worked out.
	 */
	if (seg->seq != req->irs + 1 &&
	    !in_window(seg->seq, seg->seq + seg_seqlen(seg), req->irs + 1, req->irs + 1 + req_rcv_wnd(st, req))) {
		if (!(flg & TH_RST)) {
			tcp_send_ack_req(st, req);
			note(x, ACT_SEND_ACK, CNT_TCPINVALIDSEQ);
		} else {
			note(x, ACT_DROP, CNT_TCPINVALIDSEQ);
		}
		stack_count(st, CNT_TCPINVALIDSEQ);
		return;
	}
	if (seg->seq == req->irs)
		flg &= (uint8_t)~TH_SYN;
	/* An in-window RST or SYN ends the embryonic connection. */
	if (flg & (TH_RST | TH_SYN)) {
		stack_count(st, CNT_EMBRYONICRSTS);
		if (!(flg & TH_RST)) {
			tcp_send_reset(st, seg);
			note(x, ACT_RST, CNT_EMBRYONICRSTS);
		} else {
			reset_by_peer(st, x);
		}
		sock_destroy(st, &req->c);
		take_view(st, x, &req->c);
		return;
	}
	if (!(flg & TH_ACK)) {
		drop(st, x, CNT_TCPFLAGS);
		return;
	}
	/* tcp_v4_syn_recv_sock(): no room in the accept queue */
	if (accept_queue_full(l->ls)) {
		stack_count(st, CNT_LISTENOVERFLOWS);
		stack_count(st, CNT_LISTENDROPS);
		if (!st->cfg.tcp_abort_on_overflow) {
			/* Keep the request; the SYN-ACK timer gives the client another go. */
			req->acked = 1;
			note(x, ACT_DROP, CNT_LISTENOVERFLOWS);
			return;
		}
		stack_count(st, CNT_EMBRYONICRSTS);
		tcp_send_reset(st, seg);
		sock_destroy(st, &req->c);
		take_view(st, x, &req->c);
		note(x, ACT_RST, CNT_LISTENOVERFLOWS);
		return;
	}
	/* room in the accept queue's ring first: a child made cannot be dropped quietly */
	sk = accept_queue_reserve(l->ls) == 0 ? syn_recv_child(st, l, req, seg, req->c.id) : NULL;
	if (!sk) {
		drop(st, x, CNT_LISTENDROPS);
		return;
	}
	ehash_replace(st, &req->c, &sk->c);
	reqsk_retire(st, req);
	child_enqueue(st, l, sk);
	child_process(st, x, sk);
	set_sock(st, x, &sk->c);
	if (x->action != ACT_RST && x->action != ACT_RESET)
		note(x, ACT_QUEUED, -1);
}

/* ---- TIME_WAIT ------------------------------------------------------------ */

/* tcp_timewait_state_process(), TIME_WAIT proper (tcp_rfc1337 = 0). */
static void tcp_timewait_rcv(struct stack *st, struct in_ctx *x, struct tw_sock *tw)
{
	const struct segment *seg = x->seg;

	set_sock(st, x, &tw->c);
	if (seg->seq == tw->rcv_nxt && (seg_seqlen(seg) == 0 || (seg->flags & TH_RST)) &&
	    !(seg->flags & TH_SYN)) {
		if (seg->flags & TH_RST) {
			/* Linux lets a RST kill TIME_WAIT early (RFC 1337 says don't). */
			sock_destroy(st, &tw->c);
			take_view(st, x, &tw->c);
			reset_by_peer(st, x);
			return;
		}
		timer_arm(st, &tw->timer, TIMER_TW, st->now + TIMEWAIT_LEN);
		note(x, ACT_ACK, -1);
		return;
	}
	/* A new SYN beyond the old connection's sequence space may reuse the 4-tuple. */
	if ((seg->flags & (TH_SYN | TH_RST | TH_ACK)) == TH_SYN && seq_after(seg->seq, tw->rcv_nxt)) {
		struct lookup_info li = x->lookup;
		struct sock *l = listener_lookup(st, &seg->dst, seg->dport, x->lookup.hash, &li);

		if (l) {
			uint32_t isn = tw->snd_nxt + TW_ISN_GAP;

			x->lookup.wildcard = li.wildcard;
			x->lookup.reuseport = li.reuseport;
			x->lookup.group = li.group;
			sock_destroy(st, &tw->c);
			x->has_cv = 0;
			tcp_listen_rcv(st, x, l, isn ? isn : 1);
			if (x->action == ACT_SYN_ACK)
				x->action = ACT_TW_RECYCLE;
			return;
		}
	}
	if (seg->flags & TH_RST) {
		drop(st, x, CNT_TCPRESET);
		return;
	}
	/* An old duplicate or a retransmitted FIN: repeat our last ACK. */
	if (seg->flags & TH_FIN)
		timer_arm(st, &tw->timer, TIMER_TW, st->now + TIMEWAIT_LEN);
	tcp_send_ack_tw(st, tw);
	note(x, ACT_SEND_ACK, -1);
}

/*
 * tcp_time_wait(): sk leaves for a TIME_WAIT minisocket that holds its
 * 4-tuple and port for TCP_TIMEWAIT_LEN; sk itself closes.
 */
struct tw_sock *tcp_time_wait(struct stack *st, struct sock *sk)
{
	struct tw_sock *tw = twsk_alloc(st, sk->c.id);

	if (!tw) {
		tcp_done(st, sk, 0);
		return NULL;
	}
	tw->c.laddr = sk->c.laddr;
	tw->c.raddr = sk->c.raddr;
	tw->c.lport = sk->c.lport;
	tw->c.rport = sk->c.rport;
	tw->snd_nxt = sk->snd_nxt;
	tw->rcv_nxt = sk->rcv_nxt;
	tw->ts_recent = sk->ts_recent;
	tw->tstamp_ok = sk->tstamp_ok;
	tw->win = tcp_window_field(st, sk);
	tw->reuseaddr = sk->reuseaddr;
	tw->reuseport = sk->reuseport;
	ehash_replace(st, &sk->c, &tw->c);
	bind_remove(st, &sk->bind);
	bind_add(st, &tw->bind, tw->c.lport);
	timer_arm(st, &tw->timer, TIMER_TW, st->now + TIMEWAIT_LEN);
	/* The observer sees #id enter TIME_WAIT, and nothing of sk after that. */
	sock_set_state(st, sk, TCP_TIME_WAIT);
	sk->timewait = 1;
	tcp_done(st, sk, 0);
	return tw;
}

/*
 * tcp_done(): the connection is over. err (negative errno or 0) is what
 * the application's next call reports. The socket is freed now if nobody
 * holds it, otherwise when the application closes it.
 */
void tcp_done(struct stack *st, struct sock *sk, int err)
{
	if (err)
		sk->err = err;
	/* EstabResets is counted by sock_set_state(), as tcp_set_state() does. */
	sock_destroy(st, &sk->c);
}

/* ---- synchronized states ---------------------------------------------------- */

static int seq_acceptable(const struct sock *sk, const struct segment *seg)
{
	uint32_t len = seg_seqlen(seg), wnd = sk->rcv_wnd;

	/* RFC 9293 3.10.7.4, the four cases of the acceptability test */
	if (len == 0) {
		if (wnd == 0)
			return seg->seq == sk->rcv_nxt;
		return !seq_before(seg->seq, sk->rcv_nxt) && seq_before(seg->seq, sk->rcv_nxt + wnd);
	}
	if (wnd == 0)
		return 0;
	return (!seq_before(seg->seq, sk->rcv_nxt) && seq_before(seg->seq, sk->rcv_nxt + wnd)) ||
	       (!seq_before(seg->seq + len - 1, sk->rcv_nxt) && seq_before(seg->seq + len - 1, sk->rcv_nxt + wnd));
}

/*
 * tcp_rcv_fastopen_synack(): what a SYN-ACK to our Fast Open SYN says for
 * the next one - its cookie, if it brought one, and its MSS - goes into
 * the cache (tcp_fastopen_cache_set()).
 */
static void tfo_synack(struct stack *st, struct sock *sk, const struct segment *seg)
{
	uint16_t mss = seg->opt.has_mss ? seg->opt.mss : 0;

	sk->ext->syn_fastopen = 0;
	if (seg->opt.fo_kind && seg->opt.fo_len)
		tfo_cache_set(st, &sk->c.raddr, seg->opt.fo_cookie, seg->opt.fo_len, mss);
	else
		tfo_cache_set(st, &sk->c.raddr, NULL, 0, mss);
}

/* RFC 9293 3.10.7.3: SYN-SENT. */
static void tcp_syn_sent_rcv(struct stack *st, struct in_ctx *x, struct sock *sk)
{
	const struct segment *seg = x->seg;

	/* first, check the ACK */
	if ((seg->flags & TH_ACK) && (!seq_after(seg->ack, sk->iss) || seq_after(seg->ack, sk->snd_nxt))) {
		drop_with_reset(st, x, CNT_TCPINVALIDACK);
		return;
	}
	/* second, check the RST: only with an acceptable ACK */
	if (seg->flags & TH_RST) {
		if (!(seg->flags & TH_ACK)) {
			drop(st, x, CNT_TCPRESET);
			return;
		}
		stack_count(st, CNT_ATTEMPTFAILS);
		tcp_done(st, sk, -ECONNREFUSED);
		take_view(st, x, &sk->c);
		reset_by_peer(st, x);
		return;
	}
	/* fourth, check the SYN */
	if (!(seg->flags & TH_SYN)) {
		drop(st, x, CNT_TCPFLAGS);
		return;
	}
	sk->irs = seg->seq;
	sk->rcv_nxt = seg->seq + 1;
	sk->wscale_ok = seg->opt.has_wscale && st->cfg.tcp_window_scaling;
	sk->snd_wscale = sk->wscale_ok ? syn_wscale(seg) : 0;
	if (!sk->wscale_ok)
		sk->rcv_wscale = 0;
	sk->sack_ok = seg->opt.sack_ok && st->cfg.tcp_sack;
	sk->tstamp_ok = seg->opt.has_ts && st->cfg.tcp_timestamps;
	sk->ts_recent = seg->opt.has_ts ? seg->opt.tsval : 0;
	sk->mss = tcp_send_mss(syn_peer_mss(seg), sk->adv_mss, sk->tstamp_ok);
	sk->rcv_wnd = tcp_initial_window(st, tcp_rcvbuf(st, sk), sk->adv_mss - (sk->tstamp_ok ? TCP_TS_COST : 0));
	if (sk->ext && sk->ext->syn_fastopen)
		tfo_synack(st, sk, seg);
	if (seg->flags & TH_ACK) {
		uint32_t syn_data = sk->ext ? sk->ext->syn_data : 0, data_acked = seg->ack - sk->iss - 1;

		sk->snd_una = seg->ack;
		sk->snd_wnd = seg->win; /* a SYN-ACK's window is not scaled */
		sk->snd_wl1 = seg->seq;
		sk->snd_wl2 = seg->ack;
		sk->retries = 0;
		if (sk->rtt_on) {
			tcp_rtt_sample(sk, st->now - sk->ext->tx.rtt_start);
			sk->rtt_on = 0;
		}
		sk_timer_cancel(st, sk);
		sock_set_state(st, sk, TCP_ESTABLISHED);
		if (syn_data) {
			/*
			 * tcp_rcv_fastopen_synack(): the data our SYN carried is
			 * acknowledged (TCPI_OPT_SYN_DATA), or goes again at once,
			 * as it was sent, with the ACK on it instead of a bare ACK.
			 */
			if (data_acked)
				sock_queue_consume(st, sk, 0, data_acked);
			sk->ext->syn_data = 0;
			if (data_acked >= syn_data) {
				sk->syn_data_acked = 1;
			} else {
				sk->snd_nxt = sk->snd_una;
				tcp_send_range(st, sk, syn_data - data_acked);
				tcp_push(st, sk);
				note(x, ACT_ESTABLISHED, -1);
				return;
			}
		}
		tcp_send_ack(st, sk);
		tcp_push(st, sk);
		note(x, ACT_ESTABLISHED, -1);
		return;
	}
	/* Simultaneous open: SYN-RECEIVED, answer with our SYN again plus an ACK. */
	sock_set_state(st, sk, TCP_SYN_RECV);
	tcp_send_syn(st, sk);
	note(x, ACT_SYN_ACK, -1);
}

static void rcv_data(struct stack *st, struct in_ctx *x, struct sock *sk)
{
	const struct segment *seg = x->seg;
	uint32_t skip, n, space;

	if (sk->c.state != TCP_ESTABLISHED && sk->c.state != TCP_FIN_WAIT1 &&
	    sk->c.state != TCP_FIN_WAIT2)
		return; /* after the peer's FIN there is no more data (RFC 9293 step 7) */
	if (seq_after(seg->seq, sk->rcv_nxt)) {
		/* Out of order: this stack keeps no out-of-order queue, so the
		 * peer will resend; a duplicate ACK tells it where we are. */
		stack_count(st, CNT_TCPOFODROP);
		tcp_send_ack(st, sk);
		note(x, ACT_SEND_ACK, CNT_TCPOFODROP);
		return;
	}
	skip = sk->rcv_nxt - seg->seq;
	if (skip >= seg->len)
		return;
	if (sk->orphan) {
		/* tcp_rcv_state_process(): data for a closed application is an error. */
		stack_count(st, CNT_TCPABORTONDATA);
		tcp_send_reset(st, seg);
		tcp_done(st, sk, -ECONNRESET);
		take_view(st, x, &sk->c);
		note(x, ACT_RST, CNT_TCPABORTONDATA);
		return;
	}
	n = seg->len - skip;
	space = tcp_rcv_space(st, sk);
	if (n > space) {
		stack_count(st, CNT_TCPRCVQDROP);
		n = space;
	}
	if (n && sock_queue_append(st, sk, 1, seg->data + skip, n) < 0)
		n = 0;
	sk->rcv_nxt += n;
	note(x, ACT_DELIVER, -1);
}

/*
 * RFC 9293 3.10.7.4: every state after SYN-SENT, in the RFC's order of
 * checks; Linux's tcp_rcv_state_process() with tcp_validate_incoming()
 * (RFC 5961) and tcp_ack().
 */
static void tcp_rcv_state(struct stack *st, struct in_ctx *x, struct sock *sk)
{
	const struct segment *seg = x->seg;
	int fin_acked = 0;
	uint32_t old_rcv_nxt;

	set_sock(st, x, &sk->c);
	if (sk->c.state == TCP_SYN_SENT) {
		tcp_syn_sent_rcv(st, x, sk);
		return;
	}
	/* first, check the sequence number */
	if (!seq_acceptable(sk, seg)) {
		int why = seq_before(seg->seq + seg_seqlen(seg), sk->rcv_nxt + 1) ? CNT_TCPOLDSEQ
									    : CNT_TCPINVALIDSEQ;

		/* RFC 5961 4.2: a SYN is challenged "irrespective of the sequence
		 * number" (tcp_validate_incoming() jumps to syn_challenge here). */
		if ((seg->flags & (TH_SYN | TH_RST)) == TH_SYN) {
			challenge_ack(st, x, sk);
			return;
		}
		stack_count(st, why);
		if (seg->flags & TH_RST) {
			note(x, ACT_DROP, why);
			return;
		}
		tcp_send_ack(st, sk);
		note(x, ACT_SEND_ACK, why);
		return;
	}
	/* second, check the RST bit (RFC 5961 3.2: exact match or challenge) */
	if (seg->flags & TH_RST) {
		if (seg->seq != sk->rcv_nxt) {
			challenge_ack(st, x, sk);
			return;
		}
		tcp_done(st, sk, sk->c.state == TCP_CLOSE_WAIT ? -EPIPE : -ECONNRESET);
		take_view(st, x, &sk->c);
		reset_by_peer(st, x);
		return;
	}
	/* fourth, check the SYN bit (RFC 5961 4.2: challenge, never reset) */
	if (seg->flags & TH_SYN) {
		challenge_ack(st, x, sk);
		return;
	}
	/* fifth, check the ACK field */
	if (!(seg->flags & TH_ACK)) {
		drop(st, x, CNT_TCPFLAGS);
		return;
	}
	if (sk->c.state == TCP_SYN_RECV) {
		/* a simultaneous open's full socket, or a Fast Open child */
		uint32_t data_acked;

		if (!seq_after(seg->ack, sk->snd_una) || seq_after(seg->ack, sk->snd_nxt)) {
			drop_with_reset(st, x, CNT_TCPINVALIDACK);
			return;
		}
		/* A Fast Open child may have sent data before this ACK: the SYN-ACK is one of what it acks. */
		data_acked = seg->ack - sk->snd_una - 1;
		if (data_acked)
			sock_queue_consume(st, sk, 0, data_acked);
		tfo_child_done(sk);
		sk->fastopen = 0;
		sock_set_state(st, sk, TCP_ESTABLISHED);
		sk->snd_una = seg->ack;
		sk->snd_wnd = (uint32_t)seg->win << sk->snd_wscale;
		sk->retries = 0;
		tcp_rearm_rtx(st, sk);
	}
	if (seq_after(seg->ack, sk->snd_nxt)) {
		/*
		 * tcp_ack(): an ACK of data never sent makes the whole segment
		 * (its data and FIN too) be discarded without an answer
		 * (SKB_DROP_REASON_TCP_ACK_UNSENT_DATA); RFC 9293 3.10.7.4 would
		 * send an ACK, Linux does not (packetdrill's ts_recent/invalid_ack).
		 */
		drop(st, x, CNT_TCPINVALIDACK);
		return;
	}
	if (sk->tstamp_ok && seg->opt.has_ts && !seq_after(seg->seq, sk->rcv_nxt))
		sk->ts_recent = seg->opt.tsval;
	if (seq_after(seg->ack, sk->snd_una)) {
		uint32_t acked = seg->ack - sk->snd_una, out = tcp_packets_out(sk);

		if (sk->fin_sent && !seq_before(seg->ack, sk->ext->tx.fin_seq + 1)) {
			fin_acked = 1;
			acked--;
		}
		sock_queue_consume(st, sk, 0, acked);
		sk->snd_una = seg->ack;
		sk->retries = 0;
		if (out > tcp_packets_out(sk))
			tcp_cwnd_acked(sk, out - tcp_packets_out(sk));
		if (sk->rtt_on && seq_after(seg->ack, sk->ext->tx.rtt_seq)) {
			tcp_rtt_sample(sk, st->now - sk->ext->tx.rtt_start);
			sk->rtt_on = 0;
		}
		tcp_rearm_rtx(st, sk);
	} else if (sk->fin_sent && sk->snd_una == sk->ext->tx.fin_seq + 1) {
		fin_acked = 1;
	}
	/* RFC 9293: update the send window only from newer segments */
	if (seq_before(sk->snd_wl1, seg->seq) || (sk->snd_wl1 == seg->seq && !seq_before(seg->ack, sk->snd_wl2))) {
		sk->snd_wnd = (uint32_t)seg->win << sk->snd_wscale;
		sk->snd_wl1 = seg->seq;
		sk->snd_wl2 = seg->ack;
	}
	note(x, ACT_ACK, -1);
	switch (sk->c.state) {
	case TCP_FIN_WAIT1:
		if (fin_acked) {
			sock_set_state(st, sk, TCP_FIN_WAIT2);
			if (sk->orphan)
				sk_timer_arm(st, sk, TIMER_FINWAIT2,
					  st->now + (vtime_t)st->cfg.tcp_fin_timeout * VT_SEC);
		}
		break;
	case TCP_CLOSING:
		if (fin_acked) {
			struct tw_sock *tw = tcp_time_wait(st, sk);

			take_view(st, x, tw ? &tw->c : &sk->c);
			return;
		}
		break;
	case TCP_LAST_ACK:
		if (fin_acked) {
			tcp_done(st, sk, 0);
			take_view(st, x, &sk->c);
			return;
		}
		break;
	default:
		break;
	}
	/* seventh, process the segment text */
	old_rcv_nxt = sk->rcv_nxt;
	if (seg->len) {
		rcv_data(st, x, sk);
		if (x->action == ACT_RST)
			return;
		if (x->action == ACT_SEND_ACK) {
			/* Out-of-order data ends here, but what the ACK field did still counts:
			 * it may have opened the window or acknowledged the SYN a FIN waits for. */
			tcp_push(st, sk);
			take_view(st, x, &sk->c);
			return;
		}
	}
	/* eighth, check the FIN bit */
	if ((seg->flags & TH_FIN) && seg->seq + seg->len == sk->rcv_nxt &&
	    (sk->c.state == TCP_ESTABLISHED || sk->c.state == TCP_FIN_WAIT1 ||
	     sk->c.state == TCP_FIN_WAIT2)) {
		sk->rcv_nxt++;
		sk->rcv_fin = 1;
		tcp_send_ack(st, sk);
		note(x, ACT_FIN, -1);
		switch (sk->c.state) {
		case TCP_ESTABLISHED:
			sock_set_state(st, sk, TCP_CLOSE_WAIT);
			break;
		case TCP_FIN_WAIT1:
			sock_set_state(st, sk, TCP_CLOSING);
			break;
		case TCP_FIN_WAIT2: {
			struct tw_sock *tw = tcp_time_wait(st, sk);

			take_view(st, x, tw ? &tw->c : &sk->c);
			return;
		}
		default:
			break;
		}
	} else if (sk->rcv_nxt != old_rcv_nxt) {
		tcp_send_ack(st, sk);
	}
	tcp_push(st, sk);
	take_view(st, x, &sk->c);
}

/* ---- the demultiplexer -------------------------------------------------------- */

/*
 * __inet_lookup_skb(): established table first, listeners second. Returns
 * through the in_ctx what was found and done.
 */
static void tcp_demux(struct stack *st, struct in_ctx *x, struct stack_probe *pr)
{
	const struct segment *seg = x->seg;
	struct sock_common *c;
	struct sock *l;

	if (pr)
		c = ehash_probe(st, &seg->dst, seg->dport, &seg->src, seg->sport, pr, &x->lookup);
	else
		c = ehash_lookup(st, &seg->dst, seg->dport, &seg->src, seg->sport, &x->lookup);
	if (c) {
		x->lookup.entry = c->id;
		switch (c->kind) {
		case SK_TW:
			x->lookup.result = LOOKUP_TIMEWAIT;
			tcp_timewait_rcv(st, x, sk_tw(c));
			return;
		case SK_REQUEST:
			x->lookup.result = LOOKUP_REQUEST;
			tcp_check_req(st, x, sk_req(c));
			return;
		default:
			x->lookup.result = LOOKUP_ESTABLISHED;
			x->fd = sk_full(c)->fd;
			tcp_rcv_state(st, x, sk_full(c));
			return;
		}
	}
	l = listener_lookup(st, &seg->dst, seg->dport, x->lookup.hash, &x->lookup);
	if (l) {
		x->lookup.result = LOOKUP_LISTENER;
		tcp_listen_rcv(st, x, l, 0);
		return;
	}
	x->lookup.result = LOOKUP_NONE;
	/* tcp_v4_rcv() no_tcp_socket: RFC 9293 3.10.7.1 */
	drop_with_reset(st, x, CNT_NOSOCKET);
}

/*
 * A segment that consulted listener l (directly or through one of its
 * requests) is done: its drop or reset counted under l, and the queues'
 * peaks taken (they grow only on segments; accept() and timers shrink
 * them).
 */
static void listener_account(struct stack *st, struct sock *l, const struct in_ctx *x)
{
	struct listener_stats *s;

	if (!sk_listen(l))
		return; /* a request outliving its listener's close() */
	s = &l->ls->stats;
	if ((x->action == ACT_DROP || x->action == ACT_RST) && x->reason >= 0 && x->reason < CNT_COUNT)
		s->drops[x->reason]++;
	if (l->ls->qlen > s->peak_syn) {
		s->peak_syn = l->ls->qlen;
		s->peak_syn_t = st->now;
	}
	if (l->ls->ack_backlog > s->peak_accept) {
		s->peak_accept = l->ls->ack_backlog;
		s->peak_accept_t = st->now;
	}
}

int tcp_input(struct stack *st, const struct segment *seg, int64_t frame, struct stack_probe *pr)
{
	struct in_ctx x;
	struct event ev;
	size_t slot = st->npend;
	struct stack_probe *saved;
	int observed = st->obs != NULL;

	memset(&x, 0, offsetof(struct in_ctx, cv)); /* cv: see struct in_ctx */
	x.seg = seg;
	x.reason = -1;
	x.fd = -1;
	stack_count(st, CNT_INSEGS);
	if (observed) {
		/*
		 * Hold the first event slot: the segment's own event goes out
		 * first. With nobody observing (replay --quiet) the event,
		 * 192 bytes to clear, is never built.
		 */
		memset(&ev, 0, sizeof(ev));
		ev.type = EV_SEGMENT_IN;
		stack_emit(st, &ev);
	}
	saved = st->probe; /* a segment the stack sends itself (loopback) is processed inside */
	st->probe = pr;
	tcp_demux(st, &x, pr);
	st->probe = saved;
	if (x.listener)
		listener_account(st, x.listener, &x);
	if (!observed || !st->obs)
		return x.fd;
	ev.t = st->now;
	ev.frame = frame;
	ev.lookup = x.lookup;
	ev.action = x.action;
	ev.reason = x.reason;
	ev.cookie = x.cookie;
	ev.cookie_mss = x.cookie_mss;
	ev.isn_adopted = x.isn_adopted;
	if (x.listener) {
		ev.has_listener = 1;
		listener_view_of(x.listener, &ev.listener);
	}
	if (x.has_cv) {
		ev.has_sock = 1;
		ev.sock = x.cv;
	}
	if (slot < st->npend) {
		st->pend[slot].ev = ev;
		st->pend[slot].ev.seg = NULL;
		st->pend[slot].seg = *seg;
		st->pend[slot].data_off = (size_t)-1;
	}
	return x.fd;
}

/* ---- timers ------------------------------------------------------------------- */

static void timer_event(struct stack *st, struct sock_common *c, uint8_t action, uint32_t retries)
{
	struct event ev;

	if (!st->obs)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.type = EV_TIMER;
	ev.t = st->now;
	ev.frame = -1;
	ev.reason = -1;
	ev.action = action;
	ev.retries = retries;
	ev.has_sock = 1;
	sock_view_of(st, c, &ev.sock);
	if (c->kind == SK_REQUEST && sk_req(c)->listener) {
		ev.has_listener = 1;
		listener_view_of(sk_req(c)->listener, &ev.listener);
	}
	stack_emit(st, &ev);
}

/* reqsk_timer_handler(): SYN-ACK again at 1, 3, 7, 15, 31 s; gone at 63 s. */
static void req_timer(struct stack *st, struct request_sock *req)
{
	if (req->retrans >= st->cfg.tcp_synack_retries) {
		timer_event(st, &req->c, ACT_EXPIRE, req->retrans);
		sock_destroy(st, &req->c);
		return;
	}
	timer_event(st, &req->c, ACT_SYN_ACK_RTX, req->retrans + 1u);
	req->retrans++;
	req_resend_synack(st, req);
}

/* tcp_retransmit_timer() / tcp_write_timeout(). Its timer lives in tx, sk's ext. */
static void rtx_timer(struct stack *st, struct sock *sk, struct sock_tx *tx)
{
	/* tcp_write_timeout(): the SYN retry limit for both handshake states */
	int limit = sk->c.state == TCP_SYN_SENT || sk->c.state == TCP_SYN_RECV ? st->cfg.tcp_syn_retries
										 : st->cfg.tcp_retries2;

	if (sk->snd_una == sk->snd_nxt) {
		/* The persist timer: a zero window keeps queued data (or our FIN) waiting. */
		if (!sk_snd_len(sk) && !(sk->fin_queued && !sk->fin_sent))
			return;
		if (sk->retries >= st->cfg.tcp_retries2) {
			timer_event(st, &sk->c, ACT_EXPIRE, sk->retries);
			stack_count(st, CNT_TCPABORTONTIMEOUT);
			tcp_done(st, sk, -ETIMEDOUT);
			return;
		}
		sk->retries++;
		tx->rto = tcp_rto_backoff(tx->rto);
		tcp_send_probe(st, sk);
		tcp_push(st, sk);
		if (!timer_armed(&tx->timer))
			timer_arm(st, &tx->timer, TIMER_RTX, st->now + tx->rto);
		return;
	}
	stack_count(st, CNT_TCPTIMEOUTS);
	if (sk->retries >= limit) {
		timer_event(st, &sk->c, ACT_EXPIRE, sk->retries);
		if (sk->c.state == TCP_SYN_SENT)
			stack_count(st, CNT_ATTEMPTFAILS);
		else
			stack_count(st, CNT_TCPABORTONTIMEOUT);
		tcp_done(st, sk, -ETIMEDOUT);
		return;
	}
	sk->retries++;
	timer_event(st, &sk->c, ACT_RETRANSMIT, sk->retries);
	if (sk->c.state != TCP_SYN_SENT && sk->c.state != TCP_SYN_RECV)
		tcp_cwnd_loss(sk);
	tcp_retransmit(st, sk);
	/*
	 * Linux 6.x retries an unanswered SYN at a steady 1 s for the first
	 * tcp_syn_linear_timeouts retransmissions, then backs off: SYNs at
	 * 0, 1, 2, 3, 4, 5, 7, 11 ... s (seen in traces/kernel/backlog-overflow).
	 */
	if (sk->c.state != TCP_SYN_SENT || sk->retries > st->cfg.tcp_syn_linear_timeouts)
		tx->rto = tcp_rto_backoff(tx->rto);
	timer_arm(st, &tx->timer, TIMER_RTX, st->now + tx->rto);
}

void tcp_timer_fire(struct stack *st, struct timer *t)
{
	switch (t->kind) {
	case TIMER_REQ:
		req_timer(st, container_of(t, struct request_sock, timer));
		break;
	case TIMER_RTX: {
		struct sock_tx *tx = container_of(t, struct sock_tx, timer);

		rtx_timer(st, tx->sk, tx);
		break;
	}
	case TIMER_FINWAIT2: {
		struct sock *sk = container_of(t, struct sock_tx, timer)->sk;

		/* tcp_keepalive_timer() for an orphan in FIN_WAIT2: give up with a RST. */
		timer_event(st, &sk->c, ACT_EXPIRE, 0);
		tcp_send_rst_sk(st, sk);
		tcp_done(st, sk, 0);
		break;
	}
	case TIMER_TW: {
		struct tw_sock *tw = container_of(t, struct tw_sock, timer);

		stack_count(st, CNT_TW);
		timer_event(st, &tw->c, ACT_EXPIRE, 0);
		sock_destroy(st, &tw->c);
		break;
	}
	default:
		break;
	}
}
