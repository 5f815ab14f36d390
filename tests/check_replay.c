/*
 * check_replay.c - end-to-end tests of `tcpdemux replay FILE`.
 *
 * Runs build/tcpdemux (progrun.h) on the real-kernel captures in traces/
 * and on captures this file writes itself, and checks:
 *
 *   golden     every traces/NAME.pcap against tests/golden/replay-NAME.jsonl,
 *              field by field (a small splitter of JSON objects below);
 *   facts      what the traces show, independently of the golden files:
 *              inferred local host and listener, the lookup path of the
 *              SYN and of the data, our SYN-ACK using the recorded ISN
 *              (read from the capture with frame.h), accept() events,
 *              the RST of a closed port, IPv6 endpoints;
 *   linktypes  the same IP packets wrapped in every link type tcpdemux
 *              decodes (and in pcapng and nanosecond pcap) replay to the
 *              same segments; an unsupported link type is refused;
 *   bad files  missing, a directory, empty, text, truncated: exit 2 and
 *              one stderr line that names the file;
 *   behaviour  snap-length cuts, a capture starting mid-stream, --listen,
 *              --local, --write, --verify-checksums, bad options;
 *   corpus     every capture under $CORPUS (tcpdump's and libpcap's test
 *              files) replays with exit 0 (and at most warnings naming
 *              it), or 2 and one line naming it.
 *
 * The helpers (runs, the JSON splitter, capture writers) are in
 * replaytest.h.
 *
 * Environment (set by `make check`): TCPDEMUX, TESTDIR, TRACES, CORPUS;
 * CORPUS_REQUIRED=1 makes a missing corpus a failure instead of a note.
 * Files written by the tests live in a mkdtemp() directory (under $TMPDIR
 * or /tmp) that the TCase's unchecked fixture removes.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "addr.h"
#include "frame.h"
#include "replaytest.h"
#include "segment.h"
#include "suites.h"

/* ---- captures, read with frame.h -------------------------------------------------- */


struct capseg {
	int status; /* frame_decode()'s: 0, or why the frame was skipped */
	uint64_t ts;
	struct segment seg; /* data cleared */
	char src[ADDR_STRLEN], dst[ADDR_STRLEN], flags[9];
};

struct capture {
	int n;
	int linktype;
	struct capseg s[CAP_MAX];
};

static struct capture *cap_read(const char *path)
{
	struct capture *c = calloc(1, sizeof(*c));
	char err[768];
	struct frame_src *fs;
	struct frame fr;
	uint8_t *pad = NULL;
	size_t padcap = 0;
	int r, cut;

	ck_assert_msg(c != NULL, "out of memory");
	fs = frame_open(path, NULL, err, sizeof(err));
	ck_assert_msg(fs != NULL, "frame_open: %s", err);
	c->linktype = frame_linktype(fs);
	while ((r = frame_next(fs, &fr, err, sizeof(err))) == 1) {
		struct capseg *s;

		ck_assert_msg(c->n < CAP_MAX, "%s has more than %d frames", path, CAP_MAX);
		s = &c->s[c->n++];
		s->ts = fr.ts;
		s->status = frame_decode(c->linktype, &fr, &s->seg, 0, &pad, &padcap, &cut);
		s->seg.data = NULL;
		if (s->status == 0) {
			addr_format(&s->seg.src, s->src, sizeof(s->src));
			addr_format(&s->seg.dst, s->dst, sizeof(s->dst));
			seg_flags_str(s->seg.flags, s->flags);
		}
	}
	ck_assert_msg(r == 0, "reading %s: %s", path, err);
	free(pad);
	frame_close(fs);
	return c;
}

/* The index of the first frame with exactly these flags (and this source, if given), or -1. */
static int cap_find(const struct capture *c, uint8_t flags, const char *src)
{
	int i;

	for (i = 0; i < c->n; i++)
		if (c->s[i].status == 0 && c->s[i].seg.flags == flags &&
		    (!src || strcmp(c->s[i].src, src) == 0))
			return i;
	return -1;
}

/*
 * Every inbound segment line names its frame (n): the addresses, ports,
 * flags, numbers, length and window must be that frame's. The summary's
 * frame and inbound counts must agree.
 */
static void check_in_matches_capture(const struct run *r, const struct capture *c)
{
	struct jobj rs;
	int i, nin = 0;

	for (i = 0; i < r->l.n; i++) {
		const struct jobj *o = &r->l.obj[i];
		const struct capseg *s;
		char where[2200];
		long long n;

		if (!is_seg(o, "in"))
			continue;
		nin++;
		fmt(where, sizeof(where), "tcpdemux %s, line %d", r->args, i + 1);
		n = j_int(o, "n", where);
		ck_assert_msg(n >= 1 && n <= c->n, "%s: frame n=%lld, the capture has %d", where, n, c->n);
		s = &c->s[n - 1];
		ck_assert_msg(s->status == 0, "%s: frame %lld was not a TCP segment (%s)", where, n,
			      frame_skip_name(s->status));
		ck_assert_msg(j_is(o, "src", s->src) && j_is(o, "dst", s->dst),
			      "%s: addresses differ from frame %lld (%s > %s): %s", where, n, s->src, s->dst,
			      r->l.line[i]);
		ck_assert_msg(j_int(o, "sport", where) == s->seg.sport && j_int(o, "dport", where) == s->seg.dport,
			      "%s: ports differ from frame %lld (%u > %u)", where, n, s->seg.sport, s->seg.dport);
		ck_assert_msg(j_is(o, "flags", s->flags), "%s: flags differ from frame %lld (%s): %s", where,
			      n, s->flags, r->l.line[i]);
		ck_assert_msg(j_int(o, "seq", where) == s->seg.seq, "%s: seq differs from frame %lld (%u)",
			      where, n, s->seg.seq);
		ck_assert_msg(j_int(o, "ack", where) == s->seg.ack, "%s: ack differs from frame %lld (%u)",
			      where, n, s->seg.ack);
		ck_assert_msg(j_int(o, "len", where) == s->seg.len, "%s: len differs from frame %lld (%u)",
			      where, n, s->seg.len);
		ck_assert_msg(j_int(o, "win", where) == s->seg.win, "%s: win differs from frame %lld (%u)",
			      where, n, s->seg.win);
	}
	run_replay_stats(r, &rs);
	ck_assert_msg(j_int(&rs, "frames", r->args) == c->n,
		      "tcpdemux %s: summary says %lld frames, the capture has %d", r->args,
		      j_int(&rs, "frames", r->args), c->n);
	ck_assert_msg(j_int(&rs, "inbound", r->args) == nin,
		      "tcpdemux %s: summary says %lld inbound segments, %d \"in\" lines were written", r->args,
		      j_int(&rs, "inbound", r->args), nin);
}

/* ---- golden files ------------------------------------------------------------------------ */

#define MAX_TRACES 64

static int cmp_names(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

/* Names (without the suffix) of the files in dir named PREFIX*SUFFIX, sorted. */
static int list_names(const char *dir, const char *prefix, const char *suffix, char names[][128], int max)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t pl = strlen(prefix), sl = strlen(suffix);
	int n = 0;

	ck_assert_msg(d != NULL, "cannot list %s: %s", dir, strerror(errno));
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);

		if (l <= pl + sl || strncmp(e->d_name, prefix, pl) != 0 ||
		    strcmp(e->d_name + l - sl, suffix) != 0)
			continue;
		ck_assert_msg(n < max && l - pl - sl < 128, "too many or too long names in %s", dir);
		fmt(names[n++], 128, "%.*s", (int)(l - pl - sl), e->d_name + pl);
	}
	closedir(d);
	qsort(names, (size_t)n, sizeof(names[0]), cmp_names);
	return n;
}

START_TEST(test_golden_replays)
{
	static const char *const ignore[] = { "replay.file", NULL };
	char names[MAX_TRACES][128], path[PATH_MAX], gpath[PATH_MAX], dir[PATH_MAX], qb[2 * PATH_MAX];
	int n, i, j;

	n = list_names(prog_traces(), "", ".pcap", names, MAX_TRACES);
	ck_assert_msg(n >= 5, "%s holds %d .pcap files; the 5 committed traces are expected", prog_traces(), n);
	for (i = 0; i < n; i++) {
		struct run r;
		struct jlines g;
		struct jobj rs;
		char *gtext, type[64], b[256];

		fmt(path, sizeof(path), "%s/%s.pcap", prog_traces(), names[i]);
		fmt(gpath, sizeof(gpath), "%s/golden/replay-%s.jsonl", prog_testdir(), names[i]);
		ck_assert_msg(access(gpath, R_OK) == 0, "%s has no golden file %s (run make golden, review the diff)",
			      path, gpath);
		run_json(&r, "replay %s --format json --hash-seed 1", q(path, qb, sizeof(qb)));
		run_ok(&r);
		gtext = prog_read_file(gpath, NULL);
		jl_split(&g, gtext, 1, gpath);
		for (j = 0; j < r.l.n && j < g.n; j++) {
			if (!j_str(&g.obj[j], "type", type, sizeof(type)))
				fmt(type, sizeof(type), "?");
			ck_assert_msg(j_is(&r.l.obj[j], "type", type), "%s line %d: type %s, want \"%s\"", gpath,
				      j + 1, j_raw(&r.l.obj[j], "type", b, sizeof(b)), type);
			j_compare(gpath, j + 1, type, "", &r.l.obj[j], &g.obj[j], ignore);
		}
		ck_assert_msg(r.l.n == g.n, "%s: tcpdemux %s wrote %d lines, the golden file has %d", gpath,
			      r.args, r.l.n, g.n);
		/* "file" is the path as given, so it depends on where the tests run. */
		run_replay_stats(&r, &rs);
		ck_assert_msg(j_is(&rs, "file", path), "tcpdemux %s: replay.file is %s", r.args,
			      j_raw(&rs, "file", b, sizeof(b)));
		jl_free(&g);
		free(gtext);
		run_free(&r);
	}
	/* No golden file outlives its trace. */
	fmt(dir, sizeof(dir), "%s/golden", prog_testdir());
	n = list_names(dir, "replay-", ".jsonl", names, MAX_TRACES);
	for (i = 0; i < n; i++) {
		fmt(path, sizeof(path), "%s/%s.pcap", prog_traces(), names[i]);
		ck_assert_msg(access(path, R_OK) == 0, "%s/replay-%s.jsonl has no trace %s", dir, names[i], path);
	}
}
END_TEST

/* ---- facts of the traces, independent of the golden files -------------------------------- */

/*
 * Every trace, any hash seed: each inbound segment is its frame, and each
 * SYN-ACK the stack sends carries the ISN the recorded host chose (the
 * SYN-ACK for the same 4-tuple in the capture) and acknowledges the SYN.
 */
