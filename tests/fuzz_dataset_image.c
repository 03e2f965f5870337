/* fuzz_dataset_image.c - libFuzzer target for image decoding (datasets/image.h): the
 * PNG/JPEG structure checks and, for inputs that pass them, stb_image's decoder. An
 * image that decodes must have the size the check reported and a pixel buffer of
 * that size. Seed corpus: tests/fuzz/dataset_image/ (tiny valid PNGs and JPEGs). */
#include <stdint.h>
#include <stdlib.h>
#include "datasets/image.h"
#include "base/util.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    int w = 0, h = 0;
    if (av_image_check_mem("fuzz", data, size, &w, &h) != AV_OK) return 0;
    if (w <= 0 || h <= 0 || w > AV_IMAGE_MAX_SIDE || h > AV_IMAGE_MAX_SIDE) __builtin_trap();
    /* Decoding a huge-but-valid header would only test the allocator. */
    if ((int64_t)w * h > 4096 * 4096) return 0;
    av_image img;
    if (av_image_load_mem("fuzz", data, size, &img) == AV_OK) {
        if (!img.rgb || img.width != w || img.height != h) __builtin_trap();
        volatile uint8_t last = img.rgb[(size_t)w * h * 3 - 1]; /* ASan checks the extent */
        (void)last;
        av_image_free(&img);
    }
    return 0;
}
