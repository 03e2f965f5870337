// half_emu.cpp - half.cu's kernel under the CPU emulation (kernels/emu): 16-bit stored
// weights (f16 and bf16) widened to f32, which must give exactly base/dtype.c's values.
// Group "half".
#define AV_CUDA_EMU 1
#include "kernels/convert/half.cu"

extern "C" {
#include "base/dtype.h"
}
#include "kernels/emu/emu_check.h"

static uint64_t rng = 0x243F6A8885A308D3ull;

void emu_half() {
    for (int bf = 0; bf <= 1; bf++) {
        auto x = emu_random_vec(rng, 301, 100);
        std::vector<uint16_t> h(x.size());
        std::vector<float> want(x.size()), got(x.size(), NAN);
        for (size_t i = 0; i < x.size(); i++) {
            h[i] = bf ? av_f32_to_bf16(x[i]) : av_f32_to_f16(x[i]);
            want[i] = bf ? av_bf16_to_f32(h[i]) : av_f16_to_f32(h[i]);
        }
        emu_launch(dim3(2), dim3(64), 0,
                   [&] { half_to_f32_kernel(got.data(), h.data(), (int64_t)x.size(), bf ? AV_HALF_BF16 : AV_HALF_F16); });
        report(bf ? "bf16 weights widened" : "f16 weights widened", got, want, 0);
    }
}
