/* tsne.h - the pieces of t-SNE (tsne.c) beyond project.h's av_tsne, for tests, the
 * benchmark and the project command: the sparse affinities P, the KL divergence of an
 * embedding against them, and the perplexity clamp. av_tsne_P owns its three arrays;
 * av_tsne_P_free releases them. */
#ifndef AV_KERNELS_TSNE_TSNE_H
#define AV_KERNELS_TSNE_TSNE_H
#include <stdint.h>
#include "kernels/project.h"

/* The final KL is computed exactly (all n^2 pairs) up to this many points, else with
 * the Barnes-Hut estimate of the normalisation Z. */
#define AV_TSNE_KL_EXACT_MAX 10000

/* Symmetric joint probabilities, CSR with sorted columns, summing to 1. */
typedef struct { int64_t n; int64_t *rowptr, *col; double *val; } av_tsne_P;

/* P of X at the given perplexity (clamped like av_tsne; see below). */
int av_tsne_affinities(const float *X, int64_t n, int d, double perplexity, av_metric metric,
                       av_knn_method knn_method, uint64_t seed, av_tsne_P *P);
void av_tsne_P_free(av_tsne_P *P);
/* KL(P || Q(Y)); exact = 1 sums Z over all pairs, else the BH estimate (theta 0.5). */
int av_tsne_kl(const av_tsne_P *P, const float *Y, int64_t n, int dim, int exact, double *kl);

/* Perplexity actually used for n points: at most (n - 1) / 3 so that 3 perplexity
 * neighbours exist (openTSNE's rule). The caller says so when it clamps (kernels never print). */
double av_tsne_effective_perplexity(int64_t n, double perplexity);
/* av_tsne_params.method auto uses FFT interpolation (2-D) from this many points:
 * measured in bench/RESULTS-tsne.md. */
#define AV_TSNE_FFT_AUTO_N 20000
/* 1 when av_tsne sums the repulsion by FFT interpolation for n points in dim. */
/* t-SNE's start from a PCA init (see kernels/tsne/tsne_cpu.c); shared by the CPU and GPU versions. */
void av_tsne_start_from_pca(const float *init, int pca_ok, int64_t n, int dim, uint64_t seed, double *Y);
int av_tsne_uses_fft(int64_t n, int dim, av_tsne_method method);
/* 1 when av_tsne's reported KL is exact for n points, 0 when BH-estimated. */
int av_tsne_kl_is_exact(int64_t n);
#endif