START_TEST(test_replay_matches_capture)
{
	char names[MAX_TRACES][128], path[PATH_MAX], qb[2 * PATH_MAX];
	int n, i, j, k;

	n = list_names(prog_traces(), "", ".pcap", names, MAX_TRACES);
	ck_assert_msg(n >= 5, "%s holds %d .pcap files", prog_traces(), n);
	for (i = 0; i < n; i++) {
		struct capture *c;
		struct run r;

		fmt(path, sizeof(path), "%s/%s.pcap", prog_traces(), names[i]);
		c = cap_read(path);
		run_json(&r, "replay %s --format json", q(path, qb, sizeof(qb)));
		run_ok(&r);
		check_in_matches_capture(&r, c);
		for (j = 0; j < r.l.n; j++) {
			const struct jobj *o = &r.l.obj[j];
			char where[2200], src[ADDR_STRLEN], dst[ADDR_STRLEN];
			int found = 0;

			if (!is_seg(o, "out") || !j_is(o, "flags", "SA"))
				continue;
			fmt(where, sizeof(where), "tcpdemux %s, line %d", r.args, j + 1);
			ck_assert_msg(j_str(o, "src", src, sizeof(src)) && j_str(o, "dst", dst, sizeof(dst)),
				      "%s: no addresses", where);
			for (k = 0; k < c->n && !found; k++) {
				const struct capseg *s = &c->s[k];

				if (s->status || s->seg.flags != (TH_SYN | TH_ACK) || strcmp(s->src, src) ||
				    strcmp(s->dst, dst) || s->seg.sport != j_int(o, "sport", where) ||
				    s->seg.dport != j_int(o, "dport", where))
					continue;
				found = 1;
				ck_assert_msg(j_int(o, "seq", where) == s->seg.seq,
					      "%s: our SYN-ACK has seq %lld, the recorded one (frame %d) %u", where,
					      j_int(o, "seq", where), k + 1, s->seg.seq);
				ck_assert_msg(j_int(o, "ack", where) == s->seg.ack,
					      "%s: our SYN-ACK acks %lld, the recorded one (frame %d) %u", where,
					      j_int(o, "ack", where), k + 1, s->seg.ack);
			}
			ck_assert_msg(found, "%s: a SYN-ACK the recorded host never sent: %s", where, r.l.line[j]);
		}
		run_free(&r);
		free(c);
	}
}
END_TEST

/*
 * One client, one request and reply, server closes first (the
 * handshake-data-close exchange, recorded on Ethernet, with tcpdump -i any
 * and over IPv6). No options: the local host and its listener are inferred.
 */
static void check_http_exchange(const char *name, const char *server, const char *client)
{
	char path[PATH_MAX], qb[2 * PATH_MAX], lis[ADDR_STRLEN + 8], remote[ADDR_STRLEN + 8], b[256];
	struct capture *c;
	struct run r;
	int syn, synack, i, data_in = 0, data_seen = 0, synacks = 0, syns = 0, accepts = 0;

	trace_path(name, path, sizeof(path));
	c = cap_read(path);
	syn = cap_find(c, TH_SYN, client);
	synack = cap_find(c, TH_SYN | TH_ACK, server);
	ck_assert_msg(syn >= 0 && synack >= 0, "%s: no SYN from %s or no SYN-ACK from %s", path, client, server);
	ep(server, c->s[synack].seg.sport, lis, sizeof(lis));
	ep(client, c->s[syn].seg.sport, remote, sizeof(remote));
	for (i = 0; i < c->n; i++)
		if (c->s[i].status == 0 && strcmp(c->s[i].dst, server) == 0 && c->s[i].seg.len > 0)
			data_in++;
	ck_assert_msg(data_in > 0, "%s: no data from the client", path);

	run_json(&r, "replay %s --format json", q(path, qb, sizeof(qb)));
	run_ok(&r);
	ck_assert_msg(count_inferred(&r, "local", server) == 1 && count_inferred(&r, "local", NULL) == 1,
		      "tcpdemux %s: want one \"inferred\" local, %s:\n%s", r.args, server, r.out);
	ck_assert_msg(count_inferred(&r, "listener", lis) == 1 && count_inferred(&r, "listener", NULL) == 1,
		      "tcpdemux %s: want one \"inferred\" listener, %s:\n%s", r.args, lis, r.out);
	for (i = 0; i < r.l.n; i++) {
		const struct jobj *o = &r.l.obj[i];
		char where[2200];
		struct jobj lk;
		long long n;

		fmt(where, sizeof(where), "tcpdemux %s, line %d", r.args, i + 1);
		if (j_is(o, "type", "accept")) {
			accepts++;
			ck_assert_msg(j_is(o, "local", lis) && j_is(o, "listener", lis) && j_is(o, "remote", remote),
				      "%s: want an accept of %s on %s: %s", where, remote, lis, r.l.line[i]);
			continue;
		}
		if (is_seg(o, "out")) {
			ck_assert_msg(j_is(o, "src", server), "%s: sent from %s, not %s", where,
				      j_raw(o, "src", b, sizeof(b)), server);
			if (!j_is(o, "flags", "SA"))
				continue;
			synacks++;
			ck_assert_msg(j_int(o, "seq", where) == c->s[synack].seg.seq,
				      "%s: our SYN-ACK has seq %lld; the recorded SYN-ACK (frame %d) has %u", where,
				      j_int(o, "seq", where), synack + 1, c->s[synack].seg.seq);
			ck_assert_msg(j_int(o, "ack", where) == (uint32_t)(c->s[syn].seg.seq + 1),
				      "%s: our SYN-ACK acks %lld, want the SYN's seq + 1 = %u", where,
				      j_int(o, "ack", where), c->s[syn].seg.seq + 1);
			continue;
		}
		if (!is_seg(o, "in"))
			continue;
		ck_assert_msg(j_is(o, "dst", server) && j_is(o, "src", client), "%s: not %s > %s: %s", where,
			      client, server, r.l.line[i]);
		n = j_int(o, "n", where);
		j_sub(o, "lookup", &lk, where);
		if (n == syn + 1) {
			syns++;
			ck_assert_msg(j_is(&lk, "result", "listener"), "%s: the SYN's lookup.result is %s, want \"listener\"",
				      where, j_raw(&lk, "result", b, sizeof(b)));
			ck_assert_msg(j_raw(&lk, "wildcard", b, sizeof(b)) && strcmp(b, "false") == 0,
				      "%s: the SYN's lookup.wildcard is %s, want false", where, b);
			ck_assert_msg(j_is(o, "listener", lis), "%s: the SYN's listener is %s, want %s", where,
				      j_raw(o, "listener", b, sizeof(b)), lis);
			ck_assert_msg(j_is(o, "action", "syn_ack"), "%s: the SYN's action is %s, want \"syn_ack\"",
				      where, j_raw(o, "action", b, sizeof(b)));
			ck_assert_msg(j_is(o, "state", "SYN_RECV"), "%s: the SYN's state is %s, want \"SYN_RECV\"",
				      where, j_raw(o, "state", b, sizeof(b)));
			ck_assert_msg(j_is(o, "isn", "recorded"), "%s: the SYN's isn is %s, want \"recorded\"",
				      where, j_raw(o, "isn", b, sizeof(b)));
		} else if (n > syn + 1 && j_int(o, "len", where) > 0) {
			data_seen++;
			ck_assert_msg(j_is(&lk, "result", "established"),
				      "%s: a data segment's lookup.result is %s, want \"established\"", where,
				      j_raw(&lk, "result", b, sizeof(b)));
			ck_assert_msg(j_is(o, "action", "deliver"), "%s: a data segment's action is %s, want \"deliver\"",
				      where, j_raw(o, "action", b, sizeof(b)));
		}
		ck_assert_msg(j_null(o, "reason"), "%s: reason %s, want null", where, j_raw(o, "reason", b, sizeof(b)));
	}
	ck_assert_msg(syns == 1, "tcpdemux %s: %d inbound lines for the SYN (frame %d), want 1", r.args, syns,
		      syn + 1);
	ck_assert_msg(data_seen == data_in, "tcpdemux %s: %d inbound data segments, the capture has %d", r.args,
		      data_seen, data_in);
	ck_assert_msg(synacks == 1, "tcpdemux %s: %d SYN-ACKs sent, want 1", r.args, synacks);
	ck_assert_msg(accepts == 1, "tcpdemux %s: %d accept events, want 1", r.args, accepts);
	check_in_matches_capture(&r, c);
	run_free(&r);
	free(c);
}

START_TEST(test_facts_ethernet)
{
	check_http_exchange("handshake-data-close", "10.0.0.1", "10.0.0.2");
}
END_TEST

START_TEST(test_facts_sll2)
{
	check_http_exchange("any-sll2", "10.0.0.1", "10.0.0.2");
}
END_TEST

START_TEST(test_facts_ipv6)
{
	check_http_exchange("ipv6", "fd00::1", "fd00::2");
}
END_TEST

/* Three connections on one listener: one local endpoint, three remotes, three accepts. */
START_TEST(test_facts_two_clients)
{
	char path[PATH_MAX], qb[2 * PATH_MAX], remotes[3][ADDR_STRLEN + 8], synfrom[3][ADDR_STRLEN + 8];
	char peers[16][ADDR_STRLEN + 8], b[256];
	struct capture *c;
	struct run r;
	int i, j, accepts = 0, nsyn = 0, npeers = 0;

	trace_path("two-clients", path, sizeof(path));
	c = cap_read(path);
	for (i = 0; i < c->n; i++)
		if (c->s[i].status == 0 && c->s[i].seg.flags == TH_SYN) {
			ck_assert_msg(nsyn < 3, "%s: more than three SYNs", path);
			ep(c->s[i].src, c->s[i].seg.sport, synfrom[nsyn++], sizeof(synfrom[0]));
		}
	ck_assert_msg(nsyn == 3, "%s: %d SYNs, want 3", path, nsyn);

	run_json(&r, "replay %s --format json", q(path, qb, sizeof(qb)));
	run_ok(&r);
	ck_assert_msg(count_inferred(&r, "listener", "10.0.0.1:80") == 1 &&
			      count_inferred(&r, "listener", NULL) == 1,
		      "tcpdemux %s: want one inferred listener, 10.0.0.1:80:\n%s", r.args, r.out);
	for (i = 0; i < r.l.n; i++) {
		const struct jobj *o = &r.l.obj[i];
		char where[2200], peer[ADDR_STRLEN + 8], src[ADDR_STRLEN];

		fmt(where, sizeof(where), "tcpdemux %s, line %d", r.args, i + 1);
		if (j_is(o, "type", "accept")) {
			ck_assert_msg(accepts < 3, "%s: a fourth accept event", where);
			ck_assert_msg(j_is(o, "local", "10.0.0.1:80") && j_is(o, "listener", "10.0.0.1:80"),
				      "%s: an accepted socket not on the listener's 10.0.0.1:80: %s", where, r.l.line[i]);
			ck_assert_msg(j_is(o, "state", "ESTABLISHED"), "%s: accepted in state %s", where,
				      j_raw(o, "state", b, sizeof(b)));
			ck_assert_msg(j_str(o, "remote", remotes[accepts], sizeof(remotes[0])) != NULL,
				      "%s: no remote", where);
			/* The handshakes complete in the order of their SYNs. */
			ck_assert_msg(strcmp(remotes[accepts], synfrom[accepts]) == 0,
				      "%s: accept %d returned %s, want %s", where, accepts + 1, remotes[accepts],
				      synfrom[accepts]);
			accepts++;
		}
		if (!is_seg(o, "in"))
			continue;
		ck_assert_msg(j_is(o, "dst", "10.0.0.1") && j_int(o, "dport", where) == 80,
			      "%s: an inbound segment not to 10.0.0.1:80: %s", where, r.l.line[i]);
		ck_assert_msg(j_str(o, "src", src, sizeof(src)) != NULL, "%s: no src", where);
		ep(src, (unsigned)j_int(o, "sport", where), peer, sizeof(peer));
		for (j = 0; j < npeers && strcmp(peers[j], peer); j++)
			;
		if (j == npeers) {
			ck_assert_msg(npeers < 16, "too many peers");
			fmt(peers[npeers++], sizeof(peers[0]), "%s", peer);
		}
	}
	ck_assert_msg(accepts == 3, "tcpdemux %s: %d accept events, want 3", r.args, accepts);
	ck_assert_msg(strcmp(remotes[0], remotes[1]) && strcmp(remotes[1], remotes[2]) &&
			      strcmp(remotes[0], remotes[2]),
		      "tcpdemux %s: accepted sockets share a remote: %s %s %s", r.args, remotes[0], remotes[1],
		      remotes[2]);
	ck_assert_msg(npeers == 3, "tcpdemux %s: inbound segments came from %d remotes, want 3", r.args, npeers);
	check_in_matches_capture(&r, c);
	run_free(&r);
	free(c);
}
END_TEST

