/*
 * socket.c - the application's side: socket(), bind(), listen(), accept(),
 * connect(), send(), recv(), shutdown(), close().
 *
 * Path: a driver (demo, script, replay) -> sys_*() -> the tables and
 *       tcp_out.c; each call ends with stack_flush() so its events go out
 *       before it returns.
 *
 * Semantics are Linux's (inet_bind, inet_listen, inet_csk_accept,
 * tcp_v4_connect, tcp_sendmsg, tcp_recvmsg, tcp_shutdown, tcp_close);
 * where a real call would block, these return at once (see socket.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "socket.h"

static const struct ip_addr *first_local(const struct stack *st, int family)
{
	int i;

	for (i = 0; i < st->naddrs; i++)
		if (st->addrs[i].family == family)
			return &st->addrs[i];
	return NULL;
}

/* Every call ends here: deliver its events, pass its result through. */
static int done(struct stack *st, int ret)
{
	stack_flush(st);
	return ret;
}

/* A socket with a descriptor: the fd, or -ENOBUFS (socket limit), -ENOMEM, -EMFILE. */
static int new_socket(struct stack *st, int family, struct sock **out)
{
	struct sock *sk;
	int fd;

	if (st->nsocks >= st->cfg.max_sockets)
		return -ENOBUFS;
	sk = sock_alloc(st, family, 0);
	if (!sk)
		return -ENOMEM;
	/* inet6_create(): sk_ipv6only from net.ipv6.bindv6only */
	sk->v6only = family == ADDR_V6 && st->cfg.bindv6only;
	fd = fd_install(st, sk);
	if (fd < 0) {
		st->nsocks--;
		sock_release(st, &sk->c);
		return fd;
	}
	*out = sk;
	return fd;
}

int sys_socket(struct stack *st, int family)
{
	struct sock *sk;

	if (family != ADDR_V4 && family != ADDR_V6)
		return -EAFNOSUPPORT;
	return new_socket(st, family, &sk);
}

int sys_setsockopt(struct stack *st, int fd, int opt, int value)
{
	struct sock *sk = fd_lookup(st, fd);
	struct sock_ext *x;

	if (!sk)
		return -EBADF;
	switch (opt) {
	case SOCKOPT_REUSEADDR:
		sk->reuseaddr = value != 0;
		return 0;
	case SOCKOPT_REUSEPORT:
		sk->reuseport = value != 0;
		return 0;
	case SOCKOPT_V6ONLY:
		/* do_ipv6_setsockopt(): IPv6 sockets only, and not once a port is bound */
		if (sk->c.laddr.family != ADDR_V6)
			return -ENOPROTOOPT;
		if (sk->bound)
			return -EINVAL;
		sk->v6only = value != 0;
		return 0;
	case SOCKOPT_MAXSEG:
	case SOCKOPT_NODELAY:
	case SOCKOPT_CORK:
	case SOCKOPT_SNDBUF:
	case SOCKOPT_RCVBUF:
	case SOCKOPT_NOTSENT_LOWAT:
		break;
	case SOCKOPT_FASTOPEN:
		/* do_tcp_setsockopt(): only before the connection, or on a listener */
		if (value < 0 || (sk->c.state != TCP_CLOSED && sk->c.state != TCP_LISTEN))
			return -EINVAL;
		break;
	case SOCKOPT_FASTOPEN_CONNECT:
		if (value < 0 || value > 1)
			return -EINVAL;
		if (!(st->cfg.tcp_fastopen & TFO_CLIENT_ENABLE))
			return -EOPNOTSUPP;
		if (sk->c.state != TCP_CLOSED)
			return -EINVAL;
		break;
	case SOCKOPT_FASTOPEN_NO_COOKIE:
		if (value < 0 || value > 1 || (sk->c.state != TCP_CLOSED && sk->c.state != TCP_LISTEN))
			return -EINVAL;
		break;
	default:
		return -ENOPROTOOPT;
	}
	/* do_tcp_setsockopt(): TCP_MIN_MSS .. MAX_TCP_WINDOW, or 0 for none */
	if (opt == SOCKOPT_MAXSEG && value && (value < 88 || value > 32767))
		return -EINVAL;
	x = sock_ext_get(st, sk);
	if (!x)
		return -ENOMEM;
	switch (opt) {
	case SOCKOPT_MAXSEG:
		x->user_mss = (uint16_t)value;
		break;
	case SOCKOPT_NODELAY:
		x->nodelay = value != 0;
		/* __tcp_sock_set_nodelay(): what waits goes out now */
		if (value)
			tcp_push(st, sk);
		break;
	case SOCKOPT_CORK:
		x->cork = value != 0;
		if (!value)
			tcp_push(st, sk); /* __tcp_sock_set_cork(): uncorking sends what was held */
		break;
	case SOCKOPT_NOTSENT_LOWAT:
		x->notsent_lowat = (uint32_t)value;
		x->notsent_lowat_set = 1;
		break;
	case SOCKOPT_FASTOPEN:
		/* fastopen_queue_tune(): at most somaxconn */
		x->fastopen_qlen = (uint32_t)value < (uint32_t)st->cfg.somaxconn ? (uint32_t)value
										  : (uint32_t)st->cfg.somaxconn;
		break;
	case SOCKOPT_FASTOPEN_CONNECT:
		x->fastopen_connect = value != 0;
		break;
	case SOCKOPT_FASTOPEN_NO_COOKIE:
		x->fastopen_no_cookie = value != 0;
		break;
	default: {
		/* sock_setsockopt(): min(val, *mem_max) * 2, at least SOCK_MIN_*BUF */
		uint32_t cap = opt == SOCKOPT_SNDBUF ? st->cfg.wmem_max : st->cfg.rmem_max;
		uint32_t v = value < 0 ? 0 : (uint32_t)value > cap ? cap : (uint32_t)value;
		uint32_t floor = opt == SOCKOPT_SNDBUF ? SOCK_MIN_SNDBUF : SOCK_MIN_RCVBUF;

		v = v * 2 < floor ? floor : v * 2;
		if (opt == SOCKOPT_SNDBUF) {
			x->sndbuf = v;
			x->sndbuf_lock = 1;
		} else {
			x->rcvbuf = v;
			x->rcvbuf_lock = 1;
		}
		break;
	}
	}
	return done(st, 0);
}

