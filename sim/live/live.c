/*
 * live.c - `tcpdemux live`: the stack behind a TUN device, on the real clock.
 *
 * Path: the kernel's TCP (curl, a Python socket) -> the kernel routes the
 *       subnet to the TUN device -> read() -> seg_parse_ip() ->
 *       stack_input() -> events -> renderer, and the application (server_app.c)
 *       answers through the socket API; the stack's EV_SEGMENT_OUT ->
 *       seg_build() -> write() to the device -> the kernel's TCP.
 *
 * The clock: the stack's virtual time is CLOCK_MONOTONIC since the start,
 * so the trace's times are seconds since `live` began. The loop sleeps in
 * ppoll() on the device with the earliest deadline as its timeout (the
 * stack's next timer, the next --accept tick, the end of --duration), and
 * before each segment moves the stack's clock to the time the segment was
 * read, so timers fire on time, in order, between segments.
 *
 * Signals: SIGINT, SIGTERM and SIGHUP are blocked except inside ppoll(),
 * so one arriving at any other moment is seen by the next ppoll() and
 * the loop ends at a clean point: the summary is printed and the device
 * closed, which removes it with its addresses and routes.
 *
 * Safety: only the TUN device is opened. A packet whose source is not in
 * one of the device's subnets, or whose destination is not the stack's
 * address, is counted and dropped, so the stack never answers an address
 * outside the subnets given with --addr.
 */
#define _GNU_SOURCE /* ppoll() */
#include <errno.h>
#include <pcap/dlt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "emit.h"
#include "record.h"
#include "server_app.h"
#include "live.h"
#include "pcap_out.h"
#include "socket.h"

/* Packets read in one wake-up before the clock, timers and output get a turn. */
#define READ_BURST 64

/* Why a packet read from the device was not given to the stack. */
enum live_skip {
	LSKIP_NOT_TCP = SEG_E_COUNT, /* ICMPv6 router solicitations, MLD, pings, UDP */
	LSKIP_NOT_OURS,              /* to an address of the subnet that is not the stack's */
	LSKIP_FOREIGN,               /* from outside the device's subnets */
	LSKIP_COUNT
};

struct live {
	const struct live_opts *o;        /* the command line's settings */
	struct renderer *r;               /* the trace, or NULL (--quiet) */
	struct stack *st;                 /* the miniature stack behind the device */
	struct server_app *app;           /* the application on its accepted sockets */
	struct pcap_out *dump;            /* --write's file, or NULL */
	int tun;                          /* the device's descriptor */
	int lfd[REPLAY_MAX_LISTEN];       /* listening descriptors */
	int nlfd;                         /* entries in lfd */
	struct timespec t0;               /* CLOCK_MONOTONIC at virtual time 0 */
	uint64_t wall0;                   /* CLOCK_REALTIME at virtual time 0, ns (--write's timestamps) */
	vtime_t next_accept;              /* --accept every=MS: the next tick */
	uint64_t opens_seen;              /* PassiveOpens at the last accept round */
	int64_t packets_in;               /* packets read from the device */
	uint64_t tcp_in;                  /* of which given to the stack */
	uint64_t packets_out;             /* segments the stack sent, written to the device */
	uint64_t write_errors;            /* segments the device refused (or seg_build could not build) */
	uint64_t skipped[LSKIP_COUNT];    /* packets not fed to the stack, by reason */
	int64_t first_skipped[LSKIP_COUNT]; /* the first such packet's number */
	uint8_t rbuf[SEG_WIRE_MAX];       /* the packet being read */
	uint8_t wbuf[SEG_WIRE_MAX];       /* the segment being written */
};

static volatile sig_atomic_t live_signal;

static void on_signal(int sig)
{
	live_signal = sig;
}

/* Virtual time now: nanoseconds of CLOCK_MONOTONIC since t0. */
static vtime_t live_now(const struct live *l)
{
	struct timespec ts;
	int64_t ns;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ns = (int64_t)(ts.tv_sec - l->t0.tv_sec) * (int64_t)VT_SEC + (ts.tv_nsec - l->t0.tv_nsec);
	return ns > 0 ? (vtime_t)ns : 0;
}

static const char *live_skip_name(int reason)
{
	switch (reason) {
	case LSKIP_NOT_TCP:
		return "not_tcp";
	case LSKIP_NOT_OURS:
		return "not_to_the_stack";
	case LSKIP_FOREIGN:
		return "source_outside_the_subnets";
	default:
		return seg_error_name(reason);
	}
}

