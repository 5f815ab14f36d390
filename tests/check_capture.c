/*
 * check_capture.c - end-to-end tests of how `tcpdemux replay` reads
 * captures as a network engineer has them (issue 15, items 1, 2 and 4):
 *
 *   filter     `replay FILE EXPRESSION` and `-r FILE EXPRESSION`, compiled
 *              by libpcap for the file's link type: only matching frames
 *              are replayed, the others counted; a bad expression is
 *              refused with libpcap's reason;
 *   snaplen    captures cut at 68 bytes (tcpdump's old default) replay
 *              every handshake they hold, the cut segments marked; a cut
 *              before the TCP flags is skipped, a cut UDP datagram is
 *              still not TCP;
 *   formats    gzip (file and standard input; corrupt and cut-short
 *              compressed data), PPP, PPPoE, MPLS, Cisco HDLC, 802.11
 *              (bare, radiotap, PPI) replay like the Ethernet original;
 *              a pcapng mixing link types is read one link type at a time;
 *              a plain pcap file, read without libpcap's per-record calls,
 *              reads as libpcap reads it, damaged records included;
 *   reader     the frames read and decoded on a second thread (reader.c)
 *              are the ones the replay's thread reads, field by field, and
 *              `replay --threads 2` prints what `--threads 1` prints.
 *
 * The captures are built here from traces/ (the real kernel's) and from
 * ../shared/realworld/ (published captures: REALWORLD overrides the
 * path, and a missing folder fails the suite), with replaytest.h's
 * writers. Expected counts of the realworld and corpus files were
 * measured with tshark (FACTS.md and the comments below).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>
#include <pcap/pcap.h>

#include "capfile.h"
#include "frame.h"
#include "lookahead.h"
#include "pcap_records.h"
#include "replaytest.h"
#include "suites.h"

#ifndef DLT_PPP_ETHER
#define DLT_PPP_ETHER 51
#endif
#ifndef DLT_C_HDLC
#define DLT_C_HDLC 104
#endif
#ifndef DLT_IEEE802_11
#define DLT_IEEE802_11 105
#endif
#ifndef DLT_IEEE802_11_RADIO
#define DLT_IEEE802_11_RADIO 127
#endif
#ifndef DLT_PPI
#define DLT_PPI 192
#endif
#ifndef DLT_PPP_WITH_DIR
#define DLT_PPP_WITH_DIR 204
#endif

static const char *realworld(const char *name, char *buf, size_t len)
{
	const char *dir = prog_env("REALWORLD", "../shared/realworld");
	struct stat sb;

	ck_assert_msg(stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode),
		      "the realworld captures are missing: %s (set REALWORLD)", dir);
	fmt(buf, len, "%s/%s", dir, name);
	return buf;
}

/* An empty list of frames of link type dlt. */
static struct pkts *pkts_new(int dlt)
{
	struct pkts *l = calloc(1, sizeof(*l));

	ck_assert_msg(l != NULL, "out of memory");
	l->dlt = dlt;
	return l;
}

/* Appends a copy of k to l: its data (caplen bytes) behind a link header h of hl bytes. */
static void pkts_add(struct pkts *l, const struct pkt *k, const uint8_t *h, size_t hl, size_t skip)
{
	struct pkt *o;

	ck_assert_msg(l->n < CAP_MAX, "more than %d frames", CAP_MAX);
	ck_assert_msg(k->caplen >= skip, "a frame shorter than the header it loses");
	o = &l->p[l->n++];
	*o = *k;
	o->caplen = (uint32_t)(hl + k->caplen - skip);
	o->len = (uint32_t)(hl + k->len - skip);
	o->data = malloc(o->caplen ? o->caplen : 1);
	ck_assert_msg(o->data != NULL, "out of memory");
	if (hl)
		memcpy(o->data, h, hl);
	memcpy(o->data + hl, k->data + skip, k->caplen - skip);
}

static long long skipped_of(const struct run *r, const char *reason)
{
	struct jobj rs, sk;

	run_replay_stats(r, &rs);
	j_sub(&rs, "skipped", &sk, r->args);
	return j_get(&sk, reason) ? j_int(&sk, reason, r->args) : 0;
}

/* ---- 1. filters ------------------------------------------------------------------------ */

/*
 * handshake-data-close (a connection to port 80) with closed-port's SYN
 * to port 81 and its RST put in after frame 3: a capture of two services.
 */
static struct pkts *two_services(void)
{
	char p1[PATH_MAX], p2[PATH_MAX];
	struct pkts *a = pkts_read(trace_path("handshake-data-close", p1, sizeof(p1)));
	struct pkts *b = pkts_read(trace_path("closed-port", p2, sizeof(p2)));
	struct pkts *l = pkts_new(DLT_EN10MB);
	int i;

	ck_assert_msg(a->n > 4 && b->n == 2, "the traces changed: %d and %d frames", a->n, b->n);
	for (i = 0; i < a->n; i++) {
		pkts_add(l, &a->p[i], NULL, 0, 0);
		if (i == 2) {
			int k;

			for (k = 0; k < 2; k++) {
				pkts_add(l, &b->p[k], NULL, 0, 0);
				/* Between frames 3 and 4 of the first connection. */
				l->p[l->n - 1].sec = a->p[2].sec;
				l->p[l->n - 1].usec = a->p[2].usec + 1 + k;
			}
		}
	}
	pkts_free(a);
	pkts_free(b);
	return l;
}

START_TEST(test_filter_expression)
{
	char file[PATH_MAX], qb[2 * PATH_MAX], b[256];
	struct pkts *l = two_services();
	struct run all, r, r2, rr;
	int i, n80 = 0, n81 = 0;

	pcap_write(tmp_file("two-services.pcap", file, sizeof(file)), DLT_EN10MB, 0, l);
	run_json(&all, "replay %s --format json --hash-seed 1", q(file, qb, sizeof(qb)));
	run_ok(&all);
	for (i = 0; i < all.l.n; i++)
		if (is_seg(&all.l.obj[i], "in"))
			j_int(&all.l.obj[i], "dport", all.args) == 80 ? n80++ : n81++;
	ck_assert_msg(n80 == 5 && n81 == 1, "tcpdemux %s: %d segments to port 80, %d to 81; want 5 and 1", all.args,
		      n80, n81);

	/* Only port 80: the two frames of port 81 are counted, not replayed; numbers stay the file's. */
	run_json(&r, "replay %s 'tcp port 80' --format json --hash-seed 1", q(file, qb, sizeof(qb)));
	run_ok(&r);
	for (i = n80 = 0; i < r.l.n; i++) {
		const struct jobj *o = &r.l.obj[i];

		if (!is_seg(o, "in") && !is_seg(o, "out"))
			continue;
		ck_assert_msg(j_int(o, is_seg(o, "in") ? "dport" : "sport", r.args) == 80,
			      "tcpdemux %s, line %d: not port 80: %s", r.args, i + 1, r.l.line[i]);
		if (is_seg(o, "in")) {
			long long n = j_int(o, "n", r.args);

			n80++;
			ck_assert_msg(n < 4 || n > 5, "tcpdemux %s, line %d: frame %lld is one of port 81's", r.args,
				      i + 1, n);
		}
	}
	ck_assert_msg(n80 == 5, "tcpdemux %s: %d segments in, want 5", r.args, n80);
	ck_assert_msg(run_replay_num(&r, "frames") == l->n && run_replay_num(&r, "filtered") == 2,
		      "tcpdemux %s: %lld frames, %lld filtered; want %d and 2", r.args, run_replay_num(&r, "frames"),
		      run_replay_num(&r, "filtered"), l->n);
	ck_assert_msg(run_counter(&r, "OutRsts") == 0, "tcpdemux %s: a RST was sent (port 81 replayed?)", r.args);
	{
		struct jobj rs;

		run_replay_stats(&r, &rs);
		ck_assert_msg(j_is(&rs, "filter", "tcp port 80"), "tcpdemux %s: replay.filter is %s", r.args,
			      j_raw(&rs, "filter", b, sizeof(b)));
	}

	/* The words may come separately, as to tcpdump, and after -r. */
	run_json(&r2, "replay %s tcp port 80 --format json --hash-seed 1", q(file, qb, sizeof(qb)));
	run_ok(&r2);
	same_run(&r2, &r, NULL);
	run_json(&rr, "replay --format json --hash-seed 1 -r %s tcp port 80", q(file, qb, sizeof(qb)));
	run_ok(&rr);
	same_run(&rr, &r, NULL);
	run_free(&rr);
	run_free(&r2);
	run_free(&r);

	/* The other way round: only port 81, answered with a RST by the stack. */
	run_json(&r, "replay %s 'not port 80' --format json --hash-seed 1", q(file, qb, sizeof(qb)));
	run_ok(&r);
	ck_assert_msg(run_replay_num(&r, "inbound") == 1 && run_replay_num(&r, "filtered") == l->n - 2 &&
			      run_counter(&r, "OutRsts") == 1,
		      "tcpdemux %s: %lld in, %lld filtered, %lld RSTs; want 1, %d, 1", r.args, run_replay_num(&r, "inbound"),
		      run_replay_num(&r, "filtered"), run_counter(&r, "OutRsts"), l->n - 2);
	run_free(&r);
	run_free(&all);
	pkts_free(l);
}
END_TEST

/*
 * A bad expression: exit 2, one line with libpcap's reason, nothing on
 * stdout. An expression is compiled for the file's link type: an
 * Ethernet address is fine on Ethernet and refused on raw IP.
 */
