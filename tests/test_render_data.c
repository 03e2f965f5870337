/* test_render_data.c - the viewer's CPU side on run folders built here: attention
 * recomputed from q/k (GPT-2 causal mask, first token hidden with renormalisation,
 * value-norm weighting, f16 storage), token search with word-piece / byte-level
 * markers, projection discovery, and bad input named by file (a projection whose
 * shape does not match, a broken tokens.jsonl line, non-contiguous items, a broken
 * stats.json). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "engine/runfolder.h"
#include "base/dtype.h"
#include "base/util.h"
#include "tests/check.h"
#include "viewer/viewdata.h"

#define NT 7   /* tokens: item 0 = 3 tokens, item 1 = 4 tokens */
#define D 4

static const char *texts[NT] = {"Hello", "\xc4\xa0world", ",", "The", "\xc4\xa0world", "\xc4\xa0is", "<|endoftext|>"};
static const int items[NT] = {0, 0, 0, 1, 1, 1, 1}, poss[NT] = {0, 1, 2, 0, 1, 2, 3};

static float qv(int t, int c) { return sinf(1.3f * t + 0.7f * c) * 2.0f; }
static float kv(int t, int c) { return cosf(0.9f * t - 0.4f * c) * 1.5f; }
static float vn(int t) { return 0.5f + 0.25f * t; }

static void write_text(const char *path, const char *s) { av_write_file_atomic(path, s, strlen(s)); }

/* Writes a GPT-2 run (q/k stored as f16) with a 2-D projection of the given point count. */
static void make_run(const char *dir, int64_t proj_points, const char *tokens_override, const int *item_override) {
    char p[4200];
    av_mkdir_p(dir);
    snprintf(p, sizeof p, "%s/proj", dir);
    av_mkdir_p(p);
    cJSON *m = av_manifest_new("gpt2", "fixture", 1, 1, D, 2, NT, AV_DT_F16);
    uint16_t q[NT * D], k[NT * D];
    for (int t = 0; t < NT; t++)
        for (int c = 0; c < D; c++) { q[t * D + c] = av_f32_to_f16(qv(t, c)); k[t * D + c] = av_f32_to_f16(kv(t, c)); }
    int64_t shape[4] = {1, 1, NT, D};
    snprintf(p, sizeof p, "%s/q.npy", dir); av_npy_write(p, AV_DT_F16, 4, shape, q);
    snprintf(p, sizeof p, "%s/k.npy", dir); av_npy_write(p, AV_DT_F16, 4, shape, k);
    av_manifest_set_array(m, "q", "q.npy", AV_DT_F16, 4, shape);
    av_manifest_set_array(m, "k", "k.npy", AV_DT_F16, 4, shape);
    int32_t it[NT], ps[NT];
    for (int t = 0; t < NT; t++) { it[t] = item_override ? item_override[t] : items[t]; ps[t] = poss[t]; }
    int64_t tshape[1] = {NT};
    snprintf(p, sizeof p, "%s/token_item.npy", dir); av_npy_write(p, AV_DT_I32, 1, tshape, it);
    snprintf(p, sizeof p, "%s/token_pos.npy", dir); av_npy_write(p, AV_DT_I32, 1, tshape, ps);
    av_manifest_set_array(m, "token_item", "token_item.npy", AV_DT_I32, 1, tshape);
    av_manifest_set_array(m, "token_pos", "token_pos.npy", AV_DT_I32, 1, tshape);
    float v[NT];
    for (int t = 0; t < NT; t++) v[t] = vn(t);
    int64_t vshape[3] = {1, 1, NT};
    snprintf(p, sizeof p, "%s/vnorm.npy", dir); av_npy_write(p, AV_DT_F32, 3, vshape, v);
    av_manifest_set_array(m, "vnorm", "vnorm.npy", AV_DT_F32, 3, vshape);
    char buf[2048] = "";
    if (tokens_override) {
        snprintf(buf, sizeof buf, "%s", tokens_override);
    } else {
        for (int t = 0; t < NT; t++) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "text", texts[t]);
            char *s = cJSON_PrintUnformatted(o);
            snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s\n", s);
            free(s);
            cJSON_Delete(o);
        }
    }
    snprintf(p, sizeof p, "%s/tokens.jsonl", dir); write_text(p, buf);
    snprintf(p, sizeof p, "%s/items.jsonl", dir);
    write_text(p, "{\"text\": \"Hello world,\"}\n\"The world is\"\n");
    float *pts = calloc((size_t)proj_points * 2, sizeof(float));
    for (int64_t i = 0; i < proj_points * 2; i++) pts[i] = (float)i;
    int64_t pshape[4] = {1, 1, proj_points, 2};
    snprintf(p, sizeof p, "%s/proj/tsne-2d.npy", dir); av_npy_write(p, AV_DT_F32, 4, pshape, pts);
    snprintf(p, sizeof p, "%s/proj/notes.npy", dir); av_npy_write(p, AV_DT_F32, 4, pshape, pts);
    free(pts);
    av_manifest_write(dir, m);
    cJSON_Delete(m);
}

