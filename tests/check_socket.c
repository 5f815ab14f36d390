/*
 * check_socket.c - the BSD-like sys_* API of stack/socket.c.
 *
 * Covers: descriptors (start at 3, lowest free reused, -EBADF from every
 * call on a descriptor that is not open); socket() families; bind()
 * (non-local address, twice, family mismatch, port 0 picks an ephemeral
 * port); listen() (again only changes the backlog, capped at somaxconn,
 * unbound socket gets a port); accept() (empty queue, not a listener,
 * remote endpoint returned, and the new descriptor's local endpoint is
 * the listener's own address and port: accept() opens no new port);
 * getsockname()/getpeername(); send()/recv() in the wrong states;
 * shutdown(); connect() (-EALREADY, -EISCONN, family, ephemeral ports from
 * 32768..60999 that differ per connection, -ECONNREFUSED reported through
 * sys_error); setsockopt(); sys_state/sys_error/sys_sock_id; and Linux's
 * handling of a child reset while it waits in the accept queue (accept()
 * still returns it, the first recv() reports -ECONNRESET); what a driver
 * learns without a map of its own: stack_input() returning the descriptor
 * a segment reached and sys_lookup() finding one by 4-tuple (neither for
 * a request, a child not yet accepted or a reset connection's tuple).
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "helpers.h"
#include "suites.h"

#define SERVER "10.0.0.1:80"
#define CLIENT "10.0.0.2:40000"
#define CLIENT2 "10.0.0.2:40001"

/* ---- helpers ------------------------------------------------------------ */

static struct ip_addr addr(const char *text)
{
	struct ip_addr a;

	ck_assert_msg(addr_parse(text, &a) == 0, "addr_parse(%s) failed", text);
	return a;
}

static int new_socket(struct tstack *t, int family)
{
	int fd = sys_socket(t->st, family);

	ck_assert_msg(fd >= 3, "socket(%d) = %d", family, fd);
	return fd;
}

/* Backlog of the listener behind fd, as the listener table shows it. */
struct backlog_probe {
	uint32_t id;
	int backlog;
	int found;
};

static void probe_listener(void *ctx, const struct listener_view *l)
{
	struct backlog_probe *p = ctx;

	if (l->id == p->id) {
		p->backlog = l->backlog;
		p->found++;
	}
}

static int listener_backlog(struct tstack *t, int fd)
{
	struct backlog_probe p = { sys_sock_id(t->st, fd), -1, 0 };

	stack_walk_listeners(t->st, probe_listener, &p);
	ck_assert_msg(p.found == 1, "listener of fd %d found %d times", fd, p.found);
	return p.backlog;
}

/* connect() to 10.0.0.9:port; returns the fd and the SYN's source port. */
static int start_connect(struct tstack *t, uint16_t port, uint16_t *sport)
{
	struct ip_addr ra = addr("10.0.0.9");
	int fd = new_socket(t, ADDR_V4);

	ck_assert_int_eq(sys_connect(t->st, fd, &ra, port), -EINPROGRESS);
	ck_assert_msg(ts_out(t, -1)->flags == TH_SYN, "connect() sent flags %#x", ts_out(t, -1)->flags);
	*sport = ts_out(t, -1)->sport;
	return fd;
}

/* Answers the last SYN with a SYN-ACK from its destination, completing the open. */
static void answer_syn(struct tstack *t, uint32_t isn)
{
	const struct segment *syn = ts_out(t, -1);
	struct segment s;

	memset(&s, 0, sizeof(s));
	s.src = syn->dst;
	s.dst = syn->src;
	s.sport = syn->dport;
	s.dport = syn->sport;
	s.seq = isn;
	s.ack = syn->seq + 1;
	s.flags = TH_SYN | TH_ACK;
	s.win = 65535;
	ck_assert_int_eq(ts_in(t, &s), 1);
	ck_assert_int_eq(t->in.action, ACT_ESTABLISHED);
}

/* Handshake from src and accept(); returns the accepted fd. */
static int accept_from(struct tstack *t, int lfd, const char *src, uint32_t isn)
{
	int fd;

	ts_handshake(t, src, SERVER, isn);
	fd = sys_accept(t->st, lfd, NULL, NULL);
	ck_assert_msg(fd >= 3, "accept() = %d", fd);
	return fd;
}

/* ---- descriptors ------------------------------------------------------------ */

START_TEST(test_fd_numbering)
{
	struct tstack *t = ts_new(NULL);

	ck_assert_int_eq(sys_socket(t->st, ADDR_V4), 3);
	ck_assert_int_eq(sys_socket(t->st, ADDR_V6), 4);
	ck_assert_int_eq(sys_socket(t->st, ADDR_V4), 5);
	ck_assert_int_eq(sys_close(t->st, 4), 0);
	ck_assert_int_eq(sys_socket(t->st, ADDR_V4), 4);
	ck_assert_int_eq(sys_close(t->st, 3), 0);
	ck_assert_int_eq(sys_close(t->st, 5), 0);
	/* The lowest free one first: 3, then 5, then a new 6. */
	ck_assert_int_eq(sys_socket(t->st, ADDR_V4), 3);
	ck_assert_int_eq(sys_socket(t->st, ADDR_V4), 5);
	ck_assert_int_eq(sys_socket(t->st, ADDR_V4), 6);
	ts_free(t);
}
END_TEST

START_TEST(test_fd_numbering_many)
{
	struct tstack *t = ts_new(NULL);
	int i;

	/* Past the table's first growth: still dense from 3 up. */
	for (i = 0; i < 40; i++)
		ck_assert_int_eq(sys_socket(t->st, ADDR_V4), 3 + i);
	ck_assert_int_eq(sys_close(t->st, 20), 0);
	ck_assert_int_eq(sys_close(t->st, 10), 0);
	ck_assert_int_eq(sys_socket(t->st, ADDR_V4), 10);
	ck_assert_int_eq(sys_socket(t->st, ADDR_V4), 20);
	ck_assert_int_eq(sys_socket(t->st, ADDR_V4), 43);
	ts_free(t);
}
END_TEST

/*
 * The lowest free descriptor across the bitmap's word (64) and summary
 * (4096) boundaries, with the free ones far apart and far below the top.
 */