/* A SYN to a port nothing listens on: RST|ACK, seq 0, ack = ISN + 1. */
START_TEST(test_facts_closed_port)
{
	char path[PATH_MAX], qb[2 * PATH_MAX], b[256];
	struct capture *c;
	struct run r;
	struct jobj lk, sm, cnt;
	int syn, rst, i, nin = 0, nout = 0;

	trace_path("closed-port", path, sizeof(path));
	c = cap_read(path);
	syn = cap_find(c, TH_SYN, "10.0.0.2");
	rst = cap_find(c, TH_RST | TH_ACK, "10.0.0.1");
	ck_assert_msg(syn >= 0 && rst >= 0, "%s: no SYN or no RST|ACK", path);

	run_json(&r, "replay %s --format json", q(path, qb, sizeof(qb)));
	run_ok(&r);
	ck_assert_msg(count_inferred(&r, "local", "10.0.0.1") == 1, "tcpdemux %s: 10.0.0.1 not inferred local:\n%s",
		      r.args, r.out);
	ck_assert_msg(count_inferred(&r, "listener", NULL) == 0, "tcpdemux %s: a listener inferred:\n%s", r.args,
		      r.out);
	for (i = 0; i < r.l.n; i++) {
		const struct jobj *o = &r.l.obj[i];
		char where[2200];

		fmt(where, sizeof(where), "tcpdemux %s, line %d", r.args, i + 1);
		if (is_seg(o, "in")) {
			nin++;
			ck_assert_msg(j_int(o, "n", where) == syn + 1, "%s: inbound frame %lld, want the SYN (%d)",
				      where, j_int(o, "n", where), syn + 1);
			j_sub(o, "lookup", &lk, where);
			ck_assert_msg(j_is(&lk, "result", "none"), "%s: lookup.result %s, want \"none\"", where,
				      j_raw(&lk, "result", b, sizeof(b)));
			ck_assert_msg(j_is(o, "reason", "NoSocket"), "%s: reason %s, want \"NoSocket\"", where,
				      j_raw(o, "reason", b, sizeof(b)));
			ck_assert_msg(j_is(o, "action", "rst"), "%s: action %s, want \"rst\"", where,
				      j_raw(o, "action", b, sizeof(b)));
			ck_assert_msg(j_null(o, "listener") && j_null(o, "sock"), "%s: a listener or socket: %s",
				      where, r.l.line[i]);
		} else if (is_seg(o, "out")) {
			nout++;
			ck_assert_msg(j_is(o, "flags", "RA"), "%s: flags %s, want \"RA\"", where,
				      j_raw(o, "flags", b, sizeof(b)));
			ck_assert_msg(j_int(o, "seq", where) == 0, "%s: seq %lld, want 0", where, j_int(o, "seq", where));
			ck_assert_msg(j_int(o, "ack", where) == (uint32_t)(c->s[syn].seg.seq + 1),
				      "%s: ack %lld, want the SYN's seq + 1 = %u", where, j_int(o, "ack", where),
				      c->s[syn].seg.seq + 1);
			ck_assert_msg(j_int(o, "ack", where) == c->s[rst].seg.ack,
				      "%s: ack %lld, the recorded RST has %u", where, j_int(o, "ack", where),
				      c->s[rst].seg.ack);
			ck_assert_msg(j_int(o, "win", where) == 0, "%s: win %lld, want 0", where, j_int(o, "win", where));
		}
	}
	ck_assert_msg(nin == 1 && nout == 1, "tcpdemux %s: %d in, %d out, want 1 and 1", r.args, nin, nout);
	sm = *run_summary(&r);
	j_sub(&sm, "counters", &cnt, r.args);
	ck_assert_msg(j_int(&cnt, "NoSocket", r.args) == 1 && j_int(&cnt, "OutRsts", r.args) == 1,
		      "tcpdemux %s: counters NoSocket %lld, OutRsts %lld, want 1 and 1", r.args,
		      j_int(&cnt, "NoSocket", r.args), j_int(&cnt, "OutRsts", r.args));
	check_in_matches_capture(&r, c);
	run_free(&r);
	free(c);
}
END_TEST

struct variant {
	const char *name;
	const char *trace;
	enum wrap wrap;
	int dlt;
	uint32_t family; /* W_NULL, W_NULL_BE, W_LOOP: the address family written */
	int nano, pcapng;
	const char *linktype, *timestamps; /* what the summary must say */
};

static const struct variant variants[] = {
	{ "vlan", "handshake-data-close", W_VLAN, DLT_EN10MB, 0, 0, 0, "EN10MB", "microsecond" },
	{ "qinq", "handshake-data-close", W_QINQ, DLT_EN10MB, 0, 0, 0, "EN10MB", "microsecond" },
	{ "sll", "handshake-data-close", W_SLL, DLT_LINUX_SLL, 0, 0, 0, "LINUX_SLL", "microsecond" },
	{ "sll2", "handshake-data-close", W_SLL2, DLT_LINUX_SLL2, 0, 0, 0, "LINUX_SLL2", "microsecond" },
	{ "raw", "handshake-data-close", W_NONE, DLT_RAW, 0, 0, 0, "RAW", "microsecond" },
	{ "ipv4", "handshake-data-close", W_NONE, DLT_IPV4, 0, 0, 0, "IPV4", "microsecond" },
	{ "null", "handshake-data-close", W_NULL, DLT_NULL, 2, 0, 0, "NULL", "microsecond" },
	{ "null-be", "handshake-data-close", W_NULL_BE, DLT_NULL, 2, 0, 0, "NULL", "microsecond" },
	{ "loop", "handshake-data-close", W_LOOP, DLT_LOOP, 2, 0, 0, "LOOP", "microsecond" },
	{ "ppp", "handshake-data-close", W_PPP, DLT_PPP, 0, 0, 0, "PPP", "microsecond" },
	{ "nano", "handshake-data-close", W_ETH, DLT_EN10MB, 0, 1, 0, "EN10MB", "nanosecond" },
	{ "pcapng", "handshake-data-close", W_ETH, DLT_EN10MB, 0, 0, 1, "EN10MB", "per-interface" },
	{ "pcapng-nano", "handshake-data-close", W_ETH, DLT_EN10MB, 0, 1, 1, "EN10MB", "per-interface" },
	{ "v6-ipv6", "ipv6", W_NONE, DLT_IPV6, 0, 0, 0, "IPV6", "microsecond" },
	{ "v6-raw", "ipv6", W_NONE, DLT_RAW, 0, 0, 0, "RAW", "microsecond" },
	{ "v6-null", "ipv6", W_NULL, DLT_NULL, 24, 0, 0, "NULL", "microsecond" },     /* NetBSD/OpenBSD */
	{ "v6-null-be", "ipv6", W_NULL_BE, DLT_NULL, 28, 0, 0, "NULL", "microsecond" }, /* FreeBSD */
	{ "v6-loop", "ipv6", W_LOOP, DLT_LOOP, 30, 0, 0, "LOOP", "microsecond" },       /* macOS */
	{ "v6-sll", "ipv6", W_SLL, DLT_LINUX_SLL, 0, 0, 0, "LINUX_SLL", "microsecond" },
	{ "v6-ppp", "ipv6", W_PPP, DLT_PPP, 0, 0, 0, "PPP", "microsecond" },
	{ "v6-qinq", "ipv6", W_QINQ, DLT_EN10MB, 0, 0, 0, "EN10MB", "microsecond" },
	{ "v6-pcapng", "ipv6", W_ETH, DLT_EN10MB, 0, 0, 1, "EN10MB", "per-interface" },
};


/*
 * The same packets in every link type (and pcapng, and nanosecond pcap)
 * make the same replay: every line but the summary byte for byte, and
 * the summary differs only in the file, its link type and precision.
 */
START_TEST(test_linktypes_same_replay)
{
	static const char *const ignore[] = { "replay.file", "replay.linktype", "replay.timestamps", NULL };
	char path[PATH_MAX], file[PATH_MAX], name[128], qb[2 * PATH_MAX], b[256];
	const char *base_trace = NULL;
	struct run base;
	size_t i;

	memset(&base, 0, sizeof(base));
	for (i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
		const struct variant *v = &variants[i];
		struct pkts *eth, *w;
		struct run r;
		struct jobj rs;

		trace_path(v->trace, path, sizeof(path));
		if (!base_trace || strcmp(base_trace, v->trace) != 0) {
			if (base_trace)
				run_free(&base);
			run_json(&base, "replay %s --format json --hash-seed 1", q(path, qb, sizeof(qb)));
			run_ok(&base);
			base_trace = v->trace;
		}
		eth = pkts_read(path);
		w = rewrap(eth, v->wrap, v->dlt, v->family);
		fmt(name, sizeof(name), "lt-%s.%s", v->name, v->pcapng ? "pcapng" : "pcap");
		tmp_file(name, file, sizeof(file));
		if (v->pcapng)
			pkts_write_pcapng(file, v->nano, w);
		else
			pcap_write(file, v->dlt, v->nano, w);
		run_json(&r, "replay %s --format json --hash-seed 1", q(file, qb, sizeof(qb)));
		run_ok(&r);
		same_run(&r, &base, ignore);
		run_replay_stats(&r, &rs);
		ck_assert_msg(j_is(&rs, "linktype", v->linktype), "%s: tcpdemux %s: replay.linktype %s, want \"%s\"",
			      v->name, r.args, j_raw(&rs, "linktype", b, sizeof(b)), v->linktype);
		ck_assert_msg(j_is(&rs, "timestamps", v->timestamps),
			      "%s: tcpdemux %s: replay.timestamps %s, want \"%s\"", v->name, r.args,
			      j_raw(&rs, "timestamps", b, sizeof(b)), v->timestamps);
		run_free(&r);
		pkts_free(w);
		pkts_free(eth);
	}
	run_free(&base);
}
END_TEST

