/* test_safetensors.c - the safetensors reader against the checkpoints transformers wrote
 * (tests/fixtures/models/, see make_checkpoints.py) and against images built here that
 * break one promise of the format each.
 *
 * Figures are computed independently: parameter counts from the architecture formulas
 * and the config sizes (cross-checked with transformers' own counts in
 * expected_info.json), F16/BF16 contents against the F32 checkpoint they were cast from. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include "models/safetensors.h"
#include "base/dtype.h"
#include "tests/check.h"

#define FIX "tests/fixtures/models/"

/* An in-memory safetensors image: 8-byte LE length, header, data block. */
static uint8_t *image(const char *header, size_t data_len, const uint8_t *data, size_t *size) {
    size_t h = strlen(header);
    *size = 8 + h + data_len;
    uint8_t *b = calloc(1, *size);
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)((uint64_t)h >> (8 * i));
    memcpy(b + 8, header, h);
    if (data) memcpy(b + 8 + h, data, data_len);
    return b;
}

/* Parses an image that must fail; the message must be one line naming the file and
 * holding `fragment`. */
static void expect_fault(const char *header, size_t data_len, const char *fragment) {
    size_t size;
    uint8_t *b = image(header, data_len, NULL, &size);
    av_safetensors st;
    av_clear_error();
    int rc = av_safetensors_parse(b, size, "mem.safetensors", &st);
    const char *msg = av_last_error();
    CHECK_MSG(rc == AV_ERR, "accepted: %s", header);
    CHECK_MSG(!strncmp(msg, "mem.safetensors: ", 17), "message does not name the file: %s", msg);
    CHECK_MSG(strstr(msg, fragment) != NULL, "'%s' lacks '%s'", msg, fragment);
    CHECK_MSG(strchr(msg, '\n') == NULL, "message is not one line: %s", msg);
    CHECK(st.tensors == NULL && st.count == 0 && st.maps == NULL);
    free(b);
}

static int64_t numel_sum(const av_safetensors *st) {
    int64_t n = 0;
    for (int i = 0; i < st->count; i++) n += st->tensors[i].numel;
    return n;
}

static int64_t expected_params(const cJSON *exp, const char *model) {
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(exp, model);
    const cJSON *p = m ? cJSON_GetObjectItemCaseSensitive(m, "params") : NULL;
    return cJSON_IsNumber(p) ? (int64_t)p->valuedouble : -1;
}

static void check_shape(const av_safetensors *st, const char *name, int ndim, int64_t d0, int64_t d1) {
    const av_st_tensor *t = av_safetensors_find(st, name);
    CHECK_MSG(t != NULL, "no tensor %s", name);
    if (!t) return;
    CHECK_MSG(t->ndim == ndim && t->shape[0] == d0 && (ndim < 2 || t->shape[1] == d1), "%s: shape", name);
    CHECK(t->nbytes == (size_t)t->numel * av_st_dtype_size(t->dtype));
}

