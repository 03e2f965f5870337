/* cmd_info.c - `attnviz info MODEL_DIR|FILE.gguf|RUN`: what a model folder holds
 * (architecture from config.json, weight dtypes, parameter count and shards from the
 * safetensors headers), what a GGUF file holds (architecture and sizes from its
 * metadata, tensor types) or what a run folder holds (manifest summary, projections,
 * statistics). --json prints the same as one JSON object. Everything is validated on
 * the way: info on a broken checkpoint fails the way extract would. `attnviz info
 * --device`: the CUDA device this binary would use, named as CUDA reports it, or why
 * there is none. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"
#include "engine/runfolder.h"
#include "kernels/backend/device.h"
#include "models/config.h"
#include "models/dequant.h"
#include "models/gguf_llama.h"
#include "models/safetensors.h"

/* Prints o as JSON on stdout and frees it; rc, or the exit status of a failure to
 * serialise it. */
static int print_json(cJSON *o, int rc) {
    char *s = cJSON_Print(o);
    if (s) printf("%s\n", s);
    else rc = av_cli_fail("info", "cannot serialise JSON");
    free(s);
    cJSON_Delete(o);
    return rc;
}

static void help(void) {
    printf("usage: attnviz info [--json] MODEL_DIR|FILE.gguf|RUN\n"
           "       attnviz info --device\n\n"
           "Describes a Hugging Face model folder (config.json + model.safetensors or\n"
           "model.safetensors.index.json): type, layers, heads, head dim, hidden and\n"
           "intermediate sizes, vocabulary, positions, weight dtypes, parameter count, shards.\n"
           "Or a GGUF file (llama, mistral, qwen2, qwen3): the same figures from its metadata,\n"
           "key/value heads, RoPE, the embedded tokenizer's kind and the tensor types.\n"
           "Or describes a run folder (manifest.json): model, items, tokens, dtype, which\n"
           "projections exist (and how many heads each holds, where not all) and whether\n"
           "statistics do.\n\n"
           "  --json   print one JSON object instead of a table\n"
           "  --device the CUDA device --device auto|cuda would use: 'cuda: NAME' (the name\n"
           "           CUDA reports), or 'cuda: none (WHY)' (exit status 0 either way)\n"
           "  --help   this text\n");
}

/* GPT-2 checkpoints carry the causal mask as attn.bias / attn.masked_bias: buffers, not
 * parameters. Integer tensors (BERT's old embeddings.position_ids) are buffers as well. */
static int is_buffer(const av_model_config *c, const av_st_tensor *t) {
    if (t->dtype != AV_ST_F32 && t->dtype != AV_ST_F16 && t->dtype != AV_ST_BF16 && t->dtype != AV_ST_F64)
        return 1;
    if (c->type != AV_MODEL_GPT2) return 0;
    size_t n = strlen(t->name);
    static const char *const sfx[] = {".attn.bias", ".attn.masked_bias"};
    for (int i = 0; i < 2; i++) {
        size_t m = strlen(sfx[i]);
        if (n >= m && !strcmp(t->name + n - m, sfx[i])) return 1;
    }
    return 0;
}

static const char *act_name(const av_model_config *c) {
    if (c->type == AV_MODEL_LLAMA) return "silu (SwiGLU)";
    return c->act == AV_GELU_ERF ? "gelu (erf)" : "gelu (tanh approximation)";
}

