/* umap.h - the stages of UMAP (McInnes et al.), as umap-learn 0.5 computes them, so each
 * can be tested against umap-learn on its own. av_umap (project.h) chains them after
 * av_knn_build; av_umap_from_knn runs everything after the neighbour search.
 *
 *   fuzzy graph   per-point rho/sigma (umap-learn's smooth_knn_dist), membership
 *                 strengths, symmetrised with the fuzzy union P + P^T - P o P^T
 *   a, b          least-squares fit of 1 / (1 + a x^(2b)) to the min_dist/spread curve
 *                 (umap-learn's find_ab_params)
 *   init          spectral: eigenvectors of the normalised graph Laplacian (thick-restart
 *                 Lanczos), per connected component, placed as umap-learn does
 *   optimise      SGD over edges with negative sampling (umap-learn's optimize_layout_euclidean)
 *
 * Ownership: av_umap_graph arrays are allocated by av_umap_fuzzy_graph and released by
 * av_umap_graph_free; every other function writes into buffers the caller owns. */
#ifndef AV_KERNELS_UMAP_UMAP_H
#define AV_KERNELS_UMAP_UMAP_H
#include <stdint.h>
#include "kernels/project.h"

/* Symmetric sparse graph in CSR form, rows sorted by column, no explicit zeros. */
typedef struct {
    int64_t n, nnz;
    int64_t *rowptr;   /* [n + 1] */
    int64_t *col;      /* [nnz] */
    float *val;        /* [nnz] */
} av_umap_graph;
void av_umap_graph_free(av_umap_graph *g);

/* Fuzzy simplicial set from a kNN graph. idx/dist [n, k]: each point's k nearest other
 * points (itself excluded) and their metric distances (NOT squared), nearest first; the
 * point itself counts as its own 0th neighbour, so this equals umap-learn with
 * n_neighbors = k + 1. Entries with idx < 0 are ignored. rho and sigma [n] are optional
 * outputs (NULL to skip). */
int av_umap_fuzzy_graph(const int64_t *idx, const float *dist, int64_t n, int k,
                        double local_connectivity, av_umap_graph *g, float *rho, float *sigma);

/* The a, b of the low-dimensional similarity 1 / (1 + a d^(2b)). */
int av_umap_find_ab(double spread, double min_dist, double *a, double *b);

/* Spectral initialisation of the (already pruned) graph into Y [n, dim], before umap's
 * noise and rescaling. X [n, d] gives the component centroids when the graph is not
 * connected. */
int av_umap_spectral_init(const av_umap_graph *g, const float *X, int d, int dim,
                          uint64_t seed, float *Y);

/* umap-learn's finish of the initial layout Y [n, dim]: scaled to max |y| = 10, N(0, 1e-4)
 * noise added (its own stream of seed), then every coordinate mapped onto [0, 10]. */
void av_umap_finish_init(float *Y, int64_t n, int dim, uint64_t seed);

/* The random streams of UMAP: splitmix64 (Steele et al.), one state per stream, so a
 * stream seeded from (seed, stream id) gives the same numbers whatever thread runs it. */
static inline uint64_t av_umap_rand(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
/* Uniform in [0, 1). */
static inline double av_umap_uniform(uint64_t *s) { return (double)(av_umap_rand(s) >> 11) * 0x1.0p-53; }

/* Everything after the neighbour search: graph, pruning, init, SGD. knn->dist must hold
 * metric distances (not squared). Y [n, p->dim]. */
int av_umap_from_knn(const float *X, int64_t n, int d, const av_knn *knn,
                     const av_umap_params *p, float *Y);
#endif
