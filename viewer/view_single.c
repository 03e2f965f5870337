/* view_single.c - one head, large: pan/zoom (2-D) or orbit (3-D), hover tooltip,
 * clicked item highlighted with lines from each of its queries to its top keys
 * (weight >= 0.05, opacity = weight), search hits, legend. The cloud is a plot
 * (plot.h): while the camera moves each frame draws what its budget allows, and once
 * it rests the frames add the remaining points to the same picture until all are in. */
#include <stdio.h>
#include <string.h>
#include "viewer/viewer_internal.h"

#define LINE_MIN_WEIGHT 0.05f

static void snippet(const char *s, char *out, size_t n) {
    size_t len = strlen(s);
    if (len < n) { snprintf(out, n, "%s", s); return; }
    size_t cut = n - 4;
    while (cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80) cut--;  /* keep UTF-8 whole */
    snprintf(out, n, "%.*s...", (int)cut, s);
}

static void draw_attention_lines(av_viewer *v, av_rect r, const float m[16]) {
    av_vdata *vd = v->vd;
    if (v->sel_item < 0 || av_viewer_ensure_attention(v) != AV_OK) return;
    av_theme th = av_theme_of(v);
    int dim = av_vdata_dim(vd);
    int64_t t0 = vd->item_start[v->sel_item], n = v->att_n, sel = av_viewer_sel_in_item(v);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++) {
            float w = v->att[i * n + j];
            if (w < LINE_MIN_WEIGHT) continue;
            float x0, y0, x1, y1;
            av_project_px(m, av_vdata_point(vd, v->layer, v->head, t0 + i), dim, r, &x0, &y0);
            av_project_px(m, av_vdata_point(vd, v->layer, v->head, vd->T + t0 + j), dim, r, &x1, &y1);
            av_rgba c = th.fg;
            c.a = w;
            av_draw2d_line(&v->d2, x0, y0, x1, y1, i == sel ? 2.5f : 1.5f, c);
            v->lines_drawn++;
        }
    if (v->sel_token >= 0) {
        float x, y;
        av_project_px(m, av_vdata_point(vd, v->layer, v->head, v->sel_token), dim, r, &x, &y);
        av_draw2d_rect_outline(&v->d2, x - 8, y - 8, 16, 16, 2, th.accent);
    }
}

void av_single_key(const av_viewer *v, av_plot_key *k) {
    av_rect r = av_single_rect(v);
    float m[16];
    av_head_matrix(v, v->layer, v->head, r.w, r.h, 1, m);
    av_plot_key_of(v, v->layer, v->head, r, m, v->point_size * 1.4f, 1, k);
}

