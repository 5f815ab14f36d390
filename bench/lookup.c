/*
 * lookup.c - microbenchmarks of the stack's tables, linked with the stack sources.
 *
 *   lookup [--quick]     (--quick: without the 1M and 4M ehash runs)
 *   lookup ehash N       the ehash run for N sockets only
 *
 * 1. ehash_lookup() over random existing 4-tuples with N ESTABLISHED
 *    sockets, N = 1k, 100k, 1M, 4M, buckets = the next power of two >= N
 *    (Linux sizes ehash from memory; about one bucket per socket here):
 *    ns/lookup, chain length (mean over all buckets = load factor, mean
 *    over non-empty buckets, max), and the mean entries a hit walks; beside
 *    it the machine's price of one cache miss over the same footprint
 *    (dependent random loads), since past the caches that is what a
 *    lookup costs.
 *    The sockets are made the way sys_adopt() makes them
 *    (sock_adopt_init, ESTABLISHED) minus the descriptor, because the
 *    descriptor table stops at 2^20 (4M sockets need more). sys_adopt()'s
 *    own rate is measured separately.
 * 2. listener_lookup(): exact-address hit, and the wildcard fallback.
 * 3. Requests: SYNs to a listener through stack_input() (ehash miss,
 *    listener, request socket, SYN queue, timer, SYN-ACK), with a backlog
 *    big enough for all of them; and SYN cookies (backlog 128).
 * 4. Accept queue: accept_queue_push() + accept_pop() pairs; and the whole
 *    passive open (SYN, ACK, sys_accept) with every connection kept open.
 *
 * Times are CLOCK_MONOTONIC; each figure is the median of REPS runs.
 *
 * Build: cc -O2 -Istack bench/lookup.c build/libstack-release.a (bench/run.sh does)
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "socket.h"

#define REPS 5
#define NLOOKUPS 2000000u
#define SERVER 0x0a000001u /* 10.0.0.1 */

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), dbl_cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static uint64_t rng = 0x6c6f6f6b7570ull;

