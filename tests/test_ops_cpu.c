/* test_ops_cpu.c - every CPU op of kernels/ops.h against a naive, obviously-correct
 * reference written here in double precision (loops straight from the definitions), on
 * small random inputs with odd sizes so that no vector-width assumption hides a bug.
 * Also drives the ops once through the av_backend_cpu() table. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "kernels/ops.h"
#include "tests/check.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static float frand(void) { /* xorshift64*, uniform in [-1, 1) */
    rng ^= rng >> 12; rng ^= rng << 25; rng ^= rng >> 27;
    return (float)((double)((rng * 2685821657736338717ull) >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}
static float *randv(int64_t n, float amp) {
    float *v = malloc((size_t)n * sizeof(float));
    for (int64_t i = 0; i < n; i++) v[i] = frand() * amp;
    return v;
}
static double rel_err(const float *a, const double *ref, int64_t n) {
    double num = 0, den = 0;
    for (int64_t i = 0; i < n; i++) {
        num += (a[i] - ref[i]) * (a[i] - ref[i]);
        den += ref[i] * ref[i];
    }
    return sqrt(num / (den > 0 ? den : 1));
}

/* M = 7 takes the single sgemm path, M = 67 the one that splits rows over threads. */
static void test_matmul(int M, av_wlayout wl, int with_bias) {
    int K = 13, N = 5;
    float *x = randv(M * K, 1), *w = randv(K * N, 1), *b = randv(N, 1), *out = calloc(M * N, 4);
    double *ref = malloc(sizeof(double) * M * N);
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            double s = with_bias ? b[n] : 0;
            for (int k = 0; k < K; k++) s += (double)x[m * K + k] * (wl == AV_W_NK ? w[n * K + k] : w[k * N + n]);
            ref[m * N + n] = s;
        }
    av_matmul_cpu(out, x, w, with_bias ? b : NULL, M, K, N, wl);
    CHECK_MSG(rel_err(out, ref, M * N) < 1e-6, "matmul M=%d wl=%d bias=%d err %g", M, wl, with_bias,
              rel_err(out, ref, M * N));
    free(x); free(w); free(b); free(out); free(ref);
}

static void test_layernorm(void) {
    int R = 3, C = 37;
    float *x = randv(R * C, 3), *g = randv(C, 1), *b = randv(C, 1), *out = malloc(R * C * 4);
    for (int i = 0; i < C; i++) x[i] += 500.0f; /* a large offset must not cost precision */
    double ref[3 * 37];
    for (int r = 0; r < R; r++) {
        double m = 0, v = 0;
        for (int i = 0; i < C; i++) m += x[r * C + i];
        m /= C;
        for (int i = 0; i < C; i++) v += (x[r * C + i] - m) * (x[r * C + i] - m);
        v /= C;
        for (int i = 0; i < C; i++) ref[r * C + i] = (x[r * C + i] - m) / sqrt(v + 1e-5) * g[i] + b[i];
    }
    av_layernorm_cpu(out, x, g, b, R, C, 1e-5f);
    CHECK_MSG(rel_err(out, ref, R * C) < 1e-5, "layernorm err %g", rel_err(out, ref, R * C));
    free(x); free(g); free(b); free(out);
}

static void test_gelu(void) {
    int n = 101;
    float *x = randv(n, 6), *y = malloc(n * 4), *z = malloc(n * 4);
    memcpy(y, x, n * 4);
    memcpy(z, x, n * 4);
    double r1[101], r2[101];
    for (int i = 0; i < n; i++) {
        double v = x[i];
        r1[i] = 0.5 * v * (1 + erf(v / sqrt(2.0)));
        r2[i] = 0.5 * v * (1 + tanh(sqrt(2.0 / M_PI) * (v + 0.044715 * v * v * v)));
    }
    av_gelu_cpu(y, n, AV_GELU_ERF);
    av_gelu_cpu(z, n, AV_GELU_TANH);
    CHECK_MSG(rel_err(y, r1, n) < 1e-6, "gelu erf err %g", rel_err(y, r1, n));
    CHECK_MSG(rel_err(z, r2, n) < 1e-6, "gelu tanh err %g", rel_err(z, r2, n));
    /* the two kinds really differ, so a swapped kind would be caught */
    CHECK(rel_err(y, r2, n) > 1e-5);
    free(x); free(y); free(z);
}

