/*
 * server_app.c - see server_app.h. The applications are deliberately plain: each is
 * what a first socket program does, so the trace of a lecture shows the
 * stack's part and nothing clever of the application's.
 *
 * State per descriptor lives in an array indexed by the descriptor (the
 * stack hands out the lowest free one, so the array stays as small as the
 * number of connections held at once). Descriptors with news wait in a
 * list, each at most once, until server_app_run().
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_app.h"
#include "socket.h"

/*
 * echo stops reading while this much of what it sent is unacknowledged, as
 * a blocking send() stops a real echo server once its send buffer is full
 * (Linux's tcp_wmem allows 4 MiB): a client that sends without reading is
 * then held by its own window closing, not by the stack's memory growing.
 */
#define ECHO_MAX_OUTQ (4 * 1024 * 1024)

/* What one connection of the application holds. */
struct server_conn {
	uint8_t held;     /* the application holds this descriptor */
	uint8_t queued;   /* on the news list */
	uint8_t crlf;     /* http: how much of "\r\n\r\n" the request has ended with so far */
	uint8_t client;   /* opened by connect() (server_app_hold), not accepted */
	uint8_t sent;     /* client: the request has been sent */
};

struct server_app {
	struct stack *st;              /* the stack whose sockets it uses */
	int kind;                      /* enum server_app_kind */
	const int *lfd;                /* listening descriptors (the driver's) */
	int nlfd;                      /* entries in lfd */
	struct server_conn *conn;      /* indexed by descriptor */
	int nconn;                     /* entries allocated in conn (and news) */
	int *news;                     /* descriptors with news, each once */
	int nnews;                     /* entries in news */
	struct server_app_stats stats; /* what it did, for the summary */
	uint8_t buf[65536];            /* where recv() reads to */
};

static const char *const server_app_names[] = { "echo", "http", "discard", "never" };

const char *server_app_name(int kind)
{
	return kind >= 0 && kind <= SERVER_APP_NEVER ? server_app_names[kind] : "?";
}

int server_app_parse(const char *name)
{
	int k;

	for (k = 0; k <= SERVER_APP_NEVER; k++)
		if (strcmp(name, server_app_names[k]) == 0)
			return k;
	return -1;
}

struct server_app *server_app_new(struct stack *st, int kind, const int *lfd, int nlfd)
{
	struct server_app *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->st = st;
	a->kind = kind;
	a->lfd = lfd;
	a->nlfd = nlfd;
	return a;
}

void server_app_free(struct server_app *a)
{
	if (!a)
		return;
	free(a->conn);
	free(a->news);
	free(a);
}

const struct server_app_stats *server_app_stats(const struct server_app *a)
{
	return &a->stats;
}

/* Makes room for descriptor fd in the per-descriptor arrays. Returns 0 or -ENOMEM (nothing changed). */
static int conn_room(struct server_app *a, int fd)
{
	struct server_conn *c;
	int *news, n;

	if (fd < a->nconn)
		return 0;
	n = a->nconn ? a->nconn : 64;
	while (n <= fd)
		n *= 2;
	c = realloc(a->conn, (size_t)n * sizeof(*c));
	if (!c)
		return -ENOMEM;
	memset(c + a->nconn, 0, (size_t)(n - a->nconn) * sizeof(*c));
	a->conn = c;
	/* A descriptor is on the news list at most once, so the list never outgrows the array. */
	news = realloc(a->news, (size_t)n * sizeof(*news));
	if (!news)
		return -ENOMEM; /* conn grew, nconn did not: the next call retries */
	a->news = news;
	a->nconn = n;
	return 0;
}

void server_app_news(struct server_app *a, int fd)
{
	if (fd < 0 || fd >= a->nconn || !a->conn[fd].held || a->conn[fd].queued)
		return;
	a->conn[fd].queued = 1;
	a->news[a->nnews++] = fd;
}

/* Takes fd as the application's, with news to look at. */
static int conn_take(struct server_app *a, int fd)
{
	if (conn_room(a, fd) < 0)
		return -ENOMEM;
	memset(&a->conn[fd], 0, sizeof(a->conn[fd]));
	a->conn[fd].held = 1;
	server_app_news(a, fd);
	return 0;
}

int server_app_hold(struct server_app *a, int fd)
{
	if (conn_take(a, fd) < 0)
		return -ENOMEM;
	a->conn[fd].client = 1;
	return 0;
}

