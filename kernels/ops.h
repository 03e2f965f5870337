/* ops.h - the compute primitives of the forward pass, one C API, two backends.
 *
 * Every op has a CPU implementation here (kernels/<op>/<op>_cpu.c: plain C + OpenMP, OpenBLAS
 * sgemm) that is the reference, and a CUDA implementation with the same arguments on
 * device pointers (kernels/<op>/<op>.cu, declared in kernels/backend/ops_cuda.h). The model forward
 * passes (models/) are written once against the av_backend table below, so the same code
 * drives both. tests/test_backend_ops.c runs every op on random inputs on every backend:
 * the CPU against the op's definition in double, the others against the CPU.
 *
 * Layouts: activations are row-major [rows, C] f32. A linear weight is either
 * AV_W_NK ([out, in], torch nn.Linear: BERT, ViT) or AV_W_KN ([in, out], GPT-2 Conv1D).
 * Attention reads q, k, v from rows of stride ld (so a fused [rows, 3C] qkv buffer works
 * with ld = 3C and column offsets 0, C, 2C); head h occupies columns [h*d, (h+1)*d).
 * Items in a batch are padded to T tokens; lengths[b] <= T are the real ones. */
#ifndef AV_KERNELS_OPS_H
#define AV_KERNELS_OPS_H
#include <stddef.h>
#include <stdint.h>
#include "base/dtype.h"

typedef enum { AV_W_NK = 0, AV_W_KN = 1 } av_wlayout;
typedef enum { AV_GELU_ERF = 0, AV_GELU_TANH = 1 } av_gelu_kind;

/* What a backend's matmul multiplies in. F32 is the reference (the CPU's only one).
 * TF32: f32 data on tensor cores (10-bit mantissas in the products). BF16 / F16: both
 * operands in 16 bits (the weights converted once, at load), f32 accumulation and
 * output. Bounds against F32 are tests/test_backend_ops.c's and tests/gpu_forward.c's. */
typedef enum { AV_GEMM_F32 = 0, AV_GEMM_TF32 = 1, AV_GEMM_BF16 = 2, AV_GEMM_F16 = 3 } av_gemm_precision;
/* "f32" | "tf32" | "bf16" | "f16" -> *out; AV_ERR (with the names in the message) otherwise. */
int av_gemm_parse(const char *name, av_gemm_precision *out);
const char *av_gemm_name(av_gemm_precision p);

/* ---- CPU twins (host pointers) ------------------------------------------------------ */
/* out[t] = wte[ids[t]] + wpe[pos[t]] (+ tte[types[t]] when tte != NULL); out [T, C]. */
void av_embed_cpu(float *out, const int32_t *ids, const int32_t *pos, const int32_t *types,
                  const float *wte, const float *wpe, const float *tte, int64_t T, int C);
/* Images [B, 3, S, S] -> patch rows [B * (S/P)^2, 3*P*P], each row in conv-weight order
 * (channel, ky, kx), patches in raster order; the patch embedding is then a matmul. */
void av_patchify_cpu(float *out, const float *img, int B, int S, int P);
void av_layernorm_cpu(float *out, const float *in, const float *gamma, const float *beta,
                      int64_t rows, int C, float eps);
/* out[M, N] = in[M, K] @ W (+ bias[N]); W [N, K] (AV_W_NK) or [K, N] (AV_W_KN). */
void av_matmul_cpu(float *out, const float *in, const float *w, const float *bias,
                   int64_t M, int K, int N, av_wlayout wl);
void av_gelu_cpu(float *x, int64_t n, av_gelu_kind kind);
/* out = a + b, elementwise (out may alias a). */
void av_add_cpu(float *out, const float *a, const float *b, int64_t n);
/* Multi-head attention. q/k/v: [B*T rows, stride ld]; out: [B*T, H*d] (stride H*d).
 * Scale 1/sqrt(d); keys j >= lengths[b] masked; causal masks j > i. Padded query rows
 * (i >= lengths[b]) are written as zeros. */
void av_attention_cpu(float *out, const float *q, const float *k, const float *v, int ld,
                      int B, int T, int H, int d, const int32_t *lengths, int causal);
