/* parallel.h - a parallel loop for the CPU renderer: plain threads made for the call and
 * joined before it returns. Not OpenMP: its idle threads spin between the many short
 * parallel sections of a frame, which on a shared machine cost ten times the work
 * (1.1 s of CPU instead of 0.08 s for a 1M-point matrix under load). Nothing owned. */
#ifndef AV_VIEWER_PARALLEL_H
#define AV_VIEWER_PARALLEL_H

/* Threads the loop uses: OpenMP's setting (OMP_NUM_THREADS, else the CPUs), at most 64. */
int av_parallel_threads(void);
/* Calls fn(ctx, i) for i = 0 .. n-1, spread over av_parallel_threads() threads
 * (tasks taken in order as threads free up); returns when all are done. */
void av_parallel_for(int n, void (*fn)(void *ctx, int i), void *ctx);
#endif
