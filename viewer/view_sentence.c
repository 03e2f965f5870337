/* view_sentence.c - BertViz-style sentence view: the selected item's tokens in two
 * columns (queries left, keys right) and a line from each query to each key with
 * opacity = attention. The query under the pointer (or the clicked one) shows only its
 * own lines. Special tokens can be hidden with renormalisation; weights can be scaled
 * by the keys' value norms when the run stored them. */
#include <stdio.h>
#include <string.h>
#include "viewer/viewer_internal.h"

#define ROW_MIN 16.0f
#define ROW_MAX 22.0f

/* rows first .. first + shown - 1 of the item's n tokens are on screen */
typedef struct { float lx, rx, y0, row; int64_t shown, n, t0, first; } layout;

static layout make_layout(const av_viewer *v) {
    layout o = {0};
    if (v->sel_item < 0) return o;
    o.t0 = v->vd->item_start[v->sel_item];
    o.n = v->vd->item_len[v->sel_item];
    o.lx = v->width * 0.40f;
    o.rx = v->width * 0.60f;
    o.y0 = AV_TOPBAR + 52;
    float avail = (float)v->height - o.y0 - AV_BOTTOMBAR - 10;
    o.row = o.n > 0 ? avail / (float)o.n : ROW_MAX;
    if (o.row > ROW_MAX) o.row = ROW_MAX;
    if (o.row < ROW_MIN) o.row = ROW_MIN;
    o.shown = (int64_t)(avail / o.row);
    if (o.shown > o.n) o.shown = o.n;
    /* an item longer than the window: the rows around the selected token, so that
     * --token (or a click in another view) reaches the end of a long item too */
    int64_t sel = v->sel_token >= o.t0 && v->sel_token < o.t0 + o.n ? v->sel_token - o.t0 : -1;
    if (sel >= o.shown) {
        o.first = sel - o.shown / 2;
        if (o.first > o.n - o.shown) o.first = o.n - o.shown;
    }
    return o;
}

int64_t av_sentence_hit(av_viewer *v, float x, float y) {
    layout o = make_layout(v);
    if (!o.n || y < o.y0) return -1;
    int64_t i = (int64_t)((y - o.y0) / o.row);
    if (i >= o.shown) return -1;
    if ((x > o.lx - 220 && x < o.lx + 8) || (x > o.rx - 8 && x < o.rx + 220)) return o.t0 + o.first + i;
    return -1;
}

static int hidden(const av_viewer *v, int64_t t) {
    const av_vdata *vd = v->vd;
    return v->hide_special && (av_vdata_is_special(vd, t) || ((vd->is_gpt2 || vd->is_vit) && vd->tok_pos[t] == 0));
}

