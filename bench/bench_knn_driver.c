/* bench_knn_driver.c - the attnviz side of bench/bench_knn.sh: times the engine's neighbour
 * search (av_knn_build, kernels/knn/knn_cpu.c: FAISS flat = exact, HNSW32 = approx) on one cloud and
 * writes the neighbour lists, so the Python side can score recall against the exact ones.
 *
 *   bench_knn_driver exact|approx X.npy K IDX.npy   -> one JSON line {"wall_s", "cpu_s"}
 *
 * X.npy is [n, d] (f32 or f16), Euclidean metric; IDX.npy gets [n, K] int32 neighbour
 * indices (the point itself excluded, as the engine returns them). The time covers
 * av_knn_build only (index build + search + the engine's exact re-ranking), not the file
 * reading. Threads: OMP_NUM_THREADS. Built by bench_knn.sh against build/libattnviz_core.a. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include "base/npy.h"
#include "kernels/project.h"
#include "base/util.h"

static double wall_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

/* CPU seconds of all threads: on a shared machine steadier than wall time. */
static double cpu_seconds(void) {
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_utime.tv_sec + u.ru_stime.tv_sec + 1e-6 * (u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

static int fail(const char *what) {
    fprintf(stderr, "bench_knn_driver: %s: %s\n", what, av_last_error());
    return 2;
}

int main(int argc, char **argv) {
    if (argc != 5 || (strcmp(argv[1], "exact") && strcmp(argv[1], "approx"))) {
        fprintf(stderr, "usage: bench_knn_driver exact|approx X.npy K IDX.npy\n");
        return 2;
    }
    av_knn_method method = strcmp(argv[1], "exact") ? AV_KNN_APPROX : AV_KNN_EXACT;
    int k = atoi(argv[3]);
    av_npy a;
    if (av_npy_open(argv[2], &a) != AV_OK) return fail(argv[2]);
    if (a.ndim != 2) {
        av_npy_close(&a);
        fprintf(stderr, "bench_knn_driver: %s: need a 2-D array [n, d]\n", argv[2]);
        return 2;
    }
    int64_t n = a.shape[0];
    int d = (int)a.shape[1];
    float *X = malloc((size_t)a.count * sizeof *X);
    if (!X) { av_npy_close(&a); fprintf(stderr, "bench_knn_driver: out of memory\n"); return 2; }
    for (int64_t i = 0; i < a.count; i++) X[i] = av_npy_get_f32(&a, i);
    av_npy_close(&a);

    av_knn knn;
    double w0 = wall_seconds(), c0 = cpu_seconds();
    int rc = av_knn_build(X, n, d, k, AV_METRIC_EUCLIDEAN, method, 42, &knn);
    double wall = wall_seconds() - w0, cpu = cpu_seconds() - c0;
    free(X);
    if (rc != AV_OK) return fail("av_knn_build");

    int32_t *idx = malloc((size_t)n * k * sizeof *idx);
    if (!idx) { av_knn_free(&knn); fprintf(stderr, "bench_knn_driver: out of memory\n"); return 2; }
    for (int64_t i = 0; i < n * k; i++) idx[i] = (int32_t)knn.idx[i];
    av_knn_free(&knn);
    int64_t shape[2] = {n, k};
    rc = av_npy_write(argv[4], AV_DT_I32, 2, shape, idx);
    free(idx);
    if (rc != AV_OK) return fail(argv[4]);
    printf("{\"wall_s\": %.6f, \"cpu_s\": %.6f}\n", wall, cpu);
    return 0;
}
