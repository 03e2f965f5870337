/* test_tensor.c - stored weight tensors (models/tensor.h): GGML block sizes, byte-count
 * checks naming the tensor, row-wise conversion of F32/F16/BF16 from unaligned bytes and
 * of a quantized type through av_dequant (a row range is a byte range), and the weight set
 * (sorted lookup, duplicates refused) including the safetensors reader's view of a
 * fixture checkpoint. */
#include <stdlib.h>
#include <string.h>
#include "base/dtype.h"
#include "base/util.h"
#include "models/safetensors.h"
#include "models/tensor.h"
#include "tests/check.h"

static void test_blocks(void) {
    static const struct { int type; int64_t elems; size_t bytes; const char *name; } want[] = {
        {AV_WT_F32, 1, 4, "F32"},       {AV_WT_F16, 1, 2, "F16"},       {AV_WT_BF16, 1, 2, "BF16"},
        {AV_WT_Q4_0, 32, 18, "Q4_0"},   {AV_WT_Q4_1, 32, 20, "Q4_1"},   {AV_WT_Q5_0, 32, 22, "Q5_0"},
        {AV_WT_Q5_1, 32, 24, "Q5_1"},   {AV_WT_Q8_0, 32, 34, "Q8_0"},   {AV_WT_Q4_K, 256, 144, "Q4_K"},
        {AV_WT_Q5_K, 256, 176, "Q5_K"}, {AV_WT_Q6_K, 256, 210, "Q6_K"},
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        int64_t e = 0;
        size_t b = 0;
        CHECK(av_wtype_block(want[i].type, &e, &b) == AV_OK);
        CHECK_MSG(e == want[i].elems && b == want[i].bytes, "%s: %lld/%zu", want[i].name, (long long)e, b);
        CHECK(!strcmp(av_wtype_name(want[i].type), want[i].name));
    }
    int64_t e;
    size_t b;
    CHECK(av_wtype_block(9 /* Q8_1: never stored in model files */, &e, &b) == AV_ERR);
    CHECK(strstr(av_last_error(), "type 9") != NULL);
    CHECK(!strcmp(av_wtype_name(77), "?"));
}

static void test_check(void) {
    uint8_t bytes[4 * 18];
    av_tensor t = {.name = "w", .file = "f.gguf", .type = AV_WT_Q4_0, .ndim = 2, .shape = {2, 64},
                   .data = bytes, .nbytes = sizeof bytes};
    CHECK(av_tensor_check(&t) == AV_OK);
    t.nbytes = 3 * 18;
    CHECK(av_tensor_check(&t) == AV_ERR);
    CHECK(strstr(av_last_error(), "f.gguf: tensor 'w': shape [2, 64] of type Q4_0 needs 72 bytes") != NULL);
    t.nbytes = sizeof bytes;
    t.shape[1] = 48; /* rows of 48 values cannot hold whole 32-value blocks */
    CHECK(av_tensor_check(&t) == AV_ERR);
    CHECK(strstr(av_last_error(), "not a multiple") != NULL);
    t.shape[1] = 64;
    CHECK(av_tensor_rows(&t) == 2 && av_tensor_cols(&t) == 64 && av_tensor_numel(&t) == 128);
    /* Q4_0 rows through av_dequant: block b of row r holds scale 0.5 * (2r + b + 1) and
     * nibbles (i % 16), so value i of the block is scale * (i % 16 - 8) */
    for (int blk = 0; blk < 4; blk++) {
        uint16_t d = av_f32_to_f16(0.5f * (float)(blk + 1));
        memcpy(bytes + 18 * blk, &d, 2);
        for (int i = 0; i < 16; i++) bytes[18 * blk + 2 + i] = (uint8_t)((i % 16) | ((i % 16) << 4));
    }
    float out[128];
    CHECK(av_tensor_rows_f32(&t, 1, 1, out) == AV_OK);
    for (int i = 0; i < 64; i++) {
        int blk = 2 + i / 32, q = i % 32 % 16;
        CHECK_MSG(out[i] == 0.5f * (float)(blk + 1) * (float)(q - 8), "value %d: %g", i, out[i]);
    }
    CHECK(av_wtype_readable(AV_WT_Q4_0) && av_wtype_readable(AV_WT_Q6_K) && av_wtype_readable(AV_WT_BF16));
    CHECK(!av_wtype_readable(9));
    av_tensor v = {.name = "b", .file = "f", .type = AV_WT_F32, .ndim = 1, .shape = {3}, .data = bytes, .nbytes = 12};
    CHECK(av_tensor_check(&v) == AV_OK && av_tensor_rows(&v) == 1 && av_tensor_cols(&v) == 3);
}

