/*
 * gen.c - writes the benchmark captures (Ethernet pcap, microsecond
 * timestamps), deterministically: the same arguments give the same bytes.
 *
 *   gen standard OUT            500,000 frames: 50,000 HTTP-like connections
 *                               of 10 frames, 20,000 new connections per
 *                               second, at most 2,000 open at once
 *   gen million OUT [N]         1,000,000 (or N) connections: handshake + request
 *                               for all of them first (1M ESTABLISHED at
 *                               once), then response + close for all
 *   gen million-idle OUT [N]    the same without request and response
 *                               (handshake, then close): no payload buffers
 *   gen interleaved OUT [N [K]] N handshakes (default 200,000), K under way at
 *                               once (2,000), a frame every microsecond: each
 *                               SYN-ACK more than K frames after its SYN
 *   gen synflood N OUT [RATE]   N SYNs from random sources to 10.0.0.1:80,
 *                               each answered by a SYN-ACK; RATE SYNs per
 *                               second (default 1,000,000)
 *   gen slice N IN OUT          the first N frames of IN (a tshark slice)
 *   gen empty OUT               no frames (the baseline for memory per connection)
 *
 * OUT may be "-" for standard output (to stream into `tcpdemux replay -`).
 *
 * The server is 10.0.0.1:80. A connection (10 frames, capture on the server):
 *   0 SYN c>s   1 SYN-ACK s>c   2 ACK c>s   3 request c>s   4 ACK s>c
 *   5 response s>c   6 ACK c>s   7..9 close: FIN, FIN-ACK, ACK
 * Three in four connections are closed by the client (the server ends in
 * LAST_ACK -> CLOSED), one in four by the server (the server ends in
 * TIME_WAIT). Every segment carries timestamps; SYN and SYN-ACK carry MSS,
 * SACK-permitted and window scale, and the SYN-ACK's ISN is the one the
 * later segments use, so a replay adopts it.
 *
 * Build: cc -O2 -Istack bench/gen.c build/libstack-release.a -lpcap (bench/run.sh does)
 */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segment.h"

#define SEED 0x74637064656d7578ull /* "tcpdemux" */
#define SERVER 0x0a000001u         /* 10.0.0.1 */
#define SPORT 80
#define T_START 1700000000ull * 1000000000ull /* ns: 2023-11-14 */
#define US 1000ull
#define MS 1000000ull
#define SEC 1000000000ull

/* ---- deterministic randomness ------------------------------------------ */

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t rnd_range(uint64_t *s, uint64_t lo, uint64_t hi) /* [lo, hi] */
{
	return lo + splitmix(s) % (hi - lo + 1);
}

/* A bijection on [0, 2^31): distinct connections get distinct (client, port). */
static uint32_t perm31(uint32_t x)
{
	const uint32_t m = 0x7fffffffu;
	int i;

	for (i = 0; i < 3; i++) {
		x = (x * 0x2c1b3c6du + 0x297a2d39u) & m; /* odd multiplier: invertible mod 2^31 */
		x ^= x >> 13;
	}
	return x & m;
}

/* ---- one connection's parameters ---------------------------------------- */

struct conn {
	uint32_t caddr;
	uint16_t cport;
	uint32_t cisn, sisn;
	uint32_t cts, sts;  /* timestamp clocks (ms) at the connection's start */
	uint64_t rtt, d_synack, proc, think;
	uint32_t qlen, rlen;
	int server_close;
};

static void conn_params(uint32_t i, struct conn *c)
{
	uint64_t s = SEED ^ ((uint64_t)i * 0xd1342543de82ef95ull);
	/* 100.64.0.0/16 clients (65,536 hosts), ports 32768..65535: 2^31 tuples. */
	uint32_t v = perm31(i);

	c->caddr = 0x64400000u | (v >> 15);
	c->cport = (uint16_t)(32768 + (v & 0x7fff));
	c->cisn = (uint32_t)splitmix(&s);
	c->sisn = (uint32_t)splitmix(&s);
	c->cts = (uint32_t)splitmix(&s);
	c->sts = (uint32_t)splitmix(&s);
	c->rtt = rnd_range(&s, 4 * MS, 24 * MS);
	c->d_synack = rnd_range(&s, 15 * US, 60 * US);
	c->proc = rnd_range(&s, 100 * US, 4 * MS);
	c->think = rnd_range(&s, 50 * US, 1 * MS);
	c->qlen = (uint32_t)rnd_range(&s, 80, 400);
	c->rlen = (uint32_t)rnd_range(&s, 200, 1400);
	c->server_close = (splitmix(&s) & 3) == 0;
}

