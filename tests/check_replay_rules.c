/*
 * check_replay_rules.c - the replay's rules for captures from the world,
 * each on a small capture this file writes (Ethernet pcap, libpcap):
 *
 *   late SYN-ACK   a SYN-ACK beyond the window re-bases the request; the
 *                  interleaved handshakes all end ESTABLISHED;
 *   drop           a SYN sent again before any answer is the recorded
 *                  listener's drop: not replayed (unless --listen), counted;
 *   client side    a client-side capture is delayed to the server's time
 *                  and --verify agrees; --capture-point server does not;
 *   offload        an IPv4 total length of 0 is read as captured; a FIN on
 *                  a large segment matches the stack's FIN by position;
 *   close()        a FIN followed by the kernel's bare RST to later data;
 *                  a bare RST seen before the data it answers was due;
 *   partial        timestamps going back and one direction: one warning
 *                  line each; --verify of one direction exits 1 with why;
 *   local hosts    100 servers all found, one warning past the limit;
 *                  SYN-ACKs without a SYN make nobody local; without
 *                  handshakes, fan-in names the server.
 *   delay table    capture_point.c's table of the connections' delays,
 *                  called directly: 5,000 connections each keep their own
 *                  delay through the table's growth, others take their
 *                  host's, a new SYN none; idle ones are swept (then their
 *                  host's again), used ones kept.
 *   window scan    la_scan_ack() on a capture of look-alike ACKs (wrong
 *                  direction, host, port, number or flags) gives the
 *                  first match before the bound, as a frame-by-frame
 *                  search does, also when the window is read as it goes;
 *                  la_find() after its answer left the window;
 *   delay line     delay_line.c called directly: held segments leave in
 *                  (due, frame) order, equal due times by frame number,
 *                  through runs of one delay, delays sharing a due time,
 *                  timestamps stepping back and segments held again, and
 *                  an ACK takes its own connection's earliest acknowledged.
 *
 * Path: the test builds segments (segment.h, seg_build) -> a pcap ->
 * tcpdemux replay (progrun.h) -> its JSON (replaytest.h); the delay
 * table's test calls capture_point.h itself.
 */
#include <errno.h>
#include <pcap/pcap.h>

#include "capture_point.h"
#include "delay_line.h"
#include "frame.h"
#include "lookahead.h"
#include "helpers.h"
#include "replaytest.h"
#include "segment.h"
#include "suites.h"

#define SERVER 0x0a000001u /* 10.0.0.1 */
#define CLIENT 0x0a000002u /* 10.0.0.2 */
#define MS 1000000ull      /* ns */

/* A capture being written: one Ethernet frame per segment. */
struct cap {
	pcap_t *dead;
	pcap_dumper_t *d;
	char path[PATH_MAX];
};

static void cap_open(struct cap *c, const char *name)
{
	tmp_file(name, c->path, sizeof(c->path));
	c->dead = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 262144, PCAP_TSTAMP_PRECISION_NANO);
	ck_assert_msg(c->dead != NULL, "pcap_open_dead failed");
	c->d = pcap_dump_open(c->dead, c->path);
	ck_assert_msg(c->d != NULL, "%s: %s", c->path, pcap_geterr(c->dead));
}

static void cap_close(struct cap *c)
{
	pcap_dump_close(c->d);
	pcap_close(c->dead);
}

/*
 * Writes seg at t ns. tso_len0: the IPv4 total length field is zeroed (a
 * frame captured before segmentation offload).
 */
static void cap_seg(struct cap *c, uint64_t t, const struct segment *seg, int tso_len0)
{
	static uint8_t buf[14 + SEG_WIRE_MAX];
	struct pcap_pkthdr h;
	size_t n;

	memset(buf, 0, 14);
	buf[12] = 0x08;
	n = seg_build(seg, buf + 14, sizeof(buf) - 14);
	ck_assert_msg(n > 0, "seg_build failed");
	if (tso_len0)
		buf[14 + 2] = buf[14 + 3] = 0;
	memset(&h, 0, sizeof(h));
	h.ts.tv_sec = (time_t)(1700000000 + t / 1000000000ull);
	h.ts.tv_usec = (suseconds_t)(t % 1000000000ull); /* nanoseconds: the file's precision */
	h.caplen = h.len = (bpf_u_int32)(n + 14);
	pcap_dump((u_char *)c->d, &h, buf);
}

static uint8_t payload[8192];

/* A segment of connection port cport (client side) with these numbers; from_server picks the direction. */
static void cap_tcp(struct cap *c, uint64_t t, int from_server, uint16_t cport, uint8_t flags, uint32_t seq,
		    uint32_t ack, uint32_t len)
{
	struct segment s;

	memset(&s, 0, sizeof(s));
	s.src = addr_v4(from_server ? SERVER : CLIENT);
	s.dst = addr_v4(from_server ? CLIENT : SERVER);
	s.sport = from_server ? 80 : cport;
	s.dport = from_server ? cport : 80;
	s.flags = flags;
	s.seq = seq;
	s.ack = ack;
	s.win = (flags & TH_SYN) ? 64240 : 502;
	s.ttl = 64;
	if (flags & TH_SYN) {
		s.opt.has_mss = s.opt.sack_ok = s.opt.has_wscale = 1;
		s.opt.mss = 1460;
		s.opt.wscale = 7;
	}
	s.data = payload;
	s.len = len;
	cap_seg(c, t, &s, 0);
}

/* A bare segment (no options, no payload, TTL 64) from src:sport to dst:dport at t ns. */
static void cap_bare(struct cap *c, uint64_t t, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
		     uint8_t flags, uint32_t seq, uint32_t ack, uint16_t win)
{
	struct segment s;

	memset(&s, 0, sizeof(s));
	s.src = addr_v4(src);
	s.dst = addr_v4(dst);
	s.sport = sport;
	s.dport = dport;
	s.flags = flags;
	s.seq = seq;
	s.ack = ack;
	s.win = win;
	s.ttl = 64;
	cap_seg(c, t, &s, 0);
}

/*
 * A segment between two other hosts, neither local (same port both ways:
 * no end of it looks like a server), which only fills the capture's time.
 */
static void cap_other(struct cap *c, uint64_t t)
{
	cap_bare(c, t, 0x0a090909u, 5000, 0x0a090908u, 5000, TH_ACK, 1, 1, 100);
}

/* A whole connection: handshake at t0 (SYN -> SYN-ACK rtt_s, -> ACK rtt_c), a request, a response, the client's close. */
struct conn {
	uint16_t cport;
	uint32_t cisn, sisn;
};

static void cap_handshake(struct cap *c, const struct conn *k, uint64_t t, uint64_t syn_sa, uint64_t sa_ack)
{
	cap_tcp(c, t, 0, k->cport, TH_SYN, k->cisn, 0, 0);
	cap_tcp(c, t + syn_sa, 1, k->cport, TH_SYN | TH_ACK, k->sisn, k->cisn + 1, 0);
	cap_tcp(c, t + syn_sa + sa_ack, 0, k->cport, TH_ACK, k->cisn + 1, k->sisn + 1, 0);
}

/* The summary's verify.NAME object's member key (a number). */
static double verify_num(const struct run *r, const char *cls, const char *key)
{
	struct jobj v, k;
	char buf[64];

	j_sub(run_summary(r), "verify", &v, r->args);
	if (!cls)
		return strtod(j_raw(&v, key, buf, sizeof(buf)), NULL);
	j_sub(&v, cls, &k, r->args);
	return strtod(j_raw(&k, key, buf, sizeof(buf)), NULL);
}

/* ---- ISNs however late ------------------------------------------------------------------ */

