// umap.cu - UMAP on the GPU (av_umap_cuda, project_cuda.h), av_umap's pipeline
// (kernels/umap/umap_cpu.c, kernels/umap/umap_embed.c) with the heavy stages as kernels:
//   kNN          on the device (knn.cu), n_neighbors - 1 others per point
//   fuzzy graph  rho/sigma by bisection, one thread per point (umap-learn's
//                smooth_knn_dist, kernels/umap/umap_graph.c's constants), memberships, then the
//                fuzzy union P + P^T - P o P^T: both directions keyed (row << 32 | col),
//                sorted, equal keys merged with 1 - (1 - a)(1 - b)
//   init         on the host: the graph is pruned as the CPU prunes it, and the spectral
//                layout (av_umap_spectral_init, Lanczos) with umap-learn's noise and
//                rescaling runs there, so both devices start from the same layout
//   SGD          one thread per edge per epoch, Hogwild like umap-learn's parallel mode:
//                the epochs_per_sample schedule, a/b from av_umap_find_ab, gradient
//                clipping at 4, learning rate decaying linearly, negative samples drawn
//                from a splitmix64 stream per (seed, edge, epoch). The CPU's streams are
//                per chunk of edges, so the two devices draw different negatives: the
//                layouts agree in quality (trustworthiness), not point for point.
#include "kernels/backend/project_internal.cuh"

extern "C" {
#include "base/rng.h"
#include "kernels/umap/umap.h"
}
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifndef AV_CUDA_EMU
#include <thrust/device_ptr.h>
#include <thrust/execution_policy.h>
#include <thrust/reduce.h>
#include <thrust/sort.h>
#endif

#define SMOOTH_K_TOLERANCE 1e-5
#define MIN_K_DIST_SCALE 1e-3
#define SIGMA_ITERS 64

__global__ void sqrt_kernel(float *x, int64_t m) {
    int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
    if (i < m) x[i] = x[i] > 0 ? sqrtf(x[i]) : 0.0f;
}

// Memberships of point i's k neighbours (local connectivity 1, as av_umap_from_knn).
__global__ void membership_kernel(const int64_t *idx, const float *dist, int64_t n, int k, double mean_all,
                                  unsigned long long *key, float *val) {
    int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
    if (i >= n) return;
    const float *d = dist + i * k;
    const double local_connectivity = 1.0;
    double target = log2((double)(k + 1)), rho = 0.0, sum = 0.0;
    int nonzero = 0;
    for (int j = 0; j < k; j++) { sum += d[j]; if (d[j] > 0.0f) nonzero++; }
    if (nonzero >= local_connectivity) {
        int first = 0;
        while (first < k && !(d[first] > 0.0f)) first++;
        rho = d[first];   // index 1, interpolation 0
    } else if (nonzero > 0) {
        for (int j = 0; j < k; j++) if (d[j] > rho) rho = d[j];
    }
    double lo = 0.0, hi = INFINITY, mid = 1.0;
    for (int it = 0; it < SIGMA_ITERS; it++) {
        double psum = 0.0;
        for (int j = 0; j < k; j++) {
            double x = d[j] - rho;
            psum += x > 0 ? exp(-(x / mid)) : 1.0;
        }
        if (fabs(psum - target) < SMOOTH_K_TOLERANCE) break;
        if (psum > target) { hi = mid; mid = (lo + hi) / 2.0; }
        else { lo = mid; mid = isinf(hi) ? mid * 2 : (lo + hi) / 2.0; }
    }
    double mean_i = sum / (k + 1);
    double floor_sigma = MIN_K_DIST_SCALE * (rho > 0.0 ? mean_i : mean_all);
    if (mid < floor_sigma) mid = floor_sigma;
    for (int j = 0; j < k; j++) {
        int64_t c = idx[i * k + j];
        double x = d[j] - rho, v;
        if (c < 0 || c == i) v = 0.0;
        else if (x <= 0.0 || mid == 0.0) v = 1.0;
        else v = exp(-(x / mid));
        float fv = (float)v;
        int64_t e = 2 * (i * k + j);
        // absent edges sort last (key ~0) and are cut off after the merge
        key[e] = fv != 0.0f ? (unsigned long long)i << 32 | (unsigned long long)c : ~0ull;
        key[e + 1] = fv != 0.0f ? (unsigned long long)c << 32 | (unsigned long long)i : ~0ull;
        val[e] = fv;
        val[e + 1] = fv;
    }
}

