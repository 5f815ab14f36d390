/*
 * check_terminal.c - --step and --slides in a pseudo-terminal.
 *
 * Path: ptyrun.h runs `tcpdemux demo NAME --slides` (or --step) in a
 * terminal of a set size and types a key at each prompt -> the screens
 * and steps it printed are taken apart here.
 *
 * What is checked: every demo's --slides in 80x24 gives one screen per
 * step, each cleared first (ESC[2J) and none taller than 24 lines or
 * wider than 80 columns, one for each segment the demo's JSON trace
 * shows, numbered 1, 2, 3...; b and g N go back and forth; --pace moves
 * on by itself; a smaller terminal is fitted too. --step shows each
 * change under the step where it happened (backlog's accept() calls as
 * steps of their own, time-wait's #2 entering TIME_WAIT and keeping its
 * id), and g N stops at segment N.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "progrun.h"
#include "ptyrun.h"
#include "suites.h"

#define SLIDES_PROMPT "[Enter/Space]"
#define STEP_PROMPT "[q] quit > "

/* Columns of a line on the screen: escape sequences take none. */
static int visible_width(const char *s, size_t n)
{
	size_t i;
	int w = 0;

	for (i = 0; i < n; i++) {
		if (s[i] == '\033') {
			i++;
			if (i < n && s[i] == '[')
				while (i + 1 < n && !(s[i] >= '@' && s[i] <= '~' && s[i] != '['))
					i++;
			continue;
		}
		if (s[i] == '\r' || ((unsigned char)s[i] & 0xc0) == 0x80)
			continue;
		w++;
	}
	return w;
}

struct screens {
	int n;            /* screens (each begun by ESC[2J) */
	int before;       /* bytes printed before the first ESC[2J */
	int tallest;      /* most lines on one screen */
	int widest;       /* most columns on one line */
	int segments[512]; /* the segment number of each segment screen, in order */
	int nseg;
	int steps;        /* screens titled "step N" */
	int steps_in_order; /* their numbers went 1, 2, 3... */
};

/* Takes the terminal's output apart at each ESC[2J. */
static void split_screens(const char *out, struct screens *sc)
{
	const char *p = strstr(out, "\033[2J"), *next;

	memset(sc, 0, sizeof(*sc));
	sc->steps_in_order = 1;
	sc->before = p ? (int)(p - out) : (int)strlen(out);
	while (p) {
		const char *line, *end, *title;
		int lines = 0;

		p += 4;
		next = strstr(p, "\033[2J");
		end = next ? next : p + strlen(p);
		sc->n++;
		for (line = p; line < end;) {
			const char *nl = memchr(line, '\n', (size_t)(end - line));
			const char *le = nl ? nl : end;
			int w = visible_width(line, (size_t)(le - line));

			lines++;
			if (w > sc->widest)
				sc->widest = w;
			if (!nl)
				break;
			line = nl + 1;
		}
		if (lines > sc->tallest)
			sc->tallest = lines;
		title = strstr(p, "  step ");
		if (title && title < end) {
			int k = atoi(title + 7);
			const char *seg = strstr(title, "  segment #");

			sc->steps++;
			if (k != sc->steps)
				sc->steps_in_order = 0;
			if (seg && seg < end && seg < title + 50 && sc->nseg < 512)
				sc->segments[sc->nseg++] = atoi(seg + 11);
		}
		p = next;
	}
}

/* Enter at every prompt (pty_run's nkeys -1): a run goes to its end. */
static const char *const enters[] = { "\n" };
#define NENTERS (-1)

/* The demos the program lists. Returns how many names went into names[]. */
static int demo_names(char names[][32], int max)
{
	char *out, *line, *save = NULL;
	int n = 0;

	ck_assert_int_eq(prog_run("demo", &out), 0);
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (line[0] != ' ' || n == max)
			continue;
		sscanf(line, " %31s", names[n]);
		n++;
	}
	free(out);
	return n;
}

/* How many segments reached the server in the demo's JSON trace ("dir":"in" lines). */
static int inbound_segments(const char *demo)
{
	char cmd[128], *out;
	int n;

	snprintf(cmd, sizeof(cmd), "demo %s --format json --hash-seed 1", demo);
	ck_assert_int_eq(prog_run(cmd, &out), 0);
	n = pty_count(out, strlen(out), "\"dir\":\"in\"");
	free(out);
	return n;
}

