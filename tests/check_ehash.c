/*
 * check_ehash.c - unit tests of the established hash (stack/ehash.c).
 *
 * Covers: the hash is keyed by the seed and built like inet_ehashfn
 * (laddr, raddr, lport << 16 | rport; recomputed here from hash.h's
 * primitives so an argument mix-up cannot hide), bucket = hash & (n - 1)
 * for several table sizes, chain walking with a single bucket (newest
 * first, `walked` counting every entry examined), exact 4-tuple matching
 * (remote port or remote address alone tells connections apart), the
 * three kinds of entry that live in ehash (request, full socket,
 * TIME_WAIT) as the lookup result reports them, ehash_replace() keeping a
 * connection's place in its chain, IPv6 tuples, stack_new() refusing
 * a bucket count that is not a power of two, and growth (ehash_grow):
 * doubled past two entries per bucket, every entry still found, chains
 * kept in order; a fixed table never grows. Each chain's tag: a miss
 * reports the entries a walk would have counted whether the tag's filter
 * or the walk answered it, the tag counts entries in and out, and past 15
 * a walked miss counts them again.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "hash.h"
#include "helpers.h"
#include "suites.h"

#define LOCAL "10.0.0.1:80"
#define MAX_IDS 16

/* ---- helpers ------------------------------------------------------------ */

static struct tstack *new_stack(uint32_t buckets, uint32_t seed)
{
	struct stack_config c;

	stack_config_init(&c);
	c.ehash_buckets = buckets;
	c.hash_seed = seed;
	return ts_new(&c);
}

/* The stack's hash of the 4-tuple local <- remote ("ADDR:PORT" endpoints). */
static uint32_t tuple_hash(struct tstack *t, const char *local, const char *remote)
{
	struct ip_addr la, ra;
	uint16_t lp, rp;

	ck_assert_int_eq(endpoint_parse(local, &la, &lp), 0);
	ck_assert_int_eq(endpoint_parse(remote, &ra, &rp), 0);
	return ehash_hashfn(t->st, &la, lp, &ra, rp);
}

/* inet_ehashfn's recipe, written out from the primitives: jhash_3words(laddr, faddr, ports). */
static uint32_t expected_hash(uint32_t seed, const char *local, const char *remote)
{
	struct ip_addr la, ra;
	uint16_t lp, rp;
	int v6;

	ck_assert_int_eq(endpoint_parse(local, &la, &lp), 0);
	ck_assert_int_eq(endpoint_parse(remote, &ra, &rp), 0);
	v6 = la.family == ADDR_V6;
	return hash_3words(hash_addr(la.a, v6, seed), hash_addr(ra.a, v6, seed),
			   (uint32_t)lp << 16 | rp, seed);
}

/* Feeds a bare SYN from src to dst with client ISN isn; returns segments sent. */
static int syn(struct tstack *t, const char *src, const char *dst, uint32_t isn)
{
	struct segment s = ts_seg(src, dst, TH_SYN, isn, 0);

	return ts_in(t, &s);
}

/* Feeds seq/ack with a payload; returns segments sent. */
static int data(struct tstack *t, const char *src, const char *dst, uint32_t seq, uint32_t ack,
		const char *text)
{
	struct segment s = ts_seg(src, dst, TH_ACK | TH_PSH, seq, ack);

	s.data = (const uint8_t *)text;
	s.len = (uint32_t)strlen(text);
	return ts_in(t, &s);
}

struct id_list {
	uint32_t id[MAX_IDS];
	uint8_t state[MAX_IDS];
	uint32_t bucket[MAX_IDS];
	int n;
};

static void collect(void *ctx, const struct sock_view *v)
{
	struct id_list *l = ctx;

	if (l->n < MAX_IDS) {
		l->id[l->n] = v->id;
		l->state[l->n] = v->state;
		l->bucket[l->n] = v->bucket;
	}
	l->n++;
}

/* The TIME_WAIT entry of the 4-tuple dst <- src, or NULL. */
static struct sock_common *tw_entry(struct tstack *t, const char *src, const char *dst)
{
	struct ip_addr la, ra;
	struct lookup_info li;
	struct sock_common *c;
	uint16_t lp, rp;

	ck_assert_int_eq(endpoint_parse(dst, &la, &lp), 0);
	ck_assert_int_eq(endpoint_parse(src, &ra, &rp), 0);
	c = ehash_lookup(t->st, &la, lp, &ra, rp, &li);
	if (!c || c->kind != SK_TW)
		return NULL;
	ck_assert_int_eq(c->state, TCP_TIME_WAIT);
	return c;
}

/*
 * Accepts the connection from src, closes it from our side and plays the
 * peer's ACK of our FIN and its own FIN: the 4-tuple ends in TIME_WAIT.
 * isn/iss are the client's and our ISN of that connection.
 */
