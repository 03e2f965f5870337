/* normalize.h - the two normalizations that make distance in a head's joint q/k cloud
 * mean attention (docs/technique.md): key translation and query/key scaling. */
#ifndef AV_ENGINE_NORMALIZE_H
#define AV_ENGINE_NORMALIZE_H
#include <stdint.h>

/* Key translation and q/k scaling, in place on X = [Q; K], T = n/2 rows each.
 * Returns the applied scale c in *scale_out (1 when !scale). */
void av_normalize_qk(float *X, int64_t T, int d, int translate, int scale, float *scale_out);
#endif