static void test_embed_add(void) {
    int V = 11, P = 9, C = 6, T = 5;
    float *wte = randv(V * C, 1), *wpe = randv(P * C, 1), *tte = randv(2 * C, 1);
    int32_t ids[5] = {3, 0, 10, 3, 7}, pos[5] = {0, 1, 2, 8, 4}, types[5] = {0, 0, 1, 1, 0};
    float out[5 * 6], out2[5 * 6];
    double ref[5 * 6], ref2[5 * 6];
    for (int t = 0; t < T; t++)
        for (int c = 0; c < C; c++) {
            ref2[t * C + c] = (double)wte[ids[t] * C + c] + wpe[pos[t] * C + c];
            ref[t * C + c] = ref2[t * C + c] + tte[types[t] * C + c];
        }
    av_embed_cpu(out, ids, pos, types, wte, wpe, tte, T, C);
    av_embed_cpu(out2, ids, pos, NULL, wte, wpe, NULL, T, C);
    CHECK(rel_err(out, ref, T * C) < 1e-7);
    CHECK(rel_err(out2, ref2, T * C) < 1e-7);
    float sum[5 * 6];
    double rs[5 * 6];
    for (int i = 0; i < T * C; i++) rs[i] = (double)out[i] + out2[i];
    av_add_cpu(sum, out, out2, T * C);
    CHECK(rel_err(sum, rs, T * C) < 1e-7);
    av_add_cpu(out, out, out2, T * C); /* aliasing out with a is allowed */
    CHECK(rel_err(out, rs, T * C) < 1e-7);
    free(wte); free(wpe); free(tte);
}

static void test_patchify(void) {
    int B = 2, S = 6, P = 3, g = S / P, row = 3 * P * P;
    float *img = randv(B * 3 * S * S, 1), *out = malloc((size_t)B * g * g * row * 4);
    av_patchify_cpu(out, img, B, S, P);
    int bad = 0;
    for (int b = 0; b < B; b++)
        for (int py = 0; py < g; py++)
            for (int px = 0; px < g; px++)
                for (int c = 0; c < 3; c++)
                    for (int ky = 0; ky < P; ky++)
                        for (int kx = 0; kx < P; kx++) {
                            float want = img[((b * 3 + c) * S + py * P + ky) * S + px * P + kx];
                            float got = out[((b * g + py) * g + px) * row + (c * P + ky) * P + kx];
                            bad += want != got;
                        }
    CHECK_MSG(bad == 0, "patchify: %d misplaced values", bad);
    free(img); free(out);
}

/* Reference attention of one (b, h, i): straight from softmax(q k^T / sqrt d) v. */
/* One query row of one head, in double: q head h, key/value head kh. */
static void ref_attention(double *o, const float *q, const float *k, const float *v, int ld, int T,
                          int b, int h, int kh, int d, int i, int len, int causal) {
    int n = causal ? i + 1 : len;
    double *s = malloc(sizeof(double) * (size_t)n), mx = -1e300, sum = 0;
    for (int j = 0; j < n; j++) {
        double x = 0;
        for (int c = 0; c < d; c++)
            x += (double)q[((int64_t)b * T + i) * ld + h * d + c] * k[((int64_t)b * T + j) * ld + kh * d + c];
        s[j] = x / sqrt((double)d);
        if (s[j] > mx) mx = s[j];
    }
    for (int j = 0; j < n; j++) sum += (s[j] = exp(s[j] - mx));
    for (int c = 0; c < d; c++) {
        o[c] = 0;
        for (int j = 0; j < n; j++) o[c] += s[j] / sum * v[((int64_t)b * T + j) * ld + kh * d + c];
    }
    free(s);
}

/* B items padded to T with the given lengths; H query heads over Hkv key heads in a fused
 * q | k | v row. T = 600 crosses the key tiles (256) and the query tiles (32). */
