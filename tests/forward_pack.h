/* forward_pack.h - the packed form of the forward pass's sink (av_model_set_pack), checked
 * against the unpacked rows: shared by tests/test_forward_pack.c (the CPU backend, and a
 * CPU backend that mimics a GPU's deferred copies) and tests/gpu_forward.c (CUDA).
 *
 * random_batch() makes the padded batch both use (three items of different lengths, a
 * sentence pair for BERT; random images for ViT). check_packed() runs it through the
 * model on the CPU unpacked (the reference: av_pack_heads_cpu of the rows) and on the
 * backend under test packed, and checks that every layer reaches the sink once and in
 * order, and that the packed q, k, |v| and the norm sums agree. Include once per test
 * program, after tests/check.h. */
#ifndef AV_TESTS_FORWARD_PACK_H
#define AV_TESTS_FORWARD_PACK_H
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "base/dtype.h"
#include "base/util.h"
#include "kernels/pack/pack.h"
#include "models/model.h"

typedef struct {
    av_batch batch;
    int32_t lengths[3];
    int32_t *ids, *types;
    float *pixels;
} test_batch;

static uint64_t tb_next(uint64_t *s) {
    *s ^= *s << 13; *s ^= *s >> 7; *s ^= *s << 17;
    return *s;
}

static void random_batch(const av_model_config *cfg, test_batch *tb) {
    memset(tb, 0, sizeof *tb);
    int B = 3, T;
    uint64_t s = 88172645463325252ull;
    if (cfg->type == AV_MODEL_VIT) {
        int S = cfg->image_size, P = cfg->patch_size;
        T = (S / P) * (S / P) + 1;
        for (int b = 0; b < B; b++) tb->lengths[b] = T;
        tb->pixels = malloc((size_t)B * 3 * S * S * sizeof(float));
        for (int64_t i = 0; i < (int64_t)B * 3 * S * S; i++)
            tb->pixels[i] = (float)((tb_next(&s) >> 40) * (2.0 / 16777216.0)) - 1.0f;
    } else {
        T = cfg->max_positions < 40 ? cfg->max_positions : 40;
        tb->lengths[0] = T; tb->lengths[1] = T - 7; tb->lengths[2] = 3;   /* padding, as real batches have */
        tb->ids = malloc((size_t)B * T * sizeof(int32_t));
        tb->types = malloc((size_t)B * T * sizeof(int32_t));
        for (int i = 0; i < B * T; i++) {
            tb->ids[i] = (int32_t)(tb_next(&s) % (uint64_t)cfg->vocab_size);
            tb->types[i] = cfg->type_vocab_size > 1 && (i % T) > T / 2;   /* a sentence pair */
        }
    }
    av_batch b = {B, T, tb->ids, cfg->type == AV_MODEL_BERT ? tb->types : NULL, tb->lengths, tb->pixels};
    tb->batch = b;
}

static void free_batch(test_batch *tb) {
    free(tb->ids);
    free(tb->types);
    free(tb->pixels);
}

/* Per layer, the packed block [q | k] as f32 plus |v| and the sums, whatever the dtype. */
typedef struct {
    int L, H, d, packed, next_layer, order_ok;
    int64_t n;
    av_dtype dtype;
    float *qk, *v;
    double *sums;
} pack_capture;

static float pc_get(const void *p, av_dtype dt, int64_t i) {
    return dt == AV_DT_F32 ? ((const float *)p)[i] : av_f16_to_f32(((const uint16_t *)p)[i]);
}

static int pc_sink(void *user, const av_layer_out *o) {
    pack_capture *c = user;
    if (o->layer != c->next_layer) c->order_ok = 0;
    c->next_layer = o->layer + 1;
    /* q [H, n, d], then k [Hkv, n, d] in a block sized for H heads (the rest stays 0) */
    int64_t per = (int64_t)c->H * c->n * c->d, kper = (int64_t)o->Hkv * c->n * c->d, l = o->layer;
    float *qk = c->qk + l * 2 * per, *v = c->v + l * c->H * c->n;
    double *sums = c->sums + l * 3 * c->H;
    memset(qk + per, 0, sizeof(float) * (size_t)per);
    if (c->packed) {
        if (o->n != c->n || !o->qp || !o->kp || !o->vnp || !o->sums || o->q || o->dtype != c->dtype) c->order_ok = 0;
        for (int64_t i = 0; i < per; i++) qk[i] = pc_get(o->qp, o->dtype, i);
        for (int64_t i = 0; i < kper; i++) qk[per + i] = pc_get(o->kp, o->dtype, i);
        memcpy(v, o->vnp, sizeof(float) * (size_t)(c->H * c->n));
        memcpy(sums, o->sums, sizeof(double) * (size_t)(3 * c->H));
        return AV_OK;
    }
    /* the reference: the CPU twin of the packing kernel over the unpacked rows */
    void *q = malloc((size_t)per * 4), *k = malloc((size_t)per * 4);
    float *vn = malloc(sizeof(float) * (size_t)(c->H * c->n));
    memset(sums, 0, sizeof(double) * (size_t)(3 * c->H));
    /* |v| comes as norms only in the unpacked form, so the reference packs q and k and
     * takes |v| from the rows' vnorm */
    int rc = av_pack_heads_cpu(q, k, NULL, sums, c->dtype, o->q, o->k, NULL, o->ld, o->B, o->T, o->H, o->Hkv, o->d, o->lengths);
    for (int64_t i = 0; rc == AV_OK && i < per; i++) qk[i] = pc_get(q, c->dtype, i);
    for (int64_t i = 0; rc == AV_OK && i < kper; i++) qk[per + i] = pc_get(k, c->dtype, i);
    int64_t at = 0;
    for (int b = 0; b < o->B; b++)
        for (int t = 0; t < o->lengths[b]; t++, at++)
            for (int h = 0; h < o->H; h++) {
                float x = o->vnorm[((int64_t)b * o->T + t) * o->H + h];
                vn[(int64_t)h * c->n + at] = x;
                sums[2 * c->H + h] += x;
            }
    memcpy(v, vn, sizeof(float) * (size_t)(c->H * c->n));
    free(q);
    free(k);
    free(vn);
    return rc;
}