START_TEST(test_late_synack_rebased)
{
	struct conn k = { 40000, 1000, 5000000 };
	struct cap c;
	struct run r;
	char qp[PATH_MAX + 8];

	/*
	 * The SYN-ACK comes 5 s after the SYN, and frames of other hosts at
	 * 2.5 and 4.5 s end every window before it.
	 */
	cap_open(&c, "late-synack.pcap");
	cap_tcp(&c, 0, 0, k.cport, TH_SYN, k.cisn, 0, 0);
	cap_other(&c, 2500 * MS);
	cap_other(&c, 4500 * MS);
	cap_tcp(&c, 5000 * MS, 1, k.cport, TH_SYN | TH_ACK, k.sisn, k.cisn + 1, 0);
	cap_tcp(&c, 5000 * MS + MS / 10, 0, k.cport, TH_ACK, k.cisn + 1, k.sisn + 1, 0);
	cap_close(&c);
	run_json(&r, "replay %s --format json --capture-point server", q(c.path, qp, sizeof(qp)));
	run_ok(&r);
	ck_assert_msg(count_inferred(&r, "isn", "10.0.0.1:80 <- 10.0.0.2:40000") == 1,
		      "no request re-based to the late SYN-ACK's ISN:\n%s", r.out);
	{
		struct jobj rs, isn;

		run_replay_stats(&r, &rs);
		j_sub(&rs, "isn", &isn, r.args);
		ck_assert_msg(j_int(&isn, "rebased", r.args) == 1, "isn.rebased %lld, want 1", j_int(&isn, "rebased", r.args));
	}
	ck_assert_msg(run_counter(&r, "PassiveOpens") == 1 && run_replay_num(&r, "picked_up") == 0,
		      "the handshake did not complete (PassiveOpens %lld, picked_up %lld):\n%s", run_counter(&r, "PassiveOpens"),
		      run_replay_num(&r, "picked_up"), r.out);
	run_free(&r);
}
END_TEST

/* One frame of the interleaved capture: connection idx, frame j (SYN, SYN-ACK, ACK) at t us. */
struct ev {
	uint64_t t;
	int idx, j;
};

static int ev_cmp(const void *a, const void *b)
{
	const struct ev *x = a, *y = b;

	return x->t < y->t ? -1 : x->t > y->t;
}

/* 3,000 handshakes, 2,000 under way at once: every SYN-ACK 3,000 frames behind its SYN. */
START_TEST(test_interleaved_all_established)
{
	enum { N = 3000, K = 2000 };
	static struct ev ev[3 * N];
	uint64_t d = 3ull * K / 2 + 1; /* us from a connection's frame to its next */
	struct cap c;
	struct run r;
	struct jobj so;
	char qp[PATH_MAX + 8];
	int i, n = 0;

	for (i = 0; i < N; i++) {
		int j;

		for (j = 0; j < 3; j++) {
			ev[n].t = 3ull * (uint64_t)i + (uint64_t)j * d;
			ev[n].idx = i;
			ev[n].j = j;
			n++;
		}
	}
	qsort(ev, (size_t)n, sizeof(ev[0]), ev_cmp);
	cap_open(&c, "interleaved.pcap");
	for (i = 0; i < n; i++) {
		uint16_t cport = (uint16_t)(20000 + ev[i].idx);
		uint32_t cisn = 100000u * (uint32_t)ev[i].idx, sisn = 7000000u + 131u * (uint32_t)ev[i].idx;
		uint64_t t = ev[i].t * 1000ull;

		if (ev[i].j == 0)
			cap_tcp(&c, t, 0, cport, TH_SYN, cisn, 0, 0);
		else if (ev[i].j == 1)
			cap_tcp(&c, t, 1, cport, TH_SYN | TH_ACK, sisn, cisn + 1, 0);
		else
			cap_tcp(&c, t, 0, cport, TH_ACK, cisn + 1, sisn + 1, 0);
	}
	cap_close(&c);
	run_json(&r, "replay %s --quiet --format json", q(c.path, qp, sizeof(qp)));
	run_ok(&r);
	j_sub(run_summary(&r), "sockets", &so, r.args);
	ck_assert_msg(j_int(&so, "established", r.args) == N, "%lld ESTABLISHED of %d", j_int(&so, "established", r.args),
		      N);
	ck_assert_msg(run_replay_num(&r, "picked_up") == 0, "%lld connections invented as already open",
		      run_replay_num(&r, "picked_up"));
	run_free(&r);
}
END_TEST

/* ---- the recorded listener's decisions ---------------------------------------------------- */

START_TEST(test_listener_drop)
{
	struct conn a = { 40000, 1000, 900000 }, b = { 40001, 2000, 800000 };
	struct cap c;
	struct run r;
	char qp[PATH_MAX + 8];

	cap_open(&c, "drop.pcap");
	cap_handshake(&c, &a, 0, MS / 20, MS / 20);
	/* b's SYN is not answered; the client sends it again 1 s later, and that one is. */
	cap_tcp(&c, 10 * MS, 0, b.cport, TH_SYN, b.cisn, 0, 0);
	cap_handshake(&c, &b, 1010 * MS, MS / 20, MS / 20);
	cap_close(&c);

	run_json(&r, "replay %s --format json --verify", q(c.path, qp, sizeof(qp)));
	ck_assert_msg(r.rc == 0, "exit %d: %s", r.rc, r.err);
	ck_assert_msg(count_inferred(&r, "drop", "10.0.0.1:80 <- 10.0.0.2:40001") == 1, "the drop is not announced:\n%s",
		      r.out);
	ck_assert_msg(run_replay_num(&r, "listener_drops") == 1, "listener_drops %lld, want 1", run_replay_num(&r, "listener_drops"));
	ck_assert_msg(verify_num(&r, NULL, "agreement") == 1.0, "control agreement %f: the stack answered the dropped SYN",
		      verify_num(&r, NULL, "agreement"));
	ck_assert_msg(run_counter(&r, "PassiveOpens") == 2, "PassiveOpens %lld, want 2", run_counter(&r, "PassiveOpens"));
	run_free(&r);

	/* With --listen the stack's own backlog decides: it answers the first SYN. */
	run_json(&r, "replay %s --format json --listen 10.0.0.1:80", q(c.path, qp, sizeof(qp)));
	run_ok(&r);
	ck_assert_msg(run_replay_num(&r, "listener_drops") == 0, "listener_drops %lld with --listen",
		      run_replay_num(&r, "listener_drops"));
	run_free(&r);
}
END_TEST

/* The replay summary's isn.KEY: how many ISNs came from the recorded SYN-ACKs ("recorded") or not ("own"). */
static long long isn_num(const struct run *r, const char *key)
{
	struct jobj rs, isn;

	run_replay_stats(r, &rs);
	j_sub(&rs, "isn", &isn, r->args);
	return j_int(&isn, key, r->args);
}

/*
 * A SYN the recorded listener dropped twice: sent again 1 s and 3 s
 * later, answered only the third time, with other handshakes in between.
 * The replay stops reading ahead for each dropped SYN once it is sent
 * again (wait_for_answer): both drops must still be found and followed,
 * and with --listen, where the stack answers the first SYN itself, the
 * window must still reach the recorded SYN-ACK three seconds on for the
 * ISN it gives.
 */
