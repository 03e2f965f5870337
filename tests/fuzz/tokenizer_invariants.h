/* tokenizer_invariants.h - what any text, valid UTF-8 or not, must give the tokenizers
 * (shared by the libFuzzer target tests/fuzz_tokenizers.c and the corpus replay in
 * tests/test_tokenizers.c): encoding succeeds; every id is a token of the vocabulary;
 * BERT output starts with [CLS] and ends with [SEP]; the byte-level BPE tokens (GPT-2's,
 * and a Llama 3-style tokenizer.json's with its PCRE2 split) spell the input bytes
 * exactly; a SentencePiece-style one (byte fallback) gives BOS then valid ids; every
 * tokenizer's labels come out, one per token. Returns 0 when all hold, -1 (with a line on
 * stderr) otherwise. */
#ifndef AV_TESTS_FUZZ_TOKENIZER_INVARIANTS_H
#define AV_TESTS_FUZZ_TOKENIZER_INVARIANTS_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "models/tokenizer.h"

/* GPT-2's bytes_to_unicode, inverted: the byte a character of a byte-level token stands for. */
static inline int av_fuzz_unbyte(int32_t cp) {
    if ((cp >= 0x21 && cp <= 0x7E) || (cp >= 0xA1 && cp <= 0xAC) || (cp >= 0xAE && cp <= 0xFF)) return cp;
    int k = 0;
    for (int b = 0; b < 256; b++) {
        if ((b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)) continue;
        if (cp == 256 + k) return b;
        k++;
    }
    return -1;
}

/* The bytes the tokens of e spell under a byte-level BPE ("<|endoftext|>" as itself);
 * NULL if a token is not byte-level. Caller frees. */
static inline char *av_fuzz_bpe_decode(const av_tokenizer *t, const av_encoding *e) {
    size_t cap = 1;
    for (int i = 0; i < e->count; i++) {
        const char *s = av_tokenizer_token(t, e->ids[i]);
        if (!s) return NULL;
        cap += strlen(s);
    }
    char *out = malloc(cap), *o = out;
    for (int i = 0; i < e->count; i++) {
        const uint8_t *s = (const uint8_t *)av_tokenizer_token(t, e->ids[i]);
        while (*s) {
            int32_t cp = -1;
            if (*s < 0x80) cp = *s++;
            else if ((*s & 0xE0) == 0xC0 && (s[1] & 0xC0) == 0x80) { cp = (s[0] & 0x1F) << 6 | (s[1] & 0x3F); s += 2; }
            int b = cp < 0 ? -1 : av_fuzz_unbyte(cp);
            if (b < 0) { free(out); return NULL; }
            *o++ = (char)b;
        }
    }
    *o = 0;
    return out;
}

/* The tokenizers checked: bert-tiny and gpt2-tiny (tests/fixtures/models), bl-llama3 and
 * sp-legacy (tests/fixtures/tokenizers/llm). */
typedef struct { av_tokenizer *bert, *bpe, *bl, *sp; } av_fuzz_set;

static inline void av_fuzz_set_free(av_fuzz_set *s) {
    av_tokenizer_free(s->bert); av_tokenizer_free(s->bpe); av_tokenizer_free(s->bl); av_tokenizer_free(s->sp);
    memset(s, 0, sizeof *s);
}

/* Loads the set from the repository root root; AV_ERR (all freed) when one fails. */
static inline int av_fuzz_set_load(const char *root, av_fuzz_set *s) {
    char p[4][4200];
    snprintf(p[0], sizeof p[0], "%s/tests/fixtures/models/bert-tiny", root);
    snprintf(p[1], sizeof p[1], "%s/tests/fixtures/models/gpt2-tiny", root);
    snprintf(p[2], sizeof p[2], "%s/tests/fixtures/tokenizers/llm/bl-llama3", root);
    snprintf(p[3], sizeof p[3], "%s/tests/fixtures/tokenizers/llm/sp-legacy", root);
    memset(s, 0, sizeof *s);
    if (av_tokenizer_load(p[0], "bert", &s->bert) || av_tokenizer_load(p[1], "gpt2", &s->bpe) ||
        av_tokenizer_load(p[2], "llama", &s->bl) || av_tokenizer_load(p[3], "llama", &s->sp)) {
        av_fuzz_set_free(s);
        return AV_ERR;
    }
    return AV_OK;
}

