/* gpu_knn.c - exact kNN on the GPU (av_knn_cuda) against the CPU's exact search
 * (av_knn_build, FAISS IndexFlat + double re-ranking) on the committed fixtures (a blob
 * set and a real MiniLM q/k cloud), Euclidean and cosine, k = 10, 90 and 256, a cloud
 * full of duplicates, and a cloud big enough to take several query tiles: the same
 * neighbours in the same order (a different index only where two distances tie) and
 * the same distances. Also bad k refused with a message. SKIPs without a device. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "host/project.h"
#include "host/util.h"
#include "tests/fixture_util.h"
#include "tests/gpu_skip.h"

#ifdef AV_HAVE_CUDA
static void compare(const char *what, const float *X, int64_t n, int d, int k, av_metric metric) {
    av_knn cpu, gpu;
    CHECK(av_knn_build(X, n, d, k, metric, AV_KNN_EXACT, 1, &cpu) == AV_OK);
    int rc = av_knn_cuda(X, n, d, k, metric, AV_KNN_EXACT, 1, &gpu);
    CHECK_MSG(rc == AV_OK, "%s: %s", what, av_last_error());
    if (rc != AV_OK) { av_knn_free(&cpu); return; }
    int64_t differ = 0, far = 0;
    for (int64_t a = 0; a < n * k; a++) {
        double dc = cpu.dist[a], dg = gpu.dist[a];
        if (fabs(dc - dg) > 1e-6 * (1 + fabs(dc))) far++;
        if (cpu.idx[a] != gpu.idx[a]) {
            /* only a tie may swap two neighbours: the other list holds this one at the same distance */
            differ++;
            int64_t i = a / k, found = 0;
            for (int j = 0; j < k; j++)
                if (cpu.idx[i * k + j] == gpu.idx[a] && fabs(cpu.dist[i * k + j] - dg) <= 1e-6 * (1 + fabs(dg))) found = 1;
            CHECK_MSG(found, "%s: point %lld neighbour %lld: GPU %lld, CPU %lld", what, (long long)i,
                      (long long)(a % k), (long long)gpu.idx[a], (long long)cpu.idx[a]);
        }
    }
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