/* ---- the stack's output ----------------------------------------------------------- */

/* Every segment the stack sends goes out through the device, as it is sent. */
static void observe(void *ctx, const struct event *ev)
{
	struct live *l = ctx;

	if (ev->type == EV_SEGMENT_OUT) {
		size_t n = seg_build(ev->seg, l->wbuf, sizeof(l->wbuf));

		if (n && write(l->tun, l->wbuf, n) == (ssize_t)n)
			l->packets_out++;
		else
			l->write_errors++;
		if (n && l->dump)
			pcap_out_write_raw(l->dump, l->wbuf, n, l->wall0 + ev->t);
	}
	emit_event(l->r, l->st, ev);
}

/* ---- the application's turn ------------------------------------------------------------ */

/*
 * accept() for --accept immediate: a child reaches an accept queue only as
 * a passive open, so while PassiveOpens stands still there is nothing to
 * accept (and no accept() call to show).
 */
static void accept_if_new(struct live *l)
{
	uint64_t opens = stack_counter(l->st, CNT_PASSIVEOPENS);

	if (l->o->accept_mode != ACCEPT_IMMEDIATE || opens == l->opens_seen)
		return;
	l->opens_seen = opens;
	server_app_accept(l->app);
}

/* --accept every=MS: the ticks due by now; a long sleep makes one call, not one per tick missed. */
static void accept_ticks(struct live *l, vtime_t now)
{
	vtime_t every = l->o->accept_every;

	if (l->o->accept_mode != ACCEPT_EVERY || l->next_accept > now)
		return;
	stack_advance(l->st, l->next_accept);
	server_app_accept(l->app);
	l->next_accept += every * ((now - l->next_accept) / every + 1);
}

/* ---- the device's input ------------------------------------------------------------------ */

static int from_our_subnets(const struct live *l, const struct ip_addr *a)
{
	int i;

	for (i = 0; i < l->o->nnets; i++)
		if (tun_net_contains(&l->o->nets[i], a))
			return 1;
	return 0;
}

/*
 * The packet itself, as it crossed the device, for a front end that
 * writes it back (--annotate): raw IP, stamped with the wall clock at
 * virtual time t; seg is what the stack was given, or NULL with the
 * reason it was skipped.
 */
static void live_frame(struct live *l, const uint8_t *pkt, size_t len, vtime_t t, const struct segment *seg,
		       int skipped)
{
	struct rec_frame rf = { (int64_t)l->packets_in, DLT_RAW, l->wall0 + t, l->wall0, (uint32_t)len,
				(uint32_t)len, pkt, (int8_t)(seg ? 1 : 0), seg ? NULL : live_skip_name(skipped),
				seg, NULL };

	emit_frame(l->r, &rf, t);
}

/* One packet the kernel sent into the device, at virtual time t. */
static void live_packet(struct live *l, const uint8_t *pkt, size_t len, vtime_t t)
{
	struct segment seg;
	int rc, fd;

	l->packets_in++;
	if (l->dump)
		pcap_out_write_raw(l->dump, pkt, len, l->wall0 + t);
	rc = seg_parse_ip(pkt, len, &seg, SEG_VERIFY_CSUM);
	if (rc < 0)
		rc = rc == -SEG_E_NOT_TCP ? LSKIP_NOT_TCP : -rc;
	else if (!from_our_subnets(l, &seg.src))
		rc = LSKIP_FOREIGN;
	else if (!stack_has_addr(l->st, &seg.dst))
		rc = LSKIP_NOT_OURS;
	if (rc) {
		if (!l->skipped[rc]++)
			l->first_skipped[rc] = l->packets_in;
		live_frame(l, pkt, len, t, NULL, rc);
		return;
	}
	l->tcp_in++;
	stack_advance(l->st, t);
	fd = stack_input(l->st, &seg, l->packets_in);
	live_frame(l, pkt, len, t, &seg, 0);
	if (l->o->tables == 1)
		emit_tables(l->r, l->st);
	server_app_news(l->app, fd);
	accept_if_new(l);
	server_app_run(l->app);
}

/* Reads what the device holds, up to READ_BURST packets. Returns -1 when the device failed. */
static int live_read(struct live *l)
{
	int i;

	for (i = 0; i < READ_BURST; i++) {
		ssize_t n = read(l->tun, l->rbuf, sizeof(l->rbuf));

		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		live_packet(l, l->rbuf, (size_t)n, live_now(l));
	}
	return 0;
}

