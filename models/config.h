/* config.h - a Hugging Face model folder's config.json (and preprocessor_config.json for
 * ViT) as one struct. Every architecture option the forward passes need comes from here;
 * a missing or ill-typed key is an AV_ERR naming the file and the key. */
#ifndef AV_MODELS_CONFIG_H
#define AV_MODELS_CONFIG_H
#include "base/util.h"
#include "kernels/ops.h"

typedef enum { AV_MODEL_BERT = 0, AV_MODEL_GPT2 = 1, AV_MODEL_VIT = 2 } av_model_type;

typedef struct {
    av_model_type type;
    char model_type[16];      /* as config.json says: "bert", "gpt2", "vit" */
    int num_layers;           /* num_hidden_layers | n_layer */
    int num_heads;            /* num_attention_heads | n_head */
    int hidden;               /* hidden_size | n_embd */
    int head_dim;             /* hidden / num_heads */
    int intermediate;         /* intermediate_size | n_inner (null -> 4*n_embd) */
    int vocab_size;           /* 0 for ViT */
    int max_positions;        /* max_position_embeddings | n_positions; ViT: patches + 1 */
    int type_vocab_size;      /* BERT token types; 0 otherwise */
    float layer_norm_eps;     /* layer_norm_eps | layer_norm_epsilon */
    av_gelu_kind act;         /* hidden_act | activation_function: gelu -> erf, gelu_new/gelu_pytorch_tanh -> tanh */
    int qkv_bias;             /* ViT qkv_bias; 1 for BERT/GPT-2 */
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
/* Applies a preprocessor_config.json text on top of cfg (whose ViT defaults
 * av_config_parse has set); keys that are absent keep their values. */
int av_config_parse_preprocessor(const char *json, size_t len, const char *name, av_model_config *cfg);
#endif
