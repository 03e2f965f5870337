// knn.cu - exact k nearest neighbours on the GPU (av_knn_cuda, project_cuda.h).
//
// A tile of query rows at a time: cuBLAS gives the dot products of the tile with every
// point ([tile, n], f32), and one block per query row selects the K = k + 1 +
// AV_KNN_RERANK_EXTRA smallest of |x|^2 + |y|^2 - 2 x.y. Selection keeps a shared
// buffer of candidates below a threshold tau (the K-th best so far): when the buffer
// fills, a bitonic sort keeps the best K and tightens tau, so after the first few
// thousand columns almost nothing is appended. Then one thread per row recomputes the
// K candidates' distances in double, drops the point itself, sorts by (distance, index)
// and keeps k: the CPU path's exact re-ranking, so both give the same lists.
// Cosine: rows are normalised first (zero rows stay zero) and the distance is half the
// squared distance between unit rows, 1 - cos, as in kernels/knn/knn_cpu.c.
// FAISS's own GPU index would need a CUDA build of all of FAISS (cmake -DFAISS_ENABLE_GPU=ON
// -DFAISS_ENABLE_C_API=ON with CUDA and cuBLAS, then GpuIndexFlatL2 through c_api/gpu):
// not done here; see bench/RESULTS-gpu-projections.md.
#include "kernels/backend/project_internal.cuh"

extern "C" {
#include "kernels/knn/knn.h"
}
#include <float.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define SEL_BLOCK 256
#define SEL_CAP 2048                   // shared candidates (power of two for the bitonic sort)
#define KNN_MAXK 256   // t-SNE asks for 3 perplexity: perplexity up to 85
#define KNN_MAXC (KNN_MAXK + 1 + AV_KNN_RERANK_EXTRA)
#define TILE_BYTES ((size_t)1 << 30)   // distance tile budget

__global__ void unit_rows_kernel(float *U, const float *X, int64_t n, int d) {
    int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
    if (i >= n) return;
    double s = 0;
    for (int j = 0; j < d; j++) s += (double)X[i * d + j] * X[i * d + j];
    double inv = s > 0 ? 1.0 / sqrt(s) : 0;
    for (int j = 0; j < d; j++) U[i * d + j] = (float)(X[i * d + j] * inv);
}

__global__ void sqnorm_kernel(float *out, const float *X, int64_t n, int d) {
    int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
    if (i >= n) return;
    float s = 0;
    for (int j = 0; j < d; j++) s += X[i * d + j] * X[i * d + j];
    out[i] = s;
}

// (distance, index) order, so ties come out the same on every run
__device__ __forceinline__ bool cand_less(float da, int ia, float db, int ib) {
    return da < db || (da == db && ia < ib);
}

// Sorts the SEL_CAP shared candidates ascending; called by the whole block.
__device__ void bitonic_sort(float *sd, int *si) {
    for (int size = 2; size <= SEL_CAP; size <<= 1)
        for (int stride = size >> 1; stride > 0; stride >>= 1) {
            __syncthreads();
            for (int t = threadIdx.x; t < SEL_CAP / 2; t += blockDim.x) {
                int lo = 2 * t - (t & (stride - 1)), hi = lo + stride;
                bool up = (lo & size) == 0;
                float a = sd[lo], b = sd[hi];
                int ia = si[lo], ib = si[hi];
                if (cand_less(b, ib, a, ia) == up) { sd[lo] = b; sd[hi] = a; si[lo] = ib; si[hi] = ia; }
            }
        }
    __syncthreads();
}

// Pads the buffer beyond `count`, sorts, keeps the best K and sets tau.
__device__ void compact(float *sd, int *si, int *count, float *tau, int K) {
    for (int t = threadIdx.x; t < SEL_CAP; t += blockDim.x)
        if (t >= *count) { sd[t] = FLT_MAX; si[t] = INT_MAX; }
    bitonic_sort(sd, si);
    if (threadIdx.x == 0) {
        if (*count > K) *count = K;
        *tau = *count == K ? sd[K - 1] : INFINITY;
    }
    __syncthreads();
}