static void check_fits(const struct screens *sc, const char *what, int rows, int cols)
{
	ck_assert_msg(sc->n > 2, "%s: %d screens", what, sc->n);
	ck_assert_msg(sc->before == 0, "%s: %d bytes before the first screen was cleared", what, sc->before);
	ck_assert_msg(sc->tallest <= rows, "%s: a screen of %d lines in a terminal of %d", what, sc->tallest, rows);
	ck_assert_msg(sc->widest <= cols, "%s: a line of %d columns in a terminal of %d", what, sc->widest, cols);
}

START_TEST(test_slides_every_demo_fits_80x24)
{
	char names[32][32], args[128], *out;
	int n = demo_names(names, 32), i, k;

	ck_assert_msg(n >= 9, "only %d demos listed", n);
	for (i = 0; i < n; i++) {
		struct screens sc;
		int in = inbound_segments(names[i]), rc;

		snprintf(args, sizeof(args), "demo %s --slides --hash-seed 1 %s", names[i], i % 2 ? "--color" : "--no-color");
		rc = pty_run(args, 24, 80, SLIDES_PROMPT, enters, NENTERS, 60, &out);
		ck_assert_msg(rc == 0, "demo %s --slides: exit %d: %.300s", names[i], rc, out);
		split_screens(out, &sc);
		check_fits(&sc, names[i], 24, 80);
		/* the introduction, a screen per step, the summary (two for hash-flood's two runs) */
		ck_assert_msg(sc.steps_in_order, "demo %s: steps not numbered 1, 2, 3...", names[i]);
		ck_assert_msg(sc.n >= sc.steps + 2, "demo %s: %d screens for %d steps", names[i], sc.n, sc.steps);
		ck_assert_msg(strstr(out, "introduction") != NULL, "demo %s: no introduction screen", names[i]);
		ck_assert_msg(strstr(out, "the end (after step") != NULL, "demo %s: no summary screen", names[i]);
		/* one screen per segment the server received: the JSON trace's count */
		ck_assert_msg(sc.nseg == in, "demo %s: %d segment screens, the trace has %d segments in", names[i],
			      sc.nseg, in);
		for (k = 1; k < sc.nseg; k++)
			ck_assert_msg(sc.segments[k] == sc.segments[k - 1] + 1 || sc.segments[k] == 1,
				      "demo %s: segment #%d after #%d", names[i], sc.segments[k], sc.segments[k - 1]);
		ck_assert_int_eq(sc.segments[0], 1);
		free(out);
	}
}
END_TEST

/* The title of the n-th screen (0-based), or "" when there are fewer. */
static void screen_title(const char *out, int n, char *title, size_t len)
{
	const char *p = out;
	int i;

	title[0] = '\0';
	for (i = 0; i <= n; i++) {
		p = strstr(p, "\033[2J");
		if (!p)
			return;
		p += 4;
	}
	if (strncmp(p, "\033[H", 3) == 0)
		p += 3;
	snprintf(title, len, "%.*s", (int)strcspn(p, "\r\n"), p);
}

START_TEST(test_slides_back_and_go)
{
	/* intro, step 1, step 2 (segment #1), step 3; b; g 6; g 2; q */
	static const char *const keys[] = { "\n", "\n", "\n", "b", "g6\n", "g2\n", "q" };
	char *out, t[256], first[256], again[256];
	struct screens sc;
	int rc;

	rc = pty_run("demo time-wait --slides --no-color", 24, 80, SLIDES_PROMPT, keys, 7, 30, &out);
	ck_assert_msg(rc == 0, "exit %d: %.300s", rc, out);
	split_screens(out, &sc);
	check_fits(&sc, "time-wait, b and g", 24, 80);
	screen_title(out, 3, t, sizeof(t));
	ck_assert_msg(strstr(t, "step 3  0.100000 s  segment #2") != NULL, "screen 4: %s", t);
	/* b: the program ran again from the start, to step 2 */
	screen_title(out, 4, t, sizeof(t));
	ck_assert_msg(strstr(t, "step 2  0.100000 s  segment #1") != NULL, "after b: %s", t);
	/* ...with the same (random) hash seed: the same bucket on both screens of segment #1 */
	{
		const char *s1 = strstr(out, "bucket 0x"), *s2;

		ck_assert(s1 != NULL);
		snprintf(first, sizeof(first), "%.*s", (int)strcspn(s1, " \r\n,"), s1);
		s2 = strstr(strstr(out, "step 2  0.100000 s  segment #1") + 1, "step 2  0.100000 s  segment #1");
		ck_assert(s2 != NULL);
		s2 = strstr(s2, "ehash bucket 0x");
		ck_assert(s2 != NULL);
		snprintf(again, sizeof(again), "%.*s", (int)strcspn(s2 + 6, " \r\n,"), s2 + 6);
		ck_assert_str_eq(first, again);
	}
	/* g 6 forward, g 2 back */
	screen_title(out, 5, t, sizeof(t));
	ck_assert_msg(strstr(t, "segment #6") != NULL, "after g 6: %s", t);
	/* the screen a skip ends on has the step's own lines */
	{
		const char *g6 = strstr(out, "step 9  1.800000 s  segment #6"), *end = g6 ? strstr(g6, "\033[2J") : NULL;
		const char *in = g6 ? strstr(g6, "#6 in") : NULL, *diag = g6 ? strstr(g6, "lookup:") : NULL;

		ck_assert_msg(in && diag && (!end || (in < end && diag < end)), "the screen after g 6 lacks its segment");
	}
	screen_title(out, 6, t, sizeof(t));
	ck_assert_msg(strstr(t, "segment #2") != NULL, "after g 2: %s", t);
	free(out);
}
END_TEST

