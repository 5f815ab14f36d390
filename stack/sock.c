/*
 * sock.c - life and death of sockets, requests and TIME_WAIT entries, the
 * descriptor table, and the byte buffers behind send() and recv().
 *
 * Every object gets an id that stays with the connection through its
 * forms (request -> child socket -> TIME_WAIT), so a reader can follow one
 * connection through a trace; Linux frees and allocates a new object at
 * each step, but nothing visible depends on that.
 *
 * Freeing is deferred to stack_flush(): a socket destroyed while a segment
 * is being processed is unhashed at once (no later lookup can find it) but
 * its memory lives until the events describing its end have gone out.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "clear.h"
#include "internal.h"

/* c is cleared (its object is): the addresses need only their family to be addr_any(family). */
static void common_init(struct stack *st, struct sock_common *c, uint8_t kind, int family,
			uint32_t id)
{
	c->kind = kind;
	c->id = id ? id : ++st->next_id;
	c->laddr.family = c->raddr.family = (uint8_t)family;
	st->nsocks++;
}

static void emit_sock(struct stack *st, uint8_t type, const struct sock_common *c, int old, int err)
{
	struct event ev;

	if (!st->obs)
		return; /* nobody to tell: skip building the view */
	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.t = st->now;
	ev.frame = st->frame;
	ev.reason = -1;
	ev.has_sock = 1;
	sock_view_of(st, c, &ev.sock);
	ev.old_state = (uint8_t)old;
	ev.err = err;
	stack_emit(st, &ev);
}

/* The pool's slot: the largest of the three kinds (stack_new sizes the pool with it). */
size_t sock_slot_size(void)
{
	size_t n = sizeof(struct sock);

	if (sizeof(struct request_sock) > n)
		n = sizeof(struct request_sock);
	if (sizeof(struct tw_sock) > n)
		n = sizeof(struct tw_sock);
	_Static_assert(sizeof(struct sock_bufs) <= sizeof(struct sock), "byte-queue heads share the socket pool");
	_Static_assert(sizeof(struct sock_ext) <= sizeof(struct sock), "ext blocks share the socket pool");
	return n;
}

struct sock *sock_alloc(struct stack *st, int family, uint32_t id)
{
	struct sock *sk = pool_alloc(&st->socks);

	if (!sk)
		return NULL;
	clear_obj(sk, sizeof(*sk)); /* clear.h: per connection */
	common_init(st, &sk->c, SK_FULL, family, id);
	sk->fd = -1;
	sk->c.state = TCP_CLOSED;
	tcp_cwnd_init(st, sk);
	return sk;
}

/* The transmit state of a socket that has sent nothing yet: what sk_rto(), sk_cwnd() ... answer without ext. */
static void ext_tx_init(struct sock_tx *tx, struct sock *sk)
{
	memset(tx, 0, sizeof(*tx));
	tx->sk = sk;
	tx->rto = TIMEOUT_INIT;
	tx->cwnd = sk_cwnd(sk);
	tx->ssthresh = CWND_INFINITE;
}

struct sock_ext *sock_ext_get(struct stack *st, struct sock *sk)
{
	struct sock_ext *x;

	if (sk->ext)
		return sk->ext;
	/* from the socket pool, not malloc: every connection that sends makes one (a third of a replay's mallocs) */
	x = pool_alloc(&st->socks);
	if (x) {
		clear_obj(x, sizeof(*x));
		ext_tx_init(&x->tx, sk); /* before sk->ext is set: sk_cwnd() answers from the flag */
		sk->ext = x;
	}
	return x;
}

struct sock_ext *sock_ext_copy(struct stack *st, struct sock *sk, const struct sock_ext *from)
{
	struct sock_ext *x = sock_ext_get(st, sk);
	struct sock_tx tx;

	if (!x)
		return NULL;
	tx = x->tx;
	*x = *from;
	x->tx = tx;
	return x;
}

int sk_timer_arm(struct stack *st, struct sock *sk, uint8_t kind, vtime_t when)
{
	struct sock_ext *x = sock_ext_get(st, sk);

	return x ? timer_arm(st, &x->tx.timer, kind, when) : -ENOMEM;
}

void sk_timer_cancel(struct stack *st, struct sock *sk)
{
	if (sk->ext)
		timer_cancel(st, &sk->ext->tx.timer);
}

struct request_sock *reqsk_alloc(struct stack *st)
{
	struct request_sock *req = pool_alloc(&st->socks);