/* A link type tcpdemux does not decode: exit 2, one line naming the file and the link type. */
START_TEST(test_linktype_unsupported)
{
	char path[PATH_MAX], file[PATH_MAX], qb[2 * PATH_MAX];
	struct pkts *eth, *w;
	struct run r;

	trace_path("handshake-data-close", path, sizeof(path));
	eth = pkts_read(path);
	/* Frame Relay: a link type no capture of a server's TCP uses (the bytes are PPP's). */
	w = rewrap(eth, W_PPP, DLT_FRELAY, 0);
	tmp_file("lt-frelay.pcap", file, sizeof(file));
	pcap_write(file, DLT_FRELAY, 0, w);
	run_plain(&r, "replay %s --format json", q(file, qb, sizeof(qb)));
	run_refused(&r, file, "link type");
	ck_assert_msg(r.out[0] == '\0', "tcpdemux %s wrote to stdout: %s", r.args, r.out);
	run_free(&r);
	pkts_free(w);
	pkts_free(eth);
}
END_TEST

/* `replay -` reads standard input: the same replay, with file "-" (the precision is still the file's). */
START_TEST(test_stdin)
{
	static const char *const ignore[] = { "replay.file", "replay.timestamps", NULL };
	char path[PATH_MAX], file[PATH_MAX], qb[2 * PATH_MAX], b[256];
	struct pkts *eth;
	struct run base, r;
	struct jobj rs;
	int k;

	trace_path("handshake-data-close", path, sizeof(path));
	eth = pkts_read(path);
	pkts_write_pcapng(tmp_file("stdin.pcapng", file, sizeof(file)), 0, eth);
	run_json(&base, "replay %s --format json --hash-seed 1", q(path, qb, sizeof(qb)));
	run_ok(&base);
	for (k = 0; k < 2; k++) {
		run_json(&r, "replay - --format json --hash-seed 1 < %s", q(k ? file : path, qb, sizeof(qb)));
		run_ok(&r);
		same_run(&r, &base, ignore);
		run_replay_stats(&r, &rs);
		ck_assert_msg(j_is(&rs, "file", "-") && j_is(&rs, "timestamps", k ? "per-interface" : "microsecond"),
			      "tcpdemux %s: replay.file %s, replay.timestamps %s; want \"-\" and \"%s\"", r.args,
			      j_raw(&rs, "file", b, sizeof(b)), j_raw(&rs, "timestamps", b + 128, sizeof(b) - 128),
			      k ? "per-interface" : "microsecond");
		run_free(&r);
	}
	/* Not a capture on stdin: refused like a file, naming "-". */
	run_plain(&r, "replay - --format json < %s", q(prog_testdir(), qb, sizeof(qb)));
	run_refused(&r, "-", NULL);
	run_free(&r);
	run_free(&base);
	pkts_free(eth);
}
END_TEST

/*
 * A window read deep holds thousands of SYNs and SYN-ACKs at once: the
 * look-ahead index (lookahead.c) starts at LA_IDX_MIN entries and doubles
 * as they come in, and goes back to its smallest size once the window
 * has emptied. Two rounds of WIDE_CLIENTS handshakes, 10 s apart, each
 * with every SYN before the first SYN-ACK: if a resize lost or misfiled a
 * frame, that SYN's recorded SYN-ACK would not be found when the stack
 * asks for its ISN, and the stack would pick one of its own.
 */
#define WIDE_CLIENTS 1500

static void wide_frame(pcap_dumper_t *d, long sec, long usec, const struct segment *seg)
{
	struct pcap_pkthdr h = { .ts = { .tv_sec = sec, .tv_usec = usec } };
	uint8_t buf[128];
	size_t n = seg_build(seg, buf, sizeof(buf));

	ck_assert_msg(n > 0, "seg_build failed");
	h.caplen = h.len = (uint32_t)n;
	pcap_dump((u_char *)d, &h, buf);
}

START_TEST(test_window_index_grows)
{
	char file[PATH_MAX], qb[2 * PATH_MAX];
	pcap_t *dead = pcap_open_dead(DLT_RAW, 65535);
	pcap_dumper_t *d = pcap_dump_open(dead, tmp_file("wide.pcap", file, sizeof(file)));
	struct segment s;
	struct run r;
	int round, i, step;

	ck_assert_msg(d != NULL, "pcap_dump_open: %s", pcap_geterr(dead));
	for (round = 0; round < 2; round++)
		for (step = 0; step < 3; step++)
			for (i = 0; i < WIDE_CLIENTS; i++) {
				uint32_t client = (10u << 24 | 1u << 16) + (uint32_t)(i / 500), cisn = 1000u * (uint32_t)i;
				uint32_t sisn = 7000000u + 1000u * (uint32_t)i;
				uint16_t port = (uint16_t)(20000 + round * WIDE_CLIENTS + i);
				int out = step == 1;

				memset(&s, 0, sizeof(s));
				s.src = out ? addr_v4(0x0a000001) : addr_v4(client);
				s.dst = out ? addr_v4(client) : addr_v4(0x0a000001);
				s.sport = out ? 80 : port;
				s.dport = out ? port : 80;
				s.flags = step == 0 ? TH_SYN : step == 1 ? TH_SYN | TH_ACK : TH_ACK;
				s.seq = out ? sisn : cisn + (step ? 1 : 0);
				s.ack = step == 0 ? 0 : out ? cisn + 1 : sisn + 1;
				s.win = 64240;
				s.ttl = 64;
				if (step < 2) {
					s.opt.has_mss = 1;
					s.opt.mss = 1460;
				}
				wide_frame(d, 100 + 10 * round, 1000 * step + (i * 999) / WIDE_CLIENTS, &s);
			}
	pcap_dump_close(d);
	pcap_close(dead);
	run_plain(&r, "replay %s --quiet --hash-seed 1", q(file, qb, sizeof(qb)));
	run_ok(&r);
	ck_assert_msg(strstr(r.out, "ISNs: 3000 taken from recorded SYN-ACKs, 0 chosen by the stack") != NULL,
		      "tcpdemux %s: every SYN-ACK should be found in the window; got:\n%s", r.args, r.out);
	ck_assert_msg(strstr(r.out, "3000 established") != NULL, "tcpdemux %s: want 3000 established; got:\n%s",
		      r.args, r.out);
	run_free(&r);
}
END_TEST

/*
 * A loopback capture (BSD NULL link type, 127.0.0.1 at both ends): both
 * ends are local, and the listener's end is the stack's side.
 */
START_TEST(test_loopback)
{
	char path[PATH_MAX], file[PATH_MAX], qb[2 * PATH_MAX], b[256];
	struct pkts *eth, *lo;
	struct run r;
	struct jobj rs;
	int i, nin = 0, nout = 0, accepts = 0;

	trace_path("handshake-data-close", path, sizeof(path));
	eth = pkts_read(path);
	for (i = 0; i < eth->n; i++) {
		uint8_t *ip = eth->p[i].data + 14;

		ck_assert_msg(eth->p[i].caplen >= 34 && ip[0] >> 4 == 4, "frame %d is not IPv4", i + 1);
		/* Checksums go stale: they are not verified by default. */
		memcpy(ip + 12, "\x7f\x00\x00\x01", 4);
		memcpy(ip + 16, "\x7f\x00\x00\x01", 4);
	}
	lo = rewrap(eth, W_NULL, DLT_NULL, 2);
	pcap_write(tmp_file("loopback.pcap", file, sizeof(file)), DLT_NULL, 0, lo);
	run_json(&r, "replay %s --format json --hash-seed 1", q(file, qb, sizeof(qb)));
	run_ok(&r);
	ck_assert_msg(count_inferred(&r, "local", "127.0.0.1") == 1 && count_inferred(&r, "local", NULL) == 1 &&
			      count_inferred(&r, "listener", "127.0.0.1:80") == 1,
		      "tcpdemux %s: want local 127.0.0.1 and listener 127.0.0.1:80:\n%s", r.args, r.out);
	for (i = 0; i < r.l.n; i++) {
		const struct jobj *o = &r.l.obj[i];
		char where[2200];

		fmt(where, sizeof(where), "tcpdemux %s, line %d", r.args, i + 1);
		if (is_seg(o, "in")) {
			nin++;
			ck_assert_msg(j_int(o, "dport", where) == 80, "%s: inbound, but not to port 80: %s", where,
				      r.l.line[i]);
			ck_assert_msg(j_null(o, "reason"), "%s: reason %s", where, j_raw(o, "reason", b, sizeof(b)));
		} else if (is_seg(o, "out")) {
			nout++;
			ck_assert_msg(j_int(o, "sport", where) == 80, "%s: sent, but not from port 80: %s", where,
				      r.l.line[i]);
		} else if (j_is(o, "type", "accept")) {
			accepts++;
			ck_assert_msg(j_is(o, "local", "127.0.0.1:80") && j_is(o, "remote", "127.0.0.1:40000"),
				      "%s: accept: %s", where, r.l.line[i]);
		}
	}
	ck_assert_msg(nin == 5 && nout == 5 && accepts == 1, "tcpdemux %s: %d in, %d out, %d accepts; want 5, 5, 1",
		      r.args, nin, nout, accepts);
	run_replay_stats(&r, &rs);
	ck_assert_msg(j_int(&rs, "ignored", r.args) == 0 && j_int(&rs, "inbound", r.args) == 5 &&
			      j_int(&rs, "outbound", r.args) == 5,
		      "tcpdemux %s: replay stats %s", r.args, j_raw(run_summary(&r), "replay", b, sizeof(b)));
	run_free(&r);
	pkts_free(lo);
	pkts_free(eth);
}
END_TEST

/* ---- files that are not captures ----------------------------------------------------------- */

static void check_bad_file(const char *file)
{
	char qb[2 * PATH_MAX];
	struct run r;

	run_plain(&r, "replay %s --format json", q(file, qb, sizeof(qb)));
	run_refused(&r, file, NULL);
	ck_assert_msg(r.out[0] == '\0', "tcpdemux %s wrote to stdout: %s", r.args, r.out);
	run_free(&r);
	/* The same in text mode, and with --quiet. */
	run_plain(&r, "replay %s --quiet", q(file, qb, sizeof(qb)));
	run_refused(&r, file, NULL);
	run_free(&r);
}


/*
 * Damaged records inside a good file: a zero-length frame is counted and
 * skipped; a record claiming an absurd length ends the file with one line
 * naming it, exit 2, and the frames before it are still replayed and
 * summarised.
 */
