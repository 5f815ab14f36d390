/*
 * main.c - the tcpdemux command line: its commands, and main() choosing one.
 *
 * Path: argv -> a command (demo, ...) -> its driver -> the stack ->
 *       events -> a renderer (text or JSON Lines) on stdout.
 *
 * What the commands share is in cli/: the help texts (help.c), the common
 * options and the renderers (options.c), the replay family's options
 * (replay_cli.c).
 *
 * Exit status: 0 success, 1 a check failed, 2 bad input or usage.
 * Errors are one line on stderr naming what was wrong.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_app.h"
#include "demo.h"
#include "emit.h"
#include "help.h"
#include "live.h"
#include "options.h"
#include "replay.h"
#include "replay_cli.h"
#include "script.h"
#include "synth.h"
#include "sysctl.h"
#include "render.h"
#include "stack.h"

#define TCPDEMUX_VERSION "0.1.0"

static const struct option demo_longopts[] = {
	{ NULL, 0, NULL, 0 },
};

static const struct option replay_longopts[] = {
	{ "local", required_argument, NULL, OPT_LOCAL },
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "verify-checksums", no_argument, NULL, OPT_VERIFY_CSUM },
	{ "tables", optional_argument, NULL, OPT_TABLES },
	{ "quiet", no_argument, NULL, OPT_QUIET },
	{ "write", required_argument, NULL, OPT_WRITE },
	{ "sysctl", required_argument, NULL, OPT_SYSCTL },
	{ "accept", required_argument, NULL, OPT_ACCEPT },
	{ "verify", no_argument, NULL, OPT_VERIFY },
	{ "capture-point", required_argument, NULL, OPT_CAPTURE_POINT },
	{ "threads", required_argument, NULL, OPT_THREADS },
	{ NULL, 0, NULL, 0 },
};

/* script's own options, then packetdrill's in both spellings (script_longopts_init()). */
static struct option script_longopts[48] = {
	{ "sysctl", required_argument, NULL, OPT_SYSCTL },
	{ "quiet", no_argument, NULL, OPT_QUIET },
};

static const struct option synth_longopts[] = {
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "sysctl", required_argument, NULL, OPT_SYSCTL },
	{ "accept", required_argument, NULL, OPT_ACCEPT },
	{ "tables", optional_argument, NULL, OPT_TABLES },
	{ "quiet", no_argument, NULL, OPT_QUIET },
	{ "write", required_argument, NULL, OPT_WRITE },
	{ "clients", required_argument, NULL, OPT_CLIENTS },
	{ "syn-flood", required_argument, NULL, OPT_SYN_FLOOD },
	{ "hash-flood", required_argument, NULL, OPT_HASH_FLOOD },
	{ "rate", required_argument, NULL, OPT_RATE },
	{ "data", required_argument, NULL, OPT_DATA },
	{ "concurrent", required_argument, NULL, OPT_CONCURRENT },
	{ "seed", required_argument, NULL, OPT_GEN_SEED },
	{ NULL, 0, NULL, 0 },
};

static const struct option live_longopts[] = {
	{ "tun", required_argument, NULL, OPT_TUN },
	{ "addr", required_argument, NULL, OPT_ADDR },
	{ "peer", required_argument, NULL, OPT_PEER },
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "app", required_argument, NULL, OPT_APP },
	{ "accept", required_argument, NULL, OPT_ACCEPT },
	{ "connect", required_argument, NULL, OPT_CONNECT },
	{ "duration", required_argument, NULL, OPT_DURATION },
	{ "write", required_argument, NULL, OPT_WRITE },
	{ "sysctl", required_argument, NULL, OPT_SYSCTL },
	{ "tables", optional_argument, NULL, OPT_TABLES },
	{ "quiet", no_argument, NULL, OPT_QUIET },
	{ NULL, 0, NULL, 0 },
};

