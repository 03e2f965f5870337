/* gguf_llama.c - the Hugging Face view of gguf_llama.h: hyperparameters from the GGUF
 * metadata, the config object, the tensor name map with its shape checks, and the
 * reversal of the converter's q/k row permutation. */
#include "models/gguf_llama.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "models/dequant.h"

#define SHOWN 128
static const char *shown(const char *s, char *buf) { return av_shown(s, strlen(s), buf, SHOWN); }

/* model_type, the class config.json names, and whether llama.cpp permuted q/k. */
static const struct { const char *arch, *cls; int permuted; } archs[] = {
    {"llama", "LlamaForCausalLM", 1},
    {"mistral", "MistralForCausalLM", 1},
    {"qwen2", "Qwen2ForCausalLM", 0},
    {"qwen3", "Qwen3ForCausalLM", 0},
};
#define NARCHS (int)(sizeof archs / sizeof archs[0])

const char *av_gguf_llama_archs(void) { return "llama, mistral, qwen2, qwen3"; }

/* Counts are bounded far above any model and far below int overflow in the products
 * below (heads x head_dim x hidden stays in int64). */
#define MAX_DIM (1 << 24)

typedef struct {
    int arch;
    int64_t layers, hidden, ffn, heads, kv_heads, head_dim, ctx, vocab;
    float eps, theta;
    int has_output, has_rope_freqs, attn_bias, qk_norm;
} hparams;

/* {arch}.<key> */
static const char *akey(const char *arch, const char *key, char *buf, size_t n) {
    snprintf(buf, n, "%s.%s", arch, key);
    return buf;
}

/* A required count in [1, MAX_DIM]. */
static int get_dim(const av_gguf *g, const char *key, int64_t *out) {
    const av_gguf_kv *kv = av_gguf_find_kv(g, key);
    if (kv && kv->type == AV_GGUF_ARRAY)
        return av_fail("%s: metadata '%s' is a per-layer array, which llama-family models do not use", g->path, key);
    uint64_t v = 0;
    if (av_gguf_get_u64(g, key, &v) != AV_OK) return AV_ERR;
    if (v < 1 || v > MAX_DIM) return av_fail("%s: metadata '%s' = %llu is out of range [1, %d]", g->path, key,
                                             (unsigned long long)v, MAX_DIM);
    *out = (int64_t)v;
    return AV_OK;
}

static int opt_dim(const av_gguf *g, const char *key, int64_t dflt, int64_t *out) {
    if (!av_gguf_has(g, key)) {
        *out = dflt;
        return AV_OK;
    }
    return get_dim(g, key, out);
}