int sys_getsockopt(struct stack *st, int fd, int opt, int *value)
{
	struct sock *sk = fd_lookup(st, fd);
	const struct sock_ext *x;

	if (!sk)
		return -EBADF;
	x = sk->ext;
	switch (opt) {
	case SOCKOPT_REUSEADDR:
		*value = sk->reuseaddr;
		return 0;
	case SOCKOPT_REUSEPORT:
		*value = sk->reuseport;
		return 0;
	case SOCKOPT_V6ONLY:
		if (sk->c.laddr.family != ADDR_V6)
			return -ENOPROTOOPT;
		*value = sk->v6only;
		return 0;
	case SOCKOPT_MAXSEG:
		/* do_tcp_getsockopt(): mss_cache, or the user's value before a connection */
		if (x && x->user_mss && (sk->c.state == TCP_CLOSED || sk->c.state == TCP_LISTEN))
			*value = x->user_mss;
		else
			*value = sk->mss ? sk->mss : TCP_MSS_DEFAULT;
		return 0;
	case SOCKOPT_NODELAY:
		*value = x ? x->nodelay : 0;
		return 0;
	case SOCKOPT_CORK:
		*value = x ? x->cork : 0;
		return 0;
	case SOCKOPT_SNDBUF:
		*value = (int)(x && x->sndbuf_lock ? x->sndbuf : st->cfg.tcp_wmem[1]);
		return 0;
	case SOCKOPT_RCVBUF:
		*value = (int)tcp_rcvbuf(st, sk);
		return 0;
	case SOCKOPT_FASTOPEN:
		*value = (int)(x ? x->fastopen_qlen : 0);
		return 0;
	case SOCKOPT_FASTOPEN_CONNECT:
		*value = x ? x->fastopen_connect : 0;
		return 0;
	case SOCKOPT_FASTOPEN_NO_COOKIE:
		*value = x ? x->fastopen_no_cookie : 0;
		return 0;
	case SOCKOPT_NOTSENT_LOWAT:
		/* tp->notsent_lowat: the socket's own value, 0 while the sysctl applies */
		*value = (int)(x && x->notsent_lowat_set ? x->notsent_lowat : 0);
		return 0;
	default:
		return -ENOPROTOOPT;
	}
}

int sys_bind(struct stack *st, int fd, const struct ip_addr *addr, uint16_t port)
{
	struct sock *sk = fd_lookup(st, fd);
	int p;

	if (!sk)
		return -EBADF;
	/*
	 * inet_bind() refuses another family with EAFNOSUPPORT; inet6_bind()
	 * first finds a sockaddr_in too short for IPv6 and says EINVAL.
	 */
	if (addr->family != sk->c.laddr.family)
		return sk->c.laddr.family == ADDR_V4 ? -EAFNOSUPPORT : -EINVAL;
	if (sk->bound || sk->c.state != TCP_CLOSED)
		return -EINVAL;
	if (!addr_is_any(addr) && !stack_has_addr(st, addr))
		return -EADDRNOTAVAIL;
	sk->c.laddr = *addr;
	if (port == 0) {
		p = bind_ephemeral(st, sk, NULL, 0);
		if (p < 0) {
			sk->c.laddr = addr_any(addr->family);
			return p;
		}
		port = (uint16_t)p;
	} else if (bind_conflict(st, sk, addr, port, 0)) {
		sk->c.laddr = addr_any(addr->family);
		return -EADDRINUSE;
	}
	sk->c.lport = port;
	sk->bound = 1;
	bind_add(st, &sk->bind, port);
	return 0;
}

