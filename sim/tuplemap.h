/*
 * tuplemap.h - a hash map keyed on (kind, 4-tuple), for the replay's own
 * bookkeeping: the application's connections and the look-ahead index.
 *
 * The stack keeps its tables to itself; the replay driver needs a few
 * facts per connection of its own (which descriptor, how much of the
 * recorded payload was already sent), so it keeps them here. Entries are
 * removed as connections end, so memory follows live connections.
 */
#ifndef TCPDEMUX_TUPLEMAP_H
#define TCPDEMUX_TUPLEMAP_H

#include <stdint.h>

#include "addr.h"

struct tuple_key {
	struct ip_addr a, b;
	uint16_t pa, pb;
	uint8_t kind;
};

struct tentry {
	struct tentry *next;
	uint32_t hash;
	struct tuple_key k;
	/* values, used as each kind needs */
	int64_t frame;
	uint32_t seq, ack;
	int fd;
	uint8_t have_seq, fin_done;
	void *ptr;
};

struct tuplemap {
	struct tentry **b;
	uint32_t mask;
	uint32_t count;
};

/* Returns 0 or -ENOMEM. */
int tmap_init(struct tuplemap *m);
void tmap_free(struct tuplemap *m);

void tkey_set(struct tuple_key *k, uint8_t kind, const struct ip_addr *a, uint16_t pa,
	      const struct ip_addr *b, uint16_t pb);

struct tentry *tmap_get(struct tuplemap *m, const struct tuple_key *k);

/* Returns the entry for k, adding a zeroed one if absent; NULL if memory runs out. */
struct tentry *tmap_put(struct tuplemap *m, const struct tuple_key *k, int *added);

void tmap_del(struct tuplemap *m, struct tentry *e);

#endif
