/* console.c - see console.h. */
#include "cli/console.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "base/util.h"
#include "cli/signals.h"
#include "engine/dist.h"

static void on_log(void *user, av_log_level level, const char *line) {
    const av_console *c = user;
    if (c->mute) return;
    if (level == AV_LOG_WARN) fprintf(stderr, "attnviz %s: warning: %s\n", c->cmd, line);
    else if (c->quiet) return;
    else if (level == AV_LOG_INFO) fprintf(stderr, "attnviz %s: %s\n", c->cmd, line);
    else if (!c->tty) fprintf(stderr, "%s: %s\n", c->cmd, line);
}

static void fmt_secs(char *out, size_t n, double s) {
    if (s < 60) snprintf(out, n, "%.0fs", s);
    else if (s < 3600) snprintf(out, n, "%dm%02ds", (int)(s / 60), (int)s % 60);
    else snprintf(out, n, "%dh%02dm", (int)(s / 3600), (int)(s / 60) % 60);
}

static void draw(av_console *c, const av_progress_report *r) {
    double now = av_now();
    if (now - c->last_draw < (c->tty ? 0.1 : 30.0) && r->done < r->total) return;
    if (!c->tty && r->done >= r->total) return;   /* the summary says it */
    c->last_draw = now;
    double el = now - c->start, rate = el > 0 ? (double)(r->done - r->base) / el : 0;
    char eta[32] = "?";
    if (rate > 0 && r->total > 0) fmt_secs(eta, sizeof eta, (double)(r->total - r->done) / rate);
    int width = 30, fill = r->total > 0 ? (int)(width * (double)r->done / (double)r->total) : 0;
    char bar[32];
    for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
    bar[width] = 0;
    fprintf(stderr, "%s%s [%s] %lld/%lld %s, %.0f %s/s, ETA %s%s", c->tty ? "\r" : "", r->label, bar,
            (long long)r->done, (long long)r->total, r->unit, rate, r->unit, eta, c->tty ? "   " : "\n");
    fflush(stderr);
}

static void summary(const av_console *c, const av_progress_report *r) {
    double el = av_now() - c->start;
    if (c->tty) fputc('\r', stderr);
    /* "1 head", not "1 heads": units are plural nouns */
    long long n = (long long)(r->done - r->base);
    char unit[16];
    snprintf(unit, sizeof unit, "%s", r->unit);
    size_t ul = strlen(unit);
    if (n == 1 && ul > 1 && unit[ul - 1] == 's') unit[ul - 1] = 0;
    fprintf(stderr, "%s: %lld %s in %.1fs (%.0f %s/s)%s%s%s\n", r->label, n, unit, el, el > 0 ? (double)n / el : 0.0,
            r->unit, r->note ? "; " : "", r->note ? r->note : "", c->tty ? "                    " : "");
}

static void on_progress(void *user, const av_progress_report *r) {
    av_console *c = user;
    if (c->quiet || c->mute) return;
    if (r->phase == AV_PROGRESS_START) c->start = c->last_draw = av_now();
    else if (r->phase == AV_PROGRESS_STEP) draw(c, r);
    else summary(c, r);
}

void av_console_init(av_console *c, const char *cmd, int quiet) {
    memset(c, 0, sizeof *c);
    c->cmd = cmd;
    c->quiet = quiet;
    c->tty = isatty(2);
    c->mute = av_dist_rank() != 0;
    c->ctx.stop = &av_cli_stop;
    c->ctx.log = on_log;
    c->ctx.progress = on_progress;
    c->ctx.user = c;
}