static int read_hparams(const av_gguf *g, hparams *h, char *arch_out) {
    char *arch = NULL;
    if (av_gguf_get_cstr(g, "general.architecture", &arch) != AV_OK) return AV_ERR;
    h->arch = -1;
    for (int i = 0; i < NARCHS; i++)
        if (!strcmp(arch, archs[i].arch)) h->arch = i;
    if (h->arch < 0) {
        char nm[SHOWN];
        av_fail("%s: architecture '%s' is not supported (supported: %s)", g->path, shown(arch, nm), av_gguf_llama_archs());
        free(arch);
        return AV_ERR;
    }
    free(arch);
    const char *a = archs[h->arch].arch;
    snprintf(arch_out, 8, "%s", a);
    char k[96];
    if (av_gguf_has(g, akey(a, "expert_count", k, sizeof k))) {
        uint64_t experts;
        if (av_gguf_get_u64(g, k, &experts) != AV_OK) return AV_ERR;
        if (experts)
            return av_fail("%s: metadata '%s' = %llu: mixture-of-experts models are not supported", g->path, k,
                           (unsigned long long)experts);
    }
    if (get_dim(g, akey(a, "block_count", k, sizeof k), &h->layers) != AV_OK ||
        get_dim(g, akey(a, "embedding_length", k, sizeof k), &h->hidden) != AV_OK ||
        get_dim(g, akey(a, "feed_forward_length", k, sizeof k), &h->ffn) != AV_OK ||
        get_dim(g, akey(a, "attention.head_count", k, sizeof k), &h->heads) != AV_OK ||
        opt_dim(g, akey(a, "attention.head_count_kv", k, sizeof k), h->heads, &h->kv_heads) != AV_OK ||
        get_dim(g, akey(a, "context_length", k, sizeof k), &h->ctx) != AV_OK ||
        av_gguf_get_f32(g, akey(a, "attention.layer_norm_rms_epsilon", k, sizeof k), &h->eps) != AV_OK)
        return AV_ERR;
    if (!(h->eps > 0)) return av_fail("%s: metadata '%s' = %g is not positive", g->path, k, (double)h->eps);
    h->theta = 10000.0f; /* llama.cpp's and Hugging Face's default */
    if (av_gguf_has(g, akey(a, "rope.freq_base", k, sizeof k))) {
        if (av_gguf_get_f32(g, k, &h->theta) != AV_OK) return AV_ERR;
        if (!(h->theta > 0)) return av_fail("%s: metadata '%s' = %g is not positive", g->path, k, (double)h->theta);
    }
    if (h->kv_heads > h->heads || h->heads % h->kv_heads)
        return av_fail("%s: metadata: %lld attention heads cannot share %lld key/value heads evenly", g->path,
                       (long long)h->heads, (long long)h->kv_heads);
    int64_t dflt = h->hidden % h->heads ? 0 : h->hidden / h->heads;
    if (!av_gguf_has(g, akey(a, "attention.key_length", k, sizeof k)) && !dflt)
        return av_fail("%s: metadata: embedding_length %lld is not a multiple of head_count %lld and no "
                       "attention.key_length says the head size", g->path, (long long)h->hidden, (long long)h->heads);
    if (opt_dim(g, k, dflt, &h->head_dim) != AV_OK) return AV_ERR;
    int64_t v = 0;
    if (opt_dim(g, akey(a, "attention.value_length", k, sizeof k), h->head_dim, &v) != AV_OK) return AV_ERR;
    if (v != h->head_dim)
        return av_fail("%s: metadata '%s' = %lld differs from the key length %lld (not a llama-family layout)", g->path,
                       k, (long long)v, (long long)h->head_dim);
    if (opt_dim(g, akey(a, "rope.dimension_count", k, sizeof k), h->head_dim, &v) != AV_OK) return AV_ERR;
    if (v != h->head_dim)
        return av_fail("%s: metadata '%s' = %lld: rotary embeddings over part of a %lld-wide head are not supported",
                       g->path, k, (long long)v, (long long)h->head_dim);
    if (h->head_dim % 2)
        return av_fail("%s: metadata: head size %lld is odd (rotary embeddings pair the dimensions)", g->path,
                       (long long)h->head_dim);
    h->qk_norm = !strcmp(a, "qwen3");
    return AV_OK;
}

/* ---- the name map -------------------------------------------------------------------- */

/* What a tensor must be: its torch shape in units of the hyperparameters. */
typedef enum { S_HIDDEN, S_Q_OUT, S_KV_OUT, S_Q_IN, S_FFN_OUT, S_FFN_IN, S_HEAD, S_VOCAB, S_Q_VEC, S_KV_VEC,
               S_ROPE } shape_kind;

static const struct {
    const char *gguf, *hf;
    shape_kind shape;
    int perm;            /* 'q' or 'k': rows permuted by the converter */
    int need;            /* required in every layer: 1 always, 'b' qwen2, 'n' qwen3 */
} layer_map[] = {
    {"attn_norm.weight", "input_layernorm.weight", S_HIDDEN, 0, 1},
    {"attn_q.weight", "self_attn.q_proj.weight", S_Q_OUT, 'q', 1},
    {"attn_k.weight", "self_attn.k_proj.weight", S_KV_OUT, 'k', 1},
    {"attn_v.weight", "self_attn.v_proj.weight", S_KV_OUT, 0, 1},
    {"attn_output.weight", "self_attn.o_proj.weight", S_Q_IN, 0, 1},
    {"attn_q.bias", "self_attn.q_proj.bias", S_Q_VEC, 'q', 'b'},
    {"attn_k.bias", "self_attn.k_proj.bias", S_KV_VEC, 'k', 'b'},
    {"attn_v.bias", "self_attn.v_proj.bias", S_KV_VEC, 0, 'b'},
    {"attn_output.bias", "self_attn.o_proj.bias", S_HIDDEN, 0, 0},
    {"attn_q_norm.weight", "self_attn.q_norm.weight", S_HEAD, 0, 'n'},
    {"attn_k_norm.weight", "self_attn.k_norm.weight", S_HEAD, 0, 'n'},
    {"ffn_norm.weight", "post_attention_layernorm.weight", S_HIDDEN, 0, 1},
    {"ffn_gate.weight", "mlp.gate_proj.weight", S_FFN_OUT, 0, 1},
    {"ffn_up.weight", "mlp.up_proj.weight", S_FFN_OUT, 0, 1},
    {"ffn_down.weight", "mlp.down_proj.weight", S_FFN_IN, 0, 1},
};
#define NLAYER_MAP (int)(sizeof layer_map / sizeof layer_map[0])

