/* test_umap.c - UMAP against umap-learn 0.5 on the fixtures of tests/fixtures/umap/
 * (make_umap_fixtures.py): a and b of find_ab_params, rho/sigma and the symmetrised
 * membership strengths of fuzzy_simplicial_set given the same kNN, and the
 * trustworthiness (k = 15) of whole layouts of a blob set and a real q/k cloud compared
 * with umap-learn's. The kNN graph here is exact brute force (umap-learn's is exact
 * below 4096 points too), so the test does not depend on the FAISS path. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include "base/npy.h"
#include "engine/runfolder.h"
#include "kernels/umap/umap.h"
#include "tests/check.h"

#define FIX AV_SOURCE_DIR "/tests/fixtures/umap/"

static float *load_f32(const char *name, int64_t *rows, int64_t *cols) {
    av_npy a;
    if (av_npy_open(name, &a) != AV_OK) { fprintf(stderr, "%s\n", av_last_error()); return NULL; }
    *rows = a.shape[0];
    *cols = a.ndim > 1 ? a.shape[1] : 1;
    float *out = malloc((size_t)a.count * sizeof(float));
    for (int64_t i = 0; i < a.count; i++) out[i] = av_npy_get_f32(&a, i);
    av_npy_close(&a);
    return out;
}

static double sqdist(const float *a, const float *b, int d) {
    double s = 0.0;
    for (int j = 0; j < d; j++) { double t = (double)a[j] - b[j]; s += t * t; }
    return s;
}

/* Exact k nearest others of every row (distances, not squared), nearest first. */
static void brute_knn(const float *X, int64_t n, int d, int k, av_knn *out) {
    out->n = n; out->k = k;
    out->idx = malloc((size_t)(n * k) * sizeof(int64_t));
    out->dist = malloc((size_t)(n * k) * sizeof(float));
    #pragma omp parallel for schedule(dynamic, 16)
    for (int64_t i = 0; i < n; i++) {
        double bd[64]; int64_t bi[64]; int m = 0;
        for (int64_t j = 0; j < n; j++) {
            if (j == i) continue;
            double s = sqdist(X + i * d, X + j * d, d);
            if (m == k && s >= bd[k - 1]) continue;
            int p = m < k ? m++ : k - 1;
            while (p > 0 && bd[p - 1] > s) { bd[p] = bd[p - 1]; bi[p] = bi[p - 1]; p--; }
            bd[p] = s; bi[p] = j;
        }
        for (int j = 0; j < k; j++) { out->idx[i * k + j] = bi[j]; out->dist[i * k + j] = (float)sqrt(bd[j]); }
    }
}

static double trust(const float *X, const float *Y, int64_t n, int d, int dim, int k);

/* The whole path of av_umap: kNN graph by FAISS (av_knn_build), then the layout. */
static void test_av_umap(const char *name, double ref_trust) {
    char path[512];
    int64_t n, d;
    snprintf(path, sizeof path, FIX "%s_X.npy", name);
    float *X = load_f32(path, &n, &d);
    if (!X) { CHECK(0); return; }
    av_umap_params p;
    av_umap_defaults(&p);
    float *Y = malloc((size_t)(n * 2) * sizeof(float));
    CHECK_MSG(av_umap(X, n, (int)d, &p, Y) == AV_OK, "%s", av_last_error());
    double t = trust(X, Y, n, (int)d, 2, 15);
    printf("av_umap (FAISS kNN) on %s: trustworthiness %.4f (umap-learn %.4f)\n", name, t, ref_trust);
    CHECK_MSG(fabs(t - ref_trust) <= 0.015, "%s: trustworthiness %.4f, umap-learn %.4f", name, t, ref_trust);
    /* refusals: too few points, non-finite input */
    CHECK(av_umap(X, 3, (int)d, &p, Y) == AV_ERR && strstr(av_last_error(), "4 points"));
    X[5 * d + 1] = NAN;
    CHECK(av_umap(X, n, (int)d, &p, Y) == AV_ERR && strstr(av_last_error(), "row 5"));
    free(X);
    free(Y);
}

/* scikit-learn's trustworthiness: 1 - 2/(nk(2n-3k-1)) sum over each point's k nearest
 * in Y that are not among its k nearest in X of (rank in X - k). */
static double trust(const float *X, const float *Y, int64_t n, int d, int dim, int k) {
    double t = 0.0;
    #pragma omp parallel for schedule(dynamic, 16) reduction(+:t)
    for (int64_t i = 0; i < n; i++) {
        double bd[64]; int64_t bi[64]; int m = 0;
        for (int64_t j = 0; j < n; j++) {
            if (j == i) continue;
            double s = sqdist(Y + i * dim, Y + j * dim, dim);
            if (m == k && s >= bd[k - 1]) continue;
            int p = m < k ? m++ : k - 1;
            while (p > 0 && bd[p - 1] > s) { bd[p] = bd[p - 1]; bi[p] = bi[p - 1]; p--; }
            bd[p] = s; bi[p] = j;
        }
        for (int q = 0; q < k; q++) {
            double s = sqdist(X + i * d, X + bi[q] * d, d);
            int64_t rank = 1;
            for (int64_t l = 0; l < n; l++)
                if (l != i && sqdist(X + i * d, X + l * d, d) < s) rank++;
            if (rank > k) t += (double)(rank - k);
        }
    }
    return 1.0 - t * (2.0 / ((double)n * k * (2.0 * n - 3.0 * k - 1.0)));
}

