/* dequant.c - the ggml type table and the block dequantizers of dequant.h.
 *
 * Each dequantizer reads one block through memcpy-sized loads (a GGUF tensor is aligned
 * in the file, but a buffer handed in by a caller or a fuzzer need not be) and writes
 * block_size floats. Products are written as separate statements in gguf-py's order and
 * never fused into an FMA, which would round once instead of twice and break bitwise
 * equality with the reference. */
#include "models/dequant.h"

#include <string.h>
#include "base/util.h"

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#define QK_K 256

/* ggml.h's type numbers, names and block geometry (gguf-py's GGML_QUANT_SIZES). Numbers
 * ggml has retired (4, 5, 31-33, 36-38) are absent, so a file using one is unknown. */
static const struct { int type; const char *name; int block; int bytes; } types[] = {
    {0, "F32", 1, 4},
    {1, "F16", 1, 2},
    {2, "Q4_0", 32, 2 + 16},
    {3, "Q4_1", 32, 2 + 2 + 16},
    {6, "Q5_0", 32, 2 + 4 + 16},
    {7, "Q5_1", 32, 2 + 2 + 4 + 16},
    {8, "Q8_0", 32, 2 + 32},
    {9, "Q8_1", 32, 4 + 4 + 32},
    {10, "Q2_K", QK_K, 2 + 2 + QK_K / 16 + QK_K / 4},
    {11, "Q3_K", QK_K, 2 + QK_K / 4 + QK_K / 8 + 12},
    {12, "Q4_K", QK_K, 2 + 2 + QK_K / 2 + 12},
    {13, "Q5_K", QK_K, 2 + 2 + QK_K / 2 + QK_K / 8 + 12},
    {14, "Q6_K", QK_K, 2 + QK_K / 2 + QK_K / 4 + QK_K / 16},
    {15, "Q8_K", QK_K, 4 + QK_K + QK_K / 8},
    {16, "IQ2_XXS", QK_K, 2 + QK_K / 4},
    {17, "IQ2_XS", QK_K, 2 + QK_K / 4 + QK_K / 32},
    {18, "IQ3_XXS", QK_K, 2 + QK_K / 4 + QK_K / 8},
    {19, "IQ1_S", QK_K, 2 + QK_K / 8 + QK_K / 16},
    {20, "IQ4_NL", 32, 2 + 16},
    {21, "IQ3_S", QK_K, 2 + QK_K / 4 + QK_K / 8 + QK_K / 32 + 4},
    {22, "IQ2_S", QK_K, 2 + QK_K / 4 + QK_K / 16},
    {23, "IQ4_XS", QK_K, 2 + 2 + QK_K / 2 + QK_K / 64},
    {24, "I8", 1, 1},
    {25, "I16", 1, 2},
    {26, "I32", 1, 4},
    {27, "I64", 1, 8},
    {28, "F64", 1, 8},
    {29, "IQ1_M", QK_K, QK_K / 8 + QK_K / 16 + QK_K / 32},
    {30, "BF16", 1, 2},
    {34, "TQ1_0", QK_K, 2 + 4 * 13},
    {35, "TQ2_0", QK_K, 2 + 64},
    {39, "MXFP4", 32, 1 + 16},
    {40, "NVFP4", 64, 4 + 32},
    {41, "Q1_0", 128, 2 + 16},
};
#define NTYPES (int)(sizeof types / sizeof types[0])

static int find(int type) {
    for (int i = 0; i < NTYPES; i++)
        if (types[i].type == type) return i;
    return -1;
}

const char *av_ggml_type_name(int type) {
    int i = find(type);
    return i < 0 ? NULL : types[i].name;
}

int av_ggml_block_size(int type) {
    int i = find(type);
    return i < 0 ? 0 : types[i].block;
}

size_t av_ggml_block_bytes(int type) {
    int i = find(type);
    return i < 0 ? 0 : (size_t)types[i].bytes;
}

int av_ggml_can_dequant(int type) {
    switch (type) {
    case AV_GGML_F32: case AV_GGML_F16: case AV_GGML_BF16: case AV_GGML_Q8_0: case AV_GGML_Q4_0:
    case AV_GGML_Q4_1: case AV_GGML_Q5_0: case AV_GGML_Q5_1: case AV_GGML_Q4_K: case AV_GGML_Q5_K:
    case AV_GGML_Q6_K:
        return 1;
    }
    return 0;
}

const char *av_ggml_dequant_types(void) { return "F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K"; }

int av_ggml_nbytes(int type, int64_t n, size_t *out) {
    int i = find(type);
    if (i < 0) return av_fail("unknown ggml type %d", type);
    if (n < 0 || n % types[i].block)
        return av_fail("%lld elements of %s are not a whole number of %d-element blocks", (long long)n, types[i].name,
                       types[i].block);
    uint64_t bytes;
    if (__builtin_mul_overflow((uint64_t)(n / types[i].block), (uint64_t)types[i].bytes, &bytes) || bytes > SIZE_MAX)
        return av_fail("%lld elements of %s overflow the address space", (long long)n, types[i].name);
    *out = (size_t)bytes;
    return AV_OK;
}

