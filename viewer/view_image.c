/* view_image.c - ViT image view: the selected image with its patch grid, the selected
 * patch outlined, attention from it as a heat map over the patches; or, in arrow mode,
 * each patch's strongest target patch as an arrow (class token excluded as a target).
 * A run whose images moved still draws the grid and heat map on grey and says so. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/util.h"
#include "viewer/gl.h"
#include "viewer/png.h"
#include "viewer/viewer_internal.h"

static av_rect image_rect(const av_viewer *v) {
    float top = AV_TOPBAR + 30, avail = (float)v->height - top - AV_BOTTOMBAR - 12;
    float s = v->width * 0.62f;
    if (s > avail) s = avail;
    return (av_rect){20, top, s, s};
}

/* Token of patch (row, col) in the selected item, -1 if none. */
static int64_t patch_token(const av_vdata *vd, int64_t item, int row, int col) {
    int64_t s = vd->item_start[item], n = vd->item_len[item];
    for (int64_t t = s; t < s + n; t++)
        if (vd->tok_row[t] == row && vd->tok_col[t] == col) return t;
    return -1;
}

int64_t av_image_hit(av_viewer *v, float x, float y) {
    av_vdata *vd = v->vd;
    if (!vd->is_vit || !vd->grid || v->sel_item < 0) return -1;
    av_rect r = image_rect(v);
    if (x < r.x || y < r.y || x >= r.x + r.w || y >= r.y + r.h) return -1;
    int col = (int)((x - r.x) / r.w * vd->grid), row = (int)((y - r.y) / r.h * vd->grid);
    return patch_token(vd, v->sel_item, row, col);
}

static void load_image(av_viewer *v) {
    av_vdata *vd = v->vd;
    if (v->img_item == v->sel_item) return;
    v->img_item = v->sel_item;
    v->img_ok = 0;
    v->img_err[0] = 0;
    const char *path = vd->item_text[v->sel_item];
    char alt[4200];
    int w, h;
    uint8_t *px = NULL;
    if (av_image_load_rgba(path, &w, &h, &px) != AV_OK) {
        /* a relative path may be relative to the run folder */
        av_run_path(&vd->run, alt, sizeof alt, path);
        if (path[0] == '/' || av_image_load_rgba(alt, &w, &h, &px) != AV_OK) {
            if (av_file_exists(path) || (path[0] != '/' && av_file_exists(alt)))
                snprintf(v->img_err, sizeof v->img_err, "%s - attention still shown", av_last_error());
            else
                snprintf(v->img_err, sizeof v->img_err, "image not found: %s (moved since extract?) - attention still shown", path);
            return;
        }
    }
    if (!v->img_tex) glGenTextures(1, &v->img_tex);
    glBindTexture(GL_TEXTURE_2D, v->img_tex);
    glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
    glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA8, w, h, 0, GL_RGBA, GL_UNSIGNED_BYTE, px);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_LINEAR);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_LINEAR);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
    free(px);
    v->img_ok = 1;
}

