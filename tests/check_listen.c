/*
 * check_listen.c - unit tests of the listen table and the bind table
 * (stack/listen.c, sys_bind / sys_listen in stack/socket.c).
 *
 * Covers: listener lookup by exact local address first and the wildcard
 * (0.0.0.0 or [::]) second, whatever the order the listeners were opened
 * in; the wildcard catching the stack's other addresses; no listener ->
 * LOOKUP_NONE and a RST; bind conflicts with inet_csk_bind_conflict's
 * rules (same address, wildcard overlap, SO_REUSEADDR only while the
 * other socket is not listening, SO_REUSEPORT on both); close() freeing
 * the port; SO_REUSEPORT groups (stable per 4-tuple, spread over members,
 * member = ((u64)hash * n) >> 32 in listen() order, remapped when the
 * group shrinks); the listen backlog capped by somaxconn; listen() on an
 * unbound socket taking an ephemeral port; a [::] listener taking IPv4
 * unless IPV6_V6ONLY (net.ipv6.bindv6only), in lookups and bind conflicts.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "helpers.h"
#include "suites.h"

/* ---- helpers ------------------------------------------------------------ */

static void add_local(struct tstack *t, const char *text)
{
	struct ip_addr a;

	ck_assert_int_eq(addr_parse(text, &a), 0);
	ck_assert_int_eq(stack_add_addr(t->st, &a), 0);
}

/* socket() + options; returns the fd. */
static int sock_opts(struct tstack *t, int family, int reuseaddr, int reuseport)
{
	int fd = sys_socket(t->st, family);

	ck_assert_msg(fd >= 0, "socket() = %d", fd);
	ck_assert_int_eq(sys_setsockopt(t->st, fd, SOCKOPT_REUSEADDR, reuseaddr), 0);
	ck_assert_int_eq(sys_setsockopt(t->st, fd, SOCKOPT_REUSEPORT, reuseport), 0);
	return fd;
}

/* bind(fd, ep): returns bind()'s result. */
static int bind_ep(struct tstack *t, int fd, const char *ep)
{
	struct ip_addr a;
	uint16_t port;

	ck_assert_int_eq(endpoint_parse(ep, &a, &port), 0);
	return sys_bind(t->st, fd, &a, port);
}

/* A socket with the given options bound to ep and listening; asserts success. */
static int listen_opts(struct tstack *t, const char *ep, int reuseaddr, int reuseport)
{
	int fd;

	fd = sock_opts(t, strchr(ep, '[') ? ADDR_V6 : ADDR_V4, reuseaddr, reuseport);
	ck_assert_msg(bind_ep(t, fd, ep) == 0, "bind(%s) failed", ep);
	ck_assert_msg(sys_listen(t->st, fd, 64) == 0, "listen(%s) failed", ep);
	return fd;
}

/* Feeds a SYN; returns the fd of the listener that took it (-1 if none). */
static int syn_listener(struct tstack *t, const char *src, const char *dst, uint32_t isn)
{
	struct segment s = ts_seg(src, dst, TH_SYN, isn, 0);

	ts_in(t, &s);
	if (t->in.lookup.result != LOOKUP_LISTENER)
		return -1;
	ck_assert_msg(t->in.has_listener, "listener lookup without a listener in the event");
	return t->in.listener.fd;
}

/* Removes the request the last SYN from src made (in-window RST). */
static void reset_request(struct tstack *t, const char *src, const char *dst, uint32_t isn)
{
	struct segment s = ts_seg(src, dst, TH_RST, isn + 1, 0);

	ck_assert_int_eq(ts_in(t, &s), 0);
	ck_assert_msg(t->in.lookup.result == LOOKUP_REQUEST && t->in.action == ACT_RESET,
		      "RST for %s: lookup %s action %s", src, lookup_result_name(t->in.lookup.result),
		      seg_action_name(t->in.action));
}

struct lview_list {
	struct listener_view v[8];
	int n;
};

static void collect_listener(void *ctx, const struct listener_view *v)
{
	struct lview_list *l = ctx;

	if (l->n < 8)
		l->v[l->n] = *v;
	l->n++;
}

