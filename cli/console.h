/* console.h - how the commands show the engine's work: the av_context (engine/context.h)
 * they hand to a job, printing on stderr.
 *
 *   info      "attnviz <cmd>: <line>"            left out with --quiet
 *   warning   "attnviz <cmd>: warning: <line>"   always
 *   detail    "<cmd>: <line>"                    only when stderr is not a terminal (a
 *                                                log), where no live bar shows it; not quiet
 *   progress  count, rate and ETA. On a terminal one line is redrawn at most 10 times a
 *             second; otherwise (logs, CI) a plain line every 30 seconds, so a long job
 *             in a log still shows it is alive. The end writes one summary line,
 *             "<label>: N <unit> in S s (R <unit>/s)[; note]". Left out with --quiet.
 * Under MPI only rank 0 speaks (the engine reports the whole job's progress there); the
 * other processes' consoles say nothing. The context's stop flag is av_cli_stop (cli/signals.h). One console per job; it holds
 * no resources. */
#ifndef AV_CLI_CONSOLE_H
#define AV_CLI_CONSOLE_H
#include "engine/context.h"

typedef struct {
    av_context ctx;         /* what the engine gets; its user is this console */
    const char *cmd;        /* the name in the lines: "extract", "project" */
    int quiet;
    int tty;                /* stderr is a terminal */
    int mute;               /* a process of an MPI job other than rank 0 */
    double start, last_draw;
} av_console;

void av_console_init(av_console *c, const char *cmd, int quiet);
#endif