int server_app_accept(struct server_app *a)
{
	int i, n = 0;

	if (a->kind == SERVER_APP_NEVER)
		return 0;
	for (i = 0; i < a->nlfd; i++) {
		int fd;

		while ((fd = sys_accept(a->st, a->lfd[i], NULL, NULL)) >= 0) {
			if (conn_take(a, fd) < 0) {
				/* No memory to serve it: refuse it as a server would, with a reset. */
				sys_abort(a->st, fd);
				continue;
			}
			a->stats.accepted++;
			n++;
		}
	}
	return n;
}

static void conn_close(struct server_app *a, int fd)
{
	sys_close(a->st, fd);
	a->conn[fd].held = 0;
	a->stats.closed++;
}

/*
 * The one-line answer: it names both ends of the connection, which is the
 * lesson (every connection has the listener's port; the remote half
 * differs).
 */
static void http_respond(struct server_app *a, int fd)
{
	struct ip_addr la, ra;
	uint16_t lp, rp;
	char l[ADDR_STRLEN], r[ADDR_STRLEN], body[256], msg[512];
	int blen, mlen;

	if (sys_getsockname(a->st, fd, &la, &lp) < 0 || sys_getpeername(a->st, fd, &ra, &rp) < 0)
		return;
	blen = snprintf(body, sizeof(body), "tcpdemux: connection %s -> %s, socket #%u\n",
			endpoint_format(&ra, rp, r, sizeof(r)), endpoint_format(&la, lp, l, sizeof(l)),
			sys_sock_id(a->st, fd));
	mlen = snprintf(msg, sizeof(msg),
			"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
			blen, body);
	if (sys_send(a->st, fd, msg, (size_t)mlen) == mlen) {
		a->stats.bytes_out += (uint64_t)mlen;
		a->stats.responses++;
	}
}

/* Has the request ended (its blank line)? c->crlf carries the match across reads. */
static int http_request_done(struct server_conn *c, const uint8_t *p, size_t n)
{
	static const char end[] = "\r\n\r\n";
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] == (uint8_t)end[c->crlf])
			c->crlf++;
		else
			c->crlf = p[i] == '\r';
		if (c->crlf == 4)
			return 1;
	}
	return 0;
}

/* A --connect client's request, once the handshake is done (send() says -EAGAIN before). */
static void client_request(struct server_app *a, int fd, struct server_conn *c)
{
	struct ip_addr ra;
	uint16_t rp;
	char host[ADDR_STRLEN], req[ADDR_STRLEN + 64];
	int len;

	if (sys_getpeername(a->st, fd, &ra, &rp) < 0)
		return;
	len = snprintf(req, sizeof(req), "GET / HTTP/1.0\r\nHost: %s\r\n\r\n",
		       endpoint_format(&ra, rp, host, sizeof(host)));
	if (sys_send(a->st, fd, req, (size_t)len) == len) {
		a->stats.bytes_out += (uint64_t)len;
		c->sent = 1;
	}
}

/* One descriptor's turn: read what there is, answer, close when done. */
static void serve(struct server_app *a, int fd)
{
	struct server_conn *c = &a->conn[fd];
	ssize_t n;
	int done = 0, answered = 0;

	if (c->client && !c->sent)
		client_request(a, fd, c);
	for (;;) {
		if (a->kind == SERVER_APP_ECHO && !c->client && sys_outq(a->st, fd) >= ECHO_MAX_OUTQ) {
			n = -EAGAIN; /* the next ACK (news) brings it back */
			break;
		}
		n = sys_recv(a->st, fd, a->buf, sizeof(a->buf));
		if (n <= 0)
			break;
		a->stats.bytes_in += (uint64_t)n;
		if (c->client)
			continue; /* the server's answer: read, counted, dropped */
		if (a->kind == SERVER_APP_ECHO) {
			ssize_t w = sys_send(a->st, fd, a->buf, (size_t)n);

			if (w < 0) {
				a->stats.errors++;
				done = 1;
				break;
			}
			a->stats.bytes_out += (uint64_t)w;
		} else if (a->kind == SERVER_APP_HTTP && !answered && http_request_done(c, a->buf, (size_t)n)) {
			answered = 1;
		}
	}
	if (n == 0)
		done = 1; /* the peer's FIN: end of stream */
	else if (n < 0 && n != -EAGAIN) {
		a->stats.errors++; /* reset, or never connected */
		done = 1;
	}
	if (answered) {
		/* Everything sent so far has been read: close() sends a FIN, not a RST. */
		http_respond(a, fd);
		done = 1;
	}
	if (done)
		conn_close(a, fd);
}

void server_app_run(struct server_app *a)
{
	int i;

	/* Serving never adds news, so the list only shrinks here. */
	for (i = 0; i < a->nnews; i++) {
		int fd = a->news[i];

		a->conn[fd].queued = 0;
		if (a->conn[fd].held)
			serve(a, fd);
	}
	a->nnews = 0;
}
