// layernorm.cu - LayerNorm, one warp per row. Two passes over the row (mean, then the
// variance of x - mean, as the CPU reference and PyTorch do) read it from L1/L2 the
// second time; float4 loads when C % 4 == 0 and the pointers are 16-byte aligned.
// Variants and timings: kernels/layernorm/layernorm_dev.cu.
#include "kernels/backend/common.cuh"

template <bool VEC>
__global__ void layernorm_kernel(float *out, const float *in, const float *gamma, const float *beta,
                                 int64_t rows, int C, float eps) {
    int lane = threadIdx.x & 31;
    int64_t row = (int64_t)blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
    if (row >= rows) return;
    const float *x = in + row * C;
    float *y = out + row * C;
    float sum = 0.0f;
    if (VEC) {
        const float4 *x4 = (const float4 *)x;
        for (int i = lane; i < C / 4; i += 32) { float4 v = x4[i]; sum += (v.x + v.y) + (v.z + v.w); }
    } else {
        for (int i = lane; i < C; i += 32) sum += x[i];
    }
    float mean = warp_sum(sum) / C;
    float var = 0.0f;
    if (VEC) {
        const float4 *x4 = (const float4 *)x;
        for (int i = lane; i < C / 4; i += 32) {
            float4 v = x4[i];
            float a = v.x - mean, b = v.y - mean, c = v.z - mean, d = v.w - mean;
            var += (a * a + b * b) + (c * c + d * d);
        }
    } else {
        for (int i = lane; i < C; i += 32) { float a = x[i] - mean; var += a * a; }
    }
    float rstd = rsqrtf(warp_sum(var) / C + eps);
    // out may alias in: every lane reads its own elements before writing them.
    if (VEC) {
        const float4 *x4 = (const float4 *)x, *g4 = (const float4 *)gamma, *b4 = (const float4 *)beta;
        float4 *y4 = (float4 *)y;
        for (int i = lane; i < C / 4; i += 32) {
            float4 v = x4[i], g = g4[i], b = b4[i];
            y4[i] = make_float4((v.x - mean) * rstd * g.x + b.x, (v.y - mean) * rstd * g.y + b.y,
                                (v.z - mean) * rstd * g.z + b.z, (v.w - mean) * rstd * g.w + b.w);
        }
    } else {
        for (int i = lane; i < C; i += 32) y[i] = (x[i] - mean) * rstd * gamma[i] + beta[i];
    }
}

#ifndef AV_CUDA_EMU   // host code: not part of the CPU emulation
static int aligned16(const void *p) { return ((uintptr_t)p & 15) == 0; }

extern "C" int av_cuda_layernorm(float *out, const float *in, const float *gamma, const float *beta,
                                 int64_t rows, int C, float eps) {
    AV_CUDA_READY();
    if (rows <= 0 || C <= 0) return AV_OK;
    const int warps = 8;   // 256 threads; kernels/layernorm/layernorm_dev.cu sweeps the block size
    unsigned grid = av_grid(rows, warps);
    cudaStream_t s = av_cuda_compute_stream();
    // Row starts stay 16-byte aligned only when C is a multiple of 4.
    if (C % 4 == 0 && aligned16(out) && aligned16(in) && aligned16(gamma) && aligned16(beta))
        layernorm_kernel<true><<<grid, warps * 32, 0, s>>>(out, in, gamma, beta, rows, C, eps);
    else
        layernorm_kernel<false><<<grid, warps * 32, 0, s>>>(out, in, gamma, beta, rows, C, eps);
    launchCheck();
    return AV_OK;
}
#endif
