/* gpu_forward_llm.c - the decoder LLMs on the CUDA backend against transformers' own
 * activations (the fixtures and bound of tests/test_forward_llm.c): q/k after and before
 * RoPE, |v| and the hidden states within relative L2 1e-4 with f32 GEMMs, for grouped-
 * and multi-query attention, llama3 RoPE, biases, qwen3's norms, a sharded checkpoint, a
 * BF16 one (kept as stored on the device and widened there per layer) and an item of 280
 * tokens. Then the packed sink on CUDA against the CPU's rows (tests/forward_pack.h).
 * SKIPs (exit 77) without CUDA or a device, or when AV_CUDA_GEMM asks for a 16-bit GEMM
 * (the 1e-4 bound holds for f32 only). */
#include <stdlib.h>
#include <string.h>
#include "kernels/backend/device.h"
#include "tests/check.h"
#include "tests/forward_llm_cases.h"
#include "tests/forward_pack.h"

int main(void) {
    const char *prec = getenv("AV_CUDA_GEMM");
    if (prec && strcmp(prec, "f32")) AV_SKIP("AV_CUDA_GEMM=%s: the 1e-4 bound holds for f32 GEMM only", prec);
    char why[256] = "";
    if (av_cuda_device_count(why, sizeof why) <= 0) AV_SKIP("%s", why);
    const av_backend *be = av_backend_cuda();
    if (!be) AV_SKIP("no CUDA backend: %s", av_last_error());
    run_all_llm_cases(be, 1e-4);
    static const char *llms[] = {"tests/fixtures/models/llama-gqa", "tests/fixtures/models/qwen3-norm",
                                 "tests/fixtures/models/qwen2-bf16"};
    for (size_t i = 0; i < sizeof llms / sizeof *llms; i++) {
        check_packed(be, llms[i], AV_DT_F32, 1e-5, "cuda f32");
        check_packed(be, llms[i], AV_DT_F16, 1e-3, "cuda f16");
    }
    return av_check_summary("gpu_forward_llm");
}