START_TEST(test_damaged_records)
{
	char path[PATH_MAX], file[PATH_MAX], qb[2 * PATH_MAX];
	unsigned char *out, *pcap;
	size_t len, first, o = 0;
	struct run r;

	pcap = (unsigned char *)prog_read_file(trace_path("handshake-data-close", path, sizeof(path)), &len);
	ck_assert_msg(pcap && len > 40, "cannot read %s", path);
	/* The first record: 16-byte header plus its caplen. */
	first = 16 + ((size_t)pcap[32] | (size_t)pcap[33] << 8 | (size_t)pcap[34] << 16 | (size_t)pcap[35] << 24);
	out = malloc(24 + 2 * first + 32);
	ck_assert_msg(out != NULL, "out of memory");
	memcpy(out, pcap, 24);
	o = 24;
	memcpy(out + o, pcap + 24, first); /* frame 1: the SYN */
	o += first;
	memcpy(out + o, pcap + 24, 8);    /* frame 2: zero bytes captured, zero on the wire */
	put_le32(out + o + 8, 0);
	put_le32(out + o + 12, 0);
	o += 16;
	memcpy(out + o, pcap + 24, first); /* frame 3: the SYN again */
	o += first;
	memcpy(out + o, pcap + 24, 8);    /* frame 4: claims 2 GiB */
	put_le32(out + o + 8, 0x7ffffff0u);
	put_le32(out + o + 12, 0x7ffffff0u);
	o += 16;
	write_bytes(tmp_file("damaged-records.pcap", file, sizeof(file)), out, o);
	run_plain(&r, "replay %s --format json", q(file, qb, sizeof(qb)));
	run_refused(&r, file, NULL);
	ck_assert_msg(strstr(r.out, "\"frames\":3,") != NULL, "the 3 frames before the damage are not summarised: %s",
		      r.out);
	ck_assert_msg(strstr(r.out, "\"link_truncated\":1") != NULL, "the zero-length frame is not counted: %s", r.out);
	run_free(&r);
	free(out);
	free(pcap);
}
END_TEST

START_TEST(test_bad_files)
{
	static const char text[] = "GET / HTTP/1.0\r\nHost: example\r\n\r\nnot a capture at all\n";
	char file[PATH_MAX], path[PATH_MAX];
	char *pcap;
	size_t len;

	check_bad_file(tmp_file("no-such-file.pcap", file, sizeof(file)));
	tmp_file("a-directory.pcap", file, sizeof(file));
	ck_assert_msg(mkdir(file, 0700) == 0, "mkdir %s: %s", file, strerror(errno));
	check_bad_file(file);
	write_bytes(tmp_file("empty.pcap", file, sizeof(file)), "", 0);
	check_bad_file(file);
	write_bytes(tmp_file("text.pcap", file, sizeof(file)), text, sizeof(text) - 1);
	check_bad_file(file);
	/* A pcap cut inside its 24-byte file header. */
	pcap = prog_read_file(trace_path("two-clients", path, sizeof(path)), &len);
	ck_assert_msg(len > 24, "%s is too short", path);
	write_bytes(tmp_file("cut-header.pcap", file, sizeof(file)), pcap, 10);
	check_bad_file(file);
	/* A name with a space and a quote is still named. */
	write_bytes(tmp_file("it's a file.pcap", file, sizeof(file)), text, sizeof(text) - 1);
	check_bad_file(file);
	free(pcap);
}
END_TEST

