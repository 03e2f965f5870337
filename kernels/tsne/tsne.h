/* tsne.h - the pieces of t-SNE beyond project.h's av_tsne, for tests, the benchmark, the
 * project command and the GPU version: the sparse affinities P and the KL divergence of
 * an embedding against them (tsne_cpu.c), and the driver both devices share
 * (tsne_driver.c). av_tsne_P owns its three arrays; av_tsne_P_free releases them. */
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

/* av_tsne_params.method auto uses FFT interpolation (2-D) from this many points:
 * measured in bench/RESULTS-tsne.md. */
#define AV_TSNE_FFT_AUTO_N 20000

/* ---- what the CPU and GPU versions share (tsne_driver.c) ---------------------------- */
/* Perplexity actually used for n points: at most (n - 1) / 3 so that 3 perplexity
 * neighbours exist (openTSNE's rule); the project command warns when it clamps. */
double av_tsne_effective_perplexity(int64_t n, double perplexity);
/* 1 when av_tsne sums the repulsion by FFT interpolation for n points in dim. */
int av_tsne_uses_fft(int64_t n, int dim, av_tsne_method method);
/* 1 when the reported KL is exact for n points, 0 when BH-estimated. */
int av_tsne_kl_is_exact(int64_t n);
/* The checks every device makes: points, dim, perplexity, iterations, theta, the FFT
 * method's 2-D limit, and at most max_n points (the device's index range; the message
 * names `who`, "t-SNE" or "t-SNE on the GPU"). */
int av_tsne_check(int64_t n, const av_tsne_params *p, int64_t max_n, const char *who);
/* The learning rate: p->learning_rate, or when <= 0 the auto max(n / early_exag, 200). */
double av_tsne_learning_rate(int64_t n, const av_tsne_params *p);
/* Iteration it's phase: early exaggeration (exag p->early_exag, momentum 0.5) for the
 * first p->early_iters iterations, then exag 1 and momentum 0.8. */
typedef struct { int early; double exag, momentum; } av_tsne_phase;
av_tsne_phase av_tsne_schedule(const av_tsne_params *p, int it);
/* The start: init [n, dim] (a PCA of X) scaled so its first axis has std 1e-4 (ignored
 * when !pca_ok: a cloud PCA could not handle starts from the jitter alone), plus
 * N(0, 1e-6) jitter from the seed, row-major into Y. Both devices start here, so a seed
 * means the same start on both. */
void av_tsne_start_from_pca(const float *init, int pca_ok, int64_t n, int dim, uint64_t seed, double *Y);

/* One device's side of the iteration loop. step runs (or enqueues) one iteration: the
 * gradient at exaggeration s->exag, the gains and momentum update at the device's
 * learning rate, the re-centring; with want_kl it also measures the KL (against the
 * unexaggerated P, at the step's starting point) for a report. report puts the positions
 * after the last step, row-major [n, dim], into Y with that KL. Both return AV_OK or
 * AV_ERR with av_last_error() set. */
typedef struct {
    int (*step)(void *state, const av_tsne_phase *s, int want_kl);
    int (*report)(void *state, float *Y, double *kl);
    /* optional (NULL on the CPU): hands p->on_iter_device the positions where they are,
     * on the device, without waiting for them */
    int (*report_device)(void *state, const av_tsne_params *p, int iter);
} av_tsne_engine;
/* Runs p->iters steps on the schedule, and every p->every iterations a report: to
 * p->on_iter_device through e->report_device when both are set, else (when p->on_iter
 * is set) to p->on_iter with Y as its buffer [n, dim]. */
int av_tsne_iterate(const av_tsne_params *p, int64_t n, const av_tsne_engine *e, void *state, float *Y);
#endif
