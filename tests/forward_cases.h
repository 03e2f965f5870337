/* forward_cases.h - the forward-pass parity check shared by tests/test_forward.c (CPU
 * backend) and tests/gpu_forward.c (CUDA backend): run_case(backend, model folder, case)
 * runs a fixture batch of tests/fixtures/activations/<case>/ through the model and checks
 * every layer's q, k and |v| and the final hidden states against transformers' values
 * (relative L2 error <= 1e-4 on the real tokens), then the padding invariance of the last
 * item. Include once per test program, after tests/check.h. */
#ifndef AV_TESTS_FORWARD_CASES_H
#define AV_TESTS_FORWARD_CASES_H
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "base/npy.h"
#include "base/util.h"
#include "models/model.h"

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

/* relative L2 error between our rows and the fixture over the real tokens of one layer:
 * which = 0 q, 1 k (rows of d values), 2 |v| (one value per head) */
static int compare_layer(void *user, const av_layer_out *o) {
    static const char *names[3] = {"q", "k", "vnorm"};
    cmp_ctx *c = user;
    c->layers_seen++;
    for (int which = 0; which < 3; which++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s%d.npy", c->fixdir, names[which], o->layer);
        if (!av_file_exists(path)) continue; /* MiniLM keeps a few layers only */
        av_npy ref;
        if (av_npy_open(path, &ref)) {
            CHECK_MSG(0, "%s", av_last_error());
            continue;
        }
        int w = which == 2 ? 1 : o->d;
        double num = 0, den = 0;
        for (int b = 0; b < o->B; b++) {
            int fb = c->item_map ? c->item_map[b] : b;
            for (int t = 0; t < o->lengths[b]; t++)
                for (int h = 0; h < o->H; h++)
                    for (int i = 0; i < w; i++) {
                        double r = av_npy_get_f32(&ref, (((int64_t)fb * c->H + h) * c->T + t) * w + i);
                        int64_t row = (int64_t)b * o->T + t;
                        double x = which == 2 ? o->vnorm[row * o->H + h]
                                              : (which ? o->k : o->q)[row * o->ld + h * o->d + i];
                        num += (x - r) * (x - r);
                        den += r * r;
                    }
        }
        double err = sqrt(num / (den > 0 ? den : 1));
        CHECK_MSG(err <= TOL, "%s layer %d %s: relative L2 error %.3g", c->fixdir, o->layer, names[which], err);
        if (err > c->worst) c->worst = err;
        c->compared++;
        av_npy_close(&ref);
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

static void run_case(const av_backend *be, const char *model_dir, const char *case_name) {
    char fixdir[256];
    snprintf(fixdir, sizeof fixdir, FIX "%s", case_name);
    av_model m;
    if (av_model_load(model_dir, be, &m)) {
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
    CHECK_MSG(c.compared >= 6, "%s: only %d q/k arrays compared", case_name, c.compared);
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
    printf("%-5s %-18s q/k/|v| worst rel. L2 %.2e, hidden %.2e (%d arrays)\n", be->name, case_name, c.worst, herr, c.compared);

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

/* Every fixture case (and the real MiniLM) on one backend. */
static void run_all_cases(const av_backend *be) {
    static const char *cases[][2] = {
        {"tests/fixtures/models/bert-tiny", "bert-tiny"},
        {"tests/fixtures/models/bert-tiny-f16", "bert-tiny-f16"},
        {"tests/fixtures/models/bert-tiny-bf16", "bert-tiny-bf16"},
        {"tests/fixtures/models/gpt2-tiny", "gpt2-tiny"},
        {"tests/fixtures/models/gpt2-tiny-sharded", "gpt2-tiny-sharded"},
        {"tests/fixtures/models/vit-tiny", "vit-tiny"},
        {".deps/models/all-MiniLM-L6-v2", "minilm"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) run_case(be, cases[i][0], cases[i][1]);
}

#endif