START_TEST(test_filter_refused)
{
	char path[PATH_MAX], file[PATH_MAX], qb[2 * PATH_MAX];
	struct pkts *eth, *raw;
	struct run r;

	trace_path("handshake-data-close", path, sizeof(path));
	run_plain(&r, "replay %s 'tcp prt 80'", q(path, qb, sizeof(qb)));
	run_refused(&r, "filter 'tcp prt 80'", "syntax error");
	ck_assert_msg(r.out[0] == '\0', "tcpdemux %s wrote to stdout: %s", r.args, r.out);
	run_free(&r);
	run_plain(&r, "replay -r %s -r %s", q(path, qb, sizeof(qb)), path);
	run_refused(&r, "-r", NULL);
	run_free(&r);

	run_json(&r, "replay %s 'ether host 02:00:00:00:00:01' --format json", q(path, qb, sizeof(qb)));
	run_ok(&r);
	ck_assert_msg(run_replay_num(&r, "filtered") == 0 && run_replay_num(&r, "inbound") == 5,
		      "tcpdemux %s: %lld filtered, %lld in; the server's MAC is on every frame", r.args,
		      run_replay_num(&r, "filtered"), run_replay_num(&r, "inbound"));
	run_free(&r);
	eth = pkts_read(path);
	raw = rewrap(eth, W_NONE, DLT_RAW, 0);
	pcap_write(tmp_file("raw.pcap", file, sizeof(file)), DLT_RAW, 0, raw);
	run_plain(&r, "replay %s 'ether host 02:00:00:00:00:01'", q(file, qb, sizeof(qb)));
	run_refused(&r, "filter 'ether host 02:00:00:00:00:01'", NULL);
	run_free(&r);
	pkts_free(raw);
	pkts_free(eth);
}
END_TEST

/*
 * cs_mail_receiver_server_3 (FACTS.md): a mail server's capture with two
 * handshakes, to 172.16.16.231:25 and :143. A filter on port 25 leaves
 * one listener and one handshake.
 */
START_TEST(test_filter_realworld)
{
	char path[PATH_MAX], qb[2 * PATH_MAX];
	struct run r;

	realworld("cs_mail_receiver_server_3.pcapng", path, sizeof(path));
	run_json(&r, "replay %s --format json --hash-seed 1", q(path, qb, sizeof(qb)));
	run_ok(&r);
	ck_assert_msg(count_inferred(&r, "listener", NULL) == 2 && run_counter(&r, "PassiveOpens") == 2,
		      "tcpdemux %s: %d listeners, %lld passive opens; FACTS.md says 2 and 2", r.args,
		      count_inferred(&r, "listener", NULL), run_counter(&r, "PassiveOpens"));
	run_free(&r);
	run_json(&r, "replay %s tcp port 25 --format json --hash-seed 1", q(path, qb, sizeof(qb)));
	run_ok(&r);
	ck_assert_msg(count_inferred(&r, "listener", "172.16.16.231:25") == 1 &&
			      count_inferred(&r, "listener", NULL) == 1 && run_counter(&r, "PassiveOpens") == 1,
		      "tcpdemux %s: want one listener, 172.16.16.231:25, and one passive open", r.args);
	ck_assert_msg(run_replay_num(&r, "filtered") > 0 && run_replay_num(&r, "frames") == 54,
		      "tcpdemux %s: %lld of %lld frames filtered", r.args, run_replay_num(&r, "filtered"),
		      run_replay_num(&r, "frames"));
	run_free(&r);
}
END_TEST

/* ---- 2. snap length ------------------------------------------------------------------ */

/* l with every frame cut to snap bytes, as tcpdump -s snap writes it. */
static void cut_all(struct pkts *l, uint32_t snap)
{
	int i;

	for (i = 0; i < l->n; i++)
		if (l->p[i].caplen > snap)
			l->p[i].caplen = snap;
}

/*
 * The same capture whole and cut at 68 bytes: the same handshakes
 * (passive opens), nothing skipped. With linux_syns the SYNs, whose 20
 * bytes of options (Linux's) do not fit, are marked as cut; a Windows
 * SYN's 12 fit.
 */
static void check_cut_68(const char *path, int want_opens, int linux_syns)
{
	char file[PATH_MAX], name[64], qb[2 * PATH_MAX], b[256];
	struct pkts *l = pkts_read(path);
	struct run whole, r;
	int i, syns = 0;
	const char *base = strrchr(path, '/');

	fmt(name, sizeof(name), "snap68-%s.pcap", base ? base + 1 : path);
	cut_all(l, 68);
	pcap_write(tmp_file(name, file, sizeof(file)), l->dlt, 0, l);
	run_json(&whole, "replay %s --format json --hash-seed 1", q(path, qb, sizeof(qb)));
	run_ok(&whole);
	run_json(&r, "replay %s --format json --hash-seed 1", q(file, qb, sizeof(qb)));
	run_ok(&r);
	ck_assert_msg(run_counter(&whole, "PassiveOpens") == want_opens,
		      "tcpdemux %s: %lld passive opens, want %d", whole.args, run_counter(&whole, "PassiveOpens"),
		      want_opens);
	ck_assert_msg(run_counter(&r, "PassiveOpens") == want_opens,
		      "tcpdemux %s: %lld passive opens at snap length 68, %d whole", r.args,
		      run_counter(&r, "PassiveOpens"), want_opens);
	ck_assert_msg(skipped_of(&r, "snaplen") == 0 && run_replay_num(&r, "picked_up") == run_replay_num(&whole, "picked_up"),
		      "tcpdemux %s: %lld skipped for the snap length, %lld picked up (whole: %lld)", r.args,
		      skipped_of(&r, "snaplen"), run_replay_num(&r, "picked_up"), run_replay_num(&whole, "picked_up"));
	for (i = 0; i < r.l.n; i++) {
		const struct jobj *o = &r.l.obj[i];

		if (!is_seg(o, "in") || !j_is(o, "flags", "S"))
			continue;
		syns++;
		ck_assert_msg(!linux_syns || (j_get(o, "cut") && strstr(j_raw(o, "cut", b, sizeof(b)), "options")),
			      "tcpdemux %s, line %d: a SYN cut at 68 bytes not marked: %s", r.args, i + 1, r.l.line[i]);
	}
	ck_assert_msg(syns >= want_opens, "tcpdemux %s: %d SYN lines for %d handshakes", r.args, syns, want_opens);
	ck_assert_msg(!linux_syns || run_replay_num(&r, "header_cut") >= syns, "tcpdemux %s: header_cut %lld, %d SYNs",
		      r.args, run_replay_num(&r, "header_cut"), syns);
	run_free(&r);
	run_free(&whole);
	pkts_free(l);
}

START_TEST(test_snaplen_68)
{
	char path[PATH_MAX], qb[2 * PATH_MAX], file[PATH_MAX];
	struct pkts *l;
	struct run r;
	int i, found = 0;

	check_cut_68(trace_path("two-clients", path, sizeof(path)), 3, 1);
	/* IPv6 at 68 bytes: 14 bytes of TCP, the flags and nothing more. */
	check_cut_68(trace_path("ipv6", path, sizeof(path)), 1, 1);

	/* The SYN's MSS (the first option) survives the cut, as tcpdump shows it. */
	l = pkts_read(trace_path("handshake-data-close", path, sizeof(path)));
	cut_all(l, 68);
	pcap_write(tmp_file("hdc68.pcap", file, sizeof(file)), DLT_EN10MB, 0, l);
	run_plain(&r, "replay %s --no-color --hash-seed 1", q(file, qb, sizeof(qb)));
	run_ok(&r);
	for (i = 0; i < r.l.n; i++)
		if (strstr(r.l.line[i], " in ") && strstr(r.l.line[i], " S ") &&
		    strstr(r.l.line[i], "<mss 1460,sackOK>") && strstr(r.l.line[i], "[snaplen cut: options]"))
			found++;
	ck_assert_msg(found == 1, "tcpdemux %s: the SYN line does not show mss 1460, sackOK and the cut:\n%s",
		      r.args, r.out);
	run_free(&r);
	pkts_free(l);
}
END_TEST

/*
 * Server-side captures from the world (FACTS.md: handshakes done), cut at
 * 68 bytes: every handshake is still replayed.
 */
START_TEST(test_snaplen_realworld)
{
	static const struct {
		const char *file;
		int handshakes;
	} cases[] = {
		{ "cs_mail_receiver_server_3.pcapng", 2 },
		{ "lw_200722_tcp_anon.pcapng", 2 },
		{ "cs_http_ip4and6.pcapng", 2 },
		{ "cs_sessionhijacking.pcapng", 13 },
	};
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_cut_68(realworld(cases[i].file, path, sizeof(path)), cases[i].handshakes, 0);
}
END_TEST

/* One Ethernet frame holding a UDP datagram of 100 bytes, cut at 60. */
static struct pkts *udp_cut(void)
{
	static const uint8_t frame[14 + 20 + 8] = {
		/* Ethernet: to the server's MAC, IPv4 */
		0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02, 0x08, 0x00,
		/* IPv4: 20 bytes, total 128, DF, TTL 64, UDP, 10.0.0.2 > 10.0.0.1 */
		0x45, 0, 0, 128, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 2, 10, 0, 0, 1,
		/* UDP: 5353 > 53, length 108 */
		0x14, 0xe9, 0, 53, 0, 108, 0, 0,
	};
	struct pkts *l = pkts_new(DLT_EN10MB);
	struct pkt k;

	memset(&k, 0, sizeof(k));
	k.sec = 1;
	k.caplen = sizeof(frame);
	k.len = 14 + 128;
	k.data = (uint8_t *)frame;
	pkts_add(l, &k, NULL, 0, 0);
	return l;
}

/*
 * A cut before the TCP flags cannot be replayed (snaplen); a UDP
 * datagram cut short is counted as not_tcp, as whole.
 */
