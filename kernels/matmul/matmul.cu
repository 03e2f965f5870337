// matmul.cu - out[M, N] = in[M, K] @ W (+ bias) through cuBLAS.
//
// cuBLAS is column-major; a row-major [r, c] matrix is the column-major [c, r] of its
// transpose. So we compute out^T [N, M] = op(W) in^T:
//   AV_W_NK (W [N, K], nn.Linear): row-major W is column-major W^T [K, N]: op = T, lda = K
//   AV_W_KN (W [K, N], Conv1D):    row-major W is column-major W^T' = [N, K]: op = N, lda = N
//   in [M, K] row-major is column-major in^T [K, M]: op = N, ldb = K; out: ldc = N.
// Bias: out is first filled with the bias rows and the GEMM adds to it (beta = 1), which
// costs one write of out instead of a separate read-modify-write pass.
// Precision (av_cuda_set_gemm_precision): F32 cublasSgemm; TF32 tensor cores on f32
// data; BF16/F16 round both operands into a scratch buffer and run cublasGemmEx with
// f32 accumulation and f32 output.
#include "kernels/backend/common.cuh"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <limits.h>
#include <string.h>

static av_gemm_precision precision = AV_GEMM_F32;

extern "C" int av_cuda_set_gemm_precision(av_gemm_precision p) {
    if (p < AV_GEMM_F32 || p > AV_GEMM_F16) return av_fail("GEMM precision %d is unknown", (int)p);
    precision = p;
    return AV_OK;
}

extern "C" av_gemm_precision av_cuda_gemm_precision(void) { return precision; }

extern "C" int av_cuda_parse_gemm_precision(const char *name, av_gemm_precision *out) {
    static const char *names[] = {"f32", "tf32", "bf16", "f16"};
    for (int i = 0; i < 4; i++)
        if (name && !strcmp(name, names[i])) { *out = (av_gemm_precision)i; return AV_OK; }
    return av_fail("GEMM precision '%s' is unknown (expected f32, tf32, bf16 or f16)", name ? name : "");
}

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

template <typename T>
static int round_operands(const float *in, int64_t nin, const float *w, int64_t nw, T **in16, T **w16) {
    void *buf;
    int r = av_cuda_scratch((size_t)(nin + nw) * sizeof(T), &buf);
    if (r != AV_OK) return r;
    *in16 = (T *)buf;
    *w16 = (T *)buf + nin;
    cudaStream_t s = av_cuda_compute_stream();
    round_kernel<T><<<stride_grid(nin), 256, 0, s>>>(*in16, in, nin);
    launchCheck();
    round_kernel<T><<<stride_grid(nw), 256, 0, s>>>(*w16, w, nw);
    launchCheck();
    return AV_OK;
}

extern "C" int av_cuda_matmul(float *out, const float *in, const float *w, const float *bias,
                              int64_t M, int K, int N, av_wlayout wl) {
    AV_CUDA_READY();
    if (M <= 0 || N <= 0) return AV_OK;
    if (M > INT_MAX) return av_fail("matmul: %lld rows exceed what one cuBLAS call takes", (long long)M);
    cudaStream_t s = av_cuda_compute_stream();
    cublasHandle_t h = av_cuda_cublas();
    const float one = 1.0f, zero = 0.0f;
    const float *beta = &zero;
    if (bias) {
        fill_bias_kernel<<<stride_grid(M * N), 256, 0, s>>>(out, bias, M * N, N);
        launchCheck();
        beta = &one;
    }
    if (K <= 0) {   // an empty sum: out is the bias (or zeros)
        if (!bias) cudaCheck(cudaMemsetAsync(out, 0, (size_t)M * N * sizeof(float), s));
        return AV_OK;
    }
    cublasOperation_t opw = wl == AV_W_NK ? CUBLAS_OP_T : CUBLAS_OP_N;
    int lda = wl == AV_W_NK ? K : N;
    int m = (int)M;
    switch (precision) {
    case AV_GEMM_F32:
        cublasCheck(cublasSgemm(h, opw, CUBLAS_OP_N, N, m, K, &one, w, lda, in, K, beta, out, N));
        break;
    case AV_GEMM_TF32:
        cublasCheck(cublasGemmEx(h, opw, CUBLAS_OP_N, N, m, K, &one, w, CUDA_R_32F, lda, in, CUDA_R_32F, K,
                                 beta, out, CUDA_R_32F, N, CUBLAS_COMPUTE_32F_FAST_TF32, CUBLAS_GEMM_DEFAULT));
        break;
    case AV_GEMM_BF16: {
        __nv_bfloat16 *a16, *w16;
        int r = round_operands(in, M * K, w, (int64_t)N * K, &a16, &w16);
        if (r != AV_OK) return r;
        cublasCheck(cublasGemmEx(h, opw, CUBLAS_OP_N, N, m, K, &one, w16, CUDA_R_16BF, lda, a16, CUDA_R_16BF, K,
                                 beta, out, CUDA_R_32F, N, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
        break;
    }
    case AV_GEMM_F16: {
        __half *a16, *w16;
        int r = round_operands(in, M * K, w, (int64_t)N * K, &a16, &w16);
        if (r != AV_OK) return r;
        cublasCheck(cublasGemmEx(h, opw, CUBLAS_OP_N, N, m, K, &one, w16, CUDA_R_16F, lda, a16, CUDA_R_16F, K,
                                 beta, out, CUDA_R_32F, N, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
        break;
    }
    }
    return AV_OK;
}
