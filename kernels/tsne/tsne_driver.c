/* tsne_driver.c - what the CPU t-SNE (tsne_cpu.c) and the GPU one (tsne_run.cu) share:
 * the defaults, the parameter checks, the perplexity clamp, the learning rate, the
 * exaggeration and momentum schedule, the PCA start, and the iteration loop itself,
 * which drives either device's step through an av_tsne_engine (tsne.h). One copy, so
 * the two devices cannot drift apart on what a parameter means. */
#include "kernels/tsne/tsne.h"

#include <math.h>
#include <string.h>
#include "base/rng.h"
#include "base/util.h"

void av_tsne_defaults(av_tsne_params *p) {
    memset(p, 0, sizeof *p);
    p->dim = 2;
    p->perplexity = 30;
    p->iters = 1000;
    p->theta = 0.5;
    p->early_exag = 12;
    p->early_iters = 250;
    p->learning_rate = 0;
    p->seed = 42;
    p->metric = AV_METRIC_COSINE; /* measured: docs/projections.md, "Metric" */
    p->knn_method = AV_KNN_AUTO;
}

double av_tsne_effective_perplexity(int64_t n, double perplexity) {
    return 3.0 * perplexity > (double)(n - 1) ? (double)(n - 1) / 3.0 : perplexity;
}

int av_tsne_kl_is_exact(int64_t n) { return n <= AV_TSNE_KL_EXACT_MAX; }

int av_tsne_uses_fft(int64_t n, int dim, av_tsne_method method) {
    if (dim != 2) return 0;
    return method == AV_TSNE_FFT || (method == AV_TSNE_AUTO && n >= AV_TSNE_FFT_AUTO_N);
}

int av_tsne_check(int64_t n, const av_tsne_params *p, int64_t max_n, const char *who) {
    if (n < 4) return av_fail("t-SNE: needs at least 4 points, got %lld", (long long)n);
    if (p->dim != 2 && p->dim != 3) return av_fail("t-SNE: dim must be 2 or 3, got %d", p->dim);
    if (!(p->perplexity > 0)) return av_fail("t-SNE: perplexity must be positive, got %g", p->perplexity);
    if (p->iters < 1 || p->early_iters < 0) return av_fail("t-SNE: iterations must be positive");
    if (!(p->theta >= 0)) return av_fail("t-SNE: theta must be >= 0, got %g", p->theta);
    if (n > max_n) return av_fail("%s: %lld points is more than this build handles", who, (long long)n);
    if (p->method == AV_TSNE_FFT && p->dim != 2) return av_fail("t-SNE: the FFT method is 2-D only (use Barnes-Hut in 3-D)");
    return AV_OK;
}

/* The gradient carries no factor 4 (as openTSNE's), so max(n / early_exag, 200) takes
 * the steps of scikit-learn's max(n / early_exag / 4, 50) with its factor 4. */
double av_tsne_learning_rate(int64_t n, const av_tsne_params *p) {
    return p->learning_rate > 0 ? p->learning_rate : fmax((double)n / p->early_exag, 200.0);
}

av_tsne_phase av_tsne_schedule(const av_tsne_params *p, int it) {
    av_tsne_phase s;
    s.early = it < p->early_iters;
    s.exag = s.early ? p->early_exag : 1.0;
    s.momentum = s.early ? 0.5 : 0.8;
    return s;
}

void av_tsne_start_from_pca(const float *init, int pca_ok, int64_t n, int dim, uint64_t seed, double *Y) {
    double scale = 0;
    if (pca_ok) {
        double m = 0, v = 0;
        for (int64_t i = 0; i < n; i++) m += init[i * dim];
        m /= (double)n;
        for (int64_t i = 0; i < n; i++) v += (init[i * dim] - m) * (init[i * dim] - m);
        double sd = sqrt(v / (double)n);
        if (sd > 0 && isfinite(sd)) scale = 1e-4 / sd;
    }
    uint64_t s = seed;
    for (int64_t a = 0; a < n * dim; a++)
        Y[a] = (scale > 0 ? init[a] * scale : 0) + 1e-6 * av_rng_normal(&s);
}

int av_tsne_iterate(const av_tsne_params *p, int64_t n, const av_tsne_engine *e, void *state, float *Y) {
    for (int it = 0; it < p->iters; it++) {
        av_tsne_phase s = av_tsne_schedule(p, it);
        int on_device = p->on_iter_device && e->report_device;
        int report = (p->on_iter || on_device) && p->every > 0 && (it + 1) % p->every == 0;
        /* a device report has no KL: measuring it would make the host wait */
        if (e->step(state, &s, report && !on_device) != AV_OK) return AV_ERR;
        if (report && on_device) {
            if (e->report_device(state, p, it + 1) != AV_OK) return AV_ERR;
        } else if (report) {
            double kl;
            if (e->report(state, Y, &kl) != AV_OK) return AV_ERR;
            p->on_iter(p->user, it + 1, Y, n, kl);
        }
    }
    return AV_OK;
}
