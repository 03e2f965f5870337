/* gpu_knn.c - exact kNN on the GPU (av_knn_cuda) against the CPU's exact search
 * (av_knn_build, FAISS IndexFlat + double re-ranking) on the committed fixtures (a blob
 * set and a real MiniLM q/k cloud), Euclidean and cosine, k = 10, 90 and 256, a cloud
 * full of duplicates, and a cloud big enough to take several query tiles: the same
 * distances in the same order, and a different index only where distances tie (the
 * GPU's neighbour lies at the CPU's distance; with 50 copies of a point, which 30 of
 * them are listed is the search's choice), k distinct points, never the point itself. Also bad k refused with a message. SKIPs without a device. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "kernels/project.h"
#include "base/util.h"
#include "tests/fixture_util.h"
#include "tests/gpu_skip.h"

#ifdef AV_HAVE_CUDA
/* squared Euclidean distance, or 1 - cosine as kernels/knn/knn_cpu.c computes it (half the
 * squared distance of the unit rows; a zero row stays zero), in double */
static double true_dist(const float *X, int d, int64_t i, int64_t j, av_metric metric) {
    double ni = 0, nj = 0, s = 0;
    for (int c = 0; c < d; c++) { ni += (double)X[i * d + c] * X[i * d + c]; nj += (double)X[j * d + c] * X[j * d + c]; }
    double si = metric == AV_METRIC_COSINE ? (ni > 0 ? 1 / sqrt(ni) : 0) : 1;
    double sj = metric == AV_METRIC_COSINE ? (nj > 0 ? 1 / sqrt(nj) : 0) : 1;
    for (int c = 0; c < d; c++) {
        double t = (double)(float)(X[i * d + c] * si) - (double)(float)(X[j * d + c] * sj);
        s += t * t;
    }
    return metric == AV_METRIC_COSINE ? 0.5 * s : s;
}

static void compare(const char *what, const float *X, int64_t n, int d, int k, av_metric metric) {
    av_knn cpu, gpu;
    CHECK(av_knn_build(X, n, d, k, metric, AV_KNN_EXACT, 1, &cpu) == AV_OK);
    int rc = av_knn_cuda(X, n, d, k, metric, AV_KNN_EXACT, 1, &gpu);
    CHECK_MSG(rc == AV_OK, "%s: %s", what, av_last_error());
    if (rc != AV_OK) { av_knn_free(&cpu); return; }
    int64_t differ = 0, far = 0, bad_rows = 0;
    for (int64_t a = 0; a < n * k; a++) {
        double dc = cpu.dist[a], dg = gpu.dist[a];
        if (fabs(dc - dg) > 1e-6 * (1 + fabs(dc))) far++;
        if (cpu.idx[a] != gpu.idx[a]) {
            /* only a tie may swap neighbours: the GPU's one lies at the CPU's distance */
            differ++;
            int64_t i = a / k, j = gpu.idx[a];
            double t = j >= 0 && j < n && j != i ? true_dist(X, d, i, j, metric) : INFINITY;
            CHECK_MSG(fabs(t - dc) <= 1e-6 * (1 + fabs(dc)), "%s: point %lld neighbour %lld: GPU %lld at %.8g, CPU %lld at %.8g",
                      what, (long long)i, (long long)(a % k), (long long)j, t, (long long)cpu.idx[a], dc);
        }
        if (a % k == k - 1) {   /* a row lists k different points, never the point itself */
            int64_t i = a / k;
            for (int x = 0; x < k; x++) {
                if (gpu.idx[i * k + x] == i) bad_rows++;
                for (int y = x + 1; y < k; y++) if (gpu.idx[i * k + x] == gpu.idx[i * k + y]) bad_rows++;
            }
        }
    }
    CHECK_MSG(bad_rows == 0, "%s: %lld rows list a point twice or the point itself", what, (long long)bad_rows);
    printf("  %-28s n %6lld k %3d: %lld of %lld indices differ (ties), %lld distances off\n", what, (long long)n, k,
           (long long)differ, (long long)(n * k), (long long)far);
    CHECK_MSG(far == 0, "%s: %lld distances differ from the CPU's", what, (long long)far);
    av_knn_free(&cpu);
    av_knn_free(&gpu);
}

static uint64_t rng = 12345;
static float frand(void) {
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (float)((rng >> 40) * (1.0 / 16777216.0)) - 0.5f;
}
#endif

int main(void) {
    AV_GPU_TEST_OPEN();
#ifdef AV_HAVE_CUDA
    const char *sets[] = {"blobs", "qk"};
    for (int s = 0; s < 2; s++) {
        int64_t n; int d;
        float *X = fix_load(sets[s], &n, &d, NULL);
        int ks[] = {10, 90, 256};
        for (int t = 0; t < 3; t++) {
            char what[64];
            snprintf(what, sizeof what, "%s euclidean", sets[s]);
            compare(what, X, n, d, ks[t], AV_METRIC_EUCLIDEAN);
            snprintf(what, sizeof what, "%s cosine", sets[s]);
            compare(what, X, n, d, ks[t], AV_METRIC_COSINE);
        }
        free(X);
    }
    /* duplicates: 40 distinct rows repeated 50 times, one zero row among them (cosine 1) */
    {
        int64_t n = 2000; int d = 16;
        float *X = malloc((size_t)n * d * sizeof *X);
        for (int64_t i = 0; i < 40 * d; i++) X[i] = frand();
        memset(X, 0, (size_t)d * sizeof *X);
        for (int64_t i = 40; i < n; i++) memcpy(X + i * d, X + (i % 40) * d, (size_t)d * sizeof *X);
        compare("duplicates euclidean", X, n, d, 30, AV_METRIC_EUCLIDEAN);
        compare("duplicates cosine", X, n, d, 30, AV_METRIC_COSINE);
        free(X);
    }
    /* more points than one distance tile (1 GiB / 4 n bytes of rows) holds */
    {
        int64_t n = 40000; int d = 24;
        float *X = malloc((size_t)n * d * sizeof *X);
        for (int64_t i = 0; i < n * d; i++) X[i] = frand();
        compare("uniform 40k euclidean", X, n, d, 15, AV_METRIC_EUCLIDEAN);
        free(X);
    }
    {
        float X[8 * 2] = {0};
        av_knn out;
        CHECK(av_knn_cuda(X, 8, 2, 0, AV_METRIC_EUCLIDEAN, AV_KNN_EXACT, 1, &out) == AV_ERR);
        CHECK(strstr(av_last_error(), "k = 0") != NULL);
        CHECK(av_knn_cuda(X, 8, 2, 8, AV_METRIC_EUCLIDEAN, AV_KNN_EXACT, 1, &out) == AV_ERR);
        CHECK(out.idx == NULL && out.dist == NULL);
    }
#endif
    return av_check_summary("gpu_knn");
}
