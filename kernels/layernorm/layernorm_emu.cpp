// layernorm_emu.cpp - layernorm.cu's kernel under the CPU emulation (kernels/emu) against
// the CPU twin (av_layernorm_cpu): the float4 and the scalar path, in place and not.
// Group "layernorm".
#define AV_CUDA_EMU 1
#include "kernels/layernorm/layernorm.cu"
#include "kernels/emu/emu_check.h"

static uint64_t rng = 0x243F6A8885A308D3ull;
static std::vector<float> random_vec(size_t n, float scale) { return emu_random_vec(rng, n, scale); }

static void layernorm(int rows, int C, bool vec, bool inplace) {
    auto x = random_vec((size_t)rows * C, 3), g = random_vec(C, 1), b = random_vec(C, 1);
    for (auto &t : x) t += 0.5f;
    std::vector<float> want(x.size()), got = inplace ? x : std::vector<float>(x.size(), NAN);
    av_layernorm_cpu(want.data(), x.data(), g.data(), b.data(), rows, C, 1e-5f);
    const float *in = inplace ? got.data() : x.data();
    emu_launch(dim3((rows + 7) / 8), dim3(256), 0, [&] {
        if (vec) layernorm_kernel<true>(got.data(), in, g.data(), b.data(), rows, C, 1e-5f);
        else layernorm_kernel<false>(got.data(), in, g.data(), b.data(), rows, C, 1e-5f);
    });
    char what[96];
    snprintf(what, sizeof what, "layernorm %d x %d %s%s", rows, C, vec ? "float4" : "scalar", inplace ? " in place" : "");
    report(what, got, want, 1e-5);
}

void emu_layernorm() {
    layernorm(37, 768, true, false);
    layernorm(37, 768, true, true);
    layernorm(37, 37, false, false);
    layernorm(37, 37, false, true);
}
