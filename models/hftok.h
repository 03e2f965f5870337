/* hftok.h - a Hugging Face tokenizer pipeline around the BPE model, as tokenizers runs it:
 *   1. added tokens whose "normalized" flag is off are found in the raw text (leftmost,
 *      longest at one position; lstrip/rstrip take the white space beside them along;
 *      single_word ones only between non-word characters);
 *   2. each stretch between them is normalized (pretok.h), and added tokens with the flag
 *      on are found in the normalized text the same way;
 *   3. each remaining stretch is pre-tokenized (pretok.h) and every piece goes through
 *      the BPE model (bpe.h);
 *   4. with special tokens, the template (TemplateProcessing, or the add_bos_token /
 *      add_eos_token rule of tokenizer_config.json as transformers applies it) places
 *      the sequences and the special tokens around them.
 * Filled by the loaders: tokjson.c (tokenizer.json), gpt2files.c (vocab.json +
 * merges.txt), tokgguf.c (a GGUF's tokenizer.ggml.* arrays). An av_hftok owns its model,
 * pipeline, added tokens and strings; av_hftok_free releases them. Encoding only reads it
 * (the model's cache has its own lock), so several threads may share one. */
#ifndef AV_MODELS_HFTOK_H
#define AV_MODELS_HFTOK_H
#include <stdint.h>

#include "models/bpe.h"
#include "models/pretok.h"
#include "models/tokenizer.h"

typedef struct {
    char *content;        /* the token's text */
    char *match;          /* what is searched: content, or content normalized */
    size_t len, match_len;
    int32_t id;
    uint8_t special, lstrip, rstrip, normalized, single_word;
} av_added_token;

/* One element of a template: a special token's ids, or sequence A (0) or B (1). */
#define AV_TMPL_MAX 16
typedef struct {
    int seq;              /* -1: the special ids below; 0: A; 1: B */
    int32_t ids[4];
    int nids;
    int32_t type_id;
} av_tmpl_item;

typedef struct {
    av_bpe *model;
    av_textpipe pipe;
    av_added_token *added;
    int n_added, cap_added;
    int has_template;     /* else: A, then B with type id 1 */
    av_tmpl_item single[AV_TMPL_MAX], pair[AV_TMPL_MAX];
    int n_single, n_pair;
    int32_t bos, eos, unk, pad;   /* -1 where none */
    av_tok_spelling spelling;
    /* made by av_hftok_finish */
    const char **names;   /* [size] id -> token text (added tokens over the model's) */
    int32_t size;
    int *order[2];        /* added token indices by first byte, raw (0) and normalized (1) */
    int first[2][257];    /* order[k][first[k][c] .. first[k][c+1]) start with byte c */
} av_hftok;

av_hftok *av_hftok_new(void);
void av_hftok_free(av_hftok *h);
/* Adds an added token (a later one with the same content replaces the earlier, as
 * tokenizers' map does). An empty content is ignored. */
int av_hftok_add_token(av_hftok *h, const char *content, int32_t id, int special, int lstrip, int rstrip,
                       int normalized, int single_word);
/* The id of s among the added tokens, else in the model's vocabulary, else -1. */
int32_t av_hftok_find(const av_hftok *h, const char *s);
/* Call once the model, pipeline and added tokens are set: normalizes the added tokens
 * that ask for it and builds the id -> text table and the matchers. */
int av_hftok_finish(av_hftok *h);
/* Appends the ids of text with the given type id, without template. */
int av_hftok_encode(const av_hftok *h, const char *text, int32_t type_id, av_encoding *enc);
/* Appends the ids of text (and text_b when not NULL) with the template. */
int av_hftok_encode_special(const av_hftok *h, const char *text, const char *text_b, av_encoding *enc);
#endif