/* The backlog of the listener on fd, as the listener walk shows it. */
static int backlog_of(struct tstack *t, int fd)
{
	struct lview_list l;
	int i;

	memset(&l, 0, sizeof(l));
	stack_walk_listeners(t->st, collect_listener, &l);
	for (i = 0; i < l.n && i < 8; i++)
		if (l.v[i].fd == fd)
			return l.v[i].backlog;
	ck_abort_msg("fd %d is not among the %d listeners", fd, l.n);
	return -1;
}

/* ---- lookup order ---------------------------------------------------------- */

static void exact_vs_wildcard(const char *any, const char *exact, const char *other,
			      const char *client, int exact_first)
{
	struct tstack *t = ts_new(NULL);
	int fa, fe;

	add_local(t, other);
	/* Two listeners on one port at all needs SO_REUSEPORT on both (overlapping addresses). */
	if (exact_first) {
		fe = listen_opts(t, exact, 0, 1);
		fa = listen_opts(t, any, 0, 1);
	} else {
		fa = listen_opts(t, any, 0, 1);
		fe = listen_opts(t, exact, 0, 1);
	}
	/* to the exact address: the exact listener, found on the first pass */
	ck_assert_msg(syn_listener(t, client, exact, 1000) == fe,
		      "%s (%s first): listener fd %d, expected %d",
		      exact, exact_first ? "exact" : "wildcard", t->in.listener.fd, fe);
	ck_assert_int_eq(t->in.lookup.wildcard, 0);
	ck_assert_int_eq(t->in.action, ACT_SYN_ACK);
	ck_assert_uint_eq(t->in.listener.syn_queue, 1);
	/* to another local address: the wildcard, on the second pass */
	{
		char dst[64];
		uint16_t port;
		struct ip_addr a;

		ck_assert_int_eq(endpoint_parse(exact, &a, &port), 0);
		ck_assert_int_eq(addr_parse(other, &a), 0);
		endpoint_format(&a, port, dst, sizeof(dst));
		ck_assert_msg(syn_listener(t, client, dst, 2000) == fa,
			      "%s: listener fd %d, expected wildcard %d",
			      dst, t->in.listener.fd, fa);
		ck_assert_int_eq(t->in.lookup.wildcard, 1);
		ck_assert_int_eq(t->in.action, ACT_SYN_ACK);
		ck_assert_msg(addr_equal(&ts_out(t, -1)->src, &a), "SYN-ACK not sent from %s", other);
	}
	ts_check(t);
	ts_free(t);
}

START_TEST(test_exact_beats_wildcard_v4)
{
	exact_vs_wildcard("0.0.0.0:80", "10.0.0.1:80", "10.0.0.5", "192.0.2.9:40000", 0);
	exact_vs_wildcard("0.0.0.0:80", "10.0.0.1:80", "10.0.0.5", "192.0.2.9:40000", 1);
}
END_TEST

START_TEST(test_exact_beats_wildcard_v6)
{
	exact_vs_wildcard("[::]:443", "[2001:db8::1]:443", "2001:db8::5", "[2001:db8::99]:40000", 0);
	exact_vs_wildcard("[::]:443", "[2001:db8::1]:443", "2001:db8::5", "[2001:db8::99]:40000", 1);
}
END_TEST

START_TEST(test_wildcard_only)
{
	struct tstack *t = ts_new(NULL);
	int fa;

	add_local(t, "10.0.0.7");
	fa = ts_listen(t, "0.0.0.0:8080", 16);
	ck_assert_int_eq(syn_listener(t, "10.0.0.2:1000", "10.0.0.1:8080", 1), fa);
	ck_assert_int_eq(t->in.lookup.wildcard, 1);
	ck_assert_int_eq(t->in.lookup.reuseport, 0);
	ck_assert_int_eq(t->in.lookup.group, 0);
	ck_assert_int_eq(syn_listener(t, "10.0.0.2:1000", "10.0.0.7:8080", 1), fa);
	ck_assert_int_eq(t->in.lookup.wildcard, 1);
	/* the reply comes from the address the SYN was sent to */
	ck_assert_uint_eq(addr_v4_value(&ts_out(t, -1)->src), 0x0a000007);
	ck_assert_uint_eq(ts_out(t, -1)->sport, 8080);
	ck_assert_uint_eq(t->in.listener.syn_queue, 2);
	/* a v4 wildcard listener does not take IPv6 segments */
	ck_assert_int_eq(syn_listener(t, "[2001:db8::9]:1000", "[2001:db8::1]:8080", 1), -1);
	ck_assert_int_eq(t->in.lookup.result, LOOKUP_NONE);
	ts_check(t);
	ts_free(t);
}
END_TEST