static const struct { const char *gguf, *hf; shape_kind shape; int need; } global_map[] = {
    {"token_embd.weight", "model.embed_tokens.weight", S_VOCAB, 1},
    {"output_norm.weight", "model.norm.weight", S_HIDDEN, 1},
    {"output.weight", "lm_head.weight", S_VOCAB, 0},
    {"rope_freqs.weight", "rope_freqs.weight", S_ROPE, 0},
};
#define NGLOBAL_MAP (int)(sizeof global_map / sizeof global_map[0])

/* The expected torch shape of a kind; returns ndim. */
static int expected_shape(const hparams *h, shape_kind k, int64_t *s) {
    int64_t q = h->heads * h->head_dim, kv = h->kv_heads * h->head_dim;
    switch (k) {
    case S_HIDDEN: s[0] = h->hidden; return 1;
    case S_Q_OUT: s[0] = q; s[1] = h->hidden; return 2;
    case S_KV_OUT: s[0] = kv; s[1] = h->hidden; return 2;
    case S_Q_IN: s[0] = h->hidden; s[1] = q; return 2;
    case S_FFN_OUT: s[0] = h->ffn; s[1] = h->hidden; return 2;
    case S_FFN_IN: s[0] = h->hidden; s[1] = h->ffn; return 2;
    case S_HEAD: s[0] = h->head_dim; return 1;
    case S_VOCAB: s[0] = h->vocab; s[1] = h->hidden; return 2;
    case S_Q_VEC: s[0] = q; return 1;
    case S_KV_VEC: s[0] = kv; return 1;
    case S_ROPE: s[0] = h->head_dim / 2; return 1;
    }
    return 0;
}

static void shape_str(int nd, const int64_t *s, char *buf, size_t n) {
    size_t o = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < nd && o < n; i++) o += (size_t)snprintf(buf + o, n - o, "%s%lld", i ? ", " : "", (long long)s[i]);
    if (o < n) snprintf(buf + o, n - o, "]");
}

static int check_shape(const av_gguf *g, const hparams *h, const av_gguf_tensor *t, shape_kind k) {
    int64_t want[2];
    int nd = expected_shape(h, k, want);
    int ok = t->ndim == nd;
    for (int i = 0; ok && i < nd; i++) ok = t->shape[i] == want[i];
    if (ok) return AV_OK;
    char nm[SHOWN], a[96], b[96];
    shape_str(t->ndim, t->shape, a, sizeof a);
    shape_str(nd, want, b, sizeof b);
    return av_fail("%s: tensor '%s' has shape %s, the metadata implies %s", g->path, shown(t->name, nm), a, b);
}

/* "blk.<n>.<rest>" with a plain decimal n: sets *layer and *rest. */
static int split_layer(const char *name, int64_t *layer, const char **rest) {
    if (strncmp(name, "blk.", 4)) return 0;
    const char *p = name + 4;
    int64_t n = 0;
    int digits = 0;
    while (*p >= '0' && *p <= '9' && digits < 10) n = n * 10 + (*p++ - '0'), digits++;
    if (!digits || *p != '.' || (digits > 1 && name[4] == '0')) return 0;
    *layer = n;
    *rest = p + 1;
    return 1;
}

/* ---- q/k rows ------------------------------------------------------------------------ */

/* Rewrites rows of one tensor from the converter's interleaved order back to Hugging
 * Face's: within each head of D rows, stored row 2j + i becomes row i*D/2 + j. */
