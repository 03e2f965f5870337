/* test_backend_ops.c - every op of kernels/ on every backend there is, from one registry
 * of cases (ggml's test-backend-ops is the model).
 *
 *   test_backend_ops [OP...]        check every case (or those of the named ops)
 *   test_backend_ops gpu [OP...]    the same, but SKIP (exit 77) where no CUDA device is
 *   test_backend_ops perf [OP...]   time each case on each backend (ms per call)
 *
 * Forward ops (embed, patchify, layernorm, matmul, gelu, matmul_gelu, add, attention,
 * pack_heads, and attention_probs, which only the host computes) run through the
 * av_backend table of kernels/ops.h, their inputs uploaded into the backend's memory;
 * projections (knn, pca, tsne, umap) through the av_project_backend table of
 * kernels/project.h, host pointers in and out. Inputs come from each case's own seed,
 * so every backend sees the same ones.
 *   - The CPU runs every case it supports and is held to the op's definition computed
 *     here in double (relative L2 error within the case's bound); where the CPU is the
 *     reference itself (PCA, t-SNE, UMAP: checked against scikit-learn, openTSNE and
 *     umap-learn by their own tests) it is run twice and must give the same bytes.
 *   - Every other backend is held to the CPU's output (relative L2, or bit for bit where
 *     the bound is 0; t-SNE by its KL, UMAP by trustworthiness, as their GPU versions
 *     draw other random numbers), or to the double reference where the CPU cannot run
 *     the case (16-bit and TF32 GEMMs).
 *   - A backend that is absent, or lacks what a case needs, prints SKIP with the backend,
 *     the case and the reason: nothing is left out silently.
 * Exit: 0 when every check that ran passed, 1 otherwise, 77 in gpu mode without a device. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "base/dtype.h"
#include "base/util.h"
#include "engine/quality.h"
#include "kernels/backend/device.h"
#include "kernels/ops.h"
#include "kernels/pack/pack.h"
#include "kernels/project.h"
#include "tests/check.h"

/* ---- backends ----------------------------------------------------------------------- */
typedef struct {
    const char *name;
    const av_backend *ops;           /* forward ops; NULL when absent */
    const av_project_backend *proj;  /* projections; NULL when absent */
    char why[256];                   /* why absent */
} backend;

/* ---- cases -------------------------------------------------------------------------- */
enum { MAXT = 8 };   /* tensors of a case: its inputs and outputs */

typedef struct tcase tcase;
typedef struct {
    const char *name;
    int nt;
    /* bytes of each tensor */
    void (*sizes)(const tcase *c, size_t bytes[MAXT]);
    /* host values of every tensor (outputs too: NaN where the op must write) */
    void (*fill)(const tcase *c, void *t[MAXT]);
    /* NULL when backend b can run the case, else why not (the SKIP line's reason) */
    const char *(*unsupported)(const tcase *c, const backend *b);
    /* forward ops: the op on the backend's copies of the tensors */
    int (*exec)(const tcase *c, const av_backend *be, void *t[MAXT]);
    /* projections: the op on the host tensors through the projection table */
    int (*pexec)(const tcase *c, const av_project_backend *pb, void *t[MAXT]);
    /* values to compare, from the tensors after the op; returns how many */
    int64_t (*result)(const tcase *c, void *const t[MAXT], float *out);
    int64_t (*count)(const tcase *c);
    /* the op's definition in double from the input tensors (NULL: the CPU is the reference) */
    void (*reference)(const tcase *c, void *const t[MAXT], double *ref);
    /* how far a result is from the one it is held to (NULL: relative L2 error) */
    double (*distance)(const tcase *c, void *const t[MAXT], const float *got, const double *want, int64_t n);
    const char *measure;   /* what distance measures, for the report */
} op_kind;

struct tcase {
    const op_kind *k;
    char shape[96];
    double cpu_bound, dev_bound;   /* bounds against the double reference, and against the CPU */
    uint64_t seed;
    /* parameters, used as each kind reads them */
    int64_t rows, n;
    int B, T, H, d, C, K, N, S, P, V, k_nn, dim, iters, offset;
    int flag;                 /* bias / token types / in place / causal / with v */
    float shift;              /* added to the first row of a LayerNorm input */
    int32_t lengths[8];
    av_wlayout wl;
    av_gelu_kind gk;
    av_dtype dt;
    int prec;                 /* GEMM precision (ops.h's av_gemm_precision; 0 = f32) */
    int keep;                 /* matmul: the weight kept in the GEMM precision first (keep_weight) */
    av_metric metric;
};

static uint64_t rng_state;
static float frand(void) {   /* uniform in [-1, 1), xorshift64 */
    rng_state ^= rng_state << 13; rng_state ^= rng_state >> 7; rng_state ^= rng_state << 17;
    return (float)((rng_state >> 40) * (1.0 / 8388608.0)) - 1.0f;
}
static void rand_fill(float *x, int64_t n, float scale) {
    for (int64_t i = 0; i < n; i++) x[i] = scale * frand();
}
static void nan_fill(float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) x[i] = NAN;
}
static int64_t copy_out(float *out, const float *x, int64_t n) {
    memcpy(out, x, (size_t)n * sizeof *out);
    return n;
}
static int is_cpu(const backend *b) { return !strcmp(b->name, "cpu"); }
static double rel_l2(const float *got, const double *want, int64_t n) {
    double e = 0, w = 0;
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(got[i])) return INFINITY;
        e += (got[i] - want[i]) * (got[i] - want[i]);
        w += want[i] * want[i];
    }
    return w > 0 ? sqrt(e / w) : sqrt(e);
}


/* ---- embed: out[t] = wte[ids[t]] + wpe[pos[t]] (+ tte[types[t]]) --------------------- */
enum { EMB_WTE, EMB_WPE, EMB_TTE, EMB_IDS, EMB_POS, EMB_TYPES, EMB_OUT };
static void embed_sizes(const tcase *c, size_t b[MAXT]) {
    b[EMB_WTE] = (size_t)c->V * c->C * 4; b[EMB_WPE] = (size_t)c->P * c->C * 4; b[EMB_TTE] = (size_t)2 * c->C * 4;
    b[EMB_IDS] = b[EMB_POS] = b[EMB_TYPES] = (size_t)c->T * 4; b[EMB_OUT] = (size_t)c->T * c->C * 4;
}
static void embed_fill(const tcase *c, void *t[MAXT]) {
    rand_fill(t[EMB_WTE], (int64_t)c->V * c->C, 1);
    rand_fill(t[EMB_WPE], (int64_t)c->P * c->C, 1);
    rand_fill(t[EMB_TTE], 2 * c->C, 1);
    int32_t *ids = t[EMB_IDS], *pos = t[EMB_POS], *types = t[EMB_TYPES];
    for (int i = 0; i < c->T; i++) { ids[i] = (i * 7 + 3) % c->V; pos[i] = i % c->P; types[i] = i > c->T / 2; }
    nan_fill(t[EMB_OUT], (int64_t)c->T * c->C);
}
static int embed_exec(const tcase *c, const av_backend *be, void *t[MAXT]) {
    return be->embed(t[EMB_OUT], t[EMB_IDS], t[EMB_POS], t[EMB_TYPES], t[EMB_WTE], t[EMB_WPE],
                     c->flag ? t[EMB_TTE] : NULL, c->T, c->C);
}
static int64_t embed_count(const tcase *c) { return (int64_t)c->T * c->C; }
static int64_t embed_result(const tcase *c, void *const t[MAXT], float *out) { return copy_out(out, t[EMB_OUT], embed_count(c)); }
static void embed_ref(const tcase *c, void *const t[MAXT], double *ref) {
    const float *wte = t[EMB_WTE], *wpe = t[EMB_WPE], *tte = t[EMB_TTE];
    const int32_t *ids = t[EMB_IDS], *pos = t[EMB_POS], *types = t[EMB_TYPES];
    for (int i = 0; i < c->T; i++)
        for (int j = 0; j < c->C; j++)
            ref[i * c->C + j] = (double)wte[ids[i] * c->C + j] + wpe[pos[i] * c->C + j] +
                                (c->flag ? tte[types[i] * c->C + j] : 0.0);
}
static const op_kind EMBED = {"embed", 7, embed_sizes, embed_fill, NULL, embed_exec, NULL, embed_result, embed_count,
                              embed_ref, NULL, NULL};

