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
	{ "TCP_FASTOPEN", 23 }, { "TCP_FASTOPEN_CONNECT", 30 }, { "TCP_FASTOPEN_NO_COOKIE", 34 },
	{ "TCP_INQ", 36 }, { "TCP_CM_INQ", 36 },
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

int call_why(struct call_ctx *cx, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cx->why, sizeof(cx->why), fmt, ap);
	va_end(ap);
	return -1;
}

int call_check_why(char *buf, size_t len, const char *fmt, ...)
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
		return call_check_why(buf, len, "%s() with a descriptor number as argument %d", s->name, i + 1);
	return 0;
}

int call_live_fd(const struct call_ctx *cx, const struct sexpr *e)
{
	if (e->kind != SX_INT || e->num < 0 || e->num >= SCRIPT_MAX_FDS || cx->fds[e->num].epoll)
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
		return call_why(cx, "a descriptor number below %d, not %ld", SCRIPT_MAX_FDS, s->ret);
	f = &cx->fds[s->ret];
	if (f->live >= 0)
		return call_why(cx, "descriptor %ld is already open in the script", s->ret);
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
		return call_check_why(buf, len, "the address %s in %s() (..., ADDR:PORT or {sa_family=..., "
				 "sin_port=htons(N), sin_addr=inet_addr(\"A\")} are)", t, s->name);
	}
	return 0;
}

/* ---- socket, bind, listen, accept, connect ---------------------------------------------------- */

static int check_socket(const struct stmt *s, char *buf, size_t len)
{
	if (s->nargs > 1 && s->args[1]->kind != SX_ELLIPSIS && !arg_is_word(s, 1, "SOCK_STREAM"))
		return call_check_why(buf, len, "socket() of type %s (SOCK_STREAM is)", arg_name(s, 1));
	if (s->nargs > 2 && s->args[2]->kind != SX_ELLIPSIS && !arg_is_word(s, 2, "IPPROTO_TCP") &&
	    !(s->args[2]->kind == SX_INT && s->args[2]->num == 0))
		return call_check_why(buf, len, "socket() for protocol %s (IPPROTO_TCP is)", arg_name(s, 2));
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
	/* a new active open (connect() returns 0 when Fast Open defers the SYN) */
	if ((*ret == -EINPROGRESS || *ret == 0) && sys_state(cx->st, fd) == TCP_SYN_SENT)
		cx->connecting = fd;
	return 0;
}

/* ---- options and flags ---------------------------------------------------------------------- */

/* What an option does: a stack option, or something the script layer keeps itself. */
enum sockopt_kind {
	SO_KIND_STACK = 1,  /* sys_setsockopt / sys_getsockopt with stack_opt */
	SO_KIND_LINGER,     /* {onoff=1, linger=0}: close() aborts */
	SO_KIND_ERROR,      /* SO_ERROR: [0] or [ENAME] */
	SO_KIND_INQ,        /* TCP_INQ: recvmsg() adds a TCP_CM_INQ cmsg */
	SO_KIND_ZEROCOPY,   /* SO_ZEROCOPY: MSG_ZEROCOPY sends without copying - the same bytes here */
};

struct sockopt_def {
	int tcp_level;      /* SOL_TCP / IPPROTO_TCP; else SOL_SOCKET */
	const char *name;
	uint8_t kind;
	uint8_t can_set, can_get;
	int stack_opt;      /* enum sockopt */
};