static void test_bert(const cJSON *exp) {
    /* bert-tiny: V 2575, positions 64, types 2, hidden 32, intermediate 64, 2 layers, no pooler. */
    const int64_t V = 2575, P = 64, T = 2, h = 32, I = 64, L = 2;
    int64_t layer = 4 * (h * h + h) + 2 * h + (I * h + I) + (h * I + h) + 2 * h;
    int64_t want = V * h + P * h + T * h + 2 * h + L * layer;
    CHECK_MSG(want == expected_params(exp, "bert-tiny"), "formula %lld vs transformers %lld", (long long)want,
              (long long)expected_params(exp, "bert-tiny"));
    av_safetensors f32, f16, bf16;
    CHECK(av_safetensors_open(FIX "bert-tiny", &f32) == AV_OK);
    CHECK(av_safetensors_open(FIX "bert-tiny-f16/model.safetensors", &f16) == AV_OK);
    CHECK(av_safetensors_open(FIX "bert-tiny-bf16/", &bf16) == AV_OK);
    CHECK(f32.count == 5 + 16 * (int)L && f16.count == f32.count && bf16.count == f32.count);
    CHECK(numel_sum(&f32) == want && numel_sum(&f16) == want && numel_sum(&bf16) == want);
    CHECK(f32.nfiles == 1 && f32.index_json == NULL);
    check_shape(&f32, "embeddings.word_embeddings.weight", 2, V, h);
    check_shape(&f32, "encoder.layer.1.attention.self.query.weight", 2, h, h);
    check_shape(&f32, "encoder.layer.0.intermediate.dense.weight", 2, I, h);
    check_shape(&f32, "encoder.layer.1.output.LayerNorm.bias", 1, h, 0);
    CHECK(av_safetensors_find(&f32, "encoder.layer.2.attention.self.query.weight") == NULL);
    CHECK(av_safetensors_find(&f32, "") == NULL);
    for (int i = 1; i < f32.count; i++) CHECK(strcmp(f32.tensors[i - 1].name, f32.tensors[i].name) < 0);
    /* The F16 file is a cast of the F32 weights: every stored half must be exactly the
     * rounding of the F32 value, and the conversion back must match it. Likewise the BF16
     * file holds bf16(x) bit for bit (make_checkpoints.py casts each copy from F32). */
    int mismatched16 = 0, mismatchedbf = 0, converted = 0;
    for (int i = 0; i < f32.count; i++) {
        const av_st_tensor *a = &f32.tensors[i];
        const av_st_tensor *b = av_safetensors_find(&f16, a->name);
        const av_st_tensor *c = av_safetensors_find(&bf16, a->name);
        CHECK_MSG(b && c && a->dtype == AV_ST_F32 && b->dtype == AV_ST_F16 && c->dtype == AV_ST_BF16, "%s", a->name);
        if (!b || !c || b->numel != a->numel || c->numel != a->numel) continue;
        float *x = malloc(sizeof(float) * (size_t)a->numel), *y = malloc(sizeof(float) * (size_t)a->numel);
        float *z = malloc(sizeof(float) * (size_t)a->numel);
        CHECK(av_st_to_f32(a, x) == AV_OK && av_st_to_f32(b, y) == AV_OK && av_st_to_f32(c, z) == AV_OK);
        for (int64_t k = 0; k < a->numel; k++) {
            uint16_t hb, bb;
            memcpy(&hb, (const uint8_t *)b->data + 2 * k, 2);
            memcpy(&bb, (const uint8_t *)c->data + 2 * k, 2);
            mismatched16 += hb != av_f32_to_f16(x[k]) || y[k] != av_f16_to_f32(hb) || fabsf(y[k] - x[k]) > 1e-3f * (1 + fabsf(x[k]));
            mismatchedbf += bb != av_f32_to_bf16(x[k]) || fabsf(z[k] - x[k]) > 4e-3f * fabsf(x[k]);
            converted++;
        }
        free(x);
        free(y);
        free(z);
    }
    CHECK_MSG(mismatched16 == 0 && mismatchedbf == 0, "%d F16 and %d BF16 of %d values differ", mismatched16,
              mismatchedbf, converted);
    CHECK(converted == want);
    av_safetensors_close(&f32);
    av_safetensors_close(&f16);
    av_safetensors_close(&bf16);
    CHECK(f32.tensors == NULL && f32.count == 0);
}

static void test_gpt2(const cJSON *exp) {
    const int64_t V = 483, P = 64, h = 32, I = 128, L = 2;
    int64_t layer = 2 * h + (h * 3 * h + 3 * h) + (h * h + h) + 2 * h + (h * I + I) + (I * h + h);
    int64_t want = V * h + P * h + L * layer + 2 * h;
    CHECK_MSG(want == expected_params(exp, "gpt2-tiny"), "formula %lld vs transformers %lld", (long long)want,
              (long long)expected_params(exp, "gpt2-tiny"));
    av_safetensors one, sh;
    CHECK(av_safetensors_open(FIX "gpt2-tiny", &one) == AV_OK);
    CHECK(av_safetensors_open(FIX "gpt2-tiny-sharded", &sh) == AV_OK);
    CHECK(numel_sum(&one) == want && numel_sum(&sh) == want);
    CHECK(sh.nfiles == 3 && sh.index_json && strstr(sh.index_json, "model.safetensors.index.json"));
    check_shape(&one, "h.0.attn.c_attn.weight", 2, h, 3 * h); /* Conv1D: [in, out] */
    check_shape(&one, "wte.weight", 2, V, h);
    /* The sharded copy holds the same tensors with the same bytes. */
    CHECK(one.count == sh.count);
    int differ = 0, files_seen = 0;
    for (int i = 0; i < one.count; i++) {
        const av_st_tensor *a = &one.tensors[i], *b = av_safetensors_find(&sh, a->name);
        if (!b || b->nbytes != a->nbytes || b->dtype != a->dtype || memcmp(a->data, b->data, a->nbytes)) differ++;
        else if (strstr(b->file, "-of-00003.safetensors")) files_seen++;
    }
    CHECK_MSG(differ == 0 && files_seen == one.count, "%d tensors differ", differ);
    /* Opening the index file itself works the same way. */
    av_safetensors ix;
    CHECK(av_safetensors_open(FIX "gpt2-tiny-sharded/model.safetensors.index.json", &ix) == AV_OK);
    CHECK(ix.count == sh.count);
    av_safetensors_close(&ix);
    av_safetensors_close(&one);
    av_safetensors_close(&sh);
}

