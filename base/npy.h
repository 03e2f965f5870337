/* npy.h - NumPy .npy files (format 1.0; 2.0 read too): the run folder's array container.
 * Supported dtypes: <f4, <f2, <i4, C order. Readers memory-map the file, so a
 * 10 GB q.npy costs nothing until touched. */
#ifndef AV_BASE_NPY_H
#define AV_BASE_NPY_H
#include <stddef.h>
#include <stdint.h>
#include "base/dtype.h"
#include "base/util.h"

#define AV_NPY_MAXDIM 8

typedef struct {
    av_dtype dtype;
    int ndim;
    int64_t shape[AV_NPY_MAXDIM];
    int64_t count;       /* product of shape */
    const void *data;    /* points into the mapping */
    av_mmap map;
} av_npy;

/* Maps path and validates the header against the file size. */
int av_npy_open(const char *path, av_npy *a);
void av_npy_close(av_npy *a);
/* Element i as float, whatever the dtype. */
float av_npy_get_f32(const av_npy *a, int64_t i);

/* Writes a whole array atomically (temporary name, then rename). */
int av_npy_write(const char *path, av_dtype dtype, int ndim, const int64_t *shape, const void *data);

/* Streaming writer for arrays too large to hold: header first, then append raw
 * elements in C order; commit checks the count and renames into place. */
typedef struct {
    av_atomic_file file;
    av_dtype dtype;
    int64_t expected, written;
} av_npy_writer;
int av_npy_writer_open(av_npy_writer *w, const char *path, av_dtype dtype, int ndim, const int64_t *shape);
int av_npy_writer_append(av_npy_writer *w, const void *data, int64_t count);
int av_npy_writer_commit(av_npy_writer *w);
void av_npy_writer_abort(av_npy_writer *w);
/* Writes the npy header for (dtype, shape) into out (caller's buffer, >= 256 bytes); returns its length. */
size_t av_npy_header(char *out, size_t cap, av_dtype dtype, int ndim, const int64_t *shape);
#endif
