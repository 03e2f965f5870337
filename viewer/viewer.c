/* viewer.c - the viewer's state, input handling, JSON state and frame dispatch
 * (see viewer.h); the views themselves live in view_*.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "base/util.h"
#include "viewer/gl.h"
#include "viewer/viewer_internal.h"

static const char *view_names[] = {"matrix", "single", "sentence", "image"};

const char *av_view_name(av_view_kind k) { return k >= 0 && k <= AV_VIEW_IMAGE ? view_names[k] : "?"; }

int av_view_parse(const char *name, av_view_kind *out) {
    for (int i = 0; i <= AV_VIEW_IMAGE; i++)
        if (!strcmp(name, view_names[i])) { *out = (av_view_kind)i; return AV_OK; }
    return av_fail("unknown view '%s' (matrix, single, sentence, image)", name);
}

/* ---- colours ---------------------------------------------------------------------- */

static av_rgba rgb(int r, int g, int b) { return (av_rgba){r / 255.0f, g / 255.0f, b / 255.0f, 1}; }

av_theme av_theme_of(const av_viewer *v) {
    if (v->dark)
        return (av_theme){rgb(18, 19, 24), rgb(232, 232, 236), rgb(140, 142, 150), rgb(34, 36, 44),
                          rgb(70, 72, 84), rgb(255, 196, 0), rgb(255, 64, 210)};
    return (av_theme){rgb(255, 255, 255), rgb(24, 24, 30), rgb(120, 120, 128), rgb(243, 243, 246),
                      rgb(205, 205, 212), rgb(230, 140, 0), rgb(230, 0, 180)};
}

av_rgba av_palette(const av_viewer *v, int i) {
    static const int tab10[10][3] = {{78, 121, 167}, {242, 142, 43}, {225, 87, 89}, {118, 183, 178}, {89, 161, 79},
                                     {237, 201, 72}, {176, 122, 161}, {255, 157, 167}, {156, 117, 95}, {186, 176, 172}};
    i = ((i % 10) + 10) % 10;
    if (v->color == AV_COLOR_QK) {  /* queries red, keys blue */
        if (i == 0) return rgb(225, 87, 89);
        if (i == 1) return rgb(78, 121, 167);
    }
    if (v->color == AV_COLOR_PUNCT) {  /* other grey, punctuation orange, special red */
        if (i == 0) return rgb(160, 160, 168);
        if (i == 1) return rgb(242, 142, 43);
        if (i == 2) return rgb(214, 39, 40);
    }
    return rgb(tab10[i][0], tab10[i][1], tab10[i][2]);
}

/* Hue wheel for cyclic modes (same formula as the point shader): t in 0..1 = 0..360 deg. */
av_rgba av_colorwheel(float t) {
    float o[3], off[3] = {0, 4, 2};
    t -= floorf(t);
    for (int k = 0; k < 3; k++) {
        float x = fmodf(t * 6 + off[k], 6) - 3;
        x = fabsf(x) - 1;
        o[k] = (x < 0 ? 0 : x > 1 ? 1 : x) * 0.85f + 0.05f;
    }
    return (av_rgba){o[0], o[1], o[2], 1};
}

av_rgba av_colormap(float t) {
    const float c0[3] = {0.2777f, 0.0054f, 0.3341f}, c1[3] = {0.1050f, 1.4046f, 1.3846f};
    const float c2[3] = {-0.3309f, 0.2148f, 0.0951f}, c3[3] = {-4.6342f, -5.7991f, -19.3324f};
    const float c4[3] = {6.2283f, 14.1799f, 56.6906f}, c5[3] = {4.7764f, -13.7451f, -65.3530f};
    const float c6[3] = {-5.4355f, 4.6459f, 26.3124f};
    float o[3];
    for (int k = 0; k < 3; k++) {
        float x = c0[k] + t * (c1[k] + t * (c2[k] + t * (c3[k] + t * (c4[k] + t * (c5[k] + t * c6[k])))));
        o[k] = x < 0 ? 0 : x > 1 ? 1 : x;
    }
    return (av_rgba){o[0], o[1], o[2], 1};
}

