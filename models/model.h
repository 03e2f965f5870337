/* model.h - a transformer loaded from a Hugging Face folder onto a backend, and its forward
 * pass (BERT post-LN encoder, GPT-2 pre-LN causal decoder, ViT pre-LN encoder, and the
 * decoder LLMs of the Llama family: llama, mistral, qwen2, qwen3), written once against
 * the av_backend table so the same code drives the CPU and CUDA.
 *
 * Loading (models/model.c, models/load_llm.c): config.json through av_config_load, the
 * weights through an av_weights set (models/tensor.h; a safetensors folder, single file
 * or sharded, F32/F16/BF16), or a Llama-family .gguf file, config and tensors both from
 * its Hugging Face view (models/gguf_llama.h, models/weights_gguf.c; quantized tensors
 * dequantized as they are widened). Tensor names may carry the prefixes "bert.", "transformer.",
 * "vit.", "model." or none; LayerNorm "gamma"/"beta" are accepted for "weight"/"bias";
 * GPT-2's attn.bias / attn.masked_bias buffers are ignored. A missing or misshapen tensor
 * is an AV_ERR naming it. Every tensor is checked at load; nothing is converted yet.
 *
 * Weights stay in their stored precision (models/weights.c): on the CPU the checkpoint
 * stays memory-mapped and each layer's tensors are widened to f32 into one per-layer
 * scratch just before that layer runs (f32 tensors are used in place); on a GPU 16-bit
 * tensors are uploaded as stored and widened on the device per layer. Peak memory is
 * about the file plus one layer in f32 plus the activations. A layer's q, k, v projections
 * are stacked into one [(H + 2 Hkv) d] projection (and the LLMs' gate and up into one
 * [2I]) as they are widened, so a layer makes one GEMM for them. Token embeddings are
 * gathered row by row for each batch; the small tensors (positions, norms, the ViT patch
 * embedding, RoPE's frequencies) are widened once at load.
 * The linear weights a device holds in f32 for the whole run are offered to the backend's
 * keep_weight (a GPU keeps 16-bit copies when its GEMM precision is BF16 / F16: set it
 * before loading); those widened per layer into the scratch are rounded at each GEMM.
 *
 * Forward (models/forward.c): for every layer the q, k (after projection and bias, before
 * 1/sqrt(d); for the LLMs after RoPE unless av_model_set_qk_rope asks for before) and the
 * per-head |v| of every real token go to a sink callback, on the host.
 *
 * Ownership: av_model_load fills an av_model that owns the weight set (and its mappings),
 * every backend buffer (weights and workspace); av_model_free releases them. The sink's
 * pointers are valid only during the call. */
#ifndef AV_MODELS_MODEL_H
#define AV_MODELS_MODEL_H
#include <stdint.h>
#include "kernels/ops.h"
#include "models/config.h"
#include "models/tensor.h"

/* The weights of the layer that runs, f32 on the backend (NULL: the model has none). */
typedef struct {
    const float *qkv_w, *qkv_b; /* stacked: [(H + 2 Hkv) d, C] (NK) or [C, 3C] (KN) */
    const float *o_w, *o_b;     /* attention output projection */
    const float *ln1_g, *ln1_b; /* BERT: after attention; GPT-2/ViT/LLMs: before attention */
    const float *fc_w, *fc_b;   /* MLP up [I, C] / [C, I]; LLMs: gate | up stacked [2I, C] */
    const float *proj_w, *proj_b; /* MLP down */
    const float *ln2_g, *ln2_b; /* BERT: after the MLP; GPT-2/ViT/LLMs: before the MLP */
    const float *q_norm, *k_norm; /* qwen3: per-head RMSNorm weights [d] */
} av_layer_weights;

/* The slots of av_layer_weights in order, for the tables that fill it. */
enum { AV_LW_QKV_W, AV_LW_QKV_B, AV_LW_O_W, AV_LW_O_B, AV_LW_LN1_G, AV_LW_LN1_B, AV_LW_FC_W, AV_LW_FC_B,
       AV_LW_PROJ_W, AV_LW_PROJ_B, AV_LW_LN2_G, AV_LW_LN2_B, AV_LW_Q_NORM, AV_LW_K_NORM, AV_LW_COUNT };

/* Where one weight of a layer comes from: up to three stored tensors stacked row-wise
 * (q | k | v, gate | up); none for an absent bias. */
typedef struct {
    const av_tensor *src[3];
    int nsrc;
    int64_t numel;              /* f32 values of the stacked weight */
    int64_t off;                /* where it is widened to in the layer scratch (floats), or -1:
                                 * used in place at `ready` */
    const float *ready;         /* in place: f32 the backend reads directly (mapped or uploaded) */
    void *dev;                  /* non-host backend: the stacked 16-bit bytes as stored */
    av_half kind;
} av_wslot;

typedef enum { AV_QK_POST_ROPE = 0, AV_QK_PRE_ROPE = 1 } av_qk_rope;

