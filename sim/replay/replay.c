/*
 * replay.c - a capture of a real host, played through the stack: the
 * driver.
 *
 * Path: frame.c (libpcap) -> lookahead.c (the window read ahead) ->
 *       replay_frame(), in capture order:
 *         inbound segment  -> stack_input() -> events -> observe() ->
 *                             renderer, verify.c, pcap_out.c
 *         outbound segment -> replay_app.c: the application's send(),
 *                             shutdown(), connect(), abort() on the
 *                             stack's socket; verify_expected()
 *       and stack_advance() to each frame's time, so timers fire between
 *       frames as they did on the recorded host. The stack asks back for
 *       ISNs (isn_hook: the recorded SYN-ACK's, from the window) and SYN
 *       cookies (replay_cookie.c).
 *
 * The recorded outbound segments say what the real host did; the stack
 * produces its own answers, which is the point: a reader sees the lookups
 * and queue changes behind each answer, and --verify sets the stack's
 * answers beside the kernel's.
 *
 * Why read ahead: when a SYN arrives, the stack must pick its ISN, but the
 * real host's choice is in the SYN-ACK a few frames later. The same window
 * tells which hosts are local (they answer SYNs) before the SYNs they
 * answer are replayed, and whether the recorded host reset a stray
 * segment. Memory follows the window and the live connections, never the
 * file's size.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture_point.h"
#include "delay_line.h"
#include "emit.h"
#include "fanin.h"
#include "frame.h"
#include "lookahead.h"
#include "pcap_out.h"
#include "replay.h"
#include "replay_app.h"
#include "replay_cookie.h"
#include "tuplemap.h"
#include "verify.h"
#include "zmem.h"

struct rp {
	const struct replay_opts *o;  /* the options */
	struct renderer *r;           /* the trace's renderer, or NULL (--quiet) */
	struct frame_src *fs;         /* the capture file */
	struct stack *st;             /* the stack standing for the recorded host */
	struct lookahead *la;         /* frames read ahead, and their index */
	struct replay_app app;        /* the recorded host's application */
	struct replay_cookies cookies; /* SYN cookies the recorded kernel issued */
	struct capture_point cp;      /* where the capture was taken, per connection */
	struct delay_line held;       /* inbound segments held back to the server's time */
	struct stack_probe head_pr;   /* the window's head frame's probe: the hash its prefetch computed */
	const struct stack_probe *head_hint; /* &head_pr when the head frame was prefetched, else NULL */
	uint32_t head_cp_hash;        /* ...and its capture-point hash (capture_point_prefetch), or 0 */
	uint64_t opens_measured;      /* PassiveOpens when a completed handshake was last measured */
	struct verify *v;             /* --verify, else NULL */
	struct pcap_out *dump;        /* --write, else NULL */
	int auto_local;               /* local addresses inferred (no --local) */
	int auto_listen;              /* listeners inferred (no --listen) */
	uint32_t nlocal;              /* local addresses known */
	int any_tcp;                  /* some frame held a TCP segment */
	int started;                  /* the first window has been read whole */
	vtime_t next_accept;          /* --accept every=MS: the next accept() tick */
	vtime_t last_t;               /* the latest frame time replayed: the clock never goes back */
	uint64_t back_steps;          /* frames whose timestamp was before the frame before */
	int64_t back_first;           /* the first of them (frame number) */
	vtime_t back_max;             /* the largest step back */
	int64_t first_in, first_out;  /* first inbound and outbound frame (0: none) */
	struct {
		struct ip_addr addr;      /* a listener of the recorded host... */
		uint16_t port;
		uint64_t drops;           /* ...SYNs it dropped (not answered before they were sent again) */
		uint64_t min_waiting;     /* the fewest connections that waited at one of those drops */
	} drops[REPLAY_MAX_LISTEN];
	int ndrops;                   /* listeners in drops[] */
	int no_answers;               /* no host in the first window answered a SYN: infer_servers() decided */
	uint64_t local_unseen;        /* bit i: --local i named no segment's address yet */
	uint64_t listen_syns[REPLAY_MAX_LISTEN]; /* at the end: SYNs each --listen option's listeners saw */
	char unlistened[ADDR_STRLEN + 8]; /* with --listen: the first SYN-ACK sender no listener covers, or "" */
	int64_t unlistened_frame;     /* ...and its frame */
	struct tuplemap nosyn;        /* senders of SYN-ACKs that answered no SYN: seq = how many, frame = the first */
	int hosts_full;               /* REPLAY_MAX_HOSTS reached: a host was not taken as local (1) */
	char hosts_full_addr[ADDR_STRLEN]; /* ...the first such host */
	char nosyn_first[ADDR_STRLEN + 8]; /* the summary's first SYN-ACK without a SYN ("addr:port") */
	struct replay_stats stats;    /* what the summary reports */
};

/*
 * The shortest gap between a SYN and its retransmission (Linux waits 1 s,
 * others 3 s; RFC 6298 allows no less than 1 s): anything closer is a
 * duplicate the capture made (one frame seen twice).
 */
#define SYN_RTX_MIN (200 * VT_MSEC)
/* How far after an inbound FIN a recorded FIN that crossed it is looked for. */
#define FIN_CROSS (1 * VT_MSEC)

static vtime_t vt_of(const struct rp *p, uint64_t ts)
{
	uint64_t t0 = la_t0(p->la);

	return ts > t0 ? ts - t0 : 0;
}

/* ---- what is local ---------------------------------------------------------- */

static int add_local(struct rp *p, const struct ip_addr *a, vtime_t t, const char *why)
{
	char b[ADDR_STRLEN];

	if (stack_has_addr(p->st, a))
		return 0;
	if (p->nlocal >= REPLAY_MAX_HOSTS) {
		if (!p->hosts_full) {
			p->hosts_full = 1;
			addr_format(a, p->hosts_full_addr, sizeof(p->hosts_full_addr));
		}
		return -ENOSPC;
	}
	if (stack_add_addr(p->st, a) < 0)
		return -ENOMEM;
	p->nlocal++;
	if (p->r)
		emit_inferred(p->r, t, "local", addr_format(a, b, sizeof(b)), why);
	return 0;
}

/* How a SYN-ACK sender without a SYN is announced when it is taken as the server. */
#define NOSYN_SERVER \
	"it sent a SYN-ACK (frame %lld) whose SYN is not in the capture, and no host in the capture answered one: taken as the server"

/*
 * Whether the window holds a RST from a:pa to b:pb at sequence number seq
 * (bare: one without ACK only, the kind tcp_v4_send_reset answers a
 * segment with).
 */
static int rst_ahead(struct rp *p, const struct ip_addr *a, uint16_t pa, const struct ip_addr *b, uint16_t pb,
		     uint32_t seq, int bare)
{
	const struct la_frame *rst;

	for (rst = la_find(p->la, LA_RST, a, pa, b, pb); rst; rst = la_next_same(p->la, rst))
		if (rst->seg.seq == seq && (!bare || !(rst->seg.flags & TH_ACK)))
			return 1;
	return 0;
}

/*
 * Whether the receiver of the SYN-ACK f reset it (a RST at its ack, in the
 * window): it had sent no SYN, so f is a reflection (forged SYNs in the
 * receiver's name), not a server's half of a connection.
 */
static int synack_reset(struct rp *p, const struct la_frame *f)
{
	const struct segment *s = &f->seg;

	return rst_ahead(p, &s->dst, s->dport, &s->src, s->sport, s->ack, 0);
}

