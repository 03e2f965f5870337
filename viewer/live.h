/* live.h - `attnviz view --live`: one head's t-SNE or UMAP run in a worker thread
 * while the viewer shows the points moving.
 *
 * The worker owns the projection; every `every` iterations its callback copies the
 * current Y into a shared buffer under a mutex (the back half of a double buffer) and
 * bumps a sequence number. The render thread calls av_live_poll once per frame, which
 * copies the newest Y out under the same mutex only when the sequence moved, so the
 * worker never waits on drawing and the viewer never sees a half-written frame.
 *
 * The projection runs on the device opts.device names, through that device's projection
 * table (kernels/project.h): on the GPU every published iteration is downloaded to the
 * host first. Sharing the viewer's position buffer with CUDA
 * (cudaGraphicsGLRegisterBuffer) would save that copy (see av_live_poll's comment); the
 * mutex/sequence protocol would stay the same.
 *
 * av_live owns its thread, its copy of the normalised cloud X and both Y buffers;
 * av_live_free joins the thread (waiting for the projection to finish: t-SNE and UMAP
 * have no cancel hook) and frees them. The av_run it was started from is only read
 * during av_live_start, and again by av_live_save (on the caller's thread). */
#ifndef AV_VIEWER_LIVE_H
#define AV_VIEWER_LIVE_H
#include <pthread.h>
#include <stdint.h>
#include "engine/projectrun.h"

typedef struct av_live {
    av_project_opts opts;    /* method, dim, device and parameters (heads unused) */
    av_project_backend be;   /* the projections opts picks (av_project_backend_of) */
    const char *backend;     /* the name of the one running the method ("cpu", "cuda") */
    char note[160];          /* "" or which of the device's projections the CPU stands in for */
    int layer, head;
    int64_t n;               /* points: 2T */
    int d;
    float *X;                /* [n, d] normalised cloud (kept for the quality figures of a save) */
    float scale;             /* av_normalize_qk's scale */
    int total;               /* iterations (t-SNE) or epochs (UMAP) the run will make */
    pthread_t thread;
    int started;
    pthread_mutex_t mu;      /* guards everything below */
    float *shared;           /* [n, dim] newest Y published by the worker */
    int64_t seq;             /* bumped on every publish */
    int iter;                /* iteration of `shared` */
    double kl;               /* KL at that iteration (NaN for UMAP) */
    double t0, t_iter;       /* start, and when `iter` was published (av_now) */
    int done, failed;
    char err[512];
} av_live;

/* Reads head (layer, head) of the run, normalises it as `attnviz project` does and
 * starts the worker. o->method must be t-SNE or UMAP. */
int av_live_start(av_live *lv, const av_run *r, const av_project_opts *o, int layer, int head);

/* Copies the newest Y into Y [n, dim] when it is newer than *seen (then updates *seen
 * and returns 1), else returns 0. Also reports iteration, KL, iterations per second
 * and whether the run has finished (done: 1 ok, -1 failed, 0 running). */
int av_live_poll(av_live *lv, int64_t *seen, float *Y, int *iter, double *kl, double *rate, int *done);

/* Once done: records the final Y in the run's proj/ through av_project_save_head. */
int av_live_save(av_live *lv, av_run *r);

void av_live_free(av_live *lv);
#endif
