/*
 * check_usage.c - tcpdemux as an installed program (issue 15, item 7):
 *
 *   install   `make install PREFIX=TMP` gives a tcpdemux that runs like
 *             build/tcpdemux, a manual page `man tcpdemux` shows without a
 *             warning, the gdb and Wireshark helpers and the docs; `make
 *             uninstall` removes them;
 *   manual    the page names every command and every option replay's
 *             --help lists;
 *   usage     a bad option or value gets one line naming the option and
 *             the bad part of its value, exit 2; `help TOPIC` knows its
 *             topics and refuses others.
 *
 * make and man run through /bin/sh, with MODE (set by `make check`) passed
 * on so that installing does not rebuild the binary in another mode.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "replaytest.h"
#include "suites.h"

/* Runs cmd with /bin/sh; its exit status, and stdout and stderr (to free). */
static int sh_run(const char *cmd, char **out, char **err)
{
	char sh[] = "/bin/sh", c[] = "-c";
	char *argv[4];

	argv[0] = sh;
	argv[1] = c;
	argv[2] = (char *)cmd;
	argv[3] = NULL;
	return prog_runv(argv, out, err);
}

static int is_file(const char *path, mode_t mode)
{
	struct stat sb;

	return stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && (sb.st_mode & mode) == mode;
}

/* The installed page, formatted as man shows it (no pager, 80 columns). */
static char *man_page(const char *prefix, char **err)
{
	char cmd[3 * PATH_MAX], qb[2 * PATH_MAX];
	char *out;
	int rc;

	fmt(cmd, sizeof(cmd), "MANPATH=%s/share/man MANWIDTH=80 MANPAGER=cat PAGER=cat man --warnings tcpdemux",
	    q(prefix, qb, sizeof(qb)));
	rc = sh_run(cmd, &out, err);
	ck_assert_msg(rc == 0 && out[0], "%s: exit %d, stderr: %s", cmd, rc, *err);
	return out;
}

START_TEST(test_install)
{
	static const char *const files[] = {
		"share/man/man1/tcpdemux.1", "share/tcpdemux/gdb/tcpdemux.py", "share/tcpdemux/gdb/demo.gdb",
		"share/doc/tcpdemux/README.md", "share/doc/tcpdemux/replay.md", "share/doc/tcpdemux/json.md",
	};
	char prefix[PATH_MAX], bin[PATH_MAX], path[PATH_MAX], cmd[4 * PATH_MAX], qb[2 * PATH_MAX], qb2[2 * PATH_MAX];
	char *out, *err, *want, *page;
	size_t i;
	int rc;

	tmp_file("prefix", prefix, sizeof(prefix));
	/* MAKEFLAGS is the outer make's (a jobserver it does not share): not passed on. */
	fmt(cmd, sizeof(cmd), "env -u MAKEFLAGS -u MFLAGS make -s --no-print-directory install PREFIX=%s MODE=%s",
	    q(prefix, qb, sizeof(qb)), prog_env("MODE", "release"));
	rc = sh_run(cmd, &out, &err);
	ck_assert_msg(rc == 0, "%s: exit %d, stderr: %s", cmd, rc, err);
	free(out);
	free(err);
	fmt(bin, sizeof(bin), "%s/bin/tcpdemux", prefix);
	ck_assert_msg(is_file(bin, 0755), "%s is not an executable file", bin);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		fmt(path, sizeof(path), "%s/%s", prefix, files[i]);
		ck_assert_msg(is_file(path, 0644), "make install did not install %s", path);
	}

	/* The installed program runs as the built one. */
	fmt(cmd, sizeof(cmd), "%s demo two-clients --format json --hash-seed 1", q(bin, qb, sizeof(qb)));
	rc = sh_run(cmd, &out, &err);
	ck_assert_msg(rc == 0 && err[0] == '\0', "%s: exit %d, stderr: %s", cmd, rc, err);
	ck_assert_int_eq(prog_run("demo two-clients --format json --hash-seed 1", &want), 0);
	ck_assert_msg(strcmp(out, want) == 0, "the installed tcpdemux's demo differs from build/tcpdemux's");
	free(out);
	free(err);
	free(want);

	/* man tcpdemux, from the installed tree, without a formatting warning. */
	page = man_page(prefix, &err);
	ck_assert_msg(err[0] == '\0', "man warns about the page: %s", err);
	ck_assert_msg(strstr(page, "EXIT STATUS") && strstr(page, "tcpdemux replay") && strstr(page, "SYNOPSIS"),
		      "man tcpdemux does not show the page:\n%.2000s", page);
	free(page);
	free(err);

	/* The gdb helpers load from where they were installed. */
	fmt(path, sizeof(path), "%s/share/tcpdemux/gdb/tcpdemux.py", prefix);
	fmt(cmd, sizeof(cmd), "gdb -nx -batch -x %s -ex 'help tcpdemux-tables' %s", q(path, qb, sizeof(qb)),
	    q(bin, qb2, sizeof(qb2)));
	rc = sh_run(cmd, &out, &err);
	ck_assert_msg(rc == 0 && strstr(out, "tcpdemux-tables") && !strstr(err, "Error"),
		      "%s: exit %d, stdout %s, stderr %s", cmd, rc, out, err);
	free(out);
	free(err);

	fmt(cmd, sizeof(cmd), "env -u MAKEFLAGS -u MFLAGS make -s --no-print-directory uninstall PREFIX=%s",
	    q(prefix, qb, sizeof(qb)));
	rc = sh_run(cmd, &out, &err);
	ck_assert_msg(rc == 0, "%s: exit %d, stderr: %s", cmd, rc, err);
	ck_assert_msg(!is_file(bin, 0) && access(prefix, F_OK) == 0, "make uninstall left %s", bin);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		fmt(path, sizeof(path), "%s/%s", prefix, files[i]);
		ck_assert_msg(access(path, F_OK) != 0, "make uninstall left %s", path);
	}
	free(out);
	free(err);
}
END_TEST

