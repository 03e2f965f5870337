/* ops_cpu.c - the CPU twins of kernels/ops.h: plain C with OpenMP, GEMM through OpenBLAS
 * cblas_sgemm. These are the reference the CUDA kernels are tested against, so they favour
 * clarity; the only performance work is where the forward pass spends its time (GEMM goes
 * to BLAS, attention keeps its inner loops contiguous and vectorisable).
 * av_backend_cpu() wraps them in the backend table (host memory, nothing to upload). */
#include "kernels/ops.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include "host/util.h"
#include "kernels/pack.h"

void av_embed_cpu(float *out, const int32_t *ids, const int32_t *pos, const int32_t *types,
                  const float *wte, const float *wpe, const float *tte, int64_t T, int C) {
#pragma omp parallel for schedule(static)
    for (int64_t t = 0; t < T; t++) {
        const float *a = wte + (int64_t)ids[t] * C, *b = wpe + (int64_t)pos[t] * C;
        const float *c = tte ? tte + (int64_t)types[t] * C : NULL;
        float *o = out + t * C;
        for (int i = 0; i < C; i++) o[i] = a[i] + b[i] + (c ? c[i] : 0.0f);
    }
}

void av_patchify_cpu(float *out, const float *img, int B, int S, int P) {
    int g = S / P, row = 3 * P * P;
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < B; b++)
        for (int p = 0; p < g * g; p++) {
            int py = p / g, px = p % g;
            float *o = out + ((int64_t)b * g * g + p) * row;
            for (int c = 0; c < 3; c++)
                for (int ky = 0; ky < P; ky++) {
                    const float *src = img + (((int64_t)b * 3 + c) * S + py * P + ky) * S + px * P;
                    memcpy(o + (c * P + ky) * P, src, (size_t)P * sizeof(float));
                }
        }
}

void av_layernorm_cpu(float *out, const float *in, const float *gamma, const float *beta,
                      int64_t rows, int C, float eps) {
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        const float *x = in + r * C;
        float *o = out + r * C;
        /* Two passes in double: the mean is subtracted before squaring, so large offsets
         * (GPT-2's residual stream reaches the hundreds) do not cancel catastrophically. */
        double mean = 0, var = 0;
        for (int i = 0; i < C; i++) mean += x[i];
        mean /= C;
        for (int i = 0; i < C; i++) var += (x[i] - mean) * (x[i] - mean);
        var /= C;
        float m = (float)mean, rs = (float)(1.0 / sqrt(var + eps));
        for (int i = 0; i < C; i++) o[i] = (x[i] - m) * rs * gamma[i] + beta[i];
    }
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

void av_gelu_cpu(float *x, int64_t n, av_gelu_kind kind) {
    if (kind == AV_GELU_ERF) {
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < n; i++) x[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678118654752f));
    } else {
        const float c = 0.79788456080286536f; /* sqrt(2/pi), as gelu_new / gelu_pytorch_tanh */
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < n; i++) {
            float v = x[i];
            x[i] = 0.5f * v * (1.0f + tanhf(c * (v + 0.044715f * v * v * v)));
        }
    }
}

void av_add_cpu(float *out, const float *a, const float *b, int64_t n) {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}

/* Dot product with eight independent partial sums: without -ffast-math the compiler may
 * not reorder a single running sum, and this is the attention's innermost loop. */
static inline float dot(const float *a, const float *b, int d) {
    float s[8] = {0};
    int i = 0;
    for (; i + 8 <= d; i += 8)
        for (int j = 0; j < 8; j++) s[j] += a[i + j] * b[i + j];
    float r = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
    for (; i < d; i++) r += a[i] * b[i];
    return r;
}

void av_attention_cpu(float *out, const float *q, const float *k, const float *v, int ld,
                      int B, int T, int H, int d, const int32_t *lengths, int causal) {
    const float scale = 1.0f / sqrtf((float)d);
    const int C = H * d;
#pragma omp parallel
    {
        float *p = malloc((size_t)(T > 0 ? T : 1) * sizeof(float));
#pragma omp for collapse(3) schedule(static)
        for (int b = 0; b < B; b++)
            for (int h = 0; h < H; h++)
                for (int i = 0; i < T; i++) {
                    int len = lengths[b];
                    float *o = out + ((int64_t)b * T + i) * C + h * d;
                    if (i >= len || !p) {
                        memset(o, 0, (size_t)d * sizeof(float));
                        continue;
                    }
                    const float *qi = q + ((int64_t)b * T + i) * ld + h * d;
                    int n = causal ? i + 1 : len;
                    float mx = -INFINITY;
                    for (int j = 0; j < n; j++) {
                        p[j] = dot(qi, k + ((int64_t)b * T + j) * ld + h * d, d) * scale;
                        if (p[j] > mx) mx = p[j];
                    }
                    float sum = 0;
                    for (int j = 0; j < n; j++) sum += (p[j] = expf(p[j] - mx));
                    float inv = 1.0f / sum;
                    memset(o, 0, (size_t)d * sizeof(float));
                    for (int j = 0; j < n; j++) {
                        const float *vj = v + ((int64_t)b * T + j) * ld + h * d;
                        float w = p[j] * inv;
                        for (int c = 0; c < d; c++) o[c] += w * vj[c];
                    }
                }
        free(p);
    }
}