/* Whether s (a SYN-ACK, or a RST with ACK) answers a SYN the window holds: it acknowledges that SYN. */
static int answers_syn(struct rp *p, const struct segment *s)
{
	const struct la_frame *syn = la_find(p->la, LA_SYN, &s->dst, s->dport, &s->src, s->sport);

	return syn && syn->seg.seq + 1 == s->ack;
}

/* A SYN-ACK f answered no SYN in the capture: its sender is noted, for the summary. */
static void note_nosyn(struct rp *p, const struct la_frame *f)
{
	static const struct ip_addr none;
	struct tuple_key k;
	struct tentry *e;
	int added;

	tkey_set(&k, 1, &f->seg.src, 0, &none, 0);
	e = p->nosyn.b ? tmap_put(&p->nosyn, &k, &added) : NULL;
	if (!e)
		return; /* out of memory: the summary counts fewer */
	if (added) {
		e->frame = f->n;
		e->ack = f->seg.sport;
	}
	e->seq++;
}

/* For the summary: the SYN-ACK senders that never became local. */
static int count_nosyn(void *ctx, struct tentry *e)
{
	struct rp *p = ctx;

	if (stack_has_addr(p->st, &e->k.a))
		return 0;
	p->stats.synack_nosyn += e->seq;
	p->stats.nosyn_hosts++;
	if (!p->stats.nosyn_first || e->frame < p->stats.nosyn_frame) {
		endpoint_format(&e->k.a, (uint16_t)e->ack, p->nosyn_first, sizeof(p->nosyn_first));
		p->stats.nosyn_first = p->nosyn_first;
		p->stats.nosyn_frame = e->frame;
	}
	return 0;
}

/*
 * A frame entered the window: learn from it what the recorded host is. A
 * host that answers a SYN with a SYN-ACK is local and listens on that
 * address and port; one that answers a SYN with a RST is local too.
 */
static void learn(struct rp *p, const struct la_frame *f)
{
	/* Announced now, before the frames it explains are replayed. */
	vtime_t t = stack_now(p->st);
	const struct segment *s = &f->seg;
	char why[160], b[ADDR_STRLEN];

	if (!f->status)
		p->any_tcp = 1;
	if (f->kind == LA_SYNACK) {
		/* The words are only built for news: most SYN-ACKs come from known listeners. */
		if (p->auto_local && !stack_has_addr(p->st, &s->src)) {
			/*
			 * Only an answer makes a server: a SYN-ACK to no SYN before
			 * it (a reflection attack's victim answering forged SYNs
			 * elsewhere, or a capture started mid-handshake) says
			 * nothing of the capture's host.
			 */
			if (answers_syn(p, s)) {
				snprintf(why, sizeof(why), "it answered a SYN from %s with a SYN-ACK (frame %lld)",
					 addr_format(&s->dst, b, sizeof(b)), (long long)f->n);
				add_local(p, &s->src, t, why);
			} else if (p->no_answers && !synack_reset(p, f)) {
				/* A capture of the servers' side alone, started before: as infer_servers() decided. */
				snprintf(why, sizeof(why), NOSYN_SERVER, (long long)f->n);
				add_local(p, &s->src, t, why);
			} else {
				note_nosyn(p, f);
				return;
			}
		}
		if (p->auto_listen && stack_has_addr(p->st, &s->src) &&
		    !replay_app_is_listener(&p->app, &s->src, s->sport)) {
			snprintf(why, sizeof(why), "it %s (frame %lld); backlog not in the capture, %d assumed",
				 answers_syn(p, s) ? "answered a SYN with a SYN-ACK"
						   : "sent a SYN-ACK whose SYN is not in the capture",
				 (long long)f->n, p->o->cfg.somaxconn);
			replay_app_listen(&p->app, &s->src, s->sport, -1, 0, t, why);
		} else if (!p->auto_listen && !p->unlistened[0] && stack_has_addr(p->st, &s->src) &&
			   !replay_app_is_listener(&p->app, &s->src, s->sport)) {
			/* For the warning on a --listen no SYN reached: where the recorded host did listen. */
			endpoint_format(&s->src, s->sport, p->unlistened, sizeof(p->unlistened));
			p->unlistened_frame = f->n;
		}
	} else if (f->kind == LA_RST && p->auto_local && (s->flags & TH_ACK)) {
		if (answers_syn(p, s)) {
			snprintf(why, sizeof(why), "it answered a SYN from %s with a RST (frame %lld)",
				 addr_format(&s->dst, b, sizeof(b)), (long long)f->n);
			add_local(p, &s->src, t, why);
		}
	}
}

/*
 * No host in the first window answered a SYN (a capture that starts
 * mid-stream, holds one direction only, or shows SYN-ACKs whose SYNs it
 * missed): the servers of what it holds are taken as local. Of a
 * connection's two ends the server is, in this order:
 *   - the end that was sent a SYN;
 *   - the end that sent a SYN-ACK (its SYN is not in the capture);
 *   - the end more peers talk to (fan-in: many clients, one address:port;
 *     fanin.h);
 *   - the end with the lower port (80 against 51234: a service port
 *     against an ephemeral one).
 * Resets are left out: a host resets what it never opened (the victim of
 * a reflection, answering SYN-ACKs to SYNs forged in its name). Each
 * server is also a listener, so that on a capture where both ends are
 * taken as local the server's end is the stack's side.
 */
static void infer_servers(struct rp *p)
{
	uint32_t i, n = la_count(p->la);
	char why[240], b[ADDR_STRLEN];
	struct fanin fan;

	/* Out of memory: no fan-in counts, and the port rule decides alone. */
	(void)fanin_init(&fan);
	for (i = 0; i < n; i++)
		if (!la_at(p->la, i)->status && !(la_at(p->la, i)->seg.flags & TH_RST))
			(void)fanin_add(&fan, &la_at(p->la, i)->seg);
	for (i = 0; i < n; i++) {
		const struct la_frame *f = la_at(p->la, i);
		const struct segment *s = &f->seg;
		const struct ip_addr *a;
		uint32_t peers_src, peers_dst;
		uint16_t port;

		/* A reset names no service (a host resets what it never opened: a reflection's victim). */
		if (f->status || (s->flags & TH_RST))
			continue;
		peers_src = fanin_peers(&fan, &s->src, s->sport);
		peers_dst = fanin_peers(&fan, &s->dst, s->dport);
		if ((s->flags & (TH_SYN | TH_ACK)) == TH_SYN) {
			a = &s->dst;
			port = s->dport;
			snprintf(why, sizeof(why),
				 "it was sent a SYN from %s (frame %lld), and no host in the capture answered one",
				 addr_format(&s->src, b, sizeof(b)), (long long)f->n);
		} else if ((s->flags & (TH_SYN | TH_ACK)) == (TH_SYN | TH_ACK)) {
			if (synack_reset(p, f))
				continue;
			a = &s->src;
			port = s->sport;
			snprintf(why, sizeof(why), NOSYN_SERVER, (long long)f->n);
		} else if (peers_src != peers_dst) {
			int src_serves = peers_src > peers_dst;

			a = src_serves ? &s->src : &s->dst;
			port = src_serves ? s->sport : s->dport;
			snprintf(why, sizeof(why),
				 "port %u talks with %u peers against its peer's %u (frame %lld: fan-in), and no host in the capture answered a SYN: taken as the server",
				 port, src_serves ? peers_src : peers_dst, src_serves ? peers_dst : peers_src, (long long)f->n);
		} else if (s->sport != s->dport) {
			a = s->sport < s->dport ? &s->src : &s->dst;
			port = s->sport < s->dport ? s->sport : s->dport;
			snprintf(why, sizeof(why),
				 "port %u is the lower of its connection's ports (frame %lld), and no host in the capture answered a SYN: taken as the server",
				 port, (long long)f->n);
		} else {
			continue;
		}
		if (p->auto_local)
			add_local(p, a, 0, why);
		if (p->auto_listen && stack_has_addr(p->st, a) && !replay_app_is_listener(&p->app, a, port)) {
			snprintf(why, sizeof(why),
				 "the server of a connection without an answered SYN (frame %lld); backlog not in the capture, %d assumed",
				 (long long)f->n, p->o->cfg.somaxconn);
			replay_app_listen(&p->app, a, port, -1, 0, 0, why);
		}
	}
	fanin_free(&fan);
}

