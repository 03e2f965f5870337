/* test_render_synth.c - the synthetic-image colour modes (hue, brightness, frequency,
 * angle) on a ViT run folder built here over a real `attnviz synth` set: every token's
 * value is its image's parameter from params.jsonl, scaled as viewdata.h says, grey
 * (-1) where the image's kind does not vary it; a run of ordinary images has no such
 * modes; a broken or incomplete params.jsonl is an error naming the file. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "datasets/synth.h"
#include "engine/runfolder.h"
#include "base/util.h"
#include "tests/check.h"
#include "viewer/viewdata.h"
#include "viewer/viewer_internal.h"

#define PER 3  /* tokens per image: class token + 2 patches (no square grid: fine here) */

static void write_text(const char *path, const char *s) { av_write_file_atomic(path, s, strlen(s)); }

/* A ViT run whose items are the given image paths, PER tokens each. */
static void make_vit_run(const char *dir, char **paths, int nimg) {
    char p[4200];
    av_mkdir_p(dir);
    int T = nimg * PER, D = 2;
    cJSON *m = av_manifest_new("vit", "fixture", 1, 1, D, nimg, T, AV_DT_F32);
    float *q = calloc((size_t)T * D, sizeof *q);
    for (int i = 0; i < T * D; i++) q[i] = sinf((float)i);
    int64_t shape[4] = {1, 1, T, D};
    snprintf(p, sizeof p, "%s/q.npy", dir); av_npy_write(p, AV_DT_F32, 4, shape, q);
    snprintf(p, sizeof p, "%s/k.npy", dir); av_npy_write(p, AV_DT_F32, 4, shape, q);
    av_manifest_set_array(m, "q", "q.npy", AV_DT_F32, 4, shape);
    av_manifest_set_array(m, "k", "k.npy", AV_DT_F32, 4, shape);
    free(q);
    int32_t *it = malloc((size_t)T * sizeof *it), *ps = malloc((size_t)T * sizeof *ps);
    for (int t = 0; t < T; t++) { it[t] = t / PER; ps[t] = t % PER; }
    int64_t tshape[1] = {T};
    snprintf(p, sizeof p, "%s/token_item.npy", dir); av_npy_write(p, AV_DT_I32, 1, tshape, it);
    snprintf(p, sizeof p, "%s/token_pos.npy", dir); av_npy_write(p, AV_DT_I32, 1, tshape, ps);
    av_manifest_set_array(m, "token_item", "token_item.npy", AV_DT_I32, 1, tshape);
    av_manifest_set_array(m, "token_pos", "token_pos.npy", AV_DT_I32, 1, tshape);
    free(it);
    free(ps);
    size_t cap = 65536;
    char *buf = calloc(cap, 1);
    for (int t = 0; t < T; t++)
        snprintf(buf + strlen(buf), cap - strlen(buf), "{\"text\": \"%s\"}\n", t % PER ? "patch" : "[CLS]");
    snprintf(p, sizeof p, "%s/tokens.jsonl", dir); write_text(p, buf);
    buf[0] = 0;
    for (int i = 0; i < nimg; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "text", paths[i]);
        char *s = cJSON_PrintUnformatted(o);
        snprintf(buf + strlen(buf), cap - strlen(buf), "%s\n", s);
        free(s);
        cJSON_Delete(o);
    }
    snprintf(p, sizeof p, "%s/items.jsonl", dir); write_text(p, buf);
    free(buf);
    av_manifest_write(dir, m);
    cJSON_Delete(m);
}

static int fails_naming(const char *dir, const char *want) {
    av_vdata vd;
    if (av_vdata_open(dir, &vd) == AV_OK) { av_vdata_close(&vd); fprintf(stderr, "opened %s\n", dir); return 0; }
    if (!strstr(av_last_error(), want)) { fprintf(stderr, "error '%s' lacks '%s'\n", av_last_error(), want); return 0; }
    return 1;
}

