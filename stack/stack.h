/*
 * stack.h - the public face of the miniature TCP/IP stack.
 *
 * A front end (sim/, tests, fuzzers) creates a stack, feeds it parsed
 * segments with stack_input(), moves its virtual clock with stack_advance(),
 * drives the application side through the sys_* calls of socket.h, and
 * learns what happened from the events it receives through its observer.
 *
 * The stack does no I/O and never reads the wall clock: the same inputs
 * give the same events, which is what makes demos and golden tests
 * reproducible.
 */
#ifndef TCPDEMUX_STACK_H
#define TCPDEMUX_STACK_H

#include <stdint.h>

#include "addr.h"
#include "counters.h"
#include "segment.h"

/* Virtual time in nanoseconds (pcap files carry nanoseconds at best). */
typedef uint64_t vtime_t;
#define VT_NSEC 1ull
#define VT_USEC 1000ull
#define VT_MSEC 1000000ull
#define VT_SEC 1000000000ull
#define VT_NEVER UINT64_MAX

enum tcp_state {
	TCP_CLOSED = 0,
	TCP_LISTEN,
	TCP_SYN_SENT,
	TCP_SYN_RECV,
	TCP_ESTABLISHED,
	TCP_FIN_WAIT1,
	TCP_FIN_WAIT2,
	TCP_CLOSE_WAIT,
	TCP_CLOSING,
	TCP_LAST_ACK,
	TCP_TIME_WAIT,
	TCP_STATE_COUNT
};

/* "ESTABLISHED", "SYN_RECV", ... (Linux's TCP_* names without the prefix). */
const char *tcp_state_name(int state);

/* The largest ehash: 2^24 buckets (128 MiB of pointers). */
#define EHASH_MAX_BUCKETS (1u << 24)

/*
 * Settings, named after the Linux sysctls they mirror. stack_config_init()
 * fills Linux 6.x defaults; a front end changes what it needs before
 * stack_new().
 */
struct stack_config {
	uint32_t ehash_buckets;      /* power of two, 1 .. 2^24 */
	int ehash_grow;              /* 1: double the table past two entries per bucket (0) */
	uint32_t hash_seed;          /* keys ehash, reuseport and ISNs */
	int somaxconn;               /* net.core.somaxconn (4096) */
	int tcp_syncookies;          /* net.ipv4.tcp_syncookies (1) */
	int tcp_abort_on_overflow;   /* net.ipv4.tcp_abort_on_overflow (0) */
	int tcp_synack_retries;      /* net.ipv4.tcp_synack_retries (5) */
	int tcp_syn_retries;         /* net.ipv4.tcp_syn_retries (6) */
	int tcp_syn_linear_timeouts; /* net.ipv4.tcp_syn_linear_timeouts (4) */
	int tcp_max_syn_backlog;     /* net.ipv4.tcp_max_syn_backlog (512) */
	int tcp_retries2;            /* net.ipv4.tcp_retries2 (15) */
	int tcp_fin_timeout;         /* net.ipv4.tcp_fin_timeout, seconds (60) */
	int tcp_timestamps;          /* net.ipv4.tcp_timestamps (1) */
	int tcp_sack;                /* net.ipv4.tcp_sack (1) */
	int tcp_window_scaling;      /* net.ipv4.tcp_window_scaling (1) */
	int tcp_ecn;                 /* net.ipv4.tcp_ecn (2): 0 off, 1 ask and answer, 2 answer only */
	int bindv6only;              /* net.ipv6.bindv6only (0): a new IPv6 socket's IPV6_V6ONLY */
	uint32_t tcp_rmem[3];        /* net.ipv4.tcp_rmem: min, default, max receive buffer (4096 131072 6291456) */
	uint32_t tcp_wmem[3];        /* net.ipv4.tcp_wmem: min, default, max send buffer (4096 16384 4194304) */
	uint32_t rmem_max;           /* net.core.rmem_max: SO_RCVBUF's cap (212992) */
	uint32_t tcp_notsent_lowat;  /* net.ipv4.tcp_notsent_lowat: poll() says writable under it (UINT32_MAX) */
	uint32_t wmem_max;           /* net.core.wmem_max: SO_SNDBUF's cap (212992) */
	/*
	 * 1: sending is limited by a congestion window as Linux limits it
	 * (IW10, slow start, Reno-shaped avoidance, one segment after an
	 * RTO). 0 (what stack_config_init() sets): only the peer's window
	 * counts, because a replay reproduces what happened and does not
	 * model the path. Scripts turn it on.
	 */
	int model_cwnd;
	int tcp_fastopen;            /* net.ipv4.tcp_fastopen: 1 client, 2 server, 0x200 no cookie needed,
	                              * 0x400 every listener (1) */
	uint32_t tcp_fastopen_key[4]; /* net.ipv4.tcp_fastopen_key, the server's cookie key (from the hash seed) */
	uint32_t max_sockets;        /* refuse new connections past this many */
	uint16_t mtu;                /* link MTU used to derive the MSS we announce */
};