/* ---- patchify: images [B, 3, S, S] -> patch rows in conv-weight order ----------------- */
static int64_t patchify_count(const tcase *c) { return (int64_t)c->B * 3 * c->S * c->S; }
static void patchify_sizes(const tcase *c, size_t b[MAXT]) { b[0] = b[1] = (size_t)patchify_count(c) * 4; }
static void patchify_fill(const tcase *c, void *t[MAXT]) {
    rand_fill(t[0], patchify_count(c), 1);
    nan_fill(t[1], patchify_count(c));
}
static int patchify_exec(const tcase *c, const av_backend *be, void *t[MAXT]) { return be->patchify(t[1], t[0], c->B, c->S, c->P); }
static int64_t patchify_result(const tcase *c, void *const t[MAXT], float *out) { return copy_out(out, t[1], patchify_count(c)); }
static void patchify_ref(const tcase *c, void *const t[MAXT], double *ref) {
    const float *img = t[0];
    int S = c->S, P = c->P, g = S / P, row = 3 * P * P;
    for (int b = 0; b < c->B; b++)
        for (int py = 0; py < g; py++)
            for (int px = 0; px < g; px++)
                for (int ch = 0; ch < 3; ch++)
                    for (int ky = 0; ky < P; ky++)
                        for (int kx = 0; kx < P; kx++)
                            ref[((int64_t)(b * g + py) * g + px) * row + (ch * P + ky) * P + kx] =
                                img[((int64_t)(b * 3 + ch) * S + py * P + ky) * S + px * P + kx];
}
static const op_kind PATCHIFY = {"patchify", 2, patchify_sizes, patchify_fill, NULL, patchify_exec, NULL,
                                 patchify_result, patchify_count, patchify_ref, NULL, NULL};

/* ---- layernorm (offset: unaligned rows; flag: in place; shift: a large mean) ---------- */
static int64_t ln_count(const tcase *c) { return c->rows * c->C; }
static void ln_sizes(const tcase *c, size_t b[MAXT]) {
    b[0] = b[3] = (size_t)(ln_count(c) + c->offset) * 4;
    b[1] = b[2] = (size_t)c->C * 4;
}
static void ln_fill(const tcase *c, void *t[MAXT]) {
    float *x = t[0];
    rand_fill(x, ln_count(c) + c->offset, 3);
    for (int64_t i = 0; i < ln_count(c) + c->offset; i++) x[i] += 0.5f;   /* a mean, as real activations have */
    for (int i = 0; i < c->C; i++) x[c->offset + i] += c->shift;
    rand_fill(t[1], c->C, 1);
    rand_fill(t[2], c->C, 1);
    nan_fill(t[3], ln_count(c) + c->offset);
}
static int ln_exec(const tcase *c, const av_backend *be, void *t[MAXT]) {
    float *in = (float *)t[0] + c->offset, *out = (float *)t[c->flag ? 0 : 3] + c->offset;
    return be->layernorm(out, in, t[1], t[2], c->rows, c->C, 1e-5f);
}
static int64_t ln_result(const tcase *c, void *const t[MAXT], float *out) {
    return copy_out(out, (const float *)t[c->flag ? 0 : 3] + c->offset, ln_count(c));
}
static void ln_ref(const tcase *c, void *const t[MAXT], double *ref) {
    const float *g = t[1], *b = t[2];
    for (int64_t r = 0; r < c->rows; r++) {
        const float *x = (const float *)t[0] + c->offset + r * c->C;
        double m = 0, v = 0;
        for (int i = 0; i < c->C; i++) m += x[i];
        m /= c->C;
        for (int i = 0; i < c->C; i++) v += (x[i] - m) * (x[i] - m);
        v /= c->C;
        for (int i = 0; i < c->C; i++) ref[r * c->C + i] = (x[i] - m) / sqrt(v + 1e-5) * g[i] + b[i];
    }
}
static const op_kind LAYERNORM = {"layernorm", 4, ln_sizes, ln_fill, NULL, ln_exec, NULL, ln_result, ln_count,
                                  ln_ref, NULL, NULL};

/* ---- matmul: out[M, N] = in[M, K] @ W (+ bias), both weight layouts -------------------
 * offset: every operand one float past the start of its allocation (4-byte aligned only,
 * which cuBLASLt must be told); keep: the weight first kept in the GEMM precision, as a
 * model does at load (the start of its allocation, so never with offset). */
static int64_t mm_count(const tcase *c) { return c->rows * c->N; }
static void mm_sizes(const tcase *c, size_t b[MAXT]) {
    b[0] = (size_t)(c->rows * c->K + c->offset) * 4; b[1] = ((size_t)c->K * c->N + c->offset) * 4;
    b[2] = (size_t)(c->N + c->offset) * 4; b[3] = (size_t)(mm_count(c) + c->offset) * 4;
}
static void mm_fill(const tcase *c, void *t[MAXT]) {
    rand_fill(t[0], c->rows * c->K + c->offset, 1);
    rand_fill(t[1], (int64_t)c->K * c->N + c->offset, 0.1f);
    rand_fill(t[2], c->N + c->offset, 1);
    nan_fill(t[3], mm_count(c) + c->offset);
}
static const char *mm_unsupported(const tcase *c, const backend *b) {
    if (c->prec && !b->ops->set_gemm) return "f32 GEMMs only (no set_gemm: TF32 and 16-bit GEMMs are a CUDA setting)";
    if (c->keep && !b->ops->keep_weight) return "no keep_weight (an optional slot)";
    return NULL;
}
/* gelu: the MLP's up-projection, gelu(in @ W + bias), through matmul_gelu, or where a
 * backend has none the way the models then do it (matmul, then gelu). */
