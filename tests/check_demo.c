/*
 * check_demo.c - what the built-in demos tell an audience, checked on the
 * program's JSON Lines (build/tcpdemux, as check_golden.c runs it).
 *
 * Covers: every demo numbers the segments the server receives 1, 2, 3...
 * in the order they arrive, and labels each application call "server" or
 * "client" (never the script runner's "script"); the rst demo sends every
 * segment to port 81, as its own text says; two-clients under
 * --max-sockets shows the refused SYNs, the send() that fails on a
 * connection that never opened, and the narration that explains both; a
 * scripted demo refuses a --max-sockets below what it needs, in one line
 * that names the least limit it runs with.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replaytest.h"
#include "suites.h"

struct demo_facts {
	long long inbound; /* segments received, by their numbers */
	int calls;
};

/*
 * Runs one demo as JSON; checks that its inbound segments are numbered
 * 1, 2, 3... and that every call is the server's or a client's.
 */
static struct demo_facts demo_facts(const char *name)
{
	struct demo_facts f = { 0, 0 };
	struct run r;
	char who[64], where[96];
	int i;

	run_json(&r, "demo %s --format json --hash-seed 1", name);
	run_ok(&r);
	for (i = 0; i < r.l.n; i++) {
		const struct jobj *o = &r.l.obj[i];

		fmt_cut(where, sizeof(where), "demo %s line %d", name, i + 1);
		if (is_seg(o, "in")) {
			long long n = j_int(o, "n", where);

			ck_assert_msg(n == f.inbound + 1, "%s: inbound segment #%lld follows #%lld", where, n,
				      f.inbound);
			f.inbound = n;
		}
		if (j_is(o, "type", "call")) {
			ck_assert_msg(j_str(o, "who", who, sizeof(who)) != NULL, "%s: a call without who", where);
			ck_assert_msg(strcmp(who, "server") == 0 || strcmp(who, "client") == 0,
				      "%s: a call labelled \"%s\": %s", where, who, r.l.line[i]);
			f.calls++;
		}
	}
	run_free(&r);
	return f;
}

START_TEST(test_demo_numbers_and_labels)
{
	/* Inbound segments of each demo (its golden file has the rest). */
	static const struct {
		const char *name;
		long long inbound;
	} demos[] = {
		{ "two-clients", 9 }, { "backlog", 14 }, { "syn-queue", 9 }, { "cookies", 5 },
		{ "rst", 10 }, { "time-wait", 7 }, { "reuseport", 9 }, { "hash-flood", 48 },
		{ "wildcard", 3 },
	};
	size_t i;
	int calls = 0;

	for (i = 0; i < sizeof(demos) / sizeof(demos[0]); i++) {
		struct demo_facts f = demo_facts(demos[i].name);

		ck_assert_msg(f.inbound == demos[i].inbound, "demo %s: %lld segments in, expected %lld",
			      demos[i].name, f.inbound, demos[i].inbound);
		calls += f.calls;
	}
	ck_assert_msg(calls > 50, "only %d calls in all the demos: the labels went unchecked", calls);
}
END_TEST

START_TEST(test_rst_demo_port_81)
{
	struct run r;
	int i, in = 0, out = 0;

	run_json(&r, "demo rst --format json --hash-seed 1");
	run_ok(&r);
	for (i = 0; i < r.l.n; i++) {
		const struct jobj *o = &r.l.obj[i];

		if (is_seg(o, "in")) {
			ck_assert_msg(j_int(o, "dport", "rst demo") == 81, "a segment to another port: %s", r.l.line[i]);
			in++;
		} else if (is_seg(o, "out")) {
			ck_assert_msg(j_int(o, "sport", "rst demo") == 81, "an answer from another port: %s",
				      r.l.line[i]);
			out++;
		}
	}
	/* Ten strays; the two RSTs among them get no answer. */
	ck_assert_int_eq(in, 10);
	ck_assert_int_eq(out, 8);
	run_free(&r);
}
END_TEST

START_TEST(test_two_clients_socket_limit)
{
	static const char *const want[] = {
		"== 2 SYNs got no answer: the server holds its --max-sockets 2 sockets already, so it drops them (SocketLimit)",
		"client: send(3, \"GET / ...\", 18) = 18  the request of 10.0.0.2:1234",
		"client: send(4, \"GET / ...\", 18) = -1 EAGAIN  10.0.0.3:5678 is not connected: its SYN got no answer",
		"client: send(5, \"GET / ...\", 18) = -1 EAGAIN  10.0.0.2:1235 is not connected: its SYN got no answer",
		"server: accept(3) = 4  new fd 4: local 10.0.0.1:80, remote 10.0.0.2:1234",
		"server: accept(3) = -1 EAGAIN  accept queue empty",
		"== 2 of the 3 clients got no connection; every accepted one has local 10.0.0.1:80",
		"counters: PassiveOpens=1 InSegs=5 OutSegs=2 SocketLimit=2",
	};
	struct run r;
	const char *p;
	size_t i;
	int accepts = 0;

	run_plain(&r, "demo two-clients --max-sockets 2 --hash-seed 1 --no-color");
	run_ok(&r);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		ck_assert_msg(strstr(r.out, want[i]) != NULL, "the limited run does not print \"%s\":\n%.3000s", want[i],
			      r.out);
	ck_assert_msg(strstr(r.out, "EBADF") == NULL, "a call on a descriptor that does not exist:\n%.3000s", r.out);
	for (p = r.out; (p = strstr(p, "server: accept(3) = ")) != NULL; p++)
		accepts++;
	ck_assert_msg(accepts == 2, "%d accept() calls, expected one that succeeds and one EAGAIN", accepts);
	run_free(&r);
	/* The default run is untouched: all three get in. */
	run_plain(&r, "demo two-clients --hash-seed 1 --no-color");
	run_ok(&r);
	ck_assert_msg(strstr(r.out, "== every connection has local 10.0.0.1:80") != NULL, "%.3000s", r.out);
	ck_assert_msg(strstr(r.out, "SocketLimit") == NULL, "the default run met a socket limit:\n%.3000s", r.out);
	run_free(&r);
}
END_TEST

START_TEST(test_scripted_demo_needs_sockets)
{
	struct run r;

	run_plain(&r, "demo backlog --max-sockets 3");
	run_refused(&r, "tcpdemux: demo backlog needs --max-sockets 6 or more: it is a fixed scenario",
		    "(two-clients and hash-flood show the limit at work)");
	ck_assert_msg(r.out[0] == '\0', "a refused demo printed its trace: %.3000s", r.out);
	run_free(&r);
	/* The bound named is the least: 5 is refused, 6 runs. */
	run_plain(&r, "demo backlog --max-sockets 5");
	run_refused(&r, "needs --max-sockets 6 or more", NULL);
	run_free(&r);
	run_json(&r, "demo backlog --max-sockets 6 --format json");
	run_ok(&r);
	run_free(&r);
	/* A demo that holds no socket at all runs under any limit. */
	run_json(&r, "demo rst --max-sockets 1 --format json");
	run_ok(&r);
	run_free(&r);
}
END_TEST

Suite *demo_suite(void)
{
	Suite *s = suite_create("demo");
	TCase *tc = tcase_create("audience");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_demo_numbers_and_labels);
	tcase_add_test(tc, test_rst_demo_port_81);
	tcase_add_test(tc, test_two_clients_socket_limit);
	tcase_add_test(tc, test_scripted_demo_needs_sockets);
	suite_add_tcase(s, tc);
	return s;
}
