/* test_render_density.c - density-aware drawing keeps the structure of a dense cloud:
 * a head of 120k points in two Gaussian blobs 4 sigma apart, drawn into a few hundred
 * pixels across, must show the valley between the blobs (less ink at the midpoint than
 * at either centre) in the single view and in a matrix cell, with coloured points and
 * with the heat map, on the CPU and on the GPU renderer. With the ink turned up until
 * every point saturates (exposure 64: what fixed alpha did) the valley fills in: the
 * measurement tells a blob from two. The run folder is written here. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "base/npy.h"
#include "base/rng.h"
#include "base/util.h"
#include "engine/runfolder.h"
#include "tests/check.h"
#include "viewer/headless.h"
#include "viewer/viewer_internal.h"

#define W 640
#define H 480
#define T 60000

static void write_text(const char *path, const char *s) { av_write_file_atomic(path, s, strlen(s)); }

/* One head, queries and keys alike: half the points around (-1, 0), half around (1, 0),
 * sigma 0.5 (true density at the midpoint: 0.27 of the centres'). */
static int make_run(const char *dir) {
    char p[4400];
    av_mkdir_p(dir);
    snprintf(p, sizeof p, "%s/proj", dir);
    av_mkdir_p(p);
    cJSON *m = av_manifest_new("bert", "synthetic", 1, 1, 2, T / 50, T, AV_DT_F32);
    float *qk = calloc((size_t)T * 2, sizeof *qk), *y = malloc((size_t)T * 4 * sizeof *y);
    int32_t *it = malloc((size_t)T * sizeof *it), *ps = malloc((size_t)T * sizeof *ps);
    char *txt = malloc((size_t)T * 48 + 1);
    if (!qk || !y || !it || !ps || !txt) return AV_ERR;
    uint64_t rng = 7;
    for (int i = 0; i < 2 * T; i++) {
        y[2 * i] = (i % 2 ? 1.0f : -1.0f) + 0.5f * (float)av_rng_normal(&rng);
        y[2 * i + 1] = 0.5f * (float)av_rng_normal(&rng);
    }
    int64_t shape[4] = {1, 1, T, 2}, pshape[4] = {1, 1, 2 * T, 2}, tshape[1] = {T};
    snprintf(p, sizeof p, "%s/q.npy", dir); av_npy_write(p, AV_DT_F32, 4, shape, qk);
    snprintf(p, sizeof p, "%s/k.npy", dir); av_npy_write(p, AV_DT_F32, 4, shape, qk);
    snprintf(p, sizeof p, "%s/proj/pca-2d.npy", dir); av_npy_write(p, AV_DT_F32, 4, pshape, y);
    av_manifest_set_array(m, "q", "q.npy", AV_DT_F32, 4, shape);
    av_manifest_set_array(m, "k", "k.npy", AV_DT_F32, 4, shape);
    txt[0] = 0;
    size_t len = 0;
    for (int t = 0; t < T; t++) {
        it[t] = t / 50;
        ps[t] = t % 50;
        len += (size_t)sprintf(txt + len, "{\"text\": \"w\", \"item\": %d, \"pos\": %d}\n", it[t], ps[t]);
    }
    snprintf(p, sizeof p, "%s/tokens.jsonl", dir); write_text(p, txt);
    len = 0;
    txt[0] = 0;
    for (int i = 0; i < T / 50; i++) len += (size_t)sprintf(txt + len, "{\"text\": \"item %d\"}\n", i);
    snprintf(p, sizeof p, "%s/items.jsonl", dir); write_text(p, txt);
    snprintf(p, sizeof p, "%s/token_item.npy", dir); av_npy_write(p, AV_DT_I32, 1, tshape, it);
    snprintf(p, sizeof p, "%s/token_pos.npy", dir); av_npy_write(p, AV_DT_I32, 1, tshape, ps);
    av_manifest_set_array(m, "token_item", "token_item.npy", AV_DT_I32, 1, tshape);
    av_manifest_set_array(m, "token_pos", "token_pos.npy", AV_DT_I32, 1, tshape);
    int rc = av_manifest_write(dir, m);
    cJSON_Delete(m);
    free(qk); free(y); free(it); free(ps); free(txt);
    return rc;
}

/* Ink at data point (x, 0): how far a 5 x 5 block's mean is from the white background. */
static double ink(av_viewer *v, const uint8_t *px, float x, av_rect r, int single) {
    float m[16], pt[2] = {x, 0}, sx, sy;
    av_head_matrix(v, 0, 0, r.w, r.h, single, m);
    av_project_px(m, pt, 2, r, &sx, &sy);
    double s = 0;
    for (int j = -2; j <= 2; j++)
        for (int i = -2; i <= 2; i++) {
            const uint8_t *q = px + ((size_t)((int)sy + j) * W + (int)sx + i) * 4;
            s += 765 - q[0] - q[1] - q[2];
        }
    return s / 25;
}

/* Ink at the two centres and at the midpoint of the frame just drawn. */
static void profile(av_viewer *v, av_headless *hl, uint8_t *px, double out[3]) {
    av_viewer_finish(v, W, H);
    av_headless_read(hl, px);
    int single = v->view == AV_VIEW_SINGLE;
    av_rect r = single ? av_single_rect(v) : av_matrix_cell(v, 0, 0);
    for (int k = 0; k < 3; k++) out[k] = ink(v, px, (float)(k - 1), r, single);
}

int main(void) {
    char tmpl[] = "/tmp/av_test_render_density.XXXXXX";
    char *root = mkdtemp(tmpl);
    if (!root) { perror("mkdtemp"); return 1; }
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/run", root);
    CHECK(make_run(dir) == AV_OK);
    av_vdata vd;
    av_headless hl;
    av_viewer v;
    if (av_vdata_open(dir, &vd) != AV_OK || av_headless_open(&hl, W, H) != AV_OK || av_viewer_init(&v, &vd) != AV_OK) {
        fprintf(stderr, "%s\n", av_last_error());
        return 1;
    }
    v.target_fbo = hl.fbo;
    uint8_t *px = malloc((size_t)W * H * 4);
    for (int r = 0; r < 2; r++) {
        CHECK(av_viewer_set_renderer(&v, r ? AV_RENDERER_GL : AV_RENDERER_CPU) == AV_OK);
        for (int view = 0; view < 2; view++) {
            av_viewer_set_view(&v, view ? AV_VIEW_SINGLE : AV_VIEW_MATRIX);
            for (int heat = 0; heat < 2; heat++) {
                const char *what = heat ? "heat map" : "points";
                double p[3];
                v.heat = heat;
                v.exposure = 1;
                profile(&v, &hl, px, p);
                double centre = p[0] < p[2] ? p[0] : p[2];
                CHECK_MSG(p[1] < 0.8 * centre && centre > 60, "%s %s %s: ink %.0f | %.0f | %.0f: no valley",
                          av_renderer_name(v.renderer), av_view_name(v.view), what, p[0], p[1], p[2]);
                v.exposure = 64;
                profile(&v, &hl, px, p);
                centre = p[0] < p[2] ? p[0] : p[2];
                CHECK_MSG(p[1] > 0.9 * centre, "%s %s %s, saturated: ink %.0f | %.0f | %.0f: still a valley",
                          av_renderer_name(v.renderer), av_view_name(v.view), what, p[0], p[1], p[2]);
            }
        }
    }
    free(px);
    av_viewer_free(&v);
    av_headless_close(&hl);
    av_vdata_close(&vd);
    av_rm_rf(root);
    return av_check_summary("test_render_density");
}
