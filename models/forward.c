/* forward.c - the BERT, GPT-2 and ViT forward passes (see model.h), written once against
 * the av_backend table. The three differ only in how tokens are embedded and where the
 * LayerNorms sit:
 *   BERT  (post-LN): x = LN(wte + wpe + tte); per layer x = LN(x + Attn(x)); x = LN(x + MLP(x))
 *   GPT-2 (pre-LN, causal, gelu_new): x = wte + wpe; x += Attn(LN(x)); x += MLP(LN(x)); out LN_f(x)
 *   ViT   (pre-LN): x = [cls; patches @ Wp + bp] + pos; same layers as GPT-2 without the
 *         causal mask; out LN(x).
 * Padded rows are computed like real ones (attention masks them as keys and zeroes them as
 * queries), which keeps every op a plain dense call.
 *
 * What leaves the pass: with av_model_set_pack, each layer's q/k are packed on the backend
 * (padding dropped, converted to the stored dtype, norms summed) into one of two slots and,
 * on a GPU, copied to pinned host memory on a second stream; the sink gets layer l-1 while
 * layer l computes, so the copy and the host's file writes overlap the GPU's work. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "base/util.h"
#include "kernels/pack/pack.h"
#include "models/model.h"

/* One pack slot for n tokens: q | k | |v| | sums, each part 256-byte aligned (the
 * doubles and the device's vector loads want it). Returns the slot's bytes. */
static size_t pack_layout(const av_model *m, int64_t n, size_t off[4]) {
    const int64_t H = m->cfg.num_heads, d = m->cfg.head_dim;
    const size_t parts[4] = {(size_t)(H * n * d) * av_dtype_size(m->pack_dtype),
                             (size_t)(H * n * d) * av_dtype_size(m->pack_dtype), (size_t)(H * n) * sizeof(float),
                             (size_t)(3 * H) * sizeof(double)};
    size_t at = 0;
    for (int i = 0; i < 4; i++) {
        off[i] = at;
        at += (parts[i] + 255) / 256 * 256;
    }
    return at;
}

void av_model_memory(const av_model *m, int64_t *per_row, int64_t *fixed) {
    const av_model_config *c = &m->cfg;
    int64_t C = c->hidden, I = c->intermediate;
    /* x, h, qkv (3C), att, ebuf (7C) and mlp (I); four int32 rows; the CUDA GEMM's 16-bit copies
     * of its widest input (I) when a 16-bit precision is chosen */
    int64_t row = (int64_t)sizeof(float) * (7 * C + I) + 4 * (int64_t)sizeof(int32_t) + 2 * (I > 3 * C ? I : 3 * C);
    if (m->pack) {
        size_t off[4];
        row += AV_DOWNLOAD_SLOTS * (int64_t)(pack_layout(m, 1024, off) / 1024 + 1);
    }
    if (c->type == AV_MODEL_VIT) { /* pixels and patches, per image of T = grid^2 + 1 rows */
        int64_t S = c->image_size, T = c->max_positions > 0 ? c->max_positions : 1;
        row += 2 * 3 * S * S * (int64_t)sizeof(float) / T + 1;
    }
    *per_row = row;
    /* the 16-bit copy of the largest weight and, on a device, cuBLAS's workspace and the
     * context's own allocations */
    *fixed = 2 * I * C + (m->be->mem_info ? (int64_t)256 << 20 : 0);
}

