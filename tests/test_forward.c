/* test_forward.c - our BERT / GPT-2 / ViT forward passes (CPU backend) against Hugging Face
 * transformers' own activations (tests/fixtures/activations, written by
 * make_activations.py): every layer's q and k and the final hidden states must match with a
 * relative L2 error <= 1e-4 on the real (unpadded) tokens. Covers F32, F16 and BF16
 * checkpoints, a sharded checkpoint, a padded batch with a sentence pair (token types), the
 * causal mask, ViT patch embedding, and the real all-MiniLM-L6-v2 weights.
 * Also checks that an item's q/k do not depend on the padding of its batch. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "host/npy.h"
#include "host/util.h"
#include "models/model.h"
#include "tests/check.h"

#define FIX "tests/fixtures/activations/"
#define TOL 1e-4

typedef struct {
    const char *fixdir;
    int H, d, C;
    const int32_t *lengths;
    int B, T;              /* the fixture's batch layout (q/k files are [B, H, T, d]) */
    const int *item_map;   /* batch item -> fixture item (NULL = identity) */
    int layers_seen;
    int compared;
    double worst;
} cmp_ctx;

/* relative L2 error between our rows and the fixture over the real tokens of one layer */
static int compare_layer(void *user, const av_layer_out *o) {
    cmp_ctx *c = user;
    c->layers_seen++;
    for (int which = 0; which < 2; which++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%c%d.npy", c->fixdir, which ? 'k' : 'q', o->layer);
        if (!av_file_exists(path)) continue; /* MiniLM keeps a few layers only */
        av_npy ref;
        if (av_npy_open(path, &ref)) {
            CHECK_MSG(0, "%s", av_last_error());
            continue;
        }
        const float *ours = which ? o->k : o->q;
        double num = 0, den = 0;
        for (int b = 0; b < o->B; b++) {
            int fb = c->item_map ? c->item_map[b] : b;
            for (int t = 0; t < o->lengths[b]; t++)
                for (int h = 0; h < o->H; h++)
                    for (int i = 0; i < o->d; i++) {
                        double r = av_npy_get_f32(&ref, (((int64_t)fb * c->H + h) * c->T + t) * c->d + i);
                        double x = ours[((int64_t)b * o->T + t) * o->ld + h * o->d + i];
                        num += (x - r) * (x - r);
                        den += r * r;
                    }
        }
        double err = sqrt(num / (den > 0 ? den : 1));
        CHECK_MSG(err <= TOL, "%s layer %d %c: relative L2 error %.3g", c->fixdir, o->layer, which ? 'k' : 'q', err);
        if (err > c->worst) c->worst = err;
        c->compared++;
        av_npy_close(&ref);
    }
    /* |v| per head is a norm: non-negative and finite on every real token */
    for (int b = 0; b < o->B; b++)
        for (int t = 0; t < o->lengths[b]; t++)
            for (int h = 0; h < o->H; h++) {
                float v = o->vnorm[((int64_t)b * o->T + t) * o->H + h];
                if (!(v >= 0 && isfinite(v))) {
                    CHECK_MSG(0, "vnorm %g at layer %d", v, o->layer);
                    return 0;
                }
            }
    return 0;
}

static int open_i32(const char *dir, const char *name, av_npy *a) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (av_npy_open(path, a)) return AV_ERR;
    if (a->dtype != AV_DT_I32) return av_fail("%s: expected int32", path);
    return AV_OK;
}

