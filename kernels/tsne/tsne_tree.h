/* tsne_tree.h - the Barnes-Hut space-partitioning tree of a t-SNE embedding: a quadtree
 * in 2-D, an octree in 3-D, rebuilt from the embedding at every iteration.
 *
 * Nodes live in one growable array owned by av_tree (av_tree_free releases it; a tree
 * may be rebuilt in place, reusing the array). Children of a node are 2^dim consecutive
 * nodes. A leaf holds one point, or a chain of several at exactly the same position
 * (duplicates are common in q/k clouds: the first token of every sentence often has
 * one vector). */
#ifndef AV_KERNELS_TSNE_TSNE_TREE_H
#define AV_KERNELS_TSNE_TSNE_TREE_H
#include <stdint.h>

typedef struct {
    double com[3];      /* centre of mass (a running sum while building) */
    float center[3];    /* centre of the cell */
    float half;         /* half the side length of the (cubic) cell */
    int32_t count;      /* points below this node */
    int32_t child;      /* index of the first of 2^dim children, -1 for a leaf */
    int32_t point;      /* a leaf's first point (chain in av_tree.next), -1 when empty */
} av_tree_node;

typedef struct {
    int dim;
    av_tree_node *nodes;
    int64_t used, cap;
    int32_t *next;      /* [n]: the next point of the same leaf, -1 at the end */
    int64_t next_cap;
} av_tree;

/* Builds (or rebuilds) the tree over Y [n, dim] (dim 2 or 3, row-major doubles). */
int av_tree_build(av_tree *t, const double *Y, int64_t n, int dim);
void av_tree_free(av_tree *t);

/* All n points in depth-first leaf order into order[n]. Walking the points in this order
 * makes consecutive repulsion walks share the cells they visit: 1.8x faster at 10^4
 * points than data order (bench/RESULTS-tsne-parts.md). */
void av_tree_order(const av_tree *t, int64_t *order);

/* Repulsion on the point at y: adds sum_j q_ij^2 (y - y_j) over every other point into
 * neg[dim] (q_ij = 1 / (1 + |y - y_j|^2)) and returns sum_j q_ij, both approximated by
 * summarising a cell when its side < theta * its distance (theta = 0: exact). The
 * point itself (zero distance) contributes nothing. Thread-safe (read-only). */
double av_tree_repulsion(const av_tree *t, const double *y, double theta, double *neg);
#endif
