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

#include "progrun.h"
#include "suites.h"

/* Calls fn on each line of text (the text is modified in place). */
static void each_line(char *text, void (*fn)(void *ctx, const char *line), void *ctx)
{
	char *p = text;

	while (*p) {
		char *e = strchr(p, '\n');

		if (e)
			*e = '\0';
		fn(ctx, p);
		if (!e)
			break;
		p = e + 1;
	}
}

struct demo_facts {
	const char *name;
	long long inbound;   /* segments received, by their numbers */
	int outbound, calls;
};

static void check_line(void *ctx, const char *line)
{
	struct demo_facts *f = ctx;
	char val[64];
	long long n;

	if (strstr(line, "\"type\":\"segment\"") && strstr(line, "\"dir\":\"in\"")) {
		ck_assert_msg(prog_json_int(line, "n", &n) == 0, "demo %s: inbound segment without a number: %s",
			      f->name, line);
		ck_assert_msg(n == f->inbound + 1, "demo %s: inbound segment #%lld follows #%lld", f->name, n,
			      f->inbound);
		f->inbound = n;
	} else if (strstr(line, "\"type\":\"segment\"")) {
		f->outbound++;
	}
	if (strstr(line, "\"type\":\"call\"")) {
		ck_assert_msg(prog_json_str(line, "who", val, sizeof(val)) == 0, "demo %s: call without who: %s",
			      f->name, line);
		ck_assert_msg(strcmp(val, "server") == 0 || strcmp(val, "client") == 0,
			      "demo %s: a call labelled \"%s\": %s", f->name, val, line);
		f->calls++;
	}
}

/* Runs one demo as JSON and checks its numbering and labels; returns what it counted. */
static struct demo_facts demo_facts(const char *name)
{
	struct demo_facts f = { name, 0, 0, 0 };
	char args[128], *out, *err;

	snprintf(args, sizeof(args), "demo %s --format json --hash-seed 1", name);
	ck_assert_msg(prog_run_split(args, &out, &err) == 0, "demo %s failed: %s", name, err);
	ck_assert_msg(err[0] == '\0', "demo %s wrote to stderr: %s", name, err);
	each_line(out, check_line, &f);
	free(out);
	free(err);
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

struct port_facts {
	int in, out;
};

static void rst_line(void *ctx, const char *line)
{
	struct port_facts *p = ctx;
	long long port;

	if (!strstr(line, "\"type\":\"segment\""))
		return;
	if (strstr(line, "\"dir\":\"in\"")) {
		ck_assert_int_eq(prog_json_int(line, "dport", &port), 0);
		ck_assert_msg(port == 81, "the rst demo sends a segment to port %lld: %s", port, line);
		p->in++;
	} else {
		ck_assert_int_eq(prog_json_int(line, "sport", &port), 0);
		ck_assert_msg(port == 81, "the rst demo answers from port %lld: %s", port, line);
		p->out++;
	}
}

START_TEST(test_rst_demo_port_81)
{
	struct port_facts p = { 0, 0 };
	char *out;

	ck_assert_int_eq(prog_run("demo rst --format json --hash-seed 1", &out), 0);
	each_line(out, rst_line, &p);
	/* Ten strays; the two RSTs among them get no answer. */
	ck_assert_int_eq(p.in, 10);
	ck_assert_int_eq(p.out, 8);
	free(out);
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
	char *out, *err, *p;
	size_t i;
	int accepts = 0;

	ck_assert_int_eq(prog_run_split("demo two-clients --max-sockets 2 --hash-seed 1 --no-color", &out, &err), 0);
	ck_assert_msg(err[0] == '\0', "stderr: %s", err);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		ck_assert_msg(strstr(out, want[i]) != NULL, "the limited run does not print \"%s\":\n%s", want[i], out);
	ck_assert_msg(strstr(out, "EBADF") == NULL, "a call on a descriptor that does not exist:\n%s", out);
	for (p = out; (p = strstr(p, "server: accept(3) = ")) != NULL; p++)
		accepts++;
	ck_assert_msg(accepts == 2, "%d accept() calls, expected one that succeeds and one EAGAIN", accepts);
	free(out);
	free(err);
	/* The default run is untouched: all three get in. */
	ck_assert_int_eq(prog_run("demo two-clients --hash-seed 1 --no-color", &out), 0);
	ck_assert_msg(strstr(out, "== every connection has local 10.0.0.1:80") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "SocketLimit") == NULL, "the default run met a socket limit:\n%s", out);
	free(out);
}
END_TEST

START_TEST(test_scripted_demo_needs_sockets)
{
	char *out, *err;

	ck_assert_int_eq(prog_run_split("demo backlog --max-sockets 3", &out, &err), 2);
	ck_assert_str_eq(err, "tcpdemux: demo backlog needs --max-sockets 6 or more: it is a fixed scenario, "
			      "and a refused connection would break it (two-clients and hash-flood show the limit "
			      "at work)\n");
	ck_assert_msg(out[0] == '\0', "a refused demo printed its trace: %s", out);
	free(out);
	free(err);
	/* The bound named is the least: 6 runs, 5 does not. */
	ck_assert_int_eq(prog_run_split("demo backlog --max-sockets 6 --format json", &out, &err), 0);
	ck_assert_msg(err[0] == '\0', "stderr: %s", err);
	free(out);
	free(err);
	ck_assert_int_eq(prog_run_split("demo backlog --max-sockets 5", &out, &err), 2);
	ck_assert_msg(strstr(err, "needs --max-sockets 6 or more") != NULL, "%s", err);
	free(out);
	free(err);
	/* A demo that holds no socket at all runs under any limit. */
	ck_assert_int_eq(prog_run_split("demo rst --max-sockets 1 --format json", &out, &err), 0);
	ck_assert_msg(err[0] == '\0', "stderr: %s", err);
	free(out);
	free(err);
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