static void run_case(const char *model_dir, const char *case_name) {
    char fixdir[256];
    snprintf(fixdir, sizeof fixdir, FIX "%s", case_name);
    av_model m;
    if (av_model_load(model_dir, av_backend_cpu(), &m)) {
        CHECK_MSG(0, "load %s: %s", model_dir, av_last_error());
        return;
    }
    const av_model_config *cfg = &m.cfg;
    av_npy hid, ids = {0}, types = {0}, lens = {0}, px = {0};
    char path[512];
    snprintf(path, sizeof path, "%s/hidden.npy", fixdir);
    CHECK(av_npy_open(path, &hid) == 0);
    int B = (int)hid.shape[0], T = (int)hid.shape[1], C = (int)hid.shape[2];
    int32_t *lengths = malloc(sizeof(int32_t) * B);
    av_batch batch = {.B = B, .T = T, .lengths = lengths};
    if (cfg->type == AV_MODEL_VIT) {
        snprintf(path, sizeof path, "%s/pixels.npy", fixdir);
        CHECK(av_npy_open(path, &px) == 0);
        batch.pixels = px.data;
        for (int b = 0; b < B; b++) lengths[b] = T;
    } else {
        CHECK(open_i32(fixdir, "ids.npy", &ids) == 0);
        CHECK(open_i32(fixdir, "types.npy", &types) == 0);
        CHECK(open_i32(fixdir, "lengths.npy", &lens) == 0);
        memcpy(lengths, lens.data, sizeof(int32_t) * B);
        batch.ids = ids.data;
        batch.types = cfg->type == AV_MODEL_BERT ? types.data : NULL;
    }
    cmp_ctx c = {fixdir, cfg->num_heads, cfg->head_dim, C, lengths, B, T, NULL, 0, 0, 0};
    float *hidden = malloc(sizeof(float) * B * T * C);
    int rc = av_model_forward(&m, &batch, compare_layer, &c, hidden);
    CHECK_MSG(rc == 0, "forward %s: %s", case_name, av_last_error());
    CHECK_MSG(c.layers_seen == cfg->num_layers, "%s: sink saw %d of %d layers", case_name, c.layers_seen, cfg->num_layers);
    CHECK_MSG(c.compared >= 4, "%s: only %d q/k arrays compared", case_name, c.compared);
    double num = 0, den = 0;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < lengths[b]; t++)
            for (int i = 0; i < C; i++) {
                double r = ((const float *)hid.data)[((int64_t)b * T + t) * C + i];
                double x = hidden[((int64_t)b * T + t) * C + i];
                num += (x - r) * (x - r);
                den += r * r;
            }
    double herr = sqrt(num / den);
    CHECK_MSG(herr <= TOL, "%s hidden: relative L2 error %.3g", case_name, herr);
    printf("%-18s q/k worst rel. L2 %.2e, hidden %.2e (%d arrays)\n", case_name, c.worst, herr, c.compared);

    /* padding invariance: the last item alone, unpadded, gives the batch's numbers */
    if (cfg->type != AV_MODEL_VIT && B > 1) {
        int last = B - 1, n = lengths[last];
        int map[1] = {last};
        int32_t one_len[1] = {n};
        av_batch single = {.B = 1, .T = n, .lengths = one_len, .ids = (const int32_t *)ids.data + (int64_t)last * T,
                           .types = batch.types ? (const int32_t *)types.data + (int64_t)last * T : NULL};
        cmp_ctx c1 = {fixdir, cfg->num_heads, cfg->head_dim, C, one_len, B, T, map, 0, 0, 0};
        CHECK(av_model_forward(&m, &single, compare_layer, &c1, NULL) == 0);
        CHECK(c1.compared == c.compared);
    }
    free(hidden);
    free(lengths);
    av_npy_close(&hid);
    if (ids.data) av_npy_close(&ids);
    if (types.data) av_npy_close(&types);
    if (lens.data) av_npy_close(&lens);
    if (px.data) av_npy_close(&px);
    av_model_free(&m);
}

/* The forward pass rejects what would read outside the weights. */
static void test_bad_batches(void) {
    av_model m;
    if (av_model_load("tests/fixtures/models/bert-tiny", av_backend_cpu(), &m)) {
        CHECK_MSG(0, "%s", av_last_error());
        return;
    }
    int32_t ids[3] = {2, 100000, 3}, len[1] = {3}, types[3] = {0, 0, 5};
    av_batch b = {.B = 1, .T = 3, .ids = ids, .lengths = len};
    CHECK(av_model_forward(&m, &b, NULL, NULL, NULL) == AV_ERR);
    CHECK(strstr(av_last_error(), "vocabulary") != NULL);
    ids[1] = 7;
    b.types = types;
    CHECK(av_model_forward(&m, &b, NULL, NULL, NULL) == AV_ERR);
    types[2] = 1;
    CHECK(av_model_forward(&m, &b, NULL, NULL, NULL) == AV_OK);
    len[0] = 4;
    CHECK(av_model_forward(&m, &b, NULL, NULL, NULL) == AV_ERR);
    int32_t *many = calloc(65, sizeof(int32_t)), l65[1] = {65};
    av_batch big = {.B = 1, .T = 65, .ids = many, .lengths = l65};
    CHECK(av_model_forward(&m, &big, NULL, NULL, NULL) == AV_ERR); /* 64 positions */
    CHECK(strstr(av_last_error(), "positions") != NULL);
    free(many);
    av_model_free(&m);
}

int main(void) {
    run_case("tests/fixtures/models/bert-tiny", "bert-tiny");
    run_case("tests/fixtures/models/bert-tiny-f16", "bert-tiny-f16");
    run_case("tests/fixtures/models/bert-tiny-bf16", "bert-tiny-bf16");
    run_case("tests/fixtures/models/gpt2-tiny", "gpt2-tiny");
    run_case("tests/fixtures/models/gpt2-tiny-sharded", "gpt2-tiny-sharded");
    run_case("tests/fixtures/models/vit-tiny", "vit-tiny");
    run_case(".deps/models/all-MiniLM-L6-v2", "minilm");
    test_bad_batches();
    return av_check_summary("test_forward");
}
