/* fuzz_dataset_line.c - libFuzzer target for the code that reads untrusted dataset
 * lines: UTF-8 validation and JSONL item parsing (datasets/textline.h). Besides "no
 * crash, no leak, no UB", it checks what the callers rely on: an accepted item has a
 * non-empty, trimmed, valid UTF-8 "text" (and "text_b" when present), and the
 * validator agrees with itself on prefixes. Seed corpus: tests/fuzz/dataset_line/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "datasets/textline.h"
#include "base/util.h"


static int well_formed(const char *s) {
    size_t n = strlen(s);
    size_t m = n;
    return n > 0 && av_utf8_invalid_at(s, n) < 0 && av_text_trim(s, &m) == s && m == n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *s = (const char *)data;
    int64_t bad = av_utf8_invalid_at(s, size);
    if (bad >= (int64_t)size) __builtin_trap();
    /* everything before the first bad byte is valid on its own */
    if (bad > 0 && av_utf8_invalid_at(s, (size_t)bad) != -1) __builtin_trap();
    char *text, *text_b;
    int rc = av_jsonl_parse_item(s, size, &text, &text_b);
    if (rc == AV_OK) {
        if (!text || !well_formed(text) || (text_b && !well_formed(text_b))) __builtin_trap();
        if (bad >= 0) __builtin_trap(); /* accepted a line that is not valid UTF-8 */
    } else if (text || text_b || !av_last_error()[0]) {
        __builtin_trap();
    }
    free(text);
    free(text_b);
    return 0;
}
