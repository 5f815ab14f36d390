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

#include "progrun.h"
#include "suites.h"

#define LIVE_TIMEOUT 90 /* seconds per test case */

/* The names of every test's namespace and scratch folder, known to the parent's teardown. */
static const char *const live_tests[] = { "echo", "never", "http", "env" };
static pid_t live_parent;

static void live_names(const char *test, char *ns, size_t nslen, char *dir, size_t dirlen)
{
	snprintf(ns, nslen, "tcpdemux-check-%ld-%s", (long)live_parent, test);
	snprintf(dir, dirlen, "/tmp/%s", ns);
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

/* Kills whatever still runs in namespace ns, removes it and the scratch folder dir. */
static void live_cleanup(const char *ns, const char *dir)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd),
		 "for p in $(ip netns pids %s 2>/dev/null); do kill -9 $p; done; ip netns del %s 2>/dev/null; rm -rf %s",
		 ns, ns, dir);
	sh_quiet(cmd);
}

static void live_setup(void)
{
	live_parent = getpid();
}

static void live_teardown(void)
{
	char ns[128], dir[160];
	size_t i;

	for (i = 0; i < sizeof(live_tests) / sizeof(live_tests[0]); i++) {
		live_names(live_tests[i], ns, sizeof(ns), dir, sizeof(dir));
		live_cleanup(ns, dir);
	}
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
	else if (sh_quiet("command -v ip && command -v curl && command -v tcpdump && command -v timeout") != 0)
		why = "ip, curl, tcpdump or timeout missing (tools/ensure-deps.sh --live installs them)";
	else if (access("/usr/bin/python3", X_OK) != 0)
		why = "no /usr/bin/python3";
	if (!why)
		return 1;
	ck_assert_msg(getenv("CI") == NULL || !*getenv("CI"), "live tests cannot run under CI: %s", why);
	fprintf(stderr, "live: not run here: %s\n", why);
	return 0;
}

/* A scratch namespace with lo up, and its folder. */
struct live_env {
	char ns[128];
	char dir[160];
};

static void env_make(struct live_env *e, const char *test)
{
	char cmd[512];

	live_names(test, e->ns, sizeof(e->ns), e->dir, sizeof(e->dir));
	live_cleanup(e->ns, e->dir); /* a run interrupted before */
	ck_assert_msg(mkdir(e->dir, 0700) == 0, "mkdir %s: %s", e->dir, strerror(errno));
	snprintf(cmd, sizeof(cmd), "ip netns add %s && ip -n %s link set lo up", e->ns, e->ns);
	ck_assert_msg(sh_quiet(cmd) == 0, "cannot make the network namespace %s", e->ns);
}

/* A process started in the background inside the namespace. */
struct bg {
	pid_t pid;
	char out[256], err[256];
};

/* Starts "ip netns exec NS argv..." with stdout and stderr to files in the env's folder. */
static void bg_start(struct bg *b, const struct live_env *e, const char *name, char *const argv[])
{
	char *full[64];
	int i, n = 0;

	snprintf(b->out, sizeof(b->out), "%s/%s.out", e->dir, name);
	snprintf(b->err, sizeof(b->err), "%s/%s.err", e->dir, name);
	full[n++] = (char *)"ip";
	full[n++] = (char *)"netns";
	full[n++] = (char *)"exec";
	full[n++] = (char *)e->ns;
	for (i = 0; argv[i] && n < 63; i++)
		full[n++] = argv[i];
	full[n] = NULL;
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
	int i, n = 0;

	snprintf(t, sizeof(t), "%d", secs);
	full[n++] = (char *)"timeout";
	full[n++] = t;
	full[n++] = (char *)"ip";
	full[n++] = (char *)"netns";
	full[n++] = (char *)"exec";
	full[n++] = (char *)e->ns;
	for (i = 0; argv[i] && n < 63; i++)
		full[n++] = argv[i];
	full[n] = NULL;
	return prog_runv(full, out, NULL);
}

/* ---- reading the JSON Lines ---------------------------------------------------------- */

/* The value after "key": in line (from: after the first "within":{ when within is given), as a number. */
static int jnum(const char *line, const char *within, const char *key, double *v)
{
	char pat[64];
	const char *p = line;

	if (within) {
		snprintf(pat, sizeof(pat), "\"%s\":{", within);
		p = strstr(p, pat);
		if (!p)
			return 0;
	}
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(p, pat);
	if (!p)
		return 0;
	*v = strtod(p + strlen(pat), NULL);
	return 1;
}

static double jnum_must(const char *line, const char *within, const char *key)
{
	double v = 0;

	ck_assert_msg(jnum(line, within, key, &v), "no %s%s\"%s\" in %s", within ? within : "",
		      within ? "." : "", key, line);
	return v;
}

