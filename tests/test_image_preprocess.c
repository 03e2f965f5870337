/* test_image_preprocess.c - ViT preprocessing against the reference tools
 * (tests/fixtures/activations/images, written by make_activations.py):
 *   - av_pil_resize_u8 equals Pillow's Image.resize byte for byte (downscale, upscale, one
 *     axis only, bilinear and bicubic);
 *   - av_vit_preprocess equals transformers' ViTImageProcessorPil within 1e-4 for an RGB,
 *     a grey and an RGBA image (grey replicated, alpha dropped, as PIL's convert("RGB")). */
#include <stdlib.h>
#include <string.h>
#include "base/npy.h"
#include "models/config.h"
#include "models/image_preprocess.h"
#include "tests/check.h"

#define DIR "tests/fixtures/activations/images/"

/* An int32 [h, w, ch] fixture as RGB u8 (grey replicated, alpha dropped). */
static uint8_t *load_rgb(const char *name, int *w, int *h, int *ch_out, uint8_t **raw) {
    char path[256];
    snprintf(path, sizeof path, DIR "%s", name);
    av_npy a;
    if (av_npy_open(path, &a)) {
        CHECK_MSG(0, "%s", av_last_error());
        return NULL;
    }
    *h = (int)a.shape[0];
    *w = (int)a.shape[1];
    int ch = (int)a.shape[2];
    uint8_t *rgb = malloc((size_t)*w * *h * 3);
    if (raw) *raw = malloc((size_t)*w * *h * ch);
    for (int64_t p = 0; p < (int64_t)*w * *h; p++) {
        for (int c = 0; c < 3; c++) rgb[p * 3 + c] = (uint8_t)av_npy_get_f32(&a, p * ch + (ch >= 3 ? c : 0));
        if (raw)
            for (int c = 0; c < ch; c++) (*raw)[p * ch + c] = (uint8_t)av_npy_get_f32(&a, p * ch + c);
    }
    if (ch_out) *ch_out = ch;
    av_npy_close(&a);
    return rgb;
}

static void test_resize(void) {
    int w, h;
    uint8_t *src = load_rgb("rgb_u8.npy", &w, &h, NULL, NULL);
    if (!src) return;
    const char *cases[] = {"resize_17x45_r2.npy", "resize_64x20_r3.npy", "resize_50x10_r2.npy",
                           "resize_13x37_r3.npy", "resize_101x77_r2.npy", "resize_40x10_r2.npy"};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int dw, dh, r;
        sscanf(cases[i], "resize_%dx%d_r%d", &dw, &dh, &r);
        int rw, rh;
        uint8_t *want = load_rgb(cases[i], &rw, &rh, NULL, NULL);
        if (!want) continue;
        CHECK(rw == dw && rh == dh);
        uint8_t *got = malloc((size_t)dw * dh * 3);
        CHECK(av_pil_resize_u8(src, w, h, 3, got, dw, dh, r) == AV_OK);
        int diff = 0;
        for (int j = 0; j < dw * dh * 3; j++) diff += got[j] != want[j];
        CHECK_MSG(diff == 0, "%s: %d bytes differ from Pillow", cases[i], diff);
        free(got);
        free(want);
    }
    uint8_t one[3];
    CHECK(av_pil_resize_u8(src, w, h, 3, one, 1, 1, 0) == AV_ERR); /* nearest: not supported */
    free(src);
}

static void test_preprocess(void) {
    av_model_config cfg;
    if (av_config_load("tests/fixtures/models/vit-tiny", &cfg)) {
        CHECK_MSG(0, "%s", av_last_error());
        return;
    }
    const char *names[] = {"rgb", "grey", "rgba"};
    for (int i = 0; i < 3; i++) {
        char n[64];
        int w, h, ch;
        snprintf(n, sizeof n, "%s_u8.npy", names[i]);
        uint8_t *rgb = load_rgb(n, &w, &h, &ch, NULL);
        if (!rgb) continue;
        snprintf(n, sizeof n, DIR "%s_pixels.npy", names[i]);
        av_npy want;
        CHECK(av_npy_open(n, &want) == 0);
        int S = cfg.image_size;
        CHECK(want.count == 3 * S * S);
        float *out = malloc(sizeof(float) * 3 * S * S);
        CHECK(av_vit_preprocess(&cfg, rgb, w, h, out) == AV_OK);
        double worst = 0;
        for (int j = 0; j < 3 * S * S; j++) {
            double e = fabs(out[j] - av_npy_get_f32(&want, j));
            worst = e > worst ? e : worst;
        }
        CHECK_MSG(worst <= 1e-4, "%s: max |ours - transformers| = %g", names[i], worst);
        free(out);
        free(rgb);
        av_npy_close(&want);
    }
    /* a resize target the model cannot take is refused, not silently used */
    cfg.resize_h = cfg.resize_w = cfg.image_size + 1;
    uint8_t px[12] = {0};
    float out[3 * 32 * 32];
    CHECK(av_vit_preprocess(&cfg, px, 2, 2, out) == AV_ERR);
    cfg.do_resize = 0;
    CHECK(av_vit_preprocess(&cfg, px, 2, 2, out) == AV_ERR);
}

int main(void) {
    test_resize();
    test_preprocess();
    return av_check_summary("test_image_preprocess");
}
