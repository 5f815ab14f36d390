/*
 * fuzz_stack.c - libFuzzer harness for the stack as a whole: segments in,
 * clock, and the socket API, with the invariants checked after every step.
 *
 * Input layout (every read past the end gives 0, so any input is valid):
 *
 *   6 header bytes   sysctls, then one or two listeners (address, port,
 *                    SO_REUSEPORT, backlog)
 *   commands         one opcode byte each, then its operands:
 *                    feed a segment, advance the clock (0..70 s, or to the
 *                    next timer), accept, recv, send, send(MSG_MORE),
 *                    shutdown, close, abort, connect, listen, adopt,
 *                    setsockopt, and read-only queries
 *
 * Segments are fed on a small set of 4-tuples: fixed remote endpoints x
 * the local endpoints listeners use, plus every 4-tuple the stack itself
 * sent on (so connect()'s ephemeral ports are reachable). Their seq and ack
 * are chosen relative to the last segment the stack sent on that tuple
 * (exact, a little off, far off, or raw), so handshakes complete, data
 * flows and FINs are accepted often enough to reach the later states.
 *
 * Checks:
 *   - stack_check() after every command (abort with its message);
 *   - every segment the stack sends has a local source address, carries
 *     no more than the MTU-derived MSS, and survives seg_build() +
 *     seg_parse_ip(SEG_VERIFY_CSUM) unchanged;
 *   - at the end, as the Check suites' ts_free() does: every descriptor is
 *     closed and the clock runs an hour on; then no socket, request,
 *     TIME_WAIT entry or timer may be left. stack_free() then leaves
 *     nothing for LeakSanitizer.
 *
 * FUZZ_STACK_TRACE=1 prints every command and event; FUZZ_TOLERATE_KNOWN=1
 * (set by run.sh while fuzzing) lets the open bugs named "Known issue" below
 * pass, by their exact signature.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "socket.h"
#include "stack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FAIL(...)                                           \
	do {                                                \
		fprintf(stderr, "fuzz_stack: " __VA_ARGS__); \
		fputc('\n', stderr);                        \
		abort();                                    \
	} while (0)

/*
 * FUZZ_STACK_TRACE=1 in the environment prints every command and every
 * event on stderr: run a reproducer with it to see what happened.
 */
static int tracing = -1;

#define TRACE(...)                                    \
	do {                                          \
		if (tracing > 0)                      \
			fprintf(stderr, __VA_ARGS__); \
	} while (0)

#define MAX_COMMANDS 4096
#define MAX_SEND_TOTAL (8u << 20) /* bytes the application may queue per run */
#define PATTERN_LEN (256u << 10)

/* ---- reading the input ------------------------------------------------ */

struct in {
	const uint8_t *p;
	size_t n, i;
};

static uint8_t get8(struct in *in)
{
	return in->i < in->n ? in->p[in->i++] : 0;
}

static uint16_t get16(struct in *in)
{
	uint16_t hi = get8(in);

	return (uint16_t)(hi << 8 | get8(in));
}

static uint32_t get32(struct in *in)
{
	uint32_t hi = get16(in);

	return hi << 16 | get16(in);
}

/* ---- endpoints ------------------------------------------------------- */

struct ep {
	const char *addr;
	uint16_t port;
};

/* Local addresses of the stack. */
static const char *const local_addrs[] = { "10.0.0.1", "10.0.0.4", "fd00::1" };

/* Local endpoints segments are sent to (where listeners may be). */
static const struct ep local_eps[] = {
	{ "10.0.0.1", 80 }, { "10.0.0.1", 8080 }, { "10.0.0.4", 80 },
	{ "fd00::1", 80 },  { "fd00::1", 8080 },
};

/* Remote endpoints: three ordinary clients, a multicast and their IPv6 kin. */
static const struct ep remote_eps[] = {
	{ "10.0.0.2", 1234 }, { "10.0.0.2", 1235 }, { "10.0.0.3", 5678 }, { "224.0.0.9", 520 },
	{ "fd00::2", 4321 },  { "ff02::1", 1000 },
};

#define N_LOCAL_EPS (sizeof(local_eps) / sizeof(local_eps[0]))
#define N_REMOTE_EPS (sizeof(remote_eps) / sizeof(remote_eps[0]))

