/*
 * replay.c - a capture of a real host, played through the stack.
 *
 * Path: frame.c (libpcap) -> look-ahead ring -> replay_frame():
 *         inbound segment  -> stack_input() -> events -> renderer
 *         outbound segment -> the application's part: send(), shutdown(),
 *                             connect(), abort() on the stack's socket
 *       and stack_advance() to each frame's time, so timers fire between
 *       frames as they did on the recorded host.
 *
 * The recorded outbound segments say what the real host did; the stack
 * produces its own answers, which is the point: a reader sees the lookups
 * and queue changes behind each answer, and a later comparison can set the
 * stack's answers beside the kernel's.
 *
 * Why a look-ahead ring: when a SYN arrives, the stack must pick its ISN,
 * but the real host's choice is in the SYN-ACK a few frames later. The ring
 * holds frames ahead of the one being replayed (read on demand, at most two
 * seconds of capture, RING_MAX frames and RING_BYTES bytes), and an index
 * of the SYNs, SYN-ACKs and RSTs in it. The same window tells which hosts
 * are local (they answer SYNs) before the SYNs they answer are replayed,
 * and whether the recorded host reset a stray segment. Memory follows the
 * window and the live connections, never the file's size.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "pcap_out.h"
#include "replay.h"
#include "socket.h"
#include "tuplemap.h"
#include "verify.h"

#define LOOKAHEAD (2 * VT_SEC)
/* 2048 frames: enough for a SYN-ACK behind a burst, small enough to stay in cache. */
#define RING_MAX 2048u
#define RING_BYTES (32u << 20)
#define IDX_SIZE (2 * RING_MAX)

/* Kinds of frame in the look-ahead index (frame_kind), and of the cookie map's keys. */
enum { K_SYNACK = 1, K_RST, K_SYN, K_COOKIE };

/* TCP_SYNCOOKIE_VALID-ish: how long an adopted cookie is remembered. */
#define COOKIE_KEEP (120 * VT_SEC)
/* At most this many remembered at once: a SYN flood must not grow memory. */
#define COOKIE_MAX (1u << 16)

struct slot {
	struct frame fr;
	uint8_t *buf;
	size_t cap;
	uint8_t *pad;
	size_t padcap;
	struct segment seg;
	int status;
	int cut;
	int64_t n;
	uint8_t kind;      /* K_SYNACK, K_RST, K_SYN or 0 (frame_kind) */
	uint8_t indexed;   /* the index's frame for its key; ihash is then its hash */
	uint32_t ihash;
};

/*
 * What the application knows of a connection it holds, indexed by its
 * descriptor (conn_fd). The stack's ehash already maps the 4-tuple to the
 * socket and its descriptor (sys_lookup), so the replay keeps no map of its
 * own: 8 bytes per descriptor instead of a hashed entry per connection.
 */
struct rconn {
	uint32_t seq;      /* next byte the application writes, if have_seq */
	uint8_t have_seq;
	uint8_t fin_done;  /* shutdown(SHUT_WR) called */
};

struct rlistener {
	struct ip_addr addr;
	uint16_t port;
	int fd;
};

struct rp {
	const struct replay_opts *o;
	struct renderer *r;
	struct frame_src *fs;
	struct stack *st;
	struct slot *ring;
	uint32_t head, count;
	size_t ring_bytes;
	int eof, read_err;
	char err[768];
	int64_t nread;
	uint64_t t0;
	struct rconn *conn;   /* indexed by descriptor */
	int nconn;
	struct tuplemap cookies;
	uint32_t idx[IDX_SIZE]; /* look-ahead index: ring position + 1, 0 empty */
	vtime_t cookie_sweep;
	vtime_t next_accept;
	struct verify *v;
	int auto_local, auto_listen;
	uint32_t nlocal;
	struct rlistener lis[REPLAY_MAX_LISTEN];
	int nlis;
	struct replay_stats stats;
	uint32_t pending_isn;
	int have_pending_isn;
	int any_tcp;
	int started;           /* the first window has been read whole */
	uint64_t opens_seen;   /* PassiveOpens at the last accept_all() */
	int accept_left;       /* that call stopped on an error, not an empty queue */
	struct pcap_out *dump;
	uint8_t rbuf[65536];
};

static vtime_t vt_of(const struct rp *p, uint64_t ts)
{
	return ts > p->t0 ? ts - p->t0 : 0;
}

/* ---- what is local ---------------------------------------------------------- */

