// project_internal.cuh - what the GPU projections (knn.cu, pca.cu, tsne_*.cu, umap.cu)
// share: a per-call context (one stream and its own cuBLAS handle, so several heads can
// run side by side), a list of device buffers freed together on every exit path, and
// the device-side entry points one projection calls in another (t-SNE and UMAP start
// from the kNN graph; t-SNE starts from PCA). Device pointers stay device pointers.
#ifndef AV_KERNELS_CUDA_PROJECT_INTERNAL_CUH
#define AV_KERNELS_CUDA_PROJECT_INTERNAL_CUH
#include "kernels/backend/common.cuh"
#include "kernels/project_cuda.h"

struct av_proj_ctx {
    cudaStream_t s;
    cublasHandle_t blas;
    void *bufs[64];   // device buffers made through av_proj_alloc, freed by av_proj_end
    int nbufs;
};

// A context with a new stream and cuBLAS handle (AV_CUDA_READY first).
int av_proj_begin(av_proj_ctx *c);
// Frees every buffer of the context, waits for its stream, destroys stream and handle.
void av_proj_end(av_proj_ctx *c);
// Stream-ordered allocation recorded in the context (freed by av_proj_end).
int av_proj_alloc(av_proj_ctx *c, void **p, size_t bytes);
// Frees one buffer of the context early (stream-ordered); NULL or unknown: nothing.
void av_proj_release(av_proj_ctx *c, void *p);
template <class T> static inline int av_proj_new(av_proj_ctx *c, T **p, size_t count) {
    return av_proj_alloc(c, (void **)p, (count ? count : 1) * sizeof(T));
}

// kNN of rows X [n, d] (hX on the host, dX the same on the device) into device dIdx
// [n, k] (int64) and dDist [n, k] (squared Euclidean, or 1 - cosine), the point itself
// excluded: av_knn_build's semantics. Exact on the GPU, except that `method` auto or
// approx above AV_KNN_CUDA_EXACT_MAX points runs the CPU's HNSW search instead (brute
// force is O(n^2): the distance tiles alone are 4 n^2 bytes of memory traffic).
#define AV_KNN_CUDA_EXACT_MAX 500000
int av_knn_cuda_dev(av_proj_ctx *c, const float *hX, const float *dX, int64_t n, int d, int k, av_metric metric,
                    av_knn_method method, int64_t *dIdx, float *dDist);

// PCA of device rows dX [n, d] into device dY [n, dim]; components [dim, d] on the host
// (may be NULL). Same signs as av_pca.
int av_pca_cuda_dev(av_proj_ctx *c, const float *dX, int64_t n, int d, int dim, float *dY, float *components);
#endif