/* Listener addresses: the exact ones and the wildcards. */
static const char *const listen_addrs[] = { "10.0.0.1", "0.0.0.0", "::", "fd00::1", "10.0.0.4" };

static struct ip_addr parse_addr(const char *s)
{
	struct ip_addr a;

	if (addr_parse(s, &a) != 0)
		FAIL("bad built-in address %s", s);
	return a;
}

/* ---- 4-tuples and what the stack last sent on them --------------------- */

struct tup {
	struct ip_addr la, ra;
	uint16_t lp, rp;
	uint8_t have_out;   /* the stack has sent on this tuple */
	uint8_t ack_valid;  /* ... a segment with ACK set */
	uint8_t have_ts;
	uint32_t out_seq;   /* seq of the last segment sent */
	uint32_t out_nxt;   /* highest seq + seqlen sent: the stack's snd_nxt */
	uint32_t out_ack;   /* last ack sent: what the stack expects next */
	uint32_t out_tsval; /* last TSval sent */
	uint32_t peer_isn;  /* the ISN "our" peer uses on this tuple */
	uint32_t peer_nxt;  /* the peer's next seq, as far as it knows */
	uint32_t peer_ts;
};

#define MAX_FIXED 32
#define MAX_OBSERVED 16

static struct tup tups[MAX_FIXED + MAX_OBSERVED];
static unsigned nfixed, nobserved, next_observed;

static struct stack *st;
static uint8_t wire[SEG_WIRE_MAX];
static uint8_t pattern[PATTERN_LEN];
static uint8_t rbuf[65536];

static int after(uint32_t a, uint32_t b) { return (int32_t)(a - b) > 0; }

static struct tup *tup_find(const struct ip_addr *la, uint16_t lp, const struct ip_addr *ra,
			    uint16_t rp)
{
	unsigned i;

	for (i = 0; i < nfixed + nobserved; i++) {
		struct tup *t = &tups[i];

		if (t->lp == lp && t->rp == rp && addr_equal(&t->la, la) && addr_equal(&t->ra, ra))
			return t;
	}
	return NULL;
}

static void tup_init(struct tup *t, const struct ip_addr *la, uint16_t lp, const struct ip_addr *ra,
		     uint16_t rp, uint32_t isn)
{
	memset(t, 0, sizeof(*t));
	t->la = *la;
	t->ra = *ra;
	t->lp = lp;
	t->rp = rp;
	t->peer_isn = isn;
	t->peer_nxt = isn;
	t->peer_ts = 1000;
}

/* ---- the observer ------------------------------------------------------ */

/* FUZZ_TOLERATE_KNOWN is set: see only_known_leftovers(). */
static int tolerate_known = -1;

static void check_out_segment(const struct segment *seg)
{
	struct segment back;
	size_t n;
	int r;
	uint32_t mss = st->cfg.mtu - (seg->src.family == ADDR_V6 ? 40u : 20u) - 20u;

	if (!stack_has_addr(st, &seg->src))
		FAIL("segment sent from a non-local address");
	if (seg->len > mss)
		FAIL("segment of %u bytes, more than the MTU allows (%u)", seg->len, mss);
	if (seg->len && !seg->data)
		FAIL("outbound segment with len %u and no data", seg->len);
	n = seg_build(seg, wire, sizeof(wire));
	if (n == 0)
		FAIL("seg_build refused an outbound segment (flags %#x len %u)", seg->flags, seg->len);
	r = seg_parse_ip(wire, n, &back, SEG_VERIFY_CSUM);
	if (r != 0)
		FAIL("outbound segment does not parse back: %s", seg_error_name(r));
	if (back.seq != seg->seq || back.ack != seg->ack || back.flags != seg->flags ||
	    back.len != seg->len || back.sport != seg->sport || back.dport != seg->dport ||
	    back.win != seg->win)
		FAIL("outbound segment changed through seg_build/seg_parse_ip");
	if (back.len && memcmp(back.data, seg->data, back.len) != 0)
		FAIL("outbound payload changed through seg_build/seg_parse_ip");
}