static void make_time_wait(struct tstack *t, int lfd, const char *src, const char *dst,
			   uint32_t isn, uint32_t iss)
{
	struct segment s;
	uint16_t rport;
	int fd;

	fd = sys_accept(t->st, lfd, NULL, &rport);
	ck_assert_msg(fd >= 0, "accept() = %d", fd);
	ck_assert_int_eq(sys_close(t->st, fd), 0);
	ck_assert_msg(ts_out(t, -1)->flags == (TH_FIN | TH_ACK), "close() sent flags %#x",
		      ts_out(t, -1)->flags);
	s = ts_seg(src, dst, TH_ACK, isn + 1, iss + 2);
	ck_assert_int_eq(ts_in(t, &s), 0);
	s = ts_seg(src, dst, TH_FIN | TH_ACK, isn + 1, iss + 2);
	ck_assert_int_eq(ts_in(t, &s), 1);
	ck_assert_int_eq(t->in.action, ACT_FIN);
	ck_assert_uint_eq(ts_out(t, -1)->ack, isn + 2);
	ck_assert_msg(tw_entry(t, src, dst) != NULL, "no TIME_WAIT entry for %s after the peer's FIN", src);
}

/* ---- the hash -------------------------------------------------------------- */

START_TEST(test_hash_seeded)
{
	static const char *const remotes[] = { "10.0.0.2:1000", "10.0.0.2:1001", "192.0.2.7:65535" };
	struct tstack *a = new_stack(1024, 1), *b = new_stack(1024, 2), *a2 = new_stack(1024, 1);
	size_t i;

	for (i = 0; i < sizeof(remotes) / sizeof(remotes[0]); i++) {
		uint32_t ha = tuple_hash(a, LOCAL, remotes[i]);
		uint32_t hb = tuple_hash(b, LOCAL, remotes[i]);
		uint32_t ha2 = tuple_hash(a2, LOCAL, remotes[i]);

		ck_assert_msg(ha != hb, "%s: seeds 1 and 2 both hash to %08x", remotes[i], ha);
		ck_assert_msg(ha == ha2, "%s: seed 1 gave %08x and %08x", remotes[i], ha, ha2);
		ck_assert_msg(ha == expected_hash(1, LOCAL, remotes[i]),
			      "%s: hash %08x is not jhash_3words(laddr, raddr, ports) = %08x", remotes[i],
			      ha, expected_hash(1, LOCAL, remotes[i]));
		ck_assert_msg(hb == expected_hash(2, LOCAL, remotes[i]),
			      "%s: seed 2 hash %08x, expected %08x", remotes[i], hb,
			      expected_hash(2, LOCAL, remotes[i]));
	}
	/* Local and remote are not interchangeable: the tuple is directed. */
	ck_assert_msg(tuple_hash(a, "10.0.0.1:80", "10.0.0.2:1000") !=
			      tuple_hash(a, "10.0.0.2:1000", "10.0.0.1:80"),
		      "swapping local and remote endpoints gives the same hash");
	ck_assert_uint_eq(stack_seed(a->st), 1);
	ck_assert_uint_eq(stack_seed(b->st), 2);

	/* The hash a segment's lookup reports is that same function. */
	ts_listen(a, LOCAL, 16);
	ts_listen(b, LOCAL, 16);
	ck_assert_int_eq(syn(a, "10.0.0.2:1000", LOCAL, 7), 1);
	ck_assert_int_eq(syn(b, "10.0.0.2:1000", LOCAL, 7), 1);
	ck_assert_uint_eq(a->in.lookup.hash, expected_hash(1, LOCAL, "10.0.0.2:1000"));
	ck_assert_uint_eq(b->in.lookup.hash, expected_hash(2, LOCAL, "10.0.0.2:1000"));
	ts_free(a);
	ts_free(b);
	ts_free(a2);
}
END_TEST

static void check_buckets(uint32_t n)
{
	struct tstack *t = new_stack(n, 1);
	uint32_t used = 0, i;

	ck_assert_uint_eq(stack_buckets(t->st), n);
	ts_listen(t, LOCAL, 64);
	for (i = 0; i < 16; i++) {
		char src[32];
		uint32_t h;
		struct sock_common *c;
		int found = 0;

		snprintf(src, sizeof(src), "10.0.0.2:%u", 2000 + i);
		h = expected_hash(1, LOCAL, src);
		ck_assert_int_eq(syn(t, src, LOCAL, 100 * i), 1);
		ck_assert_uint_eq(t->in.lookup.hash, h);
		ck_assert_msg(t->in.lookup.bucket == (h & (n - 1)),
			      "%u buckets, %s: bucket %u, expected %u", n, src, t->in.lookup.bucket,
			      h & (n - 1));
		ck_assert_msg(t->in.sock.bucket == (h & (n - 1)),
			      "%u buckets: request in bucket %u, expected %u",
			      n, t->in.sock.bucket, h & (n - 1));
		/* And the request really sits in that chain. */
		for (c = t->st->ehash.b[h & (n - 1)].head; c; c = c->next)
			found += c->id == t->in.sock.id;
		ck_assert_msg(found == 1, "%u buckets: request %u found %d times in bucket %u", n,
			      t->in.sock.id, found, h & (n - 1));
		used |= 1u << ((h & (n - 1)) % 32);
	}
	ck_assert_uint_eq(t->st->ehash.count, 16);
	if (n == 1)
		ck_assert_msg(used == 1, "one bucket: a bucket other than 0 was used (%#x)", used);
	else
		ck_assert_msg((used & (used - 1)) != 0, "%u buckets: 16 tuples all landed in one bucket", n);
	ts_check(t);
	ts_free(t);
}

