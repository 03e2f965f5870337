/* swiglu_cpu.c - CPU twin of the SwiGLU gate (kernels/ops.h); CUDA version in swiglu.cu.
 * The MLP of the Llama family is down(silu(gate(x)) * up(x)); gate and up run as one
 * GEMM whose output rows hold gate | up, and this op joins the halves. silu(x) is
 * x / (1 + exp(-x)), the form PyTorch evaluates. */
#include "kernels/ops.h"

#include <math.h>

void av_swiglu_cpu(float *out, const float *gu, int64_t rows, int I) {
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        const float *g = gu + r * 2 * I, *u = g + I;
        float *o = out + r * I;
        for (int i = 0; i < I; i++) o[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
    }
}
