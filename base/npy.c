/* npy.c - see npy.h. Header format: "\x93NUMPY", major, minor, header length
 * (u16 for 1.0, u32 for 2.0), then a Python dict literal padded with spaces to a
 * multiple of 64 bytes and ended by '\n'. */
#include "base/npy.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *npy_descr(av_dtype t) {
    switch (t) {
    case AV_DT_F32: return "<f4";
    case AV_DT_F16: return "<f2";
    case AV_DT_I32: return "<i4";
    }
    return "?";
}

size_t av_npy_header(char *out, size_t cap, av_dtype dtype, int ndim, const int64_t *shape) {
    char dict[512];
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (", npy_descr(dtype));
    for (int i = 0; i < ndim; i++)
        n += snprintf(dict + n, sizeof dict - (size_t)n, "%lld%s", (long long)shape[i],
                      (ndim == 1 || i + 1 < ndim) ? ", " : "");
    if (ndim == 1) n -= 1; /* "(5,)" not "(5, )" */
    n += snprintf(dict + n, sizeof dict - (size_t)n, "), }");
    size_t total = 10 + (size_t)n + 1;
    size_t padded = (total + 63) / 64 * 64;
    if (padded > cap) return 0;
    memcpy(out, "\x93NUMPY\x01\x00", 8);
    uint16_t hl = (uint16_t)(padded - 10);
    out[8] = (char)(hl & 0xff);
    out[9] = (char)(hl >> 8);
    memcpy(out + 10, dict, (size_t)n);
    memset(out + 10 + n, ' ', padded - total);
    out[padded - 1] = '\n';
    return padded;
}

static int parse_header(const char *path, const char *h, size_t hl, av_npy *a) {
    char buf[1024];
    if (hl >= sizeof buf) return av_fail("%s: npy header too long", path);
    memcpy(buf, h, hl);
    buf[hl] = 0;
    const char *d = strstr(buf, "'descr':");
    if (!d) return av_fail("%s: npy header has no descr", path);
    d = strchr(d + 8, '\'');
    if (!d) return av_fail("%s: npy header descr malformed", path);
    if (!strncmp(d, "'<f4'", 5)) a->dtype = AV_DT_F32;
    else if (!strncmp(d, "'<f2'", 5)) a->dtype = AV_DT_F16;
    else if (!strncmp(d, "'<i4'", 5)) a->dtype = AV_DT_I32;
    else return av_fail("%s: unsupported npy dtype (need <f4, <f2 or <i4)", path);
    const char *fo = strstr(buf, "'fortran_order':");
    if (!fo) return av_fail("%s: npy header has no fortran_order", path);
    fo += 16;
    while (*fo == ' ') fo++;
    if (strncmp(fo, "False", 5)) return av_fail("%s: Fortran-order arrays are not supported", path);
    const char *s = strstr(buf, "'shape':");
    if (!s) return av_fail("%s: npy header has no shape", path);
    s = strchr(s, '(');
    if (!s) return av_fail("%s: npy shape malformed", path);
    s++;
    a->ndim = 0;
    a->count = 1;
    for (;;) {
        while (*s == ' ' || *s == ',') s++;
        if (*s == ')') break;
        char *end;
        long long v = strtoll(s, &end, 10);
        if (end == s || v < 0) return av_fail("%s: npy shape malformed", path);
        if (a->ndim == AV_NPY_MAXDIM) return av_fail("%s: npy array has too many dimensions", path);
        a->shape[a->ndim++] = v;
        if (v && a->count > INT64_MAX / v) return av_fail("%s: npy shape overflows", path);
        a->count *= v;
        s = end;
    }
    return AV_OK;
}

int av_npy_open(const char *path, av_npy *a) {
    memset(a, 0, sizeof *a);
    if (av_mmap_open(path, &a->map) != AV_OK) return AV_ERR;
    const uint8_t *p = a->map.data;
    size_t n = a->map.size;
    if (n < 10 || memcmp(p, "\x93NUMPY", 6)) {
        av_npy_close(a);
        return av_fail("%s: not a .npy file", path);
    }
    size_t hl, off;
    if (p[6] == 1) {
        hl = (size_t)p[8] | ((size_t)p[9] << 8);
        off = 10;
    } else if (p[6] == 2 || p[6] == 3) {
        if (n < 12) { av_npy_close(a); return av_fail("%s: truncated .npy header", path); }
        hl = (size_t)p[8] | ((size_t)p[9] << 8) | ((size_t)p[10] << 16) | ((size_t)p[11] << 24);
        off = 12;
    } else {
        av_npy_close(a);
        return av_fail("%s: unsupported .npy version %d", path, p[6]);
    }
    if (off + hl > n) { av_npy_close(a); return av_fail("%s: truncated .npy header", path); }
    if (parse_header(path, (const char *)p + off, hl, a) != AV_OK) {
        av_npy_close(a);
        return AV_ERR;
    }
    size_t need = (size_t)a->count * av_dtype_size(a->dtype);
    if (n - off - hl != need) {
        av_npy_close(a);
        return av_fail("%s: data is %zu bytes, shape needs %zu", path, n - off - hl, need);
    }
    a->data = p + off + hl;
    return AV_OK;
}

void av_npy_close(av_npy *a) { av_mmap_close(&a->map); a->data = NULL; }

float av_npy_get_f32(const av_npy *a, int64_t i) {
    switch (a->dtype) {
    case AV_DT_F32: return ((const float *)a->data)[i];
    case AV_DT_F16: return av_f16_to_f32(((const uint16_t *)a->data)[i]);
    case AV_DT_I32: return (float)((const int32_t *)a->data)[i];
    }
    return 0.0f;
}

int av_npy_writer_open(av_npy_writer *w, const char *path, av_dtype dtype, int ndim, const int64_t *shape) {
    char hdr[1024];
    size_t hl = av_npy_header(hdr, sizeof hdr, dtype, ndim, shape);
    if (!hl) return av_fail("%s: npy header too long", path);
    w->dtype = dtype;
    w->expected = 1;
    for (int i = 0; i < ndim; i++) w->expected *= shape[i];
    w->written = 0;
    if (av_atomic_open(&w->file, path) != AV_OK) return AV_ERR;
    errno = 0;
    if (fwrite(hdr, 1, hl, w->file.f) != hl) {
        int e = errno;
        av_atomic_abort(&w->file);
        return av_fail("%s: write failed: %s (nothing written)", path, av_write_reason(e));
    }
    return AV_OK;
}

int av_npy_writer_append(av_npy_writer *w, const void *data, int64_t count) {
    if (w->written + count > w->expected) return av_fail("%s: more data than the shape holds", w->file.path);
    size_t bytes = (size_t)count * av_dtype_size(w->dtype);
    errno = 0;
    if (bytes && fwrite(data, 1, bytes, w->file.f) != bytes)
        return av_fail("%s: write failed: %s", w->file.path, av_write_reason(errno));
    w->written += count;
    return AV_OK;
}

int av_npy_writer_commit(av_npy_writer *w) {
    if (w->written != w->expected) {
        av_npy_writer_abort(w);
        return av_fail("%s: wrote %lld of %lld elements", w->file.path, (long long)w->written,
                       (long long)w->expected);
    }
    return av_atomic_commit(&w->file);
}

void av_npy_writer_abort(av_npy_writer *w) { av_atomic_abort(&w->file); }

int av_npy_write(const char *path, av_dtype dtype, int ndim, const int64_t *shape, const void *data) {
    av_npy_writer w;
    if (av_npy_writer_open(&w, path, dtype, ndim, shape) != AV_OK) return AV_ERR;
    if (av_npy_writer_append(&w, data, w.expected) != AV_OK) {
        av_npy_writer_abort(&w);
        return AV_ERR;
    }
    return av_npy_writer_commit(&w);
}
