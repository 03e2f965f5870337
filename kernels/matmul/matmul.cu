// matmul.cu - out[M, N] = in[M, K] @ W (+ bias) (then GELU) through cuBLASLt.
//
// cuBLAS(Lt) is column-major; a row-major [r, c] matrix is the column-major [c, r] of its
// transpose. So we compute out^T [N, M] = op(W) in^T:
//   AV_W_NK (W [N, K], nn.Linear): row-major W is column-major W^T [K, N]: op = T, lda = K
//   AV_W_KN (W [K, N], Conv1D):    row-major W is column-major W^T' = [N, K]: op = N, lda = N
//   in [M, K] row-major is column-major in^T [K, M]: op = N, ldb = K; out: ldc = N.
// The bias (length N = the rows of out^T) is added in cuBLASLt's epilogue, and for the
// tanh GELU in 16-bit or TF32 precisions the GELU too: one pass over out instead of a fill
// before the GEMM or a kernel after it. Where cuBLASLt has no algorithm for a shape and
// its alignments, the GEMM falls back to cuBLAS with out filled with the bias first
// (beta = 1).
// Precision (av_cuda_set_gemm_precision): F32 f32 throughout; TF32 tensor cores on f32
// data; BF16/F16 16-bit operands, f32 accumulation and output. In 16 bits a weight kept
// with av_cuda_keep_weight (the model does it at load) is used as converted then; any
// other weight, and the activations always, are rounded into the scratch buffer per call.
// cuBLASLt's plans (descriptors, layouts, the heuristic's algorithm) are cached per
// shape: the forward pass repeats a handful of shapes.
#include "kernels/backend/common.cuh"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

static av_gemm_precision precision = AV_GEMM_F32;

extern "C" int av_cuda_set_gemm_precision(av_gemm_precision p) {
    if (p < AV_GEMM_F32 || p > AV_GEMM_F16) return av_fail("GEMM precision %d is unknown", (int)p);
    precision = p;
    return AV_OK;
}

extern "C" av_gemm_precision av_cuda_gemm_precision(void) { return precision; }

static int is16(av_gemm_precision p) { return p == AV_GEMM_BF16 || p == AV_GEMM_F16; }

__global__ void fill_bias_kernel(float *out, const float *bias, int64_t n, int N) {
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        out[i] = bias[i % N];
}

template <typename T>
__global__ void round_kernel(T *out, const float *in, int64_t n);
template <>
__global__ void round_kernel<__nv_bfloat16>(__nv_bfloat16 *out, const float *in, int64_t n) {
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        out[i] = __float2bfloat16_rn(in[i]);
}
template <>
__global__ void round_kernel<__half>(__half *out, const float *in, int64_t n) {
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        out[i] = __float2half_rn(in[i]);
}

static unsigned stride_grid(int64_t n) {
    unsigned g = av_grid(n, 256);
    return g > 65535u ? 65535u : g;
}

// n floats of in -> out in precision p (BF16 or F16), on the compute stream.
static int round_to(av_gemm_precision p, void *out, const float *in, int64_t n) {
    cudaStream_t s = av_cuda_compute_stream();
    if (p == AV_GEMM_BF16) round_kernel<__nv_bfloat16><<<stride_grid(n), 256, 0, s>>>((__nv_bfloat16 *)out, in, n);
    else round_kernel<__half><<<stride_grid(n), 256, 0, s>>>((__half *)out, in, n);
    launchCheck();
    return AV_OK;
}

// ---- weights kept in 16 bits ------------------------------------------------------------
// A short list (a model has four linear weights a layer): found by the f32 pointer, which
// is the start of its allocation, and dropped when that is freed.
struct kept_weight {
    const float *w;
    int64_t count;
    av_gemm_precision p;
    void *copy;
};
static kept_weight *kept;
static int nkept, cap_kept;

static const void *kept_copy(const float *w, int64_t count, av_gemm_precision p) {
    for (int i = 0; i < nkept; i++)
        if (kept[i].w == w && kept[i].count == count && kept[i].p == p) return kept[i].copy;
    return NULL;
}

extern "C" int av_cuda_keep_weight(const float *w, int64_t count) {
    AV_CUDA_READY();
    if (!is16(precision) || count <= 0 || kept_copy(w, count, precision)) return AV_OK;
    if (nkept == cap_kept) {
        int cap = cap_kept ? 2 * cap_kept : 64;
        kept_weight *k = (kept_weight *)realloc(kept, (size_t)cap * sizeof *k);
        if (!k) return av_fail("out of memory (%d kept weights)", cap);
        kept = k;
        cap_kept = cap;
    }
    void *copy = NULL;
    cudaCheck(cudaMalloc(&copy, (size_t)count * 2));
    if (round_to(precision, copy, w, count) != AV_OK) {
        cudaFree(copy);
        return AV_ERR;
    }
    kept[nkept++] = {w, count, precision, copy};
    return AV_OK;
}

