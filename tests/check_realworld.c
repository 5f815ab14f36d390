/*
 * check_realworld.c - replays of captures nobody in this project made.
 *
 * $REALWORLD (default ../shared/realworld) holds captures published by
 * others (Zeek's, Suricata's and tcpreplay's test traces, sample captures
 * of packet-analysis courses), with the facts tshark measured on each in
 * facts.jsonl (FACTS.md explains them). Every file is replayed, and:
 *
 *   exit       0, or 2 with exactly one stderr line naming the file when
 *              libpcap itself cannot read the file to its end (a record
 *              cut short); on exit 0 stderr holds only warnings naming
 *              the file (one direction only, timestamps going back);
 *   servers    the listeners inferred from SYN-ACKs are the facts'
 *              servers (the hosts that answered a SYN with a SYN-ACK);
 *   capture    the capture point the summary reports is the facts'
 *              vantage (client side, server side, in between, one host);
 *   handshakes PassiveOpens, the handshakes the stack completed, equals
 *              the facts' completed handshakes;
 *   duplicates the frames replayed once as the capture's duplicates are
 *              the facts' duplicate frames;
 *   --quiet    the same summary, byte for byte, as with the whole trace;
 *   the rest   frames read, the warnings for time going back and for one
 *              direction, connections picked up mid-stream, listener
 *              drops (check_row());
 *   agreement  with --verify, the median control agreement over the
 *              captures with complete handshakes and Linux servers is at
 *              least 0.95, and every capture below 0.9 names its causes.
 *
 * Under `make check-sanitize` the same replays run under ASan and UBSan,
 * so a crash or a sanitizer report fails here too.
 *
 * Environment: TCPDEMUX, REALWORLD; REALWORLD_REQUIRED=1 (CI) makes a
 * missing folder a failure instead of a note.
 */
#include <pcap/pcap.h>
#include <sys/stat.h>

#include "replaytest.h"
#include "suites.h"

#define MAX_FILES 128
#define MAX_SERVERS 64

/* What facts.jsonl says of one file (the fields these tests check). */
struct facts {
	char file[128];
	char servers[MAX_SERVERS][64]; /* "addr:port" that answered a SYN with a SYN-ACK */
	int nservers;
	char nosyn[MAX_SERVERS][64];   /* SYN-ACK senders whose SYN is not in the capture (at most 5 listed) */
	int nnosyn;
	long long synack_nosyn;        /* how many such SYN-ACKs */
	long long handshakes;          /* completed: SYN, SYN-ACK and the ACK of its ISN + 1 */
	long long attempts;            /* SYNs (a client, a server, an ISN) */
	long long dup_frames;          /* frames the capture holds twice (identical within 10 ms) */
	long long packets;             /* frames in the file */
	long long ts_backwards;        /* frames timestamped before the frame before */
	long long convs, onedir;       /* 4-tuples; those seen in one direction only */
	long long midstream;           /* 4-tuples without a SYN or SYN-ACK */
	long long syn_retx_ok;         /* attempts whose SYN was sent again and then answered */
	long long syn_noans_retx;      /* attempts whose SYN was sent again and never answered */
	long long sa_retx;             /* attempts whose SYN-ACK was sent more than once */
	int linux_servers;             /* every SYN-ACK sender has an initial TTL of 64 (33..64 seen) */
	char side[32];                 /* "client", "server", "middle", "both~0", "-" */
};

static const char *rw_dir(void)
{
	return prog_env("REALWORLD", "../shared/realworld");
}

/* The quoted strings of a JSON array's raw text that are first in their
 * element (["a:1", 2] gives "a:1"), into out. */
static int raw_strings(const char *raw, char out[][64], int max)
{
	int n = 0, depth = 0;
	const char *p;

	for (p = raw; *p && n < max; p++) {
		if (*p == '[')
			depth++;
		else if (*p == ']')
			depth--;
		else if (*p == '"') {
			const char *e = strchr(p + 1, '"');
			size_t len;

			ck_assert_msg(e != NULL, "unterminated string in %s", raw);
			len = (size_t)(e - p - 1);
			ck_assert_msg(len < 64, "a server name too long in %s", raw);
			/* a string right after '[' or ", " at the top level, or first in a pair */
			if (depth >= 1 && (p[-1] == '[' || depth == 1)) {
				memcpy(out[n], p + 1, len);
				out[n][len] = '\0';
				n++;
			}
			p = e;
		}
	}
	return n;
}

/*
 * Whether every TTL in server_ttl's raw text ({"a:p": [64], ...}) is a
 * Linux one (33..64), and there is at least one.
 */
