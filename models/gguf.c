/* gguf.c - the GGUF reader of gguf.h: a bounds-checked cursor over the file, the
 * metadata and tensor-info parsers, the layout checks of the data section, lookups and
 * the typed getters.
 *
 * Every read goes through the cursor, which refuses to step past the end, and every
 * count is compared with the bytes left BEFORE anything is allocated for it (each
 * element needs at least a known number of bytes), so a lying count costs an error
 * message, never a large allocation. */
#include "models/gguf.h"

#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "models/dequant.h"

/* Arrays of arrays are legal; deeper than this is no model's metadata, only a way to
 * exhaust the stack. */
#define MAX_NESTING 8
#define DEFAULT_ALIGNMENT 32

const char *av_gguf_vtype_name(av_gguf_vtype t) {
    static const char *const names[] = {"UINT8", "INT8", "UINT16", "INT16", "UINT32", "INT32", "FLOAT32",
                                        "BOOL", "STRING", "ARRAY", "UINT64", "INT64", "FLOAT64"};
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "?";
}

/* Bytes of one value of a fixed-size type; 0 for STRING and ARRAY. */
static size_t vsize(av_gguf_vtype t) {
    switch (t) {
    case AV_GGUF_U8: case AV_GGUF_I8: case AV_GGUF_BOOL: return 1;
    case AV_GGUF_U16: case AV_GGUF_I16: return 2;
    case AV_GGUF_U32: case AV_GGUF_I32: case AV_GGUF_F32: return 4;
    case AV_GGUF_U64: case AV_GGUF_I64: case AV_GGUF_F64: return 8;
    default: return 0;
    }
}

/* A name as messages show it: keys and tensor names are arbitrary bytes, and a newline
 * or escape code must not break the one-line message (or the terminal). */
#define SHOWN 128
static const char *shown(const char *s, size_t n, char *buf) { return av_shown(s, n, buf, SHOWN); }

/* ---- the cursor ---------------------------------------------------------------------- */

typedef struct {
    const uint8_t *p;
    size_t size, pos;
    const char *file;
    char what[SHOWN + 64];   /* the item being read, for "truncated in ..." messages */
} cursor;

static int truncated(cursor *c, size_t need) {
    return av_fail("%s: truncated in %s: %zu bytes needed at byte %zu, the file has %zu", c->file, c->what, need,
                   c->pos, c->size);
}

static int take(cursor *c, size_t n, const uint8_t **out) {
    if (n > c->size - c->pos) return truncated(c, n);
    *out = c->p + c->pos;
    c->pos += n;
    return AV_OK;
}

static int rd_u32(cursor *c, uint32_t *v) {
    const uint8_t *b = NULL;
    if (take(c, 4, &b) != AV_OK) return AV_ERR;
    *v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    return AV_OK;
}

static int rd_u64(cursor *c, uint64_t *v) {
    uint32_t lo, hi;
    if (rd_u32(c, &lo) != AV_OK || rd_u32(c, &hi) != AV_OK) return AV_ERR;
    *v = (uint64_t)hi << 32 | lo;
    return AV_OK;
}

static size_t left(const cursor *c) { return c->size - c->pos; }

static int rd_str(cursor *c, av_gguf_str *s) {
    uint64_t n;
    if (rd_u64(c, &n) != AV_OK) return AV_ERR;
    if (n > left(c))
        return av_fail("%s: %s: string length %llu runs past the end of the file (%zu bytes left at byte %zu)", c->file,
                       c->what, (unsigned long long)n, left(c), c->pos);
    const uint8_t *b = NULL;
    take(c, (size_t)n, &b);
    s->s = (const char *)b;
    s->n = (size_t)n;
    return AV_OK;
}

/* ---- metadata values ----------------------------------------------------------------- */

static int valid_vtype(uint32_t t) { return t <= AV_GGUF_F64; }

/* Reads one value of type t. When kv is non-NULL (a top-level value or an array's
 * elements directly under it) the value is recorded there; nested arrays are only
 * validated and skipped. */
