/* image_preprocess.h - ViT input preprocessing exactly as transformers' ViTImageProcessor
 * (PIL backend) does it from preprocessor_config.json: resize with PIL's resampling
 * (bilinear or bicubic, PIL's 8-bit fixed-point two-pass convolution, including its
 * support widening on downscale, so results match Pillow to the byte), then rescale
 * (x * rescale_factor) and normalize ((x - mean) / std), channels first.
 * The caller owns every buffer; nothing here allocates what it returns. */
#ifndef AV_MODELS_IMAGE_PREPROCESS_H
#define AV_MODELS_IMAGE_PREPROCESS_H
#include <stdint.h>
#include "models/config.h"

/* PIL's Image.resize(size, resample) of an 8-bit image with `channels` interleaved
 * channels: src [sh, sw, ch] -> dst [dh, dw, ch]. resample: 2 bilinear, 3 bicubic
 * (PIL codes); AV_ERR for any other code. */
int av_pil_resize_u8(const uint8_t *src, int sw, int sh, int channels, uint8_t *dst, int dw, int dh,
                     int resample);

/* RGB u8 [h, w, 3] -> model input f32 [3, S, S], S = cfg->image_size. The resize target
 * must be S x S (otherwise the model cannot take the result): AV_ERR saying so. */
int av_vit_preprocess(const av_model_config *cfg, const uint8_t *rgb, int w, int h, float *out);
#endif
