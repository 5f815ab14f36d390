/*
 * helpers.h - small tools every Check suite shares: a stack with a
 * recorder attached, a segment builder, a peer played by hand, and a
 * drain-and-check teardown.
 *
 * Path in a test: ts_new() -> ts_seg()/ts_in() or peer_send() feed a
 * segment -> t->in (the EV_SEGMENT_IN it produced) and t->out[] (what was
 * sent) -> ts_free() checks the invariants and that nothing was left
 * behind. The recorder holds TS_MAX_OUT segments and TS_MAX_EV events
 * since ts_new() or ts_clear(); one more fails the test, naming the limit.
 */
#ifndef TCPDEMUX_TEST_HELPERS_H
#define TCPDEMUX_TEST_HELPERS_H

#include <check.h>

#include "internal.h"
#include "socket.h"
#include "stack.h"

#define TS_MAX_OUT 256
#define TS_MAX_EV 256
#define TS_DATA_MAX 4096

/* Local addresses of every test stack. */
#define TS_LOCAL4 "10.0.0.1"
#define TS_LOCAL6 "2001:db8::1"

/* The server port and the two clients most tests use (open_conn() takes the first two). */
#define TS_SERVER "10.0.0.1:80"
#define TS_CLIENT "10.0.0.2:40000"
#define TS_CLIENT2 "10.0.0.2:40001"

struct tstack {
	struct stack *st;
	/* outbound segments, oldest first; payload copied into out_data */
	struct segment out[TS_MAX_OUT];
	uint8_t out_data[TS_MAX_OUT][TS_DATA_MAX];
	int nout;
	/* every event (segment pointers cleared), oldest first */
	struct event ev[TS_MAX_EV];
	int nev;
	/* the last EV_SEGMENT_IN */
	struct event in;
	int nin;
};

/* The tests' defaults: Linux's (stack_config_init), hash seed 1, 1024 buckets. */
void ts_config(struct stack_config *c);

/* A stack with ts_config()'s settings unless cfg says otherwise (cfg may be NULL). */
struct tstack *ts_new(const struct stack_config *cfg);

/* Asserts stack_check(): every table and queue agrees with every other. */
void ts_check(struct tstack *t);

/*
 * Checks stack_check(), then stops recording, closes every descriptor,
 * runs the clock an hour on so every timer ends, and asserts that no
 * socket, request or TIME_WAIT entry is left before freeing the stack.
 */
void ts_free(struct tstack *t);

/* Forgets the recorded segments and events (not the stack). */
void ts_clear(struct tstack *t);

/* "10.0.0.2:1234" style endpoints. */
struct segment ts_seg(const char *src, const char *dst, uint8_t flags, uint32_t seq, uint32_t ack);

/* Feeds seg and returns the number of segments it made the stack send. */
int ts_in(struct tstack *t, const struct segment *seg);

/* Advances the clock to absolute time `at` (ns); returns segments sent meanwhile. */
int ts_advance(struct tstack *t, vtime_t at);

/* The i-th outbound segment, counting from the oldest (i >= 0) or newest (i < 0: -1 is last). */
const struct segment *ts_out(const struct tstack *t, int i);

/* Opens socket+bind+listen on ep; returns the fd (asserts success). */
int ts_listen(struct tstack *t, const char *ep, int backlog);

/*
 * Plays a client's three-way handshake against a listener on dst from src
 * with client ISN isn. Returns the server's ISN (from its SYN-ACK).
 */
uint32_t ts_handshake(struct tstack *t, const char *src, const char *dst, uint32_t isn);

/* Asserts a segment's flags, seq and ack; `what` names it in the failure message. */
void ts_expect_seg(const struct segment *s, uint8_t flags, uint32_t seq, uint32_t ack,
		   const char *what);

/* Number of recorded events of one type. */
int ts_count(const struct tstack *t, int type);

/* ---- playing the peer by hand (lwIP's test/unit/tcp style) ---------------- */

/* The peer's half of one connection. */
struct peer {
	char ep[ADDR_STRLEN];    /* the peer's endpoint */
	char local[ADDR_STRLEN]; /* the stack's endpoint */
	uint32_t nxt;            /* the peer's next sequence number */
	uint32_t ack;            /* what it acknowledges: the stack's next sequence number */
	uint16_t win;            /* raw window field it sends (65535 after peer_init) */
	uint8_t ts;              /* send a timestamps option ... */
	uint32_t tsval, tsecr;   /* ... with these values */
};

/* A peer at ep talking to the stack's local endpoint, its first sequence number isn. */
void peer_init(struct peer *p, const char *ep, const char *local, uint32_t isn);

/* A segment from the peer with its current numbers (ack only with TH_ACK); data may be NULL. */
struct segment peer_seg(const struct peer *p, uint8_t flags, const char *data);

/* Feeds peer_seg() in and moves p->nxt past it. Returns the number of segments sent in answer. */
int peer_send(struct tstack *t, struct peer *p, uint8_t flags, const char *data);

/*
 * Plays the peer's side of a passive open against listener lfd: SYN with
 * options *opt (NULL: none), then the final ACK with window p->win, then
 * accept(). Asserts each step; returns the accepted descriptor. After it
 * p->nxt is the peer's ISN + 1 and p->ack the stack's.
 */
int peer_connect(struct tstack *t, struct peer *p, int lfd, const struct tcp_opts *opt);

/* A fresh listener on TS_SERVER (*lfd, backlog 8) and a connection to it from TS_CLIENT with ISN isn. */
int open_conn(struct tstack *t, struct peer *p, int *lfd, uint32_t isn);

/*
 * Asserts what the last inbound segment did: its action (enum seg_action)
 * and the counter that explains it (enum counter, or -1 for none).
 */
void expect_action(const struct tstack *t, int action, int reason, const char *what);

#endif
