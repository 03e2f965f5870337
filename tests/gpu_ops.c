/* gpu_ops.c - every op of kernels/ops.h (and the CUDA-only ones of ops_cuda.h) on small
 * random inputs on both backends, compared by relative L2 error ||gpu - cpu|| / ||cpu||
 * (test-backend-ops style). Shapes cover the paths the kernels choose between: float4
 * and scalar, aligned and not, head sizes of every accumulator count, padded and causal
 * attention, fused qkv strides, all GEMM precisions and both weight layouts.
 * SKIPs (exit 77) when the build has no CUDA or there is no usable device. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "kernels/backend/device.h"
#include "kernels/ops.h"
#include "kernels/pack/pack.h"
#include "kernels/rope/rope.h"
#include "base/dtype.h"
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
static float *fetch(const float *d, int64_t n) {
    float *h = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    if (gpu->sync() != AV_OK || gpu->download(h, d, (size_t)n * sizeof(float)) != AV_OK) {
        fprintf(stderr, "download: %s\n", av_last_error());
        exit(1);
    }
    return h;
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

static void test_embed(int with_types) {
    const int64_t T = 77; const int C = 96, V = 50, P = 40, Y = 2;
    float *wte = rand_vec((int64_t)V * C, 1), *wpe = rand_vec((int64_t)P * C, 1), *tte = rand_vec((int64_t)Y * C, 1);
    int32_t ids[77], pos[77], types[77];
    for (int t = 0; t < T; t++) { ids[t] = (t * 7 + 3) % V; pos[t] = t % P; types[t] = t > 40; }
    float *want = malloc(T * C * sizeof(float));
    av_embed_cpu(want, ids, pos, types, wte, wpe, with_types ? tte : NULL, T, C);
    float *dwte = dev(wte, V * C * 4), *dwpe = dev(wpe, P * C * 4), *dtte = dev(tte, Y * C * 4);
    int32_t *dids = dev(ids, sizeof ids), *dpos = dev(pos, sizeof pos), *dtypes = dev(types, sizeof types);
    float *dout = gpu->alloc(T * C * 4);
    CHECK(gpu->embed(dout, dids, dpos, dtypes, dwte, dwpe, with_types ? dtte : NULL, T, C) == AV_OK);
    float *got = fetch(dout, T * C);
    report("embed", with_types ? "T 77, C 96, token types" : "T 77, C 96", got, want, T * C, 1e-6);
    free(wte); free(wpe); free(tte); free(want); free(got);
    gpu->free(dwte); gpu->free(dwpe); gpu->free(dtte); gpu->free(dids); gpu->free(dpos); gpu->free(dtypes); gpu->free(dout);
}

static void test_patchify(int B, int S, int P) {
    int64_t nin = (int64_t)B * 3 * S * S;
    float *img = rand_vec(nin, 1), *want = malloc(nin * sizeof(float));
    av_patchify_cpu(want, img, B, S, P);
    float *dimg = dev(img, nin * 4), *dout = gpu->alloc(nin * 4);
    CHECK(gpu->patchify(dout, dimg, B, S, P) == AV_OK);
    float *got = fetch(dout, nin);
    char shape[64]; snprintf(shape, sizeof shape, "B %d, S %d, P %d", B, S, P);
    report("patchify", shape, got, want, nin, 0);   /* a pure gather: exact */
    free(img); free(want); free(got); gpu->free(dimg); gpu->free(dout);
}

/* offset shifts the input by floats (breaking 16-byte alignment); inplace writes over it. */
static void test_layernorm(int64_t rows, int C, int offset, int inplace) {
    int64_t n = rows * C + offset;
    float *x = rand_vec(n, 3), *g = rand_vec(C, 1), *b = rand_vec(C, 1), *want = malloc(n * sizeof(float));
    for (int64_t i = 0; i < n; i++) x[i] += 0.5f;   /* a non-zero mean, as real activations have */
    av_layernorm_cpu(want, x + offset, g, b, rows, C, 1e-5f);
    float *dx = dev(x, n * 4), *dg = dev(g, C * 4), *db = dev(b, C * 4), *dout = inplace ? dx : gpu->alloc(n * 4);
    CHECK(gpu->layernorm(dout + (inplace ? offset : 0), dx + offset, dg, db, rows, C, 1e-5f) == AV_OK);
    float *got = fetch(dout + (inplace ? offset : 0), rows * C);
    char shape[64]; snprintf(shape, sizeof shape, "%lld x %d%s%s", (long long)rows, C, offset ? ", unaligned" : "", inplace ? ", in place" : "");
    report("layernorm", shape, got, want, rows * C, 1e-5);
    free(x); free(g); free(b); free(want); free(got);
    gpu->free(dx); gpu->free(dg); gpu->free(db); if (!inplace) gpu->free(dout);
}