START_TEST(test_fd_lowest_across_words)
{
	struct stack_config c;
	struct tstack *t;
	static const int freed[] = { 4100, 70, 4095, 64, 63, 5002 };
	static const int expect[] = { 63, 64, 70, 4095, 4100, 5002, 5003 };
	int i;

	stack_config_init(&c);
	t = ts_new(&c);
	for (i = 3; i < 5003; i++)
		ck_assert_int_eq(sys_socket(t->st, ADDR_V4), i);
	for (i = 0; i < (int)(sizeof(freed) / sizeof(freed[0])); i++)
		ck_assert_int_eq(sys_close(t->st, freed[i]), 0);
	for (i = 0; i < (int)(sizeof(expect) / sizeof(expect[0])); i++)
		ck_assert_msg(sys_socket(t->st, ADDR_V4) == expect[i], "socket %d: expected descriptor %d", i,
			      expect[i]);
	/* Every word full again, then one freed at the very bottom. */
	ck_assert_int_eq(sys_close(t->st, 3), 0);
	ck_assert_int_eq(sys_socket(t->st, ADDR_V4), 3);
	ck_assert_int_eq(sys_socket(t->st, ADDR_V4), 5004);
	ts_free(t);
}
END_TEST

/* accept() takes the lowest free descriptor as well. */
START_TEST(test_fd_accept_lowest)
{
	struct tstack *t = ts_new(NULL);
	int lfd, a, b, c;

	a = new_socket(t, ADDR_V4);
	lfd = ts_listen(t, SERVER, 8);
	ck_assert_int_eq(a, 3);
	ck_assert_int_eq(lfd, 4);
	ck_assert_int_eq(sys_close(t->st, a), 0);
	b = accept_from(t, lfd, CLIENT, 100);
	ck_assert_int_eq(b, 3);
	c = accept_from(t, lfd, CLIENT2, 200);
	ck_assert_int_eq(c, 5);
	ts_free(t);
}
END_TEST

static void expect_ebadf(struct tstack *t, int fd)
{
	struct ip_addr a = addr("10.0.0.1"), out;
	uint16_t port;
	char buf[4];

	ck_assert_msg(sys_setsockopt(t->st, fd, SOCKOPT_REUSEADDR, 1) == -EBADF, "setsockopt(%d)", fd);
	ck_assert_msg(sys_bind(t->st, fd, &a, 80) == -EBADF, "bind(%d)", fd);
	ck_assert_msg(sys_listen(t->st, fd, 8) == -EBADF, "listen(%d)", fd);
	ck_assert_msg(sys_accept(t->st, fd, &out, &port) == -EBADF, "accept(%d)", fd);
	ck_assert_msg(sys_connect(t->st, fd, &a, 80) == -EBADF, "connect(%d)", fd);
	ck_assert_msg(sys_send(t->st, fd, "x", 1) == -EBADF, "send(%d)", fd);
	ck_assert_msg(sys_recv(t->st, fd, buf, sizeof(buf)) == -EBADF, "recv(%d)", fd);
	ck_assert_msg(sys_shutdown(t->st, fd, SHUTDOWN_RDWR) == -EBADF, "shutdown(%d)", fd);
	ck_assert_msg(sys_getsockname(t->st, fd, &out, &port) == -EBADF, "getsockname(%d)", fd);
	ck_assert_msg(sys_getpeername(t->st, fd, &out, &port) == -EBADF, "getpeername(%d)", fd);
	ck_assert_msg(sys_state(t->st, fd) == -EBADF, "state(%d)", fd);
	ck_assert_msg(sys_error(t->st, fd) == -EBADF, "error(%d)", fd);
	ck_assert_msg(sys_sock_id(t->st, fd) == 0, "sock_id(%d)", fd);
	ck_assert_msg(sys_close(t->st, fd) == -EBADF, "close(%d)", fd);
}

START_TEST(test_bad_fd)
{
	static const int bad[] = { -1, 0, 1, 2, 3, 15, 16, 1000000, -2147483647 - 1 };
	struct tstack *t = ts_new(NULL);
	size_t i;
	int fd;

	/* Before any descriptor exists. */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_ebadf(t, bad[i]);
	/* A closed descriptor, with the table allocated. */
	fd = new_socket(t, ADDR_V4);
	ck_assert_int_eq(sys_close(t->st, fd), 0);
	expect_ebadf(t, fd);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_ebadf(t, bad[i]);
	ck_assert_uint_eq(t->st->nsocks, 0);
	ts_free(t);
}
END_TEST

START_TEST(test_socket_family)
{
	struct tstack *t = ts_new(NULL);

	ck_assert_int_eq(sys_socket(t->st, 0), -EAFNOSUPPORT);
	ck_assert_int_eq(sys_socket(t->st, 5), -EAFNOSUPPORT);
	ck_assert_int_eq(sys_socket(t->st, ADDR_V6), 3);
	ck_assert_int_eq(sys_state(t->st, 3), TCP_CLOSED);
	ck_assert_uint_eq(t->st->nsocks, 1);
	ts_free(t);
}
END_TEST

/* ---- bind and listen ------------------------------------------------------------ */

START_TEST(test_bind_errors)
{
	struct tstack *t = ts_new(NULL);
	struct ip_addr a = addr("10.0.0.1"), any4 = addr_any(ADDR_V4), la;
	struct ip_addr v6 = addr("2001:db8::1");
	uint16_t port;
	int fd = new_socket(t, ADDR_V4), fd6 = new_socket(t, ADDR_V6);

	/* Not one of ours. */
	a = addr("192.0.2.1");
	ck_assert_int_eq(sys_bind(t->st, fd, &a, 80), -EADDRNOTAVAIL);
	a = addr("2001:db8::99");
	ck_assert_int_eq(sys_bind(t->st, fd6, &a, 80), -EADDRNOTAVAIL);
	/* Wrong family either way. */
	ck_assert_int_eq(sys_bind(t->st, fd, &v6, 80), -EAFNOSUPPORT);
	a = addr("10.0.0.1");
	ck_assert_int_eq(sys_bind(t->st, fd6, &a, 80), -EINVAL);
	/* Failures leave the socket unbound. */
	ck_assert_int_eq(sys_getsockname(t->st, fd, &la, &port), 0);
	ck_assert_msg(addr_is_any(&la) && port == 0, "failed bind left port %u", port);
	/* Bound once, never twice - even to the same address and port. */
	ck_assert_int_eq(sys_bind(t->st, fd, &a, 80), 0);
	ck_assert_int_eq(sys_bind(t->st, fd, &a, 80), -EINVAL);
	ck_assert_int_eq(sys_bind(t->st, fd, &any4, 81), -EINVAL);
	ck_assert_int_eq(sys_getsockname(t->st, fd, &la, &port), 0);
	ck_assert_msg(addr_equal(&la, &a) && port == 80, "second bind changed the name to port %u", port);
	ck_assert_int_eq(sys_bind(t->st, fd6, &v6, 80), 0);
	ts_free(t);
}
END_TEST