int sys_listen(struct stack *st, int fd, int backlog)
{
	struct sock *sk = fd_lookup(st, fd);
	struct listen_state *ls;

	if (!sk)
		return -EBADF;
	/* __sys_listen(): (unsigned)backlog > somaxconn takes somaxconn, so -1 does too. */
	if ((unsigned int)backlog > (unsigned int)st->cfg.somaxconn)
		backlog = st->cfg.somaxconn;
	if (sk->c.state == TCP_LISTEN) {
		/* Linux changes the limit and trims nothing: a smaller backlog can leave
		 * more queued than it allows until accept() catches up. */
		if ((uint32_t)sk->ls->backlog + 1 > sk->ls->limit_seen)
			sk->ls->limit_seen = (uint32_t)sk->ls->backlog + 1;
		sk->ls->backlog = backlog;
		return 0;
	}
	if (sk->c.state != TCP_CLOSED || sk->err)
		return -EINVAL;
	if (!sk->bound) {
		int p;

		/* inet_autobind(): listen() on an unbound socket takes an ephemeral port. */
		p = bind_ephemeral(st, sk, NULL, 0);
		if (p < 0)
			return p;
		sk->c.lport = (uint16_t)p;
		sk->bound = 1;
		bind_add(st, &sk->bind, sk->c.lport);
	}
	/* inet_csk_listen_start() checks the port again, now as a listener. */
	sk->c.state = TCP_LISTEN;
	if (bind_conflict(st, sk, &sk->c.laddr, sk->c.lport, 1)) {
		sk->c.state = TCP_CLOSED;
		return -EADDRINUSE;
	}
	ls = calloc(1, sizeof(*ls));
	if (!ls) {
		sk->c.state = TCP_CLOSED;
		return -ENOMEM;
	}
	ls->backlog = backlog;
	sk->ls = ls;
	/* inet_listen(): TFO_SERVER_WO_SOCKOPT1 makes every listener a Fast Open one, queue = backlog */
	if ((st->cfg.tcp_fastopen & TFO_SERVER_WO_SOCKOPT1) && (st->cfg.tcp_fastopen & TFO_SERVER_ENABLE) &&
	    (!sk->ext || !sk->ext->fastopen_qlen)) {
		struct sock_ext *x = sock_ext_get(st, sk);

		if (x)
			x->fastopen_qlen = (uint32_t)backlog;
	}
	sk->c.state = TCP_CLOSED;
	sock_set_state(st, sk, TCP_LISTEN);
	listen_table_insert(st, sk);
	return done(st, 0);
}

int sys_accept(struct stack *st, int fd, struct ip_addr *raddr, uint16_t *rport)
{
	struct sock *l = fd_lookup(st, fd), *child;
	struct event ev;
	int nfd;

	if (!l)
		return -EBADF;
	if (l->c.state != TCP_LISTEN)
		return -EINVAL;
	child = accept_pop(st, l);
	if (!child)
		return -EAGAIN;
	nfd = fd_install(st, child);
	if (nfd < 0) {
		accept_unpop(l, child); /* the next accept() gets it */
		return nfd;
	}
	if (raddr) {
		*raddr = child->c.raddr;
		/* An IPv6 listener's IPv4 connection: its peer as an IPv4-mapped address (inet6_getname). */
		if (l->c.laddr.family == ADDR_V6 && raddr->family == ADDR_V4)
			*raddr = addr_v4_mapped(&child->c.raddr);
	}
	if (rport)
		*rport = child->c.rport;
	if (!st->obs)
		return done(st, nfd);
	memset(&ev, 0, sizeof(ev));
	ev.type = EV_ACCEPT;
	ev.t = st->now;
	ev.frame = -1;
	ev.reason = -1;
	ev.has_listener = 1;
	listener_view_of(l, &ev.listener);
	ev.has_sock = 1;
	sock_view_of(st, &child->c, &ev.sock);
	stack_emit(st, &ev);
	return done(st, nfd);
}

