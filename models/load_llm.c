/* load_llm.c - loads the decoder LLMs of the Llama family (llama, mistral, qwen2, qwen3)
 * from a Hugging Face folder (model.h): transformers' tensor names, under "model." (a
 * *ForCausalLM checkpoint) or bare (a *Model one). Per layer:
 *   input_layernorm -> ln1, self_attn.{q,k,v}_proj stacked -> qkv (with their biases:
 *   qwen2, llama attention_bias), o_proj -> o, self_attn.{q,k}_norm (qwen3),
 *   post_attention_layernorm -> ln2, mlp.{gate,up}_proj stacked -> fc, down_proj -> proj.
 * The LM head is never read: attnviz needs each layer's q and k, not the next token. */
#include <stdio.h>
#include <stdlib.h>
#include "base/util.h"
#include "models/load.h"

#define FIND(n, ...) av_load_find(L, n, AV_SHAPE(__VA_ARGS__))

/* Layer i's q, k, v projections (or their biases, suffix "bias") stacked into one slot. */
static int stack3(const av_loader *L, int i, av_wslot *s, const char *suffix, int64_t C) {
    const av_model_config *c = &L->m->cfg;
    const int64_t rows[3] = {(int64_t)c->num_heads * c->head_dim, (int64_t)c->num_kv_heads * c->head_dim,
                             (int64_t)c->num_kv_heads * c->head_dim};
    const char *names[3] = {"q_proj", "k_proj", "v_proj"};
    const av_tensor *t[3];
    char n[256];
    for (int j = 0; j < 3; j++) {
        snprintf(n, sizeof n, "layers.%d.self_attn.%s.%s", i, names[j], suffix);
        t[j] = C ? FIND(n, rows[j], C) : FIND(n, rows[j]);
        if (!t[j]) return AV_ERR;
    }
    av_wslot_set(s, t[0], t[1], t[2]);
    return AV_OK;
}

/* gate and up (weights, or biases with C = 0) stacked into one slot. */
static int stack_gate_up(const av_loader *L, int i, av_wslot *s, const char *suffix, int64_t C) {
    const int64_t I = L->m->cfg.intermediate;
    const av_tensor *g, *u;
    char n[256];
    snprintf(n, sizeof n, "layers.%d.mlp.gate_proj.%s", i, suffix);
    if (!(g = C ? FIND(n, I, C) : FIND(n, I))) return AV_ERR;
    snprintf(n, sizeof n, "layers.%d.mlp.up_proj.%s", i, suffix);
    if (!(u = C ? FIND(n, I, C) : FIND(n, I))) return AV_ERR;
    av_wslot_set(s, g, u, NULL);
    return AV_OK;
}

static int load_layer(const av_loader *L, int i, av_wslot *sl) {
    const av_model_config *c = &L->m->cfg;
    const int64_t C = c->hidden, I = c->intermediate, A = (int64_t)c->num_heads * c->head_dim, d = c->head_dim;
    char n[256];
    const av_tensor *t;
    if (AV_SLOT1(AV_LW_LN1_G, "layers.%d.input_layernorm.weight", C) || stack3(L, i, &sl[AV_LW_QKV_W], "weight", C) ||
        (c->qkv_bias && stack3(L, i, &sl[AV_LW_QKV_B], "bias", 0)) ||
        AV_SLOT1(AV_LW_O_W, "layers.%d.self_attn.o_proj.weight", C, A) ||
        (c->o_bias && AV_SLOT1(AV_LW_O_B, "layers.%d.self_attn.o_proj.bias", C)) ||
        (c->qk_norm && (AV_SLOT1(AV_LW_Q_NORM, "layers.%d.self_attn.q_norm.weight", d) ||
                        AV_SLOT1(AV_LW_K_NORM, "layers.%d.self_attn.k_norm.weight", d))) ||
        AV_SLOT1(AV_LW_LN2_G, "layers.%d.post_attention_layernorm.weight", C) ||
        stack_gate_up(L, i, &sl[AV_LW_FC_W], "weight", C) || (c->mlp_bias && stack_gate_up(L, i, &sl[AV_LW_FC_B], "bias", 0)) ||
        AV_SLOT1(AV_LW_PROJ_W, "layers.%d.mlp.down_proj.weight", C, I) ||
        (c->mlp_bias && AV_SLOT1(AV_LW_PROJ_B, "layers.%d.mlp.down_proj.bias", C)))
        return AV_ERR;
    return AV_OK;
}

int av_load_llm(av_loader *L) {
    av_model *m = L->m;
    const av_model_config *c = &m->cfg;
    const int64_t C = c->hidden;
    static const char *const prefixes[] = {"model.", "", NULL};
    if (av_load_prefix(L, "embed_tokens.weight", prefixes) ||
        !(m->wte_t = FIND("embed_tokens.weight", (int64_t)c->vocab_size, C)) ||
        av_load_global(L, &m->final_ln_g, "norm.weight", AV_SHAPE(C)))
        return AV_ERR;
    for (int i = 0; i < c->num_layers; i++)
        if (load_layer(L, i, m->slots[i])) return AV_ERR;
    const int half = c->head_dim / 2;
    float *f = av_malloc(sizeof(float) * (size_t)half * 2);
    if (!f) return AV_ERR;
    av_rope_inv_freq(&c->rope, c->head_dim, f);
    int rc = AV_OK;
    if (c->rope.type == AV_ROPE_FREQ_FACTORS) {
        /* a GGUF's rope_freqs.weight: one divisor per frequency, under its own name */
        const av_tensor *t = av_weights_find(L->w, c->rope_tensor);
        if (!t) rc = av_fail("%s: tensor '%s' (the rope frequency factors) is missing", L->dir, c->rope_tensor);
        else if (av_tensor_numel(t) != half)
            rc = av_fail("%s: tensor '%s' holds %lld factors, the heads rotate %d frequencies", t->file, t->name,
                         (long long)av_tensor_numel(t), half);
        else if (!(rc = av_tensor_rows_f32(t, 0, av_tensor_rows(t), f + half)))
            for (int i = 0; i < half; i++) f[i] /= f[half + i];
    }
    if (!rc) rc = av_weight_upload(m, f, half, &m->inv_freq);
    free(f);
    return rc;
}