/*
 * net.ipv6.bindv6only=0 (Linux's default): a [::] listener without
 * IPV6_V6ONLY takes IPv4 too (inet6 sockets hashed with 0.0.0.0); the
 * child's 4-tuple is IPv4 in the established hash, and accept() gives the
 * peer as an IPv4-mapped address.
 */
START_TEST(test_v6_wildcard_takes_ipv4)
{
	struct tstack *t = ts_new(NULL);
	struct ip_addr peer, want;
	uint16_t port = 0;
	int fl, fd, v = -1;

	fl = ts_listen(t, "[::]:80", 16);
	ck_assert_int_eq(sys_getsockopt(t->st, fl, SOCKOPT_V6ONLY, &v), 0);
	ck_assert_int_eq(v, 0);
	ck_assert_int_eq(syn_listener(t, "10.0.0.2:1000", "10.0.0.1:80", 7), fl);
	ck_assert_int_eq(t->in.lookup.wildcard, 1);
	ck_assert_int_eq(t->in.action, ACT_SYN_ACK);
	ck_assert_int_eq(ts_out(t, -1)->src.family, ADDR_V4);
	ck_assert_uint_eq(addr_v4_value(&ts_out(t, -1)->src), 0x0a000001);
	ts_clear(t);
	/* The handshake completes on the same listener; its peer comes back mapped. */
	reset_request(t, "10.0.0.2:1000", "10.0.0.1:80", 7);
	ts_handshake(t, "10.0.0.2:1001", "10.0.0.1:80", 100);
	fd = sys_accept(t->st, fl, &peer, &port);
	ck_assert_msg(fd >= 0, "accept() = %d", fd);
	ck_assert_int_eq(addr_parse("::ffff:10.0.0.2", &want), 0);
	ck_assert_msg(addr_equal(&peer, &want) && port == 1001, "accept() gave a peer that is not ::ffff:10.0.0.2:1001");
	/* IPv6 still works on it. */
	ck_assert_int_eq(syn_listener(t, "[2001:db8::9]:1000", "[2001:db8::1]:80", 1), fl);
	ts_check(t);
	ts_free(t);
}
END_TEST

/* IPV6_V6ONLY (or net.ipv6.bindv6only=1) keeps IPv4 out: no listener, a RST. */
START_TEST(test_v6only_refuses_ipv4)
{
	struct stack_config c;
	struct tstack *t = ts_new(NULL);
	int fd, fv4, v = 0;

	fd = sock_opts(t, ADDR_V6, 0, 0);
	ck_assert_int_eq(sys_setsockopt(t->st, fd, SOCKOPT_V6ONLY, 1), 0);
	ck_assert_int_eq(bind_ep(t, fd, "[::]:80"), 0);
	/* Only before bind(), and not on an IPv4 socket (do_ipv6_setsockopt). */
	ck_assert_int_eq(sys_setsockopt(t->st, fd, SOCKOPT_V6ONLY, 0), -EINVAL);
	fv4 = sys_socket(t->st, ADDR_V4);
	ck_assert_int_eq(sys_setsockopt(t->st, fv4, SOCKOPT_V6ONLY, 1), -ENOPROTOOPT);
	ck_assert_int_eq(sys_getsockopt(t->st, fv4, SOCKOPT_V6ONLY, &v), -ENOPROTOOPT);
	sys_close(t->st, fv4);
	ck_assert_int_eq(sys_listen(t->st, fd, 16), 0);
	ck_assert_int_eq(syn_listener(t, "10.0.0.2:1000", "10.0.0.1:80", 7), -1);
	ck_assert_int_eq(t->in.lookup.result, LOOKUP_NONE);
	ck_assert_int_eq(ts_out(t, -1)->flags, TH_RST | TH_ACK);
	ck_assert_int_eq(syn_listener(t, "[2001:db8::9]:1000", "[2001:db8::1]:80", 1), fd);
	ts_free(t);

	ts_config(&c);
	c.bindv6only = 1;
	t = ts_new(&c);
	fd = ts_listen(t, "[::]:80", 16);
	ck_assert_int_eq(sys_getsockopt(t->st, fd, SOCKOPT_V6ONLY, &v), 0);
	ck_assert_int_eq(v, 1);
	ck_assert_int_eq(syn_listener(t, "10.0.0.2:1000", "10.0.0.1:80", 7), -1);
	ts_free(t);
}
END_TEST