static int parse_value(cursor *c, av_gguf_vtype t, int depth, av_gguf_kv *kv) {
    size_t sz = vsize(t);
    const uint8_t *b = NULL;
    if (sz) {
        if (take(c, sz, &b) != AV_OK) return AV_ERR;
        if (t == AV_GGUF_BOOL && b[0] > 1)
            return av_fail("%s: %s: bool value %u is neither 0 nor 1", c->file, c->what, b[0]);
        if (kv) kv->data = b;
        return AV_OK;
    }
    if (t == AV_GGUF_STRING) {
        av_gguf_str s = {0};
        if (rd_str(c, &s) != AV_OK) return AV_ERR;
        if (kv) {
            kv->strs = av_malloc(sizeof *kv->strs);
            if (!kv->strs) return AV_ERR;
            kv->strs[0] = s;
        }
        return AV_OK;
    }
    /* an array */
    if (depth >= MAX_NESTING)
        return av_fail("%s: %s: arrays nested deeper than %d levels", c->file, c->what, MAX_NESTING);
    uint32_t et;
    uint64_t n;
    if (rd_u32(c, &et) != AV_OK) return AV_ERR;
    if (!valid_vtype(et)) return av_fail("%s: %s: unknown array element type %u", c->file, c->what, et);
    if (rd_u64(c, &n) != AV_OK) return AV_ERR;
    /* The least each element occupies: its size, a string's length field, a nested
     * array's type and count. */
    size_t least = vsize(et) ? vsize(et) : et == AV_GGUF_STRING ? 8 : 12;
    if (n > left(c) / least)
        return av_fail("%s: %s: array of %llu %s elements cannot fit in the %zu bytes left (at byte %zu)", c->file,
                       c->what, (unsigned long long)n, av_gguf_vtype_name(et), left(c), c->pos);
    if (kv) {
        kv->elem = et;
        kv->count = n;
        kv->data = c->p + c->pos;
    }
    if (vsize(et)) {
        take(c, (size_t)n * vsize(et), &b);
        if (et == AV_GGUF_BOOL)
            for (uint64_t i = 0; i < n; i++)
                if (b[i] > 1)
                    return av_fail("%s: %s: element %llu: bool value %u is neither 0 nor 1", c->file, c->what,
                                   (unsigned long long)i, b[i]);
        return AV_OK;
    }
    if (et == AV_GGUF_STRING) {
        av_gguf_str *strs = NULL;
        if (kv) {
            strs = av_malloc((size_t)(n ? n : 1) * sizeof *strs);
            if (!strs) return AV_ERR;
            kv->strs = strs;
        }
        for (uint64_t i = 0; i < n; i++) {
            av_gguf_str s = {0};
            if (rd_str(c, &s) != AV_OK) return AV_ERR;
            if (strs) strs[i] = s;
        }
        return AV_OK;
    }
    for (uint64_t i = 0; i < n; i++)
        if (parse_value(c, AV_GGUF_ARRAY, depth + 1, NULL) != AV_OK) return AV_ERR;
    return AV_OK;
}

/* ---- whole-file parse ---------------------------------------------------------------- */

/* Sorting by name: (name, index) pairs, so no comparison needs the object. */
typedef struct { const char *name; int idx; } named;
static int named_cmp(const void *a, const void *b) { return strcmp(((const named *)a)->name, ((const named *)b)->name); }

/* Fills *order with the indices of names[0..n) sorted by name; AV_ERR (naming `what`)
 * when two names are equal. */
static int sort_names(const av_gguf *g, const char *const *names, size_t stride, int n, int **order, const char *what) {
    named *v = av_malloc((size_t)(n ? n : 1) * sizeof *v);
    *order = av_malloc((size_t)(n ? n : 1) * sizeof **order);
    if (!v || !*order) { free(v); return AV_ERR; }
    for (int i = 0; i < n; i++) {
        v[i].name = *(const char *const *)((const char *)names + (size_t)i * stride);
        v[i].idx = i;
    }
    qsort(v, (size_t)n, sizeof *v, named_cmp);
    int rc = AV_OK;
    char nm[SHOWN];
    for (int i = 0; i < n; i++) {
        (*order)[i] = v[i].idx;
        if (i && rc == AV_OK && !strcmp(v[i - 1].name, v[i].name))
            rc = av_fail("%s: %s '%s' appears twice", g->path, what, shown(v[i].name, strlen(v[i].name), nm));
    }
    free(v);
    return rc;
}

/* A NUL-terminated copy of a key or name; NUL bytes inside are refused (C callers could
 * not tell "a\0b" from "a"). */