av_rgba av_heatmap(float t, int dark) {
    const float c0[3] = {0.0002f, 0.0016f, -0.0371f}, c1[3] = {0.1059f, 0.5664f, 4.1179f};
    const float c2[3] = {11.6171f, -3.9477f, -16.2573f}, c3[3] = {-41.7093f, 17.4577f, 44.6451f};
    const float c4[3] = {77.1575f, -33.4157f, -82.2539f}, c5[3] = {-71.2877f, 32.5539f, 73.5881f};
    const float c6[3] = {25.0926f, -12.2222f, -23.1157f};
    float o[3];
    t = dark ? 0.15f + 0.85f * t : 1 - 0.85f * t;
    for (int k = 0; k < 3; k++) {
        float x = c0[k] + t * (c1[k] + t * (c2[k] + t * (c3[k] + t * (c4[k] + t * (c5[k] + t * c6[k])))));
        o[k] = x < 0 ? 0 : x > 1 ? 1 : x;
    }
    return (av_rgba){o[0], o[1], o[2], 1};
}

/* ---- transforms ------------------------------------------------------------------- */

void av_head_matrix(const av_viewer *v, int l, int h, float w, float hp, int single, float m[16]) {
    const av_vdata *vd = v->vd;
    int dim = av_vdata_dim(vd);
    const float *b = vd->bounds ? vd->bounds + ((size_t)l * vd->run.num_heads + h) * 6 : NULL;
    float c[3] = {0, 0, 0}, e = 1;
    if (b) {
        e = 0;
        for (int k = 0; k < dim; k++) {
            c[k] = 0.5f * (b[k] + b[3 + k]);
            float half = 0.5f * (b[3 + k] - b[k]);
            if (half > e) e = half;
        }
        if (!(e > 0)) e = 1;
    }
    /* a 3-D cloud may turn any corner of its box towards the viewer: fit the box's diagonal */
    float s = (dim == 3 ? 0.57735f : 1.0f) / e, mn = w < hp ? w : hp;
    float ax = 0.92f * mn / w, ay = 0.92f * mn / hp;
    float z = single ? v->zoom : 1, px = single ? v->pan_x : 0, py = single ? v->pan_y : 0;
    float R[3][3] = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}};
    if (dim == 3) {
        float yaw = single ? v->yaw : 0.6f, pitch = single ? v->pitch : 0.35f;
        float cy = cosf(yaw), sy = sinf(yaw), cp = cosf(pitch), sp = sinf(pitch);
        /* R = Rx(pitch) * Ry(yaw) */
        float Ry[3][3] = {{cy, 0, sy}, {0, 1, 0}, {-sy, 0, cy}};
        float Rx[3][3] = {{1, 0, 0}, {0, cp, -sp}, {0, sp, cp}};
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++) {
                R[i][j] = 0;
                for (int k = 0; k < 3; k++) R[i][j] += Rx[i][k] * Ry[k][j];
            }
    }
    float A[3][3], t[3] = {ax * px, ay * py, 0}, sc[3] = {ax * z * s, ay * z * s, s};
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) A[i][j] = sc[i] * R[i][j];
    memset(m, 0, 16 * sizeof(float));
    for (int i = 0; i < 3; i++) {
        float off = t[i];
        for (int j = 0; j < 3; j++) {
            m[j * 4 + i] = A[i][j];
            off -= A[i][j] * c[j];
        }
        m[12 + i] = off;
    }
    m[15] = 1;
}

void av_project_px(const float m[16], const float *p, int dim, av_rect r, float *x, float *y) {
    float q[3] = {p[0], p[1], dim == 3 ? p[2] : 0};
    float cx = m[12], cy = m[13];
    for (int j = 0; j < 3; j++) { cx += m[j * 4] * q[j]; cy += m[j * 4 + 1] * q[j]; }
    *x = r.x + (cx + 1) * 0.5f * r.w;
    *y = r.y + (1 - cy) * 0.5f * r.h;
}

/* ---- state changes ---------------------------------------------------------------- */

/* Where points accumulate when the caller does not say: C beats a software renderer's
 * per-vertex path by 5-25x (bench/RESULTS-viewer.md), a GPU beats C. */