/* Grows the backend workspace to hold a batch of `rows` token rows (and B images). */
static int ensure_workspace(av_model *m, int64_t rows, int64_t img_floats) {
    const av_backend *be = m->be;
    const av_model_config *c = &m->cfg;
    if (rows > m->ws_rows) {
        float **bufs[] = {&m->x, &m->h, &m->qkv, &m->att, &m->mlp, &m->ebuf};
        int64_t widths[] = {c->hidden, c->hidden, 3 * (int64_t)c->hidden, c->hidden, c->intermediate, c->hidden};
        for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) {
            if (*bufs[i]) be->free(*bufs[i]);
            if (!(*bufs[i] = be->alloc((size_t)(rows * widths[i]) * sizeof(float)))) return AV_ERR;
        }
        int32_t **ibufs[] = {&m->d_ids, &m->d_pos, &m->d_types, &m->d_lengths};
        for (size_t i = 0; i < sizeof ibufs / sizeof *ibufs; i++) {
            if (*ibufs[i]) be->free(*ibufs[i]);
            if (!(*ibufs[i] = be->alloc((size_t)rows * sizeof(int32_t)))) return AV_ERR;
        }
        free(m->host_qkv);
        free(m->host_vnorm);
        m->host_qkv = m->host_vnorm = NULL;
        if (!m->pack) { /* the unpacked sink reads host rows */
            m->host_qkv = av_malloc((size_t)(rows * 3 * c->hidden) * sizeof(float));
            m->host_vnorm = av_malloc((size_t)(rows * c->num_heads) * sizeof(float));
            if (!m->host_qkv || !m->host_vnorm) return AV_ERR;
        }
        m->ws_rows = rows;
    }
    if (m->pack && rows > m->pack_rows) {
        size_t off[4], bytes = pack_layout(m, rows, off);
        for (int s = 0; s < AV_DOWNLOAD_SLOTS; s++) {
            if (m->h_pack[s]) {
                if (be->download_wait(s)) return AV_ERR;
                be->host_free(m->h_pack[s]);
                m->h_pack[s] = NULL;
            }
            if (m->d_pack[s]) be->free(m->d_pack[s]);
            if (!(m->d_pack[s] = be->alloc(bytes))) return AV_ERR;
            if (be->download_async && !(m->h_pack[s] = be->host_alloc(bytes))) return AV_ERR;
        }
        m->pack_rows = rows;
    }
    if (img_floats > m->img_floats) {
        if (m->d_img) be->free(m->d_img);
        if (!(m->d_img = be->alloc((size_t)img_floats * sizeof(float)))) return AV_ERR;
        m->img_floats = img_floats;
    }
    return AV_OK;
}

/* Packed form, first half: packs layer l's q/k into its slot on the backend and, where
 * memory is not the host's, queues the copy to the pinned twin. Returns at once on a GPU. */
static int pack_layer(av_model *m, const av_batch *b, int slot) {
    const av_backend *be = m->be;
    const av_model_config *c = &m->cfg;
    int64_t C = c->hidden, n = av_pack_count(b->lengths, b->B, b->T);
    size_t off[4], bytes = pack_layout(m, n, off);
    uint8_t *p = m->d_pack[slot];
    if (be->memzero(p + off[3], (size_t)(3 * c->num_heads) * sizeof(double))) return AV_ERR;
    if (be->pack_heads(p + off[0], p + off[1], (float *)(void *)(p + off[2]), (double *)(void *)(p + off[3]),
                       m->pack_dtype, m->qkv, m->qkv + C, m->qkv + 2 * C, (int)(3 * C), b->B, b->T, c->num_heads,
                       c->head_dim, m->d_lengths, n))
        return AV_ERR;
    return be->download_async ? be->download_async(m->h_pack[slot], p, bytes, slot) : AV_OK;
}

/* Packed form, second half: waits for the slot's copy and hands layer l to the sink. */
static int deliver_layer(av_model *m, const av_batch *b, int layer, int slot, av_layer_sink sink, void *user) {
    const av_backend *be = m->be;
    const av_model_config *c = &m->cfg;
    int64_t n = av_pack_count(b->lengths, b->B, b->T);
    size_t off[4];
    pack_layout(m, n, off);
    if (be->download_wait && be->download_wait(slot)) return AV_ERR;
    const uint8_t *p = be->download_async ? m->h_pack[slot] : m->d_pack[slot];
    av_layer_out o = {.layer = layer, .B = b->B, .T = b->T, .H = c->num_heads, .d = c->head_dim,
                      .lengths = b->lengths, .n = n, .dtype = m->pack_dtype, .qp = p + off[0], .kp = p + off[1],
                      .vnp = (const float *)(const void *)(p + off[2]), .sums = (const double *)(const void *)(p + off[3])};
    return sink(user, &o);
}

/* Unpacked form: hands one layer's q, k and per-head |v| to the sink as activation rows. */
static int emit(av_model *m, const av_batch *b, int layer, av_layer_sink sink, void *user) {
    const av_model_config *c = &m->cfg;
    int64_t rows = (int64_t)b->B * b->T, C = c->hidden;
    int H = c->num_heads, d = c->head_dim;
    const float *qkv = m->qkv;
    if (m->be != av_backend_cpu()) { /* the CPU backend's buffers already are host memory */
        if (m->be->download(m->host_qkv, m->qkv, (size_t)(rows * 3 * C) * sizeof(float))) return AV_ERR;
        qkv = m->host_qkv;
    }
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; r++)
        for (int h = 0; h < H; h++) {
            const float *v = qkv + r * 3 * C + 2 * C + h * d;
            double s = 0;
            for (int i = 0; i < d; i++) s += (double)v[i] * v[i];
            m->host_vnorm[r * H + h] = (float)sqrt(s);
        }
    av_layer_out o = {.layer = layer, .B = b->B, .T = b->T, .H = H, .d = d, .lengths = b->lengths, .q = qkv,
                      .k = qkv + C, .ld = (int)(3 * C), .vnorm = m->host_vnorm};
    return sink(user, &o);
}