/* Frame k of connection c: its time offset from the connection's start
 * (phase-2 frames, 5..9, from the start of phase 2 when split). */
static uint64_t frame_offset(const struct conn *c, int k, int split)
{
	uint64_t t3 = c->rtt + 10 * US;              /* request */
	uint64_t t5 = split ? c->proc : t3 + c->proc; /* response */
	uint64_t t6 = t5 + c->rtt;                   /* client ACKs the response */

	switch (k) {
	case 0: return 0;
	case 1: return c->d_synack;
	case 2: return c->rtt;
	case 3: return t3;
	case 4: return t3 + 30 * US;
	case 5: return t5;
	case 6: return t6;
	default: break;
	}
	if (!c->server_close) {
		uint64_t t7 = t6 + c->think;
		switch (k) {
		case 7: return t7;                       /* client FIN */
		case 8: return t7 + 30 * US;             /* server FIN-ACK */
		default: return t7 + 30 * US + c->rtt;   /* client ACK */
		}
	}
	switch (k) {
	case 7: return t5 + 10 * US;                    /* server FIN right after the response */
	case 8: return t6 + 5 * US;                     /* client FIN-ACK */
	default: return t6 + 35 * US;                   /* server ACK */
	}
}

/* ---- writing frames ------------------------------------------------------ */

struct out {
	pcap_t *dead;
	pcap_dumper_t *d;
	uint8_t buf[2048];
	uint64_t frames, bytes;
};