static av_renderer detect_renderer(void) {
    const char *r = (const char *)glGetString(GL_RENDERER);
    static const char *soft[] = {"llvmpipe", "softpipe", "SwiftShader", "Software Rasterizer"};
    for (size_t i = 0; r && i < sizeof soft / sizeof soft[0]; i++)
        if (strstr(r, soft[i])) return AV_RENDERER_CPU;
    return AV_RENDERER_GL;
}

static void set_renderer(av_viewer *v, av_renderer r) {
    v->renderer = r == AV_RENDERER_AUTO ? detect_renderer() : r;
    const char *name = (const char *)glGetString(GL_RENDERER);
    int soft = detect_renderer() == AV_RENDERER_CPU;
    /* a first guess of the points a millisecond, until frames are measured */
    v->rate = v->renderer == AV_RENDERER_CPU ? 20000 : soft || !name ? 1500 : 1000000;
}

int av_viewer_set_renderer(av_viewer *v, av_renderer r) {
    av_renderer old = v->renderer;
    set_renderer(v, r);
    if (v->renderer == old) return AV_OK;
    v->gl_proj = -1;  /* the GPU renderer keeps the positions on the GPU, the CPU one does not */
    av_viewer_invalidate(v);
    return av_points_upload_proj(v);
}

void av_viewer_invalidate(av_viewer *v) {
    av_plots_invalidate(v->cells, v->vd->run.num_layers * v->vd->run.num_heads);
    av_plots_invalidate(&v->single, 1);
    v->pick_valid = 0;
}

static void reset_camera(av_viewer *v) {
    v->zoom = 1;
    v->pan_x = v->pan_y = 0;
    v->yaw = 0.6f;
    v->pitch = 0.35f;
}

int av_viewer_init(av_viewer *v, av_vdata *vd) {
    memset(v, 0, sizeof *v);
    v->vd = vd;
    v->view = AV_VIEW_MATRIX;
    v->color = AV_COLOR_QK;
    v->show_q = v->show_k = 1;
    v->point_size = 3;
    v->sel_token = v->sel_item = -1;
    v->hover_point = v->hover_token = -1;
    v->hover_l = v->hover_h = -1;
    v->att_item = -1;
    v->img_item = -1;
    v->exposure = 1;
    v->passes = 1;
    reset_camera(v);
    if (av_draw2d_init(&v->d2) != AV_OK) return AV_ERR;
    if (av_resolve_init(&v->resolve) != AV_OK) { av_viewer_free(v); return AV_ERR; }
    v->cells = av_calloc((size_t)vd->run.num_layers * vd->run.num_heads, sizeof(av_plot));
    if (!v->cells) { av_viewer_free(v); return AV_ERR; }
    set_renderer(v, AV_RENDERER_AUTO);
    if (av_points_init(v) != AV_OK) { av_viewer_free(v); return AV_ERR; }
    if (vd->nproj > 0) {
        int i = vd->cur >= 0 ? vd->cur : av_vdata_find_proj(vd, NULL, 2);
        if (i < 0) i = 0;
        if (av_viewer_set_proj(v, i) != AV_OK) { av_viewer_free(v); return AV_ERR; }
    }
    return AV_OK;
}

void av_viewer_free(av_viewer *v) {
    av_points_free(v);
    av_draw2d_free(&v->d2);
    av_resolve_free(&v->resolve);
    for (int i = 0; i < 2; i++) av_canvas_free(&v->canvas[i]);
    if (v->cells)
        for (int i = 0; i < v->vd->run.num_layers * v->vd->run.num_heads; i++) av_plot_release(&v->cells[i]);
    free(v->cells);
    v->cells = NULL;
    av_plot_release(&v->single);
    if (v->img_tex) glDeleteTextures(1, &v->img_tex);
    free(v->att);
    v->att = NULL;
    v->img_tex = 0;
}

int av_viewer_set_proj(av_viewer *v, int i) {
    if (av_vdata_load_proj(v->vd, i) != AV_OK) return AV_ERR;
    if (av_points_upload_proj(v) != AV_OK) return AV_ERR;
    reset_camera(v);
    return AV_OK;
}

int av_viewer_set_color(av_viewer *v, av_color_mode m) {
    av_color_mode old = v->color;
    v->color = m;
    if (av_points_upload_color(v) != AV_OK) { v->color = old; return AV_ERR; }
    return AV_OK;
}

