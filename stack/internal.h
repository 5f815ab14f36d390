/*
 * internal.h - the stack's own data structures and the calls its modules
 * make to each other. Front ends include stack.h and socket.h only; tests
 * may include this to look inside.
 *
 * Three kinds of object live in the established hash, as in Linux since
 * 4.4: full sockets (struct sock), request sockets for half-open passive
 * connections (struct request_sock, Linux's TCP_NEW_SYN_RECV) and TIME_WAIT
 * minisockets (struct tw_sock). All three start with struct sock_common,
 * which is all an ehash walk ever touches.
 */
#ifndef TCPDEMUX_INTERNAL_H
#define TCPDEMUX_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "stack.h"

#define container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* ---- timers (timer.c) ------------------------------------------------ */

enum timer_kind {
	TIMER_REQ = 1,   /* request_sock: SYN-ACK retransmit / expiry */
	TIMER_RTX,       /* sock: SYN, data or FIN retransmission */
	TIMER_FINWAIT2,  /* sock: orphaned FIN_WAIT2 gives up (tcp_fin_timeout) */
	TIMER_TW,        /* tw_sock: TIME_WAIT ends */
};

/*
 * 8 bytes, because one sits in every socket, request and TIME_WAIT entry:
 * the deadline lives only in the queue's entry (struct timer_ent), and the
 * kind and the queue share a word with the slot, which leaves room for
 * 2^24 - 1 armed timers in the heap and 2^23 in each FIFO (a FIFO that
 * would outgrow that sends further timers to the heap).
 */
#define TIMER_IDX_MAX ((1u << 24) - 1)
/* FIFOs: one per (kind, duration) met, TIME_WAIT and the request levels fit. */
#define TIMER_FIFOS 15

struct timer {
	uint32_t seq;       /* arming order: equal times fire first-armed first */
	uint32_t pos : 24;  /* slot + 1 in the heap or the FIFO's ring; 0 when not armed */
	uint32_t queue : 4; /* 0: the heap; q: FIFO q - 1 */
	uint32_t kind : 4;  /* enum timer_kind */
};

struct timer_ent {
	vtime_t when;     /* the timer's deadline: see timer.c */
	struct timer *t;  /* NULL: cancelled (FIFOs only: the entry waits to be skipped) */
};

/*
 * Timers of one kind that always run for the same duration: armed at the
 * current time plus dur, and the clock never goes back, so they come due
 * in the order they were armed, and a ring in arming order is sorted.
 */
struct timer_fifo {
	vtime_t dur;            /* each entry's deadline is its arming time + dur */
	uint8_t kind;           /* enum timer_kind of its timers; 0 while the FIFO is unused */
	struct timer_ent *ring; /* cap entries, oldest at head */
	uint32_t cap;           /* a power of two (or 0) */
	uint32_t head;          /* ring index of the oldest entry (never a cancelled one) */
	uint32_t n;             /* entries from head on, cancelled ones included */
	uint32_t live;          /* entries not cancelled */
};

struct timer_heap {
	struct timer_ent *h;    /* the binary min-heap of the other timers */
	uint32_t n, cap;
	uint32_t seq;           /* the next arming's seq */
	uint32_t armed;         /* timers armed, heap and FIFOs together */
	uint32_t fifo_busy;     /* bit q: fifo[q] holds an entry */
	vtime_t next;           /* the earliest deadline of all, VT_NEVER when none is armed */
	struct timer_fifo fifo[TIMER_FIFOS];
};

/* Arms (or re-arms) t to fire at when. Returns 0 or -ENOMEM (t unchanged; also
 * when TIMER_IDX_MAX timers are in the heap). */
int timer_arm(struct stack *st, struct timer *t, uint8_t kind, vtime_t when);
void timer_cancel(struct stack *st, struct timer *t);
static inline int timer_armed(const struct timer *t) { return t->pos != 0; }
void timer_heap_free(struct timer_heap *th);
/* NULL when the timers' structures are consistent, else what is wrong (stack_check). */
const char *timer_check(const struct timer_heap *th);

/* ---- the object pool (pool.c) ---------------------------------------- */

/* Bytes per chunk of slots; chunks are aligned to it (pool.c finds a slot's chunk by masking). */
#define POOL_CHUNK 65536u
/* Chunks mapped at once (1 MiB of address space; pages cost memory only once touched). */
#define POOL_REGION_CHUNKS 16u

struct pool_chunk;

/*
 * One size of slot for sockets, requests and TIME_WAIT entries, so that
 * memory freed by one kind serves the next (pool.c says why).
 */
struct obj_pool {
	size_t slot;                /* bytes per slot: the largest object, 8-aligned */
	uint32_t per_chunk;         /* slots per chunk */
	uint32_t chunks;            /* chunks allocated, the spare included */
	uint64_t live;              /* slots handed out and not freed */
	struct pool_chunk *partial; /* chunks with a free slot, most recently freed-into first */
	struct pool_chunk *all;     /* every chunk but the spare */
	struct pool_chunk *spare;   /* one empty chunk kept back, or NULL */
	uint8_t *region;            /* the next chunk of the region mapped last (pool.c) */
	uint32_t region_left;       /* chunks from region on not handed out yet */
};

