/*
 * check_view.c - the views beside a run's trace: --annotate, --html, --plot.
 *
 * Runs build/tcpdemux (progrun.h) and reads what it wrote with the tools
 * people use on it:
 *
 *   annotate  every kernel capture of traces/kernel/ replayed with
 *             --annotate: libpcap reads the pcapng back, every input frame
 *             is in it byte for byte with its timestamp to the nanosecond,
 *             in order, and the stack's segments are the others; tshark
 *             reads it, every inbound TCP frame has a demux comment, each
 *             SYN names its listener; display filters on the comments
 *             select what they name; a demo's file, and unwritable paths;
 *   lua       tools/wireshark/tcpdemux.lua in tshark: the fields of the
 *             comments, a filter on them, Expert Info by severity;
 *   plot      --plot's SVG: well-formed XML naming the listener, its
 *             backlog and drops;
 *   page      --html in headless Chromium (tests/browser/page.py, driven
 *             through selenium): the demo at #step=1 shows only the first
 *             client, at #step=last all three 4-tuples; keys move the
 *             step and the address; the connection filter; a replay's
 *             drop; a screenshot that is not blank; a replay of more than
 *             100,000 frames opens within 20 s and stays under 64 MB.
 *
 * tshark and Chromium are test dependencies (tools/ensure-deps.sh --test).
 * Without tshark the tests fail. Without Chromium (or selenium) the page
 * tests say so and pass only outside CI; with CI set they fail.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "replaytest.h"
#include "suites.h"

#define LUA "tools/wireshark/tcpdemux.lua"
#define PAGE_PY "tests/browser/page.py"

/* ---- running ------------------------------------------------------------------------------ */

/* Runs tcpdemux with printf-formatted shell words; asserts exit status want; returns stdout (merged with stderr). */
static char *__attribute__((format(printf, 2, 3))) tcpdemux(int want, const char *f, ...)
{
	char args[4096], *out;
	va_list ap;
	int n, rc;

	va_start(ap, f);
	n = vsnprintf(args, sizeof(args), f, ap);
	va_end(ap);
	ck_assert_msg(n > 0 && (size_t)n < sizeof(args), "arguments too long");
	rc = prog_run(args, &out);
	ck_assert_msg(rc == want, "tcpdemux %s exited %d, not %d:\n%s", args, rc, want, out);
	return out;
}

/* The number after `after` in s (asserting there is one). */
static long long number_after(const char *s, const char *after)
{
	const char *p = strstr(s, after);

	ck_assert_msg(p != NULL, "no '%s' in: %s", after, s);
	return strtoll(p + strlen(after), NULL, 10);
}

/* How many times needle occurs in s. */
static int count_of(const char *s, const char *needle)
{
	int n = 0;

	while ((s = strstr(s, needle)) != NULL) {
		n++;
		s += strlen(needle);
	}
	return n;
}

/* ---- captures at nanosecond precision ---------------------------------------------------- */

struct nframe {
	uint64_t ts;
	uint32_t caplen, len;
	uint8_t *data;
};

struct nframes {
	int n, cap, dlt;
	struct nframe *f;
};