int av_viewer_set_head(av_viewer *v, int layer, int head) {
    if (layer < 0 || layer >= v->vd->run.num_layers || head < 0 || head >= v->vd->run.num_heads)
        return av_fail("%s: no head %d:%d (the run has %d layers x %d heads)", v->vd->run.dir, layer, head,
                       v->vd->run.num_layers, v->vd->run.num_heads);
    v->layer = layer;
    v->head = head;
    v->hover_point = -1;
    return AV_OK;
}

void av_viewer_set_view(av_viewer *v, av_view_kind k) {
    v->view = k;
    v->hover_point = v->hover_token = -1;
    v->hover_l = v->hover_h = -1;
}

void av_viewer_select_token(av_viewer *v, int64_t t) {
    av_vdata *vd = v->vd;
    for (int64_t i = 0; i < vd->T; i++) v->flags[i] &= (uint8_t)~(AV_FLAG_ITEM | AV_FLAG_TOKEN);
    if (t < 0 || t >= vd->T) {
        v->sel_token = v->sel_item = -1;
    } else {
        v->sel_token = t;
        v->sel_item = vd->tok_item[t];
        int64_t s = vd->item_start[v->sel_item], n = vd->item_len[v->sel_item];
        for (int64_t i = s; i < s + n; i++) v->flags[i] |= AV_FLAG_ITEM;
        v->flags[t] |= AV_FLAG_TOKEN;
    }
    v->flags_dirty = 1;
}

void av_viewer_select_item(av_viewer *v, int64_t item) {
    av_viewer_select_token(v, -1);
    if (item < 0 || item >= v->vd->run.num_items) return;
    v->sel_item = item;
    int64_t s = v->vd->item_start[item], n = v->vd->item_len[item];
    for (int64_t i = s; i < s + n; i++) v->flags[i] |= AV_FLAG_ITEM;
}

void av_viewer_set_search(av_viewer *v, const char *text) {
    if (text != v->search) snprintf(v->search, sizeof v->search, "%s", text ? text : "");
    v->search_hits = av_vdata_search(v->vd, v->search, v->flags, AV_FLAG_HIT);
    v->flags_dirty = 1;
}

int av_viewer_ensure_attention(av_viewer *v) {
    if (v->sel_item < 0) return AV_ERR;
    if (v->att && v->att_item == v->sel_item && v->att_l == v->layer && v->att_h == v->head &&
        v->att_hide == v->hide_special && v->att_vn == v->vnorm_weight)
        return AV_OK;
    free(v->att);
    v->att = NULL;
    if (av_vdata_attention(v->vd, v->layer, v->head, v->sel_item, v->hide_special, v->vnorm_weight, &v->att,
                           &v->att_n) != AV_OK) {
        snprintf(v->note, sizeof v->note, "%s", av_last_error());
        return AV_ERR;
    }
    int64_t bq = 0, bk = 0;
    if (av_vdata_nonfinite(v->vd, v->layer, v->head, v->sel_item, &bq, &bk) == AV_OK && (bq || bk))
        snprintf(v->note, sizeof v->note,
                 "head %d:%d, item %lld: %lld non-finite values (NaN/Inf) in q, %lld in k; those tokens get no "
                 "attention", v->layer, v->head, (long long)v->sel_item, (long long)bq, (long long)bk);
    v->att_item = v->sel_item;
    v->att_l = v->layer;
    v->att_h = v->head;
    v->att_hide = v->hide_special;
    v->att_vn = v->vnorm_weight;
    return AV_OK;
}

int64_t av_viewer_sel_in_item(const av_viewer *v) {
    if (v->sel_token < 0) return -1;
    return v->sel_token - v->vd->item_start[v->sel_item];
}

/* ---- frame ------------------------------------------------------------------------ */

