// pca_emu.cpp - pca.cu's kernels under the CPU emulation (kernels/emu): the column sums
// over row chunks, a centred block and the projection, in double (the syrk and the
// eigensolve are cuBLAS / cuSOLVER, not emulated). Group "pca".
#define AV_CUDA_EMU 1
#include "kernels/pca/pca.cu"
#include "kernels/emu/emu_check.h"

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static double uniform() { return emu_uniform(rng); }
static double normal() { return emu_normal(rng); }

// ---- PCA kernels -----------------------------------------------------------------------
static void pca_kernels(int n, int d, int i0, int rows, int dim, int nproj) {
    std::vector<float> X((size_t)n * d), Y((size_t)nproj * dim, NAN);
    for (int i = 0; i < n; i++)
        for (int c = 0; c < d; c++) X[(size_t)i * d + c] = (float)(normal() + c);
    std::vector<double> sum(d, 0), B((size_t)rows * d, NAN), W((size_t)dim * d);
    for (auto &w : W) w = normal();
    const int64_t chunk = 16384, chunks = (n + chunk - 1) / chunk;
    emu_launch(dim3(d, (unsigned)chunks), dim3(256), 0, [&] { column_sum_kernel(sum.data(), X.data(), n, d, chunk); });
    emu_launch(dim3((unsigned)(((int64_t)rows * d + 63) / 64)), dim3(64), 0, [&] {
        center_block_kernel(B.data(), X.data(), sum.data(), i0, rows, d, 1.0 / n);
    });
    emu_launch(dim3((nproj + 31) / 32), dim3(32), 0, [&] { project_kernel(Y.data(), X.data(), sum.data(), W.data(), nproj, d, dim, 1.0 / n); });
    std::vector<double> wsum(d, 0), wB((size_t)rows * d), wY((size_t)nproj * dim, 0);
    for (int i = 0; i < n; i++)
        for (int c = 0; c < d; c++) wsum[c] += X[(size_t)i * d + c];
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < d; c++) wB[(size_t)r * d + c] = X[(size_t)(i0 + r) * d + c] - wsum[c] / n;
    for (int i = 0; i < nproj; i++)
        for (int a = 0; a < dim; a++)
            for (int c = 0; c < d; c++) wY[(size_t)i * dim + a] += (X[(size_t)i * d + c] - wsum[c] / n) * W[(size_t)a * d + c];
    std::vector<double> gY(Y.begin(), Y.end());
    double es = rel_l2(sum, wsum), eb = rel_l2(B, wB), ey = rel_l2(gY, wY);
    char what[96], detail[96];
    snprintf(what, sizeof what, "pca kernels n %d d %d, block at %d", n, d, i0);
    snprintf(detail, sizeof detail, "sums rel %.1e, block rel %.1e, Y rel %.1e", es, eb, ey);
    verdict(what, es <= 1e-12 && eb <= 1e-12 && ey <= 1e-6, detail);
}

void emu_pca() {
    pca_kernels(20000, 5, 15000, 300, 2, 500);   // two row chunks of the column sums
}
