/* pack.h - moves one layer's q and k from the forward pass's activation rows into the
 * run folder's per-head layout, and measures the vector norms the stats and the viewer
 * use. CPU twin here (kernels/pack/pack_cpu.c); the CUDA version with the same semantics on
 * device pointers is av_pack_heads_cuda (kernels/backend/ops_cuda.h).
 *
 * Input: one batch of B items padded to T tokens. q, k, v are [B*T rows, stride ld]
 * (a fused qkv buffer works: pass its base + 0, + C, + 2C and ld = 3C); q has H heads,
 * k and v Hkv (grouped-query attention: query head h uses key/value head
 * g(h) = h / (H / Hkv); Hkv = H otherwise); head h owns columns [h*d, (h+1)*d) of its
 * part. Only rows t < lengths[b] are real.
 *
 * Output: n = sum(lengths) real tokens, item 0's first, padding removed.
 *   q_out         [H, n, d] in dtype (AV_DT_F32 or AV_DT_F16, round to nearest even).
 *   k_out         [Hkv, n, d] in dtype. Each head's block is contiguous, so a writer
 *                 appends it to the [L, H or Hkv, num_tokens, d] array with one copy per head
 *                 at ((l*heads + h) * num_tokens + first_token) * d elements.
 *   vnorm_out     [H, n] f32, |v| of each token for each QUERY head h (the norm of its
 *                 value head g(h): what weights head h's attention; NULL: not wanted).
 *   sums          [3*H] doubles, ADDED to (not overwritten): sums[h] += |q|,
 *                 sums[H+h] += |k|, sums[2H+h] += |v| (of g(h) for k and v) over the
 *                 batch's real tokens, so a caller keeps one array per layer across
 *                 batches and divides by the token count at the end (NULL: not wanted).
 *                 v may be NULL when neither vnorm_out nor the v sums are wanted (its
 *                 sums stay untouched).
 * The caller owns every buffer. */
#ifndef AV_KERNELS_PACK_PACK_H
#define AV_KERNELS_PACK_PACK_H
#include <stdint.h>
#include "base/dtype.h"

/* Returns AV_OK, or AV_ERR (message set) for a dtype other than f32/f16 or bad sizes. */
int av_pack_heads_cpu(void *q_out, void *k_out, float *vnorm_out, double *sums, av_dtype dtype,
                      const float *q, const float *k, const float *v, int ld,
                      int B, int T, int H, int Hkv, int d, const int32_t *lengths);

/* Number of real tokens in the batch (sum of lengths, each clamped to [0, T]). */
int64_t av_pack_count(const int32_t *lengths, int B, int T);
#endif
