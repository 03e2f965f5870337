/* wordpiece.h - BERT WordPiece tokenization, as Hugging Face tokenizers' BertNormalizer +
 * BertPreTokenizer + WordPiece model (the tokenizer.json of every BERT checkpoint):
 *   normalize: drop NUL, U+FFFD and control characters, whitespace -> ' ', spaces around
 *              CJK ideographs, (strip accents: NFD and drop Mn), (lowercase)
 *   split:     on whitespace (dropped) and on punctuation (kept, one character each)
 *   WordPiece: greedy longest match first, "##" continuation, a word with an unknown
 *              piece or over 100 characters -> [UNK]
 * Options come from tokenizer_config.json when the model folder has one (do_lower_case,
 * strip_accents, tokenize_chinese_chars, the special token names); defaults are
 * BertTokenizer's. An av_wordpiece owns its vocabulary; av_wordpiece_free releases it. */
#ifndef AV_MODELS_WORDPIECE_H
#define AV_MODELS_WORDPIECE_H
#include <stdint.h>

#include "models/tokenizer.h"
#include "models/vocab.h"

typedef struct {
    int lowercase;            /* do_lower_case (default 1) */
    int strip_accents;        /* strip_accents; null -> follows lowercase */
    int chinese_chars;        /* tokenize_chinese_chars (default 1) */
} av_wordpiece_opts;

/* A longer word is [UNK] whole (max_input_chars_per_word of every BERT tokenizer). */
#define AV_WORDPIECE_MAX_CHARS 100

typedef struct {
    av_vocab vocab;
    av_wordpiece_opts opts;
    av_specials specials;     /* the special tokens matched in raw text */
    int32_t cls, sep, pad, unk, mask;
} av_wordpiece;

/* Reads dir/vocab.txt (and dir/tokenizer_config.json when present). A vocabulary
 * without the [CLS], [SEP] or [UNK] token is an error naming vocab.txt. */
int av_wordpiece_load(const char *dir, av_wordpiece **out);
void av_wordpiece_free(av_wordpiece *w);
/* Appends the ids of text (no [CLS]/[SEP]) with the given type id. */
int av_wordpiece_encode(const av_wordpiece *w, const char *text, int32_t type_id, av_encoding *enc);
#endif
