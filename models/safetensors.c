/* safetensors.c - the safetensors reader of safetensors.h: header validation, sharded
 * checkpoints through model.safetensors.index.json, name lookup, conversion to f32.
 *
 * A checkpoint is untrusted input (a downloaded file, a fuzzer's bytes), so every promise
 * of the format is checked before a tensor pointer is handed out: after a successful open,
 * data[0 .. nbytes) of every tensor lies inside its mapping and nbytes equals
 * numel x dtype size. Gaps between tensors are tolerated: the reference writer never
 * leaves any, but no byte of a gap is ever read, so rejecting them would protect nothing. */
#include "models/safetensors.h"

#include "base/dtype.h"

#include <cjson/cJSON.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The reference implementation's bound (safetensors' MAX_HEADER_SIZE): a larger header is
 * a broken or hostile file, never a real checkpoint. */
#define AV_ST_MAX_HEADER 100000000ull

static const struct { const char *name; av_st_dtype dtype; size_t size; } dtypes[] = {
    {"F32", AV_ST_F32, 4},   {"F16", AV_ST_F16, 2},   {"BF16", AV_ST_BF16, 2},
    {"F64", AV_ST_F64, 8},   {"I64", AV_ST_I64, 8},   {"I32", AV_ST_I32, 4},
    {"I16", AV_ST_I16, 2},   {"I8", AV_ST_I8, 1},     {"U8", AV_ST_U8, 1},
    {"BOOL", AV_ST_BOOL, 1}, {"U16", AV_ST_U16, 2},   {"U32", AV_ST_U32, 4},
    {"U64", AV_ST_U64, 8},   {"F8_E4M3", AV_ST_F8_E4M3, 1}, {"F8_E5M2", AV_ST_F8_E5M2, 1},
};
#define NDTYPES (sizeof dtypes / sizeof dtypes[0])

const char *av_st_dtype_name(av_st_dtype t) {
    for (size_t i = 0; i < NDTYPES; i++)
        if (dtypes[i].dtype == t) return dtypes[i].name;
    return "?";
}

size_t av_st_dtype_size(av_st_dtype t) {
    for (size_t i = 0; i < NDTYPES; i++)
        if (dtypes[i].dtype == t) return dtypes[i].size;
    return 0;
}

/* A name as messages show it: a tensor name is arbitrary JSON text, and a newline or
 * escape code in it must not break the one-line message (or the terminal). */