/*
 * The bind table: [::]:80 without IPV6_V6ONLY holds port 80 for IPv4 too
 * (inet_rcv_saddr_equal); with it, 0.0.0.0:80 may be bound beside it and
 * takes the IPv4 segments. Both listening with SO_REUSEPORT, an IPv4
 * segment prefers the AF_INET listener (compute_score).
 */
START_TEST(test_v6_dual_bind_conflict)
{
	struct tstack *t = ts_new(NULL);
	int f6, f4;

	f6 = ts_listen(t, "[::]:80", 16);
	f4 = sock_opts(t, ADDR_V4, 0, 0);
	ck_assert_int_eq(bind_ep(t, f4, "0.0.0.0:80"), -EADDRINUSE);
	ck_assert_int_eq(bind_ep(t, f4, "10.0.0.1:80"), -EADDRINUSE);
	ck_assert_int_eq(bind_ep(t, f4, "10.0.0.1:81"), 0);
	sys_close(t->st, f4);
	sys_close(t->st, f6);

	f6 = sock_opts(t, ADDR_V6, 0, 0);
	ck_assert_int_eq(sys_setsockopt(t->st, f6, SOCKOPT_V6ONLY, 1), 0);
	ck_assert_int_eq(bind_ep(t, f6, "[::]:80"), 0);
	ck_assert_int_eq(sys_listen(t->st, f6, 16), 0);
	f4 = ts_listen(t, "0.0.0.0:80", 16);
	ck_assert_int_eq(syn_listener(t, "10.0.0.2:1000", "10.0.0.1:80", 7), f4);
	ck_assert_int_eq(syn_listener(t, "[2001:db8::9]:1000", "[2001:db8::1]:80", 1), f6);
	sys_close(t->st, f4);
	sys_close(t->st, f6);

	/* Both dual and IPv4 with SO_REUSEPORT: the IPv4 listener wins IPv4. */
	f6 = listen_opts(t, "[::]:90", 0, 1);
	f4 = listen_opts(t, "0.0.0.0:90", 0, 1);
	ck_assert_int_eq(syn_listener(t, "10.0.0.2:1000", "10.0.0.1:90", 7), f4);
	sys_close(t->st, f4);
	ck_assert_int_eq(syn_listener(t, "10.0.0.2:1001", "10.0.0.1:90", 7), f6);
	ts_free(t);
}
END_TEST

START_TEST(test_no_listener)
{
	struct tstack *t = ts_new(NULL);
	const struct segment *r;

	ts_listen(t, "10.0.0.1:80", 16);
	ck_assert_int_eq(syn_listener(t, "10.0.0.2:1000", "10.0.0.1:81", 4242), -1);
	ck_assert_int_eq(t->in.lookup.result, LOOKUP_NONE);
	ck_assert_int_eq(t->in.has_listener, 0);
	ck_assert_int_eq(t->in.action, ACT_RST);
	ck_assert_int_eq(t->nout, 1);
	r = ts_out(t, -1);
	ck_assert_uint_eq(r->flags, TH_RST | TH_ACK);
	ck_assert_uint_eq(r->seq, 0);
	ck_assert_uint_eq(r->ack, 4243);
	ck_assert_uint_eq(r->win, 0);
	ck_assert_uint_eq(stack_counter(t->st, CNT_NOSOCKET), 1);
	ck_assert_uint_eq(t->st->nsocks, 1);
	ts_check(t);
	ts_free(t);
}
END_TEST

