/* signals.c - see signals.h. */
#include "cli/signals.h"

#include <string.h>
#include <unistd.h>

volatile sig_atomic_t av_cli_stop;

static const int stop_signals[3] = {SIGINT, SIGTERM, SIGHUP};
static char fatal_line[4608];
static size_t fatal_len;

static void on_stop(int sig) { av_cli_stop = sig; }

static void on_fatal(int sig) {
    ssize_t w = write(2, fatal_line, fatal_len);
    (void)w;
    signal(sig, SIG_DFL);
    raise(sig);
}

static void install(void (*handler)(int), int flags, av_cli_signals *saved) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < 3; i++) {
        sigaction(stop_signals[i], NULL, &saved->old[i]);
        if (saved->old[i].sa_handler != SIG_IGN) sigaction(stop_signals[i], &sa, NULL);
    }
}

void av_cli_catch_stop(av_cli_signals *saved) {
    av_cli_stop = 0;
    /* SA_RESETHAND: after the first signal the default action is back, so a second
     * Ctrl-C ends a run that is slow to reach its next batch */
    install(on_stop, SA_RESETHAND, saved);
}

void av_cli_catch_fatal(const char *line, av_cli_signals *saved) {
    size_t n = strlen(line);
    if (n >= sizeof fatal_line) n = sizeof fatal_line - 1;
    memcpy(fatal_line, line, n);
    fatal_line[n] = 0;
    fatal_len = n;
    install(on_fatal, 0, saved);
}

void av_cli_restore_signals(const av_cli_signals *saved) {
    for (int i = 0; i < 3; i++) sigaction(stop_signals[i], &saved->old[i], NULL);
}

void av_cli_end_if_stopped(void) {
    int sig = av_cli_stop;
    if (!sig) return;
    signal(sig, SIG_DFL);
    raise(sig);
}
