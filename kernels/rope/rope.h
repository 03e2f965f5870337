/* rope.h - the rotary position embedding's frequencies, as Hugging Face transformers
 * computes them (modeling_rope_utils.py), once per model on the host. The rotation itself
 * is the backend op `rope` (kernels/ops.h; CPU twin rope_cpu.c, CUDA rope.cu).
 *
 * inv_freq[i] = 1 / theta^(2i / d) for i < d/2, in float32 as transformers computes it,
 * then rescaled by the rope_type:
 *   default   unchanged
 *   linear    inv_freq / factor
 *   dynamic   unchanged: dynamic NTK scaling changes the frequencies only for sequences
 *             longer than max_position_embeddings, which attnviz truncates items to
 *   llama3    Llama 3.1's band-wise rule: wavelengths beyond original_max / low_freq_factor
 *             are divided by factor, those under original_max / high_freq_factor kept,
 *             the band between interpolated (_compute_llama3_parameters).
 *   freq_factors  llama.cpp's form of the same (a GGUF's rope_freqs.weight): inv_freq[i]
 *             divided by that tensor's element i, which the model loader applies after
 *             av_rope_inv_freq has filled the default frequencies.
 * None of these scales cos/sin (transformers' attention_scaling is 1 for them). */
#ifndef AV_KERNELS_ROPE_ROPE_H
#define AV_KERNELS_ROPE_ROPE_H

typedef enum {
    AV_ROPE_DEFAULT = 0, AV_ROPE_LINEAR = 1, AV_ROPE_DYNAMIC = 2, AV_ROPE_LLAMA3 = 3, AV_ROPE_FREQ_FACTORS = 4
} av_rope_type;

typedef struct {
    av_rope_type type;
    double theta;                 /* rope_theta */
    double factor;                /* linear, dynamic, llama3 */
    double low_freq_factor;       /* llama3 */
    double high_freq_factor;      /* llama3 */
    double original_max_positions; /* llama3: original_max_position_embeddings */
} av_rope_params;

const char *av_rope_type_name(av_rope_type t);   /* "default", "linear", ... */
/* Fills inv_freq[d / 2] (d even). */
void av_rope_inv_freq(const av_rope_params *p, int d, float *inv_freq);
#endif