static const char *base_name(const char *p) {
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

static int info_model(const char *dir, int json) {
    av_model_config c;
    if (av_config_load(dir, &c) != AV_OK) return av_cli_fail_last();
    av_safetensors st;
    if (av_safetensors_open(dir, &st) != AV_OK) return av_cli_fail_last();

    int64_t params = 0, buffers = 0;
    int64_t per_dtype[AV_ST_F8_E5M2 + 1] = {0};
    for (int i = 0; i < st.count; i++) {
        const av_st_tensor *t = &st.tensors[i];
        if (is_buffer(&c, t)) buffers += t->numel;
        else params += t->numel;
        per_dtype[t->dtype]++;
    }
    /* Shards in name order (the library keeps the index's first-seen order). */
    const char **shards = calloc((size_t)st.nfiles, sizeof *shards);
    if (!shards) {
        av_safetensors_close(&st);
        return av_cli_fail("info", "out of memory");
    }
    for (int i = 0; i < st.nfiles; i++) {
        int j = i;
        for (; j > 0 && strcmp(shards[j - 1], base_name(st.files[i])) > 0; j--) shards[j] = shards[j - 1];
        shards[j] = base_name(st.files[i]);
    }
    int rc = 0;
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "kind", "model");
        cJSON_AddStringToObject(o, "path", dir);
        cJSON_AddStringToObject(o, "model_type", c.model_type);
        cJSON_AddNumberToObject(o, "num_layers", c.num_layers);
        cJSON_AddNumberToObject(o, "num_heads", c.num_heads);
        cJSON_AddNumberToObject(o, "head_dim", c.head_dim);
        cJSON_AddNumberToObject(o, "hidden", c.hidden);
        cJSON_AddNumberToObject(o, "intermediate", c.intermediate);
        cJSON_AddNumberToObject(o, "vocab_size", c.vocab_size);
        cJSON_AddNumberToObject(o, "max_positions", c.max_positions);
        cJSON_AddStringToObject(o, "activation", c.type == AV_MODEL_LLAMA ? "silu" : c.act == AV_GELU_ERF ? "gelu" : "gelu_tanh");
        if (c.type == AV_MODEL_LLAMA) {
            cJSON_AddNumberToObject(o, "num_kv_heads", c.num_kv_heads);
            cJSON_AddStringToObject(o, "rope_type", av_rope_type_name(c.rope.type));
            cJSON_AddNumberToObject(o, "rope_theta", c.rope.theta);
        }
        if (c.type == AV_MODEL_VIT) {
            cJSON_AddNumberToObject(o, "image_size", c.image_size);
            cJSON_AddNumberToObject(o, "patch_size", c.patch_size);
        }
        cJSON *dt = cJSON_AddObjectToObject(o, "dtypes");
        for (int d = 0; d <= AV_ST_F8_E5M2; d++)
            if (per_dtype[d]) cJSON_AddNumberToObject(dt, av_st_dtype_name((av_st_dtype)d), (double)per_dtype[d]);
        cJSON_AddNumberToObject(o, "num_tensors", st.count);
        cJSON_AddNumberToObject(o, "params", (double)params);
        cJSON_AddNumberToObject(o, "buffer_elements", (double)buffers);
        cJSON *sh = cJSON_AddArrayToObject(o, "shards");
        for (int i = 0; i < st.nfiles; i++) cJSON_AddItemToArray(sh, cJSON_CreateString(shards[i]));
        rc = print_json(o, rc);
    } else {
        printf("model          %s\n", dir);
        printf("type           %s\n", c.model_type);
        printf("layers         %d\n", c.num_layers);
        if (c.type == AV_MODEL_LLAMA && c.num_kv_heads != c.num_heads)
            printf("heads          %d (%d key/value heads)\n", c.num_heads, c.num_kv_heads);
        else
            printf("heads          %d\n", c.num_heads);
        printf("head dim       %d\n", c.head_dim);
        printf("hidden         %d\n", c.hidden);
        printf("intermediate   %d\n", c.intermediate);
        printf("activation     %s\n", act_name(&c));
        if (c.type == AV_MODEL_LLAMA) printf("rope           %s, theta %g\n", av_rope_type_name(c.rope.type), c.rope.theta);
        if (c.type == AV_MODEL_VIT) {
            printf("image          %d x %d px, patches %d x %d px, %d tokens per image\n", c.image_size,
                   c.image_size, c.patch_size, c.patch_size, c.max_positions);
            printf("preprocessing  resize %s (%d x %d), rescale %s (x %g), normalize %s (mean %g %g %g, std %g %g %g)\n",
                   c.do_resize ? "on" : "off", c.resize_w, c.resize_h, c.do_rescale ? "on" : "off",
                   (double)c.rescale_factor, c.do_normalize ? "on" : "off", (double)c.image_mean[0],
                   (double)c.image_mean[1], (double)c.image_mean[2], (double)c.image_std[0],
                   (double)c.image_std[1], (double)c.image_std[2]);
        } else {
            printf("vocab size     %d\n", c.vocab_size);
            printf("max positions  %d\n", c.max_positions);
        }
        printf("weights        ");
        int first = 1;
        for (int d = 0; d <= AV_ST_F8_E5M2; d++)
            if (per_dtype[d]) {
                printf("%s%s (%lld tensor%s)", first ? "" : ", ", av_st_dtype_name((av_st_dtype)d),
                       (long long)per_dtype[d], per_dtype[d] == 1 ? "" : "s");
                first = 0;
            }
        printf("%s\n", first ? "none" : "");
        printf("parameters     %lld", (long long)params);
        if (buffers) printf(" (+ %lld buffer elements not counted)", (long long)buffers);
        printf("\n");
        printf("shards         %d:", st.nfiles);
        for (int i = 0; i < st.nfiles; i++) printf(" %s", shards[i]);
        printf("\n");
    }
    free(shards);
    av_safetensors_close(&st);
    return rc;
}

