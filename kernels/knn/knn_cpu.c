/* knn.c - k nearest neighbours of every point of a cloud through FAISS's C API.
 *
 * exact : IndexFlatL2 (Euclidean) or IndexFlatIP on unit vectors (cosine).
 * approx: HNSW (32 links per node) on the same vectors; for cosine the vectors are
 *         normalised first, and then |a-b|^2 = 2 - 2 cos(a,b) ranks like the cosine.
 * auto  : exact up to AV_KNN_EXACT_MAX points, approx above (bench/RESULTS-tsne-parts.md has
 *         the measurement behind the threshold).
 * Every point is its own nearest neighbour (or ties with duplicates of itself), so we
 * ask for more than k and drop the point itself wherever it appears in its list.
 * Returned distances are recomputed in double from the vectors (see av_knn_build).
 * The same lists on any thread count (kernels/backend/determinism.h): queries are
 * searched in fixed blocks with a single-threaded BLAS, and HNSW is built on one thread. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <faiss/c_api/AutoTune_c.h>
#include <faiss/c_api/IndexFlat_c.h>
#include <faiss/c_api/Index_c.h>
#include <faiss/c_api/error_c.h>
#include <faiss/c_api/index_factory_c.h>
#include "kernels/backend/determinism.h"
#include "kernels/knn/knn.h"
#include "kernels/project.h"
#include "base/util.h"

/* Queries per search call: many blocks for the threads, each still one efficient sgemm
 * per block of the index. */
#define KNN_QUERY_BLOCK 1024

void av_knn_free(av_knn *knn) {
    if (!knn) return;
    free(knn->idx);
    free(knn->dist);
    knn->idx = NULL;
    knn->dist = NULL;
}

/* Unit-length copy of X (zero rows stay zero: cosine distance 1 to everything). */
static float *unit_rows(const float *X, int64_t n, int d) {
    float *U = av_malloc((size_t)n * (size_t)d * sizeof *U);
    if (!U) return NULL;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) {
        double s = 0;
        for (int j = 0; j < d; j++) s += (double)X[i * d + j] * X[i * d + j];
        double inv = s > 0 ? 1.0 / sqrt(s) : 0;
        for (int j = 0; j < d; j++) U[i * d + j] = (float)(X[i * d + j] * inv);
    }
    return U;
}

typedef struct { int64_t idx; double dist; } cand;
static int cmp_cand(const void *a, const void *b) {
    const cand *x = a, *y = b;
    if (x->dist != y->dist) return x->dist < y->dist ? -1 : 1;
    return (x->idx > y->idx) - (x->idx < y->idx);
}

/* Squared Euclidean distance, or 1 - cosine on the unit rows (= half the squared
 * distance between them), in double. */
static double exact_dist(const float *data, int d, int64_t i, int64_t j, av_metric metric) {
    const float *a = data + i * d, *b = data + j * d;
    double s = 0;
    for (int c = 0; c < d; c++) {
        double t = (double)a[c] - b[c];
        s += t * t;
    }
    return metric == AV_METRIC_COSINE ? 0.5 * s : s;
}

static int faiss_fail(const char *what) {
    const char *e = faiss_get_last_error();
    return av_fail("FAISS %s failed: %s", what, e && *e ? e : "unknown error");
}

av_knn_method av_knn_resolve(av_knn_method m, int64_t n) {
    if (m != AV_KNN_AUTO) return m;
    return n <= AV_KNN_EXACT_MAX ? AV_KNN_EXACT : AV_KNN_APPROX;
}

