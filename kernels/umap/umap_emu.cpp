// umap_emu.cpp - umap.cu's membership_kernel under the CPU emulation (kernels/emu): rho,
// sigma, memberships and both edge directions, with the fuzzy union merged here as
// thrust merges it, against the CPU's fuzzy graph (kernels/umap/umap_graph.c,
// av_umap_fuzzy_graph) on the same neighbours. Group "umap".
#define AV_CUDA_EMU 1
#include "kernels/umap/umap.cu"

#include <algorithm>
#include <numeric>
#include "kernels/emu/emu_check.h"

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static double uniform() { return emu_uniform(rng); }
static double normal() { return emu_normal(rng); }

// ---- UMAP fuzzy graph ----------------------------------------------------------------------
static void umap_graph(int n, int k, int dup_every) {
    const int d = 4;
    std::vector<float> X((size_t)n * d), dist((size_t)n * k);
    std::vector<int64_t> idx((size_t)n * k);
    for (auto &x : X) x = (float)normal();
    if (dup_every > 0)   // exact duplicates: zero distances, rho from the first non-zero
        for (int i = dup_every; i < n; i += dup_every) std::copy(X.begin(), X.begin() + d, X.begin() + (size_t)i * d);
    std::vector<std::pair<double, int>> all(n);
    for (int i = 0; i < n; i++) {   // exact neighbours, Euclidean distances (av_umap takes the root)
        int m = 0;
        for (int j = 0; j < n; j++) {
            if (j == i) continue;
            double s = 0;
            for (int c = 0; c < d; c++) { double u = (double)X[i * d + c] - X[j * d + c]; s += u * u; }
            all[m++] = {s, j};
        }
        std::partial_sort(all.begin(), all.begin() + k, all.begin() + m);
        for (int t = 0; t < k; t++) {
            idx[(size_t)i * k + t] = all[t].second;
            dist[(size_t)i * k + t] = std::sqrt((float)all[t].first);
        }
    }
    const int64_t m2 = 2 * (int64_t)n * k;
    double mean_all = 0;
    for (float v : dist) mean_all += v;
    mean_all /= (double)n * (k + 1);
    std::vector<unsigned long long> key(m2);
    std::vector<float> val(m2, NAN);
    emu_launch(dim3((n + 31) / 32), dim3(32), 0, [&] { membership_kernel(idx.data(), dist.data(), n, k, mean_all, key.data(), val.data()); });
    // thrust::sort_by_key, then reduce_by_key with fuzzy_union, then av_umap_cuda's CSR
    std::vector<int64_t> order(m2);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return key[a] < key[b]; });
    std::vector<unsigned long long> ukey;
    std::vector<float> uval;
    for (int64_t o : order) {
        if (!ukey.empty() && ukey.back() == key[o]) uval.back() = fuzzy_union()(uval.back(), val[o]);
        else { ukey.push_back(key[o]); uval.push_back(val[o]); }
    }
    std::vector<int64_t> rowptr(n + 1, 0), col;
    std::vector<float> gv;
    for (size_t e = 0; e < ukey.size(); e++) {
        if (ukey[e] == ~0ull || !(uval[e] > 0.0f)) continue;
        rowptr[(ukey[e] >> 32) + 1]++;
        col.push_back((int64_t)(ukey[e] & 0xffffffffull));
        gv.push_back(uval[e]);
    }
    for (int i = 0; i < n; i++) rowptr[i + 1] += rowptr[i];
    av_umap_graph g;
    int64_t bad = 0;
    std::vector<double> got, want;
    if (av_umap_fuzzy_graph(idx.data(), dist.data(), n, k, 1.0, &g, NULL, NULL) != AV_OK) {
        bad = -1;
    } else {
        bad += g.nnz != (int64_t)col.size();
        for (int i = 0; i <= n; i++) bad += g.rowptr[i] != rowptr[i];
        for (int64_t e = 0; bad == 0 && e < g.nnz; e++) {
            bad += g.col[e] != col[e];
            got.push_back(gv[e]);
            want.push_back(g.val[e]);
        }
        av_umap_graph_free(&g);
    }
    double e = bad == 0 ? rel_l2(got, want) : INFINITY;
    char what[96], detail[96];
    snprintf(what, sizeof what, "umap fuzzy graph n %d k %d%s", n, k, dup_every ? " dups" : "");
    snprintf(detail, sizeof detail, "nnz %zu, %lld structure faults, memberships rel %.1e", col.size(), (long long)bad, e);
    verdict(what, bad == 0 && e <= 1e-6, detail);
}

void emu_umap() {
    umap_graph(200, 14, 0);
    umap_graph(200, 14, 7);   // 28 copies of row 0: zero distances
}