/* ---- bind conflicts ------------------------------------------------------------ */

START_TEST(test_bind_same_address)
{
	struct tstack *t = ts_new(NULL);
	int a = sock_opts(t, ADDR_V4, 0, 0), b = sock_opts(t, ADDR_V4, 0, 0);
	int c = sock_opts(t, ADDR_V4, 0, 0);

	ck_assert_int_eq(bind_ep(t, a, "10.0.0.1:80"), 0);
	/* bound, not even listening: still taken */
	ck_assert_int_eq(bind_ep(t, b, "10.0.0.1:80"), -EADDRINUSE);
	/* the failed bind left b unbound: another port works */
	ck_assert_int_eq(bind_ep(t, b, "10.0.0.1:81"), 0);
	/* an already bound socket cannot bind again */
	ck_assert_int_eq(bind_ep(t, b, "10.0.0.1:82"), -EINVAL);
	/* the same port in the other family does not conflict */
	{
		int v6 = sock_opts(t, ADDR_V6, 0, 0);

		ck_assert_int_eq(bind_ep(t, v6, "[2001:db8::1]:80"), 0);
	}
	ck_assert_int_eq(bind_ep(t, c, "10.0.0.9:80"), -EADDRNOTAVAIL);
	ts_free(t);
}
END_TEST

START_TEST(test_bind_wildcard_overlap)
{
	struct tstack *t = ts_new(NULL);
	int a = sock_opts(t, ADDR_V4, 0, 0), b = sock_opts(t, ADDR_V4, 0, 0);
	int c = sock_opts(t, ADDR_V4, 0, 0), d = sock_opts(t, ADDR_V4, 0, 0);

	add_local(t, "10.0.0.5");
	/* wildcard first, then a specific address */
	ck_assert_int_eq(bind_ep(t, a, "0.0.0.0:80"), 0);
	ck_assert_int_eq(bind_ep(t, b, "10.0.0.1:80"), -EADDRINUSE);
	/* specific first, then the wildcard */
	ck_assert_int_eq(bind_ep(t, c, "10.0.0.1:90"), 0);
	ck_assert_int_eq(bind_ep(t, d, "0.0.0.0:90"), -EADDRINUSE);
	/* two different specific addresses do not overlap */
	ck_assert_int_eq(bind_ep(t, d, "10.0.0.5:90"), 0);
	ck_assert_int_eq(bind_ep(t, b, "10.0.0.1:91"), 0);
	ts_free(t);
}
END_TEST

START_TEST(test_bind_reuseaddr)
{
	struct tstack *t = ts_new(NULL);
	int a = sock_opts(t, ADDR_V4, 1, 0), b = sock_opts(t, ADDR_V4, 1, 0);
	int c = sock_opts(t, ADDR_V4, 1, 0), d = sock_opts(t, ADDR_V4, 0, 0);

	/* both SO_REUSEADDR, neither listening: allowed */
	ck_assert_int_eq(bind_ep(t, a, "10.0.0.1:80"), 0);
	ck_assert_int_eq(bind_ep(t, b, "10.0.0.1:80"), 0);
	/* only one side with SO_REUSEADDR: conflict */
	ck_assert_int_eq(bind_ep(t, d, "10.0.0.1:80"), -EADDRINUSE);
	/* the first listen() is fine: the other is not listening */
	ck_assert_int_eq(sys_listen(t->st, a, 8), 0);
	/* the second needs SO_REUSEPORT: listen() re-checks as a listener */
	ck_assert_int_eq(sys_listen(t->st, b, 8), -EADDRINUSE);
	ck_assert_int_eq(sys_state(t->st, b), TCP_CLOSED);
	ck_assert_uint_eq(t->st->lt.count, 1);
	/* and nobody binds next to a listener, SO_REUSEADDR or not */
	ck_assert_int_eq(bind_ep(t, c, "10.0.0.1:80"), -EADDRINUSE);
	ck_assert_int_eq(bind_ep(t, c, "0.0.0.0:80"), -EADDRINUSE);
	/* SYNs go to a, the only listener */
	ck_assert_int_eq(syn_listener(t, "10.0.0.2:1000", "10.0.0.1:80", 1), a);
	/* once a is closed, b may listen */
	ck_assert_int_eq(sys_close(t->st, a), 0);
	ck_assert_int_eq(sys_listen(t->st, b, 8), 0);
	ck_assert_int_eq(syn_listener(t, "10.0.0.2:1001", "10.0.0.1:80", 1), b);
	ts_check(t);
	ts_free(t);
}
END_TEST