static int mm_run(const tcase *c, const av_backend *be, void *t[MAXT], int gelu) {
    const int o = c->offset;
    const float *in = (const float *)t[0] + o, *w = (const float *)t[1] + o, *bias = c->flag ? (const float *)t[2] + o : NULL;
    float *out = (float *)t[3] + o;
    int rc = be->set_gemm ? be->set_gemm((av_gemm_precision)c->prec) : AV_OK;
    if (rc == AV_OK && c->keep) rc = be->keep_weight(w, (int64_t)c->K * c->N);
    if (rc == AV_OK && gelu && be->matmul_gelu) {
        rc = be->matmul_gelu(out, in, w, bias, c->rows, c->K, c->N, c->wl, c->gk);
    } else if (rc == AV_OK) {
        rc = be->matmul(out, in, w, bias, c->rows, c->K, c->N, c->wl);
        if (rc == AV_OK && gelu) rc = be->gelu(out, mm_count(c), c->gk);
    }
    /* the next case starts from the default */
    if (be->set_gemm && be->set_gemm(AV_GEMM_F32) != AV_OK) rc = AV_ERR;
    return rc;
}
static int mm_exec(const tcase *c, const av_backend *be, void *t[MAXT]) { return mm_run(c, be, t, 0); }
static int64_t mm_result(const tcase *c, void *const t[MAXT], float *out) {
    return copy_out(out, (const float *)t[3] + c->offset, mm_count(c));
}
static void mm_ref(const tcase *c, void *const t[MAXT], double *ref) {
    const float *x = (const float *)t[0] + c->offset, *w = (const float *)t[1] + c->offset,
                *bias = (const float *)t[2] + c->offset;
    for (int64_t m = 0; m < c->rows; m++)
        for (int j = 0; j < c->N; j++) {
            double s = c->flag ? bias[j] : 0;
            for (int k = 0; k < c->K; k++)
                s += (double)x[m * c->K + k] * (c->wl == AV_W_NK ? w[(int64_t)j * c->K + k] : w[(int64_t)k * c->N + j]);
            ref[m * c->N + j] = s;
        }
}
static const op_kind MATMUL = {"matmul", 4, mm_sizes, mm_fill, mm_unsupported, mm_exec, NULL, mm_result, mm_count,
                               mm_ref, NULL, NULL};

/* ---- gelu (in place), both forms --------------------------------------------------- */
static double gelu_def(double v, av_gelu_kind k) {
    return k == AV_GELU_TANH ? 0.5 * v * (1 + tanh(sqrt(2.0 / M_PI) * (v + 0.044715 * v * v * v)))
                             : 0.5 * v * (1 + erf(v / sqrt(2.0)));
}
static int64_t gelu_count(const tcase *c) { return c->n; }
static void gelu_sizes(const tcase *c, size_t b[MAXT]) { b[0] = (size_t)c->n * 4; }
static void gelu_fill(const tcase *c, void *t[MAXT]) { rand_fill(t[0], c->n, 4); }
static int gelu_exec(const tcase *c, const av_backend *be, void *t[MAXT]) { return be->gelu(t[0], c->n, c->gk); }
static int64_t gelu_result(const tcase *c, void *const t[MAXT], float *out) { return copy_out(out, t[0], c->n); }
static void gelu_ref(const tcase *c, void *const t[MAXT], double *ref) {
    const float *x = t[0];
    for (int64_t i = 0; i < c->n; i++) ref[i] = gelu_def(x[i], c->gk);
}
static const op_kind GELU = {"gelu", 1, gelu_sizes, gelu_fill, NULL, gelu_exec, NULL, gelu_result, gelu_count,
                             gelu_ref, NULL, NULL};

/* ---- matmul_gelu: out = gelu(in @ W + bias), matmul's tensors and options ------------ */
static int mmg_exec(const tcase *c, const av_backend *be, void *t[MAXT]) { return mm_run(c, be, t, 1); }
static void mmg_ref(const tcase *c, void *const t[MAXT], double *ref) {
    mm_ref(c, t, ref);
    for (int64_t i = 0; i < mm_count(c); i++) ref[i] = gelu_def(ref[i], c->gk);
}
static const op_kind MATMUL_GELU = {"matmul_gelu", 4, mm_sizes, mm_fill, mm_unsupported, mmg_exec, NULL, mm_result,
                                    mm_count, mmg_ref, NULL, NULL};

/* ---- add, in place as the residual does it (offset: unaligned) --------------------- */
static int64_t add_count(const tcase *c) { return c->n; }
static void add_sizes(const tcase *c, size_t b[MAXT]) { b[0] = b[1] = (size_t)(c->n + c->offset) * 4; }
static void add_fill(const tcase *c, void *t[MAXT]) {
    rand_fill(t[0], c->n + c->offset, 1);
    rand_fill(t[1], c->n + c->offset, 1);
}
static int add_exec(const tcase *c, const av_backend *be, void *t[MAXT]) {
    float *a = (float *)t[0] + c->offset;
    return be->add(a, a, (const float *)t[1] + c->offset, c->n);
}
static int64_t add_result(const tcase *c, void *const t[MAXT], float *out) { return copy_out(out, (const float *)t[0] + c->offset, c->n); }
static void add_ref(const tcase *c, void *const t[MAXT], double *ref) {
    const float *a = (const float *)t[0] + c->offset, *b = (const float *)t[1] + c->offset;
    for (int64_t i = 0; i < c->n; i++) ref[i] = (double)a[i] + b[i];
}
static const op_kind ADD = {"add", 2, add_sizes, add_fill, NULL, add_exec, NULL, add_result, add_count, add_ref,
                            NULL, NULL};

/* ---- attention from a fused [B*T, 3C] qkv buffer, padded items, causal or not ------- */
static int64_t att_count(const tcase *c) { return (int64_t)c->B * c->T * c->H * c->d; }
static void att_sizes(const tcase *c, size_t b[MAXT]) {
    b[0] = (size_t)att_count(c) * 3 * 4; b[1] = (size_t)c->B * 4; b[2] = (size_t)att_count(c) * 4;
}
static void att_fill(const tcase *c, void *t[MAXT]) {
    rand_fill(t[0], att_count(c) * 3, 2);
    memcpy(t[1], c->lengths, (size_t)c->B * 4);
    nan_fill(t[2], att_count(c));   /* padded rows must be written (as zeros) */
}
static int att_exec(const tcase *c, const av_backend *be, void *t[MAXT]) {
    int C = c->H * c->d;
    const float *qkv = t[0];
    return be->attention(t[2], qkv, qkv + C, qkv + 2 * C, 3 * C, c->B, c->T, c->H, c->d, t[1], c->flag);
}
static int64_t att_result(const tcase *c, void *const t[MAXT], float *out) { return copy_out(out, t[2], att_count(c)); }
static void att_ref(const tcase *c, void *const t[MAXT], double *ref) {
    const float *qkv = t[0];
    int C = c->H * c->d, ld = 3 * C, d = c->d, T = c->T;
    double *s = malloc((size_t)T * sizeof *s);
    for (int b = 0; b < c->B; b++)
        for (int h = 0; h < c->H; h++)
            for (int i = 0; i < T; i++) {
                double *o = ref + ((int64_t)b * T + i) * C + h * d;
                for (int x = 0; x < d; x++) o[x] = 0;
                if (i >= c->lengths[b]) continue;
                int m = c->flag ? i + 1 : c->lengths[b];
                double mx = -INFINITY, sum = 0;
                const float *q = qkv + ((int64_t)b * T + i) * ld + h * d;
                for (int j = 0; j < m; j++) {
                    const float *k = qkv + ((int64_t)b * T + j) * ld + C + h * d;
                    double dot = 0;
                    for (int x = 0; x < d; x++) dot += (double)q[x] * k[x];
                    s[j] = dot / sqrt((double)d);
                    if (s[j] > mx) mx = s[j];
                }
                for (int j = 0; j < m; j++) sum += (s[j] = exp(s[j] - mx));
                for (int j = 0; j < m; j++) {
                    const float *v = qkv + ((int64_t)b * T + j) * ld + 2 * C + h * d;
                    for (int x = 0; x < d; x++) o[x] += s[j] / sum * v[x];
                }
            }
    free(s);
}
static const op_kind ATTENTION = {"attention", 3, att_sizes, att_fill, NULL, att_exec, NULL, att_result, att_count,
                                  att_ref, NULL, NULL};

