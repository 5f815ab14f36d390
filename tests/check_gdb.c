/*
 * check_gdb.c - docs/debugging.md, run in gdb: the page cannot go stale.
 *
 * Path: docs/debugging.md -> its transcripts (the "(gdb) " lines of a
 * section's code blocks are commands, the other lines what gdb prints) ->
 * gdb -batch on build/tcpdemux-gdb (from $TCPDEMUX_GDB, the -O0 build)
 * with tools/gdb/tcpdemux.py, one -ex per command -> every shown line must
 * come out, in order, "..." matching anything (addresses, arguments).
 * The "Setting up" section is what `make gdb-demo` does: it runs after
 * tools/gdb/demo.gdb. The page's table of steps is checked too: each
 * function is in the file it names. Beside the page: the enum names of
 * the printers, and one line (no Python traceback) for each bad argument.
 *
 * Where gdb is missing the tests fail under CI (CI set, as .ci/run and
 * GitHub do; tools/ensure-deps.sh --test installs gdb for make check),
 * and are skipped with a note elsewhere.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "progrun.h"
#include "suites.h"

#define MAX_ARGS 256

/* Is this a CI run? CI=1, CI=true; not CI=, CI=0 or CI=false. */
static int in_ci(void)
{
	const char *ci = getenv("CI");

	return ci && *ci && strcmp(ci, "0") != 0 && strcmp(ci, "false") != 0;
}

/* 1 when gdb can run; 0 (with a note) to skip; fails the test under CI. */
static int have_gdb(void)
{
	if (system("command -v gdb > /dev/null 2>&1") == 0)
		return 1;
	ck_assert_msg(!in_ci(), "gdb is not installed, and under CI the debugger tests may not be skipped "
				"(tools/ensure-deps.sh --test installs it)");
	fprintf(stderr, "note: gdb is not installed; the debugger tests are skipped\n");
	return 0;
}

/* An argv under construction; strings are copies. */
struct args {
	char *v[MAX_ARGS + 1];
	int n;
};

static void arg(struct args *a, const char *s)
{
	ck_assert_msg(a->n < MAX_ARGS, "more than %d gdb arguments", MAX_ARGS);
	a->v[a->n] = strdup(s);
	ck_assert_msg(a->v[a->n] != NULL, "out of memory");
	a->v[++a->n] = NULL;
}

static void args_free(struct args *a)
{
	int i;

	for (i = 0; i < a->n; i++)
		free(a->v[i]);
	a->n = 0;
}

/* gdb -batch with the printers (and setup, when not NULL), ready for -ex commands. */
static void gdb_args(struct args *a, const char *setup)
{
	static const char *const quiet[] = { "set pagination off", "set confirm off", "set print pretty off",
					     "set width 0" };
	size_t i;

	a->n = 0;
	arg(a, "gdb");
	arg(a, "-batch");
	arg(a, "-nx");
	for (i = 0; i < sizeof(quiet) / sizeof(quiet[0]); i++) {
		arg(a, "-ex");
		arg(a, quiet[i]);
	}
	arg(a, "-x");
	arg(a, "tools/gdb/tcpdemux.py");
	if (setup) {
		arg(a, "-x");
		arg(a, setup);
	}
}

/* Ends a gdb argv with the program: the two-clients demo of the page. */
static void gdb_program(struct args *a)
{
	const char *bin = prog_env("TCPDEMUX_GDB", "build/tcpdemux-gdb");

	ck_assert_msg(access(bin, X_OK) == 0, "%s is missing (make gdb-binary builds it)", bin);
	arg(a, "--args");
	arg(a, bin);
	arg(a, "demo");
	arg(a, "two-clients");
	arg(a, "--hash-seed");
	arg(a, "1");
	arg(a, "--no-color");
}

/* Runs gdb; returns its stdout and stderr merged (in the order gdb wrote them). */
static char *gdb_run(struct args *a)
{
	char *out;
	int rc = prog_runv(a->v, &out, NULL);

	ck_assert_msg(rc == 0, "gdb exited %d:\n%.3000s", rc, out);
	ck_assert_msg(!strstr(out, "Traceback") && !strstr(out, "Python Exception") &&
			      !strstr(out, "Error occurred in Python"),
		      "a Python error in the gdb helpers:\n%.3000s", out);
	return out;
}