START_TEST(test_bind_reuseport)
{
	struct tstack *t = ts_new(NULL);
	int a = sock_opts(t, ADDR_V4, 0, 1), b = sock_opts(t, ADDR_V4, 0, 1);
	int c = sock_opts(t, ADDR_V4, 0, 0), d = sock_opts(t, ADDR_V4, 1, 0);

	ck_assert_int_eq(bind_ep(t, a, "10.0.0.1:80"), 0);
	ck_assert_int_eq(sys_listen(t->st, a, 8), 0);
	ck_assert_int_eq(bind_ep(t, b, "10.0.0.1:80"), 0);
	ck_assert_int_eq(sys_listen(t->st, b, 8), 0);
	ck_assert_uint_eq(t->st->lt.count, 2);
	/* without SO_REUSEPORT on the newcomer: conflict */
	ck_assert_int_eq(bind_ep(t, c, "10.0.0.1:80"), -EADDRINUSE);
	ck_assert_int_eq(bind_ep(t, d, "0.0.0.0:80"), -EADDRINUSE);
	ts_check(t);
	ts_free(t);
}
END_TEST

START_TEST(test_close_frees_port)
{
	struct tstack *t = ts_new(NULL);
	int a, b = sock_opts(t, ADDR_V4, 0, 0), c = sock_opts(t, ADDR_V4, 0, 0);
	int e = sock_opts(t, ADDR_V4, 0, 0);

	a = ts_listen(t, "10.0.0.1:80", 8);
	ck_assert_int_eq(bind_ep(t, b, "10.0.0.1:80"), -EADDRINUSE);
	ck_assert_int_eq(sys_close(t->st, a), 0);
	ck_assert_uint_eq(t->st->lt.count, 0);
	ck_assert_int_eq(syn_listener(t, "10.0.0.2:1000", "10.0.0.1:80", 1), -1);
	ck_assert_int_eq(bind_ep(t, b, "10.0.0.1:80"), 0);
	ck_assert_int_eq(sys_listen(t->st, b, 8), 0);
	ck_assert_int_eq(syn_listener(t, "10.0.0.2:1001", "10.0.0.1:80", 1), b);
	/* a socket that was only bound frees its port as well */
	ck_assert_int_eq(bind_ep(t, c, "10.0.0.1:99"), 0);
	ck_assert_int_eq(bind_ep(t, e, "10.0.0.1:99"), -EADDRINUSE);
	ck_assert_int_eq(sys_close(t->st, c), 0);
	ck_assert_int_eq(bind_ep(t, e, "10.0.0.1:99"), 0);
	ts_check(t);
	ts_free(t);
}
END_TEST

/* ---- SO_REUSEPORT groups ------------------------------------------------------ */

#define NTUPLES 64

