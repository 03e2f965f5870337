/* test_knn.c - FAISS neighbour search (kernels/knn/knn_cpu.c) against brute force computed by numpy
 * (tests/fixtures/projections/<set>_knn10[cos].npy): exact Euclidean and cosine lists equal
 * the reference in order, the approximate (HNSW) search keeps recall near 1, a point
 * is never its own neighbour even among duplicates, and bad k is refused. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "kernels/knn/knn.h"
#include "kernels/project.h"
#include "tests/check.h"
#include "tests/fixture_util.h"

static double true_dist(const float *X, int d, int64_t i, int64_t j, av_metric metric) {
    double dot = 0, ni = 0, nj = 0, l2 = 0;
    for (int c = 0; c < d; c++) {
        double a = X[i * d + c], b = X[j * d + c];
        dot += a * b; ni += a * a; nj += b * b; l2 += (a - b) * (a - b);
    }
    return metric == AV_METRIC_COSINE ? 1 - dot / sqrt(ni * nj) : l2;
}

static void test_exact(const char *set, av_metric metric) {
    int64_t n, rn; int d, rk;
    float *X = fix_load(set, &n, &d, NULL);
    int64_t *ref;
    char name[64];
    snprintf(name, sizeof name, "%s_knn10%s", set, metric == AV_METRIC_COSINE ? "cos" : "");
    free(fix_load(name, &rn, &rk, &ref));
    CHECK(rn == n && rk == 10);
    av_knn nn;
    CHECK(av_knn_build(X, n, d, 10, metric, AV_KNN_EXACT, 0, &nn) == AV_OK);
    /* Same neighbours at every rank, up to near-ties: FAISS ranks by float distances
     * computed as |x|^2 + |y|^2 - 2 x.y, numpy in double, so two neighbours whose
     * distances agree to ~1e-6 may swap. Compare the true distance at each rank. */
    int64_t same = 0, swapped = 0, sorted = 1;
    double worst = 0;
    for (int64_t i = 0; i < n; i++)
        for (int j = 0; j < 10; j++) {
            int64_t a = nn.idx[i * 10 + j], b = ref[i * 10 + j];
            if (a == b) { same++; continue; }
            swapped++;
            double da = true_dist(X, d, i, a, metric), db = true_dist(X, d, i, b, metric);
            worst = fmax(worst, fabs(da - db) / (db + 1e-6));
        }
    for (int64_t i = 0; i < n; i++)
        for (int j = 1; j < 10; j++) sorted &= nn.dist[i * 10 + j - 1] <= nn.dist[i * 10 + j];
    printf("%s %s: %lld of %lld neighbours identical, swapped near-ties within %.2g (relative)\n", set,
           metric == AV_METRIC_COSINE ? "cosine" : "euclidean", (long long)same, (long long)(n * 10), worst);
    CHECK_MSG(worst < 1e-4, "%s: a neighbour differs from brute force by %g in distance", set, worst);
    CHECK(swapped * 20 < n * 10);
    CHECK(sorted);
    /* distances are what the header promises: squared L2, or 1 - cosine */
    int64_t i = 5, j = nn.idx[5 * 10];
    double dot = 0, ni = 0, nj = 0, l2 = 0;
    for (int c = 0; c < d; c++) {
        double a = X[i * d + c], b = X[j * d + c];
        dot += a * b; ni += a * a; nj += b * b; l2 += (a - b) * (a - b);
    }
    double want = metric == AV_METRIC_COSINE ? 1 - dot / sqrt(ni * nj) : l2;
    CHECK_NEAR(nn.dist[5 * 10], want, 1e-4 * (1 + want));
    av_knn_free(&nn);
    free(X); free(ref);
}

static void test_approx_recall(void) {
    int64_t n, rn; int d, rk;
    float *X = fix_load("qk", &n, &d, NULL);
    int64_t *ref;
    free(fix_load("qk_knn10", &rn, &rk, &ref));
    av_knn nn;
    CHECK(av_knn_build(X, n, d, 10, AV_METRIC_EUCLIDEAN, AV_KNN_APPROX, 0, &nn) == AV_OK);
    int64_t hit = 0;
    for (int64_t i = 0; i < n; i++)
        for (int a = 0; a < 10; a++)
            for (int b = 0; b < 10; b++) hit += nn.idx[i * 10 + a] == ref[i * 10 + b];
    double recall = (double)hit / (double)(n * 10);
    printf("HNSW recall at 10 on the q/k fixture: %.4f\n", recall);
    CHECK(recall > 0.97);
    av_knn_free(&nn);
    free(X); free(ref);
}

static void test_duplicates_and_errors(void) {
    /* 20 copies of one point, 20 of another: each point's 5 neighbours are copies of it,
     * never itself */
    int n = 40, d = 3;
    float X[40 * 3];
    for (int i = 0; i < n; i++)
        for (int c = 0; c < d; c++) X[i * d + c] = i < 20 ? 1.0f : -2.0f + c;
    av_knn nn;
    CHECK(av_knn_build(X, n, d, 5, AV_METRIC_EUCLIDEAN, AV_KNN_EXACT, 0, &nn) == AV_OK);
    int ok = 1;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < 5; j++) {
            int64_t o = nn.idx[i * 5 + j];
            ok &= o != i && (o < 20) == (i < 20) && nn.dist[i * 5 + j] == 0;
        }
    CHECK(ok);
    av_knn_free(&nn);
    CHECK(av_knn_build(X, n, d, 40, AV_METRIC_EUCLIDEAN, AV_KNN_EXACT, 0, &nn) != AV_OK);
    CHECK(strstr(av_last_error(), "k = 40") != NULL);
    CHECK(nn.idx == NULL && nn.dist == NULL);
    CHECK(av_knn_resolve(AV_KNN_AUTO, 100) == AV_KNN_EXACT);
    CHECK(av_knn_resolve(AV_KNN_AUTO, AV_KNN_EXACT_MAX + 1) == AV_KNN_APPROX);
    CHECK(av_knn_resolve(AV_KNN_EXACT, AV_KNN_EXACT_MAX + 1) == AV_KNN_EXACT);
}

int main(void) {
    test_exact("blobs", AV_METRIC_EUCLIDEAN);
    test_exact("qk", AV_METRIC_EUCLIDEAN);
    test_exact("blobs", AV_METRIC_COSINE);
    test_exact("qk", AV_METRIC_COSINE);
    test_approx_recall();
    test_duplicates_and_errors();
    return av_check_summary("test_knn");
}
