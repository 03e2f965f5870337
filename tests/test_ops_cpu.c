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
static void ref_attention(double *o, const float *q, const float *k, const float *v, int ld, int T,
                          int b, int h, int d, int i, int len, int causal) {
    int n = causal ? i + 1 : len;
    double s[64], mx = -1e300, sum = 0;
    for (int j = 0; j < n; j++) {
        double x = 0;
        for (int c = 0; c < d; c++) x += (double)q[(b * T + i) * ld + h * d + c] * k[(b * T + j) * ld + h * d + c];
        s[j] = x / sqrt((double)d);
        if (s[j] > mx) mx = s[j];
    }
    for (int j = 0; j < n; j++) sum += (s[j] = exp(s[j] - mx));
    for (int c = 0; c < d; c++) {
        o[c] = 0;
        for (int j = 0; j < n; j++) o[c] += s[j] / sum * v[(b * T + j) * ld + h * d + c];
    }
}

static void test_attention(int causal) {
    int B = 3, T = 7, H = 2, d = 11, C = H * d, ld = 3 * C;
    int32_t lengths[3] = {7, 4, 1};
    float *qkv = randv(B * T * ld, 2), *out = malloc((size_t)B * T * C * 4);
    double *ref = calloc((size_t)B * T * C, sizeof(double));
    for (int i = 0; i < B * T * C; i++) out[i] = 12345.0f; /* padded rows must be overwritten */
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++)
            for (int i = 0; i < lengths[b]; i++)
                ref_attention(ref + (b * T + i) * C + h * d, qkv, qkv + C, qkv + 2 * C, ld, T, b, h, d, i,
                              lengths[b], causal);
    av_attention_cpu(out, qkv, qkv + C, qkv + 2 * C, ld, B, T, H, d, lengths, causal);
    CHECK_MSG(rel_err(out, ref, B * T * C) < 1e-6, "attention causal=%d err %g", causal,
              rel_err(out, ref, B * T * C));
    free(qkv); free(out); free(ref);
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
    test_attention(0);
    test_attention(1);
    test_probs();
    test_backend_table();
    return av_check_summary("test_ops_cpu");
}
