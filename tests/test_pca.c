/* test_pca.c - exact PCA (kernels/pca/pca_cpu.c) against scikit-learn's PCA transform (fixtures
 * *_pca{2,3}.npy), sign included (both flip each component so its largest entry is
 * positive), plus the normalisations of engine/normalize.c: key translation moves the key
 * centroid onto the query centroid, scaling balances the mean norms, and neither
 * changes any query's attention distribution. */
#include <math.h>
#include <stdlib.h>
#include "kernels/project.h"
#include "tests/check.h"
#include "tests/fixture_util.h"
#include "engine/normalize.h"

static void test_pca_matches_sklearn(const char *set, int dim) {
    int64_t n, rn; int d, rd;
    float *X = fix_load(set, &n, &d, NULL);
    char name[64];
    snprintf(name, sizeof name, "%s_pca%d", set, dim);
    float *ref = fix_load(name, &rn, &rd, NULL);
    float *Y = malloc((size_t)n * dim * sizeof *Y), *comp = malloc((size_t)dim * d * sizeof *comp);
    CHECK(av_pca(X, n, d, dim, Y, comp) == AV_OK);
    double err = 0, norm = 0;
    for (int64_t i = 0; i < n * dim; i++) {
        err += (Y[i] - ref[i]) * (double)(Y[i] - ref[i]);
        norm += (double)ref[i] * ref[i];
    }
    CHECK_MSG(sqrt(err / norm) < 1e-5, "%s PCA-%d relative error %g against sklearn", set, dim, sqrt(err / norm));
    for (int c = 0; c < dim; c++) { /* orthonormal components */
        double s = 0;
        for (int j = 0; j < d; j++) s += (double)comp[c * d + j] * comp[c * d + j];
        CHECK_NEAR(s, 1.0, 1e-5);
    }
    free(X); free(ref); free(Y); free(comp);
}

static void test_pca_errors(void) {
    float X[6] = {1, 2, 3, 4, 5, 6}, Y[6];
    CHECK(av_pca(X, 1, 3, 2, Y, NULL) != AV_OK);
    CHECK(av_pca(X, 2, 3, 4, Y, NULL) != AV_OK);
}

/* Per-query softmax over all keys, for comparing attention before/after. */
static void attention(const float *X, int T, int d, double *A) {
    for (int i = 0; i < T; i++) {
        double mx = -INFINITY;
        for (int j = 0; j < T; j++) {
            double s = 0;
            for (int c = 0; c < d; c++) s += (double)X[i * d + c] * X[(T + j) * d + c];
            A[i * T + j] = s;
            mx = fmax(mx, s);
        }
        double z = 0;
        for (int j = 0; j < T; j++) z += (A[i * T + j] = exp(A[i * T + j] - mx));
        for (int j = 0; j < T; j++) A[i * T + j] /= z;
    }
}

static double mean_norm(const float *X, int rows, int d) {
    double s = 0;
    for (int i = 0; i < rows; i++) {
        double r = 0;
        for (int c = 0; c < d; c++) r += (double)X[i * d + c] * X[i * d + c];
        s += sqrt(r);
    }
    return s / rows;
}

static void test_normalize(int translate, int scale) {
    int T = 60, d = 6;
    float *X = malloc((size_t)2 * T * d * sizeof *X);
    for (int i = 0; i < 2 * T; i++)
        for (int c = 0; c < d; c++) /* keys: 4x larger and offset, as in real heads */
            X[i * d + c] = (float)(sin(i * 1.7 + c * 0.9) + (i >= T ? 3 * cos(i * 0.3 + c) + 5 : 0));
    double *A0 = malloc((size_t)T * T * sizeof *A0), *A1 = malloc((size_t)T * T * sizeof *A1);
    attention(X, T, d, A0);
    double mq0 = mean_norm(X, T, d), mk0 = mean_norm(X + T * d, T, d);
    float c = 0;
    av_normalize_qk(X, T, d, translate, scale, &c);
    attention(X, T, d, A1);
    double worst = 0;
    for (int i = 0; i < T * T; i++) worst = fmax(worst, fabs(A0[i] - A1[i]));
    CHECK_MSG(worst < 1e-5, "attention changed by %g (translate %d, scale %d)", worst, translate, scale);
    if (scale) {
        CHECK_NEAR(c, sqrt(mk0 / mq0), 1e-5);
        if (!translate) CHECK_NEAR(mean_norm(X, T, d), mean_norm(X + T * d, T, d), 1e-4);
    } else {
        CHECK(c == 1.0f);
    }
    if (translate)
        for (int col = 0; col < d; col++) {
            double mq = 0, mk = 0;
            for (int i = 0; i < T; i++) { mq += X[i * d + col]; mk += X[(T + i) * d + col]; }
            CHECK_NEAR(mq / T, mk / T, 1e-5);
        }
    free(X); free(A0); free(A1);
}

int main(void) {
    test_pca_matches_sklearn("blobs", 2);
    test_pca_matches_sklearn("blobs", 3);
    test_pca_matches_sklearn("qk", 2);
    test_pca_matches_sklearn("qk", 3);
    test_pca_errors();
    test_normalize(1, 0);
    test_normalize(0, 1);
    test_normalize(1, 1);
    test_normalize(0, 0);
    return av_check_summary("test_pca");
}