START_TEST(test_snaplen_skips)
{
	char path[PATH_MAX], file[PATH_MAX], qb[2 * PATH_MAX];
	struct pkts *l;
	struct run r;

	l = pkts_read(trace_path("handshake-data-close", path, sizeof(path)));
	/* 14 + 20 + 12: ports and numbers, not the flags. */
	cut_all(l, 46);
	pcap_write(tmp_file("snap46.pcap", file, sizeof(file)), DLT_EN10MB, 0, l);
	run_json(&r, "replay %s --format json --local 10.0.0.1", q(file, qb, sizeof(qb)));
	ck_assert_msg(skipped_of(&r, "snaplen") == l->n, "tcpdemux %s: %lld of %d frames skipped as snaplen", r.args,
		      skipped_of(&r, "snaplen"), l->n);
	run_free(&r);
	pkts_free(l);

	l = udp_cut();
	pcap_write(tmp_file("udp.pcap", file, sizeof(file)), DLT_EN10MB, 0, l);
	run_json(&r, "replay %s --format json --local 10.0.0.1", q(file, qb, sizeof(qb)));
	ck_assert_msg(skipped_of(&r, "not_tcp") == 1 && skipped_of(&r, "snaplen") == 0,
		      "tcpdemux %s: a cut UDP datagram: %lld not_tcp, %lld snaplen; want 1 and 0", r.args,
		      skipped_of(&r, "not_tcp"), skipped_of(&r, "snaplen"));
	run_free(&r);
	pkts_free(l);
}
END_TEST

/* ---- 4. formats -------------------------------------------------------------------------- */

/* Writes src gzip-compressed to dst. */
static void gzip_file(const char *src, const char *dst)
{
	FILE *in = fopen(src, "rb");
	gzFile out = gzopen(dst, "wb");
	char buf[8192];
	size_t n;

	ck_assert_msg(in && out, "cannot gzip %s to %s", src, dst);
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		ck_assert_msg(gzwrite(out, buf, (unsigned)n) == (int)n, "gzwrite %s failed", dst);
	fclose(in);
	ck_assert_msg(gzclose(out) == Z_OK, "gzclose %s failed", dst);
}

static long file_size(const char *path)
{
	struct stat sb;

	ck_assert_msg(stat(path, &sb) == 0, "stat %s: %s", path, strerror(errno));
	return (long)sb.st_size;
}

START_TEST(test_gzip)
{
	static const char *const ignore[] = { "replay.file", "replay.compression", NULL };
	char path[PATH_MAX], gz[PATH_MAX], bad[PATH_MAX], cut[PATH_MAX], qb[2 * PATH_MAX], b[256];
	struct run base, r;
	struct jobj rs;
	FILE *f;
	uint8_t *data;
	long n;

	trace_path("two-clients", path, sizeof(path));
	gzip_file(path, tmp_file("two-clients.pcap.gz", gz, sizeof(gz)));
	run_json(&base, "replay %s --format json --hash-seed 1", q(path, qb, sizeof(qb)));
	run_ok(&base);
	run_json(&r, "replay %s --format json --hash-seed 1", q(gz, qb, sizeof(qb)));
	run_ok(&r);
	same_run(&r, &base, ignore);
	run_replay_stats(&r, &rs);
	ck_assert_msg(j_is(&rs, "compression", "gzip"), "tcpdemux %s: replay.compression %s", r.args,
		      j_raw(&rs, "compression", b, sizeof(b)));
	run_free(&r);

	/* On standard input too, compressed or not. */
	run_json(&r, "replay - --format json --hash-seed 1 < %s", q(gz, qb, sizeof(qb)));
	run_ok(&r);
	same_run(&r, &base, ignore);
	run_free(&r);

	/* Corrupt compressed data: exit 2, one line saying so, after the frames before it. */
	n = file_size(gz);
	data = malloc((size_t)n);
	f = fopen(gz, "rb");
	ck_assert_msg(data && f && fread(data, 1, (size_t)n, f) == (size_t)n, "reading %s", gz);
	fclose(f);
	memset(data + n / 2, 0xa5, 24);
	write_bytes(tmp_file("bad.pcap.gz", bad, sizeof(bad)), data, (size_t)n);
	run_plain(&r, "replay %s --quiet", q(bad, qb, sizeof(qb)));
	run_refused(&r, bad, "gzip");
	run_free(&r);

	/* Cut short: the frames it holds are replayed, then one line. */
	f = fopen(gz, "rb");
	ck_assert_msg(f && fread(data, 1, (size_t)n, f) == (size_t)n, "reading %s", gz);
	fclose(f);
	write_bytes(tmp_file("cut.pcap.gz", cut, sizeof(cut)), data, (size_t)(n * 2 / 3));
	run_json(&r, "replay %s --format json", q(cut, qb, sizeof(qb)));
	run_refused(&r, cut, "cut short");
	run_replay_stats(&r, &rs);
	ck_assert_msg(j_int(&rs, "frames", r.args) > 0, "tcpdemux %s: nothing replayed before the cut", r.args);
	run_free(&r);
	free(data);
	run_free(&base);
}
END_TEST

enum more_wrap { M_PPPOE, M_MPLS, M_MPLS2, M_PPP_ETHER, M_CHDLC, M_PPP_DIR, M_WLAN, M_RADIOTAP, M_PPI };

/* eth's frames with their IP packets wrapped in one of the link layers replaytest.h lacks. */
static struct pkts *wrap_more(const struct pkts *eth, enum more_wrap w, int *dlt)
{
	struct pkts *l;
	int i;

	*dlt = w == M_PPP_ETHER ? DLT_PPP_ETHER : w == M_CHDLC ? DLT_C_HDLC : w == M_PPP_DIR ? DLT_PPP_WITH_DIR
	       : w == M_WLAN ? DLT_IEEE802_11 : w == M_RADIOTAP ? DLT_IEEE802_11_RADIO : w == M_PPI ? DLT_PPI
	       : DLT_EN10MB;
	l = pkts_new(*dlt);
	for (i = 0; i < eth->n; i++) {
		const struct pkt *k = &eth->p[i];
		uint16_t type = (uint16_t)(k->data[12] << 8 | k->data[13]);
		int v6 = type == 0x86dd, out = memcmp(k->data + 6, server_mac, 6) == 0;
		uint8_t h[96];
		size_t hl = 0, iplen = k->len - 14;

		switch (w) {
		case M_PPPOE: /* Ethernet 0x8864, PPPoE session 0x11 0x00, session 0x1234, length; PPP protocol */
		case M_PPP_ETHER:
			if (w == M_PPPOE) {
				memcpy(h, k->data, 12);
				put_be16(h + 12, 0x8864);
				hl = 14;
			}
			h[hl] = 0x11;
			h[hl + 1] = 0;
			put_be16(h + hl + 2, 0x1234);
			put_be16(h + hl + 4, (uint16_t)(iplen + 2));
			put_be16(h + hl + 6, v6 ? 0x0057 : 0x0021);
			hl += 8;
			break;
		case M_MPLS: /* one label (16), bottom of stack, TTL 64 */
		case M_MPLS2: /* two labels: 100 then 16 */
			memcpy(h, k->data, 12);
			put_be16(h + 12, 0x8847);
			hl = 14;
			if (w == M_MPLS2) {
				put_be32(h + hl, 100u << 12 | 64);
				hl += 4;
			}
			put_be32(h + hl, 16u << 12 | 1u << 8 | 64);
			hl += 4;
			break;
		case M_CHDLC: /* unicast, control 0, EtherType */
			h[0] = 0x0f;
			h[1] = 0;
			put_be16(h + 2, type);
			hl = 4;
			break;
		case M_PPP_DIR: /* direction (1 out), then PPP with HDLC framing */
			h[0] = out ? 1 : 0;
			h[1] = 0xff;
			h[2] = 0x03;
			put_be16(h + 3, v6 ? 0x0057 : 0x0021);
			hl = 5;
			break;
		case M_RADIOTAP: /* version 0, length 12, present: Flags (bit 1) and Rate (bit 2) */
		case M_PPI:
		case M_WLAN:
			if (w == M_RADIOTAP) {
				memset(h, 0, 12);
				put_le16(h + 2, 12);
				put_le32(h + 4, 0x6);
				h[8] = 0x00; /* flags: no FCS, not bad */
				h[9] = 12;   /* 6 Mb/s */
				hl = 12;
			} else if (w == M_PPI) {
				memset(h, 0, 8);
				put_le16(h + 2, 8);
				put_le32(h + 4, DLT_IEEE802_11);
				hl = 8;
			}
			/* QoS data, FromDS (from the AP) for the server's frames, ToDS otherwise */
			h[hl] = 0x88;
			h[hl + 1] = out ? 0x02 : 0x01;
			put_be16(h + hl + 2, 44);
			memcpy(h + hl + 4, k->data, 6);     /* receiver */
			memcpy(h + hl + 10, k->data + 6, 6); /* transmitter */
			memcpy(h + hl + 16, k->data, 6);     /* DA/SA */
			put_le16(h + hl + 22, (uint16_t)(i << 4));
			put_le16(h + hl + 24, 0);           /* QoS control */
			hl += 26;
			/* LLC/SNAP, RFC 1042 */
			h[hl] = 0xaa;
			h[hl + 1] = 0xaa;
			h[hl + 2] = 0x03;
			h[hl + 3] = h[hl + 4] = h[hl + 5] = 0;
			put_be16(h + hl + 6, type);
			hl += 8;
			break;
		}
		pkts_add(l, k, h, hl, 14);
	}
	return l;
}

/*
 * The kernel's traces wrapped in each new link layer replay exactly as
 * the Ethernet originals: every line but the summary byte for byte.
 */
