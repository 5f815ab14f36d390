/*
 * stack.c - creating and tearing down a stack, the event queue, names,
 * snapshots and invariant checks.
 *
 * Events are queued while a segment, timer or call is processed and
 * delivered by stack_flush() at the end, with the inbound segment's own
 * event first: an observer always sees "what arrived" before "what it
 * caused", whatever order the code found things out in.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "internal.h"

static const char *const state_names[TCP_STATE_COUNT] = {
	"CLOSED", "LISTEN", "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT1",
	"FIN_WAIT2", "CLOSE_WAIT", "CLOSING", "LAST_ACK", "TIME_WAIT",
};

const char *tcp_state_name(int state)
{
	return state >= 0 && state < TCP_STATE_COUNT ? state_names[state] : "?";
}

static const char *const lookup_names[] = {
	"none", "established", "request", "timewait", "listener",
};

const char *lookup_result_name(int r)
{
	return r >= 0 && r <= LOOKUP_LISTENER ? lookup_names[r] : "?";
}

static const char *const action_names[ACT_COUNT] = {
	"none", "syn_ack", "syn_ack_again", "cookie", "queued", "established",
	"deliver", "ack", "fin", "rst", "reset", "challenge_ack", "send_ack",
	"drop", "tw_recycle", "retransmit", "expire", "fastopen",
};

const char *seg_action_name(int a)
{
	return a >= 0 && a < ACT_COUNT ? action_names[a] : "?";
}

static const char *const counter_names[CNT_COUNT] = {
#define COUNTER_NAME(id, name) name,
	COUNTER_LIST(COUNTER_NAME)
#undef COUNTER_NAME
};

const char *counter_name(int c)
{
	return c >= 0 && c < CNT_COUNT ? counter_names[c] : NULL;
}

void stack_config_init(struct stack_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	/*
	 * Linux sizes ehash from memory (one slot per 128 KiB, alloc_large_system_hash);
	 * 65536 is what a machine with 8 GiB gets, and small enough to allocate
	 * per test.
	 */
	cfg->ehash_buckets = 65536;
	cfg->hash_seed = 0;
	cfg->somaxconn = 4096;
	cfg->tcp_syncookies = 1;
	cfg->tcp_abort_on_overflow = 0;
	cfg->tcp_synack_retries = 5;
	cfg->tcp_syn_retries = 6;
	cfg->tcp_syn_linear_timeouts = 4;
	cfg->tcp_max_syn_backlog = 512;
	cfg->tcp_retries2 = 15;
	cfg->tcp_fin_timeout = 60;
	cfg->tcp_timestamps = 1;
	cfg->tcp_sack = 1;
	cfg->tcp_window_scaling = 1;
	cfg->tcp_ecn = 2;
	cfg->bindv6only = 0;
	cfg->tcp_rmem[0] = 4096;
	cfg->tcp_rmem[1] = 131072;
	cfg->tcp_rmem[2] = 6291456;
	cfg->tcp_wmem[0] = 4096;
	cfg->tcp_wmem[1] = 16384;
	cfg->tcp_wmem[2] = 4194304;
	cfg->rmem_max = 212992;
	cfg->tcp_notsent_lowat = UINT32_MAX;
	cfg->tcp_fastopen = 1;
	cfg->wmem_max = 212992;
	cfg->max_sockets = 1u << 22;
	cfg->mtu = 1500;
}

void stack_get_config(const struct stack *st, struct stack_config *cfg)
{
	*cfg = st->cfg;
}

void stack_set_config(struct stack *st, const struct stack_config *cfg)
{
	uint32_t buckets = st->cfg.ehash_buckets, seed = st->cfg.hash_seed;
	uint16_t mtu = st->cfg.mtu;

	st->cfg = *cfg;
	st->cfg.ehash_buckets = buckets;
	st->cfg.hash_seed = seed;
	if (cfg->mtu < 128)
		st->cfg.mtu = mtu;
}

