/* config.c - reads config.json (BERT, GPT-2, ViT) and ViT's preprocessor_config.json into
 * an av_model_config (config.h).
 *
 * The architecture sizes are required: a config.json written by transformers always holds
 * them, and guessing a layer count would build a wrong model silently. Secondary options
 * take transformers' own class defaults when absent (BertConfig, GPT2Config, ViTConfig,
 * ViTImageProcessor), so hand-trimmed configs load the way transformers loads them. A key
 * that is present with the wrong type is always an error. */
#include "models/config.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/util.h"

/* Bounds far above any real model but low enough that sizes multiplied together
 * (hidden x intermediate, vocab x hidden) stay well inside 64 bits. */
#define MAX_LAYERS 1024
#define MAX_HEADS 1024
#define MAX_HIDDEN 65536
#define MAX_INTERMEDIATE (1 << 20)
#define MAX_VOCAB (1 << 24)
#define MAX_POSITIONS (1 << 20)
#define MAX_IMAGE 16384

/* A JSON string as messages show it: control bytes would break the one-line message. */
#define SHOWN 48
static const char *shown(const char *s, char *buf) { return av_shown(s, strlen(s), buf, SHOWN); }

/* The first of the spellings (NULL-terminated) that is present, else NULL. */
static const cJSON *find_key(const cJSON *obj, const char *const *keys, const char **which) {
    for (int i = 0; keys[i]; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, keys[i]);
        if (v) {
            *which = keys[i];
            return v;
        }
    }
    *which = keys[0];
    return NULL;
}

static int missing(const char *file, const char *const *keys) {
    if (keys[1]) return av_fail("%s: missing key \"%s\" (or \"%s\")", file, keys[0], keys[1]);
    return av_fail("%s: missing key \"%s\"", file, keys[0]);
}

/* An integer in [lo, hi]; when absent, an error if required, else def. */
static int get_int(const cJSON *obj, const char *file, const char *const *keys, long lo, long hi,
                   int required, long def, int *out) {
    const char *k;
    const cJSON *v = find_key(obj, keys, &k);
    if (!v) {
        if (required) return missing(file, keys);
        *out = (int)def;
        return AV_OK;
    }
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble != floor(v->valuedouble))
        return av_fail("%s: \"%s\" is not an integer", file, k);
    if (v->valuedouble < (double)lo || v->valuedouble > (double)hi)
        return av_fail("%s: \"%s\" is %.17g, outside %ld..%ld", file, k, v->valuedouble, lo, hi);
    *out = (int)v->valuedouble;
    return AV_OK;
}

static int get_float(const cJSON *obj, const char *file, const char *const *keys, double lo, double hi,
                     double def, float *out) {
    const char *k;
    const cJSON *v = find_key(obj, keys, &k);
    if (!v) {
        *out = (float)def;
        return AV_OK;
    }
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) return av_fail("%s: \"%s\" is not a number", file, k);
    if (!(v->valuedouble > lo && v->valuedouble < hi))
        return av_fail("%s: \"%s\" is %g, outside (%g, %g)", file, k, v->valuedouble, lo, hi);
    /* In range as a double can still round to the bound as a float (1e-91 -> 0). */
    if (!((float)v->valuedouble > (float)lo)) return av_fail("%s: \"%s\" is %g, too small for a float", file, k, v->valuedouble);
    *out = (float)v->valuedouble;
    return AV_OK;
}

static int get_bool(const cJSON *obj, const char *file, const char *key, int def, int *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v) {
        *out = def;
        return AV_OK;
    }
    if (!cJSON_IsBool(v)) return av_fail("%s: \"%s\" is not true or false", file, key);
    *out = cJSON_IsTrue(v);
    return AV_OK;
}

