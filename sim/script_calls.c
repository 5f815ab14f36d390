/*
 * script_calls.c - the system calls a script may make, in one table.
 *
 * Path: script_parse.c -> script_call_find() and each call's check() (is
 *       it modelled? with these arguments?); script_run.c -> call->run()
 *       -> the sys_*() calls of the stack's socket API.
 *
 * The table is the only list of calls: the parser, the runner's blocking
 * rule and the "not modelled" message all read it. Descriptors are mapped
 * as packetdrill maps them: the number a script expects from socket() or
 * accept() names whatever descriptor the stack returned, and later calls
 * use the stack's. A call returns what the stack returned; one whose line
 * also expects an output (getsockopt's value, an errno in SO_ERROR) fails
 * with a message saying what it got instead.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errname.h"
#include "script_int.h"

#define IO_MAX (1u << 20)        /* the largest read or write a line may ask for */
#define SCRIPT_DATA 'x'

static uint8_t io_buf[IO_MAX];

/* ---- symbols -------------------------------------------------------------------------------- */

struct symbol {
	const char *name;
	int64_t value;
};

/* Linux's values, as a script's arguments name them. */
static const struct symbol symbols[] = {
	{ "NULL", 0 },
	{ "AF_INET", 2 }, { "AF_INET6", 10 }, { "AF_UNSPEC", 0 }, { "PF_INET", 2 }, { "PF_INET6", 10 },
	{ "SOCK_STREAM", 1 }, { "SOCK_NONBLOCK", 04000 }, { "SOCK_CLOEXEC", 02000000 },
	{ "IPPROTO_TCP", 6 }, { "IPPROTO_IP", 0 }, { "SOL_TCP", 6 }, { "SOL_SOCKET", 1 }, { "SOL_IP", 0 },
	{ "SO_REUSEADDR", 2 }, { "SO_TYPE", 3 }, { "SO_ERROR", 4 }, { "SO_SNDBUF", 7 }, { "SO_RCVBUF", 8 },
	{ "SO_KEEPALIVE", 9 }, { "SO_LINGER", 13 }, { "SO_REUSEPORT", 15 }, { "SO_RCVLOWAT", 18 },
	{ "SO_SNDLOWAT", 19 }, { "SO_RCVTIMEO", 20 }, { "SO_SNDTIMEO", 21 },
	{ "TCP_NODELAY", 1 }, { "TCP_MAXSEG", 2 }, { "TCP_CORK", 3 }, { "TCP_KEEPIDLE", 4 },
	{ "TCP_KEEPINTVL", 5 }, { "TCP_KEEPCNT", 6 }, { "TCP_SYNCNT", 7 }, { "TCP_LINGER2", 8 },
	{ "TCP_DEFER_ACCEPT", 9 }, { "TCP_WINDOW_CLAMP", 10 }, { "TCP_INFO", 11 }, { "TCP_QUICKACK", 12 },
	{ "TCP_CONGESTION", 13 }, { "TCP_USER_TIMEOUT", 18 }, { "TCP_NOTSENT_LOWAT", 25 },
	{ "TCP_FASTOPEN", 23 }, { "TCP_FASTOPEN_CONNECT", 30 }, { "TCP_INQ", 36 }, { "TCP_CM_INQ", 36 },
	{ "O_RDONLY", 0 }, { "O_WRONLY", 1 }, { "O_RDWR", 2 }, { "O_NONBLOCK", 04000 },
	{ "F_GETFL", 3 }, { "F_SETFL", 4 },
	{ "SHUT_RD", 0 }, { "SHUT_WR", 1 }, { "SHUT_RDWR", 2 },
	{ "MSG_OOB", 1 }, { "MSG_PEEK", 2 }, { "MSG_DONTWAIT", 0x40 }, { "MSG_WAITALL", 0x100 },
	{ "MSG_NOSIGNAL", 0x4000 }, { "MSG_MORE", 0x8000 }, { "MSG_TRUNC", 0x20 }, { "MSG_EOR", 0x80 },
	{ "MSG_ERRQUEUE", 0x2000 }, { "MSG_FASTOPEN", 0x20000000 }, { "MSG_ZEROCOPY", 0x4000000 },
	{ "SIOCINQ", 0x541B }, { "FIONREAD", 0x541B }, { "SIOCOUTQ", 0x5411 }, { "TIOCOUTQ", 0x5411 },
	{ "SIOCOUTQNSD", 0x894B },
	{ "POLLIN", 0x1 }, { "POLLPRI", 0x2 }, { "POLLOUT", 0x4 }, { "POLLERR", 0x8 }, { "POLLHUP", 0x10 },
	{ "POLLNVAL", 0x20 }, { "POLLRDNORM", 0x40 }, { "POLLRDBAND", 0x80 }, { "POLLWRNORM", 0x100 },
	{ "POLLWRBAND", 0x200 }, { "POLLRDHUP", 0x2000 },
	{ "EPOLLIN", 0x1 }, { "EPOLLPRI", 0x2 }, { "EPOLLOUT", 0x4 }, { "EPOLLERR", 0x8 },
	{ "EPOLLHUP", 0x10 }, { "EPOLLRDNORM", 0x40 }, { "EPOLLWRNORM", 0x100 }, { "EPOLLRDHUP", 0x2000 },
	{ "EPOLLEXCLUSIVE", 1 << 28 }, { "EPOLLONESHOT", 1 << 30 }, { "EPOLLET", 1u << 31 },
	{ "EPOLL_CTL_ADD", 1 }, { "EPOLL_CTL_DEL", 2 }, { "EPOLL_CTL_MOD", 3 },
};

