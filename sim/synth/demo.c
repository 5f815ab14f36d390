/*
 * demo.c - built-in demonstrations, each a fixed script of application
 * calls played over the demo wire (net.c) against one observed server.
 *
 * Path: main.c -> demo_find() -> demo->run() -> sys_*() on client and
 *       server stacks -> net_run_until() -> events -> renderer.
 *
 * A demo is deterministic for a given --hash-seed: the clients are stacks
 * too, seeded from the same value, and nothing reads the wall clock.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "demo.h"
#include "emit.h"
#include "net.h"
#include "script.h"
#include "synth.h"
#include "socket.h"

/* One-way delay on the demo wire: 1 ms, so each step is readable in the trace. */
#define DEMO_LATENCY VT_MSEC

struct demo_env {
	struct net net;
	struct stack *server;
	struct stack *clients;
	struct renderer *r;
};

static void call(struct demo_env *e, const char *who, const char *what, long ret, const char *detail)
{
	emit_call(e->r, e->server, e->net.now, who, what, ret, detail);
}

static int env_init(struct demo_env *e, const struct demo_opts *o, const char *server_addr,
		    const char *const *client_addrs)
{
	struct stack_config ccfg = o->cfg, defaults;
	struct ip_addr a;
	int i;

	memset(e, 0, sizeof(*e));
	e->r = o->r;
	e->server = stack_new(&o->cfg);
	/* The clients' ISNs and ports come from their own key, derived from the seed. */
	ccfg.hash_seed = o->cfg.hash_seed ^ 0x5eed5eedu;
	ccfg.ehash_buckets = 256;
	/* --max-sockets limits the observed server; the clients are the demo's machinery. */
	stack_config_init(&defaults);
	ccfg.max_sockets = defaults.max_sockets;
	e->clients = stack_new(&ccfg);
	if (!e->server || !e->clients)
		return -ENOMEM;
	if (addr_parse(server_addr, &a) < 0 || stack_add_addr(e->server, &a) < 0)
		return -EINVAL;
	for (i = 0; client_addrs[i]; i++)
		if (addr_parse(client_addrs[i], &a) < 0 || stack_add_addr(e->clients, &a) < 0)
			return -EINVAL;
	net_init(&e->net, o->r, DEMO_LATENCY);
	net_add_host(&e->net, "server", e->server, 1);
	net_add_host(&e->net, "clients", e->clients, 0);
	e->net.tables_after_input = 1;
	return 0;
}

static void env_free(struct demo_env *e)
{
	net_free(&e->net);
	stack_free(e->server);
	stack_free(e->clients);
}

/* socket + bind + listen on the server, reported as calls. Returns the fd or -errno. */
static int server_listen(struct demo_env *e, const char *addr, uint16_t port, int backlog)
{
	struct ip_addr a;
	char buf[96];
	int fd, ret;

	addr_parse(addr, &a);
	fd = sys_socket(e->server, a.family);
	call(e, "server", "socket(AF_INET, SOCK_STREAM)", fd,
	     fd == -ENOBUFS ? "--max-sockets reached: no socket can be made" : NULL);
	if (fd < 0)
		return fd;
	ret = sys_bind(e->server, fd, &a, port);
	snprintf(buf, sizeof(buf), "bind(%d, %s:%u)", fd, addr, port);
	call(e, "server", buf, ret, NULL);
	if (ret < 0)
		return ret;
	ret = sys_listen(e->server, fd, backlog);
	snprintf(buf, sizeof(buf), "listen(%d, %d)", fd, backlog);
	call(e, "server", buf, ret, NULL);
	return ret < 0 ? ret : fd;
}

/*
 * A client socket bound to addr:port connecting to dst:dport, each call
 * reported under "client"; a call that fails is shown failing (socket()
 * and bind() are shown only then). Returns the fd, or -errno of the call
 * that failed.
 */
