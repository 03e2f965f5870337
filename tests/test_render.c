/* test_render.c - every view of the fixture runs drawn under Mesa's software renderer
 * (EGL surfaceless), checked by pixels and by the viewer's state: matrix cells hold
 * queries and keys where the fixture put them, the selected item's attention lines are
 * drawn (head 0:0 attends to the previous token: one line per query), search hits are
 * highlighted, picking through the ID buffer finds the point under the pointer, the
 * image view's heat map lands on the right-hand neighbour patch. */
#include "tests/check.h"
#include "tests/test_render_fixture.h"

#define TEXT_RUN "tests/fixtures/viewer/run_text"
#define VIT_RUN "tests/fixtures/viewer/run_vit"
#define W 900
#define H 640

static int not_bg(const uint8_t *p) { return !(p[0] == 255 && p[1] == 255 && p[2] == 255); }
/* the image view's arrow colour (255, 217, 26) */
static int is_yellow(const uint8_t *p) { return p[0] > 220 && p[1] > 180 && p[2] < 90; }

static void test_matrix(rfix *f) {
    av_viewer_set_view(&f->v, AV_VIEW_MATRIX);
    rfix_draw(f);
    CHECK(rfix_count(f, 0, 0, W, H, not_bg) > W * H / 4);
    for (int l = 0; l < 2; l++)
        for (int h = 0; h < 3; h++) {
            av_rect r = av_matrix_cell(&f->v, l, h);
            long red_left = rfix_count(f, r.x, r.y, r.w / 2, r.h, is_red);
            long red_right = rfix_count(f, r.x + r.w / 2, r.y, r.w / 2, r.h, is_red);
            long blue_left = rfix_count(f, r.x, r.y, r.w / 2, r.h, is_blue);
            long blue_right = rfix_count(f, r.x + r.w / 2, r.y, r.w / 2, r.h, is_blue);
            long red_top = rfix_count(f, r.x, r.y, r.w, r.h / 2, is_red);
            long blue_top = rfix_count(f, r.x, r.y, r.w, r.h / 2, is_blue);
            long blue_bottom = rfix_count(f, r.x, r.y + r.h / 2, r.w, r.h / 2, is_blue);
            if (l == 1 && h == 2) {  /* the fixture's flipped head: queries on top, keys below */
                CHECK_MSG(red_top > 50 && blue_top == 0 && blue_bottom > 50, "cell 1:2 red_top %ld blue_top %ld blue_bottom %ld",
                          red_top, blue_top, blue_bottom);
            } else {
                CHECK_MSG(red_left > 50 && red_right == 0 && blue_right > 50 && blue_left == 0,
                          "cell %d:%d red %ld|%ld blue %ld|%ld", l, h, red_left, red_right, blue_left, blue_right);
            }
        }
    /* hover on a cell reports it; a click opens the single view of that head */
    av_rect r = av_matrix_cell(&f->v, 1, 1);
    av_viewer_mouse(&f->v, r.x + r.w / 2, r.y + r.h / 2);
    CHECK(f->v.hover_l == 1 && f->v.hover_h == 1);
    av_viewer_click(&f->v, r.x + r.w / 2, r.y + r.h / 2);
    CHECK(f->v.view == AV_VIEW_SINGLE && f->v.layer == 1 && f->v.head == 1);
}