int main(void) {
    char tmpl[] = "/tmp/av_test_render_synth.XXXXXX";
    char *root = mkdtemp(tmpl);
    if (!root) { perror("mkdtemp"); return 1; }
    char sdir[4200], rdir[4200], p[4400];
    snprintf(sdir, sizeof sdir, "%s/synth", root);
    av_synth_opts so = {0};
    so.kinds = (1u << AV_SYNTH_HUE) | (1u << AV_SYNTH_BRIGHTNESS) | (1u << AV_SYNTH_FREQUENCY) | (1u << AV_SYNTH_ANGLE) |
               (1u << AV_SYNTH_CHECKER);
    so.n = 3;
    so.size = 16;
    so.seed = 11;
    CHECK(av_synth_write(sdir, &so) == AV_OK);

    /* the images in the order files sort in, as av_dataset_load lists them */
    enum { N = 15 };
    static const av_synth_kind order[5] = {AV_SYNTH_ANGLE, AV_SYNTH_BRIGHTNESS, AV_SYNTH_CHECKER, AV_SYNTH_FREQUENCY,
                                           AV_SYNTH_HUE};
    char *paths[N];
    av_synth_params prm[N];
    for (int i = 0; i < N; i++) {
        av_synth_kind k = order[i / 3];
        av_synth_params_make(k, i % 3, 3, 16, 11, &prm[i]);
        char buf[4400];
        snprintf(buf, sizeof buf, "%s/%s/%s_%05d.png", sdir, av_synth_kind_name(k), av_synth_kind_name(k), i % 3);
        paths[i] = strdup(buf);
        CHECK(av_file_exists(buf));
    }
    snprintf(rdir, sizeof rdir, "%s/run", root);
    make_vit_run(rdir, paths, N);
    av_vdata vd;
    CHECK(av_vdata_open(rdir, &vd) == AV_OK);
    CHECK(vd.synth != NULL);
    float attr[N * PER];
    CHECK(av_vdata_token_attr(&vd, AV_COLOR_HUE, attr) == AV_OK);
    for (int t = 0; t < N * PER; t++) {
        int i = t / PER;
        if (prm[i].kind == AV_SYNTH_HUE) CHECK_NEAR(attr[t], prm[i].hue / 360, 1e-6);
        else if (prm[i].kind != AV_SYNTH_HUE && prm[i].kind != AV_SYNTH_BRIGHTNESS) CHECK(attr[t] == -1.0f);
    }
    CHECK(av_vdata_token_attr(&vd, AV_COLOR_ANGLE, attr) == AV_OK);
    for (int t = 0; t < N * PER; t++) {
        int i = t / PER;
        if (prm[i].kind == AV_SYNTH_ANGLE || prm[i].kind == AV_SYNTH_FREQUENCY) CHECK_NEAR(attr[t], prm[i].angle / 180, 1e-6);
        else CHECK(attr[t] == -1.0f);
    }
    CHECK(av_vdata_token_attr(&vd, AV_COLOR_BRIGHTNESS, attr) == AV_OK);
    for (int t = 0; t < N * PER; t++)
        if (prm[t / PER].kind == AV_SYNTH_BRIGHTNESS) CHECK_NEAR(attr[t], prm[t / PER].brightness, 1e-6);
    /* frequency: log-scaled between the run's lowest and highest */
    CHECK(av_vdata_token_attr(&vd, AV_COLOR_FREQUENCY, attr) == AV_OK);
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < N; i++)
        if (prm[i].kind == AV_SYNTH_FREQUENCY || prm[i].kind == AV_SYNTH_ANGLE) {
            if (prm[i].frequency < lo) lo = prm[i].frequency;
            if (prm[i].frequency > hi) hi = prm[i].frequency;
        }
    CHECK(hi > lo);
    for (int t = 0; t < N * PER; t++) {
        int i = t / PER;
        if (prm[i].kind == AV_SYNTH_FREQUENCY) CHECK_NEAR(attr[t], log(prm[i].frequency / lo) / log(hi / lo), 1e-5);
        if (prm[i].kind == AV_SYNTH_HUE) CHECK(attr[t] == -1.0f);
    }
    /* checkerboards: squares per side, log-scaled the same way; grey for the other kinds */
    CHECK(av_vdata_token_attr(&vd, AV_COLOR_CELLS, attr) == AV_OK);
    lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < N; i++)
        if (prm[i].kind == AV_SYNTH_CHECKER) {
            if (prm[i].cells < lo) lo = prm[i].cells;
            if (prm[i].cells > hi) hi = prm[i].cells;
        }
    CHECK(hi > lo);
    for (int t = 0; t < N * PER; t++) {
        int i = t / PER;
        if (prm[i].kind == AV_SYNTH_CHECKER) CHECK_NEAR(attr[t], log(prm[i].cells / lo) / log(hi / lo), 1e-5);
        else CHECK(attr[t] == -1.0f);
    }
    char lo_s[32], hi_s[32], none_s[48];
    av_vdata_attr_scale(&vd, AV_COLOR_CELLS, lo_s, hi_s, none_s);
    CHECK_MSG(strstr(lo_s, "squares/side") && !strcmp(none_s, "grey: no cells (other probes)"), "cells legend '%s' '%s' '%s'",
              lo_s, hi_s, none_s);
    av_color_mode mm;
    CHECK(av_color_parse("cells", &mm) == AV_OK && mm == AV_COLOR_CELLS);
    CHECK(av_color_parse("frequency", &mm) == AV_OK && mm == AV_COLOR_FREQUENCY);
    CHECK(!av_color_categorical(AV_COLOR_HUE));
    /* hue and angle wrap around: drawn with a hue wheel (red, green, blue at 0, 1/3, 2/3) */
    CHECK(av_color_cyclic(AV_COLOR_HUE) && av_color_cyclic(AV_COLOR_ANGLE) && !av_color_cyclic(AV_COLOR_BRIGHTNESS));
    av_rgba r0 = av_colorwheel(0), g = av_colorwheel(1.0f / 3), b = av_colorwheel(2.0f / 3), r1 = av_colorwheel(0.999f);
    CHECK(r0.r > 0.8f && r0.g < 0.1f && r0.b < 0.1f);
    CHECK(g.g > 0.8f && g.r < 0.1f && g.b < 0.1f);
    CHECK(b.b > 0.8f && b.r < 0.1f && b.g < 0.1f);
    CHECK(r1.r > 0.8f && r1.g < 0.1f);
    av_vdata_close(&vd);

    /* images not from a synth folder: the modes say what they need */
    char other[4200];
    snprintf(other, sizeof other, "%s/plain", root);
    char *plain[N];
    for (int i = 0; i < N; i++) {
        char buf[4400];
        snprintf(buf, sizeof buf, "%s/img/x%02d.png", root, i);
        plain[i] = strdup(buf);
    }
    make_vit_run(other, plain, N);
    CHECK(av_vdata_open(other, &vd) == AV_OK);
    CHECK(vd.synth == NULL);
    CHECK(av_vdata_token_attr(&vd, AV_COLOR_HUE, attr) == AV_ERR && strstr(av_last_error(), "attnviz synth"));
    av_vdata_close(&vd);

    /* a params.jsonl missing one of the run's images, then a broken line */
    snprintf(p, sizeof p, "%s/params.jsonl", sdir);
    size_t n;
    char *full = av_read_file(p, &n);
    CHECK(full != NULL);
    char *last = full ? strstr(full, "{\"file\":\"hue/hue_00002.png\"") : NULL;
    CHECK(last != NULL);
    if (last) {
        *last = 0;
        write_text(p, full);
        CHECK(fails_naming(rdir, "params.jsonl: has no line for"));
        char broken[8192];
        snprintf(broken, sizeof broken, "%s{\"kind\": 3}\n", full);
        write_text(p, broken);
        CHECK(fails_naming(rdir, "params.jsonl:15: not a JSON object")); /* line N of N images */
    }
    free(full);
    for (int i = 0; i < N; i++) { free(paths[i]); free(plain[i]); }
    av_rm_rf(root);
    return av_check_summary("test_render_synth");
}
