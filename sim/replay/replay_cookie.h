/*
 * replay_cookie.h - the SYN cookies the recorded kernel issued, remembered
 * so that the ACK returning one is accepted as the kernel accepted it.
 *
 * Path: replay.c's ISN hook (a SYN answered with a cookie: the recorded
 *       SYN-ACK's ISN) -> replay_cookie_remember(); the stack's cookie hook
 *       -> replay_cookie_check() when an ACK reaches a listener.
 *
 * A cookie is an ISN computed with a secret the kernel never shows, so the
 * recorded SYN-ACK's ISN stands for it. Entries are forgotten once used or
 * after COOKIE_KEEP, and at most COOKIE_MAX are kept: a SYN flood must not
 * grow memory.
 */
#ifndef TCPDEMUX_REPLAY_COOKIE_H
#define TCPDEMUX_REPLAY_COOKIE_H

#include <stdint.h>

#include "segment.h"
#include "stack.h"
#include "tuplemap.h"

struct replay_cookies {
	struct tuplemap map;  /* client's 4-tuple -> seq: the cookie (ISN), ack: its MSS, frame: when */
	vtime_t last_sweep;   /* when expired entries were last forgotten */
};

/* Returns 0 or -ENOMEM. */
int replay_cookie_init(struct replay_cookies *c);
void replay_cookie_free(struct replay_cookies *c);

/*
 * The kernel answered syn with the cookie isn at time now. Forgotten
 * silently when COOKIE_MAX are already remembered (the ACK is then checked
 * against the stack's own cookies, and reset) or memory runs out.
 */
void replay_cookie_remember(struct replay_cookies *c, const struct segment *syn, uint32_t isn,
			    vtime_t now);

/*
 * The stack's cookie hook (stack_cookie_fn, ctx = the replay_cookies): 1
 * when ack acknowledges a remembered cookie (*mss set; the entry is used
 * up), 0 when the 4-tuple had a cookie and ack does not acknowledge it,
 * -1 when the recorded kernel issued none for it.
 */
int replay_cookie_check(void *ctx, const struct segment *ack, uint16_t *mss);

/* Did the kernel issue a cookie to the sender of seg (still remembered)? */
int replay_cookie_known(struct replay_cookies *c, const struct segment *seg);

/* Forgets cookies too old to be accepted, now. */
void replay_cookie_sweep_now(struct replay_cookies *c, vtime_t now);

/* The same at most every 10 s of virtual time (called for every frame). */
static inline void replay_cookie_sweep(struct replay_cookies *c, vtime_t now)
{
	if (now - c->last_sweep >= 10 * VT_SEC)
		replay_cookie_sweep_now(c, now);
}

#endif
