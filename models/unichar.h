/* unichar.h - the character classes the tokenizers need, as Hugging Face defines them,
 * derived from utf8proc's general categories (no hand-written Unicode tables), and a
 * UTF-8 decoder that never fails. Header-only: every function is a small inline. */
#ifndef AV_MODELS_UNICHAR_H
#define AV_MODELS_UNICHAR_H
#include <stddef.h>
#include <stdint.h>
#include <utf8proc.h>

/* Decodes one code point of s[0..n) (n >= 1) and returns its length in bytes.
 * Invalid UTF-8 (datasets validate lines, but the tokenizers must never crash on it)
 * decodes as U+FFFD over exactly one byte, so every byte is consumed exactly once. */
static inline int av_utf8_next(const uint8_t *s, size_t n, int32_t *cp) {
    utf8proc_ssize_t len = utf8proc_iterate(s, n > 4 ? 4 : (utf8proc_ssize_t)n, cp);
    if (len <= 0) { *cp = 0xFFFD; return 1; }
    return (int)len;
}

/* The Unicode White_Space property: Zs, Zl, Zp, U+0009..U+000D and U+0085. It is what
 * Rust's char::is_whitespace (tokenizers) and Oniguruma's \s (the GPT-2 regex) test. */
static inline int av_uc_is_white_space(int32_t c) {
    if ((c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85) return 1;
    if (c < 0x80) return 0;
    utf8proc_category_t k = utf8proc_category(c);
    return k == UTF8PROC_CATEGORY_ZS || k == UTF8PROC_CATEGORY_ZL || k == UTF8PROC_CATEGORY_ZP;
}

/* Unicode letters (\p{L}) and numbers (\p{N}). */
static inline int av_uc_is_letter(int32_t c) {
    if (c < 0x80) return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    utf8proc_category_t k = utf8proc_category(c);
    return k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_LO;
}
static inline int av_uc_is_number(int32_t c) {
    if (c < 0x80) return c >= '0' && c <= '9';
    utf8proc_category_t k = utf8proc_category(c);
    return k >= UTF8PROC_CATEGORY_ND && k <= UTF8PROC_CATEGORY_NO;
}

/* What BERT drops as a control character (tab, newline and carriage return excepted, by
 * the caller): categories Cc, Cf, Cs and Co. Not Cn (unassigned, noncharacters): the
 * category tables of tokenizers' BertNormalizer do not list it, so such a character stays
 * and becomes [UNK] (transformers' slow BertTokenizer drops it; we follow tokenizers). */
static inline int av_uc_is_bert_control(int32_t c) {
    return utf8proc_category(c) >= UTF8PROC_CATEGORY_CC;
}

/* BERT punctuation: every ASCII non-alphanumeric printable (so $ + < = > ^ ` | ~ count,
 * which Unicode files under symbols) plus the Unicode punctuation categories P*. */
static inline int av_uc_is_bert_punct(int32_t c) {
    if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126))
        return 1;
    if (c < 0x80) return 0;
    utf8proc_category_t k = utf8proc_category(c);
    return k >= UTF8PROC_CATEGORY_PC && k <= UTF8PROC_CATEGORY_PO;
}

/* BERT's "Chinese character": the CJK Unified Ideographs blocks and their extensions and
 * compatibility blocks, as tokenizers' BertNormalizer lists them (these are block ranges
 * of the BERT definition, not a Unicode property utf8proc could give). Its Extension E
 * range starts at U+2B920 where BertTokenizer's starts at U+2B820; we follow tokenizers,
 * so U+2B820..U+2B91F stay inside words. */
static inline int av_uc_is_bert_cjk(int32_t c) {
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
           (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
           (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}
#endif
