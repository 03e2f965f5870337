/* determinism.c - see determinism.h. */
#include <cblas.h>
#include <stdint.h>
#include <stdlib.h>
#include "kernels/backend/determinism.h"

void av_blas_single_thread(void) {
    /* checked at every call, not once: a program around the engine may have set another
     * count since (the same value written by two threads at once is harmless) */
    if (openblas_get_num_threads() != 1) openblas_set_num_threads(1);
}

double av_det_sum(const double *x, int64_t n) {
    int64_t nb = (n + AV_DET_ROWS - 1) / AV_DET_ROWS;
    double small[64], *part = nb <= 64 ? small : malloc((size_t)nb * sizeof *part);
    double total = 0;
    if (!part) { /* no room for the partial sums: the same order, on one thread */
        for (int64_t b = 0; b < nb; b++) {
            double s = 0;
            for (int64_t i = b * AV_DET_ROWS; i < n && i < (b + 1) * AV_DET_ROWS; i++) s += x[i];
            total += s;
        }
        return total;
    }
#pragma omp parallel for schedule(static) if (nb > 64)
    for (int64_t b = 0; b < nb; b++) {
        double s = 0;
        for (int64_t i = b * AV_DET_ROWS; i < n && i < (b + 1) * AV_DET_ROWS; i++) s += x[i];
        part[b] = s;
    }
    for (int64_t b = 0; b < nb; b++) total += part[b];
    if (part != small) free(part);
    return total;
}