START_TEST(test_bucket_is_hash_masked)
{
	check_buckets(1);
	check_buckets(8);
	check_buckets(1024);
}
END_TEST

/* ---- chains --------------------------------------------------------------- */

START_TEST(test_chain_walk_one_bucket)
{
	struct tstack *t = new_stack(1, 1);
	static const char *const src[3] = { "10.0.0.2:1001", "10.0.0.2:1002", "10.0.0.2:1003" };
	uint32_t id[3];
	struct id_list l;
	int i;

	ts_listen(t, LOCAL, 16);
	/* Each SYN misses ehash after walking every entry already there. */
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(syn(t, src[i], LOCAL, 1000 * (i + 1)), 1);
		ck_assert_msg(t->in.lookup.result == LOOKUP_LISTENER, "SYN %d: lookup %s", i,
			      lookup_result_name(t->in.lookup.result));
		ck_assert_msg(t->in.lookup.walked == (uint32_t)i, "SYN %d walked %u entries, expected %d",
			      i, t->in.lookup.walked, i);
		ck_assert_uint_eq(t->in.lookup.bucket, 0);
		id[i] = t->in.sock.id;
	}
	/* Newest first: C, B, A. */
	memset(&l, 0, sizeof(l));
	stack_walk_ehash(t->st, collect, &l);
	ck_assert_int_eq(l.n, 3);
	ck_assert_msg(l.id[0] == id[2] && l.id[1] == id[1] && l.id[2] == id[0],
		      "chain order %u %u %u, expected %u %u %u", l.id[0], l.id[1], l.id[2], id[2], id[1],
		      id[0]);
	/* A duplicate SYN finds its request (and is answered again): the walk's cost. */
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(syn(t, src[i], LOCAL, 1000 * (i + 1)), 1);
		ck_assert_msg(t->in.lookup.result == LOOKUP_REQUEST, "dup SYN %d: lookup %s", i,
			      lookup_result_name(t->in.lookup.result));
		ck_assert_msg(t->in.lookup.walked == (uint32_t)(3 - i),
			      "lookup of entry %d walked %u, expected %d", i, t->in.lookup.walked, 3 - i);
		ck_assert_uint_eq(t->in.sock.id, id[i]);
	}
	/* A miss walks the whole chain (and finds no listener on port 81). */
	ck_assert_int_eq(syn(t, "10.0.0.2:1001", "10.0.0.1:81", 5), 1);
	ck_assert_int_eq(t->in.lookup.result, LOOKUP_NONE);
	ck_assert_uint_eq(t->in.lookup.walked, 3);
	ck_assert_uint_eq(t->st->ehash.count, 3);
	ts_check(t);
	ts_free(t);
}
END_TEST

START_TEST(test_lookup_exact_tuple)
{
	/* One bucket: all three share a chain, only the tuple compare separates them. */
	static const char *const src[3] = { "10.0.0.2:5000", "10.0.0.2:5001", "10.0.0.3:5000" };
	static const char *const msg[3] = { "first", "second", "third" };
	struct tstack *t = new_stack(1, 1);
	uint32_t iss[3], isn[3];
	int lfd, fd[3], i, j;

	lfd = ts_listen(t, LOCAL, 16);
	for (i = 0; i < 3; i++) {
		struct ip_addr ra, want;
		uint16_t rp, wantp;

		isn[i] = 0x10000u * (uint32_t)(i + 1);
		iss[i] = ts_handshake(t, src[i], LOCAL, isn[i]);
		fd[i] = sys_accept(t->st, lfd, &ra, &rp);
		ck_assert_msg(fd[i] >= 0, "accept %d = %d", i, fd[i]);
		ck_assert_int_eq(endpoint_parse(src[i], &want, &wantp), 0);
		ck_assert_msg(addr_equal(&ra, &want) && rp == wantp, "accept %d returned the wrong peer", i);
	}
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(data(t, src[i], LOCAL, isn[i] + 1, iss[i] + 1, msg[i]), 1);
		ck_assert_msg(t->in.lookup.result == LOOKUP_ESTABLISHED, "data from %s: lookup %s", src[i],
			      lookup_result_name(t->in.lookup.result));
		ck_assert_msg(t->in.sock.id == sys_sock_id(t->st, fd[i]),
			      "data from %s reached socket %u, expected %u", src[i], t->in.sock.id,
			      sys_sock_id(t->st, fd[i]));
		ck_assert_uint_eq(t->in.sock.rport, i == 1 ? 5001 : 5000);
		ck_assert_uint_eq(ts_out(t, -1)->ack, isn[i] + 1 + (uint32_t)strlen(msg[i]));
	}
	for (i = 0; i < 3; i++) {
		char buf[16];
		ssize_t n = sys_recv(t->st, fd[i], buf, sizeof(buf));

		ck_assert_msg(n == (ssize_t)strlen(msg[i]) && memcmp(buf, msg[i], (size_t)n) == 0,
			      "fd %d read %zd bytes, expected \"%s\"", fd[i], n, msg[i]);
		for (j = 0; j <= i; j++)
			ck_assert_msg(sys_recv(t->st, fd[j], buf, sizeof(buf)) == -EAGAIN,
				      "fd %d still has data after reading fd %d", fd[j], fd[i]);
	}
	ts_check(t);
	ts_free(t);
}
END_TEST