/* transformers' ACT2FN names for the two GELU forms our kernels compute. */
static int get_act(const cJSON *obj, const char *file, const char *const *keys, const char *def, av_gelu_kind *out) {
    const char *k;
    const cJSON *v = find_key(obj, keys, &k);
    const char *s = def;
    if (v) {
        if (!cJSON_IsString(v)) return av_fail("%s: \"%s\" is not a string", file, k);
        s = v->valuestring;
    }
    if (!strcmp(s, "gelu") || !strcmp(s, "gelu_python")) *out = AV_GELU_ERF;
    else if (!strcmp(s, "gelu_new") || !strcmp(s, "gelu_pytorch_tanh") || !strcmp(s, "gelu_fast")) *out = AV_GELU_TANH;
    else {
        char b[SHOWN];
        return av_fail("%s: \"%s\" is \"%s\"; attnviz computes gelu, gelu_new, gelu_pytorch_tanh, gelu_fast", file, k,
                       shown(s, b));
    }
    return AV_OK;
}

/* ViT's image_size / patch_size: an integer, or a square [n, n] pair. */
static int get_square(const cJSON *obj, const char *file, const char *key, long def, long hi, int *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v) {
        *out = (int)def;
        return AV_OK;
    }
    if (cJSON_IsArray(v)) {
        const cJSON *a = v->child, *b = a ? a->next : NULL;
        if (cJSON_GetArraySize(v) != 2 || !cJSON_IsNumber(a) || !cJSON_IsNumber(b))
            return av_fail("%s: \"%s\" is not an integer or an [h, w] pair", file, key);
        if (a->valuedouble != b->valuedouble)
            return av_fail("%s: \"%s\" is not square; attnviz reads square ViT inputs", file, key);
        v = a;
    }
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble != floor(v->valuedouble) ||
        v->valuedouble < 1 || v->valuedouble > (double)hi)
        return av_fail("%s: \"%s\" is not an integer from 1 to %ld", file, key, hi);
    *out = (int)v->valuedouble;
    return AV_OK;
}

static void vit_processor_defaults(av_model_config *c) {
    c->do_resize = c->do_rescale = c->do_normalize = 1;
    c->resize_h = c->resize_w = 224;
    c->resample = 2;
    c->rescale_factor = 1.0f / 255.0f;
    for (int i = 0; i < 3; i++) c->image_mean[i] = c->image_std[i] = 0.5f; /* IMAGENET_STANDARD_* */
}

/* A number that may be present, null or absent; *present says which (null = absent). */
static int opt_number(const cJSON *obj, const char *file, const char *key, double *out, int *present) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    *present = v && !cJSON_IsNull(v);
    if (!*present) return AV_OK;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) return av_fail("%s: \"%s\" is not a number", file, key);
    *out = v->valuedouble;
    return AV_OK;
}

/* RoPE as transformers standardizes it (RotaryEmbeddingConfigMixin): the parameters are
 * "rope_scaling" when it is a non-empty object, else "rope_parameters"; "rope_theta"
 * inside them wins over the top-level one (default 10000); the type is "rope_type" or
 * the older "type" (default "default"). */
