/* live.c - the live projection job (see live.h). */
#include "viewer/live.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "base/util.h"
#include "engine/normalize.h"
#include "kernels/umap/umap.h"

/* The written slot becomes the ready one (swapped under the mutex: the worker gets the
 * old ready slot back to write next, never the one the viewer holds). */
static void publish_locked(av_live *lv, int iter, double kl, int on_dev) {
    int t = lv->ready;
    lv->ready = lv->w;
    lv->w = t;
    lv->ready_on_dev = on_dev;
    lv->iter = iter;
    lv->kl = kl;
    lv->t_iter = av_now();
    lv->seq++;
}

/* Called by av_tsne / av_umap on the worker thread with the current embedding on the
 * host: the one host copy of an iteration. The worker is the only writer of slot w, so
 * the copy needs no lock. */
static void publish_host(av_live *lv, int iter, const float *Y, double kl) {
    double t0 = av_now();
    memcpy(lv->host[lv->w], Y, (size_t)lv->n * lv->opts.dim * sizeof(float));
    double dt = av_now() - t0;
    pthread_mutex_lock(&lv->mu);
    lv->publish_secs += dt;
    lv->published++;
    publish_locked(lv, iter, kl, 0);
    pthread_mutex_unlock(&lv->mu);
}
static void on_tsne(void *user, int iter, const float *Y, int64_t n, double kl) { (void)n; publish_host(user, iter, Y, kl); }
static void on_umap(void *user, int epoch, const float *Y, int64_t n) { (void)n; publish_host(user, epoch, Y, NAN); }

/* The GPU projection's device array: a device copy into slot w enqueued on its stream. */
static void on_device(void *user, int iter, const float *pos, int64_t axis_stride, int64_t point_stride, void *stream) {
    av_live *lv = user;
    double t0 = av_now();
    if (av_live_gpu_put(lv->gpu, lv->w, pos, axis_stride, point_stride, stream) != AV_OK) return; /* frame skipped */
    double dt = av_now() - t0;
    pthread_mutex_lock(&lv->mu);
    lv->publish_secs += dt;
    lv->published++;
    publish_locked(lv, iter, NAN, 1);
    pthread_mutex_unlock(&lv->mu);
}

static void *worker(void *arg) {
    av_live *lv = arg;
    int rc;
    double kl = NAN;
    if (lv->opts.method == AV_PROJ_TSNE) {
        av_tsne_params p = lv->opts.tsne;
        p.dim = lv->opts.dim;
        p.on_iter = on_tsne;
        p.on_iter_device = lv->gpu ? on_device : NULL;
        p.user = lv;
        p.every = 1;
        rc = lv->be.tsne(lv->X, lv->n, lv->d, &p, lv->result, &kl);
    } else {
        av_umap_params p = lv->opts.umap;
        p.dim = lv->opts.dim;
        p.on_epoch = on_umap;
        p.on_epoch_device = lv->gpu ? on_device : NULL;
        p.user = lv;
        p.every = 1;
        rc = lv->be.umap(lv->X, lv->n, lv->d, &p, lv->result);
    }
    if (rc == AV_OK) {
        /* the final Y (after the last callback the algorithm may still have moved) */
        memcpy(lv->host[lv->w], lv->result, (size_t)lv->n * lv->opts.dim * sizeof(float));
        pthread_mutex_lock(&lv->mu);
        publish_locked(lv, lv->total, isnan(kl) ? lv->kl : kl, 0);
        lv->done = 1;
    } else {
        pthread_mutex_lock(&lv->mu);
        /* av_last_error is per thread: copy it here, on the thread that set it */
        snprintf(lv->err, sizeof lv->err, "live %s of head %d:%d: %s", av_proj_method_name(lv->opts.method),
                 lv->layer, lv->head, av_last_error());
        lv->failed = 1;
    }
    pthread_mutex_unlock(&lv->mu);
    return NULL;
}

static void free_buffers(av_live *lv) {
    if (lv->gpu) av_live_gpu_close(lv->gpu);
    free(lv->X);
    free(lv->result);
    for (int s = 0; s < 3; s++) free(lv->host[s]);
    memset(lv, 0, sizeof *lv);
}

/* The checks and the table, before anything is allocated. */
static int live_setup(av_live *lv, const av_project_opts *o, int64_t n, int d, int layer, int head) {
    memset(lv, 0, sizeof *lv);
    if (o->method != AV_PROJ_TSNE && o->method != AV_PROJ_UMAP)
        return av_fail("--live runs t-SNE or UMAP (PCA has no iterations to watch)");
    if (o->dim != 2 && o->dim != 3) return av_fail("--dim must be 2 or 3, got %d", o->dim);
    lv->opts = *o;
    lv->opts.heads = NULL;
    if (av_project_backend_of(o, &lv->be, lv->note, sizeof lv->note) != AV_OK) {
        memset(lv, 0, sizeof *lv);
        return AV_ERR;
    }
    const av_project_backend *cpu = av_project_backend_cpu();
    int on_cpu = o->method == AV_PROJ_TSNE ? lv->be.tsne == cpu->tsne : lv->be.umap == cpu->umap;
    lv->backend = on_cpu ? cpu->name : lv->be.name;
    lv->layer = layer;
    lv->head = head;
    lv->n = n;
    lv->d = d;
    lv->kl = NAN;
    lv->total = o->method == AV_PROJ_TSNE ? o->tsne.iters : av_umap_epochs(n, o->umap.epochs);
    size_t ny = (size_t)n * o->dim;
    lv->result = av_malloc(ny * sizeof(float));
    for (int s = 0; s < 3; s++) lv->host[s] = av_malloc(ny * sizeof(float));
    if (!lv->result || !lv->host[0] || !lv->host[1] || !lv->host[2]) {
        free_buffers(lv);
        return AV_ERR;
    }
    return AV_OK;
}

