/* viewer.h - the attnviz views (matrix, single, sentence, image) and their interaction
 * state, drawn with OpenGL 3.3 core into whatever framebuffer is bound: the GLFW window
 * (viewer/window.c) or an offscreen one (viewer/headless.c, `attnviz render`). The same
 * code draws both, so a PNG shows exactly what the window shows. The point clouds of
 * the matrix cells and the single view are plots (plot.h): cached pictures drawn with
 * every point, progressively when that takes longer than a frame, so a frame can leave
 * points for the next ones (v->pending).
 *
 * Input arrives as plain calls (mouse position, click, drag, wheel, key, typed
 * character) so the window, scripted tests and the render command drive it alike.
 * av_viewer borrows the av_vdata (the caller keeps it open for the viewer's lifetime)
 * and owns its GL objects and buffers; av_viewer_free needs the GL context current. */
#ifndef AV_VIEWER_VIEWER_H
#define AV_VIEWER_VIEWER_H
#include <stdint.h>
#include <cjson/cJSON.h>
#include "viewer/canvas.h"
#include "viewer/draw2d.h"
#include "viewer/plot.h"
#include "viewer/splat_cpu.h"
#include "viewer/viewdata.h"

/* Drawing time per frame the window gives the points (the rest follow next frames). */
#define AV_FRAME_BUDGET_MS 30.0

typedef enum { AV_VIEW_MATRIX = 0, AV_VIEW_SINGLE, AV_VIEW_SENTENCE, AV_VIEW_IMAGE } av_view_kind;
const char *av_view_name(av_view_kind k);
int av_view_parse(const char *name, av_view_kind *out);

/* Keys the viewer understands (the window maps GLFW keys onto these; letters are sent
 * as their lower-case ASCII code). */
enum { AV_KEY_LEFT = 1000, AV_KEY_RIGHT, AV_KEY_UP, AV_KEY_DOWN, AV_KEY_ENTER, AV_KEY_ESCAPE,
       AV_KEY_BACKSPACE };

/* Flags per token (bits of av_viewer.flags). */
enum { AV_FLAG_ITEM = 1, AV_FLAG_HIT = 2, AV_FLAG_TOKEN = 4 };