static void trace_seg(const char *dir, const struct segment *seg)
{
	char a[ADDR_STRLEN], b[ADDR_STRLEN], f[9];

	TRACE("  %s %s > %s %s seq %u ack %u win %u len %u%s%s\n", dir,
	      endpoint_format(&seg->src, seg->sport, a, sizeof(a)),
	      endpoint_format(&seg->dst, seg->dport, b, sizeof(b)), seg_flags_str(seg->flags, f),
	      seg->seq, seg->ack, seg->win, seg->len, seg->opt.has_ts ? " ts" : "",
	      seg->opt.has_wscale ? " ws" : "");
}

static void trace_event(const struct event *ev)
{
	char a[ADDR_STRLEN], b[ADDR_STRLEN];

	switch (ev->type) {
	case EV_SEGMENT_IN:
		trace_seg("in ", ev->seg);
		TRACE("      lookup %s -> %s (sock %u %s)\n", lookup_result_name(ev->lookup.result),
		      seg_action_name(ev->action), ev->has_sock ? ev->sock.id : 0,
		      ev->has_sock ? tcp_state_name(ev->sock.state) : "-");
		break;
	case EV_SEGMENT_OUT:
		trace_seg("out", ev->seg);
		break;
	case EV_SOCK_STATE:
		TRACE("  sock %u fd %d %s -> %s\n", ev->sock.id, ev->sock.fd, tcp_state_name(ev->old_state),
		      tcp_state_name(ev->sock.state));
		break;
	case EV_SOCK_NEW:
	case EV_SOCK_FREE:
		TRACE("  sock %u %s (%s %s <- %s)\n", ev->sock.id, ev->type == EV_SOCK_NEW ? "new" : "freed",
		      tcp_state_name(ev->sock.state),
		      endpoint_format(&ev->sock.laddr, ev->sock.lport, a, sizeof(a)),
		      endpoint_format(&ev->sock.raddr, ev->sock.rport, b, sizeof(b)));
		break;
	case EV_TIMER:
		TRACE("  timer: sock %u %s retries %u\n", ev->sock.id, seg_action_name(ev->action),
		      ev->retries);
		break;
	case EV_ACCEPT:
		TRACE("  accept: sock %u fd %d\n", ev->sock.id, ev->sock.fd);
		break;
	default:
		break;
	}
}

static void observe(void *ctx, const struct event *ev)
{
	const struct segment *seg;
	struct tup *t;
	uint32_t end;

	(void)ctx;
	if (tracing > 0) {
		TRACE("  [t=%.6f] ", (double)ev->t / VT_SEC);
		trace_event(ev);
	}
	if (ev->type != EV_SEGMENT_OUT)
		return;
	seg = ev->seg;
	check_out_segment(seg);
	t = tup_find(&seg->src, seg->sport, &seg->dst, seg->dport);
	if (!t) {
		/* A tuple the stack opened itself (connect): remember it. */
		t = &tups[nfixed + next_observed];
		next_observed = (next_observed + 1) % MAX_OBSERVED;
		if (nobserved < MAX_OBSERVED)
			nobserved++;
		tup_init(t, &seg->src, seg->sport, &seg->dst, seg->dport,
			 0x40000000u + (uint32_t)seg->sport * 7919u);
	}
	end = seg->seq + seg_seqlen(seg);
	if (!t->have_out || after(end, t->out_nxt) || (seg->flags & TH_SYN))
		t->out_nxt = end;
	t->out_seq = seg->seq;
	t->have_out = 1;
	if (seg->flags & TH_ACK) {
		t->out_ack = seg->ack;
		t->ack_valid = 1;
	}
	if (seg->opt.has_ts) {
		t->out_tsval = seg->opt.tsval;
		t->have_ts = 1;
	}
}

/* ---- checks ------------------------------------------------------------ */

static void check(const char *after_what)
{
	char why[256];

	if (stack_check(st, why, sizeof(why)) != 0)
		FAIL("stack_check after %s: %s", after_what, why);
}

/* ---- commands ------------------------------------------------------------ */

static int pick_fd(struct in *in)
{
	return get8(in) % 32;
}

static const uint8_t flag_table[16] = {
	TH_SYN,
	TH_ACK,
	TH_ACK | TH_PSH,
	TH_ACK | TH_FIN,
	TH_ACK,
	TH_ACK | TH_PSH,
	TH_RST,
	TH_RST | TH_ACK,
	TH_SYN | TH_ACK,
	TH_ACK | TH_PSH | TH_FIN,
	TH_SYN,
	TH_SYN | TH_FIN,
	TH_FIN,
	0,
	TH_ACK | TH_URG,
	TH_SYN | TH_ECE | TH_CWR,
};