typedef struct {
    av_model_config cfg;
    const av_backend *be;
    av_wlayout wl;              /* AV_W_KN for GPT-2's Conv1D, AV_W_NK otherwise */
    av_weights weights;         /* open for the model's life: layers are widened from it */
    /* embeddings: wte_t gathered per batch; BERT wpe/tte + emb LayerNorm; GPT-2 wpe; ViT
     * patch_w [C, 3PP], patch_b, cls (host), wpe = position embeddings [N+1, C]; all f32 on
     * the backend */
    const av_tensor *wte_t;
    const float *wpe, *tte, *emb_ln_g, *emb_ln_b;
    const float *patch_w, *patch_b;
    float *cls_host;            /* ViT class token, host memory (uploaded per batch) */
    const float *final_ln_g, *final_ln_b;  /* GPT-2 ln_f, ViT layernorm, LLM norm; NULL for BERT */
    const float *inv_freq;      /* LLMs: RoPE frequencies [d/2], backend memory */
    void **owned;               /* backend buffers of the weights, freed with the model */
    int nowned;
    av_wslot (*slots)[AV_LW_COUNT];  /* per layer */
    float *scratch;             /* one layer's widened weights (backend memory) */
    int64_t scratch_floats;
    av_layer_weights lw;        /* the current layer's weights (av_model_stage_layer) */
    int64_t weight_bytes;       /* memory the weights take: stored tensors (mapped or on the
                                 * device), their f32 copies and the layer scratch */
    av_qk_rope qk_rope;
    /* workspace, grown on demand (backend memory) */
    int64_t ws_rows;
    float *x, *h, *qkv, *att, *mlp, *ebuf;
    int32_t *d_ids, *d_pos, *d_types, *d_lengths;
    float *d_img;
    int64_t img_floats;
    /* host scratch: gathered embedding rows (non-host backends) and the sink's unpacked form */
    float *host_emb;
    float *host_qkv, *host_vnorm;
    /* the sink's packed form (av_model_set_pack): per slot, backend memory holding
     * q | k | |v| | sums, and for a backend with overlapped downloads a pinned host copy.
     * Two slots: layer l's copy runs while the host hands layer l-1 to the sink. */
    int pack;
    av_dtype pack_dtype;
    int64_t pack_rows;          /* tokens a slot holds */
    void *d_pack[AV_DOWNLOAD_SLOTS], *h_pack[AV_DOWNLOAD_SLOTS];
} av_model;

/* Loads dir (a model folder, or a file named .gguf) onto backend be. On error nothing is
 * left allocated. */
int av_model_load(const char *dir, const av_backend *be, av_model *m);
void av_model_free(av_model *m);

/* Width of a layer's stacked q | k | v row: (H + 2 Hkv) d. */
int64_t av_model_qkv_width(const av_model_config *c);

/* Asks for the sink's packed form (see av_layer_out) in dtype AV_DT_F32 or AV_DT_F16:
 * q and k are moved into the run folder's per-head layout, converted and measured on the
 * backend, so a GPU sends the host exactly the bytes that get written, overlapped with
 * the next layer's compute. */
int av_model_set_pack(av_model *m, av_dtype dtype);
/* Which q and k a RoPE model hands the sink: after RoPE (the default: what makes the
 * attention) or before. Models without RoPE ignore it. */
void av_model_set_qk_rope(av_model *m, av_qk_rope which);

/* Backend bytes the forward pass needs per token row of a batch (workspace, packed
 * slots, 16-bit GEMM operands), and bytes it needs whatever the batch beyond the weights
 * (weight_bytes, already held): a reserve for the GEMM library. A batch of R rows needs
 * about fixed + R * per_row. What the extraction plans its batch sizes with. */
void av_model_memory(const av_model *m, int64_t *per_row, int64_t *fixed);

/* Widens layer l's weights into m->lw (models/weights.c): called by the forward pass
 * before each layer. */
int av_model_stage_layer(av_model *m, int l);
/* Gathers the token embedding rows of ids[0..n) as f32 into out (host memory). */
int av_model_gather_embeddings(const av_model *m, const int32_t *ids, int64_t n, float *out);

/* A batch of B items padded to T tokens. Text: ids/types [B*T] (types may be NULL = all 0),
 * lengths[B] (1..T). ViT: pixels [B, 3, S, S] preprocessed, T = (S/P)^2 + 1, lengths all T.
 * Host pointers. */
typedef struct {
    int B, T;
    const int32_t *ids, *types, *lengths;
    const float *pixels;
} av_batch;

/* What a layer hands to the sink, host memory. H query heads, Hkv key heads (= H without
 * grouped-query attention; query head h belongs to key head h / (H / Hkv)).
 * Unpacked form (the default): row r = b*T + t (t < lengths[b] are real); query head h
 * occupies columns [h*d, (h+1)*d) of q, key head g those of k, rows of stride ld.
 * vnorm[r*H + h] is |v| of the value head of query head h at row r. qp, kp, vnp and sums
 * are NULL.
 * Packed form (av_model_set_pack): the batch's n real tokens, item 0's first, padding
 * removed (kernels/pack/pack.h): qp [H, n, d] and kp [Hkv, n, d] in dtype, vnp [H, n] f32
 * (|v|), sums [3H] the batch's sums of |q|, |k|, |v| per query head. q, k and vnorm are
 * NULL. */
typedef struct {
    int layer, B, T, H, Hkv, d;
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