static int client_connect(struct demo_env *e, const char *addr, uint16_t port, const char *dst,
			  uint16_t dport)
{
	struct ip_addr a, d;
	char buf[96];
	int fd, ret;

	addr_parse(addr, &a);
	addr_parse(dst, &d);
	fd = sys_socket(e->clients, a.family);
	if (fd < 0) {
		call(e, "client", "socket(AF_INET, SOCK_STREAM)", fd, "no socket: the client cannot connect");
		return fd;
	}
	ret = sys_bind(e->clients, fd, &a, port);
	if (ret < 0) {
		snprintf(buf, sizeof(buf), "bind(%d, %s:%u)", fd, addr, port);
		call(e, "client", buf, ret, "the client cannot use that port");
		return ret;
	}
	ret = sys_connect(e->clients, fd, &d, dport);
	snprintf(buf, sizeof(buf), "connect(%s:%u -> %s:%u)", addr, port, dst, dport);
	call(e, "client", buf, ret,
	     ret == -EINPROGRESS ? "SYN sent" : NULL);
	return ret == -EINPROGRESS || ret == 0 ? fd : ret;
}

static void say(struct demo_env *e, const char *text)
{
	emit_say(e->r, text);
}

/* ---- two-clients --------------------------------------------------------- */

static const struct {
	const char *addr;
	uint16_t port;
} two_clients[] = { { "10.0.0.2", 1234 }, { "10.0.0.3", 5678 }, { "10.0.0.2", 1235 } };

#define TWO_CLIENTS_N (int)(sizeof(two_clients) / sizeof(two_clients[0]))

/*
 * The server's accept() calls, until one fails: each connection with its
 * endpoints (the local one is the listener's) and the request it brought.
 * Returns the number accepted.
 */
static int two_clients_accept(struct demo_env *e, int lfd)
{
	char buf[64], detail[160];
	int n;

	for (n = 0;; n++) {
		struct ip_addr ra, la;
		uint16_t rp = 0, lp = 0;
		char rb[ADDR_STRLEN], lb[ADDR_STRLEN], data[64];
		int fd = sys_accept(e->server, lfd, &ra, &rp);
		long got;

		snprintf(buf, sizeof(buf), "accept(%d)", lfd);
		if (fd < 0) {
			call(e, "server", buf, fd,
			     fd == -EAGAIN ? "accept queue empty: every completed connection has been taken"
					   : "accept() failed");
			return n;
		}
		sys_getsockname(e->server, fd, &la, &lp);
		snprintf(detail, sizeof(detail), "new fd %d: local %s, remote %s (same local port as the listener)", fd,
			 endpoint_format(&la, lp, lb, sizeof(lb)), endpoint_format(&ra, rp, rb, sizeof(rb)));
		call(e, "server", buf, fd, detail);
		got = sys_recv(e->server, fd, data, sizeof(data));
		snprintf(buf, sizeof(buf), "recv(%d)", fd);
		call(e, "server", buf, got,
		     got > 0 ? "the client's request"
			     : got == -EAGAIN ? "nothing to read: this client has not sent its request" : NULL);
	}
}

static int run_two_clients(const struct demo_opts *o)
{
	static const char request[] = "GET / HTTP/1.0\r\n\r\n";
	static const char *const addrs[] = { "10.0.0.2", "10.0.0.3", NULL };
	struct demo_env e;
	int lfd, cfd[TWO_CLIENTS_N], i, accepted, ret = 0;
	char buf[200], detail[160];
	uint64_t refused;

	if (env_init(&e, o, "10.0.0.1", addrs) < 0) {
		env_free(&e);
		return -ENOMEM;
	}
	say(&e, "== the server opens one listening socket on port 80");
	lfd = server_listen(&e, "10.0.0.1", 80, 8);
	if (lfd < 0) {
		ret = lfd;
		goto out;
	}
	emit_tables(o->r, e.server);

	say(&e, "== three clients connect: two from 10.0.0.2 (ports 1234, 1235), one from 10.0.0.3");
	for (i = 0; i < TWO_CLIENTS_N; i++) {
		net_run_until(&e.net, 10 * (vtime_t)(i + 1) * VT_MSEC);
		cfd[i] = client_connect(&e, two_clients[i].addr, two_clients[i].port, "10.0.0.1", 80);
	}
	net_run_until(&e.net, 50 * VT_MSEC);
	refused = stack_counter(e.server, CNT_SOCKETLIMIT);
	if (refused) {
		snprintf(buf, sizeof(buf),
			 "== %llu SYN%s got no answer: the server holds its --max-sockets %u sockets already, so it "
			 "drops %s (SocketLimit)", (unsigned long long)refused, refused == 1 ? "" : "s",
			 o->cfg.max_sockets, refused == 1 ? "it" : "them");
		say(&e, buf);
	}

	say(&e, "== each client sends a request; the ehash finds its socket by the full 4-tuple");
	for (i = 0; i < TWO_CLIENTS_N; i++) {
		long n;

		if (cfd[i] < 0)
			continue; /* its failing call is shown above: there is no socket to send on */
		n = sys_send(e.clients, cfd[i], request, sizeof(request) - 1);
		snprintf(buf, sizeof(buf), "send(%d, \"GET / ...\", %zu)", cfd[i], sizeof(request) - 1);
		if (n >= 0)
			snprintf(detail, sizeof(detail), "the request of %s:%u", two_clients[i].addr,
				 two_clients[i].port);
		else
			snprintf(detail, sizeof(detail), "%s:%u %s", two_clients[i].addr, two_clients[i].port,
				 n == -EAGAIN ? "is not connected: its SYN got no answer, so nothing is sent"
					      : "cannot send");
		call(&e, "client", buf, n, detail);
		net_run_until(&e.net, (60 + 10 * (vtime_t)i) * VT_MSEC);
	}

	say(&e, "== the server calls accept(): connections come out in the order their handshakes completed");
	accepted = two_clients_accept(&e, lfd);
	net_run_until(&e.net, 100 * VT_MSEC);
	emit_tables(o->r, e.server);
	if (accepted == TWO_CLIENTS_N) {
		say(&e, "== every connection has local 10.0.0.1:80; only the remote address:port differs");
	} else if (accepted == 0) {
		say(&e, "== no client got a connection: the socket limit refused every SYN");
	} else {
		snprintf(buf, sizeof(buf),
			 "== %d of the %d clients got no connection; every accepted one has local 10.0.0.1:80, "
			 "the listener's", TWO_CLIENTS_N - accepted, TWO_CLIENTS_N);
		say(&e, buf);
	}
out:
	emit_summary(o->r, e.server, NULL);
	env_free(&e);
	return ret;
}

