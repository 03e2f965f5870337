/* gelu_cpu.c - CPU twins of GELU (erf and tanh forms) and the residual add
 * (kernels/ops.h); CUDA versions in gelu.cu. */
#include "kernels/ops.h"

#include <math.h>

/* erf(x) = x P(x^2) / Q(x^2) on |x| <= 4 (erf is +-1 in float beyond): the fit and its
 * error (3.7e-7 at most, GELU's relative L2 error 5e-8) are kernels/gelu/erf_fit.py's. No
 * call and no branch, so the loop vectorizes: glibc's erff took ~10 ns a value, as long as
 * the MLP's GEMM itself for BERT-sized layers. */
static const float erf_p[7] = {1.128379169e+00f, 1.851452453e-01f, 5.430600835e-02f, 3.846897585e-03f,
                               3.794236054e-04f, 4.680629314e-06f, -1.317370135e-08f};
static const float erf_q[6] = {1.000000000e+00f, 4.974141172e-01f, 1.139316182e-01f, 1.545590746e-02f,
                               1.306783726e-03f, 6.307351505e-05f};

static inline float erf_rational(float x) {
    const float c = x > 4.0f ? 4.0f : x < -4.0f ? -4.0f : x, t = c * c;
    const float p = (((((erf_p[6] * t + erf_p[5]) * t + erf_p[4]) * t + erf_p[3]) * t + erf_p[2]) * t + erf_p[1]) * t +
                    erf_p[0];
    const float q = ((((erf_q[5] * t + erf_q[4]) * t + erf_q[3]) * t + erf_q[2]) * t + erf_q[1]) * t + erf_q[0];
    return c * p / q;
}

void av_gelu_cpu(float *x, int64_t n, av_gelu_kind kind) {
    if (kind == AV_GELU_ERF) {
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < n; i++) x[i] = 0.5f * x[i] * (1.0f + erf_rational(x[i] * 0.70710678118654752f));
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
