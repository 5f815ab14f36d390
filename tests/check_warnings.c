/*
 * check_warnings.c - contradictions between the input and the options
 * (issue 15, item 5): each gets one line, never a silent wrong answer.
 *
 *   v6only     synth --listen [::]:80 takes the IPv4 clients, as Linux's
 *              [::] listener does with net.ipv6.bindv6only=0, and resets
 *              them with bindv6only=1;
 *   --listen   one no SYN reaches: a warning naming where the recorded
 *              host did answer SYNs (exit 0);
 *   --local    one the capture never names: exit 2, one line;
 *   nothing    no frame, a filter matching none, no TCP: exit 2, one line
 *              each with the reason;
 *   ignored    --tables with --quiet, --data with --syn-flood: a warning.
 *
 * Runs build/tcpdemux (replaytest.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>

#include "replaytest.h"
#include "suites.h"

static long long summary_counter(const struct run *r, const char *name)
{
	struct jobj cnt;

	j_sub(run_summary(r), "counters", &cnt, r->args);
	return j_int(&cnt, name, r->args);
}

START_TEST(test_v6_listener_takes_ipv4)
{
	struct run r;

	run_json(&r, "synth --clients 5 --listen '[::]:80' --quiet --format json --seed 1");
	run_ok(&r);
	ck_assert_msg(summary_counter(&r, "PassiveOpens") == 5 && summary_counter(&r, "OutRsts") == 0,
		      "tcpdemux %s: %lld passive opens, %lld RSTs; want 5 and 0", r.args,
		      summary_counter(&r, "PassiveOpens"), summary_counter(&r, "OutRsts"));
	run_free(&r);
	run_json(&r, "synth --clients 5 --listen '[::]:80' --quiet --format json --seed 1 "
		     "--sysctl net.ipv6.bindv6only=1");
	run_ok(&r);
	ck_assert_msg(summary_counter(&r, "PassiveOpens") == 0 && summary_counter(&r, "OutRsts") == 5,
		      "tcpdemux %s: %lld passive opens, %lld RSTs; want 0 and 5", r.args,
		      summary_counter(&r, "PassiveOpens"), summary_counter(&r, "OutRsts"));
	run_free(&r);
}
END_TEST

/* The kernel trace of a backlog overflow: its listener is 10.0.0.1:80. */
static const char *overflow_trace(char *qb, size_t len)
{
	char path[PATH_MAX];

	fmt(path, sizeof(path), "%s/kernel/backlog-overflow.pcap", prog_env("TRACES", "traces"));
	return q(path, qb, len);
}

START_TEST(test_listen_unreached)
{
	char qb[2 * PATH_MAX];
	struct run r;

	overflow_trace(qb, sizeof(qb));
	run_plain(&r, "replay %s --listen 10.0.0.1:8080 --quiet", qb);
	ck_assert_msg(r.rc == 0, "exit %d: %s", r.rc, r.err);
	ck_assert_msg(strstr(r.err, "warning: --listen 10.0.0.1:8080: no SYN in the capture reached it; the recorded host answered SYNs at 10.0.0.1:80 (frame ") &&
			      strchr(r.err, '\n') == r.err + strlen(r.err) - 1,
		      "want one warning naming 10.0.0.1:8080 and 10.0.0.1:80: [%s]", r.err);
	run_free(&r);
	/* The capture's own listener: nothing to say. */
	run_plain(&r, "replay %s --listen 10.0.0.1:80,backlog=1 --accept never --quiet", qb);
	ck_assert_msg(r.rc == 0 && r.err[0] == '\0', "the right --listen: exit %d, stderr [%s]", r.rc, r.err);
	run_free(&r);
}
END_TEST

START_TEST(test_local_unseen)
{
	char qb[2 * PATH_MAX];
	struct run r;

	overflow_trace(qb, sizeof(qb));
	run_plain(&r, "replay %s --local 10.0.0.9 --quiet", qb);
	run_refused(&r, "--local 10.0.0.9", "no segment in the capture is to or from it");
	run_free(&r);
	run_plain(&r, "replay %s --local 10.0.0.1 --local 10.0.0.9 --quiet", qb);
	run_refused(&r, "--local 10.0.0.9", "no segment in the capture is to or from it");
	run_free(&r);
}
END_TEST

