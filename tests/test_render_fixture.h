/* test_render_fixture.h - what the viewer tests share: a headless viewer on one of the
 * committed fixture runs (tests/fixtures/viewer/, made by make_runs.py) and pixel
 * helpers over the read-back frame (RGBA rows top to bottom). */
#ifndef AV_TESTS_RENDER_FIXTURE_H
#define AV_TESTS_RENDER_FIXTURE_H
#include <stdlib.h>
#include <string.h>
#include "viewer/headless.h"
#include "viewer/viewer_internal.h"

typedef struct {
    av_vdata vd;
    av_headless hl;
    av_viewer v;
    uint8_t *px;
    int w, h;
} rfix;

static int rfix_open(rfix *f, const char *run, int w, int h) {
    memset(f, 0, sizeof *f);
    f->w = w;
    f->h = h;
    if (av_vdata_open(run, &f->vd) != AV_OK) return AV_ERR;
    if (av_headless_open(&f->hl, w, h) != AV_OK) { av_vdata_close(&f->vd); return AV_ERR; }
    if (av_viewer_init(&f->v, &f->vd) != AV_OK) { av_headless_close(&f->hl); av_vdata_close(&f->vd); return AV_ERR; }
    f->v.target_fbo = f->hl.fbo;
    f->px = malloc((size_t)w * h * 4);
    return AV_OK;
}

static void rfix_close(rfix *f) {
    free(f->px);
    av_viewer_free(&f->v);
    av_headless_close(&f->hl);
    av_vdata_close(&f->vd);
}

/* Draws a frame and reads it back into f->px. */
static void rfix_draw(rfix *f) {
    av_viewer_draw(&f->v, f->w, f->h);
    av_headless_read(&f->hl, f->px);
}

static const uint8_t *rfix_at(const rfix *f, int x, int y) { return f->px + ((size_t)y * f->w + x) * 4; }

static int is_red(const uint8_t *p) { return p[0] > p[1] + 60 && p[0] > p[2] + 60; }
static int is_blue(const uint8_t *p) { return p[2] > p[0] + 40 && p[2] > p[1] + 20; }
/* The search-hit colour of the light theme (230, 0, 180), allowing for blending. */
static int is_hit(const uint8_t *p) { return p[0] > 180 && p[1] < 90 && p[2] > 130; }
static int is_dark(const uint8_t *p) { return p[0] < 100 && p[1] < 100 && p[2] < 100; }

/* Counts pixels in a rectangle satisfying pred. */
static long rfix_count(const rfix *f, float x, float y, float w, float h, int (*pred)(const uint8_t *)) {
    long n = 0;
    for (int j = (int)y; j < (int)(y + h) && j < f->h; j++)
        for (int i = (int)x; i < (int)(x + w) && i < f->w; i++)
            if (j >= 0 && i >= 0 && pred(rfix_at(f, i, j))) n++;
    return n;
}

/* Pixel position of point p (0..2T-1) of the current head in the single view. */
static void rfix_point_px(rfix *f, int64_t p, float *x, float *y) {
    av_rect r = av_single_rect(&f->v);
    float m[16];
    av_head_matrix(&f->v, f->v.layer, f->v.head, r.w, r.h, 1, m);
    av_project_px(m, av_vdata_point(&f->vd, f->v.layer, f->v.head, p), av_vdata_dim(&f->vd), r, x, y);
}
#endif