static const struct demo demo_two_clients = {
	"two-clients",
	"one server port; connections told apart by the remote half",
	"A server listens on 10.0.0.1:80. Clients 10.0.0.2:1234, 10.0.0.3:5678 and\n"
	"10.0.0.2:1235 connect. Watch the ehash: each SYN misses it and reaches the\n"
	"listener, which adds a request (SYN_RECV) to the ehash; the final ACK finds\n"
	"that request and turns it into an ESTABLISHED socket on the accept queue.\n"
	"Every entry has the same local address and port, 10.0.0.1:80: accept() does\n"
	"not open a new port. The kernel tells the connections apart by the remote\n"
	"half of the 4-tuple, which is all that differs between the rows.",
	run_two_clients,
	NULL,
};

/* ---- scripted demos ----------------------------------------------------------------------
 *
 * The other demos are scenarios in the script language (docs/scripts.md),
 * with "//!" lines as narration: each client is a remote endpoint named
 * with @ADDR:PORT, so every segment on the wire is spelled out.
 */

/* The script runner's settings for a demo's script: the server is the application. */
static void demo_script_opts(struct script_opts *so, const struct demo_opts *o, const struct demo *d,
			     char *file, size_t len)
{
	memset(so, 0, sizeof(*so));
	snprintf(file, len, "demo %s", d->name);
	so->file = file;
	so->text = d->script;
	so->cfg = o->cfg;
	so->r = o->r;
	so->local_ip = "10.0.0.1";
	so->remote_ip = "10.0.0.2";
	so->tolerance = 4 * VT_MSEC;
	so->tables = 1;
	so->who = "server";
	so->number_inbound = 1; /* the audience never sees the script's line numbers */
	so->absolute_seq = 1;   /* the scripts write every client's numbers as they go on the wire */
}

static int run_script_demo(const struct demo *d, const struct demo_opts *o)
{
	struct script_opts so;
	char file[64];

	demo_script_opts(&so, o, d, file, sizeof(file));
	/* A demo's script is part of the program: a failure is a bug, reported as such. */
	return script_run(&so) == 0 ? 0 : -EPROTO;
}

/* Does the demo's script run to its end, silently, with at most max_sockets sockets? */
static int script_fits(const struct demo *d, const struct demo_opts *o, uint32_t max_sockets)
{
	struct script_opts so;
	char file[64];

	demo_script_opts(&so, o, d, file, sizeof(file));
	so.r = NULL;
	so.tables = 0;
	so.quiet = 1;
	so.cfg.max_sockets = max_sockets;
	return script_run(&so) == 0;
}

