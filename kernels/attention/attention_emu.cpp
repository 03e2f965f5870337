// attention_emu.cpp - attention.cu's kernel under the CPU emulation (kernels/emu): its own
// source run as C++ threads against softmax attention in double, at every accumulator
// count (d 8..128), with padding, causal masks, T not a multiple of the tile, an empty
// item, a single token, grouped-query attention and one key head. Group "attention" of
// kernels/emu/run.sh.
#define AV_CUDA_EMU 1
#include "kernels/attention/attention.cu"
#include "kernels/emu/emu_check.h"

static uint64_t rng = 0x243F6A8885A308D3ull;
static std::vector<float> random_vec(size_t n, float scale) { return emu_random_vec(rng, n, scale); }

// H query heads over Hkv key/value heads in a fused q | k | v row (Hkv 0: H, plain
// multi-head attention)
static void attention(int B, int T, int H, int d, std::vector<int32_t> len, int causal, int Hkv = 0) {
    if (!Hkv) Hkv = H;
    const int C = H * d, ld = (H + 2 * Hkv) * d, group = H / Hkv;
    auto qkv = random_vec((size_t)B * T * ld, 2);
    std::vector<float> want((size_t)B * T * C), got((size_t)B * T * C, NAN);
    std::vector<double> p(T);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++)
            for (int i = 0; i < T; i++) {
                float *o = &want[((size_t)b * T + i) * C + h * d];
                if (i >= len[b]) { for (int c = 0; c < d; c++) o[c] = 0; continue; }
                const int kend = causal ? i + 1 : len[b], kh = h / group;
                const float *qi = &qkv[((size_t)b * T + i) * ld + h * d];
                double m = -INFINITY, sum = 0;
                for (int j = 0; j < kend; j++) {
                    const float *kj = &qkv[((size_t)b * T + j) * ld + C + kh * d];
                    double s = 0;
                    for (int c = 0; c < d; c++) s += (double)qi[c] * kj[c];
                    p[j] = s / std::sqrt((double)d);
                    m = std::max(m, p[j]);
                }
                for (int j = 0; j < kend; j++) sum += (p[j] = std::exp(p[j] - m));
                for (int c = 0; c < d; c++) {
                    double a = 0;
                    for (int j = 0; j < kend; j++) a += p[j] * qkv[((size_t)b * T + j) * ld + C + (Hkv + kh) * d + c];
                    o[c] = (float)(a / sum);
                }
            }
    const float *q = qkv.data(), *k = q + C, *v = q + C + Hkv * d;
    float *out = got.data();
    const int32_t *l = len.data();
    size_t smem = (size_t)(QT * d + KT * (d + 1) + KT * d) * sizeof(float);
    emu_launch(dim3((T + QT - 1) / QT, H, B), dim3(WARPS * 32), smem, [&] {
        switch ((d + 31) / 32) {
        case 1: attention_kernel<1>(out, q, k, v, ld, T, H, Hkv, d, l, causal); break;
        case 2: attention_kernel<2>(out, q, k, v, ld, T, H, Hkv, d, l, causal); break;
        case 3: attention_kernel<3>(out, q, k, v, ld, T, H, Hkv, d, l, causal); break;
        default: attention_kernel<4>(out, q, k, v, ld, T, H, Hkv, d, l, causal); break;
        }
    });
    char what[96];
    snprintf(what, sizeof what, "attention B %d T %d H %d%s d %d%s", B, T, H,
             Hkv != H ? (Hkv == 1 ? " (1 kv)" : " (grouped)") : "", d, causal ? " causal" : "");
    report(what, got, want, 1e-5);
}

void emu_attention() {
    attention(3, 37, 2, 16, {37, 20, 1}, 0);
    attention(3, 37, 2, 16, {37, 20, 1}, 1);
    attention(2, 70, 2, 64, {70, 33}, 0);
    attention(2, 70, 2, 64, {70, 33}, 1);
    attention(3, 37, 2, 32, {37, 20, 1}, 0);
    attention(2, 40, 1, 80, {40, 17}, 1);
    attention(2, 33, 1, 128, {33, 32}, 0);
    attention(2, 9, 3, 8, {0, 9}, 1);
    attention(1, 1, 2, 64, {1}, 1);
    attention(3, 37, 6, 16, {37, 20, 1}, 1, 2);    // grouped-query: 3 query heads per key head
    attention(2, 70, 4, 64, {70, 33}, 1, 1);       // one key head for all
    attention(2, 40, 4, 80, {40, 17}, 0, 2);
}
