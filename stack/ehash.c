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
 *
 * The table's size (mask + 1 buckets) is what lookups, events and tables
 * report. A table that may grow (ehash_grow: a replay without --buckets)
 * starts with fewer chains than that in memory (bmask + 1, from
 * EHASH_START), doubled whenever it holds more entries than chains, until
 * they are as many as the buckets: a capture of three connections does
 * not allocate, clear and walk 65536 chains (512 KiB, most of the fixed
 * cost of a small replay). Chain bucket & bmask then holds the entries of
 * every bucket that shares its low bits, newest first as ever, so each
 * bucket's own entries are still in the order its own chain would hold
 * them; a lookup counts (walked) only the entries of its bucket, and the
 * walks over the table put them in bucket order. A fixed table (demos,
 * scripts, --buckets) has one chain per bucket from the start.
 *
 * Beside each chain's head a 32-bit tag counts its entries and filters
 * their hashes (struct ehash_chain). A lookup that misses, as every new
 * connection's SYN does, reads the head's line and, when the filter rules
 * the hash out, is done: without it the miss walked every entry of the
 * chain, sockets scattered over a heap far larger than the cache (one or
 * two cache misses more per SYN with 200,000 connections). Linux has no
 * such filter: its table is sized to memory and its chains mostly empty.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "internal.h"

/* stack_ehash(), inlined where every segment computes it (its probe, its prefetch). */
static inline __attribute__((always_inline)) uint32_t
ehash_of(uint32_t seed, const struct ip_addr *laddr, uint16_t lport, const struct ip_addr *raddr, uint16_t rport)
{
	int v6 = laddr->family == ADDR_V6;

	/* inet_ehashfn: jhash_3words(laddr, faddr, lport << 16 | fport, secret) */
	return hash_3words(hash_addr(laddr->a, v6, seed), hash_addr(raddr->a, v6, seed),
			   (uint32_t)lport << 16 | rport, seed);
}

uint32_t stack_ehash(uint32_t seed, const struct ip_addr *laddr, uint16_t lport,
		     const struct ip_addr *raddr, uint16_t rport)
{
	return ehash_of(seed, laddr, lport, raddr, rport);
}

/* An entry with this hash joined the chain tagged *t. */
static void tag_add(uint32_t *t, uint32_t hash)
{
	*t |= ehash_tag_bit(hash);
	if ((*t & EHASH_TAG_COUNT) != EHASH_TAG_MANY)
		(*t)++;
}

/* An entry left the chain tagged *t: counted out; its filter bit stays (another entry may share it). */
static void tag_del(uint32_t *t)
{
	uint32_t n = *t & EHASH_TAG_COUNT;

	if (n == 1)
		*t = 0;
	else if (n != EHASH_TAG_MANY)
		(*t)--;
}

uint32_t ehash_hashfn(const struct stack *st, const struct ip_addr *laddr, uint16_t lport,
		      const struct ip_addr *raddr, uint16_t rport)
{
	return ehash_of(st->cfg.hash_seed, laddr, lport, raddr, rport);
}

/* An entry and its place in its chain's walk, for sorting into bucket order. */
struct ehash_pos {
	struct sock_common *c;
	uint32_t bucket;  /* hash & mask */
	uint32_t order;   /* position in the walk over the chains */
};

