/*
 * check_warnings.c - contradictions between the input and the options
 * (issue 15, item 5): each gets one line, never a silent wrong answer.
 *
 *   v6only     synth --listen [::]:80 takes the IPv4 clients, as Linux's
 *              [::] listener does with net.ipv6.bindv6only=0, and resets
 *              them with bindv6only=1.
 *
 * Runs build/tcpdemux (replaytest.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

Suite *warnings_suite(void)
{
	Suite *s = suite_create("warnings");
	TCase *tc = tcase_create("v6only");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_v6_listener_takes_ipv4);
	suite_add_tcase(s, tc);
	return s;
}
