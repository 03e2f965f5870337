/* live.h - `attnviz view --live`: one head's t-SNE or UMAP, a job the viewer polls.
 *
 * A worker thread runs the projection's own iteration loop (kernels/tsne/tsne_driver.c,
 * the UMAP epochs) on the device opts.device names, through that device's projection
 * table (kernels/project.h). Every iteration it publishes the positions into a triple
 * buffer: three slots, one the worker writes, one ready, one the viewer holds. Publishing
 * swaps the written slot with the ready one under a mutex and never waits for the
 * viewer; av_live_take, called by the viewer once per frame, swaps the ready slot with
 * the one it holds when a newer one is there. So the iteration loop never waits for the
 * display, the viewer always gets the newest finished iteration, and a slot the viewer
 * holds is not written until it takes another.
 *
 * Where the positions live:
 *  - host slots: the CPU projection (and a GPU one whose table has no device hook)
 *    hands each iteration's Y [n, dim] on the host; publishing copies it into the
 *    written slot. That copy is the only one: the viewer draws from the slot it holds
 *    (av_vdata_live_update keeps a pointer, the GL upload reads the slot).
 *  - device slots (kernels/backend/live_gpu.h): a GPU projection hands its device array
 *    with the stream it is ready on; publishing enqueues a device copy into the written
 *    slot on that stream, so neither the device nor the loop waits. The viewer then
 *    writes the slot it takes straight into its GL vertex buffer (CUDA-OpenGL interop,
 *    av_live_gpu_to_gl), or where that is impossible downloads it once into the host
 *    slot of the same index (av_live_take does: one device-to-host copy per frame).
 *
 * av_live owns its thread, its copy of the normalised cloud X, the slots and the final
 * result; av_live_free joins the thread (waiting for the projection to finish: t-SNE
 * and UMAP have no cancel hook) and frees them. The av_run it was started from is only
 * read during av_live_start, and again by av_live_save (on the caller's thread). */
#ifndef AV_VIEWER_LIVE_H
#define AV_VIEWER_LIVE_H
#include <pthread.h>
#include <stdint.h>
#include "engine/projectrun.h"
#include "kernels/backend/live_gpu.h"

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
    av_live_gpu *gpu;        /* device slots, or NULL: the worker publishes on the host */
    float *host[3];          /* [n, dim] host slots */
    float *result;           /* [n, dim] the finished projection (worker's, read once done) */
    pthread_t thread;
    int started;
    pthread_mutex_t mu;      /* guards everything below */
    int w, ready, held;      /* slot indices: the worker's, the newest published, the viewer's */
    int ready_on_dev;        /* the ready slot's positions are on the device (device slots) */
    int64_t seq;             /* bumped on every publish */
    int iter;                /* iteration of the ready slot */
    double kl;               /* KL at that iteration (NaN for UMAP and device frames) */
    double t0, t_iter;       /* start, and when `iter` was published (av_now) */
    double publish_secs;     /* the worker's time in publishing (the host copy, or enqueueing the device one) */
    int64_t published;       /* iterations published */
    int done, failed;
    char err[512];
} av_live;

/* Reads head (layer, head) of the run, normalises it as `attnviz project` does and
 * starts the worker. o->method must be t-SNE or UMAP. */
int av_live_start(av_live *lv, const av_run *r, const av_project_opts *o, int layer, int head);

/* The same on a cloud X [n, d] the caller already has (copied; used as it is, no
 * normalisation), for benchmarks: layer and head 0, nothing to save it into. */
int av_live_start_cloud(av_live *lv, const float *X, int64_t n, int d, const av_project_opts *o);

/* What the viewer holds after av_live_take. */
typedef struct {
    int slot;                /* the held slot, -1 before the first publish */
    int on_device;           /* its positions are in device slot `slot` only (host is stale) */
    int iter;                /* iteration, KL, iterations per second of the newest publish */
    double kl, rate;
    int done;                /* 1 finished, -1 failed, 0 running */
} av_live_frame;

/* Takes the newest published iteration when it is newer than *seen (updates *seen and
 * returns 1; else 0), and always fills f. With want_host, a frame that is on the device
 * is downloaded into host slot f->slot (one copy) and f->on_device cleared; without,
 * the caller writes it where it wants with av_live_gpu_to_gl(lv->gpu, f->slot, ...).
 * AV_ERR: the download failed. The host slot f->slot stays the caller's until the next
 * take. */
int av_live_take(av_live *lv, int64_t *seen, int want_host, av_live_frame *f);

/* Once done: records the final Y in the run's proj/ through av_project_save_head. */
int av_live_save(av_live *lv, av_run *r);

void av_live_free(av_live *lv);
#endif