START_TEST(test_listener_drop_twice)
{
	struct conn b = { 40001, 2000, 800000 };
	struct cap c;
	struct run r;
	char qp[PATH_MAX + 8];
	int i;

	cap_open(&c, "drop-twice.pcap");
	cap_tcp(&c, 10 * MS, 0, b.cport, TH_SYN, b.cisn, 0, 0);
	/* 20 handshakes of others before the first resend, 20 before the second (45 and 95 ms apart). */
	for (i = 0; i < 40; i++) {
		struct conn k = { (uint16_t)(41000 + i), 5000u + 100u * (uint32_t)i, 600000u + 100u * (uint32_t)i };

		if (i == 20)
			cap_tcp(&c, 1010 * MS, 0, b.cport, TH_SYN, b.cisn, 0, 0);
		cap_handshake(&c, &k, i < 20 ? (uint64_t)(100 + 45 * i) * MS : (uint64_t)(1100 + 95 * (i - 20)) * MS,
			      MS / 20, MS / 20);
	}
	cap_handshake(&c, &b, 3010 * MS, MS / 20, MS / 20);
	cap_close(&c);

	run_json(&r, "replay %s --format json --verify", q(c.path, qp, sizeof(qp)));
	ck_assert_msg(r.rc == 0, "exit %d: %s", r.rc, r.err);
	ck_assert_msg(run_replay_num(&r, "listener_drops") == 2, "listener_drops %lld, want 2",
		      run_replay_num(&r, "listener_drops"));
	ck_assert_msg(count_inferred(&r, "drop", "10.0.0.1:80 <- 10.0.0.2:40001") == 1, "the drop is not announced once:\n%s",
		      r.out);
	ck_assert_msg(verify_num(&r, NULL, "agreement") == 1.0, "control agreement %f: the stack answered a dropped SYN",
		      verify_num(&r, NULL, "agreement"));
	ck_assert_msg(run_counter(&r, "PassiveOpens") == 41, "PassiveOpens %lld, want 41", run_counter(&r, "PassiveOpens"));
	ck_assert_msg(isn_num(&r, "recorded") == 41, "%lld ISNs from the recorded SYN-ACKs, want 41",
		      isn_num(&r, "recorded"));
	run_free(&r);

	run_json(&r, "replay %s --format json --listen 10.0.0.1:80", q(c.path, qp, sizeof(qp)));
	run_ok(&r);
	ck_assert_msg(run_replay_num(&r, "listener_drops") == 0, "listener_drops %lld with --listen",
		      run_replay_num(&r, "listener_drops"));
	/* The first SYN is answered by the stack with the ISN of the SYN-ACK recorded 3 s later. */
	ck_assert_msg(isn_num(&r, "recorded") >= 41 && isn_num(&r, "own") == 0,
		      "%lld recorded ISNs, %lld of its own: the window did not reach the SYN-ACK", isn_num(&r, "recorded"),
		      isn_num(&r, "own"));
	run_free(&r);
}
END_TEST

/* ---- where the capture was taken --------------------------------------------------------- */

/* A client-side exchange: 80 ms round trip, request, response, the client closes. */
static void client_side_capture(struct cap *c, const char *name)
{
	struct conn k = { 40000, 1000, 900000 };
	uint64_t rtt = 80 * MS, t = 0;

	cap_open(c, name);
	cap_handshake(c, &k, t, rtt, MS / 10);
	t = rtt + MS / 5;
	cap_tcp(c, t, 0, k.cport, TH_ACK | TH_PSH, k.cisn + 1, k.sisn + 1, 100);                     /* request */
	cap_tcp(c, t + rtt, 1, k.cport, TH_ACK | TH_PSH, k.sisn + 1, k.cisn + 101, 200);            /* response */
	cap_tcp(c, t + rtt + MS / 10, 0, k.cport, TH_ACK, k.cisn + 101, k.sisn + 201, 0);
	cap_tcp(c, t + rtt + 10 * MS, 0, k.cport, TH_ACK | TH_FIN, k.cisn + 101, k.sisn + 201, 0); /* client closes */
	cap_tcp(c, t + 2 * rtt + 10 * MS, 1, k.cport, TH_ACK | TH_FIN, k.sisn + 201, k.cisn + 102, 0);
	cap_tcp(c, t + 2 * rtt + 10 * MS + MS / 10, 0, k.cport, TH_ACK, k.cisn + 102, k.sisn + 202, 0);
	cap_close(c);
}

START_TEST(test_client_side_delayed)
{
	struct cap c;
	struct run r;
	struct jobj rs, cp;
	char qp[PATH_MAX + 8], side[32];

	client_side_capture(&c, "client-side.pcap");
	run_json(&r, "replay %s --format json --verify", q(c.path, qp, sizeof(qp)));
	ck_assert_msg(r.rc == 0, "exit %d: %s\n%s", r.rc, r.err, r.out);
	run_replay_stats(&r, &rs);
	j_sub(&rs, "capture_point", &cp, r.args);
	ck_assert_msg(j_str(&cp, "side", side, sizeof(side)) && strcmp(side, "client") == 0, "capture point %s, want client",
		      side);
	ck_assert_msg(j_int(&cp, "delayed", r.args) == 1, "delayed %lld, want 1", j_int(&cp, "delayed", r.args));
	ck_assert_msg(count_inferred(&r, "delay", "10.0.0.1:80 <- 10.0.0.2:40000") == 1, "no delay announced");
	ck_assert_msg(verify_num(&r, NULL, "agreement") == 1.0 && verify_num(&r, "data", "agreement") == 1.0,
		      "delayed, the control or data agreement is below 1:\n%s", r.out);
	run_free(&r);

	/* Taken as server side, the stack answers a round trip early: --verify sees it late, one difference each. */
	run_json(&r, "replay %s --format json --verify --capture-point server", q(c.path, qp, sizeof(qp)));
	ck_assert_msg(r.rc == 1, "--capture-point server: exit %d, want 1 (the SYN-ACK is early)", r.rc);
	ck_assert_msg(verify_num(&r, "control", "late") >= 1, "no late or early control segment:\n%s", r.out);
	ck_assert_msg(verify_num(&r, "control", "extra") == 0, "a late segment counted as extra too:\n%s", r.out);
	run_free(&r);
}
END_TEST

/* ---- offload ----------------------------------------------------------------------------- */

START_TEST(test_offload)
{
	struct conn k = { 40000, 1000, 900000 };
	struct segment s;
	struct cap c;
	struct run r;
	char qp[PATH_MAX + 8];

	cap_open(&c, "offload.pcap");
	cap_handshake(&c, &k, 0, MS / 20, MS / 20);
	cap_tcp(&c, MS, 0, k.cport, TH_ACK | TH_PSH, k.cisn + 1, k.sisn + 1, 100);
	/* The response: 4000 bytes and the FIN in one frame whose IPv4 length is 0 (TSO on the server). */
	memset(&s, 0, sizeof(s));
	s.src = addr_v4(SERVER);
	s.dst = addr_v4(CLIENT);
	s.sport = 80;
	s.dport = k.cport;
	s.flags = TH_ACK | TH_PSH | TH_FIN;
	s.seq = k.sisn + 1;
	s.ack = k.cisn + 101;
	s.win = 502;
	s.ttl = 64;
	s.data = payload;
	s.len = 4000;
	cap_seg(&c, MS + MS / 10, &s, 1);
	cap_tcp(&c, MS + MS / 5, 0, k.cport, TH_ACK, k.cisn + 101, k.sisn + 4002, 0);
	cap_close(&c);

	run_json(&r, "replay %s --format json --verify", q(c.path, qp, sizeof(qp)));
	ck_assert_msg(r.rc == 0, "exit %d: %s\n%s", r.rc, r.err, r.out);
	ck_assert_msg(run_replay_num(&r, "tso_length_0") == 1, "tso_length_0 %lld, want 1", run_replay_num(&r, "tso_length_0"));
	/* The stack sends 1460 + 1460 + 1080 with the FIN on the last: the FIN matches by position. */
	ck_assert_msg(verify_num(&r, NULL, "agreement") == 1.0, "the FIN on the offloaded segment did not match:\n%s", r.out);
	ck_assert_msg(verify_num(&r, "data", "matched") == 4000, "data: %.0f bytes matched, want 4000",
		      verify_num(&r, "data", "matched"));
	run_free(&r);
}
END_TEST