static int check_batch(const av_model *m, const av_batch *b) {
    const av_model_config *c = &m->cfg;
    if (b->B <= 0 || b->T <= 0) return av_fail("forward: empty batch");
    if (b->T > c->max_positions)
        return av_fail("forward: %d tokens per item exceed the model's %d positions", b->T, c->max_positions);
    for (int i = 0; i < b->B; i++)
        if (b->lengths[i] < 1 || b->lengths[i] > b->T)
            return av_fail("forward: item %d has length %d (batch width %d)", i, b->lengths[i], b->T);
    if (c->type == AV_MODEL_VIT) {
        int g = c->image_size / c->patch_size;
        if (!b->pixels || b->T != g * g + 1)
            return av_fail("forward: a ViT batch needs pixels and %d tokens per image", g * g + 1);
        return AV_OK;
    }
    for (int64_t i = 0; i < (int64_t)b->B * b->T; i++) {
        if (b->ids[i] < 0 || b->ids[i] >= c->vocab_size)
            return av_fail("forward: token id %d outside the model's vocabulary of %d", b->ids[i], c->vocab_size);
        if (b->types && (b->types[i] < 0 || b->types[i] >= (c->type_vocab_size > 0 ? c->type_vocab_size : 1)))
            return av_fail("forward: token type %d outside the model's %d types", b->types[i], c->type_vocab_size);
    }
    return AV_OK;
}

#define TRY(x) do { if ((rc = (x)) != AV_OK) goto done; } while (0)

/* mlp = gelu(in @ fc_w + fc_b): fused as far as the backend can (on a GPU the bias and
 * GELU ride on the GEMM's output pass, saving a write and a read of [rows, I]). */
static int mlp_up(av_model *m, const float *in, const av_layer_weights *w, int64_t rows) {
    const av_backend *be = m->be;
    const av_model_config *c = &m->cfg;
    int C = c->hidden, I = c->intermediate, rc;
    if (be->matmul_gelu) return be->matmul_gelu(m->mlp, in, w->fc_w, w->fc_b, rows, C, I, m->wl, c->act);
    if ((rc = be->matmul(m->mlp, in, w->fc_w, w->fc_b, rows, C, I, m->wl))) return rc;
    return be->gelu(m->mlp, rows * I, c->act);
}

/* Writes the embedded tokens into m->x. */
static int embed(av_model *m, const av_batch *b, int32_t *pos) {
    const av_backend *be = m->be;
    const av_model_config *c = &m->cfg;
    int64_t rows = (int64_t)b->B * b->T, C = c->hidden;
    int rc = AV_OK;
    for (int i = 0; i < b->B; i++)
        for (int t = 0; t < b->T; t++) pos[(int64_t)i * b->T + t] = t;
    TRY(be->upload(m->d_pos, pos, (size_t)rows * sizeof(int32_t)));
    if (c->type == AV_MODEL_VIT) {
        int S = c->image_size, P = c->patch_size, N = b->T - 1;
        int64_t pix = (int64_t)b->B * 3 * S * S;
        float *patches = m->d_img + pix;
        TRY(be->upload(m->d_img, b->pixels, (size_t)pix * sizeof(float)));
        TRY(be->patchify(patches, m->d_img, b->B, S, P));
        /* ebuf = [cls; every image's patch embeddings]: the token rows are then gathered
         * (with the position embeddings added) by the same embed op the text models use. */
        TRY(be->upload(m->ebuf, m->cls_host, (size_t)C * sizeof(float)));
        TRY(be->matmul(m->ebuf + C, patches, m->patch_w, m->patch_b, (int64_t)b->B * N, 3 * P * P, (int)C, AV_W_NK));
        for (int i = 0; i < b->B; i++)
            for (int t = 0; t < b->T; t++) pos[(int64_t)i * b->T + t] = t ? 1 + i * N + (t - 1) : 0;
        TRY(be->upload(m->d_ids, pos, (size_t)rows * sizeof(int32_t)));
        TRY(be->embed(m->x, m->d_ids, m->d_pos, NULL, m->ebuf, m->wpe, NULL, rows, (int)C));
    } else if (c->type == AV_MODEL_BERT) {
        TRY(be->upload(m->d_ids, b->ids, (size_t)rows * sizeof(int32_t)));
        if (b->types) TRY(be->upload(m->d_types, b->types, (size_t)rows * sizeof(int32_t)));
        else {
            memset(pos, 0, (size_t)rows * sizeof(int32_t));
            TRY(be->upload(m->d_types, pos, (size_t)rows * sizeof(int32_t)));
        }
        TRY(be->embed(m->h, m->d_ids, m->d_pos, m->d_types, m->wte, m->wpe, m->tte, rows, (int)C));
        TRY(be->layernorm(m->x, m->h, m->emb_ln_g, m->emb_ln_b, rows, (int)C, c->layer_norm_eps));
    } else {
        TRY(be->upload(m->d_ids, b->ids, (size_t)rows * sizeof(int32_t)));
        TRY(be->embed(m->x, m->d_ids, m->d_pos, NULL, m->wte, m->wpe, NULL, rows, (int)C));
    }
done:
    return rc;
}