static void test_attention(int B, int T, int H, int Hkv, int d, const int32_t *lengths, int causal) {
    int C = H * d, ld = (H + 2 * Hkv) * d;
    float *qkv = randv((int64_t)B * T * ld, 2), *out = malloc((size_t)B * T * C * 4);
    double *ref = calloc((size_t)B * T * C, sizeof(double));
    for (int64_t i = 0; i < (int64_t)B * T * C; i++) out[i] = 12345.0f; /* padded rows must be overwritten */
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++)
            for (int i = 0; i < lengths[b]; i++)
                ref_attention(ref + ((int64_t)b * T + i) * C + h * d, qkv, qkv + C, qkv + C + Hkv * d, ld, T, b, h,
                              h / (H / Hkv), d, i, lengths[b], causal);
    av_attention_cpu(out, qkv, qkv + C, qkv + C + Hkv * d, ld, B, T, H, Hkv, d, lengths, causal);
    double e = rel_err(out, ref, (int64_t)B * T * C);
    CHECK_MSG(e < 1e-6, "attention T %d H %d Hkv %d causal %d: err %g", T, H, Hkv, causal, e);
    free(qkv); free(out); free(ref);
}

static void test_rmsnorm(void) {
    const int rows = 5, C = 37, H = 3, d = 10, ld = 41;
    float *x = randv(rows * C, 3), *w = randv(C, 1), *out = malloc(sizeof(float) * rows * C);
    double *ref = malloc(sizeof(double) * rows * C);
    for (int r = 0; r < rows; r++) {
        double s = 0;
        for (int i = 0; i < C; i++) s += (double)x[r * C + i] * x[r * C + i];
        for (int i = 0; i < C; i++) ref[r * C + i] = w[i] * x[r * C + i] / sqrt(s / C + 1e-6);
    }
    av_rmsnorm_cpu(out, x, w, rows, C, 1e-6f);
    CHECK_MSG(rel_err(out, ref, rows * C) < 1e-6, "rmsnorm err %g", rel_err(out, ref, rows * C));
    av_rmsnorm_cpu(x, x, w, rows, C, 1e-6f); /* in place */
    CHECK(!memcmp(x, out, sizeof(float) * rows * C));
    /* per head, rows of stride ld: the values outside the H heads stay as they were */
    float *y = randv(rows * ld, 3), *y0 = malloc(sizeof(float) * rows * ld);
    memcpy(y0, y, sizeof(float) * rows * ld);
    double *hr = malloc(sizeof(double) * rows * ld);
    for (int r = 0; r < rows; r++) {
        for (int i = 0; i < ld; i++) hr[r * ld + i] = y0[r * ld + i];
        for (int h = 0; h < H; h++) {
            double s = 0;
            for (int i = 0; i < d; i++) s += (double)y0[r * ld + h * d + i] * y0[r * ld + h * d + i];
            for (int i = 0; i < d; i++) hr[r * ld + h * d + i] = w[i] * y0[r * ld + h * d + i] / sqrt(s / d + 1e-6);
        }
    }
    av_head_rmsnorm_cpu(y, ld, rows, H, d, w, 1e-6f);
    CHECK_MSG(rel_err(y, hr, rows * ld) < 1e-6, "head rmsnorm err %g", rel_err(y, hr, rows * ld));
    for (int r = 0; r < rows; r++)
        for (int i = H * d; i < ld; i++) CHECK(y[r * ld + i] == y0[r * ld + i]);
    free(x); free(w); free(out); free(ref); free(y); free(y0); free(hr);
}

/* Rotate-half RoPE against its definition: pairs (i, i + d/2) turned by pos * inv_freq[i]. */
static void test_rope(void) {
    const int rows = 4, H = 3, d = 8, ld = 27;
    float *x = randv(rows * ld, 2), *x0 = malloc(sizeof(float) * rows * ld), inv[4];
    memcpy(x0, x, sizeof(float) * rows * ld);
    for (int i = 0; i < d / 2; i++) inv[i] = (float)pow(10000.0, -2.0 * i / d);
    int32_t pos[4] = {0, 1, 7, 300};
    av_rope_cpu(x, ld, rows, H, d, pos, inv);
    double *ref = malloc(sizeof(double) * rows * ld);
    for (int r = 0; r < rows; r++) {
        for (int i = 0; i < ld; i++) ref[r * ld + i] = x0[r * ld + i];
        for (int h = 0; h < H; h++)
            for (int i = 0; i < d / 2; i++) {
                double a = (double)pos[r] * inv[i], x1 = x0[r * ld + h * d + i], x2 = x0[r * ld + h * d + i + d / 2];
                ref[r * ld + h * d + i] = x1 * cos(a) - x2 * sin(a);
                ref[r * ld + h * d + i + d / 2] = x2 * cos(a) + x1 * sin(a);
            }
    }
    CHECK_MSG(rel_err(x, ref, rows * ld) < 1e-6, "rope err %g", rel_err(x, ref, rows * ld));
    for (int i = 0; i < ld; i++) CHECK(x[i] == x0[i]); /* position 0 turns nothing */
    free(x); free(x0); free(ref);
}

