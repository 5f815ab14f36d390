/*
 * replay_cli.h - the options replay, synth and live share (replay_cli.c).
 *
 * Path: main() -> cmd_replay() / cmd_synth() / cmd_live() ->
 *       cli_parse_run_opts() -> replay_cli_opt().
 */
#ifndef TCPDEMUX_CLI_REPLAY_CLI_H
#define TCPDEMUX_CLI_REPLAY_CLI_H

#include "replay.h"

/* What the replay family's options fill; synth and live copy out the parts they run with. */
struct replay_cli {
	struct replay_opts o;
	int quiet;
	const char *read_file; /* -r FILE */
};

/* A cli_extra_opt_fn for the replay family's options (ctx a struct replay_cli): 0, or -1 (message printed). */
int replay_cli_opt(void *ctx, int opt, const char *arg);

/* One line for an option that another makes meaningless; the run goes on without it. */
void replay_cli_warn_ignored(const char *opt, const char *with, const char *why);

/* The warning for --tables with --quiet, when both are given. */
void replay_cli_warn_quiet_tables(const struct replay_cli *rc);

/* A tcpdump expression's words joined by spaces: a string to free, NULL for none, or NULL with *oom set. */
char *replay_cli_join_words(char **w, int n, int *oom);

#endif
