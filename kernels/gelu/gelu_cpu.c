/* gelu_cpu.c - CPU twins of GELU (erf and tanh forms) and the residual add
 * (kernels/ops.h); CUDA versions in gelu.cu. */
#include "kernels/ops.h"

#include <math.h>

void av_gelu_cpu(float *x, int64_t n, av_gelu_kind kind) {
    if (kind == AV_GELU_ERF) {
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < n; i++) x[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678118654752f));
    } else {
        const float c = 0.79788456080286536f; /* sqrt(2/pi), as gelu_new / gelu_pytorch_tanh */
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < n; i++) {
            float v = x[i];
            x[i] = 0.5f * v * (1.0f + tanhf(c * (v + 0.044715f * v * v * v)));
        }
    }
}

void av_add_cpu(float *out, const float *a, const float *b, int64_t n) {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}