static void nframes_read(const char *path, struct nframes *l)
{
	char err[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *d;
	pcap_t *p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, err);
	int r;

	ck_assert_msg(p != NULL, "libpcap cannot read %s: %s", path, err);
	memset(l, 0, sizeof(*l));
	l->dlt = pcap_datalink(p);
	while ((r = pcap_next_ex(p, &h, &d)) == 1) {
		struct nframe *k;

		if (l->n == l->cap) {
			l->cap = l->cap ? l->cap * 2 : 256;
			l->f = realloc(l->f, (size_t)l->cap * sizeof(*l->f));
			ck_assert_msg(l->f != NULL, "out of memory");
		}
		k = &l->f[l->n++];
		k->ts = (uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec;
		k->caplen = h->caplen;
		k->len = h->len;
		k->data = malloc(h->caplen ? h->caplen : 1);
		ck_assert_msg(k->data != NULL, "out of memory");
		memcpy(k->data, d, h->caplen);
	}
	ck_assert_msg(r == PCAP_ERROR_BREAK, "libpcap reading %s: %s", path, pcap_geterr(p));
	pcap_close(p);
}

static void nframes_free(struct nframes *l)
{
	int i;

	for (i = 0; i < l->n; i++)
		free(l->f[i].data);
	free(l->f);
}

static int same_frame(const struct nframe *a, const struct nframe *b)
{
	return a->ts == b->ts && a->caplen == b->caplen && a->len == b->len &&
	       memcmp(a->data, b->data, a->caplen) == 0;
}

static int tshark_count(const char *file, const char *filter, const char *lua);

/* ---- annotate ---------------------------------------------------------------------------- */

/* The replay's options for a kernel capture (traces/kernel/NAME.args), on one line. */
static void trace_args(const char *pcap, char *buf, size_t len)
{
	char path[PATH_MAX], *t;
	size_t n;

	fmt(path, sizeof(path), "%.*s.args", (int)(strlen(pcap) - 5), pcap);
	buf[0] = '\0';
	if (access(path, R_OK) != 0)
		return;
	t = prog_read_file(path, &n);
	for (char *c = t; *c; c++)
		if (*c == '\n')
			*c = ' ';
	fmt(buf, len, "%s", t);
	free(t);
}

/*
 * One capture replayed with --annotate: the input frames in the output in
 * order and intact, the others the stack's; tshark's view of the comments.
 * A capture the replay refuses part-way (exit 2: a truncated file) must
 * still give a file libpcap reads; the rest is not checked for it.
 */
static void check_annotated(const char *pcap)
{
	char args[1024], cmd[4096], out_path[PATH_MAX], q1[PATH_MAX + 8], q2[PATH_MAX + 8], *out, *line, *save = NULL;
	struct nframes in, got;
	long long seg_in, seg_out;
	int i, j, n0 = 0, demux = 0, rc;

	trace_args(pcap, args, sizeof(args));
	tmp_file("annotated.pcapng", out_path, sizeof(out_path));
	fmt(cmd, sizeof(cmd), "replay %s %s --hash-seed 1 --quiet --annotate %s", q(pcap, q1, sizeof(q1)), args,
	    q(out_path, q2, sizeof(q2)));
	rc = prog_run(cmd, &out);
	ck_assert_msg(rc == 0 || rc == 2, "tcpdemux %s exited %d:\n%s", cmd, rc, out);
	if (rc == 2) {
		nframes_read(out_path, &got);
		nframes_free(&got);
		free(out);
		return;
	}
	ck_assert_msg(!strstr(out, "held back, not fed"), "%s", out);
	seg_in = number_after(out, "summary: ");
	seg_out = number_after(strstr(out, "summary: "), "segments in, ");
	free(out);

	nframes_read(pcap, &in);
	nframes_read(out_path, &got);
	ck_assert_msg(got.dlt == in.dlt, "%s: the annotated file's link type %d is not the input's %d", pcap, got.dlt,
		      in.dlt);
	ck_assert_msg(got.n == in.n + seg_out, "%s: %d frames written, want %d input + %lld sent by the stack", pcap,
		      got.n, in.n, seg_out);
	for (i = j = 0; i < in.n && j < got.n; j++)
		if (same_frame(&in.f[i], &got.f[j]))
			i++;
	ck_assert_msg(i == in.n, "%s: input frame %d is not in the annotated file, intact and in order", pcap, i + 1);
	nframes_free(&in);
	nframes_free(&got);

	{
		const char *argv[] = { "tshark", "-r", out_path, "-T", "fields", "-E", "separator=|", "-e",
				       "frame.interface_id", "-e", "tcp.flags.syn", "-e", "tcp.flags.ack", "-e",
				       "frame.comment", NULL };
		out = prog_tool(argv);
	}
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char iface[8] = "", syn[8] = "", ack[8] = "", *comment = NULL;
		int k = 0;
		char *p = line, *bar;

		for (; k < 3 && (bar = strchr(p, '|')); k++, p = bar + 1) {
			*bar = '\0';
			fmt(k == 0 ? iface : k == 1 ? syn : ack, 8, "%s", p);
		}
		comment = p;
		ck_assert_msg(k == 3, "%s: tshark line without its fields: %s", pcap, line);
		if (strcmp(iface, "0") != 0)
			continue;
		n0++;
		if (syn[0]) /* a TCP frame: every one is annotated */
			ck_assert_msg(*comment, "%s: TCP frame %d of the input has no comment", pcap, n0);
		if (strncmp(comment, "demux: ", 7) != 0)
			continue;
		demux++;
		if (strcmp(syn, "1") == 0 && strcmp(ack, "0") == 0)
			ck_assert_msg(strstr(comment, "-> listener ") || strstr(comment, "-> no listener on ") ||
					      strstr(comment, " of listener "),
				      "%s: SYN (input frame %d) does not name its listener: %s", pcap, n0, comment);
	}
	free(out);
	ck_assert_msg(tshark_count(out_path, "frame.comment contains \"held back, not fed\"", NULL) == 0,
		      "%s: a held-back segment never reached the stack", pcap);
	ck_assert_msg(n0 > 0, "%s: tshark found no frame on interface 0", pcap);
	ck_assert_msg(demux == seg_in, "%s: %d demux comments for %lld segments fed to the stack", pcap, demux, seg_in);
}

