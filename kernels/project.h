/* project.h - projections of one head's joint query/key cloud: the CPU functions (the
 * reference, kernels/<op>/<op>_cpu.c), and the projection backend table through which
 * the engine and the live viewer call them or their GPU twins (kernels/<op>/<op>.cu,
 * declared in kernels/project_cuda.h, same signatures with _cuda).
 *
 * The cloud is X [n, d] f32 row-major, n = 2T: T queries then T keys. Outputs are Y
 * [n, dim] f32 with dim 2 or 3. Each function returns AV_OK or AV_ERR with
 * av_last_error() set; none allocates what it returns (the caller owns X, Y, knn). */
#ifndef AV_KERNELS_PROJECT_H
#define AV_KERNELS_PROJECT_H
#include <stddef.h>
#include <stdint.h>
#include "kernels/backend/device.h"

typedef enum { AV_METRIC_EUCLIDEAN = 0, AV_METRIC_COSINE = 1 } av_metric;
typedef enum { AV_KNN_AUTO = 0, AV_KNN_EXACT = 1, AV_KNN_APPROX = 2 } av_knn_method;

/* k nearest neighbours of every point (itself excluded), by FAISS. idx [n, k] int64,
 * dist [n, k] f32: squared Euclidean distance, or 1 - cosine similarity. */
typedef struct { int64_t n; int k; int64_t *idx; float *dist; } av_knn;
int av_knn_build(const float *X, int64_t n, int d, int k, av_metric metric,
                 av_knn_method method, uint64_t seed, av_knn *out);
void av_knn_free(av_knn *knn);

/* How t-SNE sums the repulsive forces: Barnes-Hut (kernels/tsne/tsne_tree.c, 2-D and 3-D) or
 * FFT interpolation (kernels/tsne/tsne_fft.c, 2-D only); auto picks FFT in 2-D from
 * AV_TSNE_FFT_AUTO_N points (kernels/tsne/tsne.h), Barnes-Hut otherwise. */
typedef enum { AV_TSNE_AUTO = 0, AV_TSNE_BH, AV_TSNE_FFT } av_tsne_method;

typedef struct {
    int dim;               /* 2 or 3 */
    double perplexity;     /* 30 */
    int iters;             /* 1000 */
    double theta;          /* 0.5 */
    double early_exag;     /* 12, for early_iters */
    int early_iters;       /* 250 */
    double learning_rate;  /* <= 0: auto = max(n / early_exag, 200) */
    uint64_t seed;
    av_metric metric;
    av_knn_method knn_method;
    av_tsne_method method; /* AV_TSNE_AUTO */
    /* called every `every` iterations (live viewer, progress) with the positions and the
     * KL (BH estimate) of that iteration; may be NULL. A batch of heads (the table's
     * tsne_batch) calls it for progress only: Y NULL, kl NaN, iter the iterations its
     * heads have completed on average. */
    void (*on_iter)(void *user, int iter, const float *Y, int64_t n, double kl);
    /* A GPU backend's alternative to on_iter, used instead of it when set (the CPU
     * ignores it): the positions are left on the device, point i's axis a at
     * pos[i * point_stride + a * axis_stride], ready in the order of `stream` (a
     * cudaStream_t). The callee enqueues what reads them on that stream and returns
     * without waiting; the next iteration is enqueued after it. Single heads only. */
    void (*on_iter_device)(void *user, int iter, const float *pos, int64_t axis_stride, int64_t point_stride,
                           void *stream);
    void *user;
    int every;
} av_tsne_params;
void av_tsne_defaults(av_tsne_params *p);
/* kl_out: the final KL divergence (may be NULL). */
int av_tsne(const float *X, int64_t n, int d, const av_tsne_params *p, float *Y, double *kl_out);

typedef struct {
    int dim;
    int n_neighbors;       /* 15 */
    double min_dist;       /* 0.1 */
    double spread;         /* 1.0 */
    int epochs;            /* <= 0: auto (av_umap_epochs, kernels/umap/umap.h) */
    int negative_sample_rate; /* 5 */
    double learning_rate;  /* 1.0 */
    uint64_t seed;
    av_metric metric;
    av_knn_method knn_method;
    void (*on_epoch)(void *user, int epoch, const float *Y, int64_t n);
    /* as av_tsne_params.on_iter_device, for epochs */
    void (*on_epoch_device)(void *user, int epoch, const float *pos, int64_t axis_stride, int64_t point_stride,
                            void *stream);
    void *user;
    int every;
} av_umap_params;
void av_umap_defaults(av_umap_params *p);
int av_umap(const float *X, int64_t n, int d, const av_umap_params *p, float *Y);

/* Exact PCA: covariance + LAPACK symmetric eigensolver. components [dim, d] optional. */
int av_pca(const float *X, int64_t n, int d, int dim, float *Y, float *components);

/* ---- projection backend table ------------------------------------------------------ */
/* One device's projections, with the CPU functions' signatures and semantics: host
 * pointers in and out, whatever device computes, so callers stay the same for every
 * backend (the forward pass's table is av_backend in kernels/ops.h). Every slot but the
 * optional ones is filled by a complete backend; av_project_backend_for fills the slots
 * a backend lacks from the CPU's and says so. */
typedef struct av_project_backend {
    const char *name;
    int (*knn)(const float *X, int64_t n, int d, int k, av_metric metric, av_knn_method method, uint64_t seed,
               av_knn *out);
    int (*pca)(const float *X, int64_t n, int d, int dim, float *Y, float *components);
    int (*tsne)(const float *X, int64_t n, int d, const av_tsne_params *p, float *Y, double *kl_out);
    int (*umap)(const float *X, int64_t n, int d, const av_umap_params *p, float *Y);
    /* ---- optional: NULL (0) when the backend has no such thing ------------------------ */
    /* Several heads of the same size at once, each exactly as tsne would project it
     * alone: X[h] [n, d] -> Y[h] [n, p->dim], kl_out [heads] (may be NULL). p->on_iter
     * only reports progress (see av_tsne_params). NULL: heads go to tsne one by one. */
    int (*tsne_batch)(const float *const *X, int heads, int64_t n, int d, const av_tsne_params *p,
                      float *const *Y, double *kl_out);
    /* Heads tsne_batch runs side by side: a caller with more hands it this many at a
     * time, so no more clouds than that wait in host memory. */
    int batch_heads;
} av_project_backend;

/* The CPU's table (kernels/knn, pca, tsne, umap): no batch slot, as the CPU runs small
 * heads side by side on its threads (engine/projectrun.c). */
const av_project_backend *av_project_backend_cpu(void);
/* The CUDA table (kernels/project_cuda.h); NULL with av_last_error() saying why when the
 * build has no CUDA or no device is usable. */
const av_project_backend *av_project_backend_cuda(void);

/* *out = be with every required slot (knn, pca, tsne, umap) that be leaves NULL taken
 * from the CPU's table; note (note_len bytes, may be NULL) says which ("the cuda backend
 * has no umap: umap runs on the CPU"), "" when none. */
void av_project_backend_complete(const av_project_backend *be, av_project_backend *out, char *note, size_t note_len);
/* The completed table of a device (device.h): av_project_backend_complete of the CPU's
 * or the CUDA table; AV_ERR when the device has no table (CUDA absent). */
int av_project_backend_for(av_device device, av_project_backend *out, char *note, size_t note_len);

#endif
