/*
 * tuplemap.h - a hash map keyed on (kind, 4-tuple), for drivers' own
 * bookkeeping: the SYN cookies a replay adopted, the connections synth's
 * simulated hosts hold.
 *
 * The stack keeps its tables to itself; a driver that needs a few facts of
 * its own per 4-tuple keeps them here. Entries are removed as they stop
 * mattering, so memory follows live connections.
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

/*
 * Calls drop(ctx, e) for every entry and removes those it returns nonzero
 * for (drop frees what e->ptr owns first). drop must not change the map.
 */
void tmap_sweep(struct tuplemap *m, int (*drop)(void *ctx, struct tentry *e), void *ctx);

#endif