	if (!req)
		return NULL;
	clear_obj(req, sizeof(*req));
	common_init(st, &req->c, SK_REQUEST, ADDR_V4, 0);
	req->c.state = TCP_SYN_RECV;
	return req;
}

struct tw_sock *twsk_alloc(struct stack *st, uint32_t id)
{
	struct tw_sock *tw = pool_alloc(&st->socks);

	if (!tw)
		return NULL;
	clear_obj(tw, sizeof(*tw));
	common_init(st, &tw->c, SK_TW, ADDR_V4, id);
	tw->c.state = TCP_TIME_WAIT;
	return tw;
}

void sock_set_state(struct stack *st, struct sock *sk, int state)
{
	int old = sk->c.state;

	if (old == state)
		return;
	/* tcp_set_state(): tcpEstabResets (RFC 1213) counts every direct move
	 * from ESTABLISHED or CLOSE_WAIT to CLOSED - RST received, abort on
	 * close(), timeout, a listener resetting its queued children. */
	if (state == TCP_CLOSED && (old == TCP_ESTABLISHED || old == TCP_CLOSE_WAIT))
		stack_count(st, CNT_ESTABRESETS);
	if (sk->c.hashed && sk->c.kind == SK_FULL && (old == TCP_ESTABLISHED) != (state == TCP_ESTABLISHED))
		st->ehash.established += state == TCP_ESTABLISHED ? 1u : (uint32_t)-1;
	sk->c.state = (uint8_t)state;
	if (!sk->timewait)
		emit_sock(st, EV_SOCK_STATE, &sk->c, old, sk->err);
}

/*
 * Takes c out of every table and timer, emits EV_SOCK_FREE, and parks it
 * for stack_flush() to free. A full socket still owned by a descriptor is
 * only closed (state CLOSED, unhashed): the descriptor keeps it until
 * close(), as a Linux socket outlives its connection.
 */
void sock_destroy(struct stack *st, struct sock_common *c)
{
	ehash_remove(st, c);
	switch (c->kind) {
	case SK_REQUEST: {
		struct request_sock *req = sk_req(c);

		timer_cancel(st, &req->timer);
		if (req->listener)
			syn_queue_unlink(req->listener, req);
		break;
	}
	case SK_TW: {
		struct tw_sock *tw = sk_tw(c);

		timer_cancel(st, &tw->timer);
		bind_remove(st, &tw->bind);
		break;
	}
	default: {
		struct sock *sk = sk_full(c);

		sk_timer_cancel(st, sk);
		if (sk->c.state != TCP_CLOSED)
			sock_set_state(st, sk, TCP_CLOSED);
		/*
		 * Still held by a descriptor, or waiting in an accept queue:
		 * Linux's accept() returns a child reset while it waited, and
		 * the first read reports the error.
		 */
		if (sk->fd >= 0 || sk->queued)
			return;
		bind_remove(st, &sk->bind);
		if (sk_listen(sk))
			listen_table_remove(st, sk);
		break;
	}
	}
	/* A socket whose connection lives on in TIME_WAIT goes quietly: #id is still there. */
	if (c->kind != SK_FULL || !sk_full(c)->timewait)
		emit_sock(st, EV_SOCK_FREE, c, c->state, 0);
	st->nsocks--;
	c->next = st->grave;
	st->grave = c;
}

void sock_release(struct stack *st, struct sock_common *c)
{
	if (c->kind == SK_FULL) {
		struct sock *sk = sk_full(c);

		sock_queues_free(st, sk);
		listen_state_free(sk_listen(sk));
		pool_free(&st->socks, sk->ext);
	}
	pool_free(&st->socks, c);
}

void reqsk_retire(struct stack *st, struct request_sock *req)
{
	timer_cancel(st, &req->timer);
	if (req->listener)
		syn_queue_unlink(req->listener, req);
	if (req->c.hashed)
		ehash_remove(st, &req->c);
	st->nsocks--;
	req->c.next = st->grave;
	st->grave = &req->c;
}

void sock_view_of(const struct stack *st, const struct sock_common *c, struct sock_view *v)
{
	memset(v, 0, sizeof(*v));
	v->id = c->id;
	v->fd = -1;
	if (c->kind == SK_FULL) {
		const struct sock *sk = container_of(c, const struct sock, c);

		v->fd = sk->fd;
		v->recv_q = sk_rcv_len(sk);
		v->send_q = sk_snd_len(sk);
	}
	v->state = c->state;
	v->laddr = c->laddr;
	v->raddr = c->raddr;
	v->lport = c->lport;
	v->rport = c->rport;
	v->bucket = c->hash & st->ehash.mask;
}