void stack_config_init(struct stack_config *cfg);


struct stack;

/*
 * Creates a stack at virtual time 0. Returns NULL when memory runs out or
 * cfg is invalid (bucket count not a power of two); nothing is leaked.
 */
struct stack *stack_new(const struct stack_config *cfg);

/* Frees every socket, request and timer; no events are emitted. */
void stack_free(struct stack *st);

/* The running stack's settings. */
void stack_get_config(const struct stack *st, struct stack_config *cfg);

/*
 * Changes the sysctl-like settings of a running stack (a script's
 * `sysctl -q` line). The ehash size and hash seed cannot change and are
 * kept; existing listeners keep their backlog.
 */
void stack_set_config(struct stack *st, const struct stack_config *cfg);

/*
 * Declares an address as local (used as connect()'s source address and to
 * tell which segments are ours). Returns 0, -EEXIST or -ENOMEM.
 */
int stack_add_addr(struct stack *st, const struct ip_addr *addr);

/* Is addr one of the stack's own addresses? */
int stack_has_addr(const struct stack *st, const struct ip_addr *addr);

/* ---- what the stack reports ------------------------------------------ */

enum event_type {
	EV_SEGMENT_IN,  /* a segment was processed: lookup path and outcome */
	EV_SEGMENT_OUT, /* the stack sent a segment */
	EV_ACCEPT,      /* accept() returned a connection */
	EV_TIMER,       /* a timer fired (retransmission, expiry) */
	EV_SOCK_NEW,    /* a socket or request was created */
	EV_SOCK_STATE,  /* a socket changed state */
	EV_SOCK_FREE,   /* a socket, request or TIME_WAIT entry was freed */
};

/* Which table entry a lookup ended on. */
enum lookup_result {
	LOOKUP_NONE = 0,
	LOOKUP_ESTABLISHED, /* a full socket in ehash (any state but LISTEN) */
	LOOKUP_REQUEST,     /* a SYN_RECV request socket in ehash */
	LOOKUP_TIMEWAIT,    /* a TIME_WAIT entry in ehash */
	LOOKUP_LISTENER,    /* ehash missed; a listener matched */
};
const char *lookup_result_name(int r);

/* What the stack did with an inbound segment (or what a timer did). */
enum seg_action {
	ACT_NONE = 0,
	ACT_SYN_ACK,        /* new request, SYN-ACK sent */
	ACT_SYN_ACK_RTX,    /* SYN-ACK sent again (duplicate SYN or timer) */
	ACT_COOKIE,         /* SYN answered with a SYN cookie, no state kept */
	ACT_QUEUED,         /* handshake done, child put on the accept queue */
	ACT_ESTABLISHED,    /* active open completed (SYN-ACK received) */
	ACT_DELIVER,        /* payload queued for the application */
	ACT_ACK,            /* ACK processed, nothing else to do */
	ACT_FIN,            /* peer's FIN processed */
	ACT_RST,            /* answered with a RST */
	ACT_RESET,          /* peer's RST closed the connection or request */
	ACT_CHALLENGE_ACK,  /* RFC 5961 challenge ACK sent */
	ACT_SEND_ACK,       /* out-of-window or duplicate: ACK sent, segment dropped */
	ACT_DROP,           /* silently dropped */
	ACT_TW_RECYCLE,     /* SYN reused a TIME_WAIT 4-tuple */
	ACT_RETRANSMIT,     /* timer: data/SYN/FIN retransmitted */
	ACT_EXPIRE,         /* timer: request, TIME_WAIT or connection gave up */
	ACT_FASTOPEN,       /* a Fast Open SYN: child created with its data, queued for accept(), SYN-ACK */
	ACT_COUNT
};
const char *seg_action_name(int a); /* "syn_ack", "queued", "deliver", ... */