/*
 * Two pairs of tuples whose 32-bit hashes collide under seed 1 (found by
 * search): one pair differs only in the remote port, the other only in the
 * remote address. With the cached hash equal, only the full tuple compare
 * can tell them apart.
 */
static void collision_pair(const char *a, const char *b)
{
	static const char *const msg[2] = { "one", "two" };
	const char *src[2] = { a, b };
	struct tstack *t = new_stack(1024, 1);
	uint32_t iss[2], isn[2] = { 11111, 22222 };
	int lfd, fd[2], i;

	ck_assert_msg(tuple_hash(t, LOCAL, a) == tuple_hash(t, LOCAL, b),
		      "precondition: %s and %s no longer collide (%08x, %08x); the hash changed",
		      a, b, tuple_hash(t, LOCAL, a), tuple_hash(t, LOCAL, b));
	lfd = ts_listen(t, LOCAL, 16);
	for (i = 0; i < 2; i++) {
		iss[i] = ts_handshake(t, src[i], LOCAL, isn[i]);
		/* the request is the newest entry: head of the chain */
		ck_assert_uint_eq(t->in.lookup.walked, 1);
		ck_assert_uint_eq(t->in.lookup.bucket, tuple_hash(t, LOCAL, a) & 1023);
		fd[i] = sys_accept(t->st, lfd, NULL, NULL);
		ck_assert_int_ge(fd[i], 0);
	}
	for (i = 0; i < 2; i++) {
		char buf[8];

		ck_assert_int_eq(data(t, src[i], LOCAL, isn[i] + 1, iss[i] + 1, msg[i]), 1);
		ck_assert_int_eq(t->in.lookup.result, LOOKUP_ESTABLISHED);
		ck_assert_msg(t->in.sock.id == sys_sock_id(t->st, fd[i]), "%s reached socket %u, expected %u",
			      src[i], t->in.sock.id, sys_sock_id(t->st, fd[i]));
		/* newest first: the second connection heads the chain, the first is
		 * reached only after a full compare rejected the second */
		ck_assert_uint_eq(t->in.lookup.walked, i == 0 ? 2 : 1);
		ck_assert_int_eq(sys_recv(t->st, fd[i], buf, sizeof(buf)), 3);
		ck_assert_int_eq(memcmp(buf, msg[i], 3), 0);
	}
	ts_check(t);
	ts_free(t);
}

START_TEST(test_lookup_hash_collision)
{
	collision_pair("10.0.0.2:25356", "10.0.0.2:48408");
	collision_pair("10.0.78.80:5000", "10.0.145.46:5000");
}
END_TEST

/* ---- what lives in ehash ---------------------------------------------------- */

