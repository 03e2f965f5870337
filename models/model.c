/* model.c - loads a Hugging Face BERT / GPT-2 / ViT folder (the LLMs: load_llm.c) onto a
 * backend (see model.h): finds each tensor under the architecture's names, checks its
 * shape, records how each layer's weights stack, and widens the small tensors once. */
#include "models/model.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/util.h"
#include "models/load.h"
#include "models/safetensors.h"
#include "models/weights.h"

/* Exact name under the folder's prefix; LayerNorm weights also as TF-era gamma/beta. */
static const av_tensor *lookup(const av_loader *L, const char *name) {
    char full[512];
    snprintf(full, sizeof full, "%s%s", L->prefix, name);
    const av_tensor *t = av_weights_find(L->w, full);
    if (t) return t;
    size_t n = strlen(full);
    if (strstr(name, "LayerNorm") || strstr(name, "layernorm") || strstr(name, "ln_")) {
        if (n > 7 && !strcmp(full + n - 7, ".weight")) strcpy(full + n - 7, ".gamma");
        else if (n > 5 && !strcmp(full + n - 5, ".bias")) strcpy(full + n - 5, ".beta");
        else return NULL;
        return av_weights_find(L->w, full);
    }
    return NULL;
}

const av_tensor *av_load_find(const av_loader *L, const char *name, int ndim, const int64_t *shape) {
    const av_tensor *t = lookup(L, name);
    if (!t) {
        av_fail("%s: tensor '%s%s' is missing", L->dir, L->prefix, name);
        return NULL;
    }
    int ok = t->ndim == ndim;
    for (int i = 0; ok && i < ndim; i++) ok = t->shape[i] == shape[i];
    if (!ok) {
        char got[128], want[128];
        av_fail("%s: tensor '%s' has shape %s, expected %s", t->file, t->name,
                av_tensor_shape_str(t->ndim, t->shape, got, sizeof got), av_tensor_shape_str(ndim, shape, want, sizeof want));
        return NULL;
    }
    return t;
}

int av_load_global(const av_loader *L, const float **out, const char *name, int ndim, const int64_t *shape) {
    const av_tensor *t = av_load_find(L, name, ndim, shape);
    return t ? av_weight_global(L->m, t, out) : AV_ERR;
}

int av_load_prefix(av_loader *L, const char *probe, const char *const *prefixes) {
    char tried[256] = "";
    for (int i = 0; prefixes[i]; i++) {
        L->prefix = prefixes[i];
        if (lookup(L, probe)) return AV_OK;
        if (prefixes[i][0]) snprintf(tried + strlen(tried), sizeof tried - strlen(tried), "%s%s", tried[0] ? ", " : "", prefixes[i]);
    }
    L->prefix = "";
    return av_fail("%s: tensor '%s' is missing (also looked under %s)", L->dir, probe, tried);
}
#define I64(x) ((int64_t)(x))
#define FIND(n, ...) av_load_find(L, n, AV_SHAPE(__VA_ARGS__))
#define GLOBAL(out, n, ...) av_load_global(L, out, n, AV_SHAPE(__VA_ARGS__))

/* q, k, v (weights and biases) stacked: fmt has %d (layer) then %s (query/key/value). */
static int stack_qkv(const av_loader *L, int i, av_wslot *sl, const char *wfmt, const char *bfmt, int bias) {
    int64_t C = L->m->cfg.hidden;
    const char *names[3] = {"query", "key", "value"};
    const av_tensor *w[3], *b[3] = {NULL, NULL, NULL};
    char n[256];
    for (int j = 0; j < 3; j++) {
        snprintf(n, sizeof n, wfmt, i, names[j]);
        if (!(w[j] = FIND(n, C, C))) return AV_ERR;
        snprintf(n, sizeof n, bfmt, i, names[j]);
        if (bias && !(b[j] = FIND(n, C))) return AV_ERR;
    }
    av_wslot_set(&sl[AV_LW_QKV_W], w[0], w[1], w[2]);
    av_wslot_set(&sl[AV_LW_QKV_B], b[0], b[1], b[2]);
    return AV_OK;
}