static void test_ab(const cJSON *exp) {
    const cJSON *ab = cJSON_GetObjectItem(exp, "ab"), *e;
    CHECK(cJSON_GetArraySize(ab) == 3);
    cJSON_ArrayForEach(e, ab) {
        double a, b, spread = cJSON_GetObjectItem(e, "spread")->valuedouble;
        double md = cJSON_GetObjectItem(e, "min_dist")->valuedouble;
        CHECK(av_umap_find_ab(spread, md, &a, &b) == AV_OK);
        double ra = cJSON_GetObjectItem(e, "a")->valuedouble, rb = cJSON_GetObjectItem(e, "b")->valuedouble;
        CHECK_NEAR(a, ra, 1e-4);
        CHECK_NEAR(b, rb, 1e-4);
        printf("find_ab(spread %g, min_dist %g): a %.6f b %.6f (umap-learn %.6f %.6f)\n", spread, md, a, b, ra, rb);
    }
    double a, b;
    CHECK(av_umap_find_ab(1.0, 2.0, &a, &b) == AV_ERR);   /* min_dist > spread */
}

static void test_graph(void) {
    int64_t n, k1, dd, nn, c3;
    float *kd = load_f32(FIX "small_knn_dist.npy", &n, &k1);
    float *ki = load_f32(FIX "small_knn_idx.npy", &n, &k1);
    float *rho_ref = load_f32(FIX "small_rho.npy", &n, &dd);
    float *sig_ref = load_f32(FIX "small_sigma.npy", &n, &dd);
    float *gref = load_f32(FIX "small_graph.npy", &nn, &c3);
    if (!kd || !ki || !rho_ref || !sig_ref || !gref) { CHECK(0); return; }
    /* umap-learn's column 0 is the point itself; ours leaves it implicit */
    int k = (int)k1 - 1;
    int64_t *idx = malloc((size_t)(n * k) * sizeof(int64_t));
    float *dist = malloc((size_t)(n * k) * sizeof(float));
    for (int64_t i = 0; i < n; i++) {
        CHECK(ki[i * k1] == (float)i);
        for (int j = 0; j < k; j++) { idx[i * k + j] = (int64_t)ki[i * k1 + j + 1]; dist[i * k + j] = kd[i * k1 + j + 1]; }
    }
    float *rho = malloc((size_t)n * sizeof(float)), *sig = malloc((size_t)n * sizeof(float));
    av_umap_graph g;
    CHECK(av_umap_fuzzy_graph(idx, dist, n, k, 1.0, &g, rho, sig) == AV_OK);
    double worst_rho = 0, worst_sig = 0;
    for (int64_t i = 0; i < n; i++) {
        worst_rho = fmax(worst_rho, fabs(rho[i] - rho_ref[i]));
        worst_sig = fmax(worst_sig, fabs(sig[i] - sig_ref[i]) / sig_ref[i]);
    }
    CHECK_NEAR(worst_rho, 0, 1e-5);
    CHECK_NEAR(worst_sig, 0, 1e-4);
    /* same edges, same strengths */
    CHECK_MSG(g.nnz == nn, "nnz %lld vs umap-learn %lld", (long long)g.nnz, (long long)nn);
    float *dense = calloc((size_t)(n * n), sizeof(float));
    for (int64_t e = 0; e < nn; e++) dense[(int64_t)gref[e * 3] * n + (int64_t)gref[e * 3 + 1]] = gref[e * 3 + 2];
    double worst = 0;
    int64_t missing = 0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t e = g.rowptr[i]; e < g.rowptr[i + 1]; e++) {
            float r = dense[i * n + g.col[e]];
            if (r == 0.0f) missing++;
            worst = fmax(worst, fabs(r - g.val[e]));
            CHECK(e == g.rowptr[i] || g.col[e] > g.col[e - 1]);
        }
    CHECK(missing == 0);
    CHECK_NEAR(worst, 0, 1e-4);
    printf("fuzzy graph: nnz %lld, max |w - umap-learn| %.2e, max |rho| err %.2e, max sigma rel err %.2e\n",
           (long long)g.nnz, worst, worst_rho, worst_sig);
    av_umap_graph_free(&g);
    /* rows with missing neighbours (idx -1 at the end, as a search may return) */
    for (int j = k - 3; j < k; j++) { idx[j] = -1; dist[j] = INFINITY; idx[5 * k + j] = -1; dist[5 * k + j] = INFINITY; }
    CHECK(av_umap_fuzzy_graph(idx, dist, n, k, 1.0, &g, rho, sig) == AV_OK);
    int sane = isfinite(sig[0]) && sig[0] > 0;
    for (int64_t e = 0; e < g.nnz; e++) sane = sane && g.col[e] >= 0 && g.col[e] < n && g.val[e] > 0 && g.val[e] <= 1.0f;
    CHECK(sane);
    av_umap_graph_free(&g);
    free(dense); free(kd); free(ki); free(rho_ref); free(sig_ref); free(gref);
    free(idx); free(dist); free(rho); free(sig);
}

