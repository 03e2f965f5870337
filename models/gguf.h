/* gguf.h - reads GGUF files (llama.cpp's model format, versions 2 and 3), memory-mapped.
 *
 * File layout (all little-endian): "GGUF", u32 version, u64 tensor count, u64 metadata
 * count; the metadata key/values (key: u64 length + bytes; u32 value type; the value,
 * where a string is u64 length + bytes and an array is u32 element type + u64 count +
 * elements, arrays of arrays allowed); the tensor infos (name, u32 ndim, u64 ne[ndim],
 * u32 ggml type, u64 offset); padding to general.alignment (u32, default 32); the data
 * section, where each tensor starts at its offset (a multiple of the alignment).
 * Version 3 differs from 2 only in allowing big-endian files, which are refused here.
 *
 * A GGUF file is untrusted input: every count, length, offset, dimension, size and type
 * is checked against the file before it is used, and any violation is one AV_ERR line
 * naming the file and the fault. After a successful open, every tensor's data
 * [data, data + nbytes) lies inside the file, is a whole number of blocks of a known
 * ggml type, overlaps no other tensor, and its name is unique (so are metadata keys).
 *
 * Dimensions: GGUF lists ne[0] first, the innermost (contiguous) one. av_gguf_tensor
 * keeps that order in ne[] and also gives shape[], the same dimensions in torch order
 * (outermost first): a 2-D weight is ne = {cols, rows}, shape = {rows, cols}, and rows
 * are contiguous runs of cols elements (av_gguf_row_bytes each).
 *
 * Ownership: av_gguf owns the mapping (or borrows the caller's buffer after
 * av_gguf_parse), the key/tensor name copies and the string tables; av_gguf_close frees
 * them. Every pointer handed out stays valid until then. */
#ifndef AV_MODELS_GGUF_H
#define AV_MODELS_GGUF_H
#include <stddef.h>
#include <stdint.h>
#include "base/util.h"

/* Metadata value types, numbered as in the file. */
typedef enum {
    AV_GGUF_U8 = 0, AV_GGUF_I8 = 1, AV_GGUF_U16 = 2, AV_GGUF_I16 = 3, AV_GGUF_U32 = 4, AV_GGUF_I32 = 5,
    AV_GGUF_F32 = 6, AV_GGUF_BOOL = 7, AV_GGUF_STRING = 8, AV_GGUF_ARRAY = 9, AV_GGUF_U64 = 10,
    AV_GGUF_I64 = 11, AV_GGUF_F64 = 12
} av_gguf_vtype;

/* A string inside the file: n bytes at s, NOT NUL-terminated (GGUF strings are
 * length-prefixed and may hold any byte). */
typedef struct { const char *s; size_t n; } av_gguf_str;

typedef struct {
    char *key;              /* NUL-terminated copy (keys holding a NUL byte are refused) */
    av_gguf_vtype type;     /* the value's type; AV_GGUF_ARRAY for arrays */
    av_gguf_vtype elem;     /* arrays: the element type (AV_GGUF_ARRAY for nested arrays) */
    uint64_t count;         /* arrays: number of elements; scalars: 1 */
    const uint8_t *data;    /* numbers and bools (scalar or array): the raw little-endian
                             * value(s) in the file, unaligned; nested arrays: their start */
    av_gguf_str *strs;      /* strings: strs[0]; arrays of strings: strs[count] */
} av_gguf_kv;

#define AV_GGUF_MAXDIM 4

typedef struct {
    char *name;             /* NUL-terminated copy */
    int type;               /* ggml type number (models/dequant.h) */
    int ndim;               /* 0..4 (0: a scalar, numel 1) */
    int64_t ne[AV_GGUF_MAXDIM];    /* GGUF order, ne[0] innermost; unused ones are 1 */
    int64_t shape[AV_GGUF_MAXDIM]; /* torch order: shape[i] = ne[ndim - 1 - i] */
    int64_t numel;
    uint64_t offset;        /* from the start of the data section */
    const void *data;       /* inside the file; aligned to the file's alignment relative to
                             * the file start (so 32-byte aligned in a mapping) */
    size_t nbytes;
} av_gguf_tensor;

