/* umap_graph.c - UMAP's fuzzy simplicial set from a kNN graph (see umap.h). Follows
 * umap-learn's smooth_knn_dist and compute_membership_strengths line for line in
 * meaning, so the test can compare membership strengths with umap-learn's to 1e-4. */
#include "kernels/umap/umap.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "base/util.h"

#define SMOOTH_K_TOLERANCE 1e-5   /* umap-learn's constants */
#define MIN_K_DIST_SCALE 1e-3
#define SIGMA_ITERS 64

void av_umap_graph_free(av_umap_graph *g) {
    free(g->rowptr);
    free(g->col);
    free(g->val);
    memset(g, 0, sizeof *g);
}

/* rho: distance to the nearest neighbour (local connectivity 1), so every point is
 * connected to at least one other with strength 1. sigma: the bandwidth at which the
 * memberships sum to log2(k_total+1), found by bisection. `d` holds the k found neighbour
 * distances (k <= k_total); the self distance 0 that umap-learn carries in column 0 is
 * implicit. */
static void smooth_knn(const float *d, int k, int k_total, double local_connectivity, double mean_all,
                       double *rho_out, double *sigma_out) {
    double target = log2((double)(k_total + 1));
    double rho = 0.0, sum = 0.0;
    int nonzero = 0;
    for (int j = 0; j < k; j++) {
        sum += d[j];
        if (d[j] > 0.0) nonzero++;
    }
    if (nonzero >= local_connectivity) {
        int index = (int)floor(local_connectivity);
        double interp = local_connectivity - index;
        /* non-zero distances in order: d is sorted, so skip the zeros */
        int first = 0;
        while (first < k && !(d[first] > 0.0)) first++;
        if (index > 0) {
            rho = d[first + index - 1];
            if (interp > SMOOTH_K_TOLERANCE && first + index < k)
                rho += interp * (d[first + index] - d[first + index - 1]);
        } else {
            rho = interp * d[first];
        }
    } else if (nonzero > 0) {
        for (int j = 0; j < k; j++) if (d[j] > rho) rho = d[j];
    }
    double lo = 0.0, hi = INFINITY, mid = 1.0;
    for (int it = 0; it < SIGMA_ITERS; it++) {
        double psum = 0.0;
        for (int j = 0; j < k; j++) {
            double x = d[j] - rho;
            psum += x > 0 ? exp(-(x / mid)) : 1.0;
        }
        if (fabs(psum - target) < SMOOTH_K_TOLERANCE) break;
        if (psum > target) {
            hi = mid;
            mid = (lo + hi) / 2.0;
        } else {
            lo = mid;
            mid = isinf(hi) ? mid * 2 : (lo + hi) / 2.0;
        }
    }
    /* umap-learn's mean includes the zero self distance: k+1 entries */
    double mean_i = sum / (k + 1);
    double floor_sigma = MIN_K_DIST_SCALE * (rho > 0.0 ? mean_i : mean_all);
    if (mid < floor_sigma) mid = floor_sigma;
    *rho_out = rho;
    *sigma_out = mid;
}

typedef struct { int64_t col; float val; } entry;

static int cmp_entry(const void *a, const void *b) {
    int64_t x = ((const entry *)a)->col, y = ((const entry *)b)->col;
    return (x > y) - (x < y);
}