static void test_layout(const char *name, double ref_trust) {
    char path[512];
    int64_t n, d, nr, c2;
    snprintf(path, sizeof path, FIX "%s_X.npy", name);
    float *X = load_f32(path, &n, &d);
    snprintf(path, sizeof path, FIX "%s_umap.npy", name);
    float *Yref = load_f32(path, &nr, &c2);
    if (!X || !Yref) { CHECK(0); return; }
    /* our trustworthiness equals scikit-learn's on umap-learn's own layout */
    double t_ref = trust(X, Yref, n, (int)d, 2, 15);
    CHECK_NEAR(t_ref, ref_trust, 1e-4);
    av_knn knn;
    brute_knn(X, n, (int)d, 14, &knn);
    av_umap_params p;
    av_umap_defaults(&p);
    float *Y = malloc((size_t)(n * 2) * sizeof(float));
    double t0 = av_now();
    CHECK(av_umap_from_knn(X, n, (int)d, &knn, &p, Y) == AV_OK);
    double secs = av_now() - t0;
    double t = trust(X, Y, n, (int)d, 2, 15);
    printf("%s: n %lld, trustworthiness %.4f (umap-learn %.4f), layout %.2f s\n", name, (long long)n, t, ref_trust, secs);
    CHECK_MSG(fabs(t - ref_trust) <= 0.015, "%s: trustworthiness %.4f, umap-learn %.4f", name, t, ref_trust);
    free(X); free(Yref); free(Y); free(knn.idx); free(knn.dist);
}

typedef struct { int calls, last_epoch; int64_t n; } epoch_log;
static void on_epoch(void *user, int epoch, const float *Y, int64_t n) {
    epoch_log *l = user;
    l->calls++;
    l->last_epoch = epoch;
    l->n = n;
    (void)Y;
}

/* 3-D layouts; one thread reproduces a layout bit for bit, another seed changes it. */
static void test_3d_and_seed(void) {
    int64_t n, d;
    float *X = load_f32(FIX "blobs_X.npy", &n, &d);
    if (!X) { CHECK(0); return; }
    n = 600;   /* a prefix is enough here */
    av_knn knn;
    brute_knn(X, n, (int)d, 14, &knn);
    av_umap_params p;
    av_umap_defaults(&p);
    p.dim = 3;
    p.epochs = 100;
    float *A = malloc((size_t)(n * 3) * sizeof(float)), *B = malloc((size_t)(n * 3) * sizeof(float));
    int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    CHECK(av_umap_from_knn(X, n, (int)d, &knn, &p, A) == AV_OK);
    CHECK(av_umap_from_knn(X, n, (int)d, &knn, &p, B) == AV_OK);
    CHECK(memcmp(A, B, (size_t)(n * 3) * sizeof(float)) == 0);
    p.seed = 7;
    CHECK(av_umap_from_knn(X, n, (int)d, &knn, &p, B) == AV_OK);
    CHECK(memcmp(A, B, (size_t)(n * 3) * sizeof(float)) != 0);
    omp_set_num_threads(threads);
    /* the progress callback sees every `every`-th epoch */
    epoch_log log = {0, 0, 0};
    p.on_epoch = on_epoch;
    p.user = &log;
    p.every = 25;
    CHECK(av_umap_from_knn(X, n, (int)d, &knn, &p, B) == AV_OK);
    CHECK(log.calls == 4 && log.last_epoch == 100 && log.n == n);
    p.on_epoch = NULL;
    p.seed = 42;
    double t = trust(X, A, n, (int)d, 3, 15);
    printf("3-D blobs prefix: trustworthiness %.4f\n", t);
    CHECK(t > 0.9);
    /* bad parameters and too few points are refused with a message */
    p.dim = 4;
    CHECK(av_umap_from_knn(X, n, (int)d, &knn, &p, A) == AV_ERR && strstr(av_last_error(), "dim"));
    p.dim = 2;
    knn.n = 3;
    CHECK(av_umap_from_knn(X, 3, (int)d, &knn, &p, A) == AV_ERR && strstr(av_last_error(), "4 points"));
    knn.n = n;
    free(X); free(A); free(B); free(knn.idx); free(knn.dist);
}

int main(void) {
    cJSON *exp = av_json_read(FIX "expected.json");
    CHECK(exp != NULL);
    if (!exp) return av_check_summary("test_umap");
    test_ab(exp);
    test_graph();
    const cJSON *tr = cJSON_GetObjectItem(exp, "trust");
    test_layout("blobs", cJSON_GetObjectItem(tr, "blobs")->valuedouble);
    test_layout("qk", cJSON_GetObjectItem(tr, "qk")->valuedouble);
    test_av_umap("qk", cJSON_GetObjectItem(tr, "qk")->valuedouble);
    test_3d_and_seed();
    cJSON_Delete(exp);
    return av_check_summary("test_umap");
}
