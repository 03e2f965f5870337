/* fuzz_gguf.c - libFuzzer target: arbitrary bytes as a GGUF file, through the reader and
 * the Hugging Face view.
 * Build: CC=clang cmake -S . -B build-fuzz -DAV_FUZZ=ON -DAV_CUDA=OFF && cmake --build build-fuzz
 * Run:   build-fuzz/tests/fuzz_gguf -dict=tests/fuzz/gguf.dict -max_total_time=300 tests/fuzz/gguf
 * The checks (tests/fuzz/invariants.h): a rejection leaves one line naming the input; an
 * accepted file hands out tensors inside the buffer, every metadata value reads through
 * the getters, supported tensors dequantize (ASan sees any read that strays). */
#include <stdlib.h>
#include "tests/fuzz/invariants.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (av_fuzz_gguf(data, size) < 0) abort();
    return 0;
}
