/*
 * listen.c - the listen table and the bind table.
 *
 * Path: tcp_input() -> ehash_lookup() misses -> listener_lookup() here.
 *
 * Listeners are hashed on (local address, local port), like Linux's lhash2
 * since 5.0 (__inet_lookup_listener): a lookup tries the segment's exact
 * destination address first and the wildcard address second, so a
 * listener on 10.0.0.1:80 wins over one on 0.0.0.0:80. Within a
 * SO_REUSEPORT group the member is picked by the same 4-tuple hash that
 * ehash uses, scaled to the group size (reciprocal_scale), so one flow
 * always reaches the same member while the group does not change.
 *
 * The bind table holds every socket that owns a local port (bound,
 * listening, connected, accepted, TIME_WAIT) and answers bind()'s question
 * "is this port free?" with inet_csk_bind_conflict()'s rules.
 */
#include <errno.h>
#include <string.h>

#include "hash.h"
#include "internal.h"

/*
 * ipv4_portaddr_hash: the address mixed with the port. The quick hash
 * with the stack's seed, not lookup3: which bucket a listener is in shows
 * nowhere (listeners that can match one segment share their address and
 * port, so one bucket and their order in it, under any hash), and every
 * SYN takes one or more passes.
 */
static uint32_t lhash_slot(const struct stack *st, const struct ip_addr *addr, uint16_t port)
{
	static const uint8_t none[16];

	return hash_tuple_quick(addr->a, port, none, 0, addr->family == ADDR_V6, st->cfg.hash_seed) &
	       (LHASH_SIZE - 1);
}

int listen_table_insert(struct stack *st, struct sock *sk)
{
	struct listen_table *lt = &st->lt;
	struct sock **pp = &lt->b[lhash_slot(st, &sk->c.laddr, sk->c.lport)];

	/* Append: a reuseport group lists its members in the order they joined. */
	while (*pp)
		pp = &(*pp)->ls->lnext;
	*pp = sk;
	sk->ls->lnext = NULL;
	sk->ls->all_prev = lt->last;
	sk->ls->all_next = NULL;
	if (lt->last)
		lt->last->ls->all_next = sk;
	else
		lt->first = sk;
	lt->last = sk;
	lt->count++;
	return 0;
}

void listen_table_remove(struct stack *st, struct sock *sk)
{
	struct listen_table *lt = &st->lt;
	struct sock **pp = &lt->b[lhash_slot(st, &sk->c.laddr, sk->c.lport)];

	while (*pp && *pp != sk)
		pp = &(*pp)->ls->lnext;
	if (!*pp)
		return;
	*pp = sk->ls->lnext;
	if (sk->ls->all_prev)
		sk->ls->all_prev->ls->all_next = sk->ls->all_next;
	else
		lt->first = sk->ls->all_next;
	if (sk->ls->all_next)
		sk->ls->all_next->ls->all_prev = sk->ls->all_prev;
	else
		lt->last = sk->ls->all_prev;
	lt->count--;
}

/* Can sk take a segment to addr:port, in a pass for v4_on_v6 (an IPv4 segment, an IPv6 listener)? */
static int pass_match(const struct sock *sk, const struct ip_addr *addr, uint16_t port, int v4_on_v6)
{
	return sk->c.lport == port && addr_equal(&sk->c.laddr, addr) && !(v4_on_v6 && sk->v6only);
}

/*
 * One pass of __inet_lookup_listener over the bucket of (addr, port).
 * The first match wins; if it belongs to a reuseport group, the member is
 * ((u64)hash * n) >> 32 of that group (reuseport_select_sock). With
 * v4_on_v6 the pass is for an IPv4 segment over IPv6 listeners: those
 * with IPV6_V6ONLY do not count. Always inlined: every SYN makes the
 * first pass, and a call to it cost a fifth of the lookup.
 */
