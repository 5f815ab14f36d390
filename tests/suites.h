/*
 * suites.h - every Check suite of the unit-test runner (tests/check_main.c).
 * Each suite lives in its own tests/check_*.c file.
 */
#ifndef TCPDEMUX_SUITES_H
#define TCPDEMUX_SUITES_H

#include <check.h>

Suite *segment_suite(void);
Suite *listen_suite(void);
Suite *ehash_suite(void);
Suite *queue_suite(void);
Suite *tcp_suite(void);
Suite *rst_suite(void);
Suite *timer_suite(void);
Suite *socket_suite(void);
Suite *golden_suite(void);
Suite *demo_suite(void);
Suite *fidelity_suite(void);
Suite *scripts_suite(void);
Suite *synth_suite(void);
Suite *gdb_suite(void);
Suite *replay_suite(void);
Suite *realworld_suite(void);
Suite *replay_rules_suite(void);
Suite *render_suite(void);
Suite *terminal_suite(void);
Suite *live_suite(void);
Suite *pcapng_suite(void);
Suite *capture_suite(void);
Suite *usage_suite(void);
Suite *warnings_suite(void);
Suite *ss_nstat_suite(void);
Suite *view_suite(void);
Suite *pool_suite(void);

#endif
