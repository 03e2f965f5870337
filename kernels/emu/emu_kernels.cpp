// emu_kernels.cpp - runs the kernels of kernels/<op>/*.cu (their own source, compiled as C++
// under the emulation of emu.h) on small inputs and compares them with double-precision
// references written here, and the q/k packer with its CPU twin (kernels/pack/pack_cpu.c).
// It checks the kernels' logic - indexing, masks, padding, the online softmax, shuffles,
// barriers - on a machine without a GPU; it says nothing about speed. Shapes cover every
// path the kernels choose between. Build and run: bash kernels/emu/run.sh
#define AV_CUDA_EMU 1
#include "kernels/attention/attention.cu"
#include "kernels/convert/half.cu"
#include "kernels/embed/embed.cu"
#include "kernels/gelu/gelu.cu"
#include "kernels/layernorm/layernorm.cu"
#include "kernels/pack/pack.cu"
#include "kernels/rmsnorm/rmsnorm.cu"
#include "kernels/rope/rope.cu"
#include "kernels/swiglu/swiglu.cu"

#include <cstdio>

extern "C" {
#include "base/dtype.h"
#include "kernels/pack/pack.h"
}

static int failures = 0;
static uint64_t rng = 0x243F6A8885A308D3ull;

static std::vector<float> random_vec(size_t n, float scale) {
    std::vector<float> v(n);
    for (auto &x : v) {
        rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
        x = scale * ((float)((rng >> 40) * (2.0 / 16777216.0)) - 1.0f);
    }
    return v;
}

static void report(const char *what, const std::vector<float> &got, const std::vector<float> &want, double bound) {
    double e = 0, w = 0;
    for (size_t i = 0; i < got.size(); i++) {
        if (!std::isfinite(got[i])) { e = INFINITY; break; }
        e += ((double)got[i] - want[i]) * ((double)got[i] - want[i]);
        w += (double)want[i] * want[i];
    }
    double rel = w > 0 ? std::sqrt(e / w) : std::sqrt(e);
    bool ok = rel <= bound;
    failures += !ok;
    printf("  %-44s rel L2 %.2e %s\n", what, rel, ok ? "ok" : "FAILED");
}

// H query heads over Hkv key/value heads in a fused q | k | v row (Hkv = H: plain
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
        failures++;
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
    failures += !ok;
    printf("  pack %s%-34s q/k %s, sums rel %.1e %s\n", dt == AV_DT_F16 ? "f16" : "f32",
           many_items ? ", 300 short items" : gqa ? ", 6 query over 2 key heads" : with_v ? ", with v" : "",
           same ? "identical" : "DIFFER", worst, ok ? "ok" : "FAILED");
    if (with_v) report("pack |v|", gv, wv, 1e-6);
}

// RMSNorm of whole rows, and per head inside rows of stride ld (the values between the
// heads must stay as they were), against double references
static void rmsnorm() {
    {
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
    {
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
}

// rotate-half RoPE at per-row positions, q and k heads of a fused row; a small grid so the
// grid-stride loop takes several laps
static void rope() {
    const int rows = 11, H = 5, d = 24, ld = 150;
    auto x = random_vec((size_t)rows * ld, 2);
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

static void swiglu_and_half() {
    {
        const int rows = 5, I = 37;
        auto gu = random_vec((size_t)rows * 2 * I, 6);
        std::vector<float> want((size_t)rows * I), got((size_t)rows * I, NAN);
        for (int r = 0; r < rows; r++)
            for (int i = 0; i < I; i++) {
                const double g = gu[(size_t)r * 2 * I + i], u = gu[(size_t)r * 2 * I + I + i];
                want[(size_t)r * I + i] = (float)(g / (1 + std::exp(-g)) * u);
            }
        emu_launch(dim3(2), dim3(64), 0, [&] { swiglu_kernel(got.data(), gu.data(), rows, I); });
        report("swiglu 5 x 37", got, want, 1e-6);
    }
    for (int bf = 0; bf <= 1; bf++) {
        auto x = random_vec(301, 100);
        std::vector<uint16_t> h(x.size());
        std::vector<float> want(x.size()), got(x.size(), NAN);
        for (size_t i = 0; i < x.size(); i++) {
            h[i] = bf ? av_f32_to_bf16(x[i]) : av_f32_to_f16(x[i]);
            want[i] = bf ? av_bf16_to_f32(h[i]) : av_f16_to_f32(h[i]);
        }
        emu_launch(dim3(2), dim3(64), 0, [&] { half_to_f32_kernel(got.data(), h.data(), (int64_t)x.size(), bf ? AV_HALF_BF16 : AV_HALF_F16); });
        report(bf ? "bf16 weights widened" : "f16 weights widened", got, want, 0);
    }
}

static void layernorm(int rows, int C, bool vec, bool inplace) {
    auto x = random_vec((size_t)rows * C, 3), g = random_vec(C, 1), b = random_vec(C, 1);
    for (auto &t : x) t += 0.5f;
    std::vector<float> want(x.size()), got = inplace ? x : std::vector<float>(x.size(), NAN);
    for (int r = 0; r < rows; r++) {
        double m = 0, s = 0;
        for (int i = 0; i < C; i++) m += x[(size_t)r * C + i];
        m /= C;
        for (int i = 0; i < C; i++) s += (x[(size_t)r * C + i] - m) * (x[(size_t)r * C + i] - m);
        double rs = 1 / std::sqrt(s / C + 1e-5);
        for (int i = 0; i < C; i++) want[(size_t)r * C + i] = (float)((x[(size_t)r * C + i] - m) * rs * g[i] + b[i]);
    }
    const float *in = inplace ? got.data() : x.data();
    emu_launch(dim3((rows + 7) / 8), dim3(256), 0, [&] {
        if (vec) layernorm_kernel<true>(got.data(), in, g.data(), b.data(), rows, C, 1e-5f);
        else layernorm_kernel<false>(got.data(), in, g.data(), b.data(), rows, C, 1e-5f);
    });
    char what[96];
    snprintf(what, sizeof what, "layernorm %d x %d %s%s", rows, C, vec ? "float4" : "scalar", inplace ? " in place" : "");
    report(what, got, want, 1e-5);
}

static void elementwise() {
    {
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
    {
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
    {
        auto a = random_vec(103, 1), b = random_vec(103, 1);
        std::vector<float> want(103);
        for (int i = 0; i < 103; i++) want[i] = a[i] + b[i];
        emu_launch(dim3(2), dim3(32), 0, [&] {
            add4_kernel((float4 *)a.data(), (const float4 *)a.data(), (const float4 *)b.data(), 25);
            add_kernel(a.data(), a.data(), b.data(), 100, 103);
        });
        report("add, float4 body + scalar tail, in place", a, want, 0);
    }
}

int main() {
    printf("kernels/<op>/*.cu under CPU emulation (no GPU involved)\n");
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
    pack(AV_DT_F32, 1);
    pack(AV_DT_F16, 1);
    pack(AV_DT_F16, 0);
    pack(AV_DT_F32, 1, true);
    pack(AV_DT_F16, 1, false, true);
    rmsnorm();
    rope();
    swiglu_and_half();
    layernorm(37, 768, true, false);
    layernorm(37, 768, true, true);
    layernorm(37, 37, false, false);
    layernorm(37, 37, false, true);
    elementwise();
    printf("%s\n", failures ? "FAILED" : "all kernels agree with their references");
    return failures ? 1 : 0;
}
