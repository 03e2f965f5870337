// tsne_knn_select.cu - top-K selection variants for the exact kNN behind t-SNE and UMAP
// (kernels/knn/knn.cu is variant 2 with CAP 2048 and 256 threads).
//   dev_tsne_knn_select [variant]     (no argument: every variant)
// Input: a [rows, n] tile of squared distances (what knn.cu forms from the cuBLAS dot
// products), n = 200k points (a 100k-token head), K = 99 (t-SNE's 3 x 30 + 1 + 8).
//   1: one thread per row keeps a sorted list of K in local memory (insertion):
//      the simple reference; uncoalesced and serial per row.
//   2: one block per row; candidates below the running K-th best (tau) are appended to
//      a shared buffer of CAP; when full, a bitonic sort keeps the best K and tightens
//      tau. Swept over CAP = 1024, 2048, 4096 and 128 / 256 threads.
// Checked: the K selected distances of every row, in order, equal the CPU's (the
// indices may differ only on ties, so the values are compared).
#include "kernels/backend/dev_common.cuh"

#include <algorithm>
#include <float.h>
#include <limits.h>

#define K 99
#define ROWS 512
#define NPTS 200000

static void select_cpu(float *out, const float *D, int rows, int n) {
    float *tmp = (float *)malloc((size_t)n * sizeof(float));
    for (int r = 0; r < rows; r++) {
        memcpy(tmp, D + (int64_t)r * n, (size_t)n * sizeof(float));
        std::partial_sort(tmp, tmp + K, tmp + n);
        memcpy(out + (int64_t)r * K, tmp, K * sizeof(float));
    }
    free(tmp);
}

__global__ void select_thread(const float *D, int rows, int n, float *out) {
    int r = blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= rows) return;
    float best[K];
    int m = 0;
    for (int j = 0; j < n; j++) {
        float v = D[(int64_t)r * n + j];
        if (m == K && v >= best[K - 1]) continue;
        int p = m < K ? m++ : K - 1;
        while (p > 0 && best[p - 1] > v) { best[p] = best[p - 1]; p--; }
        best[p] = v;
    }
    for (int t = 0; t < K; t++) out[(int64_t)r * K + t] = best[t];
}

template <int CAP>
__device__ void bitonic(float *sd, int *si) {
    for (int size = 2; size <= CAP; size <<= 1)
        for (int stride = size >> 1; stride > 0; stride >>= 1) {
            __syncthreads();
            for (int t = threadIdx.x; t < CAP / 2; t += blockDim.x) {
                int lo = 2 * t - (t & (stride - 1)), hi = lo + stride;
                bool up = (lo & size) == 0;
                float a = sd[lo], b = sd[hi];
                int ia = si[lo], ib = si[hi];
                bool less = b < a || (b == a && ib < ia);
                if (less == up) { sd[lo] = b; sd[hi] = a; si[lo] = ib; si[hi] = ia; }
            }
        }
    __syncthreads();
}

template <int CAP>
__device__ void compact(float *sd, int *si, int *count, float *tau) {
    for (int t = threadIdx.x; t < CAP; t += blockDim.x)
        if (t >= *count) { sd[t] = FLT_MAX; si[t] = INT_MAX; }
    bitonic<CAP>(sd, si);
    if (threadIdx.x == 0) {
        if (*count > K) *count = K;
        *tau = *count == K ? sd[K - 1] : FLT_MAX;
    }
    __syncthreads();
}

template <int CAP>
__global__ void select_block(const float *D, int rows, int n, float *out) {
    __shared__ float sd[CAP];
    __shared__ int si[CAP];
    __shared__ int count;
    __shared__ float tau;
    int r = blockIdx.x;
    if (threadIdx.x == 0) { count = 0; tau = FLT_MAX; }
    __syncthreads();
    for (int base = 0; base < n; base += blockDim.x) {
        int j = base + threadIdx.x;
        if (j < n) {
            float v = D[(int64_t)r * n + j];
            if (v < tau) {
                int p = atomicAdd(&count, 1);
                sd[p] = v;
                si[p] = j;
            }
        }
        __syncthreads();
        // every thread must decide on the count before any appends again
        bool full = count > CAP - (int)blockDim.x;
        __syncthreads();
        if (full) compact<CAP>(sd, si, &count, &tau);
    }
    compact<CAP>(sd, si, &count, &tau);
    for (int t = threadIdx.x; t < K; t += blockDim.x) out[(int64_t)r * K + t] = sd[t];
}

int main(int argc, char **argv) {
    require_device("dev_tsne_knn_select");
    int only = argc > 1 ? atoi(argv[1]) : 0;
    int64_t m = (int64_t)ROWS * NPTS;
    float *hD = make_random(m, 0.0f, 100.0f, 3);
    float *ref = (float *)malloc((size_t)ROWS * K * sizeof(float));
    select_cpu(ref, hD, ROWS, NPTS);
    float *D = to_device(hD, m), *out;
    cudaCheck(cudaMalloc(&out, (size_t)ROWS * K * sizeof(float)));
    double gbytes = m * 4.0 / 1e9;
    if (!only || only == 1) {
        auto run = [&] { select_thread<<<ceil_div(ROWS, 64), 64>>>(D, ROWS, NPTS, out); };
        run();
        validate("1: thread per row", out, ref, (int64_t)ROWS * K, 1e-7);
        float ms = time_ms(3, run);
        printf("  1: thread per row            %8.3f ms  %6.1f GB/s\n", ms, gbytes / (ms / 1e3));
    }
    if (!only || only == 2) {
        int blocks[] = {128, 256};
        for (int b : blocks) {
            auto r1 = [&] { select_block<1024><<<ROWS, b>>>(D, ROWS, NPTS, out); };
            auto r2 = [&] { select_block<2048><<<ROWS, b>>>(D, ROWS, NPTS, out); };
            auto r4 = [&] { select_block<4096><<<ROWS, b>>>(D, ROWS, NPTS, out); };
            char what[64];
            r1(); snprintf(what, sizeof what, "2: CAP 1024, %d threads", b); validate(what, out, ref, (int64_t)ROWS * K, 1e-7);
            float ms1 = time_ms(10, r1);
            r2(); snprintf(what, sizeof what, "2: CAP 2048, %d threads", b); validate(what, out, ref, (int64_t)ROWS * K, 1e-7);
            float ms2 = time_ms(10, r2);
            r4(); snprintf(what, sizeof what, "2: CAP 4096, %d threads", b); validate(what, out, ref, (int64_t)ROWS * K, 1e-7);
            float ms4 = time_ms(10, r4);
            printf("  2: %3d threads  CAP 1024 %8.3f ms  CAP 2048 %8.3f ms  CAP 4096 %8.3f ms  (%.1f GB/s at 2048)\n",
                   b, ms1, ms2, ms4, gbytes / (ms2 / 1e3));
        }
    }
    cudaCheck(cudaFree(D));
    cudaCheck(cudaFree(out));
    free(hD);
    free(ref);
    return 0;
}