int sys_connect(struct stack *st, int fd, const struct ip_addr *addr, uint16_t port)
{
	struct sock *sk = fd_lookup(st, fd);
	struct lookup_info li;

	if (!sk)
		return -EBADF;
	if (addr->family != sk->c.laddr.family)
		return -EAFNOSUPPORT;
	switch (sk->c.state) {
	case TCP_CLOSED:
		break;
	case TCP_SYN_SENT:
		return -EALREADY;
	default:
		return -EISCONN;
	}
	if (sk->err)
		return -EINVAL;
	if (port == 0 || addr_is_any(addr))
		return -ECONNREFUSED;
	/* the SYN is timed and retransmitted: the transmit state, before anything changes */
	if (!sock_ext_get(st, sk))
		return -ENOMEM;
	/* TCP has no multicast: the route lookup refuses it (ip_route_connect) */
	if (addr_is_multicast(addr))
		return -ENETUNREACH;
	if (addr_is_any(&sk->c.laddr)) {
		const struct ip_addr *src = first_local(st, addr->family);

		if (!src)
			return -EADDRNOTAVAIL;
		sk->c.laddr = *src;
	}
	sk->c.raddr = *addr;
	sk->c.rport = port;
	if (!sk->bound) {
		int p = bind_ephemeral(st, sk, addr, port);

		if (p < 0) {
			sk->c.laddr = addr_any(addr->family);
			sk->c.raddr = addr_any(addr->family);
			sk->c.rport = 0;
			return -EADDRNOTAVAIL;
		}
		sk->c.lport = (uint16_t)p;
		sk->bound = 1;
		bind_add(st, &sk->bind, sk->c.lport);
		sk->c.bind_autobind = 1;
	} else if (ehash_lookup(st, &sk->c.laddr, sk->c.lport, addr, port, &li)) {
		/* __inet_check_established(): that 4-tuple is taken */
		sk->c.raddr = addr_any(addr->family);
		sk->c.rport = 0;
		return -EADDRNOTAVAIL;
	}
	sk->adv_mss = tcp_adv_mss(st, sk, addr->family);
	sk->rcv_wscale = tcp_rcv_wscale(st, tcp_rcvbuf(st, sk));
	{
		struct segment syn;

		memset(&syn, 0, sizeof(syn));
		syn.src = sk->c.laddr;
		syn.dst = *addr;
		syn.sport = sk->c.lport;
		syn.dport = port;
		syn.flags = TH_SYN;
		if (!st->isn_fn || !st->isn_fn(st->isn_ctx, &syn, ISN_CONNECT, &sk->iss))
			sk->iss = tcp_isn(st, &sk->c.laddr, sk->c.lport, addr, port);
	}
	sk->snd_una = sk->iss;
	sk->snd_nxt = sk->iss + 1;
	sk->rtt_on = 1;
	sk->ext->tx.rtt_seq = sk->iss;
	sk->ext->tx.rtt_start = st->now;
	ehash_insert(st, &sk->c);
	sock_set_state(st, sk, TCP_SYN_SENT);
	stack_count(st, CNT_ACTIVEOPENS);
	if (sk->ext && sk->ext->fastopen_connect && (st->cfg.tcp_fastopen & TFO_CLIENT_ENABLE)) {
		/*
		 * tcp_fastopen_defer_connect(): with a cookie for this server
		 * (or none needed) the SYN waits for the first write to carry
		 * its data, and connect() returns 0; without, the SYN asks for
		 * a cookie.
		 */
		sk->ext->fastopen_req = 1;
		sk->ext->syn_fastopen = 1;
		if (tfo_have_cookie(st, sk)) {
			sk->ext->defer_connect = 1;
			return done(st, 0);
		}
	}
	tcp_send_syn(st, sk);
	timer_arm(st, &sk->ext->tx.timer, TIMER_RTX, st->now + sk->ext->tx.rto);
	return done(st, -EINPROGRESS);
}

/* The SYN of a deferred connect() goes now, with the first bytes of buf as its data. */
static ssize_t send_syn_data(struct stack *st, struct sock *sk, const void *buf, size_t len, int nonblock)
{
	struct sock_ext *x = sk->ext;
	uint8_t cookie[TCP_FASTOPEN_COOKIE_MAX], clen;
	uint16_t m = tcp_our_mss(st, sk->c.laddr.family), cached = 0;
	size_t n;

	/*
	 * tcp_send_syn_data(): the data fits the MSS known for the server
	 * (the cache's, else ours, and TCP_MAXSEG) less all the option space.
	 */
	if (tfo_cache_get(st, &sk->c.raddr, cookie, &clen, &cached) && cached && cached < m)
		m = cached;
	if (x->user_mss && x->user_mss < m)
		m = x->user_mss;
	n = len < (size_t)(m > TCP_OPTION_SPACE ? m - TCP_OPTION_SPACE : 0) ? len : (size_t)(m - TCP_OPTION_SPACE);
	/* A non-blocking call takes only what the SYN carries; a blocking one all of it. */
	if (sock_queue_append(st, sk, 0, buf, (uint32_t)(nonblock ? n : len)) < 0)
		return -ENOMEM;
	x->syn_data = (uint32_t)n;
	x->defer_connect = 0;
	sk->snd_nxt = sk->iss + 1 + (uint32_t)n;
	x->tx.rtt_start = st->now;
	tcp_send_syn(st, sk);
	timer_arm(st, &x->tx.timer, TIMER_RTX, st->now + x->tx.rto);
	return done(st, (ssize_t)(nonblock ? n : len));
}

