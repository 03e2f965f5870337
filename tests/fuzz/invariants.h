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
#include "models/dequant.h"
#include "models/gguf_llama.h"
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

/* Bytes the checks read land here, so no compiler drops the reads ASan must see. */
static volatile unsigned av_fuzz_sink;
static inline void av_fuzz_touch(const void *p, size_t n) {
    unsigned sum = 0;
    for (size_t i = 0; i < n; i++) sum += ((const unsigned char *)p)[i];
    av_fuzz_sink += sum;
}

/* Reads every metadata value of an accepted GGUF image through the getters (each kind,
 * so the type checks run too); returns 0 when a getter broke a promise. */
static inline int av_fuzz_gguf_values(const av_gguf *g) {
    for (int i = 0; i < g->nkv; i++) {
        const av_gguf_kv *kv = &g->kvs[i];
        if (av_gguf_find_kv(g, kv->key) != kv) return 0;
        uint64_t u;
        double d;
        int b;
        av_gguf_str s;
        /* a scalar must answer at least one getter; results are only touched */
        int ok = av_gguf_get_u64(g, kv->key, &u) == AV_OK;
        ok |= av_gguf_get_f64(g, kv->key, &d) == AV_OK;
        ok |= av_gguf_get_bool(g, kv->key, &b) == AV_OK;
        if (av_gguf_get_str(g, kv->key, &s) == AV_OK) {
            av_fuzz_touch(s.s, s.n);
            ok = 1;
        }
        if (kv->type == AV_GGUF_ARRAY) {
            ok = 1;
            for (uint64_t k = 0; k < kv->count && k < 4096; k++) {
                int64_t v;
                float f;
                if (kv->elem == AV_GGUF_STRING) {
                    if (av_gguf_arr_str(g, kv, k, &s) != AV_OK) return 0;
                    av_fuzz_touch(s.s, s.n);
                }
                av_gguf_arr_i64(g, kv, k, &v);
                av_gguf_arr_f32(g, kv, k, &f);
                av_gguf_arr_bool(g, kv, k, &b);
            }
            if (av_gguf_arr_str(g, kv, kv->count, &s) == AV_OK) return 0; /* past the end */
        } else if (kv->type == AV_GGUF_I8 || kv->type == AV_GGUF_I16 || kv->type == AV_GGUF_I32 ||
                   kv->type == AV_GGUF_I64) {
            int64_t v;
            ok = av_gguf_get_i64(g, kv->key, &v) == AV_OK;
        }
        if (!ok) return 0;
    }
    return 1;
}

/* Parses a GGUF image: every tensor inside the buffer with the size its type and
 * dimensions imply, every value readable, every supported tensor dequantized; then the
 * same bytes through the Hugging Face view, whose tensors must lie in its own copy. */
static inline int av_fuzz_gguf(const uint8_t *data, size_t size) {
    av_gguf g;
    av_clear_error();
    if (av_gguf_parse(data, size, "fuzz.gguf", &g) != AV_OK) return av_fuzz_rejected("fuzz.gguf");
    int bad = !av_fuzz_gguf_values(&g);
    if (bad) fprintf(stderr, "a metadata value breaks the reader's promises\n");
    for (int i = 0; i < g.ntensors && !bad; i++) {
        const av_gguf_tensor *t = &g.tensors[i];
        size_t nb = 0;
        const uint8_t *p = t->data;
        if (av_gguf_find(&g, t->name) != t || av_ggml_nbytes(t->type, t->numel, &nb) != AV_OK || nb != t->nbytes ||
            t->ndim < 0 || t->ndim > AV_GGUF_MAXDIM || (t->nbytes && (p < data || p + t->nbytes > data + size))) {
            fprintf(stderr, "tensor %d breaks the reader's promises\n", i);
            bad = 1;
            break;
        }
        av_fuzz_touch(p, t->nbytes);
        if (av_ggml_can_dequant(t->type) && t->numel <= (1 << 24)) {
            float *out = malloc(sizeof(float) * (size_t)(t->numel ? t->numel : 1));
            if (out && av_gguf_to_f32(&g, t, out) != AV_OK) bad = 1;
            free(out);
        }
    }
    av_gguf_close(&g);
    if (bad) return -1;
    av_gguf_llama m;
    av_clear_error();
    if (av_gguf_llama_parse(data, size, "fuzz.gguf", &m) != AV_OK) return av_fuzz_rejected("fuzz.gguf") < 0 ? -1 : 1;
    for (int i = 0; i < m.count && !bad; i++) {
        const av_hf_tensor *t = &m.tensors[i];
        const uint8_t *p = t->data;
        if (av_gguf_llama_find(&m, t->name) != t || (t->nbytes && (p < m.copy || p + t->nbytes > m.copy + size))) {
            fprintf(stderr, "view tensor %d breaks the view's promises\n", i);
            bad = 1;
            break;
        }
        int64_t cols = t->ndim ? t->shape[t->ndim - 1] : 1;
        float *row = malloc(sizeof(float) * (size_t)(cols ? cols : 1));
        if (row && t->numel && av_hf_tensor_rows_f32(t, 0, 1, row) != AV_OK) bad = 1;
        free(row);
    }
    if (!m.config) bad = 1;
    av_gguf_llama_close(&m);
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