START_TEST(test_three_kinds)
{
	struct tstack *t = new_stack(1024, 1);
	struct stack_totals tot;
	struct segment s;
	struct ip_addr peer;
	uint32_t iss_b, iss_c, syn_seq;
	int lfd, cfd;

	lfd = ts_listen(t, LOCAL, 16);
	/* A: request (SYN_RECV) */
	ck_assert_int_eq(syn(t, "10.0.0.2:1000", LOCAL, 100), 1);
	ck_assert_int_eq(t->in.lookup.result, LOOKUP_LISTENER);
	ck_assert_int_eq(t->in.action, ACT_SYN_ACK);
	ck_assert_int_eq(syn(t, "10.0.0.2:1000", LOCAL, 100), 1);
	ck_assert_msg(t->in.lookup.result == LOOKUP_REQUEST, "SYN again: lookup %s",
		      lookup_result_name(t->in.lookup.result));
	ck_assert_int_eq(t->in.sock.state, TCP_SYN_RECV);
	/* B: the final ACK finds the request, the next segment the full socket */
	iss_b = ts_handshake(t, "10.0.0.3:2000", LOCAL, 200);
	ck_assert_int_eq(t->in.lookup.result, LOOKUP_REQUEST);
	ck_assert_int_eq(data(t, "10.0.0.3:2000", LOCAL, 201, iss_b + 1, "x"), 1);
	ck_assert_int_eq(t->in.lookup.result, LOOKUP_ESTABLISHED);
	ck_assert_int_eq(t->in.sock.state, TCP_ESTABLISHED);
	/* C: TIME_WAIT after our active close */
	iss_c = ts_handshake(t, "10.0.0.4:3000", LOCAL, 300);
	/* accept() returns B first, so take B then close C */
	{
		int bfd = sys_accept(t->st, lfd, NULL, NULL);

		ck_assert_msg(bfd >= 0, "accept B = %d", bfd);
	}
	make_time_wait(t, lfd, "10.0.0.4:3000", LOCAL, 300, iss_c);
	s = ts_seg("10.0.0.4:3000", LOCAL, TH_FIN | TH_ACK, 301, iss_c + 2);
	ck_assert_int_eq(ts_in(t, &s), 1);
	ck_assert_msg(t->in.lookup.result == LOOKUP_TIMEWAIT, "FIN again: lookup %s",
		      lookup_result_name(t->in.lookup.result));
	ck_assert_int_eq(t->in.action, ACT_SEND_ACK);
	ck_assert_uint_eq(ts_out(t, -1)->seq, iss_c + 2);
	ck_assert_uint_eq(ts_out(t, -1)->ack, 302);
	/* D: an active open in SYN_SENT is hashed as well */
	cfd = sys_socket(t->st, ADDR_V4);
	ck_assert_int_ge(cfd, 0);
	ck_assert_int_eq(addr_parse("10.0.0.9", &peer), 0);
	ck_assert_int_eq(sys_connect(t->st, cfd, &peer, 443), -EINPROGRESS);
	syn_seq = ts_out(t, -1)->seq;
	{
		char src[48];
		struct ip_addr la;
		uint16_t lp;

		ck_assert_int_eq(sys_getsockname(t->st, cfd, &la, &lp), 0);
		snprintf(src, sizeof(src), "10.0.0.1:%u", lp);
		s = ts_seg("10.0.0.9:443", src, TH_SYN | TH_ACK, 9000, syn_seq + 1);
		ck_assert_int_eq(ts_in(t, &s), 1);
		ck_assert_int_eq(t->in.lookup.result, LOOKUP_ESTABLISHED);
		ck_assert_int_eq(t->in.action, ACT_ESTABLISHED);
	}

	stack_totals(t->st, &tot);
	ck_assert_uint_eq(tot.request, 1);
	ck_assert_uint_eq(tot.established, 2);
	ck_assert_uint_eq(tot.timewait, 1);
	ck_assert_uint_eq(tot.listeners, 1);
	ck_assert_uint_eq(t->st->ehash.count, 4);
	ts_check(t);
	ts_free(t);
}
END_TEST

/* Kind of each chain entry of bucket 0, head first, as letters: R(equest) F(ull) T(ime_wait). */
static void chain_kinds(struct tstack *t, char *out, uint32_t *ids, int max)
{
	struct sock_common *c;
	int n = 0;

	for (c = t->st->ehash.b[0].head; c && n < max; c = c->next, n++) {
		out[n] = c->kind == SK_REQUEST ? 'R' : c->kind == SK_TW ? 'T' : 'F';
		ids[n] = c->id;
	}
	out[n] = '\0';
}

START_TEST(test_replace_keeps_position)
{
	struct tstack *t = new_stack(1, 1);
	static const char *const src[3] = { "10.0.0.2:1001", "10.0.0.2:1002", "10.0.0.2:1003" };
	struct segment s;
	uint32_t id[3], iss_b, ids[4];
	char kinds[5];
	int lfd, i;

	lfd = ts_listen(t, LOCAL, 16);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(syn(t, src[i], LOCAL, 1000 * (i + 1)), 1);
		id[i] = t->in.sock.id;
	}
	iss_b = ts_out(t, 1)->seq;
	chain_kinds(t, kinds, ids, 4);
	ck_assert_str_eq(kinds, "RRR");

	/* B's request becomes a child in the same slot (middle of the chain). */
	s = ts_seg(src[1], LOCAL, TH_ACK, 2001, iss_b + 1);
	ck_assert_int_eq(ts_in(t, &s), 0);
	ck_assert_int_eq(t->in.action, ACT_QUEUED);
	ck_assert_uint_eq(t->in.lookup.walked, 2);
	chain_kinds(t, kinds, ids, 4);
	ck_assert_msg(strcmp(kinds, "RFR") == 0, "after the handshake the chain is %s, expected RFR", kinds);
	ck_assert_msg(ids[0] == id[2] && ids[1] == id[1] && ids[2] == id[0],
		      "chain ids %u %u %u, expected %u %u %u", ids[0], ids[1], ids[2], id[2], id[1], id[0]);
	ck_assert_uint_eq(t->st->ehash.count, 3);

	/* The child still costs two steps to find. */
	ck_assert_int_eq(data(t, src[1], LOCAL, 2001, iss_b + 1, "hi"), 1);
	ck_assert_int_eq(t->in.lookup.result, LOOKUP_ESTABLISHED);
	ck_assert_uint_eq(t->in.lookup.walked, 2);
	ck_assert_uint_eq(t->in.sock.id, id[1]);

	/* And the TIME_WAIT entry takes the child's slot in turn. */
	{
		char buf[8];
		int fd = sys_accept(t->st, lfd, NULL, NULL);

		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(sys_recv(t->st, fd, buf, sizeof(buf)), 2);
		ck_assert_int_eq(sys_close(t->st, fd), 0);
	}
	s = ts_seg(src[1], LOCAL, TH_ACK, 2003, iss_b + 2);
	ts_in(t, &s);
	s = ts_seg(src[1], LOCAL, TH_FIN | TH_ACK, 2003, iss_b + 2);
	ck_assert_int_eq(ts_in(t, &s), 1);
	chain_kinds(t, kinds, ids, 4);
	ck_assert_msg(strcmp(kinds, "RTR") == 0, "after TIME_WAIT the chain is %s, expected RTR", kinds);
	ck_assert_msg(ids[1] == id[1], "TIME_WAIT entry has id %u, expected %u", ids[1], id[1]);
	ck_assert_uint_eq(t->st->ehash.count, 3);
	ts_check(t);
	ts_free(t);
}
END_TEST