/* A SYN 0.1 s after the last line, and the SYN-ACK the server answers it with. */
#define SYN_ANSWERED(ep) \
	"+0.1 @" ep " < S 0:0(0) win 65535 <mss 1460>\n" \
	"+0   @" ep " > S. 0:0(0) ack 1 <mss 1460>\n"

#define HANDSHAKE(when, ep) \
	when " @" ep " < S 0:0(0) win 65535 <mss 1460>\n" \
	"+0   @" ep " > S. 0:0(0) ack 1 <mss 1460>\n" \
	"+0   @" ep " < . 1:1(0) ack 1 win 502\n"

static const char backlog_script[] =
	"//! == the server listens on 10.0.0.1:80 with backlog 2, and does not call accept() yet\n"
	"0    socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n"
	"+0   fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0\n"
	"+0   bind(3, 10.0.0.1:80, ...) = 0\n"
	"+0   listen(3, 2) = 0\n"
	"//! == three clients complete their handshakes: the accept queue grows to 3\n"
	"" HANDSHAKE("+0.1", "10.0.0.11:5001")
	"" HANDSHAKE("+0.1", "10.0.0.12:5002")
	"" HANDSHAKE("+0.1", "10.0.0.13:5003")
	"//! == the queue holds backlog+1 = 3 and is full: two more SYNs get no answer at all\n"
	"+0.1 @10.0.0.14:5004 < S 0:0(0) win 65535 <mss 1460>\n"
	"+0.1 @10.0.0.15:5005 < S 0:0(0) win 65535 <mss 1460>\n"
	"//! == a second later the clients send their SYNs again: still full, still dropped\n"
	"+0.9 @10.0.0.14:5004 < S 0:0(0) win 65535 <mss 1460>\n"
	"+0.1 @10.0.0.15:5005 < S 0:0(0) win 65535 <mss 1460>\n"
	"//! == the application calls accept(): the queue drains in the order the handshakes completed\n"
	"+0.4 accept(3, ..., ...) = 4\n"
	"+0   accept(3, ..., ...) = 5\n"
	"+0   accept(3, ..., ...) = 6\n"
	"+0   accept(3, ..., ...) = -1 EAGAIN (Resource temporarily unavailable)\n"
	"//! == the fourth accept() fails with EAGAIN: the queue is empty, and a non-blocking accept() does not wait\n"
	"//! == the waiting clients try once more, and now get in\n"
	"" HANDSHAKE("+0.6", "10.0.0.14:5004")
	"" HANDSHAKE("+0", "10.0.0.15:5005")
	"+0   accept(3, ..., ...) = 7\n"
	"+0   accept(3, ..., ...) = 8\n";

static const char syn_queue_script[] =
	"//! == a listener with backlog 4; eight clients send SYNs and never finish their handshakes\n"
	"0    socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n"
	"+0   bind(3, 10.0.0.1:80, ...) = 0\n"
	"+0   listen(3, 4) = 0\n"
	"//! == the first five become requests (SYN_RECV) in the ehash: the SYN queue holds backlog+1\n"
	SYN_ANSWERED("10.0.0.11:5001")
	SYN_ANSWERED("10.0.0.12:5002")
	SYN_ANSWERED("10.0.0.13:5003")
	SYN_ANSWERED("10.0.0.14:5004")
	SYN_ANSWERED("10.0.0.15:5005")
	"//! == the SYN queue is full: the next SYNs are answered with SYN cookies, and no state is kept\n"
	SYN_ANSWERED("10.0.0.16:5006")
	SYN_ANSWERED("10.0.0.17:5007")
	SYN_ANSWERED("10.0.0.18:5008")
	"//! == one cookie client does answer: its ACK carries the cookie back, and it gets a socket\n"
	"+0.1 @10.0.0.16:5006 < . 1:1(0) ack 1 win 502\n"
	"//! == one second after their SYN-ACKs the five requests get theirs again; the cookies never do\n"
	"+0.2 @10.0.0.11:5001 > S. 0:0(0) ack 1 <mss 1460>\n"
	"+0.1 @10.0.0.12:5002 > S. 0:0(0) ack 1 <mss 1460>\n"
	"+0.1 @10.0.0.13:5003 > S. 0:0(0) ack 1 <mss 1460>\n"
	"+0.1 @10.0.0.14:5004 > S. 0:0(0) ack 1 <mss 1460>\n"
	"+0.1 @10.0.0.15:5005 > S. 0:0(0) ack 1 <mss 1460>\n";