/* ---- reading ahead --------------------------------------------------------------- */

/* Reads one more frame into the window and learns from it. Returns it, or NULL. */
static const struct la_frame *read_one(struct rp *p)
{
	const struct la_frame *f = la_read(p->la);

	if (f)
		learn(p, f);
	return f;
}

static int drop_known(struct rp *p, const struct la_frame *f);

/*
 * Reads ahead until the window holds a frame of kind k1 or k2 (0: none)
 * from a:pa to b:pb, or is full (deep: la_full(), else la_full_soft()).
 * Returns the frame of kind k1 if the window already held one, else the
 * first of either kind, else NULL.
 *
 * syn, when not NULL, is the head SYN (from b:pb to a:pa) whose answer
 * this is: the look also ends, with NULL, once syn is known to be a SYN
 * the recorded listener dropped (drop_known): it is not replayed, and
 * nothing further ahead can change that. Without that stop, a SYN
 * answered only after two retransmissions (1 s, then 2 s later) kept the
 * window three seconds deep from its first transmission on (in
 * zk_echo-connections 65,000 frames, 10 MB of decoded frames written once
 * for nothing, an eighth of its replay's time); with it, each
 * transmission keeps the window only until the next (41,000 frames at
 * most there).
 */
static inline const struct la_frame *wait_for(struct rp *p, int k1, int k2, const struct ip_addr *a, uint16_t pa,
				       const struct ip_addr *b, uint16_t pb, int deep, const struct la_frame *syn)
{
	const struct la_frame *e = la_find(p->la, k1, a, pa, b, pb);

	if (!e && k2)
		e = la_find(p->la, k2, a, pa, b, pb);
	if (e || (syn && drop_known(p, syn)))
		return e;
	/*
	 * Only a frame read now can change the answer: look at each one, not
	 * the index. The first that matches is the first of its kind in the
	 * window (none was before it), so it is what the index would give.
	 */
	while (!(deep ? la_full(p->la) : la_full_soft(p->la))) {
		const struct la_frame *f = read_one(p);

		if (!f)
			break;
		if ((f->kind == k1 || (k2 && f->kind == k2)) && la_is(f, f->kind, a, pa, b, pb))
			return f;
		/* The SYN sent again: the one thing that can make syn a drop. */
		if (syn && f->kind == LA_SYN && la_is(f, LA_SYN, b, pb, a, pa) && drop_known(p, syn))
			break;
	}
	return NULL;
}

/*
 * Reads as far ahead as the head frame's replay needs, and no further.
 * Only three decisions look ahead: which hosts are local (until one is
 * known), the ISN and listener for a SYN (until its SYN-ACK or RST), and
 * whether a segment of an unknown connection was reset (replay_inbound).
 * Reading on demand instead of always keeping the whole window keeps the
 * window a handful of frames deep on a busy capture, so the frame being
 * replayed is still in the cache from being decoded; a full window made
 * every frame a cache miss (25% of a replay's time).
 *
 * The one exception is the start: the first window is read whole before
 * the first frame is replayed, so every host and listener that answers a
 * SYN in the capture's first two seconds (or LA_MAX_FRAMES frames) is
 * known from the first frame on, as a reader of a short capture expects.
 */
static void look_ahead(struct rp *p, const struct la_frame *f)
{
	if (!p->started) {
		while (!la_full_soft(p->la))
			read_one(p);
		p->started = 1;
		if (p->auto_local && p->nlocal == 0) {
			p->no_answers = 1;
			infer_servers(p);
		}
	}
	if (p->auto_local)
		while (p->nlocal == 0 && !la_full_soft(p->la))
			read_one(p);
	if (!f->status && (f->seg.flags & (TH_SYN | TH_ACK)) == TH_SYN)
		wait_for(p, LA_SYNACK, LA_RST, &f->seg.dst, f->seg.dport, &f->seg.src, f->seg.sport, 1, f);
}

/* ---- the stack's questions ------------------------------------------------------------ */

/*
 * The stack's ISN hook: an active open takes the recorded SYN's ISN (the
 * application's connect()); a request or cookie the recorded SYN-ACK's,
 * when the window holds it.
 */
static int isn_hook(void *ctx, const struct segment *syn, int kind, uint32_t *isn)
{
	struct rp *p = ctx;
	const struct la_frame *e;

	if (kind == ISN_CONNECT)
		return replay_app_connect_isn(&p->app, isn);
	e = la_find(p->la, LA_SYNACK, &syn->dst, syn->dport, &syn->src, syn->sport);
	if (e && e->seg.ack == syn->seq + 1) {
		*isn = e->seg.seq;
		p->stats.isn_recorded++;
		if (kind == ISN_COOKIE)
			replay_cookie_remember(&p->cookies, syn, e->seg.seq, stack_now(p->st));
		return 1;
	}
	p->stats.isn_own++;
	return 0;
}

/* ---- one frame ------------------------------------------------------------------------ */

/*
 * An inbound segment (frame n) reaches the stack at time t. hint, if not
 * NULL, is a probe of it made by its prefetch (stack_prefetch).
 */
static void replay_inbound(struct rp *p, const struct segment *seg, int64_t n, vtime_t t,
			   const struct stack_probe *hint)
{
	struct stack_probe pr = { 0 }; /* one hash and lookup for the pick-up, the input and the drain */
	int fd, accepted = 0;

	if (hint)
		pr = *hint;
	if ((seg->flags & (TH_SYN | TH_RST | TH_ACK)) == TH_ACK &&
	    !stack_probe(p->st, &seg->dst, seg->dport, &seg->src, seg->sport, &pr)) {
		/*
		 * An ACK for a connection the stack does not know. If the
		 * recorded host reset it, it really was a stray; otherwise the
		 * connection predates the capture...
		 */
		const struct la_frame *rst = wait_for(p, LA_RST, 0, &seg->dst, seg->dport, &seg->src, seg->sport, 0, NULL);

		/* ...unless it answers a SYN cookie: the listener takes it. */
		if ((!rst || rst->seg.seq != seg->ack) && !replay_cookie_known(&p->cookies, seg) &&
		    replay_app_pick_up(&p->app, &seg->dst, seg->dport, &seg->src, seg->sport, seg->ack, seg->seq,
				       seg->win, seg->opt.has_ts, t) == 0 && p->v)
			verify_note(p->v, &seg->dst, seg->dport, &seg->src, seg->sport, VN_PICKED_UP);
	}
	if (p->v)
		verify_inbound(p->v, seg);
	fd = stack_input_probed(p->st, seg, n, &pr);
	if (stack_counter(p->st, CNT_PASSIVEOPENS) != p->opens_measured) {
		/* A handshake completed: where it was captured, if that waited for its ACK. */
		p->opens_measured = stack_counter(p->st, CNT_PASSIVEOPENS);
		capture_point_completed(&p->cp, &seg->dst, seg->dport, &seg->src, seg->sport, t);
	}
	if (p->o->tables == 1)
		emit_tables(p->r, p->st);
	if (p->o->accept_mode == ACCEPT_IMMEDIATE)
		accepted = replay_app_accept_all(&p->app, &seg->dst, seg->dport);
	/* Not a descriptor's news: it may have completed the handshake of one just accepted. */
	if (!replay_app_drain_fd(&p->app, fd) && accepted)
		replay_app_drain(&p->app, &seg->dst, seg->dport, &seg->src, seg->sport, &pr);
}