/* ---- attention_probs: softmax(q k^T / sqrt d) of one item's stored q/k (host only) --- */
static int64_t ap_count(const tcase *c) { return c->n * c->n; }
static void ap_sizes(const tcase *c, size_t b[MAXT]) { b[0] = b[1] = (size_t)(c->n * c->d) * 4; b[2] = (size_t)ap_count(c) * 4; }
static void ap_fill(const tcase *c, void *t[MAXT]) {
    rand_fill(t[0], c->n * c->d, 2);
    rand_fill(t[1], c->n * c->d, 2);
    nan_fill(t[2], ap_count(c));
}
static const char *ap_unsupported(const tcase *c, const backend *b) {
    (void)c;
    return is_cpu(b) ? NULL : "no attention_probs (the viewer and the statistics compute it on the host)";
}
static int ap_exec(const tcase *c, const av_backend *be, void *t[MAXT]) {
    (void)be;   /* host memory: the CPU backend's */
    return av_attention_probs_cpu(t[2], t[0], t[1], (int)c->n, c->d, c->flag);
}
static int64_t ap_result(const tcase *c, void *const t[MAXT], float *out) { return copy_out(out, t[2], ap_count(c)); }
static void ap_ref(const tcase *c, void *const t[MAXT], double *ref) {
    const float *q = t[0], *k = t[1];
    int n = (int)c->n, d = c->d;
    for (int i = 0; i < n; i++) {
        double *p = ref + (int64_t)i * n, mx = -INFINITY, sum = 0;
        int m = c->flag ? i + 1 : n;
        for (int j = 0; j < n; j++) {
            double dot = 0;
            for (int x = 0; x < d; x++) dot += (double)q[i * d + x] * k[j * d + x];
            p[j] = dot / sqrt((double)d);
            if (j < m && p[j] > mx) mx = p[j];
        }
        for (int j = 0; j < m; j++) sum += (p[j] = exp(p[j] - mx));
        for (int j = 0; j < n; j++) p[j] = j < m ? p[j] / sum : 0;
    }
}
static const op_kind ATTENTION_PROBS = {"attention_probs", 3, ap_sizes, ap_fill, ap_unsupported, ap_exec, NULL,
                                        ap_result, ap_count, ap_ref, NULL, NULL};

/* ---- pack_heads: q/k into the run folder's per-head layout, and the norms ----------- */
enum { PK_QKV, PK_LEN, PK_Q, PK_K, PK_VN, PK_SUMS };
static int64_t pk_tokens(const tcase *c) { return av_pack_count(c->lengths, c->B, c->T); }
static size_t pk_es(const tcase *c) { return c->dt == AV_DT_F16 ? 2 : 4; }
static void pk_sizes(const tcase *c, size_t b[MAXT]) {
    int64_t n = pk_tokens(c), C = (int64_t)c->H * c->d;
    b[PK_QKV] = (size_t)(c->B * c->T * 3 * C) * 4;
    b[PK_LEN] = (size_t)c->B * 4;
    b[PK_Q] = b[PK_K] = (size_t)(c->H * n * c->d) * pk_es(c);
    b[PK_VN] = (size_t)(c->H * n) * 4;
    b[PK_SUMS] = (size_t)3 * c->H * sizeof(double);
}
static void pk_fill(const tcase *c, void *t[MAXT]) {
    int64_t C = (int64_t)c->H * c->d;
    rand_fill(t[PK_QKV], c->B * c->T * 3 * C, 2);
    memcpy(t[PK_LEN], c->lengths, (size_t)c->B * 4);
    memset(t[PK_Q], 0xEE, (size_t)(c->H * pk_tokens(c) * c->d) * pk_es(c));
    memset(t[PK_K], 0xEE, (size_t)(c->H * pk_tokens(c) * c->d) * pk_es(c));
    nan_fill(t[PK_VN], c->H * pk_tokens(c));
    double *sums = t[PK_SUMS];
    for (int i = 0; i < 3 * c->H; i++) sums[i] = 1.0;   /* sums are added to */
}
static int pk_exec(const tcase *c, const av_backend *be, void *t[MAXT]) {
    int C = c->H * c->d;
    const float *qkv = t[PK_QKV];
    return be->pack_heads(t[PK_Q], t[PK_K], c->flag ? t[PK_VN] : NULL, t[PK_SUMS], c->dt, qkv, qkv + C,
                          c->flag ? qkv + 2 * C : NULL, 3 * C, c->B, c->T, c->H, c->d, t[PK_LEN], pk_tokens(c));
}
/* the packed q then k, as f32 (an f16 converts exactly, so equal values are equal bits) */
static int64_t pkqk_count(const tcase *c) { return 2 * c->H * pk_tokens(c) * c->d; }
static int64_t pkqk_result(const tcase *c, void *const t[MAXT], float *out) {
    int64_t m = c->H * pk_tokens(c) * c->d;
    for (int s = 0; s < 2; s++) {
        const void *src = t[s ? PK_K : PK_Q];
        for (int64_t i = 0; i < m; i++)
            out[s * m + i] = c->dt == AV_DT_F16 ? av_f16_to_f32(((const uint16_t *)src)[i]) : ((const float *)src)[i];
    }
    return 2 * m;
}
static void pkqk_ref(const tcase *c, void *const t[MAXT], double *ref) {
    const float *qkv = t[PK_QKV];
    int C = c->H * c->d;
    int64_t n = pk_tokens(c), m = c->H * n * c->d, tok = 0;
    for (int b = 0; b < c->B; b++)
        for (int i = 0; i < c->T && i < c->lengths[b]; i++, tok++)
            for (int s = 0; s < 2; s++)
                for (int h = 0; h < c->H; h++)
                    for (int x = 0; x < c->d; x++) {
                        float v = qkv[((int64_t)b * c->T + i) * 3 * C + s * C + h * c->d + x];
                        ref[s * m + (h * n + tok) * c->d + x] = c->dt == AV_DT_F16 ? av_f16_to_f32(av_f32_to_f16(v)) : v;
                    }
}
static const op_kind PACK_QK = {"pack_heads", 6, pk_sizes, pk_fill, NULL, pk_exec, NULL, pkqk_result, pkqk_count,
                                pkqk_ref, NULL, NULL};
/* |v| per token (with v), then the 3H sums of |q|, |k|, |v| */
static int64_t pkn_count(const tcase *c) { return (c->flag ? c->H * pk_tokens(c) : 0) + 3 * c->H; }
static int64_t pkn_result(const tcase *c, void *const t[MAXT], float *out) {
    int64_t o = c->flag ? copy_out(out, t[PK_VN], c->H * pk_tokens(c)) : 0;
    const double *sums = t[PK_SUMS];
    for (int i = 0; i < 3 * c->H; i++) out[o++] = (float)sums[i];
    return o;
}
static void pkn_ref(const tcase *c, void *const t[MAXT], double *ref) {
    const float *qkv = t[PK_QKV];
    int C = c->H * c->d, H = c->H;
    int64_t n = pk_tokens(c), tok = 0, base = c->flag ? H * n : 0;
    for (int i = 0; i < 3 * H; i++) ref[base + i] = 1.0;
    for (int b = 0; b < c->B; b++)
        for (int i = 0; i < c->T && i < c->lengths[b]; i++, tok++)
            for (int h = 0; h < H; h++)
                for (int s = 0; s < 3; s++) {
                    if (s == 2 && !c->flag) continue;
                    const float *x = qkv + ((int64_t)b * c->T + i) * 3 * C + s * C + h * c->d;
                    double nn = 0;
                    for (int j = 0; j < c->d; j++) nn += (double)x[j] * x[j];
                    ref[base + s * H + h] += sqrt(nn);
                    if (s == 2) ref[h * n + tok] = sqrt(nn);
                }
}
static const op_kind PACK_NORMS = {"pack_heads", 6, pk_sizes, pk_fill, NULL, pk_exec, NULL, pkn_result, pkn_count,
                                   pkn_ref, NULL, NULL};