typedef struct {
    char *path;             /* the name messages use */
    uint32_t version;       /* 2 or 3 */
    uint32_t alignment;     /* general.alignment, or 32 */
    const uint8_t *base;    /* the file's bytes */
    size_t size;
    av_gguf_kv *kvs;        /* file order */
    int nkv;
    av_gguf_tensor *tensors;/* file order */
    int ntensors;
    uint64_t data_offset;   /* where the data section starts in the file */
    int *kv_sorted, *tensor_sorted; /* indices sorted by key / name, for lookups */
    int mapped;             /* 1: base is our mapping (unmapped by close) */
} av_gguf;

/* Maps path (a private, read-only mapping) and validates it. */
int av_gguf_open(const char *path, av_gguf *g);
/* Makes the bytes of tensor t of an av_gguf_open'ed file writable and returns them in
 * *out: the pages holding them turn copy-on-write (the file is never modified; only
 * the pages actually written cost memory, and only they count against the system's
 * commit limit, unlike a writable mapping of the whole file). AV_ERR for a buffer
 * given to av_gguf_parse. */
int av_gguf_writable(av_gguf *g, const av_gguf_tensor *t, void **out);
/* Validates a GGUF image held in memory (fuzzing, tests); name is used in messages. The
 * buffer must outlive g and is never written. */
int av_gguf_parse(const uint8_t *data, size_t size, const char *name, av_gguf *g);
void av_gguf_close(av_gguf *g);

/* Exact-name lookups; NULL when absent (no error set). */
const av_gguf_tensor *av_gguf_find(const av_gguf *g, const char *name);
const av_gguf_kv *av_gguf_find_kv(const av_gguf *g, const char *key);
int av_gguf_has(const av_gguf *g, const char *key);

/* Typed scalar getters. AV_OK with *out set, or AV_ERR with a message naming the file
 * and the key when the key is absent, holds another kind of value, or does not fit:
 *   integers: any of U8..I64 whose value fits the requested type;
 *   f32/f64: F32 or F64 (and integers, converted), F64 narrowed to float for f32;
 *   bool: BOOL only; string: STRING only. */
int av_gguf_get_u32(const av_gguf *g, const char *key, uint32_t *out);
int av_gguf_get_i32(const av_gguf *g, const char *key, int32_t *out);
int av_gguf_get_u64(const av_gguf *g, const char *key, uint64_t *out);
int av_gguf_get_i64(const av_gguf *g, const char *key, int64_t *out);
int av_gguf_get_f32(const av_gguf *g, const char *key, float *out);
int av_gguf_get_f64(const av_gguf *g, const char *key, double *out);
int av_gguf_get_bool(const av_gguf *g, const char *key, int *out);
int av_gguf_get_str(const av_gguf *g, const char *key, av_gguf_str *out);
/* The string as a fresh NUL-terminated copy the caller frees; AV_ERR also when the
 * string holds a NUL byte. */
int av_gguf_get_cstr(const av_gguf *g, const char *key, char **out);

/* Arrays: element type and count (AV_ERR when absent or not an array). */
int av_gguf_get_array(const av_gguf *g, const char *key, av_gguf_vtype *elem, uint64_t *count);
/* Element i of an array, looked up once with av_gguf_find_kv. AV_ERR (naming the file
 * and key) when kv is not an array of that kind or i >= count:
 *   str: arrays of STRING; i64: arrays of any integer type (U64 above INT64_MAX fails);
 *   f32: arrays of any number type (F32, F64, integers) converted to float;
 *   bool: arrays of BOOL. */
int av_gguf_arr_str(const av_gguf *g, const av_gguf_kv *kv, uint64_t i, av_gguf_str *out);
int av_gguf_arr_i64(const av_gguf *g, const av_gguf_kv *kv, uint64_t i, int64_t *out);
int av_gguf_arr_f32(const av_gguf *g, const av_gguf_kv *kv, uint64_t i, float *out);
int av_gguf_arr_bool(const av_gguf *g, const av_gguf_kv *kv, uint64_t i, int *out);

/* Bytes of one row (ne[0] elements) of t. */
size_t av_gguf_row_bytes(const av_gguf_tensor *t);
/* Dequantizes t whole into out[numel] (models/dequant.h's types; AV_ERR naming the file,
 * the tensor and its type otherwise). */
int av_gguf_to_f32(const av_gguf *g, const av_gguf_tensor *t, float *out);

/* "UINT32", "STRING", ... as gguf-py names the value types. */
const char *av_gguf_vtype_name(av_gguf_vtype t);
#endif