/*
 * A recorded SYN-ACK at its replay: the stack answered the SYN already.
 * When the window did not hold this SYN-ACK then (it came later than the
 * window reaches), the stack chose its own ISN; the recorded one is
 * adopted now, however late: the request is re-based (nothing of it can
 * be acknowledged yet), or, if the stack answered with a cookie and kept
 * nothing, the recorded ISN is remembered as the cookie its ACK returns.
 */
static void adopt_late_isn(struct rp *p, const struct la_frame *f, vtime_t t)
{
	const struct segment *sa = &f->seg;
	char subj[2 * ADDR_STRLEN + 8], a[ADDR_STRLEN], b[ADDR_STRLEN], why[160];
	struct segment syn;
	int r = stack_rebase_request(p->st, &sa->src, sa->sport, &sa->dst, sa->dport, sa->seq);

	if (r == -ENOENT && stack_counter(p->st, CNT_SYNCOOKIESSENT) &&
	    !stack_find(p->st, &sa->src, sa->sport, &sa->dst, sa->dport, NULL)) {
		/* The client's SYN as the cookie memory files it (its 4-tuple and MSS). */
		memset(&syn, 0, sizeof(syn));
		syn.src = sa->dst;
		syn.sport = sa->dport;
		syn.dst = sa->src;
		syn.dport = sa->sport;
		syn.opt = sa->opt;
		replay_cookie_remember(&p->cookies, &syn, sa->seq, t);
		return;
	}
	if (r != 1)
		return;
	p->stats.isn_rebased++;
	if (!p->r)
		return;
	snprintf(subj, sizeof(subj), "%s <- %s", endpoint_format(&sa->src, sa->sport, a, sizeof(a)),
		 endpoint_format(&sa->dst, sa->dport, b, sizeof(b)));
	snprintf(why, sizeof(why), "the recorded SYN-ACK (frame %lld) came after the stack's own: its request re-based to ISN %u",
		 (long long)f->n, sa->seq);
	emit_inferred(p->r, t, "isn", subj, why);
}

/*
 * The recorded host's segment acknowledges what it had received: every
 * inbound segment of the connection still held back that starts before
 * its ack reaches the stack now, before the application's call that the
 * segment stands for (a response follows its request, a FIN the peer's).
 * Delays measured in the handshake are estimates; this keeps cause before
 * effect when the path got faster.
 */
static void release_acked(struct rp *p, const struct segment *out, vtime_t t)
{
	struct held_seg h;

	while (p->held.n && delay_line_take_acked(&p->held, out, &h) == 0) {
		replay_inbound(p, &h.seg, h.n, t, NULL);
		free(h.data);
	}
}

/*
 * Which call a recorded FIN stands for. After close() (not shutdown()),
 * Linux answers data that still arrives with a RST of its own (no ACK
 * flag, seq = the data's ACK: tcp_rcv_state_process, TCPAbortOnData);
 * such a RST ahead in the window, at the sequence number after the FIN,
 * says the application closed, and the RST is the kernel's answer, not an
 * abort.
 */
static int fin_call(struct rp *p, const struct segment *seg)
{
	if (!(seg->flags & TH_FIN))
		return APP_FIN_SHUTDOWN;
	return rst_ahead(p, &seg->src, seg->sport, &seg->dst, seg->dport, seg->seq + seg->len + 1, 1) ? APP_FIN_CLOSE
												  : APP_FIN_SHUTDOWN;
}

static void replay_outbound(struct rp *p, const struct la_frame *f, vtime_t t)
{
	uint64_t picked;

	release_acked(p, &f->seg, t);
	if (p->v)
		verify_expected(p->v, &f->seg, t);
	/* Only a stack that chose an ISN of its own, or a cookie, can have one to re-base. */
	if ((f->seg.flags & (TH_SYN | TH_ACK)) == (TH_SYN | TH_ACK) && p->stats.isn_own)
		adopt_late_isn(p, f, t);
	picked = p->app.picked_up;
	replay_app_outbound(&p->app, &f->seg, t, fin_call(p, &f->seg));
	if (p->v && p->app.picked_up != picked)
		verify_note(p->v, &f->seg.src, f->seg.sport, &f->seg.dst, f->seg.dport, VN_PICKED_UP);
}

/* Which way a segment goes: 1 to a local address, -1 from one, 0 neither. */
static int direction(const struct rp *p, const struct segment *seg)
{
	int sides = stack_has_addrs(p->st, &seg->dst, &seg->src);
	int dst_local = sides & 1, src_local = sides >> 1;

	/* On loopback both ends are local: the listener's end is the stack's. */
	if (dst_local && !(src_local && replay_app_is_listener(&p->app, &seg->src, seg->sport)))
		return 1;
	if (src_local)
		return -1;
	return 0;
}

/* --accept every=MS: the application's accept() calls up to time t. */
static void accept_ticks(struct rp *p, vtime_t t)
{
	vtime_t every = p->o->accept_every;

	if (p->next_accept > t)
		return;
	/*
	 * Only segments put connections on the accept queue, and none arrive
	 * between two frames: the first tick after the last frame accepts all
	 * there is, and the later ticks up to t would find nothing. Skipping
	 * them keeps a long gap in the capture from costing one call per tick.
	 */
	stack_advance(p->st, p->next_accept);
	replay_app_accept_all(&p->app, NULL, 0);
	p->next_accept += every * ((t - p->next_accept) / every + 1);
}

/* The clock moves to t: accept() ticks, timers, settled comparisons, forgotten cookies. */
static void clock_to(struct rp *p, vtime_t t)
{
	if (p->o->accept_mode == ACCEPT_EVERY)
		accept_ticks(p, t);
	stack_advance(p->st, t);
	if (p->v)
		verify_tick(p->v, t);
	replay_cookie_sweep(&p->cookies, t);
}

/* Feeds the stack every held inbound segment due by upto, in due order. */
/*
 * The mirror of release_acked(): an inbound segment with data or a FIN is
 * due at t, but the host's first segment of the connection captured at or
 * after t does not acknowledge it, so the host sent that segment before
 * this one reached it (crossing FINs; a path slower than the handshake
 * said). Returns the capture time of that segment, to hold this one until
 * just after it, or 0 to deliver it now. Looks at most until bound, and at
 * most max frames ahead.
 */
