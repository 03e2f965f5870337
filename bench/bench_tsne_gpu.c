/* bench_tsne_gpu.c - timings of the GPU projections (kernels/project_cuda.h), run
 * by bench/bench_tsne_gpu.sh on a GPU machine. Never a test.
 *
 *   bench_tsne_gpu sizes OUT_DIR T1,T2,...   t-SNE (2-D, perplexity 30, 1000 iterations,
 *        the default cosine metric)
 *        of a synthetic q/k cloud of 2T points, 64 dims, per T: one line of seconds, KL,
 *        kNN preservation at 10 (5000 sampled points), ms per iteration over the whole
 *        call and over the iterations alone (from iteration 250 to the last, timed at
 *        on_iter reports, which cost a download each); each cloud is also written
 *        to OUT_DIR/cloud_<T>.npy for the openTSNE peer (bench/tsne_gpu_peer.py)
 *   bench_tsne_gpu heads H T                 H heads of 2T points each (bert-base: 144
 *        heads, head size 64) through av_tsne_cuda_batch: total and per-head seconds
 *   bench_tsne_gpu others T                  kNN (k 90), UMAP (200 epochs) and PCA of one
 *        2T-point cloud on the GPU, and the CPU's PCA and UMAP beside them
 *
 * The clouds: 64 Gaussian clusters of anisotropic spread (like the token groups of a
 * real head) for the queries; the keys are the queries' clusters moved by a common
 * offset plus their own noise (keys and queries apart, as before key translation). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/npy.h"
#include "kernels/project.h"
#include "base/rng.h"
#include "base/util.h"
#include "kernels/backend/device.h"
#include "engine/quality.h"
#ifdef AV_HAVE_CUDA
#include "kernels/project_cuda.h"
#endif

#define D 64
#define CLUSTERS 64

/* unused in builds without CUDA, where main() only says so */
__attribute__((unused)) static float *cloud(int64_t T, uint64_t seed) {
    int64_t n = 2 * T;
    float *X = malloc((size_t)n * D * sizeof *X);
    float (*centre)[D] = malloc(sizeof(float[CLUSTERS][D])), (*spread)[D] = malloc(sizeof(float[CLUSTERS][D]));
    if (!X || !centre || !spread) { fprintf(stderr, "bench: out of memory\n"); exit(2); }
    uint64_t s = seed;
    for (int c = 0; c < CLUSTERS; c++)
        for (int j = 0; j < D; j++) { centre[c][j] = (float)(3 * av_rng_normal(&s)); spread[c][j] = (float)(0.2 + av_rng_uniform(&s)); }
    for (int64_t i = 0; i < n; i++) {
        int c = (int)(av_rng_next(&s) % CLUSTERS);
        for (int j = 0; j < D; j++)
            X[i * D + j] = centre[c][j] + spread[c][j] * (float)av_rng_normal(&s) + (i >= T && j < 8 ? 4.0f : 0.0f);
    }
    free(centre);
    free(spread);
    return X;
}

#ifdef AV_HAVE_CUDA
static void die(const char *what) { fprintf(stderr, "bench: %s: %s\n", what, av_last_error()); exit(1); }

/* The time and iteration of the first and the last on_iter report. */
static struct { double t_first, t_last; int it_first, it_last; } reports;
static void on_report(void *user, int iter, const float *Y, int64_t n, double kl) {
    (void)user; (void)Y; (void)n; (void)kl;
    double t = av_now();
    if (!reports.it_first) { reports.t_first = t; reports.it_first = iter; }
    reports.t_last = t;
    reports.it_last = iter;
}

static int sizes(const char *out_dir, char *list) {
    printf("%10s %10s %10s %10s %10s %12s\n", "points", "seconds", "KL", "kNN@10", "ms/iter", "ms/iter loop");
    for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
        int64_t T = atoll(tok), n = 2 * T;
        float *X = cloud(T, 42 + (uint64_t)T);
        char path[1024];
        snprintf(path, sizeof path, "%s/cloud_%lld.npy", out_dir, (long long)T);
        int64_t shape[2] = {n, D};
        if (av_npy_write(path, AV_DT_F32, 2, shape, X) != AV_OK) die("writing the cloud");
        av_tsne_params p;
        av_tsne_defaults(&p);
        p.on_iter = on_report;
        p.every = 250;
        memset(&reports, 0, sizeof reports);
        float *Y = malloc((size_t)n * 2 * sizeof *Y);
        double kl = 0, pres = 0, t0 = av_now();
        if (av_tsne_cuda(X, n, D, &p, Y, &kl) != AV_OK) die("t-SNE");
        double secs = av_now() - t0;
        if (av_knn_preservation(X, Y, n, D, 2, 10, 5000, 1, &pres) != AV_OK) die("kNN preservation");
        double loop = reports.it_last > reports.it_first
                          ? 1000 * (reports.t_last - reports.t_first) / (reports.it_last - reports.it_first) : 0;
        printf("%10lld %10.2f %10.4f %10.4f %10.2f %12.2f\n", (long long)n, secs, kl, pres, 1000 * secs / p.iters, loop);
        fflush(stdout);
        free(X);
        free(Y);
    }
    return 0;
}