void pool_init(struct obj_pool *p, size_t slot);
/* A slot (not zeroed), or NULL when memory runs out (the pool unchanged). */
void *pool_alloc(struct obj_pool *p);
/* Gives obj (from pool_alloc, or NULL) back. */
void pool_free(struct obj_pool *p, void *obj);
/* Frees every chunk; the objects in them must be dead. */
void pool_destroy(struct obj_pool *p);

/* ---- sockets --------------------------------------------------------- */

enum sk_kind { SK_FULL = 1, SK_REQUEST, SK_TW };

struct sock_common {
	struct sock_common *next; /* ehash chain */
	uint32_t hash;            /* ehash hash of the 4-tuple */
	uint32_t id;
	uint8_t kind;             /* enum sk_kind */
	uint8_t state;            /* enum tcp_state */
	uint8_t hashed;           /* in ehash */
	uint8_t bind_linked;      /* bind node in the bind table (sock, tw_sock) */
	uint16_t lport, rport;
	struct ip_addr laddr, raddr;
	/*
	 * The rest of the bind node, kept here because these three bytes fit
	 * in what would be the struct's tail padding (64 bytes either way),
	 * where in struct bind_node they cost 8.
	 */
	uint8_t bind_autobind;    /* port picked by connect(), shareable per 4-tuple */
	uint16_t bind_port;
};

/*
 * Membership of the bind table (sockets that own a local port). It sits
 * right after sock_common in both struct sock and struct tw_sock, so its
 * owner is found by its position (bind_owner) instead of a pointer.
 */
struct bind_node {
	struct bind_node *next, *prev;
};

/* A growable byte queue: [p + off, p + off + len) holds the bytes. */
struct bytebuf {
	uint8_t *p;
	uint32_t off, len, cap;
};

/*
 * A connection's byte queues, allocated when the first byte is queued and
 * freed when both are empty again: most sockets of a busy server are idle
 * at any moment, and 48 bytes in each would be a fifth of its size.
 * Taken from the socket pool, the first BUF_SMALL bytes of each queue
 * from the buffer pool (sock.c).
 */
struct sock_bufs {
	struct bytebuf snd;      /* from snd_una: unacked, then unsent bytes */
	struct bytebuf rcv;      /* received in order, not yet read */
};

struct request_sock;
struct sock;

struct listen_state {
	int backlog;                     /* sk_max_ack_backlog */
	uint32_t qlen;                   /* requests: the SYN queue */
	uint32_t ack_backlog;            /* sk_ack_backlog: children in the accept queue */
	/*
	 * The accept queue, oldest first from acc_first: a ring of acc_cap
	 * (a power of two, or 0) that grows before a child is made for it
	 * (accept_queue_reserve), rather than a link in every socket.
	 */
	struct sock **acc;
	uint32_t acc_cap;                /* room in acc */
	uint32_t acc_first;              /* ring index of the oldest child */
	struct request_sock *syn_head, *syn_tail;
	struct sock *lnext;              /* listen hash chain */
	struct sock *all_next, *all_prev; /* every listener, in listen() order */
	vtime_t last_overflow;           /* SYN queue last overflowed (cookies) */
	uint32_t limit_seen;             /* largest backlog+1 while entries were queued */
	uint32_t fastopen_qlen;          /* Fast Open children still in SYN_RECV (fastopenq.qlen) */
	uint8_t overflowed;
	struct listener_stats stats;     /* what it saw (stack_listener_stats) */
};

/*
 * 160 bytes, so that with its ehash bucket, its descriptor slot and the
 * replay's record of the descriptor a connection costs under 200 bytes
 * (bench/sizes and the 1M-connection replay in `make bench` show it).
 * Hence the one-bit flags, the congestion window in 16-bit segment counts,
 * the timestamp offset recomputed from the addresses rather than stored,
 * one pointer for the listen state or the accepting listener, the accept
 * queue a ring in the listener's state instead of a link in each child,
 * and the byte queues and the rest behind a pointer each: what a socket
 * needs only once it has sent something (its retransmission timer, the
 * round-trip and congestion state) lives in struct sock_ext with the
 * options an application set, so an idle connection pays for none of it.
 */