static vtime_t not_yet_acked(struct rp *p, const struct segment *in, vtime_t t, vtime_t bound, uint32_t max)
{
	uint32_t i;

	if (!in->len && !(in->flags & TH_FIN))
		return 0;
	for (i = 0; i < max; i++) {
		const struct la_frame *g;
		vtime_t tg;

		if (i >= la_count(p->la) && (la_full_soft(p->la) || !read_one(p)))
			return 0;
		g = la_at(p->la, i);
		tg = vt_of(p, g->fr.ts);
		if (tg > bound)
			return 0;
		if (g->status || tg < t || g->seg.sport != in->dport || g->seg.dport != in->sport ||
		    !addr_equal(&g->seg.src, &in->dst) || !addr_equal(&g->seg.dst, &in->src))
			continue;
		/* The host's first segment from then on: does it know of this one? */
		return (g->seg.flags & TH_ACK) && !seq_after(g->seg.ack, in->seq) ? tg : 0;
	}
	return 0;
}

static void release_held(struct rp *p, vtime_t upto)
{
	struct held_seg h;
	struct stack_probe pr, next_pr;
	/*
	 * next_ok: next_pr holds the prefetch of what the next pop takes. A
	 * probe is copied only when filled, never cleared here: GCC cleared
	 * one with a rep stos on every call, mostly with nothing to release.
	 */
	int have_pr, next_ok = 0;
	vtime_t later;

	while (delay_line_due(&p->held) <= upto && delay_line_pop(&p->held, &h) == 0) {
		const struct segment *next = delay_line_peek(&p->held);

		/*
		 * The next one's chain loads while this one is replayed, and its
		 * probe keeps the hash for its turn: only the push below changes
		 * the line before the next pop, so that pop takes next.
		 */
		if ((have_pr = next_ok) != 0)
			pr = next_pr;
		if ((next_ok = next != NULL) != 0)
			stack_prefetch(p->st, &next->dst, next->dport, &next->src, next->sport, &next_pr);
		if ((later = not_yet_acked(p, &h.seg, h.due, h.due + (h.due - h.t), UINT32_MAX)) != 0 &&
		    delay_line_push(&p->held, &h.seg, h.n, h.t, later + 1) == 0) {
			next_ok = 0; /* h is held again, perhaps ahead of next */
			free(h.data);
			continue;
		}
		clock_to(p, h.due);
		replay_inbound(p, &h.seg, h.n, h.due, have_pr ? &pr : NULL);
		free(h.data);
	}
}

/*
 * The recorded SYN-ACK answering the inbound SYN f, from the window, or
 * NULL: none yet, or f was sent again before it was answered (its
 * retransmission is the one answered).
 */
static const struct la_frame *synack_of(struct rp *p, const struct la_frame *f)
{
	const struct segment *syn = &f->seg;
	const struct la_frame *sa = la_find(p->la, LA_SYNACK, &syn->dst, syn->dport, &syn->src, syn->sport);
	const struct la_frame *again = la_next_same(p->la, f);

	while (sa && (sa->n < f->n || sa->seg.ack != syn->seq + 1))
		sa = la_next_same(p->la, sa);
	if (!sa || (again && again->n < sa->n && again->seg.seq == syn->seq))
		return NULL;
	return sa;
}

/*
 * The client's ACK of the SYN-ACK sa (answering syn) in the window, read
 * ahead as far as 3x SYN -> SYN-ACK after sa: *sa_ack gets the gap, or
 * VT_NEVER when it came later (server side, whatever came after) or not at all.
 */
static void find_final_ack(struct rp *p, const struct segment *syn, const struct la_frame *sa, vtime_t syn_sa,
			   vtime_t *sa_ack)
{
	uint64_t bound = sa->fr.ts + 3 * syn_sa;
	/* Frame numbers are consecutive in the window: the SYN-ACK's place follows from its number. */
	uint32_t i = (uint32_t)(sa->n - la_head(p->la)->n) + 1;
	const struct la_frame *g;

	*sa_ack = VT_NEVER;
	while (!(g = la_scan_ack(p->la, &i, bound, sa->seg.seq + 1, &syn->src, syn->sport, &syn->dst, syn->dport)))
		if (i < la_count(p->la) || la_full_soft(p->la) || !read_one(p))
			return; /* past bound, or the window can read no further */
	*sa_ack = g->fr.ts - sa->fr.ts;
}

/*
 * An inbound SYN at the head of the window: its handshake tells where the
 * capture was taken for this connection, and how much its inbound
 * segments are delayed from now on.
 */
static void measure_handshake(struct rp *p, const struct la_frame *f, vtime_t t)
{
	const struct segment *syn = &f->seg;
	char subj[2 * ADDR_STRLEN + 8], a[ADDR_STRLEN], b[ADDR_STRLEN], why[256], g1[32], g2[32], g3[32];
	const struct la_frame *sa = synack_of(p, f);
	vtime_t syn_sa, sa_ack, delay;
	int side;

	if (!sa)
		return;
	syn_sa = sa->fr.ts > f->fr.ts ? sa->fr.ts - f->fr.ts : 0;
	if (capture_point_needs_ack(&p->cp, syn_sa))
		find_final_ack(p, syn, sa, syn_sa, &sa_ack);
	else
		sa_ack = VT_NEVER;
	if (sa_ack == VT_NEVER) {
		/* Undelayed: measured when (if) the stack completes the handshake. */
		capture_point_pending(&p->cp, &syn->dst, syn->dport, &syn->src, syn->sport, vt_of(p, sa->fr.ts),
				      syn_sa);
		return;
	}
	delay = capture_point_handshake(&p->cp, &syn->dst, syn->dport, &syn->src, syn->sport, syn_sa, sa_ack,
					&side, t);
	if (delay && p->v)
		verify_note(p->v, &syn->dst, syn->dport, &syn->src, syn->sport, VN_DELAYED);
	if (!delay || !p->r)
		return;
	snprintf(subj, sizeof(subj), "%s <- %s", endpoint_format(&syn->dst, syn->dport, a, sizeof(a)),
		 endpoint_format(&syn->src, syn->sport, b, sizeof(b)));
	snprintf(why, sizeof(why),
		 "%s (SYN->SYN-ACK %s, SYN-ACK->ACK %s at the capture point): its inbound segments reach the stack %s after the capture saw them",
		 capture_side_name(side), render_ms(syn_sa, g1, sizeof(g1)), render_ms(sa_ack, g2, sizeof(g2)),
		 render_ms(delay, g3, sizeof(g3)));
	emit_inferred(p->r, t, "delay", subj, why);
}

/*
 * Whether the recorded listener dropped the inbound SYN f: the client
 * sent it again (same ISN, a retransmission timeout later: a copy within
 * SYN_RTX_MIN is the capture's duplicate) before the host answered it with
 * a SYN-ACK or a RST. Its accept queue was full (or its SYN queue,
 * without cookies).
 */
static int listener_dropped(struct rp *p, const struct la_frame *f)
{
	const struct segment *syn = &f->seg;
	const struct la_frame *again = la_next_same(p->la, f), *a;

	while (again && again->fr.ts < f->fr.ts + SYN_RTX_MIN)
		again = la_next_same(p->la, again);
	if (!again || again->seg.seq != syn->seq || !replay_app_is_listener(&p->app, &syn->dst, syn->dport))
		return 0;
	for (a = la_find(p->la, LA_SYNACK, &syn->dst, syn->dport, &syn->src, syn->sport); a; a = la_next_same(p->la, a))
		if (a->n > f->n && a->n < again->n)
			return 0;
	for (a = la_find(p->la, LA_RST, &syn->dst, syn->dport, &syn->src, syn->sport); a; a = la_next_same(p->la, a))
		if (a->n > f->n && a->n < again->n)
			return 0;
	return 1;
}

