/*
 * tuplemap.c - see tuplemap.h. Chained buckets, doubled when the load
 * passes one entry per bucket.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "stack.h"
#include "tuplemap.h"

int tmap_init(struct tuplemap *m)
{
	m->mask = 255;
	m->count = 0;
	m->b = calloc(m->mask + 1, sizeof(*m->b));
	return m->b ? 0 : -ENOMEM;
}

void tmap_free(struct tuplemap *m)
{
	uint32_t i;

	if (!m->b)
		return;
	for (i = 0; i <= m->mask; i++) {
		while (m->b[i]) {
			struct tentry *e = m->b[i];

			m->b[i] = e->next;
			free(e);
		}
	}
	free(m->b);
	m->b = NULL;
}

void tkey_set(struct tuple_key *k, uint8_t kind, const struct ip_addr *a, uint16_t pa,
	      const struct ip_addr *b, uint16_t pb)
{
	memset(k, 0, sizeof(*k));
	k->kind = kind;
	k->a = *a;
	k->b = *b;
	k->pa = pa;
	k->pb = pb;
}

/* The stack's ehash function, keyed by the kind: these maps need speed, not a secret. */
static uint32_t tkey_hash(const struct tuple_key *k)
{
	return stack_ehash(k->kind, &k->a, k->pa, &k->b, k->pb);
}

static int tkey_eq(const struct tuple_key *x, const struct tuple_key *y)
{
	return memcmp(x, y, sizeof(*x)) == 0;
}

static struct tentry *tmap_find(const struct tuplemap *m, const struct tuple_key *k, uint32_t h);

struct tentry *tmap_get(struct tuplemap *m, const struct tuple_key *k)
{
	return tmap_find(m, k, tkey_hash(k));
}

static void grow(struct tuplemap *m)
{
	uint32_t n = (m->mask + 1) * 2, i;
	struct tentry **b = calloc(n, sizeof(*b));

	if (!b)
		return; /* longer chains, still correct */
	for (i = 0; i <= m->mask; i++) {
		while (m->b[i]) {
			struct tentry *e = m->b[i];

			m->b[i] = e->next;
			e->next = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
		}
	}
	free(m->b);
	m->b = b;
	m->mask = n - 1;
}

static struct tentry *tmap_find(const struct tuplemap *m, const struct tuple_key *k, uint32_t h)
{
	struct tentry *e;

	for (e = m->b[h & m->mask]; e; e = e->next)
		if (e->hash == h && tkey_eq(&e->k, k))
			return e;
	return NULL;
}

struct tentry *tmap_put(struct tuplemap *m, const struct tuple_key *k, int *added)
{
	uint32_t h = tkey_hash(k);
	struct tentry *e = tmap_find(m, k, h);

	*added = 0;
	if (e)
		return e;
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->k = *k;
	e->hash = h;
	e->fd = -1;
	e->next = m->b[e->hash & m->mask];
	m->b[e->hash & m->mask] = e;
	m->count++;
	*added = 1;
	if (m->count > m->mask + 1)
		grow(m);
	return e;
}

void tmap_sweep(struct tuplemap *m, int (*drop)(void *ctx, struct tentry *e), void *ctx)
{
	uint32_t i;

	for (i = 0; m->b && i <= m->mask; i++) {
		struct tentry **pp = &m->b[i];

		while (*pp) {
			struct tentry *e = *pp;

			if (drop(ctx, e)) {
				*pp = e->next;
				m->count--;
				free(e);
			} else {
				pp = &e->next;
			}
		}
	}
}

void tmap_del(struct tuplemap *m, struct tentry *e)
{
	struct tentry **pp = &m->b[e->hash & m->mask];

	while (*pp && *pp != e)
		pp = &(*pp)->next;
	if (*pp) {
		*pp = e->next;
		m->count--;
		free(e);
	}
}