ssize_t sys_send_fastopen(struct stack *st, int fd, const struct ip_addr *addr, uint16_t port, const void *buf,
			  size_t len, int nonblock)
{
	struct sock *sk = fd_lookup(st, fd);
	struct sock_ext *x;
	int ret;

	if (!sk)
		return -EBADF;
	if (!(st->cfg.tcp_fastopen & TFO_CLIENT_ENABLE))
		return -EOPNOTSUPP;
	x = sock_ext_get(st, sk);
	if (!x)
		return -ENOMEM;
	if (sk->c.state == TCP_CLOSED && !sk->irs) {
		/* MSG_FASTOPEN on an unconnected socket: connect() and write() in one */
		uint8_t had = x->fastopen_connect;

		x->fastopen_connect = 1;
		ret = sys_connect(st, fd, addr, port);
		x->fastopen_connect = had;
		if (ret == -EINPROGRESS) {
			/* no cookie: the SYN asked for one; a blocking call sends after the handshake */
			if (nonblock)
				return -EINPROGRESS;
			if (sock_queue_append(st, sk, 0, buf, (uint32_t)len) < 0)
				return -ENOMEM;
			return (ssize_t)len;
		}
		if (ret < 0)
			return ret;
	}
	if (sk->c.state == TCP_SYN_SENT && x->defer_connect)
		return send_syn_data(st, sk, buf, len, nonblock);
	if (sk->c.state == TCP_SYN_SENT)
		return -EALREADY;
	return -EISCONN;
}

int sys_fastopen_deferred(struct stack *st, int fd)
{
	struct sock *sk = fd_lookup(st, fd);

	return sk && sk->c.state == TCP_SYN_SENT && sk->ext && sk->ext->defer_connect;
}

static ssize_t send_common(struct stack *st, int fd, const void *buf, size_t len, int more)
{
	struct sock *sk = fd_lookup(st, fd);

	if (!sk)
		return -EBADF;
	if (sk->err) {
		int e = sk->err;

		sk->err = 0;
		return e;
	}
	if (sk->shut_wr)
		return -EPIPE;
	switch (sk->c.state) {
	case TCP_ESTABLISHED:
	case TCP_CLOSE_WAIT:
		break;
	case TCP_SYN_RECV:
		if (sk->fastopen) /* tcp_passive_fastopen(): may send before the final ACK */
			break;
		return -EAGAIN;
	case TCP_SYN_SENT:
		/* a deferred Fast Open connect(): this write's bytes ride the SYN */
		if (sk->ext && sk->ext->defer_connect)
			return send_syn_data(st, sk, buf, len, 0);
		return -EAGAIN;
	default:
		/* sk_stream_wait_connect(): any other state is EPIPE, even LISTEN. */
		return -EPIPE;
	}
	if (len > 0x7fffffff)
		len = 0x7fffffff;
	if (sock_queue_append(st, sk, 0, buf, (uint32_t)len) < 0)
		return -ENOMEM;
	if (!more)
		tcp_push(st, sk);
	return done(st, (int)len);
}

ssize_t sys_send(struct stack *st, int fd, const void *buf, size_t len)
{
	return send_common(st, fd, buf, len, 0);
}

ssize_t sys_send_more(struct stack *st, int fd, const void *buf, size_t len)
{
	return send_common(st, fd, buf, len, 1);
}

static ssize_t recv_common(struct stack *st, int fd, void *buf, size_t len, int peek)
{
	struct sock *sk = fd_lookup(st, fd);
	uint32_t n;

	if (!sk)
		return -EBADF;
	if (sk_rcv_len(sk)) {
		const struct bytebuf *rcv = &sk->bufs->rcv;

		n = rcv->len < len ? rcv->len : (uint32_t)len;
		if (n)
			memcpy(buf, rcv->p + rcv->off, n);
		if (!peek)
			sock_queue_consume(st, sk, 1, n);
		return (ssize_t)n;
	}
	if (sk->err) {
		int e = sk->err;

		sk->err = 0;
		return e;
	}
	if (sk->rcv_fin || sk->shut_rd)
		return 0; /* the peer's FIN read, or shutdown(SHUT_RD): end of stream */
	if (sk->c.state == TCP_LISTEN || (sk->c.state == TCP_CLOSED && !sk->irs))
		return -ENOTCONN;
	if (sk->c.state == TCP_CLOSED)
		return 0;
	return -EAGAIN;
}

ssize_t sys_recv(struct stack *st, int fd, void *buf, size_t len)
{
	return recv_common(st, fd, buf, len, 0);
}

ssize_t sys_recv_peek(struct stack *st, int fd, void *buf, size_t len)
{
	return recv_common(st, fd, buf, len, 1);
}

