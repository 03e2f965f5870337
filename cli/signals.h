/* signals.h - Ctrl-C, TERM and HUP during the long commands. One installer, two ways:
 *   - av_cli_catch_stop: for a job that stops cleanly when asked (extract: after the
 *     current batch, with a checkpoint). The first signal sets av_cli_stop, the stop flag
 *     of every console's context (cli/console.h); the handler then steps aside, so a
 *     second signal ends the process at once.
 *   - av_cli_catch_fatal: for a job whose finished work is already safe on disk
 *     (project: every head is an atomic file). The first signal writes one prepared line
 *     saying what is kept and how to go on, and ends the process by that signal.
 * Either way an ignored signal stays ignored (a shell keeps Ctrl-C from its background
 * jobs on purpose), and the process ends by the signal, so the shell sees 130 / 143. */
#ifndef AV_CLI_SIGNALS_H
#define AV_CLI_SIGNALS_H
#include <signal.h>

/* The signal that asked the current job to stop, 0 = none. */
extern volatile sig_atomic_t av_cli_stop;

typedef struct { struct sigaction old[3]; } av_cli_signals;

/* Clears av_cli_stop and catches SIGINT, SIGTERM and SIGHUP; saved gets what was there. */
void av_cli_catch_stop(av_cli_signals *saved);
/* Catches them so that the first one writes `line` (copied here: a handler may only
 * write()) and ends the process by that signal. */
void av_cli_catch_fatal(const char *line, av_cli_signals *saved);
void av_cli_restore_signals(const av_cli_signals *saved);
/* When av_cli_stop is set: ends the process by that signal (does not return). */
void av_cli_end_if_stopped(void);
#endif
