/* fuzz_tokenizers.c - libFuzzer target: arbitrary bytes (up to the first NUL) as text for
 * bert-tiny's WordPiece and gpt2-tiny's byte-level BPE (tests/fixtures/models), and the
 * tokenizer.json ones bl-llama3 (PCRE2 split + byte-level BPE) and sp-legacy
 * (SentencePiece-style with byte fallback) of tests/fixtures/tokenizers/llm, checked
 * with tests/fuzz/tokenizer_invariants.h. Run from the repository root:
 *   CC=clang cmake -S . -B build-fuzz -DAV_FUZZ=ON -DAV_CUDA=OFF && cmake --build build-fuzz
 *   build-fuzz/tests/fuzz_tokenizers -max_total_time=300 tests/fuzz/tokenizers */
#include <stdlib.h>
#include <string.h>
#include "tests/fuzz/tokenizer_invariants.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static av_fuzz_set set;
static int loaded;

static void load(void) {
    /* ctest runs fuzz targets in the build folder; by hand they run from the source root */
    const char *roots[] = { ".", AV_SOURCE_DIR };
    for (int i = 0; i < 2 && !loaded; i++) loaded = av_fuzz_set_load(roots[i], &set) == AV_OK;
    if (!loaded) { fprintf(stderr, "fuzz_tokenizers: %s\n", av_last_error()); abort(); }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!loaded) load();
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = 0;
    if (av_fuzz_tokenize(&set, text) < 0) abort();
    free(text);
    return 0;
}
