/* tokenizer_invariants.h - what any text, valid UTF-8 or not, must give the tokenizers
 * (shared by the libFuzzer target tests/fuzz_tokenizers.c and the corpus replay in
 * tests/test_tokenizers.c): encoding succeeds; every id is a token of the vocabulary;
 * BERT output starts with [CLS] and ends with [SEP]; the byte-level BPE tokens spell the
 * input bytes exactly. Returns 0 when all hold, -1 (with a line on stderr) otherwise. */
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
        if (strcmp((const char *)s, "<|endoftext|>") == 0) { memcpy(o, s, 13); o += 13; continue; }
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

static inline int av_fuzz_tokenize(const av_tokenizer *bert, const av_tokenizer *bpe, const char *text) {
    av_encoding e = {0};
    int bad = 0;
    if (av_tokenizer_encode(bert, text, text, &e) != AV_OK) bad = fprintf(stderr, "bert: %s\n", av_last_error());
    for (int i = 0; i < e.count && !bad; i++)
        if (!av_tokenizer_token(bert, e.ids[i]) || e.type_ids[i] < 0 || e.type_ids[i] > 1)
            bad = fprintf(stderr, "bert: bad id %d\n", e.ids[i]);
    if (!bad && (e.count < 3 || e.ids[0] != av_tokenizer_cls(bert) || e.ids[e.count - 1] != av_tokenizer_sep(bert)))
        bad = fprintf(stderr, "bert: not [CLS] ... [SEP]\n");
    av_encoding_clear(&e);
    if (!bad && av_tokenizer_encode_plain(bpe, text, &e) != AV_OK) bad = fprintf(stderr, "bpe: %s\n", av_last_error());
    if (!bad) {
        char *back = av_fuzz_bpe_decode(bpe, &e);
        if (!back || strcmp(back, text) != 0) bad = fprintf(stderr, "bpe: tokens do not spell the input\n");
        free(back);
    }
    av_encoding_free(&e);
    return bad ? -1 : 0;
}
#endif
