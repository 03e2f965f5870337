/* test_tsne_fft.c - the FFT-interpolation repulsion of 2-D t-SNE (kernels/tsne/tsne_fft.c):
 *  - forces and Z against the exact O(n^2) sums, on clouds spanning 1e-4 units (early
 *    iterations), ~30 units (the usual end state: the minimum 50 boxes) and ~300 units
 *    (more boxes than the minimum), with a measured error bound;
 *  - the degenerate cloud (all points equal) and a non-finite coordinate;
 *  - the box count rule (>= 50, >= the extent, 7-smooth, capped);
 *  - whole runs on the projection fixtures: the FFT method's KL and kNN preservation
 *    stay within tolerance of Barnes-Hut's on the same data and seed, the FFT method is
 *    refused in 3-D, and the embedding does not depend on the thread count. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include "kernels/project.h"
#include "kernels/tsne/tsne.h"
#include "kernels/tsne/tsne_fft.h"
#include "base/util.h"
#include "tests/check.h"
#include "tests/fixture_util.h"
#include "engine/quality.h"

static double unif(uint64_t *s) {
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(*s >> 11) / 9007199254740992.0;
}

/* n points in `clusters` Gaussian clusters spread over about `span` units, like an
 * embedding: dense clusters with gaps, plus a duplicate pair. */
static double *cloud(int n, int clusters, double span, uint64_t seed) {
    double *Y = malloc((size_t)n * 2 * sizeof *Y);
    double cx[16], cy[16];
    for (int c = 0; c < clusters; c++) { cx[c] = (unif(&seed) - 0.5) * span; cy[c] = (unif(&seed) - 0.5) * span; }
    for (int i = 0; i < n; i++) {
        int c = i % clusters;
        double r = sqrt(-2 * log(unif(&seed) + 1e-300)), t = 2 * M_PI * unif(&seed);
        double sd = span / 12;
        Y[i * 2] = cx[c] + sd * r * cos(t);
        Y[i * 2 + 1] = cy[c] + sd * r * sin(t);
    }
    Y[2] = Y[0]; Y[3] = Y[1];
    return Y;
}

/* Relative error of the FFT forces (norm over all points) and of Z against brute force. */
static void force_error(const double *Y, int n, double *ferr, double *zerr) {
    double *neg = malloc((size_t)n * 2 * sizeof *neg), Z = 0, Zex = 0, num = 0, den = 0;
    av_tsne_fft w = {0};
    CHECK(av_tsne_fft_repulsion(&w, Y, n, neg, &Z) == AV_OK);
    for (int i = 0; i < n; i++) {
        double f[2] = {0, 0};
        for (int j = 0; j < n; j++) {
            if (j == i) continue;
            double dx = Y[i * 2] - Y[j * 2], dy = Y[i * 2 + 1] - Y[j * 2 + 1];
            double q = 1 / (1 + dx * dx + dy * dy);
            Zex += q;
            f[0] += q * q * dx;
            f[1] += q * q * dy;
        }
        for (int a = 0; a < 2; a++) {
            num += (neg[i * 2 + a] - f[a]) * (neg[i * 2 + a] - f[a]);
            den += f[a] * f[a];
        }
    }
    *ferr = sqrt(num / den);
    *zerr = fabs(Z - Zex) / Zex;
    av_tsne_fft_free(&w);
    free(neg);
}

static void test_forces_vs_exact(void) {
    /* measured (3 interpolation nodes, boxes about one unit wide as openTSNE): force
     * error 2e-15 at span 1e-4 (the kernel is flat across a box), 9.6e-3 at span 30,
     * 4.5e-2 at span 300; Z error 1e-11, 4.5e-4, 3.4e-2. The error comes from pairs
     * closer than a box, where a quadratic cannot follow 1 / (1 + d^2)^2: it grows
     * where points are sparse at the unit scale (3000 points over 300 units, the last
     * case) and is small in dense clouds. The bounds leave about 2x room. */
    static const struct { double span; double fbound, zbound; } cases[] = {
        {1e-4, 1e-9, 1e-9}, {30, 2e-2, 1e-3}, {300, 8e-2, 6e-2}};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        int n = 3000;
        double *Y = cloud(n, 7, cases[c].span, 11 + c), fe, ze;
        force_error(Y, n, &fe, &ze);
        printf("span %g: force rel. error %.3g, Z rel. error %.3g\n", cases[c].span, fe, ze);
        CHECK_MSG(fe < cases[c].fbound, "span %g: force error %g", cases[c].span, fe);
        CHECK_MSG(ze < cases[c].zbound, "span %g: Z error %g", cases[c].span, ze);
        free(Y);
    }
}

