/* test_gguf_forward.c - a model read from a GGUF file runs like its Hugging Face twin:
 * tests/fixtures/gguf/<arch>-tiny.gguf were converted from the float16 folders beside them
 * the way llama.cpp's converter does (q/k rows permuted for llama, norms F32, the rest
 * F16; make_gguf.py), so after the reader undoes the permutation every weight is the
 * same value. The same padded batch through both must give the same q and k (before and
 * after RoPE) and |v| in every layer: bit for bit where RoPE's frequencies are the same,
 * within 1e-6 for Llama 3's scaling, which the GGUF carries as llama.cpp's per-frequency
 * divisors (rope_freqs.weight) instead of transformers' formula. Then the quantized twin
 * (Q4_0/Q4_1/Q5_0/Q5_1/Q8_0 weights) against gguf-py's dequantization, and a GGUF tensor
 * of a type attnviz does not read is refused, named. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "base/npy.h"
#include "base/util.h"
#include "models/model.h"
#include "tests/check.h"

#define GG "tests/fixtures/gguf/"

typedef struct {
    int L, H, Hkv, d;
    int64_t n;          /* real tokens */
    float *qkv;         /* per layer: q [n, H*d] | k [n, Hkv*d] | |v| [n, H] */
} keep;

static int64_t per_layer(const keep *k) { return k->n * ((int64_t)(k->H + k->Hkv) * k->d + k->H); }

static int sink(void *user, const av_layer_out *o) {
    keep *k = user;
    float *at = k->qkv + o->layer * per_layer(k);
    for (int b = 0; b < o->B; b++)
        for (int t = 0; t < o->lengths[b]; t++) {
            int64_t r = (int64_t)b * o->T + t;
            memcpy(at, o->q + r * o->ld, sizeof(float) * (size_t)(o->H * o->d));
            at += o->H * o->d;
            memcpy(at, o->k + r * o->ld, sizeof(float) * (size_t)(o->Hkv * o->d));
            at += o->Hkv * o->d;
            memcpy(at, o->vnorm + r * o->H, sizeof(float) * (size_t)o->H);
            at += o->H;
        }
    return 0;
}

/* Runs the batch through the model at path; fills k (caller frees k->qkv). */
static int run(const char *path, av_qk_rope which, const int32_t *ids, const int32_t *lens, int B, int T, keep *k) {
    av_model m;
    if (av_model_load(path, av_backend_cpu(), &m)) return AV_ERR;
    av_model_set_qk_rope(&m, which);
    k->L = m.cfg.num_layers;
    k->H = m.cfg.num_heads;
    k->Hkv = m.cfg.num_kv_heads;
    k->d = m.cfg.head_dim;
    k->n = 0;
    for (int b = 0; b < B; b++) k->n += lens[b];
    k->qkv = malloc(sizeof(float) * (size_t)(k->L * per_layer(k)));
    av_batch batch = {.B = B, .T = T, .ids = ids, .lengths = lens};
    int rc = av_model_forward(&m, &batch, sink, k, NULL);
    av_model_free(&m);
    return rc;
}

static double rel_l2(const float *a, const float *b, int64_t n) {
    double e = 0, w = 0;
    for (int64_t i = 0; i < n; i++) {
        e += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        w += (double)b[i] * b[i];
    }
    return w > 0 ? sqrt(e / w) : sqrt(e);
}