/* Queues our FIN and moves the state on (tcp_close_state()). */
static void send_fin(struct stack *st, struct sock *sk)
{
	if (sk->shut_wr)
		return;
	sk->shut_wr = 1;
	/* tcp_close_state(): SYN_RECV closes like ESTABLISHED (RFC 9293 3.10.4) */
	if (sk->c.state == TCP_ESTABLISHED || sk->c.state == TCP_SYN_RECV)
		sock_set_state(st, sk, TCP_FIN_WAIT1);
	else if (sk->c.state == TCP_CLOSE_WAIT)
		sock_set_state(st, sk, TCP_LAST_ACK);
	else
		return;
	sk->fin_queued = 1;
	tcp_push(st, sk);
}

int sys_shutdown(struct stack *st, int fd, int how)
{
	struct sock *sk = fd_lookup(st, fd);

	if (!sk)
		return -EBADF;
	if (how < SHUTDOWN_RD || how > SHUTDOWN_RDWR)
		return -EINVAL;
	switch (sk->c.state) {
	case TCP_LISTEN:
		/* inet_shutdown(): SHUT_WR on a listener changes nothing */
		if (how == SHUTDOWN_WR)
			return 0;
		return -ENOTCONN;
	case TCP_CLOSED:
	case TCP_SYN_SENT:
		return -ENOTCONN;
	default:
		break;
	}
	/*
	 * SHUT_RD: read() returns 0 once the queue is empty. Linux still
	 * acknowledges and queues what arrives after it, and read() returns
	 * that (tcp_shutdown() acts on SEND_SHUTDOWN only).
	 */
	if (how != SHUTDOWN_WR)
		sk->shut_rd = 1;
	if (how != SHUTDOWN_RD)
		send_fin(st, sk);
	return done(st, 0);
}

/*
 * inet_csk_listen_stop(): every child still waiting in the accept queue is
 * reset (RST|ACK) and freed; requests are dropped without a word (the
 * client's next segment then meets no socket and is reset).
 */
static void close_listener(struct stack *st, struct sock *l)
{
	listen_purge(st, l, 1);
	sock_destroy(st, &l->c);
}

int sys_close(struct stack *st, int fd)
{
	struct sock *sk = fd_lookup(st, fd);

	if (!sk)
		return -EBADF;
	fd_release(st, sk);
	switch (sk->c.state) {
	case TCP_LISTEN:
		close_listener(st, sk);
		break;
	case TCP_CLOSED:
	case TCP_SYN_SENT:
		sock_destroy(st, &sk->c);
		break;
	default:
		sk->orphan = 1;
		if (sk_rcv_len(sk)) {
			/* tcp_close(): unread data means the peer must not think all
			 * went well - abort with a RST (RFC 2525 2.17). */
			stack_count(st, CNT_TCPABORTONCLOSE);
			tcp_send_rst_sk(st, sk);
			tcp_done(st, sk, 0);
			break;
		}
		send_fin(st, sk);
		if (sk->c.state == TCP_FIN_WAIT2)
			sk_timer_arm(st, sk, TIMER_FINWAIT2,
				  st->now + (vtime_t)st->cfg.tcp_fin_timeout * VT_SEC);
		break;
	}
	return done(st, 0);
}

int sys_abort(struct stack *st, int fd)
{
	struct sock *sk = fd_lookup(st, fd);

	if (!sk)
		return -EBADF;
	if (sk->c.state == TCP_LISTEN)
		return sys_close(st, fd);
	fd_release(st, sk);
	switch (sk->c.state) {
	case TCP_ESTABLISHED:
	case TCP_CLOSE_WAIT:
	case TCP_FIN_WAIT1:
	case TCP_FIN_WAIT2:
	case TCP_CLOSING:
	case TCP_LAST_ACK:
	case TCP_SYN_RECV:
		/* tcp_disconnect(): tcp_need_reset() states get a RST */
		stack_count(st, CNT_TCPABORTONCLOSE);
		tcp_send_rst_sk(st, sk);
		break;
	default:
		break;
	}
	sk->orphan = 1;
	tcp_done(st, sk, 0);
	return done(st, 0);
}

void sock_adopt_init(struct stack *st, struct sock *sk, const struct ip_addr *laddr, uint16_t lport,
		     const struct ip_addr *raddr, uint16_t rport, uint32_t snd_nxt, uint32_t rcv_nxt,
		     uint32_t snd_wnd, int ts)
{
	sk->c.laddr = *laddr;
	sk->c.raddr = *raddr;
	sk->c.lport = lport;
	sk->c.rport = rport;
	sk->bound = 1;
	sk->reuseaddr = 1;
	sk->adv_mss = tcp_adv_mss(st, sk, laddr->family);
	sk->mss = tcp_send_mss(sk->adv_mss, sk->adv_mss, ts);
	sk->wscale_ok = 1;
	sk->snd_wscale = 7; /* the peer's: Linux's usual, as ours */
	sk->rcv_wscale = tcp_rcv_wscale(st, tcp_rcvbuf(st, sk));
	sk->tstamp_ok = ts != 0;
	sk->iss = snd_nxt - 1;
	sk->irs = rcv_nxt - 1;
	sk->snd_una = sk->snd_nxt = snd_nxt;
	sk->rcv_nxt = rcv_nxt;
	sk->snd_wnd = snd_wnd;
	sk->cwnd_model = 0; /* picked up mid-stream: its window is not known, so nothing limits it */
	sk->rcv_wnd = tcp_initial_window(st, tcp_rcvbuf(st, sk), sk->adv_mss - (sk->tstamp_ok ? TCP_TS_COST : 0)) << 4;
	bind_add(st, &sk->bind, lport);
	ehash_insert(st, &sk->c);
}

