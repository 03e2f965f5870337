/* test_gguf.c - the GGUF reader, the dequantizers and the Hugging Face view against the
 * files gguf-py and transformers wrote (tests/fixtures/gguf/, see make_gguf.py):
 *   - every tensor type dequantizes to exactly gguf-py's values, whole and by row range;
 *   - metadata of every value type reads back through the typed getters, and a getter of
 *     the wrong kind fails with a message naming the file and the key;
 *   - a tiny llama, llama3, qwen2 and qwen3 in GGUF give, under Hugging Face names and in
 *     Hugging Face layout, exactly the tensors of the safetensors checkpoint they were
 *     converted from (q/k un-permuted), and a config agreeing with its config.json;
 *   - q/k rows of quantized tensors are reordered as whole rows of blocks: they equal
 *     gguf-py's quantization of the Hugging Face rows;
 *   - linear and yarn rope scaling (and the older rope.scale_linear key) reach the
 *     config, and the architecture name mistral reads like llama.
 * The broken files of tests/fixtures/gguf/bad/ are checked end to end by cli_gguf.sh. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include "base/dtype.h"
#include "base/npy.h"
#include "models/dequant.h"
#include "models/gguf.h"
#include "models/gguf_llama.h"
#include "models/safetensors.h"
#include "tests/check.h"

#define FIX "tests/fixtures/gguf/"

static float *load_npy(const char *path, int64_t *count) {
    av_npy a;
    if (av_npy_open(path, &a) != AV_OK) {
        fprintf(stderr, "%s\n", av_last_error());
        exit(1);
    }
    float *f = malloc((size_t)a.count * sizeof *f);
    memcpy(f, a.data, (size_t)a.count * sizeof *f); /* <f4 only in these fixtures */
    *count = a.count;
    av_npy_close(&a);
    return f;
}

/* Bitwise: the dequantizers must round exactly as gguf-py does. */
static int same_bits(const float *a, const float *b, int64_t n, int64_t *first_diff) {
    for (int64_t i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], sizeof(float))) {
            *first_diff = i;
            return 0;
        }
    return 1;
}

static void expect_error(const char *fragment) {
    const char *m = av_last_error();
    CHECK_MSG(strstr(m, fragment) != NULL, "'%s' lacks '%s'", m, fragment);
    CHECK_MSG(strchr(m, '\n') == NULL, "not one line: %s", m);
}