void av_viewer_draw(av_viewer *v, int w, int h) {
    v->width = w;
    v->height = h;
    v->lines_drawn = 0;
    glBindFramebuffer(GL_FRAMEBUFFER, v->target_fbo);
    glViewport(0, 0, w, h);
    av_theme th = av_theme_of(v);
    glClearColor(th.bg.r, th.bg.g, th.bg.b, 1);
    glClear(GL_COLOR_BUFFER_BIT | GL_DEPTH_BUFFER_BIT);
    if (av_points_upload_proj(v) != AV_OK || av_points_upload_color(v) != AV_OK)
        snprintf(v->note, sizeof v->note, "%s", av_last_error());
    av_points_upload_flags(v);
    v->points_drawn = 0;
    v->pending = 0;
    v->work_ms = 0;
    av_draw2d_begin(&v->d2, w, h);
    switch (v->view) {
    case AV_VIEW_MATRIX: av_view_matrix_draw(v); break;
    case AV_VIEW_SINGLE: av_view_single_draw(v); break;
    case AV_VIEW_SENTENCE: av_view_sentence_draw(v); break;
    case AV_VIEW_IMAGE: av_view_image_draw(v); break;
    }
    av_draw2d_end(&v->d2);
}

void av_viewer_finish(av_viewer *v, int w, int h) {
    do av_viewer_draw(v, w, h);
    while (v->pending);
}

void av_plot_key_of(const av_viewer *v, int l, int h, av_rect r, const float m[16], float size, int pick,
                    av_plot_key *k) {
    memset(k, 0, sizeof *k);  /* keys are compared whole, padding included */
    k->layer = l;
    k->head = h;
    k->proj = v->vd->cur;
    k->gen = (int)v->head_gen[l * v->vd->run.num_heads + h];
    /* GL rows count from the bottom */
    k->x = (int)r.x;
    k->y = v->height - (int)(r.y + r.h);
    k->w = r.w < 1 ? 1 : (int)r.w;  /* a window too small for its cells still gets a pixel each */
    k->h = r.h < 1 ? 1 : (int)r.h;
    k->color = (int)v->color;
    k->show = (v->show_q ? 1 : 0) | (v->show_k ? 2 : 0);
    k->size_norm = v->size_by_norm;
    k->dark = v->dark;
    k->any_flag = av_points_any_flag(v);
    k->pick = pick;
    k->flags_gen = v->flags_gen;
    k->base_size = size;
    memcpy(k->m, m, sizeof k->m);
}

/* ---- input ------------------------------------------------------------------------ */

void av_viewer_mouse(av_viewer *v, float x, float y) {
    v->mouse_x = x;
    v->mouse_y = y;
    v->hover_point = v->hover_token = -1;
    v->hover_l = v->hover_h = -1;
    switch (v->view) {
    case AV_VIEW_MATRIX: av_matrix_hit(v, x, y, &v->hover_l, &v->hover_h); break;
    case AV_VIEW_SINGLE: v->hover_point = av_points_pick(v, x, y); break;
    case AV_VIEW_SENTENCE: v->hover_token = av_sentence_hit(v, x, y); break;
    case AV_VIEW_IMAGE: v->hover_token = av_image_hit(v, x, y); break;
    }
}

static int in_search_box(const av_viewer *v, float x, float y) {
    return y < AV_TOPBAR && x > v->width - 330;
}

void av_viewer_click(av_viewer *v, float x, float y) {
    av_viewer_mouse(v, x, y);
    if (in_search_box(v, x, y)) { v->search_active = 1; return; }
    v->search_active = 0;
    switch (v->view) {
    case AV_VIEW_MATRIX: {
        int l, h;
        if (av_matrix_hit(v, x, y, &l, &h)) {
            av_viewer_set_head(v, l, h);
            av_viewer_set_view(v, AV_VIEW_SINGLE);
        }
        break;
    }
    case AV_VIEW_SINGLE:
        if (y > AV_TOPBAR) av_viewer_select_token(v, v->hover_point < 0 ? -1 : v->hover_point % v->vd->T);
        break;
    case AV_VIEW_SENTENCE:
    case AV_VIEW_IMAGE:
        if (v->hover_token >= 0) av_viewer_select_token(v, v->hover_token);
        break;
    }
}

av_rect av_single_rect(const av_viewer *v) {
    return (av_rect){0, AV_TOPBAR, (float)v->width, (float)v->height - AV_TOPBAR - AV_BOTTOMBAR};
}

