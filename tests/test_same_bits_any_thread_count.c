/* test_same_bits_any_thread_count.c - every CPU kernel whose result is stored gives the
 * same bits on 1, 2 and 4 threads (kernels/backend/determinism.h): the linear layer
 * (sgemm over row blocks), the kNN search (exact and HNSW), PCA, t-SNE (Barnes-Hut in
 * 2-D and 3-D, FFT; the embedding and its KL), UMAP (a graph big enough for the old
 * parallel SGD) and the quality measures. Each thread count is set as OMP_NUM_THREADS
 * sets it for a user: OpenMP's and OpenBLAS's both.
 *
 * The cloud is a real all-MiniLM-L6-v2 q/k head (tests/fixtures/projections/qk.npy)
 * repeated with small seeded offsets to 3x its size: near-duplicates, as real clouds
 * are full of, where a different summation order changes neighbour ranks, and enough
 * points (> 2048) for every parallel loop to run on several threads. */
#include <cblas.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "base/npy.h"
#include "base/rng.h"
#include "engine/quality.h"
#include "kernels/knn/knn.h"
#include "kernels/ops.h"
#include "kernels/project.h"
#include "kernels/tsne/tsne.h"
#include "tests/check.h"

static const int threads[3] = {1, 2, 4};

static void set_threads(int t) {
    omp_set_num_threads(t);
    openblas_set_num_threads(t);
}

/* run(i, out) for each thread count; the outputs must be equal byte for byte */
typedef void (*runner)(const void *ctx, void *out);
static void same_bits(const char *what, runner run, const void *ctx, size_t bytes) {
    unsigned char *ref = calloc(1, bytes), *got = calloc(1, bytes);
    int before = av_check_failures;
    for (int a = 0; a < 3; a++) {
        set_threads(threads[a]);
        memset(got, 0, bytes);
        run(ctx, a ? got : ref);
        if (!a) continue;
        size_t first = 0, diff = 0;
        for (size_t i = 0; i < bytes; i++)
            if (ref[i] != got[i] && !diff++) first = i;
        CHECK_MSG(!diff, "%s: %zu of %zu bytes differ between 1 and %d threads (first at byte %zu)", what, diff,
                  bytes, threads[a], first);
    }
    if (av_check_failures == before) printf("%s: same bits on 1, 2 and 4 threads\n", what);
    free(ref);
    free(got);
}

typedef struct { const float *X; int64_t n; int d; } cloud;

/* ---- the linear layer ---------------------------------------------------------- */
typedef struct { const float *in, *w, *bias; int64_t M; int K, N; } mm_case;
static void run_matmul(const void *ctx, void *out) {
    const mm_case *c = ctx;
    av_matmul_cpu(out, c->in, c->w, c->bias, c->M, c->K, c->N, AV_W_NK);
}

/* ---- kNN --------------------------------------------------------------------------- */
typedef struct { cloud c; av_metric metric; av_knn_method method; int k; } knn_case;
static void run_knn(const void *ctx, void *out) {
    const knn_case *c = ctx;
    av_knn nn;
    if (av_knn_build(c->c.X, c->c.n, c->c.d, c->k, c->metric, c->method, 42, &nn) != AV_OK) {
        CHECK_MSG(0, "kNN: %s", av_last_error());
        return;
    }
    size_t cells = (size_t)c->c.n * c->k;
    memcpy(out, nn.idx, cells * sizeof *nn.idx);
    memcpy((char *)out + cells * sizeof *nn.idx, nn.dist, cells * sizeof *nn.dist);
    av_knn_free(&nn);
}

/* ---- PCA, t-SNE, UMAP ---------------------------------------------------------------- */
static void run_pca(const void *ctx, void *out) {
    const cloud *c = ctx;
    CHECK(av_pca(c->X, c->n, c->d, 2, out, NULL) == AV_OK);
}

typedef struct { cloud c; int dim; av_tsne_method method; } tsne_case;
static void run_tsne(const void *ctx, void *out) {
    const tsne_case *c = ctx;
    av_tsne_params p;
    av_tsne_defaults(&p);
    p.dim = c->dim;
    p.method = c->method;
    p.iters = 60;
    p.early_iters = 30;
    double kl = 0;
    CHECK_MSG(av_tsne(c->c.X, c->c.n, c->c.d, &p, out, &kl) == AV_OK, "%s", av_last_error());
    memcpy((char *)out + (size_t)c->c.n * c->dim * sizeof(float), &kl, sizeof kl);
}

