/* png.h - writes and reads the viewer's pictures (PNG out, any stb_image format in).
 *
 * Both go through stb_image / stb_image_write compiled as static functions inside
 * viewer/png.c, so they cannot collide with the engine-wide stb implementations that
 * datasets/ owns; switching to those later is a change of this one file. */
#ifndef AV_VIEWER_PNG_H
#define AV_VIEWER_PNG_H
#include <stdint.h>

/* Writes an RGBA8 image, rows top to bottom, atomically (temporary name, then rename).
 * Returns AV_OK or AV_ERR naming the path. */
int av_png_write_rgba(const char *path, int w, int h, const uint8_t *rgba);

/* Loads an image as RGBA8 (caller frees *out with free()). AV_ERR naming the path. */
int av_image_load_rgba(const char *path, int *w, int *h, uint8_t **out);
#endif
