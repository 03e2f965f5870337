/* tsne_cpu.c - Barnes-Hut t-SNE (van der Maaten 2014) in 2-D and 3-D, on the CPU; the
 * schedule, checks, start and iteration loop it shares with the GPU are in tsne_driver.c.
 *
 * Pipeline: kNN (FAISS, k = min(n-1, 3 perplexity)) -> per-point Gaussian bandwidth by
 * bisection to the wanted perplexity -> symmetric sparse P (CSR, sums to 1) -> PCA
 * initialisation scaled to std 1e-4 (plus seeded 1e-6 jitter, so duplicates separate
 * and the seed matters) -> gradient descent with momentum and gains.
 *
 * The gradient is written without the customary factor 4 (as openTSNE does), so the
 * auto learning rate max(n / early_exag, 200) takes the same steps as scikit-learn's
 * max(n / early_exag / 4, 50) with its factor 4. Momentum 0.5 during early
 * exaggeration, 0.8 after; gains +0.2 when the gradient turns, x0.8 when it does not,
 * never below 0.01; the embedding is re-centred after every step (openTSNE).
 * Everything that runs in parallel writes per point and sums in a fixed order, so a
 * seed gives the same embedding whatever the thread count. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "kernels/backend/determinism.h"
#include "kernels/knn/knn.h"
#include "kernels/project.h"
#include "kernels/tsne/tsne.h"
#include "kernels/tsne/tsne_fft.h"
#include "kernels/tsne/tsne_tree.h"
#include "base/util.h"

/* Below this many points an iteration takes well under a millisecond, and waking the
 * OpenMP team for each of its loops costs more than it saves (badly so when the cores
 * are shared): small clouds run on one thread. */
#define AV_TSNE_PARALLEL_MIN 2048

/* Conditional p_{j|i} of one row of k neighbour distances, by bisection on the
 * precision beta until the entropy is log(perplexity). Distances are shifted by their
 * minimum first: it cancels in the normalisation and keeps exp() from underflowing. */
static void calibrate_row(const float *dist, int k, double log_perp, double *p) {
    double dmin = INFINITY;
    for (int j = 0; j < k; j++) dmin = dist[j] < dmin ? dist[j] : dmin;
    double beta = 1, lo = -INFINITY, hi = INFINITY;
    for (int it = 0; it < 200; it++) {
        double sum = 0, dsum = 0;
        for (int j = 0; j < k; j++) {
            double dj = dist[j] - dmin;
            p[j] = exp(-beta * dj);
            sum += p[j];
            dsum += dj * p[j];
        }
        double H = log(sum) + beta * dsum / sum;
        if (fabs(H - log_perp) < 1e-8) break;
        if (H > log_perp) { lo = beta; beta = isinf(hi) ? beta * 2 : 0.5 * (beta + hi); }
        else { hi = beta; beta = isinf(lo) ? beta * 0.5 : 0.5 * (beta + lo); }
    }
    double sum = 0;
    for (int j = 0; j < k; j++) sum += p[j];
    for (int j = 0; j < k; j++) p[j] /= sum;
}

typedef struct { int64_t col; double val; } entry;
static int cmp_entry(const void *a, const void *b) {
    int64_t x = ((const entry *)a)->col, y = ((const entry *)b)->col;
    return (x > y) - (x < y);
}