static int ttls_linux(const char *raw)
{
	int depth = 0, n = 0;
	const char *p;

	for (p = raw; *p; p++) {
		if (*p == '"') {
			p = strchr(p + 1, '"');
			if (!p)
				return 0;
		} else if (*p == '[') {
			depth++;
		} else if (*p == ']') {
			depth--;
		} else if (depth > 0 && *p >= '0' && *p <= '9') {
			long ttl = strtol(p, (char **)&p, 10);

			if (ttl < 33 || ttl > 64)
				return 0;
			n++;
			p--;
		}
	}
	return n > 0;
}

/* Reads facts.jsonl into f; returns how many files it describes. */
static int read_facts(struct facts *f, int max)
{
	char path[PATH_MAX], raw[16384];
	struct jlines l;
	char *text;
	int i, n = 0;

	fmt(path, sizeof(path), "%s/facts.jsonl", rw_dir());
	text = prog_read_file(path, NULL);
	jl_split(&l, text, 0, path);
	for (i = 0; i < l.n && n < max; i++) {
		struct jobj o;
		const char *err;

		if (!l.line[i][0])
			continue;
		err = j_parse(l.line[i], strlen(l.line[i]), &o);
		ck_assert_msg(err == NULL, "%s line %d: %s", path, i + 1, err);
		memset(&f[n], 0, sizeof(f[n]));
		ck_assert_msg(j_str(&o, "file", f[n].file, sizeof(f[n].file)) != NULL, "%s line %d: no file", path, i + 1);
		f[n].nservers = raw_strings(j_raw(&o, "servers", raw, sizeof(raw)), f[n].servers, MAX_SERVERS);
		f[n].nnosyn = raw_strings(j_raw(&o, "synack_nosyn_servers", raw, sizeof(raw)), f[n].nosyn, MAX_SERVERS);
		f[n].synack_nosyn = j_int(&o, "synack_nosyn", path);
		f[n].handshakes = j_int(&o, "handshakes", path);
		f[n].attempts = j_int(&o, "attempts", path);
		f[n].dup_frames = j_int(&o, "dup_frames", path);
		f[n].packets = j_int(&o, "packets", path);
		f[n].ts_backwards = j_int(&o, "ts_backwards", path);
		f[n].convs = j_int(&o, "convs", path);
		f[n].onedir = j_int(&o, "onedir", path);
		f[n].midstream = j_int(&o, "midstream", path);
		f[n].syn_retx_ok = j_int(&o, "syn_retx_ok", path);
		f[n].syn_noans_retx = j_int(&o, "syn_noans_retx", path);
		f[n].sa_retx = j_int(&o, "sa_retx", path);
		f[n].linux_servers = ttls_linux(j_raw(&o, "server_ttl", raw, sizeof(raw)));
		ck_assert_msg(j_str(&o, "side", f[n].side, sizeof(f[n].side)) != NULL, "%s line %d: no side", path, i + 1);
		n++;
	}
	jl_free(&l);
	free(text);
	return n;
}