START_TEST(test_bind_port_zero)
{
	struct tstack *t = ts_new(NULL);
	struct ip_addr any = addr_any(ADDR_V4), la;
	uint16_t p1, p2;
	int fd1 = new_socket(t, ADDR_V4), fd2 = new_socket(t, ADDR_V4);

	ck_assert_int_eq(sys_bind(t->st, fd1, &any, 0), 0);
	ck_assert_int_eq(sys_getsockname(t->st, fd1, &la, &p1), 0);
	ck_assert_msg(p1 >= 32768 && p1 <= 60999, "ephemeral port %u outside 32768..60999", p1);
	ck_assert_msg(addr_is_any(&la) && la.family == ADDR_V4, "bind(0.0.0.0:0) changed the address");
	ck_assert_int_eq(sys_bind(t->st, fd2, &any, 0), 0);
	ck_assert_int_eq(sys_getsockname(t->st, fd2, &la, &p2), 0);
	ck_assert_msg(p2 >= 32768 && p2 <= 60999, "ephemeral port %u outside 32768..60999", p2);
	ck_assert_msg(p1 != p2, "two bind(port 0) got the same port %u", p1);
	/* Listening on the picked port works. */
	ck_assert_int_eq(sys_listen(t->st, fd1, 4), 0);
	ck_assert_int_eq(sys_state(t->st, fd1), TCP_LISTEN);
	ts_free(t);
}
END_TEST

START_TEST(test_listen_backlog)
{
	struct tstack *t = ts_new(NULL);
	int fd = ts_listen(t, SERVER, 5);

	ck_assert_int_eq(listener_backlog(t, fd), 5);
	/* listen() again: only the backlog changes. */
	ck_assert_int_eq(sys_listen(t->st, fd, 10), 0);
	ck_assert_int_eq(listener_backlog(t, fd), 10);
	ck_assert_int_eq(sys_state(t->st, fd), TCP_LISTEN);
	ck_assert_uint_eq(t->st->lt.count, 1);
	/* Capped at somaxconn, and -1 means somaxconn. */
	ck_assert_int_eq(sys_listen(t->st, fd, 100000), 0);
	ck_assert_int_eq(listener_backlog(t, fd), 4096);
	ck_assert_int_eq(sys_listen(t->st, fd, -1), 0);
	ck_assert_int_eq(listener_backlog(t, fd), 4096);
	ck_assert_int_eq(sys_listen(t->st, fd, 0), 0);
	ck_assert_int_eq(listener_backlog(t, fd), 0);
	ck_assert_uint_eq(t->st->lt.count, 1);
	ts_free(t);
}
END_TEST

START_TEST(test_listen_unbound_autobinds)
{
	struct tstack *t = ts_new(NULL);
	struct ip_addr la;
	uint16_t port;
	int fd = new_socket(t, ADDR_V4);

	ck_assert_int_eq(sys_listen(t->st, fd, 4), 0);
	ck_assert_int_eq(sys_getsockname(t->st, fd, &la, &port), 0);
	ck_assert_msg(addr_is_any(&la), "autobound listener is not on the wildcard address");
	ck_assert_msg(port >= 32768 && port <= 60999, "autobound port %u", port);
	ts_free(t);
}
END_TEST

/* ---- accept ------------------------------------------------------------------------ */

START_TEST(test_accept_endpoints)
{
	struct tstack *t = ts_new(NULL);
	struct ip_addr ra, la, lla;
	uint16_t rport, lport, llport;
	int lfd = ts_listen(t, SERVER, 8), fd;

	ck_assert_int_eq(sys_accept(t->st, lfd, &ra, &rport), -EAGAIN);
	ts_handshake(t, CLIENT, SERVER, 100);
	fd = sys_accept(t->st, lfd, &ra, &rport);
	ck_assert_int_eq(fd, 4);
	la = addr("10.0.0.2");
	ck_assert_msg(addr_equal(&ra, &la) && rport == 40000, "accept() returned the wrong peer (port %u)",
		      rport);
	ck_assert_int_eq(ts_count(t, EV_ACCEPT), 1);
	/* accept() opens no port: the new socket's local end is the listener's. */
	ck_assert_int_eq(sys_getsockname(t->st, lfd, &lla, &llport), 0);
	ck_assert_int_eq(sys_getsockname(t->st, fd, &la, &lport), 0);
	ck_assert_msg(addr_equal(&la, &lla) && lport == llport && lport == 80,
		      "accepted socket is on port %u, listener on %u", lport, llport);
	ck_assert_int_eq(sys_getpeername(t->st, fd, &la, &lport), 0);
	ck_assert_msg(addr_equal(&la, &ra) && lport == rport, "getpeername differs from accept()");
	/* Both live on port 80 at once; the listener keeps listening. */
	ck_assert_int_eq(sys_state(t->st, lfd), TCP_LISTEN);
	ck_assert_int_eq(sys_state(t->st, fd), TCP_ESTABLISHED);
	ck_assert_msg(sys_sock_id(t->st, fd) != sys_sock_id(t->st, lfd), "child shares the listener's id");
	/* NULL may be passed for either result. */
	ts_handshake(t, CLIENT2, SERVER, 200);
	ck_assert_int_eq(sys_accept(t->st, lfd, NULL, NULL), 5);
	ck_assert_int_eq(sys_accept(t->st, lfd, NULL, NULL), -EAGAIN);
	ts_free(t);
}
END_TEST