typedef struct av_viewer {
    av_vdata *vd;
    /* what is shown */
    av_view_kind view;
    int layer, head;
    av_color_mode color;
    int dark, show_q, show_k, size_by_norm, hide_special, vnorm_weight, arrows;
    float zoom, pan_x, pan_y, yaw, pitch, point_size;
    int64_t sel_token, sel_item;
    char search[128];
    int64_t search_hits;
    int search_active;           /* typed characters go to the search field */
    /* how points are drawn (plot.h) */
    int heat;                    /* density (heat) map instead of coloured points */
    float exposure;              /* ink: scales the density-aware alpha and the heat scale (1 = auto) */
    av_renderer renderer;        /* GL (the GPU) or CPU; av_viewer_init resolves AUTO */
    int direct;                  /* every frame draws every point straight into the frame, no cache
                                  * (the reference the cached pictures are tested against) */
    double budget_ms;            /* drawing time per frame before the rest waits for the next frame, 0 = none */
    int64_t lod_budget;          /* points per frame, 0 = no limit */
    /* progress of the plots on screen (last frame) */
    int64_t points_total, points_shown, points_drawn; /* all, accumulated so far, drawn in the frame */
    int passes;                  /* of the refresh under way; 1 when every point is shown */
    int pending;                 /* points left to draw: the caller should draw another frame */
    double work_ms;              /* drawing points and resolving, last frame */
    double refresh_ms, refresh_acc; /* the same over the frames of the last complete refresh */
    double rate;                 /* points drawn per ms (measured) */
    /* pointer */
    float mouse_x, mouse_y;
    int64_t hover_point;         /* point index in the single view, -1 none */
    int hover_stale;             /* hover_point waits for the next frame's picture */
    int hover_l, hover_h;        /* matrix cell under the pointer, -1 none */
    int64_t hover_token;         /* sentence / image view token under the pointer */
    /* frame */
    int width, height;
    unsigned target_fbo;         /* framebuffer the views draw into */
    int lines_drawn;             /* attention lines / arrows drawn last frame */
    int64_t rows_first, rows_shown; /* sentence view: the item's tokens on screen last frame */
    double frame_ms;             /* last frame's draw time (the window measures it) */
    char note[512];              /* one-line status shown on screen (errors of actions) */
    char status[256];            /* one-line progress (live projection) shown instead of the key help */
    /* GL */
    av_draw2d d2;
    av_resolve resolve;
    av_canvas canvas[2];         /* matrix, single view */
    av_plot *cells;              /* [L*H] the matrix's plots */
    av_plot single;              /* the single view's plot */
    unsigned prog_pts, prog_pick, vao;
    int uloc[2][24];             /* uniform locations of prog_pts, prog_pick (points.c) */
    unsigned pos_buf, pos_tex, attr_buf, attr_tex, flag_buf, flag_tex, norm_buf, norm_tex;
    int gl_proj;                 /* projection loaded (in pos_buf on the GPU renderer), -1 none */
    int gl_color;                /* colour mode in attr, -1 none */
    char legend_lo[32], legend_hi[32], legend_none[48]; /* av_vdata_attr_scale of gl_color */
    int64_t pos_bytes;           /* GPU memory of the positions */
    float *attr;                 /* [T+1] per-token colour values of gl_color */
    uint8_t *flags;              /* [T] */
    int flags_dirty;
    uint32_t flags_gen;          /* counts changes of flags */
    uint32_t *head_gen;          /* [L*H] counts live updates of each head */
    uint32_t *cpu_col;           /* CPU renderer: [2T] colour table (splat_cpu.h) */
    uint32_t cpu_col_key[5];
    uint32_t lut[2][AV_SPLAT_LUT]; /* CPU renderer: norm colours, plain and dimmed */
    unsigned pick_fbo, pick_tex, pick_depth;
    int pick_w, pick_h, pick_valid;
    av_plot_key pick_key;
    /* attention of the selected item, recomputed when item/head/options change */
    float *att;
    int64_t att_n, att_item;
    int att_l, att_h, att_hide, att_vn;
    /* image view */
    unsigned img_tex;
    int64_t img_item;
    int img_ok;
    char img_err[512];
} av_viewer;

/* Needs a current GL 3.3 core context. Loads the first projection (t-SNE 2-D preferred)
 * when the run has one. */
int av_viewer_init(av_viewer *v, av_vdata *vd);
void av_viewer_free(av_viewer *v);

/* Switches projection (index into vd->proj); resets the camera. */
int av_viewer_set_proj(av_viewer *v, int i);
int av_viewer_set_color(av_viewer *v, av_color_mode m);
/* Where points accumulate (AUTO: the CPU when the GL driver is a software renderer). */
int av_viewer_set_renderer(av_viewer *v, av_renderer r);
int av_viewer_set_head(av_viewer *v, int layer, int head);
void av_viewer_set_view(av_viewer *v, av_view_kind k);
/* Selects a token (and its item); -1 clears. */
void av_viewer_select_token(av_viewer *v, int64_t t);
void av_viewer_set_search(av_viewer *v, const char *text);

/* Draws one frame of size w x h into v->target_fbo. Points the budget left undrawn
 * (v->pending) come in the next frames: draw again until v->pending is 0. */
void av_viewer_draw(av_viewer *v, int w, int h);
/* Draws frames until every point is shown. */
void av_viewer_finish(av_viewer *v, int w, int h);
/* Forgets the cached pictures: the next frames draw every point again. */
void av_viewer_invalidate(av_viewer *v);

/* The centre of the matrix cell of head (l, h), in window pixels. */
void av_viewer_cell_center(const av_viewer *v, int l, int h, float *x, float *y);

/* Input, in window pixels (origin top left). */
void av_viewer_mouse(av_viewer *v, float x, float y);
void av_viewer_click(av_viewer *v, float x, float y);
void av_viewer_drag(av_viewer *v, float dx, float dy, int right_button);
void av_viewer_scroll(av_viewer *v, float x, float y, float dy);
void av_viewer_key(av_viewer *v, int key);
void av_viewer_char(av_viewer *v, uint32_t codepoint);

/* The interaction state as JSON (view, head, selection, hover, search, LOD ...). */
cJSON *av_viewer_state(av_viewer *v);
#endif