static void test_vit(const cJSON *exp) {
    const int64_t h = 32, I = 64, L = 2, C = 3, p = 8, N = 16;
    int64_t layer = 4 * (h * h + h) + 4 * h + (I * h + I) + (h * I + h);
    int64_t want = h + (N + 1) * h + (C * p * p * h + h) + L * layer + 2 * h;
    CHECK_MSG(want == expected_params(exp, "vit-tiny"), "formula %lld vs transformers %lld", (long long)want,
              (long long)expected_params(exp, "vit-tiny"));
    av_safetensors st;
    CHECK(av_safetensors_open(FIX "vit-tiny", &st) == AV_OK);
    CHECK(numel_sum(&st) == want);
    const av_st_tensor *t = av_safetensors_find(&st, "embeddings.patch_embeddings.projection.weight");
    CHECK(t && t->ndim == 4 && t->shape[0] == h && t->shape[1] == C && t->shape[2] == p && t->shape[3] == p);
    av_safetensors_close(&st);
}

static void test_valid_edges(void) {
    /* Header padded with spaces, header length not a multiple of 4 (unaligned data), a
     * zero-size tensor, metadata, every dtype name, BF16/F16/F64 conversion. */
    const char *hdr = "{\"__metadata__\":{\"k\":\"v\"},\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                      "\"h\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[8,10]},"
                      "\"b\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[10,12]},"
                      "\"d\":{\"dtype\":\"F64\",\"shape\":[1,1],\"data_offsets\":[12,20]},"
                      "\"e\":{\"dtype\":\"I64\",\"shape\":[0,5],\"data_offsets\":[20,20]},"
                      "\"s\":{\"dtype\":\"U8\",\"shape\":[],\"data_offsets\":[20,21]}}   ";
    uint8_t data[21];
    float w[2] = {1.5f, -2.25f};
    uint16_t hv = av_f32_to_f16(0.5f), bv = av_f32_to_bf16(-3.0f);
    double dv = 0.125;
    memcpy(data, w, 8);
    memcpy(data + 8, &hv, 2);
    memcpy(data + 10, &bv, 2);
    memcpy(data + 12, &dv, 8);
    data[20] = 7;
    CHECK(strlen(hdr) % 4 != 0);
    size_t size;
    uint8_t *b = image(hdr, sizeof data, data, &size);
    av_safetensors st;
    CHECK_MSG(av_safetensors_parse(b, size, "edge", &st) == AV_OK, "%s", av_last_error());
    CHECK(st.count == 6);
    float out[2] = {0, 0};
    const av_st_tensor *t;
    CHECK((t = av_safetensors_find(&st, "w")) && av_st_to_f32(t, out) == AV_OK && out[0] == 1.5f && out[1] == -2.25f);
    CHECK((t = av_safetensors_find(&st, "h")) && av_st_to_f32(t, out) == AV_OK && out[0] == 0.5f);
    CHECK((t = av_safetensors_find(&st, "b")) && av_st_to_f32(t, out) == AV_OK && out[0] == -3.0f);
    CHECK((t = av_safetensors_find(&st, "d")) && av_st_to_f32(t, out) == AV_OK && out[0] == 0.125f);
    CHECK((t = av_safetensors_find(&st, "e")) && t->numel == 0 && t->nbytes == 0 && t->ndim == 2 && t->shape[1] == 5);
    CHECK((t = av_safetensors_find(&st, "s")) && t->ndim == 0 && t->numel == 1 && *(const uint8_t *)t->data == 7);
    av_clear_error();
    CHECK(t && av_st_to_f32(t, out) == AV_ERR && strstr(av_last_error(), "tensor 's': dtype U8 is not a float type"));
    CHECK(av_safetensors_find(&st, "__metadata__") == NULL);
    av_safetensors_close(&st);
    free(b);
    /* An empty header is a valid, empty checkpoint. */
    b = image("{}", 0, NULL, &size);
    CHECK(av_safetensors_parse(b, size, "empty", &st) == AV_OK && st.count == 0);
    CHECK(av_safetensors_find(&st, "x") == NULL);
    av_safetensors_close(&st);
    free(b);
    for (int d = AV_ST_F32; d <= AV_ST_F8_E5M2; d++)
        CHECK(av_st_dtype_size((av_st_dtype)d) > 0 && strcmp(av_st_dtype_name((av_st_dtype)d), "?"));
}