START_TEST(test_annotate_kernel_traces)
{
	char dir[PATH_MAX], path[PATH_MAX + 256];
	DIR *d;
	struct dirent *e;
	int n = 0;

	fmt(dir, sizeof(dir), "%s/kernel", prog_traces());
	d = opendir(dir);
	ck_assert_msg(d != NULL, "cannot read %s", dir);
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);

		if (l < 6 || strcmp(e->d_name + l - 5, ".pcap") != 0)
			continue;
		fmt(path, sizeof(path), "%s/%s", dir, e->d_name);
		check_annotated(path);
		n++;
	}
	closedir(d);
	ck_assert_msg(n >= 10, "only %d captures under %s", n, dir);
}
END_TEST

/*
 * The published captures of $REALWORLD (tests/check_realworld.c): each,
 * if small enough to be quick (under 1 MB: 36 of 48), annotated and checked as the
 * kernel's are. Many are client-side: their inbound segments are held back
 * to when the server got them, and each frame must still get its lookup.
 */
START_TEST(test_annotate_realworld)
{
	const char *dir = prog_env("REALWORLD", "../shared/realworld");
	char path[PATH_MAX + 256];
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d) {
		ck_assert_msg(strcmp(prog_env("REALWORLD_REQUIRED", "0"), "1") != 0,
			      "REALWORLD_REQUIRED=1, but %s does not exist", dir);
		fprintf(stderr, "note: no published captures at %s: the realworld --annotate test did not run\n", dir);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);
		FILE *f;
		long size;

		if (!(l > 5 && strcmp(e->d_name + l - 5, ".pcap") == 0) && !(l > 7 && strcmp(e->d_name + l - 7, ".pcapng") == 0))
			continue;
		fmt(path, sizeof(path), "%s/%s", dir, e->d_name);
		f = fopen(path, "rb");
		if (!f)
			continue;
		fseek(f, 0, SEEK_END);
		size = ftell(f);
		fclose(f);
		if (size > (1l << 20))
			continue;
		check_annotated(path);
		n++;
	}
	closedir(d);
	ck_assert_msg(n >= 10, "only %d published captures checked under %s", n, dir);
}
END_TEST

