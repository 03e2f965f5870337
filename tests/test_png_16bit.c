/* test_png_16bit.c - 16-bit PNGs: read, keeping the high byte of every sample (as Pillow
 * does; tests/test_dataset_images.c holds a grey one against Pillow), in every colour
 * type; and one too large for the decoder (16384 x 16384 RGBA at 16 bits, 2 GiB decoded)
 * refused with a line that says so. Before, that one failed with stb_image's leftover
 * JPEG message "no SOI". The PNGs are built here: zlib "stored" blocks need no
 * compressor, only the two checksums. */
#include <stdlib.h>
#include <string.h>
#include "datasets/image.h"
#include "base/util.h"
#include "tests/check.h"

typedef struct { uint8_t *p; size_t n, cap; } buf;

static void put(buf *b, const void *src, size_t n) {
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
}
static void put32(buf *b, uint32_t v) {
    uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    put(b, x, 4);
}

static uint32_t crc32(const uint8_t *p, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    }
    return c ^ 0xFFFFFFFFu;
}

static void chunk(buf *b, const char *type, const uint8_t *data, size_t n) {
    put32(b, (uint32_t)n);
    size_t at = b->n;
    put(b, type, 4);
    if (n) put(b, data, n);
    put32(b, crc32(b->p + at, n + 4));
}

/* A PNG of w x h, colour type ct, 16 bits, whose raw scanlines (filter byte 0 each) are
 * raw [h * (1 + w * channels * 2)], deflated as stored blocks. */
static buf png16(uint32_t w, uint32_t h, int ct, const uint8_t *raw, size_t rawn) {
    buf b = {0}, z = {0};
    put(&b, "\x89PNG\r\n\x1a\n", 8);
    uint8_t ihdr[13];
    for (int i = 0; i < 4; i++) ihdr[i] = (uint8_t)(w >> (24 - 8 * i)), ihdr[4 + i] = (uint8_t)(h >> (24 - 8 * i));
    ihdr[8] = 16, ihdr[9] = (uint8_t)ct, ihdr[10] = ihdr[11] = ihdr[12] = 0;
    chunk(&b, "IHDR", ihdr, 13);
    put(&z, "\x78\x01", 2);
    uint32_t a = 1, s = 0;
    for (size_t off = 0; off < rawn || off == 0;) {
        size_t len = rawn - off > 65535 ? 65535 : rawn - off;
        uint8_t hdr[5] = {(uint8_t)(off + len == rawn), (uint8_t)len, (uint8_t)(len >> 8), (uint8_t)~len,
                          (uint8_t)(~len >> 8)};
        put(&z, hdr, 5);
        put(&z, raw + off, len);
        off += len;
        if (!len) break;
    }
    for (size_t i = 0; i < rawn; i++) a = (a + raw[i]) % 65521, s = (s + a) % 65521;
    put32(&z, s << 16 | a);
    chunk(&b, "IDAT", z.p, z.n);
    chunk(&b, "IEND", NULL, 0);
    free(z.p);
    return b;
}

static void read_16bit(int ct, int channels, const char *what) {
    const uint32_t w = 5, h = 3;
    size_t row = 1 + (size_t)w * channels * 2, n = row * h;
    uint8_t *raw = calloc(1, n);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            for (int c = 0; c < channels; c++) {
                uint16_t v = (uint16_t)(4099 * (x + 1) + 977 * y + 13001 * c);
                raw[y * row + 1 + (x * channels + c) * 2] = (uint8_t)(v >> 8);
                raw[y * row + 2 + (x * channels + c) * 2] = (uint8_t)v;
            }
    buf b = png16(w, h, ct, raw, n);
    av_image img;
    CHECK_MSG(av_image_load_mem(what, b.p, b.n, &img) == AV_OK, "%s: %s", what, av_last_error());
    int bad = 0;
    for (uint32_t y = 0; img.rgb && y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            for (int c = 0; c < 3; c++) {
                int src = channels >= 3 ? c : 0; /* grey spreads to r, g and b */
                uint8_t hi = raw[y * row + 1 + (x * channels + src) * 2];
                bad += img.rgb[(y * w + x) * 3 + c] != hi;
            }
    CHECK_MSG(img.rgb && !bad, "%s: %d samples are not the high byte", what, bad);
    if (img.rgb) printf("16-bit %s PNG read: the high byte of every sample\n", what);
    av_image_free(&img);
    free(b.p);
    free(raw);
}

int main(void) {
    read_16bit(0, 1, "grey");
    read_16bit(2, 3, "RGB");
    read_16bit(4, 2, "grey+alpha");
    read_16bit(6, 4, "RGBA");

    /* 16384 x 16384 RGBA at 16 bits: its header is all the decoder sees before it fails */
    uint8_t scan[64] = {0};
    buf b = png16(16384, 16384, 6, scan, sizeof scan);
    av_image img;
    CHECK(av_image_load_mem("huge.png", b.p, b.n, &img) == AV_ERR && !img.rgb);
    const char *e = av_last_error();
    CHECK_MSG(strstr(e, "huge.png: PNG of 16384x16384 RGBA at 16 bits per sample") && strstr(e, "2 GiB") &&
                  !strstr(e, "SOI"),
              "message: %s", e);
    printf("too large: %s\n", e);
    /* the dataset check says the same before anything is decoded */
    CHECK(av_image_check_mem("huge.png", b.p, b.n, NULL, NULL) == AV_ERR && strstr(av_last_error(), "2 GiB"));
    free(b.p);
    return av_check_summary("test_png_16bit");
}
