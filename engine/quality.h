/* quality.h - how well a projection keeps a head's neighbourhoods. */
#ifndef AV_ENGINE_QUALITY_H
#define AV_ENGINE_QUALITY_H
#include <stdint.h>

/* Quality of a projection: fraction of each point's k nearest neighbours in X kept in Y
 * (kNN preservation), and trustworthiness; computed on `sample` random points when
 * sample > 0 and sample < n. */
int av_knn_preservation(const float *X, const float *Y, int64_t n, int d, int dim, int k,
                        int64_t sample, uint64_t seed, double *out);
int av_trustworthiness(const float *X, const float *Y, int64_t n, int d, int dim, int k,
                       int64_t sample, uint64_t seed, double *out);
#endif