static void test_swiglu(void) {
    const int rows = 3, I = 13;
    float *gu = randv(rows * 2 * I, 6), *out = malloc(sizeof(float) * rows * I);
    double ref[3 * 13];
    for (int r = 0; r < rows; r++)
        for (int i = 0; i < I; i++) {
            double g = gu[r * 2 * I + i], u = gu[r * 2 * I + I + i];
            ref[r * I + i] = g / (1 + exp(-g)) * u;
        }
    av_swiglu_cpu(out, gu, rows, I);
    CHECK_MSG(rel_err(out, ref, rows * I) < 1e-6, "swiglu err %g", rel_err(out, ref, rows * I));
    free(gu); free(out);
}

static void test_probs(void) {
    int n = 6, d = 9;
    float *q = randv(n * d, 2), *k = randv(n * d, 2), p[36], pc[36];
    av_attention_probs_cpu(p, q, k, n, d, 0);
    av_attention_probs_cpu(pc, q, k, n, d, 1);
    for (int i = 0; i < n; i++) {
        double s[6], mx = -1e300, sum = 0;
        for (int j = 0; j < n; j++) {
            double x = 0;
            for (int c = 0; c < d; c++) x += (double)q[i * d + c] * k[j * d + c];
            s[j] = x / 3.0;
            if (s[j] > mx) mx = s[j];
        }
        for (int j = 0; j < n; j++) sum += exp(s[j] - mx);
        for (int j = 0; j < n; j++) CHECK_NEAR(p[i * n + j], exp(s[j] - mx) / sum, 1e-6);
        double csum = 0, cmx = -1e300;
        for (int j = 0; j <= i; j++) cmx = s[j] > cmx ? s[j] : cmx;
        for (int j = 0; j <= i; j++) csum += exp(s[j] - cmx);
        for (int j = 0; j < n; j++)
            CHECK_NEAR(pc[i * n + j], j <= i ? exp(s[j] - cmx) / csum : 0.0, 1e-6);
    }
    free(q); free(k);
}

static void test_backend_table(void) {
    const av_backend *be = av_backend_cpu();
    CHECK(be && !strcmp(be->name, "cpu"));
    float host[4] = {1, 2, 3, 4}, back[4] = {0};
    float *dev = be->alloc(sizeof host);
    CHECK(dev != NULL);
    CHECK(be->upload(dev, host, sizeof host) == 0);
    CHECK(be->add(dev, dev, dev, 4) == 0);
    CHECK(be->gelu(dev, 4, AV_GELU_ERF) == 0);
    CHECK(be->sync() == 0);
    CHECK(be->download(back, dev, sizeof back) == 0);
    for (int i = 0; i < 4; i++) CHECK_NEAR(back[i], 2 * host[i] * 0.5 * (1 + erf(2 * host[i] / sqrt(2.0))), 1e-5);
    be->free(dev);
}

int main(void) {
    for (int i = 0; i < 2; i++) {
        int M = i ? 67 : 7;
        test_matmul(M, AV_W_NK, 1);
        test_matmul(M, AV_W_NK, 0);
        test_matmul(M, AV_W_KN, 1);
        test_matmul(M, AV_W_KN, 0);
    }
    test_layernorm();
    test_gelu();
    test_embed_add();
    test_patchify();
    const int32_t short_lens[3] = {7, 4, 1}, long_lens[2] = {600, 289};
    for (int causal = 0; causal <= 1; causal++) {
        test_attention(3, 7, 2, 2, 11, short_lens, causal);
        test_attention(3, 7, 6, 2, 11, short_lens, causal);   /* grouped-query: 3 query heads per key head */
        test_attention(2, 600, 4, 1, 16, long_lens, causal);  /* several key and query tiles, one key head */
    }
    test_rmsnorm();
    test_rope();
    test_swiglu();
    test_probs();
    test_backend_table();
    return av_check_summary("test_ops_cpu");
}