/* Rows out of the middle of a tensor stored at an odd address, each type. */
static void test_rows(void) {
    enum { R = 5, Cn = 7 };
    float src[R * Cn];
    for (int i = 0; i < R * Cn; i++) src[i] = (float)(i - 17) * 0.375f;
    uint8_t *buf = malloc(1 + sizeof src);
    const av_wtype kinds[3] = {AV_WT_F32, AV_WT_F16, AV_WT_BF16};
    for (int k = 0; k < 3; k++) {
        size_t es = kinds[k] == AV_WT_F32 ? 4 : 2;
        for (int i = 0; i < R * Cn; i++) {
            uint16_t h = kinds[k] == AV_WT_F16 ? av_f32_to_f16(src[i]) : av_f32_to_bf16(src[i]);
            if (es == 4) memcpy(buf + 1 + 4 * i, &src[i], 4);
            else memcpy(buf + 1 + 2 * i, &h, 2);
        }
        av_tensor t = {.name = "x", .file = "f", .type = kinds[k], .ndim = 2, .shape = {R, Cn}, .data = buf + 1,
                       .nbytes = es * R * Cn};
        CHECK(av_tensor_check(&t) == AV_OK);
        float out[2 * Cn];
        CHECK(av_tensor_rows_f32(&t, 2, 2, out) == AV_OK);
        for (int i = 0; i < 2 * Cn; i++) CHECK(out[i] == src[2 * Cn + i]); /* all exact in 8 mantissa bits */
        CHECK(av_tensor_rows_f32(&t, 4, 2, out) == AV_ERR);
        CHECK(strstr(av_last_error(), "rows 4..6 asked of 5") != NULL);
    }
    free(buf);
}

static void release_count(void *owner) { (*(int *)owner)++; }

static void test_set(void) {
    float x = 1;
    av_tensor *v = malloc(3 * sizeof *v);
    const char *names[3] = {"b.weight", "a.weight", "c.bias"};
    for (int i = 0; i < 3; i++)
        v[i] = (av_tensor){.name = names[i], .file = "f", .type = AV_WT_F32, .ndim = 1, .shape = {1}, .data = &x, .nbytes = 4};
    int released = 0;
    av_weights w = {.tensors = v, .count = 3, .path = "f", .owner = &released, .release = release_count};
    CHECK(av_weights_finish(&w) == AV_OK);
    CHECK(!strcmp(w.tensors[0].name, "a.weight") && !strcmp(w.tensors[2].name, "c.bias"));
    CHECK(av_weights_find(&w, "b.weight") == &w.tensors[1]);
    CHECK(av_weights_find(&w, "b.bias") == NULL);
    v[2].name = "b.weight";
    CHECK(av_weights_finish(&w) == AV_ERR);
    CHECK(strstr(av_last_error(), "tensor 'b.weight' appears twice") != NULL);
    av_weights_close(&w);
    CHECK(released == 1 && w.tensors == NULL && w.count == 0);
    av_weights_close(&w);
    CHECK(released == 1);
}

/* The safetensors reader as a weight set: BF16 tensors with their shapes, names sorted. */
static void test_safetensors_set(void) {
    av_weights w;
    if (av_safetensors_weights("tests/fixtures/models/bert-tiny-bf16", &w)) {
        CHECK_MSG(0, "%s", av_last_error());
        return;
    }
    const av_tensor *t = av_weights_find(&w, "embeddings.word_embeddings.weight");
    CHECK(t && t->type == AV_WT_BF16 && t->ndim == 2);
    for (int i = 1; i < w.count; i++) CHECK(strcmp(w.tensors[i - 1].name, w.tensors[i].name) < 0);
    av_safetensors st;
    CHECK(av_safetensors_open("tests/fixtures/models/bert-tiny-bf16", &st) == AV_OK);
    const av_st_tensor *s = av_safetensors_find(&st, "embeddings.word_embeddings.weight");
    float *a = malloc(sizeof(float) * (size_t)s->numel), *b = malloc(sizeof(float) * (size_t)s->numel);
    CHECK(av_st_to_f32(s, a) == AV_OK);
    CHECK(av_tensor_rows_f32(t, 0, av_tensor_rows(t), b) == AV_OK);
    CHECK(!memcmp(a, b, sizeof(float) * (size_t)s->numel));
    free(a);
    free(b);
    av_safetensors_close(&st);
    av_weights_close(&w);
}

int main(void) {
    test_blocks();
    test_check();
    test_rows();
    test_set();
    test_safetensors_set();
    return av_check_summary("test_tensor");
}
