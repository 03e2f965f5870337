/* splat_cpu.c - one pass of a head's points into a plot's accumulators, in C (see
 * splat_cpu.h). The points come in batches: the batch is transformed first and the
 * rows its points cover are prefetched, then accumulated, so the cache misses of a
 * large plot (a 1600 x 1000 view holds 25 MB of sums) overlap instead of queueing:
 * 10M points in 1.4 M pixels went from 110 to 28 ns a point that way. */
#include "viewer/splat_cpu.h"

#include <math.h>
#include <string.h>
#include "viewer/viewer_internal.h"

enum { BATCH = 32 };

int av_splat_cpu(const av_splat_src *s, av_plot *p, int pass, int passes, int row0, int row1) {
    const int W = p->key.w, H = p->key.h, dim = s->dim;
    const int64_t T = s->T, n = 2 * T;
    const float *m = s->m, hw = 0.5f * (float)W, hh = 0.5f * (float)H;
    float *acc0 = p->acc[0], *acc1 = p->acc[1];
    uint32_t *ids = p->ids;
    int used_top = 0;
    float bx[BATCH], by[BATCH], br[BATCH];
    uint32_t bc[BATCH], bj[BATCH];
    if (row1 > H) row1 = H;
    for (int64_t j0 = pass; j0 < n; j0 += (int64_t)passes * BATCH) {
        int nb = 0;
        for (int k = 0; k < BATCH; k++) {
            int64_t j = j0 + (int64_t)k * passes;
            if (j >= n) break;
            int64_t l = av_splat_point(j, T);
            uint32_t c = s->col[l];
            if (c & AV_SPLAT_HIDE) continue;
            const float *q = s->pos + l * dim;
            float x = m[0] * q[0] + m[4] * q[1] + m[12], y = m[1] * q[0] + m[5] * q[1] + m[13];
            if (dim == 3) {
                x += m[8] * q[2];
                y += m[9] * q[2];
            }
            /* the GPU drops a point whose centre leaves the clip square; NaN fails too */
            if (!(x >= -1 && x <= 1 && y >= -1 && y <= 1)) continue;
            float size = p->size;
            if (c & AV_SPLAT_TOP) size *= 1.7f;
            if (s->size_norm) size *= 0.4f + 1.6f * s->norm[l];
            if (size < 1) size = 1;
            if (c & AV_SPLAT_NORM) {
                float t = s->norm[l];
                int i = (int)((t < 0 ? 0 : t > 1 ? 1 : t) * (AV_SPLAT_LUT - 1) + 0.5f);
                c = (c & ~0xffffffu) | ((c & AV_SPLAT_DIM ? s->lut_dim : s->lut)[i] & 0xffffffu);
            }
            x = (x + 1) * hw;
            y = (y + 1) * hh;
            float r = 0.5f * size;
            bx[nb] = x;
            by[nb] = y;
            br[nb] = r;
            bc[nb] = c;
            bj[nb] = (uint32_t)j;
            int y0 = (int)ceilf(y - r - 0.5f), y1 = (int)floorf(y + r - 0.5f);
            int x0 = (int)ceilf(x - r - 0.5f);
            if (x0 < 0) x0 = 0;
            if (x0 >= W) x0 = W - 1;
            float *a = c & AV_SPLAT_TOP ? acc1 : acc0;
            for (int yy = y0 < row0 ? row0 : y0; yy <= y1 && yy < row1; yy++) {
                __builtin_prefetch(a + ((int64_t)yy * W + x0) * 4, 1);
                if (ids) __builtin_prefetch(ids + (int64_t)yy * W + x0, 1);
            }
            nb++;
        }
        for (int k = 0; k < nb; k++) {
            float x = bx[k], y = by[k], r = br[k];
            uint32_t c = bc[k];
            int top = (c & AV_SPLAT_TOP) != 0;
            float *a = top ? acc1 : acc0;
            used_top |= top;
            float cr = (float)(c & 0xff), cg = (float)((c >> 8) & 0xff), cb = (float)((c >> 16) & 0xff);
            uint32_t key = (top ? 1u << 31 : 0) | (bj[k] + 1);
            /* pixel centres (i + 0.5) within [x - r, x + r] */
            int x0 = (int)ceilf(x - r - 0.5f), x1 = (int)floorf(x + r - 0.5f);
            int y0 = (int)ceilf(y - r - 0.5f), y1 = (int)floorf(y + r - 0.5f);
            if (x0 < 0) x0 = 0;
            if (x1 >= W) x1 = W - 1;
            if (y0 < row0) y0 = row0;
            if (y1 >= row1) y1 = row1 - 1;
            int round = r > 1.0f;
            float r2 = r * r;
            for (int yy = y0; yy <= y1; yy++) {
                float dy = (float)yy + 0.5f - y;
                for (int xx = x0; xx <= x1; xx++) {
                    float dx = (float)xx + 0.5f - x;
                    if (round && dx * dx + dy * dy > r2) continue;
                    int64_t i = (int64_t)yy * W + xx;
                    float *px = a + i * 4;
                    px[0] += 1;
                    px[1] += cr;
                    px[2] += cg;
                    px[3] += cb;
                    if (ids && key > ids[i]) ids[i] = key;
                }
            }
        }
    }
    return used_top;
}

