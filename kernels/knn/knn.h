/* knn.h - what knn.c adds to project.h's av_knn_build: the auto threshold between exact
 * and approximate search, and the HNSW search breadth. The av_knn result is owned by
 * the caller and released with av_knn_free. */
#ifndef AV_KERNELS_KNN_KNN_H
#define AV_KERNELS_KNN_KNN_H
#include <stdint.h>
#include "kernels/project.h"

/* --knn auto: exact brute force up to this many points, HNSW above. Measured
 * (bench/RESULTS-tsne-parts.md, 64-D, k = 90, one thread): flat search took 0.5 / 1.5 / 4.9 s
 * CPU at 10k / 20k / 40k points, HNSW 1.3 / 3.6 / 11.8 s; flat grows as n^2, HNSW as
 * n log n, so they cross near 10^5. */
#define AV_KNN_EXACT_MAX 100000
/* HNSW efSearch for k neighbours: wide enough that recall at k stays near 1. */
#define AV_KNN_EF_SEARCH(k) ((k) * 2 > 128 ? (k) * 2 : 128)

/* Candidates fetched beyond k + 1 and re-ranked by exact distances. */
#define AV_KNN_RERANK_EXTRA 8

/* The method `auto` stands for at n points (other methods are returned unchanged). */
av_knn_method av_knn_resolve(av_knn_method m, int64_t n);
#endif