void av_viewer_drag(av_viewer *v, float dx, float dy, int right) {
    if (v->view != AV_VIEW_SINGLE) return;
    av_rect r = av_single_rect(v);
    float mn = r.w < r.h ? r.w : r.h;
    if (av_vdata_dim(v->vd) == 3 && !right) {
        v->yaw += dx * 0.01f;
        v->pitch += dy * 0.01f;
        if (v->pitch > 1.55f) v->pitch = 1.55f;
        if (v->pitch < -1.55f) v->pitch = -1.55f;
        return;
    }
    v->pan_x += 2 * dx / (0.92f * mn);
    v->pan_y -= 2 * dy / (0.92f * mn);
}

void av_viewer_scroll(av_viewer *v, float x, float y, float dy) {
    if (v->view != AV_VIEW_SINGLE) return;
    av_rect r = av_single_rect(v);
    float mn = r.w < r.h ? r.w : r.h;
    float k = 0.92f * mn;
    /* zoom about the pointer: the data point under it stays put */
    float cx = (2 * (x - r.x) - r.w) / k, cy = (r.h - 2 * (y - r.y)) / k;
    float nz = v->zoom * powf(1.15f, dy);
    if (nz < 0.05f) nz = 0.05f;
    if (nz > 2000) nz = 2000;
    float nx = (cx - v->pan_x) / v->zoom, ny = (cy - v->pan_y) / v->zoom;
    v->pan_x = cx - nz * nx;
    v->pan_y = cy - nz * ny;
    v->zoom = nz;
}

static void step_head(av_viewer *v, int dl, int dh) {
    int L = v->vd->run.num_layers, H = v->vd->run.num_heads;
    int idx = v->layer * H + v->head + dh + dl * H;
    idx = ((idx % (L * H)) + L * H) % (L * H);
    av_viewer_set_head(v, idx / H, idx % H);
}

static void next_color(av_viewer *v) {
    for (int k = 1; k < AV_COLOR_COUNT; k++) {
        av_color_mode m = (av_color_mode)((v->color + k) % AV_COLOR_COUNT);
        if (av_viewer_set_color(v, m) == AV_OK) return;
    }
}

void av_viewer_char(av_viewer *v, uint32_t cp) {
    if (v->search_active) {
        size_t n = strlen(v->search);
        char buf[5];
        int len = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
        if (len == 1) buf[0] = (char)cp;
        else if (len == 2) { buf[0] = (char)(0xc0 | (cp >> 6)); buf[1] = (char)(0x80 | (cp & 0x3f)); }
        else if (len == 3) { buf[0] = (char)(0xe0 | (cp >> 12)); buf[1] = (char)(0x80 | ((cp >> 6) & 0x3f)); buf[2] = (char)(0x80 | (cp & 0x3f)); }
        else { buf[0] = (char)(0xf0 | (cp >> 18)); buf[1] = (char)(0x80 | ((cp >> 12) & 0x3f)); buf[2] = (char)(0x80 | ((cp >> 6) & 0x3f)); buf[3] = (char)(0x80 | (cp & 0x3f)); }
        if (n + (size_t)len < sizeof v->search) {
            memcpy(v->search + n, buf, (size_t)len);
            v->search[n + (size_t)len] = 0;
            av_viewer_set_search(v, v->search);
        }
        return;
    }
    av_viewer_key(v, (int)cp);
}