static int cmd_demo(int argc, char **argv)
{
	struct run_opts ro;
	struct demo_opts d;
	const struct demo *demo;
	const char *name = NULL;
	char err[256];
	int r, i;

	/* The demo name may come before or after the options. */
	if (argc > 1 && argv[1][0] != '-') {
		name = argv[1];
		argv[1] = argv[0];
		argc--;
		argv++;
	}
	r = cli_parse_run_opts(argc, argv, &ro, help_usage_demo, NULL, demo_longopts, NULL, NULL);
	if (r)
		return r > 0 ? 0 : EXIT_USAGE;
	if (!name && optind < argc)
		name = argv[optind++];
	if (optind < argc) {
		fprintf(stderr, "tcpdemux: demo: unexpected argument '%s'\n", argv[optind]);
		return EXIT_USAGE;
	}
	if (!name) {
		puts("demos (run one with: tcpdemux demo NAME):");
		for (i = 0; demo_catalogue[i]; i++)
			printf("  %-12s %s\n", demo_catalogue[i]->name, demo_catalogue[i]->summary);
		return 0;
	}
	demo = demo_find(name);
	if (!demo) {
		fprintf(stderr, "tcpdemux: no demo called '%s' (run 'tcpdemux demo' for the list)\n", name);
		return EXIT_USAGE;
	}
	memset(&d, 0, sizeof(d));
	stack_config_init(&d.cfg);
	cli_run_opts_config(&ro, &d.cfg);
	if (demo_check(demo, &d, err, sizeof(err)) < 0) {
		fprintf(stderr, "tcpdemux: %s\n", err);
		return EXIT_USAGE;
	}
	d.r = cli_make_renderer(&ro);
	if (d.r)
		d.r = cli_with_views(&ro, d.r, 0, 0);
	if (!d.r)
		return EXIT_USAGE;
	emit_begin(d.r, RUN_DEMO, demo->name, demo->summary, demo->watch, ro.seed);
	r = demo_run(demo, &d);
	fflush(stdout);
	d.r->ops->destroy(d.r);
	if (ro.views.failed)
		return EXIT_USAGE;
	if (r < 0) {
		fprintf(stderr, "tcpdemux: demo %s failed: %s\n", demo->name, strerror(-r));
		return EXIT_USAGE;
	}
	return 0;
}

static int cmd_replay(int argc, char **argv)
{
	struct run_opts ro;
	struct replay_cli cli;
	struct replay_opts *o = &cli.o;
	struct renderer *r;
	char *filter;
	int st, oom;

	memset(&cli, 0, sizeof(cli));
	stack_config_init(&o->cfg);
	st = cli_parse_run_opts(argc, argv, &ro, help_usage_replay, "r:", replay_longopts, replay_cli_opt, &cli);
	if (st)
		return st > 0 ? 0 : EXIT_USAGE;
	if (cli.read_file) {
		o->file = cli.read_file;
	} else if (optind < argc) {
		o->file = argv[optind++];
	} else {
		fprintf(stderr, "tcpdemux: replay needs a capture file (see tcpdemux replay --help)\n");
		return EXIT_USAGE;
	}
	filter = replay_cli_join_words(argv + optind, argc - optind, &oom);
	if (oom) {
		fprintf(stderr, "tcpdemux: out of memory\n");
		return EXIT_USAGE;
	}
	o->filter = filter;
	if (cli_step_and_quiet(&ro, cli.quiet)) {
		free(filter);
		return EXIT_USAGE;
	}
	replay_cli_warn_quiet_tables(&cli);
	if (cli.quiet)
		o->tables = 0;
	cli_run_opts_config(&ro, &o->cfg);
	/* A capture's size is unknown: the table grows unless --buckets fixes it. */
	o->cfg.ehash_grow = !ro.buckets_given;
	if (cli_quiet_renderers(&ro, cli.quiet, o->verify, &o->r, &o->summary_r) < 0) {
		free(filter);
		return EXIT_USAGE;
	}
	r = o->summary_r;
	emit_begin(r, RUN_REPLAY, o->file, NULL, NULL, ro.seed);
	st = replay_run(o);
	r->ops->destroy(r);
	free(filter);
	return ro.views.failed ? EXIT_USAGE : st;
}

struct script_cli {
	struct script_opts o;
	int quiet;
};

/* Fills script_longopts past its own entries with packetdrill's options, '_' and '-' spellings. */
static void script_longopts_init(void)
{
	static char dashed[24][32];
	size_t n = 0, i, j;

	while (script_longopts[n].name)
		n++;
	for (i = 0; script_optdefs[i].name && i < sizeof(dashed) / sizeof(dashed[0]) &&
		    n + 3 < sizeof(script_longopts) / sizeof(script_longopts[0]); i++) {
		int has = script_optdefs[i].has_value ? required_argument : no_argument;

		script_longopts[n++] = (struct option){ script_optdefs[i].name, has, NULL, OPT_PACKETDRILL + (int)i };
		snprintf(dashed[i], sizeof(dashed[i]), "%s", script_optdefs[i].name);
		for (j = 0; dashed[i][j]; j++)
			if (dashed[i][j] == '_')
				dashed[i][j] = '-';
		if (strcmp(dashed[i], script_optdefs[i].name) != 0)
			script_longopts[n++] = (struct option){ dashed[i], has, NULL, OPT_PACKETDRILL + (int)i };
	}
	memset(&script_longopts[n], 0, sizeof(script_longopts[n]));
}

