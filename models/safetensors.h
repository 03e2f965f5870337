/* safetensors.h - reads Hugging Face safetensors checkpoints, single file or sharded
 * (model.safetensors.index.json), memory-mapped.
 *
 * File format: 8-byte little-endian header length N, N bytes of JSON
 * {"name": {"dtype": "F32"|"F16"|"BF16"|..., "shape": [...], "data_offsets": [b, e]},
 *  "__metadata__": {...}}, then the data block; offsets are relative to the data block.
 * Everything the format promises is validated on open (header length bound, JSON object,
 * known dtype, shape x dtype size == byte length, offsets inside the file, no overlap,
 * no duplicate names); any violation is an AV_ERR naming the file and the tensor.
 * An av_safetensors owns its mappings; av_safetensors_close frees them. Tensor data
 * pointers stay valid until then. */
#ifndef AV_MODELS_SAFETENSORS_H
#define AV_MODELS_SAFETENSORS_H
#include <stddef.h>
#include <stdint.h>
#include "base/util.h"
#include "models/tensor.h"

/* The dtypes after AV_ST_BOOL were added for the rest of the format's list: they are read
 * as opaque data (no conversion), so a checkpoint holding one still opens. */
typedef enum { AV_ST_F32, AV_ST_F16, AV_ST_BF16, AV_ST_F64, AV_ST_I64, AV_ST_I32, AV_ST_I16,
               AV_ST_I8, AV_ST_U8, AV_ST_BOOL, AV_ST_U16, AV_ST_U32, AV_ST_U64, AV_ST_F8_E4M3,
               AV_ST_F8_E5M2 } av_st_dtype;
#define AV_ST_MAXDIM 8

typedef struct {
    char *name;
    av_st_dtype dtype;
    int ndim;
    int64_t shape[AV_ST_MAXDIM];
    int64_t numel;
    const void *data;       /* into the mapping of its shard; NOT necessarily aligned for
                             * its dtype (the header length is free): read through memcpy
                             * or av_st_to_f32 */
    size_t nbytes;
    const char *file;       /* the shard it lives in (for messages) */
} av_st_tensor;

typedef struct {
    av_st_tensor *tensors;
    int count;
    av_mmap *maps;          /* one per shard */
    char **files;
    int nfiles;
    char *index_json;       /* path of model.safetensors.index.json when sharded, else NULL.
                             * tensors[] is sorted by name: av_safetensors_find bsearches it */
} av_safetensors;

/* Opens path: a .safetensors file, a model.safetensors.index.json, or a model folder
 * (model.safetensors, else model.safetensors.index.json). */
int av_safetensors_open(const char *path, av_safetensors *st);
void av_safetensors_close(av_safetensors *st);
/* Exact-name lookup, NULL when absent (no error set). */
const av_st_tensor *av_safetensors_find(const av_safetensors *st, const char *name);
/* Converts a float tensor (F32, F16, BF16) to f32 into out[numel]. */
int av_st_to_f32(const av_st_tensor *t, float *out);
const char *av_st_dtype_name(av_st_dtype t);   /* "F32", ... */
size_t av_st_dtype_size(av_st_dtype t);
/* Opens path like av_safetensors_open and presents its F32/F16/BF16 tensors as an
 * av_weights (tensor.h) that owns the mappings: what the model loader reads. Tensors of
 * other dtypes (integer buffers such as BERT's position_ids) are left out of the set. */
int av_safetensors_weights(const char *path, av_weights *w);
/* Parses a safetensors image held in memory (for the fuzz target and tests); name is
 * used in messages. The buffer must outlive st. */
int av_safetensors_parse(const uint8_t *data, size_t size, const char *name, av_safetensors *st);
#endif