static char *name_copy(cursor *c, const av_gguf_str *s) {
    if (memchr(s->s, 0, s->n)) {
        char nm[SHOWN];
        av_fail("%s: %s '%s' holds a NUL byte", c->file, c->what, shown(s->s, s->n, nm));
        return NULL;
    }
    char *r = av_malloc(s->n + 1);
    if (!r) return NULL;
    memcpy(r, s->s, s->n);
    r[s->n] = 0;
    return r;
}

static int parse_kvs(cursor *c, av_gguf *g, uint64_t n) {
    /* key length (8) + type (4) + the smallest value (1) */
    if (n > left(c) / 13 || n > INT_MAX)
        return av_fail("%s: metadata count %llu cannot fit in the file (%zu bytes)", c->file, (unsigned long long)n,
                       c->size);
    g->kvs = av_calloc(n ? n : 1, sizeof *g->kvs);
    if (!g->kvs) return AV_ERR;
    char nm[SHOWN];
    for (uint64_t i = 0; i < n; i++) {
        av_gguf_kv *kv = &g->kvs[i];
        snprintf(c->what, sizeof c->what, "metadata entry %llu", (unsigned long long)i);
        av_gguf_str key;
        if (rd_str(c, &key) != AV_OK) return AV_ERR;
        snprintf(c->what, sizeof c->what, "metadata key");
        if (!(kv->key = name_copy(c, &key))) return AV_ERR;
        g->nkv = (int)i + 1;
        snprintf(c->what, sizeof c->what, "metadata '%s'", shown(key.s, key.n, nm));
        uint32_t t;
        if (rd_u32(c, &t) != AV_OK) return AV_ERR;
        if (!valid_vtype(t)) return av_fail("%s: %s: unknown value type %u", c->file, c->what, t);
        kv->type = (av_gguf_vtype)t;
        kv->elem = (av_gguf_vtype)t;
        kv->count = 1;
        if (parse_value(c, kv->type, 0, kv) != AV_OK) return AV_ERR;
    }
    return AV_OK;
}

/* general.alignment: a u32 power of two when present. */
static int read_alignment(av_gguf *g) {
    const av_gguf_kv *kv = av_gguf_find_kv(g, "general.alignment");
    g->alignment = DEFAULT_ALIGNMENT;
    if (!kv) return AV_OK;
    if (kv->type != AV_GGUF_U32)
        return av_fail("%s: metadata 'general.alignment' is %s, expected UINT32", g->path, av_gguf_vtype_name(kv->type));
    uint32_t a = (uint32_t)kv->data[0] | (uint32_t)kv->data[1] << 8 | (uint32_t)kv->data[2] << 16 |
                 (uint32_t)kv->data[3] << 24;
    if (a == 0 || (a & (a - 1)))
        return av_fail("%s: metadata 'general.alignment' = %u is not a power of two", g->path, a);
    g->alignment = a;
    return AV_OK;
}

