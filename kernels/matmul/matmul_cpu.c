/* matmul_cpu.c - CPU twin of the linear layer (kernels/ops.h): OpenBLAS sgemm over fixed
 * blocks of rows, the blocks spread over the OpenMP threads. CUDA version (cuBLASLt) in
 * matmul.cu. Also the names of the GEMM precisions (av_gemm_parse), which the CLI parses
 * in every build. */
#include "kernels/ops.h"

#include <cblas.h>
#include <string.h>
#include "base/util.h"
#include "kernels/backend/determinism.h"

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
    av_blas_single_thread();
    float beta = 0.0f;
    if (bias) {
        /* Seed every row with the bias and let sgemm accumulate onto it (beta = 1). */
#pragma omp parallel for schedule(static)
        for (int64_t r = 0; r < M; r++) memcpy(out + r * N, bias, (size_t)N * sizeof(float));
        beta = 1.0f;
    }
    /* Blocks of AV_DET_ROWS rows, each one single-threaded sgemm (determinism.h): a row's
     * value depends on the block it falls in (sgemm's kernels differ at a block's edge),
     * never on the thread count. One share per thread instead made 0.1% of the stored q
     * values differ by an f16 step between 1 and 2 threads. */
    int64_t nb = (M + AV_DET_ROWS - 1) / AV_DET_ROWS;
#pragma omp parallel for schedule(dynamic, 1) if (nb > 1)
    for (int64_t b = 0; b < nb; b++) {
        int64_t r0 = b * AV_DET_ROWS, rows = M - r0 < AV_DET_ROWS ? M - r0 : AV_DET_ROWS;
        gemm_rows(out + r0 * N, in + r0 * K, w, rows, K, N, wl, beta);
    }
}