static void test_matmul(int64_t M, int K, int N, av_wlayout wl, int with_bias, av_gemm_precision p, double bound) {
    float *in = rand_vec(M * K, 1), *w = rand_vec((int64_t)K * N, 0.1f), *bias = rand_vec(N, 1);
    float *want = malloc(M * N * sizeof(float));
    av_matmul_cpu(want, in, w, with_bias ? bias : NULL, M, K, N, wl);
    float *din = dev(in, M * K * 4), *dw = dev(w, (size_t)K * N * 4), *db = dev(bias, N * 4), *dout = gpu->alloc(M * N * 4);
    CHECK(av_cuda_set_gemm_precision(p) == AV_OK);
    CHECK(gpu->matmul(dout, din, dw, with_bias ? db : NULL, M, K, N, wl) == AV_OK);
    float *got = fetch(dout, M * N);
    CHECK(av_cuda_set_gemm_precision(AV_GEMM_F32) == AV_OK);
    static const char *pn[] = {"f32", "tf32", "bf16", "f16"};
    char shape[80];
    snprintf(shape, sizeof shape, "%lldx%dx%d %s%s %s", (long long)M, K, N, wl == AV_W_NK ? "NK" : "KN",
             with_bias ? "+bias" : "", pn[p]);
    report("matmul", shape, got, want, M * N, bound);
    free(in); free(w); free(bias); free(want); free(got);
    gpu->free(din); gpu->free(dw); gpu->free(db); gpu->free(dout);
}

static void test_gelu(int64_t n, av_gelu_kind kind) {
    float *x = rand_vec(n, 4), *want = malloc(n * sizeof(float));
    memcpy(want, x, n * sizeof(float));
    av_gelu_cpu(want, n, kind);
    float *dx = dev(x, n * 4);
    CHECK(gpu->gelu(dx, n, kind) == AV_OK);
    float *got = fetch(dx, n);
    report("gelu", kind == AV_GELU_TANH ? "tanh form" : "erf form", got, want, n, 1e-6);
    free(x); free(want); free(got); gpu->free(dx);
}

static void test_bias_gelu(int64_t rows, int N, av_gelu_kind kind) {
    float *x = rand_vec(rows * N, 3), *bias = rand_vec(N, 1), *want = malloc(rows * N * sizeof(float));
    for (int64_t i = 0; i < rows * N; i++) want[i] = x[i] + bias[i % N];
    av_gelu_cpu(want, rows * N, kind);
    float *dx = dev(x, rows * N * 4), *db = dev(bias, N * 4);
    CHECK(av_cuda_bias_gelu(dx, db, rows, N, kind) == AV_OK);
    float *got = fetch(dx, rows * N);
    report("bias_gelu", kind == AV_GELU_TANH ? "tanh form" : "erf form", got, want, rows * N, 1e-6);
    free(x); free(bias); free(want); free(got); gpu->free(dx); gpu->free(db);
}

static void test_add(int64_t n, int offset) {
    float *a = rand_vec(n + offset, 1), *b = rand_vec(n + offset, 1), *want = malloc(n * sizeof(float));
    av_add_cpu(want, a + offset, b + offset, n);
    float *da = dev(a, (n + offset) * 4), *db = dev(b, (n + offset) * 4);
    CHECK(gpu->add(da + offset, da + offset, db + offset, n) == AV_OK);   /* out aliases a, as the residual does */
    float *got = fetch(da + offset, n);
    char shape[48]; snprintf(shape, sizeof shape, "n %lld%s, in place", (long long)n, offset ? ", unaligned" : "");
    report("add", shape, got, want, n, 0);
    free(a); free(b); free(want); free(got); gpu->free(da); gpu->free(db);
}