static uint8_t unorm8(float x) { return (uint8_t)(x <= 0 ? 0 : x >= 1 ? 255 : (int)(x * 255 + 0.5f)); }

/* GLSL's mix(), as the resolve shader computes it */
static float mix(float x, float y, float a) { return x * (1 - a) + y * a; }

void av_resolve_cpu(const av_plot *p, const av_resolve_params *rp, uint8_t *out, int row0, int row1) {
    const int W = p->key.w;
    const float *acc0 = p->acc[0], *acc1 = rp->top ? p->acc[1] : NULL;
    /* coverage 1 - (1 - a)^n = 1 - 2^(n log2(1 - a)) */
    const float l0 = log2f(1 - rp->alpha), l1 = rp->alpha_top >= 1 ? -INFINITY : log2f(1 - rp->alpha_top);
    const float hl = 1 / logf(1 + rp->heat_max);
    const uint8_t bg[4] = {unorm8(rp->bg[0]), unorm8(rp->bg[1]), unorm8(rp->bg[2]), 255};
    for (int y = row0; y < row1; y++)
        for (int x = 0; x < W; x++) {
            int64_t i = (int64_t)y * W + x;
            const float *b = acc0 + i * 4, *t = acc1 ? acc1 + i * 4 : NULL;
            uint8_t *o = out + i * 4;
            if (b[0] <= 0 && (!t || t[0] <= 0)) {  /* most pixels of a view: nothing there */
                memcpy(o, bg, 4);
                continue;
            }
            float c[3] = {rp->bg[0], rp->bg[1], rp->bg[2]};
            if (b[0] > 0) {
                float n = b[0] * rp->scale;
                if (rp->heat) {
                    float h = logf(1 + n) * hl;
                    av_rgba hc = av_heatmap(h < 0 ? 0 : h > 1 ? 1 : h, rp->dark);
                    c[0] = hc.r;
                    c[1] = hc.g;
                    c[2] = hc.b;
                } else {
                    float cov = 1 - exp2f(n * l0), k = 1 / (b[0] * 255);
                    for (int j = 0; j < 3; j++) c[j] = mix(c[j], b[1 + j] * k, cov);
                }
            }
            if (t && t[0] > 0) {
                float cov = 1 - exp2f(t[0] * rp->scale * l1), k = 1 / (t[0] * 255);
                for (int j = 0; j < 3; j++) c[j] = mix(c[j], t[1 + j] * k, cov);
            }
            o[0] = unorm8(c[0]);
            o[1] = unorm8(c[1]);
            o[2] = unorm8(c[2]);
            o[3] = 255;
        }
}
