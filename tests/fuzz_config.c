/* fuzz_config.c - libFuzzer target: arbitrary bytes as config.json, and as
 * preprocessor_config.json on top of a valid ViT config.
 * Build: CC=clang cmake -S . -B build-fuzz -DAV_FUZZ=ON -DAV_CUDA=OFF && cmake --build build-fuzz
 * Run:   build-fuzz/tests/fuzz_config -max_total_time=300 tests/fuzz/config
 * A config that parses must describe a buildable model: the invariants below are the
 * ones the forward passes rely on. */
#include <stdlib.h>
#include <string.h>
#include "models/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char vit[] = "{\"model_type\":\"vit\",\"num_hidden_layers\":1,\"num_attention_heads\":1,"
                          "\"hidden_size\":8,\"intermediate_size\":8}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    av_model_config c;
    if (av_config_parse((const char *)data, size, "fuzz.json", &c) == AV_OK) {
        if (c.num_layers < 1 || c.num_heads < 1 || c.head_dim < 1 || c.head_dim * c.num_heads != c.hidden ||
            c.intermediate < 1 || c.max_positions < 1 || !(c.layer_norm_eps > 0) ||
            (c.type != AV_MODEL_VIT && c.vocab_size < 1) ||
            (c.type == AV_MODEL_VIT && (c.patch_size < 1 || c.patch_size > c.image_size)))
            abort();
    } else if (!av_last_error()[0] || strchr(av_last_error(), '\n')) {
        abort();
    }
    if (av_config_parse(vit, sizeof vit - 1, "vit.json", &c) != AV_OK) abort();
    if (av_config_parse_preprocessor((const char *)data, size, "fuzz.json", &c) == AV_OK) {
        if (c.resize_h < 1 || c.resize_w < 1 || !(c.rescale_factor > 0) || !(c.image_std[0] > 0) ||
            !(c.image_std[1] > 0) || !(c.image_std[2] > 0))
            abort();
    }
    return 0;
}
