/*
 * check_scripts.c - the scenario suite: every tests/scripts/NAME.pkt runs
 * under `tcpdemux script` (with the options in NAME.args beside it, if
 * any) and must pass; and the script runner itself
 * must refuse bad syntax (exit 2, FILE:LINE) and report a failed
 * expectation (exit 1, FILE:LINE and what the stack did instead).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "progrun.h"
#include "suites.h"

START_TEST(test_every_scenario_passes)
{
	char dir[512], q[700], cmd[900];
	struct dirent *d;
	DIR *dp;
	int n = 0;

	snprintf(dir, sizeof(dir), "%s/scripts", prog_testdir());
	dp = opendir(dir);
	ck_assert_msg(dp != NULL, "cannot open %s", dir);
	while ((d = readdir(dp)) != NULL) {
		size_t len = strlen(d->d_name);
		char path[800], args_path[800], *out, *err, *args;
		int rc;

		if (len < 5 || strcmp(d->d_name + len - 4, ".pkt") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		snprintf(args_path, sizeof(args_path), "%s/%.*s.args", dir, (int)(len - 4), d->d_name);
		args = access(args_path, R_OK) == 0 ? prog_read_file(args_path, NULL) : NULL;
		if (args)
			args[strcspn(args, "\n")] = '\0';
		snprintf(cmd, sizeof(cmd), "script %s --quiet --hash-seed 1 %s", prog_quote(path, q, sizeof(q)),
			 args ? args : "");
		free(args);
		rc = prog_run_split(cmd, &out, &err);
		ck_assert_msg(rc == 0, "%s failed (exit %d): %s", d->d_name, rc, err);
		free(out);
		free(err);
		n++;
	}
	closedir(dp);
	ck_assert_msg(n >= 17, "only %d scenarios under %s", n, dir);
}
END_TEST

/* Writes text to a temporary .pkt file and runs it; returns the exit status. */
static int run_text(const char *text, char **out, char **err)
{
	char path[] = "/tmp/tcpdemux-scriptXXXXXX", q[128], cmd[256];
	int fd = mkstemp(path), rc;
	FILE *f;

	ck_assert_msg(fd >= 0, "mkstemp failed");
	f = fdopen(fd, "w");
	ck_assert_msg(f != NULL, "fdopen failed");
	fputs(text, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "script %s --quiet --hash-seed 1", prog_quote(path, q, sizeof(q)));
	rc = prog_run_split(cmd, out, err);
	unlink(path);
	return rc;
}