static const char cookies_script[] =
	"//! == net.ipv4.tcp_syncookies=2: every SYN gets a cookie, even with the SYN queue empty\n"
	"`sysctl -q net.ipv4.tcp_syncookies=2`\n"
	"0    socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n"
	"+0   bind(3, 10.0.0.1:80, ...) = 0\n"
	"+0   listen(3, 8) = 0\n"
	"//! == the cookie is the ISN: a keyed hash of the 4-tuple, a minute counter, and an index for MSS 1460\n"
	"+0.1 @10.0.0.11:5001 < S 0:0(0) win 65535 <mss 1460,sackOK,nop,wscale 7>\n"
	"+0   @10.0.0.11:5001 > S. 0:0(0) ack 1 <mss 1460>\n"
	"//! == the final ACK finds no request anywhere: the listener checks the cookie and decodes the MSS\n"
	"+0.1 @10.0.0.11:5001 < . 1:1(0) ack 1 win 502\n"
	"//! == a client offering MSS 1380 gets a cookie for 1300: the cookie has room for four values only\n"
	"+0.1 @10.0.0.12:5002 < S 0:0(0) win 65535 <mss 1380>\n"
	"+0   @10.0.0.12:5002 > S. 0:0(0) ack 1 <mss 1460>\n"
	"+0.1 @10.0.0.12:5002 < . 1:1(0) ack 1 win 502\n"
	"//! == an ACK with a forged cookie is reset\n"
	"+0.1 @10.0.0.13:5003 < . 1:1(0) ack 31337 win 502\n"
	"+0   @10.0.0.13:5003 > R 31337:31337(0) win 0\n"
	"+0   accept(3, ..., ...) = 4\n"
	"+0   accept(3, ..., ...) = 5\n";

static const char rst_script[] =
	"//! == nothing listens on 10.0.0.1:81: every segment there misses both tables\n"
	"//! == a SYN: RST|ACK with seq 0 and ack = its sequence number + 1\n"
	"0    @10.0.0.11:5001>10.0.0.1:81 < S 1000:1000(0) win 65535 <mss 1460>\n"
	"+0   @10.0.0.11:5001>10.0.0.1:81 > R. 0:0(0) ack 1001 win 0\n"
	"//! == an ACK: RST with seq = the ACK number, and no ACK flag\n"
	"+0.1 @10.0.0.11:5002>10.0.0.1:81 < . 2000:2000(0) ack 777 win 502\n"
	"+0   @10.0.0.11:5002>10.0.0.1:81 > R 777:777(0) win 0\n"
	"//! == data without ACK: ack = sequence number + length\n"
	"+0.1 @10.0.0.11:5003>10.0.0.1:81 < P 3000:3010(10) win 502\n"
	"+0   @10.0.0.11:5003>10.0.0.1:81 > R. 0:0(0) ack 3010 win 0\n"
	"//! == a FIN counts one\n"
	"+0.1 @10.0.0.11:5004>10.0.0.1:81 < F 4000:4000(0) win 502\n"
	"+0   @10.0.0.11:5004>10.0.0.1:81 > R. 0:0(0) ack 4001 win 0\n"
	"//! == SYN and FIN together count two\n"
	"+0.1 @10.0.0.11:5005>10.0.0.1:81 < SF 5000:5000(0) win 502\n"
	"+0   @10.0.0.11:5005>10.0.0.1:81 > R. 0:0(0) ack 5002 win 0\n"
	"//! == a SYN-ACK, FIN-ACK or URG-ACK: seq = the ACK number\n"
	"+0.1 @10.0.0.11:5006>10.0.0.1:81 < S. 6000:6000(0) ack 606 win 502\n"
	"+0   @10.0.0.11:5006>10.0.0.1:81 > R 606:606(0) win 0\n"
	"+0.1 @10.0.0.11:5007>10.0.0.1:81 < F. 7000:7000(0) ack 707 win 502\n"
	"+0   @10.0.0.11:5007>10.0.0.1:81 > R 707:707(0) win 0\n"
	"+0.1 @10.0.0.11:5008>10.0.0.1:81 < U. 8000:8000(0) ack 808 win 502\n"
	"+0   @10.0.0.11:5008>10.0.0.1:81 > R 808:808(0) win 0\n"
	"//! == a RST, with or without ACK, is never answered (else two stacks could reset each other forever)\n"
	"+0.1 @10.0.0.11:5009>10.0.0.1:81 < R 9000:9000(0) win 0\n"
	"+0.1 @10.0.0.11:5010>10.0.0.1:81 < R. 9100:9100(0) ack 1 win 0\n";