/* The server closes; data the client still sends is answered by the kernel's bare RST. */
START_TEST(test_close_then_kernel_rst)
{
	struct conn k = { 40000, 1000, 900000 };
	struct cap c;
	struct run r;
	char qp[PATH_MAX + 8];

	cap_open(&c, "close-rst.pcap");
	cap_handshake(&c, &k, 0, MS / 20, MS / 20);
	cap_tcp(&c, MS, 1, k.cport, TH_ACK | TH_FIN, k.sisn + 1, k.cisn + 1, 0);
	cap_tcp(&c, MS + MS / 20, 0, k.cport, TH_ACK, k.cisn + 1, k.sisn + 2, 0);
	cap_tcp(&c, 2 * MS, 0, k.cport, TH_ACK | TH_PSH, k.cisn + 1, k.sisn + 2, 37);
	cap_tcp(&c, 2 * MS + MS / 20, 1, k.cport, TH_RST, k.sisn + 2, 0, 0);
	cap_close(&c);
	run_json(&r, "replay %s --format json --verify", q(c.path, qp, sizeof(qp)));
	ck_assert_msg(r.rc == 0 && verify_num(&r, NULL, "agreement") == 1.0,
		      "the kernel's RST after close() was not the stack's own answer (exit %d):\n%s", r.rc, r.out);
	ck_assert_msg(run_counter(&r, "TCPAbortOnData") == 1, "TCPAbortOnData %lld, want 1", run_counter(&r, "TCPAbortOnData"));
	run_free(&r);
}
END_TEST

/*
 * A client-side capture whose path got faster: the server's bare RST (the
 * kernel's answer to the client's data, seq = its ack: tcp_v4_send_reset)
 * is seen before the data's measured delay has passed. The RST answers
 * the data, so the data reaches the stack first; it is not replayed as
 * an abort followed by a connection "already open" picked up mid-stream.
 */
START_TEST(test_bare_rst_releases_held)
{
	struct conn k = { 40000, 1000, 900000 };
	uint64_t rtt = 80 * MS;
	struct cap c;
	struct run r;
	char qp[PATH_MAX + 8];

	cap_open(&c, "bare-rst-held.pcap");
	cap_handshake(&c, &k, 0, rtt, MS / 10);
	cap_tcp(&c, 200 * MS, 0, k.cport, TH_ACK | TH_PSH, k.cisn + 1, k.sisn + 1, 50);
	cap_tcp(&c, 200 * MS + rtt - 5 * MS, 1, k.cport, TH_RST, k.sisn + 1, 0, 0);
	cap_close(&c);
	run_json(&r, "replay %s --format json", q(c.path, qp, sizeof(qp)));
	ck_assert_msg(r.rc == 0, "exit %d: %s\n%s", r.rc, r.err, r.out);
	ck_assert_msg(run_replay_num(&r, "picked_up") == 0 && count_inferred(&r, "established", NULL) == 0,
		      "the data held back behind the RST made a connection \"already open\" (picked up %lld):\n%s",
		      run_replay_num(&r, "picked_up"), r.out);
	ck_assert_msg(run_counter(&r, "PassiveOpens") == 1 && run_counter(&r, "InSegs") == 3,
		      "PassiveOpens %lld, InSegs %lld; want 1 and 3 (the data reached the stack)",
		      run_counter(&r, "PassiveOpens"), run_counter(&r, "InSegs"));
	run_free(&r);
}
END_TEST

/*
 * RFC 9293 3.10.7.1: a SYN to a closed port is reset with sequence number 0
 * (tcp_v4_send_reset). A recorded reset with another number (a firewall or
 * another stack answering) is named "not Linux" in the verify causes; one
 * with 0 matches the stack's.
 */
START_TEST(test_closed_port_reset_seq)
{
	static const uint32_t rst_seq[2] = { 0, 2462244745u };
	struct conn k = { 40000, 1000, 900000 };
	struct cap c;
	struct run r;
	char qp[PATH_MAX + 8];

	for (int i = 0; i < 2; i++) {
		struct jobj v;
		char causes[512];

		cap_open(&c, i ? "closed-rst-seq.pcap" : "closed-rst-0.pcap");
		/* a listener's handshake makes 10.0.0.1:80 the server; port 81 is closed */
		cap_handshake(&c, &k, 0, MS / 20, MS / 20);
		cap_bare(&c, MS, CLIENT, 40001, SERVER, 81, TH_SYN, 5000, 0, 1024);
		cap_bare(&c, MS + MS / 100, SERVER, 81, CLIENT, 40001, TH_RST | TH_ACK, rst_seq[i], 5001, 0);
		cap_close(&c);
		run_json(&r, "replay %s --format json --verify --listen 10.0.0.1:80", q(c.path, qp, sizeof(qp)));
		j_sub(run_summary(&r), "verify", &v, r.args);
		ck_assert_msg(j_raw(&v, "causes", causes, sizeof(causes)) != NULL, "no verify causes:\n%s", r.out);
		if (i == 0)
			ck_assert_msg(r.rc == 0 && verify_num(&r, "control", "agreement") == 1.0 && !strstr(causes, "not Linux"),
				      "a reset with sequence number 0 did not match (exit %d, causes %s)", r.rc, causes);
		else
			ck_assert_msg(r.rc == 1 && strstr(causes, "{\"cause\":\"not Linux\",\"connections\":1,"),
				      "a reset with sequence number %u is not named not Linux (exit %d, causes %s)",
				      rst_seq[i], r.rc, causes);
		run_free(&r);
	}
}
END_TEST

/* ---- partial captures ------------------------------------------------------------------------ */

START_TEST(test_time_goes_back)
{
	struct conn k = { 40000, 1000, 900000 };
	struct cap c;
	struct run r;
	char qp[PATH_MAX + 8];

	cap_open(&c, "back.pcap");
	cap_tcp(&c, 10 * MS, 0, k.cport, TH_SYN, k.cisn, 0, 0);
	cap_tcp(&c, 10 * MS + MS / 20, 1, k.cport, TH_SYN | TH_ACK, k.sisn, k.cisn + 1, 0);
	cap_tcp(&c, 9 * MS, 0, k.cport, TH_ACK, k.cisn + 1, k.sisn + 1, 0); /* 1 ms before the frame before */
	cap_close(&c);
	run_json(&r, "replay %s --format json", q(c.path, qp, sizeof(qp)));
	ck_assert_msg(r.rc == 0, "exit %d: %s", r.rc, r.err);
	ck_assert_msg(only_warnings(r.err, c.path) && strstr(r.err, "timestamps go back at frame 3") &&
			      strchr(r.err, '\n') == r.err + strlen(r.err) - 1,
		      "want one warning line naming frame 3: [%s]", r.err);
	ck_assert_msg(run_counter(&r, "PassiveOpens") == 1, "the handshake did not complete");
	run_free(&r);
}
END_TEST

