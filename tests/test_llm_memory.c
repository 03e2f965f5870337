/* test_llm_memory.c - the memory promise of models/model.h: a BF16 checkpoint stays in
 * its stored precision (mapped) and each layer is widened to f32 only while it runs, so
 * loading plus a forward pass grows the process by about the file plus one layer in f32,
 * not by the f32 copy of the whole model (twice a BF16 file) on top of the mapping.
 *
 * Writes a llama-shaped BF16 checkpoint of ~100 MB (12 layers, hidden 512, 8 query heads
 * over 2 key heads, intermediate 2048, vocab 8192, pseudo-random weights), loads it and
 * runs one batch, and bounds the growth of the peak resident set (VmHWM over the VmRSS
 * before loading) by file + 2 layers in f32 + 48 MB for the activations, thread stacks
 * and allocator slack. Widening everything at load would
 * take file + 2 x file (~300 MB) and fail. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/dtype.h"
#include "base/util.h"
#include "models/model.h"
#include "tests/check.h"

enum { LAYERS = 12, C = 512, HEADS = 8, KV = 2, HD = 64, I = 2048, V = 8192 };

typedef struct {
    char name[96];
    int64_t shape[2];
    int ndim;
    float init;     /* 0: random weights; else a constant (norm weights) */
} tspec;

static int64_t numel(const tspec *t) { return t->ndim == 1 ? t->shape[0] : t->shape[0] * t->shape[1]; }

static int by_name(const void *a, const void *b) { return strcmp(((const tspec *)a)->name, ((const tspec *)b)->name); }

/* The checkpoint as safetensors, BF16, tensors in name order; returns its size. */
static int64_t write_checkpoint(const char *dir) {
    tspec *t = calloc(2 + 9 * LAYERS, sizeof *t);
    int n = 0;
    t[n++] = (tspec){"model.embed_tokens.weight", {V, C}, 2, 0};
    t[n++] = (tspec){"model.norm.weight", {C}, 1, 1};
    for (int l = 0; l < LAYERS; l++) {
        const struct { const char *s; int64_t a, b; int nd; float init; } parts[9] = {
            {"input_layernorm.weight", C, 0, 1, 1}, {"post_attention_layernorm.weight", C, 0, 1, 1},
            {"self_attn.q_proj.weight", HEADS * HD, C, 2, 0}, {"self_attn.k_proj.weight", KV * HD, C, 2, 0},
            {"self_attn.v_proj.weight", KV * HD, C, 2, 0}, {"self_attn.o_proj.weight", C, HEADS * HD, 2, 0},
            {"mlp.gate_proj.weight", I, C, 2, 0}, {"mlp.up_proj.weight", I, C, 2, 0},
            {"mlp.down_proj.weight", C, I, 2, 0}};
        for (int p = 0; p < 9; p++) {
            snprintf(t[n].name, sizeof t[n].name, "model.layers.%d.%s", l, parts[p].s);
            t[n].shape[0] = parts[p].a;
            t[n].shape[1] = parts[p].b;
            t[n].ndim = parts[p].nd;
            t[n].init = parts[p].init;
            n++;
        }
    }
    qsort(t, (size_t)n, sizeof *t, by_name);
    char *hdr = malloc(64 * 1024);
    size_t at = (size_t)sprintf(hdr, "{");
    int64_t off = 0;
    for (int i = 0; i < n; i++) {
        int64_t bytes = 2 * numel(&t[i]);
        if (t[i].ndim == 1)
            at += (size_t)sprintf(hdr + at, "%s\"%s\":{\"dtype\":\"BF16\",\"shape\":[%lld],\"data_offsets\":[%lld,%lld]}",
                                  i ? "," : "", t[i].name, (long long)t[i].shape[0], (long long)off, (long long)(off + bytes));
        else
            at += (size_t)sprintf(hdr + at, "%s\"%s\":{\"dtype\":\"BF16\",\"shape\":[%lld,%lld],\"data_offsets\":[%lld,%lld]}",
                                  i ? "," : "", t[i].name, (long long)t[i].shape[0], (long long)t[i].shape[1],
                                  (long long)off, (long long)(off + bytes));
        off += bytes;
    }
    at += (size_t)sprintf(hdr + at, "}");
    char path[600];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    FILE *f = fopen(path, "wb");
    uint64_t hl = at;
    int ok = f && fwrite(&hl, 8, 1, f) == 1 && fwrite(hdr, 1, at, f) == at;
    uint64_t s = 0x9E3779B97F4A7C15ull;
    uint16_t *buf = malloc(sizeof(uint16_t) * (size_t)I * C);
    for (int i = 0; ok && i < n; i++) {
        int64_t m = numel(&t[i]);
        for (int64_t j = 0; j < m; j++) {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17;
            float x = t[i].init ? t[i].init : 0.04f * ((float)(s >> 40) / 16777216.0f - 0.5f);
            buf[j % ((int64_t)I * C)] = av_f32_to_bf16(x);
            if ((j + 1) % ((int64_t)I * C) == 0 || j + 1 == m) {
                size_t k = (size_t)(j % ((int64_t)I * C)) + 1;
                ok = fwrite(buf, 2, k, f) == k;
            }
        }
    }
    if (f) ok = fclose(f) == 0 && ok;
    free(buf);
    free(hdr);
    free(t);
    snprintf(path, sizeof path, "%s/config.json", dir);
    char cfg[512];
    int len = snprintf(cfg, sizeof cfg,
                       "{\"model_type\":\"llama\",\"hidden_size\":%d,\"num_hidden_layers\":%d,\"num_attention_heads\":%d,"
                       "\"num_key_value_heads\":%d,\"intermediate_size\":%d,\"vocab_size\":%d,"
                       "\"max_position_embeddings\":512,\"rms_norm_eps\":1e-5,\"rope_theta\":10000.0}",
                       C, LAYERS, HEADS, KV, I, V);
    ok = ok && av_write_file_atomic(path, cfg, (size_t)len) == AV_OK;
    return ok ? 8 + (int64_t)at + off : -1;
}