START_TEST(test_slides_pace_and_small_terminal)
{
	/* --pace: only the summary waits for a key */
	static const char *const one[] = { "\n" };
	char *out;
	struct screens sc;
	int rc;

	rc = pty_run("demo backlog --slides --pace 0.01 --hash-seed 1 --no-color", 24, 80, "the end (after step", one, 1,
		     30, &out);
	ck_assert_msg(rc == 0, "--pace: exit %d: %.300s", rc, out);
	split_screens(out, &sc);
	ck_assert_int_eq(sc.nseg, 14);
	ck_assert_int_eq(sc.steps, 21);
	free(out);

	/* 60x16: the same demo, cut to fit */
	rc = pty_run("demo backlog --slides --hash-seed 1 --options --color", 16, 60, SLIDES_PROMPT, enters, NENTERS, 30,
		     &out);
	ck_assert_msg(rc == 0, "60x16: exit %d: %.300s", rc, out);
	split_screens(out, &sc);
	check_fits(&sc, "backlog in 60x16", 16, 60);
	ck_assert_int_eq(sc.nseg, 14);
	ck_assert_msg(strstr(out, "mss 1460") != NULL, "--options shows no MSS");
	free(out);

	/* without --options, no option list */
	rc = pty_run("demo backlog --slides --hash-seed 1 --no-color", 24, 80, SLIDES_PROMPT, enters, NENTERS, 30, &out);
	ck_assert_int_eq(rc, 0);
	ck_assert_msg(strstr(out, "mss 1460") == NULL, "an option list without --options");
	free(out);
}
END_TEST

/* The text of --step's block for step n: from its trace to the line after "what changed". */
static const char *step_block(const char *out, int n, char *head, size_t len)
{
	char want[64];
	const char *p;

	snprintf(want, sizeof(want), "-- step %d, ", n);
	p = strstr(out, want);
	if (!p)
		return NULL;
	snprintf(head, len, "%.*s", (int)strcspn(p, "\r\n"), p);
	return p;
}