/* ---- set-up and the loop ------------------------------------------------------------------ */

/* The earliest thing due: a timer, an accept tick, the end. VT_NEVER: nothing. */
static vtime_t next_deadline(const struct live *l)
{
	vtime_t d = stack_next_timer(l->st);

	if (l->o->accept_mode == ACCEPT_EVERY && l->next_accept < d)
		d = l->next_accept;
	if (l->o->duration && l->o->duration < d)
		d = l->o->duration;
	return d;
}

static int open_listeners(struct live *l, char *err, size_t errlen)
{
	const struct live_opts *o = l->o;
	char b[ADDR_STRLEN];
	int i, k;

	for (i = 0; i < o->nlisten; i++) {
		const struct replay_listen *ls = &o->listen[i];
		int members = ls->reuseport > 1 ? ls->reuseport : 1;

		for (k = 0; k < members; k++) {
			int fd;

			if (l->nlfd == REPLAY_MAX_LISTEN) {
				snprintf(err, errlen, "too many listeners (at most %d)", REPLAY_MAX_LISTEN);
				return -ENOSPC;
			}
			fd = replay_listen_socket(l->st, &ls->addr, ls->port, ls->backlog, ls->reuseport > 0);
			if (fd < 0) {
				snprintf(err, errlen,
					 "--listen %s: cannot listen there: %s (the address must be the stack's, from --addr, or a wildcard)",
					 endpoint_format(&ls->addr, ls->port, b, sizeof(b)), strerror(-fd));
				return fd;
			}
			l->lfd[l->nlfd++] = fd;
		}
	}
	return 0;
}

/* The active opens of --connect, from the stack to a server of the kernel's. */
static void open_connections(struct live *l)
{
	const struct live_opts *o = l->o;
	char b[ADDR_STRLEN], line[200];
	int i;

	for (i = 0; i < o->nconnect; i++) {
		int fd = sys_socket(l->st, o->connect_addr[i].family), rc = fd;

		if (fd >= 0) {
			rc = sys_connect(l->st, fd, &o->connect_addr[i], o->connect_port[i]);
			if (rc == -EINPROGRESS)
				rc = server_app_hold(l->app, fd);
		}
		if (rc < 0 && rc != -EINPROGRESS) {
			if (fd >= 0)
				sys_close(l->st, fd);
			snprintf(line, sizeof(line), "connect(%s) failed: %s",
				 endpoint_format(&o->connect_addr[i], o->connect_port[i], b, sizeof(b)), strerror(-rc));
			emit_say(l->r, line);
		}
	}
}

/* The summary: what crossed the device, what the application did, the stack's totals. */
static void print_live_summary(struct live *l)
{
	const struct server_app_stats *as = server_app_stats(l->app);
	struct renderer *r = l->o->summary_r;
	struct rec_live lv;

	memset(&lv, 0, sizeof(lv));
	lv.device = l->o->dev;
	lv.app = server_app_name(l->o->app);
	lv.packets_read = (uint64_t)l->packets_in;
	lv.tcp_in = l->tcp_in;
	lv.packets_written = l->packets_out;
	lv.write_errors = l->write_errors;
	lv.nskipped = emit_skip_list(lv.skipped, REC_MAX_SKIPS, l->skipped, l->first_skipped, LSKIP_COUNT,
				     live_skip_name);
	lv.accepted = as->accepted;
	lv.closed = as->closed;
	lv.bytes_in = as->bytes_in;
	lv.bytes_out = as->bytes_out;
	lv.responses = as->responses;
	lv.app_errors = as->errors;
	if (l->o->tables == 2)
		emit_tables(r, l->st);
	emit_live_summary(r, l->st, &lv);
}

