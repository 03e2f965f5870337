/* matmul_cpu.c - CPU twin of the linear layer (kernels/ops.h): OpenBLAS sgemm, rows split
 * over the OpenMP threads. CUDA version (cuBLASLt) in matmul.cu. Also the names of the
 * GEMM precisions (av_gemm_parse), which the CLI parses in every build. */
#include "kernels/ops.h"

#include <cblas.h>
#include <omp.h>
#include <string.h>
#include "base/util.h"

static const char *const gemm_names[] = {"f32", "tf32", "bf16", "f16"};

int av_gemm_parse(const char *name, av_gemm_precision *out) {
    for (int i = 0; i < 4; i++)
        if (name && !strcmp(name, gemm_names[i])) {
            *out = (av_gemm_precision)i;
            return AV_OK;
        }
    return av_fail("GEMM precision '%s' is unknown (expected f32, tf32, bf16 or f16)", name ? name : "");
}

const char *av_gemm_name(av_gemm_precision p) {
    return p >= AV_GEMM_F32 && p <= AV_GEMM_F16 ? gemm_names[p] : "?";
}

static void gemm_rows(float *out, const float *in, const float *w, int64_t M, int K, int N, av_wlayout wl,
                      float beta) {
    if (wl == AV_W_NK)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)M, N, K, 1.0f, in, K, w, K, beta, out, N);
    else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)M, N, K, 1.0f, in, K, w, N, beta, out, N);
}

void av_matmul_cpu(float *out, const float *in, const float *w, const float *bias,
                   int64_t M, int K, int N, av_wlayout wl) {
    if (M <= 0) return;
    float beta = 0.0f;
    if (bias) {
        /* Seed every row with the bias and let sgemm accumulate onto it (beta = 1). */
#pragma omp parallel for schedule(static)
        for (int64_t r = 0; r < M; r++) memcpy(out + r * N, bias, (size_t)N * sizeof(float));
        beta = 1.0f;
    }
    /* One thread pool for the whole forward pass: the rows are split over the OpenMP
     * threads, each calling a single-threaded sgemm. Letting OpenBLAS run its own pthread
     * pool beside OpenMP's made the two pools fight for the cores (OpenMP workers spin
     * after every region): 2x slower on a loaded 2-core machine, see
     * bench/RESULTS-extract.md. The caller's OpenBLAS thread count is restored after. */
    int nt = omp_get_max_threads();
    if (nt > 1 && M >= 32) {
        int saved = openblas_get_num_threads();
        openblas_set_num_threads(1);
#pragma omp parallel num_threads(nt)
        {
            int t = omp_get_thread_num(), n = omp_get_num_threads();
            int64_t r0 = M * t / n, r1 = M * (t + 1) / n;
            if (r1 > r0) gemm_rows(out + r0 * N, in + r0 * K, w, r1 - r0, K, N, wl, beta);
        }
        openblas_set_num_threads(saved);
    } else {
        gemm_rows(out, in, w, M, K, N, wl, beta);
    }
}
