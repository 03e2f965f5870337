/* umap_driver.c - what the CPU UMAP (umap_cpu.c, umap_embed.c) and the GPU one (umap.cu)
 * share around their kernels: the defaults, the parameter checks, the epoch count, the
 * pruning of edges too weak to be sampled, and the epochs_per_sample schedule. One copy,
 * so the two devices cannot drift apart on what a parameter means. */
#include "kernels/umap/umap.h"

#include <math.h>
#include <string.h>
#include "base/util.h"

void av_umap_defaults(av_umap_params *p) {
    memset(p, 0, sizeof *p);
    p->dim = 2;
    p->n_neighbors = 15;
    p->min_dist = 0.1;
    p->spread = 1.0;
    p->epochs = 0;
    p->negative_sample_rate = 5;
    p->learning_rate = 1.0;
    p->seed = 42;
    p->metric = AV_METRIC_EUCLIDEAN;
    p->knn_method = AV_KNN_AUTO;
    p->every = 10;
}

/* umap-learn's n_epochs=None: 500 for small data sets, 200 for large ones */
static int auto_epochs(int64_t n) { return n > 10000 ? 200 : 500; }

int av_umap_epochs(int64_t n, int epochs) { return epochs > 0 ? epochs : auto_epochs(n); }

int av_umap_check(const float *X, int64_t n, int d, const av_umap_params *p, int *k) {
    if (n < 4) return av_fail("umap: need at least 4 points (got %lld)", (long long)n);
    if (p->dim != 2 && p->dim != 3) return av_fail("umap: dim must be 2 or 3 (got %d)", p->dim);
    if (!(p->negative_sample_rate >= 0) || !(p->learning_rate > 0))
        return av_fail("umap: negative_sample_rate must be >= 0 and learning_rate > 0");
    for (int64_t i = 0; i < n * d; i++)
        if (!isfinite(X[i])) return av_fail("umap: input row %lld is not finite", (long long)(i / d));
    /* umap-learn counts the point itself among its n_neighbors */
    *k = p->n_neighbors - 1;
    if (*k > n - 1) *k = (int)(n - 1);
    if (*k < 1) return av_fail("umap: n_neighbors must be at least 2 (got %d)", p->n_neighbors);
    return AV_OK;
}

float av_umap_prune(av_umap_graph *g, int epochs) {
    int64_t n = g->n;
    float wmax = 0.0f;
    for (int64_t e = 0; e < g->nnz; e++) if (g->val[e] > wmax) wmax = g->val[e];
    /* umap-learn cuts at max / n_epochs, with its default epoch count when asked for 10 or fewer */
    float cut = wmax / (float)(epochs > 10 ? epochs : auto_epochs(n));
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t start = g->rowptr[i];
        g->rowptr[i] = m;
        for (int64_t e = start; e < g->rowptr[i + 1]; e++)
            if (g->val[e] >= cut) { g->col[m] = g->col[e]; g->val[m] = g->val[e]; m++; }
    }
    g->rowptr[n] = m;
    g->nnz = m;
    return wmax;
}

void av_umap_edge_rates(const av_umap_graph *g, float wmax, int negative_sample_rate, double *eps, double *eps_neg) {
    for (int64_t e = 0; e < g->nnz; e++) {
        eps[e] = (double)wmax / (double)g->val[e];
        eps_neg[e] = negative_sample_rate > 0 ? eps[e] / negative_sample_rate : INFINITY;
    }
}
