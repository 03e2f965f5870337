/* test_render_cache.c - the cached, progressive drawing of plot.h against a direct draw
 * of every point, on the fixture run under Mesa's software renderer: one viewer draws
 * its plots a few points a frame into its cached pictures (many passes, as a slow
 * machine would), a second one draws everything straight into each frame; after the
 * same changes (colour, selection, search, theme, heat map, exposure, head, pan and
 * zoom, a 3-D projection with sizes by norm) the two pictures are equal to a level per
 * channel, on the CPU and on the GPU renderer, and the two renderers agree with each
 * other. Also: a hover costs no points; the progressive single view reaches every
 * point and then equals the direct one; the matrix legend keeps off the cells. */
#include <stdlib.h>
#include <string.h>
#include "tests/check.h"
#include "viewer/headless.h"
#include "viewer/png.h"
#include "viewer/viewer_internal.h"

#define RUN "tests/fixtures/viewer/run_text"
#define W 900
#define H 640
#define LOD 40  /* points a frame of the cached viewer: the matrix's 576 take 15 frames */

typedef struct {
    av_vdata vd;
    av_headless hl;
    av_viewer a, b;  /* a cached and progressive, b direct */
    uint8_t *pa, *pb;
} pair;

static void read_frame(pair *p, uint8_t *out) { av_headless_read(&p->hl, out); }

/* Pixels of a and b differing by more than one level in a channel. */
static long differing(const uint8_t *x, const uint8_t *y) {
    long n = 0;
    for (long i = 0; i < (long)W * H * 4; i++) n += abs((int)x[i] - (int)y[i]) > 1;
    return n;
}

static int draw_until_complete(av_viewer *v) {
    int frames = 0;
    do { av_viewer_draw(v, W, H); frames++; } while (v->pending && frames < 10000);
    return frames;
}

/* Draws a progressively and b directly, and compares. */
static void same(pair *p, const char *what, int want_passes) {
    int frames = draw_until_complete(&p->a);
    read_frame(p, p->pa);
    av_viewer_draw(&p->b, W, H);
    read_frame(p, p->pb);
    long d = differing(p->pa, p->pb);
    CHECK_MSG(d == 0, "%s (%s): %ld pixels differ between the cached and the direct picture", what,
              av_renderer_name(p->a.renderer), d);
    if (want_passes) CHECK_MSG(frames > 2, "%s: drawn in %d frames, wanted several passes", what, frames);
    CHECK_MSG(p->a.points_shown == p->a.points_total && p->a.passes == 1, "%s: %lld of %lld points", what,
              (long long)p->a.points_shown, (long long)p->a.points_total);
}

#define BOTH(...) do { av_viewer *v_ = &p->a; __VA_ARGS__; v_ = &p->b; __VA_ARGS__; } while (0)

static void scenarios(pair *p) {
    av_vdata *vd = &p->vd;
    BOTH(av_viewer_set_view(v_, AV_VIEW_MATRIX));
    BOTH(av_viewer_set_color(v_, AV_COLOR_QK));
    same(p, "matrix", 1);

    /* hovering a cell redraws no point, and shows what a direct frame shows */
    float x, y;
    av_viewer_cell_center(&p->a, 1, 1, &x, &y);
    BOTH(av_viewer_mouse(v_, x, y));
    av_viewer_draw(&p->a, W, H);
    CHECK_MSG(p->a.points_drawn == 0 && !p->a.pending, "hover drew %lld points", (long long)p->a.points_drawn);
    CHECK(p->a.hover_l == 1 && p->a.hover_h == 1);
    same(p, "matrix, hover", 0);

    BOTH(av_viewer_set_color(v_, AV_COLOR_POSITION));
    same(p, "matrix, colour by position", 1);
    /* the legend has a column of its own: the last cell ends before it */
    float lw, lh;
    av_overlay_legend_size(&p->a, &lw, &lh);
    av_rect last = av_matrix_cell(&p->a, vd->run.num_layers - 1, vd->run.num_heads - 1);
    CHECK_MSG(lw > 0 && last.x + last.w <= W - 8 - lw, "legend %g wide from %g, last cell ends at %g", lw,
              W - 8 - lw, last.x + last.w);
    BOTH(av_viewer_select_token(v_, 11));
    same(p, "matrix, selection", 1);
    BOTH(av_viewer_set_search(v_, "cat"));
    same(p, "matrix, search hits", 1);
    BOTH(v_->dark = 1);
    same(p, "matrix, dark theme", 1);
    BOTH(v_->heat = 1);
    same(p, "matrix, heat map", 0);  /* resolved again, not drawn again */
    BOTH(v_->exposure = 4; v_->heat = 0);
    same(p, "matrix, exposure 4", 0);

    BOTH(av_viewer_set_view(v_, AV_VIEW_SINGLE); av_viewer_set_head(v_, 1, 2); v_->dark = 0; v_->exposure = 1);
    BOTH(av_viewer_select_token(v_, -1); av_viewer_set_search(v_, ""));
    same(p, "single", 1);
    BOTH(av_viewer_drag(v_, 40, -25, 0); av_viewer_scroll(v_, 300, 300, 2));
    same(p, "single, panned and zoomed", 1);
    BOTH(av_viewer_set_color(v_, AV_COLOR_PUNCT));
    same(p, "single, colour by punctuation", 1);
    BOTH(av_viewer_select_token(v_, 11));
    same(p, "single, selection", 1);
    int pca = av_vdata_find_proj(vd, "pca", 3);
    CHECK(pca >= 0);
    BOTH(av_viewer_set_proj(v_, pca); av_viewer_set_color(v_, AV_COLOR_NORM); v_->size_by_norm = 1);
    same(p, "single, 3-D, colour and size by norm", 1);
    BOTH(av_viewer_set_proj(v_, av_vdata_find_proj(vd, "tsne", 2)); av_viewer_set_color(v_, AV_COLOR_QK);
         v_->size_by_norm = 0; av_viewer_select_token(v_, -1));
}