/* IEEE half to float without branches (so loops over it vectorize), bit-identical to
 * av_f16_to_f32: the half's exponent and mantissa moved into float position read as a
 * float 2^112 times too small, subnormals included (the multiplication is exact);
 * infinities and NaNs keep the all-ones exponent instead. */
static inline float half_to_float(uint16_t h) {
    uint32_t em = (uint32_t)(h & 0x7fff) << 13, bits;
    float f;
    memcpy(&f, &em, 4);
    f *= 0x1p112f;
    memcpy(&bits, &f, 4);
    uint32_t special = 0u - (uint32_t)((h & 0x7c00) == 0x7c00); /* all ones for inf/NaN */
    bits = (bits & ~special) | ((em | 0x7f800000u) & special);
    bits |= (uint32_t)(h & 0x8000) << 16;
    memcpy(&f, &bits, 4);
    return f;
}

static inline float f16_at(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return half_to_float(h);
}

/* ---- the 32-element types ---------------------------------------------------------- */

static void q8_0(const uint8_t *b, float *y) {
    float d = f16_at(b);
    const int8_t *q = (const int8_t *)(b + 2);
    for (int i = 0; i < 32; i++) y[i] = (float)q[i] * d;
}

static void q4_0(const uint8_t *b, float *y) {
    float d = f16_at(b);
    const uint8_t *qs = b + 2;
    for (int i = 0; i < 16; i++) {
        y[i] = d * (float)((qs[i] & 0x0f) - 8);
        y[i + 16] = d * (float)((qs[i] >> 4) - 8);
    }
}

static void q4_1(const uint8_t *b, float *y) {
    float d = f16_at(b), m = f16_at(b + 2);
    const uint8_t *qs = b + 4;
    for (int i = 0; i < 16; i++) {
        float lo = d * (float)(qs[i] & 0x0f), hi = d * (float)(qs[i] >> 4);
        y[i] = lo + m;
        y[i + 16] = hi + m;
    }
}

/* Q5_0 / Q5_1: element i's 5th bit is bit i of the 32-bit little-endian qh, i.e. bit
 * i%8 of byte i/8. Spread into one byte per element first: shifts by constants, which
 * vectorize (a shift by the element index does not, before AVX2). */
static inline void fifth_bits(const uint8_t *qh, uint8_t *hb) {
    for (int k = 0; k < 4; k++)
        for (int j = 0; j < 8; j++) hb[8 * k + j] = (uint8_t)(((qh[k] >> j) & 1) << 4);
}

static void q5_0(const uint8_t *b, float *y) {
    float d = f16_at(b);
    uint8_t hb[32];
    fifth_bits(b + 2, hb);
    const uint8_t *qs = b + 6;
    for (int i = 0; i < 16; i++) {
        y[i] = d * (float)(((qs[i] & 0x0f) | hb[i]) - 16);
        y[i + 16] = d * (float)(((qs[i] >> 4) | hb[i + 16]) - 16);
    }
}

static void q5_1(const uint8_t *b, float *y) {
    float d = f16_at(b), m = f16_at(b + 2);
    uint8_t hb[32];
    fifth_bits(b + 4, hb);
    const uint8_t *qs = b + 8;
    for (int i = 0; i < 16; i++) {
        float a = d * (float)((qs[i] & 0x0f) | hb[i]), c = d * (float)((qs[i] >> 4) | hb[i + 16]);
        y[i] = a + m;
        y[i + 16] = c + m;
    }
}

/* ---- the 256-element K types --------------------------------------------------------- */

/* Q4_K / Q5_K: eight 6-bit scales and eight 6-bit mins in 12 bytes. Sub-blocks 0-3 keep
 * theirs in the low 6 bits of bytes 0-3 (scales) and 4-7 (mins); sub-blocks 4-7 take
 * the nibbles of bytes 8-11 as low bits and the top 2 bits of bytes 0-7 as high bits. */
static inline void k_scale_min(const uint8_t *s, int j, int *sc, int *mn) {
    if (j < 4) {
        *sc = s[j] & 63;
        *mn = s[j + 4] & 63;
    } else {
        *sc = (s[j + 4] & 0x0f) | ((s[j - 4] >> 6) << 4);
        *mn = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
    }
}

/* qs holds 4 groups of 32 bytes; group g gives sub-block 2g its low nibbles and
 * sub-block 2g+1 its high nibbles. Q5_K's 5th bit of element l of sub-block j is bit j of
 * qh[l]. */