static void twin(const char *arch, double tol) {
    char gguf[256], hf[256];
    snprintf(gguf, sizeof gguf, GG "%s-tiny.gguf", arch);
    snprintf(hf, sizeof hf, GG "%s-tiny", arch);
    int32_t lens[3] = {19, 7, 1}, ids[3 * 19];
    for (int i = 0; i < 3 * 19; i++) ids[i] = (i * 37 + 11) % 64;   /* every fixture's vocabulary has 64+ ids */
    for (int w = 0; w < 2; w++) {
        av_qk_rope which = w ? AV_QK_PRE_ROPE : AV_QK_POST_ROPE;
        keep a = {0}, b = {0};
        int ok = run(gguf, which, ids, lens, 3, 19, &a) == AV_OK;
        CHECK_MSG(ok, "%s: %s", gguf, av_last_error());
        ok = ok && run(hf, which, ids, lens, 3, 19, &b) == AV_OK;
        CHECK_MSG(ok, "%s: %s", hf, av_last_error());
        if (ok) {
            CHECK(a.L == b.L && a.H == b.H && a.Hkv == b.Hkv && a.d == b.d);
            double worst = 0;
            for (int l = 0; l < a.L; l++)
                worst = fmax(worst, rel_l2(a.qkv + l * per_layer(&a), b.qkv + l * per_layer(&b), per_layer(&a)));
            CHECK_MSG(worst <= tol, "%s vs %s (%s): q/k/|v| differ by %.3g (bound %.0e)", gguf, hf,
                      w ? "pre-rope" : "post-rope", worst, tol);
            printf("%-48s %s: rel. L2 %.2e to its Hugging Face twin (%d layers, %d/%d heads)\n", gguf,
                   w ? "pre-rope " : "post-rope", worst, a.L, a.H, a.Hkv);
        }
        free(a.qkv);
        free(b.qkv);
    }
}

/* The quantized twin: layer 0's queries before RoPE are RMSNorm(embedding) times the
 * q projection, whose weights gguf-py dequantizes (in Hugging Face's row order) into
 * llama-tiny-q.expected.npy. Computed here in double from those weights and from the
 * model's own (Q8_0) embedding rows and norm weight, they must equal the forward pass's:
 * the 4- and 5-bit q rows were read, un-permuted and widened right. */
static void quantized(void) {
    const char *path = GG "llama-tiny-q.gguf";
    int32_t lens[2] = {9, 4}, ids[2 * 9];
    for (int i = 0; i < 2 * 9; i++) ids[i] = (i * 29 + 5) % 64;
    keep a = {0};
    av_model m;
    av_npy w;
    if (run(path, AV_QK_PRE_ROPE, ids, lens, 2, 9, &a) || av_model_load(path, av_backend_cpu(), &m)) {
        CHECK_MSG(0, "%s: %s", path, av_last_error());
        free(a.qkv);
        return;
    }
    CHECK(av_npy_open(GG "llama-tiny-q.expected.npy", &w) == AV_OK);
    CHECK(av_model_stage_layer(&m, 0) == AV_OK);
    const int C = m.cfg.hidden, A = a.H * a.d;
    float *e = malloc(sizeof(float) * (size_t)C);
    double num = 0, den = 0;
    int64_t at = 0;
    for (int b = 0; b < 2; b++)
        for (int t = 0; t < lens[b]; t++, at++) {
            CHECK(av_model_gather_embeddings(&m, ids + b * 9 + t, 1, e) == AV_OK);
            double ss = 0;
            for (int i = 0; i < C; i++) ss += (double)e[i] * e[i];
            double inv = 1.0 / sqrt(ss / C + m.cfg.layer_norm_eps);
            const float *got = a.qkv + at * ((int64_t)(a.H + a.Hkv) * a.d + a.H);
            for (int r = 0; r < A; r++) {
                double q = 0;
                for (int i = 0; i < C; i++) q += av_npy_get_f32(&w, (int64_t)r * C + i) * (m.lw.ln1_g[i] * e[i] * inv);
                num += (got[r] - q) * (got[r] - q);
                den += q * q;
            }
        }
    double err = sqrt(num / den);
    CHECK_MSG(err < 1e-5, "%s: layer 0 q differs from gguf-py's weights by %.3g", path, err);
    printf("%-48s layer 0 q from gguf-py's dequantized weights: rel. L2 %.2e\n", path, err);
    free(e);
    free(a.qkv);
    av_npy_close(&w);
    av_model_free(&m);
}

int main(void) {
    twin("llama", 0);
    twin("llama3", 1e-6);
    twin("qwen2", 0);
    twin("qwen3", 0);
    quantized();
    av_model m;
    CHECK(av_model_load(GG "bad/unsupported-type.gguf", av_backend_cpu(), &m) == AV_ERR);
    CHECK_MSG(strstr(av_last_error(), "unsupported-type.gguf") && strstr(av_last_error(), "I32"), "%s", av_last_error());
    return av_check_summary("test_gguf_forward");
}