static void test_types(void) {
    static const char *const names[] = {"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1",
                                        "Q4_K", "Q5_K", "Q6_K"};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        char path[256];
        snprintf(path, sizeof path, FIX "types/%s.gguf", names[k]);
        av_gguf g;
        if (av_gguf_open(path, &g) != AV_OK) {
            CHECK_MSG(0, "%s", av_last_error());
            continue;
        }
        const av_gguf_tensor *t = av_gguf_find(&g, "t");
        CHECK_MSG(t && !strcmp(av_ggml_type_name(t->type), names[k]), "%s: tensor t", path);
        if (!t) { av_gguf_close(&g); continue; }
        CHECK(av_ggml_can_dequant(t->type));
        CHECK(t->ndim == 2 && t->ne[0] == 512 && t->ne[1] == 2 && t->shape[0] == 2 && t->shape[1] == 512);
        CHECK(t->numel == 1024 && t->nbytes == 2 * av_gguf_row_bytes(t));
        snprintf(path, sizeof path, FIX "types/%s.npy", names[k]);
        int64_t n;
        float *want = load_npy(path, &n);
        float *got = malloc(1024 * sizeof *got);
        int64_t at = -1;
        CHECK(n == 1024);
        CHECK(av_gguf_to_f32(&g, t, got) == AV_OK);
        CHECK_MSG(same_bits(got, want, 1024, &at), "%s: element %lld: %.9g, gguf-py %.9g", names[k], (long long)at,
                  at >= 0 ? (double)got[at] : 0.0, at >= 0 ? (double)want[at] : 0.0);
        /* the second row alone, from its own block boundary */
        memset(got, 0, 1024 * sizeof *got);
        CHECK(av_dequant(t->type, (const uint8_t *)t->data + av_gguf_row_bytes(t), 512, got) == AV_OK);
        CHECK_MSG(same_bits(got, want + 512, 512, &at), "%s: row 1 differs at %lld", names[k], (long long)at);
        /* a count that is not a whole number of blocks */
        int block = av_ggml_block_size(t->type);
        if (block > 1) {
            CHECK(av_dequant(t->type, t->data, block + 1, got) == AV_ERR);
            expect_error("not a whole number");
        }
        size_t nb = 0;
        CHECK(av_ggml_nbytes(t->type, 1024, &nb) == AV_OK && nb == t->nbytes);
        free(got);
        free(want);
        av_gguf_close(&g);
    }
    float out[256];
    uint8_t zeros[84] = {0};
    CHECK(av_dequant(10, zeros, 256, out) == AV_ERR);
    expect_error("tensor type Q2_K (10) cannot be dequantized");
    CHECK(av_dequant(99, zeros, 1, out) == AV_ERR);
    expect_error("tensor type unknown (99)");
    CHECK(av_ggml_type_name(4) == NULL && av_ggml_block_size(4) == 0); /* retired Q4_2 */
    CHECK(av_ggml_block_size(AV_GGML_Q6_K) == 256 && av_ggml_block_bytes(AV_GGML_Q6_K) == 210);
    CHECK(av_ggml_block_size(AV_GGML_Q4_1) == 32 && av_ggml_block_bytes(AV_GGML_Q4_1) == 20);
}

/* F16 and BF16 dequantize every one of the 65536 bit patterns (NaNs, infinities,
 * subnormals included) exactly as base/dtype.h converts them. */
static void test_all_halves(void) {
    uint16_t *h = malloc(65536 * sizeof *h);
    float *f = malloc(65536 * sizeof *f);
    for (int i = 0; i < 65536; i++) h[i] = (uint16_t)i;
    CHECK(av_dequant(AV_GGML_F16, h, 65536, f) == AV_OK);
    int bad = 0;
    for (int i = 0; i < 65536; i++) {
        float w = av_f16_to_f32(h[i]);
        bad += memcmp(&w, &f[i], 4) != 0;
    }
    CHECK_MSG(bad == 0, "%d F16 patterns differ from av_f16_to_f32", bad);
    CHECK(av_dequant(AV_GGML_BF16, h, 65536, f) == AV_OK);
    bad = 0;
    for (int i = 0; i < 65536; i++) {
        float w = av_bf16_to_f32(h[i]);
        bad += memcmp(&w, &f[i], 4) != 0;
    }
    CHECK_MSG(bad == 0, "%d BF16 patterns differ from av_bf16_to_f32", bad);
    free(h);
    free(f);
}

static int str_is(av_gguf_str s, const char *want) { return s.n == strlen(want) && !memcmp(s.s, want, s.n); }