static int parse_rope(const cJSON *root, const char *file, av_model_config *c) {
    av_rope_params *r = &c->rope;
    memset(r, 0, sizeof *r);
    r->theta = 10000.0;
    r->factor = 1.0;
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(root, "rope_scaling");
    const char *pname = "rope_scaling";
    if (!p || cJSON_IsNull(p) || (cJSON_IsObject(p) && !p->child)) {
        p = cJSON_GetObjectItemCaseSensitive(root, "rope_parameters");
        pname = "rope_parameters";
    }
    if (p && cJSON_IsNull(p)) p = NULL;
    if (p && !cJSON_IsObject(p)) return av_fail("%s: \"%s\" is not an object", file, pname);
    int have;
    double th = 0;
    if (opt_number(root, file, "rope_theta", &th, &have)) return AV_ERR;
    if (have) r->theta = th;
    /* a partial rotation (a top-level key or one of the parameters) is not computed */
    const cJSON *holders[2] = {root, p};
    for (int i = 0; i < 2; i++) {
        double pf = 1;
        if (!holders[i]) continue;
        if (opt_number(holders[i], file, "partial_rotary_factor", &pf, &have)) return AV_ERR;
        if (have && pf != 1.0)
            return av_fail("%s: \"partial_rotary_factor\" is %g; attnviz rotates whole heads (1.0)", file, pf);
    }
    if (!p) goto check;
    if (opt_number(p, file, "rope_theta", &th, &have)) return AV_ERR;
    if (have) r->theta = th;
    const cJSON *ty = cJSON_GetObjectItemCaseSensitive(p, "rope_type");
    if (!ty) ty = cJSON_GetObjectItemCaseSensitive(p, "type");
    const char *type = "default";
    if (ty) {
        if (!cJSON_IsString(ty)) return av_fail("%s: \"%s\".rope_type is not a string", file, pname);
        type = ty->valuestring;
    }
    if (!strcmp(type, "default")) r->type = AV_ROPE_DEFAULT;
    else if (!strcmp(type, "linear")) r->type = AV_ROPE_LINEAR;
    else if (!strcmp(type, "dynamic")) r->type = AV_ROPE_DYNAMIC;
    else if (!strcmp(type, "llama3")) r->type = AV_ROPE_LLAMA3;
    else if (!strcmp(type, "freq_factors")) r->type = AV_ROPE_FREQ_FACTORS;
    else {
        char b[SHOWN];
        return av_fail("%s: rope_type \"%s\" is not supported (attnviz computes default, linear, dynamic, llama3, "
                       "freq_factors)", file, shown(type, b));
    }
    if (r->type == AV_ROPE_FREQ_FACTORS) {
        const cJSON *tn = cJSON_GetObjectItemCaseSensitive(p, "tensor");
        if (!cJSON_IsString(tn) || !tn->valuestring[0] || strlen(tn->valuestring) >= sizeof c->rope_tensor)
            return av_fail("%s: \"%s\" of type freq_factors names no \"tensor\"", file, pname);
        snprintf(c->rope_tensor, sizeof c->rope_tensor, "%s", tn->valuestring);
    } else if (r->type != AV_ROPE_DEFAULT) {
        if (opt_number(p, file, "factor", &r->factor, &have)) return AV_ERR;
        if (!have) return av_fail("%s: \"%s\" of type %s has no \"factor\"", file, pname, type);
        if (!(r->factor >= 1.0 && r->factor <= 1e6)) return av_fail("%s: rope \"factor\" is %g, outside 1..1e6", file, r->factor);
    }
    if (r->type == AV_ROPE_LLAMA3) {
        double om = 0;
        if (opt_number(p, file, "low_freq_factor", &r->low_freq_factor, &have)) return AV_ERR;
        if (!have) return av_fail("%s: \"%s\" of type llama3 has no \"low_freq_factor\"", file, pname);
        if (opt_number(p, file, "high_freq_factor", &r->high_freq_factor, &have)) return AV_ERR;
        if (!have) return av_fail("%s: \"%s\" of type llama3 has no \"high_freq_factor\"", file, pname);
        if (!(r->low_freq_factor > 0 && r->high_freq_factor > r->low_freq_factor))
            return av_fail("%s: llama3 rope needs 0 < low_freq_factor < high_freq_factor (got %g, %g)", file,
                           r->low_freq_factor, r->high_freq_factor);
        /* transformers: the top-level key wins, then the one in the parameters, then
         * max_position_embeddings */
        r->original_max_positions = c->max_positions;
        if (opt_number(p, file, "original_max_position_embeddings", &om, &have)) return AV_ERR;
        if (have) r->original_max_positions = om;
        if (opt_number(root, file, "original_max_position_embeddings", &om, &have)) return AV_ERR;
        if (have) r->original_max_positions = om;
        if (!(r->original_max_positions >= 1))
            return av_fail("%s: \"original_max_position_embeddings\" is %g", file, r->original_max_positions);
    }
check:
    if (!(r->theta > 1.0 && r->theta < 1e12)) return av_fail("%s: \"rope_theta\" is %g, outside (1, 1e12)", file, r->theta);
    return AV_OK;
}

/* The decoder LLMs. Defaults are each config class's own where a key is absent
 * (LlamaConfig, MistralConfig, Qwen2Config, Qwen3Config in transformers 5), which differ:
 * Qwen3's head_dim is 128, Mistral's num_key_value_heads 8 and its sliding window 4096. */