static int has_suffix(const char *s, const char *suf)
{
	size_t l = strlen(s), sl = strlen(suf);

	return l > sl && strcmp(s + l - sl, suf) == 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

/* The captures in the folder (names without the folder), sorted; NULL-free. */
static int list_files(char names[][128], int max)
{
	DIR *d = opendir(rw_dir());
	struct dirent *e;
	int n = 0;

	ck_assert_msg(d != NULL, "cannot list %s: %s", rw_dir(), strerror(errno));
	while ((e = readdir(d)) != NULL && n < max) {
		if (!has_suffix(e->d_name, ".pcap") && !has_suffix(e->d_name, ".pcapng"))
			continue;
		ck_assert_msg(strlen(e->d_name) < 128, "file name too long: %s", e->d_name);
		strcpy(names[n++], e->d_name);
	}
	closedir(d);
	qsort(names, (size_t)n, sizeof(names[0]), cmp_names);
	return n;
}

/* Whether libpcap reads path to its end without an error (a record cut short is one). */
static int pcap_reads_whole(const char *path)
{
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline(path, err);
	struct pcap_pkthdr *h;
	const u_char *d;
	int r;

	ck_assert_msg(p != NULL, "libpcap cannot open %s: %s", path, err);
	while ((r = pcap_next_ex(p, &h, &d)) == 1)
		;
	pcap_close(p);
	return r == PCAP_ERROR_BREAK;
}

/* The folder is there, or (without REALWORLD_REQUIRED=1) the test passes with a note. */
static int rw_present(void)
{
	struct stat st;

	if (stat(rw_dir(), &st) == 0 && S_ISDIR(st.st_mode))
		return 1;
	ck_assert_msg(strcmp(prog_env("REALWORLD_REQUIRED", "0"), "1") != 0,
		      "REALWORLD_REQUIRED=1, but the folder of published captures %s does not exist", rw_dir());
	fprintf(stderr, "note: no published captures at %s (set REALWORLD=DIR); the realworld tests pass without running\n",
		rw_dir());
	return 0;
}

static const struct facts *facts_of(const struct facts *f, int n, const char *file)
{
	int i;

	for (i = 0; i < n; i++)
		if (strcmp(f[i].file, file) == 0)
			return &f[i];
	ck_abort_msg("%s/facts.jsonl says nothing of %s", rw_dir(), file);
	return NULL;
}

static int in_list(const char (*list)[64], int n, const char *s)
{
	int i;

	for (i = 0; i < n; i++)
		if (strcmp(list[i], s) == 0)
			return 1;
	return 0;
}

/* Exit status and stderr: see the file's comment. */
static void check_exit(const struct run *r, const char *file, int whole)
{
	if (!whole) {
		run_refused(r, file, NULL);
		return;
	}
	ck_assert_msg(r->rc == 0, "%s: exit %d; stderr: %s", file, r->rc, r->err);
	ck_assert_msg(only_warnings(r->err, file), "%s: exit 0, but stderr holds more than warnings naming the file: %s",
		      file, r->err);
}

/*
 * The listeners inferred because they answered a SYN with a SYN-ACK are
 * the servers of the facts; those whose SYN-ACKs answered no SYN in the
 * capture are listeners only by another rule (the capture holds no
 * answered SYN at all) and say so.
 */
static void check_servers(const struct run *r, const struct facts *fa, const char *file)
{
	char ours[MAX_SERVERS][64], other[MAX_SERVERS][64], buf[256], why[512];
	int n = 0, nother = 0, i;

	for (i = 0; i < r->l.n; i++) {
		const struct jobj *o = &r->l.obj[i];
		int answered;

		if (!j_is(o, "type", "inferred") || !j_is(o, "what", "listener"))
			continue;
		ck_assert_msg(j_str(o, "why", why, sizeof(why)) != NULL, "%s: a listener without a why", file);
		ck_assert_msg(n < MAX_SERVERS && nother < MAX_SERVERS, "%s: more than %d listeners", file, MAX_SERVERS);
		ck_assert_msg(j_str(o, "subject", buf, sizeof(buf)) && strlen(buf) < 64, "%s: a listener without a subject",
			      file);
		answered = strncmp(why, "it answered a SYN with a SYN-ACK", 32) == 0;
		strcpy(answered ? ours[n++] : other[nother++], buf);
	}
	for (i = 0; i < fa->nservers; i++)
		ck_assert_msg(in_list((const char (*)[64])ours, n, fa->servers[i]), "%s: %s answered a SYN with a SYN-ACK, but no listener was inferred there",
			      file, fa->servers[i]);
	for (i = 0; i < fa->nnosyn; i++)
		ck_assert_msg(in_list((const char (*)[64])other, nother, fa->nosyn[i]),
			      "%s: %s sent a SYN-ACK to no SYN in the capture, but no listener was inferred there (or it was said to answer a SYN)",
			      file, fa->nosyn[i]);
	/* The facts list at most five servers whose SYN is missing: then ours may be more. */
	if (fa->synack_nosyn > fa->nnosyn)
		return;
	for (i = 0; i < n; i++)
		ck_assert_msg(in_list(fa->servers, fa->nservers, ours[i]) || in_list(fa->nosyn, fa->nnosyn, ours[i]),
			      "%s: a listener was inferred at %s, which answered no SYN in the facts", file, ours[i]);
}

/*
 * The capture point of the summary is the facts' vantage: both classify
 * the median SYN -> SYN-ACK against the median SYN-ACK -> ACK, 3x apart
 * (FACTS.md's "client" / "server" / "middle"; both under 20 us: one host).
 */
static void check_capture_point(const struct run *r, const struct facts *fa, const char *file)
{
	static const struct {
		const char *facts, *ours;
	} map[] = {
		{ "client", "client" }, { "server", "server" }, { "middle", "between" },
		{ "both~0", "same_host" }, { "-", "unknown" },
	};
	struct jobj rs, cp;
	char side[32];
	size_t i;

	run_replay_stats(r, &rs);
	j_sub(&rs, "capture_point", &cp, file);
	ck_assert_msg(j_str(&cp, "side", side, sizeof(side)) != NULL, "%s: no capture_point.side", file);
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i].facts, fa->side) == 0) {
			ck_assert_msg(strcmp(side, map[i].ours) == 0, "%s: capture point %s; the facts say %s", file, side,
				      fa->side);
			return;
		}
	ck_abort_msg("%s: the facts' vantage \"%s\" is not one this test knows", file, fa->side);
}


