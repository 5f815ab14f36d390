/*
 * socket.h - the BSD-like socket API the application side calls.
 *
 * Descriptors are small integers starting at 3 (0-2 are stdio in a real
 * process, and packetdrill scripts expect socket() = 3). Every call returns
 * a non-negative result or a negative errno (-EAGAIN, -EADDRINUSE, ...):
 * the same values a real call reports through errno, without global state.
 *
 * All calls are non-blocking: where a real blocking call would sleep
 * (accept() on an empty queue, recv() with nothing to read, connect()),
 * these return -EAGAIN / -EINPROGRESS and the driver waits on the virtual
 * clock, as packetdrill does.
 */
#ifndef TCPDEMUX_SOCKET_H
#define TCPDEMUX_SOCKET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "stack.h"

/* setsockopt() / getsockopt() options (SOL_SOCKET and SOL_TCP levels in a real system). */
enum sockopt {
	SOCKOPT_REUSEADDR = 1,
	SOCKOPT_REUSEPORT = 2,
	SOCKOPT_MAXSEG,      /* TCP_MAXSEG: caps the MSS announced and used */
	SOCKOPT_NODELAY,     /* TCP_NODELAY */
	SOCKOPT_CORK,        /* TCP_CORK: hold segments smaller than the MSS; 0 sends them */
	SOCKOPT_SNDBUF,      /* SO_SNDBUF: doubled, capped by net.core.wmem_max, as Linux stores it */
	SOCKOPT_RCVBUF,      /* SO_RCVBUF: the same with net.core.rmem_max */
	SOCKOPT_FASTOPEN,    /* TCP_FASTOPEN: a listener takes Fast Open SYNs, this many waiting at most */
	SOCKOPT_FASTOPEN_CONNECT, /* TCP_FASTOPEN_CONNECT: connect() waits for the first write's data */
	SOCKOPT_FASTOPEN_NO_COOKIE, /* TCP_FASTOPEN_NO_COOKIE: SYN data without a cookie */
	SOCKOPT_NOTSENT_LOWAT, /* TCP_NOTSENT_LOWAT: poll() says writable only under this many unsent
				* bytes; reads 0 while net.ipv4.tcp_notsent_lowat applies */
	SOCKOPT_V6ONLY,      /* IPV6_V6ONLY: an IPv6 socket takes no IPv4 (default net.ipv6.bindv6only);
			      * only before bind(), -EINVAL after; -ENOPROTOOPT on an IPv4 socket */
};

/* shutdown() directions, numbered as SHUT_RD/SHUT_WR/SHUT_RDWR. */
#define SHUTDOWN_RD 0
#define SHUTDOWN_WR 1
#define SHUTDOWN_RDWR 2

/* Returns a new descriptor, -EAFNOSUPPORT, -EMFILE, -ENOBUFS (socket limit) or -ENOMEM. */
int sys_socket(struct stack *st, int family);

/* Returns 0, -EBADF, -EINVAL (TCP_MAXSEG outside 88..32767), -ENOPROTOOPT (unknown option), -ENOMEM. */
int sys_setsockopt(struct stack *st, int fd, int opt, int value);

/*
 * Reads an option as getsockopt() reports it (TCP_MAXSEG: the MSS in use,
 * or TCP_MAXSEG's value before a connection, or 536; SO_SNDBUF: the
 * buffer's size). Returns 0 with *value set, -EBADF or -ENOPROTOOPT.
 */
int sys_getsockopt(struct stack *st, int fd, int opt, int *value);

/*
 * Binds fd to addr:port (port 0 picks an ephemeral port). Returns 0,
 * -EBADF, -EINVAL (already bound; an IPv4 address for an IPv6 socket),
 * -EAFNOSUPPORT (an IPv6 address for an IPv4 socket), -EADDRNOTAVAIL
 * (not a local address), -EADDRINUSE (conflicts with another socket, per
 * inet_csk_bind_conflict's rules).
 */
int sys_bind(struct stack *st, int fd, const struct ip_addr *addr, uint16_t port);

/*
 * Starts listening. backlog is capped at somaxconn (a negative backlog
 * means somaxconn, as (unsigned)backlog > somaxconn does in Linux).
 * Calling it again on a listener only changes the backlog.
 * Returns 0, -EBADF, -EINVAL (connected), -EADDRINUSE.
 */
int sys_listen(struct stack *st, int fd, int backlog);

/*
 * Pops the oldest completed connection. Returns its new descriptor and
 * fills raddr and rport (either may be NULL), or -EAGAIN (queue empty),
 * -EINVAL (not listening), -EBADF, -EMFILE.
 */
