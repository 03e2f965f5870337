/* cli.h - the attnviz subcommands and what they share.
 *
 * Each subcommand lives in cli/cmd_<name>.c as `int av_cmd_<name>(int argc, char **argv)`
 * (argv[0] is the subcommand's name) and returns the process exit status:
 *   0 success, 2 bad usage or bad input (after printing ONE line to stderr), 1 internal.
 * Options are parsed with getopt_long (the shared ones: cli/options.h); every subcommand
 * answers --help on stdout. `run` strings together the jobs below, which call the engine
 * and print what the single commands print. */
#ifndef AV_CLI_CLI_H
#define AV_CLI_CLI_H
#include "cli/options.h"

int av_cmd_run(int argc, char **argv);
int av_cmd_extract(int argc, char **argv);
int av_cmd_project(int argc, char **argv);
int av_cmd_stats(int argc, char **argv);
int av_cmd_render(int argc, char **argv);
int av_cmd_view(int argc, char **argv);
int av_cmd_info(int argc, char **argv);
int av_cmd_synth(int argc, char **argv);

/* ---- the jobs (each returns the exit status; 2 after printing the error) ----------- */
/* cmd_extract.c: chooses the device (e->opts.device; its line is shown once the inputs
 * are known to be good), extracts with progress, and stops cleanly on Ctrl-C, TERM or
 * HUP: the checkpoint is written and the process ends by the signal. */
int av_cli_extract_job(const char *model, const char *data, const char *out, av_cli_extract *e,
                       av_extract_result *res);
/* cmd_project.c: projects the opened run; Ctrl-C, TERM or HUP end the process with a
 * line naming what is kept and the command that resumes, `attnviz project` followed by
 * args[0..nargs) (quoted where needed). */
int av_cli_project_job(av_run *r, const av_project_opts *o, int quiet, int nargs, char **args);
/* cmd_stats.c: computes and saves the statistics, prints them in format on stdout. */
int av_cli_stats_job(const char *run_dir, const char *format, const char *heads);
/* cmd_view.c: the viewer window on a run, as `attnviz view RUN` opens it. */
int av_cli_view_job(const char *run_dir);

/* ---- messages and values ------------------------------------------------------------ */
/* Prints "attnviz <cmd>: <message>" on stderr and returns 2 (under MPI rank 0 alone
 * says it: every process runs the same command on the same inputs). */
int av_cli_fail(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "attnviz: <av_last_error()>" on stderr and returns 2; under MPI, an error the
 * processes agreed on (engine/dist.h) only on rank 0. */
int av_cli_fail_last(void);
/* Usage error: "attnviz <cmd>: <message> (see attnviz <cmd> --help)", returns 2 (under
 * MPI said by rank 0 alone: every process parses the same argv). */
int av_cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Parses a whole positive int / double option value; 2 on failure after printing. */
int av_cli_int(const char *cmd, const char *opt, const char *s, long lo, long hi, long *out);
int av_cli_double(const char *cmd, const char *opt, const char *s, double lo, double hi, double *out);
/* Parses a size: bytes, or a number with K, M, G or T (binary units, "B" optional). */
int av_cli_bytes(const char *cmd, const char *opt, const char *s, int64_t *out);
/* Resets getopt state before a subcommand parses its argv. */
void av_cli_reset_getopt(void);
#endif
