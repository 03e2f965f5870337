/* model.c - loads a Hugging Face BERT / GPT-2 / ViT folder onto a backend (see model.h):
 * finds each tensor under the architecture's names, checks its shape, upcasts it to f32,
 * fuses the q/k/v projections, and uploads everything once. */
#include "models/model.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/util.h"
#include "models/safetensors.h"

typedef struct {
    const av_safetensors *st;
    const char *prefix;      /* "", "bert.", "transformer." or "vit." */
    const char *dir;
    av_model *m;
} loader;

/* Exact name under the folder's prefix; LayerNorm weights also as TF-era gamma/beta. */
static const av_st_tensor *lookup(const loader *L, const char *name) {
    char full[512];
    snprintf(full, sizeof full, "%s%s", L->prefix, name);
    const av_st_tensor *t = av_safetensors_find(L->st, full);
    if (t) return t;
    size_t n = strlen(full);
    if (strstr(name, "LayerNorm") || strstr(name, "layernorm") || strstr(name, "ln_")) {
        if (n > 7 && !strcmp(full + n - 7, ".weight")) strcpy(full + n - 7, ".gamma");
        else if (n > 5 && !strcmp(full + n - 5, ".bias")) strcpy(full + n - 5, ".beta");
        else return NULL;
        return av_safetensors_find(L->st, full);
    }
    return NULL;
}

static void shape_str(char *out, size_t n, int ndim, const int64_t *shape) {
    size_t at = (size_t)snprintf(out, n, "[");
    for (int i = 0; i < ndim && at < n; i++)
        at += (size_t)snprintf(out + at, n - at, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (at < n) snprintf(out + at, n - at, "]");
}

/* Reads tensor `name` of the expected shape as f32 into dst (host). */
static int read_tensor(const loader *L, const char *name, int ndim, const int64_t *shape, float *dst) {
    const av_st_tensor *t = lookup(L, name);
    if (!t) return av_fail("%s: tensor '%s%s' is missing", L->dir, L->prefix, name);
    int ok = t->ndim == ndim;
    for (int i = 0; ok && i < ndim; i++) ok = t->shape[i] == shape[i];
    if (!ok) {
        char got[128], want[128];
        shape_str(got, sizeof got, t->ndim, t->shape);
        shape_str(want, sizeof want, ndim, shape);
        return av_fail("%s: tensor '%s' has shape %s, expected %s", t->file, t->name, got, want);
    }
    if (t->dtype != AV_ST_F32 && t->dtype != AV_ST_F16 && t->dtype != AV_ST_BF16)
        return av_fail("%s: tensor '%s' has dtype %s (expected F32, F16 or BF16)", t->file, t->name,
                       av_st_dtype_name(t->dtype));
    return av_st_to_f32(t, dst);
}

static float *upload(av_model *m, const float *host, int64_t n) {
    float *d = m->be->alloc((size_t)n * sizeof(float));
    if (!d) return NULL;
    if (m->be->upload(d, host, (size_t)n * sizeof(float))) {
        m->be->free(d);
        return NULL;
    }
    m->weight_count += n;
    return d;
}

/* One tensor, read and uploaded: *out = backend copy. scratch holds >= numel floats. */
static int load1(const loader *L, float **out, float *scratch, const char *name, int ndim, ...) {
    int64_t shape[4], n = 1;
    va_list ap;
    va_start(ap, ndim);
    for (int i = 0; i < ndim; i++) n *= (shape[i] = va_arg(ap, int64_t));
    va_end(ap);
    if (read_tensor(L, name, ndim, shape, scratch)) return AV_ERR;
    if (!(*out = upload(L->m, scratch, n))) return AV_ERR;
    return AV_OK;
}
#define I64(x) ((int64_t)(x))

/* Picks the prefix under which the architecture's first embedding tensor lives. */
static int find_prefix(loader *L, const char *probe) {
    static const char *prefixes[] = {"", "bert.", "transformer.", "vit."};
    for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++) {
        L->prefix = prefixes[i];
        if (lookup(L, probe)) return AV_OK;
    }
    L->prefix = "";
    return av_fail("%s: tensor '%s' is missing (also looked under bert., transformer., vit.)", L->dir, probe);
}