static int add_local(struct rp *p, const struct ip_addr *a, vtime_t t, const char *why)
{
	char b[ADDR_STRLEN];

	if (stack_has_addr(p->st, a))
		return 0;
	if (p->nlocal >= REPLAY_MAX_LOCAL || stack_add_addr(p->st, a) < 0)
		return -ENOSPC;
	p->nlocal++;
	if (p->r)
		p->r->ops->inferred(p->r, t, "local", addr_format(a, b, sizeof(b)), why);
	return 0;
}

static int is_listener_ep(const struct rp *p, const struct ip_addr *a, uint16_t port)
{
	int i;

	for (i = 0; i < p->nlis; i++)
		if (p->lis[i].port == port &&
		    (addr_equal(&p->lis[i].addr, a) || (addr_is_any(&p->lis[i].addr) &&
							p->lis[i].addr.family == a->family)))
			return 1;
	return 0;
}

int replay_listen_socket(struct stack *st, const struct ip_addr *a, uint16_t port, int backlog,
			 int reuseport)
{
	int fd = sys_socket(st, a->family), r;

	if (fd < 0)
		return fd;
	sys_setsockopt(st, fd, SOCKOPT_REUSEADDR, 1);
	if (reuseport)
		sys_setsockopt(st, fd, SOCKOPT_REUSEPORT, 1);
	r = sys_bind(st, fd, a, port);
	if (r == 0)
		r = sys_listen(st, fd, backlog);
	if (r < 0) {
		sys_close(st, fd);
		return r;
	}
	return fd;
}

static int add_listener(struct rp *p, const struct ip_addr *a, uint16_t port, int backlog,
			int reuseport, vtime_t t, const char *why)
{
	char b[ADDR_STRLEN];
	int fd;

	if (p->nlis >= REPLAY_MAX_LISTEN)
		return -ENOSPC;
	fd = replay_listen_socket(p->st, a, port, backlog, reuseport);
	if (fd < 0)
		return fd;
	p->lis[p->nlis].addr = *a;
	p->lis[p->nlis].port = port;
	p->lis[p->nlis].fd = fd;
	p->nlis++;
	if (p->r)
		p->r->ops->inferred(p->r, t, "listener", endpoint_format(a, port, b, sizeof(b)), why);
	return 0;
}

/* ---- the look-ahead index ------------------------------------------------------ */

/* What the index files a frame under, decided once as it is read. */
static int frame_kind(const struct slot *s)
{
	uint8_t f = s->seg.flags;

	if (s->status)
		return 0;
	if (f & TH_RST)
		return K_RST;
	if ((f & (TH_SYN | TH_ACK)) == (TH_SYN | TH_ACK))
		return K_SYNACK;
	if (f & TH_SYN)
		return K_SYN;
	return 0;
}

/*
 * The index maps (kind, 4-tuple) to the first frame of that kind in the
 * window. It holds at most RING_MAX entries, so it is a fixed open-addressed
 * table of ring positions (linear probing, twice the ring's size): entering
 * and leaving the window costs no allocation, and the keys are read from
 * the frames themselves.
 */
static uint32_t idx_hash(int kind, const struct ip_addr *a, uint16_t pa, const struct ip_addr *b,
			 uint16_t pb)
{
	return stack_ehash((uint32_t)kind, a, pa, b, pb);
}

static int idx_match(const struct slot *s, int kind, const struct ip_addr *a, uint16_t pa,
		     const struct ip_addr *b, uint16_t pb)
{
	return s->kind == kind && s->seg.sport == pa && s->seg.dport == pb &&
	       addr_equal(&s->seg.src, a) && addr_equal(&s->seg.dst, b);
}

static const struct slot *idx_get(const struct rp *p, int kind, const struct ip_addr *a,
				  uint16_t pa, const struct ip_addr *b, uint16_t pb)
{
	uint32_t i = idx_hash(kind, a, pa, b, pb) & (IDX_SIZE - 1);

	for (; p->idx[i]; i = (i + 1) & (IDX_SIZE - 1)) {
		const struct slot *s = &p->ring[p->idx[i] - 1];

		if (idx_match(s, kind, a, pa, b, pb))
			return s;
	}
	return NULL;
}

/*
 * Files s under its kind and 4-tuple, unless a frame already is there: the
 * first is kept, as a retransmission carries the same numbers.
 */
