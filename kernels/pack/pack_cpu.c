/* pack_cpu.c - CPU twin of the q/k packing kernel: see kernels/pack.h. */
#include "kernels/pack/pack.h"

#include <math.h>
#include "base/dtype.h"
#include "base/util.h"

int64_t av_pack_count(const int32_t *lengths, int B, int T) {
    int64_t n = 0;
    for (int b = 0; b < B; b++) n += lengths[b] < 0 ? 0 : lengths[b] > T ? T : lengths[b];
    return n;
}

/* Copies d floats into row `row` of a [*, d] block of the output dtype. */
static void put_row(void *out, av_dtype dtype, int64_t row, const float *src, int d) {
    if (dtype == AV_DT_F32) {
        float *o = (float *)out + row * d;
        for (int i = 0; i < d; i++) o[i] = src[i];
    } else {
        uint16_t *o = (uint16_t *)out + row * d;
        for (int i = 0; i < d; i++) o[i] = av_f32_to_f16(src[i]);
    }
}

static double norm(const float *x, int d) {
    double s = 0;
    for (int i = 0; i < d; i++) s += (double)x[i] * x[i];
    return sqrt(s);
}

int av_pack_heads_cpu(void *q_out, void *k_out, float *vnorm_out, double *sums, av_dtype dtype,
                      const float *q, const float *k, const float *v, int ld,
                      int B, int T, int H, int Hkv, int d, const int32_t *lengths) {
    if (dtype != AV_DT_F32 && dtype != AV_DT_F16)
        return av_fail("pack: q/k can be stored as f32 or f16, not %s", av_dtype_name(dtype));
    if (B < 0 || T < 0 || H <= 0 || Hkv <= 0 || H % Hkv || d <= 0 || ld < H * d)
        return av_fail("pack: bad sizes (B %d, T %d, H %d, Hkv %d, d %d, ld %d)", B, T, H, Hkv, d, ld);
    if (!v && vnorm_out) return av_fail("pack: v is needed for its norms");
    int64_t n = av_pack_count(lengths, B, T);
    const int group = H / Hkv;
    /* Query heads outermost: each thread writes whole rows of its own head (and, for the
     * first head of a group, of the group's key head), and the sums of a head are added
     * in one fixed order, so results do not depend on the thread count. */
    #pragma omp parallel for schedule(static)
    for (int h = 0; h < H; h++) {
        double sq = 0, sk = 0, sv = 0;
        int64_t row = 0;
        const int kh = h / group;
        for (int b = 0; b < B; b++) {
            int len = lengths[b] < 0 ? 0 : lengths[b] > T ? T : lengths[b];
            for (int t = 0; t < len; t++, row++) {
                size_t src = ((size_t)b * T + t) * ld + (size_t)h * d, ksrc = ((size_t)b * T + t) * ld + (size_t)kh * d;
                put_row(q_out, dtype, (int64_t)h * n + row, q + src, d);
                if (h % group == 0) put_row(k_out, dtype, (int64_t)kh * n + row, k + ksrc, d);
                if (sums) { sq += norm(q + src, d); sk += norm(k + ksrc, d); }
                if (v) {
                    double nv = norm(v + ksrc, d);
                    sv += nv;
                    if (vnorm_out) vnorm_out[(int64_t)h * n + row] = (float)nv;
                }
            }
        }
        if (sums) {
            sums[h] += sq;
            sums[H + h] += sk;
            if (v) sums[2 * H + h] += sv;
        }
    }
    return AV_OK;
}