void av_viewer_key(av_viewer *v, int key) {
    av_vdata *vd = v->vd;
    if (v->search_active) {
        if (key == AV_KEY_BACKSPACE) {
            size_t n = strlen(v->search);
            while (n > 0 && ((unsigned char)v->search[n - 1] & 0xc0) == 0x80) n--;  /* whole UTF-8 character */
            if (n > 0) n--;
            v->search[n] = 0;
            av_viewer_set_search(v, v->search);
        } else if (key == AV_KEY_ENTER) {
            v->search_active = 0;
        } else if (key == AV_KEY_ESCAPE) {
            v->search_active = 0;
            av_viewer_set_search(v, "");
        }
        return;
    }
    switch (key) {
    case '/': v->search_active = 1; break;
    case AV_KEY_LEFT: step_head(v, 0, -1); break;
    case AV_KEY_RIGHT: step_head(v, 0, 1); break;
    case AV_KEY_UP: step_head(v, -1, 0); break;
    case AV_KEY_DOWN: step_head(v, 1, 0); break;
    case 'm': av_viewer_set_view(v, AV_VIEW_MATRIX); break;
    case AV_KEY_ENTER:
        if (v->view == AV_VIEW_MATRIX && v->hover_l >= 0) av_viewer_set_head(v, v->hover_l, v->hover_h);
        av_viewer_set_view(v, AV_VIEW_SINGLE);
        break;
    case 'v':
        if (v->view == AV_VIEW_SINGLE || v->view == AV_VIEW_MATRIX)
            av_viewer_set_view(v, vd->is_vit ? AV_VIEW_IMAGE : AV_VIEW_SENTENCE);
        else
            av_viewer_set_view(v, AV_VIEW_SINGLE);
        break;
    case 'c': next_color(v); break;
    case 'p':
        if (vd->nproj > 1 && av_viewer_set_proj(v, (vd->cur + 1) % vd->nproj) != AV_OK)
            snprintf(v->note, sizeof v->note, "%s", av_last_error());
        break;
    case 't': v->dark = !v->dark; break;
    case 'q': v->show_q = !v->show_q; if (!v->show_q && !v->show_k) v->show_k = 1; break;
    case 'k': v->show_k = !v->show_k; if (!v->show_q && !v->show_k) v->show_q = 1; break;
    case 'n': v->size_by_norm = !v->size_by_norm; break;
    case 'd': v->heat = !v->heat; break;
    case '[': if (v->exposure > 1.0f / 64) v->exposure /= 2; break;
    case ']': if (v->exposure < 64) v->exposure *= 2; break;
    case 'h': v->hide_special = !v->hide_special; break;
    case 'w':
        if (vd->has_vnorm) v->vnorm_weight = !v->vnorm_weight;
        else snprintf(v->note, sizeof v->note, "this run has no value norms (v_norm.npy)");
        break;
    case 'a': v->arrows = !v->arrows; break;
    case 'r': reset_camera(v); break;
    case '+': case '=': v->zoom *= 1.25f; break;
    case '-': v->zoom /= 1.25f; break;
    case AV_KEY_ESCAPE:
        if (v->sel_token >= 0 || v->search_hits > 0 || v->search[0]) {
            av_viewer_select_token(v, -1);
            av_viewer_set_search(v, "");
        } else {
            av_viewer_set_view(v, AV_VIEW_MATRIX);
        }
        break;
    default: break;
    }
}

/* ---- state as JSON ---------------------------------------------------------------- */