int av_model_forward(av_model *m, const av_batch *b, av_layer_sink sink, void *user, float *hidden) {
    const av_backend *be = m->be;
    const av_model_config *c = &m->cfg;
    if (check_batch(m, b)) return AV_ERR;
    int64_t rows = (int64_t)b->B * b->T, C = c->hidden, I = c->intermediate;
    int H = c->num_heads, d = c->head_dim, pre_ln = c->type != AV_MODEL_BERT;
    int causal = c->type == AV_MODEL_GPT2;
    int64_t img = c->type == AV_MODEL_VIT ? 2 * (int64_t)b->B * 3 * c->image_size * c->image_size : 0;
    if (ensure_workspace(m, rows, img)) return AV_ERR;
    int32_t *pos = av_malloc((size_t)rows * sizeof(int32_t));
    if (!pos) return AV_ERR;
    int rc = AV_OK, pending = -1;   /* the layer whose packed q/k wait for the sink */
    TRY(embed(m, b, pos));
    TRY(be->upload(m->d_lengths, b->lengths, (size_t)b->B * sizeof(int32_t)));
    for (int l = 0; l < c->num_layers; l++) {
        const av_layer_weights *w = &m->layers[l];
        if (pre_ln) TRY(be->layernorm(m->h, m->x, w->ln1_g, w->ln1_b, rows, (int)C, c->layer_norm_eps));
        TRY(be->matmul(m->qkv, pre_ln ? m->h : m->x, w->qkv_w, w->qkv_b, rows, (int)C, (int)(3 * C), m->wl));
        if (sink && m->pack) TRY(pack_layer(m, b, l % AV_DOWNLOAD_SLOTS));
        else if (sink) TRY(emit(m, b, l, sink, user));
        TRY(be->attention(m->att, m->qkv, m->qkv + C, m->qkv + 2 * C, (int)(3 * C), b->B, b->T, H, d,
                          m->d_lengths, causal));
        TRY(be->matmul(m->h, m->att, w->o_w, w->o_b, rows, (int)C, (int)C, m->wl));
        if (pre_ln) {
            TRY(be->add(m->x, m->x, m->h, rows * C));
            TRY(be->layernorm(m->h, m->x, w->ln2_g, w->ln2_b, rows, (int)C, c->layer_norm_eps));
            TRY(mlp_up(m, m->h, w, rows));
            TRY(be->matmul(m->h, m->mlp, w->proj_w, w->proj_b, rows, (int)I, (int)C, m->wl));
            TRY(be->add(m->x, m->x, m->h, rows * C));
        } else {
            TRY(be->add(m->h, m->h, m->x, rows * C));
            TRY(be->layernorm(m->x, m->h, w->ln1_g, w->ln1_b, rows, (int)C, c->layer_norm_eps));
            TRY(mlp_up(m, m->x, w, rows));
            TRY(be->matmul(m->h, m->mlp, w->proj_w, w->proj_b, rows, (int)I, (int)C, m->wl));
            TRY(be->add(m->h, m->h, m->x, rows * C));
            TRY(be->layernorm(m->x, m->h, w->ln2_g, w->ln2_b, rows, (int)C, c->layer_norm_eps));
        }
        /* the previous layer's q/k reach the sink now, while the backend computes this
         * layer (on a GPU everything above was only queued) */
        if (pending >= 0) TRY(deliver_layer(m, b, pending, pending % AV_DOWNLOAD_SLOTS, sink, user));
        pending = sink && m->pack ? l : -1;
    }
    if (pending >= 0) TRY(deliver_layer(m, b, pending, pending % AV_DOWNLOAD_SLOTS, sink, user));
    if (hidden) {
        if (pre_ln) TRY(be->layernorm(m->h, m->x, m->final_ln_g, m->final_ln_b, rows, (int)C, c->layer_norm_eps));
        TRY(be->download(hidden, pre_ln ? m->h : m->x, (size_t)(rows * C) * sizeof(float)));
    }
    TRY(be->sync());
done:
    free(pos);
    return rc;
}