struct stack *stack_new(const struct stack_config *cfg)
{
	struct stack *st;

	if (cfg->mtu < 128)
		return NULL;
	st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	st->cfg = *cfg;
	pool_init(&st->socks, sock_slot_size());
	st->timers.next = VT_NEVER;
	pool_init(&st->bufs, BUF_SMALL);
	if (ehash_init(&st->ehash, cfg->ehash_buckets, cfg->ehash_grow) < 0) {
		free(st);
		return NULL;
	}
	/* Separate keys per use, so one leaking (an ISN) says nothing of another. */
	st->isn_key = cfg->hash_seed * 0x9e3779b1u + 0x7f4a7c15u;
	/* No tcp_fastopen_key given: one of our own, as Linux makes a random one at boot. */
	if (!(cfg->tcp_fastopen_key[0] | cfg->tcp_fastopen_key[1] | cfg->tcp_fastopen_key[2] |
	      cfg->tcp_fastopen_key[3])) {
		st->cfg.tcp_fastopen_key[0] = cfg->hash_seed * 0xcc9e2d51u + 0x1b873593u;
		st->cfg.tcp_fastopen_key[1] = cfg->hash_seed * 0x85ebca6bu + 0xe6546b64u;
		st->cfg.tcp_fastopen_key[2] = cfg->hash_seed * 0xc2b2ae35u + 0x52dce729u;
		st->cfg.tcp_fastopen_key[3] = cfg->hash_seed * 0x27d4eb2fu + 0x38495ab5u;
	}
	st->ts_key = cfg->hash_seed * 0x85ebca6bu + 0x165667b1u;
	st->port_key = cfg->hash_seed * 0xc2b2ae35u + 0x27d4eb2fu;
	st->frame = -1;
	return st;
}

static void free_grave(struct stack *st)
{
	while (st->grave) {
		struct sock_common *c = st->grave;

		st->grave = c->next;
		sock_release(st, c);
	}
}

void stack_free(struct stack *st)
{
	struct sock *l;
	uint32_t i;
	int fd;

	if (!st)
		return;
	st->obs = NULL;
	/*
	 * Listeners' requests and queued children are reachable only through
	 * them; then the listener itself goes, as its listen state is
	 * malloc()ed (freed when the grave is emptied below).
	 */
	while ((l = st->lt.first) != NULL) {
		listen_purge(st, l, 0);
		if (l->fd >= 0)
			fd_release(st, l);
		sock_destroy(st, &l->c);
	}
	/*
	 * Every other socket, request and TIME_WAIT entry is a slot of the
	 * socket pool, and so is all it holds (byte-queue heads, ext blocks;
	 * the first BUF_SMALL bytes of a queue are the buffer pool's) unless
	 * a queue outgrew them into malloc()ed memory. With no such queue the
	 * two pools are given back whole below, without visiting each socket:
	 * on a capture that ends with 200,000 connections open, that walk (a
	 * cache miss per socket, to unlink it from tables about to go) was 4%
	 * of the replay.
	 */
	if (st->big_bufs) {
		for (i = 0; i <= st->ehash.bmask; i++) {
			ehash_prefetch_ahead(&st->ehash, i);
			while (st->ehash.b[i].head)
				sock_destroy(st, st->ehash.b[i].head);
		}
		for (fd = 0; fd < st->nfds; fd++) {
			struct sock *sk = st->fds[fd];

			if (sk) {
				fd_release(st, sk);
				sock_destroy(st, &sk->c);
			}
		}
	}
	st->npend = 0;
	free_grave(st);
	pool_destroy(&st->socks);
	pool_destroy(&st->bufs);
	ehash_destroy(&st->ehash);
	timer_heap_free(&st->timers);
	free(st->fds);
	free(st->fd_used);
	free(st->fd_full);
	free(st->addrs);
	free(st->addr_index);
	free(st->pend);
	free(st->pend_data);
	free(st);
}

