/* test_forward.c - our BERT / GPT-2 / ViT forward passes (CPU backend) against Hugging Face
 * transformers' own activations (tests/fixtures/activations, written by
 * make_activations.py): every layer's q and k and the final hidden states must match with a
 * relative L2 error <= 1e-4 on the real (unpadded) tokens. Covers F32, F16 and BF16
 * checkpoints, a sharded checkpoint, a padded batch with a sentence pair (token types), the
 * causal mask, ViT patch embedding, and the real all-MiniLM-L6-v2 weights.
 * Also checks that an item's q/k do not depend on the padding of its batch. */
#include <cjson/cJSON.h>
#include <string.h>
#include <unistd.h>
#include "models/safetensors.h"
#include "tests/check.h"
#include "tests/forward_cases.h"

/* Copies a fixture model folder to dst with every tensor renamed: prefix + name, and
 * LayerNorm ".weight"/".bias" as TF-era ".gamma"/".beta" when gamma_beta. The data block
 * is copied unchanged; only the JSON header is rewritten. */
static int renamed_copy(const char *src, const char *dst, const char *prefix, int gamma_beta) {
    char path[512], out[512];
    snprintf(path, sizeof path, "%s/model.safetensors", src);
    size_t n;
    char *buf = av_read_file(path, &n);
    if (!buf || n < 8) return AV_ERR;
    uint64_t hl = 0;
    memcpy(&hl, buf, 8);
    cJSON *h = cJSON_ParseWithLength(buf + 8, (size_t)hl), *nh = cJSON_CreateObject();
    for (cJSON *e = h ? h->child : NULL; e; e = e->next) {
        char name[512];
        if (!strcmp(e->string, "__metadata__")) snprintf(name, sizeof name, "%s", e->string);
        else snprintf(name, sizeof name, "%s%s", prefix, e->string);
        size_t L = strlen(name);
        if (gamma_beta && strstr(name, "LayerNorm")) {
            if (L > 7 && !strcmp(name + L - 7, ".weight")) strcpy(name + L - 7, ".gamma");
            else if (L > 5 && !strcmp(name + L - 5, ".bias")) strcpy(name + L - 5, ".beta");
        }
        cJSON_AddItemToObject(nh, name, cJSON_Duplicate(e, 1));
    }
    char *js = cJSON_PrintUnformatted(nh);
    uint64_t nl = strlen(js);
    av_mkdir_p(dst);
    snprintf(out, sizeof out, "%s/model.safetensors", dst);
    FILE *f = fopen(out, "wb");
    int ok = f && fwrite(&nl, 8, 1, f) == 1 && fwrite(js, 1, nl, f) == nl &&
             fwrite(buf + 8 + hl, 1, n - 8 - hl, f) == n - 8 - hl;
    if (f) fclose(f);
    const char *files[] = {"config.json", "vocab.txt", "tokenizer_config.json", "vocab.json", "merges.txt"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        snprintf(path, sizeof path, "%s/%s", src, files[i]);
        size_t fl;
        char *c = av_file_exists(path) ? av_read_file(path, &fl) : NULL;
        if (c) {
            snprintf(out, sizeof out, "%s/%s", dst, files[i]);
            av_write_file_atomic(out, c, fl);
            free(c);
        }
    }
    free(js);
    cJSON_Delete(h);
    cJSON_Delete(nh);
    free(buf);
    return ok ? AV_OK : AV_ERR;
}

/* Checkpoints saved from the task heads (BertForMaskedLM: "bert.", GPT2LMHeadModel:
 * "transformer.") and TF-converted ones (LayerNorm gamma/beta) load to the same numbers. */
static void test_renamed_checkpoints(void) {
    char dir[] = "/tmp/attnviz_test_forward.XXXXXX", sub[600];
    if (!mkdtemp(dir)) return;
    snprintf(sub, sizeof sub, "%s/bert-prefixed", dir);
    CHECK(renamed_copy("tests/fixtures/models/bert-tiny", sub, "bert.", 1) == AV_OK);
    av_safetensors st;
    if (av_safetensors_open(sub, &st) == AV_OK) { /* the copy really is renamed */
        CHECK(av_safetensors_find(&st, "bert.embeddings.LayerNorm.gamma") != NULL);
        CHECK(av_safetensors_find(&st, "embeddings.word_embeddings.weight") == NULL);
        av_safetensors_close(&st);
    } else {
        CHECK_MSG(0, "%s", av_last_error());
    }
    run_case(av_backend_cpu(), sub, "bert-tiny");
    snprintf(sub, sizeof sub, "%s/gpt2-prefixed", dir);
    CHECK(renamed_copy("tests/fixtures/models/gpt2-tiny", sub, "transformer.", 0) == AV_OK);
    run_case(av_backend_cpu(), sub, "gpt2-tiny");
    av_rm_rf(dir);
}

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
    run_all_cases(be);
    test_renamed_checkpoints();
    test_bad_batches();
    return av_check_summary("test_forward");
}