/* softmax(q k^T / sqrt(d)) with the causal mask, from the f16-rounded vectors. */
static void reference(int64_t t0, int n, double *A) {
    for (int i = 0; i < n; i++) {
        double row[8], mx = -1e300, s = 0;
        for (int j = 0; j <= i; j++) {
            double dot = 0;
            for (int c = 0; c < D; c++)
                dot += (double)av_f16_to_f32(av_f32_to_f16(qv((int)t0 + i, c))) * av_f16_to_f32(av_f32_to_f16(kv((int)t0 + j, c)));
            row[j] = dot / sqrt((double)D);
            if (row[j] > mx) mx = row[j];
        }
        for (int j = 0; j < n; j++) A[i * n + j] = j <= i ? exp(row[j] - mx) : 0;
        for (int j = 0; j < n; j++) s += A[i * n + j];
        for (int j = 0; j < n; j++) A[i * n + j] /= s;
    }
}

static void test_attention(const char *dir) {
    av_vdata vd;
    CHECK(av_vdata_open(dir, &vd) == AV_OK);
    CHECK(vd.is_decoder && vd.has_vnorm && vd.nproj == 1);  /* notes.npy is not a projection */
    /* tokens.jsonl has no "label" (an older run): GPT-2's spelling is decoded for the views */
    CHECK(!strcmp(vd.tok_text[1], "\xc4\xa0world") && !strcmp(vd.tok_label[1], "\xe2\x90\xa3world"));
    CHECK(!strcmp(vd.tok_label[0], "Hello") && !strcmp(vd.tok_label[6], "<|endoftext|>"));
    CHECK(av_vdata_find_proj(&vd, "tsne", 2) == 0 && av_vdata_find_proj(&vd, "umap", 0) == -1);
    CHECK(av_vdata_load_proj(&vd, 0) == AV_OK);
    float *A = NULL;
    int64_t n = 0;
    double ref[16];
    CHECK(av_vdata_attention(&vd, 0, 0, 1, 0, 0, &A, &n) == AV_OK);
    CHECK(n == 4);
    reference(3, 4, ref);
    for (int i = 0; i < 16 && A; i++) CHECK_NEAR(A[i], ref[i], 1e-5);
    free(A);
    /* first token and <|endoftext|> (position 3) hidden: their columns are zero and the
     * rows renormalise over positions 1..2 (row 0 had only the first token) */
    CHECK(av_vdata_attention(&vd, 0, 0, 1, 1, 0, &A, &n) == AV_OK);
    for (int i = 1; i < 4 && A; i++) {
        double s = 0;
        for (int j = 1; j <= i && j < 3; j++) s += ref[i * 4 + j];
        CHECK_NEAR(A[i * 4 + 0], 0, 0);
        CHECK_NEAR(A[i * 4 + 3], 0, 0);
        for (int j = 1; j < 3; j++) CHECK_NEAR(A[i * 4 + j], ref[i * 4 + j] / s, 1e-5);
    }
    CHECK(A && A[0] == 0);
    free(A);
    /* weighted by value norm: a_ij |v_j| / sum_j a_ij |v_j| */
    CHECK(av_vdata_attention(&vd, 0, 0, 1, 0, 1, &A, &n) == AV_OK);
    for (int i = 0; i < 4 && A; i++) {
        double s = 0;
        for (int j = 0; j < 4; j++) s += ref[i * 4 + j] * vn(3 + j);
        for (int j = 0; j < 4; j++) CHECK_NEAR(A[i * 4 + j], ref[i * 4 + j] * vn(3 + j) / s, 1e-5);
    }
    free(A);
    CHECK(av_vdata_attention(&vd, 0, 1, 0, 0, 0, &A, &n) == AV_ERR && A == NULL);
    CHECK(av_vdata_attention(&vd, 0, 0, 2, 0, 0, &A, &n) == AV_ERR);

    /* search ignores the byte-level space marker and case */
    uint8_t flags[NT] = {0};
    CHECK(av_vdata_search(&vd, "world", flags, 2) == 2);
    CHECK(flags[1] == 2 && flags[4] == 2 && flags[0] == 0);
    CHECK(av_vdata_search(&vd, "the", flags, 2) == 1 && flags[3] == 2 && flags[1] == 0);
    CHECK(av_vdata_search(&vd, "", flags, 2) == 0 && flags[3] == 0);
    /* punctuation / special categories */
    float attr[NT];
    CHECK(av_vdata_token_attr(&vd, AV_COLOR_PUNCT, attr) == AV_OK);
    CHECK(attr[2] == 1 && attr[6] == 2 && attr[0] == 0 && attr[1] == 0);
    CHECK(av_vdata_token_attr(&vd, AV_COLOR_POSITION, attr) == AV_OK);
    CHECK_NEAR(attr[3], 0, 0);
    CHECK_NEAR(attr[6], 1, 1e-6);
    CHECK_NEAR(attr[1], 0.5, 1e-6);
    CHECK(av_vdata_token_attr(&vd, AV_COLOR_FREQ, attr) == AV_OK);
    CHECK(attr[1] == attr[4] && attr[1] > attr[0]);   /* "Ġworld" twice, "Hello" once */
    CHECK(av_vdata_token_attr(&vd, AV_COLOR_ROW, attr) == AV_ERR);  /* text run: no patches */
    const float *nm = av_vdata_norms(&vd);
    CHECK(nm != NULL);
    float mn = 1, mx = 0;
    for (int i = 0; nm && i < 2 * NT; i++) { if (nm[i] < mn) mn = nm[i]; if (nm[i] > mx) mx = nm[i]; }
    CHECK_NEAR(mn, 0, 1e-6);
    CHECK_NEAR(mx, 1, 1e-6);
    av_vdata_close(&vd);
}