/*
 * The local addresses: a replay of a router's capture may know thousands,
 * and every segment asks twice whether an address is one of them, so past
 * ADDR_SCAN of them an open-addressing index (kept at most half full)
 * answers instead of a scan. A server has one or two: the scan is faster
 * there than any hash.
 */
#define ADDR_SCAN 8

static uint32_t addr_slot(const struct ip_addr *a, uint32_t mask)
{
	/* hash_addr() leaves an IPv4 address as it is: mix it (Fibonacci hashing, high bits folded down). */
	uint32_t h = hash_addr(a->a, a->family == ADDR_V6, 0x5bd1e995u) * 0x9e3779b1u;

	return (h ^ h >> 16) & mask;
}

/* Out of line, so that stack_has_addr()'s scan stays small enough to be inlined into the replay's loop. */
static int __attribute__((noinline)) addr_find(const struct stack *st, const struct ip_addr *addr)
{
	uint32_t i, k;

	if (!st->addr_mask) {
		/* A server's one or two addresses: compared as they are, no hashing. */
		for (k = 0; k < (uint32_t)st->naddrs; k++)
			if (addr_equal(&st->addrs[k], addr))
				return (int)k;
		return -1;
	}
	for (i = addr_slot(addr, st->addr_mask); (k = st->addr_index[i]) != 0; i = (i + 1) & st->addr_mask)
		if (addr_equal(&st->addrs[k - 1], addr))
			return (int)k - 1;
	return -1;
}

/* Rebuilds the index with room for twice the addresses there are (at least 4 x ADDR_SCAN slots). */
static int addr_reindex(struct stack *st)
{
	uint32_t size = 4 * ADDR_SCAN, *idx, i;
	int k;

	while (size < 4 * (uint32_t)st->naddrs)
		size *= 2;
	idx = calloc(size, sizeof(*idx));
	if (!idx)
		return -ENOMEM;
	for (k = 0; k < st->naddrs; k++) {
		for (i = addr_slot(&st->addrs[k], size - 1); idx[i]; i = (i + 1) & (size - 1))
			;
		idx[i] = (uint32_t)k + 1;
	}
	free(st->addr_index);
	st->addr_index = idx;
	st->addr_mask = size - 1;
	return 0;
}

int stack_add_addr(struct stack *st, const struct ip_addr *addr)
{
	uint32_t i;

	if (addr_find(st, addr) >= 0)
		return -EEXIST;
	if (st->naddrs == st->cap_addrs) {
		int cap = st->cap_addrs ? 2 * st->cap_addrs : 4;
		struct ip_addr *a = realloc(st->addrs, (size_t)cap * sizeof(*a));

		if (!a)
			return -ENOMEM;
		st->addrs = a;
		st->cap_addrs = cap;
	}
	st->addrs[st->naddrs++] = *addr;
	if (st->naddrs > ADDR_SCAN && 2 * (uint32_t)st->naddrs > st->addr_mask) {
		if (addr_reindex(st) < 0) {
			st->naddrs--;
			return -ENOMEM;
		}
	} else if (st->addr_mask) {
		for (i = addr_slot(addr, st->addr_mask); st->addr_index[i]; i = (i + 1) & st->addr_mask)
			;
		st->addr_index[i] = (uint32_t)st->naddrs;
	}
	return 0;
}

int stack_has_addr(const struct stack *st, const struct ip_addr *addr)
{
	int k;

	/*
	 * Every segment asks twice (a replay's direction()), and a server
	 * mostly has one address: that one compared first, without setting
	 * up the scan.
	 */
	if (st->naddrs == 1)
		return addr_equal(&st->addrs[0], addr);
	if (st->addr_mask)
		return addr_find(st, addr) >= 0;
	for (k = 0; k < st->naddrs; k++)
		if (addr_equal(&st->addrs[k], addr))
			return 1;
	return 0;
}