int av_umap_fuzzy_graph(const int64_t *idx, const float *dist, int64_t n, int k,
                        double local_connectivity, av_umap_graph *g, float *rho_out,
                        float *sigma_out) {
    memset(g, 0, sizeof *g);
    if (n < 2 || k < 1) return av_fail("umap: need at least 2 points and 1 neighbour (got %lld, %d)", (long long)n, k);
    /* A search may return fewer than k neighbours (idx -1, at the end of a row): those
     * entries take no part in rho, sigma or the means. */
    double mean_all = 0.0;
    int64_t valid = 0;
    for (int64_t i = 0; i < n * k; i++)
        if (idx[i] >= 0) { mean_all += dist[i]; valid++; }
    mean_all /= (double)(valid + n);

    /* directed memberships P[i, idx[i, j]] */
    float *p = av_malloc((size_t)(n * k) * sizeof(float));
    int64_t *count = av_calloc((size_t)n + 1, sizeof(int64_t));
    if (!p || !count) { free(p); free(count); return AV_ERR_NOMEM; }
    int bad = 0;
    #pragma omp parallel for schedule(static) reduction(|:bad)
    for (int64_t i = 0; i < n; i++) {
        double rho, sigma;
        int kk = 0;
        while (kk < k && idx[i * k + kk] >= 0) kk++;
        smooth_knn(dist + i * k, kk, k, local_connectivity, mean_all, &rho, &sigma);
        if (rho_out) rho_out[i] = (float)rho;
        if (sigma_out) sigma_out[i] = (float)sigma;
        for (int j = 0; j < k; j++) {
            int64_t c = idx[i * k + j];
            double x = dist[i * k + j] - rho, v;
            if (c < 0 || c == i) v = 0.0;
            else if (x <= 0.0 || sigma == 0.0) v = 1.0;
            else v = exp(-(x / sigma));
            if (c >= n) bad = 1;
            p[i * k + j] = (float)v;
        }
    }
    if (bad) { free(p); free(count); return av_fail("umap: neighbour index out of range [0, %lld)", (long long)n); }

    /* Both directions of every directed edge, bucketed by row: an entry (i, j, p_ij)
     * and its mirror (j, i, p_ij). Then, per row, equal columns are merged with the
     * fuzzy union a + b - ab; a lone entry is the union with 0. */
    for (int64_t i = 0; i < n; i++)
        for (int j = 0; j < k; j++) {
            int64_t c = idx[i * k + j];
            if (c < 0 || p[i * k + j] == 0.0f) continue;
            count[i + 1]++;
            count[c + 1]++;
        }
    for (int64_t i = 0; i < n; i++) count[i + 1] += count[i];
    int64_t total = count[n];
    entry *e = av_malloc((size_t)(total ? total : 1) * sizeof(entry));
    int64_t *fill = av_malloc((size_t)n * sizeof(int64_t));
    if (!e || !fill) { free(p); free(count); free(e); free(fill); return AV_ERR_NOMEM; }
    memcpy(fill, count, (size_t)n * sizeof(int64_t));
    for (int64_t i = 0; i < n; i++)
        for (int j = 0; j < k; j++) {
            int64_t c = idx[i * k + j];
            float v = p[i * k + j];
            if (c < 0 || v == 0.0f) continue;
            e[fill[i]++] = (entry){c, v};
            e[fill[c]++] = (entry){i, v};
        }
    free(p);
    free(fill);

    g->n = n;
    g->rowptr = av_malloc((size_t)(n + 1) * sizeof(int64_t));
    g->col = av_malloc((size_t)(total ? total : 1) * sizeof(int64_t));
    g->val = av_malloc((size_t)(total ? total : 1) * sizeof(float));
    if (!g->rowptr || !g->col || !g->val) { free(e); free(count); av_umap_graph_free(g); return AV_ERR_NOMEM; }
    int64_t nnz = 0;
    for (int64_t i = 0; i < n; i++) {
        g->rowptr[i] = nnz;
        entry *row = e + count[i];
        int64_t m = count[i + 1] - count[i];
        qsort(row, (size_t)m, sizeof(entry), cmp_entry);
        for (int64_t a = 0; a < m;) {
            double v = row[a].val;
            int64_t b = a + 1;
            if (b < m && row[b].col == row[a].col) {   /* both P_ij and P_ji present */
                v = v + row[b].val - v * row[b].val;
                b++;
            }
            if (v > 0.0) {
                g->col[nnz] = row[a].col;
                g->val[nnz] = (float)v;
                nnz++;
            }
            a = b;
        }
    }
    g->rowptr[n] = nnz;
    g->nnz = nnz;
    free(e);
    free(count);
    return AV_OK;
}