static int parse_llm(const cJSON *root, const char *file, av_model_config *c) {
    static const char *const k_layers[] = {"num_hidden_layers", NULL};
    static const char *const k_heads[] = {"num_attention_heads", NULL};
    static const char *const k_kv[] = {"num_key_value_heads", NULL};
    static const char *const k_hidden[] = {"hidden_size", NULL};
    static const char *const k_inter[] = {"intermediate_size", NULL};
    static const char *const k_pos[] = {"max_position_embeddings", NULL};
    static const char *const k_vocab[] = {"vocab_size", NULL};
    static const char *const k_hd[] = {"head_dim", NULL};
    static const char *const k_eps[] = {"rms_norm_eps", NULL};
    static const char *const k_win[] = {"sliding_window", NULL};
    const char *t = c->model_type;
    int mistral = !strcmp(t, "mistral"), qwen2 = !strcmp(t, "qwen2"), qwen3 = !strcmp(t, "qwen3");
    if (get_int(root, file, k_layers, 1, MAX_LAYERS, 1, 0, &c->num_layers) ||
        get_int(root, file, k_heads, 1, MAX_HEADS, 1, 0, &c->num_heads) ||
        get_int(root, file, k_hidden, 1, MAX_HIDDEN, 1, 0, &c->hidden) ||
        get_int(root, file, k_inter, 1, MAX_INTERMEDIATE, 1, 0, &c->intermediate) ||
        get_int(root, file, k_vocab, 1, MAX_VOCAB, 1, 0, &c->vocab_size) ||
        get_int(root, file, k_pos, 1, MAX_POSITIONS, 1, 0, &c->max_positions))
        return AV_ERR;
    const cJSON *kv = cJSON_GetObjectItemCaseSensitive(root, "num_key_value_heads");
    long kv_def = mistral ? 8 : qwen2 || qwen3 ? 32 : c->num_heads;
    if (kv && cJSON_IsNull(kv)) c->num_kv_heads = c->num_heads;
    else if (get_int(root, file, k_kv, 1, MAX_HEADS, 0, kv_def, &c->num_kv_heads)) return AV_ERR;
    if (c->num_heads % c->num_kv_heads)
        return av_fail("%s: %d attention heads do not divide into %d key/value heads", file, c->num_heads, c->num_kv_heads);
    const cJSON *hd = cJSON_GetObjectItemCaseSensitive(root, "head_dim");
    if (hd && !cJSON_IsNull(hd)) {
        if (get_int(root, file, k_hd, 2, 1024, 1, 0, &c->head_dim)) return AV_ERR;
    } else if (qwen3) {
        c->head_dim = 128;
    } else {
        if (c->hidden % c->num_heads)
            return av_fail("%s: hidden size %d is not divisible by the %d attention heads", file, c->hidden, c->num_heads);
        c->head_dim = c->hidden / c->num_heads;
    }
    if (c->head_dim % 2) return av_fail("%s: head_dim %d is odd; RoPE rotates pairs of values", file, c->head_dim);
    const char *k;
    const cJSON *act = find_key(root, (const char *const[]){"hidden_act", NULL}, &k);
    if (act && (!cJSON_IsString(act) || (strcmp(act->valuestring, "silu") && strcmp(act->valuestring, "swish")))) {
        char b[SHOWN];
        return av_fail("%s: \"hidden_act\" is \"%s\"; attnviz computes SwiGLU with silu", file,
                       cJSON_IsString(act) ? shown(act->valuestring, b) : "?");
    }
    int bias = qwen2, wins = 0, use_win = mistral;
    if (get_float(root, file, k_eps, 0.0, 1.0, 1e-6, &c->layer_norm_eps) ||
        (!qwen2 && get_bool(root, file, "attention_bias", 0, &bias)) ||
        (!strcmp(t, "llama") && get_bool(root, file, "mlp_bias", 0, &c->mlp_bias)) ||
        ((qwen2 || qwen3) && get_bool(root, file, "use_sliding_window", 0, &use_win)))
        return AV_ERR;
    c->qkv_bias = bias;
    c->o_bias = !strcmp(t, "llama") && bias;   /* LlamaAttention's o_proj shares attention_bias */
    c->qk_norm = qwen3;
    c->act = AV_GELU_ERF; /* unused: the LLMs' MLP is SwiGLU */
    c->type_vocab_size = 0;
    if (parse_rope(root, file, c)) return AV_ERR; /* before the window cut: llama3 defaults to max_positions */
    /* Sliding-window attention (a key more than the window behind the query is masked)
     * changes nothing for items no longer than the window: they are cut to it. */
    const cJSON *win = cJSON_GetObjectItemCaseSensitive(root, "sliding_window");
    if (use_win && !(win && cJSON_IsNull(win))) {
        if (get_int(root, file, k_win, 1, MAX_POSITIONS, 0, 4096, &wins)) return AV_ERR;
        if (wins < c->max_positions) c->max_positions = wins;
    }
    return AV_OK;
}