/* q, k, v come from one fused [B*T, (H + 2 Hkv) d] buffer, as the models hand them;
 * Hkv < H: grouped-query attention. */
static void test_attention_gqa(int B, int T, int H, int Hkv, int d, const int32_t *lengths, int causal) {
    int C = H * d, ld = (H + 2 * Hkv) * d;
    int64_t rows = (int64_t)B * T;
    float *qkv = rand_vec(rows * ld, 2), *want = malloc(rows * C * sizeof(float));
    av_attention_cpu(want, qkv, qkv + C, qkv + C + Hkv * d, ld, B, T, H, Hkv, d, lengths, causal);
    float *dqkv = dev(qkv, rows * ld * 4), *dout = gpu->alloc(rows * C * 4);
    int32_t *dlen = dev(lengths, B * sizeof(int32_t));
    float *nan = malloc(rows * C * sizeof(float));
    for (int64_t i = 0; i < rows * C; i++) nan[i] = NAN;   /* padded rows must be overwritten with zeros */
    CHECK(gpu->upload(dout, nan, rows * C * 4) == AV_OK);
    CHECK(gpu->attention(dout, dqkv, dqkv + C, dqkv + C + Hkv * d, ld, B, T, H, Hkv, d, dlen, causal) == AV_OK);
    float *got = fetch(dout, rows * C);
    char shape[80];
    snprintf(shape, sizeof shape, "B %d T %d H %d/%d d %d%s", B, T, H, Hkv, d, causal ? " causal" : "");
    report("attention", shape, got, want, rows * C, 1e-5);
    free(qkv); free(want); free(got); free(nan); gpu->free(dqkv); gpu->free(dout); gpu->free(dlen);
}
static void test_attention(int B, int T, int H, int d, const int32_t *lengths, int causal) {
    test_attention_gqa(B, T, H, H, d, lengths, causal);
}

/* RMSNorm of rows, and in place per head inside rows of stride ld (Qwen3's q/k norm). */
static void test_rmsnorm(int64_t rows, int C, int H, int d, int ld) {
    float *x = rand_vec(rows * C, 3), *w = rand_vec(C, 1), *want = malloc(rows * C * sizeof(float));
    av_rmsnorm_cpu(want, x, w, rows, C, 1e-6f);
    float *dx = dev(x, rows * C * 4), *dw = dev(w, C * 4), *dout = gpu->alloc(rows * C * 4);
    CHECK(gpu->rmsnorm(dout, dx, dw, rows, C, 1e-6f) == AV_OK);
    float *got = fetch(dout, rows * C);
    char shape[64]; snprintf(shape, sizeof shape, "%lld x %d", (long long)rows, C);
    report("rmsnorm", shape, got, want, rows * C, 1e-6);
    free(x); free(want); free(got); gpu->free(dx); gpu->free(dout);
    float *y = rand_vec(rows * ld, 3), *hw = rand_vec(d, 1), *ywant = malloc(rows * ld * sizeof(float));
    memcpy(ywant, y, rows * ld * sizeof(float));
    av_head_rmsnorm_cpu(ywant, ld, rows, H, d, hw, 1e-6f);
    float *dy = dev(y, rows * ld * 4), *dhw = dev(hw, d * 4);
    CHECK(gpu->head_rmsnorm(dy, ld, rows, H, d, dhw, 1e-6f) == AV_OK);
    got = fetch(dy, rows * ld);
    snprintf(shape, sizeof shape, "%lld rows, %d heads of %d, ld %d", (long long)rows, H, d, ld);
    report("head_rmsnorm", shape, got, ywant, rows * ld, 1e-6);
    free(w); free(y); free(hw); free(ywant); free(got); gpu->free(dw); gpu->free(dy); gpu->free(dhw);
}