static int unpermute(uint8_t *data, int64_t rows, size_t row_bytes, int64_t head_dim) {
    size_t head_bytes = (size_t)head_dim * row_bytes;
    uint8_t *tmp = av_malloc(head_bytes ? head_bytes : 1);
    if (!tmp) return AV_ERR;
    int64_t half = head_dim / 2;
    for (int64_t h = 0; h < rows / head_dim; h++) {
        uint8_t *head = data + (size_t)h * head_bytes;
        for (int64_t i = 0; i < 2; i++)
            for (int64_t j = 0; j < half; j++)
                memcpy(tmp + (size_t)(i * half + j) * row_bytes, head + (size_t)(2 * j + i) * row_bytes, row_bytes);
        memcpy(head, tmp, head_bytes);
    }
    free(tmp);
    return AV_OK;
}

/* ---- the config ---------------------------------------------------------------------- */

static int add_token_id(const av_gguf *g, cJSON *c, const char *gkey, const char *hkey, int64_t vocab) {
    if (!av_gguf_has(g, gkey)) return AV_OK;
    uint32_t id;
    if (av_gguf_get_u32(g, gkey, &id) != AV_OK) return AV_ERR;
    if (id >= vocab)
        return av_fail("%s: metadata '%s' = %u is not below the vocabulary size %lld", g->path, gkey, id, (long long)vocab);
    cJSON_AddNumberToObject(c, hkey, id);
    return AV_OK;
}

/* rope_scaling from {arch}.rope.scaling.* (or the older {arch}.rope.scale_linear). */
static int rope_scaling(const av_gguf *g, const hparams *h, cJSON *c) {
    const char *a = archs[h->arch].arch;
    char k[96];
    char *type = NULL;
    float factor = 0;
    if (av_gguf_has(g, akey(a, "rope.scaling.type", k, sizeof k))) {
        if (av_gguf_get_cstr(g, k, &type) != AV_OK) return AV_ERR;
    } else if (av_gguf_has(g, akey(a, "rope.scale_linear", k, sizeof k))) {
        if (av_gguf_get_f32(g, k, &factor) != AV_OK) return AV_ERR;
        type = strdup(factor == 1.0f ? "none" : "linear");
        if (!type) return av_fail("out of memory");
    }
    int rc = AV_OK;
    int none = !type || !strcmp(type, "none");
    if (h->has_rope_freqs) {
        if (!none)
            rc = av_fail("%s: both rope_freqs.weight and %s.rope.scaling.type '%s': which rope scaling applies?",
                         g->path, a, type);
        else {
            cJSON *o = cJSON_AddObjectToObject(c, "rope_scaling");
            cJSON_AddStringToObject(o, "rope_type", "freq_factors");
            cJSON_AddStringToObject(o, "tensor", "rope_freqs.weight");
        }
    } else if (none) {
        cJSON_AddNullToObject(c, "rope_scaling");
    } else if (!strcmp(type, "linear") || !strcmp(type, "yarn")) {
        if (!factor && av_gguf_get_f32(g, akey(a, "rope.scaling.factor", k, sizeof k), &factor) != AV_OK) rc = AV_ERR;
        else if (!(factor > 0)) rc = av_fail("%s: metadata '%s' = %g is not positive", g->path, k, (double)factor);
        else {
            cJSON *o = cJSON_AddObjectToObject(c, "rope_scaling");
            cJSON_AddStringToObject(o, "rope_type", type);
            cJSON_AddNumberToObject(o, "factor", factor);
            int64_t orig = 0;
            if (!strcmp(type, "yarn") && av_gguf_has(g, akey(a, "rope.scaling.original_context_length", k, sizeof k))) {
                if (get_dim(g, k, &orig) != AV_OK) rc = AV_ERR;
                else cJSON_AddNumberToObject(o, "original_max_position_embeddings", (double)orig);
            }
            static const char *const yarn_keys[][2] = {{"rope.scaling.yarn_beta_fast", "beta_fast"},
                                                       {"rope.scaling.yarn_beta_slow", "beta_slow"},
                                                       {"rope.scaling.attn_factor", "attention_factor"}};
            for (int i = 0; i < 3 && rc == AV_OK && !strcmp(type, "yarn"); i++) {
                float v;
                if (!av_gguf_has(g, akey(a, yarn_keys[i][0], k, sizeof k))) continue;
                if (av_gguf_get_f32(g, k, &v) != AV_OK) rc = AV_ERR;
                else cJSON_AddNumberToObject(o, yarn_keys[i][1], v);
            }
        }
    } else {
        char nm[SHOWN];
        rc = av_fail("%s: rope scaling type '%s' is not supported (none, linear and yarn are)", g->path, shown(type, nm));
    }
    free(type);
    return rc;
}

