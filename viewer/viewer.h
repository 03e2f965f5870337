/* viewer.h - the attnviz views (matrix, single, sentence, image) and their interaction
 * state, drawn with OpenGL 3.3 core into whatever framebuffer is bound: the GLFW window
 * (viewer/window.c) or an offscreen one (viewer/headless.c, `attnviz render`). The same
 * code draws both, so a PNG shows exactly what the window shows.
 *
 * Input arrives as plain calls (mouse position, click, drag, wheel, key, typed
 * character) so the window, scripted tests and the render command drive it alike.
 * av_viewer borrows the av_vdata (the caller keeps it open for the viewer's lifetime)
 * and owns its GL objects and buffers; av_viewer_free needs the GL context current. */
#ifndef AV_VIEWER_VIEWER_H
#define AV_VIEWER_VIEWER_H
#include <stdint.h>
#include <cjson/cJSON.h>
#include "viewer/draw2d.h"
#include "viewer/viewdata.h"

typedef enum { AV_VIEW_MATRIX = 0, AV_VIEW_SINGLE, AV_VIEW_SENTENCE, AV_VIEW_IMAGE } av_view_kind;
const char *av_view_name(av_view_kind k);
int av_view_parse(const char *name, av_view_kind *out);

/* Keys the viewer understands (the window maps GLFW keys onto these; letters are sent
 * as their lower-case ASCII code). */
enum { AV_KEY_LEFT = 1000, AV_KEY_RIGHT, AV_KEY_UP, AV_KEY_DOWN, AV_KEY_ENTER, AV_KEY_ESCAPE,
       AV_KEY_BACKSPACE };

/* Flags per token (bits of av_viewer.flags). */
enum { AV_FLAG_ITEM = 1, AV_FLAG_HIT = 2, AV_FLAG_TOKEN = 4 };

typedef struct {  /* what the picking buffer was drawn for; redrawn when it changes */
    int view, layer, head, proj, w, h, stride, show, size_by_norm;
    float zoom, pan_x, pan_y, yaw, pitch, point_size;
} av_pick_key;

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
    int64_t lod_budget;          /* points per frame, 0 = draw everything */
    int lod_stride;              /* 1 in lod_stride points drawn (last frame) */
    /* pointer */
    float mouse_x, mouse_y;
    int64_t hover_point;         /* point index in the single view, -1 none */
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
    unsigned prog_pts, prog_pick, vao;
    int uloc[2][24];             /* uniform locations of prog_pts, prog_pick (points.c) */
    unsigned pos_buf, pos_tex, attr_buf, attr_tex, flag_buf, flag_tex, norm_buf, norm_tex;
    int gl_proj;                 /* projection in pos_buf, -1 none */
    int gl_color;                /* colour mode in attr_buf, -1 none */
    char legend_lo[32], legend_hi[32], legend_none[48]; /* av_vdata_attr_scale of gl_color */
    int64_t pos_texels;          /* texels in pos_buf */
    uint8_t *flags;              /* [T] */
    int flags_dirty;
    unsigned pick_fbo, pick_tex, pick_depth;
    int pick_w, pick_h, pick_valid;
    av_pick_key pick_key;
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
int av_viewer_set_head(av_viewer *v, int layer, int head);
void av_viewer_set_view(av_viewer *v, av_view_kind k);
/* Selects a token (and its item); -1 clears. */
void av_viewer_select_token(av_viewer *v, int64_t t);
void av_viewer_set_search(av_viewer *v, const char *text);

/* Draws one frame of size w x h into v->target_fbo. */
void av_viewer_draw(av_viewer *v, int w, int h);

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