START_TEST(test_one_direction)
{
	struct conn k = { 40000, 1000, 900000 };
	struct cap c;
	struct run r;
	char qp[PATH_MAX + 8];

	cap_open(&c, "one-way.pcap");
	cap_tcp(&c, 0, 0, k.cport, TH_SYN, k.cisn, 0, 0);
	cap_tcp(&c, 100 * MS, 0, k.cport, TH_ACK, k.cisn + 1, k.sisn + 1, 0);
	cap_tcp(&c, 101 * MS, 0, k.cport, TH_ACK | TH_PSH, k.cisn + 1, k.sisn + 1, 50);
	cap_close(&c);
	run_json(&r, "replay %s --format json", q(c.path, qp, sizeof(qp)));
	ck_assert_msg(r.rc == 0, "exit %d: %s", r.rc, r.err);
	ck_assert_msg(count_inferred(&r, "local", "10.0.0.1") == 1, "the SYN's target is not taken as local:\n%s", r.out);
	ck_assert_msg(only_warnings(r.err, c.path) && strstr(r.err, "only one direction") &&
			      strchr(r.err, '\n') == r.err + strlen(r.err) - 1,
		      "want one warning line: [%s]", r.err);
	run_free(&r);

	run_json(&r, "replay %s --format json --verify", q(c.path, qp, sizeof(qp)));
	ck_assert_msg(r.rc == 1 && strstr(r.err, "one direction only"), "--verify: exit %d, stderr [%s]", r.rc, r.err);
	{
		struct jobj v;
		char why[512];

		j_sub(run_summary(&r), "verify", &v, r.args);
		ck_assert_msg(j_str(&v, "nothing_compared", why, sizeof(why)) != NULL, "no nothing_compared reason");
	}
	run_free(&r);
}
END_TEST

/* ---- which hosts are local -------------------------------------------------------------- */

/* A handshake between client:cport and server:sport, 1 ms apart, from t ns on. */
static void cap_hs_between(struct cap *c, uint64_t t, uint32_t client, uint16_t cport, uint32_t server, uint16_t sport)
{
	cap_bare(c, t, client, cport, server, sport, TH_SYN, 1000, 0, 64240);
	cap_bare(c, t + MS, server, sport, client, cport, TH_SYN | TH_ACK, 5000, 1001, 64240);
	cap_bare(c, t + 2 * MS, client, cport, server, sport, TH_ACK, 1001, 5001, 502);
}

/* A router's capture in front of 100 servers: every one is local, with its listener. */
START_TEST(test_hundred_servers)
{
	struct cap c;
	struct run r;
	char qp[PATH_MAX + 8];
	uint32_t i;

	cap_open(&c, "hundred-servers.pcap");
	for (i = 0; i < 100; i++)
		cap_hs_between(&c, i * 3 * MS, CLIENT, (uint16_t)(40000 + i), 0x0a010001u + i, 80);
	cap_close(&c);
	run_json(&r, "replay %s --format json", q(c.path, qp, sizeof(qp)));
	ck_assert_msg(r.rc == 0, "exit %d: %s", r.rc, r.err);
	ck_assert_msg(count_inferred(&r, "local", NULL) == 100 && count_inferred(&r, "listener", NULL) == 100,
		      "%d local hosts and %d listeners inferred, want 100 each", count_inferred(&r, "local", NULL),
		      count_inferred(&r, "listener", NULL));
	ck_assert_msg(count_inferred(&r, "local", "10.1.0.100") == 1, "the 100th server, 10.1.0.100, is not local");
	ck_assert_msg(run_counter(&r, "PassiveOpens") == 100 && run_replay_num(&r, "ignored") == 0,
		      "PassiveOpens %lld, ignored %lld; want 100 and 0", run_counter(&r, "PassiveOpens"),
		      run_replay_num(&r, "ignored"));
	run_free(&r);
}
END_TEST

/*
 * One more server than a replay takes as local (REPLAY_MAX_HOSTS, 4,096):
 * all the others are, and one warning line says where it stopped.
 */
START_TEST(test_host_limit_warns)
{
	const uint32_t n = 4097;
	struct cap c;
	struct run r;
	char qp[PATH_MAX + 8];
	uint32_t i;

	cap_open(&c, "many-servers.pcap");
	for (i = 0; i < n; i++)
		cap_hs_between(&c, i * 3 * MS, CLIENT, 40000, 0x0b000001u + i, 80);
	cap_close(&c);
	run_plain(&r, "replay %s --quiet --format json", q(c.path, qp, sizeof(qp)));
	ck_assert_msg(r.rc == 0, "exit %d: %s", r.rc, r.err);
	ck_assert_msg(strstr(r.err, "warning: more than 4096 hosts answered SYNs: from 11.0.16.1 on") != NULL &&
			      strchr(r.err, '\n') == r.err + strlen(r.err) - 1,
		      "want one warning naming 11.0.16.1 (the 4,097th server); stderr: %s", r.err);
	ck_assert_msg(strstr(r.out, "\"PassiveOpens\":4096,") != NULL, "not 4,096 handshakes: %.400s", r.out);
	run_free(&r);
}
END_TEST

/*
 * SYN-ACKs to no SYN (a reflection: SYNs forged in 10.0.0.9's name reach
 * five servers, which answer it; it resets each) make nobody local; the
 * summary counts them. The real server of the capture is found as usual.
 */
START_TEST(test_synack_without_syn)
{
	struct cap c;
	struct run r;
	struct jobj rs, ns;
	char qp[PATH_MAX + 8], first[64];
	uint32_t i;

	cap_open(&c, "reflection.pcap");
	for (i = 0; i < 5; i++) {
		cap_bare(&c, i * MS, 0x0a020001u + i, 80, 0x0a000009u, 5555, TH_SYN | TH_ACK, 7000, 4001, 64240);
		cap_bare(&c, i * MS + MS / 2, 0x0a000009u, 5555, 0x0a020001u + i, 80, TH_RST, 4001, 0, 0);
	}
	cap_hs_between(&c, 10 * MS, CLIENT, 40000, SERVER, 80);
	cap_close(&c);
	run_json(&r, "replay %s --format json", q(c.path, qp, sizeof(qp)));
	ck_assert_msg(r.rc == 0, "exit %d: %s", r.rc, r.err);
	ck_assert_msg(count_inferred(&r, "local", NULL) == 1 && count_inferred(&r, "local", "10.0.0.1") == 1,
		      "want 10.0.0.1 alone local; %d local hosts:\n%s", count_inferred(&r, "local", NULL), r.out);
	run_replay_stats(&r, &rs);
	j_sub(&rs, "synack_nosyn", &ns, r.args);
	ck_assert_msg(j_int(&ns, "synacks", r.args) == 5 && j_int(&ns, "hosts", r.args) == 5 &&
			      j_int(&ns, "frame", r.args) == 1,
		      "synack_nosyn %lld SYN-ACKs from %lld hosts, first frame %lld; want 5, 5, 1",
		      j_int(&ns, "synacks", r.args), j_int(&ns, "hosts", r.args), j_int(&ns, "frame", r.args));
	ck_assert_msg(j_str(&ns, "first", first, sizeof(first)) && strcmp(first, "10.2.0.1:80") == 0,
		      "first sender %s, want 10.2.0.1:80", first);
	run_free(&r);

	run_plain(&r, "replay %s --quiet", q(c.path, qp, sizeof(qp)));
	ck_assert_msg(strstr(r.out, "5 SYN-ACKs from 5 hosts without a SYN: reflection or capture started late") != NULL,
		      "the text summary does not name the SYN-ACKs without a SYN:\n%s", r.out);
	run_free(&r);
}
END_TEST

/*
 * A capture without handshakes: three clients, from ports below the
 * service's, talk to 10.0.0.1:5000. The lower port would make the clients
 * servers; fan-in (three peers against one) names 10.0.0.1:5000.
 */