/* P = (P_cond + P_cond^T) / sum, as CSR with sorted columns and no duplicates. */
static int symmetrise(const av_knn *nn, const double *pc, av_tsne_P *P) {
    int64_t n = nn->n;
    int k = nn->k;
    int64_t *start = av_calloc((size_t)n + 1, sizeof *start);
    int64_t *fill = av_malloc((size_t)n * sizeof *fill);
    entry *e = av_malloc((size_t)n * 2 * k * sizeof *e);
    if (!start || !fill || !e) { free(start); free(fill); free(e); return AV_ERR_NOMEM; }
    for (int64_t i = 0; i < n; i++) {
        start[i + 1] += k;
        for (int j = 0; j < k; j++) start[nn->idx[i * k + j] + 1]++;
    }
    for (int64_t i = 0; i < n; i++) start[i + 1] += start[i];
    for (int64_t i = 0; i < n; i++) fill[i] = start[i];
    for (int64_t i = 0; i < n; i++)
        for (int j = 0; j < k; j++) {
            int64_t c = nn->idx[i * k + j];
            double v = pc[i * k + j];
            e[fill[i]++] = (entry){c, v};
            e[fill[c]++] = (entry){i, v};
        }
    int64_t *len = fill; /* reused: merged length of each row */
#pragma omp parallel for schedule(dynamic, 256)
    for (int64_t i = 0; i < n; i++) {
        entry *r = e + start[i];
        int64_t m = start[i + 1] - start[i], o = 0;
        qsort(r, (size_t)m, sizeof *r, cmp_entry);
        for (int64_t a = 0; a < m; a++) {
            if (o > 0 && r[o - 1].col == r[a].col) r[o - 1].val += r[a].val;
            else r[o++] = r[a];
        }
        len[i] = o;
    }
    P->n = n;
    P->rowptr = av_malloc(((size_t)n + 1) * sizeof *P->rowptr);
    int64_t nnz = 0;
    for (int64_t i = 0; i < n; i++) nnz += len[i];
    P->col = av_malloc((size_t)nnz * sizeof *P->col);
    P->val = av_malloc((size_t)nnz * sizeof *P->val);
    if (!P->rowptr || !P->col || !P->val) {
        free(start); free(fill); free(e);
        av_tsne_P_free(P);
        return AV_ERR_NOMEM;
    }
    double total = 0;
    int64_t o = 0;
    for (int64_t i = 0; i < n; i++) {
        P->rowptr[i] = o;
        for (int64_t a = 0; a < len[i]; a++) {
            P->col[o] = e[start[i] + a].col;
            P->val[o] = e[start[i] + a].val;
            total += P->val[o++];
        }
    }
    P->rowptr[n] = o;
    for (int64_t a = 0; a < o; a++) P->val[a] /= total;
    free(start); free(fill); free(e);
    return AV_OK;
}

void av_tsne_P_free(av_tsne_P *P) {
    free(P->rowptr); free(P->col); free(P->val);
    memset(P, 0, sizeof *P);
}

int av_tsne_affinities(const float *X, int64_t n, int d, double perplexity, av_metric metric,
                       av_knn_method knn_method, uint64_t seed, av_tsne_P *P) {
    memset(P, 0, sizeof *P);
    double perp = av_tsne_effective_perplexity(n, perplexity);
    int k = (int)fmin((double)(n - 1), floor(3.0 * perp));
    if (k < 1) return av_fail("t-SNE: perplexity %g leaves no neighbours", perplexity);
    av_knn nn;
    if (av_knn_build(X, n, d, k, metric, knn_method, seed, &nn) != AV_OK) return AV_ERR;
    /* Euclidean: FAISS gives squared distances already. Cosine: openTSNE's convention,
     * the cosine distance squared, so both metrics enter exp(-beta * dist^2). */
    if (metric == AV_METRIC_COSINE)
        for (int64_t a = 0; a < n * k; a++) nn.dist[a] *= nn.dist[a];
    double *pc = av_malloc((size_t)n * k * sizeof *pc);
    if (!pc) { av_knn_free(&nn); return AV_ERR_NOMEM; }
    double log_perp = log(perp);
#pragma omp parallel for schedule(dynamic, 256)
    for (int64_t i = 0; i < n; i++) calibrate_row(nn.dist + i * k, k, log_perp, pc + i * k);
    int rc = symmetrise(&nn, pc, P);
    free(pc);
    av_knn_free(&nn);
    return rc;
}

/* Gradient (without factor 4) of KL(P || Q) at Y into G; returns Z = sum_{i!=j} q_ij
 * as estimated by the tree. When kl_row [n] is given, it receives each row's
 * sum_j P_ij log(P_ij / w_ij) over the sparse P (w_ij = 1 / (1 + d_ij^2)); KL = their
 * sum (av_det_sum, the same on any thread count) + log Z. */
