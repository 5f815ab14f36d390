/*
 * replay_cli.c - the options the replay family shares: replay, synth and
 * live all take --listen, --sysctl, --accept, --tables, --write and
 * --quiet into a struct replay_opts, and replay adds --local, --verify,
 * --capture-point, --threads, -r FILE and a tcpdump filter.
 *
 * Path: main() -> cmd_replay() / cmd_synth() / cmd_live() ->
 *       cli_parse_run_opts() -> (the command's handler ->) replay_cli_opt()
 *       -> parse_listen() -> parse_endpoint_why().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture_point.h"
#include "options.h"
#include "replay.h"
#include "replay_cli.h"
#include "sysctl.h"

/*
 * "ADDR:PORT" ("[v6addr]:PORT"). Returns 0, or -1 with what is wrong in
 * err, naming the bad part ("port 99999 is not from 1 to 65535").
 */
static int parse_endpoint_why(const char *text, struct ip_addr *addr, uint16_t *port, char *err,
			      size_t errlen)
{
	char host[ADDR_STRLEN + 2];
	const char *colon, *whole = text;
	uint32_t v;
	size_t hl;

	if (text[0] == '[') {
		const char *close = strchr(text, ']');

		if (!close) {
			snprintf(err, errlen, "'%s' has no closing ']'", text);
			return -1;
		}
		colon = close[1] == ':' ? close + 1 : NULL;
		hl = (size_t)(close - text - 1);
		text++;
	} else {
		colon = strrchr(text, ':');
		if (colon && strchr(text, ':') != colon) {
			/* Several colons: an IPv6 address, whose own colons hide the port's. */
			struct ip_addr a6;

			hl = (size_t)(colon - text);
			if (hl < sizeof(host)) {
				memcpy(host, text, hl);
				host[hl] = '\0';
			}
			/* "::1:80": the last group taken for the port only if what is left is an address. */
			if (colon[1] && strspn(colon + 1, "0123456789") == strlen(colon + 1) && hl < sizeof(host) &&
			    addr_parse(host, &a6) == 0)
				snprintf(err, errlen, "an IPv6 address goes in brackets, as in [%s]:%s", host, colon + 1);
			else
				snprintf(err, errlen, "an IPv6 address goes in brackets, as in [%s]:PORT", text);
			return -1;
		}
		hl = colon ? (size_t)(colon - text) : strlen(text);
	}
	if (!colon) {
		snprintf(err, errlen, "'%s' has no :PORT", whole);
		return -1;
	}
	if (hl == 0 || hl >= sizeof(host)) {
		snprintf(err, errlen, "no address before ':%s'", colon + 1);
		return -1;
	}
	memcpy(host, text, hl);
	host[hl] = '\0';
	if (addr_parse(host, addr) < 0) {
		snprintf(err, errlen, "'%s' is not an IPv4 or IPv6 address", host);
		return -1;
	}
	if (cli_parse_u32(colon + 1, &v) < 0 || v == 0 || v > 65535) {
		snprintf(err, errlen, "port '%s' is not a number from 1 to 65535", colon + 1);
		return -1;
	}
	*port = (uint16_t)v;
	return 0;
}

/* "ADDR:PORT[,backlog=N][,reuseport=N]". Returns 0, or -1 with the bad part named in err. */
static int parse_listen(const char *arg, struct replay_listen *l, char *err, size_t errlen)
{
	char buf[256], *opt, *save = NULL;
	uint32_t v;

	if (strlen(arg) >= sizeof(buf)) {
		snprintf(err, errlen, "too long");
		return -1;
	}
	strcpy(buf, arg);
	opt = strtok_r(buf, ",", &save);
	if (!opt) {
		snprintf(err, errlen, "no ADDR:PORT");
		return -1;
	}
	if (parse_endpoint_why(opt, &l->addr, &l->port, err, errlen) < 0)
		return -1;
	l->backlog = -1;
	l->reuseport = 0;
	while ((opt = strtok_r(NULL, ",", &save)) != NULL) {
		if (strncmp(opt, "backlog=", 8) == 0) {
			if (cli_parse_u32(opt + 8, &v) < 0 || v > 0x7fffffff) {
				snprintf(err, errlen, "backlog '%s' is not a number from 0 to 2147483647", opt + 8);
				return -1;
			}
			l->backlog = (int)v;
		} else if (strncmp(opt, "reuseport=", 10) == 0) {
			if (cli_parse_u32(opt + 10, &v) < 0 || v < 1 || v > 64) {
				snprintf(err, errlen, "reuseport '%s' is not a number of listeners from 1 to 64",
					 opt + 10);
				return -1;
			}
			l->reuseport = (int)v;
		} else {
			snprintf(err, errlen, "'%s' is not a setting it takes", opt);
			return -1;
		}
	}
	return 0;
}

/* One line for an option that another makes meaningless; the run goes on without it. */
void replay_cli_warn_ignored(const char *opt, const char *with, const char *why)
{
	fprintf(stderr, "tcpdemux: warning: %s is ignored with %s: %s\n", opt, with, why);
}