static void q45_k(const uint8_t *b, float *y, int five) {
    float d = f16_at(b), dmin = f16_at(b + 2);
    const uint8_t *sc = b + 4, *qh = b + 16, *qs = five ? b + 48 : b + 16;
    for (int j = 0; j < 8; j++) {
        int s, m;
        k_scale_min(sc, j, &s, &m);
        float dl = d * (float)s, ml = dmin * (float)m;
        const uint8_t *q = qs + 32 * (j / 2);
        int shift = 4 * (j & 1);
        float *out = y + 32 * j;
        for (int l = 0; l < 32; l++) {
            int v = (q[l] >> shift) & 0x0f;
            if (five) v |= ((qh[l] >> j) & 1) << 4;
            float t = dl * (float)v;
            out[l] = t - ml;
        }
    }
}

static void q4_k(const uint8_t *b, float *y) { q45_k(b, y, 0); }
static void q5_k(const uint8_t *b, float *y) { q45_k(b, y, 1); }

/* Q6_K: two halves of 128 elements. In half h, element 32r + l (r = 0..3) has its low
 * 4 bits in ql[64h + 32(r&1) + l] (low nibble for r < 2, high nibble after) and its
 * top 2 bits at bit 2r of qh[32h + l]; each run of 16 elements has one int8 scale. */
static void q6_k(const uint8_t *b, float *y) {
    const uint8_t *ql = b, *qh = b + 128;
    const int8_t *scales = (const int8_t *)(b + 192);
    float d = f16_at(b + 208);
    float ds[16];
    for (int i = 0; i < 16; i++) ds[i] = d * (float)scales[i];
    for (int h = 0; h < 2; h++)
        for (int r = 0; r < 4; r++) {
            const uint8_t *lo = ql + 64 * h + 32 * (r & 1);
            int shift = 4 * (r >> 1);
            int e0 = 128 * h + 32 * r;
            for (int l = 0; l < 32; l++) {
                int q = ((lo[l] >> shift) & 0x0f) | (((qh[32 * h + l] >> (2 * r)) & 3) << 4);
                y[e0 + l] = ds[(e0 + l) / 16] * (float)(q - 32);
            }
        }
}

/* ---- driver -------------------------------------------------------------------------- */

typedef void (*block_fn)(const uint8_t *, float *);

/* Below this many blocks a parallel region costs more than it saves. */
#define PARALLEL_BLOCKS 4096

static void run_blocks(block_fn f, const uint8_t *src, int64_t nb, size_t bytes, int block, float *dst) {
#pragma omp parallel for schedule(static) if (nb >= PARALLEL_BLOCKS)
    for (int64_t i = 0; i < nb; i++) f(src + (size_t)i * bytes, dst + i * block);
}

static void f16_run(const uint8_t *src, int64_t n, float *dst) {
#pragma omp parallel for schedule(static) if (n >= 32 * PARALLEL_BLOCKS)
    for (int64_t i = 0; i < n; i++) dst[i] = f16_at(src + 2 * i);
}

static void bf16_run(const uint8_t *src, int64_t n, float *dst) {
#pragma omp parallel for schedule(static) if (n >= 32 * PARALLEL_BLOCKS)
    for (int64_t i = 0; i < n; i++) {
        uint16_t h;
        memcpy(&h, src + 2 * i, 2);
        uint32_t bits = (uint32_t)h << 16;
        memcpy(&dst[i], &bits, 4);
    }
}

int av_dequant(int type, const void *src, int64_t n, float *dst) {
    const char *name = av_ggml_type_name(type);
    if (!av_ggml_can_dequant(type))
        return av_fail("tensor type %s (%d) cannot be dequantized (supported: %s)", name ? name : "unknown", type,
                       av_ggml_dequant_types());
    int block = av_ggml_block_size(type);
    if (n < 0 || n % block)
        return av_fail("%lld elements of %s are not a whole number of %d-element blocks", (long long)n, name, block);
    const uint8_t *s = src;
    size_t bytes = av_ggml_block_bytes(type);
    int64_t nb = n / block;
    switch (type) {
    case AV_GGML_F32: if (n) memcpy(dst, s, (size_t)n * 4); break;
    case AV_GGML_F16: f16_run(s, n, dst); break;
    case AV_GGML_BF16: bf16_run(s, n, dst); break;
    case AV_GGML_Q8_0: run_blocks(q8_0, s, nb, bytes, block, dst); break;
    case AV_GGML_Q4_0: run_blocks(q4_0, s, nb, bytes, block, dst); break;
    case AV_GGML_Q4_1: run_blocks(q4_1, s, nb, bytes, block, dst); break;
    case AV_GGML_Q5_0: run_blocks(q5_0, s, nb, bytes, block, dst); break;
    case AV_GGML_Q5_1: run_blocks(q5_1, s, nb, bytes, block, dst); break;
    case AV_GGML_Q4_K: run_blocks(q4_k, s, nb, bytes, block, dst); break;
    case AV_GGML_Q5_K: run_blocks(q5_k, s, nb, bytes, block, dst); break;
    case AV_GGML_Q6_K: run_blocks(q6_k, s, nb, bytes, block, dst); break;
    }
    return AV_OK;
}