/* ---- projections: host pointers, through the projection table ---------------------- */
/* X [n, d]: clusters of Gaussian points around random centres (a cloud with structure) */
static void cloud_fill(const tcase *c, float *X) {
    float centre[8][64];
    for (int k = 0; k < 8; k++) rand_fill(centre[k], c->d, 4);
    for (int64_t i = 0; i < c->n; i++)
        for (int j = 0; j < c->d; j++) X[i * c->d + j] = centre[i % 8][j] + 0.5f * (frand() + frand() + frand());
}
static void proj_sizes(const tcase *c, size_t b[MAXT]) {
    b[0] = (size_t)(c->n * c->d) * 4;
    b[1] = (size_t)c->k->count(c) * 4;
}
static void proj_fill(const tcase *c, void *t[MAXT]) {
    cloud_fill(c, t[0]);
    nan_fill(t[1], c->k->count(c));
}
static int64_t proj_result(const tcase *c, void *const t[MAXT], float *out) { return copy_out(out, t[1], c->k->count(c)); }

/* knn exact: distances of every point's k neighbours, then their indices (as floats) */
static int64_t knn_count(const tcase *c) { return 2 * c->n * c->k_nn; }
static int knn_pexec(const tcase *c, const av_project_backend *pb, void *t[MAXT]) {
    av_knn r;
    if (pb->knn(t[0], c->n, c->d, c->k_nn, c->metric, AV_KNN_EXACT, 1, &r) != AV_OK) return AV_ERR;
    float *out = t[1];
    int64_t m = c->n * c->k_nn;
    for (int64_t a = 0; a < m; a++) { out[a] = r.dist[a]; out[m + a] = (float)r.idx[a]; }
    av_knn_free(&r);
    return AV_OK;
}
typedef struct { double dist; int64_t j; } nb;
static int cmp_nb(const void *a, const void *b) {
    const nb *x = a, *y = b;
    return x->dist < y->dist ? -1 : x->dist > y->dist ? 1 : (x->j > y->j) - (x->j < y->j);
}
static void knn_ref(const tcase *c, void *const t[MAXT], double *ref) {
    const float *X = t[0];
    int64_t n = c->n, m = n * c->k_nn;
    int d = c->d;
    nb *all = malloc((size_t)n * sizeof *all);
    for (int64_t i = 0; i < n; i++) {
        int64_t o = 0;
        for (int64_t j = 0; j < n; j++) {
            if (j == i) continue;
            double s = 0, ni = 0, nj = 0, dot = 0;
            for (int x = 0; x < d; x++) {
                double a = X[i * d + x], b = X[j * d + x];
                s += (a - b) * (a - b); ni += a * a; nj += b * b; dot += a * b;
            }
            all[o++] = (nb){c->metric == AV_METRIC_COSINE ? 1 - dot / sqrt(ni * nj) : s, j};
        }
        qsort(all, (size_t)o, sizeof *all, cmp_nb);
        for (int a = 0; a < c->k_nn; a++) { ref[i * c->k_nn + a] = all[a].dist; ref[m + i * c->k_nn + a] = (double)all[a].j; }
    }
    free(all);
}
/* the same neighbours in the same order (random clouds have no ties), then the
 * distances' relative L2 error */
static double knn_distance(const tcase *c, void *const t[MAXT], const float *got, const double *want, int64_t n) {
    (void)t; (void)n;
    int64_t m = c->n * c->k_nn;
    for (int64_t a = 0; a < m; a++) if (got[m + a] != want[m + a]) return INFINITY;
    return rel_l2(got, want, m);
}
static const op_kind KNN = {"knn", 2, proj_sizes, proj_fill, NULL, NULL, knn_pexec, proj_result, knn_count, knn_ref,
                            knn_distance, "dist rel L2"};

/* pca to dim: the projection Y [n, dim] */
static int64_t pca_count(const tcase *c) { return c->n * c->dim; }
static int pca_pexec(const tcase *c, const av_project_backend *pb, void *t[MAXT]) {
    return pb->pca(t[0], c->n, c->d, c->dim, t[1], NULL);
}
static const op_kind PCA = {"pca", 2, proj_sizes, proj_fill, NULL, NULL, pca_pexec, proj_result, pca_count, NULL,
                            NULL, NULL};

/* t-SNE, a few iterations: Y [n, dim] then the KL. Held to the CPU by the KL: the GPU's
 * tree sums in another order, so layouts drift apart point by point like nearby seeds. */
static int64_t tsne_count(const tcase *c) { return c->n * c->dim + 1; }
static int tsne_pexec(const tcase *c, const av_project_backend *pb, void *t[MAXT]) {
    av_tsne_params p;
    av_tsne_defaults(&p);
    p.dim = c->dim;
    p.iters = c->iters;
    p.early_iters = c->iters / 2;
    p.perplexity = 10;
    p.metric = c->metric;
    p.knn_method = AV_KNN_EXACT;
    p.seed = c->seed;
    float *out = t[1];
    double kl;
    if (pb->tsne(t[0], c->n, c->d, &p, out, &kl) != AV_OK) return AV_ERR;
    out[c->n * c->dim] = (float)kl;
    return AV_OK;
}
static double tsne_distance(const tcase *c, void *const t[MAXT], const float *got, const double *want, int64_t n) {
    (void)t; (void)n;
    double kg = got[c->n * c->dim], kw = want[c->n * c->dim];
    return isfinite(kg) ? fabs(kg - kw) / kw : INFINITY;
}
static const op_kind TSNE = {"tsne", 2, proj_sizes, proj_fill, NULL, NULL, tsne_pexec, proj_result, tsne_count,
                             NULL, tsne_distance, "KL rel"};

/* UMAP, a few epochs: Y [n, dim]. Held to the CPU by trustworthiness (k 10): the GPU
 * draws its negative samples from other streams. */
static int64_t umap_count(const tcase *c) { return c->n * c->dim; }
static int umap_pexec(const tcase *c, const av_project_backend *pb, void *t[MAXT]) {
    av_umap_params p;
    av_umap_defaults(&p);
    p.dim = c->dim;
    p.epochs = c->iters;
    p.metric = c->metric;
    p.knn_method = AV_KNN_EXACT;
    p.seed = c->seed;
    return pb->umap(t[0], c->n, c->d, &p, t[1]);
}
static double umap_distance(const tcase *c, void *const t[MAXT], const float *got, const double *want, int64_t n) {
    double tg, tw;
    float *w = malloc((size_t)n * sizeof *w);
    for (int64_t i = 0; i < n; i++) w[i] = (float)want[i];
    int ok = av_trustworthiness(t[0], got, c->n, c->d, c->dim, 10, 0, 1, &tg) == AV_OK &&
             av_trustworthiness(t[0], w, c->n, c->d, c->dim, 10, 0, 1, &tw) == AV_OK;
    free(w);
    for (int64_t i = 0; i < n; i++) if (!isfinite(got[i])) ok = 0;
    return ok ? fabs(tg - tw) : INFINITY;
}
static const op_kind UMAP = {"umap", 2, proj_sizes, proj_fill, NULL, NULL, umap_pexec, proj_result, umap_count,
                             NULL, umap_distance, "trustworthiness diff"};