START_TEST(test_accept_wildcard_listener)
{
	struct tstack *t = ts_new(NULL);
	struct ip_addr la, want = addr("10.0.0.1");
	uint16_t lport;
	int lfd = ts_listen(t, "0.0.0.0:8080", 8), fd;

	ts_handshake(t, CLIENT, "10.0.0.1:8080", 100);
	fd = sys_accept(t->st, lfd, NULL, NULL);
	ck_assert_int_ge(fd, 3);
	/* Same port; the address is the one the client reached. */
	ck_assert_int_eq(sys_getsockname(t->st, fd, &la, &lport), 0);
	ck_assert_msg(addr_equal(&la, &want) && lport == 8080, "accepted socket on port %u", lport);
	ck_assert_int_eq(sys_getsockname(t->st, lfd, &la, &lport), 0);
	ck_assert_msg(addr_is_any(&la) && lport == 8080, "listener's name changed to port %u", lport);
	ts_free(t);
}
END_TEST

START_TEST(test_accept_not_listening)
{
	struct tstack *t = ts_new(NULL);
	uint16_t sport;
	int fd = new_socket(t, ADDR_V4), cfd;

	ck_assert_int_eq(sys_accept(t->st, fd, NULL, NULL), -EINVAL);
	cfd = start_connect(t, 80, &sport);
	ck_assert_int_eq(sys_accept(t->st, cfd, NULL, NULL), -EINVAL);
	ts_free(t);
}
END_TEST

/* Linux: a child reset while queued is still handed out; the error comes with the first read. */
START_TEST(test_accept_reset_child)
{
	struct tstack *t = ts_new(NULL);
	struct segment s;
	struct ip_addr ra, want = addr("10.0.0.2");
	uint16_t rport;
	char buf[8];
	uint32_t iss;
	int lfd = ts_listen(t, SERVER, 8), fd;

	iss = ts_handshake(t, CLIENT, SERVER, 100);
	s = ts_seg(CLIENT, SERVER, TH_RST, 101, 0);
	ck_assert_int_eq(ts_in(t, &s), 0);
	ck_assert_int_eq(t->in.action, ACT_RESET);
	ck_assert_int_eq(t->in.sock.state, TCP_CLOSED);
	/* Unhashed, but still waiting in the accept queue. */
	ck_assert_uint_eq(fd_lookup(t->st, lfd)->ls->ack_backlog, 1);
	ck_assert_uint_eq(t->st->ehash.count, 0);
	/* The same 4-tuple no longer finds the child. */
	s = ts_seg(CLIENT, SERVER, TH_ACK, 101, iss + 1);
	ck_assert_int_eq(ts_in(t, &s), 1);
	ck_assert_int_eq(t->in.lookup.result, LOOKUP_LISTENER);

	fd = sys_accept(t->st, lfd, &ra, &rport);
	ck_assert_msg(fd >= 3, "accept() of the reset child = %d", fd);
	ck_assert_msg(addr_equal(&ra, &want) && rport == 40000, "reset child's peer port %u", rport);
	ck_assert_int_eq(sys_state(t->st, fd), TCP_CLOSED);
	ck_assert_int_eq(sys_recv(t->st, fd, buf, sizeof(buf)), -ECONNRESET);
	ck_assert_int_eq(sys_recv(t->st, fd, buf, sizeof(buf)), 0);
	ck_assert_int_eq(sys_accept(t->st, lfd, NULL, NULL), -EAGAIN);
	ck_assert_int_eq(sys_close(t->st, fd), 0);
	ck_assert_uint_eq(t->st->nsocks, 1);
	ts_free(t);
}
END_TEST

/* ---- names ---------------------------------------------------------------------------- */

START_TEST(test_names)
{
	struct tstack *t = ts_new(NULL);
	struct ip_addr a;
	uint16_t port;
	int fd = new_socket(t, ADDR_V4), lfd;

	/* An unbound socket is 0.0.0.0:0 and has no peer. */
	ck_assert_int_eq(sys_getsockname(t->st, fd, &a, &port), 0);
	ck_assert_msg(addr_is_any(&a) && a.family == ADDR_V4 && port == 0, "fresh socket on port %u", port);
	ck_assert_int_eq(sys_getpeername(t->st, fd, &a, &port), -ENOTCONN);
	lfd = ts_listen(t, SERVER, 8);
	ck_assert_int_eq(sys_getpeername(t->st, lfd, &a, &port), -ENOTCONN);
	ck_assert_int_eq(sys_getsockname(t->st, lfd, &a, &port), 0);
	ck_assert_msg(addr_v4_value(&a) == 0x0a000001 && port == 80, "listener name port %u", port);
	ts_free(t);
}
END_TEST

/* ---- send, recv, shutdown ------------------------------------------------------------ */

START_TEST(test_send_recv_states)
{
	struct tstack *t = ts_new(NULL);
	char buf[8];
	int fd = new_socket(t, ADDR_V4), lfd, cfd;

	ck_assert_int_eq(sys_send(t->st, fd, "x", 1), -EPIPE);
	ck_assert_int_eq(sys_recv(t->st, fd, buf, sizeof(buf)), -ENOTCONN);
	lfd = ts_listen(t, SERVER, 8);
	ck_assert_int_eq(sys_send(t->st, lfd, "x", 1), -EPIPE);
	ck_assert_int_eq(sys_recv(t->st, lfd, buf, sizeof(buf)), -ENOTCONN);
	cfd = accept_from(t, lfd, CLIENT, 100);
	ck_assert_int_eq(sys_recv(t->st, cfd, buf, sizeof(buf)), -EAGAIN);
	ck_assert_int_eq(sys_send(t->st, cfd, "hi", 2), 2);
	ck_assert_uint_eq(ts_out(t, -1)->len, 2);
	/* send() of nothing is fine and sends nothing. */
	ck_assert_int_eq(sys_send(t->st, cfd, "", 0), 0);
	ck_assert_uint_eq(ts_out(t, -1)->len, 2);
	ts_free(t);
}
END_TEST

