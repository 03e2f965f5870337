/* test_tsne.c - Barnes-Hut t-SNE against openTSNE (fixtures from
 * tests/fixtures/projections/make_fixtures.py) and its own invariants:
 *  - our affinities P equal openTSNE's, Euclidean and cosine: the exact KL of openTSNE's
 *    embedding, evaluated under our P, matches the KL openTSNE's own P gives it;
 *    (the whole optimisation against openTSNE is slow_tsne_reference.c);
 *  - the tree's repulsion at theta 0 equals the brute-force sum;
 *  - a seed gives the same embedding, another seed another; bad input is refused;
 *    duplicates and tiny clouds (perplexity clamp) work. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "kernels/project.h"
#include "kernels/tsne/tsne.h"
#include "kernels/tsne/tsne_tree.h"
#include "tests/check.h"
#include "tests/fixture_util.h"

static void test_affinities_match_opentsne(const char *set, av_metric metric) {
    int64_t n, n2; int d, dim;
    float *X = fix_load(set, &n, &d, NULL);
    char name[64];
    snprintf(name, sizeof name, "%s_otsne2", set);
    float *Y = fix_load(name, &n2, &dim, NULL);
    av_tsne_P P;
    CHECK(av_tsne_affinities(X, n, d, 30, metric, AV_KNN_EXACT, 1, &P) == AV_OK);
    double sum = 0;
    for (int64_t e = 0; e < P.rowptr[n]; e++) sum += P.val[e];
    CHECK_NEAR(sum, 1.0, 1e-9);
    double kl;
    CHECK(av_tsne_kl(&P, Y, n, dim, 1, &kl) == AV_OK);
    CHECK_NEAR(kl, fix_ref(set, "otsne2", metric == AV_METRIC_COSINE ? "kl_exact_under_cosine_P" : "kl_exact"), 1e-4);
    av_tsne_P_free(&P);
    free(X); free(Y);
}

static void test_tree_exact_at_theta0(int dim) {
    int n = 300;
    double *Y = malloc((size_t)n * dim * sizeof *Y);
    uint64_t s = 99;
    for (int i = 0; i < n * dim; i++) { s = s * 6364136223846793005ull + 1442695040888963407ull; Y[i] = (double)(s >> 40) / (1 << 20) - 8; }
    for (int a = 0; a < dim; a++) Y[7 * dim + a] = Y[3 * dim + a]; /* one duplicate pair */
    av_tree t = {0};
    CHECK(av_tree_build(&t, Y, n, dim) == AV_OK);
    CHECK(t.nodes[0].count == n);
    /* the traversal order lists every point once, the duplicate pair included */
    int64_t *order = malloc((size_t)n * sizeof *order);
    int *seen = calloc((size_t)n, sizeof *seen);
    av_tree_order(&t, order);
    int once = 1;
    for (int i = 0; i < n; i++) seen[order[i]]++;
    for (int i = 0; i < n; i++) once &= seen[i] == 1;
    CHECK(once);
    free(order);
    free(seen);
    double worst = 0, worst_q = 0, mean_half = 0;
    for (int i = 0; i < n; i++) {
        double neg[3] = {0, 0, 0}, ref[3] = {0, 0, 0}, refq = 0, negh[3] = {0, 0, 0};
        double q = av_tree_repulsion(&t, Y + i * dim, 0.0, neg);
        double qh = av_tree_repulsion(&t, Y + i * dim, 0.5, negh);
        for (int j = 0; j < n; j++) {
            if (j == i) continue;
            double diff[3], d2 = 0;
            for (int a = 0; a < dim; a++) { diff[a] = Y[i * dim + a] - Y[j * dim + a]; d2 += diff[a] * diff[a]; }
            double w = 1 / (1 + d2);
            refq += w;
            for (int a = 0; a < dim; a++) ref[a] += w * w * diff[a];
        }
        double err = 0, norm = 0;
        for (int a = 0; a < dim; a++) {
            worst = fmax(worst, fabs(neg[a] - ref[a]));
            err += (negh[a] - ref[a]) * (negh[a] - ref[a]);
            norm += ref[a] * ref[a];
        }
        mean_half += sqrt(err / norm) / n;
        worst_q = fmax(worst_q, fmax(fabs(q - refq) / refq, 0.2 * fabs(qh - refq) / refq));
    }
    CHECK_MSG(worst < 1e-9, "dim %d: theta 0 repulsion off by %g", dim, worst);
    CHECK_MSG(worst_q < 1e-2, "dim %d: sum q off by %g (relative)", dim, worst_q);
    /* BH at theta 0.5: a few per cent of the force on average, not exact */
    CHECK_MSG(mean_half < 0.05 && mean_half > 0, "dim %d: theta 0.5 repulsion off by %g (mean relative)", dim, mean_half);
    av_tree_free(&t);
    free(Y);
}