static int fails_naming(const char *dir, const char *needle, int load_proj) {
    av_vdata vd;
    int rc = av_vdata_open(dir, &vd);
    if (rc == AV_OK && load_proj) {
        rc = av_vdata_load_proj(&vd, 0);
        av_vdata_close(&vd);
    } else if (rc == AV_OK) {
        av_vdata_close(&vd);
    }
    int ok = rc == AV_ERR && strstr(av_last_error(), needle) != NULL;
    if (!ok) fprintf(stderr, "  expected an error naming '%s', got rc %d: %s\n", needle, rc, av_last_error());
    return ok;
}

/* Categories follow datasets/categories.h, not an ASCII check: "«" and "»" (Unicode
 * Pi/Pf; GPT-2 spells their UTF-8 bytes C2 AB as "Â«") and "Ġ..." are punctuation,
 * "£" (Sc) is not, "<|endoftext|>" is special; frequency counts exact spellings;
 * search and token length read the decoded bytes. */
static void test_unicode_categories(const char *dir) {
    make_run(dir, 2 * NT,
             "{\"text\": \"\xc3\x82\xc2\xab\"}\n{\"text\": \"\xc4\xa0" "caf\xc3\x83\xc2\xa9\"}\n{\"text\": \"\xc3\x82\xc2\xbb\"}\n"
             "{\"text\": \"\xc3\x82\xc2\xa3\"}\n{\"text\": \"\xc4\xa0...\"}\n{\"text\": \"\xc3\x82\xc2\xab\"}\n"
             "{\"text\": \"<|endoftext|>\"}\n", NULL);
    av_vdata vd;
    CHECK(av_vdata_open(dir, &vd) == AV_OK);
    float attr[NT];
    CHECK(av_vdata_token_attr(&vd, AV_COLOR_PUNCT, attr) == AV_OK);
    CHECK(attr[0] == 1 && attr[1] == 0 && attr[2] == 1 && attr[3] == 0 && attr[4] == 1 && attr[5] == 1 && attr[6] == 2);
    CHECK(av_vdata_is_special(&vd, 6) && !av_vdata_is_special(&vd, 0));
    CHECK(av_vdata_token_attr(&vd, AV_COLOR_FREQ, attr) == AV_OK);
    CHECK_NEAR(attr[0], log(2.0) / log(7.0), 1e-6);   /* "«" twice among 7 tokens */
    CHECK(attr[5] == attr[0] && attr[1] == 0 && attr[3] == 0);
    /* "ĠcafÃ©" is " café" in bytes: found as "café", 4 characters long (the longest
     * token, "<|endoftext|>", has 13) */
    uint8_t flags[NT] = {0};
    CHECK(av_vdata_search(&vd, "caf\xc3\xa9", flags, 1) == 1 && flags[1] == 1);
    CHECK(av_vdata_token_attr(&vd, AV_COLOR_TOKLEN, attr) == AV_OK);
    CHECK_NEAR(attr[1], 4.0 / 13.0, 1e-6);
    CHECK_NEAR(attr[0], 1.0 / 13.0, 1e-6);   /* "«" */
    av_vdata_close(&vd);
}

