/* rng.h - the small seeded random generator every projection shares (splitmix64, Steele
 * et al.), so a seed means the same stream in t-SNE's jitter, UMAP's init and negative
 * samples (CPU and GPU), the quality samples and the tests. One state per stream: a
 * stream seeded from (seed, stream id) gives the same numbers whatever thread runs it.
 * Header-only, callable from CUDA device code too; the state is a plain uint64_t owned by
 * the caller. */
#ifndef AV_BASE_RNG_H
#define AV_BASE_RNG_H
#include <math.h>
#include <stdint.h>

#ifdef __CUDACC__
#define AV_RNG_FN static inline __host__ __device__
#else
#define AV_RNG_FN static inline
#endif

AV_RNG_FN uint64_t av_rng_next(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
/* uniform in [0, 1) with 53 random bits */
AV_RNG_FN double av_rng_uniform(uint64_t *s) { return (double)(av_rng_next(s) >> 11) * 0x1.0p-53; }
/* standard normal (Box-Muller; one of the pair is dropped for simplicity) */
AV_RNG_FN double av_rng_normal(uint64_t *s) {
    double u = av_rng_uniform(s), v = av_rng_uniform(s);
    return sqrt(-2.0 * log(1.0 - u)) * cos(6.283185307179586 * v);
}
#endif