START_TEST(test_shutdown)
{
	struct tstack *t = ts_new(NULL);
	struct segment s;
	char buf[8];
	uint32_t iss;
	int fd = new_socket(t, ADDR_V4), lfd, cfd;

	ck_assert_int_eq(sys_shutdown(t->st, fd, -1), -EINVAL);
	ck_assert_int_eq(sys_shutdown(t->st, fd, 3), -EINVAL);
	ck_assert_int_eq(sys_shutdown(t->st, fd, SHUTDOWN_WR), -ENOTCONN);
	lfd = ts_listen(t, SERVER, 8);
	ck_assert_int_eq(sys_shutdown(t->st, lfd, SHUTDOWN_RDWR), -ENOTCONN);
	iss = ts_handshake(t, CLIENT, SERVER, 100);
	cfd = sys_accept(t->st, lfd, NULL, NULL);
	ck_assert_int_eq(sys_shutdown(t->st, cfd, 42), -EINVAL);
	ck_assert_int_eq(sys_state(t->st, cfd), TCP_ESTABLISHED);
	/* SHUT_RD sends nothing. */
	ck_assert_int_eq(sys_shutdown(t->st, cfd, SHUTDOWN_RD), 0);
	ck_assert_int_eq(sys_state(t->st, cfd), TCP_ESTABLISHED);
	ck_assert_int_eq(t->nout, 1);
	/* SHUT_WR sends the FIN; send() then fails with EPIPE, recv() still works. */
	ck_assert_int_eq(sys_shutdown(t->st, cfd, SHUTDOWN_WR), 0);
	ck_assert_int_eq(t->nout, 2);
	ck_assert_msg(ts_out(t, -1)->flags == (TH_FIN | TH_ACK) && ts_out(t, -1)->seq == iss + 1,
		      "shutdown sent flags %#x seq %u", ts_out(t, -1)->flags, ts_out(t, -1)->seq);
	ck_assert_int_eq(sys_send(t->st, cfd, "x", 1), -EPIPE);
	ck_assert_int_eq(sys_state(t->st, cfd), TCP_FIN_WAIT1);
	/* A second shutdown sends no second FIN. */
	ck_assert_int_eq(sys_shutdown(t->st, cfd, SHUTDOWN_RDWR), 0);
	ck_assert_int_eq(t->nout, 2);
	s = ts_seg(CLIENT, SERVER, TH_ACK | TH_PSH, 101, iss + 2);
	s.data = (const uint8_t *)"reply";
	s.len = 5;
	ck_assert_int_eq(ts_in(t, &s), 1);
	ck_assert_int_eq(sys_recv(t->st, cfd, buf, sizeof(buf)), 5);
	ck_assert_mem_eq(buf, "reply", 5);
	ck_assert_int_eq(sys_state(t->st, cfd), TCP_FIN_WAIT2);
	ts_free(t);
}
END_TEST

/* ---- connect ---------------------------------------------------------------------------- */

START_TEST(test_connect_errors)
{
	struct tstack *t = ts_new(NULL);
	struct ip_addr ra = addr("10.0.0.9"), v6 = addr("2001:db8::9"), any = addr_any(ADDR_V4);
	uint16_t sport;
	int fd, lfd;

	fd = start_connect(t, 80, &sport);
	ck_assert_int_eq(sys_state(t->st, fd), TCP_SYN_SENT);
	/* Again while the SYN is out: EALREADY, and no second SYN. */
	ck_assert_int_eq(sys_connect(t->st, fd, &ra, 80), -EALREADY);
	ck_assert_int_eq(t->nout, 1);
	answer_syn(t, 5000);
	ck_assert_int_eq(sys_state(t->st, fd), TCP_ESTABLISHED);
	ck_assert_int_eq(sys_connect(t->st, fd, &ra, 80), -EISCONN);
	ck_assert_int_eq(sys_connect(t->st, fd, &ra, 81), -EISCONN);
	ck_assert_uint_eq(stack_counter(t->st, CNT_ACTIVEOPENS), 1);

	/* Family mismatch, no port, no address. */
	fd = new_socket(t, ADDR_V4);
	ck_assert_int_eq(sys_connect(t->st, fd, &v6, 80), -EAFNOSUPPORT);
	ck_assert_int_eq(sys_connect(t->st, fd, &ra, 0), -ECONNREFUSED);
	ck_assert_int_eq(sys_connect(t->st, fd, &any, 80), -ECONNREFUSED);
	ck_assert_int_eq(sys_state(t->st, fd), TCP_CLOSED);
	/* A listener is connected as far as connect() cares. */
	lfd = ts_listen(t, SERVER, 8);
	ck_assert_int_eq(sys_connect(t->st, lfd, &ra, 80), -EISCONN);
	ck_assert_uint_eq(stack_counter(t->st, CNT_ACTIVEOPENS), 1);
	ts_free(t);
}
END_TEST

START_TEST(test_connect_ephemeral_ports)
{
	struct tstack *t = ts_new(NULL);
	struct ip_addr la;
	uint16_t p1, p2, p3, port;
	int fd1, fd2, fd3;

	fd1 = start_connect(t, 80, &p1);
	fd2 = start_connect(t, 80, &p2);
	fd3 = start_connect(t, 443, &p3);
	ck_assert_msg(p1 >= 32768 && p1 <= 60999, "first port %u outside 32768..60999", p1);
	ck_assert_msg(p2 >= 32768 && p2 <= 60999, "second port %u outside 32768..60999", p2);
	ck_assert_msg(p3 >= 32768 && p3 <= 60999, "third port %u outside 32768..60999", p3);
	ck_assert_msg(p1 != p2, "two connections to one server share port %u", p1);
	/* getsockname() shows the chosen source: the first local IPv4 address. */
	ck_assert_int_eq(sys_getsockname(t->st, fd1, &la, &port), 0);
	ck_assert_msg(addr_v4_value(&la) == 0x0a000001 && port == p1, "getsockname port %u, SYN from %u",
		      port, p1);
	ck_assert_int_eq(sys_getsockname(t->st, fd2, &la, &port), 0);
	ck_assert_uint_eq(port, p2);
	ck_assert_int_eq(sys_getsockname(t->st, fd3, &la, &port), 0);
	ck_assert_uint_eq(port, p3);
	/* Not connected yet: no peer. */
	ck_assert_int_eq(sys_getpeername(t->st, fd1, &la, &port), -ENOTCONN);
	ck_assert_uint_eq(stack_counter(t->st, CNT_ACTIVEOPENS), 3);
	ts_free(t);
}
END_TEST