/* RoPE over the q and k heads of fused rows (v untouched), positions up to 4095. */
static void test_rope(int64_t rows, int H, int d, int ld) {
    float *x = rand_vec(rows * ld, 2), *want = malloc(rows * ld * sizeof(float)), *inv = malloc(d / 2 * sizeof(float));
    av_rope_params p = {AV_ROPE_LLAMA3, 500000.0, 8.0, 1.0, 4.0, 8192.0};
    av_rope_inv_freq(&p, d, inv);
    int32_t *pos = malloc(rows * sizeof(int32_t));
    for (int64_t r = 0; r < rows; r++) pos[r] = (int32_t)(r * 97 % 4096);
    memcpy(want, x, rows * ld * sizeof(float));
    av_rope_cpu(want, ld, rows, H, d, pos, inv);
    float *dx = dev(x, rows * ld * 4), *dinv = dev(inv, d / 2 * 4);
    int32_t *dpos = dev(pos, rows * sizeof(int32_t));
    CHECK(gpu->rope(dx, ld, rows, H, d, dpos, dinv) == AV_OK);
    float *got = fetch(dx, rows * ld);
    char shape[64]; snprintf(shape, sizeof shape, "%lld rows, %d heads of %d", (long long)rows, H, d);
    report("rope", shape, got, want, rows * ld, 1e-5);
    free(x); free(want); free(inv); free(pos); free(got); gpu->free(dx); gpu->free(dinv); gpu->free(dpos);
}

static void test_swiglu(int64_t rows, int I) {
    float *gu = rand_vec(rows * 2 * I, 6), *want = malloc(rows * I * sizeof(float));
    av_swiglu_cpu(want, gu, rows, I);
    float *dgu = dev(gu, rows * 2 * I * 4), *dout = gpu->alloc(rows * I * 4);
    CHECK(gpu->swiglu(dout, dgu, rows, I) == AV_OK);
    float *got = fetch(dout, rows * I);
    char shape[48]; snprintf(shape, sizeof shape, "%lld x %d", (long long)rows, I);
    report("swiglu", shape, got, want, rows * I, 1e-6);
    free(gu); free(want); free(got); gpu->free(dgu); gpu->free(dout);
}

/* 16-bit stored weights widened on the device: exactly base/dtype.c's values. */
static void test_half_to_f32(int64_t n, av_half kind) {
    float *x = rand_vec(n, 50), *want = malloc(n * sizeof(float));
    uint16_t *h = malloc(n * sizeof(uint16_t));
    for (int64_t i = 0; i < n; i++) {
        h[i] = kind == AV_HALF_BF16 ? av_f32_to_bf16(x[i]) : av_f32_to_f16(x[i]);
        want[i] = kind == AV_HALF_BF16 ? av_bf16_to_f32(h[i]) : av_f16_to_f32(h[i]);
    }
    uint16_t *dh = dev(h, n * 2);
    float *dout = gpu->alloc(n * 4);
    CHECK(gpu->half_to_f32(dout, dh, n, kind) == AV_OK);
    float *got = fetch(dout, n);
    report("half_to_f32", kind == AV_HALF_BF16 ? "bf16" : "f16", got, want, n, 0);
    free(x); free(want); free(h); free(got); gpu->free(dh); gpu->free(dout);
}

