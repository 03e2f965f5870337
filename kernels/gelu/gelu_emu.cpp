// gelu_emu.cpp - gelu.cu's kernels under the CPU emulation (kernels/emu): bias + GELU in
// both forms (with a grid-stride lap) against the formulas in double, and the residual
// add (float4 body, scalar tail, in place), exact. Group "gelu".
#define AV_CUDA_EMU 1
#include "kernels/gelu/gelu.cu"
#include "kernels/emu/emu_check.h"

static uint64_t rng = 0x243F6A8885A308D3ull;
static std::vector<float> random_vec(size_t n, float scale) { return emu_random_vec(rng, n, scale); }

static void bias_gelu() {
    for (int tanh_form = 0; tanh_form <= 1; tanh_form++) {
        const int rows = 5, N = 37;
        auto x = random_vec(rows * N, 4), bias = random_vec(N, 1);
        std::vector<float> want(x.size()), got = x;
        for (int i = 0; i < rows * N; i++) {
            double v = (double)x[i] + bias[i % N];
            want[i] = (float)(tanh_form ? 0.5 * v * (1 + std::tanh(0.7978845608028654 * (v + 0.044715 * v * v * v)))
                                        : 0.5 * v * (1 + std::erf(v / std::sqrt(2.0))));
        }
        // 2 blocks of 64 threads for 185 elements: the grid-stride loop takes a second lap.
        emu_launch(dim3(2), dim3(64), 0, [&] { bias_gelu_kernel(got.data(), bias.data(), rows * N, N, tanh_form ? AV_GELU_TANH : AV_GELU_ERF); });
        report(tanh_form ? "bias + gelu, tanh form" : "bias + gelu, erf form", got, want, 1e-6);
    }
}

static void add() {
    auto a = random_vec(103, 1), b = random_vec(103, 1);
    std::vector<float> want(103);
    for (int i = 0; i < 103; i++) want[i] = a[i] + b[i];
    emu_launch(dim3(2), dim3(32), 0, [&] {
        add4_kernel((float4 *)a.data(), (const float4 *)a.data(), (const float4 *)b.data(), 25);
        add_kernel(a.data(), a.data(), b.data(), 100, 103);
    });
    report("add, float4 body + scalar tail, in place", a, want, 0);
}

void emu_gelu() {
    bias_gelu();
    add();
}