#define SHOWN 128
static const char *shown(const char *s, char *buf) {
    size_t i = 0;
    for (; s && s[i] && i + 4 < SHOWN; i++) {
        unsigned char c = (unsigned char)s[i];
        buf[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    if (s && s[i]) memcpy(buf + i, "...", 3), i += 3;
    buf[i] = 0;
    return buf;
}

/* The growing tensor list while shards are parsed; moved into the av_safetensors at the end. */
typedef struct { av_st_tensor *v; int n, cap; } tensor_list;

static int list_push(tensor_list *l, av_st_tensor *t) {
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 64;
        av_st_tensor *v = realloc(l->v, (size_t)cap * sizeof *v);
        if (!v) return av_fail("out of memory (%d tensors)", cap);
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = *t;
    return AV_OK;
}

static void list_free(tensor_list *l) {
    for (int i = 0; i < l->n; i++) free(l->v[i].name);
    free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}

/* A JSON number that is a whole number in [0, 2^53]: beyond that a double no longer holds
 * every integer, so the value could not be the one the writer meant. */
static int json_uint(const cJSON *v, uint64_t *out) {
    if (!cJSON_IsNumber(v)) return 0;
    double d = v->valuedouble;
    if (!isfinite(d) || d < 0 || d > 9007199254740992.0 || d != floor(d)) return 0;
    *out = (uint64_t)d;
    return 1;
}

/* Per-file offsets, sorted to find overlaps. */
typedef struct { uint64_t b, e; int idx; } span;

static int span_cmp(const void *a, const void *b) {
    const span *x = a, *y = b;
    if (x->b != y->b) return x->b < y->b ? -1 : 1;
    if (x->e != y->e) return x->e < y->e ? -1 : 1;
    return 0;
}

/* Checks one header entry and appends the tensor it describes. */
static int parse_entry(const cJSON *e, const char *file, const uint8_t *block,
                       uint64_t block_size, tensor_list *out, uint64_t *b_out, uint64_t *e_out) {
    char name[SHOWN], dt[SHOWN];
    shown(e->string, name);
    if (!cJSON_IsObject(e)) return av_fail("%s: tensor '%s': entry is not a JSON object", file, name);
    const cJSON *jd = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    const cJSON *js = cJSON_GetObjectItemCaseSensitive(e, "shape");
    const cJSON *jo = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    if (!jd) return av_fail("%s: tensor '%s': no \"dtype\"", file, name);
    if (!js) return av_fail("%s: tensor '%s': no \"shape\"", file, name);
    if (!jo) return av_fail("%s: tensor '%s': no \"data_offsets\"", file, name);
    if (!cJSON_IsString(jd)) return av_fail("%s: tensor '%s': \"dtype\" is not a string", file, name);
    av_st_tensor t;
    memset(&t, 0, sizeof t);
    size_t esize = 0;
    for (size_t i = 0; i < NDTYPES; i++)
        if (!strcmp(jd->valuestring, dtypes[i].name)) {
            t.dtype = dtypes[i].dtype;
            esize = dtypes[i].size;
        }
    if (!esize) return av_fail("%s: tensor '%s': unknown dtype \"%s\"", file, name, shown(jd->valuestring, dt));
    if (!cJSON_IsArray(js)) return av_fail("%s: tensor '%s': \"shape\" is not an array", file, name);
    int ndim = cJSON_GetArraySize(js);
    if (ndim > AV_ST_MAXDIM)
        return av_fail("%s: tensor '%s': %d dimensions (at most %d)", file, name, ndim, AV_ST_MAXDIM);
    /* The product is taken only when no dimension is zero: a zero anywhere makes an empty
     * tensor, whatever the other sizes are, and must not be reported as an overflow. */
    int has_zero = 0;
    uint64_t dims[AV_ST_MAXDIM];
    int d = 0;
    for (const cJSON *x = js->child; x; x = x->next, d++) {
        if (!json_uint(x, &dims[d]))
            return av_fail("%s: tensor '%s': shape[%d] is not a non-negative integer", file, name, d);
        if (dims[d] == 0) has_zero = 1;
    }
    uint64_t numel = 1, nbytes = 0;
    if (has_zero) numel = 0;
    for (int i = 0; i < ndim && !has_zero; i++)
        if (__builtin_mul_overflow(numel, dims[i], &numel) || numel > (uint64_t)INT64_MAX)
            return av_fail("%s: tensor '%s': shape overflows 64 bits", file, name);
    if (__builtin_mul_overflow(numel, (uint64_t)esize, &nbytes))
        return av_fail("%s: tensor '%s': shape overflows 64 bits", file, name);
    if (!cJSON_IsArray(jo) || cJSON_GetArraySize(jo) != 2)
        return av_fail("%s: tensor '%s': \"data_offsets\" is not a [begin, end] pair", file, name);
    uint64_t b, en;
    if (!json_uint(jo->child, &b) || !json_uint(jo->child->next, &en))
        return av_fail("%s: tensor '%s': \"data_offsets\" are not non-negative integers", file, name);
    if (b > en)
        return av_fail("%s: tensor '%s': data_offsets [%llu, %llu] end before they begin", file, name,
                       (unsigned long long)b, (unsigned long long)en);
    if (en > block_size)
        return av_fail("%s: tensor '%s': data_offsets [%llu, %llu] run past the data block (%llu bytes; file truncated?)",
                       file, name, (unsigned long long)b, (unsigned long long)en, (unsigned long long)block_size);
    if (en - b != nbytes)
        return av_fail("%s: tensor '%s': shape x %s needs %llu bytes, data_offsets give %llu", file, name,
                       jd->valuestring, (unsigned long long)nbytes, (unsigned long long)(en - b));
    t.ndim = ndim;
    for (int i = 0; i < ndim; i++) t.shape[i] = (int64_t)dims[i];
    t.numel = (int64_t)numel;
    t.nbytes = (size_t)nbytes;
    t.data = block ? block + b : NULL;
    t.name = strdup(e->string);
    if (!t.name) return av_fail("out of memory");
    t.file = NULL; /* set by finish(), once the file list can no longer move */
    if (list_push(out, &t) != AV_OK) { free(t.name); return AV_ERR; }
    *b_out = b;
    *e_out = en;
    return AV_OK;
}

/* Validates one safetensors image and appends its tensors to out; `file` names it in
 * messages. (*tags)[i] records which file tensor i came from. */
static int parse_image(const uint8_t *data, size_t size, const char *file, int fileidx,
                       tensor_list *out, int **tags, int *ntags) {
    if (size < 8) return av_fail("%s: %zu bytes, too short for a safetensors header length", file, size);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | data[i];
    if (hlen > AV_ST_MAX_HEADER)
        return av_fail("%s: header length %llu is over the 100 MB bound (not a safetensors file?)", file,
                       (unsigned long long)hlen);
    if (hlen > size - 8)
        return av_fail("%s: header length %llu runs past the end of the file (%zu bytes; truncated?)", file,
                       (unsigned long long)hlen, size);
    if (hlen < 2 || data[8] != '{') return av_fail("%s: header is not a JSON object", file);
    /* cJSON gets its own NUL-terminated copy: the mapping has no terminator after the
     * header, and a copy keeps any reader slip inside our buffer. */
    char *text = av_malloc((size_t)hlen + 1);
    if (!text) return AV_ERR;
    memcpy(text, data + 8, (size_t)hlen);
    text[hlen] = 0;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, (size_t)hlen, &end, 0);
    if (!root) {
        long at = end ? (long)(end - text) : -1;
        free(text);
        return av_fail("%s: header is not valid JSON (near byte %ld of the header)", file, at);
    }
    /* The format allows padding the header with spaces after the object, nothing else. */
    for (const char *p = end; p < text + hlen; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            long at = (long)(p - text);
            cJSON_Delete(root);
            free(text);
            return av_fail("%s: header has bytes after its JSON object (byte %ld)", file, at);
        }
    free(text);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return av_fail("%s: header is not a JSON object", file);
    }
    const uint8_t *block = data + 8 + hlen;
    uint64_t block_size = size - 8 - hlen;
    int n = cJSON_GetArraySize(root);
    span *spans = av_malloc((size_t)(n ? n : 1) * sizeof *spans);
    if (!spans) { cJSON_Delete(root); return AV_ERR; }
    int ns = 0, rc = AV_OK, first = out->n;
    char n1[SHOWN], n2[SHOWN];
    for (const cJSON *e = root->child; e && rc == AV_OK; e = e->next) {
        if (!strcmp(e->string, "__metadata__")) {
            if (!cJSON_IsObject(e)) { rc = av_fail("%s: \"__metadata__\" is not a JSON object", file); break; }
            for (const cJSON *m = e->child; m; m = m->next)
                if (!cJSON_IsString(m)) {
                    rc = av_fail("%s: \"__metadata__\" entry '%s' is not a string", file, shown(m->string, n1));
                    break;
                }
            continue;
        }
        uint64_t b = 0, en = 0;
        rc = parse_entry(e, file, block, block_size, out, &b, &en);
        if (rc == AV_OK) {
            spans[ns].b = b;
            spans[ns].e = en;
            spans[ns].idx = out->n - 1;
            ns++;
        }
    }
    cJSON_Delete(root);
    if (rc == AV_OK) {
        qsort(spans, (size_t)ns, sizeof *spans, span_cmp);
        uint64_t reach = 0;
        int reach_idx = -1;
        for (int i = 0; i < ns && rc == AV_OK; i++) {
            if (reach_idx >= 0 && spans[i].b < reach)
                rc = av_fail("%s: tensor '%s': data_offsets [%llu, %llu] overlap tensor '%s' (ends at %llu)", file,
                             shown(out->v[spans[i].idx].name, n1), (unsigned long long)spans[i].b,
                             (unsigned long long)spans[i].e, shown(out->v[reach_idx].name, n2), (unsigned long long)reach);
            if (spans[i].e > reach || reach_idx < 0) {
                reach = spans[i].e > reach ? spans[i].e : reach;
                reach_idx = spans[i].idx;
            }
        }
    }
    free(spans);
    if (rc == AV_OK && out->n > 0) {
        int *t = realloc(*tags, (size_t)out->n * sizeof *t);
        if (!t) return av_fail("out of memory");
        *tags = t;
        for (int i = first; i < out->n; i++) t[i] = fileidx;
        *ntags = out->n;
    }
    return rc;
}

