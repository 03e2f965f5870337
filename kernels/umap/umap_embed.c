/* umap_embed.c - UMAP after the neighbour search: fuzzy graph, pruning, spectral
 * initialisation, then umap-learn's SGD (optimize_layout_euclidean): every edge is
 * sampled in proportion to its weight (the epochs_per_sample schedule), pulls its two
 * ends together, and pushes its head away from negative_sample_rate random points;
 * gradients clipped to [-4, 4], learning rate decaying linearly to 0.
 *
 * The SGD runs on one thread, as umap-learn's does whenever a random_state is given: its
 * parallel mode (Hogwild, unsynchronised updates of shared points) gives another layout
 * at every run and with every thread count, and a seed must give the same layout on any
 * machine (kernels/backend/determinism.h). Edges are still split into a fixed number of
 * chunks, each with its own random stream seeded from (seed, chunk, epoch). The kNN
 * search, the fuzzy graph and the spectral initialisation before it use every thread. */
#include "kernels/umap/umap.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "base/rng.h"
#include "base/util.h"

#define SGD_CHUNKS 256
#define GRAD_CLIP 4.0f

static inline float clip4(float x) { return x > GRAD_CLIP ? GRAD_CLIP : (x < -GRAD_CLIP ? -GRAD_CLIP : x); }

typedef struct {
    int64_t m;              /* edges */
    int64_t *head, *tail;
    double *eps, *next, *eps_neg, *next_neg;
} edge_set;

/* One epoch over the edges, chunk by chunk. */
static void sgd_epoch(float *Y, int64_t n, int dim, const edge_set *E, float fa, float fb,
                      float alpha, int epoch, uint64_t seed) {
    for (int c = 0; c < SGD_CHUNKS; c++) {
        uint64_t rng = seed * 0x9E3779B97F4A7C15ull + (uint64_t)c * 0xD1B54A32D192ED03ull + (uint64_t)epoch;
        int64_t lo = E->m * c / SGD_CHUNKS, hi = E->m * (c + 1) / SGD_CHUNKS;
        for (int64_t i = lo; i < hi; i++) {
            if (E->next[i] > epoch) continue;
            float *cur = Y + E->head[i] * dim, *oth = Y + E->tail[i] * dim;
            float d2 = 0.0f;
            for (int r = 0; r < dim; r++) { float t = cur[r] - oth[r]; d2 += t * t; }
            float g = 0.0f;
            if (d2 > 0.0f) {
                float pb = powf(d2, fb);
                g = -2.0f * fa * fb * (pb / d2) / (fa * pb + 1.0f);
            }
            for (int r = 0; r < dim; r++) {
                float gd = clip4(g * (cur[r] - oth[r]));
                cur[r] += gd * alpha;
                oth[r] -= gd * alpha;
            }
            E->next[i] += E->eps[i];
            int nneg = (int)((epoch - E->next_neg[i]) / E->eps_neg[i]);
            for (int s = 0; s < nneg; s++) {
                /* Lemire's multiply-shift instead of %: a 64-bit division per sample
                 * was a visible share of the epoch */
                int64_t k = (int64_t)(((av_rng_next(&rng) >> 32) * (uint64_t)n) >> 32);
                if (k == E->head[i]) continue;
                oth = Y + k * dim;
                d2 = 0.0f;
                for (int r = 0; r < dim; r++) { float t = cur[r] - oth[r]; d2 += t * t; }
                if (!(d2 > 0.0f)) continue;
                g = 2.0f * fb / ((0.001f + d2) * (fa * powf(d2, fb) + 1.0f));   /* gamma = 1 */
                for (int r = 0; r < dim; r++) cur[r] += clip4(g * (cur[r] - oth[r])) * alpha;
            }
            E->next_neg[i] += nneg * E->eps_neg[i];
        }
    }
}

/* Every epoch over all chunks in order, on the calling thread (see the top). */
static void sgd(float *Y, int64_t n, int dim, const edge_set *E, double a, double b, int epochs,
                const av_umap_params *p) {
    const float fa = (float)a, fb = (float)b;
    for (int ep = 0; ep < epochs; ep++) {
        float alpha = av_umap_alpha(p, ep, epochs);
        sgd_epoch(Y, n, dim, E, fa, fb, alpha, ep, p->seed);
        if (p->on_epoch && p->every > 0 && (ep + 1) % p->every == 0) p->on_epoch(p->user, ep + 1, Y, n);
    }
}

int av_umap_from_knn(const float *X, int64_t n, int d, const av_knn *knn,
                     const av_umap_params *p, float *Y) {
    if (p->dim != 2 && p->dim != 3) return av_fail("umap: dim must be 2 or 3 (got %d)", p->dim);
    if (n < 4) return av_fail("umap: need at least 4 points (got %lld)", (long long)n);
    if (knn->n != n || knn->k < 1) return av_fail("umap: kNN graph has %lld rows for %lld points", (long long)knn->n, (long long)n);
    if (!(p->negative_sample_rate >= 0) || !(p->learning_rate > 0))
        return av_fail("umap: negative_sample_rate must be >= 0 and learning_rate > 0");
    int dim = p->dim;
    int epochs = av_umap_epochs(n, p->epochs);
    double a, b;
    if (av_umap_find_ab(p->spread, p->min_dist, &a, &b) != AV_OK) return AV_ERR;

    av_umap_graph g;
    if (av_umap_fuzzy_graph(knn->idx, knn->dist, n, knn->k, 1.0, &g, NULL, NULL) != AV_OK) return AV_ERR;
    float wmax = av_umap_prune(&g, epochs);
    int64_t m = g.nnz;

    edge_set E = {m, NULL, NULL, NULL, NULL, NULL, NULL};
    E.head = av_malloc((size_t)m * sizeof(int64_t));
    E.tail = av_malloc((size_t)m * sizeof(int64_t));
    E.eps = av_malloc((size_t)m * sizeof(double));
    E.next = av_malloc((size_t)m * sizeof(double));
    E.eps_neg = av_malloc((size_t)m * sizeof(double));
    E.next_neg = av_malloc((size_t)m * sizeof(double));
    int rc = AV_ERR_NOMEM;
    if (!E.head || !E.tail || !E.eps || !E.next || !E.eps_neg || !E.next_neg) goto done;
    rc = av_umap_spectral_init(&g, X, d, dim, p->seed, Y);
    if (rc != AV_OK) goto done;

    av_umap_finish_init(Y, n, dim, p->seed);

    av_umap_edge_rates(&g, wmax, p->negative_sample_rate, E.eps, E.eps_neg);
    for (int64_t i = 0, e = 0; i < n; i++)
        for (; e < g.rowptr[i + 1]; e++) {
            E.head[e] = i;
            E.tail[e] = g.col[e];
            E.next[e] = E.eps[e];
            E.next_neg[e] = E.eps_neg[e];
        }
    sgd(Y, n, dim, &E, a, b, epochs, p);
    for (int64_t i = 0; i < n * dim; i++)
        if (!isfinite(Y[i])) { rc = av_fail("umap: the layout diverged (non-finite coordinate)"); goto done; }
    rc = AV_OK;
done:
    av_umap_graph_free(&g);
    free(E.head); free(E.tail); free(E.eps); free(E.next); free(E.eps_neg); free(E.next_neg);
    return rc;
}