START_TEST(test_connect_bound_source)
{
	struct tstack *t = ts_new(NULL);
	struct ip_addr la = addr("10.0.0.1"), ra = addr("10.0.0.9");
	int fd = new_socket(t, ADDR_V4);

	ck_assert_int_eq(sys_bind(t->st, fd, &la, 5555), 0);
	ck_assert_int_eq(sys_connect(t->st, fd, &ra, 80), -EINPROGRESS);
	ck_assert_uint_eq(ts_out(t, -1)->sport, 5555);
	ck_assert_uint_eq(addr_v4_value(&ts_out(t, -1)->src), 0x0a000001);
	ts_free(t);
}
END_TEST

START_TEST(test_connect_refused)
{
	struct tstack *t = ts_new(NULL);
	const struct segment *syn;
	struct segment s;
	uint16_t sport;
	int fd;

	fd = start_connect(t, 80, &sport);
	syn = ts_out(t, -1);
	/* The server's RST|ACK for our SYN. */
	memset(&s, 0, sizeof(s));
	s.src = syn->dst;
	s.dst = syn->src;
	s.sport = syn->dport;
	s.dport = syn->sport;
	s.ack = syn->seq + 1;
	s.flags = TH_RST | TH_ACK;
	ck_assert_int_eq(ts_in(t, &s), 0);
	ck_assert_int_eq(t->in.action, ACT_RESET);
	ck_assert_int_eq(sys_state(t->st, fd), TCP_CLOSED);
	ck_assert_uint_eq(stack_counter(t->st, CNT_ATTEMPTFAILS), 1);
	/* so_error: reported once. */
	ck_assert_int_eq(sys_error(t->st, fd), -ECONNREFUSED);
	ck_assert_int_eq(sys_error(t->st, fd), 0);
	ck_assert_uint_eq(t->st->ehash.count, 0);
	ts_free(t);
}
END_TEST

/* ---- options and introspection -------------------------------------------------------- */

START_TEST(test_setsockopt)
{
	struct tstack *t = ts_new(NULL);
	int fd = new_socket(t, ADDR_V4);

	ck_assert_int_eq(sys_setsockopt(t->st, fd, SOCKOPT_REUSEADDR, 1), 0);
	ck_assert_int_eq(fd_lookup(t->st, fd)->reuseaddr, 1);
	ck_assert_int_eq(sys_setsockopt(t->st, fd, SOCKOPT_REUSEPORT, 7), 0);
	ck_assert_int_eq(fd_lookup(t->st, fd)->reuseport, 1);
	ck_assert_int_eq(sys_setsockopt(t->st, fd, SOCKOPT_REUSEADDR, 0), 0);
	ck_assert_int_eq(fd_lookup(t->st, fd)->reuseaddr, 0);
	/* Unknown options are refused as Linux's sock_setsockopt() does. */
	ck_assert_int_eq(sys_setsockopt(t->st, fd, 0, 1), -ENOPROTOOPT);
	ck_assert_int_eq(sys_setsockopt(t->st, fd, 99, 1), -ENOPROTOOPT);
	ck_assert_int_eq(fd_lookup(t->st, fd)->reuseport, 1);
	ts_free(t);
}
END_TEST

START_TEST(test_state_error_id)
{
	struct tstack *t = ts_new(NULL);
	uint32_t id_a, id_b, req_id;
	int a = new_socket(t, ADDR_V4), b = new_socket(t, ADDR_V4), c;
	struct segment s;

	id_a = sys_sock_id(t->st, a);
	id_b = sys_sock_id(t->st, b);
	ck_assert_msg(id_a != 0 && id_b != 0 && id_a != id_b, "ids %u and %u", id_a, id_b);
	ck_assert_int_eq(sys_state(t->st, a), TCP_CLOSED);
	ck_assert_int_eq(sys_error(t->st, a), 0);
	ck_assert_int_eq(sys_close(t->st, b), 0);
	ck_assert_uint_eq(sys_sock_id(t->st, b), 0);

	/* The id follows a connection from request to accepted socket. */
	ck_assert_int_eq(sys_close(t->st, a), 0);
	a = ts_listen(t, SERVER, 8);
	ck_assert_int_eq(sys_state(t->st, a), TCP_LISTEN);
	s = ts_seg(CLIENT, SERVER, TH_SYN, 100, 0);
	ck_assert_int_eq(ts_in(t, &s), 1);
	req_id = t->in.sock.id;
	ck_assert_msg(req_id != sys_sock_id(t->st, a), "request has the listener's id");
	s = ts_seg(CLIENT, SERVER, TH_ACK, 101, ts_out(t, -1)->seq + 1);
	ck_assert_int_eq(ts_in(t, &s), 0);
	ck_assert_uint_eq(t->in.sock.id, req_id);
	c = sys_accept(t->st, a, NULL, NULL);
	ck_assert_int_ge(c, 3);
	ck_assert_uint_eq(sys_sock_id(t->st, c), req_id);
	ck_assert_int_eq(sys_state(t->st, c), TCP_ESTABLISHED);
	ck_assert_int_eq(sys_error(t->st, c), 0);
	ts_free(t);
}
END_TEST

/* TCP has no multicast or broadcast: connect() refuses them before any SYN. */
START_TEST(test_connect_multicast_refused)
{
	struct tstack *t = ts_new(NULL);
	struct ip_addr a;
	int fd = sys_socket(t->st, ADDR_V4);

	ck_assert_int_eq(addr_parse("224.0.0.1", &a), 0);
	ck_assert_int_eq(sys_connect(t->st, fd, &a, 80), -ENETUNREACH);
	ck_assert_int_eq(addr_parse("255.255.255.255", &a), 0);
	ck_assert_int_eq(sys_connect(t->st, fd, &a, 80), -ENETUNREACH);
	ck_assert_msg(t->nout == 0, "a SYN went to a multicast address");
	ts_free(t);
}
END_TEST