static int name_cmp(const void *a, const void *b) {
    return strcmp(((const av_st_tensor *)a)->name, ((const av_st_tensor *)b)->name);
}

/* Moves the parsed list into st: points each tensor at its file name, sorts by name and
 * rejects duplicate names (within a file, or across shards). */
static int finish(av_safetensors *st, tensor_list *l, const int *tags) {
    for (int i = 0; i < l->n; i++) l->v[i].file = st->files[tags[i]];
    st->tensors = l->v;
    st->count = l->n;
    l->v = NULL;
    l->n = l->cap = 0;
    if (st->count > 1) qsort(st->tensors, (size_t)st->count, sizeof *st->tensors, name_cmp);
    char nm[SHOWN];
    for (int i = 1; i < st->count; i++)
        if (!strcmp(st->tensors[i].name, st->tensors[i - 1].name)) {
            if (st->tensors[i].file == st->tensors[i - 1].file)
                return av_fail("%s: tensor '%s': duplicate name", st->tensors[i].file, shown(st->tensors[i].name, nm));
            return av_fail("%s: tensor '%s': duplicate name (also in %s)", st->tensors[i].file,
                           shown(st->tensors[i].name, nm), st->tensors[i - 1].file);
        }
    return AV_OK;
}

void av_safetensors_close(av_safetensors *st) {
    if (st->tensors)
        for (int i = 0; i < st->count; i++) free(st->tensors[i].name);
    free(st->tensors);
    for (int i = 0; i < st->nfiles; i++) {
        if (st->maps) av_mmap_close(&st->maps[i]);
        if (st->files) free(st->files[i]);
    }
    free(st->maps);
    free(st->files);
    free(st->index_json);
    memset(st, 0, sizeof *st);
}