int stack_has_addrs(const struct stack *st, const struct ip_addr *a, const struct ip_addr *b)
{
	/* A server's one address: compared with both ends at once, as stack_has_addr() does. */
	if (st->naddrs == 1)
		return addr_equal(&st->addrs[0], a) | addr_equal(&st->addrs[0], b) << 1;
	return stack_has_addr(st, a) | stack_has_addr(st, b) << 1;
}

void stack_set_isn_hook(struct stack *st, stack_isn_fn fn, void *ctx)
{
	st->isn_fn = fn;
	st->isn_ctx = ctx;
}

void stack_set_cookie_hook(struct stack *st, stack_cookie_fn fn, void *ctx)
{
	st->cookie_fn = fn;
	st->cookie_ctx = ctx;
}

void stack_set_observer(struct stack *st, stack_observer_fn fn, void *ctx)
{
	st->obs = fn;
	st->obs_ctx = ctx;
}

vtime_t stack_now(const struct stack *st)
{
	return st->now;
}

uint64_t stack_counter(const struct stack *st, int counter)
{
	return counter >= 0 && counter < CNT_COUNT ? st->counters[counter] : 0;
}

void stack_count(struct stack *st, int counter)
{
	st->counters[counter]++;
}

uint32_t stack_buckets(const struct stack *st)
{
	return st->ehash.mask + 1;
}

uint32_t stack_seed(const struct stack *st)
{
	return st->cfg.hash_seed;
}

/* ---- events ----------------------------------------------------------- */

static struct pending_ev *pend_slot(struct stack *st)
{
	if (st->npend == st->cap_pend) {
		size_t cap = st->cap_pend ? st->cap_pend * 2 : 16;
		struct pending_ev *p = realloc(st->pend, cap * sizeof(*p));

		if (!p)
			return NULL;
		st->pend = p;
		st->cap_pend = cap;
	}
	return &st->pend[st->npend++];
}

/*
 * Events are observations, not state: when memory for one runs out it is
 * lost, and the stack itself carries on correctly.
 */
void stack_emit(struct stack *st, const struct event *ev)
{
	struct pending_ev *p;

	if (!st->obs)
		return;
	p = pend_slot(st);
	if (p) {
		p->ev = *ev;
		p->ev.seg = NULL;
	}
}

/* An outbound segment with these flags is sent: OutSegs, OutRsts. */
static void count_out(struct stack *st, uint8_t flags)
{
	stack_count(st, CNT_OUTSEGS);
	if (flags & TH_RST)
		stack_count(st, CNT_OUTRSTS);
}

int stack_out_unseen(struct stack *st, uint8_t flags)
{
	if (st->obs)
		return 0;
	count_out(st, flags);
	return 1;
}

void stack_emit_out(struct stack *st, const struct segment *seg)
{
	struct pending_ev *p;

	count_out(st, seg->flags);
	if (!st->obs)
		return;
	if (st->pend_used + seg->len > st->pend_cap) {
		size_t cap = st->pend_cap ? st->pend_cap : 4096;
		uint8_t *d;

		while (cap < st->pend_used + seg->len)
			cap *= 2;
		d = realloc(st->pend_data, cap);
		if (!d)
			return;
		st->pend_data = d;
		st->pend_cap = cap;
	}
	p = pend_slot(st);
	if (!p)
		return;
	memset(&p->ev, 0, sizeof(p->ev));
	p->ev.type = EV_SEGMENT_OUT;
	p->ev.t = st->now;
	p->ev.frame = st->frame;
	p->ev.reason = -1;
	p->seg = *seg;
	p->data_off = st->pend_used;
	if (seg->len)
		memcpy(st->pend_data + st->pend_used, seg->data, seg->len);
	st->pend_used += seg->len;
}