START_TEST(test_fan_in_server)
{
	static const uint32_t clients[] = { 0x0a000002u, 0x0a000003u, 0x0a000004u };
	struct cap c;
	struct run r;
	char qp[PATH_MAX + 8];
	uint32_t i;

	cap_open(&c, "fan-in.pcap");
	for (i = 0; i < 3; i++) {
		uint16_t cport = (uint16_t)(1000 + i);

		cap_bare(&c, i * MS, clients[i], cport, SERVER, 5000, TH_ACK | TH_PSH, 100, 200, 502);
		cap_bare(&c, i * MS + MS / 2, SERVER, 5000, clients[i], cport, TH_ACK, 200, 100, 502);
	}
	cap_close(&c);
	run_json(&r, "replay %s --format json", q(c.path, qp, sizeof(qp)));
	ck_assert_msg(r.rc == 0, "exit %d: %s", r.rc, r.err);
	ck_assert_msg(count_inferred(&r, "local", NULL) == 1 && count_inferred(&r, "local", "10.0.0.1") == 1 &&
			      count_inferred(&r, "listener", "10.0.0.1:5000") == 1,
		      "want 10.0.0.1 alone local, listening on 5000:\n%s", r.out);
	ck_assert_msg(strstr(r.out, "talks with 3 peers against its peer's 1") != NULL && strstr(r.out, "fan-in") != NULL,
		      "the reason does not name the fan-in:\n%s", r.out);
	ck_assert_msg(run_replay_num(&r, "picked_up") == 3, "picked up %lld connections, want 3",
		      run_replay_num(&r, "picked_up"));
	run_free(&r);
}
END_TEST

/* Client i's endpoint: 10.1.x.y:port, 5,000 of them distinct. */
static void delay_client(int i, char *ep, size_t len)
{
	snprintf(ep, len, "10.1.%d.%d:%d", i / 250, 1 + i % 250, 1024 + i % 7);
}

/*
 * The delay capture_point_delay() gives client i's segment with flags at
 * now: for odd i with the hash its prefetch computed, for even i without.
 */
static vtime_t client_delay(struct capture_point *cp, int i, uint8_t flags, vtime_t now)
{
	char ep[32];
	struct segment seg;

	delay_client(i, ep, sizeof(ep));
	seg = ts_seg(ep, "10.0.0.1:80", flags, 1, 1);
	return capture_point_delay(cp, &seg, i % 2 ? capture_point_prefetch(cp, &seg) : 0, now);
}

START_TEST(test_delay_table)
{
	struct capture_point *cp = malloc(sizeof(*cp));
	struct ip_addr local, remote;
	uint16_t lp, rp;
	char ep[32];
	int i, side;

	ck_assert_ptr_nonnull(cp);
	ck_assert_int_eq(capture_point_init(cp, CAPTURE_AUTO), 0);
	ck_assert_int_eq(endpoint_parse("10.0.0.1:80", &local, &lp), 0);
	/* In between (SYN->SYN-ACK = SYN-ACK->ACK), each its own delay of 2 ms + i us. */
	for (i = 0; i < 5000; i++) {
		vtime_t d = 2 * VT_MSEC + (vtime_t)i * VT_USEC;

		delay_client(i, ep, sizeof(ep));
		ck_assert_int_eq(endpoint_parse(ep, &remote, &rp), 0);
		ck_assert_uint_eq(capture_point_handshake(cp, &local, lp, &remote, rp, d, d, &side, VT_SEC), d);
		ck_assert_int_eq(side, SIDE_BETWEEN);
	}
	for (i = 0; i < 5000; i++)
		ck_assert_msg(client_delay(cp, i, TH_ACK, 2 * VT_SEC) == 2 * VT_MSEC + (vtime_t)i * VT_USEC,
			      "client %d: delay %lld", i, (long long)client_delay(cp, i, TH_ACK, 2 * VT_SEC));
	/* Not measured: its host's latest delay, except for a SYN (measured when it comes). */
	ck_assert_uint_eq(client_delay(cp, 6000, TH_ACK, 2 * VT_SEC), 2 * VT_MSEC + 4999 * VT_USEC);
	ck_assert_uint_eq(client_delay(cp, 6000, TH_SYN, 2 * VT_SEC), 0);
	/* Minutes later the odd clients are used again, the even ones not. */
	for (i = 1; i < 5000; i += 2)
		client_delay(cp, i, TH_ACK, 390 * VT_SEC);
	/* A handshake 400 s in sweeps the ones idle over 300 s; it makes 7 ms the host's delay. */
	delay_client(7000, ep, sizeof(ep));
	ck_assert_int_eq(endpoint_parse(ep, &remote, &rp), 0);
	ck_assert_uint_eq(capture_point_handshake(cp, &local, lp, &remote, rp, 7 * VT_MSEC, 7 * VT_MSEC, &side,
						  400 * VT_SEC),
			  7 * VT_MSEC);
	ck_assert_msg(cp->conns.count == 2501, "%u entries after the sweep, want 2501", cp->conns.count);
	for (i = 0; i < 5000; i++) {
		vtime_t want = i % 2 ? 2 * VT_MSEC + (vtime_t)i * VT_USEC : 7 * VT_MSEC;

		ck_assert_msg(client_delay(cp, i, TH_ACK, 401 * VT_SEC) == want, "client %d after the sweep: %lld, want %lld",
			      i, (long long)client_delay(cp, i, TH_ACK, 401 * VT_SEC), (long long)want);
	}
	ck_assert_uint_eq(client_delay(cp, 7000, TH_ACK, 401 * VT_SEC), 7 * VT_MSEC);
	capture_point_free(cp);
	free(cp);
}
END_TEST

/* ---- the window's scan for an ACK -------------------------------------------------- */

#define SCAN_FRAMES 600

/* What la_scan_ack() must find: the first match from window frame i on, or -1 (past bound or none). */
static int scan_expect(struct lookahead *la, uint32_t i, uint64_t bound, uint32_t ack, uint16_t cport)
{
	struct ip_addr c = addr_v4(CLIENT), sv = addr_v4(SERVER);

	for (; i < la_count(la); i++) {
		const struct la_frame *g = la_at(la, i);

		if (g->fr.ts > bound)
			return -1;
		if (!g->status && (g->seg.flags & (TH_SYN | TH_RST | TH_ACK)) == TH_ACK && g->seg.ack == ack &&
		    g->seg.sport == cport && g->seg.dport == 80 && addr_equal(&g->seg.src, &c) &&
		    addr_equal(&g->seg.dst, &sv))
			return (int)i;
	}
	return -1;
}

