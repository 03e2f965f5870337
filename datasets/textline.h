/* textline.h - one line of a text dataset: UTF-8 validation and JSONL item parsing.
 *
 * Kept apart from dataset.c so the libFuzzer target (tests/fuzz_dataset_line.c) can
 * drive exactly the code that reads untrusted lines. Nothing here knows file names or
 * line numbers: on failure the functions leave a message without a prefix (see
 * base/util.h) and the caller (dataset.c) puts "FILE:LINE: " in front.
 *
 * Ownership: strings returned through char ** are malloc'd and freed by the caller. */
#ifndef AV_DATASETS_TEXTLINE_H
#define AV_DATASETS_TEXTLINE_H
#include <stddef.h>
#include <stdint.h>

/* Returns -1 when s[0..n) is well-formed UTF-8 without NUL bytes, else the 0-based
 * offset of the first byte that starts a bad sequence. Overlong forms, surrogates
 * (U+D800..U+DFFF) and code points above U+10FFFF are rejected, as RFC 3629 asks;
 * NUL is rejected because every later stage treats text as a C string. */
int64_t av_utf8_invalid_at(const char *s, size_t n);

/* Checks s[0..n) with av_utf8_invalid_at; on failure leaves
 * "invalid UTF-8 at byte N" (N 1-based, counted in bytes within the line) and returns
 * AV_ERR. */
int av_utf8_check(const char *s, size_t n);

/* s[0..*n) without leading and trailing ASCII white space (space, tab, CR, LF, VT, FF):
 * returns the new start and updates *n. */
const char *av_text_trim(const char *s, size_t *n);

/* Parses one JSONL line (not NUL-terminated, n bytes, already UTF-8 checked or not:
 * it is checked again here) as {"text": STRING, "text_b": STRING|null (optional), ...}.
 * Other members are ignored. The text is trimmed; an empty text is an error. On success
 * *text is set and *text_b is set or NULL; on failure both are NULL, the message says
 * what is wrong ("not a JSON object", "no \"text\" member", ...) and AV_ERR returns. */
int av_jsonl_parse_item(const char *line, size_t n, char **text, char **text_b);
#endif