static int build_config(const av_gguf *g, const hparams *h, cJSON **out) {
    cJSON *c = cJSON_CreateObject();
    if (!c) return av_fail("out of memory");
    cJSON *cls = cJSON_AddArrayToObject(c, "architectures");
    cJSON_AddItemToArray(cls, cJSON_CreateString(archs[h->arch].cls));
    cJSON_AddStringToObject(c, "model_type", archs[h->arch].arch);
    cJSON_AddNumberToObject(c, "vocab_size", (double)h->vocab);
    cJSON_AddNumberToObject(c, "hidden_size", (double)h->hidden);
    cJSON_AddNumberToObject(c, "intermediate_size", (double)h->ffn);
    cJSON_AddNumberToObject(c, "num_hidden_layers", (double)h->layers);
    cJSON_AddNumberToObject(c, "num_attention_heads", (double)h->heads);
    cJSON_AddNumberToObject(c, "num_key_value_heads", (double)h->kv_heads);
    cJSON_AddNumberToObject(c, "head_dim", (double)h->head_dim);
    cJSON_AddStringToObject(c, "hidden_act", "silu");
    cJSON_AddNumberToObject(c, "max_position_embeddings", (double)h->ctx);
    cJSON_AddNumberToObject(c, "rms_norm_eps", h->eps);
    cJSON_AddNumberToObject(c, "rope_theta", h->theta);
    cJSON_AddBoolToObject(c, "tie_word_embeddings", !h->has_output);
    cJSON_AddBoolToObject(c, "attention_bias", h->attn_bias);
    int rc = rope_scaling(g, h, c);
    if (rc == AV_OK) rc = add_token_id(g, c, "tokenizer.ggml.bos_token_id", "bos_token_id", h->vocab);
    if (rc == AV_OK) rc = add_token_id(g, c, "tokenizer.ggml.eos_token_id", "eos_token_id", h->vocab);
    if (rc == AV_OK) rc = add_token_id(g, c, "tokenizer.ggml.padding_token_id", "pad_token_id", h->vocab);
    if (rc != AV_OK) {
        cJSON_Delete(c);
        return AV_ERR;
    }
    *out = c;
    return AV_OK;
}

/* ---- the whole view ------------------------------------------------------------------ */

static int hf_cmp(const void *a, const void *b) { return strcmp(((const av_hf_tensor *)a)->name, ((const av_hf_tensor *)b)->name); }

/* The vocabulary: rows of token_embd.weight, which {arch}.vocab_size and the
 * tokenizer's token list must not contradict. */
static int read_vocab(const av_gguf *g, hparams *h) {
    const av_gguf_tensor *e = av_gguf_find(g, "token_embd.weight");
    if (!e) return av_fail("%s: tensor 'token_embd.weight' is missing", g->path);
    if (e->ndim != 2 || e->shape[0] < 1 || e->shape[0] > INT32_MAX) {
        char s[96];
        shape_str(e->ndim, e->shape, s, sizeof s);
        return av_fail("%s: tensor 'token_embd.weight' has shape %s, expected [vocab, %lld]", g->path, s,
                       (long long)h->hidden);
    }
    h->vocab = e->shape[0];
    char k[96];
    uint64_t v = 0;
    if (av_gguf_has(g, akey(archs[h->arch].arch, "vocab_size", k, sizeof k))) {
        if (av_gguf_get_u64(g, k, &v) != AV_OK) return AV_ERR;
        if (v != (uint64_t)h->vocab)
            return av_fail("%s: metadata '%s' = %llu but token_embd.weight has %lld rows", g->path, k,
                           (unsigned long long)v, (long long)h->vocab);
    }
    const av_gguf_kv *tok = av_gguf_find_kv(g, "tokenizer.ggml.tokens");
    if (tok && tok->type == AV_GGUF_ARRAY && tok->count > (uint64_t)h->vocab)
        return av_fail("%s: metadata 'tokenizer.ggml.tokens' lists %llu tokens but token_embd.weight has only %lld rows",
                       g->path, (unsigned long long)tok->count, (long long)h->vocab);
    return AV_OK;
}

