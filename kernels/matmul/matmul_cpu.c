/* matmul_cpu.c - CPU twin of the linear layer (kernels/ops.h): OpenBLAS sgemm, rows split
 * over the OpenMP threads. CUDA version (cuBLAS) in matmul.cu. */
#include "kernels/ops.h"

#include <cblas.h>
#include <omp.h>
#include <string.h>

static void gemm_rows(float *out, const float *in, const float *w, int64_t M, int K, int N, av_wlayout wl,
                      float beta) {
    if (wl == AV_W_NK)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)M, N, K, 1.0f, in, K, w, K, beta, out, N);
    else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)M, N, K, 1.0f, in, K, w, N, beta, out, N);
}

/* Rows [r0, r1): seeded with the bias when there is one (sgemm then adds onto it, beta 1),
 * then one single-threaded sgemm. */
static void rows_block(float *out, const float *in, const float *w, const float *bias, int64_t r0, int64_t r1, int K,
                       int N, av_wlayout wl) {
    if (bias)
        for (int64_t r = r0; r < r1; r++) memcpy(out + r * N, bias, (size_t)N * sizeof(float));
    gemm_rows(out + r0 * N, in + r0 * K, w, r1 - r0, K, N, wl, bias ? 1.0f : 0.0f);
}

void av_matmul_cpu(float *out, const float *in, const float *w, const float *bias,
                   int64_t M, int K, int N, av_wlayout wl) {
    if (M <= 0) return;
    /* One thread pool for the whole forward pass: the rows are split over the OpenMP
     * threads, each seeding its own rows with the bias and calling a single-threaded sgemm
     * (one parallel region per GEMM, the bias written where the GEMM then reads it).
     * Letting OpenBLAS run its own pthread pool beside OpenMP's made the two pools fight
     * for the cores (OpenMP workers spin after every region): 2x slower on a loaded 2-core
     * machine, see bench/RESULTS-extract.md. The caller's OpenBLAS thread count is
     * restored after. */
    int nt = omp_get_max_threads();
    if (nt > 1 && M >= 32) {
        int saved = openblas_get_num_threads();
        openblas_set_num_threads(1);
#pragma omp parallel num_threads(nt)
        {
            int t = omp_get_thread_num(), n = omp_get_num_threads();
            int64_t r0 = M * t / n, r1 = M * (t + 1) / n;
            if (r1 > r0) rows_block(out, in, w, bias, r0, r1, K, N, wl);
        }
        openblas_set_num_threads(saved);
    } else {
        rows_block(out, in, w, bias, 0, M, K, N, wl);
    }
}
