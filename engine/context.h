/* context.h - what the caller of a long engine job (extract, project) hands it: a stop
 * flag, and where its informational lines and its progress go. The engine never installs
 * signal handlers, parses argv or prints; the command line (cli/console.h) implements
 * these callbacks on stderr and sets the stop flag from its signal handlers.
 *
 * Every member may be NULL (and a NULL av_context is a silent job that is never
 * stopped). Calls into log and progress are serialised by the engine (one at a time,
 * possibly from a worker thread); the strings they get live only for the call. The
 * caller owns the context and keeps it alive while a job uses it. */
#ifndef AV_ENGINE_CONTEXT_H
#define AV_ENGINE_CONTEXT_H
#include <signal.h>
#include <stdint.h>

typedef enum {
    AV_LOG_INFO,    /* what the job is doing or found ("resuming run.partial: ...") */
    AV_LOG_WARN,    /* something the user should act on; shown even when quiet */
    AV_LOG_DETAIL,  /* per-step news a live progress bar already shows (a head done) */
} av_log_level;

typedef enum {
    AV_PROGRESS_START,  /* a job begins: the total is known, the clock starts */
    AV_PROGRESS_STEP,   /* more units done */
    AV_PROGRESS_END,    /* the job is over: a summary, with note */
} av_progress_phase;

typedef struct {
    av_progress_phase phase;
    const char *label;  /* what is running: "extract", "tsne-2d head 3:1 (4/144 done)" */
    const char *unit;   /* a plural noun: "tokens", "iters", "heads" */
    int64_t done;       /* units done, base included */
    int64_t total;
    int64_t base;       /* units an earlier, interrupted run did (resumed): not this run's rate */
    const char *note;   /* AV_PROGRESS_END: what the summary adds, or NULL */
} av_progress_report;

typedef struct {
    /* set (to anything non-zero, e.g. the signal's number) to ask the job to stop at its
     * next safe point: extract stops after the current batch with a checkpoint */
    const volatile sig_atomic_t *stop;
    /* one line, no newline and no program name: the caller adds its own prefix */
    void (*log)(void *user, av_log_level level, const char *line);
    void (*progress)(void *user, const av_progress_report *r);
    void *user;
} av_context;

/* ---- the engine's side ------------------------------------------------------------- */

/* A line to ctx->log (printf-style); nothing without one. */
void av_log(const av_context *ctx, av_log_level level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Whether the caller asked the job to stop. */
int av_stop_requested(const av_context *ctx);

/* A job's progress as reported to ctx->progress: the counts, the label and the unit. */
typedef struct {
    const av_context *ctx;
    char label[64];
    char unit[16];
    int64_t total, done, base;
} av_progress;

void av_progress_start(av_progress *p, const av_context *ctx, const char *label, const char *unit, int64_t total,
                       int64_t base);
void av_progress_add(av_progress *p, int64_t n);
/* The closing report; note (may be NULL) is what the summary adds. */
void av_progress_end(av_progress *p, const char *note);
#endif