int sys_accept(struct stack *st, int fd, struct ip_addr *raddr, uint16_t *rport);

/*
 * Starts an active open: SYN sent, state SYN_SENT. Returns -EINPROGRESS
 * (the normal outcome), or -EBADF, -EISCONN, -EALREADY, -ENETUNREACH
 * (a multicast or broadcast address), -EADDRNOTAVAIL
 * (no local address of that family), -EADDRINUSE (no free port/4-tuple).
 */
int sys_connect(struct stack *st, int fd, const struct ip_addr *addr, uint16_t port);

/*
 * Queues len bytes for sending. Returns len, or -EAGAIN (still
 * connecting), -EPIPE (not connected, listening, shut down for writing or
 * closed, as Linux's tcp_sendmsg says), a pending error such as
 * -ECONNRESET (reported once), -EBADF.
 */
ssize_t sys_send(struct stack *st, int fd, const void *buf, size_t len);

/*
 * send() with MSG_MORE: queues the bytes without sending, so a following
 * shutdown() or send() can carry them (with the FIN on the last segment,
 * as Linux does when the FIN is queued behind unsent data). Same returns.
 */
ssize_t sys_send_more(struct stack *st, int fd, const void *buf, size_t len);

/*
 * sendto()/sendmsg() with MSG_FASTOPEN, and a first write after a
 * connect() that TCP_FASTOPEN_CONNECT deferred (tcp_sendmsg_fastopen()):
 * on an unconnected socket, a connect() to addr:port first. With a cookie
 * for the server (or none needed) the SYN carries the first bytes (up to
 * its MSS less 40); a non-blocking call takes only those, a blocking one
 * all of buf. Without a cookie the SYN asks for one: -EINPROGRESS for a
 * non-blocking call (nothing taken), len for a blocking one (sent after
 * the handshake). Returns the count or -EISCONN (connected), -EALREADY
 * (a SYN already out), -EOPNOTSUPP (net.ipv4.tcp_fastopen has no client
 * bit), connect()'s errors.
 */
ssize_t sys_send_fastopen(struct stack *st, int fd, const struct ip_addr *addr, uint16_t port, const void *buf,
			  size_t len, int nonblock);

/* Is fd a Fast Open connect() waiting for its first write? */
int sys_fastopen_deferred(struct stack *st, int fd);

/*
 * Reads up to len bytes. Returns the count, 0 at end of stream (peer's FIN
 * read), -EAGAIN (nothing yet), -ENOTCONN, -ECONNRESET, -EBADF.
 */
ssize_t sys_recv(struct stack *st, int fd, void *buf, size_t len);

/* recv() with MSG_PEEK: the same, but the bytes stay queued. */
ssize_t sys_recv_peek(struct stack *st, int fd, void *buf, size_t len);

/* Returns 0, -EBADF, -ENOTCONN, -EINVAL (bad how). */
int sys_shutdown(struct stack *st, int fd, int how);

/*
 * Releases fd. A connected socket starts its FIN handshake (or sends a RST
 * when unread data is pending, as tcp_close() does); a listener resets
 * every connection still in its accept queue and drops its requests.
 * Returns 0 or -EBADF.
 */
int sys_close(struct stack *st, int fd);

/*
 * close() with SO_LINGER {1, 0}: the connection is aborted with a RST|ACK
 * (tcp_disconnect) instead of a FIN, and fd is released.
 * Returns 0 or -EBADF.
 */
int sys_abort(struct stack *st, int fd);

/*
 * Takes over a connection that was already ESTABLISHED before the stack
 * saw it (a capture that starts mid-stream): a socket with a descriptor,
 * in ehash, with snd_nxt and rcv_nxt as given. Window scaling and
 * timestamps cannot be known, so Linux's usual values are assumed
 * (scale 7 both ways, timestamps as ts says). Returns the new fd, or
 * -EADDRINUSE (the 4-tuple is taken), -EADDRNOTAVAIL, -ENOMEM, -ENOBUFS.
 */
int sys_adopt(struct stack *st, const struct ip_addr *laddr, uint16_t lport,
	      const struct ip_addr *raddr, uint16_t rport, uint32_t snd_nxt, uint32_t rcv_nxt,
	      uint32_t snd_wnd, int ts);

/* Fills the local / remote endpoint. Returns 0, -EBADF, -ENOTCONN. */
int sys_getsockname(struct stack *st, int fd, struct ip_addr *addr, uint16_t *port);
int sys_getpeername(struct stack *st, int fd, struct ip_addr *addr, uint16_t *port);

