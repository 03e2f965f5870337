/* dequant.h - the ggml tensor types of GGUF files: their numbers, names and block
 * geometry, and dequantization to float32 of the types published GGUF models use.
 *
 * A ggml type stores its elements in blocks: block_size elements in block_bytes bytes
 * (1 element for the plain float types). A row of a tensor is always a whole number of
 * blocks, so any row range starts on a block boundary. Quantized blocks hold one or two
 * float16 scales and packed small integers; the layouts follow ggml's published
 * definitions (ggml-common.h, gguf-py's quants.py):
 *   Q8_0  d:f16, q[32]:i8                                  x = d*q
 *   Q4_0  d:f16, qs[16] (4 bit)                            x = d*(q-8)
 *   Q4_1  d:f16, m:f16, qs[16] (4 bit)                     x = d*q + m
 *   Q5_0  d:f16, qh:u32 (5th bits), qs[16]                 x = d*(q-16)
 *   Q5_1  d:f16, m:f16, qh:u32, qs[16]                     x = d*q + m
 *   Q4_K  256 elements: d, dmin:f16, 12 bytes of eight 6-bit scales and mins, qs[128]
 *                                                          x = d*sc*q - dmin*m
 *   Q5_K  as Q4_K plus qh[32] (5th bits)                   x = d*sc*q - dmin*m
 *   Q6_K  ql[128], qh[64], scales[16]:i8, d:f16            x = d*sc*(q-32)
 * In the 32-element types, element i < 16 is the low nibble of qs[i] and element
 * i + 16 its high nibble. The products are rounded in the order gguf-py's numpy code
 * rounds them (scale products first), so results equal gguf.quants.dequantize bit for bit.
 * Pure functions: nothing here allocates or keeps state. */
#ifndef AV_MODELS_DEQUANT_H
#define AV_MODELS_DEQUANT_H
#include <stddef.h>
#include <stdint.h>

/* ggml's type numbers as GGUF stores them (ggml.h's enum ggml_type). Only the named
 * ones below are dequantized; av_ggml_type_name knows the others too. */
enum {
    AV_GGML_F32 = 0, AV_GGML_F16 = 1, AV_GGML_Q4_0 = 2, AV_GGML_Q4_1 = 3, AV_GGML_Q5_0 = 6,
    AV_GGML_Q5_1 = 7, AV_GGML_Q8_0 = 8, AV_GGML_Q4_K = 12, AV_GGML_Q5_K = 13, AV_GGML_Q6_K = 14,
    AV_GGML_BF16 = 30
};

/* "Q4_K", ...; NULL for a number ggml does not define (or no longer defines). */
const char *av_ggml_type_name(int type);
/* Elements per block (1 for F32/F16/BF16), and bytes per block; 0 for an unknown type.
 * Known covers every type ggml defines, dequantizable or not, so a file can be
 * validated (and its sizes reported) before anything is converted. */
int av_ggml_block_size(int type);
size_t av_ggml_block_bytes(int type);
/* 1 when av_dequant reads the type. */
int av_ggml_can_dequant(int type);
/* "F32, F16, BF16, Q8_0, ..." : the list av_dequant reads, for messages. */
const char *av_ggml_dequant_types(void);
/* Bytes that n elements of type take: AV_ERR when the type is unknown or n is not a
 * whole number of blocks. */
int av_ggml_nbytes(int type, int64_t n, size_t *out);

/* Dequantizes n elements (a whole number of blocks, starting at a block boundary) from
 * src (no alignment needed) into dst. AV_ERR naming the type by name and number when it
 * is not one av_dequant reads, or when n is not a multiple of the block size. Large
 * ranges are split over OpenMP threads (blocks are independent: same bytes whatever the
 * thread count). */
int av_dequant(int type, const void *src, int64_t n, float *dst);
#endif
