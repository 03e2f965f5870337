/* png.h - the viewer's pictures: frames out as PNG, images in for the ViT image view.
 * Both go through datasets/image.h (the engine's one stb_image / stb_image_write
 * implementation, with its container checks), adapted to the RGBA the GL side uses. */
#ifndef AV_VIEWER_PNG_H
#define AV_VIEWER_PNG_H
#include <stdint.h>

/* Writes an RGBA8 frame (rows top to bottom, alpha dropped) as a PNG, atomically.
 * Returns AV_OK or AV_ERR naming the path. */
int av_png_write_rgba(const char *path, int w, int h, const uint8_t *rgba);

/* Loads a JPEG or PNG as RGBA8 (opaque); caller frees *out with free(). AV_ERR names
 * the file and the fault (missing, damaged, unsupported). */
int av_image_load_rgba(const char *path, int *w, int *h, uint8_t **out);
#endif
