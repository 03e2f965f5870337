/* umap.c - av_umap (project.h): neighbour search by FAISS (av_knn_build), then
 * av_umap_from_knn. Kept apart from umap_embed.c so programs that bring their own kNN
 * graph (tests, benchmarks) do not need the FAISS path. */
#include <math.h>
#include <stdlib.h>
#include "kernels/umap/umap.h"
#include "base/util.h"

int av_umap(const float *X, int64_t n, int d, const av_umap_params *p, float *Y) {
    int k;
    if (av_umap_check(X, n, d, p, &k) != AV_OK) return AV_ERR;
    av_knn knn = {0};
    if (av_knn_build(X, n, d, k, p->metric, p->knn_method, p->seed, &knn) != AV_OK) return AV_ERR;
    /* FAISS gives squared Euclidean distances; UMAP's rho/sigma work on distances */
    if (p->metric == AV_METRIC_EUCLIDEAN)
        for (int64_t i = 0; i < n * k; i++) knn.dist[i] = knn.dist[i] > 0 ? sqrtf(knn.dist[i]) : 0.0f;
    int rc = av_umap_from_knn(X, n, d, &knn, p, Y);
    av_knn_free(&knn);
    return rc;
}