static double rel_l2(const float *got, const float *want, int64_t n) {
    double e = 0, w = 0;
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(got[i])) return INFINITY;
        e += ((double)got[i] - want[i]) * ((double)got[i] - want[i]);
        w += (double)want[i] * want[i];
    }
    return w > 0 ? sqrt(e / w) : sqrt(e);
}

static int pc_run(const char *dir, const av_backend *be, int packed, const test_batch *tb, pack_capture *c) {
    av_model m;
    if (av_model_load(dir, be, &m) != AV_OK) return AV_ERR;
    int rc = packed ? av_model_set_pack(&m, c->dtype) : AV_OK;
    c->packed = packed;
    c->next_layer = 0;
    c->order_ok = 1;
    /* twice: the second pass reuses the slots and pinned buffers of the first */
    for (int pass = 0; rc == AV_OK && pass < 2; pass++) {
        c->next_layer = 0;
        rc = av_model_forward(&m, &tb->batch, pc_sink, c, NULL);
    }
    av_model_free(&m);
    return rc;
}

/* tol bounds the relative L2 error of q, k and |v| and the relative error of each sum. */
static void check_packed(const av_backend *be, const char *dir, av_dtype dt, double tol, const char *label) {
    av_model_config cfg;
    if (av_config_load(dir, &cfg) != AV_OK) { CHECK_MSG(0, "%s", av_last_error()); return; }
    test_batch tb;
    random_batch(&cfg, &tb);
    int L = cfg.num_layers, H = cfg.num_heads, d = cfg.head_dim;
    int64_t n = av_pack_count(tb.lengths, tb.batch.B, tb.batch.T), per = (int64_t)H * n * d;
    pack_capture want = {L, H, d, 0, 0, 1, n, dt, malloc(sizeof(float) * (size_t)(L * 2 * per)),
                         malloc(sizeof(float) * (size_t)(L * H * n)), malloc(sizeof(double) * (size_t)(L * 3 * H))};
    pack_capture got = want;
    got.qk = malloc(sizeof(float) * (size_t)(L * 2 * per));
    got.v = malloc(sizeof(float) * (size_t)(L * H * n));
    got.sums = malloc(sizeof(double) * (size_t)(L * 3 * H));
    int ok = pc_run(dir, av_backend_cpu(), 0, &tb, &want) == AV_OK;
    CHECK_MSG(ok, "%s unpacked on the CPU: %s", dir, av_last_error());
    if (ok) {
        ok = pc_run(dir, be, 1, &tb, &got) == AV_OK;
        CHECK_MSG(ok, "%s packed on %s (%s): %s", dir, be->name, label, av_last_error());
    }
    if (ok) {
        CHECK_MSG(got.order_ok && got.next_layer == L, "%s %s: layers out of order or malformed (%d of %d)", dir, label,
                  got.next_layer, L);
        double worst = 0;
        for (int l = 0; l < L; l++) {
            double eqk = rel_l2(got.qk + l * 2 * per, want.qk + l * 2 * per, 2 * per);
            double ev = rel_l2(got.v + l * H * n, want.v + l * H * n, H * n);
            CHECK_MSG(eqk <= tol && ev <= tol, "%s %s layer %d: q/k %.2e |v| %.2e (bound %.0e)", dir, label, l, eqk, ev, tol);
            for (int i = 0; i < 3 * H; i++) {
                double a = got.sums[l * 3 * H + i], b = want.sums[l * 3 * H + i];
                CHECK_MSG(fabs(a - b) <= tol * fabs(b) + 1e-9, "%s %s layer %d sum %d: %.9g vs %.9g", dir, label, l, i, a, b);
            }
            worst = fmax(worst, fmax(eqk, ev));
        }
        printf("  %-8s %-40s packed %s vs CPU rows: worst rel. L2 %.2e (%d layers)\n", be->name, dir,
               av_dtype_name(dt), worst, L);
    }
    free(want.qk); free(want.v); free(want.sums);
    free(got.qk); free(got.v); free(got.sums);
    free_batch(&tb);
}
#endif