static int parse_config(const cJSON *root, const char *file, av_model_config *c) {
    if (!cJSON_IsObject(root)) return av_fail("%s: not a JSON object", file);
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(root, "model_type");
    if (!mt) return av_fail("%s: missing key \"model_type\"", file);
    if (!cJSON_IsString(mt)) return av_fail("%s: \"model_type\" is not a string", file);
    const char *t = mt->valuestring;
    if (!strcmp(t, "bert")) c->type = AV_MODEL_BERT;
    else if (!strcmp(t, "gpt2")) c->type = AV_MODEL_GPT2;
    else if (!strcmp(t, "vit")) c->type = AV_MODEL_VIT;
    else if (!strcmp(t, "llama") || !strcmp(t, "mistral") || !strcmp(t, "qwen2") || !strcmp(t, "qwen3"))
        c->type = AV_MODEL_LLAMA;
    else {
        char b[SHOWN];
        return av_fail("%s: unknown model_type \"%s\" (attnviz reads " AV_MODEL_TYPES ")", file, shown(t, b));
    }
    snprintf(c->model_type, sizeof c->model_type, "%s", t);
    if (c->type == AV_MODEL_LLAMA) return parse_llm(root, file, c);

    static const char *const k_layers[] = {"num_hidden_layers", "n_layer", NULL};
    static const char *const k_heads[] = {"num_attention_heads", "n_head", NULL};
    static const char *const k_hidden[] = {"hidden_size", "n_embd", NULL};
    static const char *const k_inter[] = {"intermediate_size", "n_inner", NULL};
    static const char *const k_pos[] = {"max_position_embeddings", "n_positions", NULL};
    static const char *const k_vocab[] = {"vocab_size", NULL};
    static const char *const k_types[] = {"type_vocab_size", NULL};
    static const char *const k_eps[] = {"layer_norm_eps", "layer_norm_epsilon", NULL};
    static const char *const k_act[] = {"hidden_act", "activation_function", NULL};
    int gpt2 = c->type == AV_MODEL_GPT2, vit = c->type == AV_MODEL_VIT, bert = c->type == AV_MODEL_BERT;
    if (get_int(root, file, k_layers, 1, MAX_LAYERS, 1, 0, &c->num_layers) ||
        get_int(root, file, k_heads, 1, MAX_HEADS, 1, 0, &c->num_heads) ||
        get_int(root, file, k_hidden, 1, MAX_HIDDEN, 1, 0, &c->hidden))
        return AV_ERR;
    if (c->hidden % c->num_heads)
        return av_fail("%s: hidden size %d is not divisible by the %d attention heads", file, c->hidden, c->num_heads);
    c->head_dim = c->hidden / c->num_heads;
    c->num_kv_heads = c->num_heads;
    /* GPT-2 writes "n_inner": null for the default 4 x n_embd. */
    const char *k;
    const cJSON *inter = find_key(root, k_inter, &k);
    if (gpt2 && (!inter || cJSON_IsNull(inter))) c->intermediate = 4 * c->hidden;
    else if (get_int(root, file, k_inter, 1, MAX_INTERMEDIATE, 1, 0, &c->intermediate)) return AV_ERR;
    if (get_float(root, file, k_eps, 0.0, 1.0, gpt2 ? 1e-5 : 1e-12, &c->layer_norm_eps) ||
        get_act(root, file, k_act, gpt2 ? "gelu_new" : "gelu", &c->act))
        return AV_ERR;
    if (vit) {
        c->vocab_size = 0;
        c->type_vocab_size = 0;
        if (get_square(root, file, "image_size", 224, MAX_IMAGE, &c->image_size) ||
            get_square(root, file, "patch_size", 16, MAX_IMAGE, &c->patch_size) ||
            get_int(root, file, (const char *const[]){"num_channels", NULL}, 1, 64, 0, 3, &c->num_channels) ||
            get_bool(root, file, "qkv_bias", 1, &c->qkv_bias))
            return AV_ERR;
        if (c->num_channels != 3)
            return av_fail("%s: \"num_channels\" is %d; attnviz reads RGB ViTs (3)", file, c->num_channels);
        if (c->patch_size > c->image_size)
            return av_fail("%s: \"patch_size\" %d is larger than \"image_size\" %d", file, c->patch_size, c->image_size);
        int side = c->image_size / c->patch_size; /* the patch conv's floor, as in ViTPatchEmbeddings */
        c->max_positions = side * side + 1;
        vit_processor_defaults(c);
        c->resize_h = c->resize_w = c->image_size;
    } else {
        c->qkv_bias = 1;
        if (get_int(root, file, k_vocab, 1, MAX_VOCAB, 1, 0, &c->vocab_size) ||
            get_int(root, file, k_pos, 1, MAX_POSITIONS, 1, 0, &c->max_positions) ||
            get_int(root, file, k_types, 0, 65536, 0, bert ? 2 : 0, &c->type_vocab_size))
            return AV_ERR;
        if (!bert) c->type_vocab_size = 0;
    }
    if (bert) {
        /* Relative position variants add terms to the attention logits that stored q/k do
         * not carry; reading them as absolute would draw a different model. */
        const cJSON *pe = cJSON_GetObjectItemCaseSensitive(root, "position_embedding_type");
        if (pe && !cJSON_IsNull(pe)) {
            if (!cJSON_IsString(pe)) return av_fail("%s: \"position_embedding_type\" is not a string", file);
            char b[SHOWN];
            if (strcmp(pe->valuestring, "absolute"))
                return av_fail("%s: \"position_embedding_type\" is \"%s\"; attnviz reads \"absolute\"", file,
                               shown(pe->valuestring, b));
        }
    }
    return AV_OK;
}

