/* fuzz_safetensors.c - libFuzzer target: arbitrary bytes as a safetensors file.
 * Build: CC=clang cmake -S . -B build-fuzz -DAV_FUZZ=ON -DAV_CUDA=OFF && cmake --build build-fuzz
 * Run:   build-fuzz/tests/fuzz_safetensors -dict=tests/fuzz/safetensors.dict -max_total_time=300 tests/fuzz/safetensors
 * The checks (tests/fuzz/invariants.h): a rejection leaves one line naming the input; an
 * accepted image hands out tensors inside the buffer, every byte of which is read (and
 * float tensors converted) so ASan sees any pointer that strays. */
#include <stdlib.h>
#include "tests/fuzz/invariants.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (av_fuzz_safetensors(data, size) < 0) abort();
    return 0;
}