void listener_view_of(const struct sock *sk, struct listener_view *v)
{
	memset(v, 0, sizeof(*v));
	v->id = sk->c.id;
	v->fd = sk->fd;
	v->addr = sk->c.laddr;
	v->port = sk->c.lport;
	v->reuseport = sk->reuseport;
	if (sk_listen(sk)) {
		v->backlog = sk->ls->backlog;
		v->syn_queue = sk->ls->qlen;
		v->accept_queue = sk->ls->ack_backlog;
	}
}

/* ---- descriptors ------------------------------------------------------ */

/*
 * socket() and accept() take the lowest free descriptor >= 3, as POSIX
 * requires. st->fds maps a descriptor to its socket; st->fd_used has a bit
 * per descriptor and st->fd_full a bit per word of fd_used that is all
 * ones, so the lowest free one is found by skipping full words 64 at a
 * time, as Linux's find_next_fd() does with its full_fds_bits, starting
 * from fd_hint (nothing below it is free). Scanning the pointer array
 * instead cost O(open descriptors) per accept() once long-lived
 * connections held the low numbers and a freed one sat above them.
 */
#define FD_LIMIT (1 << 20) /* -EMFILE past it: an 8 MiB table at most */

/* Doubles the table. Returns 0, -EMFILE or -ENOMEM (table still consistent). */
static int fd_grow(struct stack *st)
{
	int n = st->nfds ? st->nfds * 2 : 64;
	size_t oldw = (size_t)st->nfds / 64, words = (size_t)n / 64;
	size_t oldf = (oldw + 63) / 64, fwords = (words + 63) / 64;
	struct sock **fds;
	uint64_t *used, *full;

	if (n > FD_LIMIT)
		return -EMFILE;
	fds = realloc(st->fds, (size_t)n * sizeof(*fds));
	if (!fds)
		return -ENOMEM;
	memset(fds + st->nfds, 0, (size_t)(n - st->nfds) * sizeof(*fds));
	st->fds = fds;
	used = realloc(st->fd_used, words * sizeof(*used));
	if (!used)
		return -ENOMEM;
	memset(used + oldw, 0, (words - oldw) * sizeof(*used));
	st->fd_used = used;
	full = realloc(st->fd_full, fwords * sizeof(*full));
	if (!full)
		return -ENOMEM;
	memset(full + oldf, 0, (fwords - oldf) * sizeof(*full));
	st->fd_full = full;
	if (!st->nfds)
		used[0] = 7; /* 0, 1 and 2 are stdin, stdout and stderr: never handed out */
	st->nfds = n;
	return 0;
}

/* The lowest free descriptor, or -1 when all st->nfds are taken. */
static int fd_lowest_free(const struct stack *st)
{
	size_t words = (size_t)st->nfds / 64, fwords = (words + 63) / 64, fw;

	/*
	 * Descriptors mostly go and come in order: fd_hint itself is free,
	 * and then it is the lowest, with no search of the summary words.
	 */
	if (st->fd_hint < st->nfds && !(st->fd_used[st->fd_hint / 64] >> (st->fd_hint % 64) & 1))
		return st->fd_hint;

	/* No descriptor below fd_hint is free: start at its summary word. */
	for (fw = (size_t)st->fd_hint / 4096; fw < fwords; fw++) {
		uint64_t f = st->fd_full[fw];
		size_t w;

		if (fw == fwords - 1 && words % 64)
			f |= ~0ull << (words % 64); /* words past the table count as full */
		if (f == ~0ull)
			continue;
		w = fw * 64 + (size_t)__builtin_ctzll(~f);
		return (int)(w * 64 + (size_t)__builtin_ctzll(~st->fd_used[w]));
	}
	return -1;
}

int fd_install(struct stack *st, struct sock *sk)
{
	int fd = fd_lowest_free(st), r;
	size_t w;

	if (fd < 0) {
		r = fd_grow(st);
		if (r < 0)
			return r;
		fd = fd_lowest_free(st);
	}
	w = (size_t)fd / 64;
	st->fd_used[w] |= 1ull << (fd % 64);
	if (st->fd_used[w] == ~0ull)
		st->fd_full[w / 64] |= 1ull << (w % 64);
	st->fds[fd] = sk;
	sk->fd = fd;
	st->fd_hint = fd + 1;
	return fd;
}

