/* plot.h - point clouds drawn by accumulation, progressively, into a cached picture.
 *
 * A plot is one head's cloud drawn into one rectangle (a matrix cell, or the single
 * view's plot area). Its points are accumulated rather than blended: every pixel sums,
 * per layer (0: the cloud, 1: highlighted points drawn over it), how many points cover
 * it and their colours in 8-bit levels. Those sums are integers held exactly in float,
 * so they do not depend on the order the points arrive in: the points can be drawn in
 * any number of disjoint passes (pass p of P draws every P-th point from p) spread over
 * frames, and the result equals one pass over all of them. A resolve pass then turns
 * the sums into pixels of a cached RGBA8 picture: the mean colour over coverage
 * 1 - (1 - a)^count, with the per-point alpha a chosen from the plot's own counts
 * (density-aware: a dense cloud gets faint points, so its inside keeps its structure),
 * or a heat map of log(1 + count). Every frame copies the cached picture and draws
 * the overlays on it: hover, tooltips and highlights of cells cost no work per point.
 * A plot is redrawn only when what it shows changes (its key: head, projection,
 * rectangle, camera, colours, theme, selection, search hits, point size, shown
 * queries/keys); a change of exposure or of the heat mode only resolves again.
 *
 * Accumulation runs on the GPU (additive blending into two RGBA32F textures, points.c)
 * or, where the OpenGL driver is a software renderer, in C (splat_cpu.c): there the
 * driver's per-vertex work costs ~0.5-1 us a point, the C splatter ~10-90 ns.
 *
 * av_plot owns its CPU arrays (av_plot_release); the GL side lives in canvas.h. */
#ifndef AV_VIEWER_PLOT_H
#define AV_VIEWER_PLOT_H
#include <stdint.h>
#include "viewer/canvas.h"

typedef enum { AV_RENDERER_AUTO = 0, AV_RENDERER_GL, AV_RENDERER_CPU } av_renderer;
const char *av_renderer_name(av_renderer r);
int av_renderer_parse(const char *name, av_renderer *out);

/* Everything that decides what a plot's accumulators hold; any change redraws it. */
typedef struct {
    int layer, head, proj, gen;   /* gen: how often the head's points changed (live projection) */
    int x, y, w, h;
    int color, show, size_norm, dark, any_flag;
    int pick;                     /* keep per-pixel point indices for picking (CPU renderer) */
    uint32_t flags_gen;           /* selection / search hits */
    float base_size;              /* point diameter before density-aware shrinking */
    float m[16];                  /* data -> clip space */
} av_plot_key;

typedef struct {
    av_plot_key key;
    int valid;                    /* key holds a drawn state */
    int64_t n;                    /* points of the head (2T); 0 when it is not projected */
    float size;                   /* point diameter in pixels, chosen from the density */
    int passes, done;             /* pass p draws points j = p, p + passes, ...; done: passes drawn */
    int64_t drawn;                /* points accumulated so far */
    int dirty;                    /* the cached picture is older than the accumulators */
    int fresh;                    /* restarted: its picture shows another key until resolved */
    double shown_at;              /* when it was last resolved (av_now) */
    float c90, c995;              /* 90th and 99.5th percentile of the covered pixels' counts */
    int top_used;                 /* layer 1 holds something */
    int stats_due;                /* drawn to since c90/c995 were taken */
    float *acc[2];                /* CPU renderer: [h][w] x (count, r, g, b) per layer, rows bottom up */
    uint32_t *ids;                /* CPU renderer, single view: per pixel the top-most point's
                                   * draw index + 1 (bit 31: highlighted), for picking */
    uint8_t *rgba;                /* CPU renderer: the resolved pixels, [h][w] RGBA8 rows bottom up */
    int64_t acc_px[2], ids_px, rgba_px; /* pixels allocated in acc[], ids, rgba */
} av_plot;

struct av_viewer;

/* Drawing the plots of one view for a frame. plots[i]'s wanted key is keys[i]; a plot
 * whose key changed starts over. Draws passes within the viewer's budget (v->budget_ms
 * milliseconds, v->lod_budget points; both 0 = everything), resolves what changed into
 * the canvas's picture, and updates v's progress counters. With v->direct every plot is
 * drawn whole and resolved straight into v->target_fbo, the picture untouched. clear:
 * the picture's colour outside the plots; under: the colour under the points. */
void av_plots_frame(struct av_viewer *v, av_canvas *c, av_plot *plots, const av_plot_key *keys, int n,
                    const float clear[3], const float under[3]);
/* Forgets what plots hold (the next frame redraws them). */
void av_plots_invalidate(av_plot *plots, int n);
void av_plot_release(av_plot *p);
/* The per-point alpha of the cloud layer and the heat map's count at full scale, from
 * the plot's counts and the viewer's exposure. */
float av_plot_alpha(const av_plot *p, float exposure);
float av_plot_heat_max(const av_plot *p, float exposure);
#endif