void av_view_image_draw(av_viewer *v) {
    av_vdata *vd = v->vd;
    av_theme th = av_theme_of(v);
    av_draw2d *d = &v->d2;
    if (!vd->is_vit || !vd->grid) {
        av_overlay_topbar(v, "image view");
        av_overlay_bottombar(v, "v back to points  m matrix");
        av_draw2d_text(d, 20, AV_TOPBAR + 20, 1, th.fg, "The image view needs a ViT run (this run is text: press v for the sentence view).");
        return;
    }
    if (v->sel_item < 0) av_viewer_select_item(v, 0);
    load_image(v);
    int g = vd->grid;
    av_rect r = image_rect(v);
    float ps = r.w / g;
    int64_t t0 = vd->item_start[v->sel_item];
    int64_t q = v->sel_token >= 0 ? v->sel_token : t0;   /* default: from the class token */
    if (v->hover_token >= 0 && !v->arrows) q = v->hover_token;
    char title[512];
    snprintf(title, sizeof title, "image view  item %lld  layer %d head %d  %s%s", (long long)v->sel_item, v->layer, v->head,
             v->arrows ? "strongest target of every patch"
             : vd->tok_row[q] >= 0 ? "attention from the outlined patch" : "attention from the class token",
             v->hide_special ? "  class token hidden" : "");
    av_overlay_topbar(v, title);
    av_overlay_bottombar(v, v->img_err[0] ? v->img_err
                                          : "hover/click a patch  a arrows/heat map  Left/Right head  Up/Down layer  "
                                            "h hide class token  v back to points  m matrix");
    if (v->img_ok) {
        av_draw2d_image(d, v->img_tex, r.x, r.y, r.w, r.h, 1);
    } else {
        av_draw2d_rect(d, r.x, r.y, r.w, r.h, (av_rgba){0.5f, 0.5f, 0.52f, 1});
        av_draw2d_text_clip(d, r.x + 10, r.y + r.h / 2 - 10, 0, (av_rgba){1, 1, 1, 1}, "image not found (moved?)", r.w - 20);
    }
    if (av_viewer_ensure_attention(v) != AV_OK) return;
    int64_t n = v->att_n;
    float mx = 0; /* the heat map's full colour, said in the legend */
    if (!v->arrows) {
        int64_t qi = q - t0;
        for (int64_t j = 0; j < n; j++)
            if (vd->tok_row[t0 + j] >= 0 && v->att[qi * n + j] > mx) mx = v->att[qi * n + j];
        for (int64_t j = 0; j < n && mx > 0; j++) {
            int row = vd->tok_row[t0 + j], col = vd->tok_col[t0 + j];
            if (row < 0) continue;
            float a = v->att[qi * n + j] / mx;
            av_draw2d_rect(d, r.x + col * ps, r.y + row * ps, ps, ps, (av_rgba){1.0f, 0.15f, 0.0f, 0.75f * a});
        }
    }
    av_rgba grid = {1, 1, 1, 0.35f};
    for (int i = 0; i <= g; i++) {
        av_draw2d_rect(d, r.x + i * ps - 0.5f, r.y, 1, r.h, grid);
        av_draw2d_rect(d, r.x, r.y + i * ps - 0.5f, r.w, 1, grid);
    }
    if (v->arrows) {
        av_rgba ac = {1.0f, 0.85f, 0.1f, 1};
        /* heads sized for the arrow, not the patch: at 14x14 patches a third of a big
         * patch piles the heads of every arrow into one blot on a shared target */
        float head = ps * 0.3f;
        if (head > 14) head = 14;
        if (head < 5) head = 5;
        for (int64_t i = 0; i < n; i++) {
            if (vd->tok_row[t0 + i] < 0) continue;
            int64_t best = -1;
            for (int64_t j = 0; j < n; j++)
                if (vd->tok_row[t0 + j] >= 0 && (best < 0 || v->att[i * n + j] > v->att[i * n + best])) best = j;
            if (best < 0) continue;
            float x0 = r.x + (vd->tok_col[t0 + i] + 0.5f) * ps, y0 = r.y + (vd->tok_row[t0 + i] + 0.5f) * ps;
            float x1 = r.x + (vd->tok_col[t0 + best] + 0.5f) * ps, y1 = r.y + (vd->tok_row[t0 + best] + 0.5f) * ps;
            if (best == i) av_draw2d_circle(d, x0, y0, ps * 0.12f, ac);
            else av_draw2d_arrow(d, x0, y0, x1, y1, 2, head, ac);
            v->lines_drawn++;
        }
    }
    if (q >= 0 && vd->tok_row[q] >= 0 && !v->arrows)
        av_draw2d_rect_outline(d, r.x + vd->tok_col[q] * ps, r.y + vd->tok_row[q] * ps, ps, ps, 3, th.accent);
    /* side panel */
    float px = r.x + r.w + 20, py = r.y;
    char s[600];
    av_draw2d_text_clip(d, px, py, 0, th.fg, vd->item_text[v->sel_item], v->width - px - 10);
    if (vd->item_label[v->sel_item]) {
        snprintf(s, sizeof s, "label: %s", vd->item_label[v->sel_item]);
        av_draw2d_text(d, px, py + 20, 0, th.dim, s);
    }
    if (!v->arrows) {
        int64_t qi = q - t0;
        if (vd->tok_row[q] >= 0) snprintf(s, sizeof s, "from patch row %d, column %d", vd->tok_row[q], vd->tok_col[q]);
        else snprintf(s, sizeof s, "from the class token");
        av_draw2d_text(d, px, py + 44, 0, th.fg, s);
        if (v->hide_special) snprintf(s, sizeof s, "to the class token: hidden, the rest renormalised");
        else if (!(mx > 0) && !(v->att[qi * n] > 0)) snprintf(s, sizeof s, "no attention: q or k not finite");
        else snprintf(s, sizeof s, "to the class token: %.3f", v->att[qi * n]);
        av_draw2d_text(d, px, py + 64, 0, th.dim, s);
        for (int k = 0; k < 50; k++)
            av_draw2d_rect(d, px + 3 * k, py + 90, 3, 12, (av_rgba){1.0f, 0.15f, 0.0f, 0.75f * k / 49.0f});
        av_draw2d_text(d, px, py + 104, 0, th.dim, "0");
        snprintf(s, sizeof s, "%.3f", mx);
        av_draw2d_text(d, px + 150 - av_font_width(&d->font, 0, s), py + 104, 0, th.dim, s);
    }
}
