// tsne_run.cu - av_tsne_cuda and av_tsne_cuda_batch (project_cuda.h): av_tsne's
// pipeline with every stage on the GPU but the tiny ones. Per head: upload X, P on the
// device (tsne_affinities.cu), PCA on the device for the initialisation, which is then
// scaled and jittered on the host by the driver both devices share
// (kernels/tsne/tsne_driver.c: same seeded stream, so the GPU starts from the CPU's
// starting point), then the iterations (tsne_bh.cu) on the driver's schedule, all
// enqueued on the head's own stream without waiting (replayed as a CUDA graph of one
// iteration per phase): the host meets the device again only for on_iter reports and
// at the end (tree overflow check, final KL, download). A lone head runs the driver's
// loop (av_tsne_iterate); the batch enqueues iteration `it` of every head in turn, one
// stream each, so small heads fill the GPU together.
// A head whose tree kernels could not all be resident at once (TSNE_ERR_STALLED: another
// program on the GPU, or heads of other streams holding it) is run again from its start
// with one block per waiting kernel, which cannot stall: slower, the same algorithm.
#include "kernels/tsne/tsne_internal.cuh"

extern "C" {
#include "kernels/tsne/tsne.h"
}
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define BATCH_STREAMS AV_TSNE_CUDA_BATCH_STREAMS
// Reports a batch may have in flight before the host waits for the oldest
#define REPORT_RING 4

// The CPU's start (av_tsne_start_from_pca) from the GPU's PCA, returned structure-of-arrays.
static int initial_positions(av_proj_ctx *c, const float *dX, int64_t n, int d, int dim, uint64_t seed, float *Ysoa) {
    float *init = (float *)av_malloc((size_t)n * dim * sizeof(float));
    if (!init) return AV_ERR_NOMEM;
    float *dInit;
    int pca_ok = dim <= d && av_proj_new(c, &dInit, (size_t)n * dim) == AV_OK &&
                 av_pca_cuda_dev(c, dX, n, d, dim, dInit, NULL) == AV_OK &&
                 cudaMemcpyAsync(init, dInit, (size_t)n * dim * sizeof(float), cudaMemcpyDeviceToHost, c->s) == cudaSuccess &&
                 cudaStreamSynchronize(c->s) == cudaSuccess;
    double *Y = (double *)av_malloc((size_t)n * dim * sizeof(double));
    if (!Y) { free(init); return AV_ERR_NOMEM; }
    av_tsne_start_from_pca(init, pca_ok, n, dim, seed, Y);
    for (int64_t a = 0; a < n * dim; a++) Ysoa[(a % dim) * n + a / dim] = (float)Y[a];
    free(Y);
    free(init);
    cudaGetLastError();
    av_clear_error(); // a PCA that could not run only means a jitter start
    return AV_OK;
}

struct head {
    av_proj_ctx c;
    tsne_gpu g;
    double lr;
    cudaGraphExec_t graph[2];   // one iteration, early exaggeration and after
    int graph_failed[2];        // capture did not work: launch the kernels one by one
};

static void head_end(head *h) {
    for (int k = 0; k < 2; k++)
        if (h->graph[k]) cudaGraphExecDestroy(h->graph[k]);
    av_proj_end(&h->c);
    memset(h, 0, sizeof *h);
}

static const char *const cells_msg = "t-SNE on the GPU: the tree ran out of cells (too many near-duplicate points)";
static const char *const stall_msg =
    "t-SNE on the GPU: the tree kernels could not all run at once (another program on the GPU?)";

// The state's error bits as a status; *stalled says a rerun with one block can do better.
static int state_status(const tsne_state *st, int *stalled) {
    if (st->err & TSNE_ERR_STALLED) {
        *stalled = 1;
        return av_fail("%s", stall_msg);
    }
    if (st->err & TSNE_ERR_CELLS) return av_fail("%s", cells_msg);
    return AV_OK;
}