/* The single view after a pan, a few points a frame: the first frames show part of
 * the points, the later ones add to them until every point is in. */
static void progressive_single(pair *p) {
    av_viewer *v = &p->a;
    av_viewer_set_view(v, AV_VIEW_SINGLE);
    av_viewer_set_head(v, 0, 1);
    draw_until_complete(v);
    av_viewer_drag(v, -30, 12, 0);
    v->lod_budget = 20;
    av_viewer_draw(v, W, H);
    CHECK_MSG(v->pending && v->points_shown == 20 && v->passes == 5, "first frame after a pan: %lld of %lld, %d passes",
              (long long)v->points_shown, (long long)v->points_total, v->passes);
    int64_t before = v->points_shown;
    av_viewer_draw(v, W, H);
    CHECK_MSG(v->points_shown == before + 19, "the second frame adds the second pass (%lld after %lld)",
              (long long)v->points_shown, (long long)before);
    int frames = 2 + draw_until_complete(v);
    CHECK_MSG(frames == 5 && v->points_shown == v->points_total, "%d frames, %lld of %lld", frames,
              (long long)v->points_shown, (long long)v->points_total);
    v->lod_budget = LOD;
}

int main(void) {
    pair p;
    memset(&p, 0, sizeof p);
    CHECK(av_vdata_open(RUN, &p.vd) == AV_OK);
    if (av_headless_open(&p.hl, W, H) != AV_OK) {
        fprintf(stderr, "%s\n", av_last_error());
        return 1;
    }
    CHECK(av_viewer_init(&p.a, &p.vd) == AV_OK);
    CHECK(av_viewer_init(&p.b, &p.vd) == AV_OK);
    p.a.target_fbo = p.b.target_fbo = p.hl.fbo;
    p.a.lod_budget = LOD;
    p.b.direct = 1;
    p.pa = malloc((size_t)W * H * 4);
    p.pb = malloc((size_t)W * H * 4);

    /* both renderers, each against itself */
    for (int r = 0; r < 2; r++) {
        av_renderer ren = r ? AV_RENDERER_GL : AV_RENDERER_CPU;
        CHECK(av_viewer_set_renderer(&p.a, ren) == AV_OK && av_viewer_set_renderer(&p.b, ren) == AV_OK);
        scenarios(&p);
    }
    progressive_single(&p);

    /* the CPU and the GPU renderer draw the same picture, to a level per channel but for
     * the odd pixel whose centre lies on a point's edge */
    CHECK(av_viewer_set_renderer(&p.a, AV_RENDERER_CPU) == AV_OK && av_viewer_set_renderer(&p.b, AV_RENDERER_GL) == AV_OK);
    p.a.direct = 1;
    for (int view = 0; view < 2; view++) {
        av_viewer *vs[2] = {&p.a, &p.b};
        for (int i = 0; i < 2; i++) {
            av_viewer_set_view(vs[i], view ? AV_VIEW_SINGLE : AV_VIEW_MATRIX);
            av_viewer_set_head(vs[i], 1, 0);
            av_viewer_key(vs[i], 'r');  /* the camera back home */
            av_viewer_set_color(vs[i], AV_COLOR_POSITION);
            av_viewer_set_search(vs[i], "the");
        }
        av_viewer_draw(&p.a, W, H);
        read_frame(&p, p.pa);
        av_viewer_draw(&p.b, W, H);
        read_frame(&p, p.pb);
        long d = differing(p.pa, p.pb);
        if (getenv("AV_TEST_DUMP")) {
            av_png_write_rgba(view ? "/tmp/cmp_single_cpu.png" : "/tmp/cmp_matrix_cpu.png", W, H, p.pa);
            av_png_write_rgba(view ? "/tmp/cmp_single_gl.png" : "/tmp/cmp_matrix_gl.png", W, H, p.pb);
        }
        CHECK_MSG(d <= 4, "%s: %ld pixels differ between the CPU and the GPU renderer", view ? "single" : "matrix", d);
    }

    free(p.pa);
    free(p.pb);
    av_viewer_free(&p.a);
    av_viewer_free(&p.b);
    av_headless_close(&p.hl);
    av_vdata_close(&p.vd);
    return av_check_summary("test_render_cache");
}
