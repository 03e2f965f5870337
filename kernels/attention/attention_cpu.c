/* attention_cpu.c - CPU twins of multi-head attention (grouped-query included) and of the
 * one-item, one-head attention probabilities recomputed from stored q/k (kernels/ops.h);
 * CUDA version in attention.cu.
 *
 * The forward attention works on tiles, as flash attention does: a task takes QB queries
 * of one (item, head) and walks the keys in tiles of KB, keeping each query's running
 * maximum, sum and weighted value sum (online softmax: earlier tiles are rescaled when
 * the maximum grows). Scores and value sums of a tile are small GEMMs (single-threaded
 * OpenBLAS inside the OpenMP tasks). Memory is QB x (KB + 2d) floats per thread whatever
 * the item length, so items of thousands of tokens need no T x T matrix. */
#include "kernels/ops.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include "base/util.h"

enum { QB = 32, KB = 256 };
/* Query tiles start at multiples of QB and key tiles at multiples of KB: with KB a
 * multiple of QB every causal query sees at least one key of every tile it visits. */
_Static_assert(KB % QB == 0, "key tiles must align with query tiles");

/* One tile of queries [i0, i0 + nq) of item b, head h (key head kh). */
static void attend_tile(float *out, const float *q, const float *k, const float *v, int ld, int T, int C, int d,
                        int b, int h, int kh, int i0, int nq, int kend, int causal, float scale, float *S, float *Q,
                        float *acc, float *mx, float *sum) {
    for (int r = 0; r < nq; r++) {
        memcpy(Q + (int64_t)r * d, q + ((int64_t)b * T + i0 + r) * ld + (int64_t)h * d, sizeof(float) * (size_t)d);
        mx[r] = -INFINITY;
        sum[r] = 0;
    }
    memset(acc, 0, sizeof(float) * (size_t)nq * d);
    const float *kb0 = k + (int64_t)b * T * ld + (int64_t)kh * d, *vb0 = v + (int64_t)b * T * ld + (int64_t)kh * d;
    for (int j0 = 0; j0 < kend; j0 += KB) {
        const int nk = kend - j0 < KB ? kend - j0 : KB;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nq, nk, d, scale, Q, d, kb0 + (int64_t)j0 * ld, ld, 0.0f,
                    S, nk);
        for (int r = 0; r < nq; r++) {
            float *s = S + (int64_t)r * nk;
            /* causal: the query at i0 + r sees keys up to itself */
            const int vis = causal ? (i0 + r - j0 + 1 < nk ? i0 + r - j0 + 1 : nk) : nk;
            float m = mx[r];
            for (int j = 0; j < vis; j++) m = s[j] > m ? s[j] : m;
            const float corr = expf(mx[r] - m); /* 0 on the first tile: exp(-inf) */
            float l = 0;
            for (int j = 0; j < vis; j++) l += (s[j] = expf(s[j] - m));
            for (int j = vis; j < nk; j++) s[j] = 0;
            sum[r] = sum[r] * corr + l;
            mx[r] = m;
            float *a = acc + (int64_t)r * d;
            if (corr != 1.0f)
                for (int c = 0; c < d; c++) a[c] *= corr;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nq, d, nk, 1.0f, S, nk, vb0 + (int64_t)j0 * ld, ld, 1.0f,
                    acc, d);
    }
    for (int r = 0; r < nq; r++) {
        float *o = out + ((int64_t)b * T + i0 + r) * C + (int64_t)h * d;
        const float inv = 1.0f / sum[r]; /* a real query always sees key 0: sum >= 1 */
        for (int c = 0; c < d; c++) o[c] = acc[(int64_t)r * d + c] * inv;
    }
}

void av_attention_cpu(float *out, const float *q, const float *k, const float *v, int ld,
                      int B, int T, int H, int Hkv, int d, const int32_t *lengths, int causal) {
    if (B <= 0 || T <= 0 || H <= 0 || Hkv <= 0 || d <= 0) return;
    const float scale = 1.0f / sqrtf((float)d);
    const int C = H * d, group = H / Hkv, tiles = (T + QB - 1) / QB;
    const int64_t tasks = (int64_t)B * H * tiles;
    int saved = openblas_get_num_threads();
    openblas_set_num_threads(1); /* the tiles are the parallelism (see matmul_cpu.c) */
#pragma omp parallel
    {
        float *buf = malloc(sizeof(float) * ((size_t)QB * KB + 2 * (size_t)QB * d + 2 * QB));
#pragma omp for schedule(dynamic, 1)
        for (int64_t t = 0; t < tasks; t++) {
            const int b = (int)(t / ((int64_t)H * tiles)), h = (int)(t / tiles % H), i0 = (int)(t % tiles) * QB;
            const int len = lengths[b] < T ? lengths[b] : T;
            const int nq = i0 >= len ? 0 : len - i0 < QB ? len - i0 : QB;
            /* padded query rows are written as zeros */
            for (int i = i0 + nq; i < i0 + QB && i < T; i++)
                memset(out + ((int64_t)b * T + i) * C + (int64_t)h * d, 0, sizeof(float) * (size_t)d);
            if (!nq || !buf) continue;
            const int kend = causal ? i0 + nq : len;
            float *S = buf, *Q = S + (size_t)QB * KB, *acc = Q + (size_t)QB * d, *mx = acc + (size_t)QB * d,
                  *sum = mx + QB;
            attend_tile(out, q, k, v, ld, T, C, d, b, h, h / group, i0, nq, kend, causal, scale, S, Q, acc, mx, sum);
        }
        free(buf);
    }
    openblas_set_num_threads(saved);
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
