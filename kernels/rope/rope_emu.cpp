// rope_emu.cpp - rope.cu's kernel under the CPU emulation (kernels/emu): rotate-half RoPE
// at per-row positions over the q and k heads of fused rows, against the rotation in
// double of the same float angle; a small grid, so the grid-stride loop takes several
// laps. Group "rope".
#define AV_CUDA_EMU 1
#include "kernels/rope/rope.cu"
#include "kernels/emu/emu_check.h"

static uint64_t rng = 0x243F6A8885A308D3ull;

void emu_rope() {
    const int rows = 11, H = 5, d = 24, ld = 150;
    auto x = emu_random_vec(rng, (size_t)rows * ld, 2);
    std::vector<float> inv(d / 2), want = x, got = x;
    for (int i = 0; i < d / 2; i++) inv[i] = (float)std::pow(10000.0, -2.0 * i / d);
    std::vector<int32_t> pos(rows);
    for (int r = 0; r < rows; r++) pos[r] = r * 37 % 500;
    for (int r = 0; r < rows; r++)
        for (int h = 0; h < H; h++)
            for (int i = 0; i < d / 2; i++) {
                const double a = (double)((float)pos[r] * inv[i]), x1 = x[(size_t)r * ld + h * d + i],
                             x2 = x[(size_t)r * ld + h * d + i + d / 2];
                want[(size_t)r * ld + h * d + i] = (float)(x1 * std::cos(a) - x2 * std::sin(a));
                want[(size_t)r * ld + h * d + i + d / 2] = (float)(x2 * std::cos(a) + x1 * std::sin(a));
            }
    emu_launch(dim3(3), dim3(64), 0, [&] { rope_kernel(got.data(), ld, rows, H, d, pos.data(), inv.data()); });
    report("rope 11 rows x 5 heads of 24, positions to 500", got, want, 1e-6);
}