// One block per query row r of the tile (point q0 + r): the K best of its n distances.
__global__ void __launch_bounds__(SEL_BLOCK) select_kernel(const float *dots, int64_t n, const float *sq,
                                                           int64_t q0, int K, int *cand) {
    __shared__ float sd[SEL_CAP];
    __shared__ int si[SEL_CAP];
    __shared__ int count;
    __shared__ float tau;
    int r = blockIdx.x;
    const float *row = dots + (int64_t)r * n;
    float sq_q = sq[q0 + r];
    if (threadIdx.x == 0) { count = 0; tau = INFINITY; }
    __syncthreads();
    for (int64_t base = 0; base < n; base += SEL_BLOCK) {
        int64_t j = base + threadIdx.x;
        if (j < n) {
            // an overflowed distance (inf) is clamped to FLT_MAX so it still takes a place
            // while fewer than K are held: rerank then orders it in double, and a row is
            // never left with missing (-1) neighbours, which P's CSR would index with
            float v = fminf(fmaxf(sq_q + sq[j] - 2.0f * row[j], 0.0f), FLT_MAX);
            if (v < tau) {
                int pos = atomicAdd(&count, 1);
                sd[pos] = v;
                si[pos] = (int)j;
            }
        }
        __syncthreads();
        // every thread must decide on the count before any appends again
        bool full = count > SEL_CAP - SEL_BLOCK;
        __syncthreads();
        if (full) compact(sd, si, &count, &tau, K);
    }
    compact(sd, si, &count, &tau, K);
    for (int t = threadIdx.x; t < K; t += blockDim.x) cand[(int64_t)r * K + t] = t < count ? si[t] : -1;
}

// One thread per query: exact double distances of its K candidates, self dropped,
// sorted by (distance, index), best k kept.
__global__ void rerank_kernel(const float *X, int d, const int *cand, int K, int64_t q0, int rows, int k,
                              int cosine, int64_t *idx, float *dist) {
    int r = blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= rows) return;
    int64_t q = q0 + r;
    double cd[KNN_MAXC];
    int ci[KNN_MAXC];
    int m = 0;
    for (int t = 0; t < K; t++) {
        int j = cand[(int64_t)r * K + t];
        if (j < 0 || j == q) continue;
        double s = 0;
        for (int c = 0; c < d; c++) {
            double u = (double)X[q * d + c] - X[(int64_t)j * d + c];
            s += u * u;
        }
        if (cosine) s *= 0.5;
        int p = m++;
        while (p > 0 && (cd[p - 1] > s || (cd[p - 1] == s && ci[p - 1] > j))) { cd[p] = cd[p - 1]; ci[p] = ci[p - 1]; p--; }
        cd[p] = s;
        ci[p] = j;
    }
    for (int t = 0; t < k; t++) {
        idx[q * k + t] = t < m ? ci[t] : -1;
        dist[q * k + t] = t < m ? (float)cd[t] : INFINITY;
    }
}

#ifndef AV_CUDA_EMU   // host code: not part of the CPU emulation
// The CPU's approximate search, uploaded (above AV_KNN_CUDA_EXACT_MAX points).
static int knn_on_host(av_proj_ctx *c, const float *hX, int64_t n, int d, int k, av_metric metric,
                       int64_t *dIdx, float *dDist) {
    av_knn h;
    if (av_knn_build(hX, n, d, k, metric, AV_KNN_APPROX, 0, &h) != AV_OK) return AV_ERR;
    cudaError_t e = cudaMemcpyAsync(dIdx, h.idx, (size_t)n * k * sizeof(int64_t), cudaMemcpyHostToDevice, c->s);
    if (e == cudaSuccess) e = cudaMemcpyAsync(dDist, h.dist, (size_t)n * k * sizeof(float), cudaMemcpyHostToDevice, c->s);
    if (e == cudaSuccess) e = cudaStreamSynchronize(c->s);
    av_knn_free(&h);
    cudaCheck(e);
    return AV_OK;
}

