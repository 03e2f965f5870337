/* viewer_internal.h - what the view files (view_*.c, points.c, viewer.c) share and
 * nothing outside viewer/ needs: theme colours, palettes, the per-head transform and
 * the GL point cloud drawing. */
#ifndef AV_VIEWER_VIEWER_INTERNAL_H
#define AV_VIEWER_VIEWER_INTERNAL_H
#include "viewer/viewer.h"

typedef struct { av_rgba bg, fg, dim, panel, border, accent, hit; } av_theme;
av_theme av_theme_of(const av_viewer *v);
/* Categorical colour i of the palette used for a mode (query, key, categories). */
av_rgba av_palette(const av_viewer *v, int i);
/* The continuous colour map (viridis-like) at t in 0..1 (same formula as the shader). */
av_rgba av_colormap(float t);
av_rgba av_colorwheel(float t);   /* cyclic modes (av_color_cyclic) */
/* The density map at t in 0..1 (same formula as the resolve shader): sparse fades into
 * the theme's background. */
av_rgba av_heatmap(float t, int dark);

/* Layout rectangles in pixels. */
typedef struct { float x, y, w, h; } av_rect;
#define AV_TOPBAR 34.0f
#define AV_BOTTOMBAR 24.0f

/* The single view's plot area (between the bars). */
av_rect av_single_rect(const av_viewer *v);
/* Selects a whole item without a token (sentence/image views default to item 0). */
void av_viewer_select_item(av_viewer *v, int64_t item);

/* Column-major 4x4 matrix taking head (l,h)'s data coordinates to clip space of a
 * viewport w x h: the cloud fitted to the viewport; single = apply zoom/pan/orbit. */
void av_head_matrix(const av_viewer *v, int l, int h, float w, float h_px, int single, float m[16]);
/* Applies m to p (dim 2 or 3), returning viewport pixels (origin top left) in rect r. */
void av_project_px(const float m[16], const float *p, int dim, av_rect r, float *x, float *y);

/* Point clouds' data on the GPU and the CPU (points.c). */
int av_points_init(av_viewer *v);
void av_points_free(av_viewer *v);
int av_points_upload_proj(av_viewer *v);       /* when vd->cur changed */
void av_points_update_head(av_viewer *v, int l, int h); /* head (l, h) of the current projection changed: uploads it */
/* head (l, h) changed where the GPU buffer already holds it (written by CUDA): redraw, re-pick */
void av_points_head_changed(av_viewer *v, int l, int h);
int av_points_upload_color(av_viewer *v);      /* when the colour mode changed */
void av_points_upload_flags(av_viewer *v);     /* when flags changed */
int av_points_any_flag(const av_viewer *v);    /* a selection or search hits are shown */
/* GPU renderer: adds pass `pass` of plot p to the bound accumulation framebuffer. */
void av_points_accumulate(av_viewer *v, const av_plot *p, int pass);
/* CPU renderer: what splat_cpu.c needs to draw plot p (colour table rebuilt when stale). */
int av_points_cpu_source(av_viewer *v, const av_plot *p, av_splat_src *s);
/* Point index under (x, y) in the single view, -1 if none. */
int64_t av_points_pick(av_viewer *v, float x, float y);
/* The key of the plot that draws head (l, h) into r (pixels, origin top left) with
 * matrix m and base point size (view_matrix.c, view_single.c). */
void av_plot_key_of(const av_viewer *v, int l, int h, av_rect r, const float m[16], float size, int pick,
                    av_plot_key *k);

/* The key of the single view's plot as the view stands. */
void av_single_key(const av_viewer *v, av_plot_key *k);

/* Views. */
void av_view_matrix_draw(av_viewer *v);
void av_view_single_draw(av_viewer *v);
void av_view_sentence_draw(av_viewer *v);
void av_view_image_draw(av_viewer *v);
/* Matrix cell rectangle and the cell under a point. */
av_rect av_matrix_cell(const av_viewer *v, int l, int h);
int av_matrix_hit(const av_viewer *v, float x, float y, int *l, int *h);
/* The tooltip of matrix cell (l, h): up to 16 lines in buf, pointed to by lines. */
int av_matrix_tooltip(av_viewer *v, int l, int h, char buf[16][96], const char **lines);
/* Sentence / image view: token under (x, y), -1 none. */
int64_t av_sentence_hit(av_viewer *v, float x, float y);
int64_t av_image_hit(av_viewer *v, float x, float y);

/* Overlays (overlay.c). */
void av_overlay_topbar(av_viewer *v, const char *title);
void av_overlay_bottombar(av_viewer *v, const char *help);
void av_overlay_legend(av_viewer *v, float x, float y);
/* Width and height of the legend av_overlay_legend draws now (0 x 0 when none). */
void av_overlay_legend_size(av_viewer *v, float *w, float *h);
/* A box of lines near (x, y), kept inside the window. */
void av_overlay_tooltip(av_viewer *v, float x, float y, const char **lines, int n);
/* Makes sure v->att holds the selected item's attention for the current head. */
int av_viewer_ensure_attention(av_viewer *v);
/* Selected query token as an index into the item (0..n-1), or -1. */
int64_t av_viewer_sel_in_item(const av_viewer *v);
#endif