void av_attention_probs_cpu(float *probs, const float *q, const float *k, int n, int d, int causal) {
    const float scale = 1.0f / sqrtf((float)d);
#pragma omp parallel for schedule(static)
    for (int i = 0; i < n; i++) {
        float *p = probs + (int64_t)i * n;
        int m = causal ? i + 1 : n;
        float mx = -INFINITY;
        for (int j = 0; j < m; j++) {
            p[j] = dot(q + (int64_t)i * d, k + (int64_t)j * d, d) * scale;
            if (p[j] > mx) mx = p[j];
        }
        float sum = 0;
        for (int j = 0; j < m; j++) sum += (p[j] = expf(p[j] - mx));
        for (int j = 0; j < m; j++) p[j] /= sum;
        for (int j = m; j < n; j++) p[j] = 0;
    }
}

/* ---- the backend table: host memory, every op returns AV_OK ------------------------- */
static void *cpu_alloc(size_t bytes) { return av_malloc(bytes ? bytes : 1); }
static void cpu_free(void *p) { free(p); }
static int cpu_copy(void *dst, const void *src, size_t bytes) {
    if (bytes) memcpy(dst, src, bytes);
    return AV_OK;
}
static int cpu_sync(void) { return AV_OK; }
static int cpu_embed(float *out, const int32_t *ids, const int32_t *pos, const int32_t *types,
                     const float *wte, const float *wpe, const float *tte, int64_t T, int C) {
    av_embed_cpu(out, ids, pos, types, wte, wpe, tte, T, C);
    return AV_OK;
}
static int cpu_patchify(float *out, const float *img, int B, int S, int P) {
    av_patchify_cpu(out, img, B, S, P);
    return AV_OK;
}
static int cpu_layernorm(float *out, const float *in, const float *gamma, const float *beta,
                         int64_t rows, int C, float eps) {
    av_layernorm_cpu(out, in, gamma, beta, rows, C, eps);
    return AV_OK;
}
static int cpu_matmul(float *out, const float *in, const float *w, const float *bias,
                      int64_t M, int K, int N, av_wlayout wl) {
    av_matmul_cpu(out, in, w, bias, M, K, N, wl);
    return AV_OK;
}
static int cpu_gelu(float *x, int64_t n, av_gelu_kind kind) {
    av_gelu_cpu(x, n, kind);
    return AV_OK;
}
static int cpu_add(float *out, const float *a, const float *b, int64_t n) {
    av_add_cpu(out, a, b, n);
    return AV_OK;
}
static int cpu_attention(float *out, const float *q, const float *k, const float *v, int ld,
                         int B, int T, int H, int d, const int32_t *lengths, int causal) {
    av_attention_cpu(out, q, k, v, ld, B, T, H, d, lengths, causal);
    return AV_OK;
}

static int cpu_pack_heads(void *q_out, void *k_out, float *vnorm_out, double *sums, av_dtype dtype,
                          const float *q, const float *k, const float *v, int ld,
                          int B, int T, int H, int d, const int32_t *lengths, int64_t n_out) {
    if (n_out != av_pack_count(lengths, B, T))
        return av_fail("pack: %lld output rows for a batch of %lld tokens", (long long)n_out,
                       (long long)av_pack_count(lengths, B, T));
    return av_pack_heads_cpu(q_out, k_out, vnorm_out, sums, dtype, q, k, v, ld, B, T, H, d, lengths);
}
static int cpu_memzero(void *p, size_t bytes) {
    if (bytes) memset(p, 0, bytes);
    return AV_OK;
}

/* No bias_gelu, no overlapped downloads, no memory plan: the CPU's memory is the host's
 * and its GEMM adds the bias as cheaply as a fused pass would. */
static const av_backend cpu_backend = {
    .name = "cpu", .alloc = cpu_alloc, .free = cpu_free, .upload = cpu_copy,
    .download = cpu_copy, .sync = cpu_sync, .embed = cpu_embed, .patchify = cpu_patchify,
    .layernorm = cpu_layernorm, .matmul = cpu_matmul, .gelu = cpu_gelu, .add = cpu_add,
    .attention = cpu_attention, .pack_heads = cpu_pack_heads, .memzero = cpu_memzero,
};

const av_backend *av_backend_cpu(void) { return &cpu_backend; }