/* ---- the registry ------------------------------------------------------------------- */
static tcase cases[128];
static int ncases;

static tcase *add_case(const op_kind *k, double cpu_bound, double dev_bound, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static tcase *add_case(const op_kind *k, double cpu_bound, double dev_bound, const char *fmt, ...) {
    if (ncases == (int)(sizeof cases / sizeof cases[0])) { fprintf(stderr, "too many cases\n"); exit(1); }
    tcase *c = &cases[ncases];
    memset(c, 0, sizeof *c);
    c->k = k;
    c->cpu_bound = cpu_bound;
    c->dev_bound = dev_bound;
    c->seed = 0x9E3779B97F4A7C15ull + 7919 * (uint64_t)ncases++;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->shape, sizeof c->shape, fmt, ap);
    va_end(ap);
    return c;
}

/* Shapes cover the paths the kernels choose between: float4 and scalar, aligned and
 * not, head sizes of every accumulator count, padded and causal attention, fused qkv
 * strides, GEMM precisions and both weight layouts, row splits of the CPU's GEMM. */
static void make_cases(void) {
    tcase *c;
    for (int types = 0; types <= 1; types++) {
        c = add_case(&EMBED, 1e-7, 1e-6, "T 77, C 96%s", types ? ", token types" : "");
        c->T = 77; c->C = 96; c->V = 50; c->P = 40; c->flag = types;
    }
    c = add_case(&PATCHIFY, 0, 0, "B 2, S 32, P 8"); c->B = 2; c->S = 32; c->P = 8;
    c = add_case(&PATCHIFY, 0, 0, "B 1, S 224, P 16"); c->B = 1; c->S = 224; c->P = 16;

    struct { int64_t rows; int C, offset, inplace; float shift; } ln[] = {
        {300, 768, 0, 0, 0}, {300, 768, 0, 1, 0}, {33, 37, 0, 0, 0}, {64, 384, 1, 0, 0}, {3, 37, 0, 0, 500}};
    for (size_t i = 0; i < sizeof ln / sizeof ln[0]; i++) {
        c = add_case(&LAYERNORM, 1e-5, 1e-5, "%lld x %d%s%s%s", (long long)ln[i].rows, ln[i].C, ln[i].offset ? ", unaligned" : "",
                     ln[i].inplace ? ", in place" : "", ln[i].shift ? ", mean 500 in row 0" : "");
        c->rows = ln[i].rows; c->C = ln[i].C; c->offset = ln[i].offset; c->flag = ln[i].inplace; c->shift = ln[i].shift;
    }

    /* dev bounds: f32 as the CPU's sgemm; TF32 and the 16-bit formats by their mantissas
     * (10, 7 and 10 bits: bench/bf16_error_prediction.py), with room for K = 768 sums */
    struct { int64_t M; int K, N; av_wlayout wl; int bias, prec, offset, keep; double dev; } mm[] = {
        {300, 768, 768, AV_W_NK, 1, 0, 0, 0, 1e-5}, {300, 768, 2304, AV_W_KN, 1, 0, 0, 0, 1e-5},
        {37, 53, 29, AV_W_NK, 0, 0, 0, 0, 1e-5},    {37, 53, 29, AV_W_KN, 1, 0, 0, 0, 1e-5},
        {37, 53, 29, AV_W_NK, 1, 0, 1, 0, 1e-5},
        {7, 13, 5, AV_W_NK, 1, 0, 0, 0, 1e-5},      {7, 13, 5, AV_W_KN, 0, 0, 0, 0, 1e-5},   /* the CPU's single sgemm */
        {67, 13, 5, AV_W_NK, 0, 0, 0, 0, 1e-5},     {67, 13, 5, AV_W_KN, 1, 0, 0, 0, 1e-5},  /* rows split over threads */
        {256, 768, 3072, AV_W_NK, 1, AV_GEMM_TF32, 0, 0, 5e-3}, {256, 768, 3072, AV_W_KN, 1, AV_GEMM_TF32, 1, 0, 5e-3},
        {256, 768, 3072, AV_W_NK, 1, AV_GEMM_BF16, 0, 0, 1e-2}, {256, 768, 3072, AV_W_NK, 1, AV_GEMM_BF16, 0, 1, 1e-2},
        {256, 768, 3072, AV_W_KN, 0, AV_GEMM_BF16, 0, 1, 1e-2}, {37, 53, 29, AV_W_KN, 1, AV_GEMM_BF16, 1, 0, 1e-2},
        {256, 768, 768, AV_W_NK, 1, AV_GEMM_F16, 0, 0, 2e-3},   {256, 768, 768, AV_W_KN, 1, AV_GEMM_F16, 0, 1, 2e-3}};
    for (size_t i = 0; i < sizeof mm / sizeof mm[0]; i++) {
        c = add_case(&MATMUL, 1e-6, mm[i].dev, "%lldx%dx%d %s%s %s%s%s", (long long)mm[i].M, mm[i].K, mm[i].N,
                     mm[i].wl == AV_W_NK ? "NK" : "KN", mm[i].bias ? "+bias" : "", av_gemm_name(mm[i].prec),
                     mm[i].keep ? " kept" : "", mm[i].offset ? " unaligned" : "");
        c->rows = mm[i].M; c->K = mm[i].K; c->N = mm[i].N; c->wl = mm[i].wl; c->flag = mm[i].bias; c->prec = mm[i].prec;
        c->offset = mm[i].offset; c->keep = mm[i].keep;
    }

    for (int k = 0; k <= 1; k++) {
        c = add_case(&GELU, 1e-6, 1e-6, "n 100003, %s form", k ? "tanh" : "erf");
        c->n = 100003; c->gk = k ? AV_GELU_TANH : AV_GELU_ERF;
    }
    /* the MLP's up-projection: in f32 the GEMM, then bias + GELU in one pass; in TF32 and
     * 16 bits with the tanh form, cuBLASLt's epilogue; the erf form is ours everywhere */
    struct { int64_t M; int K, N; av_wlayout wl; int bias, prec, offset, keep; av_gelu_kind gk; double dev; } mg[] = {
        {129, 768, 3072, AV_W_NK, 1, 0, 0, 0, AV_GELU_ERF, 1e-5}, {129, 768, 3072, AV_W_KN, 1, 0, 0, 0, AV_GELU_TANH, 1e-5},
        {129, 64, 37, AV_W_NK, 1, 0, 0, 0, AV_GELU_TANH, 1e-5},   {129, 768, 3072, AV_W_KN, 1, AV_GEMM_TF32, 0, 0, AV_GELU_TANH, 5e-3},
        {129, 768, 3072, AV_W_NK, 1, AV_GEMM_BF16, 0, 1, AV_GELU_ERF, 1e-2},
        {129, 768, 3072, AV_W_KN, 1, AV_GEMM_BF16, 0, 1, AV_GELU_TANH, 1e-2},
        {37, 53, 29, AV_W_KN, 0, AV_GEMM_F16, 1, 0, AV_GELU_TANH, 2e-3}};
    for (size_t i = 0; i < sizeof mg / sizeof mg[0]; i++) {
        c = add_case(&MATMUL_GELU, 1e-6, mg[i].dev, "%lldx%dx%d %s%s %s%s%s, %s form", (long long)mg[i].M, mg[i].K,
                     mg[i].N, mg[i].wl == AV_W_NK ? "NK" : "KN", mg[i].bias ? "+bias" : "", av_gemm_name(mg[i].prec),
                     mg[i].keep ? " kept" : "", mg[i].offset ? " unaligned" : "", mg[i].gk == AV_GELU_TANH ? "tanh" : "erf");
        c->rows = mg[i].M; c->K = mg[i].K; c->N = mg[i].N; c->wl = mg[i].wl; c->flag = mg[i].bias; c->prec = mg[i].prec;
        c->offset = mg[i].offset; c->keep = mg[i].keep; c->gk = mg[i].gk;
    }
    c = add_case(&ADD, 1e-7, 0, "n 100003, in place"); c->n = 100003;
    c = add_case(&ADD, 1e-7, 0, "n 1001, unaligned, in place"); c->n = 1001; c->offset = 1;

    struct { int B, T, H, d, causal; int32_t len[4]; const char *why; } at[] = {
        {3, 37, 2, 16, 0, {37, 20, 1}, "d < 32: lanes past d idle"}, {3, 37, 2, 16, 1, {37, 20, 1}, "d < 32, causal"},
        {4, 128, 12, 64, 0, {128, 77, 5, 128}, "BERT heads, padding"}, {4, 128, 12, 64, 1, {128, 77, 5, 128}, "GPT-2 heads"},
        {2, 50, 12, 64, 0, {50, 50}, "ViT-B/32, none padded"}, {3, 37, 4, 32, 0, {37, 20, 1}, "MiniLM head size"},
        {2, 40, 2, 80, 1, {40, 17}, "three accumulators per lane"}, {2, 33, 1, 128, 0, {33, 32}, "the largest head size"},
        {2, 9, 3, 8, 1, {0, 9}, "an empty item"}, {1, 1, 2, 64, 1, {1}, "one token"},
        {3, 7, 2, 11, 0, {7, 4, 1}, "odd head size"}, {3, 7, 2, 11, 1, {7, 4, 1}, "odd head size, causal"}};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        c = add_case(&ATTENTION, 1e-6, 1e-5, "B %d T %d H %d d %d%s (%s)", at[i].B, at[i].T, at[i].H, at[i].d,
                     at[i].causal ? " causal" : "", at[i].why);
        c->B = at[i].B; c->T = at[i].T; c->H = at[i].H; c->d = at[i].d; c->flag = at[i].causal;
        memcpy(c->lengths, at[i].len, sizeof at[i].len);
    }
    for (int causal = 0; causal <= 1; causal++) {
        c = add_case(&ATTENTION_PROBS, 1e-6, 1e-6, "n 37, d 9%s", causal ? ", causal" : "");
        c->n = 37; c->d = 9; c->flag = causal;
    }

    struct { int B, T, H, d; av_dtype dt; int with_v; int32_t len[4]; } pk[] = {
        {4, 16, 3, 24, AV_DT_F32, 1, {7, 16, 0, 3}}, {4, 16, 3, 24, AV_DT_F16, 1, {7, 16, 0, 3}},
        {4, 128, 8, 64, AV_DT_F16, 0, {128, 77, 5, 128}}};
    for (size_t i = 0; i < sizeof pk / sizeof pk[0]; i++)
        for (int part = 0; part < 2; part++) {
            /* the packed vectors are the same floats rounded the same way: equal bits */
            c = add_case(part ? &PACK_NORMS : &PACK_QK, part ? 1e-6 : 0, part ? 1e-6 : 0, "%s B %d T %d H %d d %d%s, %s",
                         av_dtype_name(pk[i].dt), pk[i].B, pk[i].T, pk[i].H, pk[i].d, pk[i].with_v ? " with v" : "",
                         part ? "norms" : "q/k");
            c->B = pk[i].B; c->T = pk[i].T; c->H = pk[i].H; c->d = pk[i].d; c->dt = pk[i].dt; c->flag = pk[i].with_v;
            memcpy(c->lengths, pk[i].len, sizeof pk[i].len);
        }

    for (int cos = 0; cos <= 1; cos++) {
        c = add_case(&KNN, 1e-5, 1e-6, "exact, n 400, d 8, k 10, %s", cos ? "cosine" : "euclidean");
        c->n = 400; c->d = 8; c->k_nn = 10; c->metric = cos ? AV_METRIC_COSINE : AV_METRIC_EUCLIDEAN;
    }
    c = add_case(&PCA, 0, 1e-4, "n 500, d 16, to 2"); c->n = 500; c->d = 16; c->dim = 2;
    c = add_case(&PCA, 0, 1e-4, "n 500, d 16, to 3"); c->n = 500; c->d = 16; c->dim = 3;
    for (int dim = 2; dim <= 3; dim++) {
        c = add_case(&TSNE, 0, 0.05, "n 400, d 8, %d-D, 60 iterations", dim);
        c->n = 400; c->d = 8; c->dim = dim; c->iters = 60; c->metric = AV_METRIC_EUCLIDEAN;
    }
    c = add_case(&UMAP, 0, 0.03, "n 400, d 8, 2-D, 40 epochs"); c->n = 400; c->d = 8; c->dim = 2; c->iters = 40;
    c->metric = AV_METRIC_EUCLIDEAN;
}