struct sock {
	struct sock_common c;
	struct bind_node bind;  /* must follow c: see bind_owner() */
	int fd;                 /* -1 while not owned by the application */
	int16_t err;            /* pending error (so_error), negative errno */
	uint8_t reuseaddr : 1, reuseport : 1;
	uint8_t bound : 1;      /* local address and port chosen */
	uint8_t orphan : 1;     /* close() called: no application any more */
	uint8_t shut_wr : 1;    /* application shut down writing */
	uint8_t fin_queued : 1; /* FIN to send once the send queue drains */
	uint8_t fin_sent : 1;   /* our FIN went out; it holds sequence ext->tx.fin_seq */
	uint8_t rcv_fin : 1;    /* peer's FIN received */
	uint8_t wscale_ok : 1, sack_ok : 1, tstamp_ok : 1;
	uint8_t rtt_on : 1;     /* ext->tx.rtt_seq is being timed */
	uint8_t queued : 1;     /* in an accept queue: parent, not ls, is set */
	uint8_t shut_rd : 1;    /* shutdown(SHUT_RD): read() returns 0 once the queue is empty */
	uint8_t fastopen : 1;   /* a passive Fast Open child still in SYN_RECV (fastopen_rsk) */
	uint8_t syn_data_acked : 1; /* the SYN's data was taken (tcpi_options' TCPI_OPT_SYN_DATA) */
	/*
	 * Its connection went on as a TIME_WAIT entry with the same id
	 * (tcp_time_wait): from then on this socket closes and is freed
	 * without telling the observer, for whom #id is the TIME_WAIT entry.
	 */
	uint8_t timewait : 1;
	/*
	 * IPV6_V6ONLY (an IPv6 socket only). Without it a socket bound to [::]
	 * also takes IPv4, as mapped addresses (::ffff:a.b.c.d), and its port
	 * conflicts with IPv4 binds: Linux's default, net.ipv6.bindv6only=0.
	 */
	uint8_t v6only : 1;
	uint8_t tfo_counted : 1; /* counts in its listener's Fast Open queue (until accepted or established) */
	/*
	 * The congestion window is modelled (cfg.model_cwnd when the socket
	 * was made, and not picked up mid-stream): it starts at IW10, not
	 * unlimited. What sk_cwnd() answers while there is no ext.
	 */
	uint8_t cwnd_model : 1;
	uint8_t retries;        /* retransmissions (or probes) since the last progress */
	uint8_t snd_wscale, rcv_wscale;
	uint16_t mss;           /* payload bytes per segment we send */
	uint16_t adv_mss;       /* MSS we announced */
	uint32_t iss, irs;      /* our and the peer's initial sequence numbers */
	uint32_t snd_una, snd_nxt, snd_wnd, snd_wl1, snd_wl2; /* RFC 9293 3.3.1's send variables */
	uint32_t rcv_nxt, rcv_wnd;
	uint32_t ts_recent;     /* the peer's last timestamp value to echo (RFC 7323 4.3) */
	union {
		struct listen_state *ls; /* in LISTEN */
		struct sock *parent;     /* while queued: the listener whose accept queue holds us */
	};
	struct sock_bufs *bufs;  /* NULL while both queues are empty */
	struct sock_ext *ext;    /* NULL until an option is set or the socket transmits (sock_ext_get) */
};

/*
 * A socket's transmit state, in its ext: what it needs only once it has
 * sent something that keeps state. Without ext the values are those of
 * ext_tx_init() (sock.c), which sk_rto(), sk_cwnd() ... answer.
 */
struct sock_tx {
	struct sock *sk;         /* the socket it belongs to: the timer's owner (tcp_timer_fire) */
	struct timer timer;      /* TIMER_RTX or TIMER_FINWAIT2 */
	uint32_t rtt_seq;        /* sequence being timed, valid if sk->rtt_on */
	uint32_t srtt_us, rttvar_us; /* RFC 6298 estimators, as Linux's srtt_us and mdev_us; 0: no sample yet */
	uint32_t fin_seq;        /* our FIN's sequence number, once sk->fin_sent */
	vtime_t rtt_start;       /* when rtt_seq went out */
	vtime_t rto;             /* the retransmission timeout (icsk_rto) */
	/* congestion control (cfg.model_cwnd), in segments, as Linux counts its packets */
	uint16_t cwnd;           /* snd_cwnd */
	uint16_t ssthresh;       /* snd_ssthresh; CWND_INFINITE: none yet */
	uint16_t cwnd_cnt;       /* snd_cwnd_cnt: segments acked toward the next +1 in avoidance */
	uint16_t peak_out;       /* most segments in flight since cwnd last changed */
};

/*
 * What few sockets need, kept apart so that the others do not pay for it:
 * the options an application set, and the transmit state. Allocated by
 * the first setsockopt() that needs it or the first transmission that
 * keeps state (a SYN, data, a FIN, a probe): a socket that only ever
 * acknowledges (a server's idle connection) has none. An accepted socket
 * takes a copy of its listener's options, as a Linux child inherits the
 * listener's options, but a transmit state of its own (sock_ext_copy).
 */
struct sock_ext {
	uint16_t user_mss;       /* TCP_MAXSEG (rx_opt.user_mss): caps the MSS both ways; 0: none */
	uint8_t nodelay : 1;     /* TCP_NODELAY */
	uint8_t cork : 1;        /* TCP_CORK: hold sub-MSS segments until uncorked */
	uint8_t rcvbuf_lock : 1, sndbuf_lock : 1; /* SO_RCVBUF / SO_SNDBUF set (SOCK_*BUF_LOCK) */
	uint32_t rcvbuf, sndbuf; /* sk_rcvbuf, sk_sndbuf when locked */
	uint8_t notsent_lowat_set : 1;
	uint8_t fastopen_connect : 1; /* TCP_FASTOPEN_CONNECT: connect() may wait for the first write */
	uint8_t defer_connect : 1; /* connect() returned 0 without a SYN: the first write sends it */
	uint8_t fastopen_req : 1; /* the SYN asks for a cookie or carries one */
	uint8_t fastopen_no_cookie : 1; /* TCP_FASTOPEN_NO_COOKIE */
	uint8_t syn_fastopen : 1; /* our SYN was a Fast Open one (tp->syn_fastopen) */
	uint32_t notsent_lowat;  /* TCP_NOTSENT_LOWAT (when set; else the sysctl) */
	uint32_t fastopen_qlen;  /* a listener's TCP_FASTOPEN (fastopenq.max_qlen); 0: no Fast Open */
	uint32_t syn_data;       /* bytes our SYN carried (tcp_send_syn_data) */
	struct sock_tx tx;       /* the transmit state: each socket's own, never copied */
};