static void test_single(rfix *f) {
    av_vdata *vd = &f->vd;
    av_viewer_set_view(&f->v, AV_VIEW_SINGLE);
    av_viewer_set_head(&f->v, 0, 0);
    av_viewer_select_token(&f->v, -1);
    av_viewer_set_search(&f->v, "");
    rfix_draw(f);
    av_rect pr = av_single_rect(&f->v);
    /* without a selection the gap between the query and key halves is empty */
    long mid_dark = rfix_count(f, W / 2 - 20, pr.y + 10, 40, pr.h - 20, is_dark);
    CHECK_MSG(mid_dark == 0, "dark pixels in the empty middle: %ld", mid_dark);
    CHECK(rfix_count(f, 0, 0, W, H, is_hit) == 0);
    CHECK(f->v.lines_drawn == 0);

    /* picking: the ID buffer finds the point under the pointer, query and key alike
     * (points with a neighbour closer than their size may be covered: skipped) */
    int picked = 0, tried = 0;
    for (int64_t p = 0; p < 2 * vd->T; p++) {
        float x, y, ox, oy;
        rfix_point_px(f, p, &x, &y);
        int alone = 1;
        for (int64_t o = 0; o < 2 * vd->T && alone; o++) {
            rfix_point_px(f, o, &ox, &oy);
            alone = o == p || (ox - x) * (ox - x) + (oy - y) * (oy - y) > 100;
        }
        if (!alone) continue;
        av_viewer_mouse(&f->v, x, y);
        picked += f->v.hover_point == p;
        tried++;
    }
    CHECK_MSG(picked == tried && tried > vd->T, "picked %d of %d points", picked, tried);
    av_viewer_mouse(&f->v, W / 2, pr.y + pr.h / 2);  /* the empty middle */
    CHECK(f->v.hover_point == -1);

    /* click a query point: its item is selected and each query draws one line to the previous key */
    int64_t item = 1, t = vd->item_start[item] + 3;
    float x, y;
    rfix_point_px(f, t, &x, &y);
    av_viewer_click(&f->v, x, y);
    CHECK(f->v.sel_token == t && f->v.sel_item == item);
    rfix_draw(f);
    CHECK_MSG(f->v.lines_drawn == vd->item_len[item], "lines %d, item length %lld", f->v.lines_drawn, (long long)vd->item_len[item]);
    mid_dark = rfix_count(f, W / 2 - 20, pr.y + 10, 40, pr.h - 20, is_dark);
    CHECK_MSG(mid_dark > 20, "attention lines cross the middle: %ld dark pixels", mid_dark);
    /* the attention behind the lines: each query's weight on the previous key ~ 1 */
    CHECK(av_viewer_ensure_attention(&f->v) == AV_OK);
    for (int64_t i = 1; i < f->v.att_n; i++) CHECK(f->v.att[i * f->v.att_n + i - 1] > 0.99f);

    /* search: every "cat" token is highlighted and counted */
    av_viewer_select_token(&f->v, -1);
    av_viewer_set_search(&f->v, "cat");
    CHECK(f->v.search_hits == 2);
    av_viewer_mouse(&f->v, W / 2, pr.y + pr.h / 2);  /* no tooltip over the points */
    rfix_draw(f);
    long hits_px = rfix_count(f, 0, AV_TOPBAR, W, H - AV_TOPBAR - AV_BOTTOMBAR, is_hit);
    CHECK_MSG(hits_px > 4 * 20, "hit-coloured pixels: %ld", hits_px);
    for (int64_t k = 0; k < vd->T; k++) {
        if (strcmp(vd->tok_text[k], "cat")) continue;
        rfix_point_px(f, k, &x, &y);
        CHECK(is_hit(rfix_at(f, (int)x, (int)y)));
    }
    /* the legend explains the hit colour (a row under the q/k entries, bottom left) */
    long legend_hit = rfix_count(f, 0, H - AV_BOTTOMBAR - 40, 40, 40, is_hit);
    CHECK_MSG(legend_hit > 20, "hit colour in the legend: %ld pixels", legend_hit);
    av_viewer_set_search(&f->v, "");

    /* keyboard: arrows step heads, q hides queries (no red left) */
    av_viewer_key(&f->v, AV_KEY_RIGHT);
    CHECK(f->v.layer == 0 && f->v.head == 1);
    av_viewer_key(&f->v, AV_KEY_DOWN);
    CHECK(f->v.layer == 1 && f->v.head == 1);
    av_viewer_key(&f->v, 'q');
    rfix_draw(f);
    CHECK(rfix_count(f, 0, AV_TOPBAR, W, H - AV_TOPBAR - AV_BOTTOMBAR - 140, is_red) == 0);
    CHECK(rfix_count(f, 0, AV_TOPBAR, W, H - AV_TOPBAR - AV_BOTTOMBAR, is_blue) > 50);
    av_viewer_key(&f->v, 'q');

    /* zoom about the pointer keeps the point under it in place */
    rfix_point_px(f, 5, &x, &y);
    av_viewer_scroll(&f->v, x, y, 3);
    float x2, y2;
    rfix_point_px(f, 5, &x2, &y2);
    CHECK_NEAR(x2, x, 0.5);
    CHECK_NEAR(y2, y, 0.5);
    av_viewer_key(&f->v, 'r');

    /* dark theme: dark background */
    av_viewer_key(&f->v, 't');
    rfix_draw(f);
    const uint8_t *bg = rfix_at(f, 3, H / 2);
    CHECK(bg[0] < 40 && bg[1] < 40 && bg[2] < 40);
    av_viewer_key(&f->v, 't');
}

