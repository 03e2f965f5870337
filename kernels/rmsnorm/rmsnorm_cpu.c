/* rmsnorm_cpu.c - CPU twins of RMSNorm and of the per-head RMSNorm of q and k
 * (kernels/ops.h); CUDA versions in rmsnorm.cu.
 *
 * As transformers' LlamaRMSNorm in float32: y = w * (x * rsqrt(mean(x^2) + eps)), in that
 * order of the products. The mean of squares is summed in double: its float rounding is
 * the only place our order of additions could differ from PyTorch's, and in double the
 * difference stays below float's last bit. */
#include "kernels/ops.h"

#include <math.h>

static inline void norm_row(float *o, const float *x, const float *w, int C, float eps) {
    double s = 0;
    for (int i = 0; i < C; i++) s += (double)x[i] * x[i];
    const float inv = 1.0f / sqrtf((float)(s / C) + eps);
    for (int i = 0; i < C; i++) o[i] = w[i] * (x[i] * inv);
}

void av_rmsnorm_cpu(float *out, const float *in, const float *w, int64_t rows, int C, float eps) {
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; r++) norm_row(out + r * C, in + r * C, w, C, eps);
}

void av_head_rmsnorm_cpu(float *x, int ld, int64_t rows, int H, int d, const float *w, float eps) {
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; r++)
        for (int h = 0; h < H; h++) {
            float *p = x + r * ld + (int64_t)h * d;
            norm_row(p, p, w, d, eps);
        }
}