int script_symbol(const char *name, int64_t *v)
{
	size_t i;

	for (i = 0; i < sizeof(symbols) / sizeof(symbols[0]); i++)
		if (strcmp(symbols[i].name, name) == 0) {
			*v = symbols[i].value;
			return 0;
		}
	return -1;
}

int sexpr_int(const struct sexpr *e, int64_t *v)
{
	int64_t a, b;

	switch (e->kind) {
	case SX_INT:
		*v = e->num;
		return 0;
	case SX_WORD:
		return script_symbol(e->text, v);
	case SX_OR:
		if (sexpr_int(e->lhs, &a) < 0 || sexpr_int(e->rhs, &b) < 0)
			return -1;
		*v = a | b;
		return 0;
	case SX_LIST:
		/* "[1]": a value passed by pointer */
		if (e->nitems != 1)
			return -1;
		return sexpr_int(e->items[0], v);
	default:
		return -1;
	}
}

/* ---- helpers -------------------------------------------------------------------------------- */

static int why(struct call_ctx *cx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int why(struct call_ctx *cx, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cx->why, sizeof(cx->why), fmt, ap);
	va_end(ap);
	return -1;
}

static int check_why(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int check_why(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return -1;
}

/* The argument's integer value, or the fallback when it is "..." or absent. */
static int64_t arg_int(const struct stmt *s, int i, int64_t fallback)
{
	int64_t v;

	if (i >= s->nargs || s->args[i]->kind == SX_ELLIPSIS || sexpr_int(s->args[i], &v) < 0)
		return fallback;
	return v;
}

static int arg_is_word(const struct stmt *s, int i, const char *w)
{
	return i < s->nargs && s->args[i]->kind == SX_WORD && strcmp(s->args[i]->text, w) == 0;
}

static const char *arg_name(const struct stmt *s, int i)
{
	return i < s->nargs && s->args[i]->kind == SX_WORD ? s->args[i]->text : "?";
}

/* A script descriptor: a number, or a name that is not one. */
static int check_fd_arg(const struct stmt *s, int i, char *buf, size_t len)
{
	if (i >= s->nargs || s->args[i]->kind != SX_INT)
		return check_why(buf, len, "%s() with a descriptor number as argument %d", s->name, i + 1);
	return 0;
}

int call_live_fd(const struct call_ctx *cx, const struct sexpr *e)
{
	if (e->kind != SX_INT || e->num < 0 || e->num >= SCRIPT_MAX_FDS)
		return -1;
	return cx->fds[e->num].live;
}

static int live_fd(struct call_ctx *cx, const struct stmt *s)
{
	return call_live_fd(cx, s->args[0]);
}

static struct script_fd *script_fd_of(struct call_ctx *cx, const struct stmt *s)
{
	int64_t n = s->args[0]->num;

	return n >= 0 && n < SCRIPT_MAX_FDS ? &cx->fds[n] : NULL;
}

/*
 * A call that returned a new descriptor: the script's number for it (the
 * line's expected result) now names the stack's (packetdrill's CHECK_FD).
 */
static int map_new_fd(struct call_ctx *cx, const struct stmt *s, long live)
{
	struct script_fd *f;

	if (live < 0 || s->ret < 0)
		return 0;
	if (s->ret >= SCRIPT_MAX_FDS)
		return why(cx, "a descriptor number below %d, not %ld", SCRIPT_MAX_FDS, s->ret);
	f = &cx->fds[s->ret];
	if (f->live >= 0)
		return why(cx, "descriptor %ld is already open in the script", s->ret);
	memset(f, 0, sizeof(*f));
	f->live = (int)live;
	cx->last_fd = (int)s->ret;
	return 0;
}

/* "..." (the script's default address), "ADDR:PORT" (extension) or a sockaddr struct. */
static int arg_endpoint(const struct sexpr *e, struct ip_addr *a, uint16_t *port)
{
	int i, have_addr = 0, have_port = 0;

	if (e->kind == SX_WORD || e->kind == SX_STRING)
		return endpoint_parse(e->text, a, port) == 0 ? 1 : -1;
	if (e->kind != SX_STRUCT)
		return 0;
	/* {sa_family=AF_INET, sin_port=htons(8080), sin_addr=inet_addr("192.0.2.1")} */
	for (i = 0; i < e->nitems; i++) {
		const struct sexpr *it = e->items[i];
		const struct sexpr *v = it->kind == SX_ASSIGN ? it->rhs : NULL;
		const char *k = it->kind == SX_ASSIGN && it->lhs->kind == SX_WORD ? it->lhs->text : "";

		if (!v)
			return -1;
		if ((strcmp(k, "sin_port") == 0 || strcmp(k, "sin6_port") == 0) && v->kind == SX_FUNC &&
		    strcmp(v->text, "htons") == 0 && v->nitems == 1 && v->items[0]->kind == SX_INT) {
			*port = (uint16_t)v->items[0]->num;
			have_port = 1;
		} else if ((strcmp(k, "sin_addr") == 0 || strcmp(k, "sin6_addr") == 0) && v->kind == SX_FUNC &&
			   (strcmp(v->text, "inet_addr") == 0 || strcmp(v->text, "inet_pton") == 0) &&
			   v->nitems >= 1 && v->items[v->nitems - 1]->kind == SX_STRING) {
			if (addr_parse(v->items[v->nitems - 1]->text, a) < 0)
				return -1;
			have_addr = 1;
		}
	}
	return have_addr && have_port ? 1 : -1;
}

static int check_endpoint_arg(const struct stmt *s, int i, char *buf, size_t len)
{
	struct ip_addr a;
	uint16_t port;

	if (i < s->nargs && s->args[i]->kind != SX_ELLIPSIS && arg_endpoint(s->args[i], &a, &port) < 0) {
		char t[128];

		sexpr_format(s->args[i], t, sizeof(t));
		return check_why(buf, len, "the address %s in %s() (..., ADDR:PORT or {sa_family=..., "
				 "sin_port=htons(N), sin_addr=inet_addr(\"A\")} are)", t, s->name);
	}
	return 0;
}

/* ---- socket, bind, listen, accept, connect ---------------------------------------------------- */

static int check_socket(const struct stmt *s, char *buf, size_t len)
{
	if (s->nargs > 1 && s->args[1]->kind != SX_ELLIPSIS && !arg_is_word(s, 1, "SOCK_STREAM"))
		return check_why(buf, len, "socket() of type %s (SOCK_STREAM is)", arg_name(s, 1));
	if (s->nargs > 2 && s->args[2]->kind != SX_ELLIPSIS && !arg_is_word(s, 2, "IPPROTO_TCP") &&
	    !(s->args[2]->kind == SX_INT && s->args[2]->num == 0))
		return check_why(buf, len, "socket() for protocol %s (IPPROTO_TCP is)", arg_name(s, 2));
	return 0;
}

static int run_socket(struct call_ctx *cx, const struct stmt *s, long *ret)
{
	int fam = cx->o->ipv6 ? ADDR_V6 : ADDR_V4;

	if (arg_is_word(s, 0, "AF_INET6"))
		fam = ADDR_V6;
	else if (arg_is_word(s, 0, "AF_INET"))
		fam = ADDR_V4;
	*ret = sys_socket(cx->st, fam);
	return map_new_fd(cx, s, *ret);
}

static int check_bind(const struct stmt *s, char *buf, size_t len)
{
	if (check_fd_arg(s, 0, buf, len) < 0)
		return -1;
	return check_endpoint_arg(s, 1, buf, len);
}

static int run_bind(struct call_ctx *cx, const struct stmt *s, long *ret)
{
	struct ip_addr a = cx->local;
	uint16_t port = cx->o->bind_port ? cx->o->bind_port : SCRIPT_BOUND_PORT;

	/* Extension: "bind(3, 0.0.0.0:8080, ...)"; "..." is packetdrill's local_ip:8080. */
	if (s->nargs > 1 && arg_endpoint(s->args[1], &a, &port) > 0) {
		*ret = sys_bind(cx->st, live_fd(cx, s), &a, port);
		if (*ret == 0)
			cx->bound_port = port;
		return 0;
	}
	*ret = sys_bind(cx->st, live_fd(cx, s), &a, port);
	return 0;
}

static int run_listen(struct call_ctx *cx, const struct stmt *s, long *ret)
{
	*ret = sys_listen(cx->st, live_fd(cx, s), (int)arg_int(s, 1, 0));
	return 0;
}

static int run_accept(struct call_ctx *cx, const struct stmt *s, long *ret)
{
	*ret = sys_accept(cx->st, live_fd(cx, s), NULL, NULL);
	return map_new_fd(cx, s, *ret);
}

static int check_connect(const struct stmt *s, char *buf, size_t len)
{
	if (check_fd_arg(s, 0, buf, len) < 0)
		return -1;
	return check_endpoint_arg(s, 1, buf, len);
}

static int run_connect(struct call_ctx *cx, const struct stmt *s, long *ret)
{
	int fd = live_fd(cx, s), st = sys_state(cx->st, fd);
	struct script_fd *f = script_fd_of(cx, s);
	struct ip_addr a = cx->remote;
	uint16_t port = cx->o->connect_port ? cx->o->connect_port : SCRIPT_BOUND_PORT;

	if (cx->retry) {
		/* A blocking connect() waiting for its handshake. */
		if (st == TCP_SYN_SENT)
			*ret = -EINPROGRESS;
		else if (st == TCP_CLOSED || st < 0)
			*ret = st < 0 ? st : sys_error(cx->st, fd);
		else
			*ret = 0;
		return 0;
	}
	if (st == TCP_SYN_SENT && f && !f->nonblock) {
		*ret = -EINPROGRESS;
		return 0;
	}
	if (s->nargs > 1)
		arg_endpoint(s->args[1], &a, &port);
	*ret = sys_connect(cx->st, fd, &a, port);
	if (*ret == -EINPROGRESS)
		cx->connecting = fd;
	return 0;
}

/* ---- options and flags ---------------------------------------------------------------------- */

/*
 * Socket options. "ignored" ones are accepted and have no effect in the
 * stack (a buffer size the stack does not bound by).
 */
enum { SO_KIND_REUSEADDR = 1, SO_KIND_REUSEPORT, SO_KIND_LINGER, SO_KIND_ERROR, SO_KIND_IGNORED };

struct sockopt_def {
	const char *level, *name;
	uint8_t kind;
	uint8_t can_set, can_get;
};

static const struct sockopt_def sockopts[] = {
	{ "SOL_SOCKET", "SO_REUSEADDR", SO_KIND_REUSEADDR, 1, 0 },
	{ "SOL_SOCKET", "SO_REUSEPORT", SO_KIND_REUSEPORT, 1, 0 },
	{ "SOL_SOCKET", "SO_LINGER", SO_KIND_LINGER, 1, 0 },
	{ "SOL_SOCKET", "SO_ERROR", SO_KIND_ERROR, 0, 1 },
	{ "SOL_SOCKET", "SO_SNDBUF", SO_KIND_IGNORED, 1, 0 },
	{ "SOL_SOCKET", "SO_RCVBUF", SO_KIND_IGNORED, 1, 0 },
	{ "SOL_SOCKET", "SO_KEEPALIVE", SO_KIND_IGNORED, 1, 0 },
	{ "SOL_TCP", "TCP_NODELAY", SO_KIND_IGNORED, 1, 0 },
	{ "IPPROTO_TCP", "TCP_NODELAY", SO_KIND_IGNORED, 1, 0 },
};

static const struct sockopt_def *sockopt_find(const struct stmt *s, int setting)
{
	size_t i;

	for (i = 0; i < sizeof(sockopts) / sizeof(sockopts[0]); i++)
		if (arg_is_word(s, 1, sockopts[i].level) && arg_is_word(s, 2, sockopts[i].name) &&
		    (setting ? sockopts[i].can_set : sockopts[i].can_get))
			return &sockopts[i];
	return NULL;
}

static int check_sockopt(const struct stmt *s, char *buf, size_t len, int setting)
{
	if (check_fd_arg(s, 0, buf, len) < 0)
		return -1;
	if (!sockopt_find(s, setting))
		return check_why(buf, len, "%s(%s, %s)", s->name, arg_name(s, 1), arg_name(s, 2));
	return 0;
}

static int check_setsockopt(const struct stmt *s, char *buf, size_t len)
{
	return check_sockopt(s, buf, len, 1);
}

static int check_getsockopt(const struct stmt *s, char *buf, size_t len)
{
	return check_sockopt(s, buf, len, 0);
}

static int run_setsockopt(struct call_ctx *cx, const struct stmt *s, long *ret)
{
	const struct sockopt_def *d = sockopt_find(s, 1);
	int fd = live_fd(cx, s);
	struct script_fd *f = script_fd_of(cx, s);

	switch (d->kind) {
	case SO_KIND_REUSEADDR:
		*ret = sys_setsockopt(cx->st, fd, SOCKOPT_REUSEADDR, (int)arg_int(s, 3, 0));
		break;
	case SO_KIND_REUSEPORT:
		*ret = sys_setsockopt(cx->st, fd, SOCKOPT_REUSEPORT, (int)arg_int(s, 3, 0));
		break;
	case SO_KIND_LINGER: {
		char t[128];

		/* {onoff=1, linger=0}: close() aborts with a RST */
		sexpr_format(s->args[3], t, sizeof(t));
		*ret = sys_state(cx->st, fd) < 0 ? -EBADF : 0;
		if (*ret == 0 && f)
			f->linger0 = strstr(t, "linger=0") != NULL && strstr(t, "onoff=1") != NULL;
		break;
	}
	default:
		*ret = sys_state(cx->st, fd) < 0 ? -EBADF : 0;
		break;
	}
	return 0;
}

static int run_getsockopt(struct call_ctx *cx, const struct stmt *s, long *ret)
{
	int fd = live_fd(cx, s);
	int err;
	int64_t want = 0;
	const struct sexpr *w = s->nargs > 3 ? s->args[3] : NULL;

	if (sys_state(cx->st, fd) < 0) {
		*ret = -EBADF;
		return 0;
	}
	err = sys_error(cx->st, fd);
	if (w && w->kind == SX_LIST && w->nitems == 1 && w->items[0]->kind == SX_WORD &&
	    errno_value(w->items[0]->text))
		want = errno_value(w->items[0]->text);
	else if (w && w->kind != SX_ELLIPSIS && sexpr_int(w, &want) < 0)
		return why(cx, "getsockopt(SO_ERROR) expects [0] or [ENAME]");
	*ret = 0;
	if (w && w->kind != SX_ELLIPSIS && -err != want)
		return why(cx, "SO_ERROR was [%s], not [%s]", err ? errno_name(err) : "0",
			   want ? errno_name(-want) : "0");
	return 0;
}

static int check_fcntl(const struct stmt *s, char *buf, size_t len)
{
	if (check_fd_arg(s, 0, buf, len) < 0)
		return -1;
	if (!arg_is_word(s, 1, "F_SETFL") && !arg_is_word(s, 1, "F_GETFL"))
		return check_why(buf, len, "fcntl(%s) (F_SETFL and F_GETFL are)", arg_name(s, 1));
	return 0;
}

static int run_fcntl(struct call_ctx *cx, const struct stmt *s, long *ret)
{
	int fd = live_fd(cx, s);
	struct script_fd *f = script_fd_of(cx, s);

	if (sys_state(cx->st, fd) < 0 || !f) {
		*ret = -EBADF;
		return 0;
	}
	if (arg_is_word(s, 1, "F_SETFL")) {
		f->nonblock = (arg_int(s, 2, 0) & 04000) != 0;
		*ret = 0;
	} else {
		*ret = 02 | (f->nonblock ? 04000 : 0); /* O_RDWR, O_NONBLOCK */
	}
	return 0;
}

/* ---- data ----------------------------------------------------------------------------------- */

static int check_io(const struct stmt *s, char *buf, size_t len)
{
	int64_t n;

	if (check_fd_arg(s, 0, buf, len) < 0)
		return -1;
	if (s->nargs < 3 || sexpr_int(s->args[2], &n) < 0 || n < 0 || n > (int64_t)IO_MAX)
		return check_why(buf, len, "%s() of a byte count from 0 to %u", s->name, IO_MAX);
	return 0;
}

static int run_write(struct call_ctx *cx, const struct stmt *s, long *ret)
{
	size_t n = (size_t)arg_int(s, 2, 0);

	memset(io_buf, SCRIPT_DATA, n);
	*ret = sys_send(cx->st, live_fd(cx, s), io_buf, n);
	return 0;
}

static int run_read(struct call_ctx *cx, const struct stmt *s, long *ret)
{
	size_t n = (size_t)arg_int(s, 2, 0);

	*ret = sys_recv(cx->st, live_fd(cx, s), io_buf, n);
	return 0;
}

static int check_shutdown(const struct stmt *s, char *buf, size_t len)
{
	if (check_fd_arg(s, 0, buf, len) < 0)
		return -1;
	if (!arg_is_word(s, 1, "SHUT_RD") && !arg_is_word(s, 1, "SHUT_WR") && !arg_is_word(s, 1, "SHUT_RDWR"))
		return check_why(buf, len, "shutdown(%s) (SHUT_RD, SHUT_WR and SHUT_RDWR are)", arg_name(s, 1));
	return 0;
}

static int run_shutdown(struct call_ctx *cx, const struct stmt *s, long *ret)
{
	*ret = sys_shutdown(cx->st, live_fd(cx, s), (int)arg_int(s, 1, -1));
	return 0;
}

static int run_close(struct call_ctx *cx, const struct stmt *s, long *ret)
{
	struct script_fd *f = script_fd_of(cx, s);
	int fd = live_fd(cx, s);

	*ret = f && f->linger0 ? sys_abort(cx->st, fd) : sys_close(cx->st, fd);
	if (*ret == 0 && f)
		f->live = -1;
	return 0;
}

static int check_fd_only(const struct stmt *s, char *buf, size_t len)
{
	return check_fd_arg(s, 0, buf, len);
}

/* ---- the table ------------------------------------------------------------------------------ */

static const struct script_call calls[] = {
	/* name        run             check             args   blocking fd_result */
	{ "socket", run_socket, check_socket, 3, 3, 0, 1 },
	{ "setsockopt", run_setsockopt, check_setsockopt, 5, 5, 0, 0 },
	{ "getsockopt", run_getsockopt, check_getsockopt, 5, 5, 0, 0 },
	{ "fcntl", run_fcntl, check_fcntl, 2, 3, 0, 0 },
	{ "bind", run_bind, check_bind, 3, 3, 0, 0 },
	{ "listen", run_listen, check_fd_only, 2, 2, 0, 0 },
	{ "accept", run_accept, check_fd_only, 3, 3, 1, 1 },
	{ "connect", run_connect, check_connect, 3, 3, 1, 0 },
	{ "write", run_write, check_io, 3, 3, 0, 0 },
	{ "send", run_write, check_io, 4, 4, 0, 0 },
	{ "read", run_read, check_io, 3, 3, 1, 0 },
	{ "recv", run_read, check_io, 4, 4, 1, 0 },
	{ "shutdown", run_shutdown, check_shutdown, 2, 2, 0, 0 },
	{ "close", run_close, check_fd_only, 1, 1, 0, 0 },
};

const struct script_call *script_call_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(calls) / sizeof(calls[0]); i++)
		if (strcmp(calls[i].name, name) == 0)
			return &calls[i];
	return NULL;
}

void script_call_names(char *buf, size_t len)
{
	size_t i, k = 0;

	if (len)
		buf[0] = '\0';
	for (i = 0; i < sizeof(calls) / sizeof(calls[0]) && k < len; i++)
		k += (size_t)snprintf(buf + k, len - k, "%s%s", i ? ", " : "", calls[i].name);
}

void call_ctx_init(struct call_ctx *cx, struct stack *st, const struct script_opts *o)
{
	int i;

	memset(cx, 0, sizeof(*cx));
	cx->st = st;
	cx->o = o;
	cx->last_fd = -1;
	cx->connecting = -1;
	for (i = 0; i < SCRIPT_MAX_FDS; i++)
		cx->fds[i].live = -1;
}

void call_ctx_free(struct call_ctx *cx)
{
	(void)cx;
}