/* sk's ext block, allocated on first use (a new socket's transmit state). NULL when memory runs out. */
struct sock_ext *sock_ext_get(struct stack *st, struct sock *sk);
/* A child's ext: from's options, a transmit state of its own. NULL when memory runs out. */
struct sock_ext *sock_ext_copy(struct stack *st, struct sock *sk, const struct sock_ext *from);

/* The listen state, or NULL: not a listener. */
static inline struct listen_state *sk_listen(const struct sock *sk)
{
	return sk->queued ? NULL : sk->ls;
}

/* Bytes in the send / receive queue. */
static inline uint32_t sk_snd_len(const struct sock *sk) { return sk->bufs ? sk->bufs->snd.len : 0; }
static inline uint32_t sk_rcv_len(const struct sock *sk) { return sk->bufs ? sk->bufs->rcv.len : 0; }

/*
 * 120 bytes (bench/sizes shows it; 128 with malloc's header): a SYN flood
 * below the cookie threshold holds one per SYN. Hence one-bit flags, a 32-bit time, and no timestamp
 * offset (tcp_ts_offset() recomputes it from the addresses).
 */
struct request_sock {
	struct sock_common c;
	struct sock *listener;
	struct request_sock *syn_next, *syn_prev;
	struct timer timer;
	uint32_t last_oow;       /* ms of the last answer to a duplicate SYN (0: none yet) */
	uint32_t iss, irs;
	uint32_t ts_recent;
	uint16_t mss;            /* MSS the peer announced (536 if none) */
	uint8_t snd_wscale, rcv_wscale;
	uint8_t retrans;         /* SYN-ACK retransmissions so far */
	uint8_t wscale_ok : 1, sack_ok : 1, tstamp_ok : 1;
	uint8_t acked : 1;       /* final ACK seen but dropped on overflow */
	uint8_t cookie : 1;      /* stands for a SYN cookie: never hashed */
	uint8_t ecn_ok : 1;      /* an ECN-setup SYN accepted: the SYN-ACK carries ECE (RFC 3168 6.1.1) */
};

struct tw_sock {
	struct sock_common c;
	struct bind_node bind;   /* must follow c: see bind_owner() */
	struct timer timer;
	uint32_t snd_nxt, rcv_nxt;
	uint32_t ts_recent;
	uint16_t win;            /* raw window field of our ACKs */
	uint8_t tstamp_ok, reuseaddr, reuseport;
};

static inline struct sock *sk_full(struct sock_common *c) { return container_of(c, struct sock, c); }
static inline struct request_sock *sk_req(struct sock_common *c) { return container_of(c, struct request_sock, c); }
static inline struct tw_sock *sk_tw(struct sock_common *c) { return container_of(c, struct tw_sock, c); }

_Static_assert(offsetof(struct sock, bind) == offsetof(struct tw_sock, bind),
	       "bind_owner() needs the bind node at one offset in both");

/* The socket or TIME_WAIT entry a bind node belongs to. */
static inline struct sock_common *bind_owner(struct bind_node *b)
{
	return (struct sock_common *)(void *)((char *)b - offsetof(struct sock, bind));
}

/* ---- established hash (ehash.c) -------------------------------------- */

/* Chains a growing table starts with (ehash.c). */
#define EHASH_START 256u

/*
 * One chain: its head and its tag. The tag counts the entries (low 4 bits,
 * EHASH_TAG_MANY: 15 or more, or not known) and filters their hashes (the
 * other 28: bit ehash_tag_bit(hash) of every entry, and maybe of
 * entries removed since; a miss that walks the whole chain makes it exact
 * again). A clear bit means no entry has that hash: a lookup that misses
 * (every new connection's SYN) reads the line it needs for the insert
 * that follows and nothing else. They share the line so that one miss
 * serves both.
 */
struct ehash_chain {
	struct sock_common *head; /* newest entry first, linked by next */
	uint32_t tag;             /* entry count and hash filter, as above */
};

#define EHASH_TAG_COUNT 0xfu
#define EHASH_TAG_MANY 0xfu

/* A hash's filter bit in a tag: from its top 8 bits, which no bucket number uses (at most 2^24 buckets). */
static inline uint32_t ehash_tag_bit(uint32_t hash)
{
	return 1u << (4 + (((hash >> 24) * 28) >> 8));
}

struct ehash {
	struct ehash_chain *b;   /* bmask + 1 chains; bucket i's entries are in chain i & bmask */
	uint32_t mask;           /* buckets - 1: what a lookup's bucket is the hash masked with */
	uint32_t bmask;          /* chains - 1 (<= mask: fewer only while a growing table is small) */
	uint32_t count;          /* entries */
	/*
	 * Of those, requests, TIME_WAIT entries and full sockets in
	 * ESTABLISHED (the rest are full sockets in other states): kept as
	 * entries come and go (ehash_count) and as a hashed socket changes
	 * state (sock_set_state), so that the summary's totals need no walk
	 * over every entry (200,000 cache misses at the end of a large replay).
	 */
	uint32_t requests, timewaits, established;
	uint64_t gen;            /* changes so far (from 1): a probe is current while it holds this */
};