START_TEST(test_more_linktypes)
{
	static const struct {
		const char *name, *trace, *linktype;
		enum more_wrap w;
	} cases[] = {
		{ "pppoe", "handshake-data-close", "EN10MB", M_PPPOE },
		{ "mpls", "handshake-data-close", "EN10MB", M_MPLS },
		{ "mpls2", "ipv6", "EN10MB", M_MPLS2 },
		{ "ppp-ether", "handshake-data-close", "PPP_ETHER", M_PPP_ETHER },
		{ "chdlc", "ipv6", "C_HDLC", M_CHDLC },
		{ "ppp-dir", "handshake-data-close", "PPP_WITH_DIR", M_PPP_DIR },
		{ "wlan", "handshake-data-close", "IEEE802_11", M_WLAN },
		{ "radiotap", "ipv6", "IEEE802_11_RADIO", M_RADIOTAP },
		{ "ppi", "handshake-data-close", "PPI", M_PPI },
	};
	static const char *const ignore[] = { "replay.file", "replay.linktype", NULL };
	char path[PATH_MAX], file[PATH_MAX], name[64], qb[2 * PATH_MAX], b[256];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pkts *eth = pkts_read(trace_path(cases[i].trace, path, sizeof(path))), *w;
		struct run base, r;
		struct jobj rs;
		int dlt;

		w = wrap_more(eth, cases[i].w, &dlt);
		fmt(name, sizeof(name), "more-%s.pcap", cases[i].name);
		pcap_write(tmp_file(name, file, sizeof(file)), dlt, 0, w);
		run_json(&base, "replay %s --format json --hash-seed 1", q(path, qb, sizeof(qb)));
		run_ok(&base);
		run_json(&r, "replay %s --format json --hash-seed 1", q(file, qb, sizeof(qb)));
		run_ok(&r);
		same_run(&r, &base, ignore);
		run_replay_stats(&r, &rs);
		ck_assert_msg(j_is(&rs, "linktype", cases[i].linktype), "%s: tcpdemux %s: replay.linktype %s, want %s",
			      cases[i].name, r.args, j_raw(&rs, "linktype", b, sizeof(b)), cases[i].linktype);
		run_free(&r);
		run_free(&base);
		pkts_free(w);
		pkts_free(eth);
	}
}
END_TEST

/*
 * 802.11 frames that carry no IP a replay can use: management frames
 * (not_ip), protected data (wlan_protected), a radiotap FCS failure
 * (wlan_bad_fcs).
 */
START_TEST(test_wlan_skips)
{
	char path[PATH_MAX], file[PATH_MAX], qb[2 * PATH_MAX];
	struct pkts *eth, *w;
	struct run r;
	int dlt;

	eth = pkts_read(trace_path("handshake-data-close", path, sizeof(path)));
	w = wrap_more(eth, M_RADIOTAP, &dlt);
	/* Frame 1 a beacon, frame 2 protected, frame 3 with a bad FCS; the rest as they are. */
	w->p[0].data[12] = 0x80;
	w->p[1].data[13] |= 0x40;
	w->p[2].data[8] = 0x40;
	pcap_write(tmp_file("wlan-skips.pcap", file, sizeof(file)), dlt, 0, w);
	run_json(&r, "replay %s --format json --local 10.0.0.1", q(file, qb, sizeof(qb)));
	ck_assert_msg(skipped_of(&r, "not_ip") == 1 && skipped_of(&r, "wlan_protected") == 1 &&
			      skipped_of(&r, "wlan_bad_fcs") == 1 && run_replay_num(&r, "inbound") + run_replay_num(&r, "outbound") ==
									       w->n - 3,
		      "tcpdemux %s: %lld not_ip, %lld wlan_protected, %lld wlan_bad_fcs; want 1 each", r.args,
		      skipped_of(&r, "not_ip"), skipped_of(&r, "wlan_protected"), skipped_of(&r, "wlan_bad_fcs"));
	run_free(&r);
	pkts_free(w);
	pkts_free(eth);
}
END_TEST

/*
 * tcpdump's own test captures with TCP inside PPP and MPLS over PPP:
 * lspping-fec-ldp.pcap has 3 TCP segments (BGP, over MPLS over PPP),
 * bgp_vpn_attrset.pcap 1 (tshark -Y tcp counts the same).
 */
START_TEST(test_corpus_ppp)
{
	static const struct {
		const char *file;
		int tcp;
	} cases[] = {
		{ "tcpdump-tests/lspping-fec-ldp.pcap", 3 },
		{ "tcpdump-tests/bgp_vpn_attrset.pcap", 1 },
	};
	char path[PATH_MAX], qb[2 * PATH_MAX];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct run r;

		fmt(path, sizeof(path), "%s/%s", prog_env("CORPUS", "../shared/corpus"), cases[i].file);
		ck_assert_msg(access(path, R_OK) == 0, "the corpus is missing %s (set CORPUS)", path);
		run_json(&r, "replay %s --format json --quiet", q(path, qb, sizeof(qb)));
		ck_assert_msg(run_replay_num(&r, "inbound") + run_replay_num(&r, "outbound") + run_replay_num(&r, "ignored") == cases[i].tcp,
			      "tcpdemux %s: %lld TCP segments decoded, tshark finds %d", r.args,
			      run_replay_num(&r, "inbound") + run_replay_num(&r, "outbound") + run_replay_num(&r, "ignored"), cases[i].tcp);
		run_free(&r);
	}
}
END_TEST

/* pcapng block writers for the mixed-link-type files (little-endian). */
static void png_block(FILE *f, uint32_t type, const uint8_t *body, size_t len, const char *path)
{
	static const uint8_t zeros[4];
	uint8_t h[8];
	size_t pad = (4 - len % 4) % 4;

	put_le32(h, type);
	put_le32(h + 4, (uint32_t)(12 + len + pad));
	fwrite_all(f, h, 8, path);
	fwrite_all(f, body, len, path);
	fwrite_all(f, zeros, pad, path);
	fwrite_all(f, h + 4, 4, path);
}

static void png_idb(FILE *f, int dlt, const char *name, const char *path)
{
	uint8_t b[64];
	size_t nl = strlen(name), o;

	memset(b, 0, sizeof(b));
	put_le16(b, (uint16_t)dlt);
	put_le32(b + 4, 65535);
	put_le16(b + 8, 2); /* if_name */
	put_le16(b + 10, (uint16_t)nl);
	memcpy(b + 12, name, nl);
	o = 12 + ((nl + 3) & ~(size_t)3);
	o += 4; /* opt_endofopt */
	png_block(f, 1, b, o, path);
}

static void png_epb(FILE *f, uint32_t iface, const struct pkt *k, const char *path)
{
	uint8_t *b = calloc(1, 20 + k->caplen);
	uint64_t ts = (uint64_t)k->sec * 1000000u + (uint64_t)k->usec;

	ck_assert_msg(b != NULL, "out of memory");
	put_le32(b, iface);
	put_le32(b + 4, (uint32_t)(ts >> 32));
	put_le32(b + 8, (uint32_t)ts);
	put_le32(b + 12, k->caplen);
	put_le32(b + 16, k->len);
	memcpy(b + 20, k->data, k->caplen);
	png_block(f, 6, b, 20 + k->caplen, path);
	free(b);
}

/*
 * A pcapng of the frames of eth alternating between an Ethernet interface
 * and a Linux cooked v2 one, both described first (late: the second only
 * after the first packet).
 */
static void write_mixed(const char *path, const struct pkts *eth, const struct pkts *sll2, int late)
{
	FILE *f = fopen(path, "wb");
	uint8_t shb[16];
	int i;

	ck_assert_msg(f != NULL, "cannot create %s", path);
	put_le32(shb, 0x1a2b3c4d);
	put_le16(shb + 4, 1);
	put_le16(shb + 6, 0);
	memset(shb + 8, 0xff, 8);
	png_block(f, 0x0a0d0d0a, shb, 16, path);
	png_idb(f, DLT_EN10MB, "eth0", path);
	if (!late)
		png_idb(f, DLT_LINUX_SLL2, "any", path);
	for (i = 0; i < eth->n; i++) {
		png_epb(f, (uint32_t)(i % 2), i % 2 ? &sll2->p[i] : &eth->p[i], path);
		if (late && i == 0)
			png_idb(f, DLT_LINUX_SLL2, "any", path);
	}
	ck_assert_msg(fclose(f) == 0, "writing %s", path);
}

/*
 * Interfaces of two link types in one pcapng: libpcap cannot read it in
 * one handle, so it is read one link type at a time and merged back in
 * file order: the replay is the Ethernet original's. From standard input
 * (which cannot be read twice) and with the second interface described
 * late, one line says why and how to split it, before any summary.
 */
START_TEST(test_mixed_pcapng)
{
	static const char *const ignore[] = { "replay.file", "replay.linktype", "replay.timestamps", NULL };
	char path[PATH_MAX], file[PATH_MAX], late[PATH_MAX], gz[PATH_MAX], qb[2 * PATH_MAX], b[256];
	struct pkts *eth, *sll2;
	struct run base, r;
	struct jobj rs;

	eth = pkts_read(trace_path("handshake-data-close", path, sizeof(path)));
	sll2 = rewrap(eth, W_SLL2, DLT_LINUX_SLL2, 0);
	write_mixed(tmp_file("mixed.pcapng", file, sizeof(file)), eth, sll2, 0);
	run_json(&base, "replay %s --format json --hash-seed 1", q(path, qb, sizeof(qb)));
	run_ok(&base);
	run_json(&r, "replay %s --format json --hash-seed 1", q(file, qb, sizeof(qb)));
	run_ok(&r);
	same_run(&r, &base, ignore);
	run_replay_stats(&r, &rs);
	ck_assert_msg(j_is(&rs, "linktype", "EN10MB+LINUX_SLL2"), "tcpdemux %s: replay.linktype %s", r.args,
		      j_raw(&rs, "linktype", b, sizeof(b)));
	run_free(&r);

	/* Compressed, and filtered (the filter compiled for each link type). */
	gzip_file(file, tmp_file("mixed.pcapng.gz", gz, sizeof(gz)));
	run_json(&r, "replay %s 'tcp port 80' --format json --hash-seed 1", q(gz, qb, sizeof(qb)));
	run_ok(&r);
	ck_assert_msg(run_replay_num(&r, "inbound") == 5 && run_replay_num(&r, "filtered") == 0,
		      "tcpdemux %s: %lld in, %lld filtered; want 5 and 0", r.args, run_replay_num(&r, "inbound"),
		      run_replay_num(&r, "filtered"));
	run_free(&r);

	run_plain(&r, "replay - --format json < %s", q(file, qb, sizeof(qb)));
	run_refused(&r, "eth0: EN10MB", "any: LINUX_SLL2");
	ck_assert_msg(r.out[0] == '\0', "tcpdemux %s printed before refusing: %s", r.args, r.out);
	run_free(&r);

	write_mixed(tmp_file("late.pcapng", late, sizeof(late)), eth, sll2, 1);
	run_plain(&r, "replay %s --quiet", q(late, qb, sizeof(qb)));
	ck_assert_msg(r.rc == 2 && strstr(r.err, "editcap") && strstr(r.err, "frame.interface_id"),
		      "tcpdemux %s: exit %d, stderr %s; want 2 and how to split the file", r.args, r.rc, r.err);
	run_free(&r);
	run_free(&base);
	pkts_free(sll2);
	pkts_free(eth);
}
END_TEST

