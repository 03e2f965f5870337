/* tokenizer.h - text to token ids, matching Hugging Face token for token.
 *   WordPiece (BERT family): vocab.txt (+ tokenizer_config.json do_lower_case /
 *     tokenize_chinese_chars / strip_accents when present)
 *   GPT-2 byte-level BPE: vocab.json + merges.txt (+ tokenizer_config.json add_prefix_space)
 *   any other model type: tokenizer.json, BPE models (byte-level as Llama 3, Qwen2,
 *     SmolLM; SentencePiece-style with byte fallback as Llama 2, Mistral, TinyLlama), see
 *     tokjson.h; + tokenizer_config.json's special tokens and BOS/EOS rule
 *   a GGUF's embedded tokenizer (tokenizer.ggml.*), from the arrays the GGUF reader gives
 * Unicode categories and normalization come from utf8proc, regexes from PCRE2. An
 * av_tokenizer owns its tables; av_tokenizer_free releases them. Token strings returned
 * are owned by the tokenizer (the vocabulary's spelling, e.g. "##ing", "Ġthe", "▁the"). */
#ifndef AV_MODELS_TOKENIZER_H
#define AV_MODELS_TOKENIZER_H
#include <stdint.h>

typedef struct av_tokenizer av_tokenizer;

/* How tokens spell text: WordPiece / plain vocabulary text, GPT-2's byte-level
 * characters ("Ġ" = space), or SentencePiece's metaspace ("▁" = space, "<0xXX>" = byte). */
typedef enum { AV_SPELL_PLAIN, AV_SPELL_BYTE_LEVEL, AV_SPELL_METASPACE } av_tok_spelling;

typedef struct {
    int32_t *ids;
    int32_t *type_ids;     /* 0 for the first segment, 1 for the second (BERT pairs) */
    int count, cap;
} av_encoding;

/* Loads the tokenizer of a model folder: "bert" -> WordPiece (vocab.txt); "gpt2" ->
 * byte-level BPE from vocab.json + merges.txt, or tokenizer.json where those are absent;
 * "vit" has none; any other type -> tokenizer.json (an unsupported kind is an error
 * naming the file and the kind). */
int av_tokenizer_load(const char *model_dir, const char *model_type, av_tokenizer **out);

/* A GGUF's tokenizer, as plain arrays (what tokenizer.ggml.* holds). Built as transformers
 * builds it from the same file (AutoTokenizer.from_pretrained(dir, gguf_file=...)):
 *   "gpt2":  byte-level BPE from tokens + merges; the split regex named by pre ("llama-bpe",
 *            "llama3", "qwen2", "smollm", "gpt-2", "default", ... as llama.cpp names them);
 *            tokens not spelled in the byte alphabet are respelled through it
 *   "llama": SentencePiece-style BPE with byte fallback from tokens + scores (merges when
 *            given, else derived from the scores), the metaspace prepended to the first
 *            piece (add_space_prefix), BOS added unless add_bos says no
 * In both, control tokens (token_type 3) are special added tokens and user-defined ones
 * (4) plain added tokens, matched whole in the text. The arrays are copied. */
typedef struct {
    const char *source;          /* the file named in errors */
    const char *model;           /* tokenizer.ggml.model */
    const char *pre;             /* tokenizer.ggml.pre, NULL when absent */
    const char *architecture;    /* general.architecture, NULL when absent */
    const char *const *tokens;   /* [n_tokens] */
    int64_t n_tokens;
    const float *scores;         /* [n_tokens], NULL when absent */
    const int32_t *token_type;   /* [n_tokens], NULL when absent */
    const char *const *merges;   /* [n_merges] "left right", NULL when absent */
    int64_t n_merges;
    int32_t bos, eos, unk, pad;  /* -1 when absent */
    int add_bos, add_eos;        /* tokenizer.ggml.add_bos_token / add_eos_token; -1 when absent */
    int add_space_prefix;        /* tokenizer.ggml.add_space_prefix; -1 when absent */
} av_tok_parts;
int av_tokenizer_from_gguf_parts(const av_tok_parts *p, av_tokenizer **out);
/* The same from a .gguf file: reads tokenizer.ggml.* (and general.architecture) with the
 * GGUF reader (models/gguf.h). Errors name the file and the key. */
int av_tokenizer_load_gguf(const char *path, av_tokenizer **out);
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
int32_t av_tokenizer_bos(const av_tokenizer *t);
int32_t av_tokenizer_eos(const av_tokenizer *t);
av_tok_spelling av_tokenizer_spelling(const av_tokenizer *t);

/* Readable labels of the tokens of one text, for the views: the text each token stands
 * for, with white space made visible ("␣" space, "↵" newline, "→" tab, other controls as
 * <0xXX>). Byte-level and byte-fallback tokens are decoded to UTF-8; tokens that only
 * together spell a character (an emoji cut in two) each get that whole character; bytes
 * that never complete one stay <0xXX>. WordPiece tokens are their own label. labels[i]
 * is malloc'd (the caller frees each); AV_ERR_NOMEM leaves none allocated. */
int av_token_labels(const char *const *tokens, int n, av_tok_spelling spelling, char **labels);
void av_encoding_clear(av_encoding *e);
/* Appends one id (growing the arrays); AV_ERR_NOMEM when memory runs out. */
int av_encoding_push(av_encoding *e, int32_t id, int32_t type_id);
void av_encoding_free(av_encoding *e);
#endif