static int script_opt(void *ctx, int opt, const char *arg)
{
	struct script_cli *cli = ctx;
	char err[256];

	switch (opt) {
	case OPT_SYSCTL:
		if (sysctl_apply(&cli->o.cfg, arg, err, sizeof(err)) < 0) {
			fprintf(stderr, "tcpdemux: %s\n", err);
			return -1;
		}
		return 0;
	case OPT_QUIET:
		cli->quiet = 1;
		return 0;
	case 'D':
		if (script_option(&cli->o, "define", arg, err, sizeof(err)) < 0) {
			fprintf(stderr, "tcpdemux: %s\n", err);
			return -1;
		}
		return 0;
	default:
		if (opt < OPT_PACKETDRILL)
			return -1;
		if (script_option(&cli->o, script_optdefs[opt - OPT_PACKETDRILL].name, arg, err, sizeof(err)) < 0) {
			fprintf(stderr, "tcpdemux: %s\n", err);
			return -1;
		}
		return 0;
	}
}

static int cmd_script(int argc, char **argv)
{
	struct run_opts ro;
	struct script_cli cli;
	struct renderer *r = NULL;
	int st;

	memset(&cli, 0, sizeof(cli));
	script_opts_init(&cli.o);
	script_longopts_init();
	/* -D NAME=VALUE: packetdrill's short spelling of --define */
	st = cli_parse_run_opts(argc, argv, &ro, help_usage_script, "D:", script_longopts, script_opt, &cli);
	if (st)
		return st > 0 ? 0 : EXIT_USAGE;
	if (optind + 1 != argc) {
		fprintf(stderr, "tcpdemux: script needs exactly one FILE.pkt (see tcpdemux script --help)\n");
		return EXIT_USAGE;
	}
	cli.o.file = argv[optind];
	if (cli_step_and_quiet(&ro, cli.quiet))
		return EXIT_USAGE;
	cli.o.verbose = ro.verbose;
	cli_run_opts_config(&ro, &cli.o.cfg);
	if (!cli.quiet) {
		r = cli_make_renderer(&ro);
		if (!r)
			return EXIT_USAGE;
	}
	if (render_views_wanted(&ro.views) && !(r = cli_with_views(&ro, r, cli.quiet, 0)))
		return EXIT_USAGE;
	cli.o.r = r;
	emit_begin(r, RUN_SCRIPT, cli.o.file, NULL, NULL, ro.seed);
	st = script_run(&cli.o);
	if (r)
		r->ops->destroy(r);
	return ro.views.failed ? EXIT_USAGE : st;
}

struct synth_cli {
	struct replay_cli rc; /* --listen, --sysctl, --accept, --tables, --write, --quiet */
	struct synth_opts o;
	int seed_set;
	int data_set;         /* --data was given (it means something only with --clients) */
};

