/*
 * check_live.c - `tcpdemux live` against real Linux clients (root only).
 *
 * Path: each test makes a network namespace of its own (ip netns add),
 *       starts `tcpdemux live` in it (the TUN device lives in the
 *       namespace), runs real kernel clients in it (tools/live-clients.py,
 *       curl), stops tcpdemux with SIGTERM and reads its JSON Lines. All
 *       traffic stays inside the namespace; the namespace is removed on
 *       every path (the unchecked teardown, run by the parent process,
 *       also after a failed or timed-out test).
 *
 * The JSON Lines are read with replaytest.h's splitter; the scratch files
 * go in its per-TCase temporary directory.
 *
 * The environment (root, /dev/net/tun, ip, curl, tcpdump, /usr/bin/python3)
 * is installed by tools/ensure-deps.sh. Without it the tests say why and
 * pass only outside CI: under CI=1 a missing piece fails loudly.
 *
 * Every step is bounded: tcpdemux runs with --duration, every client with
 * timeout(1) and socket timeouts, and each test case has a Check timeout.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "replaytest.h"
#include "segment.h"
#include "suites.h"

#define LIVE_TIMEOUT 90 /* seconds per test case */

/* Every test's namespace name, known to the parent's teardown. */
static const char *const live_tests[] = { "echo", "never", "http", "annotate", "limit", "connect", "timers", "env" };
static pid_t live_parent;

static void live_ns_name(const char *test, char *ns, size_t nslen)
{
	fmt(ns, nslen, "tcpdemux-check-%ld-%s", (long)live_parent, test);
}

