/* model.h - a transformer loaded from a Hugging Face folder onto a backend, and its forward
 * pass (BERT post-LN encoder, GPT-2 pre-LN causal decoder, ViT pre-LN encoder), written once
 * against the av_backend table so the same code drives the CPU and CUDA.
 *
 * Loading (models/model.c): config.json through av_config_load, weights through
 * av_safetensors_open (F32/F16/BF16, upcast to f32). Tensor names may carry the prefixes
 * "bert.", "transformer.", "vit." or none; LayerNorm "gamma"/"beta" are accepted for
 * "weight"/"bias"; GPT-2's attn.bias / attn.masked_bias buffers are ignored. A missing or
 * misshapen tensor is an AV_ERR naming it. Each layer's q, k, v projections are fused into
 * one [3C] projection at load time so a layer makes one GEMM for them. The linear weights
 * are then offered to the backend's keep_weight (a GPU keeps 16-bit copies when its GEMM
 * precision is BF16 / F16: set it before loading).
 *
 * Forward (models/forward.c): for every layer the q, k (after projection and bias, before
 * 1/sqrt(d)) and the per-head |v| of every real token go to a sink callback, on the host.
 *
 * Ownership: av_model_load fills an av_model that owns every backend buffer (weights and
 * workspace); av_model_free releases them. The sink's pointers are valid only during the
 * call. */
#ifndef AV_MODELS_MODEL_H
#define AV_MODELS_MODEL_H
#include <stdint.h>
#include "kernels/ops.h"
#include "models/config.h"

typedef struct {
    float *qkv_w, *qkv_b;       /* fused: [3C, C] (NK) or [C, 3C] (KN); bias [3C] (zeros when absent) */
    float *o_w, *o_b;           /* attention output projection */
    float *ln1_g, *ln1_b;       /* BERT: after attention; GPT-2/ViT: before attention */
    float *fc_w, *fc_b;         /* MLP up [I, C] / [C, I] */
    float *proj_w, *proj_b;     /* MLP down */
    float *ln2_g, *ln2_b;       /* BERT: after the MLP; GPT-2/ViT: before the MLP */
} av_layer_weights;

typedef struct {
    av_model_config cfg;
    const av_backend *be;
    av_wlayout wl;              /* AV_W_KN for GPT-2's Conv1D, AV_W_NK otherwise */
    /* embeddings: BERT wte/wpe/tte + emb LayerNorm; GPT-2 wte/wpe; ViT patch_w [C, 3PP],
     * patch_b, cls (host copy too), wpe = position embeddings [N+1, C] */
    float *wte, *wpe, *tte, *emb_ln_g, *emb_ln_b;
    float *patch_w, *patch_b;
    float *cls_host;            /* ViT class token, host memory (uploaded per batch) */
    float *final_ln_g, *final_ln_b;  /* GPT-2 ln_f, ViT layernorm; NULL for BERT */
    av_layer_weights *layers;
    int64_t weight_count;       /* floats held on the backend for weights */
    /* workspace, grown on demand (backend memory) */
    int64_t ws_rows;
    float *x, *h, *qkv, *att, *mlp, *ebuf;
    int32_t *d_ids, *d_pos, *d_types, *d_lengths;
    float *d_img;
    int64_t img_floats;
    /* host scratch for the sink's unpacked form */
    float *host_qkv, *host_vnorm;
    /* the sink's packed form (av_model_set_pack): per slot, backend memory holding
     * q | k | |v| | sums, and for a backend with overlapped downloads a pinned host copy.
     * Two slots: layer l's copy runs while the host hands layer l-1 to the sink. */
    int pack;
    av_dtype pack_dtype;
    int64_t pack_rows;          /* tokens a slot holds */
    void *d_pack[AV_DOWNLOAD_SLOTS], *h_pack[AV_DOWNLOAD_SLOTS];
} av_model;

/* Loads dir onto backend be. On error nothing is left allocated. */
int av_model_load(const char *dir, const av_backend *be, av_model *m);
void av_model_free(av_model *m);

/* Asks for the sink's packed form (see av_layer_out) in dtype AV_DT_F32 or AV_DT_F16:
 * q and k are moved into the run folder's per-head layout, converted and measured on the
 * backend, so a GPU sends the host exactly the bytes that get written, overlapped with
 * the next layer's compute. */
int av_model_set_pack(av_model *m, av_dtype dtype);

/* Backend bytes the forward pass needs per token row of a batch (workspace, packed
 * slots, 16-bit GEMM operands), and bytes it needs whatever the batch beyond the weights
 * (weight_count floats, already held): a reserve for the GEMM library. A batch of R rows
 * needs about fixed + R * per_row. What the extraction plans its batch sizes with. */
void av_model_memory(const av_model *m, int64_t *per_row, int64_t *fixed);

/* A batch of B items padded to T tokens. Text: ids/types [B*T] (types may be NULL = all 0),
 * lengths[B] (1..T). ViT: pixels [B, 3, S, S] preprocessed, T = (S/P)^2 + 1, lengths all T.
 * Host pointers. */
typedef struct {
    int B, T;
    const int32_t *ids, *types, *lengths;
    const float *pixels;
} av_batch;

/* What a layer hands to the sink, host memory.
 * Unpacked form (the default): row r = b*T + t (t < lengths[b] are real); head h of q and
 * k occupies columns [h*d, (h+1)*d) of rows with stride ld. vnorm[r*H + h] is |v| of head
 * h at row r. qp, kp, vnp and sums are NULL.
 * Packed form (av_model_set_pack): the batch's n real tokens, item 0's first, padding
 * removed (kernels/pack/pack.h): qp, kp [H, n, d] in dtype, vnp [H, n] f32 (|v|), sums [3H]
 * the batch's sums of |q|, |k|, |v| per head. q, k and vnorm are NULL. */
typedef struct {
    int layer, B, T, H, d;
    const int32_t *lengths;
    const float *q, *k;
    int ld;
    const float *vnorm;
    int64_t n;
    av_dtype dtype;
    const void *qp, *kp;
    const float *vnp;
    const double *sums;
} av_layer_out;
typedef int (*av_layer_sink)(void *user, const av_layer_out *o);

/* Runs the batch. sink (may be NULL) is called once per layer in order; a non-zero return
 * stops the pass and is returned. hidden (host [B*T, C], may be NULL) receives the final
 * hidden states (what transformers calls last_hidden_state). */
int av_model_forward(av_model *m, const av_batch *b, av_layer_sink sink, void *user, float *hidden);
#endif