static const char time_wait_script[] =
	"//! == a connection is accepted on 10.0.0.1:80\n"
	"0    socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n"
	"+0   setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0\n"
	"+0   bind(3, 10.0.0.1:80, ...) = 0\n"
	"+0   listen(3, 8) = 0\n"
	"" HANDSHAKE("+0.1", "10.0.0.11:5001")
	"+0   accept(3, ..., ...) = 4\n"
	"//! == the server closes first (an active close): FIN, the client's ACK and FIN, the last ACK\n"
	"+0.1 close(4) = 0\n"
	"+0   @10.0.0.11:5001 > F. 1:1(0) ack 1\n"
	"+0.1 @10.0.0.11:5001 < . 1:1(0) ack 2 win 502\n"
	"+0   @10.0.0.11:5001 < F. 1:1(0) ack 2 win 502\n"
	"+0   @10.0.0.11:5001 > . 2:2(0) ack 2\n"
	"//! == the 4-tuple now belongs to a TIME_WAIT entry in the ehash, for 60 s\n"
	"//! == a retransmitted FIN from the client finds it and is ACKed again\n"
	"+0.5 @10.0.0.11:5001 < F. 1:1(0) ack 2 win 502\n"
	"+0   @10.0.0.11:5001 > . 2:2(0) ack 2\n"
	"//! == the same client port connects again with a higher sequence number: TIME_WAIT gives way;\n"
	"//! == the new ISN is the old snd_nxt + 65537, so old segments cannot fall into the new connection\n"
	"+1   @10.0.0.11:5001 < S 100000:100000(0) win 65535 <mss 1460>\n"
	"+0   @10.0.0.11:5001 > S. 65539:65539(0) ack 100001 <mss 1460>\n"
	"+0   @10.0.0.11:5001 < . 100001:100001(0) ack 65540 win 502\n"
	"+0   accept(3, ..., ...) = 4\n";

#define REUSE_LISTENER(when, fd) \
	#when " socket(..., SOCK_STREAM, IPPROTO_TCP) = " #fd "\n" \
	"+0   setsockopt(" #fd ", SOL_SOCKET, SO_REUSEPORT, [1], 4) = 0\n" \
	"+0   bind(" #fd ", 10.0.0.1:80, ...) = 0\n" \
	"+0   listen(" #fd ", 8) = 0\n"

static const char reuseport_script[] =
	"//! == four listeners share 10.0.0.1:80 through SO_REUSEPORT: one group, in listen() order\n"
	REUSE_LISTENER(0, 3) REUSE_LISTENER(+0, 4) REUSE_LISTENER(+0, 5) REUSE_LISTENER(+0, 6)
	"//! == each SYN's member is ((u64)hash * 4) >> 32 of its 4-tuple's hash: watch 'listener #N'\n"
	SYN_ANSWERED("10.0.0.11:5001")
	SYN_ANSWERED("10.0.0.12:5002")
	SYN_ANSWERED("10.0.0.13:5003")
	SYN_ANSWERED("10.0.0.14:5004")
	SYN_ANSWERED("10.0.0.15:5005")
	SYN_ANSWERED("10.0.0.16:5006")
	"//! == the first client gives up (RST) and tries again: the same 4-tuple reaches the same member\n"
	"+0.1 @10.0.0.11:5001 < R 1:1(0) win 0\n"
	SYN_ANSWERED("10.0.0.11:5001")
	"//! == later segments of a flow never consult the group: the ehash finds their request\n"
	"+0.1 @10.0.0.11:5001 < . 1:1(0) ack 1 win 502\n";

