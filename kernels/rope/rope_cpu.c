/* rope_cpu.c - CPU twin of the rotary position embedding (kernels/ops.h); CUDA version in
 * rope.cu, frequencies in rope_freq.c.
 *
 * Hugging Face's rotate-half convention (apply_rotary_pos_emb): a head's value i pairs
 * with value i + d/2, both turned by the angle pos * inv_freq[i]:
 *   x[i]       = x[i] cos - x[i + d/2] sin
 *   x[i + d/2] = x[i + d/2] cos + x[i] sin
 * The angle is the float32 product and cos/sin are taken in float, as transformers does. */
#include "kernels/ops.h"

#include <math.h>
#include <stdlib.h>

void av_rope_cpu(float *x, int ld, int64_t rows, int H, int d, const int32_t *pos, const float *inv_freq) {
    const int half = d / 2;
#pragma omp parallel
    {
        float *cs = malloc(sizeof(float) * (size_t)(2 * (half > 0 ? half : 1)));
#pragma omp for schedule(static)
        for (int64_t r = 0; r < rows; r++) {
            if (!cs) continue;
            const float p = (float)pos[r];
            for (int i = 0; i < half; i++) {
                const float a = p * inv_freq[i];
                cs[2 * i] = cosf(a);
                cs[2 * i + 1] = sinf(a);
            }
            for (int h = 0; h < H; h++) {
                float *v = x + r * ld + (int64_t)h * d;
                for (int i = 0; i < half; i++) {
                    const float x1 = v[i], x2 = v[i + half], c = cs[2 * i], s = cs[2 * i + 1];
                    v[i] = x1 * c - x2 * s;
                    v[i + half] = x2 * c + x1 * s;
                }
            }
        }
        free(cs);
    }
}
