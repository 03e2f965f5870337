/* bench_tsne_knn.c - where `--knn auto` should switch from exact (FAISS flat) to
 * approximate (HNSW) search: CPU time of each, and HNSW's recall, for t-SNE's k = 90
 * neighbours of N points of a 64-D clustered cloud. Build and run after a release build:
 *   cc -O2 -fopenmp -I. -I.deps/faiss_c/include bench/bench_tsne_knn.c build/libattnviz_core.a \
 *      .deps/faiss_c/lib/libfaiss_c.a /usr/lib/x86_64-linux-gnu/libfaiss.a \
 *      -L/usr/lib/x86_64-linux-gnu/openblas-pthread -lopenblas -llapacke -lcjson -lstdc++ -lm \
 *      -o /tmp/bench_tsne_knn && OMP_NUM_THREADS=1 /tmp/bench_tsne_knn 10000 20000 40000
 * CPU time (clock()) rather than wall time: the machine it was written on is shared. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "kernels/project.h"
#include "base/rng.h"

int main(int argc, char **argv) {
    int d = 64, k = 90;
    printf("| N | exact CPU s | HNSW CPU s | HNSW recall@90 |\n|---|---|---|---|\n");
    for (int a = 1; a < argc; a++) {
        int64_t n = atoll(argv[a]);
        float *X = malloc((size_t)n * d * sizeof *X);
        uint64_t s = 1;
        float centres[50][64];
        for (int c = 0; c < 50; c++)
            for (int j = 0; j < d; j++) centres[c][j] = (float)(5 * av_rng_normal(&s));
        for (int64_t i = 0; i < n; i++)
            for (int j = 0; j < d; j++) X[i * d + j] = centres[i % 50][j] + (float)av_rng_normal(&s);
        av_knn e, h;
        clock_t t0 = clock();
        if (av_knn_build(X, n, d, k, AV_METRIC_EUCLIDEAN, AV_KNN_EXACT, 0, &e)) return 1;
        clock_t t1 = clock();
        if (av_knn_build(X, n, d, k, AV_METRIC_EUCLIDEAN, AV_KNN_APPROX, 0, &h)) return 1;
        clock_t t2 = clock();
        int64_t hit = 0;
        for (int64_t i = 0; i < n; i++)
            for (int x = 0; x < k; x++)
                for (int y = 0; y < k; y++) hit += e.idx[i * k + x] == h.idx[i * k + y];
        printf("| %lld | %.1f | %.1f | %.4f |\n", (long long)n, (double)(t1 - t0) / CLOCKS_PER_SEC,
               (double)(t2 - t1) / CLOCKS_PER_SEC, (double)hit / ((double)n * k));
        fflush(stdout);
        av_knn_free(&e);
        av_knn_free(&h);
        free(X);
    }
    return 0;
}