int av_knn_build(const float *X, int64_t n, int d, int k, av_metric metric,
                 av_knn_method method, uint64_t seed, av_knn *out) {
    (void)seed; /* FAISS's HNSW draws its levels from its own fixed seed: results repeat */
    memset(out, 0, sizeof *out);
    if (n < 2) return av_fail("kNN: need at least 2 points, got %lld", (long long)n);
    if (k < 1 || k > n - 1) return av_fail("kNN: k = %d outside 1..%lld (n = %lld points)", k, (long long)(n - 1), (long long)n);
    method = av_knn_resolve(method, n);
    av_blas_single_thread();
    /* the search's own ranking, from float distances expanded as |x|^2 + |y|^2 - 2 x.y,
     * is coarse for near-duplicates (q/k clouds are full of them): fetch a few extra
     * candidates and rank them again by distances computed directly in double */
    int kk = (int)(k + 1 + AV_KNN_RERANK_EXTRA < n ? k + 1 + AV_KNN_RERANK_EXTRA : n);
    const float *data = X;
    float *unit = NULL;
    if (metric == AV_METRIC_COSINE) {
        if (!(unit = unit_rows(X, n, d))) return AV_ERR_NOMEM;
        data = unit;
    }
    int64_t *I = av_malloc((size_t)n * kk * sizeof *I);
    float *D = av_malloc((size_t)n * kk * sizeof *D);
    out->idx = av_malloc((size_t)n * k * sizeof *out->idx);
    out->dist = av_malloc((size_t)n * k * sizeof *out->dist);
    FaissIndex *index = NULL;
    FaissParameterSpace *ps = NULL;
    int rc = AV_ERR;
    if (!I || !D || !out->idx || !out->dist) { rc = AV_ERR_NOMEM; goto done; }
    if (method == AV_KNN_EXACT) {
        if (metric == AV_METRIC_COSINE) {
            if (faiss_IndexFlatIP_new_with((FaissIndexFlatIP **)&index, d)) { rc = faiss_fail("IndexFlatIP"); goto done; }
        } else if (faiss_IndexFlatL2_new_with((FaissIndexFlatL2 **)&index, d)) {
            rc = faiss_fail("IndexFlatL2");
            goto done;
        }
    } else {
        if (faiss_index_factory(&index, d, "HNSW32", METRIC_L2)) { rc = faiss_fail("index_factory(HNSW32)"); goto done; }
        if (faiss_ParameterSpace_new(&ps) ||
            faiss_ParameterSpace_set_index_parameter(ps, index, "efSearch", (double)AV_KNN_EF_SEARCH(k))) {
            rc = faiss_fail("HNSW efSearch");
            goto done;
        }
    }
    /* HNSW inserts points in parallel with a race for each node's links: another graph
     * (and other neighbours) at every run. Built on one thread, the graph repeats. */
    int threads = omp_get_max_threads();
    if (method == AV_KNN_APPROX) omp_set_num_threads(1);
    int add_failed = faiss_Index_add(index, n, data);
    omp_set_num_threads(threads);
    if (add_failed) { rc = faiss_fail("add"); goto done; }
    /* The queries in blocks of a fixed size, a block to a thread, each searched with a
     * single-threaded BLAS (kernels/backend/determinism.h): a query's distances then
     * come from the same sgemm calls whatever the thread count. */
    int64_t nb = (n + KNN_QUERY_BLOCK - 1) / KNN_QUERY_BLOCK;
    char search_err[512] = "";
#pragma omp parallel for schedule(dynamic, 1) if (nb > 1)
    for (int64_t b = 0; b < nb; b++) {
        int64_t q0 = b * KNN_QUERY_BLOCK, rows = n - q0 < KNN_QUERY_BLOCK ? n - q0 : KNN_QUERY_BLOCK;
        if (faiss_Index_search(index, rows, data + q0 * d, kk, D + q0 * kk, I + q0 * kk)) {
            const char *e = faiss_get_last_error(); /* the error is kept per thread */
#pragma omp critical(av_knn_search_error)
            if (!search_err[0]) snprintf(search_err, sizeof search_err, "%s", e && *e ? e : "unknown error");
        }
    }
    if (search_err[0]) { rc = av_fail("FAISS search failed: %s", search_err); goto done; }
    int64_t missing = 0;
    int nomem = 0;
#pragma omp parallel reduction(+ : missing)
    {
        cand *c = malloc((size_t)kk * sizeof *c);
        if (!c) {
#pragma omp atomic write
            nomem = 1;
        }
#pragma omp for schedule(static)
        for (int64_t i = 0; i < n; i++) {
            if (!c) continue;
            const int64_t *ri = I + i * kk;
            int m = 0;
            for (int j = 0; j < kk; j++) {
                if (ri[j] == i) continue;
                if (ri[j] < 0) continue; /* HNSW may return fewer than asked */
                c[m].idx = ri[j];
                c[m].dist = exact_dist(data, d, i, ri[j], metric);
                m++;
            }
            qsort(c, (size_t)m, sizeof *c, cmp_cand);
            int o = 0;
            for (; o < k && o < m; o++) {
                out->idx[i * k + o] = c[o].idx;
                out->dist[i * k + o] = (float)c[o].dist;
            }
            for (; o < k; o++) { out->idx[i * k + o] = -1; out->dist[i * k + o] = INFINITY; missing++; }
        }
        free(c);
    }
    if (nomem) {
        rc = av_fail("kNN: out of memory re-ranking %d candidates", kk);
        goto done;
    }
    if (missing) {
        rc = av_fail("kNN: the approximate index found fewer than %d neighbours for some points "
                     "(%lld missing); use --knn exact", k, (long long)missing);
        goto done;
    }
    out->n = n;
    out->k = k;
    rc = AV_OK;
done:
    if (ps) faiss_ParameterSpace_free(ps);
    if (index) faiss_Index_free(index);
    free(I);
    free(D);
    free(unit);
    if (rc != AV_OK) av_knn_free(out);
    return rc;
}
