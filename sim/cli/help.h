/*
 * help.h - the usage and help texts of tcpdemux (help.c), and the exit
 * statuses that `tcpdemux help exit` tells.
 *
 * Path: main() -> help_command(), or
 *       main() -> cmd_X() -> cli_parse_run_opts() -> help_print_usage().
 */
#ifndef TCPDEMUX_CLI_HELP_H
#define TCPDEMUX_CLI_HELP_H

/* The exit statuses besides 0 (help_exit says what each means). */
#define EXIT_CHECK 1
#define EXIT_USAGE 2

/* tcpdemux --help, and each command's --help (help_print_usage() knows them by address). */
extern const char help_usage_main[];
extern const char help_usage_demo[];
extern const char help_usage_replay[];
extern const char help_usage_script[];
extern const char help_usage_synth[];
extern const char help_usage_live[];

/* Prints a command's --help text (one of help_usage_*) with what it lists from elsewhere. */
void help_print_usage(const char *usage);

/* tcpdemux help [TOPIC], argv[0] being "help": 0, or EXIT_USAGE (message printed). */
int help_command(int argc, char **argv);

#endif