/* tshark -r FILE -Y FILTER -T fields -e frame.number: the frames it selects, one per line. */
static int tshark_count(const char *file, const char *filter, const char *lua)
{
	char luaopt[PATH_MAX + 16], *out;
	int n;

	if (lua) {
		fmt(luaopt, sizeof(luaopt), "lua_script:%s", lua);
		const char *argv[] = { "tshark", "-X", luaopt, "-r", file, "-Y", filter, "-T", "fields", "-e", "frame.number", NULL };
		out = prog_tool(argv);
	} else {
		const char *argv[] = { "tshark", "-r", file, "-Y", filter, "-T", "fields", "-e", "frame.number", NULL };
		out = prog_tool(argv);
	}
	n = count_of(out, "\n");
	free(out);
	return n;
}

/* backlog-overflow: two connections fill a backlog of 1, the next 14 SYNs are dropped. */
static void backlog_overflow(const char *extra, char *out_path, size_t len)
{
	char pcap[PATH_MAX], args[512], q1[PATH_MAX + 8], q2[PATH_MAX + 8];

	fmt(pcap, sizeof(pcap), "%s/kernel/backlog-overflow.pcap", prog_traces());
	trace_args(pcap, args, sizeof(args));
	tmp_file("backlog-overflow.pcapng", out_path, len);
	free(tcpdemux(0, "replay %s %s --hash-seed 1 --quiet %s --annotate %s", q(pcap, q1, sizeof(q1)), args, extra,
		      q(out_path, q2, sizeof(q2))));
}

START_TEST(test_annotate_filters)
{
	char path[PATH_MAX];

	backlog_overflow("--verify", path, sizeof(path));
	/* Every drop is found by its counter's name; the listener's SYNs by the listener. */
	ck_assert_int_eq(tshark_count(path, "frame.comment contains \"ListenOverflows\"", NULL), 14);
	ck_assert_int_eq(tshark_count(path, "frame.comment contains \"listener 10.0.0.1:80 (exact)\"", NULL), 16);
	ck_assert_int_eq(tshark_count(path, "frame.comment contains \"answering #1\"", NULL), 1);
	/* --verify: both SYN-ACKs matched, on the stack's copy and on the kernel's. */
	ck_assert_int_eq(tshark_count(path, "frame.comment contains \"verify: matched\"", NULL), 4);
	ck_assert_int_eq(tshark_count(path, "frame.interface_name == \"tcpdemux\"", NULL), 2);
}
END_TEST

START_TEST(test_annotate_demo)
{
	char path[PATH_MAX], q1[PATH_MAX + 8], *out;
	struct nframes got;

	tmp_file("demo.pcapng", path, sizeof(path));
	free(tcpdemux(0, "demo two-clients --hash-seed 1 --annotate %s", q(path, q1, sizeof(q1))));
	nframes_read(path, &got);
	ck_assert_int_eq(got.dlt, DLT_NULL); /* segments, not frames: BSD loopback framing */
	ck_assert_int_eq(got.n, 15); /* 9 segments received, 6 sent */
	nframes_free(&got);
	{
		const char *argv[] = { "tshark", "-r", path, "-T", "fields", "-E", "separator=|", "-e",
				       "frame.interface_name", "-e", "ip.src", "-e", "tcp.srcport", "-e", "frame.comment", NULL };
		out = prog_tool(argv);
	}
	ck_assert_msg(strstr(out, "wire|10.0.0.2|1234|demux: ehash[0x86bf] miss -> listener 10.0.0.1:80 (exact) -> request #2, SYN queue 1/8 -> SYN-ACK\n") == out,
		      "first frame: %s", out);
	ck_assert_msg(strstr(out, "\ntcpdemux|10.0.0.1|80|tcpdemux: SYN-ACK answering #1\n") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "\nwire|10.0.0.3|5678|demux: ehash[0x1c2a] hit sock #3 ESTABLISHED -> 18 bytes delivered\n"),
		      "%s", out);
	free(out);
}
END_TEST

START_TEST(test_views_unwritable)
{
	static const char *const opts[] = { "--annotate", "--html", "--plot" };
	char *out;
	int i;

	for (i = 0; i < 3; i++) {
		out = tcpdemux(2, "demo two-clients %s /nonexistent-dir/out", opts[i]);
		ck_assert_msg(strstr(out, "tcpdemux: /nonexistent-dir/out: No such file or directory\n") != NULL,
			      "%s: %s", opts[i], out);
		ck_assert_msg(strstr(out, "demo two-clients") == NULL, "%s: the demo ran anyway: %s", opts[i], out);
		free(out);
	}
}
END_TEST