START_TEST(test_window_scan_ack)
{
	struct ip_addr c = addr_v4(CLIENT), sv = addr_v4(SERVER);
	uint32_t rnd = 777, q;
	struct cap cp;
	char err[512];
	int k, found = 0;

	cap_open(&cp, "scan.pcap");
	for (k = 0; k < SCAN_FRAMES; k++) {
		uint64_t t = (uint64_t)k * MS;
		uint16_t cport = (uint16_t)(20000 + (rnd >> 8) % 8);
		uint32_t ack = 100 + (rnd >> 12) % 3;

		rnd = rnd * 1103515245u + 12345u;
		switch ((rnd >> 16) % 6) {
		case 0: /* from the server: the wrong direction */
			cap_tcp(&cp, t, 1, cport, TH_ACK, 1, ack, 0);
			break;
		case 1: /* a SYN-ACK or a RST with the same numbers */
			cap_tcp(&cp, t, 0, cport, (rnd >> 4) % 2 ? TH_SYN | TH_ACK : TH_RST | TH_ACK, 1, ack, 0);
			break;
		case 2: /* another client, same ports and numbers */
			cap_bare(&cp, t, CLIENT + 1, cport, SERVER, 80, TH_ACK, 1, ack, 100);
			break;
		default: /* a candidate, with data or without */
			cap_tcp(&cp, t, 0, cport, TH_ACK, 1, ack, (rnd >> 4) % 3 ? 0 : 10);
			break;
		}
	}
	cap_close(&cp);
	for (q = 0; q < 400; q++) {
		struct frame_src *fs = frame_open(cp.path, NULL, err, sizeof(err));
		struct lookahead *la;
		uint32_t start, i, depth, want_ack;
		uint16_t cport;
		uint64_t bound;
		const struct la_frame *g;
		int want;

		ck_assert_msg(fs != NULL, "%s: %s", cp.path, err);
		la = la_new(fs, cp.path, 0, 1);
		ck_assert_ptr_nonnull(la);
		rnd = rnd * 1103515245u + 12345u;
		/* Popped a few, read some deep: the scan reads on as the replay would. */
		depth = 5 + (rnd >> 8) % 200; /* more than it pops */
		while (la_count(la) < depth && la_read(la))
			;
		for (k = (int)((rnd >> 4) % 5); k > 0; k--)
			la_pop(la);
		start = (rnd >> 16) % la_count(la);
		cport = (uint16_t)(20000 + (rnd >> 20) % 8);
		want_ack = 100 + (rnd >> 24) % 3;
		bound = la_at(la, start)->fr.ts + (uint64_t)((rnd >> 10) % 40) * MS;
		for (i = start; !(g = la_scan_ack(la, &i, bound, want_ack, &c, cport, &sv, 80));)
			if (i < la_count(la) || !la_read(la))
				break;
		/* Everything read by now: the frame-by-frame answer over the same window. */
		while (la_read(la))
			;
		want = scan_expect(la, start, bound, want_ack, cport);
		ck_assert_msg(g ? want >= 0 && g == la_at(la, (uint32_t)want) : want < 0,
			      "query %u (from %u, ack %u, port %u): scan gave frame %lld, want window frame %d", q, start,
			      want_ack, cport, g ? (long long)g->n : -1LL, want);
		found += want >= 0;
		la_free(la);
		frame_close(fs);
	}
	ck_assert_msg(found > 50 && found < 350, "%d of 400 queries matched", found);
}
END_TEST

/*
 * A window that stays thousands of frames deep (every SYN answered 1,500
 * SYNs later) is compacted back to the ring's start as its head walks on
 * (lookahead.c COMPACT_DEEP): through every move, each head SYN's answer
 * must be found where the window holds it (its place is its number's
 * distance from the head).
 */
START_TEST(test_window_compacts_deep)
{
	struct ip_addr c = addr_v4(CLIENT), sv = addr_v4(SERVER);
	enum { SYNS = 16000, LAG = 1500 };
	struct frame_src *fs;
	struct lookahead *la;
	struct cap cp;
	char err[512];
	int k, checked = 0;

	cap_open(&cp, "deep.pcap");
	for (k = 1; k <= SYNS; k++) {
		/* SYN k is frame 2k - 1; the SYN-ACK of SYN k - LAG is frame 2k. */
		cap_tcp(&cp, (uint64_t)k * MS / 8, 0, (uint16_t)(1024 + k), TH_SYN, 1000u * (uint32_t)k, 0, 0);
		if (k > LAG)
			cap_tcp(&cp, (uint64_t)k * MS / 8, 1, (uint16_t)(1024 + k - LAG), TH_SYN | TH_ACK, 7u,
				1000u * (uint32_t)(k - LAG) + 1, 0);
	}
	cap_close(&cp);
	fs = frame_open(cp.path, NULL, err, sizeof(err));
	ck_assert_msg(fs != NULL, "%s: %s", cp.path, err);
	la = la_new(fs, cp.path, 0, 1);
	ck_assert_ptr_nonnull(la);
	for (;;) {
		const struct la_frame *h, *sa;

		while (la_count(la) < 2 * LAG + 100 && la_read(la))
			;
		h = la_head(la);
		if (!h || la_count(la) < 2 * LAG + 2)
			break;
		if ((h->seg.flags & (TH_SYN | TH_ACK)) == TH_SYN) {
			sa = la_find(la, LA_SYNACK, &sv, 80, &c, h->seg.sport);
			ck_assert_msg(sa && sa->n > h->n && sa == la_at(la, (uint32_t)(sa->n - h->n)) &&
					      sa->seg.ack == h->seg.seq + 1 && sa->seg.dport == h->seg.sport,
				      "SYN frame %lld (port %u): answer frame %lld (ack %u), not its SYN-ACK at its place",
				      (long long)h->n, h->seg.sport, sa ? (long long)sa->n : -1LL, sa ? sa->seg.ack : 0);
			ck_assert_msg(la_find(la, LA_SYN, &c, h->seg.sport, &sv, 80) == h,
				      "SYN frame %lld is not its key's first SYN", (long long)h->n);
			checked++;
		}
		la_pop(la);
	}
	ck_assert_msg(checked > 10000, "%d SYNs checked", checked);
	la_free(la);
	frame_close(fs);
}
END_TEST

/*
 * la_find() after the frame it found leaves: the key's next frame (a
 * SYN-ACK sent again), not the one it answered before; a kind the window
 * holds none of (a RST) is found once one is read.
 */
START_TEST(test_window_find_after_pop)
{
	struct ip_addr c = addr_v4(CLIENT), sv = addr_v4(SERVER);
	const struct la_frame *g;
	struct frame_src *fs;
	struct lookahead *la;
	struct cap cp;
	char err[512];
	int k;

	cap_open(&cp, "find.pcap");
	cap_tcp(&cp, 0, 0, 20000, TH_SYN, 100, 0, 0);
	for (k = 1; k <= 3; k++) { /* the SYN-ACK, twice again, each after another client's frame */
		cap_tcp(&cp, (uint64_t)k * 2 * MS, 1, 20000, TH_SYN | TH_ACK, 500, 101, 0);
		cap_tcp(&cp, (uint64_t)k * 2 * MS + MS, 0, 20001, TH_SYN, 900, 0, 0);
	}
	cap_tcp(&cp, 10 * MS, 0, 20000, TH_RST, 101, 0, 0);
	cap_close(&cp);
	fs = frame_open(cp.path, NULL, err, sizeof(err));
	ck_assert_msg(fs != NULL, "%s: %s", cp.path, err);
	la = la_new(fs, cp.path, 0, 1);
	ck_assert_ptr_nonnull(la);
	for (k = 0; k < 7; k++)
		ck_assert_ptr_nonnull(la_read(la));
	ck_assert_ptr_null(la_find(la, LA_RST, &c, 20000, &sv, 80));
	for (k = 1; k <= 3; k++) {
		g = la_find(la, LA_SYNACK, &sv, 80, &c, 20000);
		ck_assert_msg(g && g->n == 2 * k, "SYN-ACK %d: frame %lld", k, g ? (long long)g->n : -1LL);
		ck_assert_ptr_eq(la_find(la, LA_SYNACK, &sv, 80, &c, 20000), g); /* asked again */
		while (la_head(la)->n <= 2 * k)
			la_pop(la);
	}
	ck_assert_ptr_null(la_find(la, LA_SYNACK, &sv, 80, &c, 20000));
	ck_assert_ptr_nonnull(la_read(la));
	g = la_find(la, LA_RST, &c, 20000, &sv, 80);
	ck_assert_msg(g && g->n == 8, "the RST: frame %lld", g ? (long long)g->n : -1LL);
	la_free(la);
	frame_close(fs);
}
END_TEST

/* ---- the delay line ------------------------------------------------------------- */

/* What the test expects held: one entry per segment pushed and not yet taken. */
struct dl_ref {
	vtime_t due;
	int64_t n;
	int conn;
	uint32_t seq;
	uint32_t len;
};

#define DL_CONNS 40
#define DL_MAX 4096

/* Client conn's segment to 10.0.0.1:80 (len payload bytes, each the low byte of seq + i). */
static struct segment dl_seg(int conn, uint32_t seq, uint32_t len, uint8_t *buf)
{
	struct segment seg;
	uint32_t i;