struct lookup_info {
	uint32_t hash;     /* ehash hash of the 4-tuple */
	uint32_t bucket;   /* hash & (buckets - 1) */
	uint32_t walked;   /* ehash chain entries examined */
	uint8_t result;    /* enum lookup_result */
	uint8_t wildcard;  /* listener found by the wildcard (second) lookup */
	uint8_t reuseport; /* listener chosen from a reuseport group of ... */
	uint8_t group;     /* ... this many members (0 if none) */
	uint32_t entry;    /* id of the ehash entry found (socket, request or TIME_WAIT); 0 on a miss */
};

/* A socket as events and snapshots show it: a copy, never a live pointer. */
struct sock_view {
	uint32_t id;        /* stable for the connection's life (request -> child -> TIME_WAIT) */
	int fd;             /* descriptor, or -1 (not accepted yet, request, TIME_WAIT) */
	uint8_t state;      /* enum tcp_state */
	struct ip_addr laddr, raddr;
	uint16_t lport, rport;
	uint32_t bucket;    /* ehash bucket, when hashed */
	uint32_t recv_q;    /* bytes received, not yet read by the application (ss's Recv-Q) */
	uint32_t send_q;    /* bytes written, not yet acknowledged by the peer (ss's Send-Q) */
};

/*
 * What one listener saw over its life (stack_listener_stats). The kernel
 * keeps no such thing per socket (only the netns-wide counters); a replay
 * of a server with several services wants to know which one overflowed.
 */
struct listener_stats {
	uint64_t syns;             /* SYNs that reached it (a request's duplicates are the request's) */
	uint64_t handshakes;       /* connections it queued for accept(): its share of PassiveOpens */
	uint64_t cookies_sent;     /* SYNs answered with a SYN cookie */
	uint64_t cookies_ok;       /* ACKs whose valid cookie made a connection */
	uint64_t drops[CNT_COUNT]; /* segments it, or one of its requests, dropped or reset, by the counter naming why */
	uint32_t peak_syn;         /* the SYN queue's greatest length */
	uint32_t peak_accept;      /* the accept queue's greatest length */
	vtime_t peak_syn_t;        /* when the SYN queue first reached peak_syn */
	vtime_t peak_accept_t;     /* when the accept queue first reached peak_accept */
};

struct listener_view {
	uint32_t id;
	int fd;
	struct ip_addr addr;
	uint16_t port;
	int backlog;            /* after the somaxconn cap */
	uint32_t syn_queue;     /* requests (SYN_RECV) */
	uint32_t accept_queue;  /* completed, not yet accepted */
	uint8_t reuseport;
};

struct event {
	uint8_t type;          /* enum event_type */
	vtime_t t;
	int64_t frame;         /* input frame number (1-based) or -1 */
	const struct segment *seg; /* EV_SEGMENT_IN / OUT */
	struct lookup_info lookup;  /* EV_SEGMENT_IN */
	uint8_t has_listener;
	struct listener_view listener; /* the listener consulted, after the segment */
	uint8_t has_sock;
	struct sock_view sock;  /* the socket involved, after the segment */
	uint8_t action;         /* enum seg_action */
	int8_t reason;          /* enum counter explaining a drop or reset, or -1 */
	uint8_t old_state;      /* EV_SOCK_STATE */
	uint32_t retries;       /* EV_TIMER: retransmissions so far */
	int err;                /* EV_SOCK_FREE / EV_SOCK_STATE: error given to the app */
	uint8_t cookie;         /* EV_SEGMENT_IN: a SYN cookie was issued or decoded */
	uint16_t cookie_mss;    /* MSS decoded from / encoded in the cookie */
	uint8_t isn_adopted;    /* EV_SEGMENT_IN: the new request's ISN came from the ISN hook */
	/*
	 * The stack operation that caused it: every stack_input(), timer that
	 * fires and sys_*() call is one, numbered from 1 in the order they ran
	 * (only operations that caused events are counted). The events of one
	 * operation arrive together, after it finished: what the tables say
	 * while they are delivered is the state after that operation.
	 */
	uint64_t op;
};

typedef void (*stack_observer_fn)(void *ctx, const struct event *ev);

/* What an ISN is asked for. */
enum isn_kind {
	ISN_REQUEST = 0, /* a request answering the SYN syn */
	ISN_CONNECT,     /* an active open about to send syn (its seq not set yet) */
	ISN_COOKIE,      /* a SYN cookie answering the SYN syn */
};