/* The same workspace serves clouds of different sizes and extents (grids re-made). */
static void test_workspace_reuse(void) {
    av_tsne_fft w = {0};
    double *a = cloud(500, 3, 5, 1), *b = cloud(2000, 5, 400, 2), nega[1000], *negb = malloc(4000 * sizeof *negb);
    double Za, Za2, Zb;
    CHECK(av_tsne_fft_repulsion(&w, a, 500, nega, &Za) == AV_OK);
    int boxes_a = w.boxes;
    CHECK(av_tsne_fft_repulsion(&w, b, 2000, negb, &Zb) == AV_OK);
    CHECK(w.boxes >= 400 && w.boxes != boxes_a);
    CHECK(av_tsne_fft_repulsion(&w, a, 500, nega, &Za2) == AV_OK);
    CHECK(Za == Za2);
    av_tsne_fft_free(&w);
    free(a); free(b); free(negb);
}

static void test_degenerate(void) {
    int n = 50;
    double Y[100], neg[100], Z;
    for (int i = 0; i < 2 * n; i++) Y[i] = 3.5;
    av_tsne_fft w = {0};
    CHECK(av_tsne_fft_repulsion(&w, Y, n, neg, &Z) == AV_OK);
    CHECK_NEAR(Z, (double)n * (n - 1), 1e-6 * n * n);
    double worst = 0;
    for (int i = 0; i < 2 * n; i++) worst = fmax(worst, fabs(neg[i]));
    CHECK(worst < 1e-9);
    Y[17] = NAN;
    CHECK(av_tsne_fft_repulsion(&w, Y, n, neg, &Z) == AV_ERR);
    CHECK(strstr(av_last_error(), "non-finite") != NULL);
    av_tsne_fft_free(&w);
}

static void test_boxes(void) {
    CHECK(av_tsne_fft_boxes(0) == AV_TSNE_FFT_MIN_BOXES);
    CHECK(av_tsne_fft_boxes(3.2) == AV_TSNE_FFT_MIN_BOXES);
    int b = av_tsne_fft_boxes(121.7); /* 121 = 11^2 is not 7-smooth: next is 125 */
    CHECK(b == 125);
    CHECK(av_tsne_fft_boxes(143) == 144);
    CHECK(av_tsne_fft_boxes(399.5) == AV_TSNE_FFT_MAX_BOXES);
    CHECK(av_tsne_fft_boxes(1e300) == AV_TSNE_FFT_MAX_BOXES);
    CHECK(av_tsne_fft_boxes(NAN) == AV_TSNE_FFT_MAX_BOXES);
}

static double run(const float *X, int64_t n, int d, av_tsne_method m, uint64_t seed, float *Y) {
    av_tsne_params p;
    av_tsne_defaults(&p);
    p.method = m;
    p.seed = seed;
    p.knn_method = AV_KNN_EXACT;
    /* 250 exaggerated + 250 normal iterations: the grid (at least 150 x 150 nodes) costs
     * the FFT method ~5 ms per iteration whatever n, which dominates at these sizes */
    p.iters = 500;
    double kl = NAN;
    CHECK(av_tsne(X, n, d, &p, Y, &kl) == AV_OK);
    return kl;
}

