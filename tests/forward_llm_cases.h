/* forward_llm_cases.h - the decoder LLMs' forward-pass parity check shared by
 * tests/test_forward_llm.c (CPU backend) and tests/gpu_forward_llm.c (CUDA):
 * run_llm_case(backend, model folder, case, which) runs a fixture batch of
 * tests/fixtures/activations/<case>/ (make_llm_fixtures.py) through the model and checks
 * every layer's q and k - after RoPE, or before it with AV_QK_PRE_ROPE - and |v| and the
 * final hidden states against transformers' values (relative L2 error <= tol on the real
 * tokens), key heads per grouped-query group; then that the last item alone, unpadded,
 * gives the batch's numbers. Include once per test program, after tests/check.h. */
#ifndef AV_TESTS_FORWARD_LLM_CASES_H
#define AV_TESTS_FORWARD_LLM_CASES_H
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/npy.h"
#include "base/util.h"
#include "models/model.h"

#define LLM_FIX "tests/fixtures/activations/"

typedef struct {
    const char *fixdir;
    const char *suffix;     /* "" after RoPE, "_pre" before */
    int T;                  /* the fixture's padded width */
    const int *item_map;    /* batch item -> fixture item (NULL = identity) */
    double tol;
    int layers_seen, compared;
    double worst;
} llm_ctx;

/* Relative L2 error of one layer's q (which 0), k (1) or |v| (2) over the real tokens:
 * fixture q [B, H, T, d], k [B, Hkv, T, d], |v| [B, Hkv, T]; the sink's |v| is per query
 * head, the norm of its key/value head. */
static double llm_layer_err(const llm_ctx *c, const av_layer_out *o, int which, const av_npy *ref) {
    const int heads = which == 0 ? o->H : o->Hkv, w = which == 2 ? 1 : o->d, group = o->H / o->Hkv;
    double num = 0, den = 0;
    for (int b = 0; b < o->B; b++) {
        int fb = c->item_map ? c->item_map[b] : b;
        for (int t = 0; t < o->lengths[b]; t++)
            for (int h = 0; h < heads; h++)
                for (int i = 0; i < w; i++) {
                    double r = av_npy_get_f32(ref, (((int64_t)fb * heads + h) * c->T + t) * w + i);
                    int64_t row = (int64_t)b * o->T + t;
                    double x = which == 2 ? o->vnorm[row * o->H + h * group]
                                          : (which ? o->k : o->q)[row * o->ld + (int64_t)h * o->d + i];
                    num += (x - r) * (x - r);
                    den += r * r;
                }
    }
    return sqrt(num / (den > 0 ? den : 1));
}

static int llm_compare(void *user, const av_layer_out *o) {
    static const char *names[3] = {"q", "k", "vnorm"};
    llm_ctx *c = user;
    c->layers_seen++;
    for (int which = 0; which < 3; which++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s%d%s.npy", c->fixdir, names[which], o->layer, which == 2 ? "" : c->suffix);
        if (!av_file_exists(path)) continue; /* the long case keeps one layer */
        av_npy ref;
        if (av_npy_open(path, &ref)) {
            CHECK_MSG(0, "%s", av_last_error());
            continue;
        }
        double err = llm_layer_err(c, o, which, &ref);
        CHECK_MSG(err <= c->tol, "%s layer %d %s%s: relative L2 error %.3g", c->fixdir, o->layer, names[which],
                  which == 2 ? "" : c->suffix, err);
        if (err > c->worst) c->worst = err;
        c->compared++;
        av_npy_close(&ref);
    }
    return 0;
}

