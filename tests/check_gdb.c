/*
 * check_gdb.c - the debugger walkthrough of docs/debugging.md, run by gdb
 * in batch mode (tests/gdb/walkthrough.gdb) on the -O0 build
 * (build/tcpdemux-gdb, from $TCPDEMUX_GDB), with the pretty-printers of
 * tools/gdb/tcpdemux.py. The values the guide shows are checked here, so
 * the guide cannot go stale. Skipped, with a note, where gdb is missing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "progrun.h"
#include "suites.h"

START_TEST(test_gdb_walkthrough)
{
	static const char *const want[] = {
		"$1 = 10.0.0.2:1234 > 10.0.0.1:80 S seq 112559417 ack 0 len 0",
		"$2 = listener #1 fd 3 10.0.0.1:80: backlog 8, SYN queue 0 [], accept queue 0 []",
		"$3 = {hash = 2001569471, bucket = 34495, walked = 0, result = 4",
		"ehash (65536 buckets; entries: 0):",
		"  listener #1 fd 3 10.0.0.1:80: backlog 8, SYN queue 1 [#2], accept queue 0 []",
		"  [0x86bf] request #2: 10.0.0.1:80 <- 10.0.0.2:1234 SYN_RECV, listener #1",
		"$4 = sock #2 no fd: 10.0.0.1:80 <- 10.0.0.2:1234 SYN_RECV",
		"$5 = backlog 8, SYN queue 0 [], accept queue 1 [#2]",
		"$7 = sock #2 no fd: 10.0.0.1:80 <- 10.0.0.2:1234 ESTABLISHED",
	};
	const char *bin = prog_env("TCPDEMUX_GDB", "build/tcpdemux-gdb");
	char *argv[16], *out, *err;
	char gdb[] = "gdb", b[] = "-batch", nx[] = "-nx", x1[] = "-x", x2[] = "-x", args[] = "--args";
	char py[] = "tools/gdb/tcpdemux.py", walk[256], demo[] = "demo", name[] = "two-clients";
	char seed[] = "--hash-seed", one[] = "1", nc[] = "--no-color", binbuf[512];
	size_t i;
	int rc;

	if (system("command -v gdb > /dev/null 2>&1") != 0) {
		fprintf(stderr, "note: gdb is not installed; the debugger walkthrough test is skipped\n");
		return;
	}
	ck_assert_msg(access(bin, X_OK) == 0, "%s is missing (make gdb-binary builds it)", bin);
	snprintf(walk, sizeof(walk), "%s/gdb/walkthrough.gdb", prog_testdir());
	snprintf(binbuf, sizeof(binbuf), "%s", bin);
	argv[0] = gdb;
	argv[1] = b;
	argv[2] = nx;
	argv[3] = x1;
	argv[4] = py;
	argv[5] = x2;
	argv[6] = walk;
	argv[7] = args;
	argv[8] = binbuf;
	argv[9] = demo;
	argv[10] = name;
	argv[11] = seed;
	argv[12] = one;
	argv[13] = nc;
	argv[14] = NULL;
	rc = prog_runv(argv, &out, &err);
	ck_assert_msg(rc == 0, "gdb exited %d: %s", rc, err);
	ck_assert_msg(strstr(err, "Error") == NULL, "gdb reported an error: %s", err);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		ck_assert_msg(strstr(out, want[i]) != NULL, "the walkthrough no longer prints \"%s\"\n%s", want[i], out);
	free(out);
	free(err);
}
END_TEST

Suite *gdb_suite(void)
{
	Suite *s = suite_create("gdb");
	TCase *tc = tcase_create("walkthrough");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_gdb_walkthrough);
	suite_add_tcase(s, tc);
	return s;
}
