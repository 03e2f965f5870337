/* fuzz_config.c - libFuzzer target: arbitrary bytes as config.json, and as
 * preprocessor_config.json on top of a valid ViT config.
 * Build: CC=clang cmake -S . -B build-fuzz -DAV_FUZZ=ON -DAV_CUDA=OFF && cmake --build build-fuzz
 * Run:   build-fuzz/tests/fuzz_config -dict=tests/fuzz/config.dict -max_total_time=300 tests/fuzz/config
 * The checks (tests/fuzz/invariants.h): a rejection leaves one line naming the input; an
 * accepted config describes a model the forward passes can build. */
#include <stdlib.h>
#include "tests/fuzz/invariants.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (av_fuzz_config(data, size) < 0 || av_fuzz_preprocessor(data, size) < 0) abort();
    return 0;
}
