/* bench_umap_driver.c - the attnviz side of bench/bench_umap.sh: times UMAP (kNN graph
 * + layout) or PCA on one .npy cloud and writes the result as .npy.
 *
 *   bench_umap_driver umap X.npy Y.npy [EPOCHS]   -> one JSON line {knn_s, layout_s, total_s}
 *   bench_umap_driver pca  X.npy Y.npy COMPONENTS.npy DIM  -> {total_s}
 *
 * The kNN graph comes from the engine's av_knn_build when the library has it
 * (-DAV_BENCH_ENGINE_KNN, set by bench_umap.sh), else from an exact FAISS flat index
 * called here directly (before kernels/knn/knn_cpu.c landed). Threads: OMP_NUM_THREADS. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include "base/npy.h"
#include "kernels/umap/umap.h"
#include "base/util.h"
#ifndef AV_BENCH_ENGINE_KNN
#include <faiss/c_api/IndexFlat_c.h>
#include <faiss/c_api/Index_c.h>
#include <faiss/c_api/error_c.h>
#endif

/* CPU seconds of the whole process, all threads: on a shared machine a fairer measure
 * than wall time, which waits for other jobs. */
static double cpu_seconds(void) {
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_utime.tv_sec + u.ru_stime.tv_sec + 1e-6 * (u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

static float *load(const char *path, int64_t *n, int *d) {
    av_npy a;
    if (av_npy_open(path, &a) != AV_OK || a.ndim != 2) { fprintf(stderr, "%s: need a 2-D array (%s)\n", path, av_last_error()); exit(2); }
    *n = a.shape[0];
    *d = (int)a.shape[1];
    float *x = malloc((size_t)a.count * sizeof(float));
    for (int64_t i = 0; i < a.count; i++) x[i] = av_npy_get_f32(&a, i);
    av_npy_close(&a);
    return x;
}

static int knn_graph(const float *X, int64_t n, int d, int k, av_knn *out) {
#ifdef AV_BENCH_ENGINE_KNN
    if (av_knn_build(X, n, d, k, AV_METRIC_EUCLIDEAN, AV_KNN_AUTO, 42, out) != AV_OK) return AV_ERR;
    for (int64_t i = 0; i < n * k; i++) out->dist[i] = out->dist[i] > 0 ? sqrtf(out->dist[i]) : 0.0f;
    return AV_OK;
#else
    FaissIndexFlatL2 *index = NULL;
    float *D = malloc((size_t)(n * (k + 1)) * sizeof(float));
    idx_t *I = malloc((size_t)(n * (k + 1)) * sizeof(idx_t));
    if (faiss_IndexFlatL2_new_with(&index, d) || faiss_Index_add(index, n, X) ||
        faiss_Index_search(index, n, X, k + 1, D, I))
        return av_fail("faiss: %s", faiss_get_last_error());
    faiss_Index_free(index);
    out->n = n; out->k = k;
    out->idx = malloc((size_t)(n * k) * sizeof(int64_t));
    out->dist = malloc((size_t)(n * k) * sizeof(float));
    for (int64_t i = 0; i < n; i++) {
        int m = 0;
        for (int j = 0; j <= k && m < k; j++) {
            if (I[i * (k + 1) + j] == i) continue;   /* drop the point itself */
            out->idx[i * k + m] = I[i * (k + 1) + j];
            out->dist[i * k + m] = D[i * (k + 1) + j] > 0 ? sqrtf(D[i * (k + 1) + j]) : 0.0f;
            m++;
        }
    }
    free(D);
    free(I);
    return AV_OK;
#endif
}

int main(int argc, char **argv) {
    if (argc >= 4 && !strcmp(argv[1], "umap")) {
        int64_t n; int d;
        float *X = load(argv[2], &n, &d);
        av_umap_params p;
        av_umap_defaults(&p);
        if (argc > 4) p.epochs = atoi(argv[4]);
        float *Y = malloc((size_t)(n * 2) * sizeof(float));
        av_knn knn;
        double c0 = cpu_seconds(), t0 = av_now();
        if (knn_graph(X, n, d, p.n_neighbors - 1, &knn) != AV_OK) { fprintf(stderr, "%s\n", av_last_error()); return 2; }
        double t1 = av_now();
        if (av_umap_from_knn(X, n, d, &knn, &p, Y) != AV_OK) { fprintf(stderr, "%s\n", av_last_error()); return 2; }
        double t2 = av_now(), c2 = cpu_seconds();
        int64_t shape[2] = {n, 2};
        if (av_npy_write(argv[3], AV_DT_F32, 2, shape, Y) != AV_OK) { fprintf(stderr, "%s\n", av_last_error()); return 2; }
        printf("{\"knn_s\": %.4f, \"layout_s\": %.4f, \"total_s\": %.4f, \"cpu_s\": %.4f}\n", t1 - t0, t2 - t1,
               t2 - t0, c2 - c0);
        free(X); free(Y); free(knn.idx); free(knn.dist);
        return 0;
    }
#ifdef AV_BENCH_ENGINE_PCA
    if (argc == 6 && !strcmp(argv[1], "pca")) {
        int64_t n; int d;
        float *X = load(argv[2], &n, &d);
        int dim = atoi(argv[5]);
        float *Y = malloc((size_t)(n * dim) * sizeof(float)), *C = malloc((size_t)dim * d * sizeof(float));
        double c0 = cpu_seconds(), t0 = av_now();
        if (av_pca(X, n, d, dim, Y, C) != AV_OK) { fprintf(stderr, "%s\n", av_last_error()); return 2; }
        double t1 = av_now();
        int64_t ys[2] = {n, dim}, cs[2] = {dim, d};
        if (av_npy_write(argv[3], AV_DT_F32, 2, ys, Y) || av_npy_write(argv[4], AV_DT_F32, 2, cs, C)) { fprintf(stderr, "%s\n", av_last_error()); return 2; }
        printf("{\"total_s\": %.4f, \"cpu_s\": %.4f}\n", t1 - t0, cpu_seconds() - c0);
        free(X); free(Y); free(C);
        return 0;
    }
#endif
    fprintf(stderr, "usage: bench_umap_driver umap X.npy Y.npy [EPOCHS] | pca X.npy Y.npy COMPONENTS.npy DIM\n");
    return 2;
}