/* Counts entry c into (delta 1) or out of (delta -1) the table's totals by its kind and state. */
static inline void ehash_count(struct ehash *eh, const struct sock_common *c, int delta)
{
	if (c->kind == SK_REQUEST)
		eh->requests += (uint32_t)delta;
	else if (c->kind == SK_TW)
		eh->timewaits += (uint32_t)delta;
	else if (c->state == TCP_ESTABLISHED)
		eh->established += (uint32_t)delta;
}

/* How many chains ahead of a walk over every chain its entries start loading. */
#define EHASH_WALK_AHEAD 32u

/*
 * For a walk that visits every chain in order (the summary's totals,
 * stack_free()), at chain i: starts loading the head entry of chain
 * i + EHASH_WALK_AHEAD, its first three lines (as much of a struct sock
 * as such walks read). The chains are read in order, but their entries
 * lie scattered over memory: a walk that waited for each in turn would
 * spend most of its time waiting (200,000 sockets: much of the end of a
 * replay). Always inlined and unconditional (a prefetch of address 128,
 * an empty chain's, is harmless): GCC 12 takes a function doing nothing but prefetch for one
 * without effects and drops its calls before it would inline them.
 */
static inline __attribute__((always_inline)) void ehash_prefetch_ahead(const struct ehash *eh, uint32_t i)
{
	uintptr_t c;

	if (eh->bmask - i < EHASH_WALK_AHEAD)
		return;
	/* As a number: NULL + 64 would be undefined behaviour (UBSan says so), a prefetch of address 64 is not. */
	c = (uintptr_t)eh->b[i + EHASH_WALK_AHEAD].head;
	__builtin_prefetch((const void *)c);
	__builtin_prefetch((const void *)(c + 64));
	__builtin_prefetch((const void *)(c + 128));
}

typedef void (*ehash_walk_fn)(void *ctx, struct sock_common *c, uint32_t bucket);

uint32_t ehash_hashfn(const struct stack *st, const struct ip_addr *laddr, uint16_t lport,
		      const struct ip_addr *raddr, uint16_t rport);
/* grow: the table may double later (cfg.ehash_grow), so it starts with fewer chains. */
int ehash_init(struct ehash *eh, uint32_t buckets, int grow);
/*
 * Calls fn for every entry, by bucket and each bucket's entries newest
 * first (the order lookups walk them). fn must not change the table.
 * Returns 0 or -ENOMEM (then nothing was walked).
 */
int ehash_walk(const struct ehash *eh, ehash_walk_fn fn, void *ctx);
void ehash_destroy(struct ehash *eh);
void ehash_insert(struct stack *st, struct sock_common *c);
/* The same, with c's 4-tuple hash already known (the lookup that missed computed it). */
void ehash_insert_hashed(struct stack *st, struct sock_common *c, uint32_t hash);
void ehash_remove(struct stack *st, struct sock_common *c);
/* Puts newc into oldc's place in its chain (request -> child, sock -> TIME_WAIT). */
void ehash_replace(struct stack *st, struct sock_common *oldc, struct sock_common *newc);
struct sock_common *ehash_lookup(struct stack *st, const struct ip_addr *laddr, uint16_t lport,
				 const struct ip_addr *raddr, uint16_t rport,
				 struct lookup_info *info);
/* The same, with the 4-tuple's hash already known. */
struct sock_common *ehash_lookup_hashed(struct stack *st, uint32_t hash, const struct ip_addr *laddr,
					uint16_t lport, const struct ip_addr *raddr, uint16_t rport,
					struct lookup_info *info);
/* The same through a probe: its lookup reused while current, else made and kept in it. */
struct sock_common *ehash_probe(struct stack *st, const struct ip_addr *laddr, uint16_t lport,
				const struct ip_addr *raddr, uint16_t rport, struct stack_probe *pr,
				struct lookup_info *info);

/* ---- listen table and bind table (listen.c) -------------------------- */

#define LHASH_SIZE 256
#define BHASH_SIZE 1024

struct listen_table {
	struct sock *b[LHASH_SIZE];
	struct sock *first, *last;
	uint32_t count;
	struct bind_node *bind[BHASH_SIZE];
};

int listen_table_insert(struct stack *st, struct sock *sk);
void listen_table_remove(struct stack *st, struct sock *sk);
struct sock *listener_lookup(struct stack *st, const struct ip_addr *daddr, uint16_t dport,
			     uint32_t hash, struct lookup_info *info);
int bind_conflict(struct stack *st, const struct sock *sk, const struct ip_addr *addr,
		  uint16_t port, int listening);
void bind_add(struct stack *st, struct bind_node *b, uint16_t port);
void bind_remove(struct stack *st, struct bind_node *b);
int bind_ephemeral(struct stack *st, struct sock *sk, const struct ip_addr *raddr, uint16_t rport);

/* ---- queues (queue.c) ------------------------------------------------ */