/* --tables with --quiet: the tables are trace output, and --quiet keeps only the summary. */
void replay_cli_warn_quiet_tables(const struct replay_cli *rc)
{
	if (rc->quiet && rc->o.tables)
		replay_cli_warn_ignored("--tables", "--quiet", "only the summary is printed");
}

int replay_cli_opt(void *ctx, int opt, const char *arg)
{
	struct replay_cli *cli = ctx;
	struct replay_opts *o = &cli->o;

	switch (opt) {
	case OPT_LOCAL:
		if (o->nlocal >= REPLAY_MAX_LOCAL || addr_parse(arg, &o->local[o->nlocal]) < 0) {
			fprintf(stderr, "tcpdemux: --local needs an IPv4 or IPv6 address, not '%s'\n", arg);
			return -1;
		}
		o->nlocal++;
		return 0;
	case OPT_LISTEN: {
		char why[160];

		if (o->nlisten >= REPLAY_MAX_LISTEN) {
			fprintf(stderr, "tcpdemux: --listen %s: at most %d --listen options\n", arg, REPLAY_MAX_LISTEN);
			return -1;
		}
		if (parse_listen(arg, &o->listen[o->nlisten], why, sizeof(why)) < 0) {
			fprintf(stderr, "tcpdemux: --listen %s: %s (ADDR:PORT[,backlog=N][,reuseport=N])\n", arg, why);
			return -1;
		}
		o->nlisten++;
		return 0;
	}
	case OPT_VERIFY_CSUM:
		o->verify_checksums = 1;
		return 0;
	case OPT_TABLES:
		if (!arg || strcmp(arg, "every") == 0) {
			o->tables = 1;
		} else if (strcmp(arg, "end") == 0) {
			o->tables = 2;
		} else {
			fprintf(stderr, "tcpdemux: --tables takes no value or =end, not '%s'\n", arg);
			return -1;
		}
		return 0;
	case OPT_QUIET:
		cli->quiet = 1;
		return 0;
	case OPT_WRITE:
		o->write_path = arg;
		return 0;
	case OPT_SYSCTL: {
		char err[256];

		if (sysctl_apply(&o->cfg, arg, err, sizeof(err)) < 0) {
			fprintf(stderr, "tcpdemux: %s\n", err);
			return -1;
		}
		return 0;
	}
	case OPT_ACCEPT: {
		uint32_t ms;

		o->accept_given = 1;
		if (strcmp(arg, "immediate") == 0) {
			o->accept_mode = ACCEPT_IMMEDIATE;
		} else if (strcmp(arg, "never") == 0) {
			o->accept_mode = ACCEPT_NEVER;
		} else if (strncmp(arg, "every=", 6) == 0 && cli_parse_u32(arg + 6, &ms) == 0 && ms > 0) {
			o->accept_mode = ACCEPT_EVERY;
			o->accept_every = (vtime_t)ms * VT_MSEC;
		} else {
			fprintf(stderr, "tcpdemux: --accept takes immediate, never or every=MS (MS > 0), not '%s'\n",
				arg);
			return -1;
		}
		return 0;
	}
	case OPT_VERIFY:
		o->verify = 1;
		return 0;
	case OPT_CAPTURE_POINT:
		if (strcmp(arg, "auto") == 0) {
			o->capture_point = CAPTURE_AUTO;
		} else if (strcmp(arg, "server") == 0) {
			o->capture_point = CAPTURE_SERVER;
		} else if (strcmp(arg, "client") == 0) {
			o->capture_point = CAPTURE_CLIENT;
		} else {
			fprintf(stderr, "tcpdemux: --capture-point takes auto, server or client, not '%s'\n", arg);
			return -1;
		}
		return 0;
	case OPT_THREADS: {
		uint32_t n;

		/* 2: the reader's thread (reader.h); more would have nothing to do. */
		if (cli_parse_u32(arg, &n) < 0 || n < 1 || n > 2) {
			fprintf(stderr, "tcpdemux: --threads takes 1 or 2, not '%s'\n", arg);
			return -1;
		}
		o->threads = (int)n;
		return 0;
	}
	case 'r':
		if (cli->read_file) {
			fprintf(stderr, "tcpdemux: -r names the capture once, not '%s' and '%s'\n", cli->read_file,
				arg);
			return -1;
		}
		cli->read_file = arg;
		return 0;
	default:
		return -1;
	}
}

/*
 * The words of a tcpdump expression, joined by spaces as tcpdump joins
 * them. Returns a string to free, NULL for no words, or NULL with *oom set.
 */
char *replay_cli_join_words(char **w, int n, int *oom)
{
	size_t len = 1;
	char *s;
	int i;

	*oom = 0;
	if (n <= 0)
		return NULL;
	for (i = 0; i < n; i++)
		len += strlen(w[i]) + 1;
	s = malloc(len);
	if (!s) {
		*oom = 1;
		return NULL;
	}
	s[0] = '\0';
	for (i = 0; i < n; i++) {
		if (i)
			strcat(s, " ");
		strcat(s, w[i]);
	}
	return s;
}