static const uint16_t mss_table[8] = { 1460, 536, 0, 1, 88, 1220, 9000, 65535 };
static const uint16_t win_table[8] = { 65535, 0, 1, 512, 502, 64240, 63, 65535 };

static void cmd_feed(struct in *in, int64_t frame)
{
	struct segment seg;
	struct tup *t = &tups[get8(in) % (nfixed + nobserved)];
	uint8_t fb = get8(in), sm = get8(in), am = get8(in), lb = get8(in), ob = get8(in);
	uint32_t base, nxt, len;

	memset(&seg, 0, sizeof(seg));
	seg.src = t->ra;
	seg.dst = t->la;
	seg.sport = t->rp;
	seg.dport = t->lp;
	seg.ttl = 64;
	seg.flags = fb >= 0xf0 ? get8(in) : flag_table[fb & 15];
	if (fb & 0x10)
		seg.flags |= TH_PSH;

	/* seq: relative to what the stack expects from the peer */
	base = t->ack_valid ? t->out_ack : t->peer_nxt;
	switch (sm & 7) {
	case 0:
		seg.seq = base;
		break;
	case 1:
		seg.seq = base + 1 + (sm >> 3);
		break;
	case 2:
		seg.seq = base - 1 - (sm >> 3);
		break;
	case 3:
		seg.seq = get32(in);
		break;
	case 4:
		seg.seq = t->peer_isn;
		break;
	case 5:
		seg.seq = base + ((uint32_t)(sm >> 3) << 16);
		break;
	case 6:
		/* a new incarnation of the connection: a fresh ISN ahead of the old one */
		t->peer_isn = base + 100000u + get16(in);
		t->peer_nxt = t->peer_isn;
		seg.seq = t->peer_isn;
		break;
	default:
		seg.seq = base + 65536u * 16384u; /* half the space away */
		break;
	}
	/* ack: relative to what the stack sent */
	nxt = t->have_out ? t->out_nxt : 0;
	switch (am & 7) {
	case 0:
		seg.ack = nxt;
		break;
	case 1:
		seg.ack = nxt - 1 - (am >> 3);
		break;
	case 2:
		seg.ack = nxt + 1 + (am >> 3);
		break;
	case 3:
		seg.ack = get32(in);
		break;
	case 4:
		seg.ack = 0;
		break;
	case 5:
		seg.ack = t->out_seq + (am >> 3);
		break;
	case 6:
		seg.ack = t->out_seq + 1;
		break;
	default:
		seg.ack = nxt;
		break;
	}

	len = lb & 0x3f;
	switch (lb >> 6) {
	case 1:
		len *= 24; /* up to 1512: around an MSS */
		break;
	case 2:
		len *= 1024; /* up to 64512: a jumbo segment */
		break;
	default:
		break;
	}
	seg.len = len;
	seg.data = pattern + (t->peer_nxt & 0xff);

	if (ob & 1) {
		seg.opt.has_mss = 1;
		seg.opt.mss = mss_table[get8(in) & 7];
	}
	if (ob & 2) {
		uint8_t ws = get8(in);

		/*
		 * Any value: tcp_opts_parse() clamps to 14, but scripts and other
		 * front ends build segments directly, so the stack must clamp too
		 * (issue 8 in the README, fixed in f6b3081).
		 */
		seg.opt.has_wscale = 1;
		seg.opt.wscale = ws;
	}
	seg.opt.sack_ok = (ob >> 2) & 1;
	if (ob & 8) {
		seg.opt.has_ts = 1;
		t->peer_ts += get8(in);
		seg.opt.tsval = t->peer_ts;
		seg.opt.tsecr = (ob & 0x10) ? get32(in) : t->out_tsval;
	}
	seg.win = (ob >> 5) == 6 ? get16(in) : win_table[ob >> 5];
	if (seg.flags & TH_URG)
		seg.urp = (uint16_t)len;

	TRACE("feed #%lld\n", (long long)frame);
	stack_input(st, &seg, frame);
	if (after(seg.seq + seg_seqlen(&seg), t->peer_nxt))
		t->peer_nxt = seg.seq + seg_seqlen(&seg);
}