static const struct sockopt_def sockopts[] = {
	{ 0, "SO_REUSEADDR", SO_KIND_STACK, 1, 1, SOCKOPT_REUSEADDR },
	{ 0, "SO_REUSEPORT", SO_KIND_STACK, 1, 1, SOCKOPT_REUSEPORT },
	{ 0, "SO_SNDBUF", SO_KIND_STACK, 1, 1, SOCKOPT_SNDBUF },
	{ 0, "SO_RCVBUF", SO_KIND_STACK, 1, 1, SOCKOPT_RCVBUF },
	{ 0, "SO_LINGER", SO_KIND_LINGER, 1, 0, 0 },
	{ 0, "SO_ERROR", SO_KIND_ERROR, 0, 1, 0 },
	{ 0, "SO_ZEROCOPY", SO_KIND_ZEROCOPY, 1, 1, 0 },
	{ 1, "TCP_MAXSEG", SO_KIND_STACK, 1, 1, SOCKOPT_MAXSEG },
	{ 1, "TCP_NODELAY", SO_KIND_STACK, 1, 1, SOCKOPT_NODELAY },
	{ 1, "TCP_CORK", SO_KIND_STACK, 1, 1, SOCKOPT_CORK },
	{ 1, "TCP_INQ", SO_KIND_INQ, 1, 1, 0 },
	{ 1, "TCP_NOTSENT_LOWAT", SO_KIND_STACK, 1, 1, SOCKOPT_NOTSENT_LOWAT },
	{ 1, "TCP_FASTOPEN", SO_KIND_STACK, 1, 1, SOCKOPT_FASTOPEN },
	{ 1, "TCP_FASTOPEN_CONNECT", SO_KIND_STACK, 1, 1, SOCKOPT_FASTOPEN_CONNECT },
	{ 1, "TCP_FASTOPEN_NO_COOKIE", SO_KIND_STACK, 1, 1, SOCKOPT_FASTOPEN_NO_COOKIE },
};

static const struct sockopt_def *sockopt_find(const struct stmt *s, int setting)
{
	int tcp = arg_is_word(s, 1, "SOL_TCP") || arg_is_word(s, 1, "IPPROTO_TCP");
	size_t i;

	if (!tcp && !arg_is_word(s, 1, "SOL_SOCKET"))
		return NULL;
	for (i = 0; i < sizeof(sockopts) / sizeof(sockopts[0]); i++)
		if (sockopts[i].tcp_level == tcp && arg_is_word(s, 2, sockopts[i].name) &&
		    (setting ? sockopts[i].can_set : sockopts[i].can_get))
			return &sockopts[i];
	return NULL;
}

static int check_sockopt(const struct stmt *s, char *buf, size_t len, int setting)
{
	const struct sockopt_def *d;
	int64_t v;

	if (check_fd_arg(s, 0, buf, len) < 0)
		return -1;
	d = sockopt_find(s, setting);
	if (!d)
		return call_check_why(buf, len, "%s(%s, %s)", s->name, arg_name(s, 1), arg_name(s, 2));
	/* The value: [N] (SO_LINGER a struct, SO_ERROR [0] or [ENAME], "..." when not checked) */
	if (d->kind != SO_KIND_LINGER && d->kind != SO_KIND_ERROR && s->args[3]->kind != SX_ELLIPSIS &&
	    sexpr_int(s->args[3], &v) < 0) {
		char t[96];

		sexpr_format(s->args[3], t, sizeof(t));
		return call_check_why(buf, len, "%s(%s) with the value %s ([N] is)", s->name, d->name, t);
	}
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
	int valid = sys_state(cx->st, fd) >= 0;

	switch (d->kind) {
	case SO_KIND_STACK:
		*ret = sys_setsockopt(cx->st, fd, d->stack_opt, (int)arg_int(s, 3, 0));
		break;
	case SO_KIND_LINGER: {
		char t[128];

		/* {onoff=1, linger=0}: close() aborts with a RST */
		sexpr_format(s->args[3], t, sizeof(t));
		*ret = valid ? 0 : -EBADF;
		if (valid && f)
			f->linger0 = strstr(t, "linger=0") != NULL && strstr(t, "onoff=1") != NULL;
		break;
	}
	case SO_KIND_INQ:
		*ret = valid ? 0 : -EBADF;
		if (valid && f)
			f->inq = arg_int(s, 3, 0) != 0;
		break;
	default: /* SO_ZEROCOPY */
		*ret = valid ? 0 : -EBADF;
		if (valid && f)
			f->zerocopy = arg_int(s, 3, 0) != 0;
		break;
	}
	return 0;
}