static int gradient(const av_tsne_P *P, const double *Y, int64_t n, int dim, double theta,
                    double exag, av_tree *tree, av_tsne_fft *fft, int64_t *order, double *sumq_row,
                    double *G, double *Z_out, double *kl_row) {
    double Z = 0;
    if (fft) { /* 2-D FFT interpolation (tsne_fft.c) instead of the tree */
        if (av_tsne_fft_repulsion(fft, Y, n, G, &Z) != AV_OK) return AV_ERR;
    } else {
        if (av_tree_build(tree, Y, n, dim) != AV_OK) return AV_ERR;
        av_tree_order(tree, order);
#pragma omp parallel for schedule(dynamic, 128) if (n >= AV_TSNE_PARALLEL_MIN)
        for (int64_t o = 0; o < n; o++) {
            int64_t i = order[o];
            double neg[3] = {0, 0, 0};
            sumq_row[i] = av_tree_repulsion(tree, Y + i * dim, theta, neg);
            for (int a = 0; a < dim; a++) G[i * dim + a] = neg[a];
        }
        for (int64_t i = 0; i < n; i++) Z += sumq_row[i];
    }
    if (Z <= 0) Z = 1e-300;
    int want_kl = kl_row != NULL;
#pragma omp parallel for schedule(dynamic, 256) if (n >= AV_TSNE_PARALLEL_MIN)
    for (int64_t i = 0; i < n; i++) {
        double pos[3] = {0, 0, 0}, klp = 0;
        const double *yi = Y + i * dim;
        for (int64_t e = P->rowptr[i]; e < P->rowptr[i + 1]; e++) {
            const double *yj = Y + P->col[e] * dim;
            double diff[3], d2 = 0;
            for (int a = 0; a < dim; a++) { diff[a] = yi[a] - yj[a]; d2 += diff[a] * diff[a]; }
            double w = 1.0 / (1.0 + d2), pw = P->val[e] * w;
            for (int a = 0; a < dim; a++) pos[a] += pw * diff[a];
            if (want_kl && P->val[e] > 0) klp += P->val[e] * log(P->val[e] / w);
        }
        for (int a = 0; a < dim; a++) G[i * dim + a] = exag * pos[a] - G[i * dim + a] / Z;
        if (want_kl) kl_row[i] = klp;
    }
    *Z_out = Z;
    return AV_OK;
}

/* Z summed over all pairs: O(n^2), used for the final KL on small n. Each row's sum goes
 * to row[i]; the rows are added by av_det_sum. */
static double exact_Z(const double *Y, int64_t n, int dim, double *row) {
#pragma omp parallel for schedule(dynamic, 64)
    for (int64_t i = 0; i < n; i++) {
        double s = 0;
        for (int64_t j = 0; j < n; j++) {
            if (j == i) continue;
            double d2 = 0;
            for (int a = 0; a < dim; a++) {
                double t = Y[i * dim + a] - Y[j * dim + a];
                d2 += t * t;
            }
            s += 1.0 / (1.0 + d2);
        }
        row[i] = s;
    }
    return av_det_sum(row, n);
}

int av_tsne_kl(const av_tsne_P *P, const float *Yf, int64_t n, int dim, int exact, double *kl) {
    double *Y = av_malloc((size_t)n * dim * sizeof *Y), *G = av_malloc((size_t)n * dim * sizeof *G);
    double *sq = av_malloc((size_t)n * sizeof *sq), *klr = av_malloc((size_t)n * sizeof *klr);
    int64_t *order = av_malloc((size_t)n * sizeof *order);
    av_tree tree = {0};
    int rc = AV_ERR_NOMEM;
    if (Y && G && sq && klr && order) {
        for (int64_t a = 0; a < n * dim; a++) Y[a] = Yf[a];
        double Z;
        rc = gradient(P, Y, n, dim, 0.5, 1.0, &tree, NULL, order, sq, G, &Z, klr);
        if (rc == AV_OK) {
            double klp = av_det_sum(klr, n);
            *kl = klp + log(exact ? exact_Z(Y, n, dim, sq) : Z);
        }
    }
    av_tree_free(&tree);
    free(Y); free(G); free(sq); free(klr); free(order);
    return rc;
}

/* PCA initialisation, scaled so the first axis has std 1e-4, plus seeded jitter. A
 * cloud with no variance (all points equal) starts from the jitter alone. */
static int initialise(const float *X, int64_t n, int d, int dim, uint64_t seed, double *Y) {
    float *init = av_malloc((size_t)n * dim * sizeof *init);
    if (!init) return AV_ERR_NOMEM;
    int pca_ok = dim <= d && av_pca(X, n, d, dim, init, NULL) == AV_OK;
    av_tsne_start_from_pca(init, pca_ok, n, dim, seed, Y);
    free(init);
    av_clear_error(); /* a PCA that could not run only means a jitter start */
    return AV_OK;
}

/* The CPU's side of the iteration loop (av_tsne_iterate): positions, gradient, update
 * and optimiser state in double. */
typedef struct {
    const av_tsne_P *P;
    int64_t n;
    int dim;
    double theta, lr;
    double *Y, *G, *U, *gains, *sq;
    double *klr;         /* each row's share of the KL, added by av_det_sum */
    int64_t *order;
    av_tree tree;
    av_tsne_fft *fft;    /* NULL: Barnes-Hut */
    double kl;           /* measured by the last step that wanted it */
} cpu_run;