static void idx_add(struct rp *p, struct slot *s)
{
	uint32_t h = idx_hash(s->kind, &s->seg.src, s->seg.sport, &s->seg.dst, s->seg.dport), i;

	for (i = h & (IDX_SIZE - 1); p->idx[i]; i = (i + 1) & (IDX_SIZE - 1))
		if (idx_match(&p->ring[p->idx[i] - 1], s->kind, &s->seg.src, s->seg.sport, &s->seg.dst,
			      s->seg.dport))
			return;
	p->idx[i] = (uint32_t)(s - p->ring) + 1;
	s->ihash = h;
	s->indexed = 1;
}

/* Takes out s, an indexed frame, closing the gap (backward-shift deletion). */
static void idx_remove(struct rp *p, const struct slot *s)
{
	uint32_t me = (uint32_t)(s - p->ring) + 1, i = s->ihash & (IDX_SIZE - 1), j;

	while (p->idx[i] != me)
		i = (i + 1) & (IDX_SIZE - 1);
	for (j = i;;) {
		uint32_t home;

		p->idx[i] = 0;
		for (;;) {
			j = (j + 1) & (IDX_SIZE - 1);
			if (!p->idx[j])
				return;
			home = p->ring[p->idx[j] - 1].ihash & (IDX_SIZE - 1);
			/* An entry whose home lies cyclically in (i, j] must stay put. */
			if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
				continue;
			break;
		}
		p->idx[i] = p->idx[j];
		i = j;
	}
}

/*
 * A frame enters the window: index it, and learn from it what the
 * recorded host is. A host that answers a SYN with a SYN-ACK is local and
 * listens on that address and port; one that answers a SYN with a RST is
 * local too.
 */
static void slot_enter(struct rp *p, struct slot *s)
{
	int kind = s->kind = (uint8_t)frame_kind(s);
	/* Announced now, before the frames it explains are replayed. */
	vtime_t t = stack_now(p->st);
	char why[160], b[ADDR_STRLEN];

	if (!s->status)
		p->any_tcp = 1;
	s->indexed = 0;
	if (!kind)
		return;
	idx_add(p, s);
	if (kind == K_SYNACK) {
		/* The words are only built for news: most SYN-ACKs come from known listeners. */
		if (p->auto_local && !stack_has_addr(p->st, &s->seg.src)) {
			snprintf(why, sizeof(why), "it answered a SYN from %s with a SYN-ACK (frame %lld)",
				 addr_format(&s->seg.dst, b, sizeof(b)), (long long)s->n);
			add_local(p, &s->seg.src, t, why);
		}
		if (p->auto_listen && stack_has_addr(p->st, &s->seg.src) &&
		    !is_listener_ep(p, &s->seg.src, s->seg.sport)) {
			snprintf(why, sizeof(why),
				 "it answered a SYN with a SYN-ACK (frame %lld); backlog not in the capture, %d assumed",
				 (long long)s->n, p->o->cfg.somaxconn);
			add_listener(p, &s->seg.src, s->seg.sport, -1, 0, t, why);
		}
	} else if (kind == K_RST && p->auto_local && (s->seg.flags & TH_ACK)) {
		const struct slot *syn = idx_get(p, K_SYN, &s->seg.dst, s->seg.dport, &s->seg.src, s->seg.sport);

		if (syn && s->seg.ack == syn->seg.seq + 1) {
			snprintf(why, sizeof(why), "it answered a SYN from %s with a RST (frame %lld)",
				 addr_format(&s->seg.dst, b, sizeof(b)), (long long)s->n);
			add_local(p, &s->seg.src, t, why);
		}
	}
}

/* ---- reading ahead --------------------------------------------------------------- */

static struct slot *slot_at(struct rp *p, uint32_t i)
{
	return &p->ring[(p->head + i) % RING_MAX];
}

