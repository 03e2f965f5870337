/* context.c - the engine's side of context.h. */
#include "engine/context.h"

#include <stdarg.h>
#include <stdio.h>

void av_log(const av_context *ctx, av_log_level level, const char *fmt, ...) {
    if (!ctx || !ctx->log) return;
    char line[4608];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    ctx->log(ctx->user, level, line);
}

int av_stop_requested(const av_context *ctx) { return ctx && ctx->stop && *ctx->stop; }

static void report(const av_progress *p, av_progress_phase phase, const char *note) {
    if (!p->ctx || !p->ctx->progress) return;
    av_progress_report r = {phase, p->label, p->unit, p->done, p->total, p->base, note};
    p->ctx->progress(p->ctx->user, &r);
}

void av_progress_start(av_progress *p, const av_context *ctx, const char *label, const char *unit, int64_t total,
                       int64_t base) {
    p->ctx = ctx;
    snprintf(p->label, sizeof p->label, "%s", label);
    snprintf(p->unit, sizeof p->unit, "%s", unit);
    p->total = total;
    p->done = p->base = base;
    report(p, AV_PROGRESS_START, NULL);
}

void av_progress_add(av_progress *p, int64_t n) {
    p->done += n;
    report(p, AV_PROGRESS_STEP, NULL);
}

void av_progress_end(av_progress *p, const char *note) { report(p, AV_PROGRESS_END, note); }