/* ---- running a case ----------------------------------------------------------------- */
typedef struct {
    size_t bytes[MAXT];
    void *host[MAXT];
} tensors;

static void tensors_make(const tcase *c, tensors *ts) {
    memset(ts, 0, sizeof *ts);
    c->k->sizes(c, ts->bytes);
    for (int i = 0; i < c->k->nt; i++) {
        ts->host[i] = malloc(ts->bytes[i] ? ts->bytes[i] : 1);
        if (!ts->host[i]) { fprintf(stderr, "out of memory\n"); exit(1); }
    }
    rng_state = c->seed;
    c->k->fill(c, ts->host);
}
static void tensors_free(const tcase *c, tensors *ts) {
    for (int i = 0; i < c->k->nt; i++) free(ts->host[i]);
}

/* The case on backend b: out gets its values (count of them). reps > 0 times the op
 * instead (perf mode): *ms = milliseconds per call. AV_ERR with av_last_error() set. */
static int run_case(const tcase *c, const backend *b, const tensors *in, float *out, int reps, double *ms) {
    const op_kind *k = c->k;
    void *t[MAXT] = {0}, *host[MAXT] = {0};
    int rc = AV_OK;
    for (int i = 0; i < k->nt && rc == AV_OK; i++) {   /* fresh copies: ops work in place */
        if (!(host[i] = malloc(in->bytes[i] ? in->bytes[i] : 1))) rc = av_fail("out of memory");
        else memcpy(host[i], in->host[i], in->bytes[i]);
    }
    if (k->pexec) {
        if (rc == AV_OK) rc = k->pexec(c, b->proj, host);
        double t0 = av_now();
        for (int r = 0; r < reps && rc == AV_OK; r++) rc = k->pexec(c, b->proj, host);
        if (reps) *ms = (av_now() - t0) * 1000 / reps;
    } else {
        const av_backend *be = b->ops;
        for (int i = 0; i < k->nt && rc == AV_OK; i++) {
            if (!(t[i] = be->alloc(in->bytes[i]))) rc = AV_ERR;
            else rc = be->upload(t[i], host[i], in->bytes[i]);
        }
        if (rc == AV_OK) rc = k->exec(c, be, t);
        if (rc == AV_OK) rc = be->sync();
        double t0 = av_now();
        for (int r = 0; r < reps && rc == AV_OK; r++) rc = k->exec(c, be, t);
        if (reps && rc == AV_OK) rc = be->sync();
        if (reps) *ms = (av_now() - t0) * 1000 / reps;
        for (int i = 0; i < k->nt && rc == AV_OK; i++) rc = be->download(host[i], t[i], in->bytes[i]);
        for (int i = 0; i < k->nt; i++) if (t[i]) be->free(t[i]);
    }
    if (rc == AV_OK && !reps) k->result(c, host, out);
    for (int i = 0; i < k->nt; i++) free(host[i]);
    return rc;
}