/* The drops entry of the SYN's listener: its index, or p->ndrops when it has none yet. */
static int drop_slot(const struct rp *p, const struct segment *syn)
{
	int i;

	for (i = 0; i < p->ndrops; i++)
		if (p->drops[i].port == syn->dport && addr_equal(&p->drops[i].addr, &syn->dst))
			break;
	return i;
}

/* Whether follow_drop() will take a drop of the SYN syn (else the SYN is replayed after all). */
static int drop_followed(const struct rp *p, const struct segment *syn)
{
	return p->auto_listen && (drop_slot(p, syn) < p->ndrops || p->ndrops < REPLAY_MAX_LISTEN);
}

/*
 * Whether the SYN f at the head of the window, inbound, is already known
 * to be one the replay will not give the stack (replay_frame():
 * listener_dropped() and follow_drop()) with the window as it is. Reading
 * further cannot undo it: the SYN sent again and every frame before it
 * are in the window, listeners are only ever added, and only follow_drop()
 * fills the drops table. (The direction could only change if the SYN's
 * own source port turned out to be a listener on a local host, which no
 * frame of a plain client does.)
 */
static int drop_known(struct rp *p, const struct la_frame *f)
{
	/* The window's test first: most SYNs are not sent again, and it needs no address lookup. */
	return listener_dropped(p, f) && drop_followed(p, &f->seg) && direction(p, &f->seg) > 0;
}

/*
 * The recorded listener dropped the SYN f: without --listen (which makes
 * the stack's own backlog decide) the stack is not given it, as if it had
 * been lost; the drop is counted, the connection noted for --verify, and
 * the connections that may have filled the queue counted for the backlog
 * the summary infers. Returns 1 when the SYN is not to be replayed.
 */
static int follow_drop(struct rp *p, const struct la_frame *f, vtime_t t)
{
	const struct segment *syn = &f->seg;
	uint64_t waiting = replay_app_waiting(&p->app, &syn->dst, syn->dport);
	char subj[2 * ADDR_STRLEN + 8], a[ADDR_STRLEN], b[ADDR_STRLEN], why[200];
	int i;

	if (!drop_followed(p, syn))
		return 0;
	i = drop_slot(p, syn);
	if (i == p->ndrops) {
		p->ndrops++;
		p->drops[i].addr = syn->dst;
		p->drops[i].port = syn->dport;
		p->drops[i].min_waiting = waiting;
		snprintf(subj, sizeof(subj), "%s <- %s", endpoint_format(&syn->dst, syn->dport, a, sizeof(a)),
			 endpoint_format(&syn->src, syn->sport, b, sizeof(b)));
		snprintf(why, sizeof(why),
			 "the recorded listener did not answer the SYN (frame %lld) before it was sent again: its queue was full; SYNs it dropped are not given to the stack",
			 (long long)f->n);
		emit_inferred(p->r, t, "drop", subj, why);
	}
	p->drops[i].drops++;
	if (waiting < p->drops[i].min_waiting)
		p->drops[i].min_waiting = waiting;
	p->stats.listener_drops++;
	if (p->v)
		verify_note(p->v, &syn->dst, syn->dport, &syn->src, syn->sport, VN_LISTENER_DROP);
	return 1;
}

/* The backlog that explains each listener's drops, said once at the end. */
static void infer_backlogs(struct rp *p)
{
	char ep[ADDR_STRLEN], why[200];
	int i;

	for (i = 0; i < p->ndrops; i++) {
		uint64_t w = p->drops[i].min_waiting;

		endpoint_format(&p->drops[i].addr, p->drops[i].port, ep, sizeof(ep));
		if (w)
			snprintf(why, sizeof(why),
				 "backlog about %llu (%llu SYNs dropped while as few as %llu connections waited to cause a segment); its application did not accept at once",
				 (unsigned long long)(w - 1), (unsigned long long)p->drops[i].drops, (unsigned long long)w);
		else
			snprintf(why, sizeof(why),
				 "%llu SYNs dropped while no connection visibly waited: not a full accept queue the capture shows (a SYN queue without cookies, or a drop before the listener)",
				 (unsigned long long)p->drops[i].drops);
		emit_inferred(p->r, stack_now(p->st), "listener", ep, why);
	}
}

/* A segment to or from a local address: the --local options naming its ends have been seen. */
static void local_seen(struct rp *p, const struct segment *seg)
{
	int i;

	for (i = 0; i < p->o->nlocal; i++)
		if ((p->local_unseen >> i & 1) &&
		    (addr_equal(&p->o->local[i], &seg->src) || addr_equal(&p->o->local[i], &seg->dst)))
			p->local_unseen &= ~(1ull << i);
}

/*
 * Replays the window's head frame f: the clock moves to its time (timers
 * fire), then the segment goes to the stack (now, or held back while its
 * connection is delayed) or to the application.
 * Returns its direction (as direction(); 0 for a frame skipped); for an
 * inbound segment the stack was not given, *not_fed says why.
 */
static int replay_frame(struct rp *p, const struct la_frame *f, const char **not_fed)
{
	vtime_t t = vt_of(p, f->fr.ts), delay, crossed;
	int dir;

	if (t < p->last_t) {
		/* A timestamp before the frame before: replayed at that frame's time. */
		if (!p->back_steps++)
			p->back_first = f->n;
		if (p->last_t - t > p->back_max)
			p->back_max = p->last_t - t;
		t = p->last_t;
	}
	p->last_t = t;
	clock_to(p, t);
	if (f->status) {
		if (!p->stats.skipped[f->status]++)
			p->stats.first_skipped[f->status] = f->n;
		return 0;
	}
	if (f->dup) {
		/* The capture saw one frame twice: the host sent it, and the stack got it, once. */
		p->stats.duplicates++;
		*not_fed = "a duplicate: the capture saw this frame twice";
		return 0;
	}
	if (f->cut & SEG_CUT_PAYLOAD)
		p->stats.payload_cut++;
	if (f->cut & (SEG_CUT_OPTIONS | SEG_CUT_HEADER))
		p->stats.header_cut++;
	p->stats.tso_length_0 += f->tso;
	dir = direction(p, &f->seg);
	if (p->local_unseen && dir)
		local_seen(p, &f->seg);
	if (dir > 0) {
		if (!p->stats.inbound++)
			p->first_in = f->n;
		if ((f->seg.flags & (TH_SYN | TH_ACK)) == TH_SYN) {
			if (listener_dropped(p, f) && follow_drop(p, f, t)) {
				*not_fed = "the recorded listener dropped this SYN (its queue was full): not given to the stack";
				return 1;
			}
			measure_handshake(p, f, t);
		}
		delay = capture_point_delay(&p->cp, &f->seg, p->head_cp_hash, t);
		/* A FIN the host's next segment (a few frames on) does not acknowledge crossed it. */
		if (!delay && (f->seg.flags & TH_FIN) && (crossed = not_yet_acked(p, &f->seg, t, t + FIN_CROSS, 8)) != 0)
			delay = crossed - t + 1;
		if (!delay || delay_line_push(&p->held, &f->seg, f->n, t, t + delay) < 0)
			replay_inbound(p, &f->seg, f->n, t, p->head_hint);
	} else if (dir < 0) {
		if (!p->stats.outbound++)
			p->first_out = f->n;
		replay_outbound(p, f, t);
	} else {
		p->stats.ignored++;
	}
	return dir;
}