static uint32_t rd32(const uint8_t *p, int swap)
{
	return swap ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
		    : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

/*
 * two-clients.pcap cut inside its 10th record (in its data, and in its
 * record header): the 9 frames before are replayed and summarised, then
 * exit 2 with one line naming the file.
 */
START_TEST(test_truncated_record)
{
	char path[PATH_MAX], file[PATH_MAX], qb[2 * PATH_MAX], name[64];
	const uint8_t *u;
	struct capture *c;
	size_t len, off = 24, cuts[2];
	uint32_t magic, cl = 0;
	char *pcap;
	int rec, swap, k, i;

	trace_path("two-clients", path, sizeof(path));
	pcap = prog_read_file(path, &len);
	u = (const uint8_t *)pcap;
	ck_assert_msg(len > 24, "%s is too short", path);
	magic = rd32(u, 0);
	ck_assert_msg(magic == 0xa1b2c3d4u || magic == 0xa1b23c4du || magic == 0xd4c3b2a1u || magic == 0x4d3cb2a1u,
		      "%s is not a pcap file (magic 0x%08x)", path, magic);
	swap = magic == 0xd4c3b2a1u || magic == 0x4d3cb2a1u;
	for (rec = 1; rec <= 10; rec++) {
		ck_assert_msg(off + 16 <= len, "%s has fewer than 10 records", path);
		cl = rd32(u + off + 8, swap);
		if (rec < 10)
			off += 16 + cl;
	}
	ck_assert_msg(cl >= 2 && off + 16 + cl <= len, "%s: record 10 is too short to cut", path);
	cuts[0] = off + 16 + cl / 2; /* in the record's data */
	cuts[1] = off + 8;           /* in its header */
	c = cap_read(path);
	ck_assert_msg(c->n > 10, "%s: %d frames", path, c->n);
	c->n = 9; /* what is left of it */
	for (k = 0; k < 2; k++) {
		struct run r;
		struct jobj rs;

		fmt(name, sizeof(name), "cut-record10-%s.pcap", k ? "header" : "data");
		write_bytes(tmp_file(name, file, sizeof(file)), pcap, cuts[k]);
		run_json(&r, "replay %s --format json --hash-seed 1", q(file, qb, sizeof(qb)));
		run_refused(&r, file, NULL);
		run_replay_stats(&r, &rs);
		ck_assert_msg(j_int(&rs, "frames", r.args) == 9,
			      "tcpdemux %s: the summary counts %lld frames, want the 9 before the cut", r.args,
			      j_int(&rs, "frames", r.args));
		for (i = 0; i < r.l.n; i++)
			if (is_seg(&r.l.obj[i], "in"))
				ck_assert_msg(j_int(&r.l.obj[i], "n", r.args) <= 9, "tcpdemux %s: frame %lld replayed",
					      r.args, j_int(&r.l.obj[i], "n", r.args));
		check_in_matches_capture(&r, c);
		run_free(&r);
	}
	free(c);
	free(pcap);
}
END_TEST

/* ---- behaviour ------------------------------------------------------------------------------- */

/* Bytes of link, IP and TCP headers at the start of an Ethernet frame. */
static size_t eth_headers(const struct pkt *k)
{
	size_t ip = 14, tcp;

	ck_assert_msg(k->caplen >= 14 + 20, "a frame too short for IP");
	if ((k->data[ip] >> 4) == 4) {
		tcp = ip + (size_t)(k->data[ip] & 15) * 4;
		ck_assert_msg(k->data[ip + 9] == 6, "not TCP");
	} else {
		tcp = ip + 40;
		ck_assert_msg(k->data[ip + 6] == 6, "not TCP (or IPv6 extension headers)");
	}
	ck_assert_msg(k->caplen >= tcp + 20, "a frame too short for TCP");
	return tcp + (size_t)(k->data[tcp + 12] >> 4) * 4;
}

/* Removes every occurrence of member (",\"cut\":\"payload\"") from line, in place. Returns how many. */
static int strip_member(char *line, const char *member)
{
	size_t ml = strlen(member);
	char *p;
	int n = 0;

	while ((p = strstr(line, member)) != NULL) {
		memmove(p, p + ml, strlen(p + ml) + 1);
		n++;
	}
	return n;
}

/*
 * Frames cut by the snap length after their headers (66 bytes: Ethernet,
 * IP, TCP with timestamps) while the record's length stays the wire's:
 * replayed as if whole, the payload counted and marked as cut.
 */
START_TEST(test_snaplen_cut)
{
	static const char *const ignore[] = { "replay.file", "replay.payload_cut", NULL };
	char path[PATH_MAX], file[PATH_MAX], qb[2 * PATH_MAX], b[256];
	struct pkts *l;
	struct run base, r;
	struct jobj rs, sk;
	int i, ndata = 0, nin_data = 0, delivered = 0;

	trace_path("handshake-data-close", path, sizeof(path));
	l = pkts_read(path);
	for (i = 0; i < l->n; i++) {
		struct pkt *k = &l->p[i];
		size_t hl = eth_headers(k), cut = k->caplen < 66 ? k->caplen : 66;

		if (cut < hl)
			cut = hl; /* a SYN's options make its headers longer: keep them */
		if (k->caplen > hl) {
			ndata++;
			if (memcmp(k->data + 6, server_mac, 6) != 0)
				nin_data++;
		}
		ck_assert_msg(k->len == k->caplen, "frame %d of %s was already cut", i + 1, path);
		k->caplen = (uint32_t)cut;
	}
	ck_assert_msg(ndata >= 2 && nin_data >= 1, "%s: %d data frames, %d inbound", path, ndata, nin_data);
	pcap_write(tmp_file("snap66.pcap", file, sizeof(file)), DLT_EN10MB, 0, l);

	run_json(&base, "replay %s --format json --hash-seed 1", q(path, qb, sizeof(qb)));
	run_ok(&base);
	run_json(&r, "replay %s --format json --hash-seed 1", q(file, qb, sizeof(qb)));
	run_ok(&r);
	run_replay_stats(&r, &rs);
	ck_assert_msg(j_int(&rs, "payload_cut", r.args) == ndata, "tcpdemux %s: replay.payload_cut %lld, want %d",
		      r.args, j_int(&rs, "payload_cut", r.args), ndata);
	j_sub(&rs, "skipped", &sk, r.args);
	ck_assert_msg(sk.n == 0, "tcpdemux %s: frames skipped: %s", r.args, j_raw(&rs, "skipped", b, sizeof(b)));
	for (i = 0; i < r.l.n; i++) {
		const struct jobj *o = &r.l.obj[i];

		if (is_seg(o, "in") && j_int(o, "len", r.args) > 0) {
			delivered++;
			ck_assert_msg(j_is(o, "action", "deliver"), "tcpdemux %s, line %d: action %s, want \"deliver\"",
				      r.args, i + 1, j_raw(o, "action", b, sizeof(b)));
			ck_assert_msg(j_is(o, "cut", "payload"), "tcpdemux %s, line %d: cut %s, want \"payload\"",
				      r.args, i + 1, j_raw(o, "cut", b, sizeof(b)));
		} else {
			ck_assert_msg(!j_get(o, "cut"), "tcpdemux %s, line %d: a segment marked cut: %s", r.args, i + 1,
				      r.l.line[i]);
		}
	}
	ck_assert_msg(delivered == nin_data, "tcpdemux %s: %d inbound data segments, want %d", r.args, delivered,
		      nin_data);
	/* Demultiplexing needs the headers and the payload's length, never its bytes. */
	for (i = 0; i < r.l.n - 1; i++)
		strip_member(r.l.line[i], ",\"cut\":\"payload\"");
	same_run(&r, &base, ignore);
	run_free(&r);

	/* Checksums over missing bytes cannot be verified: those frames are skipped. */
	run_json(&r, "replay %s --format json --hash-seed 1 --verify-checksums", q(file, qb, sizeof(qb)));
	run_ok(&r);
	run_replay_stats(&r, &rs);
	j_sub(&rs, "skipped", &sk, r.args);
	ck_assert_msg(sk.n == 1 && j_int(&sk, "snaplen", r.args) == ndata,
		      "tcpdemux %s: replay.skipped is %s, want {\"snaplen\":%d}", r.args,
		      j_raw(&rs, "skipped", b, sizeof(b)), ndata);
	ck_assert_msg(j_int(&rs, "payload_cut", r.args) == 0, "tcpdemux %s: payload_cut %lld, want 0", r.args,
		      j_int(&rs, "payload_cut", r.args));
	run_free(&r);
	run_free(&base);
	pkts_free(l);
}
END_TEST

/*
 * A capture that starts after the handshake. With --local the connection
 * is picked up as ESTABLISHED and served, no RST; without, no host can be
 * told local (none answered a SYN): exit 2 with a hint to use --local.
 */
START_TEST(test_mid_stream)
{
	char path[PATH_MAX], file[PATH_MAX], qb[2 * PATH_MAX], b[256];
	struct pkts *l, mid;
	struct capture *c;
	struct run r;
	struct jobj rs, cnt;
	int i, data = 0;

	trace_path("handshake-data-close", path, sizeof(path));
	l = pkts_read(path);
	ck_assert_msg(l->n > 4, "%s: %d frames", path, l->n);
	mid = *l;
	mid.n = l->n - 3;
	memcpy(mid.p, l->p + 3, (size_t)mid.n * sizeof(mid.p[0])); /* data still owned by l */
	pcap_write(tmp_file("mid-stream.pcap", file, sizeof(file)), DLT_EN10MB, 0, &mid);
	c = cap_read(file);

	/* No SYN is answered in it: the server is the end with the lower port (80 against 40000). */
	run_json(&r, "replay %s --format json", q(file, qb, sizeof(qb)));
	run_ok(&r);
	ck_assert_msg(count_inferred(&r, "local", "10.0.0.1") == 1 && count_inferred(&r, "listener", "10.0.0.1:80") == 1,
		      "tcpdemux %s: 10.0.0.1:80 not taken as the server:\n%s", r.args, r.out);
	ck_assert_msg(count_inferred(&r, "established", "10.0.0.1:80 <- 10.0.0.2:40000") == 1,
		      "tcpdemux %s: the connection was not picked up:\n%s", r.args, r.out);
	run_free(&r);

	run_json(&r, "replay %s --format json --local 10.0.0.1", q(file, qb, sizeof(qb)));
	run_ok(&r);
	ck_assert_msg(count_inferred(&r, "established", "10.0.0.1:80 <- 10.0.0.2:40000") == 1,
		      "tcpdemux %s: the connection was not picked up:\n%s", r.args, r.out);
	for (i = 0; i < r.l.n; i++) {
		const struct jobj *o = &r.l.obj[i];
		char where[2200];
		struct jobj lk;

		fmt(where, sizeof(where), "tcpdemux %s, line %d", r.args, i + 1);
		if (is_seg(o, "out")) {
			char fl[16];

			ck_assert_msg(j_str(o, "flags", fl, sizeof(fl)) && !strchr(fl, 'R'),
				      "%s: the stack sent a reset: %s", where, r.l.line[i]);
		}
		if (!is_seg(o, "in"))
			continue;
		j_sub(o, "lookup", &lk, where);
		ck_assert_msg(j_is(&lk, "result", "established"), "%s: lookup.result %s, want \"established\"", where,
			      j_raw(&lk, "result", b, sizeof(b)));
		ck_assert_msg(j_null(o, "reason"), "%s: reason %s, want null", where, j_raw(o, "reason", b, sizeof(b)));
		if (j_int(o, "len", where) > 0) {
			data++;
			ck_assert_msg(j_is(o, "action", "deliver"), "%s: action %s, want \"deliver\"", where,
				      j_raw(o, "action", b, sizeof(b)));
		}
	}
	ck_assert_msg(data == 1, "tcpdemux %s: %d inbound data segments, want 1", r.args, data);
	run_replay_stats(&r, &rs);
	ck_assert_msg(j_int(&rs, "picked_up", r.args) == 1, "tcpdemux %s: picked_up %lld, want 1", r.args,
		      j_int(&rs, "picked_up", r.args));
	j_sub(run_summary(&r), "counters", &cnt, r.args);
	ck_assert_msg(j_int(&cnt, "OutRsts", r.args) == 0, "tcpdemux %s: OutRsts %lld", r.args,
		      j_int(&cnt, "OutRsts", r.args));
	check_in_matches_capture(&r, c);
	run_free(&r);
	free(c);
	pkts_free(l);
}
END_TEST

/* The SYN's lookup line, or fails. */
static const struct jobj *syn_line(const struct run *r)
{
	int i;

	for (i = 0; i < r->l.n; i++)
		if (is_seg(&r->l.obj[i], "in") && j_is(&r->l.obj[i], "flags", "S"))
			return &r->l.obj[i];
	ck_assert_msg(0, "tcpdemux %s: no inbound SYN", r->args);
	return NULL;
}

static void check_listen(const char *trace, const char *listen, const char *listener, const char *wildcard,
			 long long backlog)
{
	char path[PATH_MAX], qb[2 * PATH_MAX], b[256];
	const struct jobj *o;
	struct jobj lk, qs;
	struct run r;

	trace_path(trace, path, sizeof(path));
	run_json(&r, "replay %s --format json --hash-seed 1 --listen %s", q(path, qb, sizeof(qb)), listen);
	run_ok(&r);
	ck_assert_msg(count_inferred(&r, "listener", listener) == 1 && count_inferred(&r, "listener", NULL) == 1,
		      "tcpdemux %s: want the one listener %s:\n%s", r.args, listener, r.out);
	o = syn_line(&r);
	j_sub(o, "lookup", &lk, r.args);
	ck_assert_msg(j_is(&lk, "result", "listener"), "tcpdemux %s: the SYN's lookup.result is %s", r.args,
		      j_raw(&lk, "result", b, sizeof(b)));
	ck_assert_msg(strcmp(j_raw(&lk, "wildcard", b, sizeof(b)), wildcard) == 0,
		      "tcpdemux %s: the SYN's lookup.wildcard is %s, want %s", r.args, b, wildcard);
	ck_assert_msg(j_is(o, "listener", listener), "tcpdemux %s: the SYN's listener is %s, want %s", r.args,
		      j_raw(o, "listener", b, sizeof(b)), listener);
	ck_assert_msg(j_is(o, "action", "syn_ack"), "tcpdemux %s: the SYN's action is %s", r.args,
		      j_raw(o, "action", b, sizeof(b)));
	j_sub(o, "queues", &qs, r.args);
	ck_assert_msg(j_int(&qs, "backlog", r.args) == backlog, "tcpdemux %s: queues.backlog %lld, want %lld",
		      r.args, j_int(&qs, "backlog", r.args), backlog);
	run_free(&r);
}

START_TEST(test_listen_option)
{
	check_listen("handshake-data-close", "0.0.0.0:80,backlog=1", "0.0.0.0:80", "true", 1);
	check_listen("handshake-data-close", "10.0.0.1:80,backlog=16", "10.0.0.1:80", "false", 16);
	check_listen("ipv6", "'[::]:80,backlog=2'", "[::]:80", "true", 2);
	check_listen("ipv6", "'[fd00::1]:80'", "[fd00::1]:80", "false", 4096);
}
END_TEST

/* --local 10.0.0.2 makes the client the recorded host: its SYN becomes our connect(). */
START_TEST(test_local_flips_sides)
{
	char path[PATH_MAX], qb[2 * PATH_MAX], b[256];
	struct capture *c;
	struct run r;
	struct jobj cnt;
	int i, syn, nin = 0, from_server = 0, syn_out = 0, established = 0, delivered = 0;

	trace_path("handshake-data-close", path, sizeof(path));
	c = cap_read(path);
	syn = cap_find(c, TH_SYN, "10.0.0.2");
	ck_assert_msg(syn >= 0, "%s: no SYN", path);
	for (i = 0; i < c->n; i++)
		if (c->s[i].status == 0 && strcmp(c->s[i].src, "10.0.0.1") == 0)
			from_server++;

	run_json(&r, "replay %s --format json --local 10.0.0.2", q(path, qb, sizeof(qb)));
	run_ok(&r);
	ck_assert_msg(count_inferred(&r, "local", "10.0.0.2") == 1 && count_inferred(&r, "local", NULL) == 1,
		      "tcpdemux %s: want 10.0.0.2, only, local:\n%s", r.args, r.out);
	ck_assert_msg(count_inferred(&r, "listener", NULL) == 0, "tcpdemux %s: a listener inferred:\n%s", r.args,
		      r.out);
	for (i = 0; i < r.l.n; i++) {
		const struct jobj *o = &r.l.obj[i];
		char where[2200];

		fmt(where, sizeof(where), "tcpdemux %s, line %d", r.args, i + 1);
		if (is_seg(o, "out")) {
			ck_assert_msg(j_is(o, "src", "10.0.0.2") && j_is(o, "dst", "10.0.0.1"),
				      "%s: sent, but not 10.0.0.2 > 10.0.0.1: %s", where, r.l.line[i]);
			if (j_is(o, "flags", "S")) {
				syn_out++;
				ck_assert_msg(j_int(o, "seq", where) == c->s[syn].seg.seq,
					      "%s: our SYN has seq %lld, the recorded one %u", where,
					      j_int(o, "seq", where), c->s[syn].seg.seq);
			}
			continue;
		}
		if (!is_seg(o, "in"))
			continue;
		nin++;
		ck_assert_msg(j_is(o, "src", "10.0.0.1") && j_int(o, "sport", where) == 80 &&
				      j_is(o, "dst", "10.0.0.2") && j_int(o, "dport", where) == 40000,
			      "%s: inbound, but not 10.0.0.1:80 > 10.0.0.2:40000: %s", where, r.l.line[i]);
		ck_assert_msg(j_null(o, "reason"), "%s: reason %s, want null", where, j_raw(o, "reason", b, sizeof(b)));
		if (j_is(o, "flags", "SA")) {
			established++;
			ck_assert_msg(j_is(o, "action", "established"), "%s: the SYN-ACK's action is %s, want \"established\"",
				      where, j_raw(o, "action", b, sizeof(b)));
		}
		if (j_int(o, "len", where) > 0) {
			delivered++;
			ck_assert_msg(j_is(o, "action", "deliver"), "%s: action %s, want \"deliver\"", where,
				      j_raw(o, "action", b, sizeof(b)));
		}
	}
	ck_assert_msg(nin == from_server, "tcpdemux %s: %d inbound segments, the server sent %d", r.args, nin,
		      from_server);
	ck_assert_msg(syn_out == 1 && established == 1 && delivered == 1,
		      "tcpdemux %s: %d SYNs sent, %d SYN-ACKs established, %d replies delivered; want 1 each",
		      r.args, syn_out, established, delivered);
	j_sub(run_summary(&r), "counters", &cnt, r.args);
	ck_assert_msg(j_int(&cnt, "ActiveOpens", r.args) == 1 && j_int(&cnt, "PassiveOpens", r.args) == 0,
		      "tcpdemux %s: ActiveOpens %lld, PassiveOpens %lld; want 1 and 0", r.args,
		      j_int(&cnt, "ActiveOpens", r.args), j_int(&cnt, "PassiveOpens", r.args));
	check_in_matches_capture(&r, c);
	run_free(&r);
	free(c);
}
END_TEST

/* "S.UUUUUU" (render_time) as microseconds. */
static long long t_usec(const struct jobj *o, const char *where)
{
	char b[64];
	long long s, us;

	j_raw(o, "t", b, sizeof(b));
	ck_assert_msg(sscanf(b, "%lld.%6lld", &s, &us) == 2 && strlen(strchr(b, '.')) == 7,
		      "%s: t is %s, not seconds with six decimals", where, b);
	return s * 1000000 + us;
}

/*
 * --write: a raw-IP, nanosecond pcap with one frame per "out" segment, in
 * order, each parsing (checksums verified) to that segment, stamped with
 * the capture's start plus its virtual time.
 */
START_TEST(test_write_pcap)
{
	char names[MAX_TRACES][128], path[PATH_MAX], out[PATH_MAX], qb[2 * PATH_MAX], qo[2 * PATH_MAX];
	char err[768], name[192], b[256];
	int n, t;

	n = list_names(prog_traces(), "", ".pcap", names, MAX_TRACES);
	ck_assert_msg(n >= 5, "%s holds %d .pcap files", prog_traces(), n);
	for (t = 0; t < n; t++) {
		struct frame_src *fs;
		struct capture *c;
		struct frame fr;
		struct run r;
		int i, k = 0, nout = 0, rc;

		fmt(path, sizeof(path), "%s/%s.pcap", prog_traces(), names[t]);
		fmt(name, sizeof(name), "write-%s.pcap", names[t]);
		tmp_file(name, out, sizeof(out));
		c = cap_read(path);
		run_json(&r, "replay %s --format json --hash-seed 1 --write %s", q(path, qb, sizeof(qb)),
			 q(out, qo, sizeof(qo)));
		run_ok(&r);
		for (i = 0; i < r.l.n; i++)
			nout += is_seg(&r.l.obj[i], "out");
		ck_assert_msg(nout > 0, "tcpdemux %s sent nothing", r.args);
		fs = frame_open(out, NULL, err, sizeof(err));
		ck_assert_msg(fs != NULL, "tcpdemux %s: frame_open: %s", r.args, err);
		ck_assert_msg(frame_linktype(fs) == DLT_RAW && strcmp(frame_linktype_name(fs), "RAW") == 0,
			      "tcpdemux %s: --write file has link type %d (%s), want raw IP", r.args,
			      frame_linktype(fs), frame_linktype_name(fs));
		ck_assert_msg(strcmp(frame_precision(fs), "nanosecond") == 0, "tcpdemux %s: --write file is %s",
			      r.args, frame_precision(fs));
		for (i = 0; i < r.l.n; i++) {
			const struct jobj *o = &r.l.obj[i];
			struct segment seg;
			char where[2200], src[ADDR_STRLEN], dst[ADDR_STRLEN], fl[9];
			int perr;

			if (!is_seg(o, "out"))
				continue;
			fmt(where, sizeof(where), "tcpdemux %s, line %d, frame %d of %s", r.args, i + 1, k + 1, out);
			rc = frame_next(fs, &fr, err, sizeof(err));
			ck_assert_msg(rc == 1, "%s: %s", where, rc < 0 ? err : "the file ends early");
			k++;
			ck_assert_msg(fr.caplen == fr.wirelen, "%s: cut (%u of %u bytes)", where, fr.caplen, fr.wirelen);
			perr = seg_parse_ip(fr.data, fr.caplen, &seg, SEG_VERIFY_CSUM);
			ck_assert_msg(perr == 0, "%s: seg_parse_ip: %s", where, seg_error_name(-perr));
			addr_format(&seg.src, src, sizeof(src));
			addr_format(&seg.dst, dst, sizeof(dst));
			seg_flags_str(seg.flags, fl);
			ck_assert_msg(j_is(o, "src", src) && j_is(o, "dst", dst) && j_int(o, "sport", where) == seg.sport &&
					      j_int(o, "dport", where) == seg.dport,
				      "%s: written %s:%u > %s:%u: %s", where, src, seg.sport, dst, seg.dport, r.l.line[i]);
			ck_assert_msg(j_is(o, "flags", fl), "%s: written flags %s, the line says %s", where, fl,
				      j_raw(o, "flags", b, sizeof(b)));
			ck_assert_msg(j_int(o, "seq", where) == seg.seq && j_int(o, "ack", where) == seg.ack,
				      "%s: written seq %u ack %u: %s", where, seg.seq, seg.ack, r.l.line[i]);
			ck_assert_msg(j_int(o, "len", where) == seg.len && j_int(o, "win", where) == seg.win,
				      "%s: written len %u win %u: %s", where, seg.len, seg.win, r.l.line[i]);
			ck_assert_msg((long long)((fr.ts - c->s[0].ts) / 1000) == t_usec(o, where),
				      "%s: written at %llu ns after the capture's start, the line says t %s", where,
				      (unsigned long long)(fr.ts - c->s[0].ts), j_raw(o, "t", b, sizeof(b)));
		}
		rc = frame_next(fs, &fr, err, sizeof(err));
		ck_assert_msg(rc == 0, "tcpdemux %s: %s holds more frames than the %d \"out\" lines", r.args, out, nout);
		frame_close(fs);
		run_free(&r);
		free(c);
	}
}
END_TEST

/* The traces' checksums are correct, so verifying them changes nothing. */
START_TEST(test_verify_checksums)
{
	char names[MAX_TRACES][128], path[PATH_MAX], qb[2 * PATH_MAX];
	int n, i;

	n = list_names(prog_traces(), "", ".pcap", names, MAX_TRACES);
	ck_assert_msg(n >= 5, "%s holds %d .pcap files", prog_traces(), n);
	for (i = 0; i < n; i++) {
		struct run a, v;

		fmt(path, sizeof(path), "%s/%s.pcap", prog_traces(), names[i]);
		run_json(&a, "replay %s --format json --hash-seed 1", q(path, qb, sizeof(qb)));
		run_ok(&a);
		run_json(&v, "replay %s --format json --hash-seed 1 --verify-checksums", q(path, qb, sizeof(qb)));
		run_ok(&v);
		same_run(&v, &a, NULL);
		run_free(&a);
		run_free(&v);
	}
}
END_TEST

/* --quiet prints only the summary; --tables after every inbound segment; --tables=end once. */
START_TEST(test_quiet_and_tables)
{
	char path[PATH_MAX], qb[2 * PATH_MAX], b[256];
	struct run r;
	int i, nin = 0, ntab = 0, last_tab = -1;

	trace_path("two-clients", path, sizeof(path));
	run_json(&r, "replay %s --format json --quiet", q(path, qb, sizeof(qb)));
	run_ok(&r);
	ck_assert_msg(r.l.n == 1, "tcpdemux %s wrote %d lines, want only the summary", r.args, r.l.n);
	run_summary(&r);
	run_free(&r);

	run_json(&r, "replay %s --format json --tables", q(path, qb, sizeof(qb)));
	run_ok(&r);
	for (i = 0; i < r.l.n; i++) {
		if (is_seg(&r.l.obj[i], "in"))
			nin++;
		if (j_is(&r.l.obj[i], "type", "tables"))
			ntab++;
	}
	ck_assert_msg(nin > 0 && ntab == nin, "tcpdemux %s: %d tables lines for %d inbound segments", r.args, ntab,
		      nin);
	run_free(&r);

	run_json(&r, "replay %s --format json --tables=end", q(path, qb, sizeof(qb)));
	run_ok(&r);
	for (i = ntab = 0; i < r.l.n; i++)
		if (j_is(&r.l.obj[i], "type", "tables")) {
			ntab++;
			last_tab = i;
		}
	ck_assert_msg(ntab == 1 && last_tab == r.l.n - 2,
		      "tcpdemux %s: %d tables lines, the last at line %d; want one, just before the summary", r.args,
		      ntab, last_tab + 1);
	ck_assert_msg(strstr(j_raw(&r.l.obj[last_tab], "listeners", b, sizeof(b)), "\"port\":80") != NULL,
		      "tcpdemux %s: the listener on port 80 is not in the tables: %s", r.args, r.l.line[last_tab]);
	run_free(&r);

	/* Text output, for people: the listener lookup is spelled out. */
	run_plain(&r, "replay %s --no-color --hash-seed 1", q(path, qb, sizeof(qb)));
	run_ok(&r);
	ck_assert_msg(strstr(r.out, "10.0.0.1:80") && !strstr(r.out, "\033["), "tcpdemux %s: text output:\n%s",
		      r.args, r.out);
	run_free(&r);
}
END_TEST

/* Replaces each FILE in pattern with file (already quoted). */
static void subst_file(const char *pattern, const char *file, char *buf, size_t len)
{
	size_t o = 0, fl = strlen(file);

	while (*pattern) {
		if (strncmp(pattern, "FILE", 4) == 0) {
			ck_assert_msg(o + fl + 1 < len, "command too long");
			memcpy(buf + o, file, fl);
			o += fl;
			pattern += 4;
		} else {
			ck_assert_msg(o + 2 < len, "command too long");
			buf[o++] = *pattern++;
		}
	}
	buf[o] = '\0';
}

START_TEST(test_bad_options)
{
	static const struct {
		const char *args;
		const char *says;
		int quiet_stdout; /* refused before any output */
	} cases[] = {
		{ "replay FILE --listen nonsense", "--listen", 1 },
		{ "replay FILE --listen 10.0.0.1", "--listen", 1 },
		{ "replay FILE --listen 10.0.0.1:0", "--listen", 1 },
		{ "replay FILE --listen 10.0.0.1:70000", "--listen", 1 },
		{ "replay FILE --listen 10.0.0.1:80,backlog=many", "--listen", 1 },
		{ "replay FILE --listen 10.0.0.1:80,queue=5", "--listen", 1 },
		{ "replay FILE --local nonsense", "--local", 1 },
		{ "replay FILE --local 10.0.0.256", "--local", 1 },
		{ "replay FILE --tables=bogus", "--tables", 1 },
		{ "replay FILE --frobnicate", "--frobnicate", 1 },
		{ "replay FILE -x", "-x", 1 },
		{ "replay FILE --format xml", "text or json", 1 },
		{ "replay FILE --buckets 3", "power of two", 1 },
		{ "replay FILE --hash-seed -1", "--hash-seed", 1 },
		{ "replay", "capture file", 1 },
		{ "replay --format json", "capture file", 1 },
		{ "replay FILE FILE", "filter '", 1 }, /* a second word starts a filter expression */
		/* Valid syntax, refused when the replay starts. */
		{ "replay FILE --local 10.0.0.1 --listen 10.0.0.9:80", "--listen", 0 },
		{ "replay FILE --listen 10.0.0.1:80 --listen 10.0.0.1:80", "--listen", 0 },
		{ "replay FILE --write /nonexistent-dir/out.pcap", "/nonexistent-dir/out.pcap", 0 },
	};
	char path[PATH_MAX], qb[2 * PATH_MAX], args[4 * PATH_MAX];
	size_t i;

	q(trace_path("handshake-data-close", path, sizeof(path)), qb, sizeof(qb));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct run r;

		/* --format json first, so that a last option's missing value stays missing. */
		subst_file(cases[i].args + strlen("replay"), qb, args, sizeof(args));
		run_plain(&r, "replay --format json%s", args);
		run_refused(&r, NULL, cases[i].says);
		ck_assert_msg(!cases[i].quiet_stdout || r.out[0] == '\0', "tcpdemux %s wrote to stdout: %s", r.args,
			      r.out);
		run_free(&r);
	}
}
END_TEST