static void test_pack(int B, int T, int H, int Hkv, int d, const int32_t *lengths, av_dtype dt, int with_v) {
    int C = H * d, ld = (H + 2 * Hkv) * d;
    int64_t rows = (int64_t)B * T, n = av_pack_count(lengths, B, T);
    size_t es = dt == AV_DT_F16 ? 2 : 4, nb = (size_t)H * n * d * es, nkb = nb / H * Hkv;
    float *qkv = rand_vec(rows * ld, 2);
    void *wq = malloc(nb), *wk = malloc(nb), *gq = malloc(nb), *gk = malloc(nb);
    float *wv = malloc(H * n * sizeof(float));
    double wsum[3 * 8], gsum[3 * 8];
    for (int i = 0; i < 3 * H; i++) wsum[i] = 1.0;   /* sums are added to: start from 1 on both sides */
    double *dsum = dev(wsum, 3 * H * sizeof(double));
    const float *k = qkv + C, *v = with_v ? k + (int64_t)Hkv * d : NULL;
    CHECK(av_pack_heads_cpu(wq, wk, with_v ? wv : NULL, wsum, dt, qkv, k, v, ld, B, T, H, Hkv, d, lengths) == AV_OK);
    float *dqkv = dev(qkv, rows * ld * 4);
    int32_t *dlen = dev(lengths, B * sizeof(int32_t));
    void *dq = gpu->alloc(nb), *dk = gpu->alloc(nb);
    float *dv = gpu->alloc(H * n * 4);
    CHECK(av_pack_heads_cuda(dq, dk, with_v ? dv : NULL, dsum, dt, dqkv, dqkv + C,
                             with_v ? dqkv + C + (int64_t)Hkv * d : NULL, ld, B, T, H, Hkv, d, dlen, n) == AV_OK);
    CHECK(gpu->sync() == AV_OK);
    CHECK(gpu->download(gq, dq, nb) == AV_OK);
    CHECK(gpu->download(gk, dk, nkb) == AV_OK);
    CHECK(gpu->download(gsum, dsum, 3 * H * sizeof(double)) == AV_OK);
    /* Same rounding of the same floats on both sides: the packed vectors are identical. */
    CHECK_MSG(!memcmp(gq, wq, nb) && !memcmp(gk, wk, nkb), "pack %s: packed q/k differ", av_dtype_name(dt));
    for (int i = 0; i < 3 * H; i++)
        CHECK_MSG(fabs(gsum[i] - wsum[i]) <= 1e-5 * fabs(wsum[i]), "pack: sum %d: %.9g vs %.9g", i, gsum[i], wsum[i]);
    if (with_v) {
        float *gv = fetch(dv, H * n);
        report("pack |v|", av_dtype_name(dt), gv, wv, H * n, 1e-6);
        free(gv);
    }
    printf("  %-10s %-34s %s\n", "pack", Hkv < H ? (dt == AV_DT_F16 ? "f16, grouped" : "f32, grouped") : av_dtype_name(dt),
           "compared bit for bit");
    free(qkv); free(wq); free(wk); free(gq); free(gk); free(wv);
    gpu->free(dqkv); gpu->free(dlen); gpu->free(dsum); gpu->free(dq); gpu->free(dk); gpu->free(dv);
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
    CHECK(gpu->attention(d, d, d, d, 129, 1, 1, 1, 1, 129, dlen, 0) == AV_ERR);
    CHECK(strstr(av_last_error(), "head size 129") != NULL);
    CHECK(gpu->attention(d, d, d, d, 64, 1, 1, 3, 2, 16, dlen, 1) == AV_ERR);
    CHECK(strstr(av_last_error(), "3 query heads do not divide into 2 key heads") != NULL);
    CHECK(gpu->rope(d, 64, 1, 1, 15, (int32_t *)d, d) == AV_ERR);
    CHECK(strstr(av_last_error(), "odd") != NULL);
    CHECK(av_cuda_set_gemm_precision((av_gemm_precision)7) == AV_ERR);
    av_gemm_precision p;
    CHECK(av_cuda_parse_gemm_precision("bf16", &p) == AV_OK && p == AV_GEMM_BF16);
    CHECK(av_cuda_parse_gemm_precision("fp8", &p) == AV_ERR);
    CHECK(gpu->patchify(d, d, 1, 30, 16) == AV_ERR);
    gpu->free(d); gpu->free(dlen);
    /* More memory than any card has: NULL and a message, not an abort. */
    CHECK(gpu->alloc((size_t)1 << 52) == NULL);
    CHECK(strstr(av_last_error(), "device memory") != NULL);
    /* A bad AV_CUDA_GEMM stops the backend from starting, with the variable named. */
    av_cuda_shutdown();
    setenv("AV_CUDA_GEMM", "fp8", 1);
    CHECK(av_cuda_init() == AV_ERR);
    CHECK(strstr(av_last_error(), "AV_CUDA_GEMM") != NULL);
    setenv("AV_CUDA_GEMM", "bf16", 1);
    CHECK(av_cuda_init() == AV_OK && av_cuda_gemm_precision() == AV_GEMM_BF16);
    av_cuda_shutdown();
    unsetenv("AV_CUDA_GEMM");
    CHECK(av_cuda_init() == AV_OK);
    CHECK(av_cuda_set_gemm_precision(AV_GEMM_F32) == AV_OK);
}
#endif