/* The frame itself, byte for byte, for a front end that writes the capture back (--annotate). */
static void emit_input_frame(struct rp *p, const struct la_frame *f, int dir, const char *not_fed)
{
	struct rec_frame rf = { f->n, frame_linktype(p->fs), f->fr.ts, la_t0(p->la), f->fr.caplen, f->fr.wirelen,
				f->fr.data, (int8_t)dir, f->status ? frame_skip_name(f->status) : NULL,
				f->status ? NULL : &f->seg, not_fed };

	emit_frame(p->r, &rf, p->last_t);
}

/* ---- output -------------------------------------------------------------------------- */

static void verify_report(void *ctx, const struct verify_report *rep)
{
	struct rp *p = ctx;

	emit_verify(p->r, rep);
}

/* Every comparison, for a front end that marks each segment (--annotate). */
static void verdict_report(void *ctx, const struct verify_report *rep)
{
	struct rp *p = ctx;

	emit_verdict(p->r, rep);
}

static void verify_conn_report(void *ctx, const struct verify_conn_report *rep)
{
	struct rp *p = ctx;

	emit_verify_conn(p->r, stack_now(p->st), rep);
}

static void observe(void *ctx, const struct event *ev)
{
	struct rp *p = ctx;

	if (p->v && ev->type == EV_SEGMENT_OUT)
		verify_ours(p->v, ev->seg, ev->t);
	if (p->dump && ev->type == EV_SEGMENT_OUT)
		pcap_out_write(p->dump, ev->seg, la_t0(p->la) + ev->t);
	emit_event(p->r, p->st, ev);
}

/* ---- the run ------------------------------------------------------------------------- */

/*
 * A replay that replayed nothing is no answer: one line says why (no
 * frame, a filter that matched none, no TCP, or a --local the capture
 * never names) and the exit status is 2. Returns 0 when something was
 * replayed, else -1 (the line written).
 */
static int refuse_nothing_replayed(const struct rp *p)
{
	const char *file = p->o->file;
	char b[ADDR_STRLEN];
	int i;

	for (i = 0; i < p->o->nlocal && i < 64; i++)
		if (p->local_unseen >> i & 1) {
			fprintf(stderr, "tcpdemux: %s: --local %s: no segment in the capture is to or from it\n", file,
				addr_format(&p->o->local[i], b, sizeof(b)));
			return -1;
		}
	if (p->stats.inbound || p->stats.outbound)
		return 0;
	if (!p->stats.frames)
		fprintf(stderr, "tcpdemux: %s: the capture holds no frames: nothing to replay\n", file);
	else if (p->stats.filtered == p->stats.frames)
		fprintf(stderr, "tcpdemux: %s: the filter '%s' matched none of its %llu frames: nothing to replay\n", file,
			p->o->filter ? p->o->filter : "", (unsigned long long)p->stats.frames);
	else if (!p->any_tcp)
		fprintf(stderr,
			"tcpdemux: %s: none of its %llu frames holds a TCP segment (the summary's skipped line says what they were): nothing to replay\n",
			file, (unsigned long long)(p->stats.frames - p->stats.filtered));
	else
		fprintf(stderr, "tcpdemux: %s: no TCP segment is to or from a local address: nothing to replay\n", file);
	return -1;
}

/* Adds each listener's SYNs to the --listen option it was opened for (a SO_REUSEPORT group's members all count). */
static void count_listen_syns(void *ctx, const struct listener_view *l)
{
	struct rp *p = ctx;
	struct listener_stats ls;
	int i;

	if (stack_listener_stats(p->st, l->id, &ls) < 0)
		return;
	for (i = 0; i < p->o->nlisten; i++)
		if (p->o->listen[i].port == l->port && addr_equal(&p->o->listen[i].addr, &l->addr))
			p->listen_syns[i] += ls.syns;
}

/*
 * One warning line for each --listen no SYN of the capture reached: a
 * listener the capture contradicts (the SYN-ACKs came from another port
 * or address), which would otherwise reset every SYN in silence.
 */
static void warn_unreached_listeners(struct rp *p)
{
	char b[ADDR_STRLEN + 8], where[ADDR_STRLEN + 96];
	int i;

	if (!p->o->nlisten || !p->stats.inbound)
		return;
	memset(p->listen_syns, 0, sizeof(p->listen_syns));
	stack_walk_listeners(p->st, count_listen_syns, p);
	where[0] = '\0';
	if (p->unlistened[0])
		snprintf(where, sizeof(where), "; the recorded host answered SYNs at %s (frame %lld)", p->unlistened,
			 (long long)p->unlistened_frame);
	for (i = 0; i < p->o->nlisten; i++)
		if (!p->listen_syns[i])
			fprintf(stderr, "tcpdemux: %s: warning: --listen %s: no SYN in the capture reached it%s\n", p->o->file,
				endpoint_format(&p->o->listen[i].addr, p->o->listen[i].port, b, sizeof(b)), where);
}

/*
 * One line on stderr for each way the capture is not what a replay
 * expects but can still be replayed: a single direction, a clock going
 * back.
 */
static void warn_capture(const struct rp *p)
{
	const char *file = p->o->file;
	char us[32];

	if (p->stats.inbound && !p->stats.outbound)
		fprintf(stderr,
			"tcpdemux: %s: warning: only one direction: segments to the recorded host from frame %lld on, none it sent; the stack answered them alone\n",
			file, (long long)p->first_in);
	else if (p->stats.outbound && !p->stats.inbound)
		fprintf(stderr,
			"tcpdemux: %s: warning: only one direction: segments the recorded host sent from frame %lld on, none it received; the stack had nothing to answer\n",
			file, (long long)p->first_out);
	if (p->app.lis_full[0])
		fprintf(stderr,
			"tcpdemux: %s: warning: more than %d listeners: from %s on, none more was opened (its handshakes were not replayed; name the listeners that matter with --listen)\n",
			file, REPLAY_MAX_HOSTS, p->app.lis_full);
	if (p->hosts_full)
		fprintf(stderr,
			"tcpdemux: %s: warning: more than %d hosts answered SYNs: from %s on, further hosts were not taken as local (their segments count as not to or from a local address; name the ones that matter with --local)\n",
			file, REPLAY_MAX_HOSTS, p->hosts_full_addr);
	if (p->back_steps) {
		render_time(p->back_max, us, sizeof(us));
		fprintf(stderr,
			"tcpdemux: %s: warning: timestamps go back at frame %lld (%llu frames, by up to %s s): each was replayed at the time of the frame before, as the clock never goes back\n",
			file, (long long)p->back_first, (unsigned long long)p->back_steps, us);
	}
}

static void rp_free(struct rp *p)
{
	pcap_out_close(p->dump);
	la_free(p->la);
	delay_line_free(&p->held);
	capture_point_free(&p->cp);
	replay_app_free(&p->app);
	replay_cookie_free(&p->cookies);
	tmap_free(&p->nosyn);
	verify_free(p->v);
	stack_free(p->st);
	frame_close(p->fs);
	zmem_free(p, sizeof(*p));
}