static int parse_tensor_info(cursor *c, av_gguf *g, av_gguf_tensor *t, uint64_t idx) {
    char nm[SHOWN];
    snprintf(c->what, sizeof c->what, "tensor info %llu", (unsigned long long)idx);
    av_gguf_str name;
    if (rd_str(c, &name) != AV_OK) return AV_ERR;
    snprintf(c->what, sizeof c->what, "tensor name");
    if (!(t->name = name_copy(c, &name))) return AV_ERR;
    shown(name.s, name.n, nm);
    snprintf(c->what, sizeof c->what, "tensor '%s'", nm);
    uint32_t ndim, type;
    if (rd_u32(c, &ndim) != AV_OK) return AV_ERR;
    if (ndim > AV_GGUF_MAXDIM)
        return av_fail("%s: tensor '%s': %u dimensions (at most %d)", c->file, nm, ndim, AV_GGUF_MAXDIM);
    t->ndim = (int)ndim;
    for (int d = 0; d < AV_GGUF_MAXDIM; d++) t->ne[d] = 1;
    for (uint32_t d = 0; d < ndim; d++) {
        uint64_t v;
        if (rd_u64(c, &v) != AV_OK) return AV_ERR;
        if (v > (uint64_t)INT64_MAX)
            return av_fail("%s: tensor '%s': dimension %u is %llu (negative as a signed size)", c->file, nm, d,
                           (unsigned long long)v);
        t->ne[d] = (int64_t)v;
    }
    if (rd_u32(c, &type) != AV_OK || rd_u64(c, &t->offset) != AV_OK) return AV_ERR;
    const char *tn = av_ggml_type_name((int)type);
    if (!tn || type > INT_MAX) return av_fail("%s: tensor '%s': unknown tensor type %u", c->file, nm, type);
    t->type = (int)type;
    int64_t numel = 1;
    for (int d = 0; d < t->ndim; d++)
        if (__builtin_mul_overflow(numel, t->ne[d], &numel))
            return av_fail("%s: tensor '%s': dimensions overflow 64 bits", c->file, nm);
    /* numel may be 0 (an empty tensor); the byte size below bounds it by the file anyway */
    t->numel = numel;
    int block = av_ggml_block_size(t->type);
    if (t->ne[0] % block)
        return av_fail("%s: tensor '%s': rows of %lld elements are not a whole number of %s blocks (%d)", c->file, nm,
                       (long long)t->ne[0], tn, block);
    uint64_t nbytes;
    if (__builtin_mul_overflow((uint64_t)(numel / block), (uint64_t)av_ggml_block_bytes(t->type), &nbytes))
        return av_fail("%s: tensor '%s': byte size overflows 64 bits", c->file, nm);
    if (nbytes > c->size)
        return av_fail("%s: tensor '%s': %s x %lld elements need %llu bytes, more than the whole file (%zu)", c->file,
                       nm, tn, (long long)numel, (unsigned long long)nbytes, c->size);
    t->nbytes = (size_t)nbytes;
    if (t->offset % g->alignment)
        return av_fail("%s: tensor '%s': offset %llu is not a multiple of the alignment %u", c->file, nm,
                       (unsigned long long)t->offset, g->alignment);
    for (int d = 0; d < AV_GGUF_MAXDIM; d++) t->shape[d] = d < t->ndim ? t->ne[t->ndim - 1 - d] : 1;
    return AV_OK;
}

typedef struct { uint64_t b, e; int idx; } span;
static int span_cmp(const void *a, const void *b) {
    const span *x = a, *y = b;
    if (x->b != y->b) return x->b < y->b ? -1 : 1;
    if (x->e != y->e) return x->e < y->e ? -1 : 1;
    return 0;
}

/* Data section: every tensor inside the file, no two overlapping. */
static int check_layout(av_gguf *g) {
    char n1[SHOWN], n2[SHOWN];
    span *sp = av_malloc((size_t)(g->ntensors ? g->ntensors : 1) * sizeof *sp);
    if (!sp) return AV_ERR;
    int rc = AV_OK;
    for (int i = 0; i < g->ntensors && rc == AV_OK; i++) {
        const av_gguf_tensor *t = &g->tensors[i];
        uint64_t b = 0, e = 0;
        if (__builtin_add_overflow(g->data_offset, t->offset, &b) || __builtin_add_overflow(b, (uint64_t)t->nbytes, &e) ||
            e > g->size)
            rc = av_fail("%s: tensor '%s': data at offset %llu + %zu bytes runs past the end of the file (data section "
                         "starts at byte %llu, file has %zu bytes; truncated?)",
                         g->path, shown(t->name, strlen(t->name), n1), (unsigned long long)t->offset, t->nbytes,
                         (unsigned long long)g->data_offset, g->size);
        sp[i] = (span){b, e, i};
    }
    if (rc == AV_OK) {
        qsort(sp, (size_t)g->ntensors, sizeof *sp, span_cmp);
        uint64_t reach = 0;
        int reach_idx = -1;
        for (int i = 0; i < g->ntensors && rc == AV_OK; i++) {
            if (sp[i].b == sp[i].e) continue; /* empty tensors occupy nothing */
            if (reach_idx >= 0 && sp[i].b < reach) {
                const av_gguf_tensor *t = &g->tensors[sp[i].idx], *u = &g->tensors[reach_idx];
                rc = av_fail("%s: tensor '%s': data at offset %llu overlaps tensor '%s'", g->path,
                             shown(t->name, strlen(t->name), n1), (unsigned long long)t->offset,
                             shown(u->name, strlen(u->name), n2));
            }
            if (sp[i].e > reach) {
                reach = sp[i].e;
                reach_idx = sp[i].idx;
            }
        }
    }
    free(sp);
    for (int i = 0; i < g->ntensors && rc == AV_OK; i++)
        g->tensors[i].data = g->base + g->data_offset + g->tensors[i].offset;
    return rc;
}