/* Does line (len bytes) match pat, where "..." in pat matches any run of characters? */
static int line_matches(const char *line, size_t len, const char *pat)
{
	const char *dots = strstr(pat, "...");
	size_t i;

	if (!dots)
		return strlen(pat) == len && memcmp(line, pat, len) == 0;
	/* The part before "..." is anchored at the start; the rest is tried at every offset. */
	if ((size_t)(dots - pat) > len || memcmp(line, pat, (size_t)(dots - pat)) != 0)
		return 0;
	line += dots - pat;
	len -= (size_t)(dots - pat);
	for (i = 0; i <= len; i++)
		if (line_matches(line + i, len - i, dots + 3))
			return 1;
	return 0;
}

/* Finds a line matching pat at or after *pos in out; moves *pos past it. 0 if none. */
static int find_line(const char *out, const char **pos, const char *pat)
{
	const char *p = *pos;

	while (*p) {
		const char *e = strchr(p, '\n');
		size_t len = e ? (size_t)(e - p) : strlen(p);

		if (len && p[len - 1] == '\r')
			len--;
		if (line_matches(p, len, pat)) {
			*pos = e ? e + 1 : p + len;
			return 1;
		}
		if (!e)
			break;
		p = e + 1;
	}
	(void)out;
	return 0;
}

/* The page, NUL-terminated. */
static char *read_page(void)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/../docs/debugging.md", prog_testdir());
	return prog_read_file(path, NULL);
}

/* The text of "## TITLE" up to the next "## " heading (modified in place: lines split). */
static char *section(char *page, const char *title)
{
	char head[128], *s, *e;

	snprintf(head, sizeof(head), "\n## %s\n", title);
	s = strstr(page, head);
	ck_assert_msg(s != NULL, "docs/debugging.md has no section \"## %s\"", title);
	s += strlen(head);
	e = strstr(s, "\n## ");
	if (e)
		e[1] = '\0';
	return s;
}

struct transcript {
	struct args cmds;          /* -ex COMMAND pairs */
	char *want[MAX_ARGS];      /* every other line, in order */
	int nwant;
};

/*
 * Splits a section's code blocks into commands and expected output.
 * ```sh blocks are instructions for the reader and are skipped, as are
 * "$ " lines (the shell command a transcript starts with) and blank lines.
 */
static void transcript_of(char *sec, struct transcript *t)
{
	char *p = sec, *e;
	int in_block = 0, skip = 0;

	t->cmds.n = 0;
	t->nwant = 0;
	for (; p && *p; p = e ? e + 1 : NULL) {
		e = strchr(p, '\n');
		if (e)
			*e = '\0';
		if (strncmp(p, "```", 3) == 0) {
			in_block = !in_block;
			skip = in_block && p[3] != '\0';
			continue;
		}
		if (!in_block || skip || *p == '\0' || strncmp(p, "$ ", 2) == 0)
			continue;
		if (strncmp(p, "(gdb) ", 6) == 0) {
			arg(&t->cmds, "-ex");
			arg(&t->cmds, p + 6);
		} else {
			ck_assert_msg(t->nwant < MAX_ARGS, "more than %d shown lines", MAX_ARGS);
			t->want[t->nwant++] = p;
		}
	}
	ck_assert_msg(t->cmds.n > 0 && t->nwant > 0, "a transcript without commands or output");
}

/* Runs t's commands in gdb (after setup, when not NULL) and checks that every wanted line comes out, in order. */
static void check_transcript(const char *what, const char *setup, const struct transcript *t)
{
	const char *pos;
	struct args a;
	char *out;
	int i;

	gdb_args(&a, setup);
	for (i = 0; i < t->cmds.n; i++)
		arg(&a, t->cmds.v[i]);
	/* gdb -batch exits 1 when its last command failed: a transcript may end on a bad argument. */
	arg(&a, "-ex");
	arg(&a, "echo");
	gdb_program(&a);
	out = gdb_run(&a);
	pos = out;
	for (i = 0; i < t->nwant; i++)
		ck_assert_msg(find_line(out, &pos, t->want[i]),
			      "%s: gdb no longer prints (or not in this order)\n  %s\n"
			      "gdb printed, after the line before it:\n%.3000s", what, t->want[i], pos);
	args_free(&a);
	free(out);
}

