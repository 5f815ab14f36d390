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
#include "net.h"
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
	e->r->ops->call(e->r, e->net.now, who, what, ret, detail);
}

static int env_init(struct demo_env *e, const struct demo_opts *o, const char *server_addr,
		    const char *const *client_addrs)
{
	struct stack_config ccfg = o->cfg;
	struct ip_addr a;
	int i;

	memset(e, 0, sizeof(*e));
	e->r = o->r;
	e->server = stack_new(&o->cfg);
	/* The clients' ISNs and ports come from their own key, derived from the seed. */
	ccfg.hash_seed = o->cfg.hash_seed ^ 0x5eed5eedu;
	ccfg.ehash_buckets = 256;
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
	call(e, "server", "socket(AF_INET, SOCK_STREAM)", fd, NULL);
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

/* A client socket bound to addr:port connecting to dst:dport. Returns the fd or -errno. */
static int client_connect(struct demo_env *e, const char *addr, uint16_t port, const char *dst,
			  uint16_t dport)
{
	struct ip_addr a, d;
	char who[64], buf[96];
	int fd, ret;

	addr_parse(addr, &a);
	addr_parse(dst, &d);
	snprintf(who, sizeof(who), "client %s", addr);
	fd = sys_socket(e->clients, a.family);
	if (fd < 0)
		return fd;
	ret = sys_bind(e->clients, fd, &a, port);
	if (ret < 0)
		return ret;
	ret = sys_connect(e->clients, fd, &d, dport);
	snprintf(buf, sizeof(buf), "connect(%s:%u -> %s:%u)", addr, port, dst, dport);
	call(e, who, buf, ret, ret == -EINPROGRESS ? "SYN sent" : NULL);
	return fd;
}

static void say(struct demo_env *e, const char *text)
{
	e->r->ops->say(e->r, text);
}

/* ---- two-clients --------------------------------------------------------- */

static int run_two_clients(const struct demo_opts *o)
{
	static const char *const clients[] = { "10.0.0.2", "10.0.0.3", NULL };
	static const char request[] = "GET / HTTP/1.0\r\n\r\n";
	struct demo_env e;
	int lfd, cfd[3], i, ret = 0;
	char buf[128], detail[160];

	if (env_init(&e, o, "10.0.0.1", clients) < 0) {
		env_free(&e);
		return -ENOMEM;
	}
	say(&e, "== the server opens one listening socket on port 80");
	lfd = server_listen(&e, "10.0.0.1", 80, 8);
	if (lfd < 0) {
		ret = lfd;
		goto out;
	}
	o->r->ops->tables(o->r, e.server);

	say(&e, "== three clients connect: two from 10.0.0.2 (ports 1234, 1235), one from 10.0.0.3");
	net_run_until(&e.net, 10 * VT_MSEC);
	cfd[0] = client_connect(&e, "10.0.0.2", 1234, "10.0.0.1", 80);
	net_run_until(&e.net, 20 * VT_MSEC);
	cfd[1] = client_connect(&e, "10.0.0.3", 5678, "10.0.0.1", 80);
	net_run_until(&e.net, 30 * VT_MSEC);
	cfd[2] = client_connect(&e, "10.0.0.2", 1235, "10.0.0.1", 80);
	net_run_until(&e.net, 50 * VT_MSEC);

	say(&e, "== each client sends a request; the ehash finds its socket by the full 4-tuple");
	for (i = 0; i < 3; i++) {
		long n = sys_send(e.clients, cfd[i], request, sizeof(request) - 1);

		snprintf(buf, sizeof(buf), "send(%d, \"GET / ...\", %zu)", cfd[i], sizeof(request) - 1);
		call(&e, i == 1 ? "client 10.0.0.3" : "client 10.0.0.2", buf, n, NULL);
		net_run_until(&e.net, (60 + 10 * (vtime_t)i) * VT_MSEC);
	}

	say(&e, "== the server calls accept(): connections come out in the order their handshakes completed");
	for (i = 0; i < 4; i++) {
		struct ip_addr ra;
		uint16_t rp = 0;
		char rb[ADDR_STRLEN];
		int fd = sys_accept(e.server, lfd, &ra, &rp);

		snprintf(buf, sizeof(buf), "accept(%d)", lfd);
		if (fd >= 0) {
			struct ip_addr la;
			uint16_t lp;
			char lb[ADDR_STRLEN];
			char data[64];
			long n;

			sys_getsockname(e.server, fd, &la, &lp);
			snprintf(detail, sizeof(detail), "new fd %d: local %s, remote %s (same local port as the listener)",
				 fd, endpoint_format(&la, lp, lb, sizeof(lb)),
				 endpoint_format(&ra, rp, rb, sizeof(rb)));
			call(&e, "server", buf, fd, detail);
			n = sys_recv(e.server, fd, data, sizeof(data));
			snprintf(buf, sizeof(buf), "recv(%d)", fd);
			call(&e, "server", buf, n, n > 0 ? "the client's request" : NULL);
		} else {
			call(&e, "server", buf, fd, fd == -EAGAIN ? "accept queue empty" : NULL);
		}
	}
	net_run_until(&e.net, 100 * VT_MSEC);
	o->r->ops->tables(o->r, e.server);
	say(&e, "== every connection has local 10.0.0.1:80; only the remote address:port differs");
out:
	o->r->ops->summary(o->r, e.server, NULL);
	env_free(&e);
	return ret;
}

static const struct demo demo_two_clients = {
	"two-clients",
	"one server port, connections told apart by the remote half of the 4-tuple",
	"A server listens on 10.0.0.1:80. Clients 10.0.0.2:1234, 10.0.0.3:5678 and\n"
	"10.0.0.2:1235 connect. Watch the ehash: each SYN misses it and reaches the\n"
	"listener, which adds a request (SYN_RECV) to the ehash; the final ACK finds\n"
	"that request and turns it into an ESTABLISHED socket on the accept queue.\n"
	"Every entry has the same local address and port, 10.0.0.1:80: accept() does\n"
	"not open a new port. The kernel tells the connections apart by the remote\n"
	"half of the 4-tuple, which is all that differs between the rows.",
	run_two_clients,
};

const struct demo *const demo_catalogue[] = {
	&demo_two_clients,
	NULL,
};

const struct demo *demo_find(const char *name)
{
	int i;

	for (i = 0; demo_catalogue[i]; i++)
		if (strcmp(demo_catalogue[i]->name, name) == 0)
			return demo_catalogue[i];
	return NULL;
}