static int cpu_step(void *state, const av_tsne_phase *s, int want_kl) {
    cpu_run *c = state;
    int64_t n = c->n;
    int dim = c->dim;
    size_t nd = (size_t)n * dim;
    double Z;
    if (gradient(c->P, c->Y, n, dim, c->theta, s->exag, &c->tree, c->fft, c->order, c->sq, c->G, &Z,
                 want_kl ? c->klr : NULL) != AV_OK)
        return AV_ERR;
    double *Y = c->Y, *U = c->U, *gains = c->gains, mom = s->momentum, lr = c->lr;
    const double *G = c->G;
#pragma omp parallel for schedule(static) if (n >= AV_TSNE_PARALLEL_MIN)
    for (size_t a = 0; a < nd; a++) {
        double g = G[a];
        gains[a] = U[a] * g < 0 ? gains[a] + 0.2 : gains[a] * 0.8;
        if (gains[a] < 0.01) gains[a] = 0.01;
        U[a] = mom * U[a] - lr * gains[a] * g;
        Y[a] += U[a];
    }
    double mean[3] = {0, 0, 0};
    for (int64_t i = 0; i < n; i++)
        for (int a = 0; a < dim; a++) mean[a] += Y[i * dim + a];
    for (int a = 0; a < dim; a++) mean[a] /= (double)n;
    for (int64_t i = 0; i < n; i++)
        for (int a = 0; a < dim; a++) Y[i * dim + a] -= mean[a];
    /* BH estimate at the step's starting point, against the unexaggerated P */
    if (want_kl) c->kl = av_det_sum(c->klr, n) + log(Z);
    return AV_OK;
}

static int cpu_report(void *state, float *Yout, double *kl) {
    cpu_run *c = state;
    for (size_t a = 0; a < (size_t)c->n * c->dim; a++) Yout[a] = (float)c->Y[a];
    *kl = c->kl;
    return AV_OK;
}

int av_tsne(const float *X, int64_t n, int d, const av_tsne_params *p, float *Yout, double *kl_out) {
    if (av_tsne_check(n, p, INT32_MAX / 2, "t-SNE") != AV_OK) return AV_ERR;
    int dim = p->dim;
    av_tsne_P P;
    if (av_tsne_affinities(X, n, d, av_tsne_effective_perplexity(n, p->perplexity), p->metric, p->knn_method,
                           p->seed, &P) != AV_OK)
        return AV_ERR;
    size_t nd = (size_t)n * dim;
    av_tsne_fft fft = {0};
    cpu_run c = {.P = &P, .n = n, .dim = dim, .theta = p->theta, .lr = av_tsne_learning_rate(n, p),
                 .fft = av_tsne_uses_fft(n, dim, p->method) ? &fft : NULL};
    c.Y = av_malloc(nd * sizeof *c.Y);
    c.G = av_malloc(nd * sizeof *c.G);
    c.U = av_calloc(nd, sizeof *c.U);
    c.gains = av_malloc(nd * sizeof *c.gains);
    c.sq = av_malloc((size_t)n * sizeof *c.sq);
    c.klr = av_malloc((size_t)n * sizeof *c.klr);
    c.order = av_malloc((size_t)n * sizeof *c.order);
    static const av_tsne_engine cpu_engine = {cpu_step, cpu_report, NULL};
    int rc = AV_ERR_NOMEM;
    if (!c.Y || !c.G || !c.U || !c.gains || !c.sq || !c.klr || !c.order) goto done;
    if ((rc = initialise(X, n, d, dim, p->seed, c.Y)) != AV_OK) goto done;
    for (size_t a = 0; a < nd; a++) c.gains[a] = 1;
    if ((rc = av_tsne_iterate(p, n, &cpu_engine, &c, Yout)) != AV_OK) goto done;
    for (size_t a = 0; a < nd; a++) Yout[a] = (float)c.Y[a];
    if (kl_out) {
        av_tree_free(&c.tree);
        rc = av_tsne_kl(&P, Yout, n, dim, av_tsne_kl_is_exact(n), kl_out);
    }
done:
    av_tree_free(&c.tree);
    av_tsne_fft_free(&fft);
    av_tsne_P_free(&P);
    free(c.Y); free(c.G); free(c.U); free(c.gains); free(c.sq); free(c.klr); free(c.order);
    return rc;
}
