/*
 * check_synth.c - `tcpdemux synth`: the SYN queue stops at its limit and
 * cookies take over under a flood, memory does not grow with the flood,
 * crafted 4-tuples make one long chain only under the seed they were
 * crafted for, --seed makes runs identical, and a --write capture replays
 * with every segment matching.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "progrun.h"
#include "suites.h"

static double num_after(const char *text, const char *key)
{
	const char *p = strstr(text, key);

	ck_assert_msg(p != NULL, "no \"%s\" in %s", key, text);
	return strtod(p + strlen(key), NULL);
}

START_TEST(test_syn_flood_queue_and_cookies)
{
	char *out, *err;
	int rc = prog_run_split("synth --syn-flood 100000 --listen 10.0.0.1:80,backlog=128 --quiet --seed 1",
				&out, &err);

	ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
	/* backlog+1 requests, then cookies for every other SYN */
	ck_assert_msg(num_after(out, "SYN queue peaked at ") == 129.0, "%s", out);
	ck_assert_msg(num_after(out, "TCPReqQFullDoCookies=") == 99871.0, "%s", out);
	ck_assert_msg(num_after(out, "SyncookiesSent=") == 99871.0, "%s", out);
	ck_assert_msg(num_after(out, "0 established, ") == 129.0, "requests: %s", out);
	free(out);
	free(err);
}
END_TEST

START_TEST(test_syn_flood_memory_flat)
{
	char *a, *b, *err;
	double small, big;

	ck_assert_int_eq(prog_run_split("synth --syn-flood 10000 --listen 10.0.0.1:80,backlog=128 --quiet --seed 2",
					&a, &err), 0);
	free(err);
	ck_assert_int_eq(prog_run_split("synth --syn-flood 1000000 --listen 10.0.0.1:80,backlog=128 --quiet --seed 2",
					&b, &err), 0);
	free(err);
	small = num_after(a, "peak RSS ");
	big = num_after(b, "peak RSS ");
	/* A hundred times the SYNs; the state is the same 129 requests. */
	ck_assert_msg(big <= small + 4.0, "peak RSS grew from %.0f MiB to %.0f MiB", small, big);
	ck_assert_msg(num_after(b, "ehash now ") == 129.0, "%s", b);
	free(a);
	free(b);
}
END_TEST

START_TEST(test_hash_flood_needs_the_seed)
{
	char *out, *err;

	ck_assert_int_eq(prog_run_split("synth --hash-flood 300 --hash-seed 1 --quiet", &out, &err), 0);
	ck_assert_msg(num_after(out, "longest chain ") == 300.0, "same seed: %s", out);
	ck_assert_msg(num_after(out, "(at most ") == 300.0, "same seed: %s", out);
	free(out);
	free(err);
	/* The same 4-tuples under another secret spread out. */
	ck_assert_int_eq(prog_run_split("synth --hash-flood 300 --hash-seed 2 --quiet", &out, &err), 0);
	ck_assert_msg(num_after(out, "longest chain ") <= 3.0, "other seed: %s", out);
	ck_assert_msg(strstr(out, "crafted") == NULL, "quiet run printed the trace: %s", out);
	free(out);
	free(err);
}
END_TEST

START_TEST(test_seed_makes_runs_identical)
{
	char *a, *b, *c, *err;

	ck_assert_int_eq(prog_run_split("synth --clients 20 --seed 7 --format json", &a, &err), 0);
	free(err);
	ck_assert_int_eq(prog_run_split("synth --clients 20 --seed 7 --format json", &b, &err), 0);
	free(err);
	ck_assert_int_eq(prog_run_split("synth --clients 20 --seed 8 --format json", &c, &err), 0);
	free(err);
	ck_assert_msg(strcmp(a, b) == 0, "--seed 7 twice gave two runs");
	ck_assert_msg(strcmp(a, c) != 0, "--seed 7 and 8 gave the same run");
	ck_assert_msg(strstr(a, "\"PassiveOpens\":20") != NULL, "20 clients did not all connect");
	free(a);
	free(b);
	free(c);
}
END_TEST

START_TEST(test_write_replays_identically)
{
	char path[] = "/tmp/tcpdemux-synthXXXXXX", cmd[256], *out, *err;
	int fd = mkstemp(path);

	ck_assert_msg(fd >= 0, "mkstemp");
	close(fd);
	snprintf(cmd, sizeof(cmd), "synth --clients 30 --data 3000 --seed 4 --quiet --write %s", path);
	ck_assert_int_eq(prog_run_split(cmd, &out, &err), 0);
	free(out);
	free(err);
	snprintf(cmd, sizeof(cmd), "replay %s --verify --quiet --format json", path);
	ck_assert_int_eq(prog_run_split(cmd, &out, &err), 0);
	/* Every class agrees: the stack answers the recorded clients as it did. */
	ck_assert_msg(strstr(out, "\"control\":{\"expected\":60,\"matched\":60") != NULL, "%s", out);
	ck_assert_msg(num_after(strstr(out, "\"data\":{"), "\"agreement\":") == 1.0, "%s", out);
	ck_assert_msg(num_after(strstr(out, "\"ack\":{"), "\"agreement\":") == 1.0, "%s", out);
	free(out);
	free(err);
	unlink(path);
}
END_TEST

START_TEST(test_bad_options)
{
	static const char *const bad[] = {
		"synth",
		"synth --clients 0",
		"synth --clients 5 --syn-flood 5",
		"synth --syn-flood 10 --rate -3",
		"synth --clients 5 --data 99999999",
		"synth --clients 5 --concurrent 0",
		"synth --clients 5 --listen nowhere",
		"synth --clients 5 --sysctl net.ipv4.tcp_syncookies=9",
		"synth --clients 5 extra",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *out, *err;
		int rc = prog_run_split(bad[i], &out, &err);

		ck_assert_msg(rc == 2, "'%s' exited %d", bad[i], rc);
		ck_assert_msg(strncmp(err, "tcpdemux: ", 10) == 0 && strchr(err, '\n') == err + strlen(err) - 1,
			      "'%s': stderr is not one message line: %s", bad[i], err);
		free(out);
		free(err);
	}
}
END_TEST

Suite *synth_suite(void)
{
	Suite *s = suite_create("synth");
	TCase *tc = tcase_create("generators");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_syn_flood_queue_and_cookies);
	tcase_add_test(tc, test_syn_flood_memory_flat);
	tcase_add_test(tc, test_hash_flood_needs_the_seed);
	tcase_add_test(tc, test_seed_makes_runs_identical);
	tcase_add_test(tc, test_write_replays_identically);
	tcase_add_test(tc, test_bad_options);
	suite_add_tcase(s, tc);
	return s;
}