/* ---- IPv6 ------------------------------------------------------------------ */

START_TEST(test_ipv6_tuples)
{
	static const char *const local = "[2001:db8::1]:443";
	static const char *const src[3] = { "[2001:db8::2]:40000", "[2001:db8::2]:40001",
					    "[2001:db8::3]:40000" };
	struct tstack *t = new_stack(1024, 7);
	uint32_t iss[3], h[3];
	int lfd, fd[3], i;

	lfd = ts_listen(t, local, 16);
	for (i = 0; i < 3; i++) {
		h[i] = expected_hash(7, local, src[i]);
		ck_assert_int_eq(syn(t, src[i], local, 500u * (uint32_t)i), 1);
		ck_assert_int_eq(t->in.lookup.result, LOOKUP_LISTENER);
		ck_assert_msg(t->in.lookup.hash == h[i], "%s: hash %08x, expected %08x", src[i],
			      t->in.lookup.hash, h[i]);
		ck_assert_uint_eq(t->in.lookup.bucket, h[i] & 1023);
		ck_assert_uint_eq(t->in.sock.laddr.family, ADDR_V6);
		iss[i] = ts_out(t, -1)->seq;
		ck_assert_int_eq(ts_out(t, -1)->dst.family, ADDR_V6);
	}
	ck_assert_msg(h[0] != h[1] && h[0] != h[2] && h[1] != h[2], "IPv6 hashes collide: %08x %08x %08x",
		      h[0], h[1], h[2]);
	/* Every byte of the address is keyed: the prefix alone changes the hash. */
	ck_assert_msg(expected_hash(7, local, "[2001:db8::2]:40000") !=
			      expected_hash(7, local, "[2001:db9::2]:40000"),
		      "remote addresses differing in the second word hash alike");
	for (i = 0; i < 3; i++) {
		struct segment s = ts_seg(src[i], local, TH_ACK, 500u * (uint32_t)i + 1, iss[i] + 1);

		ck_assert_int_eq(ts_in(t, &s), 0);
		ck_assert_int_eq(t->in.lookup.result, LOOKUP_REQUEST);
		ck_assert_int_eq(t->in.action, ACT_QUEUED);
		fd[i] = sys_accept(t->st, lfd, NULL, NULL);
		ck_assert_int_ge(fd[i], 0);
	}
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(data(t, src[i], local, 500u * (uint32_t)i + 1, iss[i] + 1, "v6"), 1);
		ck_assert_int_eq(t->in.lookup.result, LOOKUP_ESTABLISHED);
		ck_assert_uint_eq(t->in.lookup.hash, h[i]);
		ck_assert_msg(t->in.sock.id == sys_sock_id(t->st, fd[i]), "%s reached socket %u, expected %u",
			      src[i], t->in.sock.id, sys_sock_id(t->st, fd[i]));
	}
	ts_check(t);
	ts_free(t);
}
END_TEST

/* ---- configuration ------------------------------------------------------------ */

START_TEST(test_buckets_power_of_two)
{
	static const uint32_t bad[] = { 0, 3, 6, 1000, 1023, 1025, 0x80000001u };
	static const uint32_t good[] = { 1, 2, 4096 };
	struct stack_config c;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		stack_config_init(&c);
		c.ehash_buckets = bad[i];
		ck_assert_msg(stack_new(&c) == NULL, "stack_new accepted %u buckets", bad[i]);
	}
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct tstack *t = new_stack(good[i], 1);

		ck_assert_uint_eq(stack_buckets(t->st), good[i]);
		ck_assert_uint_eq(t->st->ehash.mask, good[i] - 1);
		ts_free(t);
	}
}
END_TEST

/* ---- growth ------------------------------------------------------------------ */

/* 100 half-open connections from 10.0.1.X:4000 to LOCAL; returns their ids in ids[]. */
static void fill_requests(struct tstack *t, uint32_t *ids, int n)
{
	char src[32];
	int i;

	for (i = 0; i < n; i++) {
		ts_clear(t); /* only this SYN's answer and event are looked at */
		snprintf(src, sizeof(src), "10.0.%d.%d:4000", 1 + i / 200, 1 + i % 200);
		ck_assert_int_eq(syn(t, src, LOCAL, 7 * (uint32_t)i + 1), 1);
		ck_assert_msg(t->in.lookup.result == LOOKUP_LISTENER, "SYN %d: lookup %s", i,
			      lookup_result_name(t->in.lookup.result));
		ids[i] = t->in.sock.id;
	}
}

