/* fuzz_safetensors.c - libFuzzer target: arbitrary bytes as a safetensors file.
 * Build: CC=clang cmake -S . -B build-fuzz -DAV_FUZZ=ON -DAV_CUDA=OFF && cmake --build build-fuzz
 * Run:   build-fuzz/tests/fuzz_safetensors -max_total_time=300 tests/fuzz/safetensors
 * Whatever the bytes, av_safetensors_parse must either fail with a message or hand out
 * tensors that lie inside the buffer; every byte of every tensor is read (and float
 * tensors converted) so ASan sees any pointer that strays. */
#include <stdlib.h>
#include <string.h>
#include "models/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    av_safetensors st;
    if (av_safetensors_parse(data, size, "fuzz.safetensors", &st) != AV_OK) {
        if (!av_last_error()[0] || strchr(av_last_error(), '\n')) abort();
        return 0;
    }
    unsigned sum = 0;
    for (int i = 0; i < st.count; i++) {
        const av_st_tensor *t = &st.tensors[i];
        if (av_safetensors_find(&st, t->name) != t) abort();
        if (t->nbytes != (size_t)t->numel * av_st_dtype_size(t->dtype)) abort();
        const uint8_t *p = t->data;
        for (size_t k = 0; k < t->nbytes; k++) sum += p[k];
        if (t->dtype == AV_ST_F32 || t->dtype == AV_ST_F16 || t->dtype == AV_ST_BF16 || t->dtype == AV_ST_F64) {
            float *out = malloc(sizeof(float) * (size_t)(t->numel ? t->numel : 1));
            if (out && av_st_to_f32(t, out) != AV_OK) abort();
            free(out);
        }
    }
    av_safetensors_close(&st);
    return (int)(sum & 0); /* keeps the reads from being optimised away */
}
