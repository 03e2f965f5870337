/* backend_cpu.c - av_backend_cpu(): the CPU twins of kernels/ops.h (one file per op in
 * kernels/<op>/) wrapped in the backend table: host memory, nothing to upload. */
#include "kernels/ops.h"

#include <stdlib.h>
#include <string.h>
#include "base/util.h"
#include "kernels/pack/pack.h"

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

/* No fused matmul_gelu, no GEMM precision but f32, no kept weights, no overlapped
 * downloads, no memory plan: the CPU's memory is the host's and its GEMM adds the bias as
 * cheaply as a fused pass would. */
static const av_backend cpu_backend = {
    /* .name           = */ "cpu",
    /* .alloc          = */ cpu_alloc,
    /* .free           = */ cpu_free,
    /* .upload         = */ cpu_copy,
    /* .download       = */ cpu_copy,
    /* .sync           = */ cpu_sync,
    /* .embed          = */ cpu_embed,
    /* .patchify       = */ cpu_patchify,
    /* .layernorm      = */ cpu_layernorm,
    /* .matmul         = */ cpu_matmul,
    /* .gelu           = */ cpu_gelu,
    /* .add            = */ cpu_add,
    /* .attention      = */ cpu_attention,
    /* .pack_heads     = */ cpu_pack_heads,
    /* .memzero        = */ cpu_memzero,
    /* optional slots */
    /* .matmul_gelu    = */ NULL,
    /* .set_gemm       = */ NULL,
    /* .keep_weight    = */ NULL,
    /* .host_alloc     = */ NULL,
    /* .host_free      = */ NULL,
    /* .download_async = */ NULL,
    /* .download_wait  = */ NULL,
    /* .mem_info       = */ NULL,
};

const av_backend *av_backend_cpu(void) { return &cpu_backend; }