void av_view_sentence_draw(av_viewer *v) {
    av_vdata *vd = v->vd;
    av_theme th = av_theme_of(v);
    av_draw2d *d = &v->d2;
    if (v->sel_item < 0) av_viewer_select_item(v, 0);
    layout o = make_layout(v);
    char title[512];
    snprintf(title, sizeof title, "sentence view  item %lld  layer %d head %d%s%s", (long long)v->sel_item, v->layer,
             v->head, v->hide_special ? (vd->is_gpt2 ? "  first token hidden" : "  [CLS]/[SEP] hidden") : "",
             v->vnorm_weight ? "  weighted by value norm" : "");
    av_overlay_topbar(v, title);
    av_overlay_bottombar(v, "hover/click a token: its attention  Left/Right head  Up/Down layer  h hide special tokens  "
                            "w weight by value norm  v back to points  m matrix");
    if (!o.n || av_viewer_ensure_attention(v) != AV_OK) return;
    av_draw2d_text(d, o.lx - av_font_width(&d->font, 1, "queries"), AV_TOPBAR + 14, 1, th.dim, "queries");
    av_draw2d_text(d, o.rx, AV_TOPBAR + 14, 1, th.dim, "keys");
    int64_t active = -1;
    if (v->hover_token >= o.t0 && v->hover_token < o.t0 + o.n && v->mouse_x < v->width * 0.5f) active = v->hover_token - o.t0;
    else if (v->sel_token >= 0) active = av_viewer_sel_in_item(v);
    av_rgba line = {0.25f, 0.45f, 0.85f, 1};
    if (v->dark) line = (av_rgba){0.45f, 0.65f, 1.0f, 1};
    int64_t end = o.first + o.shown;
    v->rows_first = o.first;
    v->rows_shown = o.shown;
    for (int64_t i = o.first; i < end; i++) {
        if ((active >= 0 && i != active) || hidden(v, o.t0 + i)) continue;
        for (int64_t j = o.first; j < end; j++) {
            float w = v->att[i * o.n + j];
            if (w < (active >= 0 ? 0.005f : 0.02f)) continue;
            av_rgba c = line;
            c.a = active >= 0 ? w : w * 0.9f;
            av_draw2d_line(d, o.lx + 8, o.y0 + o.row * (i - o.first + 0.5f), o.rx - 8, o.y0 + o.row * (j - o.first + 0.5f), 2, c);
            v->lines_drawn++;
        }
    }
    for (int64_t i = o.first; i < end; i++) {
        int64_t t = o.t0 + i;
        float ry = o.y0 + o.row * (i - o.first), y = ry + (o.row - 16) * 0.5f;
        av_rgba c = hidden(v, t) ? th.dim : th.fg;
        float wl = av_font_width(&d->font, 0, vd->tok_label[t]);
        if (i == active) {
            av_rgba hb = line;
            hb.a = 0.3f;
            av_draw2d_rect(d, o.lx - wl - 4, ry, wl + 8, o.row, hb);
        }
        if (active >= 0) {
            av_rgba kb = line;
            kb.a = v->att[active * o.n + i] * 0.8f;
            av_draw2d_rect(d, o.rx - 4, ry, av_font_width(&d->font, 0, vd->tok_label[t]) + 8, o.row, kb);
        }
        av_draw2d_text(d, o.lx - wl, y, 0, c, vd->tok_label[t]);
        av_draw2d_text(d, o.rx, y, 0, c, vd->tok_label[t]);
    }
    if (o.shown < o.n) {
        char s[96];
        snprintf(s, sizeof s, "showing tokens %lld-%lld of %lld (select a token to move)", (long long)o.first + 1,
                 (long long)end, (long long)o.n);
        av_draw2d_text(d, 10, AV_TOPBAR + 14, 0, th.dim, s);
    }
    if (active >= 0) {
        /* the strongest keys of the active query, as numbers */
        char s[8][96];
        const char *lines[8];
        int k = 0;
        snprintf(s[k], 96, "\"%s\" attends to:", vd->tok_label[o.t0 + active]);
        lines[k] = s[k]; k++;
        int64_t used[5] = {-1, -1, -1, -1, -1};
        double total = 0;
        for (int64_t j = 0; j < o.n; j++) total += v->att[active * o.n + j];
        if (!(total > 0)) { /* no finite keys, or a non-finite q (av_vdata_attention) */
            snprintf(s[k], 96, "no attention: q or k not finite");
            lines[k] = s[k]; k++;
        }
        for (int r = 0; r < 5 && total > 0; r++) {
            int64_t best = -1;
            for (int64_t j = 0; j < o.n; j++) {
                int taken = 0;
                for (int q = 0; q < r; q++) taken |= used[q] == j;
                if (!taken && (best < 0 || v->att[active * o.n + j] > v->att[active * o.n + best])) best = j;
            }
            if (best < 0) break;
            used[r] = best;
            snprintf(s[k], 96, "%.3f  %s (pos %lld)", v->att[active * o.n + best], vd->tok_label[o.t0 + best], (long long)best);
            lines[k] = s[k]; k++;
        }
        float x = v->width * 0.60f + 160;
        if (x + 200 > v->width) x = v->width - 210;
        av_draw2d_rect(d, x, AV_TOPBAR + 44, 200, 8 + 18.0f * k, th.panel);
        for (int q = 0; q < k; q++) av_draw2d_text_clip(d, x + 8, AV_TOPBAR + 48 + 18.0f * q, 0, th.fg, lines[q], 186);
    }
}
