/* test_quality.c - kNN preservation and trustworthiness (engine/quality.c) against the
 * values numpy and sklearn.manifold.trustworthiness computed for openTSNE's embeddings
 * of the fixtures (reference.json), on all points and on a sample; edge cases. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "kernels/project.h"
#include "tests/check.h"
#include "tests/fixture_util.h"
#include "engine/quality.h"

static void test_against_sklearn(const char *set, int dim) {
    int64_t n, yn; int d, yd;
    float *X = fix_load(set, &n, &d, NULL);
    char name[64], key[16];
    snprintf(name, sizeof name, "%s_otsne%d", set, dim);
    snprintf(key, sizeof key, "otsne%d", dim);
    float *Y = fix_load(name, &yn, &yd, NULL);
    double pres, t5, t10, ts;
    CHECK(av_knn_preservation(X, Y, n, d, dim, 10, 0, 0, &pres) == AV_OK);
    CHECK(av_trustworthiness(X, Y, n, d, dim, 5, 0, 0, &t5) == AV_OK);
    CHECK(av_trustworthiness(X, Y, n, d, dim, 10, 0, 0, &t10) == AV_OK);
    CHECK_NEAR(pres, fix_ref(set, key, "knn_preservation10"), 1e-9);
    CHECK_NEAR(t5, fix_ref(set, key, "trustworthiness5"), 1e-9);
    CHECK_NEAR(t10, fix_ref(set, key, "trustworthiness10"), 1e-9);
    /* a half sample estimates the same quantities */
    CHECK(av_trustworthiness(X, Y, n, d, dim, 5, n / 2, 3, &ts) == AV_OK);
    CHECK_NEAR(ts, t5, 0.01);
    CHECK(av_knn_preservation(X, Y, n, d, dim, 10, n / 2, 3, &ts) == AV_OK);
    CHECK_NEAR(ts, pres, 0.03);
    free(X); free(Y);
}

static void test_edges(void) {
    /* a projection that keeps every distance (Y = first two coords of 2-D data) is
     * perfect on both measures; a reversal of the ranks is not */
    int n = 50;
    float X[100], Y[100];
    for (int i = 0; i < n; i++) {
        X[2 * i] = (float)(i * i % 37) + 0.01f * i;
        X[2 * i + 1] = (float)(i % 7);
        Y[2 * i] = X[2 * i] * 3;
        Y[2 * i + 1] = X[2 * i + 1] * 3;
    }
    double v;
    CHECK(av_knn_preservation(X, Y, n, 2, 2, 10, 0, 0, &v) == AV_OK);
    CHECK_NEAR(v, 1.0, 1e-12);
    CHECK(av_trustworthiness(X, Y, n, 2, 2, 5, 0, 0, &v) == AV_OK);
    CHECK_NEAR(v, 1.0, 1e-12);
    for (int i = 0; i < n; i++) { Y[2 * i] = (float)((i * 17) % n); Y[2 * i + 1] = 0; }
    CHECK(av_trustworthiness(X, Y, n, 2, 2, 5, 0, 0, &v) == AV_OK);
    CHECK(v < 0.9);
    CHECK(av_trustworthiness(X, Y, n, 2, 2, 30, 0, 0, &v) != AV_OK);
    CHECK(av_knn_preservation(X, Y, 5, 2, 2, 10, 0, 0, &v) != AV_OK);
    CHECK(strstr(av_last_error(), "k = 10") != NULL);
}

int main(void) {
    test_against_sklearn("blobs", 2);
    test_against_sklearn("qk", 3);
    test_edges();
    return av_check_summary("test_quality");
}