static int parse(av_gguf *g) {
    cursor c = {.p = g->base, .size = g->size, .pos = 0, .file = g->path};
    snprintf(c.what, sizeof c.what, "the header");
    if (g->size < 4 || memcmp(g->base, "GGUF", 4))
        return av_fail("%s: not a GGUF file (no \"GGUF\" magic at the start)", g->path);
    c.pos = 4;
    uint32_t v;
    if (rd_u32(&c, &v) != AV_OK) return AV_ERR;
    uint32_t swapped = __builtin_bswap32(v);
    if (v != 2 && v != 3) {
        if (swapped >= 1 && swapped <= 3)
            return av_fail("%s: a big-endian GGUF file (version %u), which this reader does not support", g->path,
                           swapped);
        if (v == 1) return av_fail("%s: GGUF version 1 is not supported (versions 2 and 3 are)", g->path);
        return av_fail("%s: unknown GGUF version %u (versions 2 and 3 are read)", g->path, v);
    }
    g->version = v;
    uint64_t nt, nkv;
    if (rd_u64(&c, &nt) != AV_OK || rd_u64(&c, &nkv) != AV_OK) return AV_ERR;
    if (parse_kvs(&c, g, nkv) != AV_OK) return AV_ERR;
    if (sort_names(g, (const char *const *)&g->kvs[0].key, sizeof *g->kvs, g->nkv, &g->kv_sorted, "metadata key") !=
            AV_OK ||
        read_alignment(g) != AV_OK)
        return AV_ERR;
    /* name length (8) + ndim (4) + type (4) + offset (8) */
    if (nt > left(&c) / 24 || nt > INT_MAX)
        return av_fail("%s: tensor count %llu cannot fit in the file (%zu bytes)", g->path, (unsigned long long)nt,
                       g->size);
    g->tensors = av_calloc(nt ? nt : 1, sizeof *g->tensors);
    if (!g->tensors) return AV_ERR;
    for (uint64_t i = 0; i < nt; i++) {
        g->ntensors = (int)i + 1;
        if (parse_tensor_info(&c, g, &g->tensors[i], i) != AV_OK) return AV_ERR;
    }
    g->data_offset = (c.pos + g->alignment - 1) / g->alignment * g->alignment;
    if (sort_names(g, (const char *const *)&g->tensors[0].name, sizeof *g->tensors, g->ntensors, &g->tensor_sorted,
                   "tensor name") != AV_OK)
        return AV_ERR;
    return check_layout(g);
}

void av_gguf_close(av_gguf *g) {
    for (int i = 0; i < g->nkv; i++) {
        free(g->kvs[i].key);
        free(g->kvs[i].strs);
    }
    free(g->kvs);
    for (int i = 0; i < g->ntensors; i++) free(g->tensors[i].name);
    free(g->tensors);
    free(g->kv_sorted);
    free(g->tensor_sorted);
    if (g->mapped && g->size) munmap((void *)g->base, g->size);
    free(g->path);
    memset(g, 0, sizeof *g);
}

static int finish(av_gguf *g) {
    int rc = parse(g);
    if (rc != AV_OK) av_gguf_close(g);
    return rc;
}

int av_gguf_parse(const uint8_t *data, size_t size, const char *name, av_gguf *g) {
    memset(g, 0, sizeof *g);
    g->path = strdup(name);
    if (!g->path) return av_fail("out of memory");
    g->base = data;
    g->size = size;
    return finish(g);
}

int av_gguf_open(const char *path, av_gguf *g) {
    memset(g, 0, sizeof *g);
    g->path = strdup(path);
    if (!g->path) return av_fail("out of memory");
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        av_fail("%s: cannot open: %s", path, strerror(errno));
        av_gguf_close(g);
        return AV_ERR;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        av_fail("%s: not a regular file", path);
        av_gguf_close(g);
        return AV_ERR;
    }
    g->size = (size_t)st.st_size;
    if (g->size) {
        /* MAP_PRIVATE: pages made writable later (av_gguf_writable) become private
         * copies when written, and the file itself is never modified. */
        void *p = mmap(NULL, g->size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            close(fd);
            av_fail("%s: mmap failed: %s", path, strerror(errno));
            g->size = 0;
            av_gguf_close(g);
            return AV_ERR;
        }
        g->base = p;
        g->mapped = 1;
    }
    close(fd);
    return finish(g);
}