START_TEST(test_syntax_errors)
{
	static const struct {
		const char *text;
		const char *says;
	} cases[] = {
		{ "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\nbogus line\n", ":2: expected a time" },
		{ "0 < Q 0:0(0) win 1\n", ":1: expected TCP flags" },
		{ "0 < S 0:5(2) win 1\n", ":1: expected END - START equal to LENGTH" },
		{ "0 < . 1:1(0) win 99999999\n", ":1: expected a window from 0 to 65535, got '99999999'" },
		{ "0 foo(3) = 0\n", ":1: not modelled: the call foo() (socket, " },
		{ "0 `rm -rf /tmp/x`\n", ":1: not modelled: the shell command 'rm'" },
		{ "0 getsockopt(3, SOL_SOCKET, SO_PEERCRED, [0], [4]) = 0\n",
		  ":1: not modelled: getsockopt(SOL_SOCKET, SO_PEERCRED)" },
		{ "0 < S 0:0(0) win 1 <mss 1460,md5 0123>\n", ":1: not modelled: the TCP option 'md5'" },
		{ "--wire_server\n0 close(3) = 0\n", ":1: packetdrill's option --wire_server is not modelled" },
		{ "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n%{ import os }%\n",
		  ":2: not modelled: the Python statement 'import os'" },
		{ "%{ assert tcpi_rwnd_limited == 0 }%\n", ":1: not modelled: the tcp_info field tcpi_rwnd_limited" },
		{ "`sysctl -q net.ipv4.tcp_syncookies=7`\n", ":1: --sysctl net.ipv4.tcp_syncookies: value must be" },
		{ "`./no-such-profile.sh`\n", ":1: the command './no-such-profile.sh'" },
		/* $((...)) past long long is refused, as a division by 0 is (no signed overflow) */
		{ "`sysctl -q net.ipv4.tcp_rmem=\"4096 540000 $((9223372036854775807 + 1))\"`\n", ":1: shell arithmetic" },
		{ "`sysctl -q net.ipv4.tcp_rmem=\"4096 540000 $((719607 * 8488888888888888824))\"`\n", ":1: shell arithmetic" },
		{ "0 close(3) = 0\n--tolerance_usecs=5\n", ":2: expected option lines before the first statement" },
		{ "0 < S 0:0(0) win 1 <mss 1460,bogus>\n", ":1: expected a TCP option" },
		{ "0 accept(3, ..., ...) = -1 ENOTANERROR\n", ":1: expected an errno name" },
		{ "0 accept(3, ..., ...)\n", ":1: expected '= RESULT'" },
		{ "+0.5...0.1 accept(3, ..., ...) = 4\n", ":1: expected the end of the time range" },
		{ "/* never closed\n0 close(3) = 0\n", ": expected '*/'" },
		{ "0 @nowhere < S 0:0(0) win 1\n", ":1: expected @ADDR:PORT" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *out, *err;
		int rc = run_text(cases[i].text, &out, &err);

		ck_assert_msg(rc == 2, "case %zu: exit %d, expected 2 (stderr: %s)", i, rc, err);
		ck_assert_msg(strstr(err, cases[i].says) != NULL, "case %zu: stderr \"%s\" lacks \"%s\"", i, err,
			      cases[i].says);
		ck_assert_msg(strchr(err, '\n') == err + strlen(err) - 1, "case %zu: not one line: %s", i, err);
		free(out);
		free(err);
	}
}
END_TEST

START_TEST(test_failed_expectations)
{
	static const struct {
		const char *text;
		const char *says;
	} cases[] = {
		/* The SYN-ACK acks 1, not 2. */
		{ "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 bind(3, ..., ...) = 0\n+0 listen(3, 1) = 0\n"
		  "+0 < S 0:0(0) win 65535 <mss 1460>\n+0 > S. 0:0(0) ack 2 <mss 1460>\n",
		  ":5: expected S. 0:0(0) ack 2 <mss 1460>, actual S. 0:0(0) ack 1 win 64240 <mss 1460> at 0.000000 s: its ack number differs" },
		/* Nothing listens: the RST comes although the script expects nothing and sends again. */
		{ "0 < S 0:0(0) win 65535\n+0 < . 1:1(0) ack 1 win 65535\n",
		  ":2: before this line the stack sent an unexpected segment: R. 0:0(0) ack 1 win 0" },
		/* A wrong result (listen() binds an unbound socket itself). */
		{ "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 listen(3, 1) = -1 EINVAL\n",
		  ":2: expected listen(3, 1) = -1 EINVAL, actual 0" },
		/* A descriptor is any number the stack returns (packetdrill maps them); an error is not one. */
		{ "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 7\n+0 close(3) = 0\n",
		  ":2: expected close(3) = 0, actual -1 EBADF" },
		/* An expected segment that never comes. */
		{ "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 bind(3, ..., ...) = 0\n+0 listen(3, 1) = 0\n"
		  "+1 > S. 0:0(0) ack 1 <...>\n",
		  ":4: expected S. 0:0(0) ack 1 <...> by 1.125000 s (4 ms or 12.5 % of the wait), actual: the stack sent nothing" },
		/* Options differ. */
		{ "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 bind(3, ..., ...) = 0\n+0 listen(3, 1) = 0\n"
		  "+0 < S 0:0(0) win 65535 <mss 1460,sackOK,nop,wscale 7>\n+0 > S. 0:0(0) ack 1 <mss 1460>\n",
		  ":5: expected S. 0:0(0) ack 1 <mss 1460>, actual S. 0:0(0) ack 1 win 64240 "
		  "<mss 1460,nop,nop,sackOK,nop,wscale 7> at 0.000000 s: its options differ" },
		/* A tcp_info assertion that does not hold says what the field was. */
		{ "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 %{ assert tcpi_state == TCP_LISTEN }%\n",
		  ":2: expected assert tcpi_state == TCP_LISTEN, actual: tcpi_state is 7" },
		/* A blocking accept that nothing completes. */
		{ "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 bind(3, ..., ...) = 0\n+0 listen(3, 1) = 0\n"
		  "+0...0.1 accept(3, ..., ...) = 4\n",
		  ":4: the blocking call never returned" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *out, *err;
		int rc = run_text(cases[i].text, &out, &err);

		ck_assert_msg(rc == 1, "case %zu: exit %d, expected 1 (stderr: %s)", i, rc, err);
		ck_assert_msg(strstr(err, cases[i].says) != NULL, "case %zu: stderr \"%s\" lacks \"%s\"", i, err,
			      cases[i].says);
		free(out);
		free(err);
	}
}
END_TEST

/*
 * A '>' line's endpoints are checked like its other fields: the segment must
 * leave the local end the line names and go to the remote end it names.
 * The listener is 192.168.0.1:8080 and the SYN comes from 192.0.2.1:40000.
 */
START_TEST(test_endpoint_mismatch)
{
#define LISTENER_AND_SYN \
	"0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 bind(3, ..., ...) = 0\n+0 listen(3, 1) = 0\n" \
	"+0 < S 0:0(0) win 65535 <mss 1460>\n"
	static const struct {
		const char *text;
		int rc;
		const char *says;
	} cases[] = {
		/* Both ends named as they are: passes. */
		{ LISTENER_AND_SYN "+0 @192.0.2.1:40000>192.168.0.1:8080 > S. 0:0(0) ack 1 <...>\n", 0, "" },
		{ LISTENER_AND_SYN "+0 @192.0.2.1:40000>192.168.0.1:8081 > S. 0:0(0) ack 1 <...>\n", 1,
		  ":5: expected a segment 192.168.0.1:8081 > 192.0.2.1:40000, actual 192.168.0.1:8080 > 192.0.2.1:40000" },
		{ LISTENER_AND_SYN "+0 @192.0.2.1:40000>192.168.0.2:8080 > S. 0:0(0) ack 1 <...>\n", 1,
		  ":5: expected a segment 192.168.0.2:8080 > 192.0.2.1:40000, actual 192.168.0.1:8080 > 192.0.2.1:40000" },
		{ LISTENER_AND_SYN "+0 @192.0.2.1:40001 > S. 0:0(0) ack 1 <...>\n", 1,
		  ":5: expected a segment 192.168.0.1:8080 > 192.0.2.1:40001, actual 192.168.0.1:8080 > 192.0.2.1:40000" },
		{ LISTENER_AND_SYN "+0 @192.0.2.9:40000 > S. 0:0(0) ack 1 <...>\n", 1,
		  ":5: expected a segment 192.168.0.1:8080 > 192.0.2.9:40000, actual 192.168.0.1:8080 > 192.0.2.1:40000" },
	};
#undef LISTENER_AND_SYN
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *out, *err;
		int rc = run_text(cases[i].text, &out, &err);

		ck_assert_msg(rc == cases[i].rc, "case %zu: exit %d, expected %d (stderr: %s)", i, rc, cases[i].rc,
			      err);
		ck_assert_msg(strstr(err, cases[i].says) != NULL, "case %zu: stderr \"%s\" lacks \"%s\"", i, err,
			      cases[i].says);
		free(out);
		free(err);
	}
}
END_TEST

START_TEST(test_sysctl_knobs)
{
	char *out, *err;

	ck_assert_int_eq(run_text("`sysctl -q net.ipv4.no_such_knob=1`\n", &out, &err), 2);
	ck_assert_msg(strstr(err, ":1: --sysctl: 'net.ipv4.no_such_knob' is not a knob") != NULL, "%s", err);
	free(out);
	free(err);
	/* A Linux knob the stack does not model: ignored in a profile, refused on the command line. */
	ck_assert_int_eq(prog_run_split("script /dev/null --sysctl net.ipv4.tcp_frto=2", &out, &err), 2);
	ck_assert_msg(strstr(err, "'net.ipv4.tcp_frto' is a Linux knob the stack does not model") != NULL, "%s", err);
	free(out);
	free(err);
	ck_assert_int_eq(run_text("`sysctl -q net.ipv4.tcp_syncookies=7`\n", &out, &err), 2);
	ck_assert_msg(strstr(err, "from 0 to 2") != NULL, "%s", err);
	free(out);
	free(err);
	/* --verbose lists what a profile set that the stack does not model. */
	{
		char cmd[600], q[512], path[512];

		snprintf(path, sizeof(path), "%s/scripts/front-end.pkt", prog_testdir());
		snprintf(cmd, sizeof(cmd), "script %s --quiet --verbose", prog_quote(path, q, sizeof(q)));
		ck_assert_int_eq(prog_run_split(cmd, &out, &err), 0);
		ck_assert_msg(strstr(err, "front-end.pkt:6: not modelled, ignored: net.ipv4.tcp_frto=2") != NULL, "%s", err);
		free(out);
		free(err);
	}
	/* A knob given on the command line is in force from the start. */
	ck_assert_int_eq(prog_run_split("script /dev/null --sysctl net.ipv4.tcp_syncookies=3", &out, &err), 2);
	free(out);
	free(err);
}
END_TEST

Suite *scripts_suite(void)
{
	Suite *s = suite_create("scripts");
	TCase *tc = tcase_create("scenarios");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_every_scenario_passes);
	tcase_add_test(tc, test_syntax_errors);
	tcase_add_test(tc, test_failed_expectations);
	tcase_add_test(tc, test_endpoint_mismatch);
	tcase_add_test(tc, test_sysctl_knobs);
	suite_add_tcase(s, tc);
	return s;
}