START_TEST(test_step_time_wait_and_backlog)
{
	char *out, head[256];
	const char *p, *next;
	int rc, k;

	rc = pty_run("demo time-wait --step --hash-seed 1 --no-color", 24, 80, STEP_PROMPT, enters, NENTERS, 30, &out);
	ck_assert_msg(rc == 0, "exit %d: %.300s", rc, out);
	/* segment #4's step: #2 goes to TIME_WAIT, and is not freed */
	p = step_block(out, 7, head, sizeof(head));
	ck_assert_msg(p && strstr(head, "segment #4") != NULL, "step 7: %s", p ? head : "missing");
	next = strstr(p, "[Enter]");
	ck_assert(next != NULL);
	ck_assert_msg(strstr(p, "* #2: FIN_WAIT2 -> TIME_WAIT") != NULL && strstr(p, "* #2: FIN_WAIT2 -> TIME_WAIT") < next,
		      "step 7 does not say #2 entered TIME_WAIT");
	ck_assert_msg(strstr(out, "freed") == NULL, "a socket entering TIME_WAIT said to be freed");
	ck_assert_msg(strstr(out, "TIME_WAIT -> CLOSED") == NULL, "TIME_WAIT -> CLOSED shown");
	/* segment #6 hits the entry the table shows, #2, and creates request #3 */
	ck_assert_msg(strstr(out, "hit TIME_WAIT #2 (walked 1)") != NULL && strstr(out, "TIME_WAIT #3") == NULL,
		      "segment #6 does not hit TIME_WAIT #2");
	p = step_block(out, 9, head, sizeof(head));
	ck_assert_msg(p && strstr(head, "segment #6"), "step 9: %s", p ? head : "missing");
	ck_assert_msg(strstr(p, "* #2 left the ehash (it was TIME_WAIT") != NULL, "step 9: the entry's end");
	/* close() is its own step, before segment #3 */
	p = step_block(out, 5, head, sizeof(head));
	ck_assert_msg(p && strstr(head, "server: close(4) = 0") != NULL, "step 5: %s", p ? head : "missing");
	ck_assert_msg(strstr(p, "* #2: ESTABLISHED -> FIN_WAIT1") != NULL, "close() did not move #2 to FIN_WAIT1");
	free(out);

	rc = pty_run("demo backlog --step --hash-seed 1 --no-color", 24, 80, STEP_PROMPT, enters, NENTERS, 30, &out);
	ck_assert_msg(rc == 0, "exit %d: %.300s", rc, out);
	/* 14 segments and 7 calls with effects: listen(), six accept()s (the fourth fails) */
	ck_assert_msg(step_block(out, 21, head, sizeof(head)) && !step_block(out, 22, head, sizeof(head)),
		      "backlog does not have 21 steps");
	/* a dropped SYN raises ListenOverflows */
	p = step_block(out, 8, head, sizeof(head));
	ck_assert_msg(p && strstr(head, "segment #7"), "step 8: %s", head);
	ck_assert_msg(strstr(p, "* ListenOverflows 0 -> 1") < strstr(p, "[Enter]"), "no ListenOverflows under #7");
	/* the drain: four accept() steps between segment #10 and #11 */
	for (k = 12; k <= 15; k++) {
		p = step_block(out, k, head, sizeof(head));
		ck_assert_msg(p && strstr(head, "server: accept(3, ..., ...) = "), "step %d: %s", k, p ? head : "missing");
	}
	ck_assert_msg(strstr(head, "= -1 EAGAIN") != NULL, "the fourth accept(): %s", head);
	p = step_block(out, 12, head, sizeof(head));
	ck_assert_msg(strstr(p, "* listener 10.0.0.1:80: accept queue 3 -> 2 (backlog 2)") != NULL, "first accept()");
	p = step_block(out, 11, head, sizeof(head));
	ck_assert_msg(strstr(head, "segment #10") != NULL, "step 11: %s", head);
	p = step_block(out, 16, head, sizeof(head));
	ck_assert_msg(strstr(head, "segment #11") != NULL, "step 16: %s", head);
	ck_assert_msg(strstr(out, "#-1") == NULL, "a '#-1' in the steps");
	free(out);
}
END_TEST

START_TEST(test_step_go_to_and_hash_flood)
{
	static const char *const keys[] = { "g7\n", "q" };
	char *out, head[256];
	const char *p;
	int rc;

	/* g 7 at the first prompt: the next pause is after segment #7's step */
	rc = pty_run("demo backlog --step --hash-seed 1 --no-color", 24, 80, STEP_PROMPT, keys, 2, 30, &out);
	ck_assert_msg(rc == 0, "exit %d", rc);
	ck_assert_int_eq(pty_count(out, strlen(out), STEP_PROMPT), 2);
	p = step_block(out, 8, head, sizeof(head));
	ck_assert_msg(p && strstr(head, "segment #7"), "%s", head);
	ck_assert_msg(strstr(p, STEP_PROMPT) != NULL && !step_block(out, 9, head, sizeof(head)),
		      "g 7 did not stop after segment #7");
	ck_assert_msg(strstr(out, "stopped after step 8 (segment #7 was the last shown)") != NULL, "%.300s",
		      strstr(out, "stopped") ? strstr(out, "stopped") : "no 'stopped' line");
	free(out);

	/* t: the tables as they are, then the same prompt again */
	rc = pty_run("demo time-wait --step --hash-seed 1 --no-color", 24, 80, STEP_PROMPT,
		     (const char *const[]){ "\n", "t", "q" }, 3, 30, &out);
	ck_assert_msg(rc == 0, "t: exit %d", rc);
	p = strstr(out, "-- step 2, segment #1");
	ck_assert(p != NULL);
	p = strstr(p, STEP_PROMPT);
	ck_assert(p != NULL);
	{
		const char *tables = strstr(p, "listen table"), *again = strstr(p + 1, STEP_PROMPT);

		ck_assert_msg(tables && again && tables < again, "t printed no tables");
		/* The tables name states as ss does: the request is SYN-RECV. */
		ck_assert_msg(strstr(tables, "SYN-RECV") && strstr(tables, "SYN-RECV") < again,
			      "t's tables are not the ones after segment #1");
	}
	free(out);

	rc = pty_run("demo hash-flood --step --hash-seed 1 --no-color", 24, 80, STEP_PROMPT, (const char *const[]){ "c" }, 1,
		     30, &out);
	ck_assert_msg(rc == 0, "hash-flood: exit %d", rc);
	ck_assert_msg(strstr(out, "#-1") == NULL, "hash-flood --step shows a '#-1'");
	ck_assert_msg(strstr(out, "segment #16: what changed") != NULL, "hash-flood's 16th segment");
	free(out);
}
END_TEST