/* Runs argv quietly; returns its exit status (-1: it did not exit normally). Never asserts. */
static int quiet_run(char *const argv[])
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);

		if (devnull >= 0) {
			dup2(devnull, STDIN_FILENO);
			dup2(devnull, STDOUT_FILENO);
			dup2(devnull, STDERR_FILENO);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int sh_quiet(const char *cmd)
{
	char sh[] = "/bin/sh", c[] = "-c";
	char *argv[] = { sh, c, (char *)cmd, NULL };

	return quiet_run(argv);
}

/* Kills whatever still runs in namespace ns and removes it. */
static void live_cleanup(const char *ns)
{
	char cmd[512];

	fmt(cmd, sizeof(cmd),
	    "for p in $(ip netns pids %s 2>/dev/null); do kill -9 $p; done; ip netns del %s 2>/dev/null", ns, ns);
	sh_quiet(cmd);
}

static void live_setup(void)
{
	live_parent = getpid();
	tmp_setup();
}

static void live_teardown(void)
{
	char ns[128];
	size_t i;

	for (i = 0; i < sizeof(live_tests) / sizeof(live_tests[0]); i++) {
		live_ns_name(live_tests[i], ns, sizeof(ns));
		live_cleanup(ns);
	}
	tmp_teardown();
}

/*
 * Can live tests run here? Returns 1, or 0 after saying why (outside CI);
 * under CI a missing piece fails the test.
 */
static int live_possible(void)
{
	const char *why = NULL;

	if (geteuid() != 0)
		why = "not root";
	else if (access("/dev/net/tun", R_OK | W_OK) != 0)
		why = "no /dev/net/tun";
	else if (sh_quiet("command -v ip && command -v curl && command -v tcpdump && command -v timeout && command -v tshark && chrt -f 1 true") != 0)
		why = "ip, curl, tcpdump, tshark, timeout or chrt missing, or no real-time priority (tools/ensure-deps.sh --test installs them)";
	else if (access("/usr/bin/python3", X_OK) != 0)
		why = "no /usr/bin/python3";
	if (!why)
		return 1;
	ck_assert_msg(getenv("CI") == NULL || !*getenv("CI"), "live tests cannot run under CI: %s", why);
	fprintf(stderr, "live: not run here: %s\n", why);
	return 0;
}

/* A scratch namespace with lo up; its files are named after the test in the temporary directory. */
struct live_env {
	char ns[128];
	const char *test;
};

static void env_make(struct live_env *e, const char *test)
{
	char cmd[512];

	e->test = test;
	live_ns_name(test, e->ns, sizeof(e->ns));
	live_cleanup(e->ns); /* a run interrupted before */
	fmt(cmd, sizeof(cmd), "ip netns add %s && ip -n %s link set lo up", e->ns, e->ns);
	ck_assert_msg(sh_quiet(cmd) == 0, "cannot make the network namespace %s", e->ns);
}

/* tmpdir/TEST-name */
static const char *env_file(const struct live_env *e, const char *name, char *buf, size_t len)
{
	char n[128];

	fmt(n, sizeof(n), "%s-%s", e->test, name);
	return tmp_file(n, buf, len);
}

/* A process started in the background inside the namespace. */
struct bg {
	pid_t pid;
	char out[PATH_MAX], err[PATH_MAX];
};

/* Appends "ip netns exec NS argv..." to full[n..] (64 entries in all, NULL-terminated). */
static void ns_argv(char **full, int n, const struct live_env *e, char *const argv[])
{
	int i;

	full[n++] = (char *)"ip";
	full[n++] = (char *)"netns";
	full[n++] = (char *)"exec";
	full[n++] = (char *)e->ns;
	for (i = 0; argv[i] && n < 63; i++)
		full[n++] = argv[i];
	full[n] = NULL;
}

/* Starts "ip netns exec NS argv..." with stdout and stderr to files in the env's folder. */
static void bg_start(struct bg *b, const struct live_env *e, const char *name, char *const argv[])
{
	char *full[64], fn[64];

	fmt(fn, sizeof(fn), "%s.out", name);
	env_file(e, fn, b->out, sizeof(b->out));
	fmt(fn, sizeof(fn), "%s.err", name);
	env_file(e, fn, b->err, sizeof(b->err));
	ns_argv(full, 0, e, argv);
	fflush(NULL);
	b->pid = fork();
	ck_assert_msg(b->pid >= 0, "fork: %s", strerror(errno));
	if (b->pid == 0) {
		int in = open("/dev/null", O_RDONLY);
		int o = open(b->out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int er = open(b->err, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (in < 0 || o < 0 || er < 0)
			_exit(126);
		dup2(in, STDIN_FILENO);
		dup2(o, STDOUT_FILENO);
		dup2(er, STDERR_FILENO);
		execvp(full[0], full); /* ip netns exec execs in place: the pid is the program's */
		_exit(127);
	}
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Waits up to secs for file to contain text (the process still running). Returns 1 when it does. */
static int bg_wait_text(const struct bg *b, const char *file, const char *text, double secs)
{
	double end = now_s() + secs;

	while (now_s() < end) {
		FILE *f = fopen(file, "r");
		char buf[4096];
		size_t n = 0;
		int status;

		if (f) {
			n = fread(buf, 1, sizeof(buf) - 1, f);
			fclose(f);
		}
		buf[n] = '\0';
		if (strstr(buf, text))
			return 1;
		if (waitpid(b->pid, &status, WNOHANG) == b->pid)
			return 0;
		usleep(20000);
	}
	return 0;
}

/* Sends sig and waits up to secs for the exit. Returns the exit status, or -1 (killed: it hung). */
static int bg_stop(struct bg *b, int sig, double secs)
{
	double end = now_s() + secs;
	int status;

	kill(b->pid, sig);
	while (now_s() < end) {
		pid_t r = waitpid(b->pid, &status, WNOHANG);

		if (r == b->pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		usleep(20000);
	}
	kill(b->pid, SIGKILL);
	waitpid(b->pid, &status, 0);
	return -1;
}

/* Runs "timeout SECS ip netns exec NS argv..." to completion; its stdout and stderr merged in *out. */
static int env_run(const struct live_env *e, int secs, char *const argv[], char **out)
{
	char *full[64], t[16];

	fmt(t, sizeof(t), "%d", secs);
	full[0] = (char *)"timeout";
	full[1] = t;
	ns_argv(full, 2, e, argv);
	return prog_runv(full, out, NULL);
}

/* ---- reading the JSON Lines --------------------------------------------------------- */

/* A number (an integer, or a time such as 1.234567) held by key. */
static double jnum(const struct jobj *o, const char *key, const char *where)
{
	const struct jfield *f = j_get(o, key);

	ck_assert_msg(f != NULL, "%s: no field \"%s\"", where, key);
	return strtod(f->v, NULL);
}

/* key's number inside the object held by sub ("queues", "counters", ...). */
static double jnum_in(const struct jobj *o, const char *sub, const char *key, const char *where)
{
	struct jobj so;

	j_sub(o, sub, &so, where);
	return jnum(&so, key, where);
}

/* Starts `tcpdemux live ARGS --format json` in e's namespace and waits for it to be ready. */
static void live_start(struct bg *b, const struct live_env *e, const char *args)
{
	char cmd[1024];
	char sh[] = "/bin/sh", c[] = "-c";
	char *argv[] = { sh, c, cmd, NULL };

	/*
	 * exec: the shell becomes tcpdemux (chrt execs it in turn), so the signal
	 * reaches it. chrt: on a loaded machine a normal process may wait tens of
	 * milliseconds for a CPU, and its answers then reach the device that much
	 * later than the segments they answer, which a capture shows and --verify
	 * (50 ms) counts. Real-time priority gives the stack what the kernel's own
	 * TCP has: it runs as soon as a packet arrives. It sleeps in ppoll()
	 * otherwise, and --duration bounds it.
	 */
	snprintf(cmd, sizeof(cmd), "exec chrt -f 20 %s live --format json --duration 60 %s", prog_tcpdemux(), args);
	bg_start(b, e, "live", argv);
	ck_assert_msg(bg_wait_text(b, b->err, "tcpdemux: ready", 10), "tcpdemux live did not get ready: %s",
		      prog_read_file(b->err, NULL));
}

/* Stops it with SIGTERM: exit 0, and the device gone. Returns its stdout. */
static char *live_stop(struct bg *b, const struct live_env *e, const char *dev)
{
	char cmd[256];
	int rc = bg_stop(b, SIGTERM, 10);

	ck_assert_msg(rc == 0, "tcpdemux live did not exit 0 on SIGTERM (%d): %s", rc, prog_read_file(b->err, NULL));
	snprintf(cmd, sizeof(cmd), "ip -n %s link show %s", e->ns, dev);
	ck_assert_msg(sh_quiet(cmd) != 0, "the device %s is still there after tcpdemux live exited", dev);
	return prog_read_file(b->out, NULL);
}

/* ---- the tests ------------------------------------------------------------------------- */

/*
 * 50 concurrent kernel clients against --app echo: every reply right, 50
 * accepts, no RST either way, a summary whose counters match the trace;
 * and a tcpdump capture of the device, replayed with --verify and the same
 * --listen, agrees 1.000 on every control segment.
 */
START_TEST(live_echo_50_clients)
{
	struct live_env e;
	struct bg live, td;
	struct jlines l;
	char *out, *trace, cap[PATH_MAX], wr[PATH_MAX], clients[512], args[PATH_MAX + 128], qcap[PATH_MAX + 8];
	char py[] = "/usr/bin/python3";
	int i, accepts = 0, in = 0, out_segs = 0, rsts = 0, queued = 0, rc;
	const struct jobj *summary = NULL;

	if (!live_possible())
		return;
	env_make(&e, "echo");
	env_file(&e, "write.pcap", wr, sizeof(wr));
	fmt(args, sizeof(args), "--app echo --listen 10.9.0.1:80,backlog=128 --hash-seed 1 --write %s",
	    q(wr, qcap, sizeof(qcap)));
	live_start(&live, &e, args);
	env_file(&e, "tun.pcap", cap, sizeof(cap));
	{
		char *targv[] = { (char *)"tcpdump", (char *)"-i", (char *)"tcpdemux0", (char *)"-n", (char *)"-U",
				  /* a small snap length and a big buffer: with the default 256 KiB slots the
				   * kernel drops packets of a burst of 50 clients */
				  (char *)"-s", (char *)"2048", (char *)"-B", (char *)"65536",
				  (char *)"--immediate-mode", (char *)"-w", cap, NULL };

		bg_start(&td, &e, "tcpdump", targv);
		ck_assert_msg(bg_wait_text(&td, td.err, "listening on", 10), "tcpdump did not start: %s",
			      prog_read_file(td.err, NULL));
	}
	fmt(clients, sizeof(clients), "%s/live-clients.py", prog_env("TOOLS", "tools"));
	{
		char *cargv[] = { py, clients, (char *)"echo", (char *)"50", (char *)"--size", (char *)"3000",
				  (char *)"--timeout", (char *)"10", NULL };

		rc = env_run(&e, 40, cargv, &out);
	}
	ck_assert_msg(rc == 0 && strstr(out, "summary: 50 of 50 echo replies correct"),
		      "the echo clients failed (%d):\n%s", rc, out);
	free(out);
	usleep(500000); /* the last ACKs reach the capture */
	ck_assert_msg(bg_stop(&td, SIGINT, 10) == 0, "tcpdump did not stop cleanly: %s", prog_read_file(td.err, NULL));
	trace = live_stop(&live, &e, "tcpdemux0");
	jl_split(&l, trace, 1, "live --app echo");
	for (i = 0; i < l.n; i++) {
		const struct jobj *o = &l.obj[i];
		char flags[16];

		if (j_is(o, "type", "accept"))
			accepts++;
		if (j_is(o, "type", "summary"))
			summary = o;
		if (!j_is(o, "type", "segment"))
			continue;
		if (j_str(o, "flags", flags, sizeof(flags)) && strchr(flags, 'R'))
			rsts++;
		if (j_is(o, "dir", "in"))
			in++;
		else
			out_segs++;
		if (j_is(o, "action", "queued"))
			queued++;
	}
	ck_assert_msg(accepts == 50, "%d accept lines, not 50", accepts);
	ck_assert_msg(queued == 50, "%d handshakes completed, not 50", queued);
	ck_assert_msg(rsts == 0, "%d segments with RST", rsts);
	ck_assert_msg(summary != NULL, "no summary line (the last: %s)", l.n ? l.line[l.n - 1] : "");
	ck_assert_msg(jnum_in(summary, "counters", "PassiveOpens", "summary") == 50, "PassiveOpens is not 50");
	ck_assert_msg(jnum_in(summary, "counters", "OutRsts", "summary") == 0, "OutRsts is not 0");
	ck_assert_msg(jnum_in(summary, "counters", "ListenOverflows", "summary") == 0, "ListenOverflows is not 0");
	ck_assert_msg(jnum_in(summary, "counters", "InSegs", "summary") == in, "InSegs is not the %d segments in", in);
	ck_assert_msg(jnum_in(summary, "counters", "OutSegs", "summary") == out_segs,
		      "OutSegs is not the %d segments out", out_segs);
	ck_assert_msg(jnum(summary, "segments_in", "summary") == in, "segments_in is not %d", in);
	/* What crossed the device agrees with the stack's counters, and the application echoed every byte. */
	ck_assert_msg(jnum_in(summary, "live", "tcp_in", "summary") == in, "live.tcp_in is not the %d segments in", in);
	ck_assert_msg(jnum_in(summary, "live", "packets_written", "summary") == out_segs,
		      "live.packets_written is not the %d segments out", out_segs);
	ck_assert_msg(jnum_in(summary, "live", "write_errors", "summary") == 0, "write errors");
	ck_assert_msg(jnum_in(summary, "live", "accepted", "summary") == 50 &&
			      jnum_in(summary, "live", "closed", "summary") == 50,
		      "the application did not accept and close 50");
	ck_assert_msg(jnum_in(summary, "live", "bytes_in", "summary") == 50 * 3000 &&
			      jnum_in(summary, "live", "bytes_out", "summary") == 50 * 3000,
		      "the application did not read and send 50 x 3000 bytes");
	ck_assert_msg(jnum_in(summary, "live", "app_errors", "summary") == 0, "the application met errors");
	/* Every connection was closed by both sides: no socket but the listener is left. */
	ck_assert_msg(jnum_in(summary, "sockets", "established", "summary") == 0 &&
			      jnum_in(summary, "sockets", "request", "summary") == 0,
		      "connections left over");
	jl_free(&l);
	free(trace);

	/* The capture of the device, replayed: the stack's answers agree with what it sent live. */
	fmt(args, sizeof(args), "replay %s --listen 10.9.0.1:80,backlog=128 --verify --quiet", q(cap, qcap, sizeof(qcap)));
	rc = prog_run(args, &out);
	ck_assert_msg(rc == 0 && strstr(out, "verify: control agreement 1.000"),
		      "replay --verify of the capture (%d):\n%s", rc, out);
	/* 50 SYN-ACKs and 50 FINs: the capture held every connection whole. */
	ck_assert_msg(strstr(out, "control  100 sent by the kernel: 100 matched, 0 missing, 0 differ; 0 extra"),
		      "the capture's control segments:\n%s", out);
	free(out);
	/* --write recorded the same exchange from inside: it replays the same way. */
	fmt(args, sizeof(args), "replay %s --listen 10.9.0.1:80,backlog=128 --verify --quiet", q(wr, qcap, sizeof(qcap)));
	rc = prog_run(args, &out);
	ck_assert_msg(rc == 0 && strstr(out, "control  100 sent by the kernel: 100 matched, 0 missing, 0 differ; 0 extra"),
		      "replay --verify of --write's file (%d):\n%s", rc, out);
	free(out);
	live_cleanup(e.ns);
}
END_TEST

/* A SYN in the trace: to the stack, its source port. */
static int is_syn_from(const struct jobj *o, double sport)
{
	return j_is(o, "type", "segment") && j_is(o, "dir", "in") && j_is(o, "flags", "S") &&
	       (sport < 0 || jnum(o, "sport", "SYN") == sport);
}

/*
 * --app never, backlog 2 (8 capped by net.core.somaxconn=2), six kernel clients 0.1 s apart: backlog+1 = 3
 * connections queue, the other three SYNs meet a full accept queue and are
 * dropped; the kernel clients retransmit them about 1 s later
 * (docs/linux-fidelity.md, behaviours 5 and 13), into the same full queue.
 */
START_TEST(live_never_fills_the_queue)
{
	struct live_env e;
	struct bg live;
	struct jlines l;
	char *out, *trace, clients[512];
	char py[] = "/usr/bin/python3";
	int i, j, queued = 0, max_accept = 0, dropped_first = 0, retrans = 0, rc;

	if (!live_possible())
		return;
	env_make(&e, "never");
	/* The backlog asked for is 8; somaxconn caps it at 2, as listen() does: --sysctl applies live. */
	live_start(&live, &e, "--app never --listen 10.9.0.1:80,backlog=8 --sysctl net.core.somaxconn=2");
	fmt(clients, sizeof(clients), "%s/live-clients.py", prog_env("TOOLS", "tools"));
	{
		char *cargv[] = { py, clients, (char *)"hold", (char *)"6", (char *)"--gap", (char *)"0.1",
				  (char *)"--hold", (char *)"2.5", NULL };

		rc = env_run(&e, 30, cargv, &out);
	}
	ck_assert_msg(rc == 0 && strstr(out, "summary: 3 of 6 connected"), "the clients (%d):\n%s", rc, out);
	free(out);
	trace = live_stop(&live, &e, "tcpdemux0");
	jl_split(&l, trace, 1, "live --app never");
	for (i = 0; i < l.n; i++) {
		const struct jobj *o = &l.obj[i];
		double sport, seq, t;
		int first = 1;

		ck_assert_msg(!j_is(o, "type", "accept"), "--app never accepted: %s", l.line[i]);
		if (!j_is(o, "type", "segment") || !j_is(o, "dir", "in"))
			continue;
		if (j_get(o, "queues") && jnum_in(o, "queues", "accept", l.line[i]) > max_accept)
			max_accept = (int)jnum_in(o, "queues", "accept", l.line[i]);
		if (j_is(o, "action", "queued"))
			queued++;
		if (!is_syn_from(o, -1) || !j_is(o, "reason", "ListenOverflows"))
			continue;
		/* A SYN dropped at the full queue: if it is its client's first, find the retransmission. */
		ck_assert_msg(jnum_in(o, "queues", "accept", l.line[i]) == 3, "SYN dropped with the queue not full: %s",
			      l.line[i]);
		ck_assert_msg(jnum_in(o, "queues", "backlog", l.line[i]) == 2, "the backlog is not somaxconn's 2: %s",
			      l.line[i]);
		sport = jnum(o, "sport", l.line[i]);
		seq = jnum(o, "seq", l.line[i]);
		t = jnum(o, "t", l.line[i]);
		for (j = 0; j < i && first; j++)
			first = !is_syn_from(&l.obj[j], sport);
		if (!first)
			continue;
		dropped_first++;
		for (j = i + 1; j < l.n && !is_syn_from(&l.obj[j], sport); j++)
			;
		if (j == l.n)
			continue;
		ck_assert_msg(jnum(&l.obj[j], "seq", l.line[j]) == seq, "not a retransmission: %s", l.line[j]);
		ck_assert_msg(jnum(&l.obj[j], "t", l.line[j]) - t > 0.8 && jnum(&l.obj[j], "t", l.line[j]) - t < 1.6,
			      "the kernel retransmitted the SYN %.3f s after the first, not about 1 s: %s",
			      jnum(&l.obj[j], "t", l.line[j]) - t, l.line[j]);
		ck_assert_msg(j_is(&l.obj[j], "reason", "ListenOverflows") &&
				      jnum_in(&l.obj[j], "queues", "accept", l.line[j]) == 3,
			      "the retransmitted SYN did not meet the full queue: %s", l.line[j]);
		retrans++;
	}
	ck_assert_msg(queued == 3, "%d connections queued, not backlog+1 = 3", queued);
	ck_assert_msg(max_accept == 3, "the accept queue peaked at %d, not 3", max_accept);
	ck_assert_msg(dropped_first == 3, "%d clients' SYNs met the full queue, not 3", dropped_first);
	ck_assert_msg(retrans == 3, "%d of the 3 dropped SYNs were seen retransmitted", retrans);
	jl_free(&l);
	free(trace);
	live_cleanup(e.ns);
}
END_TEST

/* curl against --app http, over IPv4 and IPv6: the one-line answer names the connection. */
START_TEST(live_http_curl)
{
	struct live_env e;
	struct bg live;
	char *out, *trace;
	char url6[] = "http://[fd09::1]/";
	int rc;

	if (!live_possible())
		return;
	env_make(&e, "http");
	live_start(&live, &e, "--app http --addr 10.9.0.1/24 --addr fd09::1/64");
	{
		char *cargv[] = { (char *)"curl", (char *)"-sS", (char *)"-m", (char *)"10", (char *)"-i",
				  (char *)"http://10.9.0.1/", NULL };

		rc = env_run(&e, 20, cargv, &out);
	}
	ck_assert_msg(rc == 0 && strstr(out, "HTTP/1.1 200 OK") &&
			      strstr(out, "tcpdemux: connection 10.9.0.2:") && strstr(out, " -> 10.9.0.1:80, socket #"),
		      "curl over IPv4 (%d):\n%s", rc, out);
	free(out);
	{
		char *cargv[] = { (char *)"curl", (char *)"-sS", (char *)"-g", (char *)"-m", (char *)"10", url6, NULL };

		rc = env_run(&e, 20, cargv, &out);
	}
	ck_assert_msg(rc == 0 && strstr(out, "tcpdemux: connection [fd09::2]:") && strstr(out, " -> [fd09::1]:80"),
		      "curl over IPv6 (%d):\n%s", rc, out);
	free(out);
	trace = live_stop(&live, &e, "tcpdemux0");
	ck_assert_msg(strstr(trace, "\"PassiveOpens\":2,") && strstr(trace, "\"OutRsts\":0,"),
		      "the summary does not show two clean connections: %s", strrchr(trace, '{'));
	free(trace);
	live_cleanup(e.ns);
}
END_TEST

/*
 * --annotate of a live run: a pcapng that Wireshark (here tshark) opens,
 * each segment the stack received with its lookup, each it sent with its
 * cause.
 */
/*
 * --annotate of a live run: every packet the kernel sent into the device,
 * byte for byte (raw IP) at its wall-clock time, with its lookup; the
 * stack's answers name the frame they answer by its number in the file.
 */
START_TEST(live_annotate)
{
	struct live_env e;
	struct bg live;
	char *out, *trace, *line, *save, pcapng[PATH_MAX], args[PATH_MAX + 64], qp[PATH_MAX + 8], want[64];
	char *cargv[] = { (char *)"curl", (char *)"-sS", (char *)"-m", (char *)"5", (char *)"http://10.9.0.1/", NULL };
	long syn_frame = 0, inbound = 0;
	time_t t0, t1;
	int rc;

	if (!live_possible())
		return;
	env_make(&e, "annotate");
	env_file(&e, "live.pcapng", pcapng, sizeof(pcapng));
	fmt(args, sizeof(args), "--app http --quiet --annotate %s", q(pcapng, qp, sizeof(qp)));
	t0 = time(NULL);
	live_start(&live, &e, args);
	rc = env_run(&e, 20, cargv, &out);
	ck_assert_msg(rc == 0 && strstr(out, "tcpdemux: connection 10.9.0.2:"), "curl (%d):\n%s", rc, out);
	free(out);
	trace = live_stop(&live, &e, "tcpdemux0");
	free(trace);
	t1 = time(NULL);
	{
		char *targv[] = { (char *)"tshark", (char *)"-r", pcapng, (char *)"-T", (char *)"fields", (char *)"-E",
				  (char *)"separator=|", (char *)"-e", (char *)"frame.number", (char *)"-e",
				  (char *)"frame.time_epoch", (char *)"-e", (char *)"tcp.flags.str", (char *)"-e",
				  (char *)"frame.comment", NULL };

		rc = prog_runv(targv, &out, NULL);
	}
	ck_assert_msg(rc == 0, "tshark could not read the --annotate file (%d):\n%s", rc, out);
	ck_assert_msg(strstr(out, "demux: ehash[") && strstr(out, "-> listener 10.9.0.1:80 (exact) -> request #2"),
		      "no lookup of the SYN in the comments:\n%s", out);
	ck_assert_msg(strstr(out, "handshake complete, accept queue 1/"), "no completed handshake:\n%s", out);
	ck_assert_msg(strstr(out, "len 146 by the application"), "the application's answer is not named:\n%s", out);
	{
		char *copy = strdup(out);

		ck_assert_msg(copy != NULL, "out of memory");
		for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			long n = strtol(line, NULL, 10);
			char *f2 = strchr(line, '|'), *f3 = f2 ? strchr(f2 + 1, '|') : NULL;
			double ts = f2 ? strtod(f2 + 1, NULL) : 0;
			const char *comment = f3 ? strchr(f3 + 1, '|') : NULL;

			if (line[0] < '0' || line[0] > '9')
				continue; /* tshark's own notes (running as root) */
			ck_assert_msg(comment != NULL, "a line without four fields: %s", line);
			comment++;
			/* The packets as they crossed the device: at the wall clock's time, not from 0. */
			ck_assert_msg(ts >= (double)t0 - 1 && ts <= (double)t1 + 1,
				      "frame %ld at %.6f, outside the run (%lld to %lld)", n, ts, (long long)t0,
				      (long long)t1);
			if (strncmp(comment, "demux: ", 7) == 0) {
				inbound++;
				if (!syn_frame && f3 && strstr(f3, "|··········S·|"))
					syn_frame = n;
			}
		}
		free(copy);
	}
	ck_assert_msg(syn_frame > 0 && inbound >= 5, "the SYN's frame %ld, %ld frames the stack received (want 5 or more):\n%s",
		      syn_frame, inbound, out);
	fmt(want, sizeof(want), "tcpdemux: SYN-ACK answering #%ld", syn_frame);
	ck_assert_msg(strstr(out, want) != NULL, "no SYN-ACK naming the SYN's frame %ld:\n%s", syn_frame, out);
	free(out);
	live_cleanup(e.ns);
}
END_TEST

/*
 * --max-sockets applies live: the listener and the first connection (in
 * TIME_WAIT once the http application has closed it) are two sockets, so
 * with --max-sockets 2 the next SYN is dropped at the limit and curl times out.
 */
START_TEST(live_max_sockets)
{
	struct live_env e;
	struct bg live;
	char *out, *trace;
	char *cargv[] = { (char *)"curl", (char *)"-sS", (char *)"-m", (char *)"1", (char *)"http://10.9.0.1/", NULL };
	int rc;

	if (!live_possible())
		return;
	env_make(&e, "limit");
	live_start(&live, &e, "--app http --max-sockets 2");
	rc = env_run(&e, 20, cargv, &out);
	ck_assert_msg(rc == 0 && strstr(out, "tcpdemux: connection 10.9.0.2:"), "the first curl (%d):\n%s", rc, out);
	free(out);
	rc = env_run(&e, 20, cargv, &out);
	ck_assert_msg(rc == 28, "the second curl was not left waiting at the socket limit (exit %d):\n%s", rc, out);
	free(out);
	trace = live_stop(&live, &e, "tcpdemux0");
	ck_assert_msg(strstr(trace, "\"reason\":\"SocketLimit\"") && !strstr(trace, "\"SocketLimit\":0}"),
		      "no SYN dropped at the socket limit: %s", strrchr(trace, '{'));
	free(trace);
	live_cleanup(e.ns);
}
END_TEST

/*
 * --connect: the stack's own active open to a server of the kernel's (Python's
 * http.server on the kernel's address): the handshake from the client side,
 * the request sent, the answer read, both sides closed.
 */
START_TEST(live_connect_to_the_kernel)
{
	struct live_env e;
	struct bg live, srv;
	struct jlines l;
	char *trace;
	char py[] = "/usr/bin/python3";
	int i, established = 0;
	const struct jobj *summary = NULL;

	if (!live_possible())
		return;
	env_make(&e, "connect");
	{
		/* On the wildcard address: the kernel's 10.9.0.2 exists only once the device does. */
		char *sargv[] = { py, (char *)"-u", (char *)"-m", (char *)"http.server", (char *)"8080", (char *)"--bind",
				  (char *)"0.0.0.0", (char *)"--directory", tmpdir, NULL };

		bg_start(&srv, &e, "server", sargv);
		ck_assert_msg(bg_wait_text(&srv, srv.out, "Serving HTTP", 10), "http.server did not start: %s",
			      prog_read_file(srv.err, NULL));
	}
	live_start(&live, &e, "--connect 10.9.0.2:8080");
	usleep(1500000);
	trace = live_stop(&live, &e, "tcpdemux0");
	bg_stop(&srv, SIGTERM, 5);
	jl_split(&l, trace, 1, "live --connect");
	for (i = 0; i < l.n; i++) {
		if (j_is(&l.obj[i], "type", "summary"))
			summary = &l.obj[i];
		if (j_is(&l.obj[i], "type", "segment") && j_is(&l.obj[i], "action", "established"))
			established++;
	}
	ck_assert_msg(established == 1, "%d active opens completed, not 1:\n%s", established, trace);
	ck_assert_msg(summary != NULL, "no summary");
	ck_assert_msg(jnum_in(summary, "counters", "ActiveOpens", "summary") == 1, "ActiveOpens is not 1");
	ck_assert_msg(jnum_in(summary, "counters", "OutRsts", "summary") == 0, "the stack sent a RST");
	ck_assert_msg(jnum_in(summary, "live", "bytes_in", "summary") > 100, "no answer was read");
	ck_assert_msg(jnum_in(summary, "live", "closed", "summary") == 1 &&
			      jnum_in(summary, "live", "app_errors", "summary") == 0,
		      "the connection did not close cleanly");
	jl_free(&l);
	free(trace);
	live_cleanup(e.ns);
}
END_TEST

/*
 * The stack's own timers on the real clock. Two --connect to a kernel
 * server that listens with backlog 0 and never accepts: the kernel answers
 * both SYNs, queues the first connection and drops the second's final ACK
 * (its accept queue is full), so the stack's request on the second is never
 * acknowledged and its retransmission timer fires: 200 ms (the minimum RTO)
 * after the first transmission, then doubling. Each must fire on time.
 */
START_TEST(live_timers_fire_on_time)
{
	struct live_env e;
	struct bg live, srv;
	struct jlines l;
	char *trace, prog[] = "import socket, time\n"
			     "s = socket.socket()\n"
			     "s.bind(('0.0.0.0', 8081))\n"
			     "s.listen(0)\n"
			     "print('listening', flush=True)\n"
			     "time.sleep(20)\n";
	char py[] = "/usr/bin/python3", c[] = "-c";
	double last_sent = -1, gap_want = 0.2, sent[16], caught[16];
	int i, fired = 0, nsent = 0, ncaught = 0;
	double sport = -1;
	char cap[PATH_MAX];
	struct bg td;
	struct pkts *pk;

	if (!live_possible())
		return;
	env_make(&e, "timers");
	{
		char *sargv[] = { py, c, prog, NULL };

		bg_start(&srv, &e, "server", sargv);
		ck_assert_msg(bg_wait_text(&srv, srv.out, "listening", 10), "the server did not start: %s",
			      prog_read_file(srv.err, NULL));
	}
	live_start(&live, &e, "--connect 10.9.0.2:8081 --connect 10.9.0.2:8081");
	/* The device's own view of when each segment left: the trace gives the timers' deadlines. */
	env_file(&e, "tun.pcap", cap, sizeof(cap));
	{
		char *targv[] = { (char *)"tcpdump", (char *)"-i", (char *)"tcpdemux0", (char *)"-n", (char *)"-U",
				  (char *)"--immediate-mode", (char *)"-w", cap, (char *)"tcp", NULL };

		bg_start(&td, &e, "tcpdump", targv);
		ck_assert_msg(bg_wait_text(&td, td.err, "listening on", 10), "tcpdump did not start: %s",
			      prog_read_file(td.err, NULL));
	}
	usleep(3300000);
	ck_assert_msg(bg_stop(&td, SIGINT, 10) == 0, "tcpdump did not stop cleanly");
	trace = live_stop(&live, &e, "tcpdemux0");
	bg_stop(&srv, SIGKILL, 5);
	jl_split(&l, trace, 1, "live --connect, backlog 0");
	/* The request of the second connection (sport of the SYN sent second): its transmissions and timers. */
	{
		int syns = 0;

		for (i = 0; i < l.n && sport < 0; i++)
			if (j_is(&l.obj[i], "type", "segment") && j_is(&l.obj[i], "dir", "out") &&
			    j_is(&l.obj[i], "flags", "S") && ++syns == 2)
				sport = jnum(&l.obj[i], "sport", l.line[i]);
		ck_assert_msg(sport >= 0, "no second SYN:\n%s", trace);
		for (i = 0; i < l.n; i++) {
			const struct jobj *o = &l.obj[i];
			double t;

			if (!j_is(o, "type", "segment") || !j_is(o, "dir", "out") || jnum(o, "sport", l.line[i]) != sport ||
			    !j_is(o, "flags", "PA"))
				continue;
			t = jnum(o, "t", l.line[i]);
			if (last_sent >= 0) {
				/* The timer line comes just before the segment it sent. */
				ck_assert_msg(i > 0 && j_is(&l.obj[i - 1], "type", "timer") &&
						      j_is(&l.obj[i - 1], "action", "retransmit"),
					      "a retransmission without its timer: %s", l.line[i]);
				ck_assert_msg(t - last_sent > gap_want - 0.005 && t - last_sent < gap_want + 0.030,
					      "retransmission %d came %.4f s after the last, not %.3f s: %s", fired + 1,
					      t - last_sent, gap_want, l.line[i]);
				gap_want *= 2;
				fired++;
			}
			last_sent = t;
			if (nsent < 16)
				sent[nsent++] = t;
		}
	}
	/* 0.2, 0.6, 1.4 and 3.0 s after the first transmission. */
	ck_assert_msg(fired == 4, "%d retransmissions within 3.3 s, not 4:\n%s", fired, trace);
	/*
	 * On the real clock: the capture's gaps between the same transmissions
	 * (the last ones: tcpdump starts after the first) are the trace's, to
	 * within 10 ms. A loop that woke late would show here, not in the trace.
	 */
	pk = pkts_read(cap);
	for (i = 0; i < pk->n && ncaught < 16; i++) {
		struct segment seg;

		if (seg_parse_ip(pk->p[i].data, pk->p[i].caplen, &seg, 0) == 0 && seg.sport == (uint16_t)sport &&
		    seg.len == 39 && (seg.flags & TH_PSH))
			caught[ncaught++] = (double)pk->p[i].sec + (double)pk->p[i].usec / 1e6;
	}
	ck_assert_msg(ncaught >= 3 && ncaught <= nsent, "%d of the %d transmissions in the capture", ncaught, nsent);
	for (i = 1; i < ncaught; i++) {
		double real = caught[i] - caught[i - 1], want = sent[nsent - ncaught + i] - sent[nsent - ncaught + i - 1];

		ck_assert_msg(real > want - 0.010 && real < want + 0.010,
			      "on the wire the retransmissions were %.4f s apart, in the trace %.4f s", real, want);
	}
	pkts_free(pk);
	jl_free(&l);
	free(trace);
	live_cleanup(e.ns);
}
END_TEST

/* tools/live-demo.sh, as a lecturer runs it: real clients answered, the summary, nothing left behind. */
START_TEST(live_demo_script)
{
	char script[512], *out, cmd[600], ns[64];
	char t[] = "timeout", secs[] = "60", c1[] = "--clients", c2[] = "2", g1[] = "--gap", g2[] = "0.1", dd[] = "--",
	     nc[] = "--no-color";
	int rc;

	if (!live_possible())
		return;
	fmt(script, sizeof(script), "%s/live-demo.sh", prog_env("TOOLS", "tools"));
	{
		char *argv[] = { t, secs, script, c1, c2, g1, g2, dd, nc, NULL };

		setenv("TCPDEMUX", prog_tcpdemux(), 1); /* the binary under test, not one on the PATH */
		rc = prog_runv(argv, &out, NULL);
	}
	ck_assert_msg(rc == 0, "live-demo.sh exited %d:\n%s", rc, out);
	ck_assert_msg(strstr(out, "== client 1: curl http://10.9.0.1/") && strstr(out, "== client 2: Python http.client"),
		      "the clients did not run:\n%s", out);
	ck_assert_msg(strstr(out, "200 OK: tcpdemux: connection 10.9.0.2:"), "Python's client got no answer:\n%s", out);
	ck_assert_msg(strstr(out, "-> new request") && strstr(out, "handshake complete") && strstr(out, "accept on 10.9.0.1:80"),
		      "the trace does not show the handshakes and accepts:\n%s", out);
	ck_assert_msg(strstr(out, "application http: 2 accepted, 2 closed") && strstr(out, "counters: PassiveOpens=2"),
		      "the summary:\n%s", out);
	/* Its own namespace, by name: other runs of the script may have theirs at the same time. */
	ck_assert_msg(sscanf(strstr(out, "== network namespace ") ? strstr(out, "== network namespace ") : "",
			     "== network namespace %63[a-z0-9-]", ns) == 1,
		      "live-demo.sh did not name its namespace:\n%s", out);
	free(out);
	fmt(cmd, sizeof(cmd), "ip netns list | grep -qw %s", ns);
	ck_assert_msg(sh_quiet(cmd) != 0, "live-demo.sh left its namespace %s behind", ns);
}
END_TEST

/* Runs tcpdemux live ARGS in e's namespace (as user, if not NULL); exit 2, one line naming want, nothing left. */
static void refused(const struct live_env *e, const char *as_user, const char *args, const char *want)
{
	char cmd[1024], *out, *err;
	char sh[] = "/bin/sh", c[] = "-c";
	char *argv[] = { sh, c, cmd, NULL };
	int rc;

	snprintf(cmd, sizeof(cmd), "exec timeout 20 ip netns exec %s %s %s live --duration 5 %s", e->ns,
		 as_user ? as_user : "", prog_tcpdemux(), args);
	rc = prog_runv(argv, &out, &err);
	ck_assert_msg(rc == 2, "live %s: exit %d, not 2; stderr: %s", args, rc, err);
	ck_assert_msg(strstr(err, want) && strchr(err, '\n') == err + strlen(err) - 1,
		      "live %s: not one line naming '%s': %s", args, want, err);
	free(out);
	free(err);
	snprintf(cmd, sizeof(cmd), "ip -n %s link show tcpdemux0", e->ns);
	ck_assert_msg(sh_quiet(cmd) != 0, "live %s left the device behind", args);
}

/* A bad environment: one line, exit 2, nothing left configured. */
START_TEST(live_bad_environment)
{
	struct live_env e;
	char cmd[256];

	if (!live_possible())
		return;
	env_make(&e, "env");
	refused(&e, NULL, "--tun lo", "lo: a device of that name exists already");
	/* A subnet the kernel routes elsewhere already. */
	snprintf(cmd, sizeof(cmd), "ip -n %s route add 10.9.0.0/16 dev lo", e.ns);
	ck_assert_msg(sh_quiet(cmd) == 0, "cannot add the route in the way");
	refused(&e, NULL, "--addr 10.9.0.1/24", "already routed (route 10.9.0.0/16 via lo)");
	refused(&e, NULL, "--addr 10.9.5.1/24", "already routed");
	refused(&e, NULL, "--addr 127.0.0.9/24", "already routed (local address 127.0.0.0/8 via lo)");
	/* No permission: an ordinary user may open /dev/net/tun but not create a device. */
	refused(&e, "setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all", "--addr 10.8.0.1/24",
		"CAP_NET_ADMIN");
	snprintf(cmd, sizeof(cmd), "test \"$(ip -n %s -o link | wc -l)\" = 1", e.ns);
	ck_assert_msg(sh_quiet(cmd) == 0, "a device was left behind in %s", e.ns);
	live_cleanup(e.ns);
}
END_TEST

Suite *live_suite(void)
{
	Suite *s = suite_create("live");
	TCase *tc = tcase_create("live");

	tcase_add_unchecked_fixture(tc, live_setup, live_teardown);
	tcase_set_timeout(tc, LIVE_TIMEOUT);
	tcase_add_test(tc, live_echo_50_clients);
	tcase_add_test(tc, live_never_fills_the_queue);
	tcase_add_test(tc, live_http_curl);
	tcase_add_test(tc, live_annotate);
	tcase_add_test(tc, live_max_sockets);
	tcase_add_test(tc, live_connect_to_the_kernel);
	tcase_add_test(tc, live_timers_fire_on_time);
	tcase_add_test(tc, live_demo_script);
	tcase_add_test(tc, live_bad_environment);
	suite_add_tcase(s, tc);
	return s;
}