static void test_seed_and_errors(void) {
    int64_t n; int d;
    float *X = fix_load("blobs", &n, &d, NULL);
    av_tsne_params p;
    av_tsne_defaults(&p);
    p.iters = 300;
    float *A = malloc((size_t)n * 2 * sizeof *A), *B = malloc((size_t)n * 2 * sizeof *B);
    CHECK(av_tsne(X, n, d, &p, A, NULL) == AV_OK);
    CHECK(av_tsne(X, n, d, &p, B, NULL) == AV_OK);
    CHECK(memcmp(A, B, (size_t)n * 2 * sizeof *A) == 0);
    p.seed = 7;
    CHECK(av_tsne(X, n, d, &p, B, NULL) == AV_OK);
    CHECK(memcmp(A, B, (size_t)n * 2 * sizeof *A) != 0);
    /* fewer than 4 points */
    CHECK(av_tsne(X, 3, d, &p, A, NULL) != AV_OK);
    CHECK(strstr(av_last_error(), "at least 4") != NULL);
    p.dim = 4;
    CHECK(av_tsne(X, n, d, &p, A, NULL) != AV_OK);
    /* 12 points: perplexity 30 is clamped to 11/3, the run still works */
    av_tsne_defaults(&p);
    CHECK_NEAR(av_tsne_effective_perplexity(12, 30), 11.0 / 3, 1e-12);
    CHECK(av_tsne_effective_perplexity(1000, 30) == 30);
    double kl = -1;
    CHECK(av_tsne(X, 12, d, &p, A, &kl) == AV_OK);
    CHECK(kl >= 0 && isfinite(kl));
    free(A); free(B); free(X);
}

/* Half the cloud is one repeated vector (like the first token of every sentence). */
static void test_duplicates(void) {
    int n = 400, d = 8;
    float *X = malloc((size_t)n * d * sizeof *X), *Y = malloc((size_t)n * 3 * sizeof *Y);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < d; j++) X[i * d + j] = i < n / 2 ? 1.0f : (float)sin(i * 0.37 + j * 1.3) * 3;
    av_tsne_params p;
    av_tsne_defaults(&p);
    p.dim = 3;
    p.iters = 400;
    double kl = -1;
    CHECK(av_tsne(X, n, d, &p, Y, &kl) == AV_OK);
    int finite = 1;
    for (int i = 0; i < n * 3; i++) finite &= isfinite(Y[i]);
    CHECK(finite);
    CHECK(isfinite(kl) && kl >= 0);
    free(X); free(Y);
}

int main(void) {
    test_tree_exact_at_theta0(2);
    test_tree_exact_at_theta0(3);
    test_affinities_match_opentsne("blobs", AV_METRIC_EUCLIDEAN);
    test_affinities_match_opentsne("qk", AV_METRIC_EUCLIDEAN);
    test_affinities_match_opentsne("blobs", AV_METRIC_COSINE);
    test_affinities_match_opentsne("qk", AV_METRIC_COSINE);
    test_seed_and_errors();
    test_duplicates();
    return av_check_summary("test_tsne");
}