/*
 * The rest of the facts' row: the frames read; one warning line when the
 * timestamps go back, and one when every conversation is one-directional
 * (and neither otherwise); no more connections picked up mid-stream than
 * the capture holds without a handshake (midstream, SYN-ACKs without a
 * SYN); listener drops only where a SYN was sent again, and at least one
 * per attempt answered only after its SYN came again without the server
 * having answered twice (a lost SYN-ACK is not a drop).
 */
static void check_row(const struct run *r, const struct facts *fa, const char *file)
{
	long long drops = run_replay_num(r, "listener_drops"), picked = run_replay_num(r, "picked_up");
	int back = strstr(r->err, "warning: timestamps go back") != NULL;
	int onedir = strstr(r->err, "warning: only one direction") != NULL;

	ck_assert_msg(run_replay_num(r, "frames") == fa->packets, "%s: %lld frames read; the file holds %lld", file,
		      run_replay_num(r, "frames"), fa->packets);
	ck_assert_msg(back == (fa->ts_backwards > 0), "%s: %d frames go back in time, and the warning is %s", file,
		      (int)fa->ts_backwards, back ? "there" : "missing");
	ck_assert_msg(onedir == (fa->convs > 0 && fa->onedir == fa->convs),
		      "%s: %lld of %lld conversations in one direction, and the one-direction warning is %s", file,
		      fa->onedir, fa->convs, onedir ? "there" : "missing");
	ck_assert_msg(picked <= fa->midstream + fa->synack_nosyn,
		      "%s: %lld connections picked up mid-stream; the capture holds %lld without a SYN or SYN-ACK and %lld SYN-ACKs without a SYN",
		      file, picked, fa->midstream, fa->synack_nosyn);
	if (fa->syn_retx_ok == 0 && fa->syn_noans_retx == 0)
		ck_assert_msg(drops == 0, "%s: %lld listener drops, but no SYN was sent again", file, drops);
	else
		ck_assert_msg(drops >= fa->syn_retx_ok - fa->sa_retx,
			      "%s: %lld listener drops; %lld attempts were answered only after the SYN came again", file,
			      drops, fa->syn_retx_ok - fa->sa_retx);
}

/* The summary line of a JSON Lines output (its last line), as text; *len its length. */
static const char *summary_text(const char *out, size_t *len)
{
	const char *p = strstr(out, "{\"type\":\"summary\"");
	const char *e;

	ck_assert_msg(p != NULL, "no summary line in: %.300s", out);
	e = strchr(p, '\n');
	*len = e ? (size_t)(e - p) : strlen(p);
	return p;
}

/* --quiet prints only the summary, and the same one: what is replayed does not depend on who reads it. */
static void check_quiet_same(const struct run *full, const char *path, const char *file)
{
	char qp[PATH_MAX + 8];
	const char *a, *b;
	size_t na, nb;
	struct run r;

	run_plain(&r, "replay %s --quiet --format json --hash-seed 1", q(path, qp, sizeof(qp)));
	ck_assert_msg(r.rc == full->rc, "%s: --quiet exited %d, the full trace %d; stderr: %s", file, r.rc, full->rc,
		      r.err);
	a = summary_text(full->out, &na);
	b = summary_text(r.out, &nb);
	ck_assert_msg(na == nb && memcmp(a, b, na) == 0, "%s: the --quiet summary differs:\n%.*s\n%.*s", file, (int)na, a,
		      (int)nb, b);
	run_free(&r);
}