START_TEST(test_slides_refusals)
{
	/* options that contradict each other: exit 2 and one line naming them */
	static const char *const usage[][2] = {
		{ "demo backlog --slides --format json", "--slides shows the text trace" },
		{ "demo backlog --pace 3", "--pace goes with --slides" },
		{ "demo backlog --options", "--options goes with --slides" },
		{ "demo backlog --slides --pace -1", "--pace needs seconds" },
		{ "demo backlog --slides --step", "choose one" },
		{ "replay x.pcap --slides --quiet", "--slides and --quiet contradict" },
	};
	char cmd[512], buf[1024], *out, *err;
	size_t n, k;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "setsid -w %s demo backlog --slides < /dev/null 2>&1", prog_tcpdemux());
	p = popen(cmd, "r");
	ck_assert(p != NULL);
	n = fread(buf, 1, sizeof(buf) - 1, p);
	buf[n] = '\0';
	ck_assert_msg(WEXITSTATUS(pclose(p)) == 2, "--slides without a terminal: %s", buf);
	ck_assert_msg(strstr(buf, "--slides reads keys from a terminal") != NULL, "%s", buf);
	for (k = 0; k < sizeof(usage) / sizeof(usage[0]); k++) {
		ck_assert_int_eq(prog_run_split(usage[k][0], &out, &err), 2);
		ck_assert_msg(strstr(err, usage[k][1]) != NULL, "%s: %s", usage[k][0], err);
		free(out);
		free(err);
	}
}
END_TEST

START_TEST(test_slides_replay_script_synth)
{
	char args[1024], *out, q[512]; /* room for the quoted path and the rest */
	struct screens sc;
	int rc;

	snprintf(args, sizeof(args), "replay %s/handshake-data-close.pcap --slides --hash-seed 1 --no-color",
		 prog_quote(prog_traces(), q, sizeof(q)));
	rc = pty_run(args, 24, 80, SLIDES_PROMPT, enters, NENTERS, 30, &out);
	ck_assert_msg(rc == 0, "replay: exit %d: %.300s", rc, out);
	split_screens(out, &sc);
	check_fits(&sc, "replay", 24, 80);
	ck_assert_int_eq(sc.nseg, 5);
	ck_assert_msg(strstr(out, "inferred listener 10.0.0.1:80") != NULL, "replay: the inference is not shown");
	ck_assert_msg(strstr(out, "accept on 10.0.0.1:80") != NULL, "replay: the application's accept()");
	free(out);

	snprintf(args, sizeof(args), "script %s/scripts/passive-open.pkt --slides --hash-seed 1 --no-color",
		 prog_quote(prog_testdir(), q, sizeof(q)));
	rc = pty_run(args, 24, 80, SLIDES_PROMPT, enters, NENTERS, 30, &out);
	ck_assert_msg(rc == 0, "script: exit %d: %.300s", rc, out);
	split_screens(out, &sc);
	check_fits(&sc, "script", 24, 80);
	ck_assert_msg(sc.nseg >= 2, "script: %d segment screens", sc.nseg);
	free(out);

	rc = pty_run("synth --clients 2 --seed 1 --slides --no-color", 24, 80, SLIDES_PROMPT, enters, NENTERS, 30, &out);
	ck_assert_msg(rc == 0, "synth: exit %d: %.300s", rc, out);
	split_screens(out, &sc);
	check_fits(&sc, "synth", 24, 80);
	ck_assert_msg(sc.nseg >= 8, "synth: %d segment screens", sc.nseg);
	free(out);
}
END_TEST