static int read_one(struct rp *p)
{
	struct slot *s;
	struct frame fr;
	int r;

	if (p->eof)
		return 0; /* and keep the reason: the source may not say it twice */
	r = frame_next(p->fs, &fr, p->err, sizeof(p->err));
	if (r <= 0) {
		p->eof = 1;
		p->read_err = r < 0;
		return 0;
	}
	s = slot_at(p, p->count);
	if (s->cap < fr.caplen) {
		uint8_t *b = realloc(s->buf, fr.caplen);

		if (!b) {
			snprintf(p->err, sizeof(p->err), "%s: out of memory", p->o->file);
			p->eof = p->read_err = 1;
			return 0;
		}
		s->buf = b;
		s->cap = fr.caplen;
	}
	if (fr.caplen)
		memcpy(s->buf, fr.data, fr.caplen);
	s->fr = fr;
	s->fr.data = s->buf;
	s->n = fr.num; /* the file's numbering, as Wireshark shows it, filtered frames counted */
	if (++p->nread == 1)
		p->t0 = frame_first_ts(p->fs); /* virtual time 0: the file's first frame */
	s->status = frame_decode(s->fr.linktype, &s->fr, &s->seg, p->o->verify_checksums ? SEG_VERIFY_CSUM : 0,
				 &s->pad, &s->padcap, &s->cut);
	p->count++;
	p->ring_bytes += fr.caplen;
	slot_enter(p, s);
	return 1;
}

/*
 * The window may grow no further: the file ended, or it holds RING_MAX
 * frames, RING_BYTES bytes, or a frame more than LOOKAHEAD after the head.
 */
static int window_full(struct rp *p)
{
	if (p->eof || p->count >= RING_MAX || p->ring_bytes >= RING_BYTES)
		return 1;
	return p->count > 0 && slot_at(p, p->count - 1)->fr.ts > slot_at(p, 0)->fr.ts + LOOKAHEAD;
}

/*
 * Reads ahead until the index holds a frame of kind k1 or k2 (0: none) from
 * a:pa to b:pb, or the window is full. Returns the entry of kind k1 if the
 * index already held one, else the first of either kind, else NULL.
 */
static const struct slot *idx_wait(struct rp *p, int k1, int k2, const struct ip_addr *a,
				   uint16_t pa, const struct ip_addr *b, uint16_t pb)
{
	const struct slot *e = idx_get(p, k1, a, pa, b, pb);

	if (!e && k2)
		e = idx_get(p, k2, a, pa, b, pb);
	/* Only a frame read now can change the answer: look at each one, not the index. */
	while (!e && !window_full(p)) {
		const struct slot *s = slot_at(p, p->count);
		int kind;

		if (!read_one(p))
			break;
		kind = s->kind;
		if ((kind == k1 || (k2 && kind == k2)) && idx_match(s, kind, a, pa, b, pb))
			e = idx_get(p, kind, a, pa, b, pb);
	}
	return e;
}

/*
 * Reads as far ahead as the head frame's replay needs, and no further.
 * Only three decisions look ahead: which hosts are local (until one is
 * known), the ISN and listener for a SYN (until its SYN-ACK or RST), and
 * whether a segment of an unknown connection was reset (replay_inbound).
 * Reading on demand instead of always keeping the whole window keeps the
 * ring a handful of frames deep on a busy capture, so the frame being
 * replayed is still in the cache from being decoded; a full window made
 * every frame a cache miss (25% of a replay's time).
 *
 * The one exception is the start: the first window is read whole before
 * the first frame is replayed, so every host and listener that answers a
 * SYN in the capture's first two seconds (or RING_MAX frames) is known
 * from the first frame on, as a reader of a short capture expects.
 */
static void look_ahead(struct rp *p, const struct slot *s)
{
	if (!p->started) {
		while (!window_full(p))
			read_one(p);
		p->started = 1;
	}
	if (p->auto_local)
		while (p->nlocal == 0 && !window_full(p))
			read_one(p);
	if (!s->status && (s->seg.flags & (TH_SYN | TH_ACK)) == TH_SYN)
		idx_wait(p, K_SYNACK, K_RST, &s->seg.dst, s->seg.dport, &s->seg.src, s->seg.sport);
}

/* ---- the application's side -------------------------------------------------------- */

static int conn_fd(const struct rp *p, const struct rconn *c)
{
	return (int)(c - p->conn);
}

static struct rconn *conn_get(struct rp *p, const struct ip_addr *la, uint16_t lp,
			      const struct ip_addr *ra, uint16_t rp)
{
	int fd = sys_lookup(p->st, la, lp, ra, rp);

	return fd >= 0 && fd < p->nconn ? &p->conn[fd] : NULL;
}

/* The application now holds fd. Returns its entry, or NULL (out of memory: fd closed). */
static struct rconn *conn_add(struct rp *p, int fd)
{
	if (fd >= p->nconn) {
		int n = p->nconn ? p->nconn : 64;
		struct rconn *c;

		while (n <= fd)
			n *= 2;
		c = realloc(p->conn, (size_t)n * sizeof(*c));
		if (!c) {
			sys_close(p->st, fd);
			return NULL;
		}
		p->conn = c;
		p->nconn = n;
	}
	memset(&p->conn[fd], 0, sizeof(p->conn[fd]));
	return &p->conn[fd];
}