static int run_getsockopt(struct call_ctx *cx, const struct stmt *s, long *ret)
{
	const struct sockopt_def *d = sockopt_find(s, 0);
	int fd = live_fd(cx, s), val = 0, err;
	struct script_fd *f = script_fd_of(cx, s);
	int64_t want = 0;
	const struct sexpr *w = s->args[3];

	if (sys_state(cx->st, fd) < 0) {
		*ret = -EBADF;
		return 0;
	}
	*ret = 0;
	switch (d->kind) {
	case SO_KIND_ERROR:
		err = sys_error(cx->st, fd);
		if (w->kind == SX_LIST && w->nitems == 1 && w->items[0]->kind == SX_WORD &&
		    errno_value(w->items[0]->text))
			want = errno_value(w->items[0]->text);
		else if (w->kind != SX_ELLIPSIS && sexpr_int(w, &want) < 0)
			return call_why(cx, "getsockopt(SO_ERROR) expects [0] or [ENAME]");
		if (w->kind != SX_ELLIPSIS && -err != want)
			return call_why(cx, "SO_ERROR was [%s], not [%s]", err ? errno_name(err) : "0",
				   want ? errno_name(-want) : "0");
		return 0;
	case SO_KIND_STACK:
		*ret = sys_getsockopt(cx->st, fd, d->stack_opt, &val);
		if (*ret < 0)
			return 0;
		break;
	case SO_KIND_INQ:
		val = f && f->inq;
		break;
	default:
		val = f && f->zerocopy;
		break;
	}
	/* compared as the 32 bits the option holds: [0xffffffff] is -1 */
	if (w->kind != SX_ELLIPSIS && sexpr_int(w, &want) == 0 && (uint32_t)want != (uint32_t)val)
		return call_why(cx, "%s was [%u], not [%llu]", d->name, (uint32_t)val, (unsigned long long)(uint32_t)want);
	return 0;
}