/* The projections present (the .npy files under proj/), sorted by name for a stable listing. */
static int list_projections(const char *dir, char ***names_out) {
    char path[4096];
    av_path_join(path, sizeof path, dir, "proj");
    *names_out = NULL;
    DIR *d = opendir(path);
    if (!d) return 0;
    char **names = NULL;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".npy")) continue;
        char **grown = realloc(names, (size_t)(n + 1) * sizeof *names);
        if (!grown) break;
        names = grown;
        names[n] = strndup(e->d_name, len - 4);
        if (names[n]) n++;
    }
    closedir(d);
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            char *t = names[j];
            names[j] = names[j - 1];
            names[j - 1] = t;
        }
    *names_out = names;
    return n;
}

/* heads_projected of projection name as the manifest records it, or -1 where it does not. */
static int heads_projected(const av_run *r, const char *name) {
    const cJSON *projs = cJSON_GetObjectItemCaseSensitive(r->manifest, "projections");
    const cJSON *e = cJSON_IsObject(projs) ? cJSON_GetObjectItemCaseSensitive(projs, name) : NULL;
    const cJSON *n = e ? cJSON_GetObjectItemCaseSensitive(e, "heads_projected") : NULL;
    return cJSON_IsNumber(n) ? n->valueint : -1;
}

static int info_run(const char *dir, int json) {
    av_run r;
    if (av_run_open(dir, &r) != AV_OK) return av_cli_fail_last();
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(r.manifest, "model_dir");
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(r.manifest, "dtype");
    const char *model_dir = cJSON_IsString(md) ? md->valuestring : "?";
    const char *dtype = cJSON_IsString(dt) ? dt->valuestring : av_dtype_name(r.q.dtype);
    const cJSON *qr = cJSON_GetObjectItemCaseSensitive(r.manifest, "qk_rope");
    const char *qk_rope = cJSON_IsString(qr) ? qr->valuestring : NULL;
    char path[4096];
    int has_stats = av_file_exists(av_run_path(&r, path, sizeof path, "stats.json"));
    char **proj = NULL;
    int nproj = list_projections(dir, &proj);
    int rc = 0;
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "kind", "run");
        cJSON_AddStringToObject(o, "path", dir);
        cJSON_AddStringToObject(o, "model_type", r.model_type);
        cJSON_AddStringToObject(o, "model_dir", model_dir);
        cJSON_AddNumberToObject(o, "num_layers", r.num_layers);
        cJSON_AddNumberToObject(o, "num_heads", r.num_heads);
        cJSON_AddNumberToObject(o, "num_kv_heads", r.num_kv_heads);
        if (qk_rope) cJSON_AddStringToObject(o, "qk_rope", qk_rope);
        cJSON_AddNumberToObject(o, "head_dim", r.head_dim);
        cJSON_AddNumberToObject(o, "num_items", (double)r.num_items);
        cJSON_AddNumberToObject(o, "num_tokens", (double)r.num_tokens);
        cJSON_AddStringToObject(o, "dtype", dtype);
        cJSON *p = cJSON_AddArrayToObject(o, "projections");
        for (int i = 0; i < nproj; i++) cJSON_AddItemToArray(p, cJSON_CreateString(proj[i]));
        cJSON *hp = cJSON_AddObjectToObject(o, "heads_projected");
        for (int i = 0; i < nproj; i++)
            if (heads_projected(&r, proj[i]) >= 0) cJSON_AddNumberToObject(hp, proj[i], heads_projected(&r, proj[i]));
        cJSON_AddBoolToObject(o, "stats", has_stats);
        rc = print_json(o, rc);
    } else {
        printf("run            %s\n", dir);
        printf("model          %s (%s)\n", model_dir, r.model_type);
        printf("layers         %d\n", r.num_layers);
        if (r.num_kv_heads != r.num_heads)
            printf("heads          %d (%d key heads, shared by groups of %d)\n", r.num_heads, r.num_kv_heads,
                   r.num_heads / r.num_kv_heads);
        else
            printf("heads          %d\n", r.num_heads);
        printf("head dim       %d\n", r.head_dim);
        if (qk_rope) printf("q/k            %s RoPE\n", strcmp(qk_rope, "pre") ? "after" : "before");
        printf("items          %lld\n", (long long)r.num_items);
        printf("tokens         %lld\n", (long long)r.num_tokens);
        printf("dtype          %s\n", dtype);
        printf("projections    ");
        /* a projection of some heads only (project --heads) says how many */
        int total = r.num_layers * r.num_heads;
        for (int i = 0; i < nproj; i++) {
            int n = heads_projected(&r, proj[i]);
            printf("%s%s", i ? ", " : "", proj[i]);
            if (n >= 0 && n < total) printf(" (%d of %d heads)", n, total);
        }
        printf("%s\n", nproj ? "" : "none");
        printf("stats          %s\n", has_stats ? "stats.json" : "none");
    }
    for (int i = 0; i < nproj; i++) free(proj[i]);
    free(proj);
    av_run_close(&r);
    return rc;
}