static void test_colors(rfix *f) {
    /* every colour mode a text run supports draws; ViT-only and label modes say why not */
    for (int m = 0; m < AV_COLOR_COUNT; m++) {
        int ok = av_viewer_set_color(&f->v, (av_color_mode)m) == AV_OK;
        int want = m != AV_COLOR_ROW && m != AV_COLOR_COL && m != AV_COLOR_LABEL && m != AV_COLOR_HUE &&
                   m != AV_COLOR_BRIGHTNESS && m != AV_COLOR_FREQUENCY && m != AV_COLOR_ANGLE && m != AV_COLOR_CELLS; /* synth runs only */
        CHECK_MSG(ok == want, "colour mode %s: %s", av_color_name((av_color_mode)m), ok ? "ok" : av_last_error());
        if (ok) {
            rfix_draw(f);
            CHECK(rfix_count(f, 0, AV_TOPBAR, W, H - AV_TOPBAR - AV_BOTTOMBAR, not_bg) > 500);
        }
    }
    /* position mode: the first token of an item is dark purple, its last yellow (viridis) */
    CHECK(av_viewer_set_color(&f->v, AV_COLOR_POSITION) == AV_OK);
    av_viewer_set_view(&f->v, AV_VIEW_SINGLE);
    av_viewer_set_head(&f->v, 0, 0);
    rfix_draw(f);
    float x, y;
    rfix_point_px(f, 0, &x, &y);
    const uint8_t *p0 = rfix_at(f, (int)x, (int)y);
    rfix_point_px(f, f->vd.item_len[0] - 1, &x, &y);
    const uint8_t *p1 = rfix_at(f, (int)x, (int)y);
    CHECK_MSG(p0[2] > p0[1] && p1[1] > p1[2] && p1[0] > 150, "first (%d,%d,%d) last (%d,%d,%d)", p0[0], p0[1], p0[2],
              p1[0], p1[1], p1[2]);
    av_viewer_set_color(&f->v, AV_COLOR_QK);
}

static void test_orbit(rfix *f) {
    /* a 3-D projection: dragging orbits, and at any angle every point stays in the plot */
    int i3 = av_vdata_find_proj(&f->vd, "pca", 3), i2 = av_vdata_find_proj(&f->vd, "tsne", 2);
    CHECK(i3 >= 0 && av_viewer_set_proj(&f->v, i3) == AV_OK);
    av_viewer_set_view(&f->v, AV_VIEW_SINGLE);
    av_viewer_set_head(&f->v, 1, 2);
    float yaw = f->v.yaw, pitch = f->v.pitch;
    av_viewer_drag(&f->v, 40, -20, 0);
    CHECK(f->v.yaw != yaw && f->v.pitch != pitch && f->v.pan_x == 0);
    av_viewer_drag(&f->v, 40, 0, 1);  /* right button pans */
    CHECK(f->v.pan_x > 0);
    av_viewer_key(&f->v, 'r');
    av_rect r = av_single_rect(&f->v);
    int outside = 0;
    for (int a = 0; a < 12; a++) {
        f->v.yaw = a * 0.52f;
        f->v.pitch = -1.5f + a * 0.27f;
        for (int64_t p = 0; p < 2 * f->vd.T; p++) {
            float x, y;
            rfix_point_px(f, p, &x, &y);
            outside += x < r.x || x > r.x + r.w || y < r.y || y > r.y + r.h;
        }
    }
    CHECK_MSG(outside == 0, "%d points left the plot while orbiting", outside);
    rfix_draw(f);
    CHECK(rfix_count(f, 0, AV_TOPBAR, W, H - AV_TOPBAR - AV_BOTTOMBAR, is_red) > 50);
    av_viewer_key(&f->v, 'r');
    CHECK(av_viewer_set_proj(&f->v, i2) == AV_OK);
}