static int check_fcntl(const struct stmt *s, char *buf, size_t len)
{
	if (check_fd_arg(s, 0, buf, len) < 0)
		return -1;
	if (!arg_is_word(s, 1, "F_SETFL") && !arg_is_word(s, 1, "F_GETFL"))
		return call_check_why(buf, len, "fcntl(%s) (F_SETFL and F_GETFL are)", arg_name(s, 1));
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

static int check_ioctl(const struct stmt *s, char *buf, size_t len)
{
	int64_t v;

	if (check_fd_arg(s, 0, buf, len) < 0)
		return -1;
	if (!arg_is_word(s, 1, "SIOCINQ") && !arg_is_word(s, 1, "FIONREAD") && !arg_is_word(s, 1, "SIOCOUTQ") &&
	    !arg_is_word(s, 1, "TIOCOUTQ") && !arg_is_word(s, 1, "SIOCOUTQNSD"))
		return call_check_why(buf, len, "ioctl(%s) (SIOCINQ, FIONREAD, SIOCOUTQ and SIOCOUTQNSD are)",
				 arg_name(s, 1));
	if (s->args[2]->kind != SX_ELLIPSIS && sexpr_int(s->args[2], &v) < 0)
		return call_check_why(buf, len, "ioctl(%s) with a value other than [N]", arg_name(s, 1));
	return 0;
}

/* ioctl(fd, SIOCINQ, [N]): the bytes to read, compared with N. */
static int run_ioctl(struct call_ctx *cx, const struct stmt *s, long *ret)
{
	int fd = live_fd(cx, s);
	int64_t want;
	int n;

	if (arg_is_word(s, 1, "SIOCINQ") || arg_is_word(s, 1, "FIONREAD"))
		n = sys_inq(cx->st, fd);
	else if (arg_is_word(s, 1, "SIOCOUTQNSD"))
		n = sys_outq_unsent(cx->st, fd);
	else
		n = sys_outq(cx->st, fd);
	if (n < 0) {
		*ret = n;
		return 0;
	}
	*ret = 0;
	if (s->args[2]->kind != SX_ELLIPSIS && sexpr_int(s->args[2], &want) == 0 && want != n)
		return call_why(cx, "%s was [%d], not [%lld]", arg_name(s, 1), n, (long long)want);
	return 0;
}

/* ---- data ----------------------------------------------------------------------------------- */

/* Where a call's buffer, length and flags are, by its name. */
struct io_shape {
	const char *name;
	int8_t buf, len, flags;  /* argument indexes; -1: none */
	int8_t msg;              /* the msghdr argument of sendmsg/recvmsg, else -1 */
	uint8_t sending;
};

static const struct io_shape io_shapes[] = {
	{ "write", 1, 2, -1, -1, 1 }, { "send", 1, 2, 3, -1, 1 }, { "sendto", 1, 2, 3, -1, 1 },
	{ "sendmsg", -1, -1, 2, 1, 1 }, { "read", 1, 2, -1, -1, 0 }, { "recv", 1, 2, 3, -1, 0 },
	{ "recvfrom", 1, 2, 3, -1, 0 }, { "recvmsg", -1, -1, 2, 1, 0 },
};

static const struct io_shape *io_shape_of(const struct stmt *s)
{
	size_t i;

	for (i = 0; i < sizeof(io_shapes) / sizeof(io_shapes[0]); i++)
		if (strcmp(io_shapes[i].name, s->name) == 0)
			return &io_shapes[i];
	return NULL;
}

/* The field name=... of a struct expression ({msg_flags=0, ...}), or NULL. msg_iov(1)=[...] counts as msg_iov. */
static const struct sexpr *field_of(const struct sexpr *e, const char *name)
{
	int i;

	if (e->kind != SX_STRUCT)
		return NULL;
	for (i = 0; i < e->nitems; i++) {
		const struct sexpr *it = e->items[i];
		const struct sexpr *k;

		if (it->kind != SX_ASSIGN)
			continue;
		k = it->lhs;
		if ((k->kind == SX_WORD || k->kind == SX_FUNC) && strcmp(k->text, name) == 0)
			return it->rhs;
	}
	return NULL;
}

static int is_null(const struct sexpr *e)
{
	return (e->kind == SX_WORD && strcmp(e->text, "NULL") == 0) || (e->kind == SX_INT && e->num == 0);
}

/* An iovec list [{..., 10}, {NULL, 0}]: the total, and whether a base is NULL with a length. */
static int iov_total(const struct sexpr *iov, int64_t *total, int *bad_base)
{
	int i;

	*total = 0;
	*bad_base = 0;
	if (!iov || iov->kind != SX_LIST)
		return -1;
	for (i = 0; i < iov->nitems; i++) {
		const struct sexpr *v = iov->items[i];
		int64_t n;

		if (v->kind != SX_STRUCT || v->nitems != 2 || sexpr_int(v->items[1], &n) < 0 || n < 0)
			return -1;
		if (is_null(v->items[0]) && n > 0)
			*bad_base = 1;
		else if (v->items[0]->kind != SX_ELLIPSIS && !is_null(v->items[0]))
			return -1;
		*total += n;
	}
	return 0;
}

/* The cmsgs a recvmsg() line expects: only {cmsg_level=SOL_TCP, cmsg_type=TCP_CM_INQ, cmsg_data=N}. */
static int check_cmsgs(const struct sexpr *ctl, char *buf, size_t len)
{
	int i;

	if (!ctl)
		return 0;
	if (ctl->kind != SX_LIST)
		return call_check_why(buf, len, "msg_control other than a list of cmsgs");
	for (i = 0; i < ctl->nitems; i++) {
		const struct sexpr *c = ctl->items[i], *lv = field_of(c, "cmsg_level"), *ty = field_of(c, "cmsg_type");
		const struct sexpr *data = field_of(c, "cmsg_data");
		int64_t n;

		if (!lv || !ty || !data || lv->kind != SX_WORD || strcmp(lv->text, "SOL_TCP") != 0 ||
		    ty->kind != SX_WORD || strcmp(ty->text, "TCP_CM_INQ") != 0 || sexpr_int(data, &n) < 0) {
			char t[120];

			sexpr_format(c, t, sizeof(t));
			return call_check_why(buf, len, "the cmsg %s (TCP_CM_INQ is)", t);
		}
	}
	return 0;
}

/* MSG_* flags a data call models. */
#define MSG_FASTOPEN_BIT 0x20000000
#define IO_FLAGS_SEND (0x40 | 0x4000 | 0x8000 | 0x4000000 | MSG_FASTOPEN_BIT) /* DONTWAIT, NOSIGNAL, MORE,
									 * ZEROCOPY, FASTOPEN */
#define IO_FLAGS_RECV (0x40 | 0x100 | 0x2)                   /* DONTWAIT, WAITALL, PEEK */

static int check_io(const struct stmt *s, char *buf, size_t len)
{
	const struct io_shape *io = io_shape_of(s);
	int64_t n, flags = 0;

	if (check_fd_arg(s, 0, buf, len) < 0)
		return -1;
	if (io->flags >= 0 && sexpr_int(s->args[io->flags], &flags) < 0)
		return call_check_why(buf, len, "%s() with flags %s", s->name, arg_name(s, io->flags));
	if (flags & ~(int64_t)(io->sending ? IO_FLAGS_SEND : IO_FLAGS_RECV)) {
		char t[96];

		sexpr_format(s->args[io->flags], t, sizeof(t));
		return call_check_why(buf, len, "%s() with the flags %s (%s are)", s->name, t,
				 io->sending ? "MSG_DONTWAIT, MSG_NOSIGNAL, MSG_MORE, MSG_ZEROCOPY and MSG_FASTOPEN"
					     : "MSG_DONTWAIT, MSG_WAITALL and MSG_PEEK");
	}
	if (io->msg >= 0) {
		const struct sexpr *m = s->args[io->msg], *fl;
		int bad;

		if (m->kind != SX_STRUCT || iov_total(field_of(m, "msg_iov"), &n, &bad) < 0)
			return call_check_why(buf, len, "%s() with a msghdr other than {msg_name(...)=..., "
					 "msg_iov(N)=[{..., LEN}, ...], msg_flags=F[, msg_control=[...]]}", s->name);
		fl = field_of(m, "msg_flags");
		if (fl && (sexpr_int(fl, &flags) < 0 || flags != 0))
			return call_check_why(buf, len, "%s() with msg_flags other than 0", s->name);
		if (io->sending && field_of(m, "msg_control"))
			return call_check_why(buf, len, "sendmsg() with a msg_control");
		if (check_cmsgs(field_of(m, "msg_control"), buf, len) < 0)
			return -1;
	} else {
		const struct sexpr *b = s->args[io->buf];

		if (b->kind != SX_ELLIPSIS && !is_null(b))
			return call_check_why(buf, len, "%s() with the buffer %s (... or NULL are)", s->name,
					 arg_name(s, io->buf));
		if (sexpr_int(s->args[io->len], &n) < 0)
			return call_check_why(buf, len, "%s() of a byte count", s->name);
	}
	if (n < 0 || n > (int64_t)IO_MAX)
		return call_check_why(buf, len, "%s() of more than %u bytes", s->name, IO_MAX);
	return 0;
}

/* The byte count, whether the buffer is NULL, and the MSG_* flags of a data call. */
static void io_args(const struct stmt *s, size_t *n, int *null_buf, int64_t *flags)
{
	const struct io_shape *io = io_shape_of(s);
	int64_t total = 0;

	*flags = io->flags >= 0 ? arg_int(s, io->flags, 0) : 0;
	if (io->msg >= 0) {
		iov_total(field_of(s->args[io->msg], "msg_iov"), &total, null_buf);
		*n = (size_t)total;
	} else {
		*null_buf = is_null(s->args[io->buf]);
		*n = (size_t)arg_int(s, io->len, 0);
	}
}

static int run_send(struct call_ctx *cx, const struct stmt *s, long *ret)
{
	int fd = live_fd(cx, s), null_buf;
	int64_t flags;
	size_t n;

	io_args(s, &n, &null_buf, &flags);
	if ((flags & MSG_FASTOPEN_BIT) || sys_fastopen_deferred(cx->st, fd)) {
		/* tcp_sendmsg_fastopen(): connect() (or the deferred one's SYN) with the data */
		struct ip_addr a = cx->remote;
		uint16_t port = cx->o->connect_port ? cx->o->connect_port : SCRIPT_BOUND_PORT;
		int before = sys_state(cx->st, fd);

		if (strcmp(s->name, "sendto") == 0)
			arg_endpoint(s->args[4], &a, &port);
		if (null_buf && n) {
			*ret = -EFAULT;
			return 0;
		}
		memset(io_buf, SCRIPT_DATA, n);
		*ret = sys_send_fastopen(cx->st, fd, &a, port, io_buf, n, call_nonblocking(cx, s));
		if (before == TCP_CLOSED && sys_state(cx->st, fd) == TCP_SYN_SENT)
			cx->connecting = fd;
		return 0;
	}
	if (null_buf && n) {
		/* The copy from user space fails after the state checks: EFAULT where a write could go. */
		*ret = sys_send(cx->st, fd, io_buf, 0);
		if (*ret == 0)
			*ret = -EFAULT;
		return 0;
	}
	memset(io_buf, SCRIPT_DATA, n);
	*ret = flags & 0x8000 ? sys_send_more(cx->st, fd, io_buf, n) : sys_send(cx->st, fd, io_buf, n);
	return 0;
}

/* recvmsg()'s TCP_CM_INQ: tcp_inq_hint() - bytes left to read, 1 at the end of the stream. */
static int check_inq_cmsg(struct call_ctx *cx, const struct stmt *s, int fd)
{
	const struct sexpr *ctl = field_of(s->args[1], "msg_control");
	struct script_fd *f = script_fd_of(cx, s);
	int inq = sys_inq_hint(cx->st, fd), i;
	if (!ctl || ctl->nitems == 0) {
		if (f && f->inq)
			return call_why(cx, "recvmsg() returned a TCP_CM_INQ cmsg with %d (TCP_INQ is on), the line expects none",
				   inq);
		return 0;
	}
	if (!f || !f->inq)
		return call_why(cx, "recvmsg() returned no cmsg (TCP_INQ is off), the line expects TCP_CM_INQ");
	for (i = 0; i < ctl->nitems; i++) {
		int64_t want = 0;

		sexpr_int(field_of(ctl->items[i], "cmsg_data"), &want);
		if (want != inq)
			return call_why(cx, "TCP_CM_INQ was %d, not %lld", inq, (long long)want);
	}
	return 0;
}

static int run_recv(struct call_ctx *cx, const struct stmt *s, long *ret)
{
	int fd = live_fd(cx, s), null_buf;
	int64_t flags;
	size_t n;

	io_args(s, &n, &null_buf, &flags);
	if (null_buf && n && sys_inq(cx->st, fd) > 0) {
		*ret = -EFAULT; /* data to copy, nowhere to copy it */
		return 0;
	}
	if (flags & 0x100 && (size_t)(sys_inq(cx->st, fd) > 0 ? sys_inq(cx->st, fd) : 0) < n &&
	    sys_state(cx->st, fd) == TCP_ESTABLISHED) {
		*ret = -EAGAIN; /* MSG_WAITALL: not all of it yet */
		return 0;
	}
	*ret = flags & 0x2 ? sys_recv_peek(cx->st, fd, io_buf, n) : sys_recv(cx->st, fd, io_buf, n);
	if (*ret >= 0 && strcmp(s->name, "recvmsg") == 0)
		return check_inq_cmsg(cx, s, fd);
	return 0;
}

static int check_shutdown(const struct stmt *s, char *buf, size_t len)
{
	if (check_fd_arg(s, 0, buf, len) < 0)
		return -1;
	if (!arg_is_word(s, 1, "SHUT_RD") && !arg_is_word(s, 1, "SHUT_WR") && !arg_is_word(s, 1, "SHUT_RDWR"))
		return call_check_why(buf, len, "shutdown(%s) (SHUT_RD, SHUT_WR and SHUT_RDWR are)", arg_name(s, 1));
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

	if (f && f->epoll) {
		epoll_close(cx, (int)s->args[0]->num);
		*ret = 0;
		return 0;
	}
	*ret = f && f->linger0 ? sys_abort(cx->st, fd) : sys_close(cx->st, fd);
	if (*ret == 0 && f)
		f->live = -1;
	return 0;
}

static int check_fd_only(const struct stmt *s, char *buf, size_t len)
{
	return check_fd_arg(s, 0, buf, len);
}

int call_nonblocking(const struct call_ctx *cx, const struct stmt *s)
{
	const struct io_shape *io = io_shape_of(s);
	int64_t n = s->args[0]->kind == SX_INT ? s->args[0]->num : -1;

	if (s->call->blocking == 2) /* poll(..., timeout), epoll_wait(..., timeout) */
		return arg_timeout(s, strcmp(s->name, "poll") == 0 ? 2 : 3) == 0;
	if (n < 0 || n >= SCRIPT_MAX_FDS || cx->fds[n].nonblock)
		return 1;
	return io && io->flags >= 0 && (arg_int(s, io->flags, 0) & 0x40); /* MSG_DONTWAIT */
}

/* ---- the table ------------------------------------------------------------------------------ */

static const struct script_call calls[] = {
	/* name        run             check             args   blocking fd_result */
	{ "socket", run_socket, check_socket, 3, 3, 0, 1 },
	{ "setsockopt", run_setsockopt, check_setsockopt, 5, 5, 0, 0 },
	{ "getsockopt", run_getsockopt, check_getsockopt, 5, 5, 0, 0 },
	{ "fcntl", run_fcntl, check_fcntl, 2, 3, 0, 0 },
	{ "ioctl", run_ioctl, check_ioctl, 3, 3, 0, 0 },
	{ "bind", run_bind, check_bind, 3, 3, 0, 0 },
	{ "listen", run_listen, check_fd_only, 2, 2, 0, 0 },
	{ "accept", run_accept, check_fd_only, 3, 3, 1, 1 },
	{ "connect", run_connect, check_connect, 3, 3, 1, 0 },
	{ "write", run_send, check_io, 3, 3, 1, 0 },
	{ "send", run_send, check_io, 4, 4, 1, 0 },
	{ "sendto", run_send, check_io, 6, 6, 1, 0 },
	{ "sendmsg", run_send, check_io, 3, 3, 1, 0 },
	{ "read", run_recv, check_io, 3, 3, 1, 0 },
	{ "recv", run_recv, check_io, 4, 4, 1, 0 },
	{ "recvfrom", run_recv, check_io, 6, 6, 1, 0 },
	{ "recvmsg", run_recv, check_io, 3, 3, 1, 0 },
	{ "shutdown", run_shutdown, check_shutdown, 2, 2, 0, 0 },
	{ "close", run_close, check_fd_only, 1, 1, 0, 0 },
	{ "poll", run_poll, check_poll, 3, 3, 2, 0 },
	{ "epoll_create", run_epoll_create, NULL, 1, 1, 0, 1 },
	{ "epoll_create1", run_epoll_create, NULL, 1, 1, 0, 1 },
	{ "epoll_ctl", run_epoll_ctl, check_epoll_ctl, 4, 4, 0, 0 },
	{ "epoll_wait", run_epoll_wait, check_epoll_wait, 4, 4, 2, 0 },
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
	poll_free(cx);
}