static void check_meta(const av_gguf *g, uint32_t version) {
    CHECK(g->version == version && g->alignment == 64 && g->ntensors == 3);
    uint32_t u32;
    int32_t i32;
    uint64_t u64;
    int64_t i64;
    float f;
    double d;
    int b;
    av_gguf_str s;
    CHECK(av_gguf_get_u32(g, "test.u8", &u32) == AV_OK && u32 == 200);
    CHECK(av_gguf_get_i32(g, "test.i8", &i32) == AV_OK && i32 == -100);
    CHECK(av_gguf_get_u32(g, "test.u16", &u32) == AV_OK && u32 == 60000);
    CHECK(av_gguf_get_i32(g, "test.i16", &i32) == AV_OK && i32 == -30000);
    CHECK(av_gguf_get_u32(g, "test.u32", &u32) == AV_OK && u32 == 4000000000u);
    CHECK(av_gguf_get_i64(g, "test.u32", &i64) == AV_OK && i64 == 4000000000);
    CHECK(av_gguf_get_i32(g, "test.i32", &i32) == AV_OK && i32 == -2000000000);
    CHECK(av_gguf_get_f32(g, "test.f32", &f) == AV_OK && f == 0.25f);
    CHECK(av_gguf_get_bool(g, "test.bool", &b) == AV_OK && b == 1);
    CHECK(av_gguf_get_str(g, "test.str", &s) == AV_OK && str_is(s, "h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93"));
    CHECK(av_gguf_get_str(g, "test.empty", &s) == AV_OK && s.n == 0);
    CHECK(av_gguf_get_u64(g, "test.u64", &u64) == AV_OK && u64 == (1ull << 40) + 5);
    CHECK(av_gguf_get_i64(g, "test.i64", &i64) == AV_OK && i64 == -(1ll << 40));
    CHECK(av_gguf_get_f64(g, "test.f64", &d) == AV_OK && d == 1.0 / 3.0);
    CHECK(av_gguf_get_f64(g, "test.u8", &d) == AV_OK && d == 200.0); /* integers are numbers */
    char *cs = NULL;
    CHECK(av_gguf_get_cstr(g, "general.architecture", &cs) == AV_OK && cs && !strcmp(cs, "test"));
    free(cs);
    /* the wrong kind, a value out of range, a missing key: one line naming file and key */
    CHECK(av_gguf_get_u32(g, "test.str", &u32) == AV_ERR);
    expect_error("meta");
    expect_error("'test.str' is STRING, expected an unsigned 32-bit integer");
    CHECK(av_gguf_get_u32(g, "test.i8", &u32) == AV_ERR);
    expect_error("'test.i8' = -100 does not fit");
    CHECK(av_gguf_get_i32(g, "test.u32", &i32) == AV_ERR);
    expect_error("'test.u32' = 4000000000 does not fit a 32-bit integer");
    CHECK(av_gguf_get_u32(g, "test.u64", &u32) == AV_ERR);
    CHECK(av_gguf_get_u32(g, "test.f32", &u32) == AV_ERR);
    expect_error("is FLOAT32, expected");
    CHECK(av_gguf_get_bool(g, "test.u8", &b) == AV_ERR);
    expect_error("'test.u8' is UINT8, expected BOOL");
    CHECK(av_gguf_get_str(g, "test.arr_str", &s) == AV_ERR);
    expect_error("'test.arr_str' is an array of STRING, expected STRING");
    CHECK(av_gguf_get_f32(g, "test.str", &f) == AV_ERR);
    CHECK(av_gguf_get_u32(g, "no.such.key", &u32) == AV_ERR);
    expect_error("metadata key 'no.such.key' is missing");
    CHECK(!av_gguf_has(g, "no.such.key") && av_gguf_has(g, "test.u8"));
    /* arrays */
    av_gguf_vtype et;
    uint64_t n;
    CHECK(av_gguf_get_array(g, "test.arr_str", &et, &n) == AV_OK && et == AV_GGUF_STRING && n == 5);
    CHECK(av_gguf_get_array(g, "test.u8", &et, &n) == AV_ERR);
    const av_gguf_kv *a = av_gguf_find_kv(g, "test.arr_str");
    static const char *const strs[] = {"a", "", "\xc3\xbcn\xc3\xaf", "<0x0A>", "\xc4\xa0the"};
    for (uint64_t i = 0; a && i < 5; i++) CHECK(av_gguf_arr_str(g, a, i, &s) == AV_OK && str_is(s, strs[i]));
    CHECK(a && av_gguf_arr_str(g, a, 5, &s) == AV_ERR);
    expect_error("element 5 of an array of 5");
    CHECK(a && av_gguf_arr_i64(g, a, 0, &i64) == AV_ERR);
    expect_error("'test.arr_str' is an array of STRING, expected an array of integers");
    a = av_gguf_find_kv(g, "test.arr_i32");
    static const int64_t ints[] = {1, -2, 3};
    for (uint64_t i = 0; a && i < 3; i++) CHECK(av_gguf_arr_i64(g, a, i, &i64) == AV_OK && i64 == ints[i]);
    CHECK(a && av_gguf_arr_f32(g, a, 1, &f) == AV_OK && f == -2.0f);
    a = av_gguf_find_kv(g, "test.arr_f32");
    CHECK(a && av_gguf_arr_f32(g, a, 0, &f) == AV_OK && f == 0.5f);
    CHECK(a && av_gguf_arr_f32(g, a, 2, &f) == AV_OK && f == 1e30f);
    CHECK(a && av_gguf_arr_i64(g, a, 0, &i64) == AV_ERR);
    a = av_gguf_find_kv(g, "test.arr_bool");
    CHECK(a && av_gguf_arr_bool(g, a, 0, &b) == AV_OK && b == 1);
    CHECK(a && av_gguf_arr_bool(g, a, 1, &b) == AV_OK && b == 0);
    a = av_gguf_find_kv(g, "test.arr_u8");
    CHECK(a && av_gguf_arr_i64(g, a, 1, &i64) == AV_OK && i64 == 255);
    a = av_gguf_find_kv(g, "test.arr_u64");
    CHECK(a && av_gguf_arr_i64(g, a, 0, &i64) == AV_ERR);
    expect_error("does not fit a 64-bit integer");
    CHECK(a && av_gguf_arr_i64(g, a, 1, &i64) == AV_OK && i64 == 5);
    a = av_gguf_find_kv(g, "test.arr_f64");
    CHECK(a && av_gguf_arr_f32(g, a, 0, &f) == AV_ERR);
    expect_error("does not fit a float");
    a = av_gguf_find_kv(g, "test.nested");
    CHECK(a && a->type == AV_GGUF_ARRAY && a->elem == AV_GGUF_ARRAY && a->count == 2);
    CHECK(a && av_gguf_arr_i64(g, a, 0, &i64) == AV_ERR);
    /* tensors: GGUF order in ne[], torch order in shape[], offsets on the 64-byte grid */
    const av_gguf_tensor *ta = av_gguf_find(g, "a"), *tb = av_gguf_find(g, "b"), *tc = av_gguf_find(g, "c.q8");
    CHECK(ta && tb && tc && !av_gguf_find(g, "d"));
    if (!ta || !tb || !tc) return;
    CHECK(ta->ndim == 1 && ta->ne[0] == 3 && ta->shape[0] == 3 && ta->type == AV_GGML_F32);
    CHECK(tb->ndim == 2 && tb->ne[0] == 4 && tb->ne[1] == 2 && tb->shape[0] == 2 && tb->shape[1] == 4);
    CHECK(tc->type == AV_GGML_Q8_0 && tc->nbytes == 68 && tc->shape[1] == 64);
    CHECK(ta->offset == 0 && tb->offset == 64 && tc->offset == 128);
    CHECK(g->data_offset % 64 == 0);
    CHECK(((uintptr_t)tb->data - (uintptr_t)g->base) % 64 == 0);
    float v[8];
    CHECK(av_gguf_to_f32(g, ta, v) == AV_OK && v[0] == 1 && v[1] == 2 && v[2] == 3);
    CHECK(av_gguf_to_f32(g, tb, v) == AV_OK);
    for (int i = 0; i < 8; i++) CHECK(v[i] == i / 4.0f - 1);
}

