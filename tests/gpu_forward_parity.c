/* gpu_forward_parity.c - the forward passes on the CUDA backend against transformers' activations,
 * the same cases and bound (relative L2 <= 1e-4 per layer for q, k, |v| and the hidden
 * states) as tests/test_forward.c on the CPU: BERT F32/F16/BF16, GPT-2 plain and sharded,
 * ViT, real MiniLM. Skips (exit 77) where no CUDA device is usable. The bound is the
 * backend's default f32 GEMM's (16-bit GEMMs: tests/gpu_forward.c). */
#include <stdlib.h>
#include <string.h>
#include "kernels/backend/device.h"
#include "tests/check.h"
#include "tests/forward_cases.h"

int main(void) {
    char why[256] = "";
    if (av_cuda_device_count(why, sizeof why) <= 0) AV_SKIP("%s", why);
    const av_backend *be = av_backend_cuda();
    if (!be) AV_SKIP("no CUDA backend: %s", av_last_error());
    run_all_cases(be);
    return av_check_summary("gpu_forward_parity");
}