cJSON *av_viewer_state(av_viewer *v) {
    av_vdata *vd = v->vd;
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "view", av_view_name(v->view));
    cJSON_AddNumberToObject(s, "layer", v->layer);
    cJSON_AddNumberToObject(s, "head", v->head);
    cJSON_AddStringToObject(s, "method", vd->cur >= 0 ? vd->proj[vd->cur].method : "");
    cJSON_AddNumberToObject(s, "dim", av_vdata_dim(vd));
    cJSON_AddBoolToObject(s, "head_projected", av_vdata_head_projected(vd, v->layer, v->head));
    cJSON_AddNumberToObject(s, "heads_projected", av_vdata_heads_projected(vd));
    cJSON_AddStringToObject(s, "color", av_color_name(v->color));
    if (!av_color_categorical(v->color) && v->gl_color == (int)v->color) {
        cJSON *lg = cJSON_AddArrayToObject(s, "legend"); /* the scale's two ends, and grey */
        cJSON_AddItemToArray(lg, cJSON_CreateString(v->legend_lo));
        cJSON_AddItemToArray(lg, cJSON_CreateString(v->legend_hi));
        cJSON_AddItemToArray(lg, cJSON_CreateString(v->legend_none));
    }
    cJSON_AddStringToObject(s, "theme", v->dark ? "dark" : "light");
    cJSON_AddNumberToObject(s, "zoom", v->zoom);
    cJSON_AddNumberToObject(s, "pan_x", v->pan_x);
    cJSON_AddNumberToObject(s, "pan_y", v->pan_y);
    cJSON_AddNumberToObject(s, "yaw", v->yaw);
    cJSON_AddNumberToObject(s, "pitch", v->pitch);
    cJSON_AddBoolToObject(s, "show_queries", v->show_q);
    cJSON_AddBoolToObject(s, "show_keys", v->show_k);
    cJSON_AddBoolToObject(s, "size_by_norm", v->size_by_norm);
    cJSON_AddBoolToObject(s, "hide_special", v->hide_special);
    cJSON_AddBoolToObject(s, "value_norm_weighting", v->vnorm_weight);
    cJSON_AddBoolToObject(s, "arrows", v->arrows);
    cJSON_AddNumberToObject(s, "selected_token", (double)v->sel_token);
    cJSON_AddNumberToObject(s, "selected_item", (double)v->sel_item);
    cJSON_AddStringToObject(s, "search", v->search);
    cJSON_AddBoolToObject(s, "search_active", v->search_active);
    cJSON_AddNumberToObject(s, "search_hits", (double)v->search_hits);
    cJSON_AddStringToObject(s, "renderer", av_renderer_name(v->renderer));
    cJSON_AddBoolToObject(s, "heat", v->heat);
    cJSON_AddNumberToObject(s, "exposure", v->exposure);
    /* progress: every point is shown when points_shown == points_total (complete) */
    cJSON_AddNumberToObject(s, "lod_stride", v->passes);
    cJSON_AddNumberToObject(s, "points_total", (double)v->points_total);
    cJSON_AddNumberToObject(s, "points_shown", (double)v->points_shown);
    cJSON_AddBoolToObject(s, "complete", !v->pending);
    cJSON_AddNumberToObject(s, "points_drawn", (double)v->points_drawn);
    cJSON_AddNumberToObject(s, "work_ms", v->work_ms);
    cJSON_AddNumberToObject(s, "refresh_ms", v->refresh_ms);
    if (v->view == AV_VIEW_SINGLE && v->single.valid) cJSON_AddNumberToObject(s, "point_px", v->single.size);
    cJSON *sz = cJSON_AddArrayToObject(s, "size");
    cJSON_AddItemToArray(sz, cJSON_CreateNumber(v->width));
    cJSON_AddItemToArray(sz, cJSON_CreateNumber(v->height));
    cJSON_AddNumberToObject(s, "lines_drawn", v->lines_drawn);
    if (v->view == AV_VIEW_SENTENCE) { /* first token on screen and how many (long items scroll) */
        cJSON_AddNumberToObject(s, "rows_first", (double)v->rows_first);
        cJSON_AddNumberToObject(s, "rows_shown", (double)v->rows_shown);
    }
    cJSON_AddNumberToObject(s, "frame_ms", v->frame_ms);
    cJSON *hv = cJSON_AddObjectToObject(s, "hover");
    if (v->view == AV_VIEW_MATRIX && v->hover_l >= 0) {
        cJSON_AddNumberToObject(hv, "layer", v->hover_l);
        cJSON_AddNumberToObject(hv, "head", v->hover_h);
        const cJSON *st = av_vdata_head_stats(vd, v->hover_l, v->hover_h);  /* what the tooltip shows */
        if (st) cJSON_AddItemToObject(hv, "stats", cJSON_Duplicate(st, 1));
        char buf[16][96];
        const char *lines[16];
        int k = av_matrix_tooltip(v, v->hover_l, v->hover_h, buf, lines);
        cJSON *tip = cJSON_AddArrayToObject(hv, "tooltip");
        for (int i = 0; i < k; i++) cJSON_AddItemToArray(tip, cJSON_CreateString(lines[i]));
    } else if (v->hover_point >= 0 || v->hover_token >= 0) {
        int64_t t = v->hover_point >= 0 ? v->hover_point % vd->T : v->hover_token;
        cJSON_AddNumberToObject(hv, "token", (double)t);
        cJSON_AddStringToObject(hv, "text", vd->tok_text[t]);
        if (v->hover_point >= 0) cJSON_AddStringToObject(hv, "kind", v->hover_point >= vd->T ? "key" : "query");
        cJSON_AddNumberToObject(hv, "item", vd->tok_item[t]);
        cJSON_AddNumberToObject(hv, "pos", vd->tok_pos[t]);
        cJSON_AddStringToObject(hv, "label", vd->tok_label[t]);   /* added last: older readers match a prefix */
    }
    cJSON_AddStringToObject(s, "note", v->note);
    return s;
}
