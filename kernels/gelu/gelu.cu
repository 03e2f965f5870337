// gelu.cu - GELU (alone and fused with the bias that precedes it) and the residual add
// on the GPU (CPU twins in gelu_cpu.c); the float4 path applies when sizes and pointers
// allow.
#include "kernels/backend/common.cuh"

// ---- GELU ------------------------------------------------------------------------------
__device__ __forceinline__ float gelu(float x, av_gelu_kind kind) {
    if (kind == AV_GELU_TANH) {
        const float k = 0.7978845608028654f;   // sqrt(2/pi)
        return 0.5f * x * (1.0f + tanhf(k * (x + 0.044715f * x * x * x)));
    }
    return 0.5f * x * (1.0f + erff(x * 0.7071067811865476f));
}

__global__ void bias_gelu_kernel(float *x, const float *bias, int64_t n, int N, av_gelu_kind kind) {
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        x[i] = gelu(bias ? x[i] + bias[i % N] : x[i], kind);
}

// ---- residual add -----------------------------------------------------------------------
__global__ void add4_kernel(float4 *out, const float4 *a, const float4 *b, int64_t n4) {
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n4; i += (int64_t)gridDim.x * blockDim.x) {
        float4 x = a[i], y = b[i];
        out[i] = make_float4(x.x + y.x, x.y + y.y, x.z + y.z, x.w + y.w);
    }
}

__global__ void add_kernel(float *out, const float *a, const float *b, int64_t from, int64_t n) {
    for (int64_t i = from + (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        out[i] = a[i] + b[i];
}

#ifndef AV_CUDA_EMU   // host code: not part of the CPU emulation
// Grid-stride with a capped grid: enough blocks to fill the GPU, no more.
static unsigned stride_grid(int64_t n) {
    unsigned g = av_grid(n, 256);
    return g > 65535u ? 65535u : g;
}

extern "C" int av_cuda_bias_gelu(float *x, const float *bias, int64_t rows, int N, av_gelu_kind kind) {
    AV_CUDA_READY();
    int64_t n = rows * N;
    if (n <= 0) return AV_OK;
    bias_gelu_kernel<<<stride_grid(n), 256, 0, av_cuda_compute_stream()>>>(x, bias, n, N, kind);
    launchCheck();
    return AV_OK;
}

extern "C" int av_cuda_gelu(float *x, int64_t n, av_gelu_kind kind) {
    AV_CUDA_READY();
    if (n <= 0) return AV_OK;
    bias_gelu_kernel<<<stride_grid(n), 256, 0, av_cuda_compute_stream()>>>(x, NULL, n, 1, kind);
    launchCheck();
    return AV_OK;
}

static int aligned16(const void *p) { return ((uintptr_t)p & 15) == 0; }

extern "C" int av_cuda_add(float *out, const float *a, const float *b, int64_t n) {
    AV_CUDA_READY();
    if (n <= 0) return AV_OK;
    cudaStream_t s = av_cuda_compute_stream();
    int64_t done = 0;
    if (aligned16(out) && aligned16(a) && aligned16(b)) {
        int64_t n4 = n / 4;
        if (n4 > 0) {
            add4_kernel<<<stride_grid(n4), 256, 0, s>>>((float4 *)out, (const float4 *)a, (const float4 *)b, n4);
            launchCheck();
        }
        done = n4 * 4;
    }
    if (done < n) {
        add_kernel<<<stride_grid(n - done), 256, 0, s>>>(out, a, b, done, n);
        launchCheck();
    }
    return AV_OK;
}
#endif