static int load_bert_layer(const loader *L, int i, av_layer_weights *w, float *s) {
    int64_t C = L->m->cfg.hidden, I = L->m->cfg.intermediate;
    char n[256];
    const char *qkv[3] = {"query", "key", "value"};
    for (int j = 0; j < 3; j++) {
        snprintf(n, sizeof n, "encoder.layer.%d.attention.self.%s.weight", i, qkv[j]);
        if (read_tensor(L, n, 2, (int64_t[]){C, C}, s + j * C * C)) return AV_ERR;
        snprintf(n, sizeof n, "encoder.layer.%d.attention.self.%s.bias", i, qkv[j]);
        if (read_tensor(L, n, 1, (int64_t[]){C}, s + 3 * C * C + j * C)) return AV_ERR;
    }
    if (!(w->qkv_w = upload(L->m, s, 3 * C * C)) || !(w->qkv_b = upload(L->m, s + 3 * C * C, 3 * C)))
        return AV_ERR;
#define L1(dst, fmt, ...) (snprintf(n, sizeof n, fmt, i), load1(L, dst, s, n, __VA_ARGS__))
    if (L1(&w->o_w, "encoder.layer.%d.attention.output.dense.weight", 2, C, C) ||
        L1(&w->o_b, "encoder.layer.%d.attention.output.dense.bias", 1, C) ||
        L1(&w->ln1_g, "encoder.layer.%d.attention.output.LayerNorm.weight", 1, C) ||
        L1(&w->ln1_b, "encoder.layer.%d.attention.output.LayerNorm.bias", 1, C) ||
        L1(&w->fc_w, "encoder.layer.%d.intermediate.dense.weight", 2, I, C) ||
        L1(&w->fc_b, "encoder.layer.%d.intermediate.dense.bias", 1, I) ||
        L1(&w->proj_w, "encoder.layer.%d.output.dense.weight", 2, C, I) ||
        L1(&w->proj_b, "encoder.layer.%d.output.dense.bias", 1, C) ||
        L1(&w->ln2_g, "encoder.layer.%d.output.LayerNorm.weight", 1, C) ||
        L1(&w->ln2_b, "encoder.layer.%d.output.LayerNorm.bias", 1, C))
        return AV_ERR;
    return AV_OK;
}

static int load_gpt2_layer(const loader *L, int i, av_layer_weights *w, float *s) {
    int64_t C = L->m->cfg.hidden, I = L->m->cfg.intermediate;
    char n[256];
    if (L1(&w->ln1_g, "h.%d.ln_1.weight", 1, C) || L1(&w->ln1_b, "h.%d.ln_1.bias", 1, C) ||
        L1(&w->qkv_w, "h.%d.attn.c_attn.weight", 2, C, 3 * C) ||
        L1(&w->qkv_b, "h.%d.attn.c_attn.bias", 1, 3 * C) ||
        L1(&w->o_w, "h.%d.attn.c_proj.weight", 2, C, C) || L1(&w->o_b, "h.%d.attn.c_proj.bias", 1, C) ||
        L1(&w->ln2_g, "h.%d.ln_2.weight", 1, C) || L1(&w->ln2_b, "h.%d.ln_2.bias", 1, C) ||
        L1(&w->fc_w, "h.%d.mlp.c_fc.weight", 2, C, I) || L1(&w->fc_b, "h.%d.mlp.c_fc.bias", 1, I) ||
        L1(&w->proj_w, "h.%d.mlp.c_proj.weight", 2, I, C) || L1(&w->proj_b, "h.%d.mlp.c_proj.bias", 1, C))
        return AV_ERR;
    return AV_OK;
}

