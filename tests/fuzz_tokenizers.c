/* fuzz_tokenizers.c - libFuzzer target: arbitrary bytes (up to the first NUL) as text for
 * bert-tiny's WordPiece and gpt2-tiny's byte-level BPE (tests/fixtures/models), checked
 * with tests/fuzz/tokenizer_invariants.h. Run from the repository root:
 *   CC=clang cmake -S . -B build-fuzz -DAV_FUZZ=ON -DAV_CUDA=OFF && cmake --build build-fuzz
 *   build-fuzz/tests/fuzz_tokenizers -max_total_time=300 tests/fuzz/tokenizers */
#include <stdlib.h>
#include <string.h>
#include "tests/fuzz/tokenizer_invariants.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static av_tokenizer *bert, *bpe;

static void load(void) {
    /* ctest runs fuzz targets in the build folder; by hand they run from the source root */
    const char *roots[] = { ".", AV_SOURCE_DIR };
    for (int i = 0; i < 2 && !bert; i++) {
        char b[4096], g[4096];
        snprintf(b, sizeof b, "%s/tests/fixtures/models/bert-tiny", roots[i]);
        snprintf(g, sizeof g, "%s/tests/fixtures/models/gpt2-tiny", roots[i]);
        if (av_tokenizer_load(b, "bert", &bert) == AV_OK && av_tokenizer_load(g, "gpt2", &bpe) != AV_OK) {
            av_tokenizer_free(bert);
            bert = NULL;
        }
    }
    if (!bert) { fprintf(stderr, "fuzz_tokenizers: %s\n", av_last_error()); abort(); }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!bert) load();
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = 0;
    if (av_fuzz_tokenize(bert, bpe, text) < 0) abort();
    free(text);
    return 0;
}
