/* pretok.h - the text side of a Hugging Face tokenizer: its normalizer and pre-tokenizer,
 * as tokenizers applies them to each stretch of text between added tokens.
 *   normalizers:     NFC, NFD, NFKC, NFKD (utf8proc), Prepend (to non-empty text),
 *                    Replace (a string or a regex by a string)
 *   pre-tokenizers:  Split (a string or regex, the five split behaviours, invert),
 *                    ByteLevel (add_prefix_space, the GPT-2 regex when use_regex),
 *                    Metaspace (replacement, prepend_scheme always/first/never, split),
 *                    Digits (individual or runs)
 * Regexes are PCRE2 with Unicode properties (UTF + UCP), compiled once, matched with a
 * per-call match block, so one av_textpipe serves several threads. Text that is not
 * valid UTF-8 is matched too (PCRE2_MATCH_INVALID_UTF): a stray byte matches no class and
 * stays in the piece around it, so every byte reaches the model exactly once.
 * ByteLevel only splits here: the byte-to-character spelling is the model's (bpe.h), so
 * ByteLevel must be the last pre-tokenizer (the loaders check).
 * An av_textpipe owns its compiled patterns and strings; av_textpipe_free releases them. */
#ifndef AV_MODELS_PRETOK_H
#define AV_MODELS_PRETOK_H
#include <stddef.h>
#include <stdint.h>

typedef struct av_regex av_regex;

enum { AV_NORM_NFC, AV_NORM_NFD, AV_NORM_NFKC, AV_NORM_NFKD, AV_NORM_PREPEND, AV_NORM_REPLACE };
typedef struct {
    int kind;
    char *text;           /* Prepend: the prefix; Replace: the replacement */
    av_regex *pattern;    /* Replace: what is replaced */
} av_norm_step;

enum { AV_PRE_SPLIT, AV_PRE_BYTELEVEL, AV_PRE_METASPACE, AV_PRE_DIGITS };
/* Split behaviours, as tokenizers' SplitDelimiterBehavior */
enum { AV_SPLIT_REMOVED, AV_SPLIT_ISOLATED, AV_SPLIT_MERGED_PREV, AV_SPLIT_MERGED_NEXT, AV_SPLIT_CONTIGUOUS };
enum { AV_PREPEND_ALWAYS, AV_PREPEND_FIRST, AV_PREPEND_NEVER };
typedef struct {
    int kind;
    av_regex *pattern;    /* Split; ByteLevel with use_regex (the GPT-2 pattern) */
    int behavior, invert; /* Split */
    int add_prefix_space; /* ByteLevel */
    char replacement[8];  /* Metaspace: the character, UTF-8 */
    int prepend_scheme, split;  /* Metaspace */
    int individual;       /* Digits */
} av_pre_step;

#define AV_TEXTPIPE_MAX 16
typedef struct {
    av_norm_step norm[AV_TEXTPIPE_MAX];
    int n_norm;
    av_pre_step pre[AV_TEXTPIPE_MAX];
    int n_pre;
} av_textpipe;

/* Compiles a regex (literal: a plain string to find). AV_ERR with PCRE2's message and
 * offset, prefixed by where. */
int av_regex_new(const char *pattern, int literal, const char *where, av_regex **out);
void av_regex_free(av_regex *re);
/* The pre-tokenizer regex of GPT-2 (tokenizers' ByteLevel). */
extern const char *const AV_GPT2_SPLIT_REGEX;

void av_textpipe_free(av_textpipe *p);

/* Growable byte buffer. */
typedef struct { char *p; size_t len, cap; } av_buf;
int av_buf_put(av_buf *b, const void *s, size_t n);
void av_buf_free(av_buf *b);

/* Scratch of one encoding call (one per thread); zero-initialise, av_textpipe_work_free. */
typedef struct av_textpipe_work av_textpipe_work;
av_textpipe_work *av_textpipe_work_new(void);
void av_textpipe_work_free(av_textpipe_work *w);

/* Normalizes s[0..n) into out (replacing its contents). */
int av_textpipe_normalize(const av_textpipe *p, av_textpipe_work *w, const char *s, size_t n, av_buf *out);

/* Pre-tokenizes s[0..n) and calls piece() on every non-empty piece in order.
 * at_start: the text begins the input (Metaspace's "first" prepend scheme). */
typedef int (*av_piece_fn)(void *user, const uint8_t *s, size_t n);
int av_textpipe_pretokenize(const av_textpipe *p, av_textpipe_work *w, const char *s, size_t n, int at_start,
                            av_piece_fn piece, void *user);
#endif
