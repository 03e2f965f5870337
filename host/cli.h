/* cli.h - the attnviz subcommands and what they share.
 *
 * Each subcommand lives in host/cmd_<name>.c as `int av_cmd_<name>(int argc, char **argv)`
 * (argv[0] is the subcommand's name) and returns the process exit status:
 *   0 success, 2 bad usage or bad input (after printing ONE line to stderr), 1 internal.
 * Options are parsed with getopt_long; every subcommand answers --help on stdout. */
#ifndef AV_HOST_CLI_H
#define AV_HOST_CLI_H

int av_cmd_run(int argc, char **argv);
int av_cmd_extract(int argc, char **argv);
int av_cmd_project(int argc, char **argv);
int av_cmd_stats(int argc, char **argv);
int av_cmd_render(int argc, char **argv);
int av_cmd_view(int argc, char **argv);
int av_cmd_info(int argc, char **argv);
int av_cmd_synth(int argc, char **argv);

/* Prints "attnviz <cmd>: <message>" on stderr and returns 2. */
int av_cli_fail(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "attnviz: <av_last_error()>" on stderr and returns 2. */
int av_cli_fail_last(void);
/* Usage error: "attnviz <cmd>: <message> (see attnviz <cmd> --help)", returns 2. */
int av_cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Parses a whole positive int / double option value; 2 on failure after printing. */
int av_cli_int(const char *cmd, const char *opt, const char *s, long lo, long hi, long *out);
int av_cli_double(const char *cmd, const char *opt, const char *s, double lo, double hi, double *out);
/* Resets getopt state before a subcommand parses its argv. */
void av_cli_reset_getopt(void);
#endif