static const vtime_t advance_table[16] = {
	0,
	1,
	VT_MSEC,
	10 * VT_MSEC,
	200 * VT_MSEC,
	500 * VT_MSEC,
	VT_SEC,
	1500 * VT_MSEC,
	3 * VT_SEC,
	7 * VT_SEC,
	15 * VT_SEC,
	31 * VT_SEC,
	60 * VT_SEC,
	63 * VT_SEC,
	70 * VT_SEC,
	VT_NEVER, /* to the next timer */
};

static void cmd_advance(struct in *in)
{
	uint8_t b = get8(in);
	vtime_t now = stack_now(st), d;

	if (b < 16) {
		d = advance_table[b];
		if (d == VT_NEVER) {
			vtime_t next = stack_next_timer(st);

			d = next == VT_NEVER || next <= now ? 0 : next - now;
		}
	} else {
		d = (vtime_t)(b - 16) * (70 * VT_SEC / 239);
	}
	if (d > 70 * VT_SEC)
		d = 70 * VT_SEC;
	TRACE("advance %.6f s to %.6f\n", (double)d / VT_SEC, (double)(now + d) / VT_SEC);
	stack_advance(st, now + d);
}

static uint32_t send_len(uint8_t b)
{
	if (b < 200)
		return (uint32_t)b * 13u;
	return (uint32_t)(b - 200) * 4096u;
}

static uint32_t sent_total;

static void cmd_send(struct in *in, int more)
{
	int fd = pick_fd(in);
	uint32_t len = send_len(get8(in));
	ssize_t r;

	if (sent_total + len > MAX_SEND_TOTAL)
		len = 0;
	sent_total += len;
	TRACE("send%s(%d, %u)\n", more ? "_more" : "", fd, len);
	r = more ? sys_send_more(st, fd, pattern, len) : sys_send(st, fd, pattern, len);
	TRACE("  = %zd\n", r);
	if (r > (ssize_t)len)
		FAIL("send returned %zd for %u bytes", r, len);
}

static void cmd_recv(struct in *in)
{
	int fd = pick_fd(in);
	uint8_t b = get8(in);
	size_t len = b == 255 ? sizeof(rbuf) : (size_t)b * 8;
	ssize_t r = sys_recv(st, fd, rbuf, len);

	TRACE("recv(%d, %zu) = %zd\n", fd, len, r);

	if (r > (ssize_t)len)
		FAIL("recv returned %zd for a %zu-byte buffer", r, len);
}

static void cmd_accept(struct in *in)
{
	int fd = pick_fd(in);
	struct ip_addr ra;
	uint16_t rp;
	int nfd = (fd & 1) ? sys_accept(st, fd, &ra, &rp) : sys_accept(st, fd, NULL, NULL);

	TRACE("accept(%d) = %d\n", fd, nfd);

	if (nfd >= 0 && (fd & 1) && sys_getpeername(st, nfd, &ra, &rp) == 0 && rp == 0)
		FAIL("accepted fd %d has remote port 0", nfd);
}

static void cmd_connect(struct in *in)
{
	uint8_t b = get8(in), c = get8(in);
	const struct ep *r = &remote_eps[b % N_REMOTE_EPS];
	struct ip_addr ra = parse_addr(r->addr);
	int fd;

	if (c & 0x80) {
		/* connect() again on an existing descriptor */
		fd = c % 32;
	} else {
		fd = sys_socket(st, ra.family);
		if (fd < 0)
			return;
		if (c & 1)
			sys_setsockopt(st, fd, SOCKOPT_REUSEADDR, 1);
		switch ((c >> 1) & 3) {
		case 1: { /* a local address, port chosen by bind() */
			struct ip_addr la = parse_addr(local_eps[(c >> 3) % N_LOCAL_EPS].addr);

			sys_bind(st, fd, &la, 0);
			break;
		}
		case 2: { /* a fixed local port */
			const struct ep *l = &local_eps[(c >> 3) % N_LOCAL_EPS];
			struct ip_addr la = parse_addr(l->addr);

			sys_bind(st, fd, &la, (uint16_t)(40000 + (c >> 5)));
			break;
		}
		case 3: { /* a listener's port (a conflict, unless SO_REUSEADDR) */
			const struct ep *l = &local_eps[(c >> 3) % N_LOCAL_EPS];
			struct ip_addr la = parse_addr(l->addr);

			sys_bind(st, fd, &la, l->port);
			break;
		}
		default:
			break;
		}
	}
	{
		int rc = sys_connect(st, fd, &ra, (b & 0x80) ? 0 : r->port);

		TRACE("connect(%d, %s:%u) = %d\n", fd, r->addr, (b & 0x80) ? 0 : r->port, rc);
	}
}

