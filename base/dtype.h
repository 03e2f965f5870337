/* dtype.h - the element types of the run folder's arrays and the 16-bit float formats
 * of checkpoints: names, sizes, and IEEE half / bfloat16 <-> float conversion (round to
 * nearest even on the way down). The base layer: includes nothing of ours. */
#ifndef AV_BASE_DTYPE_H
#define AV_BASE_DTYPE_H
#include <stddef.h>
#include <stdint.h>

typedef enum { AV_DT_F32 = 0, AV_DT_F16 = 1, AV_DT_I32 = 2 } av_dtype;

const char *av_dtype_name(av_dtype t);   /* "f32", "f16", "i32" */
size_t av_dtype_size(av_dtype t);
int av_dtype_parse(const char *name, av_dtype *out); /* accepts f32/f16/i32 */

float av_f16_to_f32(uint16_t h);
uint16_t av_f32_to_f16(float f);
float av_bf16_to_f32(uint16_t b);
uint16_t av_f32_to_bf16(float f);
#endif