struct sock *fd_lookup(struct stack *st, int fd)
{
	if (fd < 0 || fd >= st->nfds)
		return NULL;
	return st->fds[fd];
}

void fd_release(struct stack *st, struct sock *sk)
{
	if (sk->fd >= 0 && sk->fd < st->nfds) {
		size_t w = (size_t)sk->fd / 64;

		st->fds[sk->fd] = NULL;
		st->fd_used[w] &= ~(1ull << (sk->fd % 64));
		st->fd_full[w / 64] &= ~(1ull << (w % 64));
		if (sk->fd < st->fd_hint)
			st->fd_hint = sk->fd;
	}
	sk->fd = -1;
}

/* ---- byte buffers ----------------------------------------------------- */

/*
 * Most queues never hold more than a request or a response: their first
 * BUF_SMALL bytes come from the stack's buffer pool (st->bufs, no malloc
 * per connection), and only a queue that outgrows them moves to malloc.
 * A queue's capacity says where its bytes live: BUF_SMALL is the pool's.
 */
static void bytebuf_free(struct stack *st, struct bytebuf *b)
{
	if (b->cap == BUF_SMALL) {
		pool_free(&st->bufs, b->p);
	} else if (b->cap) {
		free(b->p);
		st->big_bufs--;
	}
	memset(b, 0, sizeof(*b));
}

/* Returns 0 or -ENOMEM (buffer unchanged). */
static int bytebuf_append(struct stack *st, struct bytebuf *b, const uint8_t *p, uint32_t n)
{
	if (n == 0)
		return 0;
	if (b->off + b->len + n > b->cap) {
		if (b->off) { /* slide down before growing */
			memmove(b->p, b->p + b->off, b->len);
			b->off = 0;
		}
		if (!b->cap && n <= BUF_SMALL) {
			b->p = pool_alloc(&st->bufs);
			if (!b->p)
				return -ENOMEM;
			b->cap = BUF_SMALL;
		} else if (b->len + n > b->cap) {
			uint32_t cap = 2 * BUF_SMALL;
			uint8_t *q;

			while (cap < b->len + n)
				cap *= 2;
			if (b->cap == BUF_SMALL) {
				q = malloc(cap);
				if (!q)
					return -ENOMEM;
				memcpy(q, b->p, b->len);
				pool_free(&st->bufs, b->p);
			} else {
				q = realloc(b->p, cap);
				if (!q)
					return -ENOMEM;
			}
			if (b->cap <= BUF_SMALL)
				st->big_bufs++;
			b->p = q;
			b->cap = cap;
		}
	}
	memcpy(b->p + b->off + b->len, p, n);
	b->len += n;
	return 0;
}

static void bytebuf_consume(struct stack *st, struct bytebuf *b, uint32_t n)
{
	if (n >= b->len) {
		/* Drained: give the memory back, so a million idle connections cost no buffers. */
		bytebuf_free(st, b);
		return;
	}
	b->off += n;
	b->len -= n;
}

int sock_queue_append(struct stack *st, struct sock *sk, int rcv, const uint8_t *p, uint32_t n)
{
	int r;

	if (n == 0)
		return 0;
	if (!sk->bufs) {
		/* From the socket pool: its slot is larger, and the queues are short-lived. */
		sk->bufs = pool_alloc(&st->socks);
		if (!sk->bufs)
			return -ENOMEM;
		memset(sk->bufs, 0, sizeof(*sk->bufs));
	}
	r = bytebuf_append(st, rcv ? &sk->bufs->rcv : &sk->bufs->snd, p, n);
	if (r < 0 && !sk->bufs->snd.len && !sk->bufs->rcv.len)
		sock_queues_free(st, sk);
	return r;
}

void sock_queue_consume(struct stack *st, struct sock *sk, int rcv, uint32_t n)
{
	if (!sk->bufs)
		return;
	bytebuf_consume(st, rcv ? &sk->bufs->rcv : &sk->bufs->snd, n);
	if (!sk->bufs->snd.len && !sk->bufs->rcv.len)
		sock_queues_free(st, sk);
}

void sock_queues_free(struct stack *st, struct sock *sk)
{
	if (!sk->bufs)
		return;
	bytebuf_free(st, &sk->bufs->snd);
	bytebuf_free(st, &sk->bufs->rcv);
	pool_free(&st->socks, sk->bufs);
	sk->bufs = NULL;
}
