/* test_gqa_run.c - run folders of grouped-query attention models (k.npy [L, Hkv, T, d],
 * manifest "num_kv_heads") through everything downstream of extract: the same run
 * written twice, once with 2 key heads for 6 query heads and once with each key head
 * repeated for its 3 query heads (an ordinary run), must give the same per-head keys
 * (av_run_head_k), statistics, PCA projection, value norms and viewer attention, since
 * query head h attends with key head h / 3. A "llama" run is causal. Also the manifest
 * faults: num_kv_heads that does not divide num_heads, a k.npy of the wrong head count. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "base/npy.h"
#include "base/util.h"
#include "engine/projectrun.h"
#include "engine/runfolder.h"
#include "engine/stats.h"
#include "tests/check.h"
#include "viewer/viewdata.h"

enum { L = 2, H = 6, HKV = 2, G = H / HKV, D = 8, NI = 3, T = 17 };
static const int lens[NI] = {5, 9, 3};

static float qval(int l, int h, int t, int c) { return sinf(0.37f * t + 1.1f * c + 0.5f * h + 2.0f * l); }
static float kval(int l, int g, int t, int c) { return 1.5f * cosf(0.23f * t - 0.7f * c + 1.3f * g + l); }

static void write_text(const char *dir, const char *name, const char *s) {
    char p[700];
    av_write_file_atomic(av_path_join(p, sizeof p, dir, name), s, strlen(s));
}

/* kv = HKV: the grouped run; kv = H: every query head with its own copy of its keys. */
static void make_run(const char *dir, int kv, int num_kv_key) {
    char p[700];
    av_mkdir_p(dir);
    float *q = malloc(sizeof(float) * L * H * T * D), *k = malloc(sizeof(float) * L * kv * T * D);
    float *vn = malloc(sizeof(float) * L * H * T);
    for (int l = 0; l < L; l++)
        for (int t = 0; t < T; t++) {
            for (int h = 0; h < H; h++) {
                for (int c = 0; c < D; c++) q[((l * H + h) * T + t) * D + c] = qval(l, h, t, c);
                vn[(l * H + h) * T + t] = 1.0f + 0.1f * (float)((t + h / G) % 5);
            }
            for (int g = 0; g < kv; g++)
                for (int c = 0; c < D; c++) k[((l * kv + g) * T + t) * D + c] = kval(l, kv == H ? g / G : g, t, c);
        }
    int32_t item[T], pos[T];
    for (int i = 0, t = 0; i < NI; i++)
        for (int j = 0; j < lens[i]; j++, t++) item[t] = i, pos[t] = j;
    int64_t qs[4] = {L, H, T, D}, ks[4] = {L, kv, T, D}, vs[3] = {L, H, T}, ts[1] = {T};
    av_npy_write(av_path_join(p, sizeof p, dir, "q.npy"), AV_DT_F32, 4, qs, q);
    av_npy_write(av_path_join(p, sizeof p, dir, "k.npy"), AV_DT_F32, 4, ks, k);
    av_npy_write(av_path_join(p, sizeof p, dir, "v_norm.npy"), AV_DT_F32, 3, vs, vn);
    av_npy_write(av_path_join(p, sizeof p, dir, "token_item.npy"), AV_DT_I32, 1, ts, item);
    av_npy_write(av_path_join(p, sizeof p, dir, "token_pos.npy"), AV_DT_I32, 1, ts, pos);
    char tokens[4096] = "";
    for (int t = 0; t < T; t++)
        snprintf(tokens + strlen(tokens), sizeof tokens - strlen(tokens), "{\"text\": \"\\u0120w%d\", \"item\": %d, \"pos\": %d}\n",
                 t, item[t], pos[t]);
    write_text(dir, "tokens.jsonl", tokens);
    write_text(dir, "items.jsonl", "{\"text\": \"a\"}\n{\"text\": \"b\"}\n{\"text\": \"c\"}\n");
    cJSON *m = av_manifest_new("llama", "synthetic", L, H, D, NI, T, AV_DT_F32);
    if (num_kv_key) cJSON_AddNumberToObject(m, "num_kv_heads", num_kv_key);
    cJSON_AddStringToObject(m, "qk_rope", "post");
    av_manifest_set_array(m, "q", "q.npy", AV_DT_F32, 4, qs);
    av_manifest_set_array(m, "k", "k.npy", AV_DT_F32, 4, ks);
    av_manifest_set_array(m, "v_norm", "v_norm.npy", AV_DT_F32, 3, vs);
    av_manifest_set_array(m, "token_item", "token_item.npy", AV_DT_I32, 1, ts);
    av_manifest_set_array(m, "token_pos", "token_pos.npy", AV_DT_I32, 1, ts);
    av_manifest_write(dir, m);
    cJSON_Delete(m);
    free(q);
    free(k);
    free(vn);
}