/* ---- the Lua plugin ------------------------------------------------------------------------ */

START_TEST(test_lua_fields)
{
	char path[PATH_MAX], luaopt[64], *out;

	backlog_overflow("", path, sizeof(path));
	fmt(luaopt, sizeof(luaopt), "lua_script:%s", LUA);
	{
		const char *argv[] = { "tshark", "-X", luaopt, "-r", path, "-T", "fields", "-E", "separator=|",
				       "-e", "frame.number", "-e", "tcpdemux.kind", "-e", "tcpdemux.table",
				       "-e", "tcpdemux.result", "-e", "tcpdemux.sock", "-e", "tcpdemux.state",
				       "-e", "tcpdemux.listener", "-e", "tcpdemux.syn_queue", "-e", "tcpdemux.accept_queue",
				       "-e", "tcpdemux.backlog", "-e", "tcpdemux.reason", "-e", "tcpdemux.cause", NULL };
		out = prog_tool(argv);
	}
	/* The first SYN: a miss, the listener, a new request in its SYN queue. */
	ck_assert_msg(strstr(out, "1|demux|listener|syn_ack|2|SYN_RECV|10.0.0.1:80|1||1||\n") == out, "%s", out);
	/* The stack's SYN-ACK names the frame it answers. */
	ck_assert_msg(strstr(out, "\n2|stack||||||||||1\n"), "%s", out);
	/* The ACK: found in the established hash, the request becomes a socket on the accept queue. */
	ck_assert_msg(strstr(out, "\n4|demux|ehash|queued|2|ESTABLISHED|||1|1||\n"), "%s", out);
	/* A SYN past the full accept queue: dropped, counted as ListenOverflows. */
	ck_assert_msg(strstr(out, "\n9|demux|listener|drop||||10.0.0.1:80||2|1|ListenOverflows|\n") ||
		      strstr(out, "\n9|demux|listener|drop|||10.0.0.1:80||2|1|ListenOverflows|\n"), "%s", out);
	free(out);
	ck_assert_int_eq(tshark_count(path, "tcpdemux.result == \"drop\"", LUA), 14);
	ck_assert_int_eq(tshark_count(path, "tcpdemux.accept_queue > tcpdemux.backlog", LUA), 15);
	ck_assert_int_eq(tshark_count(path, "tcpdemux.table == \"ehash\"", LUA), 2);
	{
		const char *argv[] = { "tshark", "-X", luaopt, "-r", path, "-q", "-z", "expert", NULL };
		out = prog_tool(argv);
	}
	ck_assert_msg(strstr(out, "Warns (14)"), "the drops are not warnings in Expert Info:\n%s", out);
	ck_assert_msg(strstr(out, "TCPDEMUX  demux: ehash["), "no tcpdemux entries in Expert Info:\n%s", out);
	free(out);
}
END_TEST

/* ---- the plot -------------------------------------------------------------------------------- */

START_TEST(test_plot_svg)
{
	char pcap[PATH_MAX], args[512], svg[PATH_MAX], q1[PATH_MAX + 8], q2[PATH_MAX + 8], *text;

	fmt(pcap, sizeof(pcap), "%s/kernel/backlog-overflow.pcap", prog_traces());
	trace_args(pcap, args, sizeof(args));
	tmp_file("plot.svg", svg, sizeof(svg));
	free(tcpdemux(0, "replay %s %s --quiet --plot %s", q(pcap, q1, sizeof(q1)), args, q(svg, q2, sizeof(q2))));
	text = prog_read_file(svg, NULL);
	ck_assert_msg(strncmp(text, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"", 77) == 0,
		      "not a standalone SVG: %.200s", text);
	ck_assert_msg(strstr(text, ">10.0.0.1:80</text>"), "the listener is not named");
	ck_assert_msg(strstr(text, "backlog 1 "), "the backlog is not said");
	ck_assert_msg(strstr(text, "14 dropped"), "the drops are not counted");
	/* One cross per column with drops (each retransmitted SYN is its own moment), and the legend's. */
	ck_assert_int_eq(count_of(text, "class=\"pq-drop\""), 15);
	ck_assert_int_eq(count_of(text, "class=\"pq-acc\""), 2);
	ck_assert_int_eq(count_of(text, "class=\"pq-backlog\""), 2);
	free(text);
	{
		const char *argv[] = { "/usr/bin/python3", "-c", "import sys, xml.dom.minidom as m; m.parse(sys.argv[1]); print('ok')",
				       svg, NULL };
		text = prog_tool(argv);
		ck_assert_str_eq(text, "ok\n");
		free(text);
	}
}
END_TEST

