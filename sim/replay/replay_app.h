/*
 * replay_app.h - the recorded host's application, as a replay plays it:
 * the calls it made on the stack's sockets, read from the segments the
 * recorded host sent.
 *
 * Path: replay.c (driver) -> replay_app_*() -> socket.h (sys_listen,
 *       sys_accept, sys_recv, sys_send, sys_shutdown, sys_abort,
 *       sys_connect, sys_adopt) -> the stack -> events -> renderer.
 *
 * A recorded outbound segment stands for the application's call that
 * caused it: new payload is send(), a FIN shutdown(SHUT_WR), a RST an
 * abort, a SYN connect(). The application accepts what is queued (as
 * --accept says), reads everything that arrives and closes a descriptor
 * once the stack is done with it. Nothing here reads the capture: the
 * driver hands each segment over.
 */
#ifndef TCPDEMUX_REPLAY_APP_H
#define TCPDEMUX_REPLAY_APP_H

#include <stdint.h>

#include "addr.h"
#include "render.h"
#include "replay.h"
#include "segment.h"
#include "stack.h"
#include "tuplemap.h"

/*
 * What the application knows of a connection it holds, indexed by its
 * descriptor. The stack's ehash already maps the 4-tuple to the socket and
 * its descriptor (sys_lookup), so the application keeps no map of its own:
 * 8 bytes per descriptor instead of a hashed entry per connection.
 */
struct app_conn {
	uint32_t seq;      /* next byte the application writes, if have_seq */
	uint8_t have_seq;  /* seq is known (from connect() or the first data sent) */
	uint8_t fin_done;  /* shutdown(SHUT_WR) called */
	uint16_t listener; /* 1 + the index in lis[] of the listener it was accepted from; 0: none
			    * (16 bits: REPLAY_MAX_HOSTS listeners at most, and the entry stays 8 bytes) */
};

/* A listening socket the application opened. */
struct app_listener {
	struct ip_addr addr;  /* bound address (may be the wildcard) */
	uint16_t port;        /* bound port */
	int fd;               /* its descriptor */
};

struct replay_app {
	struct stack *st;            /* the stack it calls */
	struct renderer *r;          /* where "inferred established" is announced, or NULL */
	struct app_conn *conn;       /* indexed by descriptor */
	int nconn;                   /* entries allocated at conn */
	struct app_listener *lis;    /* in listen() order (a SO_REUSEPORT group's members side by side) */
	int nlis;                    /* listeners open */
	int cap_lis;                 /* room in lis */
	/*
	 * (bound address, port) -> ack: 1 + the index of its first listener.
	 * A router's capture may show thousands of listeners, and the driver
	 * asks for one per segment on loopback and per completed handshake.
	 * Without memory for it (b NULL), lis is scanned instead.
	 */
	struct tuplemap lis_index;
	char lis_full[ADDR_STRLEN + 8]; /* the first listener refused at REPLAY_MAX_HOSTS ("addr:port"), or "" */
	uint64_t opens_seen;         /* PassiveOpens at the last replay_app_accept_all() */
	int accept_left;             /* that call stopped on an error, not an empty queue */
	uint32_t connect_isn;        /* the ISN the next connect() uses, if have_connect_isn */
	int have_connect_isn;        /* set while sys_connect() runs */
	uint64_t picked_up;          /* connections taken over as already ESTABLISHED */
	uint8_t rbuf[65536];         /* where recv() reads to (the bytes are not looked at) */
};

/* Sets up an application with no listener and no connection on st. */
void replay_app_init(struct replay_app *app, struct stack *st, struct renderer *r);
void replay_app_free(struct replay_app *app);

/*
 * Opens a listener (replay_listen_socket) and announces it as an
 * "inferred listener" with why (at time t). Returns 0, -ENOSPC (already
 * REPLAY_MAX_HOSTS listeners: the first refused is kept in lis_full, for
 * the driver's warning), -ENOMEM, or the socket call's negative errno.
 */
int replay_app_listen(struct replay_app *app, const struct ip_addr *a, uint16_t port, int backlog,
		      int reuseport, vtime_t t, const char *why);

/* Does a listener of the application take a:port (exactly or by a wildcard of its family)? */
int replay_app_is_listener(const struct replay_app *app, const struct ip_addr *a, uint16_t port);

/*
 * Connections accepted from the listener on a:port whose application has
 * caused no segment yet (nothing sent, no FIN): as far as the capture
 * shows, they may still have been waiting in the accept queue.
 */
uint64_t replay_app_waiting(const struct replay_app *app, const struct ip_addr *a, uint16_t port);

/*
 * accept()s everything queued on every listener. Returns how many. While
 * PassiveOpens stands still and the last call left nothing behind, there
 * is nothing to accept and no accept() is made. a:port (a may be NULL) is
 * where the latest segment went: its listener is asked first, and when it
 * held every connection completed since the last call, no other is (a
 * replay with thousands of listeners makes one accept() per handshake,
 * not one per listener).
 */
int replay_app_accept_all(struct replay_app *app, const struct ip_addr *a, uint16_t port);

/*
 * Reads whatever fd has received, and closes it once the stack is done
 * with it. Returns 1, or 0 when the application holds no such descriptor
 * (nothing done).
 */
int replay_app_drain_fd(struct replay_app *app, int fd);

/*
 * The same for the connection local la:lp, remote ra:rp, if the
 * application holds it; pr is a probe of that 4-tuple (stack_probe).
 */
void replay_app_drain(struct replay_app *app, const struct ip_addr *la, uint16_t lp,
		      const struct ip_addr *ra, uint16_t rp, struct stack_probe *pr);

/*
 * A connection open before the capture began: taken over as ESTABLISHED
 * (sys_adopt) with snd_nxt, rcv_nxt, the peer's window win (scale 7
 * assumed) and timestamps if ts, and announced at t. Returns 0, or a
 * negative errno (nothing taken over).
 */
int replay_app_pick_up(struct replay_app *app, const struct ip_addr *la, uint16_t lp,
		       const struct ip_addr *ra, uint16_t rp, uint32_t snd_nxt, uint32_t rcv_nxt,
		       uint16_t win, int ts, vtime_t t);

/* How the application ended its side, when a recorded FIN says it did. */
enum app_fin {
	APP_FIN_SHUTDOWN = 0, /* shutdown(SHUT_WR): it may still read */
	APP_FIN_CLOSE,        /* close(): data arriving after it is answered by the kernel's RST */
};

/*
 * The recorded host sent seg at t: the application's call behind it, made
 * on the stack's socket for that connection. fin (enum app_fin) says which
 * call a FIN stands for; the driver knows from what followed it.
 */
void replay_app_outbound(struct replay_app *app, const struct segment *seg, vtime_t t, int fin);

/*
 * The stack's ISN hook for an active open (ISN_CONNECT): 1 and *isn set
 * while replay_app_outbound() connects with a recorded SYN's ISN, else 0.
 */
int replay_app_connect_isn(struct replay_app *app, uint32_t *isn);

#endif
