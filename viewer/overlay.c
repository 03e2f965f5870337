/* overlay.c - the parts drawn over every view: title bar with the search field, help
 * line, colour legend, tooltips. */
#include <stdio.h>
#include <string.h>
#include "viewer/viewer_internal.h"

void av_overlay_topbar(av_viewer *v, const char *title) {
    av_theme th = av_theme_of(v);
    av_draw2d *d = &v->d2;
    float W = (float)v->width;
    av_draw2d_rect(d, 0, 0, W, AV_TOPBAR, th.panel);
    av_draw2d_rect(d, 0, AV_TOPBAR - 1, W, 1, th.border);
    av_draw2d_text_clip(d, 10, 7, 1, th.fg, title, W - 360);
    /* search field */
    float bx = W - 322, bw = 312;
    av_draw2d_rect(d, bx, 5, bw, AV_TOPBAR - 10, th.bg);
    av_draw2d_rect_outline(d, bx, 5, bw, AV_TOPBAR - 10, v->search_active ? 2 : 1,
                           v->search_active ? th.accent : th.border);
    char buf[200];
    if (!v->search[0] && !v->search_active) {
        av_draw2d_text(d, bx + 8, 9, 0, th.dim, "search a token  ( / )");
    } else {
        snprintf(buf, sizeof buf, "%s%s", v->search, v->search_active ? "|" : "");
        av_draw2d_text_clip(d, bx + 8, 9, 0, th.fg, buf, bw - 110);
        snprintf(buf, sizeof buf, "%lld hit%s", (long long)v->search_hits, v->search_hits == 1 ? "" : "s");
        av_draw2d_text(d, bx + bw - 8 - av_font_width(&d->font, 0, buf), 9, 0,
                       v->search_hits ? th.hit : th.dim, buf);
    }
}

void av_overlay_bottombar(av_viewer *v, const char *help) {
    av_theme th = av_theme_of(v);
    av_draw2d *d = &v->d2;
    float W = (float)v->width, y = (float)v->height - AV_BOTTOMBAR;
    av_draw2d_rect(d, 0, y, W, AV_BOTTOMBAR, th.panel);
    av_draw2d_rect(d, 0, y, W, 1, th.border);
    if (v->note[0]) {
        av_rgba warn = {0.85f, 0.2f, 0.15f, 1};
        av_draw2d_text_clip(d, 10, y + 4, 0, warn, v->note, W - 20);
    } else if (v->status[0]) {
        av_draw2d_text_clip(d, 10, y + 4, 0, th.fg, v->status, W - 20);
    } else {
        av_draw2d_text_clip(d, 10, y + 4, 0, th.dim, help, W - 20);
    }
}

/* The search hits' line below the colour legend (the matrix shows the legend for the
 * hits alone when colouring by q/k). */
static int legend_has_hits(const av_viewer *v) { return v->search_hits && v->search[0]; }

static void legend_hits(av_viewer *v, float x, float y, float w) {
    av_theme th = av_theme_of(v);
    av_draw2d *d = &v->d2;
    char s[200];
    snprintf(s, sizeof s, "\"%.80s\": %lld hit%s", v->search, (long long)v->search_hits, v->search_hits == 1 ? "" : "s");
    av_draw2d_rect(d, x, y - 24, w, 24, th.panel);
    av_draw2d_rect_outline(d, x, y - 24, w, 24, 1, th.border);
    av_draw2d_circle(d, x + 15, y - 12, 5, th.hit);
    av_draw2d_text_clip(d, x + 27, y - 20, 0, th.fg, s, w - 35);
}

/* What the legend shows: the heat map's scale, a categorical or a continuous colour
 * mode; its box size (hits line included) and the scale's end labels. */
typedef enum { LEG_NONE, LEG_HEAT, LEG_CATEGORIES, LEG_SCALE } legend_kind;
typedef struct {
    legend_kind kind;
    float w, h, box_h;          /* whole legend, and the box above the hits line */
    const char *names[10];
    int ncat;
    char title[64], lo[48], hi[48], none[48];
} legend_layout;