/* ---- the page in a browser --------------------------------------------------------------------- */

/* Whether the browser test can run; outside CI a missing browser is said and the test passes. */
static int have_browser(void)
{
	int ok = access("/usr/bin/chromium", X_OK) == 0 && access("/usr/bin/chromedriver", X_OK) == 0;

	if (ok) {
		const char *argv[] = { "/usr/bin/python3", "-c", "import selenium", NULL };
		char *out, *err;

		ok = prog_runv((char *const *)argv, &out, &err) == 0;
		free(out);
		free(err);
	}
	if (ok)
		return 1;
	ck_assert_msg(getenv("CI") == NULL || !*getenv("CI"),
		      "CI must run the browser test: chromium, chromium-driver and python3-selenium are missing (tools/ensure-deps.sh --test)");
	fprintf(stderr, "check_view: no chromium/chromedriver/selenium here: the page tests did not run (they do in CI)\n");
	return 0;
}

/* Runs page.py on page with the commands; returns its output (asserting success). */
static char *page(const char *html, const char *const *cmds)
{
	const char *argv[48];
	int n = 0;

	argv[n++] = "/usr/bin/python3";
	argv[n++] = PAGE_PY;
	argv[n++] = html;
	while (*cmds && n < 47)
		argv[n++] = *cmds++;
	argv[n] = NULL;
	return prog_tool(argv);
}

/* The i-th (0-based) section named name ("== name ..." up to "== end") of page.py's output, malloc'd. */
static char *section(const char *out, const char *name, int i)
{
	char head[64];
	const char *p = out, *e;
	char *s;

	fmt(head, sizeof(head), "== %s", name);
	for (;;) {
		p = strstr(p, head);
		ck_assert_msg(p != NULL, "no section '%s' #%d in:\n%s", name, i, out);
		if (i-- == 0)
			break;
		p += strlen(head);
	}
	p = strchr(p, '\n') + 1;
	e = strstr(p, "\n== end");
	ck_assert_msg(e != NULL, "section '%s' does not end", name);
	s = strndup(p, (size_t)(e - p));
	ck_assert_msg(s != NULL, "out of memory");
	return s;
}

/* Asserts that the i-th section named name is want. */
static void section_is(const char *out, const char *name, int i, const char *want)
{
	char *s = section(out, name, i);

	ck_assert_msg(strcmp(s, want) == 0, "%s #%d: '%s', want '%s'", name, i, s, want);
	free(s);
}

/* The demo's three connections, as the ehash shows them. */
#define C1 "10.0.0.1:80 \u2194 10.0.0.2:1234"
#define C2 "10.0.0.1:80 \u2194 10.0.0.3:5678"
#define C3 "10.0.0.1:80 \u2194 10.0.0.2:1235"