START_TEST(test_reuseport_group)
{
	struct tstack *t = ts_new(NULL);
	int fd[4], members[4], hits[4] = { 0 }, picked[NTUPLES], i, k;
	uint32_t hash[NTUPLES];
	static const int listen_order[4] = { 2, 0, 3, 1 };

	/* bind in one order, listen in another: the group follows listen() */
	for (i = 0; i < 4; i++) {
		fd[i] = sock_opts(t, ADDR_V4, 0, 1);
		ck_assert_int_eq(bind_ep(t, fd[i], "10.0.0.1:80"), 0);
	}
	for (i = 0; i < 4; i++) {
		members[i] = fd[listen_order[i]];
		ck_assert_int_eq(sys_listen(t->st, members[i], 256), 0);
	}
	for (i = 0; i < NTUPLES; i++) {
		char src[32];
		uint32_t expect;

		ts_clear(t); /* each SYN is looked at alone */
		snprintf(src, sizeof(src), "192.0.2.%d:%d", 1 + i % 7, 30000 + 17 * i);
		picked[i] = syn_listener(t, src, "10.0.0.1:80", 1000u + (uint32_t)i);
		hash[i] = t->in.lookup.hash;
		ck_assert_int_eq(t->in.lookup.reuseport, 1);
		ck_assert_int_eq(t->in.lookup.group, 4);
		expect = (uint32_t)(((uint64_t)hash[i] * 4) >> 32);
		ck_assert_msg(picked[i] == members[expect],
			      "%s: hash %08x picked fd %d, expected member %u (fd %d)",
			      src, hash[i], picked[i], expect, members[expect]);
		for (k = 0; k < 4; k++)
			hits[k] += picked[i] == members[k];
	}
	for (k = 0; k < 4; k++)
		ck_assert_msg(hits[k] > 0, "member %d (fd %d) got none of %d tuples", k, members[k], NTUPLES);
	ck_assert_int_eq(hits[0] + hits[1] + hits[2] + hits[3], NTUPLES);

	/* the same 4-tuple, again and again, lands on the same member */
	for (k = 0; k < 2; k++) {
		for (i = 0; i < NTUPLES; i++) {
			char src[32];

			ts_clear(t);
			snprintf(src, sizeof(src), "192.0.2.%d:%d", 1 + i % 7, 30000 + 17 * i);
			reset_request(t, src, "10.0.0.1:80", 1000u + (uint32_t)i);
			ck_assert_msg(syn_listener(t, src, "10.0.0.1:80", 1000u + (uint32_t)i) == picked[i],
				      "%s moved from fd %d to fd %d", src, picked[i], t->in.listener.fd);
			ck_assert_uint_eq(t->in.lookup.hash, hash[i]);
		}
	}

	/* a smaller group remaps flows: member = (hash * 3) >> 32 of the rest, in listen() order */
	ck_assert_int_eq(sys_close(t->st, members[1]), 0);
	for (i = 0; i < NTUPLES; i++) {
		char src[32];
		static const int rest[3] = { 0, 2, 3 };
		uint32_t expect = (uint32_t)(((uint64_t)hash[i] * 3) >> 32);

		ts_clear(t);
		snprintf(src, sizeof(src), "192.0.2.%d:%d", 1 + i % 7, 30000 + 17 * i);
		/* members[1]'s requests went with it; reset the others' */
		if (picked[i] != members[1])
			reset_request(t, src, "10.0.0.1:80", 1000u + (uint32_t)i);
		ck_assert_int_eq(syn_listener(t, src, "10.0.0.1:80", 1000u + (uint32_t)i),
				 members[rest[expect]]);
		ck_assert_int_eq(t->in.lookup.group, 3);
	}
	ts_check(t);
	ts_free(t);
}
END_TEST

/* ---- backlog and autobind -------------------------------------------------------- */

START_TEST(test_backlog_somaxconn)
{
	struct stack_config c;
	struct tstack *t;
	int a, b, d, e;

	ts_config(&c);
	c.somaxconn = 128;
	t = ts_new(&c);
	a = ts_listen(t, "10.0.0.1:80", 1000);
	ck_assert_int_eq(backlog_of(t, a), 128);
	b = ts_listen(t, "10.0.0.1:81", -1);
	ck_assert_int_eq(backlog_of(t, b), 128);
	d = ts_listen(t, "10.0.0.1:82", 5);
	ck_assert_int_eq(backlog_of(t, d), 5);
	e = ts_listen(t, "10.0.0.1:83", 128);
	ck_assert_int_eq(backlog_of(t, e), 128);
	/* listen() again on a listener only changes the backlog, still capped */
	ck_assert_int_eq(sys_listen(t->st, d, 7), 0);
	ck_assert_int_eq(backlog_of(t, d), 7);
	ck_assert_int_eq(sys_listen(t->st, d, 129), 0);
	ck_assert_int_eq(backlog_of(t, d), 128);
	ck_assert_int_eq(sys_listen(t->st, d, 0), 0);
	ck_assert_int_eq(backlog_of(t, d), 0);
	ck_assert_uint_eq(t->st->lt.count, 4);
	ts_free(t);

	/* default somaxconn: 4096 */
	t = ts_new(NULL);
	a = ts_listen(t, "10.0.0.1:80", 100000);
	ck_assert_int_eq(backlog_of(t, a), 4096);
	b = ts_listen(t, "10.0.0.1:81", -1);
	ck_assert_int_eq(backlog_of(t, b), 4096);
	ts_free(t);
}
END_TEST