static inline int av_fuzz_ids_valid(const av_tokenizer *t, const av_encoding *e) {
    for (int i = 0; i < e->count; i++)
        if (!av_tokenizer_token(t, e->ids[i])) return 0;
    return 1;
}

static inline int av_fuzz_labels_ok(const av_tokenizer *t, const av_encoding *e) {
    const char **tok = malloc(((size_t)e->count + 1) * sizeof *tok);
    char **lab = malloc(((size_t)e->count + 1) * sizeof *lab);
    int ok = tok && lab;
    for (int i = 0; ok && i < e->count; i++) tok[i] = av_tokenizer_token(t, e->ids[i]);
    if (ok) ok = av_token_labels(tok, e->count, av_tokenizer_spelling(t), lab) == AV_OK;
    for (int i = 0; ok && i < e->count; i++) { ok &= lab[i] != NULL; free(lab[i]); }
    free(tok);
    free(lab);
    return ok;
}

/* Byte-level tokens must spell the input (no normalizer, no added token that strips). */
static inline int av_fuzz_spells(const char *name, const av_tokenizer *t, const char *text) {
    av_encoding e = {0};
    int bad = 0;
    if (av_tokenizer_encode_plain(t, text, &e) != AV_OK) bad = fprintf(stderr, "%s: %s\n", name, av_last_error());
    if (!bad && !av_fuzz_labels_ok(t, &e)) bad = fprintf(stderr, "%s: labels failed\n", name);
    if (!bad) {
        char *back = av_fuzz_bpe_decode(t, &e);
        if (!back || strcmp(back, text) != 0) bad = fprintf(stderr, "%s: tokens do not spell the input\n", name);
        free(back);
    }
    av_encoding_free(&e);
    return bad;
}

static inline int av_fuzz_tokenize(const av_fuzz_set *s, const char *text) {
    av_encoding e = {0};
    int bad = 0;
    if (av_tokenizer_encode(s->bert, text, text, &e) != AV_OK) bad = fprintf(stderr, "bert: %s\n", av_last_error());
    for (int i = 0; i < e.count && !bad; i++)
        if (!av_tokenizer_token(s->bert, e.ids[i]) || e.type_ids[i] < 0 || e.type_ids[i] > 1)
            bad = fprintf(stderr, "bert: bad id %d\n", e.ids[i]);
    if (!bad && (e.count < 3 || e.ids[0] != av_tokenizer_cls(s->bert) || e.ids[e.count - 1] != av_tokenizer_sep(s->bert)))
        bad = fprintf(stderr, "bert: not [CLS] ... [SEP]\n");
    if (!bad && !av_fuzz_labels_ok(s->bert, &e)) bad = fprintf(stderr, "bert: labels failed\n");
    if (!bad) bad = av_fuzz_spells("gpt2", s->bpe, text);
    if (!bad) bad = av_fuzz_spells("bl-llama3", s->bl, text);
    av_encoding_clear(&e);
    if (!bad && av_tokenizer_encode(s->sp, text, NULL, &e) != AV_OK) bad = fprintf(stderr, "sp: %s\n", av_last_error());
    if (!bad && (e.count < 1 || e.ids[0] != av_tokenizer_bos(s->sp) || !av_fuzz_ids_valid(s->sp, &e)))
        bad = fprintf(stderr, "sp: not BOS then valid ids\n");
    if (!bad && !av_fuzz_labels_ok(s->sp, &e)) bad = fprintf(stderr, "sp: labels failed\n");
    av_encoding_free(&e);
    return bad ? -1 : 0;
}
#endif
