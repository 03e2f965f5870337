/* test_dataset_synth.c - synthetic probes: hue colours against Python's colorsys
 * (fixtures/datasets/hue_rgb.txt), grating orientation and frequency, stratified and
 * seeded parameters, and the written set (files, params.jsonl order, atomic replace). */
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "datasets/dataset.h"
#include "datasets/image.h"
#include "datasets/synth.h"
#include "base/util.h"
#include "tests/check.h"

static char dir[] = "/tmp/av_test_dataset_synth_XXXXXX";

static void test_hue_colours(void) {
    FILE *f = fopen("tests/fixtures/datasets/hue_rgb.txt", "r");
    CHECK(f != NULL);
    if (!f) return;
    double h;
    int r, g, b, rows = 0;
    uint8_t px[8 * 8 * 3];
    while (fscanf(f, "%lf %d %d %d", &h, &r, &g, &b) == 4) {
        av_synth_params p = {.kind = AV_SYNTH_HUE, .hue = h};
        av_synth_render(&p, 8, px);
        int uniform = 1;
        for (int i = 0; i < 64; i++) uniform &= px[3 * i] == r && px[3 * i + 1] == g && px[3 * i + 2] == b;
        CHECK_MSG(uniform, "hue %g: got %d %d %d, colorsys says %d %d %d", h, px[0], px[1], px[2], r, g, b);
        rows++;
    }
    fclose(f);
    CHECK(rows == 15);
    /* a gradient runs from hue to hue2 across the image along its direction */
    enum { S = 64 };
    static uint8_t img[S * S * 3];
    av_synth_params p = {.kind = AV_SYNTH_HUE, .graded = 1, .hue = 0, .hue2 = 120, .gradient_angle = 0};
    av_synth_render(&p, S, img);
    CHECK(img[0] == 255 && img[1] < 8 && img[2] == 0);                        /* left: red */
    CHECK(img[3 * (S - 1)] < 8 && img[3 * (S - 1) + 1] == 255);               /* right: green */
    CHECK(!memcmp(img, img + 3 * S * (S - 1), 3 * S));                         /* same in every row */
}

/* Mean absolute difference between pixel (x, y) and (x + dx, y + dy), y down. */
static double shift_diff(const uint8_t *img, int s, int dx, int dy) {
    double sum = 0;
    int n = 0;
    for (int y = 4; y < s - 4; y++)
        for (int x = 4; x < s - 4; x++) {
            sum += abs((int)img[3 * (y * s + x)] - (int)img[3 * ((y + dy) * s + x + dx)]);
            n++;
        }
    return sum / n;
}

static void test_gratings(void) {
    enum { S = 96 };
    static uint8_t img[S * S * 3];
    /* stripe angle, counterclockwise with y up: the image is constant along the stripes */
    static const struct { double angle; int along_dx, along_dy, across_dx, across_dy; } cases[] = {
        {0, 1, 0, 0, 1}, {45, 1, -1, 1, 1}, {90, 0, 1, 1, 0}, {135, 1, 1, 1, -1}};
    for (int c = 0; c < 4; c++) {
        av_synth_params p = {.kind = AV_SYNTH_ANGLE, .frequency = S / 16.0, .angle = cases[c].angle, .phase = 0.3};
        av_synth_render(&p, S, img);
        double along = shift_diff(img, S, cases[c].along_dx, cases[c].along_dy);
        double across = shift_diff(img, S, cases[c].across_dx, cases[c].across_dy);
        CHECK_MSG(along < 1.0 && across > 20.0, "angle %g: along %.2f, across %.2f", cases[c].angle, along, across);
    }
    /* frequency = cycles per image: 2 sign changes per cycle along the wave */
    for (double freq = 1; freq <= S / 4.0; freq *= 2) {
        av_synth_params p = {.kind = AV_SYNTH_FREQUENCY, .frequency = freq, .angle = 90, .phase = 0.1};
        av_synth_render(&p, S, img);
        int changes = 0;
        for (int x = 1; x < S; x++) changes += (img[3 * x] >= 128) != (img[3 * (x - 1)] >= 128);
        CHECK_MSG(abs(changes - (int)(2 * freq)) <= 1, "frequency %g: %d sign changes", freq, changes);
    }
    av_synth_params p = {.kind = AV_SYNTH_CHECKER, .cells = 4};
    av_synth_render(&p, 16, img);
    CHECK(img[0] == 0 && img[3 * 4] == 255 && img[3 * (4 * 16)] == 255 && img[3 * (4 * 16 + 4)] == 0);
    p = (av_synth_params){.kind = AV_SYNTH_BRIGHTNESS, .brightness = 0.5};
    av_synth_render(&p, 16, img);
    CHECK(img[0] == 128 && img[3 * 255 + 2] == 128);
}

