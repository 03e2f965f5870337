/* invariants.h - what must hold after the parsers see any input, shared by the libFuzzer
 * targets (tests/fuzz_*.c) and the plain replay of the corpora (tests/test_fuzz_corpus.c)
 * so gcc and ASan builds check the same promises on every committed input.
 * Each function returns 1 when the input parsed, 0 when it was rejected properly, and -1
 * (after printing why) when a promise is broken. Static inline: header-only on purpose. */
#ifndef AV_TESTS_FUZZ_INVARIANTS_H
#define AV_TESTS_FUZZ_INVARIANTS_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "models/config.h"
#include "models/safetensors.h"

/* A rejection must leave one line that names the input. */
static inline int av_fuzz_rejected(const char *name) {
    const char *m = av_last_error();
    if (strncmp(m, name, strlen(name)) || strchr(m, '\n')) {
        fprintf(stderr, "bad error message: %s\n", m);
        return -1;
    }
    return 0;
}

/* Parses a safetensors image; reads every byte of every tensor and converts the float ones. */
static inline int av_fuzz_safetensors(const uint8_t *data, size_t size) {
    av_safetensors st;
    av_clear_error();
    if (av_safetensors_parse(data, size, "fuzz.safetensors", &st) != AV_OK) return av_fuzz_rejected("fuzz.safetensors");
    int bad = 0;
    unsigned sum = 0;
    for (int i = 0; i < st.count && !bad; i++) {
        const av_st_tensor *t = &st.tensors[i];
        const uint8_t *p = t->data;
        if (av_safetensors_find(&st, t->name) != t || (i && strcmp(st.tensors[i - 1].name, t->name) >= 0) ||
            t->nbytes != (size_t)t->numel * av_st_dtype_size(t->dtype) || t->ndim < 0 || t->ndim > AV_ST_MAXDIM ||
            (t->nbytes && (p < data || p + t->nbytes > data + size))) {
            fprintf(stderr, "tensor %d breaks the reader's promises\n", i);
            bad = 1;
            break;
        }
        for (size_t k = 0; k < t->nbytes; k++) sum += p[k];
        if (t->dtype == AV_ST_F32 || t->dtype == AV_ST_F16 || t->dtype == AV_ST_BF16 || t->dtype == AV_ST_F64) {
            float *out = malloc(sizeof(float) * (size_t)(t->numel ? t->numel : 1));
            if (out && av_st_to_f32(t, out) != AV_OK) bad = 1;
            free(out);
        }
    }
    av_safetensors_close(&st);
    (void)sum;
    return bad ? -1 : 1;
}

/* Parses bytes as config.json: what parses must describe a model the forward passes can build. */
static inline int av_fuzz_config(const uint8_t *data, size_t size) {
    av_model_config c;
    av_clear_error();
    if (av_config_parse((const char *)data, size, "fuzz.json", &c) != AV_OK) return av_fuzz_rejected("fuzz.json");
    if (c.num_layers < 1 || c.num_heads < 1 || c.head_dim < 1 || c.head_dim * c.num_heads != c.hidden ||
        c.intermediate < 1 || c.max_positions < 1 || !(c.layer_norm_eps > 0) ||
        (c.type != AV_MODEL_VIT && c.vocab_size < 1) ||
        (c.type == AV_MODEL_VIT && (c.patch_size < 1 || c.patch_size > c.image_size || c.num_channels != 3))) {
        fprintf(stderr, "accepted config describes no buildable model\n");
        return -1;
    }
    return 1;
}

/* Parses bytes as preprocessor_config.json on top of a valid ViT config. */
static inline int av_fuzz_preprocessor(const uint8_t *data, size_t size) {
    static const char vit[] = "{\"model_type\":\"vit\",\"num_hidden_layers\":1,\"num_attention_heads\":1,"
                              "\"hidden_size\":8,\"intermediate_size\":8}";
    av_model_config c;
    if (av_config_parse(vit, sizeof vit - 1, "vit.json", &c) != AV_OK) return -1;
    av_clear_error();
    if (av_config_parse_preprocessor((const char *)data, size, "fuzz.json", &c) != AV_OK)
        return av_fuzz_rejected("fuzz.json");
    if (c.resize_h < 1 || c.resize_w < 1 || !(c.rescale_factor > 0) || !(c.image_std[0] > 0) ||
        !(c.image_std[1] > 0) || !(c.image_std[2] > 0)) {
        fprintf(stderr, "accepted preprocessor config is unusable\n");
        return -1;
    }
    return 1;
}
#endif