/* The loop: sleep until the device has packets or something is due; stop on a signal. */
static int live_loop(struct live *l, const sigset_t *waitmask)
{
	struct pollfd pfd;

	pfd.fd = l->tun;
	pfd.events = POLLIN;
	while (!live_signal) {
		vtime_t now = live_now(l), due = next_deadline(l);
		struct timespec ts, *tsp = NULL;
		int rc;

		if (l->o->duration && now >= l->o->duration)
			break;
		if (due != VT_NEVER) {
			vtime_t wait = due > now ? due - now : 0;

			ts.tv_sec = (time_t)(wait / VT_SEC);
			ts.tv_nsec = (long)(wait % VT_SEC);
			tsp = &ts;
		}
		fflush(stdout); /* a trace piped to another program shows each segment as it happens */
		pcap_out_flush(l->dump);
		rc = ppoll(&pfd, 1, tsp, waitmask);
		if (rc < 0 && errno != EINTR)
			return -errno;
		now = live_now(l);
		accept_ticks(l, now);
		stack_advance(l->st, now);
		if (rc > 0 && (pfd.revents & (POLLERR | POLLHUP | POLLNVAL)))
			return -EIO;
		if (rc > 0 && live_read(l) < 0)
			return -errno;
		server_app_run(l->app);
	}
	return 0;
}

static void live_free(struct live *l)
{
	if (l->tun >= 0)
		close(l->tun); /* the device goes, with its addresses and routes */
	pcap_out_close(l->dump);
	server_app_free(l->app);
	stack_free(l->st);
	free(l);
}

int live_run(const struct live_opts *o)
{
	struct live *l = calloc(1, sizeof(*l));
	struct sigaction sa;
	sigset_t block, old, waitmask;
	struct timespec wall;
	char err[512], a[ADDR_STRLEN], k[ADDR_STRLEN];
	int i, rc;

	if (!l) {
		fprintf(stderr, "tcpdemux: out of memory\n");
		return 2;
	}
	l->o = o;
	l->r = o->r;
	l->tun = -1;
	/* The routes first: a subnet in use elsewhere is refused before anything changes. */
	rc = tun_check_routes(o->dev, o->nets, o->nnets, err, sizeof(err));
	if (rc == 0) {
		l->tun = tun_open(o->dev, err, sizeof(err));
		rc = l->tun < 0 ? l->tun : 0;
	}
	if (rc == 0)
		rc = tun_configure(o->dev, o->nets, o->nnets, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "tcpdemux: %s\n", err);
		live_free(l);
		return 2;
	}
	l->st = stack_new(&o->cfg);
	if (!l->st) {
		fprintf(stderr, "tcpdemux: out of memory\n");
		live_free(l);
		return 2;
	}
	for (i = 0; i < o->nnets; i++)
		stack_add_addr(l->st, &o->nets[i].stack);
	stack_set_observer(l->st, observe, l);
	rc = open_listeners(l, err, sizeof(err));
	if (rc == 0 && !(l->app = server_app_new(l->st, o->app, l->lfd, l->nlfd))) {
		snprintf(err, sizeof(err), "out of memory");
		rc = -ENOMEM;
	}
	if (rc < 0) {
		fprintf(stderr, "tcpdemux: %s\n", err);
		live_free(l);
		return 2;
	}
	if (o->write_path && !(l->dump = pcap_out_open(o->write_path))) {
		live_free(l);
		return 2;
	}

	/* Blocked everywhere but in ppoll(): see the file's header. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &old);
	waitmask = old;
	sigdelset(&waitmask, SIGINT);
	sigdelset(&waitmask, SIGTERM);
	sigdelset(&waitmask, SIGHUP);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	clock_gettime(CLOCK_MONOTONIC, &l->t0);
	clock_gettime(CLOCK_REALTIME, &wall);
	l->wall0 = (uint64_t)wall.tv_sec * VT_SEC + (uint64_t)wall.tv_nsec;
	l->next_accept = o->accept_every;
	for (i = 0; i < o->nnets; i++)
		fprintf(stderr, "tcpdemux: live on %s: the stack is %s, the kernel %s/%d\n", o->dev,
			addr_format(&o->nets[i].stack, a, sizeof(a)), addr_format(&o->nets[i].kernel, k, sizeof(k)),
			o->nets[i].prefix);
	fprintf(stderr, "tcpdemux: ready (application %s; Ctrl-C stops and prints the summary)\n",
		server_app_name(o->app));
	open_connections(l);
	rc = live_loop(l, &waitmask);
	if (rc < 0)
		fprintf(stderr, "tcpdemux: %s: the device failed or was removed (%s); stopped\n", o->dev,
			strerror(-rc));
	stack_advance(l->st, live_now(l)); /* the summary's time: when it stopped */
	print_live_summary(l);
	fflush(stdout);
	live_free(l);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return rc < 0 ? 2 : 0;
}