static int head_setup(head *h, const float *X, int64_t n, int d, const av_tsne_params *p, int share, int one_block) {
    if (av_proj_begin(&h->c) != AV_OK) return AV_ERR;
    double perp = av_tsne_effective_perplexity(n, p->perplexity);
    float *dX;
    if (av_proj_new(&h->c, &dX, (size_t)n * d) != AV_OK) return AV_ERR;
    cudaCheck(cudaMemcpyAsync(dX, X, (size_t)n * d * sizeof(float), cudaMemcpyHostToDevice, h->c.s));
    memset(&h->g, 0, sizeof h->g);
    h->g.c = &h->c;
    h->g.dim = p->dim;
    h->g.share = share;
    h->g.one_block = one_block;
    h->g.n = n;
    if (tsne_affinities_dev(&h->c, X, dX, n, d, perp, p->metric, p->knn_method, &h->g.P) != AV_OK) return AV_ERR;
    if (tsne_gpu_alloc(&h->g) != AV_OK) return AV_ERR;
    float *Y = (float *)av_malloc((size_t)n * p->dim * sizeof(float));
    if (!Y) return AV_ERR_NOMEM;
    int rc = initial_positions(&h->c, dX, n, d, p->dim, p->seed, Y);
    for (int a = 0; rc == AV_OK && a < p->dim; a++)
        if (cudaMemcpyAsync(h->g.pos + (int64_t)a * h->g.nnodes, Y + (int64_t)a * n, (size_t)n * sizeof(float),
                            cudaMemcpyHostToDevice, h->c.s) != cudaSuccess)
            rc = av_fail("CUDA: uploading the t-SNE start failed");
    // the copies read Y: wait before freeing it
    if (rc == AV_OK && cudaStreamSynchronize(h->c.s) != cudaSuccess)
        rc = av_fail("CUDA: t-SNE setup failed: %s", cudaGetErrorString(cudaGetLastError()));
    free(Y);
    h->lr = av_tsne_learning_rate(n, p);
    return rc;
}

static int enqueue_step(head *h, const av_tsne_params *p, const av_tsne_phase *s, int want_kl) {
    float exag = (float)s->exag;
    if (tsne_gpu_gradient(&h->g, p->theta, exag, want_kl) != AV_OK) return AV_ERR;
    return tsne_gpu_update(&h->g, exag, (float)s->momentum, (float)h->lr);
}

// One iteration is the same nine launches every time within a phase: captured once
// into a CUDA graph per phase and replayed, which saves the launch overhead that
// dominates small heads. Iterations that report the KL launch directly.
static void capture(head *h, const av_tsne_params *p, const av_tsne_phase *s) {
    int phase = s->early ? 0 : 1;
    cudaGraph_t gr = NULL;
    h->graph_failed[phase] = 1;
    if (cudaStreamBeginCapture(h->c.s, cudaStreamCaptureModeThreadLocal) != cudaSuccess) { cudaGetLastError(); return; }
    int rc = enqueue_step(h, p, s, 0);
    cudaError_t e = cudaStreamEndCapture(h->c.s, &gr);
    if (rc == AV_OK && e == cudaSuccess && gr && cudaGraphInstantiate(&h->graph[phase], gr, 0) == cudaSuccess)
        h->graph_failed[phase] = 0;
    else
        h->graph[phase] = NULL;
    if (gr) cudaGraphDestroy(gr);
    cudaGetLastError();
    av_clear_error(); // the direct launches report any real fault
}

static int head_step(head *h, const av_tsne_params *p, const av_tsne_phase *s, int want_kl) {
    int phase = s->early ? 0 : 1;
    if (want_kl) return enqueue_step(h, p, s, 1);
    if (!h->graph[phase] && !h->graph_failed[phase]) capture(h, p, s);
    if (h->graph[phase]) {
        cudaCheck(cudaGraphLaunch(h->graph[phase], h->c.s));
        return AV_OK;
    }
    return enqueue_step(h, p, s, 0);
}

