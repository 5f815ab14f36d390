/*
 * check_ss_nstat.c - the views engineers already read (issue 15, item 6):
 *
 *   ss       --tables in ss -tan's columns: State, Recv-Q, Send-Q, Local
 *            Address:Port, Peer Address:Port; a listener's Recv-Q is its
 *            accept queue and Send-Q its backlog; a connection's are the
 *            bytes not yet read and not yet acknowledged (JSON: recv_q,
 *            send_q);
 *   nstat    --nstat prints the counters as this machine's `nstat -az`
 *            does: the same names, the same columns, the kernel's order;
 *   summary  every listener at the end with its SYNs, handshakes, cookies,
 *            drops by reason and queue peaks, in text and JSON, agreeing
 *            with the stack's counters.
 *
 * Runs build/tcpdemux on traces/ (the real kernel's) and on a published
 * capture of ../shared/realworld (REALWORLD); nstat comes from iproute2,
 * which `make check` installs (tools/ensure-deps.sh --test).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "counters.h"
#include "replaytest.h"
#include "suites.h"

/* The whitespace-separated fields of the first line of text starting with prefix. */
static int row_fields(const char *text, const char *prefix, char f[][64], int max)
{
	const char *p = text;
	int n = 0;

	while (p && *p) {
		const char *e = strchr(p, '\n');
		size_t len = e ? (size_t)(e - p) : strlen(p);

		if (strncmp(p, prefix, strlen(prefix)) == 0) {
			char line[512];
			char *tok, *save = NULL;

			fmt_cut(line, sizeof(line), "%.*s", (int)len, p);
			for (tok = strtok_r(line, " ", &save); tok && n < max; tok = strtok_r(NULL, " ", &save))
				fmt_cut(f[n++], 64, "%s", tok);
			return n;
		}
		p = e ? e + 1 : NULL;
	}
	return 0;
}

/* $TRACES/kernel/NAME.pcap into path, and the options its .args file holds into args. */
static void kernel_trace(const char *name, char *path, size_t plen, char *args, size_t alen)
{
	char a[PATH_MAX];
	FILE *f;

	fmt(path, plen, "%s/kernel/%s.pcap", prog_traces(), name);
	fmt(a, sizeof(a), "%s/kernel/%s.args", prog_traces(), name);
	f = fopen(a, "r");
	ck_assert_msg(f && fgets(args, (int)alen, f), "cannot read %s", a);
	fclose(f);
	args[strcspn(args, "\n")] = '\0';
}

/* The frames of handshake-data-close up to and including frame n (1-based). */
static const char *first_frames(int n, const char *name, char *file, size_t len)
{
	char path[PATH_MAX];
	struct pkts *l = pkts_read(trace_path("handshake-data-close", path, sizeof(path)));

	ck_assert_msg(l->n > n, "the trace has %d frames", l->n);
	while (l->n > n)
		free(l->p[--l->n].data);
	pcap_write(tmp_file(name, file, len), l->dlt, 0, l);
	pkts_free(l);
	return file;
}

/*
 * A connection the application never accepted holds the client's 19
 * bytes unread (Recv-Q 19) and sits on the accept queue (the listener's
 * Recv-Q 1, Send-Q its backlog); one cut before the client acknowledged
 * the server's 44 bytes has them in Send-Q.
 */