static int map_tensors(av_gguf_llama *m, hparams *h) {
    const av_gguf *g = &m->gguf;
    char nm[SHOWN];
    /* each layer needs at least one tensor: a block_count above the tensor count is a
     * lie, caught before the per-layer loop below runs over it */
    if (h->layers > g->ntensors)
        return av_fail("%s: metadata '%s.block_count' = %lld but the file has only %d tensors", g->path,
                       archs[h->arch].arch, (long long)h->layers, g->ntensors);
    m->tensors = av_calloc((size_t)(g->ntensors ? g->ntensors : 1), sizeof *m->tensors);
    if (!m->tensors) return AV_ERR;
    /* seen[layer * NLAYER_MAP + slot]: which per-layer tensors are present */
    unsigned char *seen = av_calloc((size_t)h->layers * NLAYER_MAP, 1);
    if (!seen) return AV_ERR;
    int rc = AV_OK;
    for (int i = 0; i < g->ntensors && rc == AV_OK; i++) {
        const av_gguf_tensor *t = &g->tensors[i];
        av_hf_tensor *o = &m->tensors[m->count];
        char hf[256];
        shape_kind kind = S_HIDDEN;
        int perm = 0, found = 0;
        int64_t layer;
        const char *rest;
        if (split_layer(t->name, &layer, &rest)) {
            for (int s = 0; s < NLAYER_MAP && !found; s++)
                if (!strcmp(rest, layer_map[s].gguf)) {
                    if (layer >= h->layers) {
                        rc = av_fail("%s: tensor '%s' is in layer %lld but '%s.block_count' is %lld", g->path,
                                     shown(t->name, nm), (long long)layer, archs[h->arch].arch, (long long)h->layers);
                        break;
                    }
                    snprintf(hf, sizeof hf, "model.layers.%lld.%s", (long long)layer, layer_map[s].hf);
                    kind = layer_map[s].shape;
                    perm = layer_map[s].perm;
                    seen[layer * NLAYER_MAP + s] = 1;
                    found = 1;
                }
        } else {
            for (int s = 0; s < NGLOBAL_MAP && !found; s++)
                if (!strcmp(t->name, global_map[s].gguf)) {
                    snprintf(hf, sizeof hf, "%s", global_map[s].hf);
                    kind = global_map[s].shape;
                    found = 1;
                }
        }
        if (rc != AV_OK) break;
        if (!found) {
            rc = av_fail("%s: tensor '%s' has no place in a %s model", g->path, shown(t->name, nm), archs[h->arch].arch);
            break;
        }
        if (!av_ggml_can_dequant(t->type)) {
            rc = av_fail("%s: tensor '%s': tensor type %s (%d) is not supported (supported: %s)", g->path,
                         shown(t->name, nm), av_ggml_type_name(t->type), t->type, av_ggml_dequant_types());
            break;
        }
        if ((rc = check_shape(g, h, t, kind)) != AV_OK) break;
        o->name = strdup(hf);
        if (!o->name) { rc = av_fail("out of memory"); break; }
        m->count++;
        o->src = t;
        o->file = g->path;
        o->type = t->type;
        o->ndim = t->ndim;
        memcpy(o->shape, t->shape, sizeof o->shape);
        o->numel = t->numel;
        o->data = t->data;
        o->nbytes = t->nbytes;
        o->row_bytes = av_gguf_row_bytes(t);
        o->unpermuted = perm && archs[h->arch].permuted;
    }
    for (int64_t l = 0; l < h->layers && rc == AV_OK; l++)
        for (int s = 0; s < NLAYER_MAP && rc == AV_OK; s++) {
            int need = layer_map[s].need;
            int required = need == 1 || (need == 'b' && h->attn_bias) || (need == 'n' && h->qk_norm);
            if (required && !seen[l * NLAYER_MAP + s])
                rc = av_fail("%s: tensor 'blk.%lld.%s' is missing (%s.block_count is %lld)", g->path, (long long)l,
                             layer_map[s].gguf, archs[h->arch].arch, (long long)h->layers);
            /* a stray bias or q/k norm in some layers only would change those layers alone */
            if (rc == AV_OK && !required && need && seen[l * NLAYER_MAP + s])
                rc = av_fail("%s: tensor 'blk.%lld.%s' has no place in a %s model%s", g->path, (long long)l,
                             layer_map[s].gguf, archs[h->arch].arch,
                             need == 'b' ? " without q/k/v biases in every layer" : "");
        }
    if (rc == AV_OK && !av_gguf_find(g, "output_norm.weight"))
        rc = av_fail("%s: tensor 'output_norm.weight' is missing", g->path);
    free(seen);
    return rc;
}