static void test_meta(void) {
    av_gguf g;
    CHECK(av_gguf_open(FIX "meta.gguf", &g) == AV_OK);
    if (g.base) {
        check_meta(&g, 3);
        /* the same bytes parsed from memory */
        av_gguf m;
        CHECK(av_gguf_parse(g.base, g.size, "mem.gguf", &m) == AV_OK);
        if (m.base) {
            check_meta(&m, 3);
            uint32_t u;
            CHECK(av_gguf_get_u32(&m, "test.str", &u) == AV_ERR);
            expect_error("mem.gguf: metadata 'test.str'");
            av_gguf_close(&m);
        }
        /* cut anywhere before the last tensor's end: an error naming the file, never a
         * crash (ASan builds check the reads); the padding after it is optional */
        const av_gguf_tensor *last = av_gguf_find(&g, "c.q8");
        size_t end = last ? (size_t)((const uint8_t *)last->data - g.base) + last->nbytes : g.size;
        CHECK(end < g.size);
        for (size_t cut = 0; cut < end; cut += cut < 600 || cut + 80 > end ? 1 : 37) {
            av_gguf t;
            int rc = av_gguf_parse(g.base, cut, "cut.gguf", &t);
            CHECK_MSG(rc == AV_ERR, "accepted the first %zu bytes", cut);
            CHECK(!strncmp(av_last_error(), "cut.gguf: ", 10));
            if (rc == AV_OK) av_gguf_close(&t);
        }
        av_gguf t;
        CHECK(av_gguf_parse(g.base, end, "cut.gguf", &t) == AV_OK);
        if (t.base) av_gguf_close(&t);
        av_gguf_close(&g);
    }
    CHECK(av_gguf_open(FIX "meta-v2.gguf", &g) == AV_OK);
    if (g.base) {
        check_meta(&g, 2);
        av_gguf_close(&g);
    }
    CHECK(av_gguf_open(FIX "no-such.gguf", &g) == AV_ERR);
    expect_error("no-such.gguf: cannot open");
}

