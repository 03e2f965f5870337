/* attention_cpu.c - CPU twins of multi-head attention and of the one-item, one-head
 * attention probabilities recomputed from stored q/k (kernels/ops.h); CUDA version in
 * attention.cu. */
#include "kernels/ops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "base/util.h"

/* Dot product with eight independent partial sums: without -ffast-math the compiler may
 * not reorder a single running sum, and this is the attention's innermost loop. */
static inline float dot(const float *a, const float *b, int d) {
    float s[8] = {0};
    int i = 0;
    for (; i + 8 <= d; i += 8)
        for (int j = 0; j < 8; j++) s[j] += a[i + j] * b[i + j];
    float r = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
    for (; i < d; i++) r += a[i] * b[i];
    return r;
}

void av_attention_cpu(float *out, const float *q, const float *k, const float *v, int ld,
                      int B, int T, int H, int d, const int32_t *lengths, int causal) {
    const float scale = 1.0f / sqrtf((float)d);
    const int C = H * d;
#pragma omp parallel
    {
        float *p = malloc((size_t)(T > 0 ? T : 1) * sizeof(float));
#pragma omp for collapse(3) schedule(static)
        for (int b = 0; b < B; b++)
            for (int h = 0; h < H; h++)
                for (int i = 0; i < T; i++) {
                    int len = lengths[b];
                    float *o = out + ((int64_t)b * T + i) * C + h * d;
                    if (i >= len || !p) {
                        memset(o, 0, (size_t)d * sizeof(float));
                        continue;
                    }
                    const float *qi = q + ((int64_t)b * T + i) * ld + h * d;
                    int n = causal ? i + 1 : len;
                    float mx = -INFINITY;
                    for (int j = 0; j < n; j++) {
                        p[j] = dot(qi, k + ((int64_t)b * T + j) * ld + h * d, d) * scale;
                        if (p[j] > mx) mx = p[j];
                    }
                    float sum = 0;
                    for (int j = 0; j < n; j++) sum += (p[j] = expf(p[j] - mx));
                    float inv = 1.0f / sum;
                    memset(o, 0, (size_t)d * sizeof(float));
                    for (int j = 0; j < n; j++) {
                        const float *vj = v + ((int64_t)b * T + j) * ld + h * d;
                        float w = p[j] * inv;
                        for (int c = 0; c < d; c++) o[c] += w * vj[c];
                    }
                }
        free(p);
    }
}

void av_attention_probs_row(double *p, double *dots, const float *q, const float *k, int m, int d) {
    const double inv = 1.0 / sqrt((double)d);
    double mx = -INFINITY;
    for (int j = 0; j < m; j++) {
        double dot = 0;
        for (int c = 0; c < d; c++) dot += (double)q[c] * k[(int64_t)j * d + c];
        if (dots) dots[j] = dot;
        p[j] = dot * inv;
        if (p[j] > mx) mx = p[j];
    }
    double z = 0;
    for (int j = 0; j < m; j++) { p[j] = exp(p[j] - mx); z += p[j]; }
    for (int j = 0; j < m; j++) p[j] /= z;
}

int av_attention_probs_cpu(float *probs, const float *q, const float *k, int n, int d, int causal) {
    int failed = 0;
#pragma omp parallel reduction(| : failed)
    {
        double *row = malloc((size_t)(n > 0 ? n : 1) * sizeof *row);
        failed = !row;
#pragma omp for schedule(static)
        for (int i = 0; i < n; i++) {
            if (!row) continue;
            float *p = probs + (int64_t)i * n;
            int m = causal ? i + 1 : n;
            av_attention_probs_row(row, NULL, q + (int64_t)i * d, k, m, d);
            for (int j = 0; j < m; j++) p[j] = (float)row[j];
            for (int j = m; j < n; j++) p[j] = 0;
        }
        free(row);
    }
    return failed ? av_fail("attention probabilities: out of memory") : AV_OK;
}
