/* weights.c - a model's weights in their stored precision, widened to f32 one layer at a
 * time (model.h, weights.h). */
#include "models/weights.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "base/util.h"

/* The CPU backend computes in host memory: it reads f32 tensors straight from the
 * mapping and widens the rest from there. */
static int host_backend(const av_model *m) { return m->be == av_backend_cpu(); }

static int own(av_model *m, void *p) {
    void **o = realloc(m->owned, sizeof *o * (size_t)(m->nowned + 1));
    if (!o) {
        m->be->free(p);
        return av_fail("out of memory");
    }
    m->owned = o;
    m->owned[m->nowned++] = p;
    return AV_OK;
}

/* A backend buffer of bytes owned by the model; NULL with the message set. */
static void *owned_alloc(av_model *m, size_t bytes) {
    void *p = m->be->alloc(bytes);
    if (!p || own(m, p)) return NULL;
    m->weight_bytes += (int64_t)bytes;
    return p;
}

void av_wslot_set(av_wslot *s, const av_tensor *a, const av_tensor *b, const av_tensor *c) {
    memset(s, 0, sizeof *s);
    const av_tensor *src[3] = {a, b, c};
    for (int i = 0; i < 3 && src[i]; i++) {
        s->src[s->nsrc++] = src[i];
        s->numel += av_tensor_numel(src[i]);
    }
    s->off = -1;
}

/* Widens the slot's sources one after another into out (host memory). */
static int widen_host(const av_wslot *s, float *out) {
    for (int i = 0; i < s->nsrc; i++) {
        const av_tensor *t = s->src[i];
        if (av_tensor_rows_f32(t, 0, av_tensor_rows(t), out)) return AV_ERR;
        out += av_tensor_numel(t);
    }
    return AV_OK;
}

/* f32 of the slot widened on the host and uploaded once: what a device keeps of
 * f32 and quantized tensors. */
static int upload_f32(av_model *m, av_wslot *s) {
    float *host = av_malloc(sizeof(float) * (size_t)s->numel), *dev = NULL;
    int rc = host ? widen_host(s, host) : AV_ERR;
    if (!rc && !(dev = owned_alloc(m, sizeof(float) * (size_t)s->numel))) rc = AV_ERR;
    if (!rc) rc = m->be->upload(dev, host, sizeof(float) * (size_t)s->numel);
    free(host);
    s->ready = dev;
    return rc;
}

int av_weight_global(av_model *m, const av_tensor *t, const float **out) {
    if (!av_wtype_readable(t->type))
        return av_fail("%s: tensor '%s' has type %s, which is not readable in this build", t->file, t->name,
                       av_wtype_name(t->type));
    if (host_backend(m) && t->type == AV_WT_F32 && (uintptr_t)t->data % sizeof(float) == 0) {
        *out = t->data;
        m->weight_bytes += (int64_t)t->nbytes;
        return AV_OK;
    }
    av_wslot s;
    av_wslot_set(&s, t, NULL, NULL);
    if (host_backend(m)) {
        float *p = owned_alloc(m, sizeof(float) * (size_t)s.numel);
        if (!p || widen_host(&s, p)) return AV_ERR;
        *out = p;
        return AV_OK;
    }
    if (upload_f32(m, &s)) return AV_ERR;
    *out = s.ready;
    return AV_OK;
}

int av_weight_upload(av_model *m, const float *host, int64_t n, const float **out) {
    float *p = owned_alloc(m, sizeof(float) * (size_t)(n > 0 ? n : 1));
    if (!p || m->be->upload(p, host, sizeof(float) * (size_t)n)) return AV_ERR;
    *out = p;
    return AV_OK;
}

