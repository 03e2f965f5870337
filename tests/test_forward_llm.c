/* test_forward_llm.c - the decoder LLMs (llama, mistral, qwen2, qwen3) on the CPU backend
 * against Hugging Face transformers' own activations (tests/fixtures/activations, written
 * by make_llm_fixtures.py): every layer's q and k after RoPE and before it, |v| and the
 * final hidden states within relative L2 1e-4 on the real tokens, for grouped-query and
 * multi-query attention, llama3 rope scaling with q/k/v/o and MLP biases, qwen2's biases,
 * qwen3's q/k norms and explicit head_dim, a sharded and a BF16 checkpoint, a padded
 * batch and an item of 280 tokens (more than one key tile of the CPU attention). Also:
 * a sliding window caps the item length, and the faults a checkpoint can have. */
#include <string.h>
#include "models/config.h"
#include "tests/check.h"
#include "tests/forward_llm_cases.h"

/* Mistral's sliding window (16) is the longest item it takes: within it every token sees
 * all earlier ones, as transformers computes them. */
static void test_window(void) {
    av_model m;
    if (av_model_load("tests/fixtures/models/mistral-mqa", av_backend_cpu(), &m)) {
        CHECK_MSG(0, "%s", av_last_error());
        return;
    }
    CHECK(m.cfg.max_positions == 16 && m.cfg.num_kv_heads == 1);
    int32_t ids[17] = {0}, len[1] = {17};
    av_batch b = {.B = 1, .T = 17, .ids = ids, .lengths = len};
    CHECK(av_model_forward(&m, &b, NULL, NULL, NULL) == AV_ERR);
    CHECK(strstr(av_last_error(), "exceed the model's 16 positions") != NULL);
    av_model_free(&m);
}

/* Broken checkpoints: the message names the tensor or the key (tests/fixtures/models/bad). */
static void test_faults(void) {
    static const char *cases[][2] = {
        {"llm-missing-tensor", "tensor 'model.layers.0.mlp.up_proj.weight' is missing"},
        {"llm-shape-mismatch", "has shape [8, 8], expected [4, 8]"},
        {"llm-kv-heads", "2 attention heads do not divide into 3 key/value heads"},
        {"llm-rope-type", "rope_type \"yarn\" is not supported (attnviz computes default, linear, dynamic, llama3, freq_factors)"},
        {"config-unknown-model-type", "(attnviz reads bert, gpt2, vit, llama, mistral, qwen2, qwen3)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char dir[256];
        snprintf(dir, sizeof dir, "tests/fixtures/models/bad/%s", cases[i][0]);
        av_model m;
        CHECK_MSG(av_model_load(dir, av_backend_cpu(), &m) == AV_ERR, "%s loaded", dir);
        CHECK_MSG(strstr(av_last_error(), cases[i][1]) != NULL, "%s: '%s'", dir, av_last_error());
    }
}

int main(void) {
    run_all_llm_cases(av_backend_cpu(), 1e-4);
    test_window();
    test_faults();
    return av_check_summary("test_forward_llm");
}