/* stack_flush() when there is something to do. Out of line: see there. */
static void __attribute__((noinline)) flush_pending(struct stack *st)
{
	size_t i;

	/* The observer may call back into the stack (accept() on a queued event);
	 * whatever that queues is delivered by this same loop. */
	if (st->npend)
		st->ops++;
	for (i = 0; i < st->npend; i++) {
		struct pending_ev *p = &st->pend[i];
		struct event ev = p->ev;
		struct segment seg;

		ev.op = st->ops;
		if (ev.type == EV_SEGMENT_OUT || ev.type == EV_SEGMENT_IN) {
			seg = p->seg;
			/* An inbound payload still lives in the caller's buffer. */
			if (ev.type == EV_SEGMENT_OUT)
				seg.data = seg.len ? st->pend_data + p->data_off : NULL;
			ev.seg = &seg;
		}
		if (st->obs)
			st->obs(st->obs_ctx, &ev);
	}
	st->npend = 0;
	st->pend_used = 0;
	free_grave(st);
}

void stack_flush(struct stack *st)
{
	/*
	 * Every segment and timer ends here, and mostly nothing is queued
	 * (replay --quiet observes nothing) and nothing died: then no frame
	 * is set up for the loop.
	 */
	if (st->npend || st->pend_used || st->grave)
		flush_pending(st);
}

#ifdef TCPDEMUX_INVARIANTS
/*
 * Debug builds: a broken invariant stops the program where it broke. The
 * check walks every bucket, so on tables of 4096 buckets or more it runs
 * every 4096th step: a flood in a debug build must still finish.
 */
void stack_assert_invariants(struct stack *st)
{
	char why[256];

	if (st->ehash.bmask >= 4095 && (++st->invariant_steps & 4095) != 0)
		return;
	if (stack_check(st, why, sizeof(why)) < 0) {
		fprintf(stderr, "tcpdemux: stack invariant broken: %s\n", why);
		abort();
	}
}
#endif

int stack_input(struct stack *st, const struct segment *seg, int64_t frame)
{
	return stack_input_probed(st, seg, frame, NULL);
}

int stack_input_probed(struct stack *st, const struct segment *seg, int64_t frame, struct stack_probe *pr)
{
	int fd;

	st->frame = frame;
	fd = tcp_input(st, seg, frame, pr);
	stack_flush(st);
	st->frame = -1;
#ifdef TCPDEMUX_INVARIANTS
	stack_assert_invariants(st);
#endif
	return fd;
}

/* ---- snapshots -------------------------------------------------------- */

void stack_totals(const struct stack *st, struct stack_totals *out)
{
	const struct sock *l;

	memset(out, 0, sizeof(*out));
	for (l = st->lt.first; l; l = l->ls->all_next)
		out->listeners++;
	/* Kept as entries come and go (struct ehash): stack_check() holds them to a walk. */
	out->request = st->ehash.requests;
	out->timewait = st->ehash.timewaits;
	out->established = st->ehash.established;
	out->other = st->ehash.count - st->ehash.requests - st->ehash.timewaits - st->ehash.established;
}

void stack_walk_listeners(struct stack *st, listener_walk_fn fn, void *ctx)
{
	struct sock *l;

	for (l = st->lt.first; l; l = l->ls->all_next) {
		struct listener_view v;

		listener_view_of(l, &v);
		fn(ctx, &v);
	}
}

struct walk_ctx {
	const struct stack *st;
	sock_walk_fn fn;
	void *ctx;
};

static void walk_one(void *ctx, struct sock_common *c, uint32_t bucket)
{
	struct walk_ctx *w = ctx;
	struct sock_view v;

	(void)bucket;
	sock_view_of(w->st, c, &v);
	w->fn(w->ctx, &v);
}

void stack_walk_ehash(struct stack *st, sock_walk_fn fn, void *ctx)
{
	struct walk_ctx w = { st, fn, ctx };

	ehash_walk(&st->ehash, walk_one, &w);
}