/*
 * What getsockopt(TCP_INFO) would report, in struct tcp_info's field
 * names (every field 64-bit here, whatever its width in Linux): a script's
 * %{ assert tcpi_... }% blocks read it. Times in microseconds; state in
 * Linux's numbering (TCP_ESTABLISHED 1 ... TCP_CLOSING 11).
 */
struct tcp_info_view {
	uint64_t tcpi_state, tcpi_ca_state, tcpi_retransmits, tcpi_probes, tcpi_backoff, tcpi_options;
	uint64_t tcpi_snd_wscale, tcpi_rcv_wscale, tcpi_rto, tcpi_snd_mss, tcpi_rcv_mss;
	uint64_t tcpi_unacked, tcpi_sacked, tcpi_lost, tcpi_retrans;
	uint64_t tcpi_last_data_sent, tcpi_last_data_recv, tcpi_last_ack_recv; /* milliseconds ago */
	uint64_t tcpi_pmtu, tcpi_rcv_ssthresh, tcpi_rtt, tcpi_rttvar, tcpi_snd_ssthresh, tcpi_snd_cwnd;
	uint64_t tcpi_advmss, tcpi_reordering, tcpi_rcv_space, tcpi_total_retrans;
	uint64_t tcpi_bytes_acked, tcpi_bytes_received, tcpi_segs_out, tcpi_segs_in, tcpi_notsent_bytes;
	uint64_t tcpi_data_segs_in, tcpi_data_segs_out, tcpi_delivered, tcpi_bytes_sent, tcpi_bytes_retrans;
};

/* Fills *ti for fd's socket. Returns 0 or -EBADF. */
int sys_tcp_info(struct stack *st, int fd, struct tcp_info_view *ti);

/* ioctl(SIOCINQ): bytes ready to read. Returns the count, -EINVAL (a listener) or -EBADF. */
int sys_inq(struct stack *st, int fd);

/* ioctl(SIOCOUTQ): bytes sent but not acknowledged, plus those not sent. Same returns. */
int sys_outq(struct stack *st, int fd);

/* ioctl(SIOCOUTQNSD): bytes not sent yet. Same returns. */
int sys_outq_unsent(struct stack *st, int fd);

/*
 * recvmsg()'s TCP_CM_INQ (tcp_inq_hint()): the bytes left to read, and 1
 * when none are but the peer's FIN is in, so the reader goes on to see
 * the end. Returns the count or -EBADF.
 */
int sys_inq_hint(struct stack *st, int fd);

/* poll() bits, Linux's values (tcp_poll() reports them). */
#define SKPOLL_IN 0x1
#define SKPOLL_OUT 0x4
#define SKPOLL_ERR 0x8
#define SKPOLL_HUP 0x10
#define SKPOLL_RDNORM 0x40
#define SKPOLL_WRNORM 0x100
#define SKPOLL_RDHUP 0x2000

/*
 * tcp_poll(): what fd is ready for, as poll() and epoll report it. A
 * listener is readable with a connection to accept; a connection readable
 * with bytes queued or once the peer (or shutdown(SHUT_RD)) ended the
 * stream, writable while the unsent bytes stay under TCP_NOTSENT_LOWAT
 * and the send buffer has room (SO_SNDBUF when set; otherwise Linux grows
 * the buffer to tcp_wmem[2]), HUP when both directions are shut or the
 * connection is over (a fresh socket too), ERR with a pending error.
 * Returns the mask, or -EBADF.
 */
int sys_poll(struct stack *st, int fd);

/* Current TCP state of fd's socket, or -EBADF. */
int sys_state(struct stack *st, int fd);

/* Pending error of fd (so_error), cleared by the read: 0 or -ECONNRESET etc. */
int sys_error(struct stack *st, int fd);

/* The socket id (as events name it) behind fd, or 0. */
uint32_t sys_sock_id(struct stack *st, int fd);

/*
 * The descriptor of the connected socket holding this 4-tuple (as the
 * local end sees it), or -ENOENT when ehash holds no such socket or no
 * descriptor holds it (a request, TIME_WAIT, a child not yet accepted).
 * What `ss` finds by address; a driver playing the application uses it
 * instead of keeping a map of its own. Changes nothing.
 */
int sys_lookup(struct stack *st, const struct ip_addr *laddr, uint16_t lport,
	       const struct ip_addr *raddr, uint16_t rport);

#endif
