/* umap_init.c - UMAP's spectral initialisation (umap-learn's spectral_layout and
 * multi_component_layout).
 *
 * Per connected component: the eigenvectors of the normalised Laplacian
 * L = I - D^-1/2 W D^-1/2 with the smallest non-zero eigenvalues, i.e. the largest
 * eigenvalues of M = D^-1/2 W D^-1/2 once the known top eigenvector D^1/2 1 is projected
 * out. umap-learn asks ARPACK (eigsh); here a thick-restart Lanczos with full
 * reorthogonalisation does the same job in O(nnz + n m^2) per cycle, so it scales to
 * 10^5-10^6 points without a dense eigensolver. A component too small for a spectral
 * layout is placed uniformly at random around its centre, as umap-learn does.
 *
 * Several components: each is laid out on its own, scaled to half the distance to the
 * nearest other component, and shifted to a centre. Up to 2*dim components the centres
 * are +-unit vectors (as umap-learn); beyond that umap-learn embeds the component
 * centroids spectrally, while here the centres are the centroids' top PCA directions
 * (scaled to max |x| = 1): same purpose (related components start near each other),
 * no second eigen-solver. */
#include "kernels/umap/umap.h"

#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "base/rng.h"
#include "base/util.h"
#include "kernels/backend/determinism.h"

#define LANCZOS_BASIS 48
#define LANCZOS_CYCLES 200
#define LANCZOS_TOL 1e-4   /* residual |M y - theta y|, as umap-learn's eigsh tol */

typedef struct {
    int64_t n;
    const int64_t *rowptr, *col;
    const float *val;
    const int64_t *local;   /* global -> local index for the component */
    const int64_t *verts;   /* local -> global */
    double *isq;            /* 1 / sqrt(degree), local */
} comp_op;

/* Threads only pay off on big components: a parallel region costs more than a small
 * component's whole product, and a layout may have hundreds of small components. */
#define PAR_MIN 20000

static void apply_m(const comp_op *op, const double *v, double *out) {
    #pragma omp parallel for schedule(static) if (op->n > PAR_MIN)
    for (int64_t i = 0; i < op->n; i++) {
        int64_t gi = op->verts[i];
        double s = 0.0;
        for (int64_t e = op->rowptr[gi]; e < op->rowptr[gi + 1]; e++)
            s += op->val[e] * v[op->local[op->col[e]]] * op->isq[op->local[op->col[e]]];
        out[i] = s * op->isq[i];
    }
}