/* ---- a driver's view: which descriptor a segment reached ---------------------------- */

/* The descriptor holding SERVER <- CLIENT, or a negative errno. */
static int lookup_client(struct tstack *t)
{
	struct ip_addr la = addr("10.0.0.1"), ra = addr("10.0.0.2");

	return sys_lookup(t->st, &la, 80, &ra, 40000);
}

START_TEST(test_input_fd_and_lookup)
{
	struct tstack *t = ts_new(NULL);
	struct ip_addr la = addr("10.0.0.1"), ra = addr("10.0.0.2");
	struct segment s;
	uint32_t iss;
	int fd, lfd;

	lfd = ts_listen(t, SERVER, 8);
	s = ts_seg(CLIENT, SERVER, TH_SYN, 1000, 0);
	ck_assert_msg(stack_input(t->st, &s, 1) == -1, "a SYN reaching a listener names a descriptor");
	iss = ts_out(t, -1)->seq;
	ck_assert_int_eq(lookup_client(t), -ENOENT); /* a request */
	ck_assert_msg(stack_find(t->st, &la, 80, &ra, 40000, NULL) == 1, "stack_find(NULL) misses the request");
	s = ts_seg(CLIENT, SERVER, TH_ACK, 1001, iss + 1);
	ck_assert_msg(stack_input(t->st, &s, 2) == -1, "the final ACK names a descriptor before accept()");
	ck_assert_int_eq(lookup_client(t), -ENOENT); /* queued, not accepted */
	fd = sys_accept(t->st, lfd, NULL, NULL);
	ck_assert_msg(fd > lfd, "accept() = %d", fd);
	ck_assert_int_eq(lookup_client(t), fd);
	s = ts_seg(CLIENT, SERVER, TH_ACK | TH_PSH, 1001, iss + 1);
	s.data = (const uint8_t *)"hi";
	s.len = 2;
	ck_assert_int_eq(stack_input(t->st, &s, 3), fd);
	/* A reset connection: the segment still names its descriptor, the tuple no longer does. */
	s = ts_seg(CLIENT, SERVER, TH_RST, 1003, 0);
	ck_assert_int_eq(stack_input(t->st, &s, 4), fd);
	ck_assert_int_eq(sys_state(t->st, fd), TCP_CLOSED);
	ck_assert_int_eq(lookup_client(t), -ENOENT);
	ck_assert_msg(stack_find(t->st, &la, 80, &ra, 40000, NULL) == 0, "stack_find(NULL) finds a reset tuple");
	/* Nothing there at all. */
	s = ts_seg(CLIENT2, "10.0.0.1:81", TH_SYN, 5, 0);
	ck_assert_int_eq(stack_input(t->st, &s, 5), -1);
	ck_assert_int_eq(sys_close(t->st, fd), 0);
	ts_free(t);
}
END_TEST

/*
 * A probe answers what stack_find(), stack_input() and sys_lookup() would,
 * with one lookup while ehash stands still, and walks again once it moved.
 */
START_TEST(test_probe_serves_three_calls)
{
	struct tstack *t = ts_new(NULL);
	struct ip_addr la = addr("10.0.0.1"), ra = addr("10.0.0.2");
	struct stack_probe pr = { 0 }, fresh = { 0 };
	struct segment s;
	uint32_t iss;
	int fd, lfd;

	lfd = ts_listen(t, SERVER, 8);
	s = ts_seg(CLIENT, SERVER, TH_SYN, 1000, 0);
	ck_assert_msg(stack_probe(t->st, &la, 80, &ra, 40000, &pr) == 0, "a probe finds a tuple nobody holds");
	ck_assert_msg(pr.hashed && pr.gen != 0, "the probe kept neither its hash nor its walk");
	ck_assert_int_eq(stack_input_probed(t->st, &s, 1, &pr), -1);
	ck_assert_int_eq(t->in.lookup.result, LOOKUP_LISTENER);
	iss = ts_out(t, -1)->seq;
	/* The SYN left a request: the probe's walk is stale, its hash is not. */
	ck_assert_msg(stack_probe(t->st, &la, 80, &ra, 40000, &pr) == 1, "the probe misses the request");
	ck_assert_uint_eq(pr.hash, stack_ehash(stack_seed(t->st), &la, 80, &ra, 40000));
	s = ts_seg(CLIENT, SERVER, TH_ACK, 1001, iss + 1);
	ck_assert_int_eq(stack_input_probed(t->st, &s, 2, &pr), -1);
	ck_assert_int_eq(t->in.lookup.result, LOOKUP_REQUEST);
	ck_assert_uint_eq(t->in.lookup.walked, 1);
	ck_assert_int_eq(stack_probe_fd(t->st, &la, 80, &ra, 40000, &pr), -ENOENT); /* queued */
	fd = sys_accept(t->st, lfd, NULL, NULL);
	ck_assert_msg(fd > lfd, "accept() = %d", fd);
	ck_assert_int_eq(stack_probe_fd(t->st, &la, 80, &ra, 40000, &pr), fd);
	ck_assert_int_eq(stack_probe_fd(t->st, &la, 80, &ra, 40000, &fresh), fd);
	/* A probe reset over garbage is as good as a zeroed one. */
	memset(&fresh, 0xa5, sizeof(fresh));
	stack_probe_reset(&fresh);
	ck_assert_int_eq(stack_probe_fd(t->st, &la, 80, &ra, 40000, &fresh), fd);
	ck_assert_uint_eq(fresh.hash, pr.hash);
	/* A probe kept across a change of the table is not believed. */
	ck_assert_int_eq(stack_probe(t->st, &la, 80, &ra, 40000, &pr), 1);
	s = ts_seg(CLIENT, SERVER, TH_RST, 1001, 0);
	ck_assert_int_eq(stack_input(t->st, &s, 3), fd);
	ck_assert_msg(stack_probe(t->st, &la, 80, &ra, 40000, &pr) == 0, "a stale probe still finds the reset tuple");
	ck_assert_int_eq(stack_probe_fd(t->st, &la, 80, &ra, 40000, &pr), -ENOENT);
	ck_assert_int_eq(sys_close(t->st, fd), 0);
	ts_free(t);
}
END_TEST

