/* gpt2files.c - see gpt2files.h. */
#include "models/gpt2files.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

static int load_vocab_json(av_vocab *v, const char *path) {
    size_t len;
    char *text = av_read_file(path, &len);
    if (!text) return AV_ERR;
    cJSON *root = cJSON_ParseWithLength(text, len);
    free(text);
    if (!cJSON_IsObject(root)) { cJSON_Delete(root); return av_fail("%s: not a JSON object", path); }
    int rc = AV_OK;
    const cJSON *it;
    cJSON_ArrayForEach(it, root) {
        double d = it->valuedouble;
        if (!cJSON_IsNumber(it) || d < 0 || d > 2e9 || d != (double)(int32_t)d) {
            rc = av_fail("%s: token '%.40s' has no valid id", path, it->string ? it->string : "");
            break;
        }
        rc = av_vocab_add(v, it->string, strlen(it->string), (int32_t)d);
        if (rc) break;
    }
    cJSON_Delete(root);
    if (rc == AV_OK && v->count == 0) rc = av_fail("%s: empty vocabulary", path);
    if (rc == AV_OK) rc = av_vocab_finish(v);
    return rc;
}

static int load_merges(av_bpe *b, const char *path) {
    size_t len;
    char *text = av_read_file(path, &len);
    if (!text) return AV_ERR;
    int rc = AV_OK;
    size_t lineno = 0, p = 0;
    while (p < len && rc == AV_OK) {
        char *nl = memchr(text + p, '\n', len - p);
        size_t end = nl ? (size_t)(nl - text) : len;
        char *line = text + p;
        size_t ll = end - p;
        p = end + 1;
        lineno++;
        if (ll && line[ll - 1] == '\r') ll--;
        /* "#version: 0.2" headers are skipped, as both Hugging Face readers do */
        if (ll >= 8 && memcmp(line, "#version", 8) == 0) continue;
        char *sp = memchr(line, ' ', ll);
        if (!sp || sp == line || sp == line + ll - 1 || memchr(sp + 1, ' ', (size_t)(line + ll - sp - 1))) {
            rc = av_fail("%s: line %zu: not two tokens separated by one space", path, lineno);
            break;
        }
        char where[4200];
        snprintf(where, sizeof where, "%s: line %zu", path, lineno);
        rc = av_bpe_add_merge(b, line, (size_t)(sp - line), sp + 1, (size_t)(line + ll - sp - 1), where);
    }
    free(text);
    return rc;
}

/* tokenizer_config.json's add_prefix_space, when the folder has that file. */
static int load_config(const char *path, int *add_prefix_space) {
    *add_prefix_space = 0;
    if (!av_file_exists(path)) return AV_OK;
    size_t len;
    char *text = av_read_file(path, &len);
    if (!text) return AV_ERR;
    cJSON *cfg = cJSON_ParseWithLength(text, len);
    free(text);
    int rc = AV_OK;
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(cfg, "add_prefix_space");
    if (!cJSON_IsObject(cfg)) rc = av_fail("%s: not a JSON object", path);
    else if (it && !cJSON_IsNull(it) && !cJSON_IsBool(it))
        rc = av_fail("%s: 'add_prefix_space' is not true, false or null", path);
    else *add_prefix_space = cJSON_IsTrue(it);
    cJSON_Delete(cfg);
    return rc;
}

int av_gpt2files_load(const char *dir, av_hftok **out) {
    *out = NULL;
    char vpath[4096], mpath[4096], cpath[4096];
    av_path_join(vpath, sizeof vpath, dir, "vocab.json");
    av_path_join(mpath, sizeof mpath, dir, "merges.txt");
    av_path_join(cpath, sizeof cpath, dir, "tokenizer_config.json");
    av_hftok *h = av_hftok_new();
    if (!h) return AV_ERR_NOMEM;
    av_vocab v;
    av_vocab_init(&v);
    int aps = 0;
    int rc = load_vocab_json(&v, vpath);
    if (rc == AV_OK) rc = load_config(cpath, &aps);
    av_bpe_opts o = { .byte_level = 1, .unk = -1 };
    /* the merge table grows as merges.txt is read */
    if (rc == AV_OK) rc = av_bpe_new(&v, &o, 0, &h->model);
    else av_vocab_free(&v);
    if (rc == AV_OK) rc = load_merges(h->model, mpath);
    if (rc == AV_OK) {
        av_pre_step *st = &h->pipe.pre[h->pipe.n_pre++];
        memset(st, 0, sizeof *st);
        st->kind = AV_PRE_BYTELEVEL;
        st->add_prefix_space = aps;
        rc = av_regex_new(AV_GPT2_SPLIT_REGEX, 0, vpath, &st->pattern);
    }
    if (rc == AV_OK) {
        h->spelling = AV_SPELL_BYTE_LEVEL;
        h->eos = av_vocab_find(av_bpe_vocab(h->model), "<|endoftext|>", 13);
        if (h->eos >= 0) rc = av_hftok_add_token(h, "<|endoftext|>", h->eos, 1, 0, 0, 0, 0);
    }
    if (rc == AV_OK) rc = av_hftok_finish(h);
    if (rc != AV_OK) { av_hftok_free(h); return rc; }
    *out = h;
    return AV_OK;
}