int av_gguf_writable(av_gguf *g, const av_gguf_tensor *t, void **out) {
    if (!g->mapped) return av_fail("%s: not a mapped file: its tensors cannot be made writable", g->path);
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t b = (size_t)((const uint8_t *)t->data - g->base), e = b + t->nbytes;
    size_t pb = b / page * page, pe = (e + page - 1) / page * page;
    if (pe > g->size) pe = g->size; /* the kernel rounds the last partial page itself */
    if (t->nbytes && mprotect((void *)(g->base + pb), pe - pb, PROT_READ | PROT_WRITE) != 0)
        return av_fail("%s: tensor '%s': cannot make its pages writable: %s", g->path, t->name, strerror(errno));
    *out = (void *)(g->base + b);
    return AV_OK;
}

/* ---- lookups ------------------------------------------------------------------------- */

const av_gguf_tensor *av_gguf_find(const av_gguf *g, const char *name) {
    int lo = 0, hi = g->ntensors - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2, i = g->tensor_sorted[mid];
        int r = strcmp(name, g->tensors[i].name);
        if (!r) return &g->tensors[i];
        if (r < 0) hi = mid - 1;
        else lo = mid + 1;
    }
    return NULL;
}

const av_gguf_kv *av_gguf_find_kv(const av_gguf *g, const char *key) {
    int lo = 0, hi = g->nkv - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2, i = g->kv_sorted[mid];
        int r = strcmp(key, g->kvs[i].key);
        if (!r) return &g->kvs[i];
        if (r < 0) hi = mid - 1;
        else lo = mid + 1;
    }
    return NULL;
}

int av_gguf_has(const av_gguf *g, const char *key) { return av_gguf_find_kv(g, key) != NULL; }

/* ---- typed values -------------------------------------------------------------------- */

/* One number as read from the file: kind 's' signed integer, 'u' unsigned, 'f' float. */
typedef struct { char kind; int64_t i; uint64_t u; double f; } num;

static int load_num(av_gguf_vtype t, const uint8_t *p, num *n) {
    uint64_t raw = 0;
    size_t sz = vsize(t);
    for (size_t k = 0; k < sz; k++) raw |= (uint64_t)p[k] << (8 * k);
    switch (t) {
    case AV_GGUF_U8: case AV_GGUF_U16: case AV_GGUF_U32: case AV_GGUF_U64: n->kind = 'u'; n->u = raw; return 1;
    case AV_GGUF_I8: n->kind = 's'; n->i = (int8_t)raw; return 1;
    case AV_GGUF_I16: n->kind = 's'; n->i = (int16_t)raw; return 1;
    case AV_GGUF_I32: n->kind = 's'; n->i = (int32_t)raw; return 1;
    case AV_GGUF_I64: n->kind = 's'; n->i = (int64_t)raw; return 1;
    case AV_GGUF_F32: { uint32_t w = (uint32_t)raw; float f; memcpy(&f, &w, 4); n->kind = 'f'; n->f = f; return 1; }
    case AV_GGUF_F64: { double d; memcpy(&d, &raw, 8); n->kind = 'f'; n->f = d; return 1; }
    default: return 0;
    }
}

static const av_gguf_kv *need(const av_gguf *g, const char *key) {
    const av_gguf_kv *kv = av_gguf_find_kv(g, key);
    if (!kv) av_fail("%s: metadata key '%s' is missing", g->path, key);
    return kv;
}

static int wrong_type(const av_gguf *g, const char *key, const av_gguf_kv *kv, const char *want) {
    if (kv->type == AV_GGUF_ARRAY)
        return av_fail("%s: metadata '%s' is an array of %s, expected %s", g->path, key, av_gguf_vtype_name(kv->elem),
                       want);
    return av_fail("%s: metadata '%s' is %s, expected %s", g->path, key, av_gguf_vtype_name(kv->type), want);
}