	memset(&seg, 0, sizeof(seg));
	seg.src = addr_v4(0x0a000100u + (uint32_t)conn % 7); /* several connections per host */
	seg.dst = addr_v4(SERVER);
	seg.sport = (uint16_t)(40000 + conn);
	seg.dport = 80;
	seg.seq = seq;
	seg.ack = 1;
	seg.flags = TH_ACK;
	seg.len = len;
	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)(seq + i);
	seg.data = len ? buf : NULL;
	return seg;
}

/* The reference's earliest entry, by (due, n) (or by n alone among those of conn before ack, conn >= 0). */
static int dl_ref_min(const struct dl_ref *ref, int nref, int conn, uint32_t ack)
{
	int i, best = -1;

	for (i = 0; i < nref; i++) {
		if (conn >= 0 && (ref[i].conn != conn || !seq_before(ref[i].seq, ack)))
			continue;
		if (best < 0 || (conn >= 0 ? ref[i].n < ref[best].n
					   : ref[i].due < ref[best].due ||
						     (ref[i].due == ref[best].due && ref[i].n < ref[best].n)))
			best = i;
	}
	return best;
}

/* A segment taken out is the reference's entry i, payload and all; i leaves the reference. */
static void dl_check_taken(const struct held_seg *h, struct dl_ref *ref, int *nref, int i, const char *how)
{
	uint32_t j;

	ck_assert_msg(i >= 0, "%s: frame %lld taken, none expected", how, (long long)h->n);
	ck_assert_msg(h->n == ref[i].n && h->due == ref[i].due, "%s: frame %lld due %llu, want frame %lld due %llu", how,
		      (long long)h->n, (unsigned long long)h->due, (long long)ref[i].n, (unsigned long long)ref[i].due);
	ck_assert_uint_eq(h->seg.seq, ref[i].seq);
	ck_assert_uint_eq(h->seg.sport, 40000 + ref[i].conn);
	ck_assert_uint_eq(h->seg.len, ref[i].len);
	for (j = 0; j < h->seg.len; j++)
		ck_assert_uint_eq(h->seg.data[j], (uint8_t)(ref[i].seq + j));
	free(h->data);
	ref[i] = ref[--*nref];
}

/*
 * Random pushes, releases and ACKs against a list searched by brute
 * force. Delays are few (runs shared by many connections) and whole
 * milliseconds, as are the times, so that segments of different delays
 * fall due at once (equal due times leave by frame number); now and then
 * time steps back, or a released segment is held again for later (both
 * start runs of their own).
 */
START_TEST(test_delay_line_order)
{
	static const vtime_t delays[] = { 3 * MS, 5 * MS, 8 * MS, 5 * MS + 1 };
	struct dl_ref *ref = malloc(DL_MAX * sizeof(*ref));
	uint32_t seq[DL_CONNS] = { 0 }, rnd = 12345;
	struct delay_line d;
	struct held_seg h;
	uint8_t buf[64];
	vtime_t now = 100 * MS;
	int64_t frame = 0;
	int nref = 0, step, i, released = 0, acked = 0;

	ck_assert_ptr_nonnull(ref);
	delay_line_init(&d);
	for (step = 0; step < 200000; step++) {
		uint32_t op;

		rnd = rnd * 1103515245u + 12345u;
		op = (rnd >> 16) % 100;
		if (op < 45 && nref < DL_MAX) {
			int c = (int)((rnd >> 8) % DL_CONNS);
			uint32_t len = (rnd >> 4) % 3 ? 0 : 1 + (rnd >> 20) % 40;
			vtime_t t = now, due = t + delays[c % 4];
			struct segment seg = dl_seg(c, seq[c], len, buf);

			if (op == 0) /* held again: later than its delay says */
				due = t + 20 * MS + (rnd >> 24) * 1000;
			ck_assert_int_eq(delay_line_push(&d, &seg, ++frame, t, due), 0);
			ref[nref++] = (struct dl_ref){ due, frame, c, seq[c], len };
			seq[c] += len ? len : 1;
		} else if (op < 75) {
			now += (rnd >> 12) % 3 * MS; /* often the same millisecond */
			if (op == 45 && now > 50 * MS)
				now -= 30 * MS; /* the capture's clock steps back */
		} else if (op < 95) {
			/* The driver: everything due by now, in order. */
			while (delay_line_due(&d) <= now) {
				i = dl_ref_min(ref, nref, -1, 0);
				ck_assert_int_ge(i, 0);
				ck_assert_uint_eq(delay_line_due(&d), ref[i].due);
				ck_assert_uint_eq(delay_line_peek(&d)->seq, ref[i].seq);
				ck_assert_int_eq(delay_line_pop(&d, &h), 0);
				dl_check_taken(&h, ref, &nref, i, "released");
				released++;
			}
			i = dl_ref_min(ref, nref, -1, 0);
			ck_assert_uint_eq(delay_line_due(&d), i < 0 ? VT_NEVER : ref[i].due);
		} else {
			int c = (int)((rnd >> 8) % DL_CONNS);
			struct segment ack = dl_seg(c, 1, 0, buf), rev = ack;

			rev.src = ack.dst;
			rev.dst = ack.src;
			rev.sport = ack.dport;
			rev.dport = ack.sport;
			rev.ack = seq[c] - (rnd >> 4) % 20;
			while (delay_line_take_acked(&d, &rev, &h) == 0) {
				dl_check_taken(&h, ref, &nref, dl_ref_min(ref, nref, c, rev.ack), "acked");
				acked++;
			}
			ck_assert_int_eq(dl_ref_min(ref, nref, c, rev.ack), -1);
		}
		ck_assert_uint_eq(d.n, (uint32_t)nref);
	}
	ck_assert_msg(released > 10000 && acked > 1000, "%d released, %d acked", released, acked);
	/* Half of what is left in order; the rest freed with the line. */
	for (step = nref / 2; step > 0; step--) {
		ck_assert_int_eq(delay_line_pop(&d, &h), 0);
		dl_check_taken(&h, ref, &nref, dl_ref_min(ref, nref, -1, 0), "at the end");
	}
	delay_line_free(&d);
	ck_assert_int_eq(delay_line_pop(&d, &h), -ENOENT);
	free(ref);
}
END_TEST

Suite *replay_rules_suite(void)
{
	Suite *s = suite_create("replay_rules");
	TCase *tc = tcase_create("rules");

	tcase_set_timeout(tc, 300);
	tcase_add_unchecked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_test(tc, test_late_synack_rebased);
	tcase_add_test(tc, test_interleaved_all_established);
	tcase_add_test(tc, test_listener_drop);
	tcase_add_test(tc, test_listener_drop_twice);
	tcase_add_test(tc, test_client_side_delayed);
	tcase_add_test(tc, test_offload);
	tcase_add_test(tc, test_close_then_kernel_rst);
	tcase_add_test(tc, test_bare_rst_releases_held);
	tcase_add_test(tc, test_closed_port_reset_seq);
	tcase_add_test(tc, test_time_goes_back);
	tcase_add_test(tc, test_one_direction);
	tcase_add_test(tc, test_hundred_servers);
	tcase_add_test(tc, test_host_limit_warns);
	tcase_add_test(tc, test_synack_without_syn);
	tcase_add_test(tc, test_fan_in_server);
	tcase_add_test(tc, test_delay_table);
	tcase_add_test(tc, test_window_scan_ack);
	tcase_add_test(tc, test_window_compacts_deep);
	tcase_add_test(tc, test_window_find_after_pop);
	tcase_add_test(tc, test_delay_line_order);
	suite_add_tcase(s, tc);
	return s;
}