int accept_queue_full(const struct listen_state *ls);
int syn_queue_full(const struct listen_state *ls);
int accept_queue_reserve(struct listen_state *ls);
/* Appends child; the caller made room with accept_queue_reserve(). */
void accept_queue_push(struct stack *st, struct sock *listener, struct sock *child);
/* The i-th oldest child queued (i < ack_backlog). */
static inline struct sock *accept_queue_at(const struct listen_state *ls, uint32_t i)
{
	return ls->acc[(ls->acc_first + i) & (ls->acc_cap - 1)];
}
/* Frees a listen state (NULL: nothing) and its accept queue's ring. */
void listen_state_free(struct listen_state *ls);
struct sock *accept_pop(struct stack *st, struct sock *listener);
void accept_unpop(struct sock *listener, struct sock *child);
/* A Fast Open child left SYN_RECV or its listener's queue: one fewer pending (reqsk_fastopen_remove). */
void tfo_child_done(struct sock *sk);
void listen_purge(struct stack *st, struct sock *l, int reset);
void syn_queue_add(struct sock *listener, struct request_sock *req);
void syn_queue_unlink(struct sock *listener, struct request_sock *req);

/* ---- sockets (sock.c) ------------------------------------------------ */

/* Allocators (from st->socks): id 0 takes a fresh id; a connection changing form keeps its id. */
size_t sock_slot_size(void);
struct sock *sock_alloc(struct stack *st, int family, uint32_t id);
struct request_sock *reqsk_alloc(struct stack *st);
struct tw_sock *twsk_alloc(struct stack *st, uint32_t id);
/* Gives a dead object's memory back (its byte queues and listen state too). */
void sock_release(struct stack *st, struct sock_common *c);
/* Frees a request that became a child socket: no event, the id lives on. */
void reqsk_retire(struct stack *st, struct request_sock *req);
void sock_set_state(struct stack *st, struct sock *sk, int state);
/* Unhashes, unbinds, cancels timers; freed after the current events are out. */
void sock_destroy(struct stack *st, struct sock_common *c);
void sock_view_of(const struct stack *st, const struct sock_common *c, struct sock_view *v);
void listener_view_of(const struct sock *sk, struct listener_view *v);
/*
 * sys_adopt()'s socket without its descriptor: the 4-tuple, the adopted
 * sequence numbers and Linux's usual options, bound and in ehash (state
 * still to be set). bench/lookup builds millions of sockets with it.
 */
void sock_adopt_init(struct stack *st, struct sock *sk, const struct ip_addr *laddr, uint16_t lport,
		     const struct ip_addr *raddr, uint16_t rport, uint32_t snd_nxt, uint32_t rcv_nxt,
		     uint32_t snd_wnd, int ts);
int fd_install(struct stack *st, struct sock *sk);
struct sock *fd_lookup(struct stack *st, int fd);
void fd_release(struct stack *st, struct sock *sk);
/* A byte queue's first bytes come from st->bufs, slots of this size (sock.c). */
#define BUF_SMALL 1024u
/* Appends to sk's send (rcv 0) or receive (rcv 1) queue. Returns 0 or -ENOMEM (queue unchanged). */
int sock_queue_append(struct stack *st, struct sock *sk, int rcv, const uint8_t *p, uint32_t n);
/* Drops n bytes from the front of a queue; frees the queues once both are empty. */
void sock_queue_consume(struct stack *st, struct sock *sk, int rcv, uint32_t n);
void sock_queues_free(struct stack *st, struct sock *sk);

/* ---- events (stack.c) ------------------------------------------------ */

/* Queues an event; delivered in order by stack_flush(). */
void stack_emit(struct stack *st, const struct event *ev);
/* Queues an outbound segment event (payload copied). */
void stack_emit_out(struct stack *st, const struct segment *seg);
/*
 * With nobody observing (replay --quiet), counts a segment with these
 * flags as stack_emit_out() would and returns 1: nothing would read the
 * segment, so a sender that only builds it need not (its options, window
 * and timestamp, a keyed hash). Else 0: build it and emit it.
 */
int stack_out_unseen(struct stack *st, uint8_t flags);
/* Delivers queued events, then frees sockets destroyed meanwhile. */
void stack_flush(struct stack *st);
void stack_count(struct stack *st, int counter);
#ifdef TCPDEMUX_INVARIANTS
void stack_assert_invariants(struct stack *st);
#endif

/* ---- TCP (tcp_in.c, tcp_out.c) --------------------------------------- */

/* TCP_INIT_CWND (RFC 6928) and TCP_INFINITE_SSTHRESH, in 16 bits */
#define TCP_INIT_CWND 10
#define CWND_INFINITE 0xffff
/* TCP_MSS_DEFAULT: the MSS before a connection has one (RFC 9293 3.7.1) */
#define TCP_MSS_DEFAULT 536
/* SOCK_MIN_SNDBUF / SOCK_MIN_RCVBUF on 64-bit Linux: 2 * (2048 + sizeof(struct sk_buff)) and half */
#define SOCK_MIN_SNDBUF 4608u
#define SOCK_MIN_RCVBUF 2304u
/* RFC 7323: the timestamps option costs 12 bytes of every segment (10 + 2 NOPs). */
#define TCP_TS_COST 12
/* TCP_TIMEOUT_INIT (RFC 6298 2.1) and TCP_RTO_MAX */
#define TIMEOUT_INIT VT_SEC
#define RTO_MAX (120 * VT_SEC)

