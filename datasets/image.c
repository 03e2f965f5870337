/* image.c - JPEG/PNG structure checks and decoding to RGB (see image.h). */
#include "datasets/image.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <stb_image.h>
#include <stb_image_write.h>
#include "base/util.h"

av_image_format av_image_sniff(const uint8_t *d, size_t n) {
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    if (n >= 8 && !memcmp(d, png_sig, 8)) return AV_IMAGE_PNG;
    if (n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF) return AV_IMAGE_JPEG;
    return AV_IMAGE_UNKNOWN;
}

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* CRC-32 as PNG defines it (ISO 3309, reflected polynomial 0xEDB88320). */
static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}

static uint32_t crc32_png(const uint8_t *p, size_t n) {
    pthread_once(&crc_once, crc_init);
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) c = crc_table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

static int check_size(const char *name, uint32_t w, uint32_t h) {
    if (w == 0 || h == 0) return av_fail("%s: image has zero width or height", name);
    if (w > AV_IMAGE_MAX_SIDE || h > AV_IMAGE_MAX_SIDE)
        return av_fail("%s: image is %ux%u, larger than %d pixels on a side", name, w, h, AV_IMAGE_MAX_SIDE);
    return AV_OK;
}

/* stb_image decodes a PNG into buffers it sizes with int arithmetic: a decoded image of
 * 2 GiB or more (a 16384 x 16384 RGBA PNG at 16 bits per sample) fails inside it without
 * a reason of its own. Such an image is refused here, saying what it is. 16-bit PNGs of
 * any other size are read (stb keeps the high byte of each sample, as Pillow does). */
static int check_decoded_size(const char *name, uint32_t w, uint32_t h, unsigned depth, unsigned ctype) {
    static const char *const kinds[7] = {"grey", "?", "RGB", "palette", "grey+alpha", "?", "RGBA"};
    static const int channels[7] = {1, 0, 3, 1, 2, 0, 4};
    if (ctype > 6 || !channels[ctype]) return AV_OK; /* stb names the fault */
    double bytes = (double)w * h * channels[ctype] * (depth > 8 ? 2 : 1) + h;
    if (bytes < 2147483648.0) return AV_OK;
    return av_fail("%s: PNG of %ux%u %s at %u bits per sample decodes to %.1f GiB, more than the 2 GiB the image "
                   "decoder handles; scale it down first", name, w, h, kinds[ctype], depth, bytes / 1073741824.0);
}

static int check_png(const char *name, const uint8_t *d, size_t n, int *w, int *h) {
    size_t i = 8;
    int have_idat = 0;
    for (int first = 1;; first = 0) {
        if (n - i < 12) return av_fail("%s: PNG data ends before IEND (truncated)", name);
        uint32_t len = be32(d + i);
        char type[5];
        memcpy(type, d + i + 4, 4);
        type[4] = 0;
        for (int k = 0; k < 4; k++)
            if (!((type[k] >= 'A' && type[k] <= 'Z') || (type[k] >= 'a' && type[k] <= 'z')))
                return av_fail("%s: bad PNG chunk type at byte %zu", name, i + 4);
        if (len > 0x7FFFFFFFu) return av_fail("%s: PNG chunk '%s' has a bad length", name, type);
        if (n - i - 12 < len)
            return av_fail("%s: PNG chunk '%s' runs past the end of the file (truncated)", name, type);
        if (crc32_png(d + i + 4, (size_t)len + 4) != be32(d + i + 8 + len))
            return av_fail("%s: PNG chunk '%s' has a bad CRC", name, type);
        if (first) {
            if (strcmp(type, "IHDR") || len != 13) return av_fail("%s: PNG does not start with IHDR", name);
            uint32_t pw = be32(d + i + 8), ph = be32(d + i + 12);
            if (check_size(name, pw, ph) != AV_OK || check_decoded_size(name, pw, ph, d[i + 16], d[i + 17]) != AV_OK)
                return AV_ERR;
            *w = (int)pw;
            *h = (int)ph;
        }
        if (!strcmp(type, "IDAT")) have_idat = 1;
        if (!strcmp(type, "IEND")) {
            if (!have_idat) return av_fail("%s: PNG has no image data (no IDAT chunk)", name);
            return AV_OK;
        }
        i += 12 + (size_t)len;
    }
}

static int is_sof(uint8_t m) { return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC; }
static int is_rst(uint8_t m) { return m >= 0xD0 && m <= 0xD7; }

/* A DHT segment's tables: class 0/1, id 0..3, at most 256 codes each, exactly filling
 * the segment. stb_image 2.27 (Debian's) writes past its Huffman arrays when the 16
 * code counts add up to more than 256; newer stb checks this, ours must. */