/* ---- plain pcap records (pcap_records.c) against libpcap -------------------------------- */

/* A pcap file header (little-endian, version 2.4, microseconds) with this snap length, Ethernet. */
static void le_header(FILE *f, uint32_t snaplen)
{
	uint32_t h[6] = { 0xa1b2c3d4u, 2u | 4u << 16, 0, 0, snaplen, 1 };

	ck_assert_msg(fwrite(h, sizeof(h), 1, f) == 1, "write failed");
}

/* A record header: time, then lengths; the bytes follow (n of them written, may be fewer than caplen). */
static void le_record(FILE *f, uint32_t sec, uint32_t usec, uint32_t caplen, uint32_t len, size_t n)
{
	static uint8_t zero[300000];
	uint32_t h[4] = { sec, usec, caplen, len };

	ck_assert_msg(fwrite(h, sizeof(h), 1, f) == 1 && fwrite(zero, 1, n, f) == n, "write failed");
}

/* What libpcap itself reads of path: its frames, and its error if it ends on one ("" if not). */
static int libpcap_reads(const char *path, char *msg, size_t len)
{
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline(path, err);
	struct pcap_pkthdr *h;
	const u_char *d;
	int r, n = 0;

	ck_assert_msg(p != NULL, "libpcap cannot open %s: %s", path, err);
	while ((r = pcap_next_ex(p, &h, &d)) == 1)
		n++;
	fmt(msg, len, "%s", r == PCAP_ERROR_BREAK ? "" : pcap_geterr(p));
	pcap_close(p);
	return n;
}

/*
 * A plain pcap file is read without libpcap's per-record calls; damaged
 * files must still read as libpcap reads them: the same frames, the same
 * error in the same words. Each case is written, read by libpcap, and
 * replayed.
 */
START_TEST(test_pcap_records_as_libpcap)
{
	static const struct {
		const char *name;
		uint32_t snaplen, caplen;
		size_t written;
		int extra_header_bytes; /* a cut-short header after the good record */
	} cases[] = {
		{ "header-cut", 65535, 60, 60, 7 },        /* a record header cut short */
		{ "data-cut", 65535, 60, 30, 0 },          /* a record's bytes cut short */
		{ "over-max", 65535, 300000, 0, 0 },       /* a capture length beyond any link's maximum */
		{ "over-snaplen", 100, 200, 200, 0 },      /* longer than the snap length: cut to it */
		{ "over-snaplen-cut", 100, 200, 150, 0 },  /* ... and the rest missing */
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char path[PATH_MAX], name[64], qb[2 * PATH_MAX], want[PCAP_ERRBUF_SIZE];
		struct run r;
		FILE *f;
		int frames;

		fmt(name, sizeof(name), "records-%s.pcap", cases[i].name);
		tmp_file(name, path, sizeof(path));
		f = fopen(path, "wb");
		ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
		le_header(f, cases[i].snaplen);
		le_record(f, 1700000000u, 5, 60, 60, 60); /* a good frame first */
		/* A second with a time field past 2^31: signed in the file, as libpcap reads it. */
		le_record(f, 0x90000000u, 7, 60, 60, 60);
		le_record(f, 1700000001u, 0, cases[i].caplen, cases[i].caplen, cases[i].written);
		if (cases[i].extra_header_bytes)
			ck_assert_msg(fwrite("0123456", 1, (size_t)cases[i].extra_header_bytes, f) ==
					      (size_t)cases[i].extra_header_bytes,
				      "write failed");
		fclose(f);
		frames = libpcap_reads(path, want, sizeof(want));
		run_json(&r, "replay %s --format json --local 10.0.0.1", q(path, qb, sizeof(qb)));
		if (want[0]) {
			ck_assert_msg(r.rc == 2 && strstr(r.err, want) != NULL,
				      "%s: libpcap says '%s'; tcpdemux exited %d: %s", name, want, r.rc, r.err);
		} else {
			ck_assert_msg(r.rc != 2 || strstr(r.err, "no segment") || strstr(r.err, "nothing to replay"),
				      "%s: libpcap reads it whole; tcpdemux exited %d: %s", name, r.rc, r.err);
		}
		ck_assert_msg(run_replay_num(&r, "frames") == frames, "%s: %lld frames read, libpcap reads %d", name,
			      run_replay_num(&r, "frames"), frames);
		run_free(&r);
	}
}
END_TEST

/*
 * pcap_records_next_quick(), the replay's per-frame read, gives what
 * pcap_records_next() gives, in nanoseconds as frame.c makes them (a time
 * field past 2^31, signed in the file, included), and refuses exactly the
 * records it must leave to it (longer than the snap length), changing
 * nothing then.
 */
START_TEST(test_records_quick_as_next)
{
	char path[PATH_MAX], msg[PCAP_ERRBUF_SIZE];
	struct pcap_records a, b;
	FILE *f, *fa, *fb;
	int dlt, n = 0, refused = 0;

	tmp_file("records-quick.pcap", path, sizeof(path));
	f = fopen(path, "wb");
	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	le_header(f, 100);
	le_record(f, 1700000000u, 5, 60, 60, 60);
	le_record(f, 0x90000000u, 999999, 60, 70, 60);
	le_record(f, 1700000001u, 0, 200, 200, 200); /* longer than the snap length (100) */
	le_record(f, 1700000002u, 123456, 0, 0, 0);
	le_record(f, 1700000003u, 7, 100, 1500, 100);
	fclose(f);
	fa = fopen(path, "rb");
	fb = fopen(path, "rb");
	ck_assert_msg(fa && fb, "%s: %s", path, strerror(errno));
	ck_assert_int_eq(pcap_records_open(&a, fa, CAPFILE_PCAP_US, path, &dlt), 1);
	ck_assert_int_eq(pcap_records_open(&b, fb, CAPFILE_PCAP_US, path, &dlt), 1);
	for (;;) {
		struct pcap_pkthdr h;
		const uint8_t *da, *db;
		uint64_t ts;
		uint32_t caplen, len;
		int rb = pcap_records_next(&b, &h, &db, msg, sizeof(msg));

		if (!pcap_records_next_quick(&a, &ts, &caplen, &len, &da)) {
			struct pcap_pkthdr ha;

			refused++;
			ck_assert_int_eq(pcap_records_next(&a, &ha, &da, msg, sizeof(msg)), rb);
			if (rb <= 0)
				break;
			ts = (uint64_t)ha.ts.tv_sec * 1000000000ull + (uint64_t)ha.ts.tv_usec;
			caplen = ha.caplen;
			len = ha.len;
		}
		ck_assert_int_eq(rb, 1);
		n++;
		ck_assert_msg(ts == (uint64_t)h.ts.tv_sec * 1000000000ull + (uint64_t)h.ts.tv_usec,
			      "record %d: time %llu, not %lld.%09ld", n, (unsigned long long)ts, (long long)h.ts.tv_sec,
			      (long)h.ts.tv_usec);
		ck_assert_msg(caplen == h.caplen && len == h.len && memcmp(da, db, caplen) == 0,
			      "record %d: %u/%u bytes, not %u/%u", n, caplen, len, h.caplen, h.len);
	}
	ck_assert_int_eq(n, 5);
	ck_assert_int_eq(refused, 2); /* the long record, and the end */
	pcap_records_free(&a);
	pcap_records_free(&b);
	fclose(fa);
	fclose(fb);
}
END_TEST

/* ---- a plain pcap file opened without libpcap (pcap_records_open, pcap_lib.c) --------- */

/*
 * A pcap file header in the machine's byte order (swapped: the other one),
 * then one 60-byte record of zeros at 1700000000.000005.
 */
static void header_file(const char *path, uint32_t magic, uint16_t major, uint16_t minor, uint32_t snaplen,
			uint32_t linktype, int swapped)
{
	uint32_t h[6] = { magic, (uint32_t)major | (uint32_t)minor << 16, 0, 0, snaplen, linktype };
	uint32_t rec[4] = { 1700000000u, 5, 60, 60 };
	static const uint8_t zero[60];
	FILE *f = fopen(path, "wb");
	size_t i;

	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	if (swapped) {
		h[1] = (uint32_t)minor | (uint32_t)major << 16;
		for (i = 0; i < 6; i++)
			h[i] = __builtin_bswap32(h[i]);
		for (i = 0; i < 4; i++)
			rec[i] = __builtin_bswap32(rec[i]);
	}
	ck_assert_msg(fwrite(h, sizeof(h), 1, f) == 1 && fwrite(rec, sizeof(rec), 1, f) == 1 &&
			      fwrite(zero, sizeof(zero), 1, f) == 1,
		      "%s: write failed", path);
	fclose(f);
}

/*
 * Every header tcpdemux opens itself must read as libpcap reads it: the
 * same link type (libpcap's DLT), its name, the record's time and
 * lengths. The cases cover each link type the reader takes, and headers
 * it leaves to libpcap (another byte order, version, snap length, FCS bits
 * in the link type, DLT_RAW's number stored as is), whose results must
 * not change either.
 */