/* "10.0.1.N:5000", client i's endpoint, and its RST (seq: its SYN's isn + 1) that ends its request. */
static void tag_client(int i, char *src, size_t len)
{
	snprintf(src, len, "10.0.1.%d:5000", i + 1);
}

static void tag_rst(struct tstack *t, int i)
{
	char src[32];
	struct segment s;

	tag_client(i, src, sizeof(src));
	s = ts_seg(src, LOCAL, TH_RST, 101 + (uint32_t)i, 0);
	ts_in(t, &s);
}

START_TEST(test_tag_answers_misses)
{
	struct tstack *t = new_stack(1, 1);
	int i, filtered = 0;
	char src[32];

	ts_listen(t, LOCAL, 64);
	/* One bucket: each SYN misses after the entries there; the tag counts them. */
	for (i = 0; i < 20; i++) {
		tag_client(i, src, sizeof(src));
		filtered += !(t->st->ehash.b[0].tag & ehash_tag_bit(tuple_hash(t, LOCAL, src)));
		ts_clear(t);
		ck_assert_int_eq(syn(t, src, LOCAL, 100 + (uint32_t)i), 1);
		ck_assert_msg(t->in.lookup.result == LOOKUP_LISTENER, "SYN %d: lookup %s", i,
			      lookup_result_name(t->in.lookup.result));
		ck_assert_msg(t->in.lookup.walked == (uint32_t)i, "SYN %d walked %u, want %d", i, t->in.lookup.walked, i);
		ck_assert_uint_eq(t->st->ehash.b[0].tag & EHASH_TAG_COUNT, i + 1 < 15 ? (uint32_t)i + 1 : EHASH_TAG_MANY);
		ts_check(t); /* every entry's bit in the tag */
	}
	/* The filter did answer some misses (the walk the rest): both gave the same counts above. */
	ck_assert_msg(filtered >= 3 && filtered < 20, "the filter ruled out %d of 20 SYNs", filtered);
	/* Ten requests reset: the count stays unknown past 15, so a miss walks and counts again. */
	for (i = 0; i < 10; i++)
		tag_rst(t, i);
	ck_assert_uint_eq(t->st->ehash.count, 10);
	ck_assert_uint_eq(t->st->ehash.b[0].tag & EHASH_TAG_COUNT, EHASH_TAG_MANY);
	ck_assert_int_eq(syn(t, "10.0.0.2:1001", "10.0.0.1:81", 5), 1); /* no listener: a miss, reset */
	ck_assert_int_eq(t->in.lookup.result, LOOKUP_NONE);
	ck_assert_uint_eq(t->in.lookup.walked, 10);
	ck_assert_uint_eq(t->st->ehash.b[0].tag & EHASH_TAG_COUNT, 10);
	ts_check(t);
	/* Counted out one by one; an empty chain's tag is clear. */
	for (i = 10; i < 20; i++) {
		tag_rst(t, i);
		ck_assert_uint_eq(t->st->ehash.b[0].tag & EHASH_TAG_COUNT, 19 - (uint32_t)i);
		ts_check(t);
	}
	ck_assert_uint_eq(t->st->ehash.b[0].tag, 0);
	ts_free(t);
}
END_TEST

START_TEST(test_grow_doubles)
{
	struct stack_config c;
	struct ehash_stats es;
	struct tstack *t;
	uint32_t ids[100];
	char src[32];
	int i;

	stack_config_init(&c);
	c.ehash_buckets = 4;
	c.hash_seed = 3;
	c.ehash_grow = 1;
	t = ts_new(&c);
	ts_listen(t, LOCAL, 200);
	fill_requests(t, ids, 100);
	/* Doubled each time the count passed 2 x buckets: 4 -> 8 -> 16 -> 32 -> 64. */
	ck_assert_msg(stack_buckets(t->st) == 64, "%u buckets for 100 entries, expected 64",
		      stack_buckets(t->st));
	stack_ehash_stats(t->st, &es);
	ck_assert_uint_eq(es.entries, 100);
	ck_assert_msg(es.mean_chain <= 2.0, "mean chain %.2f after growth", es.mean_chain);
	ts_check(t); /* every entry in the bucket its cached hash names */
	/* Each one is found again, as itself, in the bucket of the grown table. */
	for (i = 0; i < 100; i++) {
		ts_clear(t);
		snprintf(src, sizeof(src), "10.0.%d.%d:4000", 1 + i / 200, 1 + i % 200);
		ck_assert_int_eq(syn(t, src, LOCAL, 7 * (uint32_t)i + 1), 1);
		ck_assert_msg(t->in.lookup.result == LOOKUP_REQUEST, "dup SYN %d: lookup %s", i,
			      lookup_result_name(t->in.lookup.result));
		ck_assert_uint_eq(t->in.sock.id, ids[i]);
		ck_assert_uint_eq(t->in.lookup.bucket, t->in.lookup.hash & 63u);
	}
	ts_free(t);
}
END_TEST

