// rope.cu - the rotary position embedding in place, rotate-half form (CPU twin and the
// convention: rope_cpu.c). One thread per (row, head, pair i < d/2): it reads x[i] and
// x[i + d/2] and writes both, so no two threads touch the same value.
#include "kernels/backend/common.cuh"

// cos and sin of a float angle as the CPU twin's cosf/sinf give them (to within an ulp):
// the angle is reduced by pi in double, where its rounding error is far below float's,
// and sincospi's own reduction is exact. cosf/sinf would carry a slow-path reduction for
// large angles that keeps a stack frame in local memory (which the build refuses).
__device__ static inline void angle_cos_sin(float a, float *c, float *s) {
    double t = (double)a * 0.31830988618379067154;   // a / pi
    t -= 2.0 * rint(0.5 * t);                         // into [-1, 1], exactly
    double sd, cd;
    sincospi(t, &sd, &cd);
    *c = (float)cd;
    *s = (float)sd;
}

__global__ void rope_kernel(float *x, int ld, int64_t rows, int H, int d, const int32_t *pos, const float *inv_freq) {
    const int half = d / 2;
    const int64_t n = rows * H * half;
    for (int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; t < n; t += (int64_t)gridDim.x * blockDim.x) {
        const int i = (int)(t % half);
        const int64_t rh = t / half, r = rh / H;
        float *v = x + r * ld + (rh % H) * d;
        float c, s;
        angle_cos_sin((float)pos[r] * inv_freq[i], &c, &s);
        const float x1 = v[i], x2 = v[i + half];
        v[i] = x1 * c - x2 * s;
        v[i + half] = x2 * c + x1 * s;
    }
}

#ifndef AV_CUDA_EMU   // host code: not part of the CPU emulation
extern "C" int av_cuda_rope(float *x, int ld, int64_t rows, int H, int d, const int32_t *pos, const float *inv_freq) {
    AV_CUDA_READY();
    if (d % 2) return av_fail("rope: head size %d is odd", d);
    if (ld < H * d) return av_fail("rope: row stride %d is smaller than %d heads x %d", ld, H, d);
    const int64_t n = rows * H * (d / 2);
    if (n <= 0) return AV_OK;
    unsigned grid = av_grid(n, 256);
    rope_kernel<<<grid > 65535u ? 65535u : grid, 256, 0, av_cuda_compute_stream()>>>(x, ld, rows, H, d, pos, inv_freq);
    launchCheck();
    return AV_OK;
}
#endif
