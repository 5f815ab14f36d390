/*
 * fanin.c - see fanin.h.
 */
#include <errno.h>
#include <string.h>

#include "fanin.h"

#define K_CONN 7 /* a connection, its lower end first: seen */
#define K_END 8  /* an endpoint: seq = its distinct peers */

int fanin_init(struct fanin *f)
{
	return tmap_init(&f->m);
}

void fanin_free(struct fanin *f)
{
	tmap_free(&f->m);
}

/* Whether a:pa sorts before b:pb, so that both directions of a connection make one key. */
static int end_before(const struct ip_addr *a, uint16_t pa, const struct ip_addr *b, uint16_t pb)
{
	int c = memcmp(a->a, b->a, sizeof(a->a));

	return c < 0 || (c == 0 && pa < pb);
}

static int count_end(struct fanin *f, const struct ip_addr *a, uint16_t port)
{
	static const struct ip_addr none;
	struct tuple_key k;
	struct tentry *e;
	int added;

	tkey_set(&k, K_END, a, port, &none, 0);
	e = tmap_put(&f->m, &k, &added);
	if (!e)
		return -ENOMEM;
	e->seq++;
	return 0;
}

int fanin_add(struct fanin *f, const struct segment *seg)
{
	struct tuple_key k;
	int added;

	if (end_before(&seg->src, seg->sport, &seg->dst, seg->dport))
		tkey_set(&k, K_CONN, &seg->src, seg->sport, &seg->dst, seg->dport);
	else
		tkey_set(&k, K_CONN, &seg->dst, seg->dport, &seg->src, seg->sport);
	if (!f->m.b || !tmap_put(&f->m, &k, &added))
		return -ENOMEM;
	if (!added)
		return 0;
	if (count_end(f, &seg->src, seg->sport) < 0 || count_end(f, &seg->dst, seg->dport) < 0)
		return -ENOMEM;
	return 0;
}

uint32_t fanin_peers(struct fanin *f, const struct ip_addr *a, uint16_t port)
{
	static const struct ip_addr none;
	struct tuple_key k;
	struct tentry *e;

	if (!f->m.b)
		return 0;
	tkey_set(&k, K_END, a, port, &none, 0);
	e = tmap_get(&f->m, &k);
	return e ? e->seq : 0;
}
