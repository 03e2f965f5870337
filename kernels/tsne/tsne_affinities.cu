// tsne_affinities.cu - t-SNE's joint probabilities P on the GPU, av_tsne_affinities'
// semantics (kernels/tsne/tsne_cpu.c): k = min(n - 1, floor(3 perplexity)) neighbours (knn.cu); the
// cosine distance squared for cosine; per-point bandwidth by bisection on the
// precision beta (one thread per point, in double, the CPU's 200 steps and 1e-8
// tolerance, distances shifted by their minimum); then P = (P_cond + P_cond^T) / sum as
// CSR: both directions of every edge keyed (row << 32 | col), radix-sorted, equal keys
// summed, row starts by binary search.
#include "kernels/tsne/tsne_internal.cuh"

extern "C" {
#include "kernels/tsne/tsne.h"
}
#include <math.h>
#ifndef AV_CUDA_EMU
#include <thrust/device_ptr.h>
#include <thrust/execution_policy.h>
#include <thrust/functional.h>
#include <thrust/reduce.h>
#include <thrust/sort.h>
#endif

__global__ void square_kernel(float *x, int64_t m) {
    int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
    if (i < m) x[i] *= x[i];
}

__global__ void calibrate_kernel(const float *dist, int64_t n, int k, double log_perp, double *p) {
    int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
    if (i >= n) return;
    const float *di = dist + i * k;
    double *pi = p + i * k;
    double dmin = INFINITY;
    for (int j = 0; j < k; j++) dmin = di[j] < dmin ? di[j] : dmin;
    double beta = 1, lo = -INFINITY, hi = INFINITY;
    for (int it = 0; it < 200; it++) {
        double sum = 0, dsum = 0;
        for (int j = 0; j < k; j++) {
            double dj = di[j] - dmin, e = exp(-beta * dj);
            pi[j] = e;
            sum += e;
            dsum += dj * e;
        }
        double H = log(sum) + beta * dsum / sum;
        if (fabs(H - log_perp) < 1e-8) break;
        if (H > log_perp) { lo = beta; beta = isinf(hi) ? beta * 2 : 0.5 * (beta + hi); }
        else { hi = beta; beta = isinf(lo) ? beta * 0.5 : 0.5 * (beta + lo); }
    }
    double sum = 0;
    for (int j = 0; j < k; j++) sum += pi[j];
    for (int j = 0; j < k; j++) pi[j] /= sum;
}

// Both directions of edge (i, idx[i, j]) with the conditional probability p.
__global__ void edges_kernel(const int64_t *idx, const double *p, int64_t n, int k,
                             unsigned long long *key, double *val) {
    int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
    if (e >= n * k) return;
    unsigned long long i = (unsigned long long)(e / k), c = (unsigned long long)idx[e];
    key[2 * e] = i << 32 | c;
    key[2 * e + 1] = c << 32 | i;
    val[2 * e] = p[e];
    val[2 * e + 1] = p[e];
}

// rowptr[r] = first entry of row r in the sorted unique keys (r in 0..n).
__global__ void rowptr_kernel(const unsigned long long *key, int64_t nnz, int64_t n, int *rowptr) {
    int64_t r = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
    if (r > n) return;
    unsigned long long want = (unsigned long long)r << 32;
    int64_t lo = 0, hi = nnz;
    while (lo < hi) {
        int64_t mid = (lo + hi) / 2;
        if (key[mid] < want) lo = mid + 1; else hi = mid;
    }
    rowptr[r] = (int)lo;
}

__global__ void finish_kernel(const unsigned long long *key, const double *val, int64_t nnz, double inv_total,
                              int *col, float *out) {
    int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
    if (e >= nnz) return;
    col[e] = (int)(key[e] & 0xffffffffull);
    out[e] = (float)(val[e] * inv_total);
}

#ifndef AV_CUDA_EMU   // host code: not part of the CPU emulation
int tsne_affinities_dev(av_proj_ctx *c, const float *hX, const float *dX, int64_t n, int d, double perplexity,
                        av_metric metric, av_knn_method method, tsne_P_dev *P) {
    *P = {};
    double perp = av_tsne_effective_perplexity(n, perplexity);
    int k = (int)fmin((double)(n - 1), floor(3.0 * perp));
    if (k < 1) return av_fail("t-SNE: perplexity %g leaves no neighbours", perplexity);
    int64_t m = n * k;
    if (2 * m >= INT32_MAX) return av_fail("t-SNE on the GPU: %lld points x %d neighbours is more than this build handles", (long long)n, k);
    int64_t *idx;
    float *dist;
    double *pc, *val, *uval;
    unsigned long long *key, *ukey;
    if (av_proj_new(c, &idx, (size_t)m) != AV_OK || av_proj_new(c, &dist, (size_t)m) != AV_OK) return AV_ERR;
    if (av_knn_cuda_dev(c, hX, dX, n, d, k, metric, method, idx, dist) != AV_OK) return AV_ERR;
    // Euclidean: squared distances already; cosine: openTSNE's squared cosine distance
    if (metric == AV_METRIC_COSINE) {
        square_kernel<<<av_grid(m, 256), 256, 0, c->s>>>(dist, m);
        launchCheck();
    }
    if (av_proj_new(c, &pc, (size_t)m) != AV_OK) return AV_ERR;
    calibrate_kernel<<<av_grid(n, 128), 128, 0, c->s>>>(dist, n, k, log(perp), pc);
    launchCheck();
    if (av_proj_new(c, &key, (size_t)2 * m) != AV_OK || av_proj_new(c, &val, (size_t)2 * m) != AV_OK ||
        av_proj_new(c, &ukey, (size_t)2 * m) != AV_OK || av_proj_new(c, &uval, (size_t)2 * m) != AV_OK)
        return AV_ERR;
    edges_kernel<<<av_grid(m, 256), 256, 0, c->s>>>(idx, pc, n, k, key, val);
    launchCheck();
    int64_t nnz;
    double total;
    try {
        auto pol = thrust::cuda::par.on(c->s);
        thrust::device_ptr<unsigned long long> k0(key), k1(ukey);
        thrust::device_ptr<double> v0(val), v1(uval);
        thrust::sort_by_key(pol, k0, k0 + 2 * m, v0);
        auto ends = thrust::reduce_by_key(pol, k0, k0 + 2 * m, v0, k1, v1);
        nnz = ends.first - k1;
        total = thrust::reduce(pol, v1, v1 + nnz, 0.0, thrust::plus<double>());
    } catch (const std::exception &e) {
        return av_fail("t-SNE on the GPU: building P failed: %s", e.what());
    }
    if (!(total > 0)) return av_fail("t-SNE on the GPU: the affinities sum to %g", total);
    P->n = n;
    P->nnz = nnz;
    if (av_proj_new(c, &P->rowptr, (size_t)n + 1) != AV_OK || av_proj_new(c, &P->col, (size_t)nnz) != AV_OK ||
        av_proj_new(c, &P->val, (size_t)nnz) != AV_OK)
        return AV_ERR;
    rowptr_kernel<<<av_grid(n + 1, 256), 256, 0, c->s>>>(ukey, nnz, n, P->rowptr);
    launchCheck();
    finish_kernel<<<av_grid(nnz, 256), 256, 0, c->s>>>(ukey, uval, nnz, 1.0 / total, P->col, P->val);
    launchCheck();
    // the neighbour lists and the COO copies are not needed for the iterations
    void *done[] = {idx, dist, pc, key, val, ukey, uval};
    for (void *q : done) av_proj_release(c, q);
    return AV_OK;
}
#endif