/* Thousands of tensors (a sharded 7B checkpoint's count): every name found, absent ones not. */
static void test_many(void) {
    enum { N = 5000 };
    size_t cap = (size_t)N * 96 + 16, len = 0;
    char *hdr = malloc(cap);
    len += (size_t)snprintf(hdr + len, cap - len, "{");
    /* Written in reverse name order so the reader's sort has work to do. */
    for (int i = 0; i < N; i++)
        len += (size_t)snprintf(hdr + len, cap - len, "%s\"layers.%05d.w\":{\"dtype\":\"I8\",\"shape\":[1],\"data_offsets\":[%d,%d]}",
                                i ? "," : "", N - 1 - i, i, i + 1);
    snprintf(hdr + len, cap - len, "}");
    size_t size;
    uint8_t *b = image(hdr, N, NULL, &size);
    for (int i = 0; i < N; i++) b[size - N + (size_t)i] = (uint8_t)(N - 1 - i);
    av_safetensors st;
    CHECK_MSG(av_safetensors_parse(b, size, "many", &st) == AV_OK, "%s", av_last_error());
    CHECK(st.count == N);
    int found = 0;
    char name[32];
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "layers.%05d.w", i);
        const av_st_tensor *t = av_safetensors_find(&st, name);
        found += t && *(const uint8_t *)t->data == (uint8_t)i;
    }
    CHECK(found == N);
    CHECK(av_safetensors_find(&st, "layers.05000.w") == NULL && av_safetensors_find(&st, "layers.0000") == NULL);
    av_safetensors_close(&st);
    free(b);
    free(hdr);
}

