/* view_matrix.c - every head at once: layers as rows, heads as columns, each cell the
 * head's joint q/k cloud fitted to the cell, every point of it. Each cell is a plot
 * (plot.h): drawn once into the view's cached picture, progressively when it does not
 * fit a frame (the title shows how far), and again only when what it shows changes.
 * Hovering a cell shows its statistics (stats.json); clicking opens the single view. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/util.h"
#include "viewer/gl.h"
#include "viewer/viewer_internal.h"

#define LEFT 46.0f
#define HEADROW 22.0f

/* The legend gets a column of its own at the right, so it never covers a cell. */
static float legend_column(const av_viewer *v) {
    float w, h;
    av_overlay_legend_size((av_viewer *)v, &w, &h);
    return w > 0 ? w + 8 : 0;
}

av_rect av_matrix_cell(const av_viewer *v, int l, int h) {
    int L = v->vd->run.num_layers, H = v->vd->run.num_heads;
    float top = AV_TOPBAR + HEADROW, bottom = AV_BOTTOMBAR + 4;
    float cw = ((float)v->width - LEFT - 8 - legend_column(v)) / H, ch = ((float)v->height - top - bottom) / L;
    return (av_rect){LEFT + cw * h + 1, top + ch * l + 1, cw - 2, ch - 2};
}

void av_viewer_cell_center(const av_viewer *v, int l, int h, float *x, float *y) {
    av_rect r = av_matrix_cell(v, l, h);
    *x = r.x + r.w / 2;
    *y = r.y + r.h / 2;
}

int av_matrix_hit(const av_viewer *v, float x, float y, int *l, int *h) {
    int L = v->vd->run.num_layers, H = v->vd->run.num_heads;
    av_rect a = av_matrix_cell(v, 0, 0);
    float cw = a.w + 2, ch = a.h + 2;
    int hh = (int)floorf((x - LEFT) / cw), ll = (int)floorf((y - (AV_TOPBAR + HEADROW)) / ch);
    if (x < LEFT || y < AV_TOPBAR + HEADROW || hh < 0 || hh >= H || ll < 0 || ll >= L) return 0;
    *l = ll;
    *h = hh;
    return 1;
}

/* A number of the head's stats.json entry, NAN where absent or null. */
static double stat(const cJSON *st, const char *key) {
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(st, key);
    return cJSON_IsNumber(e) ? e->valuedouble : NAN;
}

/* The tooltip of a matrix cell: the head's statistics under the names `attnviz stats`
 * prints, grouped, plus what the attention shares suggest the head does. */
int av_matrix_tooltip(av_viewer *v, int l, int h, char buf[16][96], const char **lines) {
    int k = 0;
    snprintf(buf[k], 96, "layer %d, head %d  (click to open)", l, h);
    lines[k] = buf[k]; k++;
    if (!av_vdata_head_projected(v->vd, l, h)) {
        snprintf(buf[k], 96, "not in this projection (attnviz project --heads %d:%d)", l, h);
        lines[k] = buf[k]; k++;
    }
    const cJSON *st = av_vdata_head_stats(v->vd, l, h);
    if (!st) {
        snprintf(buf[k], 96, v->vd->stats ? "no entry in stats.json" : "no stats.json yet (attnviz stats RUN)");
        lines[k] = buf[k]; k++;
        return k;
    }
    if (!cJSON_GetObjectItemCaseSensitive(st, "q_norm")) { /* not the schema of stats.h: every number as it is */
        const cJSON *e;
        cJSON_ArrayForEach(e, st) {
            if (k >= 14 || !e->string || !strcmp(e->string, "layer") || !strcmp(e->string, "head")) continue;
            if (cJSON_IsNumber(e)) snprintf(buf[k], 96, "%s: %.4g", e->string, e->valuedouble);
            else if (cJSON_IsString(e)) snprintf(buf[k], 96, "%s: %s", e->string, e->valuestring);
            else continue;
            lines[k] = buf[k]; k++;
        }
        return k;
    }
    double first = stat(st, "attn_first"), self = stat(st, "attn_self"), prev = stat(st, "attn_prev");
    double pdist = stat(st, "attn_dist_patch");
    snprintf(buf[k], 96, "|q| %.3g   |k| %.3g   q/k %.2f", stat(st, "q_norm"), stat(st, "k_norm"), stat(st, "qk_norm_ratio"));
    lines[k] = buf[k]; k++;
    snprintf(buf[k], 96, "dcorr %.3f  (q.k vs distance, %.0f queries)", stat(st, "dist_corr"), stat(st, "dist_corr_queries"));
    lines[k] = buf[k]; k++;
    snprintf(buf[k], 96, "attention to first %.3f   self %.3f   prev %.3f", first, self, prev);
    lines[k] = buf[k]; k++;
    if (isfinite(pdist)) snprintf(buf[k], 96, "mean distance %.2f tokens, %.2f patches", stat(st, "attn_dist"), pdist);
    else snprintf(buf[k], 96, "mean distance %.2f tokens", stat(st, "attn_dist"));
    lines[k] = buf[k]; k++;
    snprintf(buf[k], 96, "q-k cos %.3f   CKA %.3f", stat(st, "qk_cos"), stat(st, "qk_cka"));
    lines[k] = buf[k]; k++;
    snprintf(buf[k], 96, "entropy %.3f nats   |v| %.3g", stat(st, "entropy"), stat(st, "v_norm"));
    lines[k] = buf[k]; k++;
    /* the plain reading of the shares; half the attention or more is a clear habit */
    const char *kind = prev >= 0.5 ? "previous-token head" : self >= 0.5 ? "attends to itself"
                     : first >= 0.5 ? (v->vd->is_vit ? "looks at the class token" : "looks at the first token") : NULL;
    if (kind) {
        snprintf(buf[k], 96, "reads as: %s", kind);
        lines[k] = buf[k]; k++;
    }
    return k;
}