static const char wildcard_script[] =
	"//! == two listeners on port 80: one on 0.0.0.0 (every address), one on 10.0.0.1 only;\n"
	"//! == they may coexist because both set SO_REUSEPORT\n"
	"0    socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n"
	"+0   setsockopt(3, SOL_SOCKET, SO_REUSEPORT, [1], 4) = 0\n"
	"+0   bind(3, 0.0.0.0:80, ...) = 0\n"
	"+0   listen(3, 8) = 0\n"
	"+0   socket(..., SOCK_STREAM, IPPROTO_TCP) = 4\n"
	"+0   setsockopt(4, SOL_SOCKET, SO_REUSEPORT, [1], 4) = 0\n"
	"+0   bind(4, 10.0.0.1:80, ...) = 0\n"
	"+0   listen(4, 8) = 0\n"
	"//! == a SYN to 10.0.0.1:80: the exact address is looked up first, and wins\n"
	"+0.1 @10.0.0.11:5001>10.0.0.1:80 < S 0:0(0) win 65535 <mss 1460>\n"
	"+0   @10.0.0.11:5001>10.0.0.1:80 > S. 0:0(0) ack 1 <mss 1460>\n"
	"//! == a SYN to the host's other address, 10.0.0.9:80: no exact listener, so the wildcard one\n"
	"+0.1 @10.0.0.12:5002>10.0.0.9:80 < S 0:0(0) win 65535 <mss 1460>\n"
	"+0   @10.0.0.12:5002>10.0.0.9:80 > S. 0:0(0) ack 1 <mss 1460>\n"
	"//! == a SYN to port 81: neither listener; a RST\n"
	"+0.1 @10.0.0.13:5003>10.0.0.1:81 < S 0:0(0) win 65535 <mss 1460>\n"
	"+0   @10.0.0.13:5003>10.0.0.1:81 > R. 0:0(0) ack 1 win 0\n";

/* ---- hash-flood: two runs of the generator, one per seed ---------------------------------- */

static int run_hash_flood(const struct demo_opts *o)
{
	struct synth_opts so;
	int64_t frames = 0; /* the second run's segments are numbered on from the first's */
	int rc;

	memset(&so, 0, sizeof(so));
	so.frames = &frames;
	so.mode = SYNTH_HASH_FLOOD;
	so.count = 8;
	so.rate = 10;
	so.data = 0;
	so.concurrent = 8;
	so.seed = 1;
	so.cfg = o->cfg;
	so.cfg.ehash_buckets = 64;
	so.r = o->r;
	so.summary_r = o->r;
	so.tables = 2;
	emit_say(o->r, "== first run: the stack's secret is seed 1, the very seed the attacker crafted the 4-tuples for");
	so.cfg.hash_seed = SYNTH_KNOWN_SEED;
	rc = synth_run(&so);
	if (rc)
		return -EPROTO;
	emit_say(o->r, "== second run: the same 4-tuples against a secret the attacker does not know");
	so.cfg.hash_seed = o->cfg.hash_seed != SYNTH_KNOWN_SEED ? o->cfg.hash_seed : 2;
	rc = synth_run(&so);
	return rc ? -EPROTO : 0;
}

static const struct demo demo_backlog = {
	"backlog",
	"backlog 2, no accept() yet: the accept queue fills, then drains",
	"The server listens with backlog 2 and does not call accept(). Watch the\n"
	"listener's accept queue: it takes backlog+1 = 3 connections (Linux tests\n"
	"'more than backlog'). The fourth and fifth clients' SYNs then get no answer\n"
	"at all (ListenOverflows), and their retries a second later neither. When\n"
	"the server finally calls accept(), connections leave the queue oldest first,\n"
	"and the waiting clients' next SYNs get in.",
	NULL,
	backlog_script,
};

static const struct demo demo_syn_queue = {
	"syn-queue",
	"a SYN burst past the SYN queue: requests, then SYN cookies",
	"Eight clients send SYNs to a listener with backlog 4 and never complete.\n"
	"Watch the SYN queue: each SYN becomes a request (SYN_RECV) in the ehash\n"
	"until the queue holds more than the backlog; then the answers are SYN\n"
	"cookies, with no state kept. A cookie client that does answer still gets\n"
	"a socket. A second later only the real requests' SYN-ACKs are sent again.",
	NULL,
	syn_queue_script,
};

static const struct demo demo_cookies = {
	"cookies",
	"tcp_syncookies=2: a cookie for every SYN, decoded on the ACK",
	"With net.ipv4.tcp_syncookies=2 every SYN is answered with a SYN cookie: an\n"
	"ISN made of a keyed hash of the 4-tuple, a minute counter and a 2-bit MSS\n"
	"index (536, 1300, 1440 or 1460). Watch the final ACKs: they find no request\n"
	"in the ehash, reach the listener, and the cookie is checked and its MSS\n"
	"decoded. A client offering MSS 1380 gets 1300; a forged ACK is reset.",
	NULL,
	cookies_script,
};