static inline __attribute__((always_inline)) struct sock *
lookup_pass(struct stack *st, const struct ip_addr *addr, uint16_t port, uint32_t hash, struct lookup_info *info,
	    int v4_on_v6)
{
	struct sock *sk, *first = NULL;
	uint32_t n = 0, pick, i;

	for (sk = st->lt.b[lhash_slot(st, addr, port)]; sk; sk = sk->ls->lnext) {
		if (!pass_match(sk, addr, port, v4_on_v6))
			continue;
		if (!first)
			first = sk;
		if (!first->reuseport)
			return first;
		if (sk->reuseport)
			n++;
	}
	if (!first)
		return NULL;
	pick = (uint32_t)(((uint64_t)hash * n) >> 32);
	info->reuseport = 1;
	info->group = (uint8_t)(n > 255 ? 255 : n);
	for (i = 0, sk = first; sk; sk = sk->ls->lnext) {
		if (!pass_match(sk, addr, port, v4_on_v6) || !sk->reuseport)
			continue;
		if (i++ == pick)
			return sk;
	}
	return first;
}

/*
 * Finds the listener for a segment to daddr:dport: exact address first,
 * then the wildcard of the same family, and for IPv4 then an IPv6 socket
 * bound to [::] without IPV6_V6ONLY (Linux hashes it with 0.0.0.0 and
 * scores an AF_INET listener one higher: compute_score()). hash is the
 * ehash hash of the segment's 4-tuple (used for reuseport). Returns NULL
 * when none listens.
 */
struct sock *listener_lookup(struct stack *st, const struct ip_addr *daddr, uint16_t dport,
			     uint32_t hash, struct lookup_info *info)
{
	struct ip_addr any;
	struct sock *sk;

	info->wildcard = 0;
	info->reuseport = 0;
	info->group = 0;
	sk = lookup_pass(st, daddr, dport, hash, info, 0);
	if (sk || addr_is_any(daddr))
		return sk;
	any = addr_any(daddr->family);
	sk = lookup_pass(st, &any, dport, hash, info, 0);
	if (!sk && daddr->family == ADDR_V4) {
		struct ip_addr any6 = addr_any(ADDR_V6);

		sk = lookup_pass(st, &any6, dport, hash, info, 1);
	}
	if (sk)
		info->wildcard = 1;
	return sk;
}

/* ---- bind table ------------------------------------------------------- */

static struct bind_node **bind_head(struct stack *st, uint16_t port)
{
	return &st->lt.bind[port & (BHASH_SIZE - 1)];
}

void bind_add(struct stack *st, struct bind_node *b, uint16_t port)
{
	struct bind_node **head = bind_head(st, port);

	bind_owner(b)->bind_port = port;
	b->prev = NULL;
	b->next = *head;
	if (*head)
		(*head)->prev = b;
	*head = b;
	bind_owner(b)->bind_linked = 1;
}

void bind_remove(struct stack *st, struct bind_node *b)
{
	if (!bind_owner(b)->bind_linked)
		return;
	if (b->prev)
		b->prev->next = b->next;
	else
		*bind_head(st, bind_owner(b)->bind_port) = b->next;
	if (b->next)
		b->next->prev = b->prev;
	b->next = b->prev = NULL;
	bind_owner(b)->bind_linked = 0;
}

static void owner_flags(const struct sock_common *c, int *reuseaddr, int *reuseport)
{
	if (c->kind == SK_TW) {
		const struct tw_sock *tw = container_of(c, const struct tw_sock, c);

		*reuseaddr = tw->reuseaddr;
		*reuseport = tw->reuseport;
	} else {
		const struct sock *sk = container_of(c, const struct sock, c);

		*reuseaddr = sk->reuseaddr;
		*reuseport = sk->reuseport;
	}
}

/*
 * Do a (of a socket with IPV6_V6ONLY a_v6only) and b overlap for bind()?
 * Equal, or either a wildcard, in one family (inet_rcv_saddr_equal); across
 * families only when the IPv6 one is [::] without IPV6_V6ONLY, which takes
 * every IPv4 address too.
 */
