// rmsnorm_emu.cpp - rmsnorm.cu's kernel under the CPU emulation (kernels/emu) against
// RMSNorm in double: over whole rows, and in place per head inside rows of stride ld
// (Qwen3's q/k norm), where the values between the heads must stay as they were.
// Group "rmsnorm".
#define AV_CUDA_EMU 1
#include "kernels/rmsnorm/rmsnorm.cu"
#include "kernels/emu/emu_check.h"

static uint64_t rng = 0x243F6A8885A308D3ull;
static std::vector<float> random_vec(size_t n, float scale) { return emu_random_vec(rng, n, scale); }

static void rows_norm() {
    const int rows = 37, C = 96;
    auto x = random_vec((size_t)rows * C, 3), w = random_vec(C, 1);
    std::vector<float> want(x.size()), got(x.size(), NAN);
    for (int r = 0; r < rows; r++) {
        double s = 0;
        for (int i = 0; i < C; i++) s += (double)x[(size_t)r * C + i] * x[(size_t)r * C + i];
        for (int i = 0; i < C; i++) want[(size_t)r * C + i] = (float)(w[i] * x[(size_t)r * C + i] / std::sqrt(s / C + 1e-6));
    }
    emu_launch(dim3((rows + 7) / 8), dim3(256), 0, [&] { rmsnorm_kernel(got.data(), x.data(), w.data(), rows, 1, C, C, 1e-6f); });
    report("rmsnorm 37 x 96", got, want, 1e-6);
}

static void head_norm() {
    const int rows = 9, H = 3, d = 40, ld = 130;   // 10 values after the heads
    auto x = random_vec((size_t)rows * ld, 3), w = random_vec(d, 1);
    std::vector<float> want = x, got = x;
    for (int r = 0; r < rows; r++)
        for (int h = 0; h < H; h++) {
            const float *v = &x[(size_t)r * ld + h * d];
            double s = 0;
            for (int i = 0; i < d; i++) s += (double)v[i] * v[i];
            for (int i = 0; i < d; i++) want[(size_t)r * ld + h * d + i] = (float)(w[i] * v[i] / std::sqrt(s / d + 1e-6));
        }
    const int64_t sub = (int64_t)rows * H;
    emu_launch(dim3((unsigned)((sub + 7) / 8)), dim3(256), 0,
               [&] { rmsnorm_kernel(got.data(), got.data(), w.data(), sub, H, ld, d, 1e-6f); });
    report("per-head rmsnorm 9 rows x 3 heads of 40, in place", got, want, 1e-6);
}

void emu_rmsnorm() {
    rows_norm();
    head_norm();
}