extern "C" void av_cuda_forget_weight(const void *p) {
    for (int i = 0; i < nkept;)
        if (kept[i].w == p) {
            cudaFree(kept[i].copy);   // waits for the device: no GEMM still reads it
            kept[i] = kept[--nkept];
        } else {
            i++;
        }
}

// Called by av_cuda_shutdown: the copies go with the backend's other state.
void av_cuda_forget_all_weights(void) {
    for (int i = 0; i < nkept; i++) cudaFree(kept[i].copy);
    free(kept);
    kept = NULL;
    nkept = cap_kept = 0;
}

// ---- cuBLASLt plans ----------------------------------------------------------------------
// What a plan depends on: the shape, the weight layout, the precision, the epilogue, and
// the pointers' alignments (cuBLASLt assumes 256-byte alignment unless told otherwise,
// and our buffers may be offsets into others: ViT's patch rows, a test's odd offsets).
struct plan_key {
    int m, n, k, transa;
    av_gemm_precision p;
    cublasLtEpilogue_t epi;
    unsigned align_a, align_b, align_d;
};
struct plan {
    plan_key key;
    unsigned long long used;   // last use, for replacing the oldest
    int ok;                    // 0: cuBLASLt has no algorithm (use the fallback)
    cublasLtMatmulDesc_t op;
    cublasLtMatrixLayout_t a, b, d;
    cublasLtMatmulAlgo_t algo;
};
enum { PLANS = 16 };
static plan plans[PLANS];
static unsigned long long plan_clock;

static unsigned alignment(const void *p) {
    uintptr_t a = (uintptr_t)p;
    unsigned al = a ? (unsigned)(a & (~a + 1)) : 256u;
    return al > 256u ? 256u : al;
}

static void plan_free(plan *pl) {
    if (pl->op) cublasLtMatmulDescDestroy(pl->op);
    if (pl->a) cublasLtMatrixLayoutDestroy(pl->a);
    if (pl->b) cublasLtMatrixLayoutDestroy(pl->b);
    if (pl->d) cublasLtMatrixLayoutDestroy(pl->d);
    memset(pl, 0, sizeof *pl);
}

// Called by av_cuda_shutdown, before the cuBLASLt handle goes.
void av_cuda_forget_plans(void) {
    for (int i = 0; i < PLANS; i++) plan_free(&plans[i]);
}

#define ltCheck(call) do { cublasStatus_t s_ = (call); if (s_ != CUBLAS_STATUS_SUCCESS) { plan_free(pl); \
    return av_fail("cuBLASLt: %s: %s (%s:%d)", #call, cublasGetStatusString(s_), __FILE__, __LINE__); } } while (0)

// Builds pl for key: descriptors, layouts, and the heuristic's best algorithm (pl->ok = 0
// when there is none: not an error, the caller falls back).
static int plan_make(plan *pl, const plan_key &key) {
    plan_free(pl);
    pl->key = key;
    const cudaDataType_t ab = key.p == AV_GEMM_BF16 ? CUDA_R_16BF : key.p == AV_GEMM_F16 ? CUDA_R_16F : CUDA_R_32F;
    const cublasComputeType_t compute = key.p == AV_GEMM_TF32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
    ltCheck(cublasLtMatmulDescCreate(&pl->op, compute, CUDA_R_32F));
    cublasOperation_t ta = key.transa ? CUBLAS_OP_T : CUBLAS_OP_N, tb = CUBLAS_OP_N;
    ltCheck(cublasLtMatmulDescSetAttribute(pl->op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta));
    ltCheck(cublasLtMatmulDescSetAttribute(pl->op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb));
    ltCheck(cublasLtMatmulDescSetAttribute(pl->op, CUBLASLT_MATMUL_DESC_EPILOGUE, &key.epi, sizeof key.epi));
    if (key.epi & CUBLASLT_EPILOGUE_BIAS) {
        cudaDataType_t bt = CUDA_R_32F;   // f32 bias, as the f32 output
        ltCheck(cublasLtMatmulDescSetAttribute(pl->op, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &bt, sizeof bt));
    }
    // A = W as stored (rows x cols of its column-major view), B = in^T [K, M], D = out^T [N, M]
    if (key.transa) ltCheck(cublasLtMatrixLayoutCreate(&pl->a, ab, key.k, key.n, key.k));
    else ltCheck(cublasLtMatrixLayoutCreate(&pl->a, ab, key.n, key.k, key.n));
    ltCheck(cublasLtMatrixLayoutCreate(&pl->b, ab, key.k, key.m, key.k));
    ltCheck(cublasLtMatrixLayoutCreate(&pl->d, CUDA_R_32F, key.n, key.m, key.n));
    cublasLtMatmulPreference_t pref;
    ltCheck(cublasLtMatmulPreferenceCreate(&pref));
    size_t ws = 0;
    av_cuda_lt_workspace(&ws);
    uint32_t al[4] = {key.align_a, key.align_b, key.align_d, key.align_d};
    cublasStatus_t st = cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws);
    if (st == CUBLAS_STATUS_SUCCESS)
        st = cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &al[0], sizeof al[0]);
    if (st == CUBLAS_STATUS_SUCCESS)
        st = cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &al[1], sizeof al[1]);
    if (st == CUBLAS_STATUS_SUCCESS)
        st = cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &al[2], sizeof al[2]);
    if (st == CUBLAS_STATUS_SUCCESS)
        st = cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &al[3], sizeof al[3]);
    cublasLtMatmulHeuristicResult_t res;
    int found = 0;
    if (st == CUBLAS_STATUS_SUCCESS)
        st = cublasLtMatmulAlgoGetHeuristic(av_cuda_cublaslt(), pl->op, pl->a, pl->b, pl->d, pl->d, pref, 1, &res, &found);
    cublasLtMatmulPreferenceDestroy(pref);
    // No algorithm (or a configuration this cuBLASLt does not take) is a plan that says so.
    pl->ok = st == CUBLAS_STATUS_SUCCESS && found > 0;
    if (pl->ok) pl->algo = res.algo;
    return AV_OK;
}