/*
 * Asked for the ISN of a new connection. Returns 1 and sets *isn to make
 * the stack use that ISN (a replay adopts the one the recorded host used),
 * 0 to let the stack choose.
 */
typedef int (*stack_isn_fn)(void *ctx, const struct segment *syn, int kind, uint32_t *isn);

void stack_set_isn_hook(struct stack *st, stack_isn_fn fn, void *ctx);

/*
 * Asked whether an ACK reaching a listener carries a valid SYN cookie,
 * before the stack's own check (a replay knows the cookies the recorded
 * kernel issued, whose secret the stack cannot know). Returns 1 (valid,
 * *mss set to the MSS it encodes), 0 (invalid), or -1 (no opinion: the
 * stack checks against its own cookies).
 */
typedef int (*stack_cookie_fn)(void *ctx, const struct segment *ack, uint16_t *mss);

void stack_set_cookie_hook(struct stack *st, stack_cookie_fn fn, void *ctx);

/* The MSS a SYN cookie can carry for a client MSS: rounded down to 536, 1300, 1440 or 1460. */
uint16_t stack_cookie_mss(uint16_t client_mss);

/* Installs the observer (NULL to silence). Events are delivered synchronously. */
void stack_set_observer(struct stack *st, stack_observer_fn fn, void *ctx);

/* ---- driving the stack ------------------------------------------------ */

/*
 * Processes one inbound segment at the current virtual time. frame is the
 * input frame number reported in events (-1 for none). The segment's
 * payload is copied if it is kept; *seg may be reused afterwards.
 * Returns the descriptor of the connected socket the segment was delivered
 * to (it may have just been reset: the descriptor stays until close()), or
 * -1 when it reached no socket an application holds (a listener, a
 * request, TIME_WAIT, a child not yet accepted, nothing). A driver playing
 * the application uses it to know which descriptor has news, as
 * epoll_wait() would tell it, without a lookup of its own.
 */
int stack_input(struct stack *st, const struct segment *seg, int64_t frame);

/*
 * One lookup of a 4-tuple in ehash, kept for the calls that follow on the
 * same 4-tuple. A replay asks whether the stack knows an inbound
 * segment's connection (to pick up one that predates the capture), then
 * feeds the segment in, then, after accept(), asks which descriptor holds
 * it: with a probe that is one hash and one chain walk, not three. The
 * hash is reused always; the walk's result while ehash has not changed
 * since (any insert, removal or resize makes the next call walk again).
 * Zero it (struct stack_probe pr = {0}, or stack_probe_reset()) before
 * the first call on a 4-tuple; use it on that 4-tuple only, and on one
 * stack.
 */
struct stack_probe {
	uint32_t hash;    /* the 4-tuple's ehash hash, once hashed is set */
	uint8_t hashed;   /* hash is known */
	uint32_t walked;  /* entries of its bucket the kept walk examined */
	uint64_t gen;     /* the table's change count at that walk; 0: none kept */
	void *entry;      /* what the walk found (the stack's own), or NULL */
};

/*
 * What zeroing a probe does, in two stores: no hash known, no walk kept
 * (the other fields are read only once those say so). Where a probe is
 * made per segment: GCC cleared the 32 bytes with a rep stos there.
 */
static inline void stack_probe_reset(struct stack_probe *pr)
{
	pr->hashed = 0;
	pr->gen = 0;
}

/*
 * stack_find() through a probe, for the 4-tuple as the local end sees it
 * (an inbound segment's dst, dport, src, sport): 1 when ehash holds an
 * entry for it, else 0. Changes nothing but *pr.
 */
int stack_probe(struct stack *st, const struct ip_addr *laddr, uint16_t lport, const struct ip_addr *raddr,
		uint16_t rport, struct stack_probe *pr);

/* stack_input() with the lookup of pr, a probe of seg's 4-tuple (dst, dport, src, sport). */
int stack_input_probed(struct stack *st, const struct segment *seg, int64_t frame, struct stack_probe *pr);

/* sys_lookup() through a probe of the same 4-tuple: its descriptor, or -ENOENT. */
int stack_probe_fd(struct stack *st, const struct ip_addr *laddr, uint16_t lport,
		   const struct ip_addr *raddr, uint16_t rport, struct stack_probe *pr);