int main(void) {
    AV_GPU_TEST_OPEN();
#ifdef AV_HAVE_CUDA
    gpu = av_backend_cuda();
    CHECK_MSG(gpu != NULL, "av_backend_cuda: %s", av_last_error());
    if (!gpu) return av_check_summary("gpu_ops");

    test_embed(0);
    test_embed(1);
    test_patchify(2, 32, 8);
    test_patchify(1, 224, 16);
    test_layernorm(300, 768, 0, 0);
    test_layernorm(300, 768, 0, 1);
    test_layernorm(33, 37, 0, 0);
    test_layernorm(64, 384, 1, 0);
    test_matmul(300, 768, 768, AV_W_NK, 1, AV_GEMM_F32, 1e-5);
    test_matmul(300, 768, 2304, AV_W_KN, 1, AV_GEMM_F32, 1e-5);
    test_matmul(37, 53, 29, AV_W_NK, 0, AV_GEMM_F32, 1e-5);
    test_matmul(37, 53, 29, AV_W_KN, 1, AV_GEMM_F32, 1e-5);
    test_matmul(256, 768, 3072, AV_W_NK, 1, AV_GEMM_TF32, 5e-3);
    test_matmul(256, 768, 3072, AV_W_NK, 1, AV_GEMM_BF16, 1e-2);
    test_matmul(256, 768, 3072, AV_W_KN, 0, AV_GEMM_BF16, 1e-2);
    test_matmul(256, 768, 768, AV_W_NK, 1, AV_GEMM_F16, 2e-3);
    test_gelu(100003, AV_GELU_ERF);
    test_gelu(100003, AV_GELU_TANH);
    test_bias_gelu(129, 3072, AV_GELU_ERF);
    test_bias_gelu(129, 37, AV_GELU_TANH);
    test_add(100003, 0);
    test_add(1001, 1);

    int32_t l3[] = {37, 20, 1}, l4[] = {128, 77, 5, 128}, l2[] = {50, 50}, l0[] = {0, 9}, l1[] = {1};
    int32_t l40[] = {40, 17}, l33[] = {33, 32};
    test_attention(3, 37, 2, 16, l3, 0);    /* d < 32: lanes past d idle */
    test_attention(3, 37, 2, 16, l3, 1);
    test_attention(4, 128, 12, 64, l4, 0);  /* BERT heads, padding */
    test_attention(4, 128, 12, 64, l4, 1);  /* GPT-2 heads */
    test_attention(2, 50, 12, 64, l2, 0);   /* ViT-B/32: 50 tokens, none padded */
    test_attention(3, 37, 4, 32, l3, 0);    /* MiniLM head size */
    test_attention(2, 40, 2, 80, l40, 1);    /* three accumulators per lane */
    test_attention(2, 33, 1, 128, l33, 0);   /* the largest head size */
    test_attention(2, 9, 3, 8, l0, 1);      /* an empty item: all zeros */
    test_attention(1, 1, 2, 64, l1, 1);     /* one token */
    int32_t l600[] = {600, 311};
    test_attention_gqa(3, 37, 6, 2, 16, l3, 1);     /* grouped-query */
    test_attention_gqa(2, 600, 9, 3, 64, l600, 1);  /* SmolLM2's heads, a long item */
    test_attention_gqa(2, 128, 32, 8, 128, l4, 1);  /* Llama-3-8B's heads */
    test_attention_gqa(2, 50, 8, 1, 64, l2, 0);     /* one key head */

    test_rmsnorm(300, 576, 9, 64, 15 * 64);          /* SmolLM2: hidden 576, fused 9 + 2*3 heads */
    test_rmsnorm(33, 37, 3, 10, 41);
    test_rope(300, 12, 64, 15 * 64);                 /* q and k heads of SmolLM2's fused rows */
    test_rope(37, 5, 128, 5 * 128);
    test_swiglu(129, 1536);
    test_swiglu(3, 37);
    test_half_to_f32(100003, AV_HALF_F16);
    test_half_to_f32(1001, AV_HALF_BF16);

    int32_t lp[] = {7, 16, 0, 3};
    test_pack(4, 16, 3, 3, 24, lp, AV_DT_F32, 1);
    test_pack(4, 16, 3, 3, 24, lp, AV_DT_F16, 1);
    test_pack(4, 16, 6, 2, 24, lp, AV_DT_F16, 1);   /* 3 query heads per key head */
    test_pack(4, 128, 8, 8, 64, l4, AV_DT_F16, 0);
    test_async_download();
    test_errors();
    av_cuda_shutdown();
    return av_check_summary("gpu_ops");
#endif
}