int sys_adopt(struct stack *st, const struct ip_addr *laddr, uint16_t lport,
	      const struct ip_addr *raddr, uint16_t rport, uint32_t snd_nxt, uint32_t rcv_nxt,
	      uint32_t snd_wnd, int ts)
{
	struct sock *sk;
	int fd;

	if (laddr->family != raddr->family)
		return -EAFNOSUPPORT;
	if (!stack_has_addr(st, laddr))
		return -EADDRNOTAVAIL;
	if (stack_find(st, laddr, lport, raddr, rport, NULL))
		return -EADDRINUSE;
	fd = new_socket(st, laddr->family, &sk);
	if (fd < 0)
		return fd;
	sock_adopt_init(st, sk, laddr, lport, raddr, rport, snd_nxt, rcv_nxt, snd_wnd, ts);
	sock_set_state(st, sk, TCP_ESTABLISHED);
	return done(st, fd);
}

int sys_getsockname(struct stack *st, int fd, struct ip_addr *addr, uint16_t *port)
{
	struct sock *sk = fd_lookup(st, fd);

	if (!sk)
		return -EBADF;
	*addr = sk->c.laddr;
	*port = sk->c.lport;
	return 0;
}

int sys_getpeername(struct stack *st, int fd, struct ip_addr *addr, uint16_t *port)
{
	struct sock *sk = fd_lookup(st, fd);

	if (!sk)
		return -EBADF;
	if (sk->c.state == TCP_CLOSED || sk->c.state == TCP_LISTEN || sk->c.state == TCP_SYN_SENT)
		return -ENOTCONN;
	*addr = sk->c.raddr;
	*port = sk->c.rport;
	return 0;
}

int sys_state(struct stack *st, int fd)
{
	struct sock *sk = fd_lookup(st, fd);

	return sk ? sk->c.state : -EBADF;
}

int sys_error(struct stack *st, int fd)
{
	struct sock *sk = fd_lookup(st, fd);
	int e;

	if (!sk)
		return -EBADF;
	e = sk->err;
	sk->err = 0;
	return e;
}

uint32_t sys_sock_id(struct stack *st, int fd)
{
	struct sock *sk = fd_lookup(st, fd);

	return sk ? sk->c.id : 0;
}

int sys_lookup(struct stack *st, const struct ip_addr *laddr, uint16_t lport,
	       const struct ip_addr *raddr, uint16_t rport)
{
	struct lookup_info info;
	struct sock_common *c = ehash_lookup(st, laddr, lport, raddr, rport, &info);

	if (!c || c->kind != SK_FULL || sk_full(c)->fd < 0)
		return -ENOENT;
	return sk_full(c)->fd;
}

/* Linux's TCP_* state numbers, as tcp_info and /proc/net/tcp report them. */
static uint64_t linux_state(int state)
{
	static const uint8_t map[TCP_STATE_COUNT] = {
		[TCP_CLOSED] = 7, [TCP_LISTEN] = 10, [TCP_SYN_SENT] = 2, [TCP_SYN_RECV] = 3,
		[TCP_ESTABLISHED] = 1, [TCP_FIN_WAIT1] = 4, [TCP_FIN_WAIT2] = 5, [TCP_CLOSE_WAIT] = 8,
		[TCP_CLOSING] = 11, [TCP_LAST_ACK] = 9, [TCP_TIME_WAIT] = 6,
	};

	return state >= 0 && state < TCP_STATE_COUNT ? map[state] : 0;
}

