// embed_emu.cpp - embed.cu's kernels under the CPU emulation (kernels/emu): the token +
// position (+ type) embedding and the ViT patch gather, against their formulas (exact).
// Group "embed".
#define AV_CUDA_EMU 1
#include "kernels/embed/embed.cu"
#include "kernels/emu/emu_check.h"

static uint64_t rng = 0x243F6A8885A308D3ull;
static std::vector<float> random_vec(size_t n, float scale) { return emu_random_vec(rng, n, scale); }

static void embed() {
    const int T = 10, C = 33, V = 7;
    auto wte = random_vec(V * C, 1), wpe = random_vec(12 * C, 1), tte = random_vec(2 * C, 1);
    int32_t ids[T], pos[T], types[T];
    for (int t = 0; t < T; t++) { ids[t] = (t * 3) % V; pos[t] = t; types[t] = t > 5; }
    std::vector<float> want(T * C), got(T * C, NAN);
    for (int t = 0; t < T; t++)
        for (int c = 0; c < C; c++) want[t * C + c] = wte[ids[t] * C + c] + wpe[pos[t] * C + c] + tte[types[t] * C + c];
    emu_launch(dim3(T), dim3(32), 0, [&] { embed_kernel(got.data(), ids, pos, types, wte.data(), wpe.data(), tte.data(), C); });
    report("embed with token types", got, want, 0);
}

static void patchify() {
    const int B = 2, S = 12, P = 4, G = S / P;
    auto img = random_vec((size_t)B * 3 * S * S, 1);
    std::vector<float> want(img.size()), got(img.size(), NAN);
    for (int b = 0; b < B; b++) for (int py = 0; py < G; py++) for (int px = 0; px < G; px++)
        for (int c = 0; c < 3; c++) for (int ky = 0; ky < P; ky++) for (int kx = 0; kx < P; kx++)
            want[(size_t)(b * G * G + py * G + px) * 3 * P * P + c * P * P + ky * P + kx] =
                img[((size_t)(b * 3 + c) * S + py * P + ky) * S + px * P + kx];
    const int64_t total = (int64_t)img.size();
    emu_launch(dim3((unsigned)((total + 63) / 64)), dim3(64), 0, [&] { patchify_kernel(got.data(), img.data(), S, P, total); });
    report("patchify B 2 S 12 P 4", got, want, 0);
}

void emu_embed() {
    embed();
    patchify();
}