/* A short string of GGUF metadata for the table ("" when absent or not a string). */
static void gguf_str(const av_gguf *g, const char *key, char *buf, size_t n) {
    const av_gguf_kv *kv = av_gguf_find_kv(g, key);
    buf[0] = 0;
    if (!kv || kv->type != AV_GGUF_STRING) return;
    size_t i = 0;
    for (; i < kv->strs[0].n && i + 1 < n; i++) {
        unsigned char c = (unsigned char)kv->strs[0].s[i];
        buf[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    buf[i] = 0;
}

static double num(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static int info_gguf(const char *path, int json) {
    av_gguf_llama m;
    if (av_gguf_llama_open(path, &m) != AV_OK) return av_cli_fail_last();
    const av_gguf *g = &m.gguf;
    const cJSON *c = m.config;
    /* tensor types in type-number order, and the parameter count */
    enum { NTYPES = 64 };
    int per_type[NTYPES] = {0};
    int64_t params = 0;
    for (int i = 0; i < g->ntensors; i++) {
        if (g->tensors[i].type < NTYPES) per_type[g->tensors[i].type]++;
        params += g->tensors[i].numel;
    }
    char name[128], tok[64], pre[64];
    gguf_str(g, "general.name", name, sizeof name);
    gguf_str(g, "tokenizer.ggml.model", tok, sizeof tok);
    gguf_str(g, "tokenizer.ggml.pre", pre, sizeof pre);
    const av_gguf_kv *tokens = av_gguf_find_kv(g, "tokenizer.ggml.tokens");
    uint64_t ntok = tokens && tokens->type == AV_GGUF_ARRAY ? tokens->count : 0;
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(c, "rope_scaling");
    const cJSON *rt = cJSON_GetObjectItemCaseSensitive(rs, "rope_type");
    int rc = 0;
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "kind", "model");
        cJSON_AddStringToObject(o, "format", "gguf");
        cJSON_AddStringToObject(o, "path", path);
        cJSON_AddNumberToObject(o, "gguf_version", g->version);
        cJSON_AddStringToObject(o, "name", name);
        cJSON_AddStringToObject(o, "model_type", m.arch);
        cJSON_AddNumberToObject(o, "num_layers", num(c, "num_hidden_layers"));
        cJSON_AddNumberToObject(o, "num_heads", num(c, "num_attention_heads"));
        cJSON_AddNumberToObject(o, "num_kv_heads", num(c, "num_key_value_heads"));
        cJSON_AddNumberToObject(o, "head_dim", num(c, "head_dim"));
        cJSON_AddNumberToObject(o, "hidden", num(c, "hidden_size"));
        cJSON_AddNumberToObject(o, "intermediate", num(c, "intermediate_size"));
        cJSON_AddNumberToObject(o, "vocab_size", num(c, "vocab_size"));
        cJSON_AddNumberToObject(o, "max_positions", num(c, "max_position_embeddings"));
        cJSON_AddNumberToObject(o, "rope_theta", num(c, "rope_theta"));
        cJSON_AddItemToObject(o, "rope_scaling", cJSON_Duplicate(rs, 1));
        cJSON_AddStringToObject(o, "tokenizer", tok);
        cJSON_AddNumberToObject(o, "num_tokens", (double)ntok);
        cJSON *dt = cJSON_AddObjectToObject(o, "tensor_types");
        for (int t = 0; t < NTYPES; t++)
            if (per_type[t]) cJSON_AddNumberToObject(dt, av_ggml_type_name(t), per_type[t]);
        cJSON_AddNumberToObject(o, "num_tensors", g->ntensors);
        cJSON_AddNumberToObject(o, "params", (double)params);
        cJSON_AddNumberToObject(o, "file_bytes", (double)g->size);
        cJSON_AddItemToObject(o, "config", cJSON_Duplicate(c, 1));
        rc = print_json(o, rc);
    } else {
        printf("model          %s\n", path);
        printf("format         GGUF v%u, %d tensors, %d metadata keys, alignment %u, %zu bytes\n", g->version,
               g->ntensors, g->nkv, g->alignment, g->size);
        if (name[0]) printf("name           %s\n", name);
        printf("type           %s\n", m.arch);
        printf("layers         %.0f\n", num(c, "num_hidden_layers"));
        printf("heads          %.0f\n", num(c, "num_attention_heads"));
        printf("kv heads       %.0f\n", num(c, "num_key_value_heads"));
        printf("head dim       %.0f\n", num(c, "head_dim"));
        printf("hidden         %.0f\n", num(c, "hidden_size"));
        printf("intermediate   %.0f\n", num(c, "intermediate_size"));
        printf("vocab size     %.0f\n", num(c, "vocab_size"));
        printf("max positions  %.0f\n", num(c, "max_position_embeddings"));
        printf("rope           theta %.10g, scaling %s", num(c, "rope_theta"), cJSON_IsString(rt) ? rt->valuestring : "none");
        if (cJSON_GetObjectItemCaseSensitive(rs, "factor")) printf(" x%g", num(rs, "factor"));
        printf("\n");
        if (tok[0]) printf("tokenizer      %s (%llu tokens%s%s)\n", tok, (unsigned long long)ntok, pre[0] ? ", pre " : "", pre);
        else printf("tokenizer      none\n");
        printf("weights        ");
        int first = 1;
        for (int t = 0; t < NTYPES; t++)
            if (per_type[t]) {
                printf("%s%s (%d tensor%s)", first ? "" : ", ", av_ggml_type_name(t), per_type[t],
                       per_type[t] == 1 ? "" : "s");
                first = 0;
            }
        printf("%s\n", first ? "none" : "");
        printf("parameters     %lld\n", (long long)params);
    }
    av_gguf_llama_close(&m);
    return rc;
}

/* A GGUF file not named .gguf still starts with the format's magic. */
static int has_gguf_magic(const char *path) {
    FILE *f = fopen(path, "rb");
    char magic[4] = {0};
    size_t got = f ? fread(magic, 1, 4, f) : 0;
    if (f) fclose(f);
    return got == 4 && !memcmp(magic, "GGUF", 4);
}

int av_cmd_info(int argc, char **argv) {
    static const struct option opts[] = {{"json", no_argument, 0, 'j'}, {"help", no_argument, 0, 'h'},
                                         {"device", no_argument, 0, 'd'}, {0, 0, 0, 0}};
    int json = 0, device = 0, c;
    while ((c = getopt_long(argc, argv, "+jh", opts, NULL)) != -1) {
        if (c == 'h') {
            help();
            return 0;
        }
        if (c == 'j') json = 1;
        else if (c == 'd') device = 1;
        else return av_cli_usage("info", "unknown option '%s'", argv[optind - 1]);
    }
    if (device) {
        if (json || argc != optind) return av_cli_usage("info", "--device takes no folder and no --json");
        char why[256] = "";
        if (av_cuda_device_count(why, sizeof why) > 0) printf("cuda: %s\n", av_cuda_device_name());
        else printf("cuda: none (%s)\n", why);
        return 0;
    }
    if (argc - optind != 1) return av_cli_usage("info", "expects one MODEL_DIR, FILE.gguf or RUN folder");
    const char *dir = argv[optind];
    char path[4096];
    if (!av_is_dir(dir)) {
        size_t n = strlen(dir);
        int gguf_name = n >= 5 && !strcmp(dir + n - 5, ".gguf");
        if (!av_file_exists(dir)) return av_cli_fail("info", "%s: no such %s", dir, gguf_name ? "file" : "folder");
        if (gguf_name || has_gguf_magic(dir)) return info_gguf(dir, json);
        return av_cli_fail("info", "%s: not a folder (expected a model folder, a GGUF file or a run folder)", dir);
    }
    if (av_file_exists(av_path_join(path, sizeof path, dir, "manifest.json"))) return info_run(dir, json);
    if (av_file_exists(av_path_join(path, sizeof path, dir, "config.json"))) return info_model(dir, json);
    return av_cli_fail("info", "%s: neither a model folder (no config.json) nor a run folder (no manifest.json)", dir);
}
