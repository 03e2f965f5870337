/* test_forward.c - our BERT / GPT-2 / ViT forward passes (CPU backend) against Hugging Face
 * transformers' own activations (tests/fixtures/activations, written by
 * make_activations.py): every layer's q and k and the final hidden states must match with a
 * relative L2 error <= 1e-4 on the real (unpadded) tokens. Covers F32, F16 and BF16
 * checkpoints, a sharded checkpoint, a padded batch with a sentence pair (token types), the
 * causal mask, ViT patch embedding, and the real all-MiniLM-L6-v2 weights.
 * Also checks that an item's q/k do not depend on the padding of its batch. */
#include <string.h>
#include "tests/check.h"
#include "tests/forward_cases.h"

/* The forward pass rejects what would read outside the weights. */
static void test_bad_batches(void) {
    av_model m;
    if (av_model_load("tests/fixtures/models/bert-tiny", av_backend_cpu(), &m)) {
        CHECK_MSG(0, "%s", av_last_error());
        return;
    }
    int32_t ids[3] = {2, 100000, 3}, len[1] = {3}, types[3] = {0, 0, 5};
    av_batch b = {.B = 1, .T = 3, .ids = ids, .lengths = len};
    CHECK(av_model_forward(&m, &b, NULL, NULL, NULL) == AV_ERR);
    CHECK(strstr(av_last_error(), "vocabulary") != NULL);
    ids[1] = 7;
    b.types = types;
    CHECK(av_model_forward(&m, &b, NULL, NULL, NULL) == AV_ERR);
    types[2] = 1;
    CHECK(av_model_forward(&m, &b, NULL, NULL, NULL) == AV_OK);
    len[0] = 4;
    CHECK(av_model_forward(&m, &b, NULL, NULL, NULL) == AV_ERR);
    int32_t *many = calloc(65, sizeof(int32_t)), l65[1] = {65};
    av_batch big = {.B = 1, .T = 65, .ids = many, .lengths = l65};
    CHECK(av_model_forward(&m, &big, NULL, NULL, NULL) == AV_ERR); /* 64 positions */
    CHECK(strstr(av_last_error(), "positions") != NULL);
    free(many);
    av_model_free(&m);
}

int main(void) {
    const av_backend *be = av_backend_cpu();
    run_case(be, "tests/fixtures/models/bert-tiny", "bert-tiny");
    run_case(be, "tests/fixtures/models/bert-tiny-f16", "bert-tiny-f16");
    run_case(be, "tests/fixtures/models/bert-tiny-bf16", "bert-tiny-bf16");
    run_case(be, "tests/fixtures/models/gpt2-tiny", "gpt2-tiny");
    run_case(be, "tests/fixtures/models/gpt2-tiny-sharded", "gpt2-tiny-sharded");
    run_case(be, "tests/fixtures/models/vit-tiny", "vit-tiny");
    run_case(be, ".deps/models/all-MiniLM-L6-v2", "minilm");
    test_bad_batches();
    return av_check_summary("test_forward");
}