/* Runs one section of the page in gdb and checks that it prints what the page shows. */
static void check_section(const char *title, const char *setup)
{
	char *page = read_page(), what[128];
	struct transcript t;

	transcript_of(section(page, title), &t);
	snprintf(what, sizeof(what), "docs/debugging.md, \"%s\"", title);
	check_transcript(what, setup, &t);
	args_free(&t.cmds);
	free(page);
}

START_TEST(test_gdb_walkthrough)
{
	if (have_gdb())
		check_section("The walkthrough", NULL);
}
END_TEST

/* make gdb-demo: the server's lookup of the first SYN first, then the banner. */
START_TEST(test_gdb_demo)
{
	if (have_gdb())
		check_section("Setting up", "tools/gdb/demo.gdb");
}
END_TEST

/*
 * Beside the page: the printers' enum names and counters, tcpdemux-next
 * before run, and one line for each bad argument (gdb_run() fails on a
 * Python traceback).
 */
START_TEST(test_gdb_printers_and_errors)
{
	static const char *const session[][2] = {
		{ "tcpdemux-tables", "tcpdemux-tables: the program is not running (type run, or tcpdemux-next)" },
		{ "tcpdemux-next", "segment #1 arrives: 10.0.0.2:1234 > 10.0.0.1:80 S seq 112559417 ack 0 len 0" },
		{ "tcpdemux-next now", "usage: tcpdemux-next (no arguments)" },
		{ "tcpdemux-bucket st", "usage: tcpdemux-bucket STACK N (e.g. tcpdemux-bucket st 0x86bf)" },
		{ "tcpdemux-bucket st nine", "tcpdemux-bucket: 'nine' is not a bucket number" },
		{ "tcpdemux-bucket st -1", "tcpdemux-bucket: bucket -1 is out of range: this ehash has 65536 buckets, 0 to 0xffff" },
		{ "tcpdemux-tables x", "tcpdemux-tables: 'x' has type struct in_ctx *, not struct stack * (try st)" },
		{ "tcpdemux-tables (struct stack *)0", "tcpdemux-tables: '(struct stack *)0' is a NULL struct stack *" },
		{ "tcpdemux-tables nosuch", "tcpdemux-tables: 'nosuch' is not a struct stack * here (No symbol \"nosuch\" in current context); every function on the path has one called st" },
		{ "tcpdemux-break", "usage: tcpdemux-break FUNC... (e.g. tcpdemux-break ehash_lookup listener_lookup syn_recv tcp_check_req accept_queue_push accept_pop)" },
		{ "tcpdemux-break nosuch", "tcpdemux-break: the program has no function nosuch" },
		{ "tcpdemux-break syn_recv", NULL },
		{ "continue", "Breakpoint 1, syn_recv (st=..., x=..., l=..., isn=0) at stack/tcp_in.c:..." },
		{ "finish", NULL },
		{ "print x->lookup", "$1 = {hash = 2001569471, bucket = 34495, walked = 0, result = LOOKUP_LISTENER, wildcard = 0, reuseport = 0, group = 0, entry = 0}" },
		{ "print *x", "$2 = {seg = 0x..., lookup = {hash = 2001569471, ...}, listener = 0x..., has_cv = 1, action = ACT_SYN_ACK, reason = -1, cookie = 0, cookie_mss = 0, isn_adopted = 0, fd = -1, cv = {id = 2, fd = -1, state = TCP_SYN_RECV, laddr = 10.0.0.1, raddr = 10.0.0.2, lport = 80, rport = 1234, bucket = 34495, recv_q = 0, send_q = 0}}" },
		{ "print st->pend[1].ev", "$3 = {type = EV_SEGMENT_OUT, t = 11000000, frame = 1, ...action = ACT_NONE, reason = -1, old_state = TCP_CLOSED, ...}" },
		{ "print *st", "$4 = stack at 0.011000 s, nsocks 2, ehash 1 entries in 65536 buckets, counters = {InSegs = 1, OutSegs = 1}" },
	};
	struct transcript t;
	size_t i;

	if (!have_gdb())
		return;
	t.cmds.n = 0;
	t.nwant = 0;
	for (i = 0; i < sizeof(session) / sizeof(session[0]); i++) {
		arg(&t.cmds, "-ex");
		arg(&t.cmds, session[i][0]);
		if (session[i][1])
			t.want[t.nwant++] = (char *)session[i][1];
	}
	check_transcript("tcpdemux.py", NULL, &t);
	args_free(&t.cmds);
}
END_TEST