static int load_bert_layer(const av_loader *L, int i, av_wslot *sl) {
    int64_t C = L->m->cfg.hidden, I = L->m->cfg.intermediate;
    char n[256];
    const av_tensor *t;
    if (stack_qkv(L, i, sl, "encoder.layer.%d.attention.self.%s.weight", "encoder.layer.%d.attention.self.%s.bias", 1))
        return AV_ERR;
    if (AV_SLOT1(AV_LW_O_W, "encoder.layer.%d.attention.output.dense.weight", C, C) ||
        AV_SLOT1(AV_LW_O_B, "encoder.layer.%d.attention.output.dense.bias", C) ||
        AV_SLOT1(AV_LW_LN1_G, "encoder.layer.%d.attention.output.LayerNorm.weight", C) ||
        AV_SLOT1(AV_LW_LN1_B, "encoder.layer.%d.attention.output.LayerNorm.bias", C) ||
        AV_SLOT1(AV_LW_FC_W, "encoder.layer.%d.intermediate.dense.weight", I, C) ||
        AV_SLOT1(AV_LW_FC_B, "encoder.layer.%d.intermediate.dense.bias", I) ||
        AV_SLOT1(AV_LW_PROJ_W, "encoder.layer.%d.output.dense.weight", C, I) ||
        AV_SLOT1(AV_LW_PROJ_B, "encoder.layer.%d.output.dense.bias", C) ||
        AV_SLOT1(AV_LW_LN2_G, "encoder.layer.%d.output.LayerNorm.weight", C) ||
        AV_SLOT1(AV_LW_LN2_B, "encoder.layer.%d.output.LayerNorm.bias", C))
        return AV_ERR;
    return AV_OK;
}

static int load_gpt2_layer(const av_loader *L, int i, av_wslot *sl) {
    int64_t C = L->m->cfg.hidden, I = L->m->cfg.intermediate;
    char n[256];
    const av_tensor *t;
    if (AV_SLOT1(AV_LW_LN1_G, "h.%d.ln_1.weight", C) || AV_SLOT1(AV_LW_LN1_B, "h.%d.ln_1.bias", C) ||
        AV_SLOT1(AV_LW_QKV_W, "h.%d.attn.c_attn.weight", C, 3 * C) ||
        AV_SLOT1(AV_LW_QKV_B, "h.%d.attn.c_attn.bias", 3 * C) ||
        AV_SLOT1(AV_LW_O_W, "h.%d.attn.c_proj.weight", C, C) || AV_SLOT1(AV_LW_O_B, "h.%d.attn.c_proj.bias", C) ||
        AV_SLOT1(AV_LW_LN2_G, "h.%d.ln_2.weight", C) || AV_SLOT1(AV_LW_LN2_B, "h.%d.ln_2.bias", C) ||
        AV_SLOT1(AV_LW_FC_W, "h.%d.mlp.c_fc.weight", C, I) || AV_SLOT1(AV_LW_FC_B, "h.%d.mlp.c_fc.bias", I) ||
        AV_SLOT1(AV_LW_PROJ_W, "h.%d.mlp.c_proj.weight", I, C) || AV_SLOT1(AV_LW_PROJ_B, "h.%d.mlp.c_proj.bias", C))
        return AV_ERR;
    return AV_OK;
}

static int load_vit_layer(const av_loader *L, int i, av_wslot *sl) {
    int64_t C = L->m->cfg.hidden, I = L->m->cfg.intermediate;
    char n[256];
    const av_tensor *t;
    if (stack_qkv(L, i, sl, "encoder.layer.%d.attention.attention.%s.weight",
                  "encoder.layer.%d.attention.attention.%s.bias", L->m->cfg.qkv_bias))
        return AV_ERR;
    if (AV_SLOT1(AV_LW_LN1_G, "encoder.layer.%d.layernorm_before.weight", C) ||
        AV_SLOT1(AV_LW_LN1_B, "encoder.layer.%d.layernorm_before.bias", C) ||
        AV_SLOT1(AV_LW_O_W, "encoder.layer.%d.attention.output.dense.weight", C, C) ||
        AV_SLOT1(AV_LW_O_B, "encoder.layer.%d.attention.output.dense.bias", C) ||
        AV_SLOT1(AV_LW_LN2_G, "encoder.layer.%d.layernorm_after.weight", C) ||
        AV_SLOT1(AV_LW_LN2_B, "encoder.layer.%d.layernorm_after.bias", C) ||
        AV_SLOT1(AV_LW_FC_W, "encoder.layer.%d.intermediate.dense.weight", I, C) ||
        AV_SLOT1(AV_LW_FC_B, "encoder.layer.%d.intermediate.dense.bias", I) ||
        AV_SLOT1(AV_LW_PROJ_W, "encoder.layer.%d.output.dense.weight", C, I) ||
        AV_SLOT1(AV_LW_PROJ_B, "encoder.layer.%d.output.dense.bias", C))
        return AV_ERR;
    return AV_OK;
}