static plan *plan_get(const plan_key &key) {
    plan *oldest = &plans[0];
    for (int i = 0; i < PLANS; i++) {
        if (plans[i].op && !memcmp(&plans[i].key, &key, sizeof key)) {
            plans[i].used = ++plan_clock;
            return &plans[i];
        }
        if (plans[i].used < oldest->used) oldest = &plans[i];
    }
    if (plan_make(oldest, key) != AV_OK) return NULL;
    oldest->used = ++plan_clock;
    return oldest;
}

// What gemm() did: the product is in out, or cuBLASLt had no algorithm (nothing was
// launched; the caller takes another way).
enum { GEMM_DONE = 0, GEMM_NO_ALGO = 1 };

// out = epilogue(op(W) in^T) with A = W (wa, in the precision's type), B = the activations
// (b, idem). Plan keys are built with memset so that padding compares equal.
static int lt_gemm(float *out, const void *wa, const void *b, const float *bias, int64_t M, int K, int N,
                   av_wlayout wl, av_gemm_precision p, cublasLtEpilogue_t epi, int *outcome) {
    plan_key key;
    memset(&key, 0, sizeof key);
    key.m = (int)M;
    key.n = N;
    key.k = K;
    key.transa = wl == AV_W_NK;
    key.p = p;
    key.epi = epi;
    key.align_a = alignment(wa);
    key.align_b = alignment(b);
    key.align_d = alignment(out);
    plan *pl = plan_get(key);
    if (!pl) return AV_ERR;
    *outcome = GEMM_NO_ALGO;
    if (!pl->ok) return AV_OK;
    if (epi & CUBLASLT_EPILOGUE_BIAS) {
        cublasStatus_t st = cublasLtMatmulDescSetAttribute(pl->op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof bias);
        if (st != CUBLAS_STATUS_SUCCESS) return av_fail("cuBLASLt: setting the bias: %s", cublasGetStatusString(st));
    }
    const float one = 1.0f, zero = 0.0f;
    size_t ws = 0;
    void *work = av_cuda_lt_workspace(&ws);
    cublasCheck(cublasLtMatmul(av_cuda_cublaslt(), pl->op, &one, wa, pl->a, b, pl->b, &zero, out, pl->d, out, pl->d,
                               &pl->algo, work, ws, av_cuda_compute_stream()));
    *outcome = GEMM_DONE;
    return AV_OK;
}

// The same product through plain cuBLAS, the bias filled into out first (beta = 1).
static int blas_gemm(float *out, const void *wa, const void *b, const float *bias, int64_t M, int K, int N,
                     av_wlayout wl, av_gemm_precision p) {
    cudaStream_t s = av_cuda_compute_stream();
    cublasHandle_t h = av_cuda_cublas();
    const float one = 1.0f, zero = 0.0f;
    const float *beta = &zero;
    if (bias) {
        fill_bias_kernel<<<stride_grid(M * N), 256, 0, s>>>(out, bias, M * N, N);
        launchCheck();
        beta = &one;
    }
    cublasOperation_t opw = wl == AV_W_NK ? CUBLAS_OP_T : CUBLAS_OP_N;
    int lda = wl == AV_W_NK ? K : N, m = (int)M;
    cudaDataType_t ab = p == AV_GEMM_BF16 ? CUDA_R_16BF : p == AV_GEMM_F16 ? CUDA_R_16F : CUDA_R_32F;
    cublasComputeType_t compute = p == AV_GEMM_TF32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
    cublasCheck(cublasGemmEx(h, opw, CUBLAS_OP_N, N, m, K, &one, wa, ab, lda, b, ab, K, beta, out, CUDA_R_32F, N,
                             compute, CUBLAS_GEMM_DEFAULT));
    return AV_OK;
}