START_TEST(test_page_two_clients)
{
	char html[PATH_MAX], png[PATH_MAX], q1[PATH_MAX + 8], *out, *s;

	if (!have_browser())
		return;
	tmp_file("v.html", html, sizeof(html));
	tmp_file("v.png", png, sizeof(png));
	free(tcpdemux(0, "demo two-clients --hash-seed 1 --html %s", q(html, q1, sizeof(q1))));
	{
		const char *cmds[] = { "open", "step=1", "tables", "open", "step=last", "tables", NULL };
		out = page(html, cmds);
	}
	/* #step=1: the first SYN only: one request, of the first client, in the SYN queue and the ehash. */
	s = section(out, "tables", 0);
	ck_assert_msg(strstr(s, "SYN queue 1/8\n#2 10.0.0.2:1234\n"), "step 1: the SYN queue:\n%s", s);
	ck_assert_msg(strstr(s, C1 " SYN_RECV"), "step 1: the first client's request:\n%s", s);
	ck_assert_msg(!strstr(s, "10.0.0.3") && !strstr(s, "10.0.0.2:1235"), "step 1 shows a later client:\n%s", s);
	free(s);
	/* #step=last: all three 4-tuples, established and accepted, one local port. */
	s = section(out, "tables", 1);
	ck_assert_msg(strstr(s, C1 " ESTABLISHED fd 4") && strstr(s, C2 " ESTABLISHED fd 5") &&
			      strstr(s, C3 " ESTABLISHED fd 6"),
		      "step last: the three connections:\n%s", s);
	ck_assert_msg(strstr(s, "3 entries"), "step last: the ehash's size:\n%s", s);
	free(s);
	free(out);
	{
		const char *cmds[] = { "open", "step=1", "key", "ArrowRight", "tables", "key", "n", "key", "p",
				       "key", "End", "key", "Home", "tables", "key", "ArrowRight", "key", "c", "ladder",
				       "type", "jump", "5", "detail", "shot", png, NULL };
		out = page(html, cmds);
	}
	section_is(out, "key ArrowRight", 0, "#step=2");
	s = section(out, "tables", 0);
	ck_assert_msg(strstr(s, "accept queue 1/8\n#2 10.0.0.2:1234") && strstr(s, C1 " ESTABLISHED"),
		      "step 2: the handshake completed:\n%s", s);
	free(s);
	section_is(out, "key n", 0, "#step=3");
	section_is(out, "key p", 0, "#step=2");
	section_is(out, "key End", 0, "#step=last");
	section_is(out, "key Home", 0, "#step=0");
	s = section(out, "tables", 1);
	ck_assert_msg(strstr(s, "#1 10.0.0.1:80 fd 3, backlog 8") && strstr(s, "0 entries"),
		      "step 0: the listener alone:\n%s", s);
	free(s);
	/* c on segment 1: only 10.0.0.2:1234's lines: its segments #1 #2 #7, not the others'. */
	s = section(out, "ladder", 0);
	ck_assert_msg(strstr(s, "#1 ") && strstr(s, "#2 ") && !strstr(s, "#3 ") && !strstr(s, "#5 "),
		      "the connection filter:\n%s", s);
	free(s);
	section_is(out, "type jump", 0, "#step=5");
	s = section(out, "detail", 0);
	ck_assert_msg(strstr(s, "#5 in 10.0.0.2:1235 \u2192 10.0.0.1:80 SYN"), "detail of #5:\n%s", s);
	free(s);
	s = section(out, "shot", 0);
	ck_assert_msg(number_after(s, "colours=") >= 50 && strtod(strstr(s, "ink=") + 4, NULL) >= 0.05,
		      "the screenshot looks blank: %s", s);
	free(s);
	free(out);
}
END_TEST