/* The summary's account of where the capture was taken. */
static void capture_summary(struct rp *p)
{
	static const char *const modes[] = { "auto", "server", "client" };
	struct rec_capture *c = &p->stats.capture;
	int side = capture_point_overall(&p->cp), i;

	c->mode = modes[p->o->capture_point >= 0 && p->o->capture_point <= 2 ? p->o->capture_point : 0];
	c->side = capture_side_key(side);
	c->side_words = capture_side_name(side);
	for (i = 0; i < SIDE_COUNT && i < 5; i++)
		c->handshakes[i] = p->cp.sides[i];
	c->syn_synack = cp_hist_median(&p->cp.syn_synack);
	c->synack_ack = cp_hist_median(&p->cp.synack_ack);
	c->delayed = p->cp.delayed;
}

/* The --local and --listen options: addresses and listeners before the first frame. */
static int setup_given(struct rp *p)
{
	const struct replay_opts *o = p->o;
	char b[ADDR_STRLEN];
	int i;

	for (i = 0; i < o->nlocal; i++)
		add_local(p, &o->local[i], 0, "given with --local");
	for (i = 0; i < o->nlisten; i++) {
		const struct replay_listen *l = &o->listen[i];
		int k, members = l->reuseport > 1 ? l->reuseport : 1, r = 0;

		/* A listener's own address is local, unless --local said otherwise. */
		if (p->auto_local && !addr_is_any(&l->addr))
			add_local(p, &l->addr, 0, "it listens (--listen)");
		for (k = 0; k < members && r == 0; k++)
			r = replay_app_listen(&p->app, &l->addr, l->port, l->backlog, l->reuseport > 0, 0,
					      l->reuseport > 0 ? "given with --listen (SO_REUSEPORT group member)"
							       : "given with --listen");
		if (r < 0) {
			fprintf(stderr, "tcpdemux: --listen %s: cannot listen there (an address no --local names, or listed twice)\n",
				endpoint_format(&l->addr, l->port, b, sizeof(b)));
			return -1;
		}
	}
	return 0;
}

int replay_run(const struct replay_opts *o)
{
	struct renderer *out = o->r ? o->r : o->summary_r;
	/* Mapped (zmem.h): most of its pages (the application's receive buffer, ...) a short capture never touches. */
	struct rp *p = zmem_alloc(sizeof(*p));
	struct la_frame *f;
	const char *msg, *not_fed;
	char err[768];
	int status = 0, dir;

	if (!p) {
		fprintf(stderr, "tcpdemux: out of memory\n");
		return 2;
	}
	p->o = o;
	p->r = o->r;
	p->fs = frame_open(o->file, o->filter, err, sizeof(err));
	if (!p->fs) {
		fprintf(stderr, "tcpdemux: %s\n", err);
		zmem_free(p, sizeof(*p));
		return 2;
	}
	p->st = stack_new(&o->cfg);
	if (p->st)
		replay_app_init(&p->app, p->st, p->r);
	p->la = la_new(p->fs, o->file, o->verify_checksums ? SEG_VERIFY_CSUM : 0, o->threads);
	delay_line_init(&p->held);
	if (!p->st || !p->la || replay_cookie_init(&p->cookies) < 0 ||
	    capture_point_init(&p->cp, o->capture_point) < 0 || tmap_init(&p->nosyn) < 0 ||
	    (o->verify && !(p->v = verify_new(verify_report, verify_conn_report, p)))) {
		fprintf(stderr, "tcpdemux: out of memory\n");
		rp_free(p);
		return 2;
	}
	if (p->v && p->r && (p->r->wants & RENDER_WANT_VERDICTS))
		verify_set_verdict_hook(p->v, verdict_report, p);
	if (o->write_path && !(p->dump = pcap_out_open(o->write_path))) {
		rp_free(p);
		return 2;
	}
	p->stats.file = o->file;
	p->stats.linktype = frame_linktype_name(p->fs);
	p->stats.precision = frame_precision(p->fs);
	p->stats.compression = frame_compression(p->fs);
	p->stats.filter = o->filter;
	/* With nobody reading events (--quiet alone), the stack need not queue any. */
	stack_set_observer(p->st, p->r || p->v || p->dump ? observe : NULL, p);
	stack_set_isn_hook(p->st, isn_hook, p);
	stack_set_cookie_hook(p->st, replay_cookie_check, &p->cookies);
	p->next_accept = o->accept_every;
	p->auto_local = o->nlocal == 0;
	p->local_unseen = o->nlocal >= 64 ? ~0ull : (1ull << o->nlocal) - 1;
	p->auto_listen = o->nlisten == 0;
	if (setup_given(p) < 0) {
		rp_free(p);
		return 2;
	}

	for (;;) {
		f = la_head(p->la);
		if (!f) {
			read_one(p);
			f = la_head(p->la);
		}
		p->head_hint = NULL; /* (head_pr is left as it was: only a prefetch below fills it, whole) */
		p->head_cp_hash = 0;
		if (f && !f->status) {
			/*
			 * What this frame's replay will look up loads while the
			 * held segments and the look-ahead run: its capture-point
			 * delay, and for a SYN (a miss, then an insert) its chain,
			 * whose hash its probe keeps.
			 */
			p->head_cp_hash = capture_point_prefetch(&p->cp, &f->seg);
			if ((f->seg.flags & (TH_SYN | TH_ACK)) == TH_SYN) {
				stack_prefetch(p->st, &f->seg.dst, f->seg.dport, &f->seg.src, f->seg.sport, &p->head_pr);
				p->head_hint = &p->head_pr;
			}
		}
		/* Held inbound segments due before this frame reach the stack first. */
		if (p->held.n)
			release_held(p, f ? vt_of(p, f->fr.ts) : VT_NEVER);
		if (f && !f->status)
			delay_line_prefetch(&p->held, &f->seg); /* for the host's frame's release_acked() */
		if (!f)
			break;
		look_ahead(p, f);
		not_fed = NULL;
		dir = replay_frame(p, f, &not_fed);
		if (p->r) /* --quiet: not even the record is built */
			emit_input_frame(p, f, dir, not_fed);
		la_pop(p->la);
	}
	frame_counts(p->fs, &p->stats.frames, &p->stats.filtered);
	p->stats.picked_up = p->app.picked_up;
	if (p->nosyn.b)
		tmap_sweep(&p->nosyn, count_nosyn, p);
	capture_summary(p);
	infer_backlogs(p);
	if (p->v) {
		verify_finish(p->v);
		p->stats.verify = verify_stats(p->v);
		p->stats.verify_nothing =
			verify_nothing_compared(p->v, !p->stats.inbound != !p->stats.outbound);
	}

	if (o->tables == 2)
		emit_tables(p->r, p->st);
	emit_summary(out, p->st, &p->stats);
	fflush(stdout);
	if (la_error(p->la, &msg)) {
		fprintf(stderr, "tcpdemux: %s\n", msg);
		status = 2;
	} else if (p->any_tcp && p->nlocal == 0) {
		fprintf(stderr,
			"tcpdemux: %s: no host in the capture answered a SYN, so no side could be taken as local (name it with --local ADDR)\n",
			o->file);
		status = 2;
	} else if (refuse_nothing_replayed(p) < 0) {
		status = 2;
	} else {
		/* Warnings only for a capture replayed to its end: a refused one gets its one line. */
		warn_unreached_listeners(p);
		warn_capture(p);
		if (p->stats.verify_nothing) {
			fprintf(stderr, "tcpdemux: %s: --verify: %s\n", o->file, p->stats.verify_nothing);
			status = 1;
		} else if (p->v && verify_agreement(&verify_stats(p->v)->c[VC_CONTROL]) < 1.0) {
			status = 1;
		}
	}
	rp_free(p);
	return status;
}
