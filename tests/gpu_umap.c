/* gpu_umap.c - UMAP on the GPU (av_umap_cuda) against the CPU implementation (av_umap)
 * on the same input and seed: the two draw different negative samples (per-edge
 * streams on the GPU, per-chunk on the CPU) and race differently, so the layouts are
 * compared by quality: trustworthiness at 15 within 0.015 of the CPU's, kNN
 * preservation at 10 within 0.05, on the committed blob set and real q/k cloud (2-D
 * and 3-D) and on cosine; on_epoch called every `every` epochs; bad input refused.
 * SKIPs without a device. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "base/npy.h"
#include "kernels/project.h"
#include "base/util.h"
#include "tests/gpu_skip.h"
#include "engine/quality.h"

#ifdef AV_HAVE_CUDA
static float *load(const char *path, int64_t *n, int *d) {
    av_npy a;
    if (av_npy_open(path, &a) != AV_OK) { fprintf(stderr, "fixture: %s\n", av_last_error()); exit(1); }
    *n = a.shape[0];
    *d = (int)a.shape[1];
    float *X = malloc((size_t)a.count * sizeof *X);
    for (int64_t i = 0; i < a.count; i++) X[i] = av_npy_get_f32(&a, i);
    av_npy_close(&a);
    return X;
}

static void compare(const char *what, const float *X, int64_t n, int d, int dim, av_metric metric) {
    av_umap_params p;
    av_umap_defaults(&p);
    p.dim = dim;
    p.metric = metric;
    p.knn_method = AV_KNN_EXACT;
    float *yc = malloc((size_t)n * dim * sizeof *yc), *yg = malloc((size_t)n * dim * sizeof *yg);
    CHECK(av_umap(X, n, d, &p, yc) == AV_OK);
    double t0 = av_now();
    int rc = av_umap_cuda(X, n, d, &p, yg);
    double secs = av_now() - t0;
    CHECK_MSG(rc == AV_OK, "%s: %s", what, av_last_error());
    if (rc == AV_OK) {
        double tc, tg, pc, pg;
        CHECK(av_trustworthiness(X, yc, n, d, dim, 15, 0, 1, &tc) == AV_OK);
        CHECK(av_trustworthiness(X, yg, n, d, dim, 15, 0, 1, &tg) == AV_OK);
        CHECK(av_knn_preservation(X, yc, n, d, dim, 10, 0, 1, &pc) == AV_OK);
        CHECK(av_knn_preservation(X, yg, n, d, dim, 10, 0, 1, &pg) == AV_OK);
        printf("  %-18s n %5lld: trustworthiness GPU %.4f CPU %.4f, kNN preservation GPU %.4f CPU %.4f (%.2f s)\n",
               what, (long long)n, tg, tc, pg, pc, secs);
        CHECK_MSG(fabs(tg - tc) <= 0.015, "%s: trustworthiness %.4f on the GPU, %.4f on the CPU", what, tg, tc);
        CHECK_MSG(fabs(pg - pc) <= 0.05, "%s: kNN preservation %.4f on the GPU, %.4f on the CPU", what, pg, pc);
    }
    free(yc); free(yg);
}

static int calls;
static void on_epoch(void *user, int epoch, const float *Y, int64_t n) {
    (void)user;
    calls++;
    CHECK_MSG(epoch == calls * 10, "on_epoch at epoch %d, call %d", epoch, calls);
    CHECK(isfinite(Y[0]) && isfinite(Y[2 * n - 1]));
}
#endif

int main(void) {
    AV_GPU_TEST_OPEN();
#ifdef AV_HAVE_CUDA
    int64_t n; int d;
    float *X = load("tests/fixtures/umap/blobs_X.npy", &n, &d);
    compare("blobs 2-D", X, n, d, 2, AV_METRIC_EUCLIDEAN);
    compare("blobs 3-D", X, n, d, 3, AV_METRIC_EUCLIDEAN);
    free(X);
    X = load("tests/fixtures/umap/qk_X.npy", &n, &d);
    compare("qk 2-D", X, n, d, 2, AV_METRIC_EUCLIDEAN);
    compare("qk 2-D cosine", X, n, d, 2, AV_METRIC_COSINE);
    {
        av_umap_params p;
        av_umap_defaults(&p);
        p.epochs = 100;
        p.on_epoch = on_epoch;
        p.every = 10;
        float *Y = malloc((size_t)n * 2 * sizeof *Y);
        CHECK(av_umap_cuda(X, n, d, &p, Y) == AV_OK);
        CHECK_MSG(calls == 10, "on_epoch called %d times, want 10", calls);
        p.on_epoch = NULL;
        p.n_neighbors = 1;
        CHECK(av_umap_cuda(X, n, d, &p, Y) == AV_ERR);
        CHECK(strstr(av_last_error(), "n_neighbors") != NULL);
        p.n_neighbors = 15;
        X[5] = NAN;
        CHECK(av_umap_cuda(X, n, d, &p, Y) == AV_ERR);
        CHECK(strstr(av_last_error(), "row 0") != NULL);
        free(Y);
    }
    free(X);
#endif
    return av_check_summary("gpu_umap");
}
