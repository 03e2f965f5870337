/* gpu_pca.c - PCA on the GPU (av_pca_cuda: cuBLAS dsyrk + cuSOLVER dsyevd) against the
 * CPU's (av_pca: OpenBLAS dsyrk + LAPACK dsyevr) and scikit-learn's (committed fixture
 * projections): components and projections equal up to sign, and with the shared
 * sign convention equal outright; a cloud whose mean is far from the origin (the
 * centring must happen in double); bad input refused. SKIPs without a device. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "kernels/project.h"
#include "base/util.h"
#include "tests/fixture_util.h"
#include "tests/gpu_skip.h"

#ifdef AV_HAVE_CUDA
/* max |a - s b| / max |b| per column, s = +1 (signed) or the better sign (up to sign) */
static double col_err(const float *a, const float *b, int64_t n, int dim, int c, int any_sign) {
    double best = INFINITY;
    for (int s = 1; s >= (any_sign ? -1 : 1); s -= 2) {
        double e = 0, m = 0;
        for (int64_t i = 0; i < n; i++) {
            e = fmax(e, fabs(a[i * dim + c] - s * b[i * dim + c]));
            m = fmax(m, fabs(b[i * dim + c]));
        }
        best = fmin(best, m > 0 ? e / m : e);
    }
    return best;
}

static void compare(const char *what, const float *X, int64_t n, int d, int dim, const float *sk) {
    float *yc = malloc((size_t)n * dim * sizeof *yc), *yg = malloc((size_t)n * dim * sizeof *yg);
    float *cc = malloc((size_t)dim * d * sizeof *cc), *cg = malloc((size_t)dim * d * sizeof *cg);
    CHECK(av_pca(X, n, d, dim, yc, cc) == AV_OK);
    int rc = av_pca_cuda(X, n, d, dim, yg, cg);
    CHECK_MSG(rc == AV_OK, "%s: %s", what, av_last_error());
    if (rc == AV_OK) {
        for (int c = 0; c < dim; c++) {
            double ey = col_err(yg, yc, n, dim, c, 0), eys = col_err(yg, yc, n, dim, c, 1);
            double ec = col_err(cg + c * d, cc + c * d, d, 1, 0, 0);
            printf("  %-14s component %d: |Y - Y_cpu| %.1e (up to sign %.1e), |W - W_cpu| %.1e", what, c, ey, eys, ec);
            CHECK_MSG(eys <= 1e-4, "%s component %d: %.2e from the CPU's up to sign", what, c, eys);
            CHECK_MSG(ey <= 1e-4, "%s component %d: sign differs from the CPU's", what, c);
            CHECK_MSG(ec <= 1e-4, "%s component %d: direction %.2e from the CPU's", what, c, ec);
            if (sk) {
                double es = col_err(yg, sk, n, dim, c, 1);
                printf(", scikit-learn %.1e", es);
                CHECK_MSG(es <= 1e-3, "%s component %d: %.2e from scikit-learn's", what, c, es);
            }
            printf("\n");
        }
    }
    free(yc); free(yg); free(cc); free(cg);
}
#endif

int main(void) {
    AV_GPU_TEST_OPEN();
#ifdef AV_HAVE_CUDA
    const char *sets[] = {"blobs", "qk"};
    for (int s = 0; s < 2; s++) {
        int64_t n, n2; int d, dim;
        float *X = fix_load(sets[s], &n, &d, NULL);
        for (int k = 2; k <= 3; k++) {
            char name[64], what[64];
            snprintf(name, sizeof name, "%s_pca%d", sets[s], k);
            float *sk = fix_load(name, &n2, &dim, NULL);
            snprintf(what, sizeof what, "%s %d-D", sets[s], k);
            compare(what, X, n, d, k, sk);
            free(sk);
        }
        free(X);
    }
    {   /* 100k rows (two dsyrk blocks) around a mean of 1000 */
        int64_t n = 100000; int d = 12;
        float *X = malloc((size_t)n * d * sizeof *X);
        uint64_t r = 7;
        for (int64_t i = 0; i < n; i++)
            for (int j = 0; j < d; j++) {
                r ^= r << 13; r ^= r >> 7; r ^= r << 17;
                X[i * d + j] = 1000.0f + (float)(j + 1) * ((float)((r >> 40) * (1.0 / 16777216.0)) - 0.5f);
            }
        compare("offset 100k", X, n, d, 3, NULL);
        free(X);
    }
    {
        float X[4 * 3] = {0}, Y[4 * 3];
        CHECK(av_pca_cuda(X, 4, 3, 4, Y, NULL) == AV_ERR);
        CHECK(strstr(av_last_error(), "4 components") != NULL);
        CHECK(av_pca_cuda(X, 1, 3, 2, Y, NULL) == AV_ERR);
    }
#endif
    return av_check_summary("gpu_pca");
}