/* Decides where one slot lives; *scratch grows by what it needs widened per layer. */
static int place(av_model *m, av_wslot *s, int64_t *scratch) {
    if (!s->nsrc) return AV_OK;
    int all16 = 1;
    for (int i = 0; i < s->nsrc; i++) {
        const av_tensor *t = s->src[i];
        if (!av_wtype_readable(t->type))
            return av_fail("%s: tensor '%s' has type %s, which is not readable in this build", t->file, t->name,
                           av_wtype_name(t->type));
        all16 &= (t->type == AV_WT_F16 || t->type == AV_WT_BF16) && t->type == s->src[0]->type;
    }
    const av_tensor *t0 = s->src[0];
    if (host_backend(m)) {
        for (int i = 0; i < s->nsrc; i++) m->weight_bytes += (int64_t)s->src[i]->nbytes; /* mapped */
        if (s->nsrc == 1 && t0->type == AV_WT_F32 && (uintptr_t)t0->data % sizeof(float) == 0) {
            s->ready = t0->data;
            return AV_OK;
        }
        s->off = *scratch;
        *scratch += s->numel;
        return AV_OK;
    }
    if (all16 && m->be->half_to_f32) {
        /* stacked rows are the sources' bytes one after another */
        uint8_t *dev = owned_alloc(m, (size_t)s->numel * 2);
        if (!dev) return AV_ERR;
        size_t at = 0;
        for (int i = 0; i < s->nsrc; i++) {
            if (m->be->upload(dev + at, s->src[i]->data, s->src[i]->nbytes)) return AV_ERR;
            at += s->src[i]->nbytes;
        }
        s->dev = dev;
        s->kind = t0->type == AV_WT_BF16 ? AV_HALF_BF16 : AV_HALF_F16;
        s->off = *scratch;
        *scratch += s->numel;
        return AV_OK;
    }
    if (s->nsrc == 1 && t0->type == AV_WT_F32) {
        float *dev = owned_alloc(m, t0->nbytes);
        if (!dev || m->be->upload(dev, t0->data, t0->nbytes)) return AV_ERR;
        s->ready = dev;
        return AV_OK;
    }
    return upload_f32(m, s);
}

int av_weights_place(av_model *m) {
    int64_t most = 0;
    for (int l = 0; l < m->cfg.num_layers; l++) {
        int64_t need = 0;
        for (int i = 0; i < AV_LW_COUNT; i++)
            if (place(m, &m->slots[l][i], &need)) return AV_ERR;
        if (need > most) most = need;
    }
    if (most > 0) {
        if (!(m->scratch = owned_alloc(m, sizeof(float) * (size_t)most))) return AV_ERR;
        m->scratch_floats = most;
    }
    return AV_OK;
}

int av_model_stage_layer(av_model *m, int l) {
    const float **field[AV_LW_COUNT] = {
        &m->lw.qkv_w, &m->lw.qkv_b, &m->lw.o_w,    &m->lw.o_b,    &m->lw.ln1_g,  &m->lw.ln1_b,  &m->lw.fc_w,
        &m->lw.fc_b,  &m->lw.proj_w, &m->lw.proj_b, &m->lw.ln2_g, &m->lw.ln2_b, &m->lw.q_norm, &m->lw.k_norm};
    for (int i = 0; i < AV_LW_COUNT; i++) {
        const av_wslot *s = &m->slots[l][i];
        if (!s->nsrc) {
            *field[i] = NULL;
        } else if (s->off < 0) {
            *field[i] = s->ready;
        } else {
            float *dst = m->scratch + s->off;
            if (s->dev ? m->be->half_to_f32(dst, s->dev, s->numel, s->kind) : widen_host(s, dst)) return AV_ERR;
            *field[i] = dst;
        }
    }
    return AV_OK;
}

int av_model_gather_embeddings(const av_model *m, const int32_t *ids, int64_t n, float *out) {
    const av_tensor *t = m->wte_t;
    const int64_t C = av_tensor_cols(t);
    int bad = 0;
#pragma omp parallel for schedule(static) reduction(| : bad)
    for (int64_t i = 0; i < n; i++) bad |= av_tensor_rows_f32(t, ids[i], 1, out + i * C) != AV_OK;
    return bad ? av_fail("%s: tensor '%s': cannot read its rows", t->file, t->name) : AV_OK;
}

void av_weights_free(av_model *m) {
    for (int i = 0; i < m->nowned; i++) m->be->free(m->owned[i]);
    free(m->owned);
    m->owned = NULL;
    m->nowned = 0;
    free(m->slots);
    m->slots = NULL;
    av_weights_close(&m->weights);
}
