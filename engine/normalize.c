/* normalize.c - key translation and query/key scaling of one head's joint cloud
 * (docs/technique.md, "Two normalizations that make distance mean attention").
 *
 * Order: the scale c is measured on the raw vectors (that is where the norms of q and
 * k differ), applied, and only then are the keys translated, using the scaled means.
 * Both steps leave every query's attention distribution unchanged. Sums in double:
 * a head can hold hundreds of thousands of rows. */
#include <math.h>
#include <stdlib.h>
#include "kernels/project.h"
#include "engine/normalize.h"

static double mean_norm(const float *X, int64_t rows, int d) {
    double s = 0;
    for (int64_t i = 0; i < rows; i++) {
        double r = 0;
        for (int j = 0; j < d; j++) r += (double)X[i * d + j] * X[i * d + j];
        s += sqrt(r);
    }
    return rows ? s / (double)rows : 0;
}

void av_normalize_qk(float *X, int64_t T, int d, int translate, int scale, float *scale_out) {
    float *Q = X, *K = X + T * d;
    double c = 1;
    if (scale) {
        double mq = mean_norm(Q, T, d), mk = mean_norm(K, T, d);
        /* all-zero queries or keys: nothing to balance, keep c = 1 */
        if (mq > 0 && mk > 0) c = sqrt(mk / mq);
        for (int64_t i = 0; i < T * d; i++) {
            Q[i] = (float)(Q[i] * c);
            K[i] = (float)(K[i] / c);
        }
    }
    if (translate && T > 0) {
        double *shift = calloc((size_t)d, sizeof *shift);
        if (shift) {
            for (int64_t i = 0; i < T; i++)
                for (int j = 0; j < d; j++) shift[j] += (double)Q[i * d + j] - K[i * d + j];
            for (int j = 0; j < d; j++) shift[j] /= (double)T;
            for (int64_t i = 0; i < T; i++)
                for (int j = 0; j < d; j++) K[i * d + j] = (float)(K[i * d + j] + shift[j]);
            free(shift);
        } else {
            /* d doubles could not be had: fall back to a slower per-column pass */
            for (int j = 0; j < d; j++) {
                double s = 0;
                for (int64_t i = 0; i < T; i++) s += (double)Q[i * d + j] - K[i * d + j];
                s /= (double)T;
                for (int64_t i = 0; i < T; i++) K[i * d + j] = (float)(K[i * d + j] + s);
            }
        }
    }
    if (scale_out) *scale_out = (float)c;
}