/* VmRSS or VmHWM of this process, bytes. */
static int64_t status_kb(const char *key) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    int64_t v = -1;
    size_t n = strlen(key);
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, key, n)) v = atoll(line + n + 1);
    if (f) fclose(f);
    return v * 1024;
}

static int sink(void *user, const av_layer_out *o) {
    (*(int *)user) += o->Hkv == KV;
    return 0;
}

int main(void) {
    char dir[] = "/tmp/attnviz_test_llm_memory.XXXXXX";
    if (!mkdtemp(dir)) return 1;
    int64_t file = write_checkpoint(dir);
    CHECK(file > 90 << 20);
    /* the peak so far (writing the file took a 2 MB buffer) is below what loading takes;
     * resetting it where the kernel lets us only makes the measure cleaner */
    FILE *reset = fopen("/proc/self/clear_refs", "w");
    if (reset) {
        fputs("5", reset);
        fclose(reset);
    }
    int64_t base = status_kb("VmRSS:");
    CHECK(base > 0);
    av_model m;
    CHECK_MSG(av_model_load(dir, av_backend_cpu(), &m) == AV_OK, "%s", av_last_error());
    int32_t ids[4 * 64], lens[4] = {64, 50, 33, 7};
    for (int i = 0; i < 4 * 64; i++) ids[i] = (i * 977) % V;
    av_batch b = {.B = 4, .T = 64, .ids = ids, .lengths = lens};
    int layers = 0;
    CHECK_MSG(av_model_forward(&m, &b, sink, &layers, NULL) == AV_OK, "%s", av_last_error());
    CHECK(layers == LAYERS);
    int64_t peak = status_kb("VmHWM:"), layer_f32 = m.scratch_floats * 4;
    av_model_free(&m);
    int64_t bound = file + 2 * layer_f32 + (48 << 20);
    printf("BF16 checkpoint %.1f MB, one layer in f32 %.1f MB: peak resident set grew %.1f MB (bound %.1f MB;\n"
           "widening every weight at load would add %.1f MB more)\n",
           file / 1048576.0, layer_f32 / 1048576.0, (peak - base) / 1048576.0, bound / 1048576.0, 2.0 * file / 1048576.0);
    CHECK_MSG(peak - base <= bound, "peak grew by %lld bytes, bound %lld", (long long)(peak - base), (long long)bound);
    av_rm_rf(dir);
    return av_check_summary("test_llm_memory");
}
