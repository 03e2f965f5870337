/* png.c - PNG writing and image loading for the viewer (see png.h). */
#include "viewer/png.h"

#include <stdlib.h>
#include <string.h>
#include "host/util.h"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image_write.h>
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#include <stb_image.h>
/* the diagnostics stay relaxed to the end of this file: GCC reports unused static
 * stb functions at the end of the translation unit */

typedef struct { uint8_t *data; size_t len, cap; int failed; } membuf;

static void membuf_put(void *ctx, void *data, int size) {
    membuf *b = ctx;
    if (b->failed) return;
    if (b->len + (size_t)size > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 1 << 16;
        while (cap < b->len + (size_t)size) cap *= 2;
        uint8_t *p = realloc(b->data, cap);
        if (!p) { b->failed = 1; return; }
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, (size_t)size);
    b->len += (size_t)size;
}

int av_png_write_rgba(const char *path, int w, int h, const uint8_t *rgba) {
    membuf b = {0};
    /* encode in memory first so the file appears whole or not at all */
    int ok = stbi_write_png_to_func(membuf_put, &b, w, h, 4, rgba, w * 4);
    if (!ok || b.failed) {
        free(b.data);
        return av_fail("%s: cannot encode PNG (%dx%d)", path, w, h);
    }
    int rc = av_write_file_atomic(path, b.data, b.len);
    free(b.data);
    return rc;
}

int av_image_load_rgba(const char *path, int *w, int *h, uint8_t **out) {
    int n;
    *out = stbi_load(path, w, h, &n, 4);
    if (!*out) return av_fail("%s: cannot read image (%s)", path, stbi_failure_reason());
    return AV_OK;
}