static void run_umap(const void *ctx, void *out) {
    const cloud *c = ctx;
    av_umap_params p;
    av_umap_defaults(&p);
    p.epochs = 40;
    CHECK_MSG(av_umap(c->X, c->n, c->d, &p, out) == AV_OK, "%s", av_last_error());
}

typedef struct { cloud c; const float *Y; } quality_case;
static void run_quality(const void *ctx, void *out) {
    const quality_case *q = ctx;
    double *r = out;
    CHECK(av_knn_preservation(q->c.X, q->Y, q->c.n, q->c.d, 2, 10, 0, 1, &r[0]) == AV_OK);
    CHECK(av_trustworthiness(q->c.X, q->Y, q->c.n, q->c.d, 2, 5, 0, 1, &r[1]) == AV_OK);
}

int main(void) {
    av_npy a;
    if (av_npy_open("tests/fixtures/projections/qk.npy", &a) != AV_OK) {
        fprintf(stderr, "%s\n", av_last_error());
        return 1;
    }
    int64_t base = a.shape[0], n = 3 * base;
    int d = (int)a.shape[1];
    float *X = malloc((size_t)n * d * sizeof *X);
    uint64_t s = 7;
    for (int64_t i = 0; i < n; i++)
        for (int j = 0; j < d; j++)
            X[i * d + j] = av_npy_get_f32(&a, (i % base) * d + j) * (1.0f + (i < base ? 0.0f : 1e-3f * (float)av_rng_normal(&s)));
    av_npy_close(&a);
    cloud c = {X, n, d};
    printf("cloud: %lld points, %d dims\n", (long long)n, d);

    /* a MiniLM-sized fused q/k/v projection over a batch of 1000 token rows */
    mm_case mm = {.M = 1000, .K = 384, .N = 1152};
    float *in = malloc((size_t)mm.M * mm.K * sizeof *in), *w = malloc((size_t)mm.N * mm.K * sizeof *w);
    float *bias = malloc((size_t)mm.N * sizeof *bias);
    for (int64_t i = 0; i < mm.M * mm.K; i++) in[i] = (float)av_rng_normal(&s);
    for (int64_t i = 0; i < (int64_t)mm.N * mm.K; i++) w[i] = 0.05f * (float)av_rng_normal(&s);
    for (int i = 0; i < mm.N; i++) bias[i] = 0.1f * (float)av_rng_normal(&s);
    mm.in = in;
    mm.w = w;
    mm.bias = bias;
    same_bits("matmul 1000x384 . 384x1152", run_matmul, &mm, (size_t)mm.M * mm.N * sizeof(float));

    const int k = 30;
    size_t knn_bytes = (size_t)n * k * (sizeof(int64_t) + sizeof(float));
    knn_case kc = {c, AV_METRIC_COSINE, AV_KNN_EXACT, k};
    same_bits("kNN exact cosine", run_knn, &kc, knn_bytes);
    kc.metric = AV_METRIC_EUCLIDEAN;
    same_bits("kNN exact euclidean", run_knn, &kc, knn_bytes);
    kc.method = AV_KNN_APPROX;
    same_bits("kNN HNSW euclidean", run_knn, &kc, knn_bytes);

    same_bits("PCA", run_pca, &c, (size_t)n * 2 * sizeof(float));
    tsne_case tc = {c, 2, AV_TSNE_BH};
    same_bits("t-SNE Barnes-Hut 2-D (embedding, KL)", run_tsne, &tc, (size_t)n * 2 * sizeof(float) + sizeof(double));
    tc.dim = 3;
    same_bits("t-SNE Barnes-Hut 3-D (embedding, KL)", run_tsne, &tc, (size_t)n * 3 * sizeof(float) + sizeof(double));
    tc.dim = 2;
    tc.method = AV_TSNE_FFT;
    same_bits("t-SNE FFT 2-D (embedding, KL)", run_tsne, &tc, (size_t)n * 2 * sizeof(float) + sizeof(double));
    same_bits("UMAP 2-D", run_umap, &c, (size_t)n * 2 * sizeof(float));

    float *Y = malloc((size_t)n * 2 * sizeof *Y);
    CHECK(av_pca(X, n, d, 2, Y, NULL) == AV_OK);
    quality_case qc = {c, Y};
    same_bits("kNN preservation and trustworthiness", run_quality, &qc, 2 * sizeof(double));

    free(Y);
    free(in);
    free(w);
    free(bias);
    free(X);
    return av_check_summary("test_same_bits_any_thread_count");
}