static const uint8_t mac_server[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
static const uint8_t mac_router[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0xfe };

static void emit(struct out *o, uint64_t ts, const struct segment *seg, int from_server)
{
	struct pcap_pkthdr h;
	size_t n;

	memcpy(o->buf, from_server ? mac_router : mac_server, 6);
	memcpy(o->buf + 6, from_server ? mac_server : mac_router, 6);
	o->buf[12] = 0x08;
	o->buf[13] = 0x00;
	n = seg_build(seg, o->buf + 14, sizeof(o->buf) - 14);
	if (!n) {
		fprintf(stderr, "gen: seg_build failed\n");
		exit(1);
	}
	n += 14;
	memset(&h, 0, sizeof(h));
	h.ts.tv_sec = (time_t)(ts / SEC);
	h.ts.tv_usec = (suseconds_t)(ts % SEC / US);
	h.caplen = h.len = (bpf_u_int32)n;
	pcap_dump((u_char *)o->d, &h, o->buf);
	o->frames++;
	o->bytes += n;
}

static void out_open(struct out *o, const char *path)
{
	o->frames = o->bytes = 0;
	o->dead = pcap_open_dead(DLT_EN10MB, 65535);
	if (!o->dead) {
		fprintf(stderr, "gen: pcap_open_dead failed\n");
		exit(1);
	}
	o->d = pcap_dump_open(o->dead, path);
	if (!o->d) {
		fprintf(stderr, "gen: %s\n", pcap_geterr(o->dead));
		exit(1);
	}
}

static void out_close(struct out *o, const char *path)
{
	if (pcap_dump_flush(o->d) < 0) {
		fprintf(stderr, "gen: %s: write error\n", path);
		exit(1);
	}
	pcap_dump_close(o->d);
	pcap_close(o->dead);
	fprintf(stderr, "gen: %s: %llu frames, %llu bytes of frames\n", path,
		(unsigned long long)o->frames, (unsigned long long)o->bytes);
}

static uint8_t payload_buf[1500];

static void seg_init(struct segment *s, const struct conn *c, int from_server)
{
	memset(s, 0, sizeof(*s));
	s->src = addr_v4(from_server ? SERVER : c->caddr);
	s->dst = addr_v4(from_server ? c->caddr : SERVER);
	s->sport = from_server ? SPORT : c->cport;
	s->dport = from_server ? c->cport : SPORT;
	s->ttl = 64;
	s->opt.has_ts = 1;
}

/* Is frame k of c sent by the server? */
static int from_server(const struct conn *c, int k)
{
	if (k == 1 || k == 4 || k == 5)
		return 1;
	if (k >= 7)
		return c->server_close ? k != 8 : k == 8;
	return 0;
}

/* Writes frame k of connection i (parameters c, payload sizes q and r) at
 * absolute time ts; start is the connection's start (its timestamp clocks). */
static void conn_frame(struct out *o, const struct conn *c, uint32_t i, int k, uint64_t ts,
		       uint64_t start, uint32_t q, uint32_t r)
{
	int srv = from_server(c, k);
	uint32_t ms = (uint32_t)((ts - start) / MS);
	uint32_t c1 = c->cisn + 1, s1 = c->sisn + 1; /* first data byte each way */
	struct segment s;
	int n;

	seg_init(&s, c, srv);
	s.opt.tsval = (srv ? c->sts : c->cts) + ms;
	s.opt.tsecr = (srv ? c->cts : c->sts) + ms;
	s.win = srv ? 509 : 502;
	s.flags = TH_ACK;
	switch (k) {
	case 0: /* SYN */
		s.flags = TH_SYN;
		s.seq = c->cisn;
		s.win = 64240;
		s.opt.has_mss = s.opt.sack_ok = s.opt.has_wscale = 1;
		s.opt.mss = 1460;
		s.opt.wscale = 7;
		s.opt.tsecr = 0;
		break;
	case 1: /* SYN-ACK */
		s.flags = TH_SYN | TH_ACK;
		s.seq = c->sisn;
		s.ack = c1;
		s.win = 65160;
		s.opt.has_mss = s.opt.sack_ok = s.opt.has_wscale = 1;
		s.opt.mss = 1460;
		s.opt.wscale = 7;
		break;
	case 2: /* handshake ACK */
		s.seq = c1;
		s.ack = s1;
		break;
	case 3: /* request */
		n = snprintf((char *)payload_buf, sizeof(payload_buf),
			     "GET /obj/%u HTTP/1.1\r\nHost: 10.0.0.1\r\nX-Pad: ", i);
		memset(payload_buf + n, 'a', q - (uint32_t)n - 4);
		memcpy(payload_buf + q - 4, "\r\n\r\n", 4);
		s.flags = TH_PSH | TH_ACK;
		s.seq = c1;
		s.ack = s1;
		s.data = payload_buf;
		s.len = q;
		break;
	case 4: /* server ACKs the request */
		s.seq = s1;
		s.ack = c1 + q;
		break;
	case 5: /* response */
		n = snprintf((char *)payload_buf, sizeof(payload_buf),
			     "HTTP/1.1 200 OK\r\nContent-Length: %4u\r\n\r\n", r - 41);
		memset(payload_buf + n, 'b', r - (uint32_t)n);
		s.flags = TH_PSH | TH_ACK;
		s.seq = s1;
		s.ack = c1 + q;
		s.data = payload_buf;
		s.len = r;
		break;
	case 6: /* client ACKs the response */
		s.seq = c1 + q;
		s.ack = s1 + r;
		break;
	case 7: /* first FIN */
		s.flags = TH_FIN | TH_ACK;
		s.seq = srv ? s1 + r : c1 + q;
		s.ack = srv ? c1 + q : s1 + r;
		break;
	case 8: /* second FIN, acking the first */
		s.flags = TH_FIN | TH_ACK;
		s.seq = srv ? s1 + r : c1 + q;
		s.ack = srv ? c1 + q + 1 : s1 + r + 1;
		break;
	default: /* last ACK */
		s.seq = srv ? s1 + r + 1 : c1 + q + 1;
		s.ack = srv ? c1 + q + 1 : s1 + r + 1;
		break;
	}
	emit(o, ts, &s, srv);
}

/* ---- connection modes ------------------------------------------------------ */

struct ev {
	uint64_t ts;   /* ns from the capture's start */
	uint32_t conn;
	uint32_t k;    /* frame kind */
};

static int ev_cmp(const void *a, const void *b)
{
	const struct ev *x = a, *y = b;

	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	if (x->conn != y->conn)
		return x->conn < y->conn ? -1 : 1;
	return x->k < y->k ? -1 : x->k > y->k;
}

#define INTERVAL (50 * US) /* 20,000 new connections per second */

/*
 * standard: connections start every 50 us (plus up to 20 us of jitter) and
 * live under 100 ms, so at most 2,000 are open at once.
 * million: phase 1 (frames 0-4) for all, phase 2 (5-9) 1 s after the last
 * phase 1, at the same rate. idle: frames 0-2, then 7-9 (no payload).
 */
static void gen_conns(const char *path, uint32_t nconn, int split, int idle)
{
	static const int idle_frames[] = { 0, 1, 2, 7, 8, 9 };
	int per = idle ? 6 : 10;
	size_t nev = (size_t)nconn * (size_t)per, e = 0;
	struct ev *ev = malloc((nev ? nev : 1) * sizeof(*ev));
	uint64_t phase2 = (uint64_t)nconn * INTERVAL + 1 * SEC;
	struct out o;
	uint32_t i;
	int j;

	if (!ev) {
		fprintf(stderr, "gen: out of memory\n");
		exit(1);
	}
	for (i = 0; i < nconn; i++) {
		struct conn c;
		uint64_t s = SEED ^ 0x5555 ^ i;
		uint64_t start = (uint64_t)i * INTERVAL + (split ? 0 : rnd_range(&s, 0, 20 * US));
		uint64_t start2 = phase2 + (uint64_t)i * INTERVAL;

		conn_params(i, &c);
		for (j = 0; j < per; j++) {
			int k = idle ? idle_frames[j] : j;
			uint64_t off;

			if (idle && k >= 7) /* the close, without the response before it */
				off = start2 + frame_offset(&c, k, 1) - frame_offset(&c, 5, 1);
			else if (split && k >= 5)
				off = start2 + frame_offset(&c, k, 1);
			else
				off = start + frame_offset(&c, k, 0);
			ev[e].ts = off;
			ev[e].conn = i;
			ev[e].k = (uint32_t)k;
			e++;
		}
	}
	qsort(ev, nev, sizeof(*ev), ev_cmp);
	out_open(&o, path);
	for (e = 0; e < nev; e++) {
		struct conn c;
		uint64_t s = SEED ^ 0x5555 ^ ev[e].conn;
		uint64_t start = (uint64_t)ev[e].conn * INTERVAL + (split ? 0 : rnd_range(&s, 0, 20 * US));

		conn_params(ev[e].conn, &c);
		conn_frame(&o, &c, ev[e].conn, (int)ev[e].k, T_START + ev[e].ts, T_START + start,
			   idle ? 0 : c.qlen, idle ? 0 : c.rlen);
	}
	out_close(&o, path);
	free(ev);
}

/*
 * interleaved: n handshakes (SYN, SYN-ACK, ACK; the connections stay
 * open), k of them under way at once, one frame every microsecond.
 * Connection i sends its SYN at 3i us; its SYN-ACK follows 1.5k frames
 * later and its ACK 1.5k after that, so the SYN-ACK of a SYN is always
 * more than k frames behind it: a look-ahead bounded in frames must not
 * change the result.
 */
static void gen_interleaved(const char *path, uint32_t n, uint32_t k)
{
	uint64_t d = 3ull * k / 2;
	size_t nev = (size_t)n * 3, e = 0;
	struct ev *ev = malloc((nev ? nev : 1) * sizeof(*ev));
	struct out o;
	uint32_t i;

	if (!ev) {
		fprintf(stderr, "gen: out of memory\n");
		exit(1);
	}
	for (i = 0; i < n; i++) {
		uint64_t start = 3ull * i * US;
		int j;

		for (j = 0; j < 3; j++) {
			ev[e].ts = start + (uint64_t)j * (d * US + US);
			ev[e].conn = i;
			ev[e].k = (uint32_t)j;
			e++;
		}
	}
	qsort(ev, nev, sizeof(*ev), ev_cmp);
	out_open(&o, path);
	for (e = 0; e < nev; e++) {
		struct conn c;

		conn_params(ev[e].conn, &c);
		conn_frame(&o, &c, ev[e].conn, (int)ev[e].k, T_START + ev[e].ts,
			   T_START + 3ull * ev[e].conn * US, 0, 0);
	}
	out_close(&o, path);
	free(ev);
}

/* ---- SYN flood --------------------------------------------------------------- */

static void gen_synflood(const char *path, uint64_t n, uint64_t rate)
{
	uint64_t s = SEED ^ 0xf100d, i;
	struct out o;

	out_open(&o, path);
	for (i = 0; i < n; i++) {
		uint64_t ts = T_START + i * SEC / rate;
		uint32_t src;
		struct conn c;
		struct segment seg;

		do { /* unicast, not the server: 1.0.0.0 - 223.255.255.255 */
			src = (uint32_t)splitmix(&s);
		} while (src < 0x01000000u || src >= 0xe0000000u || src == SERVER);
		memset(&c, 0, sizeof(c));
		c.caddr = src;
		c.cport = (uint16_t)rnd_range(&s, 1024, 65535);
		c.cisn = (uint32_t)splitmix(&s);
		c.sisn = (uint32_t)splitmix(&s);
		seg_init(&seg, &c, 0);
		seg.flags = TH_SYN;
		seg.seq = c.cisn;
		seg.win = 64240;
		seg.opt.has_mss = seg.opt.sack_ok = seg.opt.has_wscale = 1;
		seg.opt.mss = 1460;
		seg.opt.wscale = 7;
		seg.opt.tsval = (uint32_t)splitmix(&s);
		emit(&o, ts, &seg, 0);
		/* The answer, a cookie for all but the first few (the SYN queue fills). */
		seg_init(&seg, &c, 1);
		seg.flags = TH_SYN | TH_ACK;
		seg.seq = c.sisn;
		seg.ack = c.cisn + 1;
		seg.win = 65160;
		seg.opt.has_mss = seg.opt.sack_ok = seg.opt.has_wscale = 1;
		seg.opt.mss = 1460;
		seg.opt.wscale = 7;
		seg.opt.tsecr = seg.opt.tsval;
		seg.opt.tsval = (uint32_t)(i / 1000);
		emit(&o, ts, &seg, 1);
	}
	out_close(&o, path);
}

/* ---- slice -------------------------------------------------------------------- */

static void gen_slice(uint64_t n, const char *in, const char *path)
{
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline(in, err);
	struct pcap_pkthdr *h;
	const u_char *d;
	pcap_dumper_t *w;
	uint64_t k = 0;

	if (!p) {
		fprintf(stderr, "gen: %s\n", err);
		exit(1);
	}
	w = pcap_dump_open(p, path);
	if (!w) {
		fprintf(stderr, "gen: %s\n", pcap_geterr(p));
		exit(1);
	}
	while (k < n && pcap_next_ex(p, &h, &d) == 1) {
		pcap_dump((u_char *)w, h, d);
		k++;
	}
	pcap_dump_close(w);
	pcap_close(p);
	fprintf(stderr, "gen: %s: %llu frames\n", path, (unsigned long long)k);
}

static int usage(void)
{
	fprintf(stderr,
		"usage: gen standard OUT | gen million OUT [N] | gen million-idle OUT [N]\n"
		"       gen interleaved OUT [N [K]]\n"
		"       gen synflood N OUT [RATE] | gen slice N IN OUT | gen empty OUT\n"
		"(OUT may be - for standard output)\n");
	return 2;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "standard") == 0)
		gen_conns(argv[2], 50000, 0, 0);
	else if (argc == 3 && strcmp(argv[1], "empty") == 0)
		gen_conns(argv[2], 0, 0, 0);
	else if ((argc == 3 || argc == 4) && strncmp(argv[1], "million", 7) == 0 &&
		 (!argv[1][7] || strcmp(argv[1] + 7, "-idle") == 0)) {
		uint64_t n = argc == 4 ? strtoull(argv[3], NULL, 10) : 1000000;

		if (!n || n > 100000000)
			return usage();
		gen_conns(argv[2], (uint32_t)n, 1, argv[1][7] != '\0');
	}
	else if (argc >= 3 && argc <= 5 && strcmp(argv[1], "interleaved") == 0) {
		uint64_t n = argc >= 4 ? strtoull(argv[3], NULL, 10) : 200000;
		uint64_t k = argc == 5 ? strtoull(argv[4], NULL, 10) : 2000;

		if (!n || n > 10000000 || !k || k > 1000000)
			return usage();
		gen_interleaved(argv[2], (uint32_t)n, (uint32_t)k);
	} else if ((argc == 4 || argc == 5) && strcmp(argv[1], "synflood") == 0) {
		uint64_t n = strtoull(argv[2], NULL, 10);
		uint64_t rate = argc == 5 ? strtoull(argv[4], NULL, 10) : 1000000;

		if (!n || !rate)
			return usage();
		gen_synflood(argv[3], n, rate);
	} else if (argc == 5 && strcmp(argv[1], "slice") == 0)
		gen_slice(strtoull(argv[2], NULL, 10), argv[3], argv[4]);
	else
		return usage();
	return 0;
}