static void line(const backend *b, const tcase *c, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void line(const backend *b, const tcase *c, const char *fmt, ...) {
    printf("  %-5s %-16s %-48s ", b->name, c->k->name, c->shape);
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
}

static int skipped;

/* Checks one case on every backend; the CPU first, as the others are held to it. */
static void check_case(const tcase *c, const backend *bs, int nb) {
    const op_kind *k = c->k;
    tensors in;
    tensors_make(c, &in);
    int64_t n = k->count(c);
    float *cpu = malloc((size_t)n * sizeof *cpu), *got = malloc((size_t)n * sizeof *got);
    double *ref = k->reference ? malloc((size_t)n * sizeof *ref) : NULL;
    if (!cpu || !got || (k->reference && !ref)) { fprintf(stderr, "out of memory\n"); exit(1); }
    if (ref) k->reference(c, in.host, ref);
    int have_cpu = 0;
    for (int bi = 0; bi < nb; bi++) {
        const backend *b = &bs[bi];
        const char *why = NULL;
        if (!(k->pexec ? (const void *)b->proj : (const void *)b->ops)) why = b->why;
        else if (k->unsupported) why = k->unsupported(c, b);
        if (why) {
            line(b, c, "SKIP: %s", why);
            skipped++;
            continue;
        }
        float *o = bi == 0 ? cpu : got;
        if (run_case(c, b, &in, o, 0, NULL) != AV_OK) {
            line(b, c, "FAILED: %s", av_last_error());
            CHECK_MSG(0, "%s %s on %s: %s", k->name, c->shape, b->name, av_last_error());
            continue;
        }
        const char *measure = k->distance ? k->measure : "rel L2";
        if (bi == 0) {   /* the CPU: against the definition, or against itself */
            have_cpu = 1;
            if (ref) {
                double e = k->distance ? k->distance(c, in.host, o, ref, n) : rel_l2(o, ref, n);
                if (c->cpu_bound == 0)
                    line(b, c, "%s %.2e vs double (bit for bit) %s", measure, e, e == 0 ? "ok" : "FAILED");
                else
                    line(b, c, "%s %.2e vs double (bound %.0e) %s", measure, e, c->cpu_bound, e <= c->cpu_bound ? "ok" : "FAILED");
                CHECK_MSG(e <= c->cpu_bound, "%s %s on the CPU: %s %.3e vs double > %.0e", k->name, c->shape, measure, e,
                          c->cpu_bound);
            } else {
                int same = run_case(c, b, &in, got, 0, NULL) == AV_OK && !memcmp(got, cpu, (size_t)n * sizeof *got);
                line(b, c, "the reference; a second run %s", same ? "gives the same bytes ok" : "DIFFERS");
                CHECK_MSG(same, "%s %s on the CPU: two runs differ", k->name, c->shape);
            }
            continue;
        }
        /* another backend: against the CPU's output, or the definition where the CPU has none */
        const char *vs = have_cpu ? "cpu" : "double";
        double *w = ref;
        if (have_cpu) {
            w = malloc((size_t)n * sizeof *w);
            for (int64_t i = 0; i < n; i++) w[i] = cpu[i];
        }
        double e = !w ? INFINITY : k->distance ? k->distance(c, in.host, o, w, n) : rel_l2(o, w, n);
        if (have_cpu) free(w);
        if (c->dev_bound == 0)
            line(b, c, "%s %.2e vs %s (bit for bit) %s", measure, e, vs, e == 0 ? "ok" : "FAILED");
        else
            line(b, c, "%s %.2e vs %s (bound %.0e) %s", measure, e, vs, c->dev_bound, e <= c->dev_bound ? "ok" : "FAILED");
        CHECK_MSG(e <= c->dev_bound, "%s %s on %s: %s %.3e vs %s > %.0e", k->name, c->shape, b->name, measure, e, vs,
                  c->dev_bound);
    }
    free(cpu); free(got); free(ref);
    tensors_free(c, &in);
}

/* Times one case on every backend that runs it: enough calls for about 0.2 s. */
static void perf_case(const tcase *c, const backend *bs, int nb) {
    tensors in;
    tensors_make(c, &in);
    for (int bi = 0; bi < nb; bi++) {
        const backend *b = &bs[bi];
        const char *why = NULL;
        if (!(c->k->pexec ? (const void *)b->proj : (const void *)b->ops)) why = b->why;
        else if (c->k->unsupported) why = c->k->unsupported(c, b);
        if (why) { line(b, c, "SKIP: %s", why); continue; }
        double ms = 0;
        int reps = 1;
        for (;;) {
            if (run_case(c, b, &in, NULL, reps, &ms) != AV_OK) { line(b, c, "FAILED: %s", av_last_error()); break; }
            if (ms * reps >= 200 || reps >= 4096) { line(b, c, "%10.4f ms per call (%d call%s)", ms, reps, reps == 1 ? "" : "s"); break; }
            reps = ms > 0 ? (int)fmin(4096, fmax(2 * reps, 250 / ms)) : 4 * reps;
        }
    }
    tensors_free(c, &in);
}

int main(int argc, char **argv) {
    int gpu_mode = argc > 1 && !strcmp(argv[1], "gpu"), perf = argc > 1 && !strcmp(argv[1], "perf");
    int first_op = 1 + (gpu_mode || perf);
    backend bs[2] = {{.name = "cpu", .ops = av_backend_cpu(), .proj = av_project_backend_cpu()}, {.name = "cuda"}};
    int nb = 2;
    char why[256] = "";
    if (av_cuda_device_count(why, sizeof why) > 0) {
        bs[1].ops = av_backend_cuda();
        bs[1].proj = av_project_backend_cuda();
        /* a device that is there but will not start is a failure, not a skip */
        CHECK_MSG(bs[1].ops && bs[1].proj, "the CUDA backend does not start: %s", av_last_error());
        if (!bs[1].ops || !bs[1].proj) snprintf(bs[1].why, sizeof bs[1].why, "%s", av_last_error());
        else printf("cuda: %s\n", av_cuda_device_name());
    } else {
        if (gpu_mode) AV_SKIP("%s", why);
        snprintf(bs[1].why, sizeof bs[1].why, "%s", why);
    }
    make_cases();
    int ran = 0;
    for (int i = 0; i < ncases; i++) {
        int want = argc <= first_op;
        for (int a = first_op; a < argc; a++) want |= !strcmp(argv[a], cases[i].k->name);
        if (!want) continue;
        ran++;
        if (perf) perf_case(&cases[i], bs, nb);
        else check_case(&cases[i], bs, nb);
    }
    if (!ran) { fprintf(stderr, "test_backend_ops: no case of that op\n"); return 2; }
    if (perf) return 0;
    printf("%d cases, %d skips by a backend (each named above)\n", ran, skipped);
    return av_check_summary("test_backend_ops");
}