/* An integer value in [lo, hi] (signed view) or [0, uhi] (unsigned view). */
static int get_int(const av_gguf *g, const char *key, int64_t lo, uint64_t uhi, int64_t *si, uint64_t *ui,
                   const char *want) {
    const av_gguf_kv *kv = need(g, key);
    if (!kv) return AV_ERR;
    num n;
    if (kv->type == AV_GGUF_ARRAY || !load_num(kv->type, kv->data, &n) || n.kind == 'f')
        return wrong_type(g, key, kv, want);
    int ok = n.kind == 'u' ? n.u <= uhi : n.i >= lo && (n.i < 0 || (uint64_t)n.i <= uhi);
    if (!ok) {
        if (n.kind == 'u')
            return av_fail("%s: metadata '%s' = %llu does not fit %s", g->path, key, (unsigned long long)n.u, want);
        return av_fail("%s: metadata '%s' = %lld does not fit %s", g->path, key, (long long)n.i, want);
    }
    if (si) *si = n.kind == 'u' ? (int64_t)n.u : n.i;
    if (ui) *ui = n.kind == 'u' ? n.u : (uint64_t)n.i;
    return AV_OK;
}

int av_gguf_get_u32(const av_gguf *g, const char *key, uint32_t *out) {
    uint64_t v = 0;
    if (get_int(g, key, 0, UINT32_MAX, NULL, &v, "an unsigned 32-bit integer") != AV_OK) return AV_ERR;
    *out = (uint32_t)v;
    return AV_OK;
}

int av_gguf_get_i32(const av_gguf *g, const char *key, int32_t *out) {
    int64_t v;
    if (get_int(g, key, INT32_MIN, INT32_MAX, &v, NULL, "a 32-bit integer") != AV_OK) return AV_ERR;
    *out = (int32_t)v;
    return AV_OK;
}

int av_gguf_get_u64(const av_gguf *g, const char *key, uint64_t *out) {
    return get_int(g, key, 0, UINT64_MAX, NULL, out, "an unsigned 64-bit integer");
}

int av_gguf_get_i64(const av_gguf *g, const char *key, int64_t *out) {
    return get_int(g, key, INT64_MIN, INT64_MAX, out, NULL, "a 64-bit integer");
}

static double num_value(const num *n) {
    return n->kind == 'f' ? n->f : n->kind == 'u' ? (double)n->u : (double)n->i;
}

int av_gguf_get_f64(const av_gguf *g, const char *key, double *out) {
    const av_gguf_kv *kv = need(g, key);
    if (!kv) return AV_ERR;
    num n;
    if (kv->type == AV_GGUF_ARRAY || !load_num(kv->type, kv->data, &n)) return wrong_type(g, key, kv, "a number");
    *out = num_value(&n);
    return AV_OK;
}

int av_gguf_get_f32(const av_gguf *g, const char *key, float *out) {
    double d = 0;
    if (av_gguf_get_f64(g, key, &d) != AV_OK) return AV_ERR;
    if (isfinite(d) && fabs(d) > FLT_MAX) return av_fail("%s: metadata '%s' = %g does not fit a float", g->path, key, d);
    *out = (float)d;
    return AV_OK;
}

int av_gguf_get_bool(const av_gguf *g, const char *key, int *out) {
    const av_gguf_kv *kv = need(g, key);
    if (!kv) return AV_ERR;
    if (kv->type != AV_GGUF_BOOL) return wrong_type(g, key, kv, "BOOL");
    *out = kv->data[0];
    return AV_OK;
}

int av_gguf_get_str(const av_gguf *g, const char *key, av_gguf_str *out) {
    const av_gguf_kv *kv = need(g, key);
    if (!kv) return AV_ERR;
    if (kv->type != AV_GGUF_STRING) return wrong_type(g, key, kv, "STRING");
    *out = kv->strs[0];
    return AV_OK;
}

int av_gguf_get_cstr(const av_gguf *g, const char *key, char **out) {
    av_gguf_str s = {0};
    if (av_gguf_get_str(g, key, &s) != AV_OK) return AV_ERR;
    if (memchr(s.s, 0, s.n)) return av_fail("%s: metadata '%s' holds a NUL byte", g->path, key);
    char *r = av_malloc(s.n + 1);
    if (!r) return AV_ERR;
    memcpy(r, s.s, s.n);
    r[s.n] = 0;
    *out = r;
    return AV_OK;
}