/*
 * docs/tcpdemux.1 names every command of `tcpdemux --help` and every
 * option of `tcpdemux replay --help`: the page cannot fall behind.
 */
START_TEST(test_manual_complete)
{
	char cmd[2 * PATH_MAX], qb[2 * PATH_MAX];
	char *page, *help, *err, *p;
	int rc, n = 0;

	fmt(cmd, sizeof(cmd), "MANWIDTH=200 MANPAGER=cat PAGER=cat man --warnings -l %s/../docs/tcpdemux.1",
	    q(prog_testdir(), qb, sizeof(qb)));
	rc = sh_run(cmd, &page, &err);
	ck_assert_msg(rc == 0 && err[0] == '\0', "%s: exit %d, stderr %s", cmd, rc, err);
	free(err);
	ck_assert_int_eq(prog_run("replay --help", &help), 0);
	/* Every "  --name" or "  -x" that starts a line of the help. */
	for (p = help; (p = strstr(p, "\n  -")) != NULL; p++) {
		char name[64];
		size_t k = strcspn(p + 3, " =,\n[");

		if (k >= sizeof(name) || (p[3] != '-' && k != 2))
			continue;
		memcpy(name, p + 3, k);
		name[k] = '\0';
		if (strcmp(name, "-h") == 0)
			continue;
		n++;
		ck_assert_msg(strstr(page, name) != NULL, "replay --help lists %s; the manual page does not", name);
	}
	ck_assert_msg(n >= 15, "only %d options read from replay --help:\n%s", n, help);
	free(help);
	ck_assert_int_eq(prog_run("--help", &help), 0);
	for (p = strstr(help, "commands:"); p && (p = strstr(p, "\n  ")) != NULL; p++) {
		char name[32];
		size_t k = strcspn(p + 3, " \n");

		if (p[3] == '-' || k == 0 || k >= sizeof(name))
			break;
		memcpy(name, p + 3, k);
		name[k] = '\0';
		ck_assert_msg(strstr(page, name) != NULL, "tcpdemux --help lists the command %s; the page does not", name);
	}
	free(help);
	free(page);
}
END_TEST

