/*
 * check_fidelity.c - the stack against the real Linux kernel.
 *
 * Every capture under traces/kernel/ (made by traces/capture.sh from a
 * Linux 6.x server, one per behaviour of docs/linux-fidelity.md) is
 * replayed with the knobs in its NAME.args file and `--verify`. The
 * control segments (SYN, FIN, RST) the stack sends must agree with the
 * kernel's one for one; the pure-ACK and data agreement is printed, not
 * required (delayed ACKs and segment sizes differ on purpose). A second
 * test checks that the trace names each behaviour as it happens.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "progrun.h"
#include "suites.h"

#define MAX_CAPTURES 64

/* The number after "KEY": inside the object that follows "SECTION":{ in line. */
static double json_num_in(const char *line, const char *section, const char *key)
{
	char pat[64];
	const char *p = line;

	if (section) {
		snprintf(pat, sizeof(pat), "\"%s\":{", section);
		p = strstr(line, pat);
		ck_assert_msg(p != NULL, "no \"%s\" object in %s", section, line);
	}
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(p, pat);
	ck_assert_msg(p != NULL, "no \"%s\" in %s", key, line);
	return strtod(p + strlen(pat), NULL);
}

static int list_captures(char names[][128])
{
	char dir[512];
	struct dirent *d;
	DIR *dp;
	int n = 0;

	snprintf(dir, sizeof(dir), "%s/kernel", prog_traces());
	dp = opendir(dir);
	ck_assert_msg(dp != NULL, "cannot open %s", dir);
	while ((d = readdir(dp)) != NULL) {
		size_t len = strlen(d->d_name);

		if (len > 5 && strcmp(d->d_name + len - 5, ".pcap") == 0 && n < MAX_CAPTURES &&
		    len - 5 < 128) {
			memcpy(names[n], d->d_name, len - 5);
			names[n][len - 5] = '\0';
			n++;
		}
	}
	closedir(dp);
	return n;
}

/* The replay options a capture was made with (its NAME.args, one line). */
static char *capture_args(const char *name)
{
	char path[512];
	char *args, *nl;

	snprintf(path, sizeof(path), "%s/kernel/%s.args", prog_traces(), name);
	args = prog_read_file(path, NULL);
	ck_assert_msg(args != NULL, "%s has no .args file beside it", name);
	nl = strchr(args, '\n');
	if (nl)
		*nl = '\0';
	return args;
}

static int replay(const char *name, const char *extra, char **out, char **err)
{
	char cmd[2048], q[600], path[512];
	char *args = capture_args(name);
	int rc;

	snprintf(path, sizeof(path), "%s/kernel/%s.pcap", prog_traces(), name);
	snprintf(cmd, sizeof(cmd), "replay %s %s %s", prog_quote(path, q, sizeof(q)), args, extra);
	rc = prog_run_split(cmd, out, err);
	free(args);
	return rc;
}

START_TEST(test_verify_every_kernel_capture)
{
	char names[MAX_CAPTURES][128];
	int n = list_captures(names), i;

	ck_assert_msg(n >= 13, "only %d captures under %s/kernel", n, prog_traces());
	for (i = 0; i < n; i++) {
		char *out, *err, *summary;
		double control, ack, data;
		int rc = replay(names[i], "--verify --quiet --format json", &out, &err);

		summary = strstr(out, "{\"type\":\"summary\"");
		ck_assert_msg(summary != NULL, "%s: no summary line (exit %d): %s", names[i], rc, err);
		control = json_num_in(summary, "verify", "agreement");
		ack = json_num_in(summary, "ack", "agreement");
		data = json_num_in(summary, "data", "agreement");
		printf("fidelity %-24s control %.3f (%.0f of %.0f kernel segments)  ack %.3f  data %.3f\n",
		       names[i], control, json_num_in(summary, "control", "matched"),
		       json_num_in(summary, "control", "expected"), ack, data);
		ck_assert_msg(json_num_in(summary, "control", "expected") > 0,
			      "%s: the kernel sent no control segment; nothing was compared", names[i]);
		ck_assert_msg(control == 1.0, "%s: control agreement %.3f < 1 (rerun: tcpdemux replay %s/kernel/%s.pcap $(cat %s/kernel/%s.args) --verify)",
			      names[i], control, prog_traces(), names[i], prog_traces(), names[i]);
		ck_assert_msg(rc == 0, "%s: --verify exited %d with full control agreement: %s", names[i], rc, err);
		free(out);
		free(err);
	}
	fflush(stdout);
}
END_TEST

/* The trace says what happened in the kernel's own terms. */
START_TEST(test_trace_names_behaviours)
{
	static const struct {
		const char *capture, *text;
	} want[] = {
		{ "closed-port-strays", "-> no listener on 10.0.0.1:81 -> RST (NoSocket)" },
		{ "backlog-overflow", "accept queue full (2 > backlog 1): SYN dropped, ListenOverflows+1" },
		{ "abort-on-overflow-0", "accept queue full (2 > backlog 1): ACK dropped, request kept, ListenOverflows+1" },
		{ "abort-on-overflow-0", "timer  #4 SYN_RECV: syn_ack_again (retransmission 2)" },
		{ "abort-on-overflow-1", "accept queue full (2 > backlog 1), tcp_abort_on_overflow=1 -> RST" },
		{ "syn-burst", "full -> SYN cookie (mss 1460), no state kept -> SYN-ACK (cookie from the capture)" },
		{ "syncookies-2", "(tcp_syncookies=2) -> SYN cookie" },
		{ "syncookies-2", "valid SYN cookie (the one the capture's SYN-ACK issued, mss 1460)" },
		{ "synack-retries", ": expire" },
		{ "dup-syn-wrong-ack-rst", "duplicate SYN -> SYN-ACK sent again" },
		{ "dup-syn-wrong-ack-rst", "ack is not the SYN-ACK's ISN+1 -> RST seq=SEG.ACK, request kept" },
		{ "dup-syn-wrong-ack-rst", "in-window RST: request #3 removed silently" },
		{ "listen-strays", "ACK with no request and no valid cookie -> RST seq=SEG.ACK" },
		{ "time-wait-reuse", "TIME_WAIT entry reused by a newer SYN" },
		{ "wildcard", "(wildcard)" },
		{ "wildcard", "(exact address)" },
	};
	size_t i;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		char *out, *err;
		int rc = replay(want[i].capture, "--no-color", &out, &err);

		ck_assert_msg(rc == 0, "%s: exit %d: %s", want[i].capture, rc, err);
		ck_assert_msg(strstr(out, want[i].text) != NULL, "%s: the trace never says \"%s\"",
			      want[i].capture, want[i].text);
		free(out);
		free(err);
	}
}
END_TEST

Suite *fidelity_suite(void)
{
	Suite *s = suite_create("fidelity");
	TCase *tc = tcase_create("kernel");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_verify_every_kernel_capture);
	tcase_add_test(tc, test_trace_names_behaviours);
	suite_add_tcase(s, tc);
	return s;
}
