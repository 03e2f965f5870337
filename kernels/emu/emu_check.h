// emu_check.h - what the emulation's case files (kernels/<op>/<op>_emu.cpp) share: the
// count of failed checks, seeded random numbers, the verdict lines, and the case groups
// kernels/emu/emu_main.cpp runs. Include it after the .cu file a case file checks (which
// brings in emu.h through common.cuh, with AV_CUDA_EMU defined first).
#ifndef AV_KERNELS_EMU_EMU_CHECK_H
#define AV_KERNELS_EMU_EMU_CHECK_H
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <vector>

inline int emu_failures = 0;

// xorshift64 streams, one state per case file: uniform in [-scale, scale) with 24 bits
// (the forward ops' inputs), uniform in [0, 1) with 53 bits, and normal (Box-Muller).
inline std::vector<float> emu_random_vec(uint64_t &rng, size_t n, float scale) {
    std::vector<float> v(n);
    for (auto &x : v) {
        rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
        x = scale * ((float)((rng >> 40) * (2.0 / 16777216.0)) - 1.0f);
    }
    return v;
}
inline double emu_uniform(uint64_t &rng) {
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (double)(rng >> 11) * (1.0 / 9007199254740992.0);
}
inline double emu_normal(uint64_t &rng) {
    double u = emu_uniform(rng);
    return std::sqrt(-2.0 * std::log(1.0 - u)) * std::cos(6.283185307179586 * emu_uniform(rng));
}

// One line per check: relative L2 error against a reference, within bound.
inline void report(const char *what, const std::vector<float> &got, const std::vector<float> &want, double bound) {
    double e = 0, w = 0;
    for (size_t i = 0; i < got.size(); i++) {
        if (!std::isfinite(got[i])) { e = INFINITY; break; }
        e += ((double)got[i] - want[i]) * ((double)got[i] - want[i]);
        w += (double)want[i] * want[i];
    }
    double rel = w > 0 ? std::sqrt(e / w) : std::sqrt(e);
    bool ok = rel <= bound;
    emu_failures += !ok;
    printf("  %-52s rel L2 %.2e %s\n", what, rel, ok ? "ok" : "FAILED");
}
// One line per check whose test is the caller's (ok), with what it measured.
inline void verdict(const char *what, bool ok, const char *detail) {
    emu_failures += !ok;
    printf("  %-52s %s %s\n", what, detail, ok ? "ok" : "FAILED");
}
inline double rel_l2(const std::vector<double> &got, const std::vector<double> &want) {
    double e = 0, w = 0;
    for (size_t i = 0; i < got.size(); i++) {
        if (!std::isfinite(got[i])) return INFINITY;
        e += (got[i] - want[i]) * (got[i] - want[i]);
        w += want[i] * want[i];
    }
    return w > 0 ? std::sqrt(e / w) : std::sqrt(e);
}

// The case groups, each defined in its op's case file; emu_main.cpp lists them in order.
void emu_attention();        // kernels/attention/attention_emu.cpp
void emu_pack();             // kernels/pack/pack_emu.cpp
void emu_layernorm();        // kernels/layernorm/layernorm_emu.cpp
void emu_rmsnorm();          // kernels/rmsnorm/rmsnorm_emu.cpp
void emu_rope();             // kernels/rope/rope_emu.cpp
void emu_swiglu();           // kernels/swiglu/swiglu_emu.cpp
void emu_half();             // kernels/convert/half_emu.cpp
void emu_embed();            // kernels/embed/embed_emu.cpp
void emu_gelu();             // kernels/gelu/gelu_emu.cpp
void emu_knn();              // kernels/knn/knn_emu.cpp
void emu_tsne_tree();        // kernels/tsne/tsne_emu.cpp
void emu_tsne_overflow();
void emu_tsne_stall();
void emu_tsne_step();
void emu_tsne_affinities();
void emu_umap();             // kernels/umap/umap_emu.cpp
void emu_pca();              // kernels/pca/pca_emu.cpp
void emu_live();             // kernels/backend/live_gpu_emu.cpp
#endif