static void test_params(void) {
    enum { N = 10 };
    av_synth_params a, b;
    int strat_ok = 1, same = 1, differ = 0;
    for (int i = 0; i < N; i++) {
        av_synth_params_make(AV_SYNTH_HUE, i, N, 224, 5, &a);
        strat_ok &= a.hue >= 36.0 * i && a.hue < 36.0 * (i + 1) && a.graded == i % 2;
        av_synth_params_make(AV_SYNTH_HUE, i, N, 224, 5, &b);
        same &= !memcmp(&a, &b, sizeof a);
        av_synth_params_make(AV_SYNTH_HUE, i, N, 224, 6, &b);
        differ += a.hue != b.hue;
        av_synth_params_make(AV_SYNTH_BRIGHTNESS, i, N, 224, 5, &a);
        strat_ok &= a.brightness >= 0.1 * i && a.brightness < 0.1 * (i + 1);
        av_synth_params_make(AV_SYNTH_ANGLE, i, N, 224, 5, &a);
        strat_ok &= a.angle >= 18.0 * i && a.angle < 18.0 * (i + 1) && a.frequency == 14.0;
        av_synth_params_make(AV_SYNTH_FREQUENCY, i, N, 224, 5, &a);
        double lo = pow(56.0, (double)i / N), hi = pow(56.0, (double)(i + 1) / N);
        strat_ok &= a.frequency >= lo && a.frequency < hi + 1e-9 && a.angle >= 0 && a.angle < 180;
        av_synth_params_make(AV_SYNTH_CHECKER, i, N, 224, 5, &a);
        strat_ok &= a.cells >= 2 && a.cells <= 32;
    }
    CHECK(strat_ok && same && differ == N);
    unsigned m;
    CHECK(av_synth_kinds_parse("all", &m) == AV_OK && m == AV_SYNTH_ALL);
    CHECK(av_synth_kinds_parse("hue,angle", &m) == AV_OK && m == ((1u << AV_SYNTH_HUE) | (1u << AV_SYNTH_ANGLE)));
    CHECK(av_synth_kinds_parse("hues", &m) == AV_ERR && strstr(av_last_error(), "unknown kind 'hues'"));
    CHECK(av_synth_kinds_parse("", &m) == AV_ERR);
    char *json = NULL;
    av_synth_params_make(AV_SYNTH_CHECKER, 3, N, 224, 5, &a);
    json = av_synth_params_json(&a, "checker/checker_00003.png");
    char want[128];
    snprintf(want, sizeof want, "{\"file\":\"checker/checker_00003.png\",\"kind\":\"checker\",\"index\":3,\"cells\":%d}", a.cells);
    CHECK_MSG(json && !strcmp(json, want), "%s", json ? json : "(null)");
    free(json);
}

static int count_entries(const char *path) {
    DIR *d = opendir(path);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static void test_write(void) {
    char out[4200], path[4300];
    av_path_join(out, sizeof out, dir, "set");
    av_synth_opts o = {.kinds = AV_SYNTH_ALL, .n = 4, .size = 32, .seed = 9};
    CHECK(av_synth_write(out, &o) == AV_OK);
    CHECK(count_entries(dir) == 1); /* no temporary folder left beside it */
    CHECK(count_entries(out) == 6);

    /* params.jsonl lines up with the dataset the folder loads as */
    av_dataset_t ds;
    CHECK(av_dataset_load(out, NULL, &ds) == AV_OK && ds.count == 20);
    char *params = av_read_file(av_path_join(path, sizeof path, out, "params.jsonl"), NULL);
    CHECK(params != NULL);
    char *line = params;
    for (int64_t i = 0; i < ds.count && line && *line; i++) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = 0;
        char *file = strstr(line, "\"file\":\"") + 8;
        size_t fl = strcspn(file, "\"");
        size_t tl = strlen(ds.items[i].text);
        CHECK(tl > fl && !strncmp(ds.items[i].text + tl - fl, file, fl));
        CHECK(!strncmp(ds.items[i].label, file, strlen(ds.items[i].label)));
        /* the PNG holds exactly what av_synth_render draws */
        av_synth_params p;
        av_synth_params_make((av_synth_kind)(i / 4), (int)(i % 4), 4, 32, 9, &p);
        uint8_t px[32 * 32 * 3];
        av_synth_render(&p, 32, px);
        av_image img;
        CHECK(av_image_load(ds.items[i].text, &img) == AV_OK && img.width == 32 && !memcmp(img.rgb, px, sizeof px));
        av_image_free(&img);
        line = nl ? nl + 1 : NULL;
    }
    free(params);
    av_dataset_free(&ds);

    /* an existing folder is refused and left alone unless force */
    o.seed = 10;
    o.kinds = 1u << AV_SYNTH_HUE;
    CHECK(av_synth_write(out, &o) == AV_ERR && strstr(av_last_error(), "already exists (use --force"));
    CHECK(count_entries(out) == 6);
    o.force = 1;
    CHECK(av_synth_write(out, &o) == AV_OK);
    CHECK(count_entries(out) == 2 && count_entries(dir) == 1);
    /* bad options */
    av_path_join(out, sizeof out, dir, "bad");
    o.n = 0;
    CHECK(av_synth_write(out, &o) == AV_ERR);
    o.n = 2;
    o.size = 4;
    CHECK(av_synth_write(out, &o) == AV_ERR);
    o.size = 16;
    CHECK(av_synth_write("/proc/nope/set", &o) == AV_ERR);
    CHECK(!av_file_exists(out));
}

int main(void) {
    if (!mkdtemp(dir)) { perror("mkdtemp"); return 1; }
    test_hue_colours();
    test_gratings();
    test_params();
    test_write();
    av_rm_rf(dir);
    return av_check_summary("test_dataset_synth");
}
