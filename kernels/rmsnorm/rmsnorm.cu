// rmsnorm.cu - RMSNorm of the Llama family and the per-head RMSNorm of q and k (Qwen3),
// one warp per normalised run of values (CPU twins in rmsnorm_cpu.c). Both are the same
// kernel: `sub` runs of `width` values, run s at row s / H, head s % H of rows of stride
// ld (the plain RMSNorm is H = 1, width = ld = C).
#include "kernels/backend/common.cuh"

__global__ void rmsnorm_kernel(float *out, const float *in, const float *w, int64_t sub, int H, int ld, int width,
                               float eps) {
    const int lane = threadIdx.x & 31;
    const int64_t s = (int64_t)blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
    if (s >= sub) return;
    const int64_t at = s / H * ld + (int64_t)(s % H) * width;
    const float *x = in + at;
    float *y = out + at;
    float sq = 0.0f;
    for (int i = lane; i < width; i += 32) sq += x[i] * x[i];
    const float inv = rsqrtf(warp_sum(sq) / width + eps);
    // out may alias in: every lane reads its own values before writing them
    for (int i = lane; i < width; i += 32) y[i] = w[i] * (x[i] * inv);
}

#ifndef AV_CUDA_EMU   // host code: not part of the CPU emulation
static int launch(float *out, const float *in, const float *w, int64_t sub, int H, int ld, int width, float eps) {
    AV_CUDA_READY();
    if (sub <= 0 || width <= 0) return AV_OK;
    const int warps = 8;
    rmsnorm_kernel<<<av_grid(sub, warps), warps * 32, 0, av_cuda_compute_stream()>>>(out, in, w, sub, H, ld, width, eps);
    launchCheck();
    return AV_OK;
}

extern "C" int av_cuda_rmsnorm(float *out, const float *in, const float *w, int64_t rows, int C, float eps) {
    return launch(out, in, w, rows, 1, C, C, eps);
}

extern "C" int av_cuda_head_rmsnorm(float *x, int ld, int64_t rows, int H, int d, const float *w, float eps) {
    if (ld < H * d) return av_fail("head_rmsnorm: row stride %d is smaller than %d heads x %d", ld, H, d);
    return launch(x, x, w, rows * H, H, ld, d, eps);
}
#endif