/* Starts the worker on lv->X (set up by the caller). */
static int live_go(av_live *lv) {
    /* the CUDA table's projection publishes on the device when device slots can be had;
     * else (no memory for them) it downloads every iteration as the CPU's hands it over */
    if (!strcmp(lv->backend, "cuda") && av_live_gpu_open(lv->n, lv->opts.dim, &lv->gpu) != AV_OK) {
        lv->gpu = NULL;
        av_clear_error();
    }
    lv->w = 0;
    lv->ready = 1;
    lv->held = 2;
    if (pthread_mutex_init(&lv->mu, NULL)) {
        free_buffers(lv);
        return av_fail("cannot create a mutex");
    }
    lv->t0 = lv->t_iter = av_now();
    if (pthread_create(&lv->thread, NULL, worker, lv)) {
        pthread_mutex_destroy(&lv->mu);
        free_buffers(lv);
        return av_fail("cannot start the projection thread");
    }
    lv->started = 1;
    return AV_OK;
}

int av_live_start(av_live *lv, const av_run *r, const av_project_opts *o, int layer, int head) {
    if (layer < 0 || layer >= r->num_layers || head < 0 || head >= r->num_heads) {
        memset(lv, 0, sizeof *lv);
        return av_fail("%s: no head %d:%d (the model has %d layers x %d heads)", r->dir, layer, head, r->num_layers,
                       r->num_heads);
    }
    int64_t T = r->num_tokens;
    if (T < 2) {
        memset(lv, 0, sizeof *lv);
        return av_fail("%s: the run has %lld tokens; a projection needs at least 2", r->dir, (long long)T);
    }
    if (live_setup(lv, o, 2 * T, r->head_dim, layer, head) != AV_OK) return AV_ERR;
    if (!(lv->X = av_malloc((size_t)lv->n * lv->d * sizeof *lv->X))) goto fail;
    if (av_run_head_q(r, layer, head, lv->X) != AV_OK || av_run_head_k(r, layer, head, lv->X + T * lv->d) != AV_OK) goto fail;
    for (int64_t i = 0; i < lv->n * lv->d; i++)
        if (!isfinite(lv->X[i])) {
            av_fail("%s: head %d:%d has non-finite (NaN/Inf) q/k values; refusing to project it", r->dir, layer, head);
            goto fail;
        }
    lv->scale = 1;
    av_normalize_qk(lv->X, T, lv->d, o->translate, o->scale, &lv->scale);
    return live_go(lv);
fail:
    free_buffers(lv);
    return AV_ERR;
}

int av_live_start_cloud(av_live *lv, const float *X, int64_t n, int d, const av_project_opts *o) {
    if (n < 4) {
        memset(lv, 0, sizeof *lv);
        return av_fail("a live projection needs at least 4 points, got %lld", (long long)n);
    }
    if (live_setup(lv, o, n, d, 0, 0) != AV_OK) return AV_ERR;
    if (!(lv->X = av_malloc((size_t)n * d * sizeof *lv->X))) {
        free_buffers(lv);
        return AV_ERR;
    }
    memcpy(lv->X, X, (size_t)n * d * sizeof *X);
    lv->scale = 1;
    return live_go(lv);
}

int av_live_take(av_live *lv, int64_t *seen, int want_host, av_live_frame *f) {
    int fresh = 0;
    pthread_mutex_lock(&lv->mu);
    if (lv->seq != *seen) {
        int t = lv->held;
        lv->held = lv->ready;
        lv->ready = t;
        *seen = lv->seq;
        f->on_device = lv->ready_on_dev;
        lv->ready_on_dev = 0;  /* the slot given back holds nothing newer */
        fresh = 1;
    }
    f->slot = lv->seq ? lv->held : -1;
    f->iter = lv->iter;
    f->kl = lv->kl;
    double dt = lv->t_iter - lv->t0;
    f->rate = dt > 0 ? lv->iter / dt : 0;
    f->done = lv->done ? 1 : lv->failed ? -1 : 0;
    pthread_mutex_unlock(&lv->mu);
    if (!fresh) return 0;
    if (f->on_device && want_host) {
        /* the held slot is the viewer's until its next take: no lock needed */
        if (av_live_gpu_to_host(lv->gpu, f->slot, lv->host[f->slot]) != AV_OK) return AV_ERR;
        f->on_device = 0;
    }
    return 1;
}

int av_live_save(av_live *lv, av_run *r) {
    pthread_mutex_lock(&lv->mu);
    int done = lv->done, iter = lv->iter;
    double kl = lv->kl, secs = lv->t_iter - lv->t0;
    pthread_mutex_unlock(&lv->mu);
    if (!done) return av_fail("the projection is still running (iteration %d of %d); save when it is done", iter, lv->total);
    /* done: the worker has finished, result is final and no longer touched */
    return av_project_save_head(r, &lv->opts, lv->layer, lv->head, lv->X, lv->result, lv->scale, kl, secs);
}

void av_live_free(av_live *lv) {
    if (lv->started) {
        pthread_join(lv->thread, NULL);
        pthread_mutex_destroy(&lv->mu);
    }
    free_buffers(lv);
}