/* Compares a number of the view's config with config.json's (absent there: dflt). */
static void same_number(const cJSON *view, const cJSON *hf, const char *key, double dflt, const char *model) {
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(view, key), *b = cJSON_GetObjectItemCaseSensitive(hf, key);
    double want = cJSON_IsNumber(b) ? b->valuedouble : dflt;
    CHECK_MSG(cJSON_IsNumber(a) && (float)a->valuedouble == (float)want, "%s: config %s = %g, config.json %g", model,
              key, cJSON_IsNumber(a) ? a->valuedouble : -1.0, want);
}

/* A tiny model in GGUF vs the safetensors checkpoint it came from: the same tensors,
 * bit for bit, under the same names; a config saying the same. */
static void test_twin(const char *model, int permuted) {
    char path[256];
    snprintf(path, sizeof path, FIX "%s.gguf", model);
    av_gguf_llama m;
    if (av_gguf_llama_open(path, &m) != AV_OK) {
        CHECK_MSG(0, "%s", av_last_error());
        return;
    }
    snprintf(path, sizeof path, FIX "%s", model);
    av_safetensors st;
    if (av_safetensors_open(path, &st) != AV_OK) {
        CHECK_MSG(0, "%s", av_last_error());
        av_gguf_llama_close(&m);
        return;
    }
    size_t len;
    snprintf(path, sizeof path, FIX "%s/config.json", model);
    char *text = av_read_file(path, &len);
    cJSON *hf = text ? cJSON_Parse(text) : NULL;
    free(text);
    CHECK(hf != NULL);
    int tied = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(hf, "tie_word_embeddings"));
    int matched = 0;
    for (int i = 0; i < st.count; i++) {
        const av_st_tensor *s = &st.tensors[i];
        const av_hf_tensor *t = av_gguf_llama_find(&m, s->name);
        CHECK_MSG(t != NULL, "%s: %s missing from the GGUF view", model, s->name);
        if (!t) continue;
        matched++;
        CHECK_MSG(t->ndim == s->ndim && t->shape[0] == s->shape[0] && (s->ndim < 2 || t->shape[1] == s->shape[1]),
                  "%s: %s shape", model, s->name);
        int qk = strstr(s->name, ".q_proj.") || strstr(s->name, ".k_proj.");
        CHECK_MSG(t->unpermuted == (qk && permuted), "%s: %s unpermuted flag %d", model, s->name, t->unpermuted);
        float *a = malloc((size_t)s->numel * sizeof *a), *b = malloc((size_t)s->numel * sizeof *b);
        CHECK(av_st_to_f32(s, a) == AV_OK);
        CHECK(av_hf_tensor_rows_f32(t, 0, s->ndim == 2 ? s->shape[0] : 1, b) == AV_OK);
        int64_t at = -1;
        CHECK_MSG(same_bits(a, b, s->numel, &at), "%s: %s differs at element %lld", model, s->name, (long long)at);
        if (s->ndim == 2 && s->shape[0] > 3) { /* a row range on its own */
            CHECK(av_hf_tensor_rows_f32(t, 1, 2, b) == AV_OK);
            CHECK_MSG(same_bits(a + s->shape[1], b, 2 * s->shape[1], &at), "%s: %s rows 1-2", model, s->name);
        }
        free(a);
        free(b);
    }
    /* the view holds nothing else, except rope_freqs.weight (no Hugging Face name) */
    int extra = av_gguf_llama_find(&m, "rope_freqs.weight") != NULL;
    CHECK_MSG(matched + extra == m.count, "%s: %d of the view's %d tensors matched", model, matched, m.count);
    const av_hf_tensor *t = av_gguf_llama_find(&m, "model.layers.0.self_attn.q_proj.weight");
    CHECK(t && av_hf_tensor_rows_f32(t, 0, t->shape[0] + 1, NULL) == AV_ERR);
    /* the config */
    const cJSON *c = m.config;
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(c, "model_type");
    CHECK(cJSON_IsString(mt) && !strcmp(mt->valuestring, cJSON_GetObjectItemCaseSensitive(hf, "model_type")->valuestring));
    static const char *const keys[] = {"vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
                                       "num_attention_heads", "num_key_value_heads", "max_position_embeddings",
                                       "rms_norm_eps", "bos_token_id", "eos_token_id"};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) same_number(c, hf, keys[k], -1, model);
    const cJSON *nh = cJSON_GetObjectItemCaseSensitive(hf, "num_attention_heads");
    const cJSON *hs = cJSON_GetObjectItemCaseSensitive(hf, "hidden_size");
    same_number(c, hf, "head_dim", hs->valuedouble / nh->valuedouble, model);
    const cJSON *rp = cJSON_GetObjectItemCaseSensitive(hf, "rope_parameters");
    same_number(c, rp, "rope_theta", -1, model);
    CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "tie_word_embeddings")) == tied);
    CHECK(!tied == (av_gguf_llama_find(&m, "lm_head.weight") != NULL));
    const cJSON *bias = cJSON_GetObjectItemCaseSensitive(c, "attention_bias");
    CHECK(cJSON_IsBool(bias) && cJSON_IsTrue(bias) == (av_gguf_llama_find(&m, "model.layers.0.self_attn.q_proj.bias") != NULL));
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(c, "rope_scaling");
    const cJSON *rt = cJSON_GetObjectItemCaseSensitive(rp, "rope_type");
    if (!strcmp(rt->valuestring, "llama3")) {
        const cJSON *ty = cJSON_GetObjectItemCaseSensitive(rs, "rope_type");
        CHECK(cJSON_IsString(ty) && !strcmp(ty->valuestring, "freq_factors"));
        const av_hf_tensor *ff = av_gguf_llama_find(&m, "rope_freqs.weight");
        CHECK(ff && ff->ndim == 1 && ff->shape[0] * 2 == (int64_t)cJSON_GetObjectItemCaseSensitive(c, "head_dim")->valuedouble);
    } else {
        CHECK_MSG(cJSON_IsNull(rs), "%s: rope_scaling not null", model);
    }
    cJSON_Delete(hf);
    av_safetensors_close(&st);
    av_gguf_llama_close(&m);
}