/*
 * Starts loading the ehash chain that a lookup of this 4-tuple (as the
 * local end sees it: an inbound segment's dst, dport, src, sport) reads
 * first, so that the lookup, some work later, finds it in cache. Changes
 * nothing but *pr. With 200,000 connections the chains (2 MiB) are mostly
 * not in cache: a SYN's lookup, or a held-back ACK's, otherwise waits for
 * memory. pr (may be NULL) becomes a fresh probe of the 4-tuple holding
 * the hash computed here, so that the lookup itself need not hash again.
 */
void stack_prefetch(const struct stack *st, const struct ip_addr *laddr, uint16_t lport,
		    const struct ip_addr *raddr, uint16_t rport, struct stack_probe *pr);

vtime_t stack_now(const struct stack *st);

/* Time of the earliest pending timer, or VT_NEVER. */
vtime_t stack_next_timer(const struct stack *st);

/*
 * Moves the clock to t, firing every timer due at or before t in time
 * order (the clock reads each timer's own time while it runs). A t in the
 * past is ignored: virtual time never goes backwards.
 */
void stack_advance(struct stack *st, vtime_t t);

/* ---- looking at the tables ------------------------------------------- */

uint64_t stack_counter(const struct stack *st, int counter);

struct stack_totals {
	uint32_t listeners, established, request, timewait, other;
};
void stack_totals(const struct stack *st, struct stack_totals *out);

uint32_t stack_buckets(const struct stack *st);

/*
 * The ehash hash of a 4-tuple under seed (what a stack created with that
 * hash_seed computes): lets a traffic generator craft 4-tuples that share
 * a bucket, as a hash-flooding attacker who knew the secret would.
 */
uint32_t stack_ehash(uint32_t seed, const struct ip_addr *laddr, uint16_t lport,
		     const struct ip_addr *raddr, uint16_t rport);

struct ehash_stats {
	uint32_t entries;
	uint32_t used_buckets;  /* buckets with at least one entry */
	uint32_t max_chain;
	double mean_chain;      /* over the used buckets */
};
void stack_ehash_stats(const struct stack *st, struct ehash_stats *out);
uint32_t stack_seed(const struct stack *st);

typedef void (*listener_walk_fn)(void *ctx, const struct listener_view *l);
typedef void (*sock_walk_fn)(void *ctx, const struct sock_view *s);

/*
 * Looks the 4-tuple up in ehash without processing anything (no event,
 * no counter). Returns 1 and fills *out when an entry exists, else 0.
 * out may be NULL when only existence matters (the view costs more than
 * the lookup).
 */
int stack_find(struct stack *st, const struct ip_addr *laddr, uint16_t lport,
	       const struct ip_addr *raddr, uint16_t rport, struct sock_view *out);

/*
 * The request (SYN_RECV) for this 4-tuple takes isn as its ISN, as if it
 * had been chosen when the SYN arrived: a replay that learns the recorded
 * host's ISN only after the stack answered re-bases the request, while
 * nothing it sent can have been acknowledged (a request's final ACK has
 * not been accepted). Its later SYN-ACKs carry isn; no event is emitted.
 * Returns 1 (re-based), 0 (its ISN already was isn), -ENOENT (no request
 * for the 4-tuple) or -EBUSY (its final ACK was already seen).
 */
int stack_rebase_request(struct stack *st, const struct ip_addr *laddr, uint16_t lport,
			 const struct ip_addr *raddr, uint16_t rport, uint32_t isn);

/*
 * The totals of the listener with id listener_id (a listener_view's id).
 * Returns 0 with *out filled, or -ENOENT (no such listener now).
 */
int stack_listener_stats(const struct stack *st, uint32_t listener_id, struct listener_stats *out);

/* Listeners in listen() order. */
void stack_walk_listeners(struct stack *st, listener_walk_fn fn, void *ctx);

/* ehash entries by bucket, each chain head first (the order lookups walk). */
void stack_walk_ehash(struct stack *st, sock_walk_fn fn, void *ctx);

/*
 * The queues of the listener with id listener_id: requests in SYN_RECV
 * (oldest first) and completed connections (accept order).
 * Returns 0 or -ENOENT.
 */
int stack_walk_syn_queue(struct stack *st, uint32_t listener_id, sock_walk_fn fn, void *ctx);
int stack_walk_accept_queue(struct stack *st, uint32_t listener_id, sock_walk_fn fn, void *ctx);

/*
 * Checks the stack's invariants (each entry in the bucket its hash names,
 * queue counters equal list lengths, accept queue <= backlog+1, ...).
 * Returns 0, or -EFAULT and writes what broke into why.
 */
int stack_check(const struct stack *st, char *why, size_t len);

#endif