static int listen_on(const char *addr, uint16_t port, int reuseport, int backlog)
{
	struct ip_addr a = parse_addr(addr);
	int fd = sys_socket(st, a.family);

	if (fd < 0)
		return fd;
	sys_setsockopt(st, fd, SOCKOPT_REUSEADDR, 1);
	if (reuseport)
		sys_setsockopt(st, fd, SOCKOPT_REUSEPORT, 1);
	if (sys_bind(st, fd, &a, port) < 0 || sys_listen(st, fd, backlog) < 0) {
		TRACE("listen on %s:%u failed\n", addr, port);
		sys_close(st, fd);
		return -1;
	}
	TRACE("listen(%d) on %s:%u reuseport %d backlog %d\n", fd, addr, port, reuseport, backlog);
	return fd;
}

static void cmd_listen(struct in *in)
{
	uint8_t b = get8(in);
	int backlog = (int8_t)get8(in);

	if (b & 0x80) {
		/* listen() again on an existing descriptor: a listener only changes its backlog */
		int fd = b % 32, rc;

		rc = sys_listen(st, fd, backlog);
		TRACE("listen(%d, %d) again = %d\n", fd, backlog, rc);
		return;
	}
	listen_on(listen_addrs[b % 5], (b & 8) ? 8080 : 80, (b >> 4) & 1, backlog);
}

static void cmd_adopt(struct in *in)
{
	uint8_t b = get8(in);
	const struct ep *l = &local_eps[b % N_LOCAL_EPS];
	const struct ep *r = &remote_eps[(b >> 3) % N_REMOTE_EPS];
	struct ip_addr la = parse_addr(l->addr), ra = parse_addr(r->addr);
	uint32_t snd = get32(in), rcv = get32(in);
	uint16_t win = get16(in);
	struct tup *t = tup_find(&la, l->port, &ra, r->port);

	int fd = sys_adopt(st, &la, l->port, &ra, r->port, snd, rcv, (uint32_t)win << 7, b >> 7);

	TRACE("adopt(%s:%u <- %s:%u) = %d\n", l->addr, l->port, r->addr, r->port, fd);
	if (fd >= 0 && t) {
		/* The peer now talks from where the adopted connection stands. */
		t->peer_nxt = rcv;
		t->out_ack = rcv;
		t->ack_valid = 1;
		t->out_nxt = snd;
		t->out_seq = snd;
		t->have_out = 1;
	}
}

static void walk_sock(void *ctx, const struct sock_view *v)
{
	(void)ctx;
	if (v->state >= TCP_STATE_COUNT)
		FAIL("sock %u in state %u", v->id, v->state);
}

static void walk_listener(void *ctx, const struct listener_view *v)
{
	(void)ctx;
	stack_walk_syn_queue(st, v->id, walk_sock, NULL);
	stack_walk_accept_queue(st, v->id, walk_sock, NULL);
}

static void cmd_query(struct in *in)
{
	int fd = pick_fd(in);
	struct ip_addr a;
	uint16_t p;
	struct stack_totals tot;
	struct sock_view v;
	int state = sys_state(st, fd);

	if (state >= TCP_STATE_COUNT)
		FAIL("fd %d in state %d", fd, state);
	if (sys_getsockname(st, fd, &a, &p) == 0 && sys_getpeername(st, fd, &a, &p) == 0 &&
	    state != TCP_CLOSED) {
		struct ip_addr la;
		uint16_t lp;

		sys_getsockname(st, fd, &la, &lp);
		if (stack_find(st, &la, lp, &a, p, &v) && v.fd >= 0 && v.fd != fd)
			FAIL("fd %d's 4-tuple is held by fd %d", fd, v.fd);
	}
	sys_error(st, fd);
	sys_sock_id(st, fd);
	stack_totals(st, &tot);
	stack_walk_ehash(st, walk_sock, NULL);
	stack_walk_listeners(st, walk_listener, NULL);
	stack_next_timer(st);
}