/*
 * A long option without its value must be named in the message: getopt_long()
 * sets optopt to the long option's val (OPT_FORMAT = 256, ...), which printed
 * with %c once gave "option '-\n'" for --write and a NUL byte for --format.
 */
START_TEST(test_option_missing_value)
{
	static const struct {
		const char *args, *says;
	} cases[] = {
		{ "replay FILE --write", "--write" },
		{ "replay FILE --listen", "--listen" },
		{ "replay FILE --local", "--local" },
		{ "replay FILE --hash-seed", "--hash-seed" },
		{ "replay FILE --buckets", "--buckets" },
		{ "replay FILE --format", "--format" },
		{ "replay FILE --quiet=1", "--quiet" },
	};
	char path[PATH_MAX], qb[2 * PATH_MAX], args[4 * PATH_MAX];
	size_t i;

	q(trace_path("handshake-data-close", path, sizeof(path)), qb, sizeof(qb));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct run r;

		subst_file(cases[i].args, qb, args, sizeof(args));
		run_plain(&r, "%s", args);
		run_refused(&r, NULL, cases[i].says);
		ck_assert_msg(r.out[0] == '\0', "tcpdemux %s wrote to stdout: %s", r.args, r.out);
		run_free(&r);
	}
}
END_TEST

/* ---- the corpus ---------------------------------------------------------------------------- */