START_TEST(test_tables_ss_columns)
{
	char path[PATH_MAX], file[PATH_MAX], qb[2 * PATH_MAX], f[12][64];
	struct run r;
	int n;

	trace_path("handshake-data-close", path, sizeof(path));
	run_plain(&r, "replay %s --accept never --tables=end --no-color --hash-seed 1", q(path, qb, sizeof(qb)));
	run_ok(&r);
	ck_assert_msg(strstr(r.out, "    State      Recv-Q Send-Q Local Address:Port    Peer Address:Port") != NULL,
		      "tcpdemux %s: no ss -tan header:\n%s", r.args, r.out);
	n = row_fields(r.out, "    LISTEN", f, 12);
	ck_assert_msg(n >= 5 && strcmp(f[1], "1") == 0 && strcmp(f[2], "4096") == 0 &&
			      strcmp(f[3], "10.0.0.1:80") == 0 && strcmp(f[4], "0.0.0.0:*") == 0,
		      "tcpdemux %s: the LISTEN row is not 'LISTEN 1 4096 10.0.0.1:80 0.0.0.0:*':\n%s", r.args, r.out);
	n = row_fields(r.out, "    ESTAB", f, 12);
	ck_assert_msg(n >= 5 && strcmp(f[1], "19") == 0 && strcmp(f[2], "0") == 0 &&
			      strcmp(f[4], "10.0.0.2:40000") == 0,
		      "tcpdemux %s: the ESTAB row is not 'ESTAB 19 0 10.0.0.1:80 10.0.0.2:40000':\n%s", r.args, r.out);
	run_free(&r);

	run_json(&r, "replay %s --accept never --tables=end --format json --hash-seed 1", q(path, qb, sizeof(qb)));
	run_ok(&r);
	ck_assert_msg(r.l.n >= 2 && strstr(r.l.line[r.l.n - 2], "\"recv_q\":19,\"send_q\":0") != NULL,
		      "tcpdemux %s: the tables line lacks recv_q 19: %s", r.args, r.l.line[r.l.n - 2]);
	run_free(&r);

	/* Frames 1-6: the server's 44 bytes (frame 6) never acknowledged. */
	first_frames(6, "hdc6.pcap", file, sizeof(file));
	run_plain(&r, "replay %s --tables=end --no-color --hash-seed 1", q(file, qb, sizeof(qb)));
	run_ok(&r);
	n = row_fields(r.out, "    ESTAB", f, 12);
	ck_assert_msg(n >= 5 && strcmp(f[1], "0") == 0 && strcmp(f[2], "44") == 0,
		      "tcpdemux %s: the ESTAB row is not 'ESTAB 0 44 ...':\n%s", r.args, r.out);
	run_free(&r);
}
END_TEST

/* The summary's "listeners" element for port, and the summary's counters. */
static void summary_listener(const struct run *r, unsigned port, struct jobj *l, struct jobj *cnt)
{
	const struct jfield *f = j_get(run_summary(r), "listeners");
	const char *p, *e;

	j_sub(run_summary(r), "counters", cnt, r->args);
	ck_assert_msg(f && f->v[0] == '[', "tcpdemux %s: the summary has no listeners array", r->args);
	/* The array's objects, one after the other. */
	for (p = f->v + 1, e = f->v + f->vl - 1; p < e;) {
		const char *end = j_value_end(p, e);
		const char *err;

		ck_assert_msg(end != NULL, "tcpdemux %s: a malformed listener", r->args);
		err = j_parse(p, (size_t)(end - p), l);
		ck_assert_msg(err == NULL, "tcpdemux %s: a listener does not parse: %s", r->args, err);
		if (j_int(l, "port", r->args) == port)
			return;
		p = end;
		while (p < e && (*p == ',' || isspace((unsigned char)*p)))
			p++;
	}
	ck_abort_msg("tcpdemux %s: no listener on port %u in the summary", r->args, port);
}

static long long sub_int(const struct jobj *o, const char *key, const char *sub, const char *where)
{
	struct jobj s;

	j_sub(o, key, &s, where);
	return j_get(&s, sub) ? j_int(&s, sub, where) : 0;
}

/*
 * backlog-overflow (backlog 1, nobody accepts): the listener's drops are
 * the ListenOverflows the stack counted, its accept queue peaked at
 * backlog + 1 (Linux's sk_acceptq_is_full is >, not >=), every
 * handshake is a passive open. syncookies-2: its cookies are the stack's.
 */