static int synth_opt(void *ctx, int opt, const char *arg)
{
	struct synth_cli *cli = ctx;
	uint32_t v;

	switch (opt) {
	case OPT_CLIENTS:
	case OPT_SYN_FLOOD:
	case OPT_HASH_FLOOD:
		if (cli->o.mode) {
			fprintf(stderr, "tcpdemux: synth takes one of --clients, --syn-flood, --hash-flood\n");
			return -1;
		}
		if (cli_parse_u32(arg, &v) < 0 || v == 0 || (opt == OPT_HASH_FLOOD && v > 1000000)) {
			fprintf(stderr, "tcpdemux: --%s needs a count from 1 to %s, not '%s'\n",
				opt == OPT_CLIENTS ? "clients" : opt == OPT_SYN_FLOOD ? "syn-flood" : "hash-flood",
				opt == OPT_HASH_FLOOD ? "1000000" : "4294967295", arg);
			return -1;
		}
		cli->o.mode = opt == OPT_CLIENTS ? SYNTH_CLIENTS : opt == OPT_SYN_FLOOD ? SYNTH_SYN_FLOOD : SYNTH_HASH_FLOOD;
		cli->o.count = v;
		return 0;
	case OPT_RATE: {
		char *end;
		double r = strtod(arg, &end);

		if (end == arg || (*end && strcmp(end, "/s") != 0) || !(r > 0) || r > 1e9) {
			fprintf(stderr, "tcpdemux: --rate needs a positive number per second (e.g. 5000 or 5000/s), not '%s'\n",
				arg);
			return -1;
		}
		cli->o.rate = r;
		return 0;
	}
	case OPT_DATA:
		if (cli_parse_u32(arg, &v) < 0 || v > (1u << 20)) {
			fprintf(stderr, "tcpdemux: --data needs bytes from 0 to 1048576, not '%s'\n", arg);
			return -1;
		}
		cli->o.data = v;
		cli->data_set = 1;
		return 0;
	case OPT_CONCURRENT:
		if (cli_parse_u32(arg, &v) < 0 || v == 0) {
			fprintf(stderr, "tcpdemux: --concurrent needs a positive count, not '%s'\n", arg);
			return -1;
		}
		cli->o.concurrent = v;
		return 0;
	case OPT_GEN_SEED:
		if (cli_parse_u32(arg, &v) < 0) {
			fprintf(stderr, "tcpdemux: --seed needs a number from 0 to 4294967295, not '%s'\n", arg);
			return -1;
		}
		cli->o.seed = v;
		cli->seed_set = 1;
		return 0;
	default:
		return replay_cli_opt(&cli->rc, opt, arg);
	}
}

static int cmd_synth(int argc, char **argv)
{
	struct run_opts ro;
	struct synth_cli cli;
	struct synth_opts *o = &cli.o;
	struct renderer *r;
	int st, i;

	memset(&cli, 0, sizeof(cli));
	stack_config_init(&cli.rc.o.cfg);
	o->data = 100;
	o->concurrent = 100;
	st = cli_parse_run_opts(argc, argv, &ro, help_usage_synth, NULL, synth_longopts, synth_opt, &cli);
	if (st)
		return st > 0 ? 0 : EXIT_USAGE;
	if (optind < argc) {
		fprintf(stderr, "tcpdemux: synth: unexpected argument '%s'\n", argv[optind]);
		return EXIT_USAGE;
	}
	if (!o->mode) {
		fprintf(stderr, "tcpdemux: synth needs --clients N, --syn-flood N or --hash-flood N (see --help)\n");
		return EXIT_USAGE;
	}
	if (cli_step_and_quiet(&ro, cli.rc.quiet))
		return EXIT_USAGE;
	if (!o->rate)
		o->rate = o->mode == SYNTH_CLIENTS ? 1000 : 100000;
	o->cfg = cli.rc.o.cfg;
	o->nlisten = cli.rc.o.nlisten;
	for (i = 0; i < o->nlisten; i++)
		o->listen[i] = cli.rc.o.listen[i];
	o->accept_mode = cli.rc.o.accept_mode;
	o->accept_every = cli.rc.o.accept_every;
	o->write_path = cli.rc.o.write_path;
	replay_cli_warn_quiet_tables(&cli.rc);
	if (cli.data_set && o->mode != SYNTH_CLIENTS)
		replay_cli_warn_ignored("--data", o->mode == SYNTH_SYN_FLOOD ? "--syn-flood" : "--hash-flood",
					"its SYNs never complete a handshake, so nothing is sent or received");
	o->tables = cli.rc.quiet ? 0 : cli.rc.o.tables;
	if (!cli.seed_set)
		o->seed = ro.seed_set ? ro.seed : ro.seed ^ 0x6a09e667u;
	cli_run_opts_config(&ro, &o->cfg);
	o->cfg.hash_seed = ro.seed_set ? ro.seed : cli.seed_set ? o->seed * 0x9e3779b1u : ro.seed;
	if (cli_quiet_renderers(&ro, cli.rc.quiet, 0, &o->r, &o->summary_r) < 0)
		return EXIT_USAGE;
	r = o->summary_r;
	emit_begin(r, RUN_SYNTH, NULL, NULL, NULL, o->cfg.hash_seed);
	st = synth_run(o);
	r->ops->destroy(r);
	return ro.views.failed ? EXIT_USAGE : st;
}

struct live_cli {
	struct replay_cli rc; /* --listen, --sysctl, --accept, --tables, --write, --quiet */
	struct live_opts o;
	struct ip_addr addr[LIVE_MAX_NETS], peer[LIVE_MAX_NETS];
	int prefix[LIVE_MAX_NETS];
	int naddr, npeer, accept_set;
};

