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

/* ---- what the CPU and GPU versions share (umap_driver.c) ---------------------------- */
/* The epochs a run of n points makes: `epochs`, or umap-learn's auto (500 up to 10000
 * points, 200 above) when it is <= 0. */
int av_umap_epochs(int64_t n, int epochs);
/* The checks both devices make before the neighbour search (points, dim, rates, finite
 * X); *k gets the neighbours to search: n_neighbors - 1 (umap-learn counts the point
 * itself), at most n - 1. */
int av_umap_check(const float *X, int64_t n, int d, const av_umap_params *p, int *k);
/* Drops, in place, the edges too weak to be sampled even once in `epochs` epochs (as
 * umap-learn does before the spectral layout, so the pruned graph drives both init and
 * SGD); returns the largest weight. */
float av_umap_prune(av_umap_graph *g, int epochs);
/* umap-learn's epochs_per_sample schedule of the nnz edges of g: an edge of weight w is
 * sampled every eps = wmax / w epochs, its negatives every eps / negative_sample_rate
 * (never when the rate is 0). */
void av_umap_edge_rates(const av_umap_graph *g, float wmax, int negative_sample_rate, double *eps, double *eps_neg);
/* SGD's learning rate in epoch ep of `epochs`: decays linearly to 0. */
static inline float av_umap_alpha(const av_umap_params *p, int ep, int epochs) {
    return (float)(p->learning_rate * (1.0 - (double)ep / epochs));
}

/* Everything after the neighbour search: graph, pruning, init, SGD. knn->dist must hold
 * metric distances (not squared). Y [n, p->dim]. */
int av_umap_from_knn(const float *X, int64_t n, int d, const av_knn *knn,
                     const av_umap_params *p, float *Y);
#endif
