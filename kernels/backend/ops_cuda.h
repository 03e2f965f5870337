/* ops_cuda.h - the CUDA backend: every op of kernels/ops.h on device pointers, plus what
 * only the GPU path needs (GEMM precision, weights kept in 16 bits, GEMM + bias + GELU,
 * q/k packing on the device, pinned host buffers and overlapped downloads).
 *
 * Ownership: the backend owns one CUDA stream (all ops run on it, in order), a cuBLAS and
 * a cuBLASLt handle bound to it with the GEMMs' workspace, a second stream for downloads,
 * a scratch buffer for 16-bit GEMM activations, and the 16-bit copies of kept weights
 * (each freed with its weight by the table's free); av_cuda_shutdown() releases them.
 * Callers own every buffer they pass: device buffers from the table's alloc (cudaMalloc),
 * pinned host buffers from av_cuda_host_alloc (free with av_cuda_host_free).
 *
 * Errors: every CUDA and cuBLAS call is checked; a failure returns AV_ERR with
 * av_last_error() naming the call and CUDA's reason. Ops are asynchronous: a fault
 * inside a kernel surfaces at the next sync/download, which returns AV_ERR.
 * Callable from C; only present in builds with CUDA (AV_HAVE_CUDA). */
#ifndef AV_KERNELS_BACKEND_OPS_CUDA_H
#define AV_KERNELS_BACKEND_OPS_CUDA_H
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif
/* Inside the extern "C" block: these C headers carry no guards of their own. */
#include "kernels/ops.h"
#include "base/dtype.h"

/* ---- ops of kernels/ops.h, same semantics, device pointers (lengths too) ------------- */
int av_cuda_embed(float *out, const int32_t *ids, const int32_t *pos, const int32_t *types,
                  const float *wte, const float *wpe, const float *tte, int64_t T, int C);
int av_cuda_patchify(float *out, const float *img, int B, int S, int P);
int av_cuda_layernorm(float *out, const float *in, const float *gamma, const float *beta,
                      int64_t rows, int C, float eps);
/* cuBLASLt with the bias added in its epilogue (cuBLAS, bias filled first, where cuBLASLt
 * offers no algorithm for the shape and alignments). */
int av_cuda_matmul(float *out, const float *in, const float *w, const float *bias,
                   int64_t M, int K, int N, av_wlayout wl);
int av_cuda_gelu(float *x, int64_t n, av_gelu_kind kind);
int av_cuda_add(float *out, const float *a, const float *b, int64_t n);
int av_cuda_attention(float *out, const float *q, const float *k, const float *v, int ld,
                      int B, int T, int H, int d, const int32_t *lengths, int causal);

/* x[rows, N] = gelu(x + bias[N]) in one pass: the MLP's bias and activation fused, so
 * the up-projection can run its GEMM without bias (bias NULL = plain GELU). */
int av_cuda_bias_gelu(float *x, const float *bias, int64_t rows, int N, av_gelu_kind kind);
/* out = gelu(in @ W + bias): with the tanh form in a 16-bit or TF32 precision, one
 * cuBLASLt call (GELU and bias in its epilogue: cuBLASLt's GELU is the tanh form, and its
 * error is within those precisions' bounds); otherwise the GEMM, then av_cuda_bias_gelu
 * (F32 stays exactly the CPU's formula; the erf form has no epilogue). */
int av_cuda_matmul_gelu(float *out, const float *in, const float *w, const float *bias,
                        int64_t M, int K, int N, av_wlayout wl, av_gelu_kind kind);

/* GEMM precision of av_cuda_matmul (kernels/ops.h: av_gemm_precision). F32, the default,
 * matches the CPU to ~1e-6; TF32 ~1e-3; BF16 / F16 ~1e-3..1e-2 (relative L2). */
int av_cuda_set_gemm_precision(av_gemm_precision p);
av_gemm_precision av_cuda_gemm_precision(void);
/* In BF16 / F16: converts weight w [count] (the start of its own allocation, as the
 * model's weights are) once into a device copy of that precision,
 * which every later matmul of w in that precision uses instead of rounding w again. In
 * F32 / TF32 nothing is kept. The copy is freed by av_cuda_forget_weight(w) (the table's
 * free calls it) or av_cuda_shutdown. */
int av_cuda_keep_weight(const float *w, int64_t count);
void av_cuda_forget_weight(const void *w);

/* q/k packing on the device (CPU twin and full semantics: kernels/pack/pack.h). All pointers
 * are device memory; sums are device doubles added to, lengths a device int32 [B].
 * n_out must be av_pack_count() of the same lengths (the caller knows them on the host
 * and sizes q_out/k_out with it); the kernel checks nothing it cannot see cheaply. */
int av_pack_heads_cuda(void *q_out, void *k_out, float *vnorm_out, double *sums, av_dtype dtype,
                       const float *q, const float *k, const float *v, int ld,
                       int B, int T, int H, int d, const int32_t *lengths, int64_t n_out);

/* ---- backend plumbing ------------------------------------------------------------- */
/* Initializes device 0 (stream, cuBLAS) once; AV_ERR with the reason when no device. */
int av_cuda_init(void);
/* Releases stream, handle and scratch; a later av_cuda_init starts again. */
void av_cuda_shutdown(void);
/* The backend's compute stream (a cudaStream_t), for callers that add their own work. */
void *av_cuda_stream(void);

/* Page-locked host memory: downloads into it run asynchronously and at full speed. */
void *av_cuda_host_alloc(size_t bytes);
void av_cuda_host_free(void *p);
/* Starts copying bytes device -> pinned host on the download stream once everything
 * queued so far on the compute stream is done; returns at once, so the next layer's
 * compute overlaps the copy. The src buffer must not be overwritten, and dst not read,
 * before av_cuda_download_wait(slot) of the same slot (0..AV_DOWNLOAD_SLOTS-1): two
 * slots let one layer's copy run while the host writes out the previous one. */
int av_cuda_download_async(void *dst_pinned, const void *src, size_t bytes, int slot);
int av_cuda_download_wait(int slot);

#ifdef __cplusplus
}
#endif
#endif