static int live_opt(void *ctx, int opt, const char *arg)
{
	struct live_cli *cli = ctx;
	struct live_opts *o = &cli->o;
	char buf[128], *slash;
	uint32_t v;

	switch (opt) {
	case OPT_TUN:
		o->dev = arg;
		return 0;
	case OPT_ADDR:
		snprintf(buf, sizeof(buf), "%s", arg);
		slash = strchr(buf, '/');
		if (slash)
			*slash++ = '\0';
		if (cli->naddr >= LIVE_MAX_NETS || strlen(arg) >= sizeof(buf) ||
		    addr_parse(buf, &cli->addr[cli->naddr]) < 0 || (slash && cli_parse_u32(slash, &v) < 0)) {
			fprintf(stderr, "tcpdemux: --addr needs ADDR/PREFIX (10.9.0.1/24, fd09::1/64; at most %d), not '%s'\n",
				LIVE_MAX_NETS, arg);
			return -1;
		}
		cli->prefix[cli->naddr] = slash ? (int)(v > 128 ? 129 : v)
						: cli->addr[cli->naddr].family == ADDR_V4 ? 24 : 64;
		cli->naddr++;
		return 0;
	case OPT_PEER:
		if (cli->npeer >= LIVE_MAX_NETS || addr_parse(arg, &cli->peer[cli->npeer]) < 0) {
			fprintf(stderr, "tcpdemux: --peer needs an address, not '%s'\n", arg);
			return -1;
		}
		cli->npeer++;
		return 0;
	case OPT_APP:
		o->app = server_app_parse(arg);
		if (o->app < 0) {
			fprintf(stderr, "tcpdemux: --app takes echo, http, discard or never, not '%s'\n", arg);
			return -1;
		}
		return 0;
	case OPT_CONNECT:
		if (o->nconnect >= LIVE_MAX_CONNECT ||
		    endpoint_parse(arg, &o->connect_addr[o->nconnect], &o->connect_port[o->nconnect]) < 0 ||
		    o->connect_port[o->nconnect] == 0) {
			fprintf(stderr, "tcpdemux: --connect needs ADDR:PORT ([v6addr]:port; at most %d), not '%s'\n",
				LIVE_MAX_CONNECT, arg);
			return -1;
		}
		o->nconnect++;
		return 0;
	case OPT_DURATION: {
		char *end;
		double d = strtod(arg, &end);

		if (end == arg || *end || !(d > 0) || d > 1e6) {
			fprintf(stderr, "tcpdemux: --duration needs a number of seconds above 0, not '%s'\n", arg);
			return -1;
		}
		o->duration = (vtime_t)(d * (double)VT_SEC);
		return 0;
	}
	case OPT_ACCEPT:
		cli->accept_set = 1;
		return replay_cli_opt(&cli->rc, opt, arg);
	default:
		return replay_cli_opt(&cli->rc, opt, arg);
	}
}

/* The --addr nets with their kernel addresses, and the default listeners. Returns 0 or -1 (message printed). */
static int live_nets(struct live_cli *cli)
{
	struct live_opts *o = &cli->o;
	char err[256];
	int i, j;

	if (!cli->naddr) {
		cli->addr[0] = addr_v4(0x0a090001); /* 10.9.0.1/24 */
		cli->prefix[0] = 24;
		cli->naddr = 1;
	}
	for (i = 0; i < cli->naddr; i++) {
		const struct ip_addr *peer = NULL;

		for (j = 0; j < i; j++)
			if (cli->addr[j].family == cli->addr[i].family) {
				fprintf(stderr, "tcpdemux: --addr: one IPv4 and one IPv6 subnet at most\n");
				return -1;
			}
		for (j = 0; j < cli->npeer; j++)
			if (cli->peer[j].family == cli->addr[i].family)
				peer = &cli->peer[j];
		if (tun_net_make(&o->nets[i], &cli->addr[i], cli->prefix[i], peer, err, sizeof(err)) < 0) {
			fprintf(stderr, "tcpdemux: %s\n", err);
			return -1;
		}
	}
	o->nnets = cli->naddr;
	for (j = 0; j < cli->npeer; j++) {
		for (i = 0; i < o->nnets; i++)
			if (addr_equal(&o->nets[i].kernel, &cli->peer[j]))
				break;
		if (i == o->nnets) {
			fprintf(stderr, "tcpdemux: --peer: no --addr of the same family for it\n");
			return -1;
		}
	}
	return 0;
}

