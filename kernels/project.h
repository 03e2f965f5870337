/* project.h - projections of one head's joint query/key cloud, on the CPU (the
 * reference; GPU versions (kernels/<op>/<op>.cu, declared in kernels/project_cuda.h) follow the same signatures with _cuda).
 *
 * The cloud is X [n, d] f32 row-major, n = 2T: T queries then T keys. Outputs are Y
 * [n, dim] f32 with dim 2 or 3. Each function returns AV_OK or AV_ERR with
 * av_last_error() set; none allocates what it returns (the caller owns X, Y, knn). */
#ifndef AV_KERNELS_PROJECT_H
#define AV_KERNELS_PROJECT_H
#include <stdint.h>

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
    /* called every `every` iterations (live viewer, progress); may be NULL */
    void (*on_iter)(void *user, int iter, const float *Y, int64_t n, double kl);
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
    int epochs;            /* <= 0: auto (500 for n <= 10000, else 200) */
    int negative_sample_rate; /* 5 */
    double learning_rate;  /* 1.0 */
    uint64_t seed;
    av_metric metric;
    av_knn_method knn_method;
    void (*on_epoch)(void *user, int epoch, const float *Y, int64_t n);
    void *user;
    int every;
} av_umap_params;
void av_umap_defaults(av_umap_params *p);
int av_umap(const float *X, int64_t n, int d, const av_umap_params *p, float *Y);

/* Exact PCA: covariance + LAPACK symmetric eigensolver. components [dim, d] optional. */
int av_pca(const float *X, int64_t n, int d, int dim, float *Y, float *components);

#endif