static int pos_cmp(const void *a, const void *b)
{
	const struct ehash_pos *x = a, *y = b;

	if (x->bucket != y->bucket)
		return x->bucket < y->bucket ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

int ehash_walk(const struct ehash *eh, ehash_walk_fn fn, void *ctx)
{
	struct ehash_pos *v;
	uint32_t i, n = 0;

	if (eh->bmask == eh->mask) {
		/* One chain per bucket: the chains in order are the buckets in order. */
		for (i = 0; i <= eh->mask; i++) {
			struct sock_common *c;

			for (c = eh->b[i].head; c; c = c->next)
				fn(ctx, c, i);
		}
		return 0;
	}
	/* Fewer chains than buckets: then the entries are fewer than the chains. */
	v = malloc((eh->count ? eh->count : 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (i = 0; i <= eh->bmask; i++) {
		struct sock_common *c;

		for (c = eh->b[i].head; c; c = c->next) {
			v[n].c = c;
			v[n].bucket = c->hash & eh->mask;
			v[n].order = n;
			n++;
		}
	}
	qsort(v, n, sizeof(*v), pos_cmp);
	for (i = 0; i < n; i++)
		fn(ctx, v[i].c, v[i].bucket);
	free(v);
	return 0;
}

struct stats_ctx {
	struct ehash_stats *out;
	uint32_t bucket;  /* the bucket being counted */
	uint32_t n;       /* its entries so far */
};

static void stats_close(struct stats_ctx *x)
{
	if (!x->n)
		return;
	x->out->used_buckets++;
	x->out->entries += x->n;
	if (x->n > x->out->max_chain)
		x->out->max_chain = x->n;
	x->n = 0;
}

static void stats_one(void *ctx, struct sock_common *c, uint32_t bucket)
{
	struct stats_ctx *x = ctx;

	(void)c;
	if (x->n && bucket != x->bucket)
		stats_close(x);
	x->bucket = bucket;
	x->n++;
}

void stack_ehash_stats(const struct stack *st, struct ehash_stats *out)
{
	struct stats_ctx x = { out, 0, 0 };

	memset(out, 0, sizeof(*out));
	ehash_walk(&st->ehash, stats_one, &x);
	stats_close(&x);
	out->mean_chain = out->used_buckets ? (double)out->entries / out->used_buckets : 0.0;
}

int ehash_init(struct ehash *eh, uint32_t buckets, int grow)
{
	uint32_t chains = buckets;

	if (buckets == 0 || (buckets & (buckets - 1)))
		return -EINVAL;
	if (grow && chains > EHASH_START)
		chains = EHASH_START;
	eh->b = calloc(chains, sizeof(*eh->b));
	if (!eh->b)
		return -ENOMEM;
	eh->mask = buckets - 1;
	eh->bmask = chains - 1;
	eh->count = 0;
	eh->gen = 1; /* a probe with gen 0 never matches */
	return 0;
}

void ehash_destroy(struct ehash *eh)
{
	free(eh->b);
	eh->b = NULL;
}

/*
 * Doubles the chain array, keeping every entry's cached hash, and with it
 * the table when the chains were as many as the buckets. Linux sizes its
 * table once at boot from the memory size; a replay cannot know how many
 * connections a capture holds, so with ehash_grow it grows instead, which
 * keeps chains short (mean under 2) at any size. Each entry moves once per
 * doubling: amortised O(1) per insert. On ENOMEM the table stays as it
 * is, still correct with longer chains (and, should the buckets have been
 * due to double, with the bucket numbers it had). Never inlined: inside
 * ehash_insert_hashed() it made every insert save and restore registers.
 */
/*
 * Chains ahead of the one ehash_grow() moves whose entries it starts
 * loading: the heads GROW_AHEAD on, the second entries (chains hold two on
 * average when the table doubles) half as far, their heads loaded by then.
 */
#define GROW_AHEAD 64u

/*
 * Puts old chain i's entries, from c, into chains i and i + old of the
 * doubled array b by the hash's next bit, each keeping the old order
 * (newest first). At one entry a chain on average when the table
 * doubles, most chains hold none or one: those cost no walk.
 */
static inline __attribute__((always_inline)) void grow_split(struct ehash_chain *b, uint32_t old, uint32_t i,
							     struct sock_common *c)
{
	struct sock_common **lo, **hi;

	if (!c)
		return;
	if (!c->next) {
		b[i | (c->hash & old)].head = c;
		b[i | (c->hash & old)].tag = ehash_tag_bit(c->hash) | 1;
		return;
	}
	lo = &b[i].head;
	hi = &b[i + old].head;
	for (; c; c = c->next) {
		uint32_t j = i | (c->hash & old);

		*(j == i ? lo : hi) = c;
		if (j == i)
			lo = &c->next;
		else
			hi = &c->next;
		tag_add(&b[j].tag, c->hash);
	}
	*lo = NULL;
	*hi = NULL;
}

static void __attribute__((noinline)) ehash_grow(struct ehash *eh)
{
	uint32_t old = eh->bmask + 1, n = old * 2, i;
	struct ehash_chain *b = calloc(n, sizeof(*b));

	if (!b)
		return;
	/*
	 * Every entry is read once here, in chain order, and the entries lie
	 * scattered over memory: without loading ahead the doubling past
	 * 131,072 entries waits for each in turn. Written out here: GCC 12
	 * takes a function doing nothing but prefetch for one without effects
	 * and drops its calls. A prefetch of NULL is harmless. The last
	 * GROW_AHEAD chains, with nothing ahead to load, in a loop of their own.
	 */
	for (i = 0; i + GROW_AHEAD < old; i++) {
		struct sock_common *ahead = eh->b[i + GROW_AHEAD / 2].head;

		__builtin_prefetch(eh->b[i + GROW_AHEAD].head);
		if (ahead)
			__builtin_prefetch(ahead->next);
		grow_split(b, old, i, eh->b[i].head);
	}
	for (; i < old; i++)
		grow_split(b, old, i, eh->b[i].head);
	free(eh->b);
	eh->b = b;
	eh->gen++;
	if (eh->bmask == eh->mask)
		eh->mask = n - 1;
	eh->bmask = n - 1;
}

void ehash_insert(struct stack *st, struct sock_common *c)
{
	ehash_insert_hashed(st, c, ehash_hashfn(st, &c->laddr, c->lport, &c->raddr, c->rport));
}

void ehash_insert_hashed(struct stack *st, struct sock_common *c, uint32_t hash)
{
	struct ehash *eh = &st->ehash;
	struct ehash_chain *ch = &eh->b[hash & eh->bmask];

	eh->gen++;
	c->hash = hash;
	c->next = ch->head;
	ch->head = c;
	tag_add(&ch->tag, hash);
	c->hashed = 1;
	eh->count++;
	ehash_count(eh, c, 1);
	if (eh->bmask < eh->mask ? eh->count > eh->bmask + 1
				 : st->cfg.ehash_grow && eh->count > 2 * (eh->mask + 1) &&
					   eh->mask < EHASH_MAX_BUCKETS - 1)
		ehash_grow(eh);
}

static struct sock_common **ehash_slot_of(struct ehash *eh, struct sock_common *c)
{
	struct sock_common **pp = &eh->b[c->hash & eh->bmask].head;

	while (*pp && *pp != c)
		pp = &(*pp)->next;
	return *pp ? pp : NULL;
}

void ehash_remove(struct stack *st, struct sock_common *c)
{
	struct sock_common **pp;

	if (!c->hashed)
		return;
	st->ehash.gen++;
	pp = ehash_slot_of(&st->ehash, c);
	if (pp) {
		*pp = c->next;
		st->ehash.count--;
		ehash_count(&st->ehash, c, -1);
		tag_del(&st->ehash.b[c->hash & st->ehash.bmask].tag);
	}
	c->next = NULL;
	c->hashed = 0;
}

/*
 * Like inet_ehash_nolisten() with an osk: the newcomer takes the old
 * entry's place, so there is no moment where the 4-tuple is unhashed and a
 * segment could fall through to the listener.
 *
 * When the probe of the segment being processed (st->probe) found oldc
 * and nothing changed since, it stays current, now finding newc: the
 * entry is in the same place of the same chain, so the walk would count
 * the same entries. The replay's lookup after accept() (the drain of a
 * handshake's final ACK) then walks no chain again.
 */
void ehash_replace(struct stack *st, struct sock_common *oldc, struct sock_common *newc)
{
	struct sock_common **pp = ehash_slot_of(&st->ehash, oldc);
	struct stack_probe *pr = st->probe;
	int follow = pr && pr->gen == st->ehash.gen && pr->entry == oldc;

	st->ehash.gen++;
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
	ehash_count(&st->ehash, oldc, -1);
	ehash_count(&st->ehash, newc, 1);
	if (follow) {
		pr->entry = newc;
		pr->gen = st->ehash.gen;
	}
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
	return ehash_lookup_hashed(st, ehash_hashfn(st, laddr, lport, raddr, rport), laddr, lport, raddr,
				   rport, info);
}

/* ehash_lookup_hashed(), inlined into the probes: a segment's one lookup is a walk, not three calls. */
static inline __attribute__((always_inline)) struct sock_common *
lookup_walk(struct stack *st, uint32_t hash, const struct ip_addr *laddr, uint16_t lport,
	    const struct ip_addr *raddr, uint16_t rport, struct lookup_info *info)
{
	struct ehash *eh = &st->ehash;
	struct ehash_chain *ch = &eh->b[hash & eh->bmask];
	uint32_t n = 0, bits = 0;
	struct sock_common *c;

	info->hash = hash;
	info->bucket = hash & eh->mask;
	info->walked = 0;
	if (!(ch->tag & ehash_tag_bit(hash)) && eh->bmask == eh->mask && (ch->tag & EHASH_TAG_COUNT) != EHASH_TAG_MANY) {
		/*
		 * No entry has this hash: a miss, known without the walk. With
		 * one chain per bucket every entry of the chain is the bucket's,
		 * so the walk would have counted them all.
		 */
		info->walked = ch->tag & EHASH_TAG_COUNT;
		return NULL;
	}
	for (c = ch->head; c; c = c->next) {
		/* Only the entries of this bucket count: a shared chain holds others too. */
		info->walked += ((c->hash ^ hash) & eh->mask) == 0;
		n++;
		bits |= ehash_tag_bit(c->hash);
		if (c->hash != hash)
			continue;
		if (c->lport == lport && c->rport == rport && addr_equal(&c->laddr, laddr) &&
		    addr_equal(&c->raddr, raddr))
			return c;
	}
	/* The whole chain was walked: its tag is exact again (bits of removed entries gone). */
	ch->tag = bits | (n < EHASH_TAG_MANY ? n : EHASH_TAG_MANY);
	return NULL;
}

struct sock_common *ehash_lookup_hashed(struct stack *st, uint32_t hash, const struct ip_addr *laddr,
					uint16_t lport, const struct ip_addr *raddr, uint16_t rport,
					struct lookup_info *info)
{
	return lookup_walk(st, hash, laddr, lport, raddr, rport, info);
}

/* ---- probes ------------------------------------------------------------------ */

/*
 * A probe is one lookup kept for the calls that follow it on the same
 * 4-tuple: its hash never changes (the seed is fixed), and what the walk
 * found stays true while ehash.gen, bumped by every insert, removal,
 * replacement and resize, is the same.
 */
static inline __attribute__((always_inline)) struct sock_common *probe_lookup(struct stack *st, const struct ip_addr *laddr, uint16_t lport,
					const struct ip_addr *raddr, uint16_t rport,
					struct stack_probe *pr, struct lookup_info *info)
{
	struct sock_common *c;

	if (pr->gen == st->ehash.gen) {
		info->hash = pr->hash;
		info->bucket = pr->hash & st->ehash.mask;
		info->walked = pr->walked;
		return pr->entry;
	}
	if (!pr->hashed) {
		pr->hash = ehash_of(st->cfg.hash_seed, laddr, lport, raddr, rport);
		pr->hashed = 1;
	}
#ifdef TCPDEMUX_INVARIANTS
	/* A probe carried from a prefetch (stack_prefetch) to its lookup must be of this 4-tuple. */
	if (pr->hash != ehash_hashfn(st, laddr, lport, raddr, rport))
		abort();
#endif
	c = lookup_walk(st, pr->hash, laddr, lport, raddr, rport, info);
	pr->walked = info->walked;
	pr->entry = c;
	pr->gen = st->ehash.gen;
	return c;
}

struct sock_common *ehash_probe(struct stack *st, const struct ip_addr *laddr, uint16_t lport,
				const struct ip_addr *raddr, uint16_t rport, struct stack_probe *pr,
				struct lookup_info *info)
{
	return probe_lookup(st, laddr, lport, raddr, rport, pr, info);
}

int stack_probe(struct stack *st, const struct ip_addr *laddr, uint16_t lport, const struct ip_addr *raddr,
		uint16_t rport, struct stack_probe *pr)
{
	struct lookup_info info;

	return probe_lookup(st, laddr, lport, raddr, rport, pr, &info) != NULL;
}

int stack_probe_fd(struct stack *st, const struct ip_addr *laddr, uint16_t lport,
		   const struct ip_addr *raddr, uint16_t rport, struct stack_probe *pr)
{
	struct lookup_info info;
	struct sock_common *c = probe_lookup(st, laddr, lport, raddr, rport, pr, &info);

	if (!c || c->kind != SK_FULL || sk_full(c)->fd < 0)
		return -ENOENT;
	return sk_full(c)->fd;
}

void stack_prefetch(const struct stack *st, const struct ip_addr *laddr, uint16_t lport,
		    const struct ip_addr *raddr, uint16_t rport, struct stack_probe *pr)
{
	const struct ehash *eh = &st->ehash;
	uint32_t hash = ehash_of(st->cfg.hash_seed, laddr, lport, raddr, rport);

	__builtin_prefetch(&eh->b[hash & eh->bmask]);
	if (pr) {
		memset(pr, 0, sizeof(*pr));
		pr->hash = hash;
		pr->hashed = 1;
	}
}
