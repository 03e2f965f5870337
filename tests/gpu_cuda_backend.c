/* gpu_cuda_backend.c - the CUDA backend's own plumbing, beyond the ops (which
 * tests/test_backend_ops.c runs on every backend): overlapped downloads into pinned
 * memory ordered after the compute stream, errors that come back as messages (an
 * unsupported head size, a patch size that does not divide the image, memory no card
 * has, a GEMM precision that does not exist), the 16-bit copies of kept weights (freed
 * with their weight, dropped by a restart of the backend).
 * SKIPs (exit 77) when the build has no CUDA or there is no usable device. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "kernels/backend/device.h"
#include "kernels/ops.h"
#include "tests/check.h"
#include "tests/gpu_skip.h"
#ifdef AV_HAVE_CUDA
#include "kernels/backend/ops_cuda.h"
#endif

#ifdef AV_HAVE_CUDA
static const av_backend *gpu;
static uint64_t rng = 0x9E3779B97F4A7C15ull;

static float frand(void) {   /* uniform in [-1, 1), xorshift64 */
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (float)((rng >> 40) * (1.0 / 8388608.0)) - 1.0f;
}
static float *rand_vec(int64_t n, float scale) {
    float *x = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    for (int64_t i = 0; i < n; i++) x[i] = scale * frand();
    return x;
}
/* A device copy of host data; every call site frees it with gpu->free. */
static void *dev(const void *host, size_t bytes) {
    void *d = gpu->alloc(bytes);
    if (!d || gpu->upload(d, host, bytes) != AV_OK) { fprintf(stderr, "upload: %s\n", av_last_error()); exit(1); }
    return d;
}
static double rel_l2(const float *got, const float *want, int64_t n) {
    double e = 0, w = 0;
    for (int64_t i = 0; i < n; i++) {
        double a = got[i], b = want[i];
        if (!isfinite(a)) return INFINITY;
        e += (a - b) * (a - b);
        w += b * b;
    }
    return w > 0 ? sqrt(e / w) : sqrt(e);
}
static void report(const char *op, const char *shape, const float *got, const float *want, int64_t n, double bound) {
    double err = rel_l2(got, want, n);
    printf("  %-10s %-34s rel L2 %.2e (bound %.0e)\n", op, shape, err, bound);
    CHECK_MSG(err <= bound, "%s %s: relative L2 error %.3e > %.0e", op, shape, err, bound);
}

/* The overlapped download path: pinned buffer, copy stream ordered after compute. */
static void test_async_download(void) {
    const int64_t n = 1 << 20;
    float *x = rand_vec(n, 1), *dx = dev(x, n * 4), *pinned = av_cuda_host_alloc(n * 4);
    CHECK(pinned != NULL);
    if (!pinned) return;
    CHECK(gpu->gelu(dx, n, AV_GELU_ERF) == AV_OK);   /* queued before the copy: the copy must see it */
    CHECK(av_cuda_download_async(pinned, dx, n * 4, 1) == AV_OK);
    CHECK(av_cuda_download_wait(1) == AV_OK);
    av_gelu_cpu(x, n, AV_GELU_ERF);
    report("download", "async, pinned, after gelu", pinned, x, n, 1e-6);
    av_cuda_host_free(pinned); free(x); gpu->free(dx);
}

static void test_errors(void) {
    float *d = gpu->alloc(1024);
    int32_t one = 1, *dlen = dev(&one, sizeof one);
    CHECK(gpu->attention(d, d, d, d, 129, 1, 1, 1, 129, dlen, 0) == AV_ERR);
    CHECK(strstr(av_last_error(), "head size 129") != NULL);
    CHECK(av_cuda_set_gemm_precision((av_gemm_precision)7) == AV_ERR);
    CHECK(gpu->set_gemm((av_gemm_precision)-1) == AV_ERR);
    CHECK(strstr(av_last_error(), "GEMM precision") != NULL);
    CHECK(gpu->patchify(d, d, 1, 30, 16) == AV_ERR);
    gpu->free(d); gpu->free(dlen);
    /* More memory than any card has: NULL and a message, not an abort. */
    CHECK(gpu->alloc((size_t)1 << 52) == NULL);
    CHECK(strstr(av_last_error(), "device memory") != NULL);
}