/* Parses len bytes as JSON: a private NUL-terminated copy, and nothing but whitespace
 * may follow the value. */
static cJSON *parse_json(const char *json, size_t len, const char *name) {
    char *text = av_malloc(len + 1);
    if (!text) return NULL;
    if (len) memcpy(text, json, len);
    text[len] = 0;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!root) {
        av_fail("%s: invalid JSON near byte %ld", name, end ? (long)(end - text) : -1L);
    } else {
        for (const char *p = end; p < text + len; p++)
            if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
                av_fail("%s: bytes after the JSON value (byte %ld)", name, (long)(p - text));
                cJSON_Delete(root);
                root = NULL;
                break;
            }
    }
    free(text);
    return root;
}

int av_config_from_json(const cJSON *root, const char *name, av_model_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    return parse_config(root, name, cfg);
}

int av_config_parse(const char *json, size_t len, const char *name, av_model_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cJSON *root = parse_json(json, len, name);
    if (!root) return AV_ERR;
    int rc = parse_config(root, name, cfg);
    cJSON_Delete(root);
    return rc;
}

/* image_mean / image_std: three numbers, or one for all channels (transformers allows both). */
static int get_triple(const cJSON *obj, const char *file, const char *key, int positive, float *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v || cJSON_IsNull(v)) return AV_OK;
    double x[3];
    if (cJSON_IsNumber(v)) {
        x[0] = x[1] = x[2] = v->valuedouble;
    } else if (cJSON_IsArray(v) && cJSON_GetArraySize(v) == 3) {
        int i = 0;
        for (const cJSON *e = v->child; e; e = e->next, i++) {
            if (!cJSON_IsNumber(e)) return av_fail("%s: \"%s\" holds a non-number", file, key);
            x[i] = e->valuedouble;
        }
    } else {
        return av_fail("%s: \"%s\" is not a number or a list of 3 numbers", file, key);
    }
    for (int i = 0; i < 3; i++) {
        /* A std must stay a usable divisor once it is a float (1e-320 rounds to 0). */
        if (!isfinite(x[i]) || fabs(x[i]) > 1e6 || (positive && !(x[i] >= 1e-6)))
            return av_fail("%s: \"%s\"[%d] is %g, not a usable %s", file, key, i, x[i], positive ? "scale" : "mean");
        out[i] = (float)x[i];
    }
    return AV_OK;
}