struct fuzzy_union {
    __host__ __device__ float operator()(float a, float b) const { return a + b - a * b; }
};

__device__ __forceinline__ float clip4(float x) { return x > 4.0f ? 4.0f : (x < -4.0f ? -4.0f : x); }

// One edge: the CPU's sgd_epoch body (kernels/umap/umap_embed.c) with the updates made in
// place in global memory, read-modify-write per coordinate, so the window in which
// another edge's update of the same point can be lost is as short as on the CPU.
template <int DIM>
__global__ void sgd_kernel(float *Y, int64_t n, int64_t m, const int *head, const int *tail, const double *eps,
                           double *next, const double *eps_neg, double *next_neg, float fa, float fb, float alpha,
                           int epoch, uint64_t seed) {
    int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
    if (i >= m || next[i] > epoch) return;
    float *cur = Y + (int64_t)head[i] * DIM, *oth = Y + (int64_t)tail[i] * DIM;
    float d2 = 0.0f;
    for (int r = 0; r < DIM; r++) { float t = cur[r] - oth[r]; d2 += t * t; }
    float g = 0.0f;
    if (d2 > 0.0f) {
        float pb = powf(d2, fb);
        g = -2.0f * fa * fb * (pb / d2) / (fa * pb + 1.0f);
    }
    for (int r = 0; r < DIM; r++) {
        float gd = clip4(g * (cur[r] - oth[r]));
        cur[r] += gd * alpha;
        oth[r] -= gd * alpha;
    }
    next[i] += eps[i];
    int nneg = isinf(eps_neg[i]) ? 0 : (int)((epoch - next_neg[i]) / eps_neg[i]);
    uint64_t rng = seed * 0x9E3779B97F4A7C15ull + (uint64_t)i * 0xD1B54A32D192ED03ull + (uint64_t)epoch;
    for (int s = 0; s < nneg; s++) {
        int64_t kk = (int64_t)(av_rng_next(&rng) % (uint64_t)n);
        if (kk == head[i]) continue;
        const float *q = Y + kk * DIM;
        d2 = 0.0f;
        for (int r = 0; r < DIM; r++) { float t = cur[r] - q[r]; d2 += t * t; }
        if (!(d2 > 0.0f)) continue;
        g = 2.0f * fb / ((0.001f + d2) * (fa * powf(d2, fb) + 1.0f));
        for (int r = 0; r < DIM; r++) cur[r] += clip4(g * (cur[r] - q[r])) * alpha;
    }
    if (nneg > 0) next_neg[i] += nneg * eps_neg[i];
}

