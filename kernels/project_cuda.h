/* project_cuda.h - the projections of kernels/project.h on the GPU: exact kNN, Barnes-Hut
 * t-SNE, UMAP and PCA with the CPU functions' signatures and semantics (same parameters,
 * same seeds' meaning, same outputs), so a run folder comes out the same whichever
 * device made it (up to floating-point order and the GPU's Hogwild races).
 *
 * Host pointers in, host pointers out: each function uploads X, works on device 0 (the
 * backend of kernels/backend/backend_cuda.cu), downloads the result and frees every device
 * buffer it made before returning. The caller owns X, Y and knn exactly as with the CPU
 * functions (av_knn results from av_knn_cuda are released with av_knn_free).
 * Errors: AV_ERR with av_last_error() set (no usable device included); nothing exits.
 * Only present in builds with CUDA (AV_HAVE_CUDA); callable from C. */
#ifndef AV_KERNELS_PROJECT_CUDA_H
#define AV_KERNELS_PROJECT_CUDA_H
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif
#include "kernels/project.h"

/* Exact search on the GPU (brute force: cuBLAS float distances, the best k + 1 +
 * AV_KNN_RERANK_EXTRA re-ranked by distances recomputed in double, the point itself
 * dropped: av_knn_build's exact output), for `method` exact at any size and for auto or
 * approx up to AV_KNN_CUDA_EXACT_MAX points (project_internal.cuh); above that, auto
 * and approx run the CPU's HNSW search (brute force grows as n^2). k <= 256. */
int av_knn_cuda(const float *X, int64_t n, int d, int k, av_metric metric,
                av_knn_method method, uint64_t seed, av_knn *out);

int av_tsne_cuda(const float *X, int64_t n, int d, const av_tsne_params *p, float *Y, double *kl_out);

/* Several heads at once, one CUDA stream each, AV_TSNE_CUDA_BATCH_STREAMS side by side
 * (more run in groups of that many), so heads too small to fill the GPU run together;
 * each head takes the steps av_tsne_cuda would take for it alone. X[h] [n, d] -> Y[h]
 * [n, p->dim]; kl_out [heads] may be NULL. p->on_iter reports progress only (Y NULL, kl
 * NaN, iter the iterations the heads have completed on average): the host learns of
 * them from events it polls between iterations, so the streams never wait for it. */
#define AV_TSNE_CUDA_BATCH_STREAMS 8
int av_tsne_cuda_batch(const float *const *X, int heads, int64_t n, int d, const av_tsne_params *p,
                       float *const *Y, double *kl_out);

int av_umap_cuda(const float *X, int64_t n, int d, const av_umap_params *p, float *Y);

int av_pca_cuda(const float *X, int64_t n, int d, int dim, float *Y, float *components);

#ifdef __cplusplus
}
#endif
#endif
