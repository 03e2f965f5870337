/* tokenizer.h - text to token ids, matching Hugging Face token for token.
 *   WordPiece (BERT family): vocab.txt (+ tokenizer_config.json do_lower_case /
 *     tokenize_chinese_chars / strip_accents when present)
 *   GPT-2 byte-level BPE: vocab.json + merges.txt
 * Unicode categories and normalization come from utf8proc. An av_tokenizer owns its
 * tables; av_tokenizer_free releases them. Token strings returned are owned by the
 * tokenizer (the vocabulary's spelling, e.g. "##ing" or "Ġthe"). */
#ifndef AV_MODELS_TOKENIZER_H
#define AV_MODELS_TOKENIZER_H
#include <stdint.h>

typedef struct av_tokenizer av_tokenizer;

typedef struct {
    int32_t *ids;
    int32_t *type_ids;     /* 0 for the first segment, 1 for the second (BERT pairs) */
    int count, cap;
} av_encoding;

/* Loads the tokenizer of a model folder: "bert" -> WordPiece, "gpt2" -> byte-level BPE. */
int av_tokenizer_load(const char *model_dir, const char *model_type, av_tokenizer **out);
void av_tokenizer_free(av_tokenizer *t);
/* Encodes text (and text_b when not NULL) with the model's special tokens:
 * BERT: [CLS] a [SEP] (b [SEP]); GPT-2: the bytes as they are (no BOS/EOS, as
 * GPT2Tokenizer does by default). Appends into enc (call av_encoding_clear first). */
int av_tokenizer_encode(const av_tokenizer *t, const char *text, const char *text_b, av_encoding *enc);
/* Encoding without special tokens (what the parity test compares for both schemes too). */
int av_tokenizer_encode_plain(const av_tokenizer *t, const char *text, av_encoding *enc);
const char *av_tokenizer_token(const av_tokenizer *t, int32_t id);
int av_tokenizer_vocab_size(const av_tokenizer *t);
/* Special ids: -1 where the scheme has none. */
int32_t av_tokenizer_cls(const av_tokenizer *t);
int32_t av_tokenizer_sep(const av_tokenizer *t);
int32_t av_tokenizer_pad(const av_tokenizer *t);
int32_t av_tokenizer_unk(const av_tokenizer *t);
void av_encoding_clear(av_encoding *e);
/* Appends one id (growing the arrays); AV_ERR_NOMEM when memory runs out. */
int av_encoding_push(av_encoding *e, int32_t id, int32_t type_id);
void av_encoding_free(av_encoding *e);
#endif
