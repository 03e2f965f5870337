/* tensor.c - stored weight tensors and their row-wise conversion to f32 (tensor.h): the
 * float types here, the block-quantized ones through av_dequant (models/dequant.h). */
#include "models/tensor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/dtype.h"
#include "base/util.h"
#include "models/dequant.h"

typedef struct {
    int type;
    const char *name;
    int64_t elems;
    size_t bytes;
} type_info;

/* Block sizes from the GGML format's definitions (ggml-common.h): 32-element blocks for
 * the legacy quants, 256-element super-blocks for the K quants. */
static const type_info types[] = {
    {AV_WT_F32, "F32", 1, 4},       {AV_WT_F16, "F16", 1, 2},       {AV_WT_BF16, "BF16", 1, 2},
    {AV_WT_Q4_0, "Q4_0", 32, 18},   {AV_WT_Q4_1, "Q4_1", 32, 20},   {AV_WT_Q5_0, "Q5_0", 32, 22},
    {AV_WT_Q5_1, "Q5_1", 32, 24},   {AV_WT_Q8_0, "Q8_0", 32, 34},   {AV_WT_Q4_K, "Q4_K", 256, 144},
    {AV_WT_Q5_K, "Q5_K", 256, 176}, {AV_WT_Q6_K, "Q6_K", 256, 210},
};

static const type_info *info(int type) {
    for (size_t i = 0; i < sizeof types / sizeof *types; i++)
        if (types[i].type == type) return &types[i];
    return NULL;
}

const char *av_wtype_name(int type) {
    const type_info *t = info(type);
    return t ? t->name : "?";
}

int av_wtype_block(int type, int64_t *elems, size_t *bytes) {
    const type_info *t = info(type);
    if (!t) return av_fail("tensor type %d is not one attnviz reads (F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, "
                           "Q8_0, Q4_K, Q5_K, Q6_K)", type);
    *elems = t->elems;
    *bytes = t->bytes;
    return AV_OK;
}

int av_wtype_readable(int type) { return info(type) && av_ggml_can_dequant(type); }

int64_t av_tensor_numel(const av_tensor *t) {
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
    return n;
}

int64_t av_tensor_cols(const av_tensor *t) { return t->ndim > 0 ? t->shape[t->ndim - 1] : 1; }

int64_t av_tensor_rows(const av_tensor *t) {
    int64_t n = 1;
    for (int i = 0; i + 1 < t->ndim; i++) n *= t->shape[i];
    return n;
}

const char *av_tensor_shape_str(int ndim, const int64_t *shape, char *buf, size_t n) {
    size_t at = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < ndim && at < n; i++)
        at += (size_t)snprintf(buf + at, n - at, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (at < n) snprintf(buf + at, n - at, "]");
    return buf;
}

int av_tensor_check(const av_tensor *t) {
    const type_info *ti = info(t->type);
    if (!ti) return av_fail("%s: tensor '%s' has type %d, not one attnviz reads", t->file, t->name, (int)t->type);
    if (t->ndim < 0 || t->ndim > AV_TENSOR_MAXDIM)
        return av_fail("%s: tensor '%s' has %d dimensions", t->file, t->name, t->ndim);
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) {
        if (t->shape[i] < 0 || (t->shape[i] && n > INT64_MAX / t->shape[i]))
            return av_fail("%s: tensor '%s' has an impossible shape", t->file, t->name);
        n *= t->shape[i];
    }
    if (av_tensor_cols(t) % ti->elems) {
        char s[160];
        return av_fail("%s: tensor '%s' of type %s has rows of %lld values, not a multiple of its %lld-value blocks "
                       "(shape %s)", t->file, t->name, ti->name, (long long)av_tensor_cols(t), (long long)ti->elems,
                       av_tensor_shape_str(t->ndim, t->shape, s, sizeof s));
    }
    if ((uint64_t)(n / ti->elems) > SIZE_MAX / ti->bytes || (size_t)(n / ti->elems) * ti->bytes != t->nbytes) {
        char s[160];
        return av_fail("%s: tensor '%s': shape %s of type %s needs %llu bytes, the file gives %zu", t->file, t->name,
                       av_tensor_shape_str(t->ndim, t->shape, s, sizeof s), ti->name,
                       (unsigned long long)(n / ti->elems) * ti->bytes, t->nbytes);
    }
    if (n && !t->data) return av_fail("%s: tensor '%s' has no data", t->file, t->name);
    return AV_OK;
}

/* Below this many values a conversion runs on one thread: the team costs more. */
#define PAR_MIN 65536

int av_tensor_rows_f32(const av_tensor *t, int64_t row0, int64_t nrows, float *out) {
    int64_t rows = av_tensor_rows(t), cols = av_tensor_cols(t);
    if (row0 < 0 || nrows < 0 || row0 > rows || nrows > rows - row0)
        return av_fail("%s: tensor '%s': rows %lld..%lld asked of %lld", t->file, t->name, (long long)row0,
                       (long long)(row0 + nrows), (long long)rows);
    int64_t n = nrows * cols, first = row0 * cols;
    const uint8_t *p = t->data;
    /* memcpy per element: the stored bytes need not be aligned (tensor.h). */
    switch (t->type) {
    case AV_WT_F32:
        if (n) memcpy(out, p + first * 4, (size_t)n * 4);
        return AV_OK;
    case AV_WT_F16:
#pragma omp parallel for schedule(static) if (n >= PAR_MIN)
        for (int64_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, p + 2 * (first + i), 2);
            out[i] = av_f16_to_f32(h);
        }
        return AV_OK;
    case AV_WT_BF16:
#pragma omp parallel for schedule(static) if (n >= PAR_MIN)
        for (int64_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, p + 2 * (first + i), 2);
            out[i] = av_bf16_to_f32(h);
        }
        return AV_OK;
    default: {
        /* the block-quantized types: rows are whole blocks, so a row range is a byte range */
        const type_info *ti = info(t->type);
        if (!ti || !av_ggml_can_dequant(t->type))
            return av_fail("%s: tensor '%s' has type %s, which is not readable in this build", t->file, t->name,
                           av_wtype_name(t->type));
        const size_t row_bytes = (size_t)(cols / ti->elems) * ti->bytes;
        if (av_dequant(t->type, p + (size_t)row0 * row_bytes, n, out)) {
            char why[512];
            snprintf(why, sizeof why, "%s", av_last_error());
            return av_fail("%s: tensor '%s': %s", t->file, t->name, why);
        }
        return AV_OK;
    }
    }
}

static int by_name(const void *a, const void *b) {
    return strcmp(((const av_tensor *)a)->name, ((const av_tensor *)b)->name);
}

const av_tensor *av_weights_find(const av_weights *w, const char *name) {
    if (!w->tensors || !name) return NULL;
    av_tensor key;
    key.name = name;
    return bsearch(&key, w->tensors, (size_t)w->count, sizeof key, by_name);
}

int av_weights_finish(av_weights *w) {
    if (w->count > 1) qsort(w->tensors, (size_t)w->count, sizeof *w->tensors, by_name);
    for (int i = 0; i < w->count; i++) {
        if (av_tensor_check(&w->tensors[i])) return AV_ERR;
        if (i && !strcmp(w->tensors[i].name, w->tensors[i - 1].name))
            return av_fail("%s: tensor '%s' appears twice", w->tensors[i].file, w->tensors[i].name);
    }
    return AV_OK;
}

void av_weights_close(av_weights *w) {
    if (w->release) w->release(w->owner);
    free(w->tensors);
    memset(w, 0, sizeof *w);
}