START_TEST(test_header_as_libpcap)
{
	static const uint32_t linktypes[] = { 0, 1, 9, 12, 50, 51, 101, 104, 105, 108, 113, 127,
					      166, 192, 204, 228, 229, 276 };
	static const struct {
		const char *name;
		uint32_t magic;
		uint16_t major, minor;
		uint32_t snaplen, linktype_or; /* ORed into the link type */
		int swapped;
	} variants[] = {
		{ "plain", 0xa1b2c3d4u, 2, 4, 65535, 0, 0 },
		{ "nanoseconds", 0xa1b23c4du, 2, 4, 262144, 0, 0 },
		{ "swapped", 0xa1b2c3d4u, 2, 4, 65535, 0, 1 },
		{ "version-2.3", 0xa1b2c3d4u, 2, 3, 65535, 0, 0 },
		{ "snaplen-0", 0xa1b2c3d4u, 2, 4, 0, 0, 0 },
		{ "snaplen-huge", 0xa1b2c3d4u, 2, 4, 262145, 0, 0 },
		{ "fcs-bits", 0xa1b2c3d4u, 2, 4, 65535, 0x14000000u, 0 },
	};
	size_t i, j;

	for (i = 0; i < sizeof(variants) / sizeof(variants[0]); i++)
		for (j = 0; j < sizeof(linktypes) / sizeof(linktypes[0]); j++) {
			char path[PATH_MAX], name[96], err[512], perr[PCAP_ERRBUF_SIZE];
			struct frame_src *fs;
			struct pcap_pkthdr *h;
			const u_char *d;
			struct frame fr;
			const char *want;
			pcap_t *p;
			int dlt;

			fmt(name, sizeof(name), "hdr-%s-%u.pcap", variants[i].name, linktypes[j]);
			tmp_file(name, path, sizeof(path));
			header_file(path, variants[i].magic, variants[i].major, variants[i].minor,
				    variants[i].snaplen, linktypes[j] | variants[i].linktype_or, variants[i].swapped);
			p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, perr);
			ck_assert_msg(p != NULL, "%s: libpcap cannot open it: %s", name, perr);
			dlt = pcap_datalink(p);
			ck_assert_msg(pcap_next_ex(p, &h, &d) == 1, "%s: libpcap reads no record", name);
			fs = frame_open(path, NULL, err, sizeof(err));
			if (dlt == 14) { /* a file's 12 is DLT_RAW on Linux; 14 is not read */
				ck_assert_msg(fs == NULL && strstr(err, "not supported"), "%s: %s", name,
					      fs ? "opened" : err);
				pcap_close(p);
				continue;
			}
			ck_assert_msg(fs != NULL, "%s: frame_open: %s", name, err);
			ck_assert_msg(frame_linktype(fs) == dlt, "%s: link type %d, libpcap's %d", name,
				      frame_linktype(fs), dlt);
			want = pcap_datalink_val_to_name(dlt);
			if (!want)
				want = dlt == 204 ? "PPP_WITH_DIR" : "unknown";
			ck_assert_msg(strcmp(frame_linktype_name(fs), want) == 0, "%s: named %s, libpcap %s", name,
				      frame_linktype_name(fs), want);
			ck_assert_msg(frame_next(fs, &fr, err, sizeof(err)) == 1, "%s: no frame: %s", name, err);
			ck_assert_msg(fr.ts == (uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec &&
					      fr.caplen == h->caplen && fr.wirelen == h->len &&
					      memcmp(fr.data, d, fr.caplen) == 0,
				      "%s: frame %llu ns %u/%u bytes; libpcap %lld.%09ld %u/%u", name,
				      (unsigned long long)fr.ts, fr.caplen, fr.wirelen, (long long)h->ts.tv_sec,
				      (long)h->ts.tv_usec, h->caplen, h->len);
			ck_assert_msg(frame_next(fs, &fr, err, sizeof(err)) == 0, "%s: more than one frame", name);
			frame_close(fs);
			pcap_close(p);
		}
}
END_TEST

/* The names tcpdemux keeps for the link types it reads are libpcap's. */
START_TEST(test_dlt_names_as_libpcap)
{
	int dlt, named = 0;

	for (dlt = 0; dlt < 300; dlt++) {
		const char *ours = frame_dlt_name(dlt), *theirs = pcap_datalink_val_to_name(dlt);

		if (!ours)
			continue;
		named++;
		ck_assert_msg(theirs && strcmp(ours, theirs) == 0, "link type %d: named %s, libpcap %s", dlt, ours,
			      theirs ? theirs : "(no name)");
	}
	ck_assert_msg(named == 16, "%d link types named, want the 16 read (DLT_RAW once)", named);
}
END_TEST

/*
 * A replay of a plain pcap file never loads libpcap (its dependencies
 * cost every run 0.7 ms) nor zlib (0.05 ms); a filter loads libpcap, a
 * compressed file zlib, on demand. The dynamic linker's own log
 * (LD_DEBUG=files) tells which libraries a run loaded.
 */
START_TEST(test_libpcap_loaded_on_demand)
{
	char qb[2 * PATH_MAX], path[PATH_MAX], gz[PATH_MAX];
	struct run r;

	fmt(path, sizeof(path), "%s/kernel/syn-burst.pcap", prog_traces());
	ck_assert_msg(setenv("LD_DEBUG", "files", 1) == 0, "setenv: %s", strerror(errno));
	run_plain(&r, "replay %s --quiet --local 10.0.0.1", q(path, qb, sizeof(qb)));
	ck_assert_msg(r.rc == 0 && !strstr(r.err, "file=libpcap") && !strstr(r.err, "file=libz"),
		      "tcpdemux %s: exit %d, loaded libpcap or zlib: %s", r.args, r.rc, r.err);
	ck_assert_msg(strstr(r.err, "file=libc"), "tcpdemux %s: LD_DEBUG=files logged no library: %s", r.args, r.err);
	run_free(&r);
	/* Compressed: zlib is needed (zlib_lib.c), and loaded; libpcap still not. */
	gzip_file(path, tmp_file("loaded.pcap.gz", gz, sizeof(gz)));
	run_plain(&r, "replay %s --quiet --local 10.0.0.1", q(gz, qb, sizeof(qb)));
	ck_assert_msg(r.rc == 0 && strstr(r.err, "file=libz") && strstr(r.out, "gzip-compressed"),
		      "tcpdemux %s: exit %d, zlib not loaded: %s", r.args, r.rc, r.err);
	run_free(&r);
	/* With a filter to compile, libpcap is needed, and loaded. */
	run_plain(&r, "replay %s 'tcp' --quiet --local 10.0.0.1", q(path, qb, sizeof(qb)));
	unsetenv("LD_DEBUG");
	ck_assert_msg(r.rc == 0 && strstr(r.err, "file=libpcap"), "tcpdemux %s: exit %d, libpcap not loaded: %s",
		      r.args, r.rc, r.err);
	run_free(&r);
}
END_TEST

/*
 * A mapped capture cut shorter while it is read: the pages past its new
 * end are gone, and reading one raises SIGBUS. The reader's handler makes
 * that the one line and exit 2 of any bad file. Run in a child of its own
 * (the handler ends the process), its stderr read back through a pipe.
 */