int stack_find(struct stack *st, const struct ip_addr *laddr, uint16_t lport,
	       const struct ip_addr *raddr, uint16_t rport, struct sock_view *out)
{
	struct lookup_info li;
	struct sock_common *c = ehash_lookup(st, laddr, lport, raddr, rport, &li);

	if (!c)
		return 0;
	if (out)
		sock_view_of(st, c, out);
	return 1;
}

int stack_rebase_request(struct stack *st, const struct ip_addr *laddr, uint16_t lport,
			 const struct ip_addr *raddr, uint16_t rport, uint32_t isn)
{
	struct lookup_info li;
	struct sock_common *c = ehash_lookup(st, laddr, lport, raddr, rport, &li);
	struct request_sock *req;

	if (!c || c->kind != SK_REQUEST)
		return -ENOENT;
	req = sk_req(c);
	if (req->acked)
		return -EBUSY;
	if (req->iss == isn)
		return 0;
	req->iss = isn;
	return 1;
}

static struct sock *listener_by_id(const struct stack *st, uint32_t id)
{
	struct sock *l;

	for (l = st->lt.first; l; l = l->ls->all_next)
		if (l->c.id == id)
			return l;
	return NULL;
}

int stack_listener_stats(const struct stack *st, uint32_t listener_id, struct listener_stats *out)
{
	const struct sock *l = listener_by_id(st, listener_id);

	if (!l)
		return -ENOENT;
	*out = l->ls->stats;
	return 0;
}

int stack_walk_syn_queue(struct stack *st, uint32_t listener_id, sock_walk_fn fn, void *ctx)
{
	struct sock *l = listener_by_id(st, listener_id);
	struct request_sock *r;

	if (!l)
		return -ENOENT;
	for (r = l->ls->syn_head; r; r = r->syn_next) {
		struct sock_view v;

		sock_view_of(st, &r->c, &v);
		fn(ctx, &v);
	}
	return 0;
}

int stack_walk_accept_queue(struct stack *st, uint32_t listener_id, sock_walk_fn fn, void *ctx)
{
	struct sock *l = listener_by_id(st, listener_id);
	uint32_t i;

	if (!l)
		return -ENOENT;
	for (i = 0; i < l->ls->ack_backlog; i++) {
		struct sock_view v;

		sock_view_of(st, &accept_queue_at(l->ls, i)->c, &v);
		fn(ctx, &v);
	}
	return 0;
}

#define CHECK(cond, ...)                                 \
	do {                                             \
		if (!(cond)) {                           \
			snprintf(why, len, __VA_ARGS__); \
			return -EFAULT;                  \
		}                                        \
	} while (0)