static void test_keys(av_run *g, av_run *e) {
    CHECK(g->num_kv_heads == HKV && e->num_kv_heads == H);
    float a[T * D], b[T * D];
    for (int l = 0; l < L; l++)
        for (int h = 0; h < H; h++) {
            CHECK(av_run_kv_head(g, h) == h / G && av_run_kv_head(e, h) == h);
            CHECK(av_run_head_k(g, l, h, a) == AV_OK && av_run_head_k(e, l, h, b) == AV_OK);
            CHECK_MSG(!memcmp(a, b, sizeof a), "layer %d head %d: keys differ", l, h);
        }
    CHECK(av_run_head_k(g, 0, H, a) == AV_ERR);
    CHECK(av_model_type_causal("llama") && av_model_type_causal("qwen3") && av_model_type_causal("gpt2") &&
          !av_model_type_causal("bert") && !av_model_type_causal("vit"));
}

static void test_stats(av_run *g, av_run *e) {
    int *heads, count;
    CHECK(av_stats_parse_heads("all", L, H, &heads, &count) == AV_OK && count == L * H);
    av_head_stats sg[L * H], se[L * H];
    CHECK_MSG(av_stats_compute(g, heads, count, sg) == AV_OK, "%s", av_last_error());
    CHECK_MSG(av_stats_compute(e, heads, count, se) == AV_OK, "%s", av_last_error());
    for (int i = 0; i < count; i++) {
        CHECK_MSG(!memcmp(&sg[i], &se[i], sizeof sg[i]), "stats of head %d:%d differ", heads[2 * i], heads[2 * i + 1]);
        /* causal: the first token of an item can only look at itself */
        CHECK(sg[i].attn_first > 0 && sg[i].v_norm > 1.0);
    }
    free(heads);
}

static void test_projection(av_run *g, av_run *e) {
    av_project_opts o;
    av_project_defaults(&o);
    o.method = AV_PROJ_PCA;
    o.dim = 2;
    o.device = AV_DEVICE_CPU;
    CHECK_MSG(av_project_run(g, &o) == AV_OK, "%s", av_last_error());
    CHECK_MSG(av_project_run(e, &o) == AV_OK, "%s", av_last_error());
    char pg[4200], pe[4200];
    av_npy a, b;
    CHECK(av_npy_open(av_run_path(g, pg, sizeof pg, "proj/pca-2d.npy"), &a) == AV_OK);
    CHECK(av_npy_open(av_run_path(e, pe, sizeof pe, "proj/pca-2d.npy"), &b) == AV_OK);
    CHECK(a.count == (int64_t)L * H * 2 * T * 2 && a.count == b.count);
    CHECK_MSG(!memcmp(a.data, b.data, (size_t)a.count * sizeof(float)), "PCA projections differ");
    av_npy_close(&a);
    av_npy_close(&b);
}

static void test_viewer(const char *gdir, const char *edir) {
    av_vdata vg, ve;
    CHECK_MSG(av_vdata_open(gdir, &vg) == AV_OK, "%s", av_last_error());
    CHECK_MSG(av_vdata_open(edir, &ve) == AV_OK, "%s", av_last_error());
    CHECK(vg.is_decoder);
    for (int h = 0; h < H; h++) {
        float *A, *B;
        int64_t na, nb;
        CHECK(av_vdata_attention(&vg, 1, h, 1, 0, 1, &A, &na) == AV_OK);
        CHECK(av_vdata_attention(&ve, 1, h, 1, 0, 1, &B, &nb) == AV_OK);
        CHECK(na == lens[1] && na == nb && !memcmp(A, B, sizeof(float) * (size_t)(na * na)));
        CHECK(A[1] == 0.0f); /* causal: token 0 does not see token 1 */
        free(A);
        free(B);
    }
    const float *ng = av_vdata_norms(&vg), *ne = av_vdata_norms(&ve);
    CHECK(ng && ne && !memcmp(ng, ne, sizeof(float) * L * H * 2 * T));
    av_vdata_close(&vg);
    av_vdata_close(&ve);
}

static void test_faults(const char *tmp) {
    char dir[600];
    av_run r;
    snprintf(dir, sizeof dir, "%s/bad-kv", tmp);
    make_run(dir, HKV, 4);
    CHECK(av_run_open(dir, &r) == AV_ERR);
    CHECK(strstr(av_last_error(), "num_kv_heads 4 does not divide num_heads 6") != NULL);
    snprintf(dir, sizeof dir, "%s/bad-k", tmp);
    make_run(dir, HKV, 0); /* k.npy holds 2 heads, the manifest (no num_kv_heads) means 6 */
    CHECK(av_run_open(dir, &r) == AV_ERR);
    CHECK(strstr(av_last_error(), "k.npy: shape [2,2,17,8]") != NULL);
}

int main(void) {
    char tmp[] = "/tmp/attnviz_test_gqa.XXXXXX", gdir[600], edir[600];
    if (!mkdtemp(tmp)) return 1;
    snprintf(gdir, sizeof gdir, "%s/grouped", tmp);
    snprintf(edir, sizeof edir, "%s/expanded", tmp);
    make_run(gdir, HKV, HKV);
    make_run(edir, H, 0);
    av_run g, e;
    CHECK_MSG(av_run_open(gdir, &g) == AV_OK, "%s", av_last_error());
    CHECK_MSG(av_run_open(edir, &e) == AV_OK, "%s", av_last_error());
    test_keys(&g, &e);
    test_stats(&g, &e);
    test_projection(&g, &e);
    av_run_close(&g);
    av_run_close(&e);
    test_viewer(gdir, edir);
    test_faults(tmp);
    av_rm_rf(tmp);
    return av_check_summary("test_gqa_run");
}