static void legend_plan(av_viewer *v, legend_layout *g) {
    av_draw2d *d = &v->d2;
    memset(g, 0, sizeof *g);
    int matrix = v->view == AV_VIEW_MATRIX;
    if (v->heat) {
        g->kind = LEG_HEAT;
        snprintf(g->title, sizeof g->title, "density: points a pixel");
        /* the matrix scales each cell to itself; the single view says its top */
        snprintf(g->lo, sizeof g->lo, matrix ? "sparse" : "1");
        if (matrix || !v->single.valid) snprintf(g->hi, sizeof g->hi, matrix ? "densest (each cell)" : "dense");
        else snprintf(g->hi, sizeof g->hi, "%.0f", av_plot_heat_max(&v->single, v->exposure));
    } else if (matrix && v->color == AV_COLOR_QK && !legend_has_hits(v)) {
        return;  /* the matrix has the q/k key in its bottom bar */
    } else if (av_color_categorical(v->color)) {
        g->kind = LEG_CATEGORIES;
        snprintf(g->title, sizeof g->title, "colour: %s", av_color_name(v->color));
        g->ncat = av_vdata_categories(v->vd, v->color, g->names, 10);
    } else {
        /* the ends of the scale in the run's units (av_vdata_attr_scale, set when the
         * colours were uploaded), and what grey means where some tokens have no value */
        g->kind = LEG_SCALE;
        snprintf(g->title, sizeof g->title, "colour: %s", av_color_name(v->color));
        int scaled = v->gl_color == (int)v->color;
        snprintf(g->lo, sizeof g->lo, "%s", scaled ? v->legend_lo : "low");
        snprintf(g->hi, sizeof g->hi, "%s", scaled ? v->legend_hi : "high");
        snprintf(g->none, sizeof g->none, "%s", scaled ? v->legend_none : "");
    }
    g->w = 170;
    if (g->kind == LEG_CATEGORIES) {
        g->box_h = 22 + 18.0f * g->ncat;
    } else {
        float wl = av_font_width(&d->font, 0, g->lo) + av_font_width(&d->font, 0, g->hi) + 36;
        float wt = av_font_width(&d->font, 0, g->title) + 16;
        if (wl > g->w) g->w = wl;
        if (wt > g->w) g->w = wt;
        if (g->none[0] && av_font_width(&d->font, 0, g->none) + 20 > g->w) g->w = av_font_width(&d->font, 0, g->none) + 20;
        g->box_h = g->none[0] ? 76 : 58;
    }
    g->h = g->box_h + (legend_has_hits(v) ? 23 : 0);
}

void av_overlay_legend_size(av_viewer *v, float *w, float *h) {
    legend_layout g;
    legend_plan(v, &g);
    *w = g.kind == LEG_NONE ? 0 : g.w;
    *h = g.kind == LEG_NONE ? 0 : g.h;
}

void av_overlay_legend(av_viewer *v, float x, float y) {
    av_theme th = av_theme_of(v);
    av_draw2d *d = &v->d2;
    legend_layout g;
    legend_plan(v, &g);
    if (g.kind == LEG_NONE) return;
    float w = g.w, h = g.box_h;
    if (x + w > v->width - 8) x = v->width - 8 - w;
    if (legend_has_hits(v)) {
        legend_hits(v, x, y, w);
        y -= 23;
    }
    av_draw2d_rect(d, x, y - h, w, h, th.panel);
    av_draw2d_rect_outline(d, x, y - h, w, h, 1, th.border);
    av_draw2d_text(d, x + 8, y - h + 4, 0, th.fg, g.title);
    if (g.kind == LEG_CATEGORIES) {
        for (int i = 0; i < g.ncat; i++) {
            float yy = y - h + 24 + 18.0f * i;
            av_draw2d_circle(d, x + 15, yy + 7, 5, av_palette(v, i));
            av_draw2d_text_clip(d, x + 27, yy, 0, th.fg, g.names[i], w - 35);
        }
        return;
    }
    int cyc = g.kind == LEG_SCALE && av_color_cyclic(v->color);
    for (int i = 0; i < 150; i++) {
        av_rgba c = g.kind == LEG_HEAT ? av_heatmap(i / 149.0f, v->dark) : cyc ? av_colorwheel(i / 150.0f) : av_colormap(i / 149.0f);
        av_draw2d_rect(d, x + 10 + i * (w - 20) / 150, y - h + 24, (w - 20) / 150 + 1, 12, c);
    }
    av_draw2d_text(d, x + 10, y - h + 38, 0, th.dim, g.lo);
    av_draw2d_text(d, x + w - 10 - av_font_width(&d->font, 0, g.hi), y - h + 38, 0, th.dim, g.hi);
    if (g.none[0]) av_draw2d_text(d, x + 10, y - h + 56, 0, th.dim, g.none);
}

void av_overlay_tooltip(av_viewer *v, float x, float y, const char **lines, int n) {
    av_theme th = av_theme_of(v);
    av_draw2d *d = &v->d2;
    float w = 0;
    for (int i = 0; i < n; i++) {
        float lw = av_font_width(&d->font, 0, lines[i]);
        if (lw > w) w = lw;
    }
    if (w > 460) w = 460;
    w += 16;
    float h = 8 + 18.0f * n;
    float bx = x + 14, by = y + 14;
    if (bx + w > v->width - 4) bx = x - 14 - w;
    if (by + h > v->height - AV_BOTTOMBAR) by = y - 14 - h;
    if (bx < 4) bx = 4;
    if (by < AV_TOPBAR + 2) by = AV_TOPBAR + 2;
    av_rgba bg = th.panel;
    bg.a = 0.96f;
    av_draw2d_rect(d, bx, by, w, h, bg);
    av_draw2d_rect_outline(d, bx, by, w, h, 1, th.border);
    for (int i = 0; i < n; i++) av_draw2d_text_clip(d, bx + 8, by + 4 + 18.0f * i, 0, th.fg, lines[i], w - 16);
}