static void test_runs_match_bh(const char *set) {
    int64_t n; int d;
    float *X = fix_load(set, &n, &d, NULL);
    float *Yb = malloc((size_t)n * 2 * sizeof *Yb), *Yf = malloc((size_t)n * 2 * sizeof *Yf);
    double klb = run(X, n, d, AV_TSNE_BH, 3, Yb), klf = run(X, n, d, AV_TSNE_FFT, 3, Yf);
    double pb, pf;
    CHECK(av_knn_preservation(X, Yb, n, d, 2, 10, 0, 1, &pb) == AV_OK);
    CHECK(av_knn_preservation(X, Yf, n, d, 2, 10, 0, 1, &pf) == AV_OK);
    printf("%s: KL BH %.4f FFT %.4f; kNN pres. BH %.4f FFT %.4f\n", set, klb, klf, pb, pf);
    CHECK_MSG(fabs(klf - klb) < 0.03 * klb, "%s: KL %g vs BH %g", set, klf, klb);
    CHECK_MSG(pf > pb - 0.02, "%s: kNN preservation %g vs BH %g", set, pf, pb);
    free(X); free(Yb); free(Yf);
}

static void test_threads_and_dims(void) {
    int64_t n; int d;
    float *X = fix_load("qk", &n, &d, NULL);
    float *Y1 = malloc((size_t)n * 3 * sizeof *Y1), *Y2 = malloc((size_t)n * 3 * sizeof *Y2);
    /* the parallel loops only switch on from 2048 points: tile the cloud past that */
    int64_t m = 3 * n;
    float *X3 = malloc((size_t)m * d * sizeof *X3);
    for (int r = 0; r < 3; r++)
        for (int64_t a = 0; a < n * d; a++) X3[r * n * d + a] = X[a] + 1e-3f * (float)r;
    float *Z1 = malloc((size_t)m * 2 * sizeof *Z1), *Z2 = malloc((size_t)m * 2 * sizeof *Z2);
    av_tsne_params p;
    av_tsne_defaults(&p);
    p.method = AV_TSNE_FFT;
    p.iters = 120; /* both phases (exaggerated and not), short: the 1-thread run is slow */
    p.early_iters = 60;
    p.knn_method = AV_KNN_EXACT;
    int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    CHECK(av_tsne(X3, m, d, &p, Z1, NULL) == AV_OK);
    omp_set_num_threads(threads > 1 ? threads : 2);
    CHECK(av_tsne(X3, m, d, &p, Z2, NULL) == AV_OK);
    omp_set_num_threads(threads);
    CHECK(memcmp(Z1, Z2, (size_t)m * 2 * sizeof *Z1) == 0);
    p.dim = 3;
    CHECK(av_tsne(X, n, d, &p, Y1, NULL) == AV_ERR);
    CHECK(strstr(av_last_error(), "2-D") != NULL);
    /* auto: Barnes-Hut below the threshold, so auto and bh agree exactly */
    p.dim = 2;
    p.method = AV_TSNE_AUTO;
    CHECK(av_tsne(X, n, d, &p, Y1, NULL) == AV_OK);
    p.method = AV_TSNE_BH;
    CHECK(av_tsne(X, n, d, &p, Y2, NULL) == AV_OK);
    CHECK(memcmp(Y1, Y2, (size_t)n * 2 * sizeof *Y1) == 0);
    CHECK(!av_tsne_uses_fft(AV_TSNE_FFT_AUTO_N - 1, 2, AV_TSNE_AUTO));
    CHECK(av_tsne_uses_fft(AV_TSNE_FFT_AUTO_N, 2, AV_TSNE_AUTO));
    CHECK(!av_tsne_uses_fft(AV_TSNE_FFT_AUTO_N, 3, AV_TSNE_AUTO));
    CHECK(!av_tsne_uses_fft(AV_TSNE_FFT_AUTO_N, 2, AV_TSNE_BH));
    free(X); free(X3); free(Y1); free(Y2); free(Z1); free(Z2);
}

int main(void) {
    test_forces_vs_exact();
    test_workspace_reuse();
    test_degenerate();
    test_boxes();
    test_runs_match_bh("blobs");
    test_runs_match_bh("qk");
    test_threads_and_dims();
    return av_check_summary("test_tsne_fft");
}
