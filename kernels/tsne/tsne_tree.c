/* tsne_tree.c - see tsne_tree.h. Points are inserted one by one (O(n log n), serial,
 * a few ms for 10^5 points); the repulsion walk is what runs in parallel. */
#include "kernels/tsne/tsne_tree.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "base/util.h"

/* Below this depth cells are ~1e-14 of the root: points that still share a cell are
 * merged as duplicates rather than split forever. */
#define MAX_DEPTH 48

void av_tree_free(av_tree *t) {
    free(t->nodes);
    free(t->next);
    memset(t, 0, sizeof *t);
}

static int32_t alloc_nodes(av_tree *t, int count) {
    if (t->used + count > t->cap) {
        int64_t cap = t->cap ? t->cap * 2 : 1024;
        while (cap < t->used + count) cap *= 2;
        if (cap > INT32_MAX) { av_fail("t-SNE tree: more than 2^31 nodes"); return -1; }
        av_tree_node *nodes = realloc(t->nodes, (size_t)cap * sizeof *nodes);
        if (!nodes) { av_fail("t-SNE tree: out of memory for %lld nodes", (long long)cap); return -1; }
        t->nodes = nodes;
        t->cap = cap;
    }
    int32_t first = (int32_t)t->used;
    t->used += count;
    return first;
}

static void init_node(av_tree_node *nd, const float *center, float half) {
    memset(nd, 0, sizeof *nd);
    memcpy(nd->center, center, sizeof nd->center);
    nd->half = half;
    nd->child = -1;
    nd->point = -1;
}

static int which_child(const av_tree_node *nd, const double *y, int dim) {
    int c = 0;
    for (int a = 0; a < dim; a++) c |= (y[a] > nd->center[a]) << a;
    return c;
}

static int split(av_tree *t, int32_t node) {
    int dim = t->dim, nc = 1 << dim;
    int32_t first = alloc_nodes(t, nc);
    if (first < 0) return AV_ERR;
    av_tree_node *nd = &t->nodes[node];
    float h = nd->half * 0.5f;
    for (int c = 0; c < nc; c++) {
        float center[3] = {0, 0, 0};
        for (int a = 0; a < dim; a++) center[a] = nd->center[a] + ((c >> a) & 1 ? h : -h);
        init_node(&t->nodes[first + c], center, h);
    }
    nd->child = first;
    return AV_OK;
}

int av_tree_build(av_tree *t, const double *Y, int64_t n, int dim) {
    t->dim = dim;
    t->used = 0;
    if (t->next_cap < n) {
        int32_t *next = realloc(t->next, (size_t)n * sizeof *next);
        if (!next) return av_fail("t-SNE tree: out of memory for %lld points", (long long)n);
        t->next = next;
        t->next_cap = n;
    }
    for (int64_t i = 0; i < n; i++) t->next[i] = -1;
    double lo[3] = {INFINITY, INFINITY, INFINITY}, hi[3] = {-INFINITY, -INFINITY, -INFINITY};
    for (int64_t i = 0; i < n; i++)
        for (int a = 0; a < dim; a++) {
            double v = Y[i * dim + a];
            if (v < lo[a]) lo[a] = v;
            if (v > hi[a]) hi[a] = v;
        }
    float center[3] = {0, 0, 0};
    double half = 0;
    for (int a = 0; a < dim; a++) {
        center[a] = (float)(0.5 * (lo[a] + hi[a]));
        if (0.5 * (hi[a] - lo[a]) > half) half = 0.5 * (hi[a] - lo[a]);
    }
    /* a margin so float centres never leave a point just outside its cell */
    half = half * (1 + 1e-5) + 1e-10;
    int32_t root = alloc_nodes(t, 1);
    if (root < 0) return AV_ERR;
    init_node(&t->nodes[root], center, (float)half);
    for (int64_t i = 0; i < n; i++) {
        const double *y = Y + i * dim;
        int32_t node = root;
        for (int depth = 0;; depth++) {
            av_tree_node *nd = &t->nodes[node];
            nd->count++;
            for (int a = 0; a < dim; a++) nd->com[a] += y[a];
            if (nd->child >= 0) { node = nd->child + which_child(nd, y, dim); continue; }
            if (nd->point < 0) { nd->point = (int32_t)i; break; }
            const double *p = Y + (int64_t)nd->point * dim;
            int same = 1;
            for (int a = 0; a < dim; a++) same &= p[a] == y[a];
            if (same || depth >= MAX_DEPTH) { /* merged into this leaf's chain */
                t->next[i] = t->next[nd->point];
                t->next[nd->point] = (int32_t)i;
                break;
            }
            /* split the leaf: its earlier points (all at p) move down into one child */
            int32_t old = nd->point;
            int32_t old_count = nd->count - 1;
            if (split(t, node) != AV_OK) return AV_ERR;
            nd = &t->nodes[node]; /* the array may have moved */
            av_tree_node *ch = &t->nodes[nd->child + which_child(nd, p, dim)];
            ch->point = old;
            ch->count = old_count;
            for (int a = 0; a < dim; a++) ch->com[a] = p[a] * old_count;
            nd->point = -1;
            node = nd->child + which_child(nd, y, dim);
        }
    }
    for (int64_t j = 0; j < t->used; j++) {
        av_tree_node *nd = &t->nodes[j];
        if (nd->count > 0)
            for (int a = 0; a < dim; a++) nd->com[a] /= nd->count;
    }
    return AV_OK;
}

void av_tree_order(const av_tree *t, int64_t *order) {
    int nc = 1 << t->dim;
    int32_t stack[MAX_DEPTH * 8 + 16];
    int top = 0;
    int64_t m = 0;
    if (t->used > 0) stack[top++] = 0;
    while (top > 0) {
        const av_tree_node *nd = &t->nodes[stack[--top]];
        if (nd->child < 0) {
            for (int32_t p = nd->point; p >= 0; p = t->next[p]) order[m++] = p;
            continue;
        }
        for (int c = nc - 1; c >= 0; c--) stack[top++] = nd->child + c;
    }
}

double av_tree_repulsion(const av_tree *t, const double *y, double theta, double *neg) {
    int dim = t->dim, nc = 1 << dim;
    int32_t stack[MAX_DEPTH * 8 + 16];
    int top = 0;
    stack[top++] = 0;
    double sum_q = 0, th2 = theta * theta;
    while (top > 0) {
        const av_tree_node *nd = &t->nodes[stack[--top]];
        if (nd->count == 0) continue;
        double diff[3] = {0, 0, 0}, d2 = 0;
        for (int a = 0; a < dim; a++) {
            diff[a] = y[a] - nd->com[a];
            d2 += diff[a] * diff[a];
        }
        double side = 2.0 * nd->half;
        if (nd->child < 0 || side * side < th2 * d2) {
            double mult = nd->count;
            if (d2 == 0) {
                /* only a leaf can sit exactly on y: it holds y itself (and its
                 * duplicates, which attract nothing but still count in Z) */
                sum_q += mult - 1;
                continue;
            }
            double q = 1.0 / (1.0 + d2), mq = mult * q;
            sum_q += mq;
            for (int a = 0; a < dim; a++) neg[a] += mq * q * diff[a];
            continue;
        }
        for (int c = 0; c < nc; c++) stack[top++] = nd->child + c;
    }
    return sum_q;
}
