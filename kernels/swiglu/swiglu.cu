// swiglu.cu - the SwiGLU gate of the Llama family's MLP, out = silu(gate) * up from a
// fused [rows, 2I] gate | up GEMM output (CPU twin: swiglu_cpu.c).
#include "kernels/backend/common.cuh"

__global__ void swiglu_kernel(float *out, const float *gu, int64_t rows, int I) {
    const int64_t n = rows * I;
    for (int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; t < n; t += (int64_t)gridDim.x * blockDim.x) {
        const int64_t r = t / I;
        const int i = (int)(t % I);
        const float g = gu[r * 2 * I + i], u = gu[r * 2 * I + I + i];
        out[t] = g / (1.0f + expf(-g)) * u;
    }
}

#ifndef AV_CUDA_EMU   // host code: not part of the CPU emulation
extern "C" int av_cuda_swiglu(float *out, const float *gu, int64_t rows, int I) {
    AV_CUDA_READY();
    const int64_t n = rows * I;
    if (n <= 0) return AV_OK;
    unsigned grid = av_grid(n, 256);
    swiglu_kernel<<<grid > 65535u ? 65535u : grid, 256, 0, av_cuda_compute_stream()>>>(out, gu, rows, I);
    launchCheck();
    return AV_OK;
}
#endif