/* Quantized q/k: the un-permuted rows of blocks equal gguf-py quantizing HF's rows. */
static void test_quantized_rows(void) {
    av_gguf_llama m;
    if (av_gguf_llama_open(FIX "llama-tiny-q.gguf", &m) != AV_OK) {
        CHECK_MSG(0, "%s", av_last_error());
        return;
    }
    int64_t n, off = 0;
    float *want = load_npy(FIX "llama-tiny-q.expected.npy", &n);
    static const char *const types[] = {"Q4_1", "Q5_0", "Q5_1", "Q4_0"};
    int k = 0;
    for (int layer = 0; layer < 2; layer++)
        for (int p = 0; p < 2; p++, k++) {
            char name[128];
            snprintf(name, sizeof name, "model.layers.%d.self_attn.%s_proj.weight", layer, p ? "k" : "q");
            const av_hf_tensor *t = av_gguf_llama_find(&m, name);
            CHECK_MSG(t && !strcmp(av_ggml_type_name(t->type), types[k]) && t->unpermuted, "%s", name);
            if (!t) continue;
            float *got = malloc((size_t)t->numel * sizeof *got);
            int64_t at = -1;
            CHECK(off + t->numel <= n);
            CHECK(av_hf_tensor_rows_f32(t, 0, t->shape[0], got) == AV_OK);
            if (off + t->numel <= n)
                CHECK_MSG(same_bits(got, want + off, t->numel, &at), "%s differs at %lld", name, (long long)at);
            off += t->numel;
            free(got);
        }
    CHECK(off == n);
    free(want);
    av_gguf_llama_close(&m);
}