struct names {
	char **v;
	int n, cap;
};

static int has_suffix(const char *s, const char *suf)
{
	size_t l = strlen(s), sl = strlen(suf);

	return l > sl && strcmp(s + l - sl, suf) == 0;
}

/* Every *.pcap and *.pcapng file under dir, recursively. */
static void collect_captures(const char *dir, struct names *nm)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	ck_assert_msg(d != NULL, "cannot list %s: %s", dir, strerror(errno));
	while ((e = readdir(d)) != NULL) {
		char p[PATH_MAX];
		struct stat st;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		fmt(p, sizeof(p), "%s/%s", dir, e->d_name);
		if (lstat(p, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			collect_captures(p, nm);
			continue;
		}
		if (!has_suffix(e->d_name, ".pcap") && !has_suffix(e->d_name, ".pcapng"))
			continue; /* LICENSE and the like */
		if (nm->n == nm->cap) {
			nm->cap = nm->cap ? 2 * nm->cap : 1024;
			nm->v = realloc(nm->v, (size_t)nm->cap * sizeof(*nm->v));
			ck_assert_msg(nm->v != NULL, "out of memory");
		}
		nm->v[nm->n] = strdup(p);
		ck_assert_msg(nm->v[nm->n] != NULL, "out of memory");
		nm->n++;
	}
	closedir(d);
}

static int cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One replay of the corpus loop: stdout to /dev/null, stderr read through a pipe. */
struct job {
	pid_t pid;
	int fd;  /* its stderr */
	int idx; /* which file */
	struct prog_buf err;
};

static void job_start(struct job *j, const char *file, int idx)
{
	char *argv[] = { (char *)prog_tcpdemux(), (char *)"replay", (char *)file, (char *)"--quiet", NULL };
	int pe[2];

	ck_assert_msg(pipe(pe) == 0, "pipe: %s", strerror(errno));
	fflush(NULL);
	j->pid = fork();
	ck_assert_msg(j->pid >= 0, "fork: %s", strerror(errno));
	if (j->pid == 0) {
		int in = open("/dev/null", O_RDONLY), out = open("/dev/null", O_WRONLY);

		if (in >= 0)
			dup2(in, STDIN_FILENO);
		if (out >= 0)
			dup2(out, STDOUT_FILENO);
		dup2(pe[1], STDERR_FILENO);
		close(pe[0]);
		close(pe[1]);
		execvp(argv[0], argv);
		fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(pe[1]);
	j->fd = pe[0];
	j->idx = idx;
	memset(&j->err, 0, sizeof(j->err));
	prog_buf_add(&j->err, "", 0);
}

/*
 * Replays every file, a few at a time (a sanitizer build spends most of a
 * run starting up). rc[i] gets file i's exit status, or -signal;
 * err[i] its stderr (malloc'd).
 */
static void run_corpus(char **files, int n, int *rc, char **err)
{
	struct job jobs[8];
	struct pollfd pf[8];
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int par = ncpu < 2 ? 2 : ncpu > 8 ? 8 : (int)ncpu;
	int next = 0, running = 0, i;

	while (next < n || running > 0) {
		while (running < par && next < n) {
			job_start(&jobs[running], files[next], next);
			running++;
			next++;
		}
		for (i = 0; i < running; i++) {
			pf[i].fd = jobs[i].fd;
			pf[i].events = POLLIN;
			pf[i].revents = 0;
		}
		if (poll(pf, (nfds_t)running, -1) < 0) {
			ck_assert_msg(errno == EINTR, "poll: %s", strerror(errno));
			continue;
		}
		for (i = running - 1; i >= 0; i--) {
			struct job *j = &jobs[i];
			char chunk[4096];
			ssize_t got;
			int status;

			if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			got = read(j->fd, chunk, sizeof(chunk));
			if (got < 0 && errno == EINTR)
				continue;
			if (got > 0) {
				prog_buf_add(&j->err, chunk, (size_t)got);
				continue;
			}
			close(j->fd);
			while (waitpid(j->pid, &status, 0) < 0)
				ck_assert_msg(errno == EINTR, "waitpid: %s", strerror(errno));
			rc[j->idx] = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
			err[j->idx] = j->err.p;
			jobs[i] = jobs[--running]; /* pf[i] is not looked at again */
		}
	}
}

/*
 * tcpdump's and libpcap's test captures, many of them crafted to crash
 * parsers: each replays (exit 0, nothing on stderr but warnings naming
 * it) or is refused (exit 2, one stderr line naming it). Never a crash, a sanitizer report or a hang.
 */
START_TEST(test_corpus)
{
	const char *dir = prog_env("CORPUS", "../shared/corpus");
	int required = strcmp(prog_env("CORPUS_REQUIRED", "0"), "1") == 0;
	struct prog_buf report = { NULL, 0, 0 };
	struct names nm = { NULL, 0, 0 };
	struct stat st;
	int i, bad = 0, ok0 = 0, ok2 = 0, *rcs;
	char **errs;

	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		ck_assert_msg(!required, "CORPUS_REQUIRED=1, but the corpus directory %s does not exist", dir);
		fprintf(stderr, "note: no corpus at %s (set CORPUS=DIR); the corpus test passes without running\n",
			dir);
		return;
	}
	collect_captures(dir, &nm);
	qsort(nm.v, (size_t)nm.n, sizeof(*nm.v), cmp_strp);
	ck_assert_msg(nm.n > 800, "%s holds %d .pcap/.pcapng files; more than 800 expected (an incomplete corpus?)",
		      dir, nm.n);
	prog_buf_add(&report, "", 0);
	rcs = calloc((size_t)nm.n, sizeof(*rcs));
	errs = calloc((size_t)nm.n, sizeof(*errs));
	ck_assert_msg(rcs && errs, "out of memory");
	run_corpus(nm.v, nm.n, rcs, errs);
	for (i = 0; i < nm.n; i++) {
		char line[PATH_MAX + 512];
		const char *err = errs[i];
		size_t el = strlen(err);
		int rc = rcs[i], good;

		if (rc == 0)
			good = only_warnings(err, nm.v[i]);
		else
			good = rc == 2 && el > 0 && strchr(err, '\n') == err + el - 1 && strstr(err, nm.v[i]);
		ok0 += good && rc == 0;
		ok2 += good && rc == 2;
		if (!good && ++bad <= 20) {
			if (rc < 0)
				fmt_cut(line, sizeof(line), "  %s: killed by signal %d, stderr: %.400s%s\n", nm.v[i], -rc,
					err, el > 400 ? "..." : "");
			else
				fmt_cut(line, sizeof(line), "  %s: exit %d, stderr: %.400s%s\n", nm.v[i], rc, err,
					el > 400 ? "..." : "");
			prog_buf_add(&report, line, strlen(line));
		}
		free(errs[i]);
	}
	free(errs);
	free(rcs);
	ck_assert_msg(bad == 0,
		      "%d of %d corpus files misbehaved (want exit 0 and nothing on stderr, or exit 2 and "
		      "one stderr line naming the file)%s:\n%s",
		      bad, nm.n, bad > 20 ? "; the first 20" : "", report.p);
	ck_assert_msg(ok0 > 0 && ok2 > 0, "%d corpus files replayed, %d refused: one kind is missing", ok0, ok2);
	for (i = 0; i < nm.n; i++)
		free(nm.v[i]);
	free(nm.v);
	free(report.p);
}
END_TEST

Suite *replay_suite(void)
{
	Suite *s = suite_create("replay");
	TCase *tc = tcase_create("traces");
	TCase *tl = tcase_create("linktypes");
	TCase *tb = tcase_create("behaviour");
	TCase *tk = tcase_create("corpus");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_golden_replays);
	tcase_add_test(tc, test_replay_matches_capture);
	tcase_add_test(tc, test_facts_ethernet);
	tcase_add_test(tc, test_facts_sll2);
	tcase_add_test(tc, test_facts_ipv6);
	tcase_add_test(tc, test_facts_two_clients);
	tcase_add_test(tc, test_facts_closed_port);
	suite_add_tcase(s, tc);

	tcase_set_timeout(tl, 300);
	tcase_add_unchecked_fixture(tl, tmp_setup, tmp_teardown);
	tcase_add_test(tl, test_linktypes_same_replay);
	tcase_add_test(tl, test_linktype_unsupported);
	tcase_add_test(tl, test_stdin);
	tcase_add_test(tl, test_loopback);
	tcase_add_test(tl, test_bad_files);
	tcase_add_test(tl, test_truncated_record);
	suite_add_tcase(s, tl);

	tcase_set_timeout(tb, 300);
	tcase_add_unchecked_fixture(tb, tmp_setup, tmp_teardown);
	tcase_add_test(tb, test_snaplen_cut);
	tcase_add_test(tb, test_damaged_records);
	tcase_add_test(tb, test_mid_stream);
	tcase_add_test(tb, test_listen_option);
	tcase_add_test(tb, test_local_flips_sides);
	tcase_add_test(tb, test_write_pcap);
	tcase_add_test(tb, test_verify_checksums);
	tcase_add_test(tb, test_quiet_and_tables);
	tcase_add_test(tb, test_window_index_grows);
	tcase_add_test(tb, test_bad_options);
	tcase_add_test(tb, test_option_missing_value);
	suite_add_tcase(s, tb);

	tcase_set_timeout(tk, 1200);
	tcase_add_test(tk, test_corpus);
	suite_add_tcase(s, tk);
	return s;
}