START_TEST(test_realworld_replays)
{
	static struct facts facts[MAX_FILES];
	static char names[MAX_FILES][128];
	int nf, n, i;

	if (!rw_present())
		return;
	nf = read_facts(facts, MAX_FILES);
	n = list_files(names, MAX_FILES);
	ck_assert_msg(n >= 40 && nf >= n, "%s holds %d captures and facts for %d: an incomplete folder?", rw_dir(), n,
		      nf);
	for (i = 0; i < n; i++) {
		const struct facts *fa = facts_of(facts, nf, names[i]);
		char path[PATH_MAX], qp[PATH_MAX + 8];
		int whole;
		struct run r;

		fmt(path, sizeof(path), "%s/%s", rw_dir(), names[i]);
		whole = pcap_reads_whole(path);
		run_json(&r, "replay %s --format json --hash-seed 1", q(path, qp, sizeof(qp)));
		check_exit(&r, path, whole);
		check_quiet_same(&r, path, names[i]);
		check_servers(&r, fa, names[i]);
		check_capture_point(&r, fa, names[i]);
		if (whole)
			check_row(&r, fa, names[i]);
		ck_assert_msg(run_replay_num(&r, "duplicates") == fa->dup_frames,
			      "%s: %lld frames replayed once as the capture's duplicates; the facts count %lld", names[i],
			      run_replay_num(&r, "duplicates"), fa->dup_frames);
		ck_assert_msg(run_counter(&r, "PassiveOpens") == fa->handshakes,
			      "%s: the stack completed %lld handshakes; the capture holds %lld", names[i],
			      run_counter(&r, "PassiveOpens"), fa->handshakes);
		run_free(&r);
	}
}
END_TEST

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/*
 * --verify on every capture: the median control agreement over the
 * captures with every handshake complete and Linux servers is at least
 * 0.95, and every capture below 0.9 has its cause named in the summary
 * (the causes of its first divergences, or why nothing was compared).
 */
START_TEST(test_realworld_agreement)
{
	static struct facts facts[MAX_FILES];
	static char names[MAX_FILES][128];
	double sel[MAX_FILES], median;
	int nf, n, i, nsel = 0;

	if (!rw_present())
		return;
	nf = read_facts(facts, MAX_FILES);
	n = list_files(names, MAX_FILES);
	for (i = 0; i < n; i++) {
		const struct facts *fa = facts_of(facts, nf, names[i]);
		char path[PATH_MAX], qp[PATH_MAX + 8], causes[1024], nothing[512];
		struct jobj vs, ctl, ack, data;
		const struct jobj *sum;
		double control;
		struct run r;

		fmt(path, sizeof(path), "%s/%s", rw_dir(), names[i]);
		run_json(&r, "replay %s --verify --quiet --format json", q(path, qp, sizeof(qp)));
		ck_assert_msg(r.rc <= 2, "%s: --verify exited %d: %s", names[i], r.rc, r.err);
		sum = run_summary(&r);
		j_sub(sum, "verify", &vs, names[i]);
		j_sub(&vs, "control", &ctl, names[i]);
		j_sub(&vs, "ack", &ack, names[i]);
		j_sub(&vs, "data", &data, names[i]);
		control = strtod(j_raw(&vs, "agreement", causes, sizeof(causes)), NULL);
		j_raw(&vs, "causes", causes, sizeof(causes));
		j_raw(&vs, "nothing_compared", nothing, sizeof(nothing));
		printf("realworld %-46s control %.3f (%lld of %lld)  ack %.3f  data %.3f  causes %s%s%s\n", names[i],
		       control, j_int(&ctl, "matched", names[i]), j_int(&ctl, "expected", names[i]),
		       strtod(j_raw(&ack, "agreement", qp, sizeof(qp)), NULL),
		       strtod(j_raw(&data, "agreement", qp, sizeof(qp)), NULL), causes,
		       strcmp(nothing, "null") ? "  nothing compared: " : "", strcmp(nothing, "null") ? nothing : "");
		ck_assert_msg(control >= 0.9 || strcmp(causes, "[]") != 0 || strcmp(nothing, "null") != 0,
			      "%s: control agreement %.3f, and the summary names no cause", names[i], control);
		if (fa->handshakes > 0 && fa->handshakes == fa->attempts && fa->linux_servers)
			sel[nsel++] = control;
		run_free(&r);
	}
	fflush(stdout);
	ck_assert_msg(nsel >= 20, "only %d captures with complete handshakes and Linux servers", nsel);
	qsort(sel, (size_t)nsel, sizeof(sel[0]), cmp_double);
	median = nsel % 2 ? sel[nsel / 2] : (sel[nsel / 2 - 1] + sel[nsel / 2]) / 2;
	printf("realworld median control agreement %.3f over %d captures with complete handshakes and Linux servers\n",
	       median, nsel);
	ck_assert_msg(median >= 0.95, "median control agreement %.3f < 0.95 over %d captures", median, nsel);
}
END_TEST

Suite *realworld_suite(void)
{
	Suite *s = suite_create("realworld");
	TCase *tc = tcase_create("published");

	tcase_set_timeout(tc, 1200);
	tcase_add_test(tc, test_realworld_replays);
	tcase_add_test(tc, test_realworld_agreement);
	suite_add_tcase(s, tc);
	return s;
}