static const struct demo demo_rst = {
	"rst",
	"segments to a closed port, and the RST each one gets",
	"Nothing listens on port 81. Every segment there misses the ehash and the\n"
	"listen table, and is answered from its own fields (RFC 9293 3.10.7.1):\n"
	"with an ACK, the RST's seq is that ACK number; without, the RST acknowledges\n"
	"the segment (seq 0, ack = its seq + length, SYN and FIN counting one each).\n"
	"A RST itself is never answered.",
	NULL,
	rst_script,
};

static const struct demo demo_time_wait = {
	"time-wait",
	"active close; TIME_WAIT holds the 4-tuple; a new SYN reuses it",
	"The server closes first, so its end of the connection goes to TIME_WAIT:\n"
	"a small entry in the ehash that holds the 4-tuple for 60 s. Watch a\n"
	"retransmitted FIN hit it and get an ACK, then a new SYN from the same\n"
	"client port with a higher sequence number take the 4-tuple over. The new\n"
	"connection's ISN is the old one's snd_nxt + 65537.",
	NULL,
	time_wait_script,
};

static const struct demo demo_reuseport = {
	"reuseport",
	"four SO_REUSEPORT listeners: flows spread by the 4-tuple hash",
	"Four sockets listen on 10.0.0.1:80 with SO_REUSEPORT. For each SYN the\n"
	"kernel picks a member from the 4-tuple's hash scaled to the group size, so\n"
	"flows spread over the members (watch 'listener #N' in each SYN's path).\n"
	"The same 4-tuple always lands on the same member; and only SYNs consult the\n"
	"group: the final ACK finds its request in the ehash.",
	NULL,
	reuseport_script,
};

static const struct demo demo_hash_flood = {
	"hash-flood",
	"crafted 4-tuples: one long chain with a known seed, none without",
	"Eight connections are opened from 4-tuples chosen to fall into one bucket\n"
	"of a 64-bucket ehash when the hash seed is 1. Watch the lookups' 'walked'\n"
	"count: with seed 1 every lookup walks the one long chain. Then the same\n"
	"4-tuples are replayed against another seed: they spread over the table, and\n"
	"lookups walk one entry. That is why the kernel keys its hash with a secret.",
	run_hash_flood,
	NULL,
};

static const struct demo demo_wildcard = {
	"wildcard",
	"listeners on 0.0.0.0:80 and 10.0.0.1:80: which gets each SYN",
	"Two listeners share port 80: one bound to 0.0.0.0 (every local address),\n"
	"one to 10.0.0.1. Since Linux 5.0 the listener lookup tries the exact\n"
	"address first and the wildcard second: a SYN to 10.0.0.1:80 reaches the\n"
	"exact listener, a SYN to the host's other address 10.0.0.9 the wildcard\n"
	"one. Watch '(exact address)' and '(wildcard)' in the lookup path.",
	NULL,
	wildcard_script,
};

const struct demo *const demo_catalogue[] = {
	&demo_two_clients,
	&demo_backlog,
	&demo_syn_queue,
	&demo_cookies,
	&demo_rst,
	&demo_time_wait,
	&demo_reuseport,
	&demo_hash_flood,
	&demo_wildcard,
	NULL,
};

int demo_check(const struct demo *d, const struct demo_opts *o, char *err, size_t len)
{
	struct stack_config defaults;
	uint32_t lo, hi;

	if (d->run || script_fits(d, o, o->cfg.max_sockets))
		return 0;
	/*
	 * The least limit the script fits in, by bisection between the one
	 * given (too few) and the default (the golden test runs it so).
	 */
	stack_config_init(&defaults);
	lo = o->cfg.max_sockets;
	hi = defaults.max_sockets;
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (script_fits(d, o, mid))
			hi = mid;
		else
			lo = mid;
	}
	snprintf(err, len,
		 "demo %s needs --max-sockets %u or more: it is a fixed scenario, and a refused connection "
		 "would break it (two-clients and hash-flood show the limit at work)", d->name, hi);
	return -EINVAL;
}

int demo_run(const struct demo *d, const struct demo_opts *o)
{
	return d->run ? d->run(o) : run_script_demo(d, o);
}

const struct demo *demo_find(const char *name)
{
	int i;

	for (i = 0; demo_catalogue[i]; i++)
		if (strcmp(demo_catalogue[i]->name, name) == 0)
			return demo_catalogue[i];
	return NULL;
}
