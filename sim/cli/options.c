/*
 * options.c - what every command of tcpdemux shares on its command line:
 * the common options (--format, --hash-seed, --step, --html, ...), the
 * stack settings they make, and the renderers the run writes through.
 *
 * Path: main() -> cmd_X() -> cli_parse_run_opts() (the command's own
 *       options handed back to it) -> cli_run_opts_config() ->
 *       cli_make_renderer() / cli_quiet_renderers() -> the driver.
 *
 * It knows no command: each passes in its usage text, its long options
 * and the handler for them, so nothing here calls back into main.c.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "help.h"
#include "options.h"

/* "tcpdemux demo two-clients --hash-seed 1 ...": the page's title (cli_keep_command_line() fills it). */
static char command_line[1024];

/*
 * The command line as given, for --slides to run again (cmd_demo() moves
 * argv's entries); NULL-terminated, or main_argc 0 when it was too long
 * to keep (then --slides cannot go back).
 */
static char *main_argv[256];
static int main_argc;

/*
 * Kept here, not in main.c, so that the renderers made below need nothing
 * from main(): it calls this first thing, before a command moves argv's entries.
 */
void cli_keep_command_line(int argc, char **argv)
{
	size_t n = 0;
	int i;

	/* The page's title: the command as typed, without the program's path. */
	for (i = 0; i < argc && n + 1 < sizeof(command_line); i++)
		n += (size_t)snprintf(command_line + n, sizeof(command_line) - n, "%s%s", i ? " " : "",
				      i ? argv[i] : "tcpdemux");
	if (argc < (int)(sizeof(main_argv) / sizeof(main_argv[0]))) {
		memcpy(main_argv, argv, (size_t)argc * sizeof(*main_argv));
		main_argc = argc;
	}
}

int cli_parse_u32(const char *s, uint32_t *out)
{
	char *end;
	unsigned long long v;

	if (!*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || v > 0xffffffffull)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

/*
 * A seed nobody chose; TCPDEMUX_HASH_SEED names it instead (--slides runs
 * the program again with it to go back: the same seed, the same run).
 */
static uint32_t random_seed(void)
{
	uint32_t seed = 0;
	const char *env = getenv("TCPDEMUX_HASH_SEED");
	FILE *f;

	if (env && cli_parse_u32(env, &seed) == 0)
		return seed;
	f = fopen("/dev/urandom", "rb");

	if (!f || fread(&seed, sizeof(seed), 1, f) != 1)
		seed = (uint32_t)time(NULL) ^ ((uint32_t)getpid() << 16);
	if (f)
		fclose(f);
	return seed;
}

/* Options every command that runs the stack takes. */
static const struct option common_longopts[] = {
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "hash-seed", required_argument, NULL, OPT_SEED },
	{ "buckets", required_argument, NULL, OPT_BUCKETS },
	{ "color", no_argument, NULL, OPT_COLOR },
	{ "no-color", no_argument, NULL, OPT_NO_COLOR },
	{ "step", no_argument, NULL, OPT_STEP },
	{ "slides", no_argument, NULL, OPT_SLIDES },
	{ "pace", required_argument, NULL, OPT_PACE },
	{ "options", no_argument, NULL, OPT_OPTIONS },
	{ "max-sockets", required_argument, NULL, OPT_MAX_SOCKETS },
	{ "verbose", no_argument, NULL, OPT_VERBOSE },
	{ "nstat", no_argument, NULL, OPT_NSTAT },
	{ "annotate", required_argument, NULL, OPT_ANNOTATE },
	{ "html", required_argument, NULL, OPT_HTML },
	{ "plot", required_argument, NULL, OPT_PLOT },
	{ "help", no_argument, NULL, 'h' },
};

/*
 * Says what is wrong with the option getopt_long() refused (c is ':' for
 * a missing value, '?' otherwise; optopt a short option's letter, a long
 * option's code, or 0 for a long name it does not know): one line naming
 * the option as written, without its value.
 */