START_TEST(test_listen_autobind)
{
	struct tstack *t = ts_new(NULL);
	struct ip_addr a;
	uint16_t p1, p2;
	int f1 = sys_socket(t->st, ADDR_V4), f2 = sys_socket(t->st, ADDR_V4);
	char dst[32];

	ck_assert_int_eq(sys_listen(t->st, f1, 8), 0);
	ck_assert_int_eq(sys_getsockname(t->st, f1, &a, &p1), 0);
	ck_assert_msg(p1 >= 32768 && p1 <= 60999, "autobind picked port %u", p1);
	ck_assert_msg(addr_is_any(&a) && a.family == ADDR_V4, "autobind bound a specific address");
	ck_assert_int_eq(sys_state(t->st, f1), TCP_LISTEN);
	ck_assert_int_eq(sys_listen(t->st, f2, 8), 0);
	ck_assert_int_eq(sys_getsockname(t->st, f2, &a, &p2), 0);
	ck_assert_msg(p2 >= 32768 && p2 <= 60999, "autobind picked port %u", p2);
	ck_assert_msg(p1 != p2, "two autobound listeners share port %u", p1);
	/* the port is really taken... */
	{
		int g = sock_opts(t, ADDR_V4, 0, 0);

		ck_assert_int_eq(sys_bind(t->st, g, &a, p1), -EADDRINUSE);
	}
	/* ...and a SYN to it finds the listener */
	snprintf(dst, sizeof(dst), "10.0.0.1:%u", p1);
	ck_assert_int_eq(syn_listener(t, "10.0.0.2:1000", dst, 77), f1);
	ck_assert_int_eq(t->in.action, ACT_SYN_ACK);
	ck_assert_uint_eq(ts_out(t, -1)->sport, p1);
	ck_assert_uint_eq(ts_out(t, -1)->ack, 78);
	ts_check(t);
	ts_free(t);
}
END_TEST

Suite *listen_suite(void)
{
	Suite *s = suite_create("listen");
	TCase *tc;

	tc = tcase_create("lookup");
	tcase_add_test(tc, test_exact_beats_wildcard_v4);
	tcase_add_test(tc, test_exact_beats_wildcard_v6);
	tcase_add_test(tc, test_wildcard_only);
	tcase_add_test(tc, test_no_listener);
	tcase_add_test(tc, test_v6_wildcard_takes_ipv4);
	tcase_add_test(tc, test_v6only_refuses_ipv4);
	tcase_add_test(tc, test_v6_dual_bind_conflict);
	suite_add_tcase(s, tc);

	tc = tcase_create("bind");
	tcase_add_test(tc, test_bind_same_address);
	tcase_add_test(tc, test_bind_wildcard_overlap);
	tcase_add_test(tc, test_bind_reuseaddr);
	tcase_add_test(tc, test_bind_reuseport);
	tcase_add_test(tc, test_close_frees_port);
	suite_add_tcase(s, tc);

	tc = tcase_create("reuseport");
	tcase_add_test(tc, test_reuseport_group);
	suite_add_tcase(s, tc);

	tc = tcase_create("listen");
	tcase_add_test(tc, test_backlog_somaxconn);
	tcase_add_test(tc, test_listen_autobind);
	suite_add_tcase(s, tc);
	return s;
}
