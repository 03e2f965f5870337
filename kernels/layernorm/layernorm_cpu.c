/* layernorm_cpu.c - CPU twin of LayerNorm (kernels/ops.h); CUDA version in layernorm.cu. */
#include "kernels/ops.h"

#include <math.h>

void av_layernorm_cpu(float *out, const float *in, const float *gamma, const float *beta,
                      int64_t rows, int C, float eps) {
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        const float *x = in + r * C;
        float *o = out + r * C;
        /* Two passes in double: the mean is subtracted before squaring, so large offsets
         * (GPT-2's residual stream reaches the hundreds) do not cancel catastrophically. */
        double mean = 0, var = 0;
        for (int i = 0; i < C; i++) mean += x[i];
        mean /= C;
        for (int i = 0; i < C; i++) var += (x[i] - mean) * (x[i] - mean);
        var /= C;
        float m = (float)mean, rs = (float)(1.0 / sqrt(var + eps));
        for (int i = 0; i < C; i++) o[i] = (x[i] - m) * rs * gamma[i] + beta[i];
    }
}