/* The connection is over for the stack: the application closes its descriptor. */
static void conn_check_done(struct rp *p, const struct rconn *c)
{
	if (sys_state(p->st, conn_fd(p, c)) == TCP_CLOSED)
		sys_close(p->st, conn_fd(p, c));
}

/*
 * The application accepts everything queued (when --accept lets it).
 * Returns how many. A child reaches an accept queue only as a passive open
 * (child_enqueue counts PassiveOpens), so while that counter stands still
 * and the last call left nothing behind, there is nothing to accept and no
 * accept() is made: most segments complete no handshake.
 */
static int accept_all(struct rp *p)
{
	uint64_t opens = stack_counter(p->st, CNT_PASSIVEOPENS);
	int i, n = 0;

	if (opens == p->opens_seen && !p->accept_left)
		return 0;
	p->opens_seen = opens;
	p->accept_left = 0;
	for (i = 0; i < p->nlis; i++) {
		int fd;

		while ((fd = sys_accept(p->st, p->lis[i].fd, NULL, NULL)) >= 0)
			n += conn_add(p, fd) != NULL;
		if (fd != -EAGAIN)
			p->accept_left = 1; /* out of descriptors or sockets: try again later */
	}
	return n;
}

/* ...and reads whatever arrives, so the receive window stays open. */
static void drain(struct rp *p, const struct rconn *c)
{
	ssize_t n;

	do {
		n = sys_recv(p->st, conn_fd(p, c), p->rbuf, sizeof(p->rbuf));
	} while (n > 0);
	conn_check_done(p, c);
}

/* A connection open before the capture began: take it over as ESTABLISHED. */
static struct rconn *pick_up(struct rp *p, const struct ip_addr *la, uint16_t lp,
			      const struct ip_addr *ra, uint16_t rp, uint32_t snd_nxt,
			      uint32_t rcv_nxt, uint16_t win, int ts, vtime_t t)
{
	char a[ADDR_STRLEN], b[ADDR_STRLEN], subj[2 * ADDR_STRLEN + 8];
	int fd;

	/* Window scaling was agreed in a handshake we did not see: assume Linux's 7. */
	fd = sys_adopt(p->st, la, lp, ra, rp, snd_nxt, rcv_nxt, (uint32_t)win << 7, ts);
	if (fd < 0)
		return NULL;
	p->stats.picked_up++;
	if (p->r) {
		snprintf(subj, sizeof(subj), "%s <- %s", endpoint_format(la, lp, a, sizeof(a)),
			 endpoint_format(ra, rp, b, sizeof(b)));
		p->r->ops->inferred(p->r, t, "established", subj,
				    "no handshake in the capture: taken as already ESTABLISHED");
	}
	return conn_add(p, fd);
}

static void cookie_remember(struct rp *p, const struct segment *syn, uint32_t isn)
{
	struct tuple_key k;
	struct tentry *e;
	int added;

	if (p->cookies.count >= COOKIE_MAX)
		return; /* its ACK will be checked against the stack's own cookies, and reset */
	tkey_set(&k, K_COOKIE, &syn->src, syn->sport, &syn->dst, syn->dport);
	e = tmap_put(&p->cookies, &k, &added);
	if (!e)
		return;
	e->seq = isn;
	e->ack = stack_cookie_mss(syn->opt.has_mss ? syn->opt.mss : 536);
	e->frame = (int64_t)stack_now(p->st);
}

/*
 * A cookie the recorded kernel issued is valid when the ACK acknowledges
 * it: the kernel's secret is unknown, so its SYN-ACK's ISN stands for it.
 */
static int cookie_hook(void *ctx, const struct segment *ack, uint16_t *mss)
{
	struct rp *p = ctx;
	struct tuple_key k;
	struct tentry *e;

	tkey_set(&k, K_COOKIE, &ack->src, ack->sport, &ack->dst, ack->dport);
	e = tmap_get(&p->cookies, &k);
	if (!e)
		return -1;
	if (ack->ack - 1 != e->seq)
		return 0;
	*mss = (uint16_t)e->ack;
	tmap_del(&p->cookies, e);
	return 1;
}