static int load_vit_layer(const loader *L, int i, av_layer_weights *w, float *s) {
    int64_t C = L->m->cfg.hidden, I = L->m->cfg.intermediate;
    char n[256];
    const char *qkv[3] = {"query", "key", "value"};
    memset(s + 3 * C * C, 0, (size_t)(3 * C) * sizeof(float));
    for (int j = 0; j < 3; j++) {
        snprintf(n, sizeof n, "encoder.layer.%d.attention.attention.%s.weight", i, qkv[j]);
        if (read_tensor(L, n, 2, (int64_t[]){C, C}, s + j * C * C)) return AV_ERR;
        if (L->m->cfg.qkv_bias) {
            snprintf(n, sizeof n, "encoder.layer.%d.attention.attention.%s.bias", i, qkv[j]);
            if (read_tensor(L, n, 1, (int64_t[]){C}, s + 3 * C * C + j * C)) return AV_ERR;
        }
    }
    if (!(w->qkv_w = upload(L->m, s, 3 * C * C)) || !(w->qkv_b = upload(L->m, s + 3 * C * C, 3 * C)))
        return AV_ERR;
    if (L1(&w->ln1_g, "encoder.layer.%d.layernorm_before.weight", 1, C) ||
        L1(&w->ln1_b, "encoder.layer.%d.layernorm_before.bias", 1, C) ||
        L1(&w->o_w, "encoder.layer.%d.attention.output.dense.weight", 2, C, C) ||
        L1(&w->o_b, "encoder.layer.%d.attention.output.dense.bias", 1, C) ||
        L1(&w->ln2_g, "encoder.layer.%d.layernorm_after.weight", 1, C) ||
        L1(&w->ln2_b, "encoder.layer.%d.layernorm_after.bias", 1, C) ||
        L1(&w->fc_w, "encoder.layer.%d.intermediate.dense.weight", 2, I, C) ||
        L1(&w->fc_b, "encoder.layer.%d.intermediate.dense.bias", 1, I) ||
        L1(&w->proj_w, "encoder.layer.%d.output.dense.weight", 2, C, I) ||
        L1(&w->proj_b, "encoder.layer.%d.output.dense.bias", 1, C))
        return AV_ERR;
#undef L1
    return AV_OK;
}

static int load_embeddings(loader *L, float *s) {
    av_model *m = L->m;
    const av_model_config *c = &m->cfg;
    int64_t C = c->hidden;
    if (c->type == AV_MODEL_BERT) {
        if (find_prefix(L, "embeddings.word_embeddings.weight") ||
            load1(L, &m->wte, s, "embeddings.word_embeddings.weight", 2, I64(c->vocab_size), C) ||
            load1(L, &m->wpe, s, "embeddings.position_embeddings.weight", 2, I64(c->max_positions), C) ||
            load1(L, &m->tte, s, "embeddings.token_type_embeddings.weight", 2, I64(c->type_vocab_size), C) ||
            load1(L, &m->emb_ln_g, s, "embeddings.LayerNorm.weight", 1, C) ||
            load1(L, &m->emb_ln_b, s, "embeddings.LayerNorm.bias", 1, C))
            return AV_ERR;
    } else if (c->type == AV_MODEL_GPT2) {
        if (find_prefix(L, "wte.weight") || load1(L, &m->wte, s, "wte.weight", 2, I64(c->vocab_size), C) ||
            load1(L, &m->wpe, s, "wpe.weight", 2, I64(c->max_positions), C) ||
            load1(L, &m->final_ln_g, s, "ln_f.weight", 1, C) || load1(L, &m->final_ln_b, s, "ln_f.bias", 1, C))
            return AV_ERR;
    } else {
        int64_t P = c->patch_size, N = (int64_t)(c->image_size / c->patch_size) * (c->image_size / c->patch_size);
        if (c->num_channels != 3)
            return av_fail("%s/config.json: num_channels is %d, only 3 (RGB) is supported", L->dir, c->num_channels);
        if (find_prefix(L, "embeddings.cls_token") ||
            load1(L, &m->patch_w, s, "embeddings.patch_embeddings.projection.weight", 4, C, I64(3), P, P) ||
            load1(L, &m->patch_b, s, "embeddings.patch_embeddings.projection.bias", 1, C) ||
            load1(L, &m->wpe, s, "embeddings.position_embeddings", 3, I64(1), N + 1, C) ||
            load1(L, &m->final_ln_g, s, "layernorm.weight", 1, C) ||
            load1(L, &m->final_ln_b, s, "layernorm.bias", 1, C))
            return AV_ERR;
        if (!(m->cls_host = av_malloc((size_t)C * sizeof(float)))) return AV_ERR;
        if (read_tensor(L, "embeddings.cls_token", 3, (int64_t[]){1, 1, C}, m->cls_host)) return AV_ERR;
    }
    return AV_OK;
}

/* Offers the backend every linear weight (each layer's four, ViT's patch projection) as
 * one that stays for the whole run: a GPU in a 16-bit GEMM precision converts each once
 * here instead of at every matmul (kernels/ops.h: keep_weight). */
