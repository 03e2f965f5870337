/* quality.c - how faithful a projection is to its cloud: kNN preservation and
 * trustworthiness, by brute force over all n points for each of m query points
 * (all points, or a random sample when 0 < sample < n). Distances are Euclidean and
 * accumulated in double, as scikit-learn computes them on float64 input, so ranks
 * agree with sklearn.manifold.trustworthiness on the committed fixtures.
 *
 * Trustworthiness (Venna & Kaski; sklearn's formula):
 *   T(k) = 1 - 2 / (n k (2n - 3k - 1)) * sum_i sum_{j in NN_Y(i,k), r_X(i,j) > k} (r_X(i,j) - k)
 * where r_X(i,j) is j's rank among i's neighbours in X (1 = nearest). On a sample of m
 * points the sum is estimated as (n / m) times the sum over the sample. */
#include <stdlib.h>
#include <string.h>
#include "kernels/project.h"
#include "base/rng.h"
#include "base/util.h"
#include "engine/quality.h"

/* The m query points: all of 0..n-1, or m distinct ones chosen from the seed. */
static int64_t *pick_queries(int64_t n, int64_t sample, uint64_t seed, int64_t *m_out) {
    int64_t m = sample > 0 && sample < n ? sample : n;
    int64_t *all = av_malloc((size_t)n * sizeof *all);
    if (!all) return NULL;
    for (int64_t i = 0; i < n; i++) all[i] = i;
    if (m < n) {
        uint64_t s = seed ^ 0x5157a11e9ull;
        for (int64_t i = 0; i < m; i++) { /* partial Fisher-Yates */
            int64_t j = i + (int64_t)(av_rng_uniform(&s) * (double)(n - i));
            int64_t t = all[i]; all[i] = all[j]; all[j] = t;
        }
    }
    *m_out = m;
    return all;
}

static void sq_dists(const float *X, int64_t n, int d, int64_t i, double *out) {
    const float *xi = X + i * d;
    for (int64_t j = 0; j < n; j++) {
        const float *xj = X + j * d;
        double s = 0;
        for (int c = 0; c < d; c++) {
            double t = (double)xi[c] - xj[c];
            s += t * t;
        }
        out[j] = s;
    }
}

/* Indices of the k smallest of dist (excluding self), ties to the lower index, in
 * ascending order: insertion into a sorted list of k, fine for the small k used here. */
static void k_smallest(const double *dist, int64_t n, int64_t self, int k, int64_t *idx) {
    int have = 0;
    for (int64_t j = 0; j < n; j++) {
        if (j == self) continue;
        double v = dist[j];
        if (have == k && v >= dist[idx[k - 1]]) continue;
        int p = have < k ? have++ : k - 1;
        while (p > 0 && dist[idx[p - 1]] > v) { idx[p] = idx[p - 1]; p--; }
        idx[p] = j;
    }
}

static int check_args(const char *what, int64_t n, int k) {
    if (k < 1 || n < 2 || k > n - 2)
        return av_fail("%s: k = %d needs more than %d points, have %lld", what, k, k + 1, (long long)n);
    return AV_OK;
}

int av_knn_preservation(const float *X, const float *Y, int64_t n, int d, int dim, int k,
                        int64_t sample, uint64_t seed, double *out) {
    if (check_args("kNN preservation", n, k)) return AV_ERR;
    int64_t m;
    int64_t *q = pick_queries(n, sample, seed, &m);
    if (!q) return AV_ERR_NOMEM;
    int failed = 0;
    int64_t kept = 0; /* neighbours kept, counted: an integer sum is the same in any order */
#pragma omp parallel reduction(+ : kept)
    {
        double *dx = malloc((size_t)n * sizeof *dx), *dy = malloc((size_t)n * sizeof *dy);
        int64_t *nx = malloc((size_t)k * sizeof *nx), *ny = malloc((size_t)k * sizeof *ny);
        if (!dx || !dy || !nx || !ny) {
#pragma omp atomic write
            failed = 1;
        } else {
#pragma omp for schedule(dynamic, 16)
            for (int64_t s = 0; s < m; s++) {
                int64_t i = q[s];
                sq_dists(X, n, d, i, dx);
                sq_dists(Y, n, dim, i, dy);
                k_smallest(dx, n, i, k, nx);
                k_smallest(dy, n, i, k, ny);
                int both = 0;
                for (int a = 0; a < k; a++)
                    for (int b = 0; b < k; b++) both += nx[a] == ny[b];
                kept += both;
            }
        }
        free(dx); free(dy); free(nx); free(ny);
    }
    free(q);
    if (failed) return av_fail("kNN preservation: out of memory for %lld-point distance rows", (long long)n);
    *out = (double)kept / k / (double)m;
    return AV_OK;
}

int av_trustworthiness(const float *X, const float *Y, int64_t n, int d, int dim, int k,
                       int64_t sample, uint64_t seed, double *out) {
    if (check_args("trustworthiness", n, k)) return AV_ERR;
    /* sklearn's bound: beyond it the normalisation no longer maps to [0, 1] */
    if (2.0 * k >= (double)n) return av_fail("trustworthiness: k = %d must be below n/2 = %g", k, n / 2.0);
    int64_t m;
    int64_t *q = pick_queries(n, sample, seed, &m);
    if (!q) return AV_ERR_NOMEM;
    int failed = 0;
    int64_t penalty = 0; /* an integer sum: the same in any order */
#pragma omp parallel reduction(+ : penalty)
    {
        double *dx = malloc((size_t)n * sizeof *dx), *dy = malloc((size_t)n * sizeof *dy);
        int64_t *ny = malloc((size_t)k * sizeof *ny);
        if (!dx || !dy || !ny) {
#pragma omp atomic write
            failed = 1;
        } else {
#pragma omp for schedule(dynamic, 16)
            for (int64_t s = 0; s < m; s++) {
                int64_t i = q[s];
                sq_dists(X, n, d, i, dx);
                sq_dists(Y, n, dim, i, dy);
                k_smallest(dy, n, i, k, ny);
                for (int a = 0; a < k; a++) {
                    int64_t j = ny[a];
                    double v = dx[j];
                    int64_t rank = 1; /* ties broken by index, as a stable argsort would */
                    for (int64_t l = 0; l < n; l++)
                        if (l != i && (dx[l] < v || (dx[l] == v && l < j))) rank++;
                    if (rank > k) penalty += rank - k;
                }
            }
        }
        free(dx); free(dy); free(ny);
    }
    free(q);
    if (failed) return av_fail("trustworthiness: out of memory for %lld-point distance rows", (long long)n);
    double nn = (double)n;
    *out = 1.0 - penalty * (nn / (double)m) * 2.0 / (nn * k * (2.0 * nn - 3.0 * k - 1.0));
    return AV_OK;
}