/* Does line have "key":"value"? */
static int jis(const char *line, const char *key, const char *value)
{
	char pat[128];

	snprintf(pat, sizeof(pat), "\"%s\":\"%s\"", key, value);
	return strstr(line, pat) != NULL;
}

/* The lines of text (modified in place), at most max; returns the count. */
static int split_lines(char *text, char **lines, int max)
{
	int n = 0;
	char *p = text, *nl;

	while (*p && n < max) {
		lines[n++] = p;
		nl = strchr(p, '\n');
		if (!nl)
			break;
		*nl = '\0';
		p = nl + 1;
	}
	return n;
}

#define MAX_LINES 20000

/* Starts `tcpdemux live ARGS --format json` in e's namespace and waits for it to be ready. */
static void live_start(struct bg *b, const struct live_env *e, const char *args)
{
	char cmd[1024];
	char sh[] = "/bin/sh", c[] = "-c";
	char *argv[] = { sh, c, cmd, NULL };

	/* exec: the shell becomes tcpdemux, so the signal reaches it. */
	snprintf(cmd, sizeof(cmd), "exec %s live --format json --duration 60 %s", prog_tcpdemux(), args);
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
	char *out, *trace, *lines_buf, **lines, cap[256], clients[512], args[1024], qcap[300];
	char py[] = "/usr/bin/python3";
	int n, i, accepts = 0, in = 0, out_segs = 0, rsts = 0, queued = 0, rc;
	const char *summary = NULL;

	if (!live_possible())
		return;
	env_make(&e, "echo");
	live_start(&live, &e, "--app echo --listen 10.9.0.1:80,backlog=128 --hash-seed 1");
	snprintf(cap, sizeof(cap), "%s/tun.pcap", e.dir);
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
	snprintf(clients, sizeof(clients), "%s/live-clients.py", prog_env("TOOLS", "tools"));
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

	lines = malloc(MAX_LINES * sizeof(*lines));
	ck_assert_msg(lines != NULL, "out of memory");
	lines_buf = trace;
	n = split_lines(lines_buf, lines, MAX_LINES);
	for (i = 0; i < n; i++) {
		const char *l = lines[i];
		char flags[16] = "";
		const char *f = strstr(l, "\"flags\":\"");

		if (jis(l, "type", "accept"))
			accepts++;
		if (jis(l, "type", "summary"))
			summary = l;
		if (!jis(l, "type", "segment"))
			continue;
		if (f)
			sscanf(f + 9, "%15[A-Z]", flags);
		if (strchr(flags, 'R'))
			rsts++;
		if (jis(l, "dir", "in"))
			in++;
		else
			out_segs++;
		if (jis(l, "action", "queued"))
			queued++;
	}
	ck_assert_msg(accepts == 50, "%d accept lines, not 50", accepts);
	ck_assert_msg(queued == 50, "%d handshakes completed, not 50", queued);
	ck_assert_msg(rsts == 0, "%d segments with RST", rsts);
	ck_assert_msg(summary != NULL, "no summary line (the last lines: %s)", n ? lines[n - 1] : "");
	ck_assert_msg(jnum_must(summary, "counters", "PassiveOpens") == 50, "PassiveOpens: %s", summary);
	ck_assert_msg(jnum_must(summary, "counters", "OutRsts") == 0, "OutRsts: %s", summary);
	ck_assert_msg(jnum_must(summary, "counters", "ListenOverflows") == 0, "ListenOverflows: %s", summary);
	ck_assert_msg(jnum_must(summary, "counters", "InSegs") == in, "InSegs is not the %d segments in: %s", in,
		      summary);
	ck_assert_msg(jnum_must(summary, "counters", "OutSegs") == out_segs,
		      "OutSegs is not the %d segments out: %s", out_segs, summary);
	ck_assert_msg(jnum_must(summary, NULL, "segments_in") == in, "segments_in: %s", summary);
	/* Every connection was closed by both sides: no socket but the listener is left. */
	ck_assert_msg(jnum_must(summary, "sockets", "established") == 0 && jnum_must(summary, "sockets", "request") == 0,
		      "connections left over: %s", summary);
	free(lines);
	free(trace);

	/* The capture of the device, replayed: the stack's answers agree with what it sent live. */
	snprintf(args, sizeof(args), "replay %s --listen 10.9.0.1:80,backlog=128 --verify --quiet",
		 prog_quote(cap, qcap, sizeof(qcap)));
	rc = prog_run(args, &out);
	ck_assert_msg(rc == 0 && strstr(out, "verify: control agreement 1.000"),
		      "replay --verify of the capture (%d):\n%s", rc, out);
	/* 50 SYN-ACKs and 50 FINs: the capture held every connection whole. */
	ck_assert_msg(strstr(out, "control  100 sent by the kernel: 100 matched, 0 missing, 0 differ; 0 extra"),
		      "the capture's control segments:\n%s", out);
	free(out);
	live_cleanup(e.ns, e.dir);
}
END_TEST