/* Forgets adopted cookies too old to be accepted, so a SYN flood cannot grow memory. */
static int cookie_expired(void *ctx, struct tentry *e)
{
	const struct rp *p = ctx;

	return p->cookie_sweep - (vtime_t)e->frame > COOKIE_KEEP;
}

static void cookie_sweep(struct rp *p, vtime_t now)
{
	if (now - p->cookie_sweep < 10 * VT_SEC)
		return;
	p->cookie_sweep = now;
	tmap_sweep(&p->cookies, cookie_expired, p);
}

static int isn_hook(void *ctx, const struct segment *syn, int kind, uint32_t *isn)
{
	struct rp *p = ctx;
	const struct slot *e;

	if (kind == ISN_CONNECT) {
		if (!p->have_pending_isn)
			return 0;
		*isn = p->pending_isn;
		p->have_pending_isn = 0;
		return 1;
	}
	e = idx_get(p, K_SYNACK, &syn->dst, syn->dport, &syn->src, syn->sport);
	if (e && e->seg.ack == syn->seq + 1) {
		*isn = e->seg.seq;
		p->stats.isn_recorded++;
		if (kind == ISN_COOKIE)
			cookie_remember(p, syn, e->seg.seq);
		return 1;
	}
	p->stats.isn_own++;
	return 0;
}

static void replay_inbound(struct rp *p, struct slot *s, vtime_t t)
{
	const struct segment *seg = &s->seg;
	int fd, accepted = 0;

	if ((seg->flags & (TH_SYN | TH_RST | TH_ACK)) == TH_ACK &&
	    !stack_find(p->st, &seg->dst, seg->dport, &seg->src, seg->sport, NULL)) {
		/*
		 * An ACK for a connection the stack does not know. If the
		 * recorded host reset it, it really was a stray; otherwise the
		 * connection predates the capture.
		 */
		const struct slot *rst = idx_wait(p, K_RST, 0, &seg->dst, seg->dport, &seg->src, seg->sport);
		struct tuple_key k;

		/* ...unless it answers a SYN cookie: the listener takes it. */
		tkey_set(&k, K_COOKIE, &seg->src, seg->sport, &seg->dst, seg->dport);
		if ((!rst || rst->seg.seq != seg->ack) && !tmap_get(&p->cookies, &k))
			pick_up(p, &seg->dst, seg->dport, &seg->src, seg->sport, seg->ack, seg->seq,
				seg->win, seg->opt.has_ts, t);
	}
	fd = stack_input(p->st, seg, s->n);
	if (p->o->tables == 1 && p->r)
		p->r->ops->tables(p->r, p->st);
	if (p->o->accept_mode == ACCEPT_IMMEDIATE)
		accepted = accept_all(p);
	if (fd >= 0 && fd < p->nconn) {
		drain(p, &p->conn[fd]);
	} else if (accepted) {
		/* The segment may have completed the handshake of one just accepted. */
		struct rconn *c = conn_get(p, &seg->dst, seg->dport, &seg->src, seg->sport);

		if (c)
			drain(p, c);
	}
}

