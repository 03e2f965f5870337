/* gguf_llama.h - a Llama-family GGUF file seen as a Hugging Face checkpoint: the
 * config.json Hugging Face would have, and every tensor under its Hugging Face name in
 * Hugging Face's layout.
 *
 * Architectures (general.architecture): llama, mistral, qwen2 (q/k/v biases), qwen3
 * (per-head RMSNorm of q and k). Anything else is an AV_ERR listing these.
 *
 * The config (a cJSON object, as config.json would parse) holds: architectures,
 * model_type, vocab_size (rows of token_embd.weight), hidden_size, intermediate_size,
 * num_hidden_layers, num_attention_heads, num_key_value_heads, head_dim, hidden_act
 * ("silu"), max_position_embeddings, rms_norm_eps, rope_theta, rope_scaling (null, or
 * {"rope_type": "linear"|"yarn", "factor", ...}), tie_word_embeddings (no output.weight),
 * attention_bias, and bos/eos/pad_token_id where the file's tokenizer names them.
 * A file carrying rope_freqs.weight (llama.cpp's form of Llama 3's rope scaling: one
 * divisor per rotary frequency) gets rope_scaling {"rope_type": "freq_factors", "tensor":
 * "rope_freqs.weight"}: the rotary inverse frequencies inv_freq[i] = theta^(-2i/head_dim)
 * are divided by that tensor's element i. The tensor is listed under its GGUF name
 * (there is no Hugging Face one). A reader that does not know "freq_factors" should
 * refuse the config rather than run plain RoPE.
 *
 * Tensor names: token_embd.weight -> model.embed_tokens.weight, output_norm.weight ->
 * model.norm.weight, output.weight -> lm_head.weight, and for layer N blk.N.<x> ->
 * model.layers.N.<y>: attn_norm -> input_layernorm, attn_q/attn_k/attn_v/attn_output ->
 * self_attn.q_proj/k_proj/v_proj/o_proj (weights and biases), attn_q_norm/attn_k_norm ->
 * self_attn.q_norm/k_norm, ffn_norm -> post_attention_layernorm, ffn_gate/ffn_up/ffn_down
 * -> mlp.gate_proj/up_proj/down_proj. Every tensor of the file must map, every tensor the
 * architecture needs must be there, and every shape must be the one the metadata implies:
 * anything else is an AV_ERR naming the file, the tensor and the disagreement.
 *
 * q and k: llama.cpp's converter reorders the rows of q_proj and k_proj (weights and
 * biases) of llama and mistral models within each head, from Hugging Face's rotate-half
 * order to interleaved pairs: HF row h*D + i*D/2 + j (i in {0,1}, j < D/2, D = head_dim)
 * is stored as row h*D + 2j + i. Opening undoes it, so q_proj/k_proj come out exactly as
 * Hugging Face has them. A row is a whole number of blocks in every ggml type, so the
 * rows move as bytes: quantized tensors are reordered without being dequantized.
 * qwen2 and qwen3 files are not permuted by the converter and are left alone.
 *
 * Memory: the file is mapped private; the reordering rewrites the q/k bytes in place,
 * which turns just those pages into private copies (av_gguf_writable; the file is never
 * modified). Peak memory stays about the file size.
 *
 * Ownership: av_gguf_llama owns the GGUF object, the config and the tensor list;
 * av_gguf_llama_close frees them all. Data pointers and names stay valid until then. */
#ifndef AV_MODELS_GGUF_LLAMA_H
#define AV_MODELS_GGUF_LLAMA_H
#include <cjson/cJSON.h>
#include "models/gguf.h"

typedef struct {
    char *name;                    /* Hugging Face name */
    const av_gguf_tensor *src;     /* the GGUF tensor (its GGUF name, ne[] order) */
    const char *file;              /* the GGUF file (for messages) */
    int type;                      /* ggml type (models/dequant.h) */
    int ndim;
    int64_t shape[AV_GGUF_MAXDIM]; /* torch order: [rows, cols] for a 2-D weight */
    int64_t numel;
    const void *data;              /* ggml-typed bytes in Hugging Face's row order */
    size_t nbytes;
    size_t row_bytes;              /* bytes of one row (shape[ndim-1] elements) */
    int unpermuted;                /* 1: q/k rows were put back in Hugging Face order */
} av_hf_tensor;

typedef struct {
    av_gguf gguf;
    char arch[8];                  /* general.architecture */
    cJSON *config;                 /* config.json equivalent */
    av_hf_tensor *tensors;         /* sorted by name */
    int count;
    uint8_t *copy;                 /* av_gguf_llama_parse's writable copy of the bytes */
} av_gguf_llama;

/* Opens and validates path (see above); undoes the q/k permutation. */
int av_gguf_llama_open(const char *path, av_gguf_llama *m);
/* The same over bytes in memory (tests, fuzzing): the bytes are copied, since the
 * q/k rows are rewritten; name is used in messages. */
int av_gguf_llama_parse(const uint8_t *data, size_t size, const char *name, av_gguf_llama *m);
void av_gguf_llama_close(av_gguf_llama *m);

/* Exact Hugging Face name lookup; NULL when absent (no error set). */
const av_hf_tensor *av_gguf_llama_find(const av_gguf_llama *m, const char *hf_name);
/* Dequantizes rows [row0, row0 + nrows) of t (rows of shape[ndim-1] elements; a 1-D
 * tensor is one row) into out[nrows * shape[ndim-1]]. */
int av_hf_tensor_rows_f32(const av_hf_tensor *t, int64_t row0, int64_t nrows, float *out);
/* "llama, mistral, qwen2, qwen3" */
const char *av_gguf_llama_archs(void);
#endif