static void cmd_setsockopt(struct in *in)
{
	int fd = pick_fd(in);
	uint8_t b = get8(in);

	int rc = sys_setsockopt(st, fd, b % 4, (b >> 2) & 1);

	TRACE("setsockopt(%d, %d, %d) = %d\n", fd, b % 4, (b >> 2) & 1, rc);
}

/* ---- setup and the run ------------------------------------------------ */

static const int synack_retries[4] = { 5, 0, 1, 2 };
static const int fin_timeouts[4] = { 60, 1, 5, 30 };
static const int syn_retries[4] = { 6, 0, 1, 3 };
static const int max_syn_backlogs[4] = { 512, 4, 16, 128 };
static const int retries2[4] = { 15, 0, 1, 3 };

static void setup_tuples(void)
{
	unsigned i, j;

	nfixed = nobserved = next_observed = 0;
	for (i = 0; i < N_REMOTE_EPS; i++) {
		struct ip_addr ra = parse_addr(remote_eps[i].addr);

		for (j = 0; j < N_LOCAL_EPS; j++) {
			struct ip_addr la = parse_addr(local_eps[j].addr);

			if (la.family != ra.family || nfixed >= MAX_FIXED)
				continue;
			tup_init(&tups[nfixed], &la, local_eps[j].port, &ra, remote_eps[i].port,
				 0x10000000u * (i + 1) + 0x01000000u * j);
			nfixed++;
		}
	}
}

/*
 * Is c left over because of an open bug that already has a reproducer in
 * regress/stack/? Each open bug gets a signature here, exact enough not to
 * hide anything else, deleted once the bug is fixed. None is open now.
 */
static int known_leftover(const struct sock_common *c)
{
	(void)c;
	return 0;
}

/*
 * FUZZ_TOLERATE_KNOWN=1 (run.sh sets it while fuzzing, not for the
 * regression inputs) lets the drain pass when every socket left over is a
 * known issue, so fuzzing goes on past bugs that already have a reproducer.
 */
static int only_known_leftovers(void)
{
	uint32_t i, n = 0;

	if (!tolerate_known)
		return 0;
	for (i = 0; i <= st->ehash.bmask; i++) {
		const struct sock_common *c;

		for (c = st->ehash.b[i].head; c; c = c->next) {
			if (!known_leftover(c))
				return 0;
			n++;
		}
	}
	return n == st->nsocks;
}