static int heads(int H, int64_t T) {
    int64_t n = 2 * T;
    const float **xs = malloc((size_t)H * sizeof *xs);
    float **ys = malloc((size_t)H * sizeof *ys);
    double *kl = malloc((size_t)H * sizeof *kl);
    for (int h = 0; h < H; h++) {
        xs[h] = cloud(T, 1000 + (uint64_t)h);
        ys[h] = malloc((size_t)n * 2 * sizeof(float));
    }
    av_tsne_params p;
    av_tsne_defaults(&p);
    double t0 = av_now();
    if (av_tsne_cuda_batch(xs, H, n, D, &p, ys, kl) != AV_OK) die("t-SNE batch");
    double secs = av_now() - t0;
    double klm = 0;
    for (int h = 0; h < H; h++) klm += kl[h] / H;
    printf("%d heads x %lld points: %.1f s in all, %.2f s per head, mean KL %.4f\n", H, (long long)n, secs, secs / H, klm);
    for (int h = 0; h < H; h++) { free((void *)xs[h]); free(ys[h]); }
    free(xs); free(ys); free(kl);
    return 0;
}

static int others(int64_t T) {
    int64_t n = 2 * T;
    float *X = cloud(T, 7), *Y = malloc((size_t)n * 3 * sizeof *Y);
    av_knn knn;
    double t0 = av_now();
    if (av_knn_cuda(X, n, D, 90, AV_METRIC_EUCLIDEAN, AV_KNN_EXACT, 0, &knn) != AV_OK) die("kNN");
    printf("kNN k 90, %lld points: GPU exact %.2f s\n", (long long)n, av_now() - t0);
    av_knn_free(&knn);
    t0 = av_now();
    if (av_pca_cuda(X, n, D, 3, Y, NULL) != AV_OK) die("PCA");
    double g = av_now() - t0;
    t0 = av_now();
    if (av_pca(X, n, D, 3, Y, NULL) != AV_OK) die("PCA");
    printf("PCA 3 of 64, %lld points: GPU %.3f s, CPU %.3f s\n", (long long)n, g, av_now() - t0);
    av_umap_params u;
    av_umap_defaults(&u);
    u.epochs = 200;
    t0 = av_now();
    if (av_umap_cuda(X, n, D, &u, Y) != AV_OK) die("UMAP");
    g = av_now() - t0;
    t0 = av_now();
    if (av_umap(X, n, D, &u, Y) != AV_OK) die("UMAP");
    printf("UMAP 200 epochs, %lld points: GPU %.2f s, CPU %.2f s\n", (long long)n, g, av_now() - t0);
    free(X); free(Y);
    return 0;
}
#endif

int main(int argc, char **argv) {
#ifndef AV_HAVE_CUDA
    (void)argc; (void)argv;
    fprintf(stderr, "bench_tsne_gpu: this build has no CUDA backend\n");
    return 2;
#else
    char why[256] = "";
    if (av_cuda_device_count(why, sizeof why) <= 0) {
        fprintf(stderr, "bench_tsne_gpu: %s\n", why);
        return 1;
    }
    printf("device: %s\n", av_cuda_device_name());
    if (argc == 4 && !strcmp(argv[1], "sizes")) return sizes(argv[2], argv[3]);
    if (argc == 4 && !strcmp(argv[1], "heads")) return heads(atoi(argv[2]), atoll(argv[3]));
    if (argc == 3 && !strcmp(argv[1], "others")) return others(atoll(argv[2]));
    fprintf(stderr, "usage: bench_tsne_gpu sizes OUT_DIR T1,T2,.. | heads H T | others T\n");
    return 2;
#endif
}
