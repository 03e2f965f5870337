/* progress.h - progress of long jobs on stderr: count, rate, ETA.
 * On a terminal one line is redrawn at most 10 times a second; otherwise (logs, CI) a
 * plain line every 30 seconds, so a long job in a log still shows it is alive, and
 * av_progress_done writes one summary line. */
#ifndef AV_ENGINE_PROGRESS_H
#define AV_ENGINE_PROGRESS_H
#include <stdint.h>

typedef struct {
    char label[64];
    char unit[16];
    int64_t total, done;
    int64_t base;           /* done before this process started (a resumed job): not in the rate */
    double start, last_draw;
    int tty;
} av_progress;

void av_progress_start(av_progress *p, const char *label, const char *unit, int64_t total);
/* A resumed job: `already` of the total were done by an earlier run. */
void av_progress_resume(av_progress *p, int64_t already);
void av_progress_add(av_progress *p, int64_t n);
/* Prints the final line ("label: N unit in S s (R unit/s)") plus an optional note. */
void av_progress_done(av_progress *p, const char *note);
#endif
