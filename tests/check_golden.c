/*
 * check_golden.c - end-to-end tests of the tcpdemux program.
 *
 * Runs build/tcpdemux (path from $TCPDEMUX, set by `make check`; the
 * helpers that run it are in progrun.h) and compares the two-clients
 * demo's JSON Lines with the committed golden file, then checks the facts
 * the demo exists to show, independently of the golden file: three ehash
 * entries that all share local port 80, and accept() returning them in
 * handshake order. Also the command line's exit statuses and messages.
 *
 * After a deliberate change of output, regenerate with `make golden` and
 * review the diff before committing it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "progrun.h"
#include "suites.h"

/* Copies the string value of "key":"..." from line into val; 0 if found. */
static int json_str(const char *line, const char *key, char *val, size_t len)
{
	char pat[64];
	const char *p, *e;

	snprintf(pat, sizeof(pat), "\"%s\":\"", key);
	p = strstr(line, pat);
	if (!p)
		return -1;
	p += strlen(pat);
	e = strchr(p, '"');
	if (!e || (size_t)(e - p) >= len)
		return -1;
	memcpy(val, p, (size_t)(e - p));
	val[e - p] = '\0';
	return 0;
}

/* Compares one demo's JSON Lines with tests/golden/demo-NAME.jsonl, line by line. */
static void compare_demo(const char *name)
{
	char *out, *gold, path[512], args[128];
	char *o, *g;
	int line = 1, rc;

	snprintf(args, sizeof(args), "demo %s --format json --hash-seed 1", name);
	rc = prog_run(args, &out);
	ck_assert_msg(rc == 0, "demo %s exited %d: %s", name, rc, out);
	snprintf(path, sizeof(path), "%s/golden/demo-%s.jsonl", prog_testdir(), name);
	gold = prog_read_file(path, NULL);
	ck_assert_msg(gold != NULL, "no golden file %s (make golden writes it)", path);
	o = out;
	g = gold;
	while (*o && *g) {
		char *oe = strchr(o, '\n'), *ge = strchr(g, '\n');
		size_t ol = oe ? (size_t)(oe - o) : strlen(o), gl = ge ? (size_t)(ge - g) : strlen(g);

		ck_assert_msg(ol == gl && memcmp(o, g, ol) == 0,
			      "line %d differs from %s:\n got: %.*s\nwant: %.*s", line, path, (int)ol, o,
			      (int)gl, g);
		o += ol + (oe ? 1 : 0);
		g += gl + (ge ? 1 : 0);
		line++;
	}
	ck_assert_msg(*o == '\0' && *g == '\0', "output and %s differ in length at line %d", path, line);
	free(out);
	free(gold);
}

/* Every demo in the catalogue has a golden file, and matches it. */
START_TEST(test_every_demo_golden)
{
	char *list, *p;
	int n = 0;

	ck_assert_int_eq(prog_run("demo", &list), 0);
	p = strchr(list, '\n');
	ck_assert_msg(p != NULL, "demo list: %s", list);
	for (p = p + 1; *p; ) {
		char name[64];
		char *e = strchr(p, '\n');

		if (sscanf(p, " %63s", name) == 1) {
			compare_demo(name);
			n++;
		}
		if (!e)
			break;
		p = e + 1;
	}
	ck_assert_msg(n >= 9, "the catalogue lists %d demos", n);
	free(list);
}
END_TEST

START_TEST(test_two_clients_facts)
{
	char *out, *p, *last_tables = NULL;
	char val[64];
	static const char *const order[] = { "10.0.0.2:1234", "10.0.0.3:5678", "10.0.0.2:1235" };
	int accepts = 0, entries = 0;

	ck_assert_int_eq(prog_run("demo two-clients --format json --hash-seed 1", &out), 0);
	for (p = out; *p; ) {
		char *e = strchr(p, '\n');

		if (e)
			*e = '\0';
		if (strstr(p, "\"type\":\"accept\"")) {
			ck_assert_msg(accepts < 3, "more than three accept events");
			ck_assert_int_eq(json_str(p, "remote", val, sizeof(val)), 0);
			ck_assert_msg(strcmp(val, order[accepts]) == 0, "accept %d returned %s, expected %s",
				      accepts + 1, val, order[accepts]);
			ck_assert_int_eq(json_str(p, "local", val, sizeof(val)), 0);
			ck_assert_msg(strcmp(val, "10.0.0.1:80") == 0,
				      "accepted socket has local %s, not the listener's 10.0.0.1:80", val);
			accepts++;
		}
		if (strstr(p, "\"type\":\"tables\""))
			last_tables = p;
		if (!e)
			break;
		p = e + 1;
	}
	ck_assert_msg(accepts == 3, "%d accept events, expected 3", accepts);
	ck_assert_msg(last_tables != NULL, "no tables line");
	/* The final snapshot: three ehash entries, all on local port 80, distinct remotes. */
	{
		char remotes[3][64];
		const char *q = strstr(last_tables, "\"ehash\":[");

		ck_assert_msg(q != NULL, "tables line has no ehash");
		while ((q = strstr(q, "{\"bucket\"")) != NULL) {
			ck_assert_msg(entries < 3, "more than three ehash entries");
			ck_assert_int_eq(json_str(q, "local", val, sizeof(val)), 0);
			ck_assert_msg(strcmp(val, "10.0.0.1:80") == 0, "ehash entry with local %s", val);
			ck_assert_int_eq(json_str(q, "state", val, sizeof(val)), 0);
			ck_assert_msg(strcmp(val, "ESTABLISHED") == 0, "ehash entry in state %s", val);
			ck_assert_int_eq(json_str(q, "remote", remotes[entries], sizeof(remotes[0])), 0);
			entries++;
			q++;
		}
		ck_assert_msg(entries == 3, "%d ehash entries at the end, expected 3", entries);
		ck_assert_msg(strcmp(remotes[0], remotes[1]) && strcmp(remotes[1], remotes[2]) &&
				      strcmp(remotes[0], remotes[2]),
			      "ehash entries share a remote endpoint");
	}
	free(out);
}
END_TEST