int av_knn_cuda_dev(av_proj_ctx *c, const float *hX, const float *dX, int64_t n, int d, int k, av_metric metric,
                    av_knn_method method, int64_t *dIdx, float *dDist) {
    if (n < 2) return av_fail("kNN: need at least 2 points, got %lld", (long long)n);
    if (k < 1 || k > n - 1) return av_fail("kNN: k = %d outside 1..%lld (n = %lld points)", k, (long long)(n - 1), (long long)n);
    if (method != AV_KNN_EXACT && n > AV_KNN_CUDA_EXACT_MAX) return knn_on_host(c, hX, n, d, k, metric, dIdx, dDist);
    if (k > KNN_MAXK) return av_fail("kNN on the GPU: k = %d is more than %d", k, KNN_MAXK);
    if (n > INT_MAX) return av_fail("kNN on the GPU: %lld points is more than this build handles", (long long)n);
    int K = (int)(k + 1 + AV_KNN_RERANK_EXTRA < n ? k + 1 + AV_KNN_RERANK_EXTRA : n);
    const float *data = dX;
    if (metric == AV_METRIC_COSINE) {
        float *U;
        if (av_proj_new(c, &U, (size_t)n * d) != AV_OK) return AV_ERR;
        unit_rows_kernel<<<av_grid(n, 256), 256, 0, c->s>>>(U, dX, n, d);
        launchCheck();
        data = U;
    }
    int64_t tile = (int64_t)(TILE_BYTES / ((size_t)n * sizeof(float)));
    if (tile < 32) tile = 32;
    if (tile > n) tile = n;
    float *sq, *dots;
    int *cand;
    if (av_proj_new(c, &sq, (size_t)n) != AV_OK || av_proj_new(c, &dots, (size_t)tile * n) != AV_OK ||
        av_proj_new(c, &cand, (size_t)tile * K) != AV_OK)
        return AV_ERR;
    sqnorm_kernel<<<av_grid(n, 256), 256, 0, c->s>>>(sq, data, n, d);
    launchCheck();
    const float one = 1.0f, zero = 0.0f;
    for (int64_t q0 = 0; q0 < n; q0 += tile) {
        int rows = (int)(n - q0 < tile ? n - q0 : tile);
        // column-major view: dots(j, r) = X_j . X_{q0+r}, i.e. row-major [rows, n]
        cublasCheck(cublasSgemm(c->blas, CUBLAS_OP_T, CUBLAS_OP_N, (int)n, rows, d, &one, data, d,
                                data + q0 * d, d, &zero, dots, (int)n));
        select_kernel<<<rows, SEL_BLOCK, 0, c->s>>>(dots, n, sq, q0, K, cand);
        launchCheck();
        rerank_kernel<<<av_grid(rows, 128), 128, 0, c->s>>>(data, d, cand, K, q0, rows, k,
                                                            metric == AV_METRIC_COSINE, dIdx, dDist);
        launchCheck();
    }
    return AV_OK;
}

extern "C" int av_knn_cuda(const float *X, int64_t n, int d, int k, av_metric metric,
                           av_knn_method method, uint64_t seed, av_knn *out) {
    (void)seed; // FAISS's HNSW (above AV_KNN_CUDA_EXACT_MAX) has its own fixed seed
    memset(out, 0, sizeof *out);
    if (n < 2) return av_fail("kNN: need at least 2 points, got %lld", (long long)n);
    if (k < 1 || k > n - 1) return av_fail("kNN: k = %d outside 1..%lld (n = %lld points)", k, (long long)(n - 1), (long long)n);
    av_proj_ctx c;
    if (av_proj_begin(&c) != AV_OK) return AV_ERR;
    float *dX, *dDist;
    int64_t *dIdx;
    int rc = AV_ERR;
    out->idx = (int64_t *)av_malloc((size_t)n * k * sizeof *out->idx);
    out->dist = (float *)av_malloc((size_t)n * k * sizeof *out->dist);
    if (!out->idx || !out->dist) { rc = AV_ERR_NOMEM; goto done; }
    if (av_proj_new(&c, &dX, (size_t)n * d) != AV_OK || av_proj_new(&c, &dIdx, (size_t)n * k) != AV_OK ||
        av_proj_new(&c, &dDist, (size_t)n * k) != AV_OK)
        goto done;
    if (cudaMemcpyAsync(dX, X, (size_t)n * d * sizeof(float), cudaMemcpyHostToDevice, c.s) != cudaSuccess) {
        av_fail("CUDA: uploading %lld points for the kNN failed", (long long)n);
        goto done;
    }
    if (av_knn_cuda_dev(&c, X, dX, n, d, k, metric, method, dIdx, dDist) != AV_OK) goto done;
    if (cudaMemcpyAsync(out->idx, dIdx, (size_t)n * k * sizeof(int64_t), cudaMemcpyDeviceToHost, c.s) != cudaSuccess ||
        cudaMemcpyAsync(out->dist, dDist, (size_t)n * k * sizeof(float), cudaMemcpyDeviceToHost, c.s) != cudaSuccess ||
        cudaStreamSynchronize(c.s) != cudaSuccess) {
        av_fail("CUDA: kNN failed: %s", cudaGetErrorString(cudaGetLastError()));
        goto done;
    }
    out->n = n;
    out->k = k;
    rc = AV_OK;
done:
    av_proj_end(&c);
    if (rc != AV_OK) av_knn_free(out);
    return rc;
}
#endif