static int parse_preprocessor(const cJSON *root, const char *file, av_model_config *c) {
    if (!cJSON_IsObject(root)) return av_fail("%s: not a JSON object", file);
    if (get_bool(root, file, "do_resize", 1, &c->do_resize) || get_bool(root, file, "do_rescale", 1, &c->do_rescale) ||
        get_bool(root, file, "do_normalize", 1, &c->do_normalize) ||
        get_int(root, file, (const char *const[]){"resample", NULL}, 0, 5, 0, 2, &c->resample) ||
        get_float(root, file, (const char *const[]){"rescale_factor", NULL}, 0.0, 1e6, 1.0 / 255.0, &c->rescale_factor) ||
        get_triple(root, file, "image_mean", 0, c->image_mean) || get_triple(root, file, "image_std", 1, c->image_std))
        return AV_ERR;
    const cJSON *size = cJSON_GetObjectItemCaseSensitive(root, "size");
    if (!size || cJSON_IsNull(size)) return AV_OK;
    if (cJSON_IsNumber(size)) {
        const char *const k[] = {"size", NULL};
        if (get_int(root, file, k, 1, MAX_IMAGE, 1, 0, &c->resize_h)) return AV_ERR;
        c->resize_w = c->resize_h;
    } else if (cJSON_IsObject(size)) {
        const cJSON *h = cJSON_GetObjectItemCaseSensitive(size, "height");
        const cJSON *se = cJSON_GetObjectItemCaseSensitive(size, "shortest_edge");
        if (h) {
            if (get_int(size, file, (const char *const[]){"height", NULL}, 1, MAX_IMAGE, 1, 0, &c->resize_h) ||
                get_int(size, file, (const char *const[]){"width", NULL}, 1, MAX_IMAGE, 1, 0, &c->resize_w))
                return AV_ERR;
        } else if (se) {
            /* A ViT needs image_size x image_size input; a shortest-edge size is read as that
             * square (ViTImageProcessor itself accepts only height/width). */
            if (get_int(size, file, (const char *const[]){"shortest_edge", NULL}, 1, MAX_IMAGE, 1, 0, &c->resize_h))
                return AV_ERR;
            c->resize_w = c->resize_h;
        } else {
            return av_fail("%s: \"size\" has neither \"height\"/\"width\" nor \"shortest_edge\"", file);
        }
    } else {
        return av_fail("%s: \"size\" is not an integer or an object", file);
    }
    return AV_OK;
}

int av_config_parse_preprocessor(const char *json, size_t len, const char *name, av_model_config *cfg) {
    cJSON *root = parse_json(json, len, name);
    if (!root) return AV_ERR;
    int rc = parse_preprocessor(root, name, cfg);
    cJSON_Delete(root);
    return rc;
}

int av_config_load(const char *dir, av_model_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    char path[4096];
    if (!av_is_dir(dir)) {
        if (!av_file_exists(dir)) return av_fail("%s: no such folder", dir);
        return av_fail("%s: not a folder (expected a model folder with config.json)", dir);
    }
    av_path_join(path, sizeof path, dir, "config.json");
    size_t len = 0;
    char *text = av_read_file(path, &len);
    if (!text) return AV_ERR;
    int rc = av_config_parse(text, len, path, cfg);
    free(text);
    if (rc != AV_OK || cfg->type != AV_MODEL_VIT) return rc;
    /* Required, as transformers' image processors require it: ViT checkpoints differ in
     * their normalisation (google/vit: mean and std 0.5; DeiT and others: ImageNet's), so
     * defaults would give another model's pixels without a word. */
    av_path_join(path, sizeof path, dir, "preprocessor_config.json");
    if (!av_file_exists(path))
        return av_fail("%s: missing; a ViT folder needs it for the image size, mean and std (download it with the "
                       "checkpoint)", path);
    text = av_read_file(path, &len);
    if (!text) return AV_ERR;
    rc = av_config_parse_preprocessor(text, len, path, cfg);
    free(text);
    return rc;
}