static int check_dht(const char *name, const uint8_t *p, size_t n, uint8_t defined[2]) {
    while (n > 0) {
        if (n < 17) return av_fail("%s: JPEG: Huffman table segment too short", name);
        if ((p[0] >> 4) > 1 || (p[0] & 15) > 3) return av_fail("%s: JPEG: bad Huffman table header", name);
        size_t codes = 0;
        for (int k = 1; k <= 16; k++) codes += p[k];
        if (codes > 256) return av_fail("%s: JPEG: Huffman table with %zu codes (at most 256)", name, codes);
        if (n - 17 < codes) return av_fail("%s: JPEG: Huffman table segment too short", name);
        defined[p[0] >> 4] |= (uint8_t)(1u << (p[0] & 15));
        p += 17 + codes;
        n -= 17 + codes;
    }
    return AV_OK;
}

/* A scan may only use Huffman tables defined before it: stb_image 2.27 decodes with an
 * undefined (all-zero) table and then indexes its arrays out of bounds. Which tables a
 * scan uses: in a sequential frame both; in a progressive one DC for a first DC scan
 * (a DC refinement reads raw bits), AC for a scan reaching past coefficient 0. */
static int check_sos(const char *name, const uint8_t *p, size_t len, int progressive, const uint8_t defined[2]) {
    size_t ns = len >= 3 ? p[2] : 0;
    if (ns < 1 || ns > 4 || len != 6 + 2 * ns) return av_fail("%s: JPEG: bad scan header", name);
    unsigned ss = p[3 + 2 * ns], se = p[4 + 2 * ns], ah = p[5 + 2 * ns] >> 4;
    /* A sequential frame's scans decode whole blocks: DC and AC, whatever Ss/Se say. */
    int need_dc = !progressive || (ss == 0 && ah == 0), need_ac = !progressive || se > 0;
    for (size_t c = 0; c < ns; c++) {
        unsigned td = p[4 + 2 * c] >> 4, ta = p[4 + 2 * c] & 15;
        if ((need_dc && (td > 3 || !(defined[0] >> td & 1))) || (need_ac && (ta > 3 || !(defined[1] >> ta & 1))))
            return av_fail("%s: JPEG: scan uses an undefined Huffman table", name);
    }
    return AV_OK;
}

/* Walks the marker segments; inside a scan, 0xFF is followed by 0x00 (stuffing), a
 * restart marker or fill bytes, so the first other marker ends the scan. */
static int check_jpeg(const char *name, const uint8_t *d, size_t n, int *w, int *h) {
    const char *trunc = "%s: JPEG data ends before EOI (truncated)";
    size_t i = 2;
    int have_sof = 0, have_sos = 0, progressive = 0;
    uint8_t defined[2] = {0, 0}; /* bit t: DC (0) / AC (1) Huffman table t is defined */
    for (;;) {
        if (i >= n) return av_fail(trunc, name);
        if (d[i] != 0xFF) return av_fail("%s: JPEG: expected a marker at byte %zu", name, i + 1);
        while (i < n && d[i] == 0xFF) i++;
        if (i >= n) return av_fail(trunc, name);
        uint8_t m = d[i++];
        if (m == 0xD9) {
            if (!have_sos) return av_fail("%s: JPEG has no image data (EOI before any scan)", name);
            return AV_OK;
        }
        if (m == 0x01 || is_rst(m)) continue; /* markers without a segment */
        if (m == 0xD8 || m == 0x00) return av_fail("%s: JPEG: unexpected marker 0x%02X at byte %zu", name, m, i);
        if (n - i < 2) return av_fail(trunc, name);
        size_t len = (size_t)d[i] << 8 | d[i + 1];
        if (len < 2) return av_fail("%s: JPEG: bad segment length at byte %zu", name, i + 1);
        if (n - i < len) return av_fail(trunc, name);
        if (m == 0xC4 && check_dht(name, d + i + 2, len - 2, defined) != AV_OK) return AV_ERR;
        if (is_sof(m)) {
            if (len < 8) return av_fail("%s: JPEG: frame header too short", name);
            uint32_t fh = (uint32_t)d[i + 3] << 8 | d[i + 4], fw = (uint32_t)d[i + 5] << 8 | d[i + 6];
            if (check_size(name, fw, fh) != AV_OK) return AV_ERR;
            *w = (int)fw;
            *h = (int)fh;
            have_sof = 1;
            progressive = m == 0xC2;
        }
        if (m == 0xDA && have_sof && check_sos(name, d + i, len, progressive, defined) != AV_OK) return AV_ERR;
        i += len;
        if (m != 0xDA) continue;
        if (!have_sof) return av_fail("%s: JPEG: scan before the frame header", name);
        have_sos = 1;
        for (;;) {
            const uint8_t *ff = i < n ? memchr(d + i, 0xFF, n - i) : NULL;
            if (!ff || (size_t)(ff - d) + 1 >= n) return av_fail(trunc, name);
            i = (size_t)(ff - d);
            uint8_t next = d[i + 1];
            if (next != 0x00 && next != 0xFF && !is_rst(next)) break;
            i += next == 0xFF ? 1 : 2;
        }
    }
}