static void test_sentence(rfix *f) {
    av_viewer_set_head(&f->v, 0, 0);
    av_viewer_select_token(&f->v, -1);
    f->v.sel_item = -1;
    av_viewer_set_view(&f->v, AV_VIEW_SENTENCE);
    rfix_draw(f);
    CHECK(f->v.sel_item == 0);  /* defaults to the first item */
    int64_t n = f->vd.item_len[0];
    CHECK_MSG(f->v.lines_drawn == n, "sentence lines %d for %lld tokens", f->v.lines_drawn, (long long)n);
    /* hide [CLS]/[SEP]: the rows renormalise over the remaining keys */
    f->v.hide_special = 1;
    rfix_draw(f);
    CHECK(av_viewer_ensure_attention(&f->v) == AV_OK);
    for (int64_t i = 0; i < n; i++) {
        double s = 0;
        for (int64_t j = 0; j < n; j++) s += f->v.att[i * n + j];
        CHECK_NEAR(s, 1.0, 1e-4);
        CHECK(f->v.att[i * n + 0] == 0.0f && f->v.att[i * n + n - 1] == 0.0f);
    }
    f->v.hide_special = 0;
    /* hovering a query shows only its own lines */
    float y = AV_TOPBAR + 52 + 22 * 2.5f;
    int64_t t = av_sentence_hit(&f->v, W * 0.40f - 10, y);
    CHECK(t == f->vd.item_start[0] + 2);
    av_viewer_mouse(&f->v, W * 0.40f - 10, y);
    rfix_draw(f);
    CHECK(f->v.lines_drawn >= 1 && f->v.lines_drawn <= n);
}

static void test_image(void) {
    rfix f;
    if (rfix_open(&f, VIT_RUN, W, H) != AV_OK) { CHECK_MSG(0, "%s", av_last_error()); return; }
    CHECK(f.vd.grid == 4);
    av_viewer_set_view(&f.v, AV_VIEW_IMAGE);
    /* patch (1, 1) of item 0 attends to (1, 2) */
    int64_t t = -1;
    for (int64_t k = f.vd.item_start[0]; k < f.vd.item_start[0] + f.vd.item_len[0]; k++)
        if (f.vd.tok_row[k] == 1 && f.vd.tok_col[k] == 1) t = k;
    CHECK(t >= 0);
    av_viewer_select_token(&f.v, t);
    rfix_draw(&f);
    CHECK(f.v.img_ok && !f.v.img_err[0]);
    /* the image sits at (20, TOPBAR + 30) with side s */
    float s = H - (AV_TOPBAR + 30) - AV_BOTTOMBAR - 12, ps = s / 4, x0 = 20, y0 = AV_TOPBAR + 30;
    long hot = rfix_count(&f, x0 + 2 * ps + 4, y0 + ps + 4, ps - 8, ps - 8, is_red);
    long self = rfix_count(&f, x0 + ps + 4, y0 + ps + 4, ps - 8, ps - 8, is_red);
    long other = rfix_count(&f, x0 + 4, y0 + 3 * ps + 4, ps - 8, ps - 8, is_red);
    CHECK_MSG(hot > (ps - 8) * (ps - 8) * 0.9 && self == 0 && other == 0, "hot %ld self %ld other %ld", hot, self, other);
    /* hover maps pixels to patches */
    CHECK(av_image_hit(&f.v, x0 + ps * 1.5f, y0 + ps * 1.5f) == t);
    /* arrows: one per patch (each to its right neighbour) */
    f.v.arrows = 1;
    rfix_draw(&f);
    CHECK(f.v.lines_drawn == 16);
    /* arrowheads sized for an arrow, not a third of a patch: 16 arrows of one patch
     * length, 2 px thick, with heads of at most 14 px (heads of ps * 0.3 = 37 px here
     * piled into blots where arrows share a target) */
    long yellow = rfix_count(&f, x0, y0, s, s, is_yellow);
    CHECK_MSG(yellow > 16 * ps && yellow < 16 * (2 * ps + 150), "arrow pixels %ld for 16 arrows of %.0f px", yellow, ps);
    /* row / column colour modes exist for ViT */
    CHECK(av_viewer_set_color(&f.v, AV_COLOR_ROW) == AV_OK);
    CHECK(av_viewer_set_color(&f.v, AV_COLOR_LABEL) == AV_OK);
    rfix_close(&f);
}

int main(void) {
    rfix f;
    if (rfix_open(&f, TEXT_RUN, W, H) != AV_OK) {
        fprintf(stderr, "cannot open the fixture viewer: %s\n", av_last_error());
        return 1;
    }
    test_matrix(&f);
    test_single(&f);
    test_colors(&f);
    test_orbit(&f);
    test_sentence(&f);
    rfix_close(&f);
    test_image();
    return av_check_summary("test_render");
}