static void replay_outbound(struct rp *p, struct slot *s, vtime_t t)
{
	const struct segment *seg = &s->seg;
	struct rconn *c;

	if (p->v)
		verify_expected(p->v, seg, t);
	if ((seg->flags & (TH_SYN | TH_ACK)) == TH_SYN) {
		int fd;

		/* The recorded host opened a connection: connect() with its ISN. */
		if (stack_find(p->st, &seg->src, seg->sport, &seg->dst, seg->dport, NULL))
			return;
		fd = sys_socket(p->st, seg->src.family);
		if (fd < 0)
			return;
		sys_setsockopt(p->st, fd, SOCKOPT_REUSEADDR, 1);
		if (sys_bind(p->st, fd, &seg->src, seg->sport) < 0) {
			sys_close(p->st, fd);
			return;
		}
		p->pending_isn = seg->seq;
		p->have_pending_isn = 1;
		if (sys_connect(p->st, fd, &seg->dst, seg->dport) != -EINPROGRESS) {
			p->have_pending_isn = 0;
			sys_close(p->st, fd);
			return;
		}
		c = conn_add(p, fd);
		if (c) {
			c->seq = seg->seq + 1;
			c->have_seq = 1;
		}
		return;
	}
	if (seg->flags & TH_SYN)
		return; /* a SYN-ACK: the stack answers SYNs itself */
	c = conn_get(p, &seg->src, seg->sport, &seg->dst, seg->dport);
	if (!c) {
		if (seg->flags & TH_RST)
			return;
		if (stack_find(p->st, &seg->src, seg->sport, &seg->dst, seg->dport, NULL))
			return; /* the stack's, but not (yet) the application's: not accepted */
		if (!(seg->flags & TH_ACK))
			return;
		c = pick_up(p, &seg->src, seg->sport, &seg->dst, seg->dport, seg->seq, seg->ack,
			    seg->win, seg->opt.has_ts, t);
		if (!c)
			return;
	}
	if (seg->flags & TH_RST) {
		/* The application aborted (close() with SO_LINGER 0). */
		sys_abort(p->st, conn_fd(p, c));
		return;
	}
	if (seg->len) {
		uint32_t end = seg->seq + seg->len;

		if (!c->have_seq) {
			c->seq = seg->seq;
			c->have_seq = 1;
		}
		/* Only bytes beyond what the application already wrote are new:
		 * the rest is the recorded host retransmitting. */
		if (seq_after(end, c->seq)) {
			uint32_t off = seq_after(c->seq, seg->seq) ? c->seq - seg->seq : 0;

			/* Data and FIN in one segment: queue the data so the FIN joins it. */
			if (seg->flags & TH_FIN)
				sys_send_more(p->st, conn_fd(p, c), seg->data + off, seg->len - off);
			else
				sys_send(p->st, conn_fd(p, c), seg->data + off, seg->len - off);
			c->seq = end;
		}
	}
	if ((seg->flags & TH_FIN) && !c->fin_done) {
		sys_shutdown(p->st, conn_fd(p, c), SHUTDOWN_WR);
		c->fin_done = 1;
	}
	conn_check_done(p, c);
}

/* Which way a segment goes: 1 to a local address, -1 from one, 0 neither. */
static int direction(const struct rp *p, const struct segment *seg)
{
	int dst_local = stack_has_addr(p->st, &seg->dst);
	int src_local = stack_has_addr(p->st, &seg->src);

	/* On loopback both ends are local: the listener's end is the stack's. */
	if (dst_local && !(src_local && is_listener_ep(p, &seg->src, seg->sport)))
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
	accept_all(p);
	p->next_accept += every * ((t - p->next_accept) / every + 1);
}

static void replay_frame(struct rp *p, struct slot *s)
{
	vtime_t t = vt_of(p, s->fr.ts);
	int dir;

	if (p->o->accept_mode == ACCEPT_EVERY)
		accept_ticks(p, t);
	stack_advance(p->st, t);
	if (p->v)
		verify_tick(p->v, t);
	cookie_sweep(p, t);
	if (s->status) {
		if (!p->stats.skipped[s->status]++)
			p->stats.first_skipped[s->status] = s->n;
		return;
	}
	if (s->cut & SEG_CUT_PAYLOAD)
		p->stats.payload_cut++;
	if (s->cut & (SEG_CUT_OPTIONS | SEG_CUT_HEADER))
		p->stats.header_cut++;
	dir = direction(p, &s->seg);
	if (dir > 0) {
		p->stats.inbound++;
		replay_inbound(p, s, t);
	} else if (dir < 0) {
		p->stats.outbound++;
		replay_outbound(p, s, t);
	} else {
		p->stats.ignored++;
	}
}

static void slot_leave(struct rp *p, struct slot *s)
{
	if (s->indexed)
		idx_remove(p, s);
	p->ring_bytes -= s->fr.caplen;
	p->head = (p->head + 1) % RING_MAX;
	p->count--;
}

/* ---- output -------------------------------------------------------------------------- */

static void verify_report(void *ctx, const struct verify_report *rep)
{
	struct rp *p = ctx;

	if (p->r)
		p->r->ops->verify(p->r, rep);
}

static void observe(void *ctx, const struct event *ev)
{
	struct rp *p = ctx;

	if (p->v && ev->type == EV_SEGMENT_OUT)
		verify_ours(p->v, ev->seg, ev->t);
	if (p->dump && ev->type == EV_SEGMENT_OUT)
		pcap_out_write(p->dump, ev->seg, p->t0 + ev->t);
	if (p->r)
		p->r->ops->event(p->r, ev);
}

static void rp_free(struct rp *p)
{
	uint32_t i;

	pcap_out_close(p->dump);
	if (p->ring) {
		for (i = 0; i < RING_MAX; i++) {
			free(p->ring[i].buf);
			free(p->ring[i].pad);
		}
		free(p->ring);
	}
	free(p->conn);
	tmap_free(&p->cookies);
	verify_free(p->v);
	stack_free(p->st);
	frame_close(p->fs);
	free(p);
}

