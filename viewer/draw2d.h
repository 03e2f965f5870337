/* draw2d.h - batched 2-D drawing in window pixels (origin top left): filled rectangles,
 * thick lines, arrows, circles, UTF-8 text, textured images. Everything drawn between
 * av_draw2d_begin and av_draw2d_end goes out in as few draw calls as possible.
 *
 * av_draw2d owns its GL program, buffers and font (same GL context for all calls);
 * av_draw2d_free releases them. Colours are RGBA floats 0..1. */
#ifndef AV_VIEWER_DRAW2D_H
#define AV_VIEWER_DRAW2D_H
#include "viewer/font.h"

typedef struct { float r, g, b, a; } av_rgba;

typedef struct {
    unsigned prog, vao, vbo;
    int loc_screen, loc_mode, loc_tex;
    float *verts;          /* x y u v r g b a per vertex */
    int nverts, cap;
    int width, height;
    av_font font;
} av_draw2d;

int av_draw2d_init(av_draw2d *d);
void av_draw2d_free(av_draw2d *d);
void av_draw2d_begin(av_draw2d *d, int width, int height);
void av_draw2d_flush(av_draw2d *d);
void av_draw2d_end(av_draw2d *d);

void av_draw2d_rect(av_draw2d *d, float x, float y, float w, float h, av_rgba c);
void av_draw2d_rect_outline(av_draw2d *d, float x, float y, float w, float h, float t, av_rgba c);
void av_draw2d_line(av_draw2d *d, float x0, float y0, float x1, float y1, float t, av_rgba c);
void av_draw2d_arrow(av_draw2d *d, float x0, float y0, float x1, float y1, float t, float head, av_rgba c);
void av_draw2d_circle(av_draw2d *d, float x, float y, float r, av_rgba c);
/* Left-aligned text with its top at y; returns the advance width. */
float av_draw2d_text(av_draw2d *d, float x, float y, int size, av_rgba c, const char *utf8);
/* Same, but stops (with "...") before exceeding max_w pixels. */
float av_draw2d_text_clip(av_draw2d *d, float x, float y, int size, av_rgba c, const char *utf8, float max_w);
/* A GL_RGBA texture drawn into a rectangle (flushes the batch). */
void av_draw2d_image(av_draw2d *d, unsigned tex, float x, float y, float w, float h, float alpha);
#endif