int av_image_check_mem(const char *name, const uint8_t *data, size_t n, int *width, int *height) {
    int w = 0, h = 0, rc;
    if (n == 0) return av_fail("%s: empty file", name);
    switch (av_image_sniff(data, n)) {
    case AV_IMAGE_PNG: rc = check_png(name, data, n, &w, &h); break;
    case AV_IMAGE_JPEG: rc = check_jpeg(name, data, n, &w, &h); break;
    default: return av_fail("%s: not a JPEG or PNG file (unknown signature)", name);
    }
    if (rc != AV_OK) return rc;
    if (n > 0x7FFFFFFF) return av_fail("%s: file larger than 2 GiB", name);
    /* The structure is sound; stb must also support the variant (e.g. not an
     * arithmetic-coded or 12-bit JPEG). */
    int sw, sh, sc;
    if (!stbi_info_from_memory(data, (int)n, &sw, &sh, &sc))
        return av_fail("%s: cannot decode: %s", name, stbi_failure_reason());
    if (width) *width = w;
    if (height) *height = h;
    return AV_OK;
}

int av_image_check(const char *path, int *width, int *height) {
    av_mmap m;
    if (av_mmap_open(path, &m) != AV_OK) return AV_ERR;
    int rc = av_image_check_mem(path, m.data, m.size, width, height);
    av_mmap_close(&m);
    return rc;
}

int av_image_load_mem(const char *name, const uint8_t *data, size_t n, av_image *img) {
    memset(img, 0, sizeof *img);
    int w, h;
    if (av_image_check_mem(name, data, n, &w, &h) != AV_OK) return AV_ERR;
    int sw, sh, sc;
    uint8_t *px = stbi_load_from_memory(data, (int)n, &sw, &sh, &sc, 3);
    if (!px) {
        /* stb tries JPEG before PNG: a PNG decoder that fails without a reason of its own
         * (an allocation) leaves the JPEG probe's "no SOI" behind */
        const char *why = stbi_failure_reason();
        if (av_image_sniff(data, n) == AV_IMAGE_PNG && why && !strcmp(why, "no SOI")) why = "out of memory";
        return av_fail("%s: cannot decode: %s", name, why ? why : "unknown error");
    }
    /* stbi allocates with malloc (STBI_MALLOC default), so av_image_free may free() it. */
    img->width = sw;
    img->height = sh;
    img->rgb = px;
    return AV_OK;
}

int av_image_load(const char *path, av_image *img) {
    memset(img, 0, sizeof *img);
    av_mmap m;
    if (av_mmap_open(path, &m) != AV_OK) return AV_ERR;
    int rc = av_image_load_mem(path, m.data, m.size, img);
    av_mmap_close(&m);
    return rc;
}

void av_image_free(av_image *img) {
    if (!img) return;
    free(img->rgb);
    memset(img, 0, sizeof *img);
}

/* stb_image_write's sink: the first failed fwrite is remembered with its errno (the
 * reason the line gives), and later chunks are dropped. */
typedef struct { FILE *f; int failed, err; } png_out;

static void write_chunk(void *ctx, void *data, int size) {
    png_out *o = ctx;
    errno = 0;
    if (!o->failed && fwrite(data, 1, (size_t)size, o->f) != (size_t)size) o->failed = 1, o->err = errno;
}

int av_image_write_png_plain(const char *path, const uint8_t *rgb, int width, int height) {
    if (width <= 0 || height <= 0) return av_fail("%s: cannot write a %dx%d image", path, width, height);
    png_out o = {fopen(path, "wb"), 0, 0};
    if (!o.f) return av_fail("%s: cannot write: %s", path, strerror(errno));
    int ok = stbi_write_png_to_func(write_chunk, &o, width, height, 3, rgb, width * 3);
    errno = 0;
    if (fclose(o.f) != 0 && !o.failed) o.failed = 1, o.err = errno;
    if (!ok || o.failed) {
        unlink(path);
        return av_fail("%s: cannot write PNG: %s (removed)", path, ok ? av_write_reason(o.err) : "encoder failed");
    }
    return AV_OK;
}

int av_image_write_png(const char *path, const uint8_t *rgb, int width, int height) {
    if (width <= 0 || height <= 0) return av_fail("%s: cannot write a %dx%d image", path, width, height);
    av_atomic_file a;
    if (av_atomic_open(&a, path) != AV_OK) return AV_ERR;
    png_out o = {a.f, 0, 0};
    int ok = stbi_write_png_to_func(write_chunk, &o, width, height, 3, rgb, width * 3);
    if (!ok || o.failed) {
        av_atomic_abort(&a);
        return av_fail("%s: cannot write PNG: %s (nothing written)", path,
                       ok ? av_write_reason(o.err) : "encoder failed");
    }
    return av_atomic_commit(&a);
}