static int addr_overlap(const struct ip_addr *a, int a_v6only, const struct ip_addr *b, int b_v6only)
{
	if (a->family == b->family)
		return addr_is_any(a) || addr_is_any(b) || addr_equal(a, b);
	if (a->family == ADDR_V6)
		return addr_is_any(a) && !a_v6only;
	return addr_is_any(b) && !b_v6only;
}

/*
 * inet_csk_bind_conflict(): sk may take addr:port unless another owner of
 * the port has an overlapping address (equal, or either one a wildcard,
 * or an IPv6 wildcard without IPV6_V6ONLY and any IPv4 address), and
 * neither exception holds:
 *  - both set SO_REUSEADDR and the other is not listening (and, when sk is
 *    about to listen, the other is not listening either - listen() re-runs
 *    this check with sk already in LISTEN, inet_csk_listen_start);
 *  - both set SO_REUSEPORT (a single user here, so the uid always matches).
 * Returns 1 on conflict, 0 when the port is free for sk.
 */
int bind_conflict(struct stack *st, const struct sock *sk, const struct ip_addr *addr,
		  uint16_t port, int listening)
{
	struct bind_node *b;

	(void)listening;
	for (b = *bind_head(st, port); b; b = b->next) {
		const struct sock_common *o = bind_owner(b);
		int ra, rp;

		if (o->bind_port != port || o == &sk->c)
			continue;
		/* A TIME_WAIT entry holds a connection's specific address: its V6ONLY cannot matter. */
		if (!addr_overlap(addr, sk->v6only, &o->laddr,
				  o->kind == SK_FULL && container_of(o, const struct sock, c)->v6only))
			continue;
		owner_flags(o, &ra, &rp);
		if (sk->reuseaddr && ra && o->state != TCP_LISTEN)
			continue;
		if (sk->reuseport && rp)
			continue;
		return 1;
	}
	return 0;
}

/* Is port usable by a connect() from laddr to raddr:rport? */
static int connect_port_ok(struct stack *st, const struct ip_addr *laddr, uint16_t port,
			   const struct ip_addr *raddr, uint16_t rport)
{
	struct lookup_info info;
	struct bind_node *b;

	for (b = *bind_head(st, port); b; b = b->next) {
		const struct sock_common *o = bind_owner(b);

		if (o->bind_port != port || o->laddr.family != laddr->family)
			continue;
		if (!addr_is_any(laddr) && !addr_is_any(&o->laddr) && !addr_equal(laddr, &o->laddr))
			continue;
		/* A port someone bind()s or listens on is theirs alone. */
		if (!o->bind_autobind)
			return 0;
	}
	/* __inet_check_established: the 4-tuple itself must be unused. */
	return ehash_lookup(st, laddr, port, raddr, rport, &info) == NULL;
}

/*
 * Picks a local port from net.ipv4.ip_local_port_range (32768-60999) for
 * sk: for connect() (raddr != NULL) any port whose 4-tuple is unused, for
 * bind(port 0) one without a bind conflict. The scan starts at a keyed
 * hash of the destination, as __inet_hash_connect() does, so consecutive
 * connections to one server walk the range instead of colliding.
 * Returns the port, or -EADDRINUSE when the range is exhausted.
 */
int bind_ephemeral(struct stack *st, struct sock *sk, const struct ip_addr *raddr, uint16_t rport)
{
	const uint32_t low = 32768, range = 60999 - 32768 + 1;
	uint32_t start, i;

	start = raddr ? hash_3words(hash_addr(raddr->a, raddr->family == ADDR_V6, st->port_key),
				    rport, sk->c.laddr.family, st->port_key)
		      : st->port_key;
	for (i = 0; i < range; i++) {
		uint16_t port = (uint16_t)(low + (start + i) % range);

		if (raddr ? connect_port_ok(st, &sk->c.laddr, port, raddr, rport)
			  : !bind_conflict(st, sk, &sk->c.laddr, port, 0))
			return port;
	}
	return -EADDRINUSE;
}
