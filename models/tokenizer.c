/* tokenizer.c - see tokenizer.h: picks the scheme by model type and the files the folder
 * has, and adds the special tokens around the plain encodings of wordpiece.c and hftok.c. */
#include "models/tokenizer.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "models/gpt2files.h"
#include "models/hftok.h"
#include "models/tokgguf.h"
#include "models/tokjson.h"
#include "models/wordpiece.h"

struct av_tokenizer {
    av_wordpiece *wp;    /* exactly one of the two is set */
    av_hftok *hf;
};

int av_tokenizer_load(const char *model_dir, const char *model_type, av_tokenizer **out) {
    *out = NULL;
    av_tokenizer *t = av_calloc(1, sizeof *t);
    if (!t) return AV_ERR_NOMEM;
    char probe[4096];
    int rc;
    if (strcmp(model_type, "bert") == 0) rc = av_wordpiece_load(model_dir, &t->wp);
    else if (strcmp(model_type, "vit") == 0) rc = av_fail("%s: model type 'vit' has no tokenizer", model_dir);
    else if (strcmp(model_type, "gpt2") == 0 && av_file_exists(av_path_join(probe, sizeof probe, model_dir, "vocab.json")))
        rc = av_gpt2files_load(model_dir, &t->hf);
    else if (strcmp(model_type, "gpt2") == 0 && !av_file_exists(av_path_join(probe, sizeof probe, model_dir, "tokenizer.json")))
        rc = av_fail("%s/vocab.json: cannot open (and there is no tokenizer.json)", model_dir);
    else rc = av_tokjson_load(model_dir, &t->hf);
    if (rc != AV_OK) { free(t); return rc; }
    *out = t;
    return AV_OK;
}

int av_tokenizer_from_gguf_parts(const av_tok_parts *p, av_tokenizer **out) {
    *out = NULL;
    av_tokenizer *t = av_calloc(1, sizeof *t);
    if (!t) return AV_ERR_NOMEM;
    int rc = av_tokgguf_build(p, &t->hf);
    if (rc != AV_OK) { free(t); return rc; }
    *out = t;
    return AV_OK;
}

void av_tokenizer_free(av_tokenizer *t) {
    if (!t) return;
    av_wordpiece_free(t->wp);
    av_hftok_free(t->hf);
    free(t);
}

int av_tokenizer_encode(const av_tokenizer *t, const char *text, const char *text_b, av_encoding *enc) {
    if (!t->wp) return av_hftok_encode_special(t->hf, text, text_b, enc);
    /* [CLS] a [SEP] (b [SEP]); the second segment and its [SEP] have type 1 */
    int rc = av_encoding_push(enc, t->wp->cls, 0);
    if (rc == AV_OK) rc = av_wordpiece_encode(t->wp, text, 0, enc);
    if (rc == AV_OK) rc = av_encoding_push(enc, t->wp->sep, 0);
    if (rc == AV_OK && text_b) rc = av_wordpiece_encode(t->wp, text_b, 1, enc);
    if (rc == AV_OK && text_b) rc = av_encoding_push(enc, t->wp->sep, 1);
    return rc;
}

int av_tokenizer_encode_plain(const av_tokenizer *t, const char *text, av_encoding *enc) {
    return t->wp ? av_wordpiece_encode(t->wp, text, 0, enc) : av_hftok_encode(t->hf, text, 0, enc);
}

const char *av_tokenizer_token(const av_tokenizer *t, int32_t id) {
    if (t->wp) return id >= 0 && id < t->wp->vocab.size ? t->wp->vocab.tokens[id] : NULL;
    return id >= 0 && id < t->hf->size ? t->hf->names[id] : NULL;
}

int av_tokenizer_vocab_size(const av_tokenizer *t) { return t->wp ? (int)t->wp->vocab.size : (int)t->hf->size; }

int32_t av_tokenizer_cls(const av_tokenizer *t) { return t->wp ? t->wp->cls : -1; }
int32_t av_tokenizer_sep(const av_tokenizer *t) { return t->wp ? t->wp->sep : -1; }
int32_t av_tokenizer_pad(const av_tokenizer *t) { return t->wp ? t->wp->pad : t->hf->pad; }
int32_t av_tokenizer_unk(const av_tokenizer *t) { return t->wp ? t->wp->unk : t->hf->unk; }
int32_t av_tokenizer_bos(const av_tokenizer *t) { return t->wp ? -1 : t->hf->bos; }
int32_t av_tokenizer_eos(const av_tokenizer *t) { return t->wp ? -1 : t->hf->eos; }
av_tok_spelling av_tokenizer_spelling(const av_tokenizer *t) { return t->wp ? AV_SPELL_PLAIN : t->hf->spelling; }

void av_encoding_clear(av_encoding *e) { e->count = 0; }

void av_encoding_free(av_encoding *e) {
    free(e->ids);
    free(e->type_ids);
    memset(e, 0, sizeof *e);
}

int av_encoding_push(av_encoding *e, int32_t id, int32_t type_id) {
    if (e->count == e->cap) {
        if (e->cap > INT_MAX / 2) return av_fail("too many tokens in one text (%d)", e->count);
        int cap = e->cap ? e->cap * 2 : 64;
        int32_t *ids = realloc(e->ids, (size_t)cap * sizeof *ids);
        if (ids) e->ids = ids;
        int32_t *types = realloc(e->type_ids, (size_t)cap * sizeof *types);
        if (types) e->type_ids = types;
        if (!ids || !types) return av_fail("out of memory (token ids)"), AV_ERR_NOMEM;
        e->cap = cap;
    }
    e->ids[e->count] = id;
    e->type_ids[e->count] = type_id;
    e->count++;
    return AV_OK;
}
