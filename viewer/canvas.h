/* canvas.h - the GL side of plot.h: one view's cached picture (the size of the window),
 * the GPU renderer's accumulation textures beside it, and the resolve pass that turns
 * a plot's sums into pixels on the GPU. The accumulators and the picture share window
 * coordinates, so a plot's rectangle is the same in both.
 *
 * av_canvas and av_resolve own their GL objects (av_canvas_free, av_resolve_free);
 * every call needs the GL context current. */
#ifndef AV_VIEWER_CANVAS_H
#define AV_VIEWER_CANVAS_H
#include <stdint.h>

/* Integral rectangle in GL window coordinates (origin bottom left). */
typedef struct { int x, y, w, h; } av_irect;

typedef struct {
    int w, h;
    unsigned acc_fbo, acc_tex[2];   /* GPU renderer: RGBA32F (count, r, g, b) sums; layer 0 the cloud,
                                     * 1 highlighted */
    unsigned cache_fbo, cache_tex;  /* RGBA8: the resolved picture */
    float bg[3];                    /* colour the picture was cleared to */
    float res_exposure;             /* resolve settings of the picture */
    int res_heat;
} av_canvas;

/* Makes the canvas w x h with its picture cleared to bg, with accumulation textures
 * when sums (the GPU renderer); returns 1 when it was made or cleared (every plot on it
 * must be drawn again), 0 when unchanged, AV_ERR when the GL cannot make it. */
int av_canvas_ensure(av_canvas *c, int w, int h, const float bg[3], int sums);
void av_canvas_free(av_canvas *c);
/* Clears the picture to its background (the plots must be resolved into it again). */
void av_canvas_clear_picture(av_canvas *c);
/* Zeroes both layers' sums in r. */
void av_canvas_clear(const av_canvas *c, av_irect r);
/* Puts pixels resolved on the CPU ([r.h][r.w] RGBA8, rows bottom up) into the picture. */
void av_canvas_put(const av_canvas *c, av_irect r, const uint8_t *rgba);
/* Reads layer 0's counts in r into out ([r.h][r.w] floats). */
void av_canvas_read_counts(const av_canvas *c, av_irect r, float *out);
/* Copies the cached picture (or its rectangle r) into framebuffer fbo (same size) and
 * leaves fbo bound. */
void av_canvas_show(const av_canvas *c, unsigned fbo);
void av_canvas_show_rect(const av_canvas *c, av_irect r, unsigned fbo);

enum { R_ACC0, R_ACC1, R_BG, R_A0, R_A1, R_SCALE, R_HMAX, R_HEAT, R_TOP, R_DARK, R_COUNT };
typedef struct { unsigned prog, vao; int loc[R_COUNT]; } av_resolve;
typedef struct {
    float bg[3];          /* colour under the points */
    float alpha, alpha_top; /* per-point alpha of each layer */
    float scale;          /* counts x scale (a plot part drawn: all points / points drawn) */
    float heat_max;       /* heat map: count at the top of the scale */
    int heat, top, dark;  /* heat map; layer 1 holds points; dark theme (heat map direction) */
} av_resolve_params;

int av_resolve_init(av_resolve *rs);
void av_resolve_free(av_resolve *rs);
/* Resolves the sums of c in r into the same rectangle of framebuffer fbo (opaque). */
void av_resolve_draw(const av_resolve *rs, const av_canvas *c, av_irect r, const av_resolve_params *p, unsigned fbo);
#endif