START_TEST(test_grow_keeps_chain_order)
{
	struct stack_config c;
	struct tstack *t;
	struct id_list l;
	uint32_t ids[9];
	int i;

	/* From one bucket, so every entry has moved three times. */
	stack_config_init(&c);
	c.ehash_buckets = 1;
	c.hash_seed = 11;
	c.ehash_grow = 1;
	t = ts_new(&c);
	ts_listen(t, LOCAL, 16);
	fill_requests(t, ids, 9);
	ck_assert_uint_eq(stack_buckets(t->st), 8); /* 1 -> 2 at 3 entries, -> 4 at 5, -> 8 at 9 */
	memset(&l, 0, sizeof(l));
	stack_walk_ehash(t->st, collect, &l);
	ck_assert_int_eq(l.n, 9);
	/* Within each bucket the walk meets newer connections (larger ids) first. */
	for (i = 1; i < 9; i++)
		if (l.bucket[i] == l.bucket[i - 1])
			ck_assert_msg(l.id[i] < l.id[i - 1], "bucket %u: id %u walked before newer %u",
				      l.bucket[i], l.id[i - 1], l.id[i]);
	ts_check(t);
	ts_free(t);
}
END_TEST

START_TEST(test_fixed_never_grows)
{
	struct tstack *t = new_stack(4, 3);
	struct ehash_stats es;
	uint32_t ids[100];

	ts_listen(t, LOCAL, 200);
	fill_requests(t, ids, 100);
	ck_assert_uint_eq(stack_buckets(t->st), 4);
	stack_ehash_stats(t->st, &es);
	ck_assert_msg(es.mean_chain == 25.0, "mean chain %.2f in a fixed 4-bucket table of 100",
		      es.mean_chain);
	ts_check(t);
	ts_free(t);
}
END_TEST

/*
 * hash_tuple_quick(), the simulator's tables' hash: a server's 4-tuples
 * (one address and port, clients on a /16 with many ports each) spread
 * over 1024 buckets about as evenly as chance would, in both families,
 * and the seed tells tables apart.
 */
START_TEST(test_quick_hash_spreads)
{
	static uint16_t load[1024];
	struct ip_addr srv, cli;
	uint32_t i, max, differ = 0;
	int v6;

	for (v6 = 0; v6 < 2; v6++) {
		ck_assert_int_eq(addr_parse(v6 ? "2001:db8::1" : "10.0.0.1", &srv), 0);
		ck_assert_int_eq(addr_parse(v6 ? "2001:db8:1::" : "100.64.0.0", &cli), 0);
		memset(load, 0, sizeof(load));
		for (i = 0; i < 8192; i++) {
			struct ip_addr c = cli;
			uint16_t port = (uint16_t)(32768 + i % 64);

			c.a[v6 ? 14 : 2] = (uint8_t)(i / 64 >> 8);
			c.a[v6 ? 15 : 3] = (uint8_t)(i / 64);
			load[hash_tuple_quick(srv.a, 80, c.a, port, v6, 5) & 1023]++;
			differ += hash_tuple_quick(srv.a, 80, c.a, port, v6, 5) !=
				  hash_tuple_quick(srv.a, 80, c.a, port, v6, 6);
		}
		for (i = 0, max = 0; i < 1024; i++)
			if (load[i] > max)
				max = load[i];
		/* 8 a bucket on average; a uniform hash's fullest of 1024 holds about 18. */
		ck_assert_msg(max <= 24, "%s: a bucket holds %u of 8192 tuples", v6 ? "IPv6" : "IPv4", max);
	}
	ck_assert_uint_eq(differ, 2 * 8192);
}
END_TEST

Suite *ehash_suite(void)
{
	Suite *s = suite_create("ehash");
	TCase *tc;

	tc = tcase_create("hash");
	tcase_add_test(tc, test_hash_seeded);
	tcase_add_test(tc, test_bucket_is_hash_masked);
	tcase_add_test(tc, test_buckets_power_of_two);
	tcase_add_test(tc, test_quick_hash_spreads);
	suite_add_tcase(s, tc);

	tc = tcase_create("chains");
	tcase_add_test(tc, test_chain_walk_one_bucket);
	tcase_add_test(tc, test_lookup_exact_tuple);
	tcase_add_test(tc, test_lookup_hash_collision);
	tcase_add_test(tc, test_replace_keeps_position);
	tcase_add_test(tc, test_tag_answers_misses);
	suite_add_tcase(s, tc);

	tc = tcase_create("contents");
	tcase_add_test(tc, test_three_kinds);
	tcase_add_test(tc, test_ipv6_tuples);
	suite_add_tcase(s, tc);

	tc = tcase_create("growth");
	tcase_add_test(tc, test_grow_doubles);
	tcase_add_test(tc, test_grow_keeps_chain_order);
	tcase_add_test(tc, test_fixed_never_grows);
	suite_add_tcase(s, tc);
	return s;
}
