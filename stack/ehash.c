/*
 * ehash.c - the established hash: every socket with a full 4-tuple.
 *
 * Path: tcp_input() -> ehash_lookup() first; only a miss goes on to
 * listener_lookup(). Mirrors Linux's inet_ehashfn() and
 * __inet_lookup_established(): one table for ESTABLISHED-and-later sockets,
 * SYN_SENT sockets, request sockets (TCP_NEW_SYN_RECV, since 4.4) and
 * TIME_WAIT minisockets, so a handshake's final ACK never has to touch the
 * listener to find its request.
 *
 * Chains are singly linked with the newest entry first (Linux adds at the
 * head too). Each entry caches its full hash so a walk skips mismatches
 * with one compare before comparing addresses, as the kernel does with
 * sk_hash.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "internal.h"

uint32_t stack_ehash(uint32_t seed, const struct ip_addr *laddr, uint16_t lport,
		     const struct ip_addr *raddr, uint16_t rport)
{
	int v6 = laddr->family == ADDR_V6;

	/* inet_ehashfn: jhash_3words(laddr, faddr, lport << 16 | fport, secret) */
	return hash_3words(hash_addr(laddr->a, v6, seed), hash_addr(raddr->a, v6, seed),
			   (uint32_t)lport << 16 | rport, seed);
}

uint32_t ehash_hashfn(const struct stack *st, const struct ip_addr *laddr, uint16_t lport,
		      const struct ip_addr *raddr, uint16_t rport)
{
	return stack_ehash(st->cfg.hash_seed, laddr, lport, raddr, rport);
}

void stack_ehash_stats(const struct stack *st, struct ehash_stats *out)
{
	uint32_t i;

	memset(out, 0, sizeof(*out));
	for (i = 0; i <= st->ehash.mask; i++) {
		const struct sock_common *c;
		uint32_t n = 0;

		for (c = st->ehash.b[i]; c; c = c->next)
			n++;
		if (!n)
			continue;
		out->used_buckets++;
		out->entries += n;
		if (n > out->max_chain)
			out->max_chain = n;
	}
	out->mean_chain = out->used_buckets ? (double)out->entries / out->used_buckets : 0.0;
}

int ehash_init(struct ehash *eh, uint32_t buckets)
{
	if (buckets == 0 || (buckets & (buckets - 1)))
		return -EINVAL;
	eh->b = calloc(buckets, sizeof(*eh->b));
	if (!eh->b)
		return -ENOMEM;
	eh->mask = buckets - 1;
	eh->count = 0;
	return 0;
}

void ehash_destroy(struct ehash *eh)
{
	free(eh->b);
	eh->b = NULL;
}

/*
 * Doubles the bucket array, keeping every entry's cached hash. Linux sizes
 * its table once at boot from the memory size; a replay cannot know how
 * many connections a capture holds, so with ehash_grow it grows instead,
 * which keeps chains short (mean under 2) at any size. Each entry moves
 * once per doubling: amortised O(1) per insert. On ENOMEM the table stays
 * as it is, still correct with longer chains.
 */
static void ehash_grow(struct ehash *eh)
{
	uint32_t n = (eh->mask + 1) * 2, i;
	struct sock_common **b = calloc(n, sizeof(*b));

	if (!b)
		return;
	for (i = 0; i <= eh->mask; i++) {
		/* Walked from the tail so each new chain keeps the old order (newest first). */
		struct sock_common *rev = NULL, *c, *next;

		for (c = eh->b[i]; c; c = next) {
			next = c->next;
			c->next = rev;
			rev = c;
		}
		for (c = rev; c; c = next) {
			next = c->next;
			c->next = b[c->hash & (n - 1)];
			b[c->hash & (n - 1)] = c;
		}
	}
	free(eh->b);
	eh->b = b;
	eh->mask = n - 1;
}

void ehash_insert(struct stack *st, struct sock_common *c)
{
	ehash_insert_hashed(st, c, ehash_hashfn(st, &c->laddr, c->lport, &c->raddr, c->rport));
}

void ehash_insert_hashed(struct stack *st, struct sock_common *c, uint32_t hash)
{
	struct ehash *eh = &st->ehash;

	c->hash = hash;
	c->next = eh->b[c->hash & eh->mask];
	eh->b[c->hash & eh->mask] = c;
	c->hashed = 1;
	eh->count++;
	if (st->cfg.ehash_grow && eh->count > 2 * (eh->mask + 1) && eh->mask < EHASH_MAX_BUCKETS - 1)
		ehash_grow(eh);
}

static struct sock_common **ehash_slot_of(struct ehash *eh, struct sock_common *c)
{
	struct sock_common **pp = &eh->b[c->hash & eh->mask];

	while (*pp && *pp != c)
		pp = &(*pp)->next;
	return *pp ? pp : NULL;
}

void ehash_remove(struct stack *st, struct sock_common *c)
{
	struct sock_common **pp;

	if (!c->hashed)
		return;
	pp = ehash_slot_of(&st->ehash, c);
	if (pp) {
		*pp = c->next;
		st->ehash.count--;
	}
	c->next = NULL;
	c->hashed = 0;
}

/*
 * Like inet_ehash_nolisten() with an osk: the newcomer takes the old
 * entry's place, so there is no moment where the 4-tuple is unhashed and a
 * segment could fall through to the listener.
 */
void ehash_replace(struct stack *st, struct sock_common *oldc, struct sock_common *newc)
{
	struct sock_common **pp = ehash_slot_of(&st->ehash, oldc);

	newc->hash = oldc->hash;
	if (!pp) {
		ehash_insert(st, newc);
		return;
	}
	newc->next = oldc->next;
	newc->hashed = 1;
	*pp = newc;
	oldc->next = NULL;
	oldc->hashed = 0;
}

/*
 * Finds the entry whose 4-tuple matches exactly. Fills *info with the hash,
 * the bucket and how many chain entries were examined (the lookup cost a
 * hash-flood demo shows). Returns NULL on a miss; nothing is changed.
 */
struct sock_common *ehash_lookup(struct stack *st, const struct ip_addr *laddr, uint16_t lport,
				 const struct ip_addr *raddr, uint16_t rport,
				 struct lookup_info *info)
{
	uint32_t hash = ehash_hashfn(st, laddr, lport, raddr, rport);
	struct sock_common *c;

	info->hash = hash;
	info->bucket = hash & st->ehash.mask;
	info->walked = 0;
	for (c = st->ehash.b[info->bucket]; c; c = c->next) {
		info->walked++;
		if (c->hash != hash)
			continue;
		if (c->lport == lport && c->rport == rport && addr_equal(&c->laddr, laddr) &&
		    addr_equal(&c->raddr, raddr))
			return c;
	}
	return NULL;
}