int av_safetensors_parse(const uint8_t *data, size_t size, const char *name, av_safetensors *st) {
    memset(st, 0, sizeof *st);
    st->maps = av_calloc(1, sizeof *st->maps);   /* not owned: stays {NULL, 0} */
    st->files = av_calloc(1, sizeof *st->files);
    if (!st->maps || !st->files) { av_safetensors_close(st); return AV_ERR; }
    st->nfiles = 1;
    st->files[0] = strdup(name);
    if (!st->files[0]) { av_safetensors_close(st); return av_fail("out of memory"); }
    tensor_list l = {0};
    int *tags = NULL, ntags = 0;
    int rc = parse_image(data, size, name, 0, &l, &tags, &ntags);
    if (rc == AV_OK) rc = finish(st, &l, tags);
    list_free(&l);
    free(tags);
    if (rc != AV_OK) av_safetensors_close(st);
    return rc;
}

/* Adds a file to st->files / st->maps and maps it; returns its index or -1. */
static int add_file(av_safetensors *st, const char *path) {
    char **f = realloc(st->files, (size_t)(st->nfiles + 1) * sizeof *f);
    if (!f) return av_fail("out of memory"), -1;
    st->files = f;
    av_mmap *m = realloc(st->maps, (size_t)(st->nfiles + 1) * sizeof *m);
    if (!m) return av_fail("out of memory"), -1;
    st->maps = m;
    st->files[st->nfiles] = strdup(path);
    memset(&st->maps[st->nfiles], 0, sizeof *m);
    if (!st->files[st->nfiles]) return av_fail("out of memory"), -1;
    st->nfiles++;
    if (av_mmap_open(path, &st->maps[st->nfiles - 1]) != AV_OK) return -1;
    return st->nfiles - 1;
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

/* Opens the shards an index names. weight_map says which shard holds each tensor; every
 * entry must be found there, so an index that disagrees with its shards is an error
 * rather than a tensor that silently goes missing. */
static int open_sharded(av_safetensors *st, const char *index_path, tensor_list *l, int **tags, int *ntags) {
    st->index_json = strdup(index_path);
    if (!st->index_json) return av_fail("out of memory");
    size_t len = 0;
    char *text = av_read_file(index_path, &len);
    if (!text) return AV_ERR;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    long at = end ? (long)(end - text) : -1;
    free(text);
    if (!root) return av_fail("%s: invalid JSON near byte %ld", index_path, at);
    int rc = AV_OK;
    const cJSON *wm = cJSON_GetObjectItemCaseSensitive(root, "weight_map");
    if (!cJSON_IsObject(root)) rc = av_fail("%s: not a JSON object", index_path);
    else if (!wm) rc = av_fail("%s: missing key \"weight_map\"", index_path);
    else if (!cJSON_IsObject(wm)) rc = av_fail("%s: \"weight_map\" is not an object", index_path);
    else if (!wm->child) rc = av_fail("%s: \"weight_map\" is empty", index_path);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", index_path);
    char *slash = strrchr(dir, '/');
    if (slash) slash[1] = 0;
    else snprintf(dir, sizeof dir, ".");
    char n1[SHOWN], n2[SHOWN];
    /* Shards in first-seen order, each opened and parsed once. */
    for (const cJSON *e = wm ? wm->child : NULL; e && rc == AV_OK; e = e->next) {
        if (!cJSON_IsString(e)) { rc = av_fail("%s: weight_map '%s' is not a file name", index_path, shown(e->string, n1)); break; }
        const char *shard = e->valuestring;
        if (!shard[0] || strchr(shard, '/') || !strcmp(shard, "..")) {
            rc = av_fail("%s: weight_map '%s': shard name \"%s\" is not a plain file name", index_path,
                         shown(e->string, n1), shown(shard, n2));
            break;
        }
        char path[4096];
        av_path_join(path, sizeof path, dir, shard);
        int seen = 0;
        for (int i = 0; i < st->nfiles; i++) seen |= !strcmp(st->files[i], path);
        if (seen) continue;
        int idx = add_file(st, path);
        if (idx < 0) {
            char why[1024]; /* av_fail writes the buffer av_last_error reads */
            snprintf(why, sizeof why, "%s", av_last_error());
            rc = av_fail("%s: shard \"%s\" (tensor '%s'): %s", index_path, shown(shard, n2), shown(e->string, n1), why);
            break;
        }
        rc = parse_image(st->maps[idx].data, st->maps[idx].size, st->files[idx], idx, l, tags, ntags);
    }
    if (rc == AV_OK) rc = finish(st, l, *tags);
    for (const cJSON *e = wm ? wm->child : NULL; e && rc == AV_OK; e = e->next) {
        const av_st_tensor *t = av_safetensors_find(st, e->string);
        char want[4096];
        av_path_join(want, sizeof want, dir, e->valuestring);
        if (!t)
            rc = av_fail("%s: tensor '%s': not found in its shard %s", index_path, shown(e->string, n1), shown(e->valuestring, n2));
        else if (strcmp(t->file, want))
            rc = av_fail("%s: tensor '%s': index says %s, found in %s", index_path, shown(e->string, n1),
                         shown(e->valuestring, n2), t->file);
    }
    cJSON_Delete(root);
    return rc;
}

int av_safetensors_open(const char *path, av_safetensors *st) {
    memset(st, 0, sizeof *st);
    char buf[4096];
    const char *file = path;
    int sharded = ends_with(path, ".json");
    if (av_is_dir(path)) {
        av_path_join(buf, sizeof buf, path, "model.safetensors");
        if (!av_file_exists(buf)) {
            av_path_join(buf, sizeof buf, path, "model.safetensors.index.json");
            if (!av_file_exists(buf))
                return av_fail("%s: no model.safetensors or model.safetensors.index.json in this folder", path);
            sharded = 1;
        }
        file = buf;
    }
    tensor_list l = {0};
    int *tags = NULL, ntags = 0, rc;
    if (sharded) {
        rc = open_sharded(st, file, &l, &tags, &ntags);
    } else {
        int idx = add_file(st, file);
        rc = idx < 0 ? AV_ERR : parse_image(st->maps[idx].data, st->maps[idx].size, file, idx, &l, &tags, &ntags);
        if (rc == AV_OK) rc = finish(st, &l, tags);
    }
    list_free(&l);
    free(tags);
    if (rc != AV_OK) av_safetensors_close(st);
    return rc;
}

const av_st_tensor *av_safetensors_find(const av_safetensors *st, const char *name) {
    if (!st->tensors || !name) return NULL;
    av_st_tensor key;
    key.name = (char *)name;
    return bsearch(&key, st->tensors, (size_t)st->count, sizeof key, name_cmp);
}

int av_st_to_f32(const av_st_tensor *t, float *out) {
    const uint8_t *p = t->data;
    int64_t n = t->numel;
    /* memcpy per element: tensor data need not be aligned (see safetensors.h). */
    switch (t->dtype) {
    case AV_ST_F32:
        if (n) memcpy(out, p, (size_t)n * sizeof(float));
        return AV_OK;
    case AV_ST_F16:
        for (int64_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, p + 2 * i, 2);
            out[i] = av_f16_to_f32(h);
        }
        return AV_OK;
    case AV_ST_BF16:
        for (int64_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, p + 2 * i, 2);
            out[i] = av_bf16_to_f32(h);
        }
        return AV_OK;
    case AV_ST_F64:
        for (int64_t i = 0; i < n; i++) {
            double d;
            memcpy(&d, p + 8 * i, 8);
            /* Out of float range the C conversion is undefined: saturate to infinity. */
            out[i] = d > FLT_MAX ? INFINITY : d < -FLT_MAX ? -INFINITY : (float)d;
        }
        return AV_OK;
    default: {
        char nm[SHOWN];
        return av_fail("%s: tensor '%s': dtype %s is not a float type", t->file ? t->file : "?", shown(t->name, nm),
                       av_st_dtype_name(t->dtype));
    }
    }
}

