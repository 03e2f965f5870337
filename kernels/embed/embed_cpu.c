/* embed_cpu.c - CPU twins of the embedding gather and the ViT patchify (kernels/ops.h);
 * CUDA versions beside them in embed.cu. */
#include "kernels/ops.h"

#include <string.h>

void av_embed_cpu(float *out, const int32_t *ids, const int32_t *pos, const int32_t *types,
                  const float *wte, const float *wpe, const float *tte, int64_t T, int C) {
#pragma omp parallel for schedule(static)
    for (int64_t t = 0; t < T; t++) {
        const float *a = wte + (int64_t)ids[t] * C, *b = wpe + (int64_t)pos[t] * C;
        const float *c = tte ? tte + (int64_t)types[t] * C : NULL;
        float *o = out + t * C;
        for (int i = 0; i < C; i++) o[i] = a[i] + b[i] + (c ? c[i] : 0.0f);
    }
}

void av_patchify_cpu(float *out, const float *img, int B, int S, int P) {
    int g = S / P, row = 3 * P * P;
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < B; b++)
        for (int p = 0; p < g * g; p++) {
            int py = p / g, px = p % g;
            float *o = out + ((int64_t)b * g * g + p) * row;
            for (int c = 0; c < 3; c++)
                for (int ky = 0; ky < P; ky++) {
                    const float *src = img + (((int64_t)b * 3 + c) * S + py * P + ky) * S + px * P;
                    memcpy(o + (c * P + ky) * P, src, (size_t)P * sizeof(float));
                }
        }
}
