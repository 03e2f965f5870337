// knn_emu.cpp - knn.cu's kernels under the CPU emulation (kernels/emu): select_kernel
// (shared candidate buffer, atomics, bitonic compaction, tau) and rerank_kernel on exact
// duplicates (ties), both metrics and rows whose distances overflow float, against the
// exact order in double; the cuBLAS dot products are the same products in double,
// rounded to float. Group "knn".
#define AV_CUDA_EMU 1
#include "kernels/knn/knn.cu"

#include <algorithm>
#include "kernels/emu/emu_check.h"

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static double uniform() { return emu_uniform(rng); }
static double normal() { return emu_normal(rng); }

// ---- kNN -----------------------------------------------------------------------------
// Rows q0 .. q0 + rows of an n-point cloud: select + rerank against the exact (distance,
// index) order in double. dup_every > 0 makes every dup_every-th row a copy of row 0, so
// more points than K sit at distance 0 from row 0 (ties broken by index).
static void knn(int n, int d, int k, int q0, int rows, int dup_every, bool cosine) {
    std::vector<float> X((size_t)n * d), data((size_t)n * d), sq(n);
    for (auto &x : X) x = (float)normal();
    if (dup_every > 0)
        for (int i = dup_every; i < n; i += dup_every) std::copy(X.begin(), X.begin() + d, X.begin() + (size_t)i * d);
    if (cosine)
        emu_launch(dim3((n + 63) / 64), dim3(64), 0, [&] { unit_rows_kernel(data.data(), X.data(), n, d); });
    else
        data = X;
    emu_launch(dim3((n + 63) / 64), dim3(64), 0, [&] { sqnorm_kernel(sq.data(), data.data(), n, d); });
    const int K = std::min(k + 1 + AV_KNN_RERANK_EXTRA, n);
    std::vector<float> dots((size_t)rows * n);
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < n; j++) {
            double s = 0;
            for (int c = 0; c < d; c++) s += (double)data[(size_t)j * d + c] * data[(size_t)(q0 + r) * d + c];
            dots[(size_t)r * n + j] = (float)s;
        }
    std::vector<int> cand((size_t)rows * K, -7);
    std::vector<int64_t> idx((size_t)n * k, -7);
    std::vector<float> dist((size_t)n * k, NAN);
    emu_launch(dim3(rows), dim3(SEL_BLOCK), 0, [&] { select_kernel(dots.data(), n, sq.data(), q0, K, cand.data()); });
    emu_launch(dim3((rows + 31) / 32), dim3(32), 0, [&] {
        rerank_kernel(data.data(), d, cand.data(), K, q0, rows, k, cosine, idx.data(), dist.data());
    });
    int64_t wrong_idx = 0;
    double worst = 0;
    std::vector<std::pair<double, int>> all(n);
    for (int r = 0; r < rows; r++) {
        const int q = q0 + r;
        int m = 0;
        for (int j = 0; j < n; j++) {
            if (j == q) continue;
            double s = 0;
            for (int c = 0; c < d; c++) {
                double u = (double)data[(size_t)q * d + c] - data[(size_t)j * d + c];
                s += u * u;
            }
            all[m++] = {cosine ? 0.5 * s : s, j};
        }
        std::partial_sort(all.begin(), all.begin() + k, all.begin() + m);
        for (int t = 0; t < k; t++) {
            wrong_idx += idx[(size_t)q * k + t] != all[t].second;
            worst = std::max(worst, std::fabs(dist[(size_t)q * k + t] - all[t].first) / (1e-12 + all[t].first));
        }
    }
    char what[96], detail[96];
    snprintf(what, sizeof what, "knn n %d d %d k %d rows %d%s%s", n, d, k, rows, dup_every ? " dups" : "",
             cosine ? " cosine" : "");
    snprintf(detail, sizeof detail, "%lld wrong, dist rel %.1e", (long long)wrong_idx, worst);
    verdict(what, wrong_idx == 0 && worst <= 1e-6, detail);
}

// Rows whose squared norms overflow float (|x| ~ 1e20): their distances are inf in the
// float selection. A normal row then has fewer finite candidates than K; every one of its
// k neighbours must still be a real point, once, and the finite ones (the other normal
// rows) first and in the exact order. Which overflowed rows fill the list the float
// selection cannot rank (they tie at FLT_MAX, lowest index first).
static void knn_overflow() {
    const int n = 60, d = 4, k = 40, K = k + 1 + AV_KNN_RERANK_EXTRA;
    std::vector<float> X((size_t)n * d), sq(n);
    for (int i = 0; i < n; i++)
        for (int c = 0; c < d; c++) X[(size_t)i * d + c] = (float)(normal() * (i % 2 ? 1e20 : 1.0));
    emu_launch(dim3(1), dim3(64), 0, [&] { sqnorm_kernel(sq.data(), X.data(), n, d); });
    std::vector<float> dots((size_t)n * n);
    for (int r = 0; r < n; r++)
        for (int j = 0; j < n; j++) {
            double s = 0;
            for (int c = 0; c < d; c++) s += (double)X[(size_t)j * d + c] * X[(size_t)r * d + c];
            dots[(size_t)r * n + j] = (float)s;
        }
    std::vector<int> cand((size_t)n * K, -7);
    std::vector<int64_t> idx((size_t)n * k, -7);
    std::vector<float> dist((size_t)n * k, NAN);
    const int rows = 6;   // even rows are the normal ones
    emu_launch(dim3(rows), dim3(SEL_BLOCK), 0, [&] { select_kernel(dots.data(), n, sq.data(), 0, K, cand.data()); });
    emu_launch(dim3(1), dim3(32), 0, [&] { rerank_kernel(X.data(), d, cand.data(), K, 0, rows, k, 0, idx.data(), dist.data()); });
    int64_t missing = 0, wrong = 0;
    std::vector<std::pair<double, int>> all;
    for (int q = 0; q < rows; q += 2) {
        all.clear();
        for (int j = 0; j < n; j++) {
            if (j == q) continue;
            double s = 0;
            for (int c = 0; c < d; c++) { double u = (double)X[(size_t)q * d + c] - X[(size_t)j * d + c]; s += u * u; }
            all.push_back({s, j});
        }
        std::sort(all.begin(), all.end());
        std::vector<int> seen(n, 0);
        for (int t = 0; t < k; t++) {
            int64_t j = idx[(size_t)q * k + t];
            missing += j < 0 || j >= n || j == q || seen[j]++;
            if (t < n / 2 - 1) wrong += j != all[t].second;   // the other normal rows
        }
    }
    char detail[96];
    snprintf(detail, sizeof detail, "%lld missing, %lld wrong", (long long)missing, (long long)wrong);
    verdict("knn n 60 k 40, half the rows ~1e20 (inf in float)", missing == 0 && wrong == 0, detail);
}

void emu_knn() {
    knn(2600, 8, 20, 1000, 4, 0, false);     // compactions while the columns stream in
    knn(2600, 8, 20, 0, 3, 9, false);        // 289 copies of row 0: more ties at 0 than K
    knn(400, 12, 30, 396, 4, 0, true);       // cosine, the last rows of the cloud
    knn(40, 4, 39, 0, 3, 0, false);          // k = n - 1: K clipped to n
    knn_overflow();
}
