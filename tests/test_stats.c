/* test_stats.c - head statistics (engine/stats.h).
 *  - against an independent NumPy/SciPy implementation on three tiny runs (BERT with
 *    v norms, causal GPT-2 stored as f16, ViT with a patch grid): every statistic to 1e-4
 *    (tests/fixtures/stats/make_stats_fixtures.py)
 *  - on a synthetic run whose attention is known: a previous-token head, a first-token
 *    head and a self head
 *  - refusals: NaN/Inf in k (head and count named), fewer than 4 tokens, tokens not
 *    grouped by item, --heads naming a head that does not exist */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "engine/stats.h"
#include "base/util.h"
#include "tests/check.h"

#define FIX AV_SOURCE_DIR "/tests/fixtures/stats/"

static const char *fields[] = {"q_norm", "k_norm", "qk_norm_ratio", "dist_corr", "dist_corr_queries",
                               "attn_first", "attn_self", "attn_prev", "attn_dist", "attn_dist_patch",
                               "qk_cos", "qk_cka", "entropy", "v_norm"};

static void compare_with_numpy(const char *name) {
    char dir[512], path[600];
    snprintf(dir, sizeof dir, FIX "%s", name);
    snprintf(path, sizeof path, "%s/expected_stats.json", dir);
    cJSON *exp = av_json_read(path);
    av_run r;
    CHECK_MSG(exp && av_run_open(dir, &r) == AV_OK, "%s: %s", name, av_last_error());
    if (!exp) return;
    int *heads, count;
    CHECK(av_stats_parse_heads("all", r.num_layers, r.num_heads, &heads, &count) == AV_OK);
    av_head_stats *st = calloc((size_t)count, sizeof *st);
    CHECK_MSG(av_stats_compute(&r, heads, count, st) == AV_OK, "%s", av_last_error());
    cJSON *got = av_stats_json(&r, st, count);
    const cJSON *eh = cJSON_GetObjectItem(exp, "heads"), *gh = cJSON_GetObjectItem(got, "heads");
    CHECK(cJSON_GetArraySize(eh) == count && cJSON_GetArraySize(gh) == count);
    double worst = 0;
    for (int i = 0; i < count && i < cJSON_GetArraySize(eh); i++) {
        const cJSON *e = cJSON_GetArrayItem(eh, i), *g = cJSON_GetArrayItem(gh, i);
        CHECK(cJSON_GetObjectItem(e, "layer")->valueint == cJSON_GetObjectItem(g, "layer")->valueint);
        CHECK(cJSON_GetObjectItem(e, "head")->valueint == cJSON_GetObjectItem(g, "head")->valueint);
        for (size_t f = 0; f < sizeof fields / sizeof *fields; f++) {
            const cJSON *ev = cJSON_GetObjectItem(e, fields[f]), *gv = cJSON_GetObjectItem(g, fields[f]);
            CHECK_MSG(ev && gv, "%s: %s missing", name, fields[f]);
            if (!ev || !gv) continue;
            if (cJSON_IsNull(ev)) { CHECK_MSG(cJSON_IsNull(gv), "%s head %d: %s should be null", name, i, fields[f]); continue; }
            CHECK_MSG(cJSON_IsNumber(gv) && fabs(gv->valuedouble - ev->valuedouble) <= 1e-4,
                      "%s head %d: %s = %g, NumPy %g", name, i, fields[f], gv->valuedouble, ev->valuedouble);
            if (cJSON_IsNumber(gv)) worst = fmax(worst, fabs(gv->valuedouble - ev->valuedouble));
        }
    }
    printf("%s: %d heads, largest difference from NumPy %.2e\n", name, count, worst);
    cJSON_Delete(got);
    cJSON_Delete(exp);
    free(heads);
    free(st);
    av_run_close(&r);
}