int main(void) {
    char tmpl[] = "/tmp/av_test_render_data.XXXXXX";
    char *root = mkdtemp(tmpl);
    if (!root) { perror("mkdtemp"); return 1; }
    char dir[4200];

    snprintf(dir, sizeof dir, "%s/good", root);
    make_run(dir, 2 * NT, NULL, NULL);
    test_attention(dir);

    snprintf(dir, sizeof dir, "%s/unicode", root);
    test_unicode_categories(dir);

    snprintf(dir, sizeof dir, "%s/badproj", root);
    make_run(dir, 2 * NT + 1, NULL, NULL);
    CHECK(fails_naming(dir, "proj/tsne-2d.npy: shape [1,1,15,2]", 1));

    snprintf(dir, sizeof dir, "%s/badtokens", root);
    make_run(dir, 2 * NT, "{\"text\": \"a\"}\n{\"txt\": 1}\n", NULL);
    CHECK(fails_naming(dir, "tokens.jsonl:2:", 0));

    snprintf(dir, sizeof dir, "%s/shorttokens", root);
    make_run(dir, 2 * NT, "{\"text\": \"a\"}\n", NULL);
    CHECK(fails_naming(dir, "tokens.jsonl: 1 tokens, manifest says 7", 0));

    static const int scattered[NT] = {0, 1, 0, 1, 1, 1, 1};
    snprintf(dir, sizeof dir, "%s/scattered", root);
    make_run(dir, 2 * NT, NULL, scattered);
    CHECK(fails_naming(dir, "token_item.npy: the tokens of item 0 are not contiguous", 0));

    snprintf(dir, sizeof dir, "%s/badstats", root);
    make_run(dir, 2 * NT, NULL, NULL);
    char p[4300];
    snprintf(p, sizeof p, "%s/stats.json", dir);
    write_text(p, "{\"heads\": [");
    CHECK(fails_naming(dir, "stats.json: invalid JSON", 0));

    snprintf(dir, sizeof dir, "%s/noitems", root);
    make_run(dir, 2 * NT, NULL, NULL);
    snprintf(p, sizeof p, "%s/items.jsonl", dir);
    unlink(p);
    CHECK(fails_naming(dir, "items.jsonl", 0));

    av_rm_rf(root);
    return av_check_summary("test_render_data");
}