static double dot(const double *a, const double *b, int64_t n) {
    double s = 0.0;
    for (int64_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

/* w -= sum (w . v_j) v_j over the basis (twice, which keeps it orthogonal to working
 * precision), then normalises; returns the norm before normalising. */
static double orthonormalise(double *w, const double *u, const double *V, int m, int64_t n) {
    for (int pass = 0; pass < 2; pass++) {
        double c = dot(w, u, n);
        for (int64_t i = 0; i < n; i++) w[i] -= c * u[i];
        for (int j = 0; j < m; j++) {
            const double *v = V + (int64_t)j * n;
            c = dot(w, v, n);
            for (int64_t i = 0; i < n; i++) w[i] -= c * v[i];
        }
    }
    double nrm = sqrt(dot(w, w, n));
    if (nrm > 0) for (int64_t i = 0; i < n; i++) w[i] /= nrm;
    return nrm;
}

static void random_unit(double *w, int64_t n, uint64_t *rng) {
    for (int64_t i = 0; i < n; i++) w[i] = av_rng_uniform(rng) - 0.5;
}

/* Top `dim` eigenvectors of M orthogonal to u, into out [n, dim] (row-major, unit
 * columns). Returns AV_OK; AV_ERR when the subspace degenerates (the caller falls back
 * to a random layout); AV_ERR_NOMEM. */
static int lanczos(const comp_op *op, int dim, uint64_t *rng, double *out) {
    int64_t n = op->n;
    int m = LANCZOS_BASIS;
    if (m > n - 1) m = (int)(n - 1);
    int keep = dim + 8 < m - 1 ? dim + 8 : m - 1;
    if (m < dim + 1 || keep < dim) return AV_ERR;
    double *u = av_malloc((size_t)n * sizeof(double));
    double *V = av_malloc((size_t)(m + 1) * n * sizeof(double));
    double *W = av_malloc((size_t)m * n * sizeof(double));
    double *Y = av_malloc((size_t)keep * n * sizeof(double));
    double *MY = av_malloc((size_t)keep * n * sizeof(double));
    double *H = av_malloc((size_t)m * m * sizeof(double));
    double *ev = av_malloc((size_t)m * sizeof(double));
    double *rr = av_malloc((size_t)n * sizeof(double));
    int rc = AV_ERR_NOMEM;
    if (!u || !V || !W || !Y || !MY || !H || !ev || !rr) goto done;
    rc = AV_ERR;
    double un = 0.0;
    for (int64_t i = 0; i < n; i++) { u[i] = 1.0 / op->isq[i]; un += u[i] * u[i]; }
    un = sqrt(un);
    for (int64_t i = 0; i < n; i++) u[i] /= un;

    random_unit(V, n, rng);
    if (orthonormalise(V, u, NULL, 0, n) <= 0) goto done;
    int cur = 0;
    for (int cycle = 0; cycle < LANCZOS_CYCLES; cycle++) {
        /* extend the basis to m vectors by Krylov steps; V[m] is the continuation */
        for (int j = cur; j < m; j++) {
            apply_m(op, V + (int64_t)j * n, W + (int64_t)j * n);
            double *next = V + (int64_t)(j + 1) * n;
            memcpy(next, W + (int64_t)j * n, (size_t)n * sizeof(double));
            if (orthonormalise(next, u, V, j + 1, n) < 1e-9) {
                /* an invariant subspace: go on from a fresh random direction */
                random_unit(next, n, rng);
                if (orthonormalise(next, u, V, j + 1, n) < 1e-9) goto done;
            }
        }
        /* Rayleigh-Ritz on span(V[0..m)): H = V^T M V */
        #pragma omp parallel for schedule(dynamic) if (n > PAR_MIN)
        for (int a = 0; a < m; a++)
            for (int b = 0; b <= a; b++) {
                double h = 0.5 * (dot(V + (int64_t)a * n, W + (int64_t)b * n, n) +
                                  dot(V + (int64_t)b * n, W + (int64_t)a * n, n));
                H[a * m + b] = H[b * m + a] = h;
            }
        if (LAPACKE_dsyev(LAPACK_ROW_MAJOR, 'V', 'U', m, H, m, ev) != 0) goto done;
        /* eigenvalues ascending: Ritz pair r (0 = largest) is column m-1-r of H */
        double worst = 0.0;
        for (int r = 0; r < keep; r++) {
            int c = m - 1 - r;
            double *y = Y + (int64_t)r * n, *my = MY + (int64_t)r * n;
            /* the residual in a fixed order (av_det_sum): it decides how many cycles run */
            #pragma omp parallel for schedule(static) if (n > PAR_MIN)
            for (int64_t i = 0; i < n; i++) {
                double yv = 0.0, wv = 0.0;
                for (int a = 0; a < m; a++) {
                    yv += V[(int64_t)a * n + i] * H[a * m + c];
                    wv += W[(int64_t)a * n + i] * H[a * m + c];
                }
                y[i] = yv;
                my[i] = wv;
                rr[i] = (wv - ev[c] * yv) * (wv - ev[c] * yv);
            }
            double res = av_det_sum(rr, n);
            if (r < dim && sqrt(res) > worst) worst = sqrt(res);
        }
        if (worst < LANCZOS_TOL || cycle == LANCZOS_CYCLES - 1 || m >= n - 1) break;
        /* thick restart: the kept Ritz vectors, then the Krylov continuation */
        memcpy(V + (int64_t)keep * n, V + (int64_t)m * n, (size_t)n * sizeof(double));
        memcpy(V, Y, (size_t)keep * n * sizeof(double));
        memcpy(W, MY, (size_t)keep * n * sizeof(double));
        cur = keep;
    }
    for (int64_t i = 0; i < n; i++)
        for (int r = 0; r < dim; r++) out[i * dim + r] = Y[(int64_t)r * n + i];
    rc = AV_OK;
done:
    free(u); free(V); free(W); free(Y); free(MY); free(H); free(ev); free(rr);
    return rc;
}

/* Connected components by breadth-first search: labels [n]; order [n] lists the vertices
 * grouped by component, component c at order[start[c] .. start[c+1]). Returns the count. */
static int64_t components(const av_umap_graph *g, int64_t *label, int64_t *order, int64_t *start) {
    for (int64_t i = 0; i < g->n; i++) label[i] = -1;
    int64_t nc = 0, tail = 0;
    for (int64_t s = 0; s < g->n; s++) {
        if (label[s] >= 0) continue;
        int64_t head = tail;
        start[nc] = tail;
        order[tail++] = s;
        label[s] = nc;
        while (head < tail) {
            int64_t v = order[head++];
            for (int64_t e = g->rowptr[v]; e < g->rowptr[v + 1]; e++)
                if (label[g->col[e]] < 0) { label[g->col[e]] = nc; order[tail++] = g->col[e]; }
        }
        nc++;
    }
    start[nc] = tail;
    return nc;
}

/* Centres of nc components in dim-space (umap-learn's meta embedding; see the top). */
static int component_centres(const float *X, int d, const int64_t *label, int64_t n, int64_t nc,
                             int dim, double *centre) {
    memset(centre, 0, (size_t)(nc * dim) * sizeof(double));
    if (nc <= 2 * dim) {
        int64_t half = (nc + 1) / 2;
        for (int64_t c = 0; c < nc; c++) centre[c * dim + (c % half)] = c < half ? 1.0 : -1.0;
        return AV_OK;
    }
    double *cen = av_calloc((size_t)(nc * d), sizeof(double));
    int64_t *cnt = av_calloc((size_t)nc, sizeof(int64_t));
    double *cov = av_calloc((size_t)d * d, sizeof(double));
    double *ev = av_malloc((size_t)d * sizeof(double));
    int rc = AV_ERR;
    if (!cen || !cnt || !cov || !ev) goto done;
    for (int64_t i = 0; i < n; i++) {
        cnt[label[i]]++;
        for (int j = 0; j < d; j++) cen[label[i] * d + j] += X[i * d + j];
    }
    double *mean = ev;   /* reuse as the mean until the eigen-solve */
    for (int j = 0; j < d; j++) mean[j] = 0.0;
    for (int64_t c = 0; c < nc; c++)
        for (int j = 0; j < d; j++) { cen[c * d + j] /= (double)cnt[c]; mean[j] += cen[c * d + j] / (double)nc; }
    for (int64_t c = 0; c < nc; c++)
        for (int j = 0; j < d; j++) cen[c * d + j] -= mean[j];
    for (int64_t c = 0; c < nc; c++)
        for (int a = 0; a < d; a++)
            for (int b = 0; b < d; b++) cov[a * d + b] += cen[c * d + a] * cen[c * d + b];
    if (LAPACKE_dsyev(LAPACK_ROW_MAJOR, 'V', 'U', d, cov, d, ev) != 0) goto done;
    double mx = 0.0;
    for (int64_t c = 0; c < nc; c++)
        for (int r = 0; r < dim && r < d; r++) {
            double s = 0.0;
            for (int j = 0; j < d; j++) s += cen[c * d + j] * cov[j * d + (d - 1 - r)];
            centre[c * dim + r] = s;
            if (fabs(s) > mx) mx = fabs(s);
        }
    if (mx > 0) for (int64_t i = 0; i < nc * dim; i++) centre[i] /= mx;
    rc = AV_OK;
done:
    free(cen); free(cnt); free(cov); free(ev);
    return rc;
}

int av_umap_spectral_init(const av_umap_graph *g, const float *X, int d, int dim,
                          uint64_t seed, float *Y) {
    av_blas_single_thread(); /* LAPACK's eigensolvers below: kernels/backend/determinism.h */
    int64_t n = g->n;
    int64_t *label = av_malloc((size_t)n * sizeof(int64_t));
    int64_t *order = av_malloc((size_t)n * sizeof(int64_t));
    int64_t *start = av_malloc((size_t)(n + 1) * sizeof(int64_t));
    int64_t *local = av_malloc((size_t)n * sizeof(int64_t));
    double *isq = av_malloc((size_t)n * sizeof(double));
    double *emb = av_malloc((size_t)n * dim * sizeof(double));
    double *centre = NULL;
    int rc = AV_ERR;
    if (!label || !order || !start || !local || !isq || !emb) goto done;
    int64_t nc = components(g, label, order, start);
    centre = av_malloc((size_t)(nc * dim) * sizeof(double));
    if (!centre || component_centres(X, d, label, n, nc, dim, centre) != AV_OK) goto done;
    uint64_t rng = seed ^ 0x5EC7A1u;
    for (int64_t c = 0; c < nc; c++) {
        const int64_t *verts = order + start[c];
        int64_t nv = start[c + 1] - start[c];
        for (int64_t i = 0; i < nv; i++) local[verts[i]] = i;
        /* half the distance to the nearest other centre (umap-learn's data_range) */
        double range = 1.0;
        if (nc > 1) {
            range = INFINITY;
            for (int64_t o = 0; o < nc; o++) {
                double s = 0.0;
                for (int r = 0; r < dim; r++) { double t = centre[o * dim + r] - centre[c * dim + r]; s += t * t; }
                if (s > 0 && sqrt(s) / 2 < range) range = sqrt(s) / 2;
            }
            if (!isfinite(range)) range = 1.0;
        }
        int spectral = nv >= 2 * dim && nv > dim + 1;
        if (spectral) {
            for (int64_t i = 0; i < nv; i++) {
                double deg = 0.0;
                for (int64_t e = g->rowptr[verts[i]]; e < g->rowptr[verts[i] + 1]; e++) deg += g->val[e];
                isq[i] = 1.0 / sqrt(deg);
            }
            comp_op op = {nv, g->rowptr, g->col, g->val, local, verts, isq};
            int lrc = lanczos(&op, dim, &rng, emb);
            if (lrc == AV_ERR_NOMEM) goto done;
            spectral = lrc == AV_OK;
        }
        if (spectral) {
            double mx = 0.0;
            for (int64_t i = 0; i < nv * dim; i++) if (fabs(emb[i]) > mx) mx = fabs(emb[i]);
            double scale = nc > 1 ? (mx > 0 ? range / mx : 0.0) : 1.0;
            for (int64_t i = 0; i < nv; i++)
                for (int r = 0; r < dim; r++)
                    Y[verts[i] * dim + r] = (float)(emb[i * dim + r] * scale + (nc > 1 ? centre[c * dim + r] : 0.0));
        } else {
            for (int64_t i = 0; i < nv; i++)
                for (int r = 0; r < dim; r++)
                    Y[verts[i] * dim + r] = (float)((av_rng_uniform(&rng) * 2 - 1) * range + centre[c * dim + r]);
        }
    }
    rc = AV_OK;
done:
    free(label); free(order); free(start); free(local); free(isq); free(emb); free(centre);
    return rc;
}

void av_umap_finish_init(float *Y, int64_t n, int dim, uint64_t seed) {
    float mx = 0.0f;
    for (int64_t i = 0; i < n * dim; i++) if (fabsf(Y[i]) > mx) mx = fabsf(Y[i]);
    float expand = mx > 0 ? 10.0f / mx : 1.0f;
    uint64_t nrng = seed ^ 0xA0761D6478BD642Full;
    for (int64_t i = 0; i < n * dim; i++) {
        Y[i] = Y[i] * expand + (float)(1e-4 * av_rng_normal(&nrng));
    }
    for (int r = 0; r < dim; r++) {
        float lo = INFINITY, hi = -INFINITY;
        for (int64_t i = 0; i < n; i++) { lo = fminf(lo, Y[i * dim + r]); hi = fmaxf(hi, Y[i * dim + r]); }
        float span = hi > lo ? hi - lo : 1.0f;
        for (int64_t i = 0; i < n; i++) Y[i * dim + r] = 10.0f * (Y[i * dim + r] - lo) / span;
    }
}