// Row-major host copy of the positions; the state comes along when st is given.
static int head_download(head *h, float *Y, tsne_state *st) {
    int64_t n = h->g.n;
    int dim = h->g.dim;
    float *soa = (float *)av_malloc((size_t)n * dim * sizeof(float));
    if (!soa) return AV_ERR_NOMEM;
    int rc = AV_OK;
    for (int a = 0; a < dim && rc == AV_OK; a++)
        if (cudaMemcpyAsync(soa + (int64_t)a * n, h->g.pos + (int64_t)a * h->g.nnodes, (size_t)n * sizeof(float),
                            cudaMemcpyDeviceToHost, h->c.s) != cudaSuccess)
            rc = AV_ERR;
    if (rc == AV_OK && st && cudaMemcpyAsync(st, h->g.st, sizeof *st, cudaMemcpyDeviceToHost, h->c.s) != cudaSuccess) rc = AV_ERR;
    if (rc == AV_OK && cudaStreamSynchronize(h->c.s) != cudaSuccess) rc = AV_ERR;
    if (rc != AV_OK) {
        free(soa);
        return av_fail("CUDA: t-SNE failed on the device: %s", cudaGetErrorString(cudaGetLastError()));
    }
    for (int64_t i = 0; i < n; i++)
        for (int a = 0; a < dim; a++) Y[i * dim + a] = soa[(int64_t)a * n + i];
    free(soa);
    return AV_OK;
}

// Final tree check, positions and KL (exact Z up to AV_TSNE_KL_EXACT_MAX points, else
// the BH estimate at theta 0.5, as av_tsne_kl). *stalled as state_status.
static int head_finish(head *h, float *Y, double *kl_out, int *stalled) {
    tsne_state st;
    if (head_download(h, Y, &st) != AV_OK) return AV_ERR;
    if (state_status(&st, stalled) != AV_OK) return AV_ERR;
    if (!kl_out) return AV_OK;
    if (tsne_gpu_gradient(&h->g, 0.5, 1.0f, 1) != AV_OK) return AV_ERR;
    if (av_tsne_kl_is_exact(h->g.n) && tsne_gpu_exact_Z(&h->g) != AV_OK) return AV_ERR;
    cudaCheck(cudaMemcpyAsync(&st, h->g.st, sizeof st, cudaMemcpyDeviceToHost, h->c.s));
    cudaCheck(cudaStreamSynchronize(h->c.s));
    if (state_status(&st, stalled) != AV_OK) return AV_ERR;
    *kl_out = st.klp + log(st.Z > 0 ? st.Z : 1e-300);
    return AV_OK;
}

// The caller's on_iter behind a filter: a rerun of a stalled head reports only the
// iterations past those its first run reported, so the caller sees each one once.
struct report_once {
    const av_tsne_params *caller;
    int reported;
};
static void report_once_iter(void *user, int iter, const float *Y, int64_t n, double kl) {
    report_once *r = (report_once *)user;
    if (iter <= r->reported) return;
    r->reported = iter;
    r->caller->on_iter(r->caller->user, iter, Y, n, kl);
}
static void report_once_device(void *user, int iter, const float *pos, int64_t axis_stride, int64_t point_stride,
                               void *stream) {
    report_once *r = (report_once *)user;
    if (iter <= r->reported) return;
    r->reported = iter;
    r->caller->on_iter_device(r->caller->user, iter, pos, axis_stride, point_stride, stream);
}

// av_tsne_iterate's view of one head (the driver the CPU runs too, tsne_driver.c).
struct single_run {
    head *h;
    const av_tsne_params *p;
    int stalled;
};
static int single_step(void *state, const av_tsne_phase *s, int want_kl) {
    single_run *r = (single_run *)state;
    return head_step(r->h, r->p, s, want_kl);
}
static int single_report(void *state, float *Y, double *kl) {
    single_run *r = (single_run *)state;
    tsne_state st;
    if (head_download(r->h, Y, &st) != AV_OK) return AV_ERR;
    // an overflow spoils the layout from then on, a stall stops it: stop at the first report
    if (state_status(&st, &r->stalled) != AV_OK) return AV_ERR;
    *kl = st.klp + log(st.Z > 0 ? st.Z : 1e-300);
    return AV_OK;
}
// The positions as they are on the device (structure of arrays, axis a at pos + a *
// nnodes), in the head's stream order: no download, no wait (and so no look at the
// tree's state: a stall shows at the finish, and the rerun reports only what is new).
static int single_report_device(void *state, const av_tsne_params *p, int iter) {
    head *h = ((single_run *)state)->h;
    p->on_iter_device(p->user, iter, h->g.pos, h->g.nnodes, 1, (void *)h->c.s);
    return AV_OK;
}