/* The same bytes through av_gguf_llama_parse, and a file that is not llama-family. */
static void test_parse_view(void) {
    size_t len;
    char *raw = av_read_file(FIX "llama-tiny.gguf", &len);
    CHECK(raw != NULL);
    av_gguf_llama m;
    CHECK(raw && av_gguf_llama_parse((const uint8_t *)raw, len, "mem.gguf", &m) == AV_OK);
    if (m.tensors) {
        const av_hf_tensor *t = av_gguf_llama_find(&m, "model.layers.1.self_attn.k_proj.weight");
        CHECK(t && t->unpermuted && t->data != NULL);
        /* the rows were rewritten in the view's own copy, never in the caller's bytes */
        CHECK(t && (const char *)t->data >= (const char *)m.copy && (const char *)t->data < (const char *)m.copy + len);
        av_gguf_llama_close(&m);
    }
    /* through a mapping, the rewrite stays in private pages: the file keeps the
     * converter's order */
    CHECK(av_gguf_llama_open(FIX "llama-tiny.gguf", &m) == AV_OK);
    const av_hf_tensor *q = m.tensors ? av_gguf_llama_find(&m, "model.layers.0.self_attn.q_proj.weight") : NULL;
    CHECK(q != NULL);
    if (q && raw) {
        const uint8_t *in_file = (const uint8_t *)raw + ((const uint8_t *)q->data - m.gguf.base);
        size_t again_len;
        char *again = av_read_file(FIX "llama-tiny.gguf", &again_len);
        CHECK(again && again_len == len && !memcmp(again, raw, len));
        CHECK(memcmp(in_file, q->data, q->nbytes) != 0);           /* rows moved in the view */
        CHECK(!memcmp(in_file, q->data, q->row_bytes));            /* row 0 stays row 0 */
        free(again);
    }
    if (m.tensors) av_gguf_llama_close(&m);
    free(raw);
    av_gguf g;
    void *w;
    CHECK(av_gguf_parse((const uint8_t *)"GGUF\3\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 24, "mem.gguf", &g) == AV_OK);
    CHECK(g.ntensors == 0 && g.nkv == 0 && av_gguf_writable(&g, NULL, &w) == AV_ERR);
    expect_error("mem.gguf: not a mapped file");
    av_gguf_close(&g);
    CHECK(av_gguf_llama_open(FIX "meta.gguf", &m) == AV_ERR);
    expect_error("tests/fixtures/gguf/meta.gguf: architecture 'test' is not supported (supported: llama, mistral, qwen2, qwen3)");
}

static const cJSON *rope_scaling_of(const av_gguf_llama *m, const char *type) {
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(m->config, "rope_scaling");
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(rs, "rope_type");
    CHECK_MSG(cJSON_IsString(t) && !strcmp(t->valuestring, type), "rope_type is not %s", type);
    return rs;
}

/* Valid variants of micro.gguf: the rope scalings reach the config; the same model named
 * mistral is read as mistral, its q/k un-permuted exactly like the llama one. */
static void test_variants(void) {
    av_gguf_llama base, m;
    if (av_gguf_llama_open(FIX "micro.gguf", &base) != AV_OK) {
        CHECK_MSG(0, "%s", av_last_error());
        return;
    }
    CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(base.config, "rope_scaling")));
    if (av_gguf_llama_open(FIX "variants/rope-linear.gguf", &m) == AV_OK) {
        const cJSON *rs = rope_scaling_of(&m, "linear");
        CHECK(cJSON_GetObjectItemCaseSensitive(rs, "factor")->valuedouble == 4.0);
        av_gguf_llama_close(&m);
    } else CHECK_MSG(0, "%s", av_last_error());
    if (av_gguf_llama_open(FIX "variants/rope-scale-linear.gguf", &m) == AV_OK) {
        const cJSON *rs = rope_scaling_of(&m, "linear");
        CHECK(cJSON_GetObjectItemCaseSensitive(rs, "factor")->valuedouble == 2.0);
        av_gguf_llama_close(&m);
    } else CHECK_MSG(0, "%s", av_last_error());
    if (av_gguf_llama_open(FIX "variants/rope-yarn.gguf", &m) == AV_OK) {
        const cJSON *rs = rope_scaling_of(&m, "yarn");
        CHECK(cJSON_GetObjectItemCaseSensitive(rs, "factor")->valuedouble == 4.0);
        CHECK(cJSON_GetObjectItemCaseSensitive(rs, "original_max_position_embeddings")->valuedouble == 32);
        CHECK(cJSON_GetObjectItemCaseSensitive(rs, "beta_fast")->valuedouble == 32);
        CHECK(cJSON_GetObjectItemCaseSensitive(rs, "beta_slow")->valuedouble == 1);
        CHECK(!cJSON_GetObjectItemCaseSensitive(rs, "attention_factor"));
        av_gguf_llama_close(&m);
    } else CHECK_MSG(0, "%s", av_last_error());
    if (av_gguf_llama_open(FIX "variants/mistral.gguf", &m) == AV_OK) {
        const cJSON *mt = cJSON_GetObjectItemCaseSensitive(m.config, "model_type");
        const cJSON *cls = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(m.config, "architectures"), 0);
        CHECK(cJSON_IsString(mt) && !strcmp(mt->valuestring, "mistral") && !strcmp(m.arch, "mistral"));
        CHECK(cJSON_IsString(cls) && !strcmp(cls->valuestring, "MistralForCausalLM"));
        CHECK(m.count == base.count);
        for (int i = 0; i < m.count && i < base.count; i++) {
            const av_hf_tensor *a = &m.tensors[i], *b = &base.tensors[i];
            CHECK_MSG(!strcmp(a->name, b->name) && a->unpermuted == b->unpermuted && a->nbytes == b->nbytes &&
                          !memcmp(a->data, b->data, a->nbytes), "mistral: %s differs from the llama twin", a->name);
        }
        av_gguf_llama_close(&m);
    } else CHECK_MSG(0, "%s", av_last_error());
    av_gguf_llama_close(&base);
}

int main(void) {
    test_types();
    test_all_halves();
    test_meta();
    test_twin("llama-tiny", 1);
    test_twin("llama3-tiny", 1);
    test_twin("qwen2-tiny", 0);
    test_twin("qwen3-tiny", 0);
    test_quantized_rows();
    test_parse_view();
    test_variants();
    return av_check_summary("test_gguf");
}