/* The transmit state of a socket without ext (it has sent nothing that keeps state): Linux's initial values. */
static inline vtime_t sk_rto(const struct sock *sk) { return sk->ext ? sk->ext->tx.rto : TIMEOUT_INIT; }
static inline uint32_t sk_srtt_us(const struct sock *sk) { return sk->ext ? sk->ext->tx.srtt_us : 0; }
static inline uint32_t sk_rttvar_us(const struct sock *sk) { return sk->ext ? sk->ext->tx.rttvar_us : 0; }
static inline uint16_t sk_cwnd(const struct sock *sk)
{
	return sk->ext ? sk->ext->tx.cwnd : sk->cwnd_model ? TCP_INIT_CWND : CWND_INFINITE;
}
static inline uint16_t sk_ssthresh(const struct sock *sk) { return sk->ext ? sk->ext->tx.ssthresh : CWND_INFINITE; }
/* Is sk's retransmission (or FIN_WAIT2) timer armed? */
static inline int sk_timer_armed(const struct sock *sk) { return sk->ext && timer_armed(&sk->ext->tx.timer); }
/* Arms sk's timer (allocating its ext). Returns 0 or -ENOMEM (nothing armed). */
int sk_timer_arm(struct stack *st, struct sock *sk, uint8_t kind, vtime_t when);
void sk_timer_cancel(struct stack *st, struct sock *sk);

/* Returns the descriptor of the full socket the segment reached, or -1. pr may be NULL. */
int tcp_input(struct stack *st, const struct segment *seg, int64_t frame, struct stack_probe *pr);
void tcp_timer_fire(struct stack *st, struct timer *t);

uint32_t tcp_isn(const struct stack *st, const struct ip_addr *laddr, uint16_t lport,
		 const struct ip_addr *raddr, uint16_t rport);
/* The timestamp offset of c's address pair (secure_tcp_ts_off): kept nowhere, recomputed. */
uint32_t tcp_ts_offset(const struct stack *st, const struct sock_common *c);
uint32_t tcp_ts_now(const struct stack *st, uint32_t off);
uint16_t tcp_our_mss(const struct stack *st, int family);
/* The MSS a socket announces: ours, capped by its TCP_MAXSEG. */
uint16_t tcp_adv_mss(const struct stack *st, const struct sock *sk, int family);
/* The receive buffer of sk (NULL: a socket without options): SO_RCVBUF or tcp_rmem[1]. */
uint32_t tcp_rcvbuf(const struct stack *st, const struct sock *sk);
/*
 * tcp_select_initial_window(): the window a SYN or SYN-ACK offers for a
 * receive buffer rcvbuf and segments of mss bytes, and the window scale to
 * announce (0 without window scaling).
 */
uint32_t tcp_initial_window(const struct stack *st, uint32_t rcvbuf, uint16_t mss);
uint8_t tcp_rcv_wscale(const struct stack *st, uint32_t rcvbuf);
uint16_t tcp_send_mss(uint16_t peer, uint16_t ours, int tstamp);

void tcp_send_reset(struct stack *st, const struct segment *in);
/* fo: a Fast Open cookie to put on this SYN-ACK (the first one only), or NULL. */
void tcp_send_synack(struct stack *st, struct request_sock *req, const struct tcp_opts *fo);
void tcp_send_syn(struct stack *st, struct sock *sk);
void tcp_send_ack(struct stack *st, struct sock *sk);
void tcp_send_ack_req(struct stack *st, struct request_sock *req);
void tcp_send_ack_tw(struct stack *st, struct tw_sock *tw);
void tcp_send_rst_sk(struct stack *st, struct sock *sk);
void tcp_push(struct stack *st, struct sock *sk);
void tcp_send_probe(struct stack *st, struct sock *sk);
void tcp_retransmit(struct stack *st, struct sock *sk);
/* Sends n bytes from snd_nxt in one segment (a Fast Open SYN's data again, as it went). */
void tcp_send_range(struct stack *st, struct sock *sk, uint32_t n);
uint16_t tcp_window_field(const struct stack *st, const struct sock *sk);
/* Bytes the receive queue can still take (the receive buffer less what waits to be read). */
uint32_t tcp_rcv_space(const struct stack *st, const struct sock *sk);
void tcp_rearm_rtx(struct stack *st, struct sock *sk);
void tcp_rtt_sample(struct sock *sk, vtime_t r);
/* Segments in flight: sent and not acknowledged (tcp_packets_in_flight without SACK). */
uint32_t tcp_packets_out(const struct sock *sk);
/* The congestion window of a new connection: IW10, no ssthresh (or unlimited without cfg.model_cwnd). */
void tcp_cwnd_init(const struct stack *st, struct sock *sk);
/* An ACK acknowledged acked segments: slow start or congestion avoidance (tcp_cong_avoid). */
void tcp_cwnd_acked(struct sock *sk, uint32_t acked);
/* The retransmission timer fired: tcp_enter_loss() - ssthresh from the flight, cwnd 1. */
void tcp_cwnd_loss(struct sock *sk);
vtime_t tcp_rto_backoff(vtime_t rto);
/* Returns the TIME_WAIT entry now holding the 4-tuple, or NULL (memory ran out: just closed). */
struct tw_sock *tcp_time_wait(struct stack *st, struct sock *sk);
void tcp_done(struct stack *st, struct sock *sk, int err);