static int open_view(av_gguf_llama *m) {
    const av_gguf *g = &m->gguf;
    hparams h;
    memset(&h, 0, sizeof h);
    if (read_hparams(g, &h, m->arch) != AV_OK || read_vocab(g, &h) != AV_OK) return AV_ERR;
    h.has_output = av_gguf_find(g, "output.weight") != NULL;
    h.has_rope_freqs = av_gguf_find(g, "rope_freqs.weight") != NULL;
    /* qwen2 always has q/k/v biases; a llama-type model has them in every layer or in none */
    h.attn_bias = !strcmp(m->arch, "qwen2") || av_gguf_find(g, "blk.0.attn_q.bias") != NULL;
    if (map_tensors(m, &h) != AV_OK) return AV_ERR;
    qsort(m->tensors, (size_t)m->count, sizeof *m->tensors, hf_cmp);
    for (int i = 0; i < m->count; i++) {
        av_hf_tensor *t = &m->tensors[i];
        if (!t->unpermuted) continue;
        void *wr = NULL;
        if (m->copy) wr = m->copy + ((const uint8_t *)t->data - g->base);
        else if (av_gguf_writable(&m->gguf, t->src, &wr) != AV_OK) return AV_ERR;
        uint8_t *bytes = wr;
        /* a 1-D bias is reordered element by element, as one-element rows: only a plain
         * float type can be split that way */
        size_t rb = t->ndim == 1 ? av_ggml_block_bytes(t->type) : t->row_bytes;
        if (t->ndim == 1 && av_ggml_block_size(t->type) != 1) {
            char nm[SHOWN];
            return av_fail("%s: tensor '%s': a %s bias cannot be reordered element by element", g->path,
                           shown(t->src->name, nm), av_ggml_type_name(t->type));
        }
        if (unpermute(bytes, t->shape[0], rb, h.head_dim) != AV_OK) return AV_ERR;
    }
    return build_config(g, &h, &m->config);
}

void av_gguf_llama_close(av_gguf_llama *m) {
    for (int i = 0; i < m->count; i++) free(m->tensors[i].name);
    free(m->tensors);
    cJSON_Delete(m->config);
    av_gguf_close(&m->gguf);
    free(m->copy);
    memset(m, 0, sizeof *m);
}

int av_gguf_llama_open(const char *path, av_gguf_llama *m) {
    memset(m, 0, sizeof *m);
    if (av_gguf_open(path, &m->gguf) != AV_OK) return AV_ERR;
    int rc = open_view(m);
    if (rc != AV_OK) av_gguf_llama_close(m);
    return rc;
}

int av_gguf_llama_parse(const uint8_t *data, size_t size, const char *name, av_gguf_llama *m) {
    memset(m, 0, sizeof *m);
    m->copy = av_malloc(size ? size : 1);
    if (!m->copy) return AV_ERR;
    if (size) memcpy(m->copy, data, size);
    int rc = av_gguf_parse(m->copy, size, name, &m->gguf);
    if (rc == AV_OK) rc = open_view(m);
    if (rc != AV_OK) av_gguf_llama_close(m);
    return rc;
}

const av_hf_tensor *av_gguf_llama_find(const av_gguf_llama *m, const char *hf_name) {
    if (!m->tensors || !hf_name) return NULL;
    av_hf_tensor key;
    key.name = (char *)hf_name;
    return bsearch(&key, m->tensors, (size_t)m->count, sizeof key, hf_cmp);
}

int av_hf_tensor_rows_f32(const av_hf_tensor *t, int64_t row0, int64_t nrows, float *out) {
    int64_t cols = t->ndim ? t->shape[t->ndim - 1] : 1;
    int64_t rows = cols ? t->numel / cols : 0;
    if (row0 < 0 || nrows < 0 || row0 > rows || nrows > rows - row0)
        return av_fail("%s: tensor '%s': rows [%lld, %lld) outside its %lld rows", t->file, t->name, (long long)row0,
                       (long long)(row0 + nrows), (long long)rows);
    return av_dequant(t->type, (const uint8_t *)t->data + (size_t)row0 * t->row_bytes, nrows * cols, out);
}