static void run_llm_case(const av_backend *be, const char *model_dir, const char *case_name, av_qk_rope which,
                         double tol) {
    char fixdir[256], path[512];
    snprintf(fixdir, sizeof fixdir, LLM_FIX "%s", case_name);
    av_model m;
    if (av_model_load(model_dir, be, &m)) {
        CHECK_MSG(0, "load %s: %s", model_dir, av_last_error());
        return;
    }
    av_model_set_qk_rope(&m, which);
    const av_model_config *cfg = &m.cfg;
    av_npy ids, lens, hid = {0};
    snprintf(path, sizeof path, "%s/ids.npy", fixdir);
    int ok = av_npy_open(path, &ids) == AV_OK;
    snprintf(path, sizeof path, "%s/lengths.npy", fixdir);
    ok = ok && av_npy_open(path, &lens) == AV_OK;
    CHECK_MSG(ok, "%s: %s", fixdir, av_last_error());
    if (!ok) {
        av_model_free(&m);
        return;
    }
    int B = (int)ids.shape[0], T = (int)ids.shape[1], C = cfg->hidden;
    snprintf(path, sizeof path, "%s/hidden.npy", fixdir);
    int have_hidden = av_file_exists(path) && av_npy_open(path, &hid) == AV_OK;
    av_batch batch = {.B = B, .T = T, .ids = ids.data, .lengths = lens.data};
    llm_ctx c = {fixdir, which == AV_QK_PRE_ROPE ? "_pre" : "", T, NULL, tol, 0, 0, 0};
    float *hidden = have_hidden ? malloc(sizeof(float) * (size_t)B * T * C) : NULL;
    int rc = av_model_forward(&m, &batch, llm_compare, &c, hidden);
    CHECK_MSG(rc == 0, "forward %s: %s", case_name, av_last_error());
    CHECK_MSG(c.layers_seen == cfg->num_layers, "%s: sink saw %d of %d layers", case_name, c.layers_seen,
              cfg->num_layers);
    CHECK_MSG(c.compared >= 3, "%s: only %d arrays compared", case_name, c.compared);
    double herr = 0;
    if (have_hidden && rc == 0) {
        double num = 0, den = 0;
        const int32_t *len = lens.data;
        for (int b = 0; b < B; b++)
            for (int t = 0; t < len[b]; t++)
                for (int i = 0; i < C; i++) {
                    double r = ((const float *)hid.data)[((int64_t)b * T + t) * C + i];
                    double x = hidden[((int64_t)b * T + t) * C + i];
                    num += (x - r) * (x - r);
                    den += r * r;
                }
        herr = sqrt(num / den);
        CHECK_MSG(herr <= tol, "%s hidden: relative L2 error %.3g", case_name, herr);
    }
    printf("%-5s %-16s %-9s q/k/|v| worst rel. L2 %.2e, hidden %.2e (%d arrays)\n", be->name, case_name,
           which == AV_QK_PRE_ROPE ? "pre-rope" : "post-rope", c.worst, herr, c.compared);
    if (B > 1) { /* padding invariance: the last item alone, unpadded */
        int last = B - 1, map[1] = {last};
        int32_t one_len[1] = {((const int32_t *)lens.data)[last]};
        av_batch single = {.B = 1, .T = one_len[0], .lengths = one_len, .ids = (const int32_t *)ids.data + (int64_t)last * T};
        llm_ctx c1 = {fixdir, c.suffix, T, map, tol, 0, 0, 0};
        CHECK(av_model_forward(&m, &single, llm_compare, &c1, NULL) == 0);
        CHECK(c1.compared == c.compared);
    }
    free(hidden);
    av_npy_close(&ids);
    av_npy_close(&lens);
    if (have_hidden) av_npy_close(&hid);
    av_model_free(&m);
}

/* Every LLM fixture case, after and before RoPE, on one backend. */
static void run_all_llm_cases(const av_backend *be, double tol) {
    static const char *cases[][2] = {
        {"tests/fixtures/models/llama-gqa", "llama-gqa"},
        {"tests/fixtures/models/llama-gqa-sharded", "llama-gqa"},
        {"tests/fixtures/models/llama-gqa", "llama-gqa-long"},
        {"tests/fixtures/models/llama3-rope", "llama3-rope"},
        {"tests/fixtures/models/mistral-mqa", "mistral-mqa"},
        {"tests/fixtures/models/qwen2-bias", "qwen2-bias"},
        {"tests/fixtures/models/qwen2-bf16", "qwen2-bf16"},
        {"tests/fixtures/models/qwen3-norm", "qwen3-norm"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        run_llm_case(be, cases[i][0], cases[i][1], AV_QK_POST_ROPE, tol);
        run_llm_case(be, cases[i][0], cases[i][1], AV_QK_PRE_ROPE, tol);
    }
}
#endif
