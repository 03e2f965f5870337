/* headless.h - an OpenGL 3.3+ core context without any display: EGL on a GPU listed by
 * EGL_EXT_platform_device when there is one, else on Mesa's surfaceless platform
 * (llvmpipe on a machine without a GPU), drawing into an offscreen framebuffer of a
 * fixed size.
 *
 * av_headless owns the EGL display/context and the framebuffer; av_headless_close
 * releases them. */
#ifndef AV_VIEWER_HEADLESS_H
#define AV_VIEWER_HEADLESS_H
#include <stdint.h>

typedef struct {
    void *display, *context;
    unsigned fbo, color_rb, depth_rb;
    int width, height;
} av_headless;

/* Creates the context, makes it current and binds a width x height RGBA8+depth FBO. */
int av_headless_open(av_headless *h, int width, int height);
void av_headless_close(av_headless *h);
/* Keeps the loaded GL driver mapped until exit (call once a context exists), so
 * LeakSanitizer can still see the blocks it holds for the process's lifetime. */
void av_gl_pin_driver(void);
/* Reads the framebuffer as RGBA8 rows top to bottom into out (width*height*4 bytes). */
void av_headless_read(const av_headless *h, uint8_t *out);
#endif