static int keep_linear_weights(av_model *m) {
    const av_backend *be = m->be;
    if (!be->keep_weight) return AV_OK;
    const av_model_config *c = &m->cfg;
    int64_t C = c->hidden, I = c->intermediate;
    if (m->patch_w && be->keep_weight(m->patch_w, C * 3 * c->patch_size * c->patch_size)) return AV_ERR;
    for (int i = 0; i < c->num_layers; i++) {
        const av_layer_weights *w = &m->layers[i];
        if (be->keep_weight(w->qkv_w, 3 * C * C) || be->keep_weight(w->o_w, C * C) ||
            be->keep_weight(w->fc_w, I * C) || be->keep_weight(w->proj_w, C * I))
            return AV_ERR;
    }
    return AV_OK;
}

int av_model_load(const char *dir, const av_backend *be, av_model *m) {
    memset(m, 0, sizeof *m);
    m->be = be;
    if (av_config_load(dir, &m->cfg)) return AV_ERR;
    const av_model_config *c = &m->cfg;
    if (c->hidden <= 0 || c->num_heads <= 0 || c->hidden % c->num_heads || c->num_layers <= 0 ||
        c->intermediate <= 0)
        return av_fail("%s/config.json: inconsistent sizes (hidden %d, heads %d, layers %d, intermediate %d)",
                       dir, c->hidden, c->num_heads, c->num_layers, c->intermediate);
    if (c->type == AV_MODEL_VIT && (c->patch_size <= 0 || c->image_size % c->patch_size))
        return av_fail("%s/config.json: image_size %d is not a multiple of patch_size %d", dir,
                       c->image_size, c->patch_size);
    m->wl = c->type == AV_MODEL_GPT2 ? AV_W_KN : AV_W_NK;
    av_safetensors st;
    if (av_safetensors_open(dir, &st)) return AV_ERR;
    /* scratch big enough for the largest tensor: an embedding table, the fused qkv, the MLP */
    int64_t C = c->hidden, big = 3 * C * C + 3 * C;
    int64_t cand[] = {(int64_t)c->vocab_size * C, (int64_t)c->max_positions * C, (int64_t)c->intermediate * C,
                      (int64_t)c->type_vocab_size * C, 3 * C * (int64_t)c->patch_size * c->patch_size};
    for (size_t i = 0; i < sizeof cand / sizeof *cand; i++) big = cand[i] > big ? cand[i] : big;
    float *scratch = av_malloc((size_t)big * sizeof(float));
    m->layers = av_calloc((size_t)c->num_layers, sizeof *m->layers);
    int rc = scratch && m->layers ? AV_OK : AV_ERR;
    loader L = {&st, "", dir, m};
    if (!rc) rc = load_embeddings(&L, scratch);
    for (int i = 0; !rc && i < c->num_layers; i++) {
        if (c->type == AV_MODEL_BERT) rc = load_bert_layer(&L, i, &m->layers[i], scratch);
        else if (c->type == AV_MODEL_GPT2) rc = load_gpt2_layer(&L, i, &m->layers[i], scratch);
        else rc = load_vit_layer(&L, i, &m->layers[i], scratch);
    }
    free(scratch);
    av_safetensors_close(&st);
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

void av_model_free(av_model *m) {
    if (!m->be) return;
    const av_backend *be = m->be;
    release_pack(m);
    float **w[] = {&m->wte, &m->wpe, &m->tte, &m->emb_ln_g, &m->emb_ln_b, &m->patch_w, &m->patch_b,
                   &m->final_ln_g, &m->final_ln_b, &m->x, &m->h, &m->qkv, &m->att, &m->mlp, &m->ebuf, &m->d_img};
    for (size_t i = 0; i < sizeof w / sizeof *w; i++) release(be, *w[i]);
    release(be, m->d_ids);
    release(be, m->d_pos);
    release(be, m->d_types);
    release(be, m->d_lengths);
    if (m->layers)
        for (int i = 0; i < m->cfg.num_layers; i++) {
            av_layer_weights *l = &m->layers[i];
            float *lw[] = {l->qkv_w, l->qkv_b, l->o_w, l->o_b, l->ln1_g, l->ln1_b, l->fc_w, l->fc_b,
                           l->proj_w, l->proj_b, l->ln2_g, l->ln2_b};
            for (size_t j = 0; j < sizeof lw / sizeof *lw; j++) release(be, lw[j]);
        }
    free(m->layers);
    free(m->cls_host);
    free(m->host_qkv);
    free(m->host_vnorm);
    memset(m, 0, sizeof *m);
}