START_TEST(test_demo_deterministic_and_seeded)
{
	char *a, *b, *c;

	ck_assert_int_eq(prog_run("demo two-clients --format json --hash-seed 7", &a), 0);
	ck_assert_int_eq(prog_run("demo two-clients --format json --hash-seed 7", &b), 0);
	ck_assert_int_eq(prog_run("demo two-clients --format json --hash-seed 8", &c), 0);
	ck_assert_msg(strcmp(a, b) == 0, "the same seed gave two different runs");
	ck_assert_msg(strcmp(a, c) != 0, "different seeds gave the same run (seed not used)");
	free(a);
	free(b);
	free(c);
}
END_TEST

START_TEST(test_demo_text_and_buckets)
{
	char *out;

	ck_assert_int_eq(prog_run("demo two-clients --hash-seed 1 --buckets 8 --no-color", &out), 0);
	ck_assert_msg(strstr(out, "ehash (8 buckets, seed 1") != NULL, "text output lacks the ehash header");
	ck_assert_msg(strstr(out, "-> listener #1 10.0.0.1:80 (exact address) -> new request") != NULL,
		      "text output lacks the SYN's lookup path");
	ck_assert_msg(strstr(out, "hit request #2") != NULL, "final ACK does not show the request hit");
	ck_assert_msg(strstr(out, "\033[") == NULL, "--no-color output has escape codes");
	free(out);
}
END_TEST

START_TEST(test_cli_errors)
{
	char *out;

	ck_assert_int_eq(prog_run("demo no-such-demo", &out), 2);
	ck_assert_msg(strstr(out, "no demo called 'no-such-demo'") != NULL, "message: %s", out);
	free(out);
	ck_assert_int_eq(prog_run("demo two-clients --buckets 12", &out), 2);
	ck_assert_msg(strstr(out, "power of two") != NULL, "message: %s", out);
	free(out);
	ck_assert_int_eq(prog_run("demo two-clients --hash-seed -3", &out), 2);
	free(out);
	ck_assert_int_eq(prog_run("demo two-clients --format xml", &out), 2);
	ck_assert_msg(strstr(out, "text or json") != NULL, "message: %s", out);
	free(out);
	ck_assert_int_eq(prog_run("frobnicate", &out), 2);
	ck_assert_msg(strstr(out, "unknown command 'frobnicate'") != NULL, "message: %s", out);
	free(out);
	ck_assert_int_eq(prog_run("", &out), 2);
	free(out);
}
END_TEST

START_TEST(test_cli_help_and_list)
{
	char *out;

	ck_assert_int_eq(prog_run("--help", &out), 0);
	ck_assert_msg(strstr(out, "usage: tcpdemux COMMAND") != NULL, "help: %s", out);
	free(out);
	ck_assert_int_eq(prog_run("demo --help", &out), 0);
	ck_assert_msg(strstr(out, "--hash-seed") != NULL, "demo help: %s", out);
	free(out);
	ck_assert_int_eq(prog_run("demo", &out), 0);
	ck_assert_msg(strstr(out, "two-clients") != NULL, "catalogue: %s", out);
	free(out);
	ck_assert_int_eq(prog_run("demo rst --verbose --hash-seed 5 --format json", &out), 0);
	ck_assert_msg(strstr(out, "tcpdemux: hash seed 5 (--hash-seed 5 repeats this run)") != NULL,
		      "--verbose does not say the seed: %.200s", out);
	free(out);
	ck_assert_int_eq(prog_run("--version", &out), 0);
	ck_assert_msg(strncmp(out, "tcpdemux ", 9) == 0, "version: %s", out);
	free(out);
}
END_TEST


/* Without a terminal, --step refuses with a message (check_terminal.c drives it in one). */
START_TEST(test_step_needs_terminal)
{
	char cmd[1024], buf[4096];
	char *out, *err;
	size_t n;
	FILE *p;

	/* setsid: a new session with no controlling terminal, whoever runs the tests. */
	snprintf(cmd, sizeof(cmd), "setsid -w %s demo backlog --step < /dev/null 2>&1", prog_tcpdemux());
	p = popen(cmd, "r");
	ck_assert_msg(p != NULL, "cannot run setsid");
	n = fread(buf, 1, sizeof(buf) - 1, p);
	buf[n] = '\0';
	ck_assert_msg(WEXITSTATUS(pclose(p)) == 2, "--step without a terminal did not exit 2: %s", buf);
	ck_assert_msg(strstr(buf, "--step reads keys from a terminal") != NULL, "message: %s", buf);
	ck_assert_int_eq(prog_run_split("demo backlog --step --format json", &out, &err), 2);
	ck_assert_msg(strstr(err, "--step shows the text trace") != NULL, "%s", err);
	free(out);
	free(err);
}
END_TEST

Suite *golden_suite(void)
{
	Suite *s = suite_create("golden");
	TCase *tc = tcase_create("program");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_every_demo_golden);
	tcase_add_test(tc, test_two_clients_facts);
	tcase_add_test(tc, test_demo_deterministic_and_seeded);
	tcase_add_test(tc, test_demo_text_and_buckets);
	tcase_add_test(tc, test_cli_errors);
	tcase_add_test(tc, test_cli_help_and_list);
	tcase_add_test(tc, test_step_needs_terminal);
	suite_add_tcase(s, tc);
	return s;
}