static void test_faults(void) {
    const char *ok_a = "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}";
    char h[512];
    expect_fault("[]", 0, "not a JSON object");
    expect_fault("\"str\"", 0, "not a JSON object");
    expect_fault("{\"a\":", 0, "not valid JSON");
    expect_fault("{} x", 0, "after its JSON object");
    expect_fault("{\"a\":3}", 0, "tensor 'a': entry is not a JSON object");
    expect_fault("{\"a\":{\"shape\":[],\"data_offsets\":[0,4]}}", 4, "tensor 'a': no \"dtype\"");
    expect_fault("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, "tensor 'a': no \"shape\"");
    expect_fault("{\"a\":{\"dtype\":\"F32\",\"shape\":[]}}", 4, "tensor 'a': no \"data_offsets\"");
    expect_fault("{\"a\":{\"dtype\":7,\"shape\":[],\"data_offsets\":[0,4]}}", 4, "\"dtype\" is not a string");
    expect_fault("{\"a\":{\"dtype\":\"f32\",\"shape\":[],\"data_offsets\":[0,4]}}", 4, "unknown dtype \"f32\"");
    expect_fault("{\"a\":{\"dtype\":\"F32\",\"shape\":5,\"data_offsets\":[0,4]}}", 4, "\"shape\" is not an array");
    expect_fault("{\"a\":{\"dtype\":\"F32\",\"shape\":[\"1\"],\"data_offsets\":[0,4]}}", 4, "shape[0] is not a non-negative");
    expect_fault("{\"a\":{\"dtype\":\"F32\",\"shape\":[1,-2],\"data_offsets\":[0,4]}}", 4, "shape[1] is not a non-negative");
    expect_fault("{\"a\":{\"dtype\":\"F32\",\"shape\":[1e300],\"data_offsets\":[0,4]}}", 4, "shape[0] is not a non-negative");
    expect_fault("{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4, "9 dimensions");
    expect_fault("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,4]}}", 4, "overflows");
    expect_fault("{\"a\":{\"dtype\":\"F64\",\"shape\":[4611686018427387904],\"data_offsets\":[0,4]}}", 4,
                 "shape[0] is not a non-negative"); /* above 2^53: not exactly representable */
    expect_fault("{\"a\":{\"dtype\":\"F64\",\"shape\":[4503599627370496,4096],\"data_offsets\":[0,4]}}", 4, "overflows");
    expect_fault("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 8, "needs 8 bytes, data_offsets give 4");
    expect_fault("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", 8, "not a [begin, end] pair");
    expect_fault("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8,9]}}", 9, "not a [begin, end] pair");
    expect_fault("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[-8,0]}}", 8, "are not non-negative integers");
    expect_fault("{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,0]}}", 8, "end before they begin");
    expect_fault("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 8, "run past the data block (8 bytes");
    snprintf(h, sizeof h, "{%s,\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", ok_a);
    expect_fault(h, 8, "tensor 'b': data_offsets [4, 8] overlap tensor 'a'");
    snprintf(h, sizeof h, "{%s,\"b\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]}}", ok_a);
    expect_fault(h, 8, "overlap tensor 'a'"); /* an empty tensor inside another one's bytes */
    snprintf(h, sizeof h, "{%s,\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", ok_a);
    expect_fault(h, 12, "tensor 'a': duplicate name");
    /* Control bytes in names and dtypes (JSON lets them through raw) stay out of the
     * one-line message: found by fuzz_safetensors. */
    expect_fault("{\"a\\nb\\u001b[31m\":{\"dtype\":\"F1\n\",\"shape\":[],\"data_offsets\":[0,4]}}", 4,
                 "tensor 'a?b?[31m': unknown dtype \"F1?\"");
    expect_fault("{\"__metadata__\":[1]}", 0, "\"__metadata__\" is not a JSON object");
    expect_fault("{\"__metadata__\":{\"a\":{}}}", 0, "\"__metadata__\" entry 'a' is not a string");

    /* Header length faults, written by hand. */
    uint8_t b[16] = {0};
    av_safetensors st;
    av_clear_error();
    CHECK(av_safetensors_parse(b, 7, "short", &st) == AV_ERR && strstr(av_last_error(), "short: 7 bytes, too short"));
    b[0] = 9; /* header of 9 bytes in a 16-byte file: 8 are left */
    CHECK(av_safetensors_parse(b, 16, "past", &st) == AV_ERR && strstr(av_last_error(), "past: header length 9 runs past"));
    memset(b, 0xff, 8);
    CHECK(av_safetensors_parse(b, 16, "huge", &st) == AV_ERR && strstr(av_last_error(), "over the 100 MB bound"));
    memset(b, 0, 16);
    b[0] = 8; /* eight NULs: not a JSON object */
    CHECK(av_safetensors_parse(b, 16, "nul", &st) == AV_ERR && strstr(av_last_error(), "nul: header is not a JSON object"));

    /* Files: missing, a folder without weights. */
    CHECK(av_safetensors_open("tests/fixtures/models/no-such-model", &st) == AV_ERR &&
          strstr(av_last_error(), "no-such-model: cannot open"));
    CHECK(av_safetensors_open("tests/fixtures", &st) == AV_ERR &&
          strstr(av_last_error(), "tests/fixtures: no model.safetensors or model.safetensors.index.json"));
}

int main(void) {
    cJSON *exp = NULL;
    size_t n;
    char *text = av_read_file(FIX "expected_info.json", &n);
    CHECK_MSG(text != NULL, "%s", av_last_error());
    if (text) exp = cJSON_Parse(text);
    free(text);
    CHECK(exp != NULL);
    test_bert(exp);
    test_gpt2(exp);
    test_vit(exp);
    test_valid_edges();
    test_many();
    test_faults();
    cJSON_Delete(exp);
    return av_check_summary("test_safetensors");
}