static int load_embeddings(av_loader *L) {
    av_model *m = L->m;
    const av_model_config *c = &m->cfg;
    int64_t C = c->hidden;
    static const char *const prefixes[] = {"", "bert.", "transformer.", "vit.", NULL};
    if (c->type == AV_MODEL_BERT) {
        if (av_load_prefix(L, "embeddings.word_embeddings.weight", prefixes) ||
            !(m->wte_t = FIND("embeddings.word_embeddings.weight", I64(c->vocab_size), C)) ||
            GLOBAL(&m->wpe, "embeddings.position_embeddings.weight", I64(c->max_positions), C) ||
            GLOBAL(&m->tte, "embeddings.token_type_embeddings.weight", I64(c->type_vocab_size), C) ||
            GLOBAL(&m->emb_ln_g, "embeddings.LayerNorm.weight", C) ||
            GLOBAL(&m->emb_ln_b, "embeddings.LayerNorm.bias", C))
            return AV_ERR;
    } else if (c->type == AV_MODEL_GPT2) {
        if (av_load_prefix(L, "wte.weight", prefixes) || !(m->wte_t = FIND("wte.weight", I64(c->vocab_size), C)) ||
            GLOBAL(&m->wpe, "wpe.weight", I64(c->max_positions), C) ||
            GLOBAL(&m->final_ln_g, "ln_f.weight", C) || GLOBAL(&m->final_ln_b, "ln_f.bias", C))
            return AV_ERR;
    } else {
        int64_t P = c->patch_size, N = (int64_t)(c->image_size / c->patch_size) * (c->image_size / c->patch_size);
        if (c->num_channels != 3)
            return av_fail("%s/config.json: num_channels is %d, only 3 (RGB) is supported", L->dir, c->num_channels);
        const av_tensor *cls;
        if (av_load_prefix(L, "embeddings.cls_token", prefixes) ||
            GLOBAL(&m->patch_w, "embeddings.patch_embeddings.projection.weight", C, I64(3), P, P) ||
            GLOBAL(&m->patch_b, "embeddings.patch_embeddings.projection.bias", C) ||
            GLOBAL(&m->wpe, "embeddings.position_embeddings", I64(1), N + 1, C) ||
            GLOBAL(&m->final_ln_g, "layernorm.weight", C) ||
            GLOBAL(&m->final_ln_b, "layernorm.bias", C) || !(cls = FIND("embeddings.cls_token", I64(1), I64(1), C)))
            return AV_ERR;
        if (!(m->cls_host = av_malloc((size_t)C * sizeof(float)))) return AV_ERR;
        if (av_tensor_rows_f32(cls, 0, 1, m->cls_host)) return AV_ERR;
    }
    return AV_OK;
}

int64_t av_model_qkv_width(const av_model_config *c) {
    return (int64_t)(c->num_heads + 2 * c->num_kv_heads) * c->head_dim;
}

/* A GGUF file is a model too: a file (not a folder) named .gguf. */
static int is_gguf(const char *path) {
    size_t n = strlen(path);
    return !av_is_dir(path) && n > 5 && !strcmp(path + n - 5, ".gguf");
}

/* Offers the backend every linear weight that stays on the device for the whole run (ViT's
 * patch projection, and each layer's four when they were placed there in f32): a GPU in a
 * 16-bit GEMM precision converts each once here instead of at every matmul (kernels/ops.h:
 * keep_weight). Weights widened per layer into the shared scratch are not offered: the
 * scratch holds another layer's next time, so a copy of it would go stale. */
static int keep_linear_weights(av_model *m) {
    const av_backend *be = m->be;
    if (!be->keep_weight) return AV_OK;
    const av_model_config *c = &m->cfg;
    int64_t C = c->hidden;
    if (m->patch_w && be->keep_weight(m->patch_w, C * 3 * c->patch_size * c->patch_size)) return AV_ERR;
    static const int linear[] = {AV_LW_QKV_W, AV_LW_O_W, AV_LW_FC_W, AV_LW_PROJ_W};
    for (int l = 0; l < c->num_layers; l++)
        for (int i = 0; i < 4; i++) {
            const av_wslot *s = &m->slots[l][linear[i]];
            if (s->nsrc && s->off < 0 && s->ready && be->keep_weight(s->ready, s->numel)) return AV_ERR;
        }
    return AV_OK;
}