void av_view_matrix_draw(av_viewer *v) {
    av_vdata *vd = v->vd;
    av_theme th = av_theme_of(v);
    av_draw2d *d = &v->d2;
    int L = vd->run.num_layers, H = vd->run.num_heads;
    av_rect c0 = av_matrix_cell(v, 0, 0);
    float size = c0.w < c0.h ? c0.w : c0.h;
    size = size / 70.0f * v->point_size;
    if (size < 1.5f) size = 1.5f;
    if (size > v->point_size) size = v->point_size;
    av_plot_key *keys = av_malloc((size_t)L * H * sizeof *keys);
    if (keys) {
        for (int l = 0; l < L; l++)
            for (int h = 0; h < H; h++) {
                av_rect r = av_matrix_cell(v, l, h);
                float m[16];
                av_head_matrix(v, l, h, r.w, r.h, 0, m);
                av_plot_key_of(v, l, h, r, m, size, 0, &keys[l * H + h]);
            }
        float clear[3] = {th.bg.r, th.bg.g, th.bg.b}, under[3] = {th.panel.r, th.panel.g, th.panel.b};
        av_plots_frame(v, &v->canvas[0], v->cells, keys, L * H, clear, under);
        if (!v->direct) av_canvas_show(&v->canvas[0], v->target_fbo);
        free(keys);
    }
    /* a cell left empty by `project --heads` says so, rather than looking like a
     * head whose points failed to draw */
    int nproj = av_vdata_heads_projected(vd);
    if (nproj < L * H)
        for (int l = 0; l < L; l++)
            for (int h = 0; h < H; h++) {
                if (av_vdata_head_projected(vd, l, h)) continue;
                av_rect r = av_matrix_cell(v, l, h);
                const char *s = av_font_width(&d->font, 0, "not projected") < r.w - 4 ? "not projected" : "-";
                av_draw2d_text(d, r.x + r.w / 2 - av_font_width(&d->font, 0, s) / 2, r.y + r.h / 2 - 8, 0, th.dim, s);
            }
    /* labels */
    for (int h = 0; h < H; h++) {
        av_rect r = av_matrix_cell(v, 0, h);
        char s[16];
        snprintf(s, sizeof s, "H%d", h);
        av_draw2d_text(d, r.x + r.w / 2 - av_font_width(&d->font, 0, s) / 2, AV_TOPBAR + 3, 0, th.dim, s);
    }
    for (int l = 0; l < L; l++) {
        av_rect r = av_matrix_cell(v, l, 0);
        char s[16];
        snprintf(s, sizeof s, "L%d", l);
        av_draw2d_text(d, 8, r.y + r.h / 2 - 8, 0, th.dim, s);
    }
    if (v->hover_l >= 0) {
        av_rect r = av_matrix_cell(v, v->hover_l, v->hover_h);
        av_draw2d_rect_outline(d, r.x - 1, r.y - 1, r.w + 2, r.h + 2, 2, th.accent);
    }
    char title[512];
    const char *base = strrchr(vd->run.dir, '/');
    base = base && base[1] ? base + 1 : vd->run.dir;
    int n = 0;
    if (v->pending)  /* first, so a narrow window cannot clip it away */
        n = snprintf(title, sizeof title, "drawing: %.0f%% of the points  |  ",
                     100.0 * (double)v->points_shown / (double)(v->points_total ? v->points_total : 1));
    char projected[48] = "";
    if (nproj < L * H) snprintf(projected, sizeof projected, " (%d projected)", nproj);
    snprintf(title + n, sizeof title - (size_t)n, "%.200s  %s  %d x %d heads  %s %d-D%s  %lld points per head", base,
             vd->run.model_type, L, H, vd->cur >= 0 ? vd->proj[vd->cur].method : "-", av_vdata_dim(vd), projected,
             (long long)(2 * vd->T));
    av_overlay_topbar(v, title);
    av_overlay_bottombar(v, "hover: head statistics  click: open head  c colour  d density  [ ] ink  p projection  "
                            "q/k queries/keys  t theme  / search  v sentence/image view");
    float lw, lh;
    av_overlay_legend_size(v, &lw, &lh);
    if (lw > 0) av_overlay_legend(v, (float)v->width - 8 - lw, (float)v->height - AV_BOTTOMBAR - 8);
    else { /* the q/k key in the bottom bar, and the cells keep the whole width */
        const char *names[2];
        int k = av_vdata_categories(vd, AV_COLOR_QK, names, 2);
        float x = (float)v->width - 150, y = (float)v->height - AV_BOTTOMBAR;
        for (int i = 0; i < k; i++, x += 70) {
            av_draw2d_circle(d, x, y + 12, 5, av_palette(v, i));
            av_draw2d_text(d, x + 9, y + 4, 0, th.fg, names[i]);
        }
    }
    if (v->hover_l >= 0) {
        char buf[16][96];
        const char *lines[16];
        int k = av_matrix_tooltip(v, v->hover_l, v->hover_h, buf, lines);
        av_overlay_tooltip(v, v->mouse_x, v->mouse_y, lines, k);
    }
}