// One head alone; one_block: summarise and sort as one block each (a rerun). once
// filters the reports (on_iter's and on_iter_device's).
static int run_single(const float *X, int64_t n, int d, const av_tsne_params *p, float *Y, double *kl_out,
                      int one_block, report_once *once, int *stalled) {
    av_tsne_params q = *p;
    if (p->on_iter || p->on_iter_device) {
        q.on_iter = p->on_iter ? report_once_iter : NULL;
        q.on_iter_device = p->on_iter_device ? report_once_device : NULL;
        q.user = once;
    }
    head *h = (head *)av_calloc(1, sizeof *h);
    if (!h) return AV_ERR_NOMEM;
    static const av_tsne_engine gpu_engine = {single_step, single_report, single_report_device};
    single_run run = {h, &q, 0};
    int rc = head_setup(h, X, n, d, &q, 1, one_block);
    if (rc == AV_OK) rc = av_tsne_iterate(&q, n, &gpu_engine, &run, Y);
    if (rc == AV_OK) rc = head_finish(h, Y, kl_out, &run.stalled);
    *stalled = run.stalled;
    head_end(h);
    free(h);
    return rc;
}

// The head again from its start, summarise and sort as one block each: slower, never
// stalled (kernels print nothing: the caller sees the same result, later).
static int rerun_one_block(const float *X, int64_t n, int d, const av_tsne_params *p, float *Y, double *kl_out,
                           report_once *once) {
    av_clear_error();
    int stalled = 0;
    return run_single(X, n, d, p, Y, kl_out, 1, once, &stalled);
}

extern "C" int av_tsne_cuda(const float *X, int64_t n, int d, const av_tsne_params *p, float *Y, double *kl_out) {
    if (av_tsne_check(n, p, INT32_MAX / 16, "t-SNE on the GPU") != AV_OK) return AV_ERR;
    report_once once = {p, 0};
    int stalled = 0;
    int rc = run_single(X, n, d, p, Y, kl_out, 0, &once, &stalled);
    if (rc != AV_OK && stalled) rc = rerun_one_block(X, n, d, p, Y, kl_out, &once);
    return rc;
}

// A batch's progress, learnt without stopping the streams: at every report iteration an
// event is recorded on each head's stream; between iterations the host asks whether the
// oldest report's events have passed (cudaEventQuery does not wait) and hands on_iter
// the iterations completed on average over the whole call. Only with REPORT_RING
// reports pending does it wait for the oldest one, which a host that far ahead would
// soon do anyway (the launch queue is finite).
struct batch_progress {
    const av_tsne_params *p;
    int64_t n;
    int heads;                 // of the whole call
    int64_t before;            // head-iterations of the groups already finished
    int g;                     // heads in the running group
    cudaEvent_t ev[REPORT_RING][BATCH_STREAMS];
    int iter[REPORT_RING];
    int first, pending, reported;
};

static int progress_begin(batch_progress *pr, const av_tsne_params *p, int64_t n, int heads) {
    memset(pr, 0, sizeof *pr);
    pr->p = p;
    pr->n = n;
    pr->heads = heads;
    if (!p->on_iter || p->every <= 0) return AV_OK;
    for (int r = 0; r < REPORT_RING; r++)
        for (int h = 0; h < BATCH_STREAMS; h++)
            cudaCheck(cudaEventCreateWithFlags(&pr->ev[r][h], cudaEventDisableTiming));
    return AV_OK;
}

static void progress_end(batch_progress *pr) {
    for (int r = 0; r < REPORT_RING; r++)
        for (int h = 0; h < BATCH_STREAMS; h++)
            if (pr->ev[r][h]) cudaEventDestroy(pr->ev[r][h]);
}

static void progress_tell(batch_progress *pr, int64_t done) {
    int avg = (int)(done / pr->heads);
    if (avg > pr->reported) {
        pr->reported = avg;
        pr->p->on_iter(pr->p->user, avg, NULL, pr->n, NAN);
    }
}

