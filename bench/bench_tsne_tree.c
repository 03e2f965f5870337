/* bench_tsne_tree.c - the Barnes-Hut repulsion walk (kernels/tsne/tsne_tree.c) over 10^4 points
 * in 2-D, with the points taken in data order (random in space) and in the tree's
 * depth-first order (av_tree_order), which av_tsne uses. CPU ms per iteration, one thread.
 *   cc -O2 -I. bench/bench_tsne_tree.c kernels/tsne/tsne_tree.c base/util.c -lm -o /tmp/bench_tsne_tree
 *   /tmp/bench_tsne_tree */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "base/rng.h"
#include "kernels/tsne/tsne_tree.h"

static double cpu_ms(void) { return 1e3 * (double)clock() / CLOCKS_PER_SEC; }

int main(void) {
    int n = 10000, dim = 2, reps = 20;
    double *Y = malloc((size_t)n * dim * sizeof *Y);
    uint64_t s = 1;
    for (int i = 0; i < n; i++) /* 40 blobs over a 60 x 60 square, like a t-SNE layout */
        for (int a = 0; a < dim; a++) Y[i * dim + a] = 10.0 * ((i % 40) / (a ? 8 : 5) % (a ? 5 : 8)) + av_rng_normal(&s);
    av_tree t = {0};
    double t0 = cpu_ms();
    for (int r = 0; r < reps; r++) av_tree_build(&t, Y, n, dim);
    double t1 = cpu_ms(), sum = 0, neg[3] = {0, 0, 0};
    for (int r = 0; r < reps; r++)
        for (int i = 0; i < n; i++) sum += av_tree_repulsion(&t, Y + i * dim, 0.5, neg);
    double t2 = cpu_ms();
    int64_t *order = malloc((size_t)n * sizeof *order);
    av_tree_order(&t, order);
    double t3 = cpu_ms();
    for (int r = 0; r < reps; r++)
        for (int i = 0; i < n; i++) sum += av_tree_repulsion(&t, Y + order[i] * dim, 0.5, neg);
    double t4 = cpu_ms();
    printf("| build | repulsion, data order | repulsion, tree order |\n|---|---|---|\n");
    printf("| %.2f ms | %.2f ms | %.2f ms |\n", (t1 - t0) / reps, (t2 - t1) / reps, (t4 - t3) / reps);
    fprintf(stderr, "(checksum %g)\n", sum);
    av_tree_free(&t);
    free(Y);
    free(order);
    return 0;
}