/* A kept copy belongs to its weight: after the weight is freed, a new weight that the
 * allocator places at the same address is multiplied as itself, not as the old copy. */
static void test_kept_weight_freed(void) {
    const int64_t M = 64;
    const int K = 256, N = 256;
    float *in = rand_vec(M * K, 1), *w1 = rand_vec((int64_t)K * N, 0.1f), *w2 = rand_vec((int64_t)K * N, 0.1f);
    float *want = malloc(M * N * sizeof(float)), *got = malloc(M * N * sizeof(float));
    av_matmul_cpu(want, in, w2, NULL, M, K, N, AV_W_NK);
    CHECK(gpu->set_gemm(AV_GEMM_BF16) == AV_OK);
    float *din = dev(in, M * K * 4), *dw1 = dev(w1, (size_t)K * N * 4);
    CHECK(gpu->keep_weight(dw1, (int64_t)K * N) == AV_OK);
    uintptr_t old = (uintptr_t)dw1;
    gpu->free(dw1);
    float *dw2 = dev(w2, (size_t)K * N * 4), *dout = gpu->alloc(M * N * 4);
    CHECK(gpu->matmul(dout, din, dw2, NULL, M, K, N, AV_W_NK) == AV_OK);
    CHECK(gpu->download(got, dout, M * N * 4) == AV_OK);
    CHECK(gpu->set_gemm(AV_GEMM_F32) == AV_OK);
    report("matmul", (uintptr_t)dw2 == old ? "new weight at a freed one's address" : "new weight after a freed one", got,
           want, M * N, 1e-2);
    free(in); free(w1); free(w2); free(want); free(got);
    gpu->free(din); gpu->free(dw2); gpu->free(dout);
}

/* A shutdown drops the kept copies and cuBLASLt's plans: a matmul after a new start,
 * with the same weight kept before it, is right. */
static void test_restart(void) {
    const int64_t M = 33;
    const int K = 40, N = 24;
    float *in = rand_vec(M * K, 1), *w = rand_vec((int64_t)K * N, 0.1f);
    float *want = malloc(M * N * sizeof(float)), *got = malloc(M * N * sizeof(float));
    av_matmul_cpu(want, in, w, NULL, M, K, N, AV_W_KN);
    CHECK(gpu->set_gemm(AV_GEMM_F16) == AV_OK);
    float *din = dev(in, M * K * 4), *dw = dev(w, (size_t)K * N * 4), *dout = gpu->alloc(M * N * 4);
    CHECK(gpu->keep_weight(dw, (int64_t)K * N) == AV_OK);
    CHECK(gpu->matmul(dout, din, dw, NULL, M, K, N, AV_W_KN) == AV_OK);
    CHECK(gpu->sync() == AV_OK);
    av_cuda_shutdown();
    CHECK(av_cuda_init() == AV_OK);
    CHECK(gpu->matmul(dout, din, dw, NULL, M, K, N, AV_W_KN) == AV_OK);
    CHECK(gpu->download(got, dout, M * N * 4) == AV_OK);
    report("matmul", "f16, after a backend restart", got, want, M * N, 2e-3);
    CHECK(gpu->set_gemm(AV_GEMM_F32) == AV_OK);
    free(in); free(w); free(want); free(got);
    gpu->free(din); gpu->free(dw); gpu->free(dout);
}
#endif

int main(void) {
    AV_GPU_TEST_OPEN();
#ifdef AV_HAVE_CUDA
    gpu = av_backend_cuda();
    CHECK_MSG(gpu != NULL, "av_backend_cuda: %s", av_last_error());
    if (!gpu) return av_check_summary("gpu_cuda_backend");

    test_async_download();
    test_errors();
    test_kept_weight_freed();
    test_restart();
    av_cuda_shutdown();
    return av_check_summary("gpu_cuda_backend");
#endif
}