// Reports the pending reports whose events have all passed, oldest first; wait: also
// those still running (blocks until they pass).
static int progress_poll(batch_progress *pr, int wait) {
    while (pr->pending) {
        cudaEvent_t *ev = pr->ev[pr->first];
        for (int h = 0; h < pr->g; h++) {
            cudaError_t e = wait ? cudaEventSynchronize(ev[h]) : cudaEventQuery(ev[h]);
            if (e == cudaErrorNotReady) {
                cudaGetLastError();   // not an error: keep it from the next launch check
                return AV_OK;
            }
            if (e != cudaSuccess) return av_fail("CUDA: t-SNE batch failed on the device: %s", cudaGetErrorString(e));
        }
        progress_tell(pr, pr->before + (int64_t)pr->g * pr->iter[pr->first]);
        pr->first = (pr->first + 1) % REPORT_RING;
        pr->pending--;
    }
    return AV_OK;
}

// After the group's iteration it has been enqueued on every head's stream.
static int progress_step(batch_progress *pr, head *hs, int it) {
    const av_tsne_params *p = pr->p;
    if (!p->on_iter || p->every <= 0) return AV_OK;
    if ((it + 1) % p->every == 0) {
        if (pr->pending == REPORT_RING && progress_poll(pr, 1) != AV_OK) return AV_ERR;
        int slot = (pr->first + pr->pending) % REPORT_RING;
        for (int h = 0; h < pr->g; h++) cudaCheck(cudaEventRecord(pr->ev[slot][h], hs[h].c.s));
        pr->iter[slot] = it + 1;
        pr->pending++;
    }
    return progress_poll(pr, 0);
}

extern "C" int av_tsne_cuda_batch(const float *const *X, int heads, int64_t n, int d, const av_tsne_params *p,
                                  float *const *Y, double *kl_out) {
    if (heads < 1) return av_fail("t-SNE batch: no heads");
    if (av_tsne_check(n, p, INT32_MAX / 16, "t-SNE on the GPU") != AV_OK) return AV_ERR;
    head *hs = (head *)av_calloc(BATCH_STREAMS, sizeof *hs);
    if (!hs) return AV_ERR_NOMEM;
    batch_progress pr;
    int rc = progress_begin(&pr, p, n, heads);
    for (int h0 = 0; rc == AV_OK && h0 < heads; h0 += BATCH_STREAMS) {
        int g = heads - h0 < BATCH_STREAMS ? heads - h0 : BATCH_STREAMS, stalled[BATCH_STREAMS] = {0};
        pr.g = g;
        for (int h = 0; rc == AV_OK && h < g; h++) rc = head_setup(&hs[h], X[h0 + h], n, d, p, g, 0);
        // iteration it of every head in turn: the streams run side by side
        for (int it = 0; rc == AV_OK && it < p->iters; it++) {
            av_tsne_phase s = av_tsne_schedule(p, it);
            for (int h = 0; rc == AV_OK && h < g; h++) rc = head_step(&hs[h], p, &s, 0);
            if (rc == AV_OK) rc = progress_step(&pr, hs, it);
        }
        if (rc == AV_OK) rc = progress_poll(&pr, 1);
        for (int h = 0; rc == AV_OK && h < g; h++) {
            rc = head_finish(&hs[h], Y[h0 + h], kl_out ? &kl_out[h0 + h] : NULL, &stalled[h]);
            if (rc != AV_OK && stalled[h]) rc = AV_OK;   // rerun below, once its group is done
        }
        for (int h = 0; h < g; h++) head_end(&hs[h]);
        // a rerun reports nothing: the batch's progress already counted its iterations
        av_tsne_params alone = *p;
        alone.on_iter = NULL;
        for (int h = 0; rc == AV_OK && h < g; h++)
            if (stalled[h]) rc = rerun_one_block(X[h0 + h], n, d, &alone, Y[h0 + h], kl_out ? &kl_out[h0 + h] : NULL, NULL);
        pr.before += (int64_t)g * p->iters;
    }
    progress_end(&pr);
    free(hs);
    return rc;
}
