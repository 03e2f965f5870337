/* progress.c - see progress.h. */
#include "engine/progress.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "base/util.h"

void av_progress_start(av_progress *p, const char *label, const char *unit, int64_t total) {
    snprintf(p->label, sizeof p->label, "%s", label);
    snprintf(p->unit, sizeof p->unit, "%s", unit);
    p->total = total;
    p->done = p->base = 0;
    p->start = p->last_draw = av_now();
    p->tty = isatty(2);
}

static void fmt_secs(char *out, size_t n, double s) {
    if (s < 60) snprintf(out, n, "%.0fs", s);
    else if (s < 3600) snprintf(out, n, "%dm%02ds", (int)(s / 60), (int)s % 60);
    else snprintf(out, n, "%dh%02dm", (int)(s / 3600), (int)(s / 60) % 60);
}

void av_progress_resume(av_progress *p, int64_t already) { p->done = p->base = already; }

void av_progress_add(av_progress *p, int64_t n) {
    p->done += n;
    double now = av_now();
    if (now - p->last_draw < (p->tty ? 0.1 : 30.0) && p->done < p->total) return;
    if (!p->tty && p->done >= p->total) return;   /* av_progress_done says it */
    p->last_draw = now;
    double el = now - p->start, rate = el > 0 ? (double)(p->done - p->base) / el : 0;
    char eta[32] = "?";
    if (rate > 0 && p->total > 0) fmt_secs(eta, sizeof eta, (double)(p->total - p->done) / rate);
    int width = 30, fill = p->total > 0 ? (int)(width * (double)p->done / (double)p->total) : 0;
    char bar[32];
    for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
    bar[width] = 0;
    fprintf(stderr, "%s%s [%s] %lld/%lld %s, %.0f %s/s, ETA %s%s", p->tty ? "\r" : "", p->label, bar,
            (long long)p->done, (long long)p->total, p->unit, rate, p->unit, eta, p->tty ? "   " : "\n");
    fflush(stderr);
}

void av_progress_done(av_progress *p, const char *note) {
    double el = av_now() - p->start;
    if (p->tty) fputc('\r', stderr);
    /* "1 head", not "1 heads": units are plural nouns */
    long long n = (long long)(p->done - p->base);
    char unit[16];
    snprintf(unit, sizeof unit, "%s", p->unit);
    size_t ul = strlen(unit);
    if (n == 1 && ul > 1 && unit[ul - 1] == 's') unit[ul - 1] = 0;
    fprintf(stderr, "%s: %lld %s in %.1fs (%.0f %s/s)%s%s%s\n", p->label, n, unit,
            el, el > 0 ? (double)n / el : 0.0, p->unit, note ? "; " : "",
            note ? note : "", p->tty ? "                    " : "");
}