/*
 * The screens docs/lecture-guide.md shows are the program's: its first
 * --slides screen (backlog's segment #7) and its --step block (backlog's
 * first accept()), line for line (the screen's lines without the spaces
 * that pad them).
 */
START_TEST(test_lecture_guide_screens)
{
	static const char *const go7[] = { "g7\n", "q" };
	char path[512], *page, *out, *shown, *want, *p, *e, *rest, head[256];
	const char *step;
	size_t n;
	int rc;

	snprintf(path, sizeof(path), "%s/../docs/lecture-guide.md", prog_testdir());
	page = prog_read_file(path, NULL);
	ck_assert_msg(page != NULL, "cannot read %s", path);

	/* the guide's slide: the code block that opens with the title line */
	want = strstr(page, "```\ntcpdemux demo backlog  step 8  0.400000 s  segment #7");
	ck_assert_msg(want != NULL, "the guide shows no backlog segment #7 screen");
	want += 4;
	e = strstr(want, "\n```");
	ck_assert(e != NULL);
	*e = '\0';
	rest = e + 1;
	rc = pty_run("demo backlog --slides --hash-seed 1 --no-color", 24, 80, SLIDES_PROMPT, go7, 2, 30, &out);
	ck_assert_int_eq(rc, 0);
	p = strstr(out, "tcpdemux demo backlog  step 8  0.400000 s  segment #7");
	ck_assert(p != NULL);
	e = strstr(p, "\033[2J");
	n = e ? (size_t)(e - p) : strlen(p);
	shown = calloc(1, n + 1);
	ck_assert(shown != NULL);
	{
		/* the screen as lines: no \r, no padding at the ends */
		size_t i, k = 0, line_start = 0;

		for (i = 0; i < n; i++) {
			if (p[i] == '\r')
				continue;
			if (p[i] == '\n') {
				while (k > line_start && shown[k - 1] == ' ')
					k--;
				shown[k++] = '\n';
				line_start = k;
				continue;
			}
			shown[k++] = p[i];
		}
		while (k > 0 && (shown[k - 1] == ' ' || shown[k - 1] == '\n'))
			k--; /* and the line quitting ends with */
		shown[k] = '\0';
	}
	ck_assert_msg(strcmp(shown, want) == 0, "the guide's screen:\n%s\n\nthe program's:\n%s", want, shown);
	free(shown);
	free(out);

	/* the guide's --step block */
	want = strstr(rest, "```\n-- step 12, ");
	ck_assert_msg(want != NULL, "the guide shows no --step block");
	want += 4;
	e = strstr(want, "\n```");
	ck_assert(e != NULL);
	*e = '\0';
	rc = pty_run("demo backlog --step --hash-seed 1 --no-color", 24, 80, STEP_PROMPT, enters, NENTERS, 30, &out);
	ck_assert_int_eq(rc, 0);
	step = step_block(out, 12, head, sizeof(head));
	ck_assert(step != NULL);
	{
		char *got = strdup(step), *r, *w;

		ck_assert(got != NULL);
		for (r = w = got; *r; r++)
			if (*r != '\r')
				*w++ = *r;
		*w = '\0';
		/* up to the prompt, which the guide shows without the key typed after it */
		w = strstr(got, STEP_PROMPT);
		ck_assert(w != NULL);
		w[strlen(STEP_PROMPT) - 1] = '\0';
		ck_assert_msg(strcmp(got, want) == 0, "the guide's --step block:\n%s\n\nthe program's:\n%s", want, got);
		free(got);
	}
	free(out);
	free(page);
}
END_TEST

Suite *terminal_suite(void)
{
	Suite *s = suite_create("terminal");
	TCase *tc = tcase_create("pty");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_slides_every_demo_fits_80x24);
	tcase_add_test(tc, test_slides_back_and_go);
	tcase_add_test(tc, test_slides_pace_and_small_terminal);
	tcase_add_test(tc, test_slides_replay_script_synth);
	tcase_add_test(tc, test_slides_refusals);
	tcase_add_test(tc, test_step_time_wait_and_backlog);
	tcase_add_test(tc, test_step_go_to_and_hash_flood);
	tcase_add_test(tc, test_lecture_guide_screens);
	suite_add_tcase(s, tc);
	return s;
}
