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

/* The search hits' colour and count, below the colour legend (the matrix shows the
 * legend for the hits alone when colouring by q/k). Returns the height used. */
static float legend_hits(av_viewer *v, float x, float y, float w) {
    if (!v->search_hits || !v->search[0]) return 0;
    av_theme th = av_theme_of(v);
    av_draw2d *d = &v->d2;
    char s[200];
    snprintf(s, sizeof s, "\"%.80s\": %lld hit%s", v->search, (long long)v->search_hits, v->search_hits == 1 ? "" : "s");
    av_draw2d_rect(d, x, y - 24, w, 24, th.panel);
    av_draw2d_rect_outline(d, x, y - 24, w, 24, 1, th.border);
    av_draw2d_circle(d, x + 15, y - 12, 5, th.hit);
    av_draw2d_text_clip(d, x + 27, y - 20, 0, th.fg, s, w - 35);
    return 23;
}

void av_overlay_legend(av_viewer *v, float x, float y) {
    av_theme th = av_theme_of(v);
    av_draw2d *d = &v->d2;
    char title[64];
    snprintf(title, sizeof title, "colour: %s", av_color_name(v->color));
    if (av_color_categorical(v->color)) {
        const char *names[10];
        int n = av_vdata_categories(v->vd, v->color, names, 10);
        float h = 22 + 18.0f * n;
        y -= legend_hits(v, x, y, 170);
        av_draw2d_rect(d, x, y - h, 170, h, th.panel);
        av_draw2d_rect_outline(d, x, y - h, 170, h, 1, th.border);
        av_draw2d_text(d, x + 8, y - h + 4, 0, th.fg, title);
        for (int i = 0; i < n; i++) {
            float yy = y - h + 24 + 18.0f * i;
            av_draw2d_circle(d, x + 15, yy + 7, 5, av_palette(v, i));
            av_draw2d_text_clip(d, x + 27, yy, 0, th.fg, names[i], 135);
        }
    } else {
        /* the ends of the scale in the run's units (av_vdata_attr_scale, set when the
         * colours were uploaded), and what grey means where some tokens have no value */
        int scaled = v->gl_color == (int)v->color;
        const char *lo = scaled ? v->legend_lo : "low", *hi = scaled ? v->legend_hi : "high";
        const char *none = scaled ? v->legend_none : "";
        float w = 170, wl = av_font_width(&d->font, 0, lo) + av_font_width(&d->font, 0, hi) + 36;
        if (wl > w) w = wl;
        if (none[0] && av_font_width(&d->font, 0, none) + 20 > w) w = av_font_width(&d->font, 0, none) + 20;
        if (x + w > v->width - 8) x = v->width - 8 - w; /* the matrix anchors it at the right edge */
        float h = none[0] ? 76 : 58;
        y -= legend_hits(v, x, y, w);
        av_draw2d_rect(d, x, y - h, w, h, th.panel);
        av_draw2d_rect_outline(d, x, y - h, w, h, 1, th.border);
        av_draw2d_text(d, x + 8, y - h + 4, 0, th.fg, title);
        int cyc = av_color_cyclic(v->color);
        for (int i = 0; i < 150; i++)
            av_draw2d_rect(d, x + 10 + i * (w - 20) / 150, y - h + 24, (w - 20) / 150 + 1, 12,
                           cyc ? av_colorwheel(i / 150.0f) : av_colormap(i / 149.0f));
        av_draw2d_text(d, x + 10, y - h + 38, 0, th.dim, lo);
        av_draw2d_text(d, x + w - 10 - av_font_width(&d->font, 0, hi), y - h + 38, 0, th.dim, hi);
        if (none[0]) av_draw2d_text(d, x + 10, y - h + 56, 0, th.dim, none);
    }
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