static void bad_option(int c, const char *arg, const struct option *all)
{
	char name[64], list[256] = "";
	size_t nl;
	int i, n = 0;

	snprintf(name, sizeof(name), "%s", arg);
	if (strncmp(name, "--", 2) == 0)
		name[strcspn(name, "=")] = '\0';
	if (c == ':') {
		if (optopt > 0 && optopt < 128)
			fprintf(stderr, "tcpdemux: option '-%c' needs a value (see --help)\n", optopt);
		else
			fprintf(stderr, "tcpdemux: option '%s' needs a value (see --help)\n", name);
		return;
	}
	if (optopt > 0 && optopt < 128) {
		fprintf(stderr, "tcpdemux: option '-%c' is not known here (see --help)\n", optopt);
		return;
	}
	if (optopt >= 256) {
		fprintf(stderr, "tcpdemux: option '%s' takes no value, not '%s' (see --help)\n", name,
			strchr(arg, '=') ? strchr(arg, '=') + 1 : "");
		return;
	}
	/* getopt_long() takes unambiguous abbreviations: a name two options begin with is refused. */
	nl = strlen(name + 2);
	for (i = 0; nl && all[i].name; i++)
		if (strncmp(all[i].name, name + 2, nl) == 0 && strlen(list) + strlen(all[i].name) + 5 < sizeof(list)) {
			strcat(list, n++ ? ", --" : "--");
			strcat(list, all[i].name);
		}
	if (n > 1)
		fprintf(stderr, "tcpdemux: option '%s' is ambiguous: %s (see --help)\n", name, list);
	else
		fprintf(stderr, "tcpdemux: option '%s' is not known here (see --help)\n", name);
}

/*
 * Parses the options shared by commands that run the stack, handing the
 * others (and the short options in shortopts, besides -h) to extra.
 * Returns 0, 1 (help shown) or -1 (message printed).
 */
int cli_parse_run_opts(int argc, char **argv, struct run_opts *o, const char *usage,
		       const char *shortopts, const struct option *longopts, cli_extra_opt_fn extra, void *ctx)
{
	char optstring[16];
	struct option all[64];
	size_t nc = sizeof(common_longopts) / sizeof(common_longopts[0]), n = 0;
	int c;

	/* The command's own options, then the common ones and the terminator. */
	while (longopts[n].name && n + nc + 1 < sizeof(all) / sizeof(all[0])) {
		all[n] = longopts[n];
		n++;
	}
	memcpy(all + n, common_longopts, sizeof(common_longopts));
	memset(&all[n + nc], 0, sizeof(all[0]));
	memset(o, 0, sizeof(*o));
	o->color = -1;
	o->buckets = 65536;
	opterr = 0;
	optind = 1;
	/* A leading ':' makes a missing value ':' and tells it from an unknown option ('?'). */
	snprintf(optstring, sizeof(optstring), ":h%s", shortopts ? shortopts : "");
	while ((c = getopt_long(argc, argv, optstring, all, NULL)) != -1) {
		switch (c) {
		case OPT_FORMAT:
			if (strcmp(optarg, "json") == 0) {
				o->json = 1;
			} else if (strcmp(optarg, "text") != 0) {
				fprintf(stderr, "tcpdemux: --format must be text or json, not '%s'\n", optarg);
				return -1;
			}
			break;
		case OPT_SEED:
			if (cli_parse_u32(optarg, &o->seed) < 0) {
				fprintf(stderr, "tcpdemux: --hash-seed needs a number from 0 to 4294967295, not '%s'\n",
					optarg);
				return -1;
			}
			o->seed_set = 1;
			break;
		case OPT_BUCKETS:
			if (cli_parse_u32(optarg, &o->buckets) < 0 || o->buckets == 0 ||
			    (o->buckets & (o->buckets - 1)) || o->buckets > (1u << 24)) {
				fprintf(stderr, "tcpdemux: --buckets needs a power of two from 1 to 16777216, not '%s'\n",
					optarg);
				return -1;
			}
			o->buckets_given = 1;
			break;
		case OPT_COLOR:
			o->color = 1;
			break;
		case OPT_STEP:
			o->step = 1;
			break;
		case OPT_SLIDES:
			o->slides = 1;
			break;
		case OPT_OPTIONS:
			o->options = 1;
			break;
		case OPT_PACE: {
			char *end;

			o->pace = strtod(optarg, &end);
			if (end == optarg || *end || !(o->pace > 0) || o->pace > 3600) {
				fprintf(stderr, "tcpdemux: --pace needs seconds between 0 and 3600 (e.g. 5 or 2.5), not '%s'\n",
					optarg);
				return -1;
			}
			break;
		}
		case OPT_VERBOSE:
			o->verbose = 1;
			break;
		case OPT_NSTAT:
			o->nstat = 1;
			break;
		case OPT_MAX_SOCKETS:
			if (cli_parse_u32(optarg, &o->max_sockets) < 0 || o->max_sockets == 0) {
				fprintf(stderr, "tcpdemux: --max-sockets needs a positive count, not '%s'\n", optarg);
				return -1;
			}
			break;
		case OPT_NO_COLOR:
			o->color = 0;
			break;
		case OPT_ANNOTATE:
			o->views.annotate = optarg;
			break;
		case OPT_HTML:
			o->views.html = optarg;
			break;
		case OPT_PLOT:
			o->views.plot = optarg;
			break;
		case 'h':
			help_print_usage(usage);
			return 1;
		case '?':
		case ':':
			bad_option(c, argv[optind - 1], all);
			return -1;
		default:
			if (!extra || extra(ctx, c, optarg) < 0)
				return -1;
			break;
		}
	}
	if (!o->seed_set)
		o->seed = random_seed();
	/* The seed keys the hash an attacker must not know; said only when asked. */
	if (o->verbose)
		fprintf(stderr, "tcpdemux: hash seed %u (--hash-seed %u repeats this run)\n", o->seed, o->seed);
	if ((o->step || o->slides) && o->json) {
		fprintf(stderr, "tcpdemux: %s shows the text trace; it does not go with --format json\n",
			o->step ? "--step" : "--slides");
		return -1;
	}
	if (o->step && o->slides) {
		fprintf(stderr, "tcpdemux: --step and --slides are two ways to step through a run: choose one\n");
		return -1;
	}
	if ((o->pace > 0 || o->options) && !o->slides) {
		fprintf(stderr, "tcpdemux: %s goes with --slides\n", o->pace > 0 ? "--pace" : "--options");
		return -1;
	}
	if (o->color < 0)
		o->color = !o->json && isatty(STDOUT_FILENO) && getenv("NO_COLOR") == NULL;
	return 0;
}