// out = in @ W (+ bias) (then the tanh GELU when gelu is set: only offered where it fits
// the precision's bound, see ops_cuda.h). *fused says whether the GELU was applied.
static int gemm(float *out, const float *in, const float *w, const float *bias, int64_t M, int K, int N, av_wlayout wl,
                int gelu, int *fused) {
    AV_CUDA_READY();
    *fused = 0;
    if (M <= 0 || N <= 0) return AV_OK;
    if (M > INT_MAX) return av_fail("matmul: %lld rows exceed what one cuBLAS call takes", (long long)M);
    cudaStream_t s = av_cuda_compute_stream();
    if (K <= 0) {   // an empty sum: out is the bias (or zeros)
        if (bias) {
            fill_bias_kernel<<<stride_grid(M * N), 256, 0, s>>>(out, bias, M * N, N);
            launchCheck();
        } else {
            cudaCheck(cudaMemsetAsync(out, 0, (size_t)M * N * sizeof(float), s));
        }
        return AV_OK;
    }
    const av_gemm_precision p = precision;
    const void *wa = w, *b = in;
    if (is16(p)) {
        // the activations always, the weight unless it was kept: into the scratch buffer
        const int64_t nin = M * K, nw = (int64_t)N * K;
        const void *kw = kept_copy(w, nw, p);
        void *buf;
        int r = av_cuda_scratch((size_t)(nin + (kw ? 0 : nw)) * 2 + 256, &buf);
        if (r != AV_OK) return r;
        if (round_to(p, buf, in, nin) != AV_OK) return AV_ERR;
        b = buf;
        if (kw) {
            wa = kw;
        } else {
            // after the activations, 256-byte aligned as cuBLASLt likes it
            void *w16 = (char *)buf + ((size_t)nin * 2 + 255) / 256 * 256;
            if (round_to(p, w16, w, nw) != AV_OK) return AV_ERR;
            wa = w16;
        }
    }
    // A bias that is not 16-byte aligned (an offset into another buffer) goes the cuBLAS
    // way: the epilogue reads it with vector loads.
    if (bias && alignment(bias) < 16) return blas_gemm(out, wa, b, bias, M, K, N, wl, p);
    cublasLtEpilogue_t epi = gelu ? (bias ? CUBLASLT_EPILOGUE_GELU_BIAS : CUBLASLT_EPILOGUE_GELU)
                                  : (bias ? CUBLASLT_EPILOGUE_BIAS : CUBLASLT_EPILOGUE_DEFAULT);
    int outcome = GEMM_NO_ALGO;
    if (lt_gemm(out, wa, b, bias, M, K, N, wl, p, epi, &outcome) != AV_OK) return AV_ERR;
    if (outcome == GEMM_DONE) {
        *fused = gelu;
        return AV_OK;
    }
    if (gelu) {   // the GELU epilogue has no algorithm here: the plain GEMM, the caller adds GELU
        if (lt_gemm(out, wa, b, bias, M, K, N, wl, p, bias ? CUBLASLT_EPILOGUE_BIAS : CUBLASLT_EPILOGUE_DEFAULT,
                    &outcome) != AV_OK)
            return AV_ERR;
        if (outcome == GEMM_DONE) return AV_OK;
    }
    return blas_gemm(out, wa, b, bias, M, K, N, wl, p);
}

extern "C" int av_cuda_matmul(float *out, const float *in, const float *w, const float *bias,
                              int64_t M, int K, int N, av_wlayout wl) {
    int fused;
    return gemm(out, in, w, bias, M, K, N, wl, 0, &fused);
}

extern "C" int av_cuda_matmul_gelu(float *out, const float *in, const float *w, const float *bias,
                                   int64_t M, int K, int N, av_wlayout wl, av_gelu_kind kind) {
    int fused = 0;
    if (kind == AV_GELU_TANH && precision != AV_GEMM_F32) {
        if (gemm(out, in, w, bias, M, K, N, wl, 1, &fused) != AV_OK) return AV_ERR;
        if (fused || M <= 0 || N <= 0) return AV_OK;
        return av_cuda_gelu(out, M * N, kind);   // the bias is in already
    }
    if (gemm(out, in, w, NULL, M, K, N, wl, 0, &fused) != AV_OK) return AV_ERR;
    return av_cuda_bias_gelu(out, bias, M, N, kind);
}