/* Writes a bert-type run with the given q/k [L=1, H, T, d] and item lengths. */
static int write_run(const char *dir, const char *model_type, int H, int d, const int *len, int nitems,
                     const float *q, const float *k) {
    int64_t T = 0;
    for (int i = 0; i < nitems; i++) T += len[i];
    int32_t *item = malloc((size_t)T * sizeof(int32_t)), *pos = malloc((size_t)T * sizeof(int32_t));
    for (int i = 0, t = 0; i < nitems; i++)
        for (int p = 0; p < len[i]; p++, t++) { item[t] = i; pos[t] = p; }
    char path[600];
    int64_t shape[4] = {1, H, T, d};
    av_mkdir_p(dir);
    int rc = av_npy_write(av_path_join(path, sizeof path, dir, "q.npy"), AV_DT_F32, 4, shape, q) ||
             av_npy_write(av_path_join(path, sizeof path, dir, "k.npy"), AV_DT_F32, 4, shape, k) ||
             av_npy_write(av_path_join(path, sizeof path, dir, "token_item.npy"), AV_DT_I32, 1, &T, item) ||
             av_npy_write(av_path_join(path, sizeof path, dir, "token_pos.npy"), AV_DT_I32, 1, &T, pos);
    cJSON *m = av_manifest_new(model_type, "synthetic", 1, H, d, nitems, T, AV_DT_F32);
    av_manifest_set_array(m, "q", "q.npy", AV_DT_F32, 4, shape);
    av_manifest_set_array(m, "k", "k.npy", AV_DT_F32, 4, shape);
    av_manifest_set_array(m, "token_item", "token_item.npy", AV_DT_I32, 1, &T);
    av_manifest_set_array(m, "token_pos", "token_pos.npy", AV_DT_I32, 1, &T);
    rc = rc || av_manifest_write(dir, m);
    cJSON_Delete(m);
    free(item);
    free(pos);
    return rc;
}

/* Heads whose attention is set by construction, with one-hot positional keys
 * k_j = e_pos(j) and logits 50/sqrt(16) = 12.5 on the wanted key:
 *   head 0 attends to the previous token (the first token of an item to itself),
 *   head 1 attends to the item's first token, head 2 to the token itself. */
static void test_synthetic(const char *tmp) {
    enum { H = 3, d = 16, NI = 4 };
    int len[NI] = {6, 10, 3, 12};
    int T = 31;
    float *q = calloc((size_t)H * T * d, sizeof(float)), *k = calloc((size_t)H * T * d, sizeof(float));
    double want_dist_prev = 0, want_dist_first = 0;
    for (int i = 0, t = 0; i < NI; i++)
        for (int p = 0; p < len[i]; p++, t++) {
            for (int h = 0; h < H; h++) k[((int64_t)h * T + t) * d + p] = 1.0f;
            q[((int64_t)0 * T + t) * d + (p > 0 ? p - 1 : 0)] = 50.0f;
            q[((int64_t)1 * T + t) * d + 0] = 50.0f;
            q[((int64_t)2 * T + t) * d + p] = 50.0f;
            want_dist_prev += p > 0 ? 1 : 0;
            want_dist_first += p;
        }
    char dir[600];
    snprintf(dir, sizeof dir, "%s/synthetic", tmp);
    CHECK(write_run(dir, "bert", H, d, len, NI, q, k) == AV_OK);
    av_run r;
    CHECK_MSG(av_run_open(dir, &r) == AV_OK, "%s", av_last_error());
    int *heads, count;
    CHECK(av_stats_parse_heads("all", 1, H, &heads, &count) == AV_OK && count == H);
    av_head_stats st[H];
    CHECK_MSG(av_stats_compute(&r, heads, count, st) == AV_OK, "%s", av_last_error());
    /* previous-token head */
    CHECK_NEAR(st[0].attn_prev, 1.0, 1e-3);
    CHECK_NEAR(st[0].attn_dist, want_dist_prev / T, 1e-3);
    CHECK(st[0].attn_self < 0.2);
    CHECK(st[0].entropy < 0.01);
    /* first-token head */
    CHECK_NEAR(st[1].attn_first, 1.0, 1e-3);
    CHECK_NEAR(st[1].attn_dist, want_dist_first / T, 5e-3);
    /* self head */
    CHECK_NEAR(st[2].attn_self, 1.0, 1e-3);
    CHECK_NEAR(st[2].attn_dist, 0.0, 1e-3);
    CHECK(isnan(st[2].attn_dist_patch) && isnan(st[2].v_norm));
    for (int h = 0; h < H; h++) CHECK(st[h].dist_corr_queries > 0 && st[h].dist_corr < 0);

    /* |v| under the older array name v_norm: head h has |v| = h + 1 everywhere */
    float vn[H * 31];
    for (int i = 0; i < H * T; i++) vn[i] = (float)(i / T + 1);
    int64_t vshape[3] = {1, H, T};
    char vpath[700];
    CHECK(av_npy_write(av_path_join(vpath, sizeof vpath, dir, "vn.npy"), AV_DT_F32, 3, vshape, vn) == AV_OK);
    av_manifest_set_array(r.manifest, "v_norm", "vn.npy", AV_DT_F32, 3, vshape);
    CHECK_MSG(av_stats_compute(&r, heads, count, st) == AV_OK, "%s", av_last_error());
    for (int h = 0; h < H; h++) CHECK_NEAR(st[h].v_norm, h + 1, 1e-6);
    free(heads);
    av_run_close(&r);

    /* tokens that are not grouped by item are refused */
    char path[700];
    int32_t bad_item[31];
    for (int t = 0; t < T; t++) bad_item[t] = t % NI;
    int64_t T64 = T;
    CHECK(av_npy_write(av_path_join(path, sizeof path, dir, "token_item.npy"), AV_DT_I32, 1, &T64, bad_item) == AV_OK);
    CHECK(av_run_open(dir, &r) == AV_OK);
    int one[2] = {0, 0};
    CHECK(av_stats_compute(&r, one, 1, st) == AV_ERR && strstr(av_last_error(), "not grouped by item"));
    av_run_close(&r);
    free(q);
    free(k);
}