static void drain_and_free(void)
{
	char why[256];
	int fd;

	check("the last command");
	TRACE("drain: closing every descriptor, then an hour on\n");
	for (fd = 0; fd < st->nfds; fd++)
		if (st->fds[fd])
			sys_close(st, fd);
	check("closing every descriptor");
	stack_advance(st, stack_now(st) + 3600 * VT_SEC);
	if (stack_check(st, why, sizeof(why)) != 0)
		FAIL("stack_check after the final drain: %s", why);
	if (st->nsocks != 0 && only_known_leftovers()) {
		stack_free(st);
		st = NULL;
		return;
	}
	if (st->nsocks != 0)
		FAIL("%u sockets/requests/TIME_WAIT entries left an hour after every descriptor was closed",
		     st->nsocks);
	if (st->ehash.count != 0)
		FAIL("ehash still holds %u entries after the drain", st->ehash.count);
	if (stack_next_timer(st) != VT_NEVER)
		FAIL("a timer is still armed after the drain");
	stack_free(st);
	st = NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = { data, size, 0 };
	struct stack_config cfg;
	uint8_t h0, h1, h2, h3, h4, h5;
	unsigned i, ncmd = 0;

	if (!pattern[1])
		for (i = 0; i < PATTERN_LEN; i++)
			pattern[i] = (uint8_t)(i * 31 + 7);

	if (tracing < 0)
		tracing = getenv("FUZZ_STACK_TRACE") != NULL;
	if (tolerate_known < 0)
		tolerate_known = getenv("FUZZ_TOLERATE_KNOWN") != NULL;
	h0 = get8(&in);
	h1 = get8(&in);
	h2 = get8(&in);
	h3 = get8(&in);
	h4 = get8(&in);
	h5 = get8(&in);

	stack_config_init(&cfg);
	cfg.hash_seed = 1;
	cfg.ehash_buckets = 16;
	cfg.max_sockets = 64;
	cfg.tcp_syncookies = (h0 & 3) == 3 ? 1 : h0 & 3;
	cfg.tcp_abort_on_overflow = (h0 >> 2) & 1;
	cfg.tcp_timestamps = !((h0 >> 3) & 1);
	cfg.tcp_sack = !((h0 >> 4) & 1);
	cfg.tcp_window_scaling = !((h0 >> 5) & 1);
	cfg.tcp_synack_retries = synack_retries[h0 >> 6];
	cfg.tcp_fin_timeout = fin_timeouts[h1 & 3];
	cfg.tcp_syn_retries = syn_retries[(h1 >> 2) & 3];
	cfg.tcp_max_syn_backlog = max_syn_backlogs[(h1 >> 4) & 3];
	cfg.tcp_retries2 = retries2[h1 >> 6];
	if (h2 & 0x20)
		cfg.mtu = 576;
	if (h2 & 0x40)
		cfg.somaxconn = 2;

	st = stack_new(&cfg);
	if (!st)
		FAIL("stack_new failed");
	for (i = 0; i < sizeof(local_addrs) / sizeof(local_addrs[0]); i++) {
		struct ip_addr a = parse_addr(local_addrs[i]);

		if (stack_add_addr(st, &a) != 0)
			FAIL("stack_add_addr(%s) failed", local_addrs[i]);
	}
	stack_set_observer(st, observe, NULL);
	setup_tuples();
	sent_total = 0;

	/* Listener 1, and listener 2 unless h4 says none. */
	listen_on(listen_addrs[h2 & 3], (h2 & 4) ? 8080 : 80, (h2 >> 3) & 1, (int8_t)h3);
	check("the first listener");
	if ((h4 & 7) != 0 && (h4 & 7) != 7) {
		int same = (h4 & 7) == 6;

		listen_on(same ? listen_addrs[h2 & 3] : listen_addrs[(h4 & 7) - 1],
			  same ? ((h2 & 4) ? 8080 : 80) : ((h4 & 8) ? 8080 : 80), (h4 >> 4) & 1,
			  (int8_t)h5);
		check("the second listener");
	}

	while (in.i < in.n && ncmd++ < MAX_COMMANDS) {
		uint8_t op = get8(&in);

		switch (op % 32) {
		case 0: case 1: case 2: case 3: case 4: case 5: case 6: case 7: case 8: case 9:
			cmd_feed(&in, (int64_t)ncmd);
			check("a segment");
			break;
		case 10: case 11: case 12: case 13:
			cmd_advance(&in);
			check("advancing the clock");
			break;
		case 14: case 15: case 16:
			cmd_accept(&in);
			check("accept");
			break;
		case 17: case 18:
			cmd_recv(&in);
			check("recv");
			break;
		case 19: case 20:
			cmd_send(&in, 0);
			check("send");
			break;
		case 21:
			cmd_send(&in, 1);
			check("send(MSG_MORE)");
			break;
		case 22: {
			int fd = pick_fd(&in);

			int how = get8(&in) % 4;

			int rc = sys_shutdown(st, fd, how);

			TRACE("shutdown(%d, %d) = %d\n", fd, how, rc);
			check("shutdown");
			break;
		}
		case 23: case 24: {
			int fd = pick_fd(&in);

			int rc = sys_close(st, fd);

			TRACE("close(%d) = %d\n", fd, rc);
			check("close");
			break;
		}
		case 25: {
			int fd = pick_fd(&in);

			int rc = sys_abort(st, fd);

			TRACE("abort(%d) = %d\n", fd, rc);
			check("abort");
			break;
		}
		case 26: case 27:
			cmd_connect(&in);
			check("connect");
			break;
		case 28:
			cmd_listen(&in);
			check("listen");
			break;
		case 29:
			cmd_adopt(&in);
			check("adopt");
			break;
		case 30:
			cmd_setsockopt(&in);
			check("setsockopt");
			break;
		default:
			cmd_query(&in);
			check("queries");
			break;
		}
	}
	drain_and_free();
	return 0;
}
