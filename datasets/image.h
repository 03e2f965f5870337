/* image.h - decoding JPEG and PNG files into 8-bit RGB (stb_image underneath).
 *
 * stb_image decodes permissively: it does not check PNG CRCs and fills a truncated JPEG
 * with grey instead of failing. Before decoding, av_image_check therefore walks the
 * container itself (PNG: signature, every chunk's length and CRC-32, IHDR first, IEND
 * last; JPEG: SOI, every marker segment, the entropy-coded data up to EOI) so a damaged
 * file is an error that names the file and the fault, never a silently wrong picture.
 *
 * Used by datasets/ (image folders), models/ (ViT preprocessing) and viewer/ (image
 * view). An av_image owns its pixel buffer; av_image_free releases it. */
#ifndef AV_DATASETS_IMAGE_H
#define AV_DATASETS_IMAGE_H
#include <stddef.h>
#include <stdint.h>

/* Images larger than this on either side are refused (a malformed header must not
 * turn into a multi-gigabyte allocation). */
#define AV_IMAGE_MAX_SIDE 16384

typedef enum { AV_IMAGE_UNKNOWN = 0, AV_IMAGE_JPEG, AV_IMAGE_PNG } av_image_format;

typedef struct {
    int width, height;   /* pixels */
    uint8_t *rgb;        /* height rows of width RGB triples, row-major, top row first */
} av_image;

/* The format by the first bytes (magic number), whatever the file is called. */
av_image_format av_image_sniff(const uint8_t *data, size_t n);

/* Checks an encoded image in memory as described above and reads its size.
 * `name` is only used in the message ("NAME: PNG chunk 'IDAT' has a bad CRC").
 * width/height may be NULL. */
int av_image_check_mem(const char *name, const uint8_t *data, size_t n, int *width, int *height);
/* The same for a file. */
int av_image_check(const char *path, int *width, int *height);

/* Decodes a JPEG or PNG file to RGB (grey, grey+alpha and RGBA are converted; alpha is
 * dropped). On failure img is zeroed and the message names the file and the fault. */
int av_image_load(const char *path, av_image *img);
int av_image_load_mem(const char *name, const uint8_t *data, size_t n, av_image *img);
void av_image_free(av_image *img);

/* Writes RGB pixels as a PNG, atomically (temporary name, fsync, then rename). */
int av_image_write_png(const char *path, const uint8_t *rgb, int width, int height);
/* The same written straight to path, without the temporary name and the fsync: for
 * files inside a folder that is itself built under a temporary name and renamed into
 * place (synth), where a per-file fsync would cost more than drawing the image. */
int av_image_write_png_plain(const char *path, const uint8_t *rgb, int width, int height);
#endif
