/*
 * options.h - what every command of tcpdemux shares on its command line
 * (options.c): the common options, the option codes of every command,
 * and the renderers a run writes through.
 *
 * Path: main() -> cmd_X() -> cli_parse_run_opts() -> cli_run_opts_config()
 *       -> cli_make_renderer() / cli_quiet_renderers() -> the driver.
 */
#ifndef TCPDEMUX_CLI_OPTIONS_H
#define TCPDEMUX_CLI_OPTIONS_H

#include <getopt.h>
#include <stdint.h>

#include "render.h"
#include "stack.h"

/* The common options as given (cli_parse_run_opts() fills it). */
struct run_opts {
	int buckets_given; /* --buckets on the command line */
	uint32_t max_sockets;
	int verbose;
	int step;
	int slides;       /* --slides */
	int options;      /* --options (with --slides) */
	double pace;      /* --pace SECONDS (with --slides), 0 none */
	int json;
	int color;
	int seed_set;
	uint32_t seed;
	uint32_t buckets;
	int nstat;        /* --nstat: the counters as nstat -az prints them, for the summary */
	struct view_opts views; /* --annotate, --html, --plot */
};

/*
 * getopt_long()'s codes for the long options, past every character:
 * one list for all the commands, so that an option several of them take
 * (--listen, --sysctl, ...) has one code and one handler.
 */
enum {
	OPT_FORMAT = 256, OPT_SEED, OPT_BUCKETS, OPT_COLOR, OPT_NO_COLOR, OPT_STEP, OPT_MAX_SOCKETS,
	OPT_VERBOSE, OPT_SLIDES, OPT_PACE, OPT_OPTIONS, OPT_NSTAT, OPT_ANNOTATE, OPT_HTML, OPT_PLOT,
	OPT_LOCAL, OPT_LISTEN, OPT_VERIFY_CSUM, OPT_TABLES, OPT_QUIET, OPT_WRITE,
	OPT_SYSCTL, OPT_ACCEPT, OPT_VERIFY, OPT_CAPTURE_POINT, OPT_THREADS,
	OPT_CLIENTS, OPT_SYN_FLOOD, OPT_HASH_FLOOD, OPT_RATE, OPT_DATA, OPT_CONCURRENT, OPT_GEN_SEED,
	OPT_TUN, OPT_ADDR, OPT_PEER, OPT_APP, OPT_CONNECT, OPT_DURATION,
	OPT_PACKETDRILL, /* + the index in script_optdefs: keep it last */
};

/* A command's own option: returns 0 when taken, -1 (message printed) when bad. */
typedef int (*cli_extra_opt_fn)(void *ctx, int opt, const char *arg);


/* Keeps argv for the page's title and for --slides to run the command again. */
void cli_keep_command_line(int argc, char **argv);

/* A number from 0 to 4294967295 (strtoull()'s bases) and nothing after it: 0, or -EINVAL. */
int cli_parse_u32(const char *s, uint32_t *out);

/* The common options, the command's own in longopts/shortopts handed to extra: 0, 1 (help shown) or -1. */
int cli_parse_run_opts(int argc, char **argv, struct run_opts *o, const char *usage,
		       const char *shortopts, const struct option *longopts, cli_extra_opt_fn extra, void *ctx);

/* The stack settings every command takes from the common options. */
void cli_run_opts_config(const struct run_opts *ro, struct stack_config *cfg);

/* 1 (message printed) when --step or --slides is given with --quiet, else 0. */
int cli_step_and_quiet(const struct run_opts *ro, int quiet);

/* The trace's renderer; NULL (message printed) on failure. */
struct renderer *cli_make_renderer(const struct run_opts *ro);

/* trace with the views the options ask for beside it; NULL (message printed) on failure. */
struct renderer *cli_with_views(struct run_opts *ro, struct renderer *trace, int quiet, int verify);

/* The renderers of a run whose --quiet keeps only the summary: 0, or -1 (message printed). */
int cli_quiet_renderers(struct run_opts *ro, int quiet, int verify, struct renderer **trace,
			struct renderer **summary);

#endif
