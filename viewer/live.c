/* live.c - the live projection worker (see live.h). */
#include "viewer/live.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "base/util.h"
#include "engine/normalize.h"
#include "kernels/umap/umap.h"

/* Called by av_tsne / av_umap on the worker thread with the current embedding. */
static void publish(av_live *lv, int iter, const float *Y, double kl) {
    pthread_mutex_lock(&lv->mu);
    memcpy(lv->shared, Y, (size_t)lv->n * lv->opts.dim * sizeof(float));
    lv->iter = iter;
    lv->kl = kl;
    lv->t_iter = av_now();
    lv->seq++;
    pthread_mutex_unlock(&lv->mu);
}
static void on_tsne(void *user, int iter, const float *Y, int64_t n, double kl) { (void)n; publish(user, iter, Y, kl); }
static void on_umap(void *user, int epoch, const float *Y, int64_t n) { (void)n; publish(user, epoch, Y, NAN); }

static void *worker(void *arg) {
    av_live *lv = arg;
    float *Y = malloc((size_t)lv->n * lv->opts.dim * sizeof *Y);
    int rc = AV_ERR;
    double kl = NAN;
    if (Y) {
        if (lv->opts.method == AV_PROJ_TSNE) {
            av_tsne_params p = lv->opts.tsne;
            p.dim = lv->opts.dim;
            p.on_iter = on_tsne;
            p.user = lv;
            p.every = 1;
            rc = lv->be.tsne(lv->X, lv->n, lv->d, &p, Y, &kl);
        } else {
            av_umap_params p = lv->opts.umap;
            p.dim = lv->opts.dim;
            p.on_epoch = on_umap;
            p.user = lv;
            p.every = 1;
            rc = lv->be.umap(lv->X, lv->n, lv->d, &p, Y);
        }
    }
    pthread_mutex_lock(&lv->mu);
    if (rc == AV_OK) {
        /* the final Y (after the last callback the algorithm may still have moved) */
        memcpy(lv->shared, Y, (size_t)lv->n * lv->opts.dim * sizeof(float));
        lv->iter = lv->total;
        if (!isnan(kl)) lv->kl = kl;
        lv->t_iter = av_now();
        lv->seq++;
        lv->done = 1;
    } else {
        /* av_last_error is per thread: copy it here, on the thread that set it */
        snprintf(lv->err, sizeof lv->err, "live %s of head %d:%d: %s", av_proj_method_name(lv->opts.method),
                 lv->layer, lv->head, Y ? av_last_error() : "out of memory");
        lv->failed = 1;
    }
    pthread_mutex_unlock(&lv->mu);
    free(Y);
    return NULL;
}

int av_live_start(av_live *lv, const av_run *r, const av_project_opts *o, int layer, int head) {
    memset(lv, 0, sizeof *lv);
    if (o->method != AV_PROJ_TSNE && o->method != AV_PROJ_UMAP)
        return av_fail("--live runs t-SNE or UMAP (PCA has no iterations to watch)");
    if (o->dim != 2 && o->dim != 3) return av_fail("--dim must be 2 or 3, got %d", o->dim);
    if (layer < 0 || layer >= r->num_layers || head < 0 || head >= r->num_heads)
        return av_fail("%s: no head %d:%d (the model has %d layers x %d heads)", r->dir, layer, head, r->num_layers,
                       r->num_heads);
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
    int64_t T = r->num_tokens;
    lv->n = 2 * T;
    lv->d = r->head_dim;
    lv->kl = NAN;
    lv->total = o->method == AV_PROJ_TSNE ? o->tsne.iters : av_umap_epochs(lv->n, o->umap.epochs);
    if (T < 2) return av_fail("%s: the run has %lld tokens; a projection needs at least 2", r->dir, (long long)T);
    lv->X = av_malloc((size_t)lv->n * lv->d * sizeof *lv->X);
    lv->shared = av_malloc((size_t)lv->n * o->dim * sizeof *lv->shared);
    if (!lv->X || !lv->shared) goto fail;
    if (av_run_head_q(r, layer, head, lv->X) != AV_OK || av_run_head_k(r, layer, head, lv->X + T * lv->d) != AV_OK) goto fail;
    for (int64_t i = 0; i < lv->n * lv->d; i++)
        if (!isfinite(lv->X[i])) {
            av_fail("%s: head %d:%d has non-finite (NaN/Inf) q/k values; refusing to project it", r->dir, layer, head);
            goto fail;
        }
    lv->scale = 1;
    av_normalize_qk(lv->X, T, lv->d, o->translate, o->scale, &lv->scale);
    for (int64_t i = 0; i < lv->n * o->dim; i++) lv->shared[i] = NAN; /* nothing to show before iteration 1 */
    if (pthread_mutex_init(&lv->mu, NULL)) { av_fail("cannot create a mutex"); goto fail; }
    lv->t0 = lv->t_iter = av_now();
    if (pthread_create(&lv->thread, NULL, worker, lv)) {
        pthread_mutex_destroy(&lv->mu);
        av_fail("cannot start the projection thread");
        goto fail;
    }
    lv->started = 1;
    return AV_OK;
fail:
    free(lv->X);
    free(lv->shared);
    memset(lv, 0, sizeof *lv);
    return AV_ERR;
}

/* With a GPU projection this copy is where CUDA-OpenGL sharing would go: register the
 * viewer's position buffer once (cudaGraphicsGLRegisterBuffer), and have the worker
 * write Y straight into it between cudaGraphicsMapResources/Unmap, so only the sequence
 * number crosses threads. As it is, the copy is cheap next to an iteration. */
int av_live_poll(av_live *lv, int64_t *seen, float *Y, int *iter, double *kl, double *rate, int *done) {
    int fresh = 0;
    pthread_mutex_lock(&lv->mu);
    if (lv->seq != *seen) {
        memcpy(Y, lv->shared, (size_t)lv->n * lv->opts.dim * sizeof(float));
        *seen = lv->seq;
        fresh = 1;
    }
    *iter = lv->iter;
    *kl = lv->kl;
    double dt = lv->t_iter - lv->t0;
    *rate = dt > 0 ? lv->iter / dt : 0;
    *done = lv->done ? 1 : lv->failed ? -1 : 0;
    pthread_mutex_unlock(&lv->mu);
    return fresh;
}

int av_live_save(av_live *lv, av_run *r) {
    pthread_mutex_lock(&lv->mu);
    int done = lv->done, iter = lv->iter;
    double kl = lv->kl, secs = lv->t_iter - lv->t0;
    pthread_mutex_unlock(&lv->mu);
    if (!done) return av_fail("the projection is still running (iteration %d of %d); save when it is done", iter, lv->total);
    /* done: the worker has finished writing, shared is final and no longer touched */
    return av_project_save_head(r, &lv->opts, lv->layer, lv->head, lv->X, lv->shared, lv->scale, kl, secs);
}

void av_live_free(av_live *lv) {
    if (lv->started) {
        pthread_join(lv->thread, NULL);
        pthread_mutex_destroy(&lv->mu);
    }
    free(lv->X);
    free(lv->shared);
    memset(lv, 0, sizeof *lv);
}