START_TEST(test_pcap_records_file_cut_while_mapped)
{
	char path[PATH_MAX], err[PCAP_ERRBUF_SIZE], msg[1024], want[PATH_MAX + 64];
	int fds[2], status, i;
	ssize_t n, got = 0;
	pid_t pid;
	FILE *f;

	tmp_file("cut-while-mapped.pcap", path, sizeof(path));
	f = fopen(path, "wb");
	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	le_header(f, 65535);
	for (i = 0; i < 64; i++) /* 64 KiB and more: several pages */
		le_record(f, 1700000000u, (uint32_t)i, 1000, 1000, 1000);
	fclose(f);
	ck_assert_int_eq(pipe(fds), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct pcap_records r;
		struct pcap_pkthdr h;
		const uint8_t *data;
		pcap_t *p = pcap_open_offline(path, err);

		dup2(fds[1], STDERR_FILENO);
		if (!p || !pcap_records_usable(p, CAPFILE_PCAP_US) ||
		    pcap_records_init(&r, p, CAPFILE_PCAP_US, path) < 0 || !pcap_records_mapped(&r))
			_exit(10); /* not the mapped path: nothing here to test */
		if (truncate(path, 0) < 0)
			_exit(11);
		while (pcap_records_next(&r, &h, &data, msg, sizeof(msg)) > 0)
			;
		_exit(12); /* read to an end without touching a page that is gone */
	}
	close(fds[1]);
	while (got < (ssize_t)sizeof(msg) - 1 && (n = read(fds[0], msg + got, sizeof(msg) - 1 - (size_t)got)) > 0)
		got += n;
	msg[got] = '\0';
	close(fds[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 2,
		      "a file cut shorter while mapped: want exit 2, got %s %d; stderr: %s",
		      WIFEXITED(status) ? "exit" : "signal", WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
		      msg);
	fmt(want, sizeof(want), "tcpdemux: %s: the file was cut shorter while it was replayed", path);
	ck_assert_msg(strncmp(msg, want, strlen(want)) == 0 && strchr(msg, '\n') == msg + got - 1,
		      "want one line '%s...'; got '%s'", want, msg);
}
END_TEST

/* ---- the window's frame bytes (lookahead.c's byte FIFO, a mapped file) ----------------------- */

/* The captured length of test frame n (1-based): mostly small, every 97th longer than the read buffer. */
static uint32_t win_len(int64_t n)
{
	return n % 97 == 0 ? 200000u : 60u + (uint32_t)(n * 37 % 1400);
}

/* Byte j of test frame n: no two frames alike (none is taken for a duplicate). */
static uint8_t win_byte(int64_t n, uint32_t j)
{
	return (uint8_t)(n * 31 + j + (j >> 8));
}

/* Appends frames first..last (1-based numbers) to f, a pcap file with snap length 262144. */
static void win_frames(FILE *f, int64_t first, int64_t last)
{
	static uint8_t b[262144];
	int64_t n;

	for (n = first; n <= last; n++) {
		uint32_t len = win_len(n), j, h[4] = { 1700000000u, (uint32_t)(n % 1000000), len, len };

		for (j = 0; j < len; j++)
			b[j] = win_byte(n, j);
		ck_assert_msg(fwrite(h, sizeof(h), 1, f) == 1 && fwrite(b, 1, len, f) == len, "write failed");
	}
}

/* Writes a pcap file of frames 1..n. */
static void win_file(const char *path, int64_t n)
{
	FILE *f = fopen(path, "wb");

	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	le_header(f, 262144);
	win_frames(f, 1, n);
	ck_assert_msg(fclose(f) == 0, "%s: close failed", path);
}

/* Whether frame f holds test frame f->n's bytes; says which byte is wrong. */
static void win_same(const char *path, const struct la_frame *f)
{
	uint32_t j, len = win_len(f->n);

	ck_assert_msg(f->fr.caplen == len, "%s: frame %lld has %u bytes, not %u", path, (long long)f->n,
		      f->fr.caplen, len);
	for (j = 0; j < len && f->fr.data[j] == win_byte(f->n, j); j++)
		;
	ck_assert_msg(j == len, "%s: frame %lld byte %u changed while in the window", path, (long long)f->n, j);
}

/*
 * Reads path through a window depth frames deep: each frame's bytes must
 * be intact when it leaves (after depth more were read behind it), and
 * every frame of the window at the end. Returns the frames read.
 */
static int64_t win_replay(const char *path, uint32_t depth, int threads, struct frame_src **fsp,
			  struct lookahead **lap)
{
	char err[512];
	struct frame_src *fs = frame_open(path, NULL, err, sizeof(err));
	struct lookahead *la;
	int64_t popped = 0;
	uint32_t i;

	ck_assert_msg(fs != NULL, "%s: %s", path, err);
	la = la_new(fs, path, 0, threads);
	ck_assert_msg(la != NULL, "la_new failed");
	for (;;) {
		while (la_count(la) < depth && la_read(la))
			;
		if (!la_count(la))
			break;
		if (la_eof(la))
			break;
		win_same(path, la_head(la));
		ck_assert_msg(la_head(la)->n == popped + 1, "%s: frame %lld came after %lld", path,
			      (long long)la_head(la)->n, (long long)popped);
		la_pop(la);
		popped++;
	}
	ck_assert_msg(!la_error(la, NULL), "%s: read error", path);
	for (i = 0; i < la_count(la); i++)
		win_same(path, la_at(la, i));
	*fsp = fs;
	*lap = la;
	return popped + la_count(la);
}

static void win_close(struct frame_src *fs, struct lookahead *la)
{
	la_free(la);
	frame_close(fs);
}

/*
 * A frame's bytes stay the ones read until it leaves the window, however
 * deep the window is read and however the bytes are kept: in place in a
 * mapped file (whose pages behind the reader are given back and read
 * again), or copied into the window's byte FIFO (gzip data, whose records
 * also come through the growing read buffer: a 200,000-byte record is
 * more than a buffer holds at first).
 */
START_TEST(test_window_keeps_bytes)
{
	char path[PATH_MAX], gz[PATH_MAX], big[PATH_MAX];
	struct frame_src *fs;
	struct lookahead *la;
	FILE *f;
	int threads;

	/* The same with the frames read on the replay's thread and on the reader's (reader.h). */
	for (threads = 1; threads <= 2; threads++) {
		win_file(tmp_file("window.pcap", path, sizeof(path)), 3000);
		ck_assert_int_eq(win_replay(path, 700, threads, &fs, &la), 3000);
		win_close(fs, la);

		gzip_file(path, tmp_file("window.pcap.gz", gz, sizeof(gz)));
		ck_assert_int_eq(win_replay(gz, 700, threads, &fs, &la), 3000);
		ck_assert_int_eq(frame_data_kept(fs), 0);
		win_close(fs, la);

		/* More than the mapping keeps resident (16 MiB), all of it in the window at once at the end. */
		win_file(tmp_file("window-big.pcap", big, sizeof(big)), 9000);
		ck_assert_int_eq(win_replay(big, 8000, threads, &fs, &la), 9000);
		win_close(fs, la);
	}

	/* A file that grows while it is read: what was added after it was opened (mapped) is read too. */
	win_file(path, 500);
	{
		char err[512];
		int64_t n = 0;

		fs = frame_open(path, NULL, err, sizeof(err));
		ck_assert_msg(fs != NULL, "%s: %s", path, err);
		la = la_new(fs, path, 0, 1);
		ck_assert_msg(la != NULL, "la_new failed");
		while (la_count(la) < 400 && la_read(la))
			;
		ck_assert_int_eq(frame_data_kept(fs), 1);
		f = fopen(path, "ab");
		ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
		win_frames(f, 501, 800);
		ck_assert_msg(fclose(f) == 0, "%s: close failed", path);
		while (la_read(la))
			;
		ck_assert_msg(!la_error(la, NULL), "%s: read error", path);
		for (; la_count(la); la_pop(la), n++)
			win_same(path, la_head(la));
		ck_assert_int_eq(n, 800);
		win_close(fs, la);
	}
}
END_TEST

/* ---- the reader's thread (reader.c) ------------------------------------------------------- */

/* Frame a (read with one thread) and b (with the reader's) are the same in every field the replay reads. */
static void reader_same(const char *path, const struct la_frame *a, const struct la_frame *b)
{
	const struct segment *x = &a->seg, *y = &b->seg;

	ck_assert_msg(a->n == b->n && a->fr.ts == b->fr.ts && a->fr.caplen == b->fr.caplen &&
			      a->fr.wirelen == b->fr.wirelen && memcmp(a->fr.data, b->fr.data, a->fr.caplen) == 0,
		      "%s: frame %lld / %lld: not the same raw frame", path, (long long)a->n, (long long)b->n);
	ck_assert_msg(a->status == b->status && a->cut == b->cut && a->tso == b->tso && a->dup == b->dup &&
			      a->kind == b->kind,
		      "%s: frame %lld: status %d/%d cut %d/%d tso %d/%d dup %d/%d kind %d/%d", path, (long long)a->n,
		      a->status, b->status, a->cut, b->cut, a->tso, b->tso, a->dup, b->dup, a->kind, b->kind);
	if (a->status)
		return;
	ck_assert_msg(addr_equal(&x->src, &y->src) && addr_equal(&x->dst, &y->dst) && x->sport == y->sport &&
			      x->dport == y->dport && x->seq == y->seq && x->ack == y->ack && x->flags == y->flags &&
			      x->win == y->win && x->urp == y->urp && x->ttl == y->ttl && x->len == y->len &&
			      x->cut == y->cut,
		      "%s: frame %lld: not the same segment header", path, (long long)a->n);
	ck_assert_msg(x->opt.has_mss == y->opt.has_mss && x->opt.mss == y->opt.mss &&
			      x->opt.has_wscale == y->opt.has_wscale && x->opt.wscale == y->opt.wscale &&
			      x->opt.sack_ok == y->opt.sack_ok && x->opt.has_ts == y->opt.has_ts &&
			      x->opt.tsval == y->opt.tsval && x->opt.tsecr == y->opt.tsecr &&
			      x->opt.fo_kind == y->opt.fo_kind && x->opt.fo_len == y->opt.fo_len &&
			      memcmp(x->opt.fo_cookie, y->opt.fo_cookie, x->opt.fo_len) == 0,
		      "%s: frame %lld: not the same options", path, (long long)a->n);
	ck_assert_msg(x->len == 0 || memcmp(x->data, y->data, x->len) == 0, "%s: frame %lld: not the same payload",
		      path, (long long)a->n);
}

/* A window over path read with this many threads (reader_start with no size limit for 2). */
static struct lookahead *reader_window(const char *path, int threads, struct frame_src **fsp)
{
	char err[512];
	struct lookahead *la;

	*fsp = frame_open(path, NULL, err, sizeof(err));
	ck_assert_msg(*fsp != NULL, "%s: %s", path, err);
	la = la_new(*fsp, path, 0, threads);
	ck_assert_msg(la != NULL, "la_new failed");
	return la;
}

/*
 * Reads path through two windows, one reading on this thread, one through
 * the reader's, depth frames deep, and holds every frame of the second to
 * the first's; then the end (the same error, or none). Returns the frames.
 */
static int64_t reader_compare(const char *path, uint32_t depth)
{
	struct frame_src *fs1, *fs2;
	struct lookahead *one = reader_window(path, 1, &fs1), *two = reader_window(path, 2, &fs2);
	const char *m1, *m2;
	int64_t n = 0;

	for (;;) {
		while (la_count(one) < depth && la_read(one))
			;
		while (la_count(two) < depth && la_read(two))
			;
		ck_assert_msg(la_count(one) == la_count(two), "%s: %u frames in one window, %u in the other", path,
			      la_count(one), la_count(two));
		if (!la_count(one))
			break;
		reader_same(path, la_head(one), la_head(two));
		la_pop(one);
		la_pop(two);
		n++;
	}
	ck_assert_int_eq(la_nread(one), la_nread(two));
	ck_assert_int_eq(la_error(one, &m1), la_error(two, &m2));
	ck_assert_msg(strcmp(m1, m2) == 0, "%s: read errors '%s' and '%s'", path, m1, m2);
	ck_assert_int_eq(la_t0(one), la_t0(two));
	win_close(fs1, one);
	win_close(fs2, two);
	return n;
}

/*
 * The frames the reader's thread decodes are the ones the replay's own
 * thread decodes, field by field, in the same order, to the same end:
 * the kernel's traces and the published plain pcap files (the reader
 * reads only those), a capture cut by the snap length (its frames come
 * through undecoded, decoded into the window's pads), with duplicates
 * (told by comparing with the frame before, on the reader's side), and
 * one cut short in the middle of a record (the same frames, then the same
 * one-line error). And a window far shallower than the reader's ring
 * and one deeper than it both see the same.
 */
START_TEST(test_reader_same_frames)
{
	static const char *const traces[] = { "handshake-data-close", "two-clients", "ipv6", "closed-port" };
	static const char *const published[] = { "zk_echo-connections.pcap", "sv_pgsql-5000.pcap",
						 "sv_decode-sll2-02.pcap", "zk_modbus_modbusBig.pcap" };
	char path[PATH_MAX], file[PATH_MAX];
	struct pkts *l;
	long size;
	FILE *f;
	size_t i;

	for (i = 0; i < sizeof(traces) / sizeof(traces[0]); i++) {
		trace_path(traces[i], path, sizeof(path));
		ck_assert_int_gt(reader_compare(path, 1), 0);
		ck_assert_int_gt(reader_compare(path, 64), 0);
	}
	for (i = 0; i < sizeof(published) / sizeof(published[0]); i++) {
		realworld(published[i], path, sizeof(path));
		int64_t n = reader_compare(path, 3);

		ck_assert_msg(n > 100, "%s: %lld frames", path, (long long)n);
		ck_assert_int_eq(reader_compare(path, 3 * READER_SLOTS), n);
	}

	/* Cut at 68 bytes, every frame sent twice (the copy 1 ms after it: a duplicate). */
	l = pkts_read(trace_path("two-clients", path, sizeof(path)));
	cut_all(l, 68);
	{
		struct pkts *twice = pkts_new(DLT_EN10MB);
		int j;

		for (j = 0; j < l->n; j++) {
			struct pkt k = l->p[j];

			pkts_add(twice, &k, NULL, 0, 0);
			k.usec += 1000;
			if (k.usec >= 1000000) {
				k.sec++;
				k.usec -= 1000000;
			}
			pkts_add(twice, &k, NULL, 0, 0);
		}
		pcap_write(tmp_file("reader-cut.pcap", file, sizeof(file)), DLT_EN10MB, 0, twice);
		ck_assert_int_eq(reader_compare(file, 5), 2 * l->n);
		pkts_free(twice);
	}
	pkts_free(l);

	/* Cut short in the middle of its last record. */
	realworld("sv_pgsql-5000.pcap", path, sizeof(path));
	size = file_size(path);
	ck_assert_int_gt(size, 100000);
	tmp_file("reader-short.pcap", file, sizeof(file));
	{
		FILE *in = fopen(path, "rb");
		static uint8_t buf[1 << 20];
		long left = size - 777;

		ck_assert_msg(in != NULL, "%s: %s", path, strerror(errno));
		f = fopen(file, "wb");
		ck_assert_msg(f != NULL, "%s: %s", file, strerror(errno));
		while (left > 0) {
			size_t n = fread(buf, 1, left < (long)sizeof(buf) ? (size_t)left : sizeof(buf), in);

			ck_assert_msg(n > 0 && fwrite(buf, 1, n, f) == n, "copy of %s failed", path);
			left -= (long)n;
		}
		fclose(in);
		ck_assert_msg(fclose(f) == 0, "%s: close failed", file);
	}
	ck_assert_int_gt(reader_compare(file, 2), 500);
	{
		struct frame_src *fs;
		struct lookahead *la = reader_window(file, 2, &fs);
		const char *msg;

		while (la_read(la))
			la_pop(la);
		ck_assert_msg(la_error(la, &msg) == 1 && strstr(msg, file) == msg,
			      "%s: a file cut short must end on its error, not '%s'", file, msg);
		win_close(fs, la);
	}
}
END_TEST

/*
 * A file that grew after it was opened: the reader reads what was mapped,
 * and the first frame past it (the stream's: its bytes go away at the next
 * read) ends the thread; the window copies it and reads the rest itself.
 * Every frame arrives intact and in order.
 */
START_TEST(test_reader_hands_over_grown_file)
{
	char path[PATH_MAX], err[512];
	struct frame_src *fs;
	struct lookahead *la;
	int64_t n = 0;
	FILE *f;

	win_file(tmp_file("reader-grown.pcap", path, sizeof(path)), 500);
	fs = frame_open(path, NULL, err, sizeof(err));
	ck_assert_msg(fs != NULL, "%s: %s", path, err);
	ck_assert_int_eq(frame_data_kept(fs), 1);
	f = fopen(path, "ab");
	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	win_frames(f, 501, 800);
	ck_assert_msg(fclose(f) == 0, "%s: close failed", path);
	la = la_new(fs, path, 0, 2);
	ck_assert_msg(la != NULL, "la_new failed");
	for (;;) {
		while (la_count(la) < 50 && la_read(la))
			;
		if (!la_count(la))
			break;
		ck_assert_msg(la_head(la)->n == n + 1, "%s: frame %lld came after %lld", path,
			      (long long)la_head(la)->n, (long long)n);
		win_same(path, la_head(la));
		ck_assert_msg(la_head(la)->copied == (la_head(la)->n > 500),
			      "%s: frame %lld: copied %d (the mapping holds frames 1-500)", path,
			      (long long)la_head(la)->n, la_head(la)->copied);
		la_pop(la);
		n++;
	}
	ck_assert_msg(!la_error(la, NULL), "%s: read error", path);
	ck_assert_int_eq(n, 800);
	win_close(fs, la);
}
END_TEST

/*
 * End to end: `replay --threads 2` prints what `--threads 1` prints, byte
 * for byte (JSON, with --verify), on the largest published captures (one
 * a window 41,000 frames deep, one of SMB2 reads); --threads takes 1 or 2.
 */
START_TEST(test_reader_replay_same_output)
{
	static const char *const files[] = { "zk_echo-connections.pcap", "sv_smb2-async-read.pcap" };
	char path[PATH_MAX], qb[2 * PATH_MAX];
	struct run r1, r2;
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		realworld(files[i], path, sizeof(path));
		run_plain(&r1, "replay %s --format json --verify --hash-seed 1 --threads 1", q(path, qb, sizeof(qb)));
		run_plain(&r2, "replay %s --format json --verify --hash-seed 1 --threads 2", q(path, qb, sizeof(qb)));
		ck_assert_msg(r1.rc == r2.rc && r1.rc <= 1, "%s: exit %d with one thread, %d with two",
			      files[i], r1.rc, r2.rc);
		ck_assert_msg(r1.l.n > 1000 && strcmp(r1.out, r2.out) == 0 && strcmp(r1.err, r2.err) == 0,
			      "%s: --threads 1 and --threads 2 print differently (%d lines / %d)", files[i], r1.l.n,
			      r2.l.n);
		run_free(&r1);
		run_free(&r2);
	}
	/* With a filter, which the reader's thread runs (libpcap's BPF program), frames it rejects counted there. */
	realworld("zk_echo-connections.pcap", path, sizeof(path));
	run_plain(&r1, "replay %s 'tcp port 7000 and len > 66' --format json --hash-seed 1 --threads 1", q(path, qb, sizeof(qb)));
	run_plain(&r2, "replay %s 'tcp port 7000 and len > 66' --format json --hash-seed 1 --threads 2", q(path, qb, sizeof(qb)));
	ck_assert_msg(r1.rc == 0 && r2.rc == 0 && r1.l.n > 100 && strcmp(r1.out, r2.out) == 0 &&
			      strcmp(r1.err, r2.err) == 0 && strstr(r1.out, "\"filtered\"") != NULL,
		      "a filter with --threads 1 and --threads 2: exit %d / %d, outputs differ or nothing filtered", r1.rc,
		      r2.rc);
	run_free(&r1);
	run_free(&r2);
	run_plain(&r1, "replay %s --quiet --threads 3", q(path, qb, sizeof(qb)));
	ck_assert_int_eq(r1.rc, 2);
	ck_assert_msg(strstr(r1.err, "--threads takes 1 or 2, not '3'") != NULL, "want the usage line, got: %s",
		      r1.err);
	run_free(&r1);
}
END_TEST