int av_model_load(const char *dir, const av_backend *be, av_model *m) {
    memset(m, 0, sizeof *m);
    m->be = be;
    int gguf = is_gguf(dir);
    if (gguf ? av_gguf_weights(dir, &m->weights, &m->cfg) : av_config_load(dir, &m->cfg)) {
        av_weights_close(&m->weights);
        return AV_ERR;
    }
    const av_model_config *c = &m->cfg;
    int rc = AV_OK;
    if (c->hidden <= 0 || c->num_heads <= 0 || c->num_layers <= 0 || c->intermediate <= 0 || c->head_dim <= 0 ||
        (c->type != AV_MODEL_LLAMA && c->hidden % c->num_heads))
        rc = av_fail("%s%s: inconsistent sizes (hidden %d, heads %d, layers %d, intermediate %d)", dir,
                     gguf ? "" : "/config.json", c->hidden, c->num_heads, c->num_layers, c->intermediate);
    else if (c->type == AV_MODEL_VIT && (c->patch_size <= 0 || c->image_size % c->patch_size))
        rc = av_fail("%s/config.json: image_size %d is not a multiple of patch_size %d", dir, c->image_size,
                     c->patch_size);
    m->wl = c->type == AV_MODEL_GPT2 ? AV_W_KN : AV_W_NK;
    if (!rc && !gguf) rc = av_safetensors_weights(dir, &m->weights);
    if (!rc && !(m->slots = av_calloc((size_t)c->num_layers, sizeof *m->slots))) rc = AV_ERR;
    av_loader L = {&m->weights, "", dir, m};
    if (c->type == AV_MODEL_LLAMA) {
        rc = rc ? rc : av_load_llm(&L);
    } else {
        if (!rc) rc = load_embeddings(&L);
        for (int i = 0; !rc && i < c->num_layers; i++) {
            if (c->type == AV_MODEL_BERT) rc = load_bert_layer(&L, i, m->slots[i]);
            else if (c->type == AV_MODEL_GPT2) rc = load_gpt2_layer(&L, i, m->slots[i]);
            else rc = load_vit_layer(&L, i, m->slots[i]);
        }
    }
    if (!rc) rc = av_weights_place(m);
    if (!rc) rc = keep_linear_weights(m);
    if (rc) {
        char keep[1024];
        snprintf(keep, sizeof keep, "%s", av_last_error());
        av_model_free(m);
        av_fail("%s", keep);
        return AV_ERR;
    }
    return AV_OK;
}

static void release(const av_backend *be, void *p) {
    if (p) be->free(p);
}

/* Frees the packed slots; a copy still in flight into a pinned buffer is waited for. */
static void release_pack(av_model *m) {
    const av_backend *be = m->be;
    for (int s = 0; s < AV_DOWNLOAD_SLOTS; s++) {
        if (m->h_pack[s]) {
            if (be->download_wait) be->download_wait(s);
            be->host_free(m->h_pack[s]);
        }
        release(be, m->d_pack[s]);
        m->d_pack[s] = m->h_pack[s] = NULL;
    }
    m->pack_rows = 0;
}

int av_model_set_pack(av_model *m, av_dtype dtype) {
    if (dtype != AV_DT_F32 && dtype != AV_DT_F16)
        return av_fail("forward: q/k can be packed as f32 or f16, not %s", av_dtype_name(dtype));
    if (!m->be->pack_heads || !m->be->memzero) return av_fail("forward: the %s backend cannot pack q/k", m->be->name);
    release_pack(m);   /* sized for the old dtype; the next forward allocates anew */
    m->pack = 1;
    m->pack_dtype = dtype;
    return AV_OK;
}

void av_model_set_qk_rope(av_model *m, av_qk_rope which) { m->qk_rope = which; }

void av_model_free(av_model *m) {
    if (!m->be) return;
    const av_backend *be = m->be;
    release_pack(m);
    float **w[] = {&m->x, &m->h, &m->qkv, &m->att, &m->mlp, &m->ebuf, &m->d_img};
    for (size_t i = 0; i < sizeof w / sizeof *w; i++) release(be, *w[i]);
    release(be, m->d_ids);
    release(be, m->d_pos);
    release(be, m->d_types);
    release(be, m->d_lengths);
    av_weights_free(m);
    free(m->cls_host);
    free(m->host_emb);
    free(m->host_qkv);
    free(m->host_vnorm);
    memset(m, 0, sizeof *m);
}