static uint64_t rnd(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* A bijection on [0, 2^31): connection i gets a client (100.64.0.0/16) and port of its own. */
static uint32_t perm31(uint32_t x)
{
	int i;

	for (i = 0; i < 3; i++) {
		x = (x * 0x2c1b3c6du + 0x297a2d39u) & 0x7fffffffu;
		x ^= x >> 13;
	}
	return x & 0x7fffffffu;
}

static void client_of(uint32_t i, struct ip_addr *a, uint16_t *port)
{
	uint32_t v = perm31(i);

	*a = addr_v4(0x64400000u | (v >> 15));
	*port = (uint16_t)(32768 + (v & 0x7fff));
}

static uint32_t pow2_at_least(uint32_t n)
{
	uint32_t b = 1;

	while (b < n)
		b <<= 1;
	return b;
}

static struct stack *new_stack(uint32_t buckets, int somaxconn)
{
	struct stack_config cfg;
	struct ip_addr srv = addr_v4(SERVER);
	struct stack *st;

	stack_config_init(&cfg);
	cfg.ehash_buckets = buckets;
	cfg.hash_seed = 12345;
	cfg.max_sockets = 1u << 30;
	if (somaxconn)
		cfg.somaxconn = somaxconn;
	st = stack_new(&cfg);
	if (!st || stack_add_addr(st, &srv) < 0) {
		fprintf(stderr, "lookup: cannot make a stack\n");
		exit(1);
	}
	return st;
}

/* sys_adopt() without the descriptor (see the header comment). */
static void adopt_nofd(struct stack *st, const struct ip_addr *la, uint16_t lp,
		       const struct ip_addr *ra, uint16_t rp, uint32_t snd_nxt, uint32_t rcv_nxt)
{
	struct sock *sk = sock_alloc(st, la->family, 0);

	if (!sk) {
		fprintf(stderr, "lookup: out of memory\n");
		exit(1);
	}
	sock_adopt_init(st, sk, la, lp, ra, rp, snd_nxt, rcv_nxt, 65535u << 7, 1);
	sock_set_state(st, sk, TCP_ESTABLISHED);
}

/* ---- 1. ehash ------------------------------------------------------------------ */

/*
 * The machine's own price of a cache miss at this footprint: a chain of
 * dependent loads, one per sizeof(struct sock) block, in random order over
 * n blocks. A lookup that must touch the bucket and the socket costs about
 * two of these once the table outgrows the caches.
 */
static double chase_ns(uint32_t n)
{
	const size_t stride = sizeof(struct sock) / sizeof(uint64_t);
	uint64_t *a = malloc((size_t)n * sizeof(struct sock));
	uint32_t *perm = malloc((size_t)n * sizeof(*perm));
	uint64_t pos = 0;
	double t0, t;
	uint32_t i;

	if (!a || !perm) {
		fprintf(stderr, "lookup: out of memory\n");
		exit(1);
	}
	for (i = 0; i < n; i++)
		perm[i] = i;
	for (i = n - 1; i > 0; i--) {
		uint32_t j = (uint32_t)(rnd() % (i + 1)), x = perm[i];

		perm[i] = perm[j];
		perm[j] = x;
	}
	for (i = 0; i < n; i++)
		a[(size_t)perm[i] * stride] = perm[(i + 1) % n];
	t0 = now_ns();
	for (i = 0; i < NLOOKUPS; i++)
		pos = a[pos * stride];
	t = (now_ns() - t0) / NLOOKUPS;
	if (pos == 0xffffffffffull)
		printf("?");
	free(a);
	free(perm);
	return t;
}

static void bench_ehash(uint32_t n)
{
	uint32_t buckets = pow2_at_least(n), i, maxc = 0, nonempty = 0;
	struct ip_addr srv = addr_v4(SERVER);
	struct stack *st = new_stack(buckets, 0);
	struct ip_addr *qa = malloc(NLOOKUPS * sizeof(*qa)), *qa2 = malloc(NLOOKUPS * sizeof(*qa));
	uint16_t *qp = malloc(NLOOKUPS * sizeof(*qp));
	double t[REPS], td[REPS], tb, tbuild, miss;
	uint64_t walked = 0, total = 0;
	int r;

	if (!qa || !qa2 || !qp) {
		fprintf(stderr, "lookup: out of memory\n");
		exit(1);
	}
	tb = now_ns();
	for (i = 0; i < n; i++) {
		struct ip_addr ca;
		uint16_t cp;

		client_of(i, &ca, &cp);
		adopt_nofd(st, &srv, 80, &ca, cp, (uint32_t)rnd(), (uint32_t)rnd());
	}
	tbuild = now_ns() - tb;
	for (i = 0; i <= st->ehash.bmask; i++) {
		uint32_t len = 0;
		struct sock_common *c;

		for (c = st->ehash.b[i].head; c; c = c->next)
			len++;
		if (len)
			nonempty++;
		if (len > maxc)
			maxc = len;
		total += len;
	}
	for (i = 0; i < NLOOKUPS; i++)
		client_of((uint32_t)(rnd() % n), &qa[i], &qp[i]);
	memcpy(qa2, qa, NLOOKUPS * sizeof(*qa));
	for (r = 0; r < REPS; r++) {
		struct lookup_info li;
		uint64_t hits = 0, w = 0;
		double t0 = now_ns();

		for (i = 0; i < NLOOKUPS; i++) {
			if (ehash_lookup(st, &srv, 80, &qa[i], qp[i], &li))
				hits++;
			w += li.walked;
		}
		t[r] = (now_ns() - t0) / NLOOKUPS;
		if (hits != NLOOKUPS) {
			fprintf(stderr, "lookup: %llu of %u lookups missed\n",
				(unsigned long long)(NLOOKUPS - hits), NLOOKUPS);
			exit(1);
		}
		walked = w;
	}
	/*
	 * The same lookups made dependent: which query comes next depends on
	 * the socket the previous one found (the port's low bit picks one of
	 * two identical query arrays), so the CPU cannot overlap their misses,
	 * as it can above. A replay sits between the two: its lookups are one
	 * per segment with other work in between.
	 */
	for (r = 0; r < REPS; r++) {
		const struct ip_addr *qs[2] = { qa, qa2 };
		struct lookup_info li;
		unsigned sel = 0;
		double t0 = now_ns();

		for (i = 0; i < NLOOKUPS; i++) {
			const struct sock_common *c = ehash_lookup(st, &srv, 80, &qs[sel][i], qp[i], &li);

			sel = c ? c->rport & 1u : 0;
		}
		td[r] = (now_ns() - t0) / NLOOKUPS;
	}
	miss = chase_ns(n);
	printf("ehash  %8u socks %8u buckets  %6.1f ns/lookup (dependent %6.1f)  chain mean %.2f (non-empty %.2f) max %u  walked/hit %.2f  build %.0f ns/sock  [1 cache miss here: %.1f ns; lookup = %.2f misses, dependent %.2f%s]\n",
	       n, buckets, median(t, REPS), median(td, REPS), (double)total / buckets,
	       nonempty ? (double)total / nonempty : 0.0, maxc, (double)walked / NLOOKUPS,
	       tbuild / n, miss, median(t, REPS) / miss, median(td, REPS) / miss,
	       n >= 1000000 ? (median(t, REPS) / miss <= 2.0 && median(td, REPS) / miss <= 2.0
				       ? "; target <= 2: met"
				       : "; target <= 2: NOT MET (both must be)")
			    : "");
	fflush(stdout);
	free(qa);
	free(qa2);
	free(qp);
	stack_free(st);
}

/* sys_adopt() itself: its rate falls with the number of open descriptors. */
static void bench_adopt(uint32_t n)
{
	struct stack *st = new_stack(pow2_at_least(n), 0);
	struct ip_addr srv = addr_v4(SERVER);
	double t0 = now_ns(), t;
	uint32_t i;

	for (i = 0; i < n; i++) {
		struct ip_addr ca;
		uint16_t cp;

		client_of(i, &ca, &cp);
		if (sys_adopt(st, &srv, 80, &ca, cp, (uint32_t)rnd(), (uint32_t)rnd(), 65535u << 7, 1) < 0) {
			fprintf(stderr, "lookup: sys_adopt failed at %u\n", i);
			exit(1);
		}
	}
	t = now_ns() - t0;
	printf("sys_adopt %7u socks  %8.0f ns/sock  (%.0f socks/s)\n", n, t / n, n / (t / 1e9));
	fflush(stdout);
	stack_free(st);
}

/* ---- 2. listeners ------------------------------------------------------------------ */

static int listen_on(struct stack *st, uint32_t addr, uint16_t port, int backlog)
{
	struct ip_addr a = addr ? addr_v4(addr) : addr_any(ADDR_V4);
	int fd = sys_socket(st, ADDR_V4);

	if (fd < 0 || sys_setsockopt(st, fd, SOCKOPT_REUSEADDR, 1) < 0 || sys_bind(st, fd, &a, port) < 0 ||
	    sys_listen(st, fd, backlog) < 0) {
		fprintf(stderr, "lookup: cannot listen\n");
		exit(1);
	}
	return fd;
}

#define NLLOOKUPS 5000000u

static void bench_listener(void)
{
	struct stack *st = new_stack(65536, 0);
	struct ip_addr srv = addr_v4(SERVER);
	double t[2][REPS];
	int r, k;

	/* 10.0.0.1:80 exact, 0.0.0.0:8080 wildcard, and some others in the table. */
	listen_on(st, SERVER, 80, 128);
	listen_on(st, 0, 8080, 128);
	for (k = 0; k < 30; k++)
		listen_on(st, SERVER, (uint16_t)(9000 + k), 128);
	for (r = 0; r < REPS; r++) {
		for (k = 0; k < 2; k++) {
			uint16_t port = k ? 8080 : 80;
			struct lookup_info li;
			uint64_t found = 0;
			double t0 = now_ns();
			uint32_t i;

			for (i = 0; i < NLLOOKUPS; i++)
				found += listener_lookup(st, &srv, port, i * 0x9e3779b1u, &li) != NULL;
			t[k][r] = (now_ns() - t0) / NLLOOKUPS;
			if (found != NLLOOKUPS) {
				fprintf(stderr, "lookup: listener missed\n");
				exit(1);
			}
		}
	}
	printf("listener_lookup  exact 10.0.0.1:80 %.1f ns   wildcard 0.0.0.0:8080 %.1f ns  (32 listeners)\n",
	       median(t[0], REPS), median(t[1], REPS));
	fflush(stdout);
	stack_free(st);
}

/* ---- 3. requests and cookies ---------------------------------------------------------- */

static int isn_fixed(void *ctx, const struct segment *syn, int kind, uint32_t *isn)
{
	(void)ctx;
	(void)syn;
	(void)kind;
	*isn = 1000000;
	return 1;
}

static void make_seg(struct segment *s, uint32_t i, uint8_t flags)
{
	memset(s, 0, sizeof(*s));
	client_of(i, &s->src, &s->sport);
	s->dst = addr_v4(SERVER);
	s->dport = 80;
	s->flags = flags;
	s->seq = flags & TH_SYN ? 5000 : 5001;
	s->ack = flags & TH_ACK ? 1000001 : 0;
	s->win = flags & TH_SYN ? 64240 : 502;
	s->opt.has_ts = 1;
	s->opt.tsval = 1;
	if (flags & TH_SYN) {
		s->opt.has_mss = s->opt.sack_ok = s->opt.has_wscale = 1;
		s->opt.mss = 1460;
		s->opt.wscale = 7;
	} else {
		s->opt.tsecr = 1;
	}
}

#define NSYNS 100000u

static void bench_requests(void)
{
	double treq[REPS], tck[REPS], thand[REPS], tacc[REPS];
	int r;

	for (r = 0; r < REPS; r++) {
		struct stack *st = new_stack(pow2_at_least(NSYNS), 1 << 24);
		struct segment s;
		double t0;
		uint32_t i;
		int lfd = listen_on(st, SERVER, 80, 1 << 24);

		stack_set_isn_hook(st, isn_fixed, NULL);
		/* SYNs: each makes a request socket (no cookies: the backlog holds them all). */
		t0 = now_ns();
		for (i = 0; i < NSYNS; i++) {
			make_seg(&s, i, TH_SYN);
			stack_input(st, &s, -1);
		}
		treq[r] = (now_ns() - t0) / NSYNS;
		if (stack_counter(st, CNT_PASSIVEOPENS) != 0 || st->ehash.count != NSYNS) {
			fprintf(stderr, "lookup: %u requests, expected %u\n", st->ehash.count, NSYNS);
			exit(1);
		}
		/* ACKs complete them onto the accept queue... */
		t0 = now_ns();
		for (i = 0; i < NSYNS; i++) {
			make_seg(&s, i, TH_ACK);
			stack_input(st, &s, -1);
		}
		thand[r] = (now_ns() - t0) / NSYNS;
		if (stack_counter(st, CNT_PASSIVEOPENS) != NSYNS) {
			fprintf(stderr, "lookup: %llu handshakes completed, expected %u\n",
				(unsigned long long)stack_counter(st, CNT_PASSIVEOPENS), NSYNS);
			exit(1);
		}
		/* ...and accept() takes them, each keeping its descriptor. */
		t0 = now_ns();
		for (i = 0; i < NSYNS; i++)
			if (sys_accept(st, lfd, NULL, NULL) < 0) {
				fprintf(stderr, "lookup: accept failed at %u\n", i);
				exit(1);
			}
		tacc[r] = (now_ns() - t0) / NSYNS;
		stack_free(st);

		/* SYN cookies: backlog 128, so all but the first 129 SYNs get one. */
		st = new_stack(65536, 0);
		listen_on(st, SERVER, 80, 128);
		t0 = now_ns();
		for (i = 0; i < NSYNS; i++) {
			make_seg(&s, i, TH_SYN);
			stack_input(st, &s, -1);
		}
		tck[r] = (now_ns() - t0) / NSYNS;
		if (stack_counter(st, CNT_SYNCOOKIESSENT) != NSYNS - 129) {
			fprintf(stderr, "lookup: %llu cookies, expected %u\n",
				(unsigned long long)stack_counter(st, CNT_SYNCOOKIESSENT), NSYNS - 129);
			exit(1);
		}
		stack_free(st);
	}
	printf("request creation (SYN -> request sock + SYN-ACK, %u SYNs)  %.0f ns/SYN  (%.2f M/s)\n", NSYNS,
	       median(treq, REPS), 1e3 / median(treq, REPS));
	printf("handshake completion (ACK -> child sock on accept queue)    %.0f ns/ACK  (%.2f M/s)\n",
	       median(thand, REPS), 1e3 / median(thand, REPS));
	printf("sys_accept, %u connections kept open (fd bitmap)        %.0f ns/accept  (%.2f M/s)\n", NSYNS,
	       median(tacc, REPS), 1e3 / median(tacc, REPS));
	printf("SYN cookie (SYN queue full, backlog 128)                     %.0f ns/SYN  (%.2f M/s)\n",
	       median(tck, REPS), 1e3 / median(tck, REPS));
	fflush(stdout);
}

/* ---- 4. accept queue ------------------------------------------------------------------- */

#define NACC 100000u

static void bench_accept_queue(void)
{
	struct stack *st = new_stack(1024, 0);
	int lfd = listen_on(st, SERVER, 80, 4096);
	struct sock *l = fd_lookup(st, lfd);
	struct sock **child = malloc(NACC * sizeof(*child));
	double t[REPS];
	uint32_t i;
	int r;

	if (!child) {
		fprintf(stderr, "lookup: out of memory\n");
		exit(1);
	}
	for (i = 0; i < NACC; i++)
		child[i] = calloc(1, sizeof(struct sock));
	for (r = 0; r < REPS; r++) {
		uint64_t got = 0;
		double t0 = now_ns();
		int round;

		/* Bursts of 64 pushes then 64 pops, the way a busy listener's queue moves. */
		for (round = 0; round < 10; round++)
			for (i = 0; i < NACC; i += 64) {
				uint32_t j;

				for (j = i; j < i + 64 && j < NACC; j++)
					accept_queue_push(st, l, child[j]);
				for (j = i; j < i + 64 && j < NACC; j++)
					got += accept_pop(st, l) != NULL;
			}
		t[r] = (now_ns() - t0) / (10.0 * NACC);
		if (got != 10ull * NACC) {
			fprintf(stderr, "lookup: accept queue lost entries\n");
			exit(1);
		}
	}
	printf("accept queue push+pop  %.1f ns/pair  (%.1f M pairs/s)\n", median(t, REPS),
	       1e3 / median(t, REPS));
	fflush(stdout);
	for (i = 0; i < NACC; i++)
		free(child[i]);
	free(child);
	stack_free(st);
}

int main(int argc, char **argv)
{
	int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
	static const uint32_t sizes[] = { 1000, 100000, 1000000, 4000000 };
	size_t k;

	if (argc == 3 && strcmp(argv[1], "ehash") == 0) { /* one size, e.g. under perf */
		bench_ehash((uint32_t)strtoul(argv[2], NULL, 10));
		return 0;
	}

	printf("(median of %d runs; ehash: %u random lookups of existing tuples per run)\n", REPS, NLOOKUPS);
	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++)
		if (!quick || sizes[k] <= 100000)
			bench_ehash(sizes[k]);
	bench_adopt(10000);
	bench_adopt(quick ? 20000 : 100000);
	bench_listener();
	bench_requests();
	bench_accept_queue();
	return 0;
}