Suite *capture_suite(void)
{
	Suite *s = suite_create("capture");
	TCase *tf = tcase_create("filter");
	TCase *ts = tcase_create("snaplen");
	TCase *tm = tcase_create("formats");
	TCase *tr = tcase_create("reader");

	tcase_add_unchecked_fixture(tf, tmp_setup, tmp_teardown);
	tcase_set_timeout(tf, 60);
	tcase_add_test(tf, test_filter_expression);
	tcase_add_test(tf, test_filter_refused);
	tcase_add_test(tf, test_filter_realworld);
	suite_add_tcase(s, tf);

	tcase_add_unchecked_fixture(ts, tmp_setup, tmp_teardown);
	tcase_set_timeout(ts, 60);
	tcase_add_test(ts, test_snaplen_68);
	tcase_add_test(ts, test_snaplen_realworld);
	tcase_add_test(ts, test_snaplen_skips);
	suite_add_tcase(s, ts);

	tcase_add_unchecked_fixture(tm, tmp_setup, tmp_teardown);
	tcase_set_timeout(tm, 60);
	tcase_add_test(tm, test_gzip);
	tcase_add_test(tm, test_pcap_records_as_libpcap);
	tcase_add_test(tm, test_records_quick_as_next);
	tcase_add_test(tm, test_header_as_libpcap);
	tcase_add_test(tm, test_dlt_names_as_libpcap);
	tcase_add_test(tm, test_libpcap_loaded_on_demand);
	tcase_add_test(tm, test_pcap_records_file_cut_while_mapped);
	tcase_add_test(tm, test_window_keeps_bytes);
	tcase_add_test(tm, test_more_linktypes);
	tcase_add_test(tm, test_wlan_skips);
	tcase_add_test(tm, test_corpus_ppp);
	tcase_add_test(tm, test_mixed_pcapng);
	suite_add_tcase(s, tm);

	tcase_add_unchecked_fixture(tr, tmp_setup, tmp_teardown);
	tcase_set_timeout(tr, 120);
	tcase_add_test(tr, test_reader_same_frames);
	tcase_add_test(tr, test_reader_hands_over_grown_file);
	tcase_add_test(tr, test_reader_replay_same_output);
	suite_add_tcase(s, tr);
	return s;
}
