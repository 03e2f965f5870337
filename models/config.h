/* config.h - a Hugging Face model folder's config.json (and preprocessor_config.json for
 * ViT) as one struct. Architectures: bert, gpt2, vit, and the decoder LLMs of the Llama
 * family (llama, mistral, qwen2, qwen3: RMSNorm, RoPE, grouped-query attention, SwiGLU). Every architecture option the forward passes need comes from here;
 * a missing or ill-typed key is an AV_ERR naming the file and the key. */
#ifndef AV_MODELS_CONFIG_H
#define AV_MODELS_CONFIG_H
#include <cjson/cJSON.h>
#include "base/util.h"
#include "kernels/ops.h"
#include "kernels/rope/rope.h"

/* AV_MODEL_LLAMA: every decoder of the Llama family; model_type says which one. */
typedef enum { AV_MODEL_BERT = 0, AV_MODEL_GPT2 = 1, AV_MODEL_VIT = 2, AV_MODEL_LLAMA = 3 } av_model_type;

/* The model_type values config.json may hold, as messages list them. */
#define AV_MODEL_TYPES "bert, gpt2, vit, llama, mistral, qwen2, qwen3"

typedef struct {
    av_model_type type;
    char model_type[16];      /* as config.json says: "bert", "gpt2", "vit", "llama", ... */
    int num_layers;           /* num_hidden_layers | n_layer */
    int num_heads;            /* num_attention_heads | n_head */
    int num_kv_heads;         /* num_key_value_heads (LLMs; < num_heads with grouped-query
                               * attention); num_heads for the others */
    int hidden;               /* hidden_size | n_embd */
    int head_dim;             /* hidden / num_heads; LLMs: "head_dim" where given */
    int intermediate;         /* intermediate_size | n_inner (null -> 4*n_embd) */
    int vocab_size;           /* 0 for ViT */
    int max_positions;        /* max_position_embeddings | n_positions; ViT: patches + 1; an LLM
                               * with sliding-window attention: at most the window, so
                               * every item attends to all of its tokens */
    int type_vocab_size;      /* BERT token types; 0 otherwise */
    float layer_norm_eps;     /* layer_norm_eps | layer_norm_epsilon; LLMs: rms_norm_eps */
    av_gelu_kind act;         /* hidden_act | activation_function: gelu -> erf, gelu_new/gelu_pytorch_tanh -> tanh */
    int qkv_bias;             /* ViT qkv_bias; 1 for BERT/GPT-2/qwen2; llama/qwen3 attention_bias */
    /* LLMs (AV_MODEL_LLAMA) */
    int o_bias;               /* llama attention_bias: o_proj has a bias too */
    int mlp_bias;             /* llama mlp_bias: gate/up/down have biases */
    int qk_norm;              /* qwen3: RMSNorm of every q and k head before RoPE */
    av_rope_params rope;      /* rope_theta and rope_scaling / rope_parameters */
    char rope_tensor[48];     /* freq_factors: the tensor of divisors (a GGUF's rope_freqs.weight) */
    int image_size, patch_size, num_channels;   /* ViT */
    /* ViT preprocessing (preprocessor_config.json; defaults as transformers' ViTImageProcessor) */
    int do_resize, do_rescale, do_normalize;
    int resize_h, resize_w;
    int resample;             /* PIL code: 2 bilinear (default), 3 bicubic */
    float rescale_factor;
    float image_mean[3], image_std[3];
} av_model_config;

/* Reads dir/config.json (+ dir/preprocessor_config.json for ViT, which must be there). */
int av_config_load(const char *dir, av_model_config *cfg);
/* Same from a JSON text in memory (fuzz target); name is used in messages. */
int av_config_parse(const char *json, size_t len, const char *name, av_model_config *cfg);
/* Same from a parsed tree: the config.json equivalent of a GGUF file (models/gguf_llama.h). */
int av_config_from_json(const cJSON *root, const char *name, av_model_config *cfg);
/* Applies a preprocessor_config.json text on top of cfg (whose ViT defaults
 * av_config_parse has set); keys that are absent keep their values. */
int av_config_parse_preprocessor(const char *json, size_t len, const char *name, av_model_config *cfg);
#endif
