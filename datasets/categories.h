/* categories.h - what kind of token a token is, for colouring and statistics:
 * special tokens, punctuation, digits, white space, word continuations, and how often
 * each token occurs in a run.
 *
 * Flags come from the token's text as the tokenizer spells it (tokens.jsonl "text"):
 *   WordPiece ("bert"): "##x" continues the previous word.
 *   BPE ("gpt2", and the Llama family: llama, mistral, qwen2, qwen3): a byte-level
 *     spelling maps bytes to code points (space = "Ġ", newline = "Ċ"); it is mapped back
 *     to bytes first. A SentencePiece piece (Llama 2, Mistral: "▁the", "<0x0A>") has
 *     its "▁" read as a space and a byte-fallback token as its byte. A token continues the previous
 *     word when it starts inside a word (a letter, digit or mark, or the middle of a
 *     UTF-8 character) and the previous token of the item ends inside one: "Ġhel"+"lo"
 *     and "Ġ199"+"0" continue, "Ġworld", "(" + "hello", the first token and anything
 *     after a special or white-space token do not.
 *   Patches ("vit"): only the special class token is recognised.
 * Special: [CLS] [SEP] [PAD] [MASK] [UNK] [unusedN] <|endoftext|> <s> </s> <pad> <unk>
 *   <mask> <cls>, and every <|name|> (the LLMs' control tokens: <|im_start|>,
 *   <|begin_of_text|>, <|eot_id|>...). Punctuation follows BERT's rule: every character is in a Unicode P*
 *   category or is ASCII punctuation/symbol (so "$" and "+" count, "£" does not).
 *   Digit: every character is a decimal digit (Nd). The "##" or leading-space marker
 *   is ignored for punctuation and digit.
 *
 * Frequency: av_token_counts is a hash map from token text (exact, case-sensitive) to
 * its count. It copies the strings it keeps; av_token_counts_free releases them. */
#ifndef AV_DATASETS_CATEGORIES_H
#define AV_DATASETS_CATEGORIES_H
#include <stdint.h>

enum {
    AV_TOK_SPECIAL = 1u << 0,
    AV_TOK_PUNCT = 1u << 1,
    AV_TOK_DIGIT = 1u << 2,
    AV_TOK_CONTINUATION = 1u << 3, /* continues the previous token's word */
    AV_TOK_SPACE = 1u << 4,        /* only white space (byte-level BPE: "Ġ", "ĊĊ") */
};

typedef enum { AV_TOKSCHEME_WORDPIECE = 0, AV_TOKSCHEME_BYTE_BPE, AV_TOKSCHEME_PATCH } av_tok_scheme;

/* "bert" -> WordPiece, "gpt2", "llama", "mistral", "qwen2", "qwen3" -> BPE, "vit" ->
 * patches; AV_ERR otherwise (the message lists them). */
int av_tok_scheme_for_model(const char *model_type, av_tok_scheme *out);

/* Flags of one token; prev is the previous token of the same item, NULL for the first. */
uint32_t av_token_flags(const char *token, const char *prev, av_tok_scheme scheme);

/* One category per token for a colour legend, by priority: special, space, punct,
 * digit, continuation, word. */
typedef enum {
    AV_TOKCAT_WORD = 0, AV_TOKCAT_CONTINUATION, AV_TOKCAT_DIGIT, AV_TOKCAT_PUNCT,
    AV_TOKCAT_SPACE, AV_TOKCAT_SPECIAL, AV_TOKCAT_COUNT
} av_tok_category;
av_tok_category av_token_category(uint32_t flags);
const char *av_token_category_name(av_tok_category c); /* "word", "continuation", ... */

/* Byte-level BPE spelling back to raw bytes (GPT-2's bytes_to_unicode inverted).
 * Writes at most cap-1 bytes and a NUL; returns the byte count, or -1 when the spelling
 * has a code point that is no byte's image. */
int av_byte_bpe_decode(const char *token, char *out, int cap);

typedef struct av_token_counts av_token_counts;
int av_token_counts_new(av_token_counts **out);
/* Counts one occurrence. */
int av_token_counts_add(av_token_counts *c, const char *token);
/* Occurrences so far (0 when never seen). */
int64_t av_token_counts_get(const av_token_counts *c, const char *token);
int64_t av_token_counts_distinct(const av_token_counts *c);
int64_t av_token_counts_total(const av_token_counts *c);
void av_token_counts_free(av_token_counts *c);

/* freq[i] = occurrences of tokens[i] among tokens[0..n): a run's "frequency" colour. */
int av_token_frequencies(const char *const *tokens, int64_t n, int64_t *freq);
#endif