/* ---- SYN cookies (cookie.c) ------------------------------------------ */

uint16_t cookie_mss_round(uint16_t mss, uint32_t *index);
uint32_t cookie_isn(const struct stack *st, const struct segment *syn, uint16_t *mss);
int cookie_check(const struct stack *st, const struct segment *ack, uint16_t *mss);
uint32_t cookie_ts_encode(uint32_t ts_now, int wscale_ok, uint8_t snd_wscale, int sack_ok);
void cookie_ts_decode(uint32_t tsecr, uint8_t *wscale_ok, uint8_t *snd_wscale, uint8_t *sack_ok);

/* ---- TCP Fast Open (fastopen.c) ------------------------------------ */

/* net.ipv4.tcp_fastopen bits */
#define TFO_CLIENT_ENABLE 1
#define TFO_SERVER_ENABLE 2
#define TFO_CLIENT_NO_COOKIE 4
#define TFO_SERVER_COOKIE_NOT_REQD 0x200
#define TFO_SERVER_WO_SOCKOPT1 0x400
#define TFO_COOKIE_LEN 8
#define TFO_CACHE_SIZE 64

struct tfo_cache_ent {
	struct ip_addr server;
	uint8_t len;             /* 0: asked, none given */
	uint8_t cookie[TCP_FASTOPEN_COOKIE_MAX];
	uint16_t mss;            /* the server's MSS, for the next SYN's data (0: none seen) */
};

/* The server's cookie for a SYN from src to dst (SipHash-2-4 under key). */
void tfo_cookie_gen(const struct stack *st, const struct ip_addr *src, const struct ip_addr *dst,
		    const uint32_t key[4], uint8_t cookie[TFO_COOKIE_LEN]);
/*
 * tcp_try_fastopen(): does the SYN l received go straight to a child
 * with its data? Returns 1 (a valid cookie, or none needed), or 0: then
 * *synack gets the cookie to send back when the SYN asked for one or
 * brought a wrong one (fo_kind stays 0 otherwise).
 */
int tfo_server_check(struct stack *st, const struct sock *l, const struct segment *syn, struct tcp_opts *synack);
/* The client's cached cookie for server: 1 and the cookie (len 0: asked, none given), or 0. */
int tfo_cache_get(const struct stack *st, const struct ip_addr *server, uint8_t *cookie, uint8_t *len,
		  uint16_t *mss);
void tfo_cache_set(struct stack *st, const struct ip_addr *server, const uint8_t *cookie, uint8_t len,
		   uint16_t mss);
/* tcp_fastopen_cookie_check(): may sk's SYN carry data - a cookie cached, or none needed? */
int tfo_have_cookie(const struct stack *st, const struct sock *sk);
/* MAX_TCP_OPTION_SPACE: what SYN data leaves for options */
#define TCP_OPTION_SPACE 40

/* ---- the stack -------------------------------------------------------- */

struct pending_ev {
	struct event ev;
	struct segment seg;  /* EV_SEGMENT_OUT's segment */
	size_t data_off;     /* its payload in pend_data */
};

struct stack {
	struct stack_config cfg;
	vtime_t now;
	stack_observer_fn obs;
	void *obs_ctx;
	uint64_t counters[CNT_COUNT];
	struct ehash ehash;
	struct listen_table lt;
	struct timer_heap timers;
	struct obj_pool socks;         /* sockets, requests, TIME_WAIT entries, byte-queue heads and ext blocks (pool.c) */
	struct obj_pool bufs;          /* the first BUF_SMALL bytes of byte queues (sock.c) */
	struct sock **fds;
	int nfds;
	int fd_hint;                   /* no free descriptor below this one */
	uint64_t *fd_used;             /* a bit per descriptor (sock.c) */
	uint64_t *fd_full;             /* a bit per all-ones word of fd_used */
	struct ip_addr *addrs;         /* the local addresses, in stack_add_addr() order */
	int naddrs;
	int cap_addrs;                 /* room in addrs */
	uint32_t *addr_index;          /* open addressing over addrs: index + 1, 0 empty (stack.c) */
	uint32_t addr_mask;            /* addr_index's size - 1; 0 while there is no index */
	uint32_t next_id;
	uint32_t nsocks;               /* sockets + requests + TIME_WAIT alive */
	uint32_t big_bufs;             /* byte queues grown past BUF_SMALL into malloc()ed memory (stack_free) */
	uint32_t isn_key, ts_key, port_key;
	struct pending_ev *pend;
	size_t npend, cap_pend;
	uint8_t *pend_data;
	size_t pend_used, pend_cap;
	struct sock_common *grave;     /* destroyed, freed at the next flush */
	uint64_t ops;                  /* operations whose events were delivered (event.op) */
	stack_isn_fn isn_fn;
	void *isn_ctx;
	stack_cookie_fn cookie_fn;
	void *cookie_ctx;
	int64_t frame;                 /* frame being processed, for events */
	struct stack_probe *probe;     /* the probe tcp_input() was given for its segment, while it runs (ehash_replace) */
	struct tfo_cache_ent tfo[TFO_CACHE_SIZE]; /* the client's Fast Open cookies */
	uint32_t ntfo, tfo_next;
	uint32_t invariant_steps;      /* debug builds: steps since the last full check */
};

#endif