/*
 * A probe made by stack_prefetch() holds the hash the prefetch computed;
 * the handshake's final ACK replacing the request by its child keeps the
 * ACK's probe current, so that the lookup after accept() walks nothing.
 */
START_TEST(test_probe_from_prefetch)
{
	struct tstack *t = ts_new(NULL);
	struct ip_addr la = addr("10.0.0.1"), ra = addr("10.0.0.2");
	struct stack_probe pr;
	struct segment s;
	uint32_t iss;
	int fd, lfd;

	lfd = ts_listen(t, SERVER, 8);
	stack_prefetch(t->st, &la, 80, &ra, 40000, &pr);
	ck_assert_msg(pr.hashed && pr.gen == 0 && !pr.entry, "a prefetch's probe is not fresh");
	ck_assert_uint_eq(pr.hash, stack_ehash(stack_seed(t->st), &la, 80, &ra, 40000));
	s = ts_seg(CLIENT, SERVER, TH_SYN, 1000, 0);
	ck_assert_int_eq(stack_input_probed(t->st, &s, 1, &pr), -1);
	ck_assert_int_eq(t->in.lookup.result, LOOKUP_LISTENER);
	iss = ts_out(t, -1)->seq;
	stack_prefetch(t->st, &la, 80, &ra, 40000, &pr);
	s = ts_seg(CLIENT, SERVER, TH_ACK, 1001, iss + 1);
	ck_assert_int_eq(stack_input_probed(t->st, &s, 2, &pr), -1);
	ck_assert_int_eq(t->in.lookup.result, LOOKUP_REQUEST);
	ck_assert_msg(pr.gen == t->st->ehash.gen, "the ACK's probe went stale when its request became a child");
	fd = sys_accept(t->st, lfd, NULL, NULL);
	ck_assert_msg(fd > lfd, "accept() = %d", fd);
	ck_assert_int_eq(stack_probe_fd(t->st, &la, 80, &ra, 40000, &pr), fd);
	/* The data segment after it finds the child through the kept walk, counted as the walk did. */
	s = ts_seg(CLIENT, SERVER, TH_ACK | TH_PSH, 1001, iss + 1);
	s.data = (const uint8_t *)"hi";
	s.len = 2;
	ck_assert_int_eq(stack_input_probed(t->st, &s, 3, &pr), fd);
	ck_assert_int_eq(t->in.lookup.result, LOOKUP_ESTABLISHED);
	ck_assert_uint_eq(t->in.lookup.walked, 1);
	ck_assert_int_eq(sys_close(t->st, fd), 0);
	ts_free(t);
}
END_TEST

/* sys_outq(): what is queued and not yet acknowledged, sent or not (SIOCOUTQ). */
START_TEST(test_outq)
{
	struct tstack *t = ts_new(NULL);
	struct peer p;
	int lfd, fd;

	fd = open_conn(t, &p, &lfd, 1000);
	ck_assert_int_eq(sys_outq(t->st, fd), 0);
	ck_assert_int_eq(sys_send(t->st, fd, "abcdef", 6), 6);
	ck_assert_msg(sys_outq(t->st, fd) == 6, "6 bytes sent, unacknowledged: outq %d", sys_outq(t->st, fd));
	ck_assert_int_eq(sys_send_more(t->st, fd, "gh", 2), 2);
	ck_assert_msg(sys_outq(t->st, fd) == 8, "and 2 queued unsent: outq %d", sys_outq(t->st, fd));
	p.ack += 6;
	peer_send(t, &p, TH_ACK, NULL);
	ck_assert_msg(sys_outq(t->st, fd) == 2, "6 acknowledged: outq %d", sys_outq(t->st, fd));
	ck_assert_int_eq(sys_outq(t->st, lfd), -EINVAL);
	ck_assert_int_eq(sys_outq(t->st, 999), -EBADF);
	ts_free(t);
}
END_TEST

Suite *socket_suite(void)
{
	Suite *s = suite_create("socket");
	TCase *tc;

	tc = tcase_create("descriptors");
	tcase_add_test(tc, test_fd_numbering);
	tcase_add_test(tc, test_connect_multicast_refused);
	tcase_add_test(tc, test_fd_numbering_many);
	tcase_add_test(tc, test_fd_accept_lowest);
	tcase_add_test(tc, test_fd_lowest_across_words);
	tcase_add_test(tc, test_bad_fd);
	tcase_add_test(tc, test_socket_family);
	suite_add_tcase(s, tc);

	tc = tcase_create("bind_listen");
	tcase_add_test(tc, test_bind_errors);
	tcase_add_test(tc, test_bind_port_zero);
	tcase_add_test(tc, test_listen_backlog);
	tcase_add_test(tc, test_listen_unbound_autobinds);
	suite_add_tcase(s, tc);

	tc = tcase_create("accept");
	tcase_add_test(tc, test_accept_endpoints);
	tcase_add_test(tc, test_accept_wildcard_listener);
	tcase_add_test(tc, test_accept_not_listening);
	tcase_add_test(tc, test_accept_reset_child);
	tcase_add_test(tc, test_names);
	suite_add_tcase(s, tc);

	tc = tcase_create("io");
	tcase_add_test(tc, test_send_recv_states);
	tcase_add_test(tc, test_shutdown);
	suite_add_tcase(s, tc);

	tc = tcase_create("connect");
	tcase_add_test(tc, test_connect_errors);
	tcase_add_test(tc, test_connect_ephemeral_ports);
	tcase_add_test(tc, test_connect_bound_source);
	tcase_add_test(tc, test_connect_refused);
	suite_add_tcase(s, tc);

	tc = tcase_create("introspection");
	tcase_add_test(tc, test_setsockopt);
	tcase_add_test(tc, test_state_error_id);
	tcase_add_test(tc, test_input_fd_and_lookup);
	tcase_add_test(tc, test_probe_serves_three_calls);
	tcase_add_test(tc, test_probe_from_prefetch);
	tcase_add_test(tc, test_outq);
	suite_add_tcase(s, tc);
	return s;
}