int av_gguf_get_array(const av_gguf *g, const char *key, av_gguf_vtype *elem, uint64_t *count) {
    const av_gguf_kv *kv = need(g, key);
    if (!kv) return AV_ERR;
    if (kv->type != AV_GGUF_ARRAY) return av_fail("%s: metadata '%s' is %s, expected an array", g->path, key,
                                                  av_gguf_vtype_name(kv->type));
    *elem = kv->elem;
    *count = kv->count;
    return AV_OK;
}

/* Element i of kv when kv is an array whose element type passes ok(); else AV_ERR. */
static int arr_elem(const av_gguf *g, const av_gguf_kv *kv, uint64_t i, const char *want, int ok) {
    if (kv->type != AV_GGUF_ARRAY || !ok) {
        if (kv->type == AV_GGUF_ARRAY)
            return av_fail("%s: metadata '%s' is an array of %s, expected an array of %s", g->path, kv->key,
                           av_gguf_vtype_name(kv->elem), want);
        return av_fail("%s: metadata '%s' is %s, expected an array of %s", g->path, kv->key,
                       av_gguf_vtype_name(kv->type), want);
    }
    if (i >= kv->count)
        return av_fail("%s: metadata '%s': element %llu of an array of %llu", g->path, kv->key, (unsigned long long)i,
                       (unsigned long long)kv->count);
    return AV_OK;
}

int av_gguf_arr_str(const av_gguf *g, const av_gguf_kv *kv, uint64_t i, av_gguf_str *out) {
    if (arr_elem(g, kv, i, "STRING", kv->elem == AV_GGUF_STRING) != AV_OK) return AV_ERR;
    *out = kv->strs[i];
    return AV_OK;
}

int av_gguf_arr_i64(const av_gguf *g, const av_gguf_kv *kv, uint64_t i, int64_t *out) {
    num n;
    int ok = vsize(kv->elem) && kv->elem != AV_GGUF_BOOL && kv->elem != AV_GGUF_F32 && kv->elem != AV_GGUF_F64;
    if (arr_elem(g, kv, i, "integers", ok) != AV_OK) return AV_ERR;
    load_num(kv->elem, kv->data + i * vsize(kv->elem), &n);
    if (n.kind == 'u' && n.u > (uint64_t)INT64_MAX)
        return av_fail("%s: metadata '%s': element %llu = %llu does not fit a 64-bit integer", g->path, kv->key,
                       (unsigned long long)i, (unsigned long long)n.u);
    *out = n.kind == 'u' ? (int64_t)n.u : n.i;
    return AV_OK;
}

int av_gguf_arr_f32(const av_gguf *g, const av_gguf_kv *kv, uint64_t i, float *out) {
    num n;
    int ok = vsize(kv->elem) && kv->elem != AV_GGUF_BOOL;
    if (arr_elem(g, kv, i, "numbers", ok) != AV_OK) return AV_ERR;
    load_num(kv->elem, kv->data + i * vsize(kv->elem), &n);
    double d = num_value(&n);
    if (isfinite(d) && fabs(d) > FLT_MAX)
        return av_fail("%s: metadata '%s': element %llu = %g does not fit a float", g->path, kv->key,
                       (unsigned long long)i, d);
    *out = (float)d;
    return AV_OK;
}

int av_gguf_arr_bool(const av_gguf *g, const av_gguf_kv *kv, uint64_t i, int *out) {
    if (arr_elem(g, kv, i, "BOOL", kv->elem == AV_GGUF_BOOL) != AV_OK) return AV_ERR;
    *out = kv->data[i];
    return AV_OK;
}

/* ---- tensor data --------------------------------------------------------------------- */

size_t av_gguf_row_bytes(const av_gguf_tensor *t) {
    return (size_t)(t->ne[0] / av_ggml_block_size(t->type)) * av_ggml_block_bytes(t->type);
}

int av_gguf_to_f32(const av_gguf *g, const av_gguf_tensor *t, float *out) {
    if (!av_ggml_can_dequant(t->type)) {
        char nm[SHOWN];
        return av_fail("%s: tensor '%s': tensor type %s (%d) is not supported (supported: %s)", g->path,
                       shown(t->name, strlen(t->name), nm), av_ggml_type_name(t->type), t->type,
                       av_ggml_dequant_types());
    }
    return av_dequant(t->type, t->data, t->numel, out);
}