int sys_tcp_info(struct stack *st, int fd, struct tcp_info_view *ti)
{
	struct sock *sk = fd_lookup(st, fd);
	uint32_t flight;

	if (!sk)
		return -EBADF;
	memset(ti, 0, sizeof(*ti));
	ti->tcpi_state = linux_state(sk->c.state);
	/* tcp_get_info(): an RTO under way is TCP_CA_Loss */
	ti->tcpi_ca_state = sk->retries && sk->snd_una != sk->snd_nxt ? 4 : 0;
	ti->tcpi_retransmits = sk->retries;
	ti->tcpi_backoff = sk->retries;
	ti->tcpi_options = (sk->tstamp_ok ? 1u : 0) | (sk->sack_ok ? 2u : 0) | (sk->wscale_ok ? 4u : 0) |
			   (sk->syn_data_acked ? 32u : 0); /* TCPI_OPT_SYN_DATA */
	ti->tcpi_snd_wscale = sk->wscale_ok ? sk->snd_wscale : 0;
	ti->tcpi_rcv_wscale = sk->wscale_ok ? sk->rcv_wscale : 0;
	ti->tcpi_rto = sk_rto(sk) / VT_USEC;
	ti->tcpi_snd_mss = sk->mss;
	ti->tcpi_rcv_mss = sk->mss < sk->adv_mss ? sk->mss : sk->adv_mss;
	flight = sk->snd_nxt - sk->snd_una;
	ti->tcpi_unacked = sk->mss && flight ? (flight + sk->mss - 1) / sk->mss : 0;
	ti->tcpi_snd_cwnd = sk_cwnd(sk);
	ti->tcpi_snd_ssthresh = sk_ssthresh(sk) == CWND_INFINITE ? 0x7fffffff : sk_ssthresh(sk); /* TCP_INFINITE_SSTHRESH */
	ti->tcpi_rtt = sk_srtt_us(sk);
	ti->tcpi_rttvar = sk_rttvar_us(sk);
	ti->tcpi_advmss = sk->adv_mss;
	ti->tcpi_pmtu = st->cfg.mtu;
	ti->tcpi_rcv_space = sk->rcv_wnd;
	ti->tcpi_notsent_bytes = sk_snd_len(sk) > flight ? sk_snd_len(sk) - flight : 0;
	return 0;
}

int sys_poll(struct stack *st, int fd)
{
	struct sock *sk = fd_lookup(st, fd);
	int mask = 0, state, over, rcv_shut;
	uint32_t sndbuf, queued, unsent, lowat;

	if (!sk)
		return -EBADF;
	state = sk->c.state;
	if (state == TCP_LISTEN)
		return sk->ls->ack_backlog ? SKPOLL_IN | SKPOLL_RDNORM : 0;
	/* a connection that existed and ended: tcp_done() shuts both ways */
	over = state == TCP_CLOSED && (sk->irs || sk->err || sk->rcv_fin);
	rcv_shut = sk->rcv_fin || sk->shut_rd || over;
	if ((rcv_shut && sk->shut_wr) || state == TCP_CLOSED)
		mask |= SKPOLL_HUP;
	if (rcv_shut)
		mask |= SKPOLL_IN | SKPOLL_RDNORM | SKPOLL_RDHUP;
	if (state != TCP_SYN_SENT && state != TCP_SYN_RECV) {
		if (sk_rcv_len(sk))
			mask |= SKPOLL_IN | SKPOLL_RDNORM;
		queued = sk_snd_len(sk);
		unsent = (uint32_t)(sys_outq_unsent(st, fd) > 0 ? sys_outq_unsent(st, fd) : 0);
		sndbuf = sk->ext && sk->ext->sndbuf_lock ? sk->ext->sndbuf : st->cfg.tcp_wmem[2];
		lowat = sk->ext && sk->ext->notsent_lowat_set ? sk->ext->notsent_lowat : st->cfg.tcp_notsent_lowat;
		/* sk_stream_is_writeable(): free space at least half what is queued */
		if (sk->shut_wr || over || (sndbuf - (queued < sndbuf ? queued : sndbuf) >= queued / 2 && unsent < lowat))
			mask |= SKPOLL_OUT | SKPOLL_WRNORM;
	}
	if (sk->err)
		mask |= SKPOLL_ERR;
	return mask;
}

int sys_inq(struct stack *st, int fd)
{
	struct sock *sk = fd_lookup(st, fd);

	if (!sk)
		return -EBADF;
	if (sk->c.state == TCP_LISTEN)
		return -EINVAL;
	return (int)sk_rcv_len(sk);
}

int sys_outq_unsent(struct stack *st, int fd)
{
	struct sock *sk = fd_lookup(st, fd);
	uint32_t sent;

	if (!sk)
		return -EBADF;
	if (sk->c.state == TCP_LISTEN)
		return -EINVAL;
	sent = sk->snd_nxt - sk->snd_una - (sk->fin_sent ? 1u : 0u);
	if (sk->snd_una == sk->iss)
		sent = 0; /* only our SYN is out */
	return sk_snd_len(sk) > sent ? (int)(sk_snd_len(sk) - sent) : 0;
}

int sys_inq_hint(struct stack *st, int fd)
{
	struct sock *sk = fd_lookup(st, fd);

	if (!sk)
		return -EBADF;
	if (!sk_rcv_len(sk) && sk->rcv_fin)
		return 1;
	return (int)sk_rcv_len(sk);
}

int sys_outq(struct stack *st, int fd)
{
	struct sock *sk = fd_lookup(st, fd);

	if (!sk)
		return -EBADF;
	if (sk->c.state == TCP_LISTEN)
		return -EINVAL;
	return (int)sk_snd_len(sk);
}