static void test_refusals(void) {
    av_run r;
    int all[12], count;
    int *heads;
    av_head_stats st[6];
    CHECK(av_run_open(FIX "bad_nan", &r) == AV_OK);
    for (int i = 0; i < 6; i++) { all[2 * i] = i / 3; all[2 * i + 1] = i % 3; }
    CHECK(av_stats_compute(&r, all, 6, st) == AV_ERR);
    const char *e = av_last_error();
    CHECK_MSG(strstr(e, "k.npy") && strstr(e, "head 1:2") && strstr(e, "3 non-finite"), "%s", e);
    /* the other heads alone are fine */
    CHECK(av_stats_compute(&r, all, 5, st) == AV_OK);
    av_run_close(&r);

    CHECK(av_run_open(FIX "bad_three", &r) == AV_OK);
    CHECK(av_stats_compute(&r, all, 1, st) == AV_ERR && strstr(av_last_error(), "at least 4"));
    av_run_close(&r);

    CHECK(av_stats_parse_heads("1:2,0:0,1:2", 2, 3, &heads, &count) == AV_OK && count == 2);
    CHECK(heads[0] == 1 && heads[1] == 2 && heads[2] == 0 && heads[3] == 0);
    free(heads);
    CHECK(av_stats_parse_heads("2:0", 2, 3, &heads, &count) == AV_ERR && strstr(av_last_error(), "no head 2:0"));
    CHECK(av_stats_parse_heads("0:3", 2, 3, &heads, &count) == AV_ERR);
    CHECK(av_stats_parse_heads("0-1", 2, 3, &heads, &count) == AV_ERR && strstr(av_last_error(), "layer:head"));
    CHECK(av_stats_parse_heads("0:1,", 2, 3, &heads, &count) == AV_ERR);
    CHECK(av_stats_parse_heads("", 2, 3, &heads, &count) == AV_ERR);
}

int main(void) {
    compare_with_numpy("tiny_bert");
    compare_with_numpy("tiny_gpt2");
    compare_with_numpy("tiny_vit");
    char tmp[] = "/tmp/test_stats.XXXXXX";
    CHECK(mkdtemp(tmp) != NULL);
    test_synthetic(tmp);
    av_rm_rf(tmp);
    test_refusals();
    return av_check_summary("test_stats");
}
