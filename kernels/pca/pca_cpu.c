/* pca.c - exact PCA of a cloud: mean-centred covariance in double, the top `dim`
 * eigenvectors by LAPACK's dsyevr (only those are computed), projection in float.
 *
 * Sign: each component is flipped so that its largest-magnitude entry is positive,
 * the convention of scikit-learn's svd_flip(u_based_decision=False), so our output
 * equals sklearn.decomposition.PCA's and repeats across runs and machines. */
#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "kernels/backend/determinism.h"
#include "kernels/project.h"
#include "base/util.h"

int av_pca(const float *X, int64_t n, int d, int dim, float *Y, float *components) {
    if (n < 2) return av_fail("PCA: need at least 2 points, got %lld", (long long)n);
    if (dim < 1 || dim > d) return av_fail("PCA: %d components asked of %d-dimensional data", dim, d);
    double *mean = av_calloc((size_t)d, sizeof *mean);
    double *C = av_calloc((size_t)d * d, sizeof *C);
    double *w = av_malloc((size_t)d * sizeof *w);
    double *Z = av_malloc((size_t)d * dim * sizeof *Z);
    lapack_int *support = av_malloc((size_t)2 * dim * sizeof *support);
    int rc = AV_ERR_NOMEM;
    if (!mean || !C || !w || !Z || !support) goto done;
    for (int64_t i = 0; i < n; i++)
        for (int j = 0; j < d; j++) mean[j] += X[i * d + j];
    for (int j = 0; j < d; j++) mean[j] /= (double)n;
    /* Upper triangle of the scatter matrix by OpenBLAS's dsyrk over centred blocks of
     * rows converted to double: one pass over X, BLAS speed, double accumulation. The
     * blocks run in parallel, each into its own d x d sum (single-threaded BLAS), and
     * the sums are added in block order: the same matrix on any number of threads
     * (kernels/backend/determinism.h). */
    {
        const int64_t block = 4096, nb = (n + block - 1) / block;
        double *part = av_calloc((size_t)nb * d * d, sizeof *part);
        int nomem = !part;
        av_blas_single_thread();
#pragma omp parallel if (nb > 1)
        {
            double *B = nomem ? NULL : malloc((size_t)block * d * sizeof *B);
            if (!B) {
#pragma omp atomic write
                nomem = 1;
            }
#pragma omp for schedule(dynamic, 1)
            for (int64_t b = 0; b < nb; b++) {
                if (!B) continue;
                int64_t i0 = b * block, rows = n - i0 < block ? n - i0 : block;
                for (int64_t i = 0; i < rows; i++)
                    for (int j = 0; j < d; j++) B[i * d + j] = X[(i0 + i) * d + j] - mean[j];
                cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, d, (int)rows, 1.0, B, d, 0.0,
                            part + (size_t)b * d * d, d);
            }
            free(B);
        }
        if (nomem) {
            free(part);
            rc = av_fail("PCA: out of memory for %lld blocks of %d x %d sums", (long long)nb, d, d);
            goto done;
        }
        for (int64_t b = 0; b < nb; b++)
            for (size_t a = 0; a < (size_t)d * d; a++) C[a] += part[(size_t)b * d * d + a];
        free(part);
    }
    for (int a = 0; a < d; a++)
        for (int b = a; b < d; b++) C[(size_t)a * d + b] /= (double)(n - 1);
    lapack_int found = 0;
    /* eigenvalues come in ascending order: ask for the top `dim` by index */
    lapack_int info = LAPACKE_dsyevr(LAPACK_ROW_MAJOR, 'V', 'I', 'U', d, C, d, 0, 0, d - dim + 1, d,
                                     0.0, &found, w, Z, dim, support);
    if (info != 0 || found != dim) {
        rc = av_fail("PCA: LAPACK dsyevr failed (info %d, %d of %d eigenvectors)", (int)info, (int)found, dim);
        goto done;
    }
    /* column c of Z is the eigenvector of the c-th smallest of the found values: reverse */
    for (int c = 0; c < dim; c++) {
        int col = dim - 1 - c;
        int arg = 0;
        for (int j = 1; j < d; j++)
            if (fabs(Z[(size_t)j * dim + col]) > fabs(Z[(size_t)arg * dim + col])) arg = j;
        double sign = Z[(size_t)arg * dim + col] < 0 ? -1 : 1;
        for (int j = 0; j < d; j++) C[(size_t)c * d + j] = sign * Z[(size_t)j * dim + col];
    }
    /* C's first dim rows now hold the components (the covariance is no longer needed) */
    if (components)
        for (int c = 0; c < dim; c++)
            for (int j = 0; j < d; j++) components[c * d + j] = (float)C[(size_t)c * d + j];
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++)
        for (int c = 0; c < dim; c++) {
            double s = 0;
            for (int j = 0; j < d; j++) s += (X[i * d + j] - mean[j]) * C[(size_t)c * d + j];
            Y[i * dim + c] = (float)s;
        }
    rc = AV_OK;
done:
    free(mean);
    free(C);
    free(w);
    free(Z);
    free(support);
    return rc;
}
