/* rope_freq.c - RoPE inverse frequencies (rope.h), in float32 step by step as
 * transformers' _compute_*_parameters evaluate them, so the angles match its own. */
#include "kernels/rope/rope.h"

#include <math.h>

const char *av_rope_type_name(av_rope_type t) {
    switch (t) {
    case AV_ROPE_LINEAR: return "linear";
    case AV_ROPE_DYNAMIC: return "dynamic";
    case AV_ROPE_LLAMA3: return "llama3";
    case AV_ROPE_FREQ_FACTORS: return "freq_factors";
    default: return "default";
    }
}

void av_rope_inv_freq(const av_rope_params *p, int d, float *inv_freq) {
    const float base = (float)p->theta, factor = (float)p->factor;
    for (int i = 0; i < d / 2; i++) {
        float inv = 1.0f / powf(base, (float)(2 * i) / (float)d);
        if (p->type == AV_ROPE_LINEAR) {
            inv = inv / factor;
        } else if (p->type == AV_ROPE_LLAMA3) {
            /* the Python scalars meet float32 tensors: each is rounded to float first */
            const float low_wl = (float)(p->original_max_positions / p->low_freq_factor);
            const float high_wl = (float)(p->original_max_positions / p->high_freq_factor);
            const float wavelen = (float)(2 * M_PI) / inv;
            float scaled = wavelen > low_wl ? inv / factor : inv;
            if (!(wavelen < high_wl) && !(wavelen > low_wl)) {
                float smooth = ((float)p->original_max_positions / wavelen - (float)p->low_freq_factor) /
                               (float)(p->high_freq_factor - p->low_freq_factor);
                scaled = (1.0f - smooth) * scaled / factor + smooth * scaled;
            }
            inv = scaled;
        }
        inv_freq[i] = inv;
    }
}