void av_view_single_draw(av_viewer *v) {
    av_vdata *vd = v->vd;
    av_theme th = av_theme_of(v);
    av_draw2d *d = &v->d2;
    av_rect r = av_single_rect(v);
    float m[16];
    av_head_matrix(v, v->layer, v->head, r.w, r.h, 1, m);
    int projected = av_vdata_head_projected(vd, v->layer, v->head);
    av_plot_key key;
    av_single_key(v, &key);
    float bg[3] = {th.bg.r, th.bg.g, th.bg.b};
    av_plots_frame(v, &v->canvas[1], &v->single, &key, 1, bg, bg);
    if (!v->direct) av_canvas_show(&v->canvas[1], v->target_fbo);
    /* the point under the pointer, once the picture it is picked from is current */
    if (v->hover_stale || (v->points_drawn > 0 && v->hover_point >= 0)) {
        v->hover_stale = 0;
        v->hover_point = av_points_pick(v, v->mouse_x, v->mouse_y);
    }
    if (projected) {
        draw_attention_lines(v, r, m);
    } else { /* NaN-filled by `project --heads`: say so and how to add it */
        char a[160], b[4400];
        snprintf(a, sizeof a, "head %d:%d is not in this projection", v->layer, v->head);
        if (vd->cur >= 0)
            snprintf(b, sizeof b, "attnviz project %.4000s --method %s --dim %d --heads %d:%d adds it", vd->run.dir,
                     vd->proj[vd->cur].method, av_vdata_dim(vd), v->layer, v->head);
        else
            snprintf(b, sizeof b, "attnviz project %.4000s makes one", vd->run.dir);
        float cy = r.y + r.h / 2 - 20;
        av_draw2d_text(d, r.x + r.w / 2 - av_font_width(&d->font, 1, a) / 2, cy, 1, th.fg, a);
        av_draw2d_text_clip(d, r.x + r.w / 2 - av_font_width(&d->font, 0, b) / 2, cy + 30, 0, th.dim, b, r.w - 20);
    }

    char title[512];
    const char *base = strrchr(vd->run.dir, '/');
    base = base && base[1] ? base + 1 : vd->run.dir;
    int k = 0;
    if (v->pending)
        k = snprintf(title, sizeof title, "drawing: %.0f%% of the points  |  ",
                     100.0 * (double)v->points_shown / (double)(v->points_total ? v->points_total : 1));
    snprintf(title + k, sizeof title - (size_t)k, "%.200s  %s  layer %d head %d  %s %d-D  %lld points%s%s", base,
             vd->run.model_type, v->layer, v->head, vd->cur >= 0 ? vd->proj[vd->cur].method : "-", av_vdata_dim(vd),
             (long long)(2 * vd->T), v->show_q ? "" : "  (queries hidden)", v->show_k ? "" : "  (keys hidden)");
    av_overlay_topbar(v, title);
    av_overlay_bottombar(v, av_vdata_dim(vd) == 3
        ? "drag orbit  right-drag pan  wheel zoom  click select  Left/Right head  Up/Down layer  / search  c colour  "
          "d density  [ ] ink  p projection  q/k toggle  n size by norm  t theme  v sentence/image  m matrix  Esc clear"
        : "drag pan  wheel zoom  click select  Left/Right head  Up/Down layer  / search  c colour  d density  [ ] ink  "
          "p projection  q/k toggle  n size by norm  t theme  v sentence/image  m matrix  Esc clear");
    av_overlay_legend(v, 10, (float)v->height - AV_BOTTOMBAR - 8);

    if (v->sel_item >= 0) {
        char s[160], line[256];
        snippet(vd->item_text[v->sel_item], s, 90);
        snprintf(line, sizeof line, "item %lld: %s", (long long)v->sel_item, s);
        char line2[96];
        snprintf(line2, sizeof line2, "%d attention lines (weight >= %.2f)", v->lines_drawn, LINE_MIN_WEIGHT);
        float w = av_font_width(&d->font, 0, line), w2 = av_font_width(&d->font, 0, line2);
        w = (w > w2 ? w : w2) + 16;
        if (w > r.w - 20) w = r.w - 20;
        av_draw2d_rect(d, r.x + r.w - w - 10, r.y + 8, w, 44, th.panel);
        av_draw2d_rect_outline(d, r.x + r.w - w - 10, r.y + 8, w, 44, 1, th.border);
        av_draw2d_text_clip(d, r.x + r.w - w - 2, r.y + 12, 0, th.fg, line, w - 16);
        av_draw2d_text(d, r.x + r.w - w - 2, r.y + 30, 0, th.dim, line2);
    }
    if (v->hover_point >= 0) {
        int64_t t = v->hover_point % vd->T;
        int64_t it = vd->tok_item[t];
        char a[160], b[160], c[200], e[64];
        snprintf(a, sizeof a, "\"%s\"  (%s)", vd->tok_label[t], v->hover_point >= vd->T ? "key" : "query");
        snprintf(b, sizeof b, "item %lld, position %d of %lld", (long long)it, vd->tok_pos[t], (long long)vd->item_len[it]);
        snippet(vd->item_text[it], c, 80);
        snprintf(e, sizeof e, "layer %d head %d", v->layer, v->head);
        const char *lines[4] = {a, b, c, e};
        av_overlay_tooltip(v, v->mouse_x, v->mouse_y, lines, 4);
    }
}