/*
 * --app never, backlog 2, six kernel clients 0.1 s apart: backlog+1 = 3
 * connections queue, the other three SYNs meet a full accept queue and are
 * dropped; the kernel clients retransmit them about 1 s later
 * (docs/linux-fidelity.md, behaviours 5 and 13), into the same full queue.
 */
START_TEST(live_never_fills_the_queue)
{
	struct live_env e;
	struct bg live;
	char *out, *trace, **lines, clients[512];
	char py[] = "/usr/bin/python3";
	int n, i, j, queued = 0, max_accept = 0, dropped_first = 0, retrans = 0, rc;

	if (!live_possible())
		return;
	env_make(&e, "never");
	live_start(&live, &e, "--app never --listen 10.9.0.1:80,backlog=2");
	snprintf(clients, sizeof(clients), "%s/live-clients.py", prog_env("TOOLS", "tools"));
	{
		char *cargv[] = { py, clients, (char *)"hold", (char *)"6", (char *)"--gap", (char *)"0.1",
				  (char *)"--hold", (char *)"2.5", NULL };

		rc = env_run(&e, 30, cargv, &out);
	}
	ck_assert_msg(rc == 0 && strstr(out, "summary: 3 of 6 connected"), "the clients (%d):\n%s", rc, out);
	free(out);
	trace = live_stop(&live, &e, "tcpdemux0");
	lines = malloc(MAX_LINES * sizeof(*lines));
	ck_assert_msg(lines != NULL, "out of memory");
	n = split_lines(trace, lines, MAX_LINES);
	for (i = 0; i < n; i++) {
		const char *l = lines[i];
		double acc;

		ck_assert_msg(!jis(l, "type", "accept"), "--app never accepted: %s", l);
		if (!jis(l, "type", "segment") || !jis(l, "dir", "in"))
			continue;
		if (jnum(l, "queues", "accept", &acc) && acc > max_accept)
			max_accept = (int)acc;
		if (jis(l, "action", "queued"))
			queued++;
		/* A client's first SYN dropped at the full queue: find its retransmission. */
		if (jis(l, "flags", "S") && jis(l, "reason", "ListenOverflows")) {
			double sport = jnum_must(l, NULL, "sport"), seq = jnum_must(l, NULL, "seq");
			double t = jnum_must(l, NULL, "t"), t2;
			int first = 1;

			ck_assert_msg(jnum_must(l, "queues", "accept") == 3, "SYN dropped with the queue not full: %s", l);
			for (j = 0; j < i && first; j++)
				if (jis(lines[j], "flags", "S") && jis(lines[j], "dir", "in") &&
				    jnum_must(lines[j], NULL, "sport") == sport)
					first = 0;
			if (!first)
				continue;
			dropped_first++;
			for (j = i + 1; j < n; j++) {
				if (!jis(lines[j], "flags", "S") || !jis(lines[j], "dir", "in") ||
				    jnum_must(lines[j], NULL, "sport") != sport)
					continue;
				t2 = jnum_must(lines[j], NULL, "t");
				ck_assert_msg(jnum_must(lines[j], NULL, "seq") == seq, "not a retransmission: %s", lines[j]);
				ck_assert_msg(t2 - t > 0.8 && t2 - t < 1.6,
					      "the kernel retransmitted the SYN %.3f s after the first, not about 1 s: %s", t2 - t,
					      lines[j]);
				ck_assert_msg(jis(lines[j], "reason", "ListenOverflows") &&
						      jnum_must(lines[j], "queues", "accept") == 3,
					      "the retransmitted SYN did not meet the full queue: %s", lines[j]);
				retrans++;
				break;
			}
		}
	}
	ck_assert_msg(queued == 3, "%d connections queued, not backlog+1 = 3", queued);
	ck_assert_msg(max_accept == 3, "the accept queue peaked at %d, not 3", max_accept);
	ck_assert_msg(dropped_first == 3, "%d clients' SYNs met the full queue, not 3", dropped_first);
	ck_assert_msg(retrans == 3, "%d of the 3 dropped SYNs were seen retransmitted", retrans);
	free(lines);
	free(trace);
	live_cleanup(e.ns, e.dir);
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
	live_cleanup(e.ns, e.dir);
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
	live_cleanup(e.ns, e.dir);
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
	tcase_add_test(tc, live_bad_environment);
	suite_add_tcase(s, tc);
	return s;
}