START_TEST(test_listener_summary)
{
	char path[PATH_MAX], args[512], qb[2 * PATH_MAX], b[256];
	struct jobj l, cnt;
	struct run r;

	kernel_trace("backlog-overflow", path, sizeof(path), args, sizeof(args));
	run_json(&r, "replay %s %s --format json --quiet", q(path, qb, sizeof(qb)), args);
	run_ok(&r);
	summary_listener(&r, 80, &l, &cnt);
	ck_assert_msg(j_int(&cnt, "ListenOverflows", r.args) > 0 &&
			      sub_int(&l, "drops", "ListenOverflows", r.args) == j_int(&cnt, "ListenOverflows", r.args),
		      "tcpdemux %s: the listener's drops %s, the stack's ListenOverflows %lld", r.args,
		      j_raw(&l, "drops", b, sizeof(b)), j_int(&cnt, "ListenOverflows", r.args));
	ck_assert_msg(j_int(&l, "handshakes", r.args) == j_int(&cnt, "PassiveOpens", r.args),
		      "tcpdemux %s: %lld handshakes, %lld passive opens", r.args, j_int(&l, "handshakes", r.args),
		      j_int(&cnt, "PassiveOpens", r.args));
	ck_assert_msg(sub_int(&l, "peak_accept_queue", "len", r.args) == 2 && j_int(&l, "backlog", r.args) == 1,
		      "tcpdemux %s: peak accept queue %s for backlog 1", r.args, j_raw(&l, "peak_accept_queue", b, sizeof(b)));
	ck_assert_msg(j_int(&l, "syns", r.args) >= j_int(&l, "handshakes", r.args) + 1,
		      "tcpdemux %s: %lld SYNs for %lld handshakes and overflows", r.args, j_int(&l, "syns", r.args),
		      j_int(&l, "handshakes", r.args));
	run_free(&r);

	/* The same in text: the overflow is named under the listener. */
	run_plain(&r, "replay %s %s --quiet --no-color", q(path, qb, sizeof(qb)), args);
	run_ok(&r);
	ck_assert_msg(strstr(r.out, "listeners at the end") && strstr(r.out, "drops: ListenOverflows=") &&
			      strstr(r.out, "peak accept queue 2 at "),
		      "tcpdemux %s: the text summary lacks the listener's account:\n%s", r.args, r.out);
	run_free(&r);

	kernel_trace("syncookies-2", path, sizeof(path), args, sizeof(args));
	run_json(&r, "replay %s %s --format json --quiet", q(path, qb, sizeof(qb)), args);
	run_ok(&r);
	summary_listener(&r, 80, &l, &cnt);
	ck_assert_msg(j_int(&cnt, "SyncookiesSent", r.args) > 0 &&
			      sub_int(&l, "cookies", "sent", r.args) == j_int(&cnt, "SyncookiesSent", r.args) &&
			      sub_int(&l, "cookies", "validated", r.args) == j_int(&cnt, "SyncookiesRecv", r.args),
		      "tcpdemux %s: cookies %s, the stack's SyncookiesSent %lld and Recv %lld", r.args,
		      j_raw(&l, "cookies", b, sizeof(b)), j_int(&cnt, "SyncookiesSent", r.args),
		      j_int(&cnt, "SyncookiesRecv", r.args));
	run_free(&r);
}
END_TEST

/* A mail server's capture (FACTS.md: one handshake each to :25 and :143): one account per listener. */
START_TEST(test_listener_summary_two_services)
{
	char path[PATH_MAX], qb[2 * PATH_MAX];
	struct jobj l, cnt;
	struct run r;

	fmt(path, sizeof(path), "%s/cs_mail_receiver_server_3.pcapng", prog_env("REALWORLD", "../shared/realworld"));
	ck_assert_msg(access(path, R_OK) == 0, "the realworld captures are missing: %s (set REALWORLD)", path);
	run_json(&r, "replay %s --format json --quiet", q(path, qb, sizeof(qb)));
	run_ok(&r);
	summary_listener(&r, 25, &l, &cnt);
	ck_assert_msg(j_int(&l, "handshakes", r.args) == 1 && j_int(&l, "syns", r.args) == 1,
		      "tcpdemux %s: port 25: %lld handshakes, %lld SYNs; want 1 and 1", r.args,
		      j_int(&l, "handshakes", r.args), j_int(&l, "syns", r.args));
	summary_listener(&r, 143, &l, &cnt);
	ck_assert_msg(j_int(&l, "handshakes", r.args) == 1, "tcpdemux %s: port 143: %lld handshakes, want 1", r.args,
		      j_int(&l, "handshakes", r.args));
	run_free(&r);
}
END_TEST

/* Is every character of s[0..n) a space? */
static int all_spaces(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] != ' ')
			return 0;
	return 1;
}

/*
 * --nstat against this machine's nstat -az: "#kernel" first, then lines
 * laid out as nstat lays them out (name in 32 columns, value in 16, the
 * rate in 6), every name one nstat prints, in nstat's order, one per MIB
 * counter the stack keeps, and the values the stack's own counters.
 */
