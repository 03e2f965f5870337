// pack_emu.cpp - pack.cu's kernel under the CPU emulation (kernels/emu) against its CPU
// twin (kernels/pack/pack_cpu.c): f32 and f16, with and without v, empty items, more
// items than a block has threads, and grouped-query heads; the packed q/k must be
// identical. Group "pack".
#define AV_CUDA_EMU 1
#include "kernels/pack/pack.cu"

extern "C" {
#include "kernels/pack/pack.h"
}
#include "kernels/emu/emu_check.h"

static uint64_t rng = 0x243F6A8885A308D3ull;
static std::vector<float> random_vec(size_t n, float scale) { return emu_random_vec(rng, n, scale); }

// many_items: 300 short items, so each block's sum of the earlier items' lengths runs
// over more items than the block has threads
// gqa: 6 query heads over 2 key heads (the first query head of a group writes its keys)
static void pack(av_dtype dt, int with_v, bool many_items = false, bool gqa = false) {
    const int B = many_items ? 300 : 4, T = many_items ? 3 : 16, H = gqa ? 6 : 3, Hkv = gqa ? 2 : H, d = 40, C = H * d,
              ld = (H + 2 * Hkv) * d;
    std::vector<int32_t> lens = {7, 16, 0, 3};
    if (many_items) {
        lens.resize(B);
        for (int i = 0; i < B; i++) lens[i] = (i * 7) % 4;   // 0..3, some empty
    }
    const int32_t *len = lens.data();
    const int64_t n = av_pack_count(len, B, T);
    auto qkv = random_vec((size_t)B * T * ld, 2);
    const size_t bytes = (size_t)H * n * d * (dt == AV_DT_F16 ? 2 : 4), kbytes = bytes / H * Hkv;
    std::vector<uint8_t> wq(bytes), wk(kbytes), gq(bytes, 0xEE), gk(kbytes, 0xEE);
    std::vector<float> wv(H * n), gv(H * n, NAN);
    std::vector<double> ws(3 * H, 1.0), gs(3 * H, 1.0);
    const float *q = qkv.data(), *k = q + C, *v = with_v ? k + Hkv * d : nullptr;
    float *vn_w = with_v ? wv.data() : nullptr, *vn_g = with_v ? gv.data() : nullptr;
    if (av_pack_heads_cpu(wq.data(), wk.data(), vn_w, ws.data(), dt, q, k, v, ld, B, T, H, Hkv, d, len) != AV_OK) {
        printf("  pack: the CPU twin refused\n");
        emu_failures++;
        return;
    }
    emu_launch(dim3((T + TPB - 1) / TPB, B), dim3(PACK_WARPS * 32), 0, [&] {
        if (dt == AV_DT_F16)
            pack_kernel<__half>((__half *)gq.data(), (__half *)gk.data(), vn_g, gs.data(), q, k, v, ld, T, H, Hkv, d, len, n);
        else
            pack_kernel<float>((float *)gq.data(), (float *)gk.data(), vn_g, gs.data(), q, k, v, ld, T, H, Hkv, d, len, n);
    });
    bool same = !memcmp(gq.data(), wq.data(), bytes) && !memcmp(gk.data(), wk.data(), kbytes);
    double worst = 0;
    for (int i = 0; i < 3 * H; i++) worst = std::max(worst, std::fabs(gs[i] - ws[i]) / ws[i]);
    bool ok = same && worst <= 1e-6;
    emu_failures += !ok;
    printf("  pack %s%-34s q/k %s, sums rel %.1e %s\n", dt == AV_DT_F16 ? "f16" : "f32",
           many_items ? ", 300 short items" : gqa ? ", 6 query over 2 key heads" : with_v ? ", with v" : "",
           same ? "identical" : "DIFFER", worst, ok ? "ok" : "FAILED");
    if (with_v) report("pack |v|", gv, wv, 1e-6);
}

void emu_pack() {
    pack(AV_DT_F32, 1);
    pack(AV_DT_F16, 1);
    pack(AV_DT_F16, 0);
    pack(AV_DT_F32, 1, true);
    pack(AV_DT_F16, 1, false, true);
}
