/*
 * fanin.h - which end of a connection is the server, when no handshake
 * says: the end more peers talk to.
 *
 * Path: replay.c's infer_servers() (a capture in which no host answered a
 * SYN) -> here, with the segments of its first window -> back to
 * replay.c, which takes the servers as local. Nothing here calls out.
 *
 * A service is many clients to one address:port (fan-in); a client's
 * ephemeral port talks to one peer. So for each endpoint the number of
 * distinct peer endpoints it exchanged segments with is counted, and of
 * a connection's two ends the one with more peers is the server. Where
 * both have as many (one connection alone), the caller falls back to the
 * lower port.
 */
#ifndef TCPDEMUX_FANIN_H
#define TCPDEMUX_FANIN_H

#include <stdint.h>

#include "segment.h"
#include "tuplemap.h"

struct fanin {
	struct tuplemap m; /* endpoint -> seq: its distinct peers; a connection -> (seen) */
};

/* Returns 0 or -ENOMEM (f is then empty but safe to add to and free). */
int fanin_init(struct fanin *f);
void fanin_free(struct fanin *f);

/*
 * Counts the connection seg belongs to (either direction), once: each of
 * its ends has one more peer. Returns 0 or -ENOMEM (the counts stay as
 * they were).
 */
int fanin_add(struct fanin *f, const struct segment *seg);

/* How many distinct peers the endpoint a:port exchanged segments with (0: none seen). */
uint32_t fanin_peers(struct fanin *f, const struct ip_addr *a, uint16_t port);

#endif