int replay_run(const struct replay_opts *o)
{
	struct renderer *out = o->r ? o->r : o->summary_r;
	struct rp *p = calloc(1, sizeof(*p));
	int i, status = 0;
	char b[ADDR_STRLEN];

	if (!p) {
		fprintf(stderr, "tcpdemux: out of memory\n");
		return 2;
	}
	p->o = o;
	p->r = o->r;
	p->fs = frame_open(o->file, o->filter, p->err, sizeof(p->err));
	if (!p->fs) {
		fprintf(stderr, "tcpdemux: %s\n", p->err);
		rp_free(p);
		return 2;
	}
	p->st = stack_new(&o->cfg);
	p->ring = calloc(RING_MAX, sizeof(*p->ring));
	if (!p->st || !p->ring || tmap_init(&p->cookies) < 0 || (o->verify && !(p->v = verify_new(verify_report, p)))) {
		fprintf(stderr, "tcpdemux: out of memory\n");
		rp_free(p);
		return 2;
	}
	if (o->write_path && !(p->dump = pcap_out_open(o->write_path))) {
		rp_free(p);
		return 2;
	}
	if (p->r) {
		p->r->replay = 1;
		p->r->st = p->st;
	}
	p->stats.file = o->file;
	p->stats.linktype = frame_linktype_name(p->fs);
	p->stats.precision = frame_precision(p->fs);
	p->stats.compression = frame_compression(p->fs);
	p->stats.filter = o->filter;
	/* With nobody reading events (--quiet alone), the stack need not queue any. */
	stack_set_observer(p->st, p->r || p->v || p->dump ? observe : NULL, p);
	stack_set_isn_hook(p->st, isn_hook, p);
	stack_set_cookie_hook(p->st, cookie_hook, p);
	p->next_accept = o->accept_every;
	p->auto_local = o->nlocal == 0;
	p->auto_listen = o->nlisten == 0;
	for (i = 0; i < o->nlocal; i++)
		add_local(p, &o->local[i], 0, "given with --local");
	for (i = 0; i < o->nlisten; i++) {
		const struct replay_listen *l = &o->listen[i];

		/* A listener's own address is local, unless --local said otherwise. */
		if (p->auto_local && !addr_is_any(&l->addr))
			add_local(p, &l->addr, 0, "it listens (--listen)");
		int k, members = l->reuseport > 1 ? l->reuseport : 1, r = 0;

		for (k = 0; k < members && r == 0; k++)
			r = add_listener(p, &l->addr, l->port, l->backlog, l->reuseport > 0, 0,
					 l->reuseport > 0 ? "given with --listen (SO_REUSEPORT group member)"
							  : "given with --listen");
		if (r < 0) {
			fprintf(stderr, "tcpdemux: --listen %s: cannot listen there (an address no --local names, or listed twice)\n",
				endpoint_format(&l->addr, l->port, b, sizeof(b)));
			rp_free(p);
			return 2;
		}
	}

	for (;;) {
		if (!p->count) {
			/* Empty: start over at slot 0, whose buffers are still warm. */
			p->head = 0;
			read_one(p);
			if (!p->count)
				break;
		}
		look_ahead(p, slot_at(p, 0));
		replay_frame(p, slot_at(p, 0));
		slot_leave(p, slot_at(p, 0));
	}
	frame_counts(p->fs, &p->stats.frames, &p->stats.filtered);
	if (p->v) {
		verify_finish(p->v);
		p->stats.verify = verify_stats(p->v);
	}

	if (o->tables == 2 && p->r)
		p->r->ops->tables(p->r, p->st);
	if (out)
		out->ops->summary(out, p->st, &p->stats);
	fflush(stdout);
	if (p->read_err) {
		fprintf(stderr, "tcpdemux: %s\n", p->err);
		status = 2;
	} else if (p->any_tcp && p->nlocal == 0) {
		fprintf(stderr,
			"tcpdemux: %s: no host in the capture answered a SYN, so no side could be taken as local (name it with --local ADDR)\n",
			o->file);
		status = 2;
	} else if (p->v && verify_agreement(&verify_stats(p->v)->c[VC_CONTROL]) < 1.0) {
		status = 1;
	}
	rp_free(p);
	return status;
}
