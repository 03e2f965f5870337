/* png.c - RGBA adapters over datasets/image.h (see png.h). */
#include "viewer/png.h"

#include <stdlib.h>
#include "datasets/image.h"
#include "base/util.h"

int av_png_write_rgba(const char *path, int w, int h, const uint8_t *rgba) {
    size_t n = (size_t)w * h;
    uint8_t *rgb = av_malloc(n * 3 + 1);
    if (!rgb) return AV_ERR;
    for (size_t i = 0; i < n; i++) {
        rgb[3 * i] = rgba[4 * i];
        rgb[3 * i + 1] = rgba[4 * i + 1];
        rgb[3 * i + 2] = rgba[4 * i + 2];
    }
    int rc = av_image_write_png(path, rgb, w, h);
    free(rgb);
    return rc;
}

int av_image_load_rgba(const char *path, int *w, int *h, uint8_t **out) {
    av_image img;
    *out = NULL;
    if (av_image_load(path, &img) != AV_OK) return AV_ERR;
    size_t n = (size_t)img.width * img.height;
    uint8_t *p = av_malloc(n * 4 + 1);
    if (!p) { av_image_free(&img); return AV_ERR; }
    for (size_t i = 0; i < n; i++) {
        p[4 * i] = img.rgb[3 * i];
        p[4 * i + 1] = img.rgb[3 * i + 1];
        p[4 * i + 2] = img.rgb[3 * i + 2];
        p[4 * i + 3] = 255;
    }
    *w = img.width;
    *h = img.height;
    av_image_free(&img);
    *out = p;
    return AV_OK;
}
