/* tensor.h - a model's weight tensors as its file stores them, whatever the file format,
 * and their conversion to f32 a few rows at a time.
 *
 * An av_tensor describes stored bytes: F32, F16 or BF16 from safetensors, or those and
 * the block-quantized GGML types from a GGUF file. The type codes ARE the GGML type
 * numbers (ggml.h's enum ggml_type), so a GGUF reader passes its tensor type through and
 * av_dequant (models/dequant.h) takes it unchanged. The shape is in torch order: shape[0]
 * varies slowest, shape[ndim-1] fastest (a GGUF reader reverses its ne[]); a "row" is one
 * run of the last dimension, and quantized blocks never straddle rows.
 *
 * An av_weights is the set of tensors a model loader looks names up in (Hugging Face
 * names: a GGUF reader translates its own). Whoever fills it owns the bytes behind it and
 * hands av_weights_close a function that releases them; tensor data stays valid until
 * then. The forward pass keeps its av_weights open for its whole life and converts each
 * layer's tensors to f32 just before that layer runs, so f32 copies of the whole model
 * never exist at once.
 *
 * Conversion (av_tensor_rows_f32) reads F32/F16/BF16 itself; the quantized types go
 * through av_dequant (models/dequant.h), bit-identical to gguf-py's dequantization. */
#ifndef AV_MODELS_TENSOR_H
#define AV_MODELS_TENSOR_H
#include <stddef.h>
#include <stdint.h>

typedef enum {
    AV_WT_F32 = 0,
    AV_WT_F16 = 1,
    AV_WT_Q4_0 = 2,
    AV_WT_Q4_1 = 3,
    AV_WT_Q5_0 = 6,
    AV_WT_Q5_1 = 7,
    AV_WT_Q8_0 = 8,
    AV_WT_Q4_K = 12,
    AV_WT_Q5_K = 13,
    AV_WT_Q6_K = 14,
    AV_WT_BF16 = 30,
} av_wtype;

#define AV_TENSOR_MAXDIM 8

typedef struct {
    const char *name;       /* Hugging Face name; owned by the av_weights holding it */
    const char *file;       /* the file it lives in (messages) */
    av_wtype type;
    int ndim;
    int64_t shape[AV_TENSOR_MAXDIM];
    const void *data;       /* stored bytes; need not be aligned for the type */
    size_t nbytes;
} av_tensor;

/* "F32", "F16", "BF16", "Q8_0", ...; "?" for a code outside av_wtype. */
const char *av_wtype_name(int type);
/* Elements per block and bytes per block of a type (1 and 4 for F32); AV_ERR (message
 * set) for a code outside av_wtype. What a reader validates its byte counts with. */
int av_wtype_block(int type, int64_t *elems, size_t *bytes);
/* 1 when av_tensor_rows_f32 can convert the type in this build. */
int av_wtype_readable(int type);

int64_t av_tensor_numel(const av_tensor *t);
/* Rows of the last dimension (product of shape[0..ndim-2]; 1 for a vector) and its length. */
int64_t av_tensor_rows(const av_tensor *t);
int64_t av_tensor_cols(const av_tensor *t);
/* Checks that the type is known, the row length a whole number of blocks and nbytes
 * what shape x type need; AV_ERR naming the file and the tensor otherwise. */
int av_tensor_check(const av_tensor *t);
/* Converts rows [row0, row0 + nrows) to f32 into out[nrows * cols]. AV_ERR (naming the
 * tensor) for rows outside it or a type this build cannot read. Parallel inside (OpenMP)
 * for large ranges; bit-exact (F16/BF16 widen exactly). */
int av_tensor_rows_f32(const av_tensor *t, int64_t row0, int64_t nrows, float *out);
/* "[a, b, c]" into buf. */
const char *av_tensor_shape_str(int ndim, const int64_t *shape, char *buf, size_t n);

typedef struct av_weights {
    av_tensor *tensors;     /* malloc'ed by the reader, freed by av_weights_close; sorted
                             * by name (strcmp) after av_weights_finish */
    int count;
    const char *path;       /* the model file or folder (messages) */
    void *owner;            /* what holds the bytes (a mapping, a parsed file) */
    void (*release)(void *owner);   /* frees owner, the names and the data; NULL: nothing */
} av_weights;

/* Exact-name lookup; NULL when absent (no error set). */
const av_tensor *av_weights_find(const av_weights *w, const char *name);
/* Sorts w->tensors by name and rejects duplicates and tensors failing av_tensor_check:
 * the last step of every reader that fills an av_weights. */
int av_weights_finish(av_weights *w);
/* Calls release(owner) and clears w; safe on a zeroed or already closed set. */
void av_weights_close(av_weights *w);
#endif