START_TEST(test_nstat_format)
{
	char path[PATH_MAX], args[512], qb[2 * PATH_MAX];
	char sh[] = "/bin/sh", c[] = "-c", cmd[] = "nstat -asz";
	char *argv[] = { sh, c, cmd, NULL };
	char *theirs, *err, *p;
	struct run r, js;
	struct jobj cnt, ker, ns;
	int rc, nlines = 0, i;
	const char *last = NULL;

	rc = prog_runv(argv, &theirs, &err);
	ck_assert_msg(rc == 0 && strncmp(theirs, "#kernel\n", 8) == 0, "nstat -asz: exit %d, stderr %s", rc, err);
	free(err);
	kernel_trace("backlog-overflow", path, sizeof(path), args, sizeof(args));
	run_plain(&r, "replay %s %s --quiet --nstat", q(path, qb, sizeof(qb)), args);
	run_ok(&r);
	run_json(&js, "replay %s %s --quiet --nstat --format json", q(path, qb, sizeof(qb)), args);
	run_ok(&js);
	j_sub(run_summary(&js), "counters", &cnt, js.args);
	ck_assert_msg(js.l.n == 2 && j_is(&js.l.obj[0], "type", "nstat"), "tcpdemux %s: no nstat line before the summary",
		      js.args);
	ns = js.l.obj[0];
	j_sub(&ns, "kernel", &ker, js.args);
	ck_assert_msg(strcmp(r.l.line[0], "#kernel") == 0, "tcpdemux %s: the first line is not #kernel: %s", r.args,
		      r.l.line[0]);
	for (i = 1; i < r.l.n; i++) {
		const char *line = r.l.line[i], *name_end = strchr(line, ' '), *at;
		char name[64], want[96];
		size_t nl;
		unsigned long long v;

		if (!line[0])
			continue;
		nlines++;
		ck_assert_msg(name_end != NULL && strlen(line) == 32 + 16 + 6, "tcpdemux %s: '%s' is not 54 columns",
			      r.args, line);
		nl = (size_t)(name_end - line);
		fmt(name, sizeof(name), "%.*s", (int)nl, line);
		ck_assert_msg(all_spaces(line + nl, 32 - nl) && strcmp(line + 48, "   0.0") == 0 &&
				      sscanf(line + 32, "%llu", &v) == 1,
			      "tcpdemux %s: '%s' is not laid out as %%-32s%%-16llu%%6.1f", r.args, line);
		/* nstat prints the name the same way: find it, after the one before. */
		fmt(want, sizeof(want), "\n%s ", name);
		at = strstr(theirs, want);
		ck_assert_msg(at != NULL, "tcpdemux %s: nstat -az has no %s", r.args, name);
		ck_assert_msg(!last || at > last, "tcpdemux %s: %s comes before its predecessor in nstat -az", r.args,
			      name);
		last = at;
		ck_assert_msg(j_int(&ker, name, js.args) == (long long)v, "tcpdemux %s: %s is %llu in text, %lld in JSON",
			      r.args, name, v, j_int(&ker, name, js.args));
		/* TcpExtListenOverflows is the stack's ListenOverflows, TcpInSegs its InSegs. */
		ck_assert_msg(j_int(&cnt, strncmp(name, "TcpExt", 6) == 0 ? name + 6 : name + 3, js.args) == (long long)v,
			      "tcpdemux %s: %s %llu differs from the summary's counter", r.args, name, v);
	}
	/* Every MIB counter (those before the drop reasons, counters.h) has its line. */
	ck_assert_msg(nlines == CNT_NOSOCKET, "tcpdemux %s: %d nstat lines for %d MIB counters", r.args, nlines,
		      CNT_NOSOCKET);
	p = strstr(r.out, "TcpExtListenOverflows ");
	ck_assert_msg(p && strtoull(p + 32, NULL, 10) > 0, "tcpdemux %s: no overflow counted:\n%s", r.args, r.out);
	free(theirs);
	run_free(&js);
	run_free(&r);
}
END_TEST

Suite *ss_nstat_suite(void)
{
	Suite *s = suite_create("ss_nstat");
	TCase *tc = tcase_create("views");

	tcase_add_unchecked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_tables_ss_columns);
	tcase_add_test(tc, test_listener_summary);
	tcase_add_test(tc, test_listener_summary_two_services);
	tcase_add_test(tc, test_nstat_format);
	suite_add_tcase(s, tc);
	return s;
}
