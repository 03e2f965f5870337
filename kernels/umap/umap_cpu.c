/* umap.c - av_umap (project.h): neighbour search by FAISS (av_knn_build), then
 * av_umap_from_knn. Kept apart from umap_embed.c so programs that bring their own kNN
 * graph (tests, benchmarks) do not need the FAISS path. */
#include <math.h>
#include <stdlib.h>
#include "kernels/umap/umap.h"
#include "base/util.h"

int av_umap(const float *X, int64_t n, int d, const av_umap_params *p, float *Y) {
    if (n < 4) return av_fail("umap: need at least 4 points (got %lld)", (long long)n);
    for (int64_t i = 0; i < n * d; i++)
        if (!isfinite(X[i])) return av_fail("umap: input row %lld is not finite", (long long)(i / d));
    /* umap-learn counts the point itself among its n_neighbors */
    int k = p->n_neighbors - 1;
    if (k > n - 1) k = (int)(n - 1);
    if (k < 1) return av_fail("umap: n_neighbors must be at least 2 (got %d)", p->n_neighbors);
    av_knn knn = {0};
    if (av_knn_build(X, n, d, k, p->metric, p->knn_method, p->seed, &knn) != AV_OK) return AV_ERR;
    /* FAISS gives squared Euclidean distances; UMAP's rho/sigma work on distances */
    if (p->metric == AV_METRIC_EUCLIDEAN)
        for (int64_t i = 0; i < n * k; i++) knn.dist[i] = knn.dist[i] > 0 ? sqrtf(knn.dist[i]) : 0.0f;
    int rc = av_umap_from_knn(X, n, d, &knn, p, Y);
    av_knn_free(&knn);
    return rc;
}