/* A capture of frames with the given link-layer payloads (Ethernet, one frame each; n 0: empty). */
static void write_frames(const char *path, const uint8_t (*frames)[64], const size_t *lens, int n)
{
	pcap_t *dead = pcap_open_dead(DLT_EN10MB, 65535);
	pcap_dumper_t *d;
	int i;

	ck_assert_msg(dead != NULL, "pcap_open_dead failed");
	d = pcap_dump_open(dead, path);
	ck_assert_msg(d != NULL, "%s: %s", path, pcap_geterr(dead));
	for (i = 0; i < n; i++) {
		struct pcap_pkthdr h;

		memset(&h, 0, sizeof(h));
		h.ts.tv_sec = 1700000000 + i;
		h.caplen = h.len = (bpf_u_int32)lens[i];
		pcap_dump((u_char *)d, &h, frames[i]);
	}
	pcap_dump_close(d);
	pcap_close(dead);
}

START_TEST(test_nothing_replayed)
{
	/* Ethernet, IPv4 10.0.0.2 -> 10.0.0.1, UDP 5353 -> 53, 4 bytes: no TCP anywhere. */
	static const uint8_t udp[1][64] = { {
		0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 6, 0x08, 0x00,
		0x45, 0, 0, 32, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 2, 10, 0, 0, 1,
		0x14, 0xe9, 0, 53, 0, 12, 0, 0, 'a', 'b', 'c', 'd',
	} };
	static const size_t udp_len[1] = { 46 };
	char path[PATH_MAX], qb[2 * PATH_MAX];
	struct run r;

	tmp_file("empty.pcap", path, sizeof(path));
	write_frames(path, NULL, NULL, 0);
	run_plain(&r, "replay %s --quiet", q(path, qb, sizeof(qb)));
	run_refused(&r, "empty.pcap", "the capture holds no frames: nothing to replay");
	run_free(&r);

	tmp_file("udp.pcap", path, sizeof(path));
	write_frames(path, udp, udp_len, 1);
	run_plain(&r, "replay %s --quiet", q(path, qb, sizeof(qb)));
	run_refused(&r, "udp.pcap", "none of its 1 frames holds a TCP segment");
	run_free(&r);

	overflow_trace(qb, sizeof(qb));
	run_plain(&r, "replay %s udp --quiet", qb);
	run_refused(&r, "the filter 'udp' matched none of its 20 frames", "nothing to replay");
	run_free(&r);
}
END_TEST

START_TEST(test_ignored_options)
{
	char qb[2 * PATH_MAX];
	struct run r;

	overflow_trace(qb, sizeof(qb));
	run_plain(&r, "replay %s --quiet --tables=end", qb);
	ck_assert_msg(r.rc == 0 && strstr(r.err, "warning: --tables is ignored with --quiet: only the summary is printed"),
		      "replay --quiet --tables: exit %d, stderr [%s]", r.rc, r.err);
	run_free(&r);
	run_plain(&r, "synth --syn-flood 10 --data 5 --quiet");
	ck_assert_msg(r.rc == 0 && strstr(r.err, "warning: --data is ignored with --syn-flood"),
		      "synth --syn-flood --data: exit %d, stderr [%s]", r.rc, r.err);
	run_free(&r);
	run_plain(&r, "synth --clients 2 --data 5 --quiet");
	ck_assert_msg(r.rc == 0 && r.err[0] == '\0', "synth --clients --data: exit %d, stderr [%s]", r.rc, r.err);
	run_free(&r);
}
END_TEST

Suite *warnings_suite(void)
{
	Suite *s = suite_create("warnings");
	TCase *tc = tcase_create("v6only");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_v6_listener_takes_ipv4);
	suite_add_tcase(s, tc);
	tc = tcase_create("contradictions");
	tcase_set_timeout(tc, 60);
	tcase_add_unchecked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_test(tc, test_listen_unreached);
	tcase_add_test(tc, test_local_unseen);
	tcase_add_test(tc, test_nothing_replayed);
	tcase_add_test(tc, test_ignored_options);
	suite_add_tcase(s, tc);
	return s;
}