/* Copies the next `...` between p and end into buf; returns the byte after it, or NULL. */
static const char *next_code(const char *p, const char *end, char *buf, size_t len)
{
	const char *o = memchr(p, '`', (size_t)(end - p)), *c;

	if (!o)
		return NULL;
	c = memchr(o + 1, '`', (size_t)(end - o - 1));
	ck_assert_msg(c != NULL && (size_t)(c - o - 1) < len, "an unclosed or long `...` in the steps table");
	memcpy(buf, o + 1, (size_t)(c - o - 1));
	buf[c - o - 1] = '\0';
	return c + 1;
}

/*
 * The steps table, "| step | `func` -> `func` | `file`, `file` |": gdb's
 * "info line FUNC" must name one of the row's files for each function.
 */
START_TEST(test_gdb_step_table)
{
	struct {
		char fn[64];
		char files[256];
	} fns[32];
	char *page, *out;
	const char *p;
	struct args a;
	int n = 0, i;

	if (!have_gdb())
		return;
	page = read_page();
	p = strstr(page, "\n| step | function | file |\n");
	ck_assert_msg(p != NULL, "docs/debugging.md has no steps table");
	p = strchr(strchr(p + 1, '\n') + 1, '\n') + 1; /* past the header and the | --- | row */
	gdb_args(&a, NULL);
	for (; *p == '|'; p = strchr(p, '\n') + 1) {
		const char *eol = strchr(p, '\n'), *c2 = strchr(p + 1, '|'), *c3 = c2 ? strchr(c2 + 1, '|') : NULL;
		const char *q = c2;
		char fn[64], cmd[128];

		ck_assert_msg(eol && c3 && c3 < eol, "a row of the steps table without three columns");
		while ((q = next_code(q, c3, fn, sizeof(fn))) != NULL) {
			ck_assert_msg(n < 32, "more than 32 functions in the steps table");
			snprintf(fns[n].fn, sizeof(fns[n].fn), "%s", fn);
			snprintf(fns[n].files, sizeof(fns[n].files), "%.*s", (int)(eol - c3), c3);
			snprintf(cmd, sizeof(cmd), "echo @%s\\n", fn);
			arg(&a, "-ex");
			arg(&a, cmd);
			snprintf(cmd, sizeof(cmd), "info line %s", fn);
			arg(&a, "-ex");
			arg(&a, cmd);
			n++;
		}
	}
	ck_assert_msg(n >= 12, "docs/debugging.md's steps table names %d functions", n);
	arg(&a, prog_env("TCPDEMUX_GDB", "build/tcpdemux-gdb"));
	out = gdb_run(&a);
	for (i = 0; i < n; i++) {
		char mark[80], file[128];
		const char *at;

		snprintf(mark, sizeof(mark), "@%.64s\n", fns[i].fn);
		at = strstr(out, mark);
		ck_assert_msg(at != NULL, "gdb did not run 'info line %s':\n%.3000s", fns[i].fn, out);
		at += strlen(mark);
		ck_assert_msg(sscanf(at, "Line %*d of \"%127[^\"]\"", file) == 1,
			      "docs/debugging.md names %s, which gdb does not know: %.200s", fns[i].fn, at);
		ck_assert_msg(strstr(fns[i].files, file) != NULL, "docs/debugging.md says %s is in%s; it is in %s",
			      fns[i].fn, fns[i].files, file);
	}
	args_free(&a);
	free(out);
	free(page);
}
END_TEST

Suite *gdb_suite(void)
{
	Suite *s = suite_create("gdb");
	TCase *tc = tcase_create("debugging.md");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_gdb_walkthrough);
	tcase_add_test(tc, test_gdb_demo);
	tcase_add_test(tc, test_gdb_step_table);
	tcase_add_test(tc, test_gdb_printers_and_errors);
	suite_add_tcase(s, tc);
	return s;
}
