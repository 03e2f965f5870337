// swiglu_emu.cpp - swiglu.cu's kernel under the CPU emulation (kernels/emu): silu(gate) *
// up from rows of gate | up, against the formula in double; a small grid, so the
// grid-stride loop takes several laps. Group "swiglu".
#define AV_CUDA_EMU 1
#include "kernels/swiglu/swiglu.cu"
#include "kernels/emu/emu_check.h"

static uint64_t rng = 0x243F6A8885A308D3ull;

void emu_swiglu() {
    const int rows = 5, I = 37;
    auto gu = emu_random_vec(rng, (size_t)rows * 2 * I, 6);
    std::vector<float> want((size_t)rows * I), got((size_t)rows * I, NAN);
    for (int r = 0; r < rows; r++)
        for (int i = 0; i < I; i++) {
            const double g = gu[(size_t)r * 2 * I + i], u = gu[(size_t)r * 2 * I + I + i];
            want[(size_t)r * I + i] = (float)(g / (1 + std::exp(-g)) * u);
        }
    emu_launch(dim3(2), dim3(64), 0, [&] { swiglu_kernel(got.data(), gu.data(), rows, I); });
    report("swiglu 5 x 37", got, want, 1e-6);
}