int stack_check(const struct stack *st, char *why, size_t len)
{
	const struct sock *l;
	uint32_t i, n = 0, reqs = 0, qreqs = 0, tws = 0, est = 0;

	CHECK(st->ehash.bmask <= st->ehash.mask && (st->ehash.bmask & (st->ehash.bmask + 1)) == 0,
	      "ehash has %u chains for %u buckets", st->ehash.bmask + 1, st->ehash.mask + 1);
	for (i = 0; i <= st->ehash.bmask; i++) {
		const struct sock_common *c;
		uint32_t tag = st->ehash.b[i].tag, in_chain = 0;

		for (c = st->ehash.b[i].head; c; c = c->next) {
			uint32_t h = ehash_hashfn(st, &c->laddr, c->lport, &c->raddr, c->rport);

			CHECK(tag & ehash_tag_bit(h), "sock %u's hash %08x not in chain %u's tag %08x", c->id, h, i, tag);
			in_chain++;

			CHECK(c->hashed, "sock %u in ehash but not marked hashed", c->id);
			CHECK(c->hash == h, "sock %u cached hash %08x, tuple hashes to %08x", c->id, c->hash, h);
			CHECK((h & st->ehash.bmask) == i, "sock %u in chain %u, belongs in %u", c->id, i,
			      h & st->ehash.bmask);
			CHECK(c->state != TCP_LISTEN && c->state != TCP_CLOSED,
			      "sock %u in ehash in state %s", c->id, tcp_state_name(c->state));
			if (c->kind == SK_REQUEST) {
				reqs++;
				CHECK(container_of(c, const struct request_sock, c)->listener != NULL,
				      "request %u has no listener", c->id);
			}
			tws += c->kind == SK_TW;
			est += c->kind == SK_FULL && c->state == TCP_ESTABLISHED;
			n++;
		}
		/* EHASH_TAG_MANY: not known (15 or more were in it since a walk last counted them). */
		CHECK((tag & EHASH_TAG_COUNT) == EHASH_TAG_MANY || (tag & EHASH_TAG_COUNT) == in_chain,
		      "chain %u holds %u entries, its tag %08x counts %u", i, in_chain, tag, tag & EHASH_TAG_COUNT);
	}
	CHECK(n == st->ehash.count, "ehash holds %u entries, count says %u", n, st->ehash.count);
	CHECK(reqs == st->ehash.requests && tws == st->ehash.timewaits && est == st->ehash.established,
	      "ehash holds %u requests, %u TIME_WAIT, %u ESTABLISHED; its totals say %u, %u, %u", reqs, tws, est,
	      st->ehash.requests, st->ehash.timewaits, st->ehash.established);
	for (l = st->lt.first; l; l = l->ls->all_next) {
		const struct request_sock *r;
		const struct sock *s;
		uint32_t q = 0, a = 0;

		CHECK(l->c.state == TCP_LISTEN, "listener %u in state %s", l->c.id,
		      tcp_state_name(l->c.state));
		CHECK(!l->c.hashed, "listener %u is in ehash", l->c.id);
		for (r = l->ls->syn_head; r; r = r->syn_next) {
			CHECK(r->c.hashed, "request %u in SYN queue but not in ehash", r->c.id);
			CHECK(r->listener == l, "request %u on the wrong listener", r->c.id);
			q++;
		}
		CHECK(l->ls->ack_backlog <= l->ls->acc_cap, "listener %u: ack_backlog %u in a ring of %u",
		      l->c.id, l->ls->ack_backlog, l->ls->acc_cap);
		for (a = 0; a < l->ls->ack_backlog; a++) {
			s = accept_queue_at(l->ls, a);
			CHECK(s->queued && s->parent == l, "sock %u queued with parent mismatch", s->c.id);
		}
		CHECK(q == l->ls->qlen, "listener %u: qlen %u but %u requests queued", l->c.id,
		      l->ls->qlen, q);
		CHECK(a <= (uint32_t)l->ls->backlog + 1 || a <= l->ls->limit_seen,
		      "listener %u: accept queue %u > backlog+1 (%d)", l->c.id, a, l->ls->backlog + 1);
		qreqs += q;
	}
	CHECK(qreqs == reqs, "%u requests in ehash, %u in SYN queues", reqs, qreqs);
	{
		const char *tw = timer_check(&st->timers);

		CHECK(!tw, "timers: %s", tw);
	}
	for (i = 0; i < (uint32_t)st->nfds; i++) {
		int bit = (int)(st->fd_used[i / 64] >> (i % 64) & 1);

		CHECK(bit == (i < 3 || st->fds[i] != NULL), "descriptor %u: used bit %d, socket %s", i, bit,
		      st->fds[i] ? "present" : "absent");
		CHECK(!st->fds[i] || st->fds[i]->fd == (int)i, "descriptor %u holds sock %u whose fd is %d", i,
		      st->fds[i]->c.id, st->fds[i]->fd);
		if (!bit)
			CHECK(i >= (uint32_t)st->fd_hint, "descriptor %u free below the hint %d", i, st->fd_hint);
		if (i % 64 == 63)
			CHECK((int)(st->fd_full[i / 4096] >> (i / 64 % 64) & 1) == (st->fd_used[i / 64] == ~0ull),
			      "descriptor word %u: full bit disagrees", i / 64);
	}
	return 0;
}