/* The attention probabilities the viewer and the statistics recompute from stored q/k,
 * in double. One query row: p[j] = softmax_j(q . k_j / sqrt(d)) over the keys j < m
 * (k [m, d] rows; a causal row i passes m = i + 1); dots[j] (NULL: not wanted) gets the
 * raw q . k_j. */
void av_attention_probs_row(double *p, double *dots, const float *q, const float *k, int m, int d);
/* One item, one head: probs [n, n] f32, row i from av_attention_probs_row of q_i
 * (q and k [n, d] rows); causal zeroes j > i. AV_OK, or AV_ERR when out of memory. */
int av_attention_probs_cpu(float *probs, const float *q, const float *k, int n, int d, int causal);

/* ---- backend table ------------------------------------------------------------------ */
/* Memory handed to the ops of a backend lives where that backend computes (host memory
 * for "cpu", device memory for "cuda"). Every function returns 0 or an AV_ERR status with
 * av_last_error() set. */
typedef struct av_backend {
    const char *name;
    void *(*alloc)(size_t bytes);
    void (*free)(void *p);
    int (*upload)(void *dst, const void *src, size_t bytes);   /* host -> backend */
    int (*download)(void *dst, const void *src, size_t bytes); /* backend -> host */
    int (*sync)(void);
    int (*embed)(float *out, const int32_t *ids, const int32_t *pos, const int32_t *types,
                 const float *wte, const float *wpe, const float *tte, int64_t T, int C);
    int (*patchify)(float *out, const float *img, int B, int S, int P);
    int (*layernorm)(float *out, const float *in, const float *gamma, const float *beta,
                     int64_t rows, int C, float eps);
    int (*matmul)(float *out, const float *in, const float *w, const float *bias,
                  int64_t M, int K, int N, av_wlayout wl);
    int (*gelu)(float *x, int64_t n, av_gelu_kind kind);
    int (*add)(float *out, const float *a, const float *b, int64_t n);
    int (*attention)(float *out, const float *q, const float *k, const float *v, int ld,
                     int B, int T, int H, int d, const int32_t *lengths, int causal);
    /* q/k of one layer into the run folder's per-head layout with the norms (semantics:
     * kernels/pack/pack.h); lengths is backend memory, n_out = av_pack_count of the lengths. */
    int (*pack_heads)(void *q_out, void *k_out, float *vnorm_out, double *sums, av_dtype dtype,
                      const float *q, const float *k, const float *v, int ld,
                      int B, int T, int H, int d, const int32_t *lengths, int64_t n_out);
    int (*memzero)(void *p, size_t bytes);
    /* ---- optional: NULL when the backend has no such thing -------------------------- */
    /* out = gelu(in @ W + bias), the MLP's up-projection, fused as far as the backend can.
     * NULL: matmul with the bias, then gelu. */
    int (*matmul_gelu)(float *out, const float *in, const float *w, const float *bias,
                       int64_t M, int K, int N, av_wlayout wl, av_gelu_kind kind);
    /* The precision of every later matmul. NULL: F32 only. */
    int (*set_gemm)(av_gemm_precision p);
    /* w (backend memory from alloc, count floats) is a linear weight that many matmuls will use: the
     * backend may keep a copy in its GEMM precision, made now and freed with w (free).
     * NULL: nothing is kept. */
    int (*keep_weight)(const float *w, int64_t count);
    /* Overlapped downloads (a backend whose memory is not the host's). host_alloc gives
     * page-locked memory; download_async queues a copy behind the work queued so far and
     * returns at once; download_wait(slot) returns when the last copy queued in that slot
     * (0..AV_DOWNLOAD_SLOTS-1) is complete. */
    void *(*host_alloc)(size_t bytes);
    void (*host_free)(void *p);
    int (*download_async)(void *dst_host, const void *src, size_t bytes, int slot);
    int (*download_wait)(int slot);
    /* Free and total bytes of the backend's memory (NULL: the host's, not planned for). */
    int (*mem_info)(size_t *free_bytes, size_t *total_bytes);
} av_backend;
enum { AV_DOWNLOAD_SLOTS = 2 };

const av_backend *av_backend_cpu(void);
/* NULL (with av_last_error() saying why) when the build has no CUDA or no device is usable. */
const av_backend *av_backend_cuda(void);
#endif