/* The stack settings every command takes from the common options. */
void cli_run_opts_config(const struct run_opts *ro, struct stack_config *cfg)
{
	cfg->hash_seed = ro->seed;
	cfg->ehash_buckets = ro->buckets;
	if (ro->max_sockets)
		cfg->max_sockets = ro->max_sockets;
}

/* --step and --slides pause on output that --quiet suppresses. Returns 1 (message printed) when both are given. */
int cli_step_and_quiet(const struct run_opts *ro, int quiet)
{
	if (!quiet || !(ro->step || ro->slides))
		return 0;
	fprintf(stderr, "tcpdemux: %s and --quiet contradict each other\n", ro->step ? "--step" : "--slides");
	return 1;
}

/*
 * trace with the views the options ask for beside it (render_with_views):
 * trace itself when none is asked for, NULL (message printed, trace
 * destroyed) when a view's file cannot be made. verify: the run compares
 * with a recorded host (the annotations wait for its verdicts).
 */
struct renderer *cli_with_views(struct run_opts *ro, struct renderer *trace, int quiet, int verify)
{
	char err[600];
	struct renderer *r;

	if (!render_views_wanted(&ro->views))
		return trace;
	ro->views.verify = verify;
	ro->views.command = command_line;
	r = render_with_views(trace, quiet, &ro->views, err, sizeof(err));
	if (!r)
		fprintf(stderr, "tcpdemux: %s\n", err);
	return r;
}

/*
 * The renderers of a run whose --quiet keeps only the summary (replay,
 * synth, live): *trace gets the run's records (NULL: nobody needs them),
 * *summary the summary and is the one to destroy. The views see every
 * record, with --quiet too. Returns 0, or -1 (message printed).
 */
int cli_quiet_renderers(struct run_opts *ro, int quiet, int verify, struct renderer **trace,
			struct renderer **summary)
{
	struct renderer *r = cli_make_renderer(ro);

	if (!r)
		return -1;
	*trace = quiet ? NULL : r;
	if (render_views_wanted(&ro->views)) {
		r = *trace = cli_with_views(ro, r, quiet, verify);
		if (!r)
			return -1;
	}
	*summary = r;
	return 0;
}

/* The trace's renderer: JSON Lines, text, or text one step at a time. NULL (message printed) on failure. */
struct renderer *cli_make_renderer(const struct run_opts *ro)
{
	struct renderer *r;
	char err[160];

	if (ro->step || ro->slides) {
		struct slides_opts so = { ro->color, ro->options, ro->pace, main_argc ? main_argv : NULL };

		r = ro->step ? render_step_new(ro->color, err, sizeof(err)) : render_slides_new(&so, err, sizeof(err));
		if (!r)
			fprintf(stderr, "tcpdemux: %s\n", err);
		return r;
	}
	r = ro->json ? render_json_new(stdout) : render_text_new(stdout, ro->color);
	if (r && ro->nstat) {
		struct renderer *n = render_nstat_new(r, stdout, ro->json);

		if (!n)
			r->ops->destroy(r);
		r = n;
	}
	if (!r)
		fprintf(stderr, "tcpdemux: out of memory\n");
	return r;
}
