/*
 * replay_app.c - see replay_app.h.
 *
 * Path: replay.c -> here -> socket.h calls on the stack -> events (to the
 *       driver's observer) -> renderer. Announcements of what was
 *       inferred go straight to the renderer; nothing here calls back into
 *       the driver.
 */
#include <errno.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "emit.h"
#include "replay_app.h"
#include "socket.h"

void replay_app_init(struct replay_app *app, struct stack *st, struct renderer *r)
{
	/* All but rbuf, the 64 KiB recv() writes into and nothing reads: clearing it cost 16 page faults. */
	memset(app, 0, offsetof(struct replay_app, rbuf));
	app->st = st;
	app->r = r;
	(void)tmap_init(&app->lis_index); /* out of memory: listeners are scanned */
}

void replay_app_free(struct replay_app *app)
{
	free(app->conn);
	app->conn = NULL;
	app->nconn = 0;
	free(app->lis);
	app->lis = NULL;
	app->nlis = app->cap_lis = 0;
	tmap_free(&app->lis_index);
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

/* Up to this many listeners, a scan answers which one takes a segment (and accept() asks them all). */
#define LIS_SCAN 8

/* The listener index's key for a bound address and port. */
static void lis_key(struct tuple_key *k, const struct ip_addr *a, uint16_t port)
{
	static const struct ip_addr none;

	tkey_set(k, 1, a, port, &none, 0);
}

int replay_app_listen(struct replay_app *app, const struct ip_addr *a, uint16_t port, int backlog,
		      int reuseport, vtime_t t, const char *why)
{
	char b[ADDR_STRLEN];
	struct tuple_key k;
	struct tentry *e;
	int fd, added;

	if (app->nlis >= REPLAY_MAX_HOSTS) {
		if (!app->lis_full[0])
			endpoint_format(a, port, app->lis_full, sizeof(app->lis_full));
		return -ENOSPC;
	}
	if (app->nlis == app->cap_lis) {
		int cap = app->cap_lis ? 2 * app->cap_lis : 8;
		struct app_listener *l = realloc(app->lis, (size_t)cap * sizeof(*l));

		if (!l)
			return -ENOMEM;
		app->lis = l;
		app->cap_lis = cap;
	}
	fd = replay_listen_socket(app->st, a, port, backlog, reuseport);
	if (fd < 0)
		return fd;
	app->lis[app->nlis].addr = *a;
	app->lis[app->nlis].port = port;
	app->lis[app->nlis].fd = fd;
	app->nlis++;
	if (app->lis_index.b) {
		lis_key(&k, a, port);
		e = tmap_put(&app->lis_index, &k, &added);
		if (!e) {
			tmap_free(&app->lis_index); /* scanned from now on, rather than half indexed */
		} else if (added) {
			e->ack = (uint32_t)app->nlis;
		}
	}
	if (app->r)
		emit_inferred(app->r, t, "listener", endpoint_format(a, port, b, sizeof(b)), why);
	return 0;
}

/* Does listener i take segments to a? Its own address, a wildcard of a's family, or [::] without IPV6_V6ONLY. */
static int listener_covers(const struct replay_app *app, int i, const struct ip_addr *a)
{
	const struct ip_addr *l = &app->lis[i].addr;
	int v6only = 1;

	if (addr_equal(l, a))
		return 1;
	if (!addr_is_any(l))
		return 0;
	if (l->family == a->family)
		return 1;
	return l->family == ADDR_V6 && sys_getsockopt(app->st, app->lis[i].fd, SOCKOPT_V6ONLY, &v6only) == 0 &&
	       !v6only;
}

/* The first listener bound exactly to bound:port (through the index), or -1. */
static int lis_indexed(const struct replay_app *app, const struct ip_addr *bound, uint16_t port)
{
	struct tuple_key k;
	struct tentry *e;

	lis_key(&k, bound, port);
	e = tmap_get((struct tuplemap *)&app->lis_index, &k);
	return e ? (int)e->ack - 1 : -1;
}

/*
 * The listener that takes segments to a:port, in the order the listen
 * table is searched (exact address, then the wildcard), or -1.
 */
static int listener_of(const struct replay_app *app, const struct ip_addr *a, uint16_t port)
{
	struct ip_addr any;
	int i;

	/* A few listeners are scanned faster than hashed. */
	if (!app->lis_index.b || app->nlis <= LIS_SCAN) {
		for (i = 0; i < app->nlis; i++)
			if (app->lis[i].port == port && listener_covers(app, i, a))
				return i;
		return -1;
	}
	if ((i = lis_indexed(app, a, port)) >= 0)
		return i;
	any = addr_any(a->family);
	if ((i = lis_indexed(app, &any, port)) >= 0)
		return i;
	if (a->family != ADDR_V4)
		return -1;
	any = addr_any(ADDR_V6);
	i = lis_indexed(app, &any, port);
	return i >= 0 && listener_covers(app, i, a) ? i : -1;
}

int replay_app_is_listener(const struct replay_app *app, const struct ip_addr *a, uint16_t port)
{
	int i;

	/*
	 * Asked of every segment's source on loopback (replay.c direction()),
	 * where nearly every port is a client's, and of every SYN-ACK the
	 * recorded host sends (learn()): with a few listeners, listener_of()'s
	 * scan made here, so that a port none of them has is told by the
	 * ports alone, without address checks, and a listener's costs no call.
	 */
	if (app->nlis <= LIS_SCAN) {
		for (i = 0; i < app->nlis; i++)
			if (app->lis[i].port == port && listener_covers(app, i, a))
				return 1;
		return 0;
	}
	return listener_of(app, a, port) >= 0;
}

static int conn_fd(const struct replay_app *app, const struct app_conn *c)
{
	return (int)(c - app->conn);
}

/* The application's entry for the connection la:lp <- ra:rp, through pr (a probe of that 4-tuple). */
static struct app_conn *conn_get(struct replay_app *app, const struct ip_addr *la, uint16_t lp,
				 const struct ip_addr *ra, uint16_t rp, struct stack_probe *pr)
{
	int fd = stack_probe_fd(app->st, la, lp, ra, rp, pr);

	return fd >= 0 && fd < app->nconn ? &app->conn[fd] : NULL;
}

/* The application now holds fd. Returns its entry, or NULL (out of memory: fd closed). */
static struct app_conn *conn_add(struct replay_app *app, int fd)
{
	if (fd >= app->nconn) {
		int n = app->nconn ? app->nconn : 64;
		struct app_conn *c;

		while (n <= fd)
			n *= 2;
		c = realloc(app->conn, (size_t)n * sizeof(*c));
		if (!c) {
			sys_close(app->st, fd);
			return NULL;
		}
		/* replay_app_waiting() reads every entry: the new ones hold no connection. */
		memset(c + app->nconn, 0, (size_t)(n - app->nconn) * sizeof(*c));
		app->conn = c;
		app->nconn = n;
	}
	memset(&app->conn[fd], 0, sizeof(app->conn[fd]));
	return &app->conn[fd];
}

/* The connection is over for the stack: the application closes its descriptor. */
static void conn_check_done(struct replay_app *app, const struct app_conn *c)
{
	if (sys_state(app->st, conn_fd(app, c)) == TCP_CLOSED)
		sys_close(app->st, conn_fd(app, c));
}

/*
 * accept()s what is queued on listener i, up to want; returns how many
 * the application took. It stops at want rather than on the queue's
 * EAGAIN: see replay_app_accept_all(). *taken counts the descriptors
 * accept() gave, entries made or not. Always inlined into accept_fresh(),
 * its two calls: one call frame fewer per handshake.
 */
static inline __attribute__((always_inline)) int accept_from(struct replay_app *app, int i, uint64_t want,
							     uint64_t *taken)
{
	int fd = -EAGAIN, n = 0;

	while (*taken < want && (fd = sys_accept(app->st, app->lis[i].fd, NULL, NULL)) >= 0) {
		struct app_conn *c = conn_add(app, fd);

		++*taken;
		if (c) {
			c->listener = (uint16_t)(i + 1);
			n++;
		}
	}
	if (fd < 0 && fd != -EAGAIN)
		app->accept_left = 1; /* out of descriptors or sockets: try again later */
	return n;
}

/*
 * A child reaches an accept queue only as a passive open (child_enqueue
 * counts PassiveOpens), so while that counter stands still and the last
 * call left nothing behind there is nothing to accept: most segments
 * complete no handshake, and they cost no accept() call. And since each
 * call empties every queue (or notes accept_left), the queues hold at
 * most the children of the opens since: once that many are taken the
 * queues are empty, and the accept() that would say so (EAGAIN, one per
 * handshake) is not made.
 */
/* replay_app_accept_all() with fresh opens (or an error) since the last call. Out of line: see there. */
static int __attribute__((noinline)) accept_fresh(struct replay_app *app, const struct ip_addr *a, uint16_t port,
						  uint64_t opens)
{
	uint64_t fresh = opens - app->opens_seen, taken = 0;
	/* After an error the queues may hold older children too: emptied to EAGAIN. */
	uint64_t want = app->accept_left ? UINT64_MAX : fresh;
	int i, first = -1, n = 0;

	app->opens_seen = opens;
	if (a && !app->accept_left && app->nlis > LIS_SCAN && (first = listener_of(app, a, port)) >= 0) {
		n = accept_from(app, first, want, &taken);
		if ((uint64_t)n >= fresh && !app->accept_left)
			return n;
	}
	app->accept_left = 0;
	for (i = 0; i < app->nlis; i++)
		if (i != first)
			n += accept_from(app, i, want, &taken);
	return n;
}

int replay_app_accept_all(struct replay_app *app, const struct ip_addr *a, uint16_t port)
{
	uint64_t opens = stack_counter(app->st, CNT_PASSIVEOPENS);

	/* Asked after every inbound segment, and mostly nothing is new: that answered without the call. */
	if (opens == app->opens_seen && !app->accept_left)
		return 0;
	return accept_fresh(app, a, port, opens);
}

uint64_t replay_app_waiting(const struct replay_app *app, const struct ip_addr *a, uint16_t port)
{
	uint64_t n = 0;
	int fd;

	for (fd = 0; fd < app->nconn; fd++) {
		const struct app_conn *c = &app->conn[fd];
		const struct app_listener *l;

		if (!c->listener || c->have_seq || c->fin_done)
			continue;
		l = &app->lis[c->listener - 1];
		if (l->port == port && (addr_equal(&l->addr, a) || addr_is_any(&l->addr)) &&
		    sys_state(app->st, fd) == TCP_ESTABLISHED)
			n++;
	}
	return n;
}

/* Reads whatever arrives, so the receive window stays open. Always inlined into its two callers: one per segment. */
static inline __attribute__((always_inline)) void drain(struct replay_app *app, const struct app_conn *c)
{
	ssize_t n;

	do {
		n = sys_recv(app->st, conn_fd(app, c), app->rbuf, sizeof(app->rbuf));
	} while (n > 0);
	conn_check_done(app, c);
}

int replay_app_drain_fd(struct replay_app *app, int fd)
{
	if (fd < 0 || fd >= app->nconn)
		return 0;
	drain(app, &app->conn[fd]);
	return 1;
}

void replay_app_drain(struct replay_app *app, const struct ip_addr *la, uint16_t lp,
		      const struct ip_addr *ra, uint16_t rp, struct stack_probe *pr)
{
	struct app_conn *c = conn_get(app, la, lp, ra, rp, pr);

	if (c)
		drain(app, c);
}

static struct app_conn *pick_up(struct replay_app *app, const struct ip_addr *la, uint16_t lp,
				const struct ip_addr *ra, uint16_t rp, uint32_t snd_nxt,
				uint32_t rcv_nxt, uint16_t win, int ts, vtime_t t)
{
	char a[ADDR_STRLEN], b[ADDR_STRLEN], subj[2 * ADDR_STRLEN + 8];
	int fd;

	/* Window scaling was agreed in a handshake we did not see: assume Linux's 7. */
	fd = sys_adopt(app->st, la, lp, ra, rp, snd_nxt, rcv_nxt, (uint32_t)win << 7, ts);
	if (fd < 0)
		return NULL;
	app->picked_up++;
	if (app->r) {
		snprintf(subj, sizeof(subj), "%s <- %s", endpoint_format(la, lp, a, sizeof(a)),
			 endpoint_format(ra, rp, b, sizeof(b)));
		emit_inferred(app->r, t, "established", subj,
			      "no handshake in the capture: taken as already ESTABLISHED");
	}
	return conn_add(app, fd);
}

int replay_app_pick_up(struct replay_app *app, const struct ip_addr *la, uint16_t lp,
		       const struct ip_addr *ra, uint16_t rp, uint32_t snd_nxt, uint32_t rcv_nxt,
		       uint16_t win, int ts, vtime_t t)
{
	return pick_up(app, la, lp, ra, rp, snd_nxt, rcv_nxt, win, ts, t) ? 0 : -ENOMEM;
}

int replay_app_connect_isn(struct replay_app *app, uint32_t *isn)
{
	if (!app->have_connect_isn)
		return 0;
	*isn = app->connect_isn;
	app->have_connect_isn = 0;
	return 1;
}

/* The recorded host opened a connection: connect() from its address and port, with its ISN. */
static void app_connect(struct replay_app *app, const struct segment *seg)
{
	struct app_conn *c;
	int fd;

	if (stack_find(app->st, &seg->src, seg->sport, &seg->dst, seg->dport, NULL))
		return;
	fd = sys_socket(app->st, seg->src.family);
	if (fd < 0)
		return;
	sys_setsockopt(app->st, fd, SOCKOPT_REUSEADDR, 1);
	if (sys_bind(app->st, fd, &seg->src, seg->sport) < 0) {
		sys_close(app->st, fd);
		return;
	}
	app->connect_isn = seg->seq;
	app->have_connect_isn = 1;
	if (sys_connect(app->st, fd, &seg->dst, seg->dport) != -EINPROGRESS) {
		app->have_connect_isn = 0;
		sys_close(app->st, fd);
		return;
	}
	c = conn_add(app, fd);
	if (c) {
		c->seq = seg->seq + 1;
		c->have_seq = 1;
	}
}

/* seg's payload beyond what the application already wrote is new: send() it. */
static void app_send(struct replay_app *app, struct app_conn *c, const struct segment *seg)
{
	uint32_t end = seg->seq + seg->len;

	if (!c->have_seq) {
		c->seq = seg->seq;
		c->have_seq = 1;
	}
	/* The rest is the recorded host retransmitting. */
	if (seq_after(end, c->seq)) {
		uint32_t off = seq_after(c->seq, seg->seq) ? c->seq - seg->seq : 0;

		/* Data and FIN in one segment: queue the data so the FIN joins it. */
		if (seg->flags & TH_FIN)
			sys_send_more(app->st, conn_fd(app, c), seg->data + off, seg->len - off);
		else
			sys_send(app->st, conn_fd(app, c), seg->data + off, seg->len - off);
		c->seq = end;
	}
}

void replay_app_outbound(struct replay_app *app, const struct segment *seg, vtime_t t, int fin)
{
	struct stack_probe pr; /* one lookup for both questions below */
	struct app_conn *c;

	if ((seg->flags & (TH_SYN | TH_ACK)) == TH_SYN) {
		app_connect(app, seg);
		return;
	}
	if (seg->flags & TH_SYN)
		return; /* a SYN-ACK: the stack answers SYNs itself */
	stack_probe_reset(&pr);
	c = conn_get(app, &seg->src, seg->sport, &seg->dst, seg->dport, &pr);
	if (!c) {
		if (seg->flags & TH_RST)
			return;
		if (stack_probe(app->st, &seg->src, seg->sport, &seg->dst, seg->dport, &pr))
			return; /* the stack's, but not (yet) the application's: not accepted */
		if (!(seg->flags & TH_ACK))
			return;
		c = pick_up(app, &seg->src, seg->sport, &seg->dst, seg->dport, seg->seq, seg->ack,
			    seg->win, seg->opt.has_ts, t);
		if (!c)
			return;
	}
	if (seg->flags & TH_RST) {
		/* The application aborted (close() with SO_LINGER 0). */
		sys_abort(app->st, conn_fd(app, c));
		return;
	}
	if (seg->len)
		app_send(app, c, seg);
	if ((seg->flags & TH_FIN) && !c->fin_done) {
		if (fin == APP_FIN_CLOSE) {
			/* The socket is the kernel's alone now (orphaned): nothing more to do here. */
			sys_close(app->st, conn_fd(app, c));
			return;
		}
		sys_shutdown(app->st, conn_fd(app, c), SHUTDOWN_WR);
		c->fin_done = 1;
	}
	conn_check_done(app, c);
}
