/* tokenizer.c - see tokenizer.h: picks the scheme by model type and adds the special
 * tokens around the plain encodings of wordpiece.c and bpe.c. */
#include "models/tokenizer.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "models/bpe.h"
#include "models/wordpiece.h"

struct av_tokenizer {
    av_wordpiece *wp;    /* exactly one of the two is set */
    av_bpe *bpe;
};

int av_tokenizer_load(const char *model_dir, const char *model_type, av_tokenizer **out) {
    *out = NULL;
    av_tokenizer *t = av_calloc(1, sizeof *t);
    if (!t) return AV_ERR_NOMEM;
    int rc;
    if (strcmp(model_type, "bert") == 0) rc = av_wordpiece_load(model_dir, &t->wp);
    else if (strcmp(model_type, "gpt2") == 0) rc = av_bpe_load(model_dir, &t->bpe);
    else rc = av_fail("%s: no tokenizer for model type '%s' (bert and gpt2 have one)", model_dir, model_type);
    if (rc != AV_OK) { free(t); return rc; }
    *out = t;
    return AV_OK;
}

void av_tokenizer_free(av_tokenizer *t) {
    if (!t) return;
    av_wordpiece_free(t->wp);
    av_bpe_free(t->bpe);
    free(t);
}

static int encode_plain(const av_tokenizer *t, const char *text, int32_t type_id, av_encoding *enc) {
    return t->wp ? av_wordpiece_encode(t->wp, text, type_id, enc) : av_bpe_encode(t->bpe, text, type_id, enc);
}

int av_tokenizer_encode(const av_tokenizer *t, const char *text, const char *text_b, av_encoding *enc) {
    int rc = AV_OK;
    if (t->wp) {
        /* [CLS] a [SEP] (b [SEP]); the second segment and its [SEP] have type 1 */
        rc = av_encoding_push(enc, t->wp->cls, 0);
        if (rc == AV_OK) rc = av_wordpiece_encode(t->wp, text, 0, enc);
        if (rc == AV_OK) rc = av_encoding_push(enc, t->wp->sep, 0);
        if (rc == AV_OK && text_b) rc = av_wordpiece_encode(t->wp, text_b, 1, enc);
        if (rc == AV_OK && text_b) rc = av_encoding_push(enc, t->wp->sep, 1);
        return rc;
    }
    rc = av_bpe_encode(t->bpe, text, 0, enc);
    if (rc == AV_OK && text_b) rc = av_bpe_encode(t->bpe, text_b, 1, enc);
    return rc;
}

int av_tokenizer_encode_plain(const av_tokenizer *t, const char *text, av_encoding *enc) {
    return encode_plain(t, text, 0, enc);
}

static const av_vocab *vocab_of(const av_tokenizer *t) {
    return t->wp ? &t->wp->vocab : av_bpe_vocab(t->bpe);
}

const char *av_tokenizer_token(const av_tokenizer *t, int32_t id) {
    const av_vocab *v = vocab_of(t);
    return id >= 0 && id < v->size ? v->tokens[id] : NULL;
}

int av_tokenizer_vocab_size(const av_tokenizer *t) { return (int)vocab_of(t)->size; }

int32_t av_tokenizer_cls(const av_tokenizer *t) { return t->wp ? t->wp->cls : -1; }
int32_t av_tokenizer_sep(const av_tokenizer *t) { return t->wp ? t->wp->sep : -1; }
int32_t av_tokenizer_pad(const av_tokenizer *t) { return t->wp ? t->wp->pad : -1; }
int32_t av_tokenizer_unk(const av_tokenizer *t) { return t->wp ? t->wp->unk : -1; }

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
