/*
 * check_main.c - runs every Check suite and prints Check's summary line
 * ("100%: Checks: N, Failures: 0, Errors: 0"), which CI reads.
 * Exit status 0 only when every check passed.
 */
#include <stdlib.h>

#include "suites.h"

int main(void)
{
	SRunner *sr = srunner_create(segment_suite());
	int failed;

	srunner_add_suite(sr, ehash_suite());
	srunner_add_suite(sr, listen_suite());
	srunner_add_suite(sr, queue_suite());
	srunner_add_suite(sr, pool_suite());
	srunner_add_suite(sr, tcp_suite());
	srunner_add_suite(sr, rst_suite());
	srunner_add_suite(sr, timer_suite());
	srunner_add_suite(sr, socket_suite());
	srunner_add_suite(sr, golden_suite());
	srunner_add_suite(sr, demo_suite());
	srunner_add_suite(sr, fidelity_suite());
	srunner_add_suite(sr, scripts_suite());
	srunner_add_suite(sr, synth_suite());
	srunner_add_suite(sr, gdb_suite());
	srunner_add_suite(sr, replay_suite());
	srunner_add_suite(sr, realworld_suite());
	srunner_add_suite(sr, replay_rules_suite());
	srunner_add_suite(sr, render_suite());
	srunner_add_suite(sr, terminal_suite());
	srunner_add_suite(sr, live_suite());
	srunner_add_suite(sr, pcapng_suite());
	srunner_add_suite(sr, capture_suite());
	srunner_add_suite(sr, usage_suite());
	srunner_add_suite(sr, warnings_suite());
	srunner_add_suite(sr, ss_nstat_suite());
	srunner_add_suite(sr, view_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