#ifndef AV_CUDA_EMU   // host code: not part of the CPU emulation
#define cudaGo(call) do { cudaError_t e_ = (call); if (e_ != cudaSuccess) { \
    rc = av_fail("CUDA: %s: %s", #call, cudaGetErrorString(e_)); goto done; } } while (0)

extern "C" int av_umap_cuda(const float *X, int64_t n, int d, const av_umap_params *p, float *Y) {
    int k;
    if (av_umap_check(X, n, d, p, &k) != AV_OK) return AV_ERR;
    if (n >= INT32_MAX || 2 * n * k >= INT32_MAX) return av_fail("umap on the GPU: %lld points is more than this build handles", (long long)n);
    const int dim = p->dim;
    const int epochs = av_umap_epochs(n, p->epochs);
    const int64_t m2 = 2 * n * k;
    double a, b;
    if (av_umap_find_ab(p->spread, p->min_dist, &a, &b) != AV_OK) return AV_ERR;

    av_proj_ctx c;
    if (av_proj_begin(&c) != AV_OK) return AV_ERR;
    av_umap_graph g = {};
    int rc = AV_ERR;
    float *dX, *dist, *val, *uval, *dY;
    int64_t *idx;
    unsigned long long *key, *ukey;
    int *ehead, *etail;
    double *eps, *enext, *eneg, *enext_neg;
    double *h_eps = NULL;
    int *h_head = NULL, *h_tail = NULL;
    int64_t nnz = 0, mkeep = 0;
    float wmax = 0.0f;
    if (av_proj_new(&c, &dX, (size_t)n * d) != AV_OK || av_proj_new(&c, &idx, (size_t)n * k) != AV_OK ||
        av_proj_new(&c, &dist, (size_t)n * k) != AV_OK || av_proj_new(&c, &key, (size_t)m2) != AV_OK ||
        av_proj_new(&c, &val, (size_t)m2) != AV_OK || av_proj_new(&c, &ukey, (size_t)m2) != AV_OK ||
        av_proj_new(&c, &uval, (size_t)m2) != AV_OK || av_proj_new(&c, &dY, (size_t)n * dim) != AV_OK)
        goto done;
    cudaGo(cudaMemcpyAsync(dX, X, (size_t)n * d * sizeof(float), cudaMemcpyHostToDevice, c.s));
    if (av_knn_cuda_dev(&c, X, dX, n, d, k, p->metric, p->knn_method, idx, dist) != AV_OK) goto done;
    if (p->metric == AV_METRIC_EUCLIDEAN) {   // squared -> distances, as av_umap
        sqrt_kernel<<<av_grid(n * k, 256), 256, 0, c.s>>>(dist, n * k);
        cudaGo(cudaGetLastError());
    }
    try {
        auto pol = thrust::cuda::par.on(c.s);
        thrust::device_ptr<float> dd(dist);
        double mean_all = thrust::reduce(pol, dd, dd + n * k, 0.0, thrust::plus<double>()) / (double)(n * (k + 1));
        membership_kernel<<<av_grid(n, 128), 128, 0, c.s>>>(idx, dist, n, k, mean_all, key, val);
        cudaGo(cudaGetLastError());
        thrust::device_ptr<unsigned long long> k0(key), k1(ukey);
        thrust::device_ptr<float> v0(val), v1(uval);
        thrust::sort_by_key(pol, k0, k0 + m2, v0);
        auto ends = thrust::reduce_by_key(pol, k0, k0 + m2, v0, k1, v1, thrust::equal_to<unsigned long long>(), fuzzy_union());
        nnz = ends.first - k1;
    } catch (const std::exception &e) {
        rc = av_fail("umap on the GPU: building the fuzzy graph failed: %s", e.what());
        goto done;
    }
    {   // the graph on the host: CSR for the spectral layout (the merged ~0 key, if any, is last)
        unsigned long long *hk = (unsigned long long *)av_malloc((size_t)(nnz ? nnz : 1) * sizeof *hk);
        float *hv = (float *)av_malloc((size_t)(nnz ? nnz : 1) * sizeof *hv);
        g.n = n;
        g.rowptr = (int64_t *)av_calloc((size_t)n + 1, sizeof(int64_t));
        g.col = (int64_t *)av_malloc((size_t)(nnz ? nnz : 1) * sizeof(int64_t));
        g.val = (float *)av_malloc((size_t)(nnz ? nnz : 1) * sizeof(float));
        if (!hk || !hv || !g.rowptr || !g.col || !g.val) { free(hk); free(hv); rc = AV_ERR_NOMEM; goto done; }
        if (cudaMemcpyAsync(hk, ukey, (size_t)nnz * sizeof *hk, cudaMemcpyDeviceToHost, c.s) != cudaSuccess ||
            cudaMemcpyAsync(hv, uval, (size_t)nnz * sizeof *hv, cudaMemcpyDeviceToHost, c.s) != cudaSuccess ||
            cudaStreamSynchronize(c.s) != cudaSuccess) {
            free(hk); free(hv);
            rc = av_fail("CUDA: downloading the UMAP graph failed: %s", cudaGetErrorString(cudaGetLastError()));
            goto done;
        }
        int64_t o = 0;
        for (int64_t e = 0; e < nnz; e++) {
            if (hk[e] == ~0ull || !(hv[e] > 0.0f)) continue;
            int64_t r = (int64_t)(hk[e] >> 32);
            g.rowptr[r + 1]++;
            g.col[o] = (int64_t)(hk[e] & 0xffffffffull);
            g.val[o++] = hv[e];
        }
        for (int64_t i = 0; i < n; i++) g.rowptr[i + 1] += g.rowptr[i];
        g.nnz = o;
        free(hk);
        free(hv);
    }
    wmax = av_umap_prune(&g, epochs);   // as the CPU prunes
    mkeep = g.nnz;
    if (av_umap_spectral_init(&g, X, d, dim, p->seed, Y) != AV_OK) goto done;
    av_umap_finish_init(Y, n, dim, p->seed);
    h_head = (int *)av_malloc((size_t)(mkeep ? mkeep : 1) * sizeof(int));
    h_tail = (int *)av_malloc((size_t)(mkeep ? mkeep : 1) * sizeof(int));
    h_eps = (double *)av_malloc((size_t)(mkeep ? mkeep : 1) * 2 * sizeof(double));
    if (!h_head || !h_tail || !h_eps) { rc = AV_ERR_NOMEM; goto done; }
    av_umap_edge_rates(&g, wmax, p->negative_sample_rate, h_eps, h_eps + mkeep);
    for (int64_t i = 0, e = 0; i < n; i++)
        for (; e < g.rowptr[i + 1]; e++) {
            h_head[e] = (int)i;
            h_tail[e] = (int)g.col[e];
        }
    if (av_proj_new(&c, &ehead, (size_t)mkeep) != AV_OK || av_proj_new(&c, &etail, (size_t)mkeep) != AV_OK ||
        av_proj_new(&c, &eps, (size_t)mkeep) != AV_OK || av_proj_new(&c, &enext, (size_t)mkeep) != AV_OK ||
        av_proj_new(&c, &eneg, (size_t)mkeep) != AV_OK || av_proj_new(&c, &enext_neg, (size_t)mkeep) != AV_OK)
        goto done;
    cudaGo(cudaMemcpyAsync(ehead, h_head, (size_t)mkeep * sizeof(int), cudaMemcpyHostToDevice, c.s));
    cudaGo(cudaMemcpyAsync(etail, h_tail, (size_t)mkeep * sizeof(int), cudaMemcpyHostToDevice, c.s));
    cudaGo(cudaMemcpyAsync(eps, h_eps, (size_t)mkeep * sizeof(double), cudaMemcpyHostToDevice, c.s));
    cudaGo(cudaMemcpyAsync(enext, h_eps, (size_t)mkeep * sizeof(double), cudaMemcpyHostToDevice, c.s));
    cudaGo(cudaMemcpyAsync(eneg, h_eps + mkeep, (size_t)mkeep * sizeof(double), cudaMemcpyHostToDevice, c.s));
    cudaGo(cudaMemcpyAsync(enext_neg, h_eps + mkeep, (size_t)mkeep * sizeof(double), cudaMemcpyHostToDevice, c.s));
    cudaGo(cudaMemcpyAsync(dY, Y, (size_t)n * dim * sizeof(float), cudaMemcpyHostToDevice, c.s));
    for (int ep = 0; ep < epochs; ep++) {
        float alpha = av_umap_alpha(p, ep, epochs);
        if (dim == 2)
            sgd_kernel<2><<<av_grid(mkeep, 256), 256, 0, c.s>>>(dY, n, mkeep, ehead, etail, eps, enext, eneg, enext_neg,
                                                                 (float)a, (float)b, alpha, ep, p->seed);
        else
            sgd_kernel<3><<<av_grid(mkeep, 256), 256, 0, c.s>>>(dY, n, mkeep, ehead, etail, eps, enext, eneg, enext_neg,
                                                                 (float)a, (float)b, alpha, ep, p->seed);
        cudaGo(cudaGetLastError());
        if (p->on_epoch_device && p->every > 0 && (ep + 1) % p->every == 0) {
            // rows [n, dim] left on the device, in stream order: no download, no wait
            p->on_epoch_device(p->user, ep + 1, dY, 1, dim, (void *)c.s);
        } else if (p->on_epoch && p->every > 0 && (ep + 1) % p->every == 0) {
            cudaGo(cudaMemcpyAsync(Y, dY, (size_t)n * dim * sizeof(float), cudaMemcpyDeviceToHost, c.s));
            cudaGo(cudaStreamSynchronize(c.s));
            p->on_epoch(p->user, ep + 1, Y, n);
        }
    }
    cudaGo(cudaMemcpyAsync(Y, dY, (size_t)n * dim * sizeof(float), cudaMemcpyDeviceToHost, c.s));
    cudaGo(cudaStreamSynchronize(c.s));
    for (int64_t i = 0; i < n * dim; i++)
        if (!isfinite(Y[i])) { rc = av_fail("umap: the layout diverged (non-finite coordinate)"); goto done; }
    rc = AV_OK;
done:
    av_proj_end(&c);   // waits for the stream: the host buffers below are no longer read
    av_umap_graph_free(&g);
    free(h_head);
    free(h_tail);
    free(h_eps);
    return rc;
}
#endif