static void release_st(void *owner) {
    av_safetensors_close(owner);
    free(owner);
}

_Static_assert(AV_ST_MAXDIM == AV_TENSOR_MAXDIM, "shapes are copied whole");

int av_safetensors_weights(const char *path, av_weights *w) {
    memset(w, 0, sizeof *w);
    av_safetensors *st = av_malloc(sizeof *st);
    if (!st) return AV_ERR;
    if (av_safetensors_open(path, st)) {
        free(st);
        return AV_ERR;
    }
    w->owner = st;
    w->release = release_st;
    w->path = st->index_json ? st->index_json : st->files[0];
    w->tensors = av_calloc((size_t)(st->count ? st->count : 1), sizeof *w->tensors);
    if (!w->tensors) {
        av_weights_close(w);
        return AV_ERR;
    }
    for (int i = 0; i < st->count; i++) {
        const av_st_tensor *s = &st->tensors[i];
        av_wtype type;
        if (s->dtype == AV_ST_F32) type = AV_WT_F32;
        else if (s->dtype == AV_ST_F16) type = AV_WT_F16;
        else if (s->dtype == AV_ST_BF16) type = AV_WT_BF16;
        else continue;
        av_tensor *t = &w->tensors[w->count++];
        t->name = s->name;
        t->file = s->file;
        t->type = type;
        t->ndim = s->ndim;
        memcpy(t->shape, s->shape, sizeof s->shape);
        t->data = s->data;
        t->nbytes = s->nbytes;
    }
    if (av_weights_finish(w)) {
        av_weights_close(w);
        return AV_ERR;
    }
    return AV_OK;
}