/* Each bad command line: exit 2, one line, naming the option and the bad part of its value. */
START_TEST(test_usage_errors)
{
	static const struct {
		const char *args, *must1, *must2;
	} cases[] = {
		{ "--bogus", "unknown option '--bogus'", NULL },
		{ "-x", "unknown option '-x'", NULL },
		{ "bogus", "unknown command 'bogus'", NULL },
		{ "help bogus", "no help on 'bogus'", "formats" },
		{ "replay FILE --verify=1", "'--verify' takes no value", "'1'" },
		{ "replay FILE --buckets", "'--buckets' needs a value", NULL },
		{ "replay FILE --verif", "'--verif' is ambiguous", "--verify-checksums" },
		{ "replay FILE --frobnicate", "'--frobnicate' is not known", NULL },
		{ "replay FILE -r", "'-r' needs a value", NULL },
		{ "replay FILE --listen 10.0.0.1:99999", "--listen 10.0.0.1:99999", "port '99999'" },
		{ "replay FILE --listen 10.0.0.1:80,backlog=-1", "--listen", "backlog '-1'" },
		{ "replay FILE --listen 10.0.0.1:80,foo=1", "--listen", "'foo=1' is not a setting" },
		{ "replay FILE --listen ::1:80", "--listen ::1:80", "[::1]:80" },
		{ "replay FILE --listen 10.0.0.256:80", "--listen", "'10.0.0.256' is not an IPv4 or IPv6 address" },
		{ "replay FILE --listen 10.0.0.1", "--listen", "no :PORT" },
		{ "replay FILE --listen 10.0.0.1:80,reuseport=65", "--listen", "reuseport '65'" },
		{ "synth --clients x", "--clients needs a count", "'x'" },
		{ "synth --syn-flood 0", "--syn-flood needs a count", "'0'" },
		{ "synth --hash-flood 2000000", "--hash-flood needs a count from 1 to 1000000", NULL },
		{ "demo two-clients --format xml", "--format", "'xml'" },
	};
	char path[PATH_MAX], qb[2 * PATH_MAX], args[4 * PATH_MAX];
	size_t i;

	q(trace_path("handshake-data-close", path, sizeof(path)), qb, sizeof(qb));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *a = cases[i].args, *f = strstr(a, "FILE");
		struct run r;

		if (f)
			fmt(args, sizeof(args), "%.*s%s%s", (int)(f - a), a, qb, f + 4);
		else
			fmt(args, sizeof(args), "%s", a);
		run_plain(&r, "%s", args);
		run_refused(&r, cases[i].must1, cases[i].must2);
		ck_assert_msg(r.out[0] == '\0', "tcpdemux %s wrote to stdout: %s", r.args, r.out);
		run_free(&r);
	}
}
END_TEST

/* help TOPIC: each topic's text, on stdout, exit 0. */
START_TEST(test_help_topics)
{
	static const struct {
		const char *topic, *says;
	} cases[] = {
		{ "demo", "usage: tcpdemux demo" },
		{ "replay", "usage: tcpdemux replay FILE [EXPRESSION]" },
		{ "script", "--tolerance_usecs" },
		{ "synth", "--syn-flood" },
		{ "live", "--tun NAME" },
		{ "formats", "LINUX_SLL2" },
		{ "filters", "pcap-filter(7)" },
		{ "sysctl", "net.ipv4.tcp_syncookies" },
		{ "exit", "2  bad input" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct run r;

		run_plain(&r, "help %s", cases[i].topic);
		run_ok(&r);
		ck_assert_msg(strstr(r.out, cases[i].says) != NULL, "tcpdemux %s does not say '%s':\n%s", r.args,
			      cases[i].says, r.out);
		run_free(&r);
	}
}
END_TEST

/*
 * Every help text fits an 80-column terminal: help TOPIC (none too) and
 * each command's --help, the tables printed after the fixed text included.
 * Bytes are columns: the texts are ASCII.
 */
START_TEST(test_help_fits_80)
{
	static const char *const args[] = {
		"help",           "help demo",     "help replay",   "help script",  "help synth",
		"help live",      "help formats",  "help filters",  "help sysctl",  "help exit",
		"demo --help",    "replay --help", "script --help", "synth --help", "live --help",
	};
	size_t i;

	for (i = 0; i < sizeof(args) / sizeof(args[0]); i++) {
		struct run r;
		int k;

		run_plain(&r, "%s", args[i]);
		run_ok(&r);
		for (k = 0; k < r.l.n; k++)
			ck_assert_msg(strlen(r.l.line[k]) <= 80, "tcpdemux %s: line %d is %zu columns, over 80:\n%s",
				      r.args, k + 1, strlen(r.l.line[k]), r.l.line[k]);
		run_free(&r);
	}
}
END_TEST

Suite *usage_suite(void)
{
	Suite *s = suite_create("usage");
	TCase *ti = tcase_create("install");
	TCase *tu = tcase_create("usage");

	tcase_add_unchecked_fixture(ti, tmp_setup, tmp_teardown);
	tcase_set_timeout(ti, 120);
	tcase_add_test(ti, test_install);
	tcase_add_test(ti, test_manual_complete);
	suite_add_tcase(s, ti);

	tcase_set_timeout(tu, 60);
	tcase_add_test(tu, test_usage_errors);
	tcase_add_test(tu, test_help_topics);
	tcase_add_test(tu, test_help_fits_80);
	suite_add_tcase(s, tu);
	return s;
}