START_TEST(test_page_replay_drop)
{
	char pcap[PATH_MAX], args[512], html[PATH_MAX], q1[PATH_MAX + 8], q2[PATH_MAX + 8], *out, *s;

	if (!have_browser())
		return;
	fmt(pcap, sizeof(pcap), "%s/kernel/backlog-overflow.pcap", prog_traces());
	trace_args(pcap, args, sizeof(args));
	tmp_file("bo.html", html, sizeof(html));
	free(tcpdemux(0, "replay %s %s --quiet --hash-seed 1 --html %s", q(pcap, q1, sizeof(q1)), args,
		      q(html, q2, sizeof(q2))));
	{
		const char *cmds[] = { "open", "step=9", "detail", "tables", NULL };
		out = page(html, cmds);
	}
	s = section(out, "detail", 0);
	ck_assert_msg(strstr(s, "accept queue full (2 > backlog 1) \u2192 dropped (ListenOverflows)"), "%s", s);
	free(s);
	s = section(out, "tables", 0);
	ck_assert_msg(strstr(s, "accept queue 2/1 full\n#2 10.0.0.2:41001\n#3 10.0.0.2:41002"), "%s", s);
	ck_assert_msg(!strstr(s, "0.0.0.0:0"), "the listener is in the ehash:\n%s", s);
	free(s);
	free(out);
}
END_TEST

START_TEST(test_page_big_replay)
{
	char pcap[PATH_MAX], html[PATH_MAX], q1[PATH_MAX + 8], q2[PATH_MAX + 8], *out, *s;
	long long frames, size;
	FILE *f;

	if (!have_browser())
		return;
	tmp_file("big.pcap", pcap, sizeof(pcap));
	tmp_file("big.html", html, sizeof(html));
	free(tcpdemux(0, "synth --clients 9600 --seed 1 --write %s --quiet", q(pcap, q1, sizeof(q1))));
	out = tcpdemux(0, "replay %s --quiet --hash-seed 1 --html %s", q(pcap, q1, sizeof(q1)), q(html, q2, sizeof(q2)));
	frames = number_after(out, "timestamps): ");
	free(out);
	ck_assert_msg(frames >= 100000, "the capture has %lld frames, not 100,000", frames);
	f = fopen(html, "rb");
	ck_assert_msg(f && fseek(f, 0, SEEK_END) == 0, "cannot size %s", html);
	size = ftell(f);
	fclose(f);
	ck_assert_msg(size < (64ll << 20), "the page of %lld frames is %lld bytes", frames, size);
	{
		const char *cmds[] = { "open", "step=last", "tables", "key", "ArrowLeft", "open", "step=50000", "detail", NULL };
		out = page(html, cmds);
	}
	s = section(out, "open step=last", 0);
	ck_assert_msg(number_after(s, "ms=") < 20000, "the page took too long to open: %s", s);
	ck_assert_msg(number_after(s, "rows=") > frames, "the page has fewer lines than frames: %s", s);
	free(s);
	s = section(out, "tables", 0);
	ck_assert_msg(strstr(s, "9600 entries") && strstr(s, "TIME_WAIT"), "the last step's tables:\n%.2000s", s);
	free(s);
	s = section(out, "key ArrowLeft", 0);
	ck_assert_msg(strncmp(s, "#step=", 6) == 0 && atoll(s + 6) > 100000, "stepping back from the end: %s", s);
	free(s);
	s = section(out, "detail", 0);
	ck_assert_msg(strstr(s, " in 10.1.0."), "segment 50000's detail: %s", s);
	free(s);
	free(out);
}
END_TEST

Suite *view_suite(void)
{
	Suite *s = suite_create("view");
	TCase *ta = tcase_create("annotate");
	TCase *tp = tcase_create("page");

	tcase_set_timeout(ta, 300);
	tcase_add_unchecked_fixture(ta, tmp_setup, tmp_teardown);
	tcase_add_test(ta, test_annotate_kernel_traces);
	tcase_add_test(ta, test_annotate_realworld);
	tcase_add_test(ta, test_annotate_filters);
	tcase_add_test(ta, test_annotate_demo);
	tcase_add_test(ta, test_views_unwritable);
	tcase_add_test(ta, test_lua_fields);
	tcase_add_test(ta, test_plot_svg);
	suite_add_tcase(s, ta);

	tcase_set_timeout(tp, 300);
	tcase_add_unchecked_fixture(tp, tmp_setup, tmp_teardown);
	tcase_add_test(tp, test_page_two_clients);
	tcase_add_test(tp, test_page_replay_drop);
	tcase_add_test(tp, test_page_big_replay);
	suite_add_tcase(s, tp);
	return s;
}