static int cmd_live(int argc, char **argv)
{
	struct run_opts ro;
	struct live_cli *cli = calloc(1, sizeof(*cli));
	struct live_opts *o;
	struct renderer *r;
	int st, i;

	if (!cli) {
		fprintf(stderr, "tcpdemux: out of memory\n");
		return EXIT_USAGE;
	}
	o = &cli->o;
	stack_config_init(&cli->rc.o.cfg);
	o->dev = "tcpdemux0";
	o->app = SERVER_APP_ECHO;
	st = cli_parse_run_opts(argc, argv, &ro, help_usage_live, NULL, live_longopts, live_opt, cli);
	if (st == 0 && optind < argc) {
		fprintf(stderr, "tcpdemux: live: unexpected argument '%s'\n", argv[optind]);
		st = -1;
	}
	if (st == 0 && (ro.step || ro.slides)) {
		fprintf(stderr, "tcpdemux: %s does not go with live: real clients do not wait for a key\n",
			ro.step ? "--step" : "--slides");
		st = -1;
	}
	if (st == 0 && o->app == SERVER_APP_NEVER && cli->accept_set && cli->rc.o.accept_mode != ACCEPT_NEVER) {
		fprintf(stderr, "tcpdemux: --app never never calls accept(); it does not go with --accept immediate or every=MS\n");
		st = -1;
	}
	if (st == 0 && live_nets(cli) < 0)
		st = -1;
	if (st) {
		free(cli);
		return st > 0 ? 0 : EXIT_USAGE;
	}
	o->cfg = cli->rc.o.cfg;
	o->nlisten = cli->rc.o.nlisten;
	for (i = 0; i < o->nlisten; i++)
		o->listen[i] = cli->rc.o.listen[i];
	if (!o->nlisten) {
		for (i = 0; i < o->nnets; i++) {
			o->listen[i].addr = o->nets[i].stack;
			o->listen[i].port = 80;
			o->listen[i].backlog = -1;
			o->listen[i].reuseport = 0;
		}
		o->nlisten = o->nnets;
	}
	o->accept_mode = o->app == SERVER_APP_NEVER ? ACCEPT_NEVER : cli->rc.o.accept_mode;
	o->accept_every = cli->rc.o.accept_every;
	o->write_path = cli->rc.o.write_path;
	replay_cli_warn_quiet_tables(&cli->rc);
	o->tables = cli->rc.quiet ? 0 : cli->rc.o.tables;
	cli_run_opts_config(&ro, &o->cfg);
	if (cli_quiet_renderers(&ro, cli->rc.quiet, 0, &o->r, &o->summary_r) < 0) {
		free(cli);
		return EXIT_USAGE;
	}
	r = o->summary_r;
	emit_begin(r, RUN_LIVE, o->dev, NULL, NULL, ro.seed);
	st = live_run(o);
	r->ops->destroy(r);
	free(cli);
	return ro.views.failed ? EXIT_USAGE : st;
}

int main(int argc, char **argv)
{
	const char *cmd;

	cli_keep_command_line(argc, argv);
	if (argc < 2) {
		fputs(help_usage_main, stderr);
		return EXIT_USAGE;
	}
	cmd = argv[1];
	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0) {
		fputs(help_usage_main, stdout);
		return 0;
	}
	if (strcmp(cmd, "--version") == 0) {
		printf("tcpdemux %s\n", TCPDEMUX_VERSION);
		return 0;
	}
	if (strcmp(cmd, "help") == 0)
		return help_command(argc - 1, argv + 1);
	if (cmd[0] == '-') {
		fprintf(stderr, "tcpdemux: unknown option '%s' (options go after the command: see tcpdemux --help)\n",
			cmd);
		return EXIT_USAGE;
	}
	if (strcmp(cmd, "demo") == 0)
		return cmd_demo(argc - 1, argv + 1);
	if (strcmp(cmd, "replay") == 0)
		return cmd_replay(argc - 1, argv + 1);
	if (strcmp(cmd, "script") == 0)
		return cmd_script(argc - 1, argv + 1);
	if (strcmp(cmd, "synth") == 0)
		return cmd_synth(argc - 1, argv + 1);
	if (strcmp(cmd, "live") == 0)
		return cmd_live(argc - 1, argv + 1);
	fprintf(stderr, "tcpdemux: unknown command '%s' (see tcpdemux --help)\n", cmd);
	return EXIT_USAGE;
}

