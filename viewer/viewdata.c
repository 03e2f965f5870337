/* viewdata.c - the viewer's CPU-side model of a run folder (see viewdata.h). */
#include "viewer/viewdata.h"

#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>
#include "datasets/categories.h"
#include "models/tokenizer.h"
#include "base/dtype.h"
#include "base/util.h"
#include "kernels/ops.h"

static const char *color_names[AV_COLOR_COUNT] = {
    "qk", "position", "mod5", "punct", "norm", "toklen", "itemlen", "freq", "row", "col", "label",
    "hue", "brightness", "frequency", "angle", "cells"};

const char *av_color_name(av_color_mode m) { return m >= 0 && m < AV_COLOR_COUNT ? color_names[m] : "?"; }

int av_color_parse(const char *name, av_color_mode *out) {
    for (int i = 0; i < AV_COLOR_COUNT; i++)
        if (!strcmp(name, color_names[i])) { *out = (av_color_mode)i; return AV_OK; }
    return av_fail("unknown colour mode '%s' (qk, position, mod5, punct, norm, toklen, itemlen, freq, row, col, label, hue, brightness, frequency, angle, cells)", name);
}

int av_color_categorical(av_color_mode m) {
    return m == AV_COLOR_QK || m == AV_COLOR_MOD5 || m == AV_COLOR_PUNCT || m == AV_COLOR_LABEL;
}

int av_color_cyclic(av_color_mode m) { return m == AV_COLOR_HUE || m == AV_COLOR_ANGLE; }

/* ---- tokens.jsonl and items.jsonl ------------------------------------------------ */

/* Calls fn for every non-empty line; fn returns AV_OK or fails naming path:line. */
static int each_line(const char *path, int (*fn)(void *, char *, int64_t), void *user) {
    size_t n;
    char *buf = av_read_file(path, &n);
    if (!buf) return AV_ERR;
    char *line = buf;
    int64_t lineno = 0;
    int rc = AV_OK;
    while (rc == AV_OK && line < buf + n) {
        char *nl = memchr(line, '\n', (size_t)(buf + n - line));
        if (nl) *nl = 0;
        lineno++;
        if (*line) rc = fn(user, line, lineno);
        if (!nl) break;
        line = nl + 1;
    }
    free(buf);
    return rc;
}

typedef struct { av_vdata *vd; const char *path; int64_t count; int has_rc; } load_ctx;

static int token_line(void *user, char *line, int64_t lineno) {
    load_ctx *c = user;
    av_vdata *vd = c->vd;
    if (c->count >= vd->T) return av_fail("%s:%lld: more tokens than num_tokens (%lld)", c->path, (long long)lineno, (long long)vd->T);
    cJSON *j = cJSON_Parse(line);
    const cJSON *tx = j ? cJSON_GetObjectItemCaseSensitive(j, "text") : NULL;
    if (!cJSON_IsString(tx)) {
        cJSON_Delete(j);
        return av_fail("%s:%lld: not a JSON object with a \"text\" string", c->path, (long long)lineno);
    }
    int64_t t = c->count++;
    vd->tok_text[t] = strdup(tx->valuestring);
    const cJSON *lb = cJSON_GetObjectItemCaseSensitive(j, "label");
    if (cJSON_IsString(lb) && !(vd->tok_label[t] = strdup(lb->valuestring))) {
        cJSON_Delete(j);
        return av_fail("out of memory reading %s", c->path);
    }
    const cJSON *row = cJSON_GetObjectItemCaseSensitive(j, "row"), *col = cJSON_GetObjectItemCaseSensitive(j, "col");
    if (cJSON_IsNumber(row) && cJSON_IsNumber(col) && vd->tok_row) {
        vd->tok_row[t] = row->valueint;
        vd->tok_col[t] = col->valueint;
        c->has_rc = 1;
    }
    cJSON_Delete(j);
    return vd->tok_text[t] ? AV_OK : av_fail("out of memory reading %s", c->path);
}

static int item_line(void *user, char *line, int64_t lineno) {
    load_ctx *c = user;
    av_vdata *vd = c->vd;
    if (c->count >= vd->run.num_items)
        return av_fail("%s:%lld: more items than num_items (%lld)", c->path, (long long)lineno, (long long)vd->run.num_items);
    cJSON *j = cJSON_Parse(line);
    const char *text = NULL, *label = NULL;
    if (cJSON_IsString(j)) {
        text = j->valuestring;
    } else if (cJSON_IsObject(j)) {
        static const char *keys[] = {"text", "path", "image", "file"};
        for (size_t k = 0; k < 4 && !text; k++) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, keys[k]);
            if (cJSON_IsString(v)) text = v->valuestring;
        }
        const cJSON *lb = cJSON_GetObjectItemCaseSensitive(j, "label");
        if (cJSON_IsString(lb)) label = lb->valuestring;
    } else if (!j) {
        text = line;  /* a plain line: the item itself */
    }
    if (!text) {
        cJSON_Delete(j);
        return av_fail("%s:%lld: expected a string or an object with \"text\" or \"path\"", c->path, (long long)lineno);
    }
    int64_t i = c->count++;
    vd->item_text[i] = strdup(text);
    vd->item_label[i] = label ? strdup(label) : NULL;
    cJSON_Delete(j);
    return vd->item_text[i] ? AV_OK : av_fail("out of memory reading %s", c->path);
}

/* ---- synthetic image parameters --------------------------------------------------- */

typedef struct { char *file; double v[AV_SYNTH_PARAMS]; } synth_entry;
static int synth_cmp(const void *a, const void *b) { return strcmp(((const synth_entry *)a)->file, ((const synth_entry *)b)->file); }

typedef struct { synth_entry *e; int64_t n, cap; const char *path; } synth_ctx;

static int synth_line(void *user, char *line, int64_t lineno) {
    synth_ctx *c = user;
    cJSON *j = cJSON_Parse(line);
    const cJSON *f = j ? cJSON_GetObjectItemCaseSensitive(j, "file") : NULL;
    const cJSON *k = j ? cJSON_GetObjectItemCaseSensitive(j, "kind") : NULL;
    if (!cJSON_IsString(f) || !cJSON_IsString(k)) {
        cJSON_Delete(j);
        return av_fail("%s:%lld: not a JSON object with \"file\" and \"kind\" strings", c->path, (long long)lineno);
    }
    if (c->n == c->cap) {
        int64_t cap = c->cap ? 2 * c->cap : 64;
        synth_entry *e = realloc(c->e, (size_t)cap * sizeof *e);
        if (!e) { cJSON_Delete(j); return av_fail("out of memory reading %s", c->path); }
        c->e = e;
        c->cap = cap;
    }
    synth_entry *e = &c->e[c->n];
    static const char *keys[AV_SYNTH_PARAMS] = {"hue", "brightness", "frequency", "angle", "cells"};
    for (int q = 0; q < AV_SYNTH_PARAMS; q++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, keys[q]);
        e->v[q] = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    }
    /* a hue gradient runs from "hue" to "hue2": its starting hue stands for the image */
    if (!(e->file = strdup(f->valuestring))) { cJSON_Delete(j); return av_fail("out of memory reading %s", c->path); }
    c->n++;
    cJSON_Delete(j);
    return AV_OK;
}

/* The folder two levels above an image path (DIR of DIR/<kind>/<file>), in out. */
static int synth_root(const char *img, char *out, size_t cap) {
    const char *s1 = strrchr(img, '/');
    if (!s1 || s1 == img) return 0;
    const char *s0 = s1 - 1;
    while (s0 > img && *s0 != '/') s0--;
    if (*s0 != '/' || (size_t)(s0 - img) + 1 > cap) return 0;
    memcpy(out, img, (size_t)(s0 - img));
    out[s0 - img] = 0;
    return 1;
}

/* Fills vd->synth when the run's images come from one `attnviz synth` folder. A
 * params.jsonl that is there but broken is an error naming it; images from anywhere
 * else simply leave the synthetic colour modes off. */
static int load_synth(av_vdata *vd) {
    int64_t I = vd->run.num_items;
    if (!vd->is_vit || I == 0) return AV_OK;
    char root[4096], other[4096], path[4200];
    if (!synth_root(vd->item_text[0], root, sizeof root)) return AV_OK;
    for (int64_t i = 1; i < I; i++)
        if (!synth_root(vd->item_text[i], other, sizeof other) || strcmp(root, other)) return AV_OK;
    av_path_join(path, sizeof path, root, "params.jsonl");
    if (!av_file_exists(path)) return AV_OK;
    synth_ctx c = {NULL, 0, 0, path};
    int rc = each_line(path, synth_line, &c);
    if (rc == AV_OK) {
        qsort(c.e, (size_t)c.n, sizeof *c.e, synth_cmp);
        size_t rl = strlen(root);
        double *out = av_malloc((size_t)I * AV_SYNTH_PARAMS * sizeof *out);
        if (!out) rc = AV_ERR;
        for (int64_t i = 0; rc == AV_OK && i < I; i++) {
            synth_entry key = {vd->item_text[i] + rl + 1, {0}};
            const synth_entry *e = c.n ? bsearch(&key, c.e, (size_t)c.n, sizeof *c.e, synth_cmp) : NULL;
            if (!e) rc = av_fail("%s: has no line for %s (an image of the run)", path, vd->item_text[i]);
            else memcpy(out + i * AV_SYNTH_PARAMS, e->v, sizeof e->v);
        }
        if (rc == AV_OK) vd->synth = out;
        else free(out);
    }
    for (int64_t k = 0; k < c.n; k++) free(c.e[k].file);
    free(c.e);
    return rc;
}

/* ---- projections ------------------------------------------------------------------ */

static int proj_cmp(const void *a, const void *b) {
    const av_proj_info *x = a, *y = b;
    int c = strcmp(x->method, y->method);
    return c ? c : x->dim - y->dim;
}

static void scan_projections(av_vdata *vd) {
    char dir[4200];
    av_run_path(&vd->run, dir, sizeof dir, "proj");
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) && vd->nproj < AV_MAX_PROJ) {
        size_t n = strlen(e->d_name);
        if (n < 8 || n > 60 || strcmp(e->d_name + n - 5, "d.npy")) continue;
        const char *dash = strrchr(e->d_name, '-');
        if (!dash || dash == e->d_name) continue;
        int dim = atoi(dash + 1);
        if ((dim != 2 && dim != 3) || dash + 2 != e->d_name + n - 5) continue;
        av_proj_info *p = &vd->proj[vd->nproj++];
        snprintf(p->method, sizeof p->method, "%.*s", (int)(dash - e->d_name), e->d_name);
        p->dim = dim;
        snprintf(p->file, sizeof p->file, "proj/%.*s", (int)n, e->d_name);  /* n <= 60 */
    }
    closedir(d);
    qsort(vd->proj, (size_t)vd->nproj, sizeof vd->proj[0], proj_cmp);
}

int av_vdata_find_proj(const av_vdata *vd, const char *method, int dim) {
    /* without a method, prefer t-SNE, then UMAP, then whatever is there */
    static const char *pref[] = {"tsne", "umap", "pca"};
    if (!method) {
        for (int k = 0; k < 3; k++) {
            int i = av_vdata_find_proj(vd, pref[k], dim);
            if (i >= 0) return i;
        }
    }
    for (int i = 0; i < vd->nproj; i++)
        if ((!method || !strcmp(vd->proj[i].method, method)) && (!dim || vd->proj[i].dim == dim)) return i;
    return -1;
}

/* Forgets the current projection: closes its mapping, or keeps the live buffer. */
static void drop_current(av_vdata *vd) {
    if (vd->cur >= 0 && vd->cur != vd->live_idx) av_npy_close(&vd->pdata);
    if (vd->bounds != vd->live_bounds) free(vd->bounds);
    vd->bounds = NULL;
    memset(&vd->pdata, 0, sizeof vd->pdata);
    vd->cur = -1;
}

static void fit_bounds(const float *p, int64_t n, int dim, float *b) {
    for (int k = 0; k < 3; k++) { b[k] = INFINITY; b[3 + k] = -INFINITY; }
    for (int64_t j = 0; j < n; j++)
        for (int k = 0; k < dim; k++) {
            float v = p[j * dim + k];
            if (!isfinite(v)) continue;
            if (v < b[k]) b[k] = v;
            if (v > b[3 + k]) b[3 + k] = v;
        }
    for (int k = 0; k < 3; k++)
        if (!(b[k] <= b[3 + k])) { b[k] = -1; b[3 + k] = 1; }
}

static void use_live(av_vdata *vd) {
    int L = vd->run.num_layers, H = vd->run.num_heads, dim = vd->proj[vd->live_idx].dim;
    drop_current(vd);
    vd->pdata.dtype = AV_DT_F32;
    vd->pdata.ndim = 4;
    vd->pdata.shape[0] = L;
    vd->pdata.shape[1] = H;
    vd->pdata.shape[2] = 2 * vd->T;
    vd->pdata.shape[3] = dim;
    vd->pdata.count = (int64_t)L * H * 2 * vd->T * dim;
    vd->pdata.data = vd->live;
    vd->bounds = vd->live_bounds;
    vd->cur = vd->live_idx;
}

int av_vdata_add_live(av_vdata *vd, const char *method, int dim) {
    if (vd->live) return av_fail("%s: the viewer already has a live projection", vd->run.dir);
    if (vd->nproj >= AV_MAX_PROJ) return av_fail("%s: too many projections to add a live one", vd->run.dir);
    int64_t L = vd->run.num_layers, H = vd->run.num_heads, count = L * H * 2 * vd->T * dim;
    vd->live = av_malloc((size_t)(count > 0 ? count : 1) * sizeof(float));
    vd->live_bounds = av_malloc((size_t)L * H * 6 * sizeof(float));
    vd->live_head = av_calloc((size_t)(L * H > 0 ? L * H : 1), sizeof *vd->live_head);
    vd->live_dev = av_calloc((size_t)(L * H > 0 ? L * H : 1), 1);
    if (!vd->live || !vd->live_bounds || !vd->live_head || !vd->live_dev) {
        free(vd->live); free(vd->live_bounds); free(vd->live_head); free(vd->live_dev); free(vd->synth);
        vd->live = vd->live_bounds = NULL;
        vd->live_head = NULL;
        vd->live_dev = NULL;
        vd->synth = NULL;
        return AV_ERR;
    }
    for (int64_t i = 0; i < count; i++) vd->live[i] = NAN;
    for (int64_t c = 0; c < L * H; c++) fit_bounds(vd->live, 0, dim, vd->live_bounds + c * 6);
    av_proj_info *p = &vd->proj[vd->nproj];
    memset(p, 0, sizeof *p);
    snprintf(p->method, sizeof p->method, "%s", method);
    p->dim = dim;
    vd->live_idx = vd->nproj++;
    use_live(vd);
    return vd->live_idx;
}

void av_vdata_live_update(av_vdata *vd, int l, int h, const float *Y) {
    if (!vd->live) return;
    int dim = vd->proj[vd->live_idx].dim;
    int64_t n = 2 * vd->T, c = (int64_t)l * vd->run.num_heads + h;
    vd->live_head[c] = Y;
    vd->live_dev[c] = 0;
    fit_bounds(Y ? Y : vd->live + c * n * dim, Y ? n : 0, dim, vd->live_bounds + c * 6);
}

void av_vdata_live_device(av_vdata *vd, int l, int h, const float bounds[6]) {
    if (!vd->live) return;
    int64_t c = (int64_t)l * vd->run.num_heads + h;
    vd->live_dev[c] = 1;
    memcpy(vd->live_bounds + c * 6, bounds, 6 * sizeof(float));
}

int av_vdata_load_proj(av_vdata *vd, int i) {
    if (i < 0 || i >= vd->nproj) return av_fail("%s: no such projection", vd->run.dir);
    if (i == vd->cur) return AV_OK;
    if (i == vd->live_idx) { use_live(vd); return AV_OK; }
    av_npy a;
    char path[4200];
    av_run_path(&vd->run, path, sizeof path, vd->proj[i].file);
    if (av_npy_open(path, &a) != AV_OK) return AV_ERR;
    int L = vd->run.num_layers, H = vd->run.num_heads, dim = vd->proj[i].dim;
    if (a.dtype != AV_DT_F32 || a.ndim != 4 || a.shape[0] != L || a.shape[1] != H || a.shape[2] != 2 * vd->T ||
        a.shape[3] != dim) {
        char got[160] = "";
        for (int k = 0; k < a.ndim; k++) snprintf(got + strlen(got), sizeof got - strlen(got), "%s%lld", k ? "," : "", (long long)a.shape[k]);
        av_npy_close(&a);
        return av_fail("%s: shape [%s] %s does not match the run: want [%d,%d,%lld,%d] f32", path, got,
                       av_dtype_name(a.dtype), L, H, (long long)(2 * vd->T), dim);
    }
    float *bounds = av_malloc((size_t)L * H * 6 * sizeof(float));
    if (!bounds) { av_npy_close(&a); return AV_ERR; }
    const float *p = a.data;
    int64_t n = 2 * vd->T;
    for (int64_t c = 0; c < (int64_t)L * H; c++) fit_bounds(p + c * n * dim, n, dim, bounds + c * 6);
    drop_current(vd);
    vd->pdata = a;
    vd->bounds = bounds;
    vd->cur = i;
    return AV_OK;
}

int av_vdata_dim(const av_vdata *vd) { return vd->cur >= 0 ? vd->proj[vd->cur].dim : 2; }

const float *av_vdata_point(const av_vdata *vd, int l, int h, int64_t p) {
    int dim = av_vdata_dim(vd);
    int64_t c = (int64_t)l * vd->run.num_heads + h;
    if (vd->cur >= 0 && vd->cur == vd->live_idx && vd->live_head[c]) return vd->live_head[c] + p * dim;
    return (const float *)vd->pdata.data + (c * 2 * vd->T + p) * dim;
}

int av_vdata_head_projected(const av_vdata *vd, int l, int h) {
    if (vd->cur < 0 || vd->T < 1) return 0;
    if (vd->cur == vd->live_idx && vd->live_dev[(int64_t)l * vd->run.num_heads + h]) return 1;
    /* a head is written whole or not at all: its first and last points tell */
    const float *a = av_vdata_point(vd, l, h, 0), *b = av_vdata_point(vd, l, h, 2 * vd->T - 1);
    return isfinite(a[0]) && isfinite(b[0]);
}

int av_vdata_heads_projected(const av_vdata *vd) {
    int n = 0;
    for (int l = 0; l < vd->run.num_layers; l++)
        for (int h = 0; h < vd->run.num_heads; h++) n += av_vdata_head_projected(vd, l, h);
    return n;
}

/* Labels for the items whose tokens.jsonl lines have none (runs written before "label"):
 * GPT-2's byte-level spelling decoded, the other models' tokens as they are. */
static int derive_labels(av_vdata *vd) {
    av_tok_spelling sp = !strcmp(vd->run.model_type, "gpt2") ? AV_SPELL_BYTE_LEVEL : AV_SPELL_PLAIN;
    for (int64_t i = 0; i < vd->run.num_items; i++) {
        int64_t t0 = vd->item_start[i], n = vd->item_len[i];
        int missing = 0;
        for (int64_t t = t0; t < t0 + n; t++) missing |= !vd->tok_label[t];
        if (!missing) continue;
        for (int64_t t = t0; t < t0 + n; t++) { free(vd->tok_label[t]); vd->tok_label[t] = NULL; }
        if (av_token_labels((const char *const *)vd->tok_text + t0, (int)n, sp, vd->tok_label + t0) != AV_OK)
            return av_fail("out of memory (token labels)");
    }
    return AV_OK;
}

/* ---- open / close ----------------------------------------------------------------- */

int av_vdata_open(const char *dir, av_vdata *vd) {
    memset(vd, 0, sizeof *vd);
    vd->cur = vd->live_idx = -1;
    if (av_run_open(dir, &vd->run) != AV_OK) return AV_ERR;
    av_run *r = &vd->run;
    vd->T = r->num_tokens;
    vd->is_vit = !strcmp(r->model_type, "vit");
    vd->is_decoder = av_model_type_causal(r->model_type);
    int64_t T = vd->T, I = r->num_items;
    vd->tok_text = av_calloc((size_t)T + 1, sizeof(char *));
    vd->tok_label = av_calloc((size_t)T + 1, sizeof(char *));
    vd->tok_item = av_malloc(((size_t)T + 1) * sizeof(int32_t));
    vd->tok_pos = av_malloc(((size_t)T + 1) * sizeof(int32_t));
    vd->item_start = av_calloc((size_t)I + 1, sizeof(int64_t));
    vd->item_len = av_calloc((size_t)I + 1, sizeof(int64_t));
    vd->item_text = av_calloc((size_t)I + 1, sizeof(char *));
    vd->item_label = av_calloc((size_t)I + 1, sizeof(char *));
    if (vd->is_vit) {
        vd->tok_row = av_malloc(((size_t)T + 1) * sizeof(int32_t));
        vd->tok_col = av_malloc(((size_t)T + 1) * sizeof(int32_t));
    }
    if (!vd->tok_text || !vd->tok_label || !vd->tok_item || !vd->tok_pos || !vd->item_start || !vd->item_len || !vd->item_text ||
        !vd->item_label || (vd->is_vit && (!vd->tok_row || !vd->tok_col)))
        goto fail;
    memcpy(vd->tok_item, r->token_item.data, (size_t)T * sizeof(int32_t));
    memcpy(vd->tok_pos, r->token_pos.data, (size_t)T * sizeof(int32_t));

    /* items must own contiguous token ranges in token order: attention is per item */
    char path[4200];
    av_run_path(r, path, sizeof path, "token_item.npy");
    for (int64_t t = 0; t < T; t++) {
        int32_t it = vd->tok_item[t];
        if (it < 0 || it >= I) { av_fail("%s: token %lld has item %d (the run has %lld items)", path, (long long)t, it, (long long)I); goto fail; }
        if (vd->item_len[it] == 0) vd->item_start[it] = t;
        else if (vd->item_start[it] + vd->item_len[it] != t) { av_fail("%s: the tokens of item %d are not contiguous", path, it); goto fail; }
        vd->item_len[it]++;
    }
    if (vd->is_vit) {
        for (int64_t t = 0; t < T; t++) vd->tok_row[t] = vd->tok_col[t] = -1;
        int64_t patches = I ? vd->item_len[0] - 1 : 0;
        int g = (int)lround(sqrt((double)patches));
        vd->grid = (int64_t)g * g == patches ? g : 0;
    }

    load_ctx c = {vd, path, 0, 0};
    av_run_path(r, path, sizeof path, "tokens.jsonl");
    if (each_line(path, token_line, &c) != AV_OK) goto fail;
    if (c.count != T) { av_fail("%s: %lld tokens, manifest says %lld", path, (long long)c.count, (long long)T); goto fail; }
    if (derive_labels(vd) != AV_OK) goto fail;
    if (vd->is_vit && !c.has_rc && vd->grid) /* derive patch positions: token 0 is the class token */
        for (int64_t t = 0; t < T; t++) {
            int p = vd->tok_pos[t] - 1;
            if (p >= 0) { vd->tok_row[t] = p / vd->grid; vd->tok_col[t] = p % vd->grid; }
        }
    /* token categories once, with the same Unicode- and GPT-2-aware rules as stats */
    av_tok_scheme scheme;
    if (av_tok_scheme_for_model(r->model_type, &scheme) != AV_OK) goto fail;
    if (!(vd->tok_flags = av_malloc(((size_t)T + 1) * sizeof(uint32_t)))) goto fail;
    for (int64_t t = 0; t < T; t++) {
        int first = t == 0 || vd->tok_item[t - 1] != vd->tok_item[t];
        vd->tok_flags[t] = av_token_flags(vd->tok_text[t], first ? NULL : vd->tok_text[t - 1], scheme);
    }
    c = (load_ctx){vd, path, 0, 0};
    av_run_path(r, path, sizeof path, "items.jsonl");
    if (each_line(path, item_line, &c) != AV_OK) goto fail;
    if (c.count != I) { av_fail("%s: %lld items, manifest says %lld", path, (long long)c.count, (long long)I); goto fail; }

    if (load_synth(vd) != AV_OK) goto fail;

    av_run_path(r, path, sizeof path, "stats.json");
    if (av_file_exists(path) && !(vd->stats = av_json_read(path))) goto fail;

    const cJSON *arrays = cJSON_GetObjectItemCaseSensitive(r->manifest, "arrays");
    /* value norms |v| [L, H, T]: "v_norm" as extract writes it (stats reads the same two
     * names; "vnorm" is looked up first, for earlier runs) */
    const cJSON *vn = arrays ? cJSON_GetObjectItemCaseSensitive(arrays, "vnorm") : NULL;
    if (!vn && arrays) vn = cJSON_GetObjectItemCaseSensitive(arrays, "v_norm");
    const cJSON *vf = vn ? cJSON_GetObjectItemCaseSensitive(vn, "file") : NULL;
    if (cJSON_IsString(vf) && !strstr(vf->valuestring, "..")) {
        av_run_path(r, path, sizeof path, vf->valuestring);
        if (av_npy_open(path, &vd->vnorm) != AV_OK) goto fail;
        if (vd->vnorm.ndim != 3 || vd->vnorm.shape[0] != r->num_layers || vd->vnorm.shape[1] != r->num_heads ||
            vd->vnorm.shape[2] != T || vd->vnorm.dtype == AV_DT_I32) {
            av_npy_close(&vd->vnorm);
            av_fail("%s: shape does not match the run: want [%d,%d,%lld] f32|f16", path, r->num_layers, r->num_heads, (long long)T);
            goto fail;
        }
        vd->has_vnorm = 1;
    }
    scan_projections(vd);
    return AV_OK;
fail:
    av_vdata_close(vd);
    return AV_ERR;
}

void av_vdata_close(av_vdata *vd) {
    for (int64_t t = 0; vd->tok_text && t < vd->T; t++) free(vd->tok_text[t]);
    for (int64_t t = 0; vd->tok_label && t < vd->T; t++) free(vd->tok_label[t]);
    free(vd->tok_label);
    for (int64_t i = 0; vd->item_text && i < vd->run.num_items; i++) {
        free(vd->item_text[i]);
        if (vd->item_label) free(vd->item_label[i]);
    }
    free(vd->tok_text); free(vd->tok_row); free(vd->tok_col); free(vd->tok_item); free(vd->tok_pos);
    free(vd->item_start); free(vd->item_len); free(vd->item_text); free(vd->item_label);
    drop_current(vd);
    free(vd->norm01); free(vd->tok_flags); free(vd->live); free(vd->live_bounds); free(vd->live_head); free(vd->live_dev); free(vd->synth);
    if (vd->has_vnorm) av_npy_close(&vd->vnorm);
    if (vd->stats) cJSON_Delete(vd->stats);
    av_run_close(&vd->run);
    memset(vd, 0, sizeof *vd);
    vd->cur = vd->live_idx = -1;
}

/* ---- token attributes ------------------------------------------------------------- */

int av_vdata_is_special(const av_vdata *vd, int64_t t) {
    if (vd->is_vit) return vd->tok_pos[t] == 0;
    return (vd->tok_flags[t] & AV_TOK_SPECIAL) != 0;
}

/* The token with its word-piece / byte-level markers removed: "##ing" -> "ing", "Ġthe" -> "the". */
static const char *token_core(const char *s) {
    if (!strncmp(s, "##", 2) && s[2]) return s + 2;
    if (!strncmp(s, "\xc4\xa0", 2) && s[2]) return s + 2;   /* U+0120 'Ġ' */
    if (!strncmp(s, "\xc4\x8a", 2) && s[2]) return s + 2;   /* U+010A 'Ċ' */
    return s;
}

/* The token as a reader sees it, in buf: byte-level BPE spelling decoded back to its
 * UTF-8 bytes ("ĠcafÃ©" -> "café") and the word marker dropped ("##ing" -> "ing", the
 * leading space or newline of GPT-2 tokens); a token that is only the marker or only
 * white space keeps it. Falls back to token_core when the bytes are not whole UTF-8
 * characters (a token holding part of one). */
static const char *token_plain(const av_vdata *vd, int64_t t, char *buf, int cap) {
    const char *s = vd->tok_text[t];
    if (!vd->is_decoder) return token_core(s);
    int n = av_byte_bpe_decode(s, buf, cap);
    if (n < 0) return token_core(s);
    for (utf8proc_ssize_t i = 0; i < n;) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)buf + i, n - i, &cp);
        if (k <= 0) return token_core(s); /* not whole characters */
        i += k;
    }
    const char *q = buf;
    while (*q == ' ' || *q == '\n' || *q == '\t' || *q == '\r') q++;
    return *q ? q : buf;
}

static int64_t utf8_len(const char *s) {
    int64_t n = 0;
    for (; *s; s++) n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

int av_vdata_token_attr(const av_vdata *vd, av_color_mode m, float *out) {
    int64_t T = vd->T;
    switch (m) {
    case AV_COLOR_QK:
    case AV_COLOR_NORM:
        for (int64_t t = 0; t < T; t++) out[t] = 0;
        return AV_OK;
    case AV_COLOR_POSITION:
        for (int64_t t = 0; t < T; t++) {
            int64_t n = vd->item_len[vd->tok_item[t]];
            out[t] = n > 1 ? (float)vd->tok_pos[t] / (float)(n - 1) : 0.0f;
        }
        return AV_OK;
    case AV_COLOR_MOD5:
        for (int64_t t = 0; t < T; t++) out[t] = (float)(vd->tok_pos[t] % 5);
        return AV_OK;
    case AV_COLOR_PUNCT:
        for (int64_t t = 0; t < T; t++)
            out[t] = av_vdata_is_special(vd, t) ? 2.0f : (vd->tok_flags[t] & AV_TOK_PUNCT) ? 1.0f : 0.0f;
        return AV_OK;
    case AV_COLOR_TOKLEN:
    case AV_COLOR_ITEMLEN: {
        float mx = 1;
        for (int64_t t = 0; t < T; t++) {
            char buf[512];
            out[t] = m == AV_COLOR_TOKLEN ? (float)utf8_len(token_plain(vd, t, buf, sizeof buf)) : (float)vd->item_len[vd->tok_item[t]];
            if (out[t] > mx) mx = out[t];
        }
        for (int64_t t = 0; t < T; t++) out[t] /= mx;
        return AV_OK;
    }
    case AV_COLOR_FREQ: {
        int64_t *freq = av_malloc(((size_t)T + 1) * sizeof *freq);
        if (!freq) return AV_ERR;
        if (av_token_frequencies((const char *const *)vd->tok_text, T, freq) != AV_OK) { free(freq); return AV_ERR; }
        double lmax = log((double)(T > 1 ? T : 2));
        for (int64_t t = 0; t < T; t++) out[t] = (float)(log((double)freq[t]) / lmax);
        free(freq);
        return AV_OK;
    }
    case AV_COLOR_ROW:
    case AV_COLOR_COL:
        if (!vd->is_vit || !vd->grid) return av_fail("%s: colour mode '%s' needs a ViT run", vd->run.dir, av_color_name(m));
        for (int64_t t = 0; t < T; t++) {
            int32_t v = m == AV_COLOR_ROW ? vd->tok_row[t] : vd->tok_col[t];
            out[t] = v < 0 ? -1.0f : (float)v / (float)(vd->grid > 1 ? vd->grid - 1 : 1);
        }
        return AV_OK;
    case AV_COLOR_LABEL: {
        /* label -> index of its first appearance, so colours are stable for a run */
        int64_t I = vd->run.num_items;
        int any = 0;
        for (int64_t i = 0; i < I; i++) any |= vd->item_label[i] != NULL;
        if (!any) return av_fail("%s: colour mode 'label' needs items with a \"label\" in items.jsonl", vd->run.dir);
        for (int64_t t = 0; t < T; t++) {
            const char *lb = vd->item_label[vd->tok_item[t]];
            int64_t k = 0;
            if (lb)
                for (int64_t i = 0; i < I; i++) {
                    const char *o = vd->item_label[i];
                    if (!o) continue;
                    if (!strcmp(o, lb)) break;
                    int seen = 0;
                    for (int64_t j = 0; j < i && !seen; j++) seen = vd->item_label[j] && !strcmp(vd->item_label[j], o);
                    k += !seen;
                }
            out[t] = lb ? (float)(k % 10) : -1.0f;
        }
        return AV_OK;
    }
    case AV_COLOR_HUE:
    case AV_COLOR_BRIGHTNESS:
    case AV_COLOR_FREQUENCY:
    case AV_COLOR_ANGLE:
    case AV_COLOR_CELLS: {
        if (!vd->synth)
            return av_fail("%s: colour mode '%s' needs a ViT run of an `attnviz synth` folder (images DIR/<kind>/*.png with DIR/params.jsonl)",
                           vd->run.dir, av_color_name(m));
        int q = (int)(m - AV_COLOR_HUE);
        double lo = INFINITY, hi = -INFINITY;
        for (int64_t i = 0; i < vd->run.num_items; i++) {
            double x = vd->synth[i * AV_SYNTH_PARAMS + q];
            if (isnan(x)) continue;
            if (x < lo) lo = x;
            if (x > hi) hi = x;
        }
        if (lo > hi) return av_fail("%s: no image of the run varies %s", vd->run.dir, av_color_name(m));
        for (int64_t t = 0; t < T; t++) {
            double x = vd->synth[(int64_t)vd->tok_item[t] * AV_SYNTH_PARAMS + q], y;
            if (isnan(x)) { out[t] = -1.0f; continue; }
            if (m == AV_COLOR_HUE) y = x / 360;
            else if (m == AV_COLOR_BRIGHTNESS) y = x;
            else if (m == AV_COLOR_ANGLE) y = x / 180;
            else y = hi > lo && lo > 0 ? log(x / lo) / log(hi / lo) : 0.5; /* log-spread by synth */
            out[t] = (float)(y < 0 ? 0 : y > 1 ? 1 : y);
        }
        return AV_OK;
    }
    default:
        return av_fail("unknown colour mode %d", (int)m);
    }
}

void av_vdata_attr_scale(const av_vdata *vd, av_color_mode m, char lo[32], char hi[32], char none[48]) {
    snprintf(lo, 32, "low");
    snprintf(hi, 32, "high");
    none[0] = 0;
    int64_t T = vd->T, mx = 1;
    switch (m) {
    case AV_COLOR_POSITION: snprintf(lo, 32, "first"); snprintf(hi, 32, "last"); break;
    case AV_COLOR_NORM: snprintf(lo, 32, "low |q|, |k|"); snprintf(hi, 32, "high, per head"); break;
    case AV_COLOR_TOKLEN: /* av_vdata_token_attr divides by the longest token */
        for (int64_t t = 0; t < T; t++) {
            char buf[512];
            int64_t n = utf8_len(token_plain(vd, t, buf, sizeof buf));
            if (n > mx) mx = n;
        }
        snprintf(lo, 32, "0");
        snprintf(hi, 32, "%lld chars", (long long)mx);
        break;
    case AV_COLOR_ITEMLEN:
        for (int64_t i = 0; i < vd->run.num_items; i++)
            if (vd->item_len[i] > mx) mx = vd->item_len[i];
        snprintf(lo, 32, "0");
        snprintf(hi, 32, "%lld tokens", (long long)mx);
        break;
    case AV_COLOR_FREQ: /* log(count) / log(T) */
        snprintf(lo, 32, "once");
        snprintf(hi, 32, "%lld times (log)", (long long)(T > 1 ? T : 2));
        break;
    case AV_COLOR_ROW: snprintf(lo, 32, "top"); snprintf(hi, 32, "bottom"); snprintf(none, 48, "grey: class token"); break;
    case AV_COLOR_COL: snprintf(lo, 32, "left"); snprintf(hi, 32, "right"); snprintf(none, 48, "grey: class token"); break;
    case AV_COLOR_HUE: snprintf(lo, 32, "0"); snprintf(hi, 32, "360 deg"); break;
    case AV_COLOR_ANGLE: snprintf(lo, 32, "0"); snprintf(hi, 32, "180 deg"); break;
    case AV_COLOR_BRIGHTNESS: snprintf(lo, 32, "0 black"); snprintf(hi, 32, "1 white"); break;
    case AV_COLOR_FREQUENCY:
    case AV_COLOR_CELLS: {
        int q = (int)(m - AV_COLOR_HUE);
        double a = INFINITY, b = -INFINITY;
        for (int64_t i = 0; vd->synth && i < vd->run.num_items; i++) {
            double x = vd->synth[i * AV_SYNTH_PARAMS + q];
            if (isnan(x)) continue;
            if (x < a) a = x;
            if (x > b) b = x;
        }
        if (a <= b && m == AV_COLOR_FREQUENCY) { snprintf(lo, 32, "%.3g cyc/img", a); snprintf(hi, 32, "%.3g (log)", b); }
        if (a <= b && m == AV_COLOR_CELLS) { snprintf(lo, 32, "%.0f squares/side", a); snprintf(hi, 32, "%.0f (log)", b); }
        break;
    }
    default: break;
    }
    if (m >= AV_COLOR_HUE && vd->synth) {
        /* images of the other probe kinds have no value for this one */
        int q = (int)(m - AV_COLOR_HUE);
        for (int64_t i = 0; i < vd->run.num_items && !none[0]; i++)
            if (isnan(vd->synth[i * AV_SYNTH_PARAMS + q])) snprintf(none, 48, "grey: no %s (other probes)", av_color_name(m));
    }
}

int av_vdata_categories(const av_vdata *vd, av_color_mode m, const char **names, int max) {
    static const char *qk[] = {"query", "key"}, *punct[] = {"other", "punctuation", "special"};
    static const char *mod5[] = {"pos % 5 = 0", "1", "2", "3", "4"};
    const char **src = NULL;
    int n = 0;
    if (m == AV_COLOR_QK) { src = qk; n = 2; }
    else if (m == AV_COLOR_PUNCT) { src = punct; n = 3; }
    else if (m == AV_COLOR_MOD5) { src = mod5; n = 5; }
    else if (m == AV_COLOR_LABEL) {
        int64_t I = vd->run.num_items;
        for (int64_t i = 0; i < I && n < max && n < 10; i++) {
            const char *o = vd->item_label[i];
            int seen = !o;
            for (int k = 0; k < n && !seen; k++) seen = !strcmp(names[k], o);
            if (!seen) names[n++] = o;
        }
        return n;
    }
    if (n > max) n = max;
    for (int i = 0; i < n; i++) names[i] = src[i];
    return n;
}

static float row_norm(const av_npy *a, int64_t base, int d) {
    double s = 0;
    if (a->dtype == AV_DT_F32) {
        const float *p = (const float *)a->data + base;
        for (int k = 0; k < d; k++) s += (double)p[k] * p[k];
    } else {
        const uint16_t *p = (const uint16_t *)a->data + base;
        for (int k = 0; k < d; k++) { float v = av_f16_to_f32(p[k]); s += (double)v * v; }
    }
    return (float)sqrt(s);
}

const float *av_vdata_norms(av_vdata *vd) {
    if (vd->norm01) return vd->norm01;
    int L = vd->run.num_layers, H = vd->run.num_heads, d = vd->run.head_dim;
    int64_t T = vd->T;
    float *n = av_malloc(((size_t)L * H * 2 * T + 1) * sizeof(float));
    if (!n) return NULL;
    #pragma omp parallel for schedule(dynamic)
    for (int64_t c = 0; c < (int64_t)L * H; c++) {
        float *o = n + c * 2 * T, lo = INFINITY, hi = -INFINITY;
        /* the keys of query head h are its key head's (grouped-query attention) */
        int64_t ck = c / H * vd->run.num_kv_heads + av_run_kv_head(&vd->run, (int)(c % H));
        for (int64_t t = 0; t < T; t++) {
            o[t] = row_norm(&vd->run.q, (c * T + t) * d, d);
            o[T + t] = row_norm(&vd->run.k, (ck * T + t) * d, d);
        }
        for (int64_t p = 0; p < 2 * T; p++) { if (o[p] < lo) lo = o[p]; if (o[p] > hi) hi = o[p]; }
        float span = hi > lo ? hi - lo : 1;
        for (int64_t p = 0; p < 2 * T; p++) o[p] = (o[p] - lo) / span;
    }
    vd->norm01 = n;
    return n;
}

/* ---- search and stats ------------------------------------------------------------- */

int64_t av_vdata_search(const av_vdata *vd, const char *text, uint8_t *flags, uint8_t bit) {
    int64_t hits = 0;
    for (int64_t t = 0; t < vd->T; t++) flags[t] &= (uint8_t)~bit;
    if (!text || !*text) return 0;
    for (int64_t t = 0; t < vd->T; t++) {
        char buf[512];
        if (strcasecmp(token_plain(vd, t, buf, sizeof buf), text) && strcasecmp(vd->tok_text[t], text)) continue;
        {
            flags[t] |= bit;
            hits++;
        }
    }
    return hits;
}

static int head_matches(const cJSON *e, int l, int h) {
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(e, "layer"), *b = cJSON_GetObjectItemCaseSensitive(e, "head");
    return cJSON_IsNumber(a) && cJSON_IsNumber(b) && a->valueint == l && b->valueint == h;
}

const cJSON *av_vdata_head_stats(const av_vdata *vd, int l, int h) {
    if (!vd->stats) return NULL;
    const cJSON *heads = cJSON_IsArray(vd->stats) ? vd->stats : cJSON_GetObjectItemCaseSensitive(vd->stats, "heads");
    char key[32];
    snprintf(key, sizeof key, "%d:%d", l, h);
    if (cJSON_IsArray(heads)) {
        const cJSON *e;
        cJSON_ArrayForEach(e, heads) if (head_matches(e, l, h)) return e;
        /* an array in layer-major order without explicit indices */
        const cJSON *e2 = cJSON_GetArrayItem(heads, l * vd->run.num_heads + h);
        if (cJSON_IsObject(e2) && !cJSON_GetObjectItemCaseSensitive(e2, "layer")) return e2;
        return NULL;
    }
    if (cJSON_IsObject(heads)) return cJSON_GetObjectItemCaseSensitive(heads, key);
    return cJSON_GetObjectItemCaseSensitive(vd->stats, key);
}

/* ---- attention -------------------------------------------------------------------- */

static void load_rows(const av_npy *a, int64_t base, int64_t n, int d, float *out) {
    if (a->dtype == AV_DT_F32) {
        memcpy(out, (const float *)a->data + base, (size_t)n * d * sizeof(float));
    } else {
        const uint16_t *p = (const uint16_t *)a->data + base;
        for (int64_t i = 0; i < n * d; i++) out[i] = av_f16_to_f32(p[i]);
    }
}

static int row_finite(const float *x, int d) {
    for (int c = 0; c < d; c++)
        if (!isfinite(x[c])) return 0;
    return 1;
}

/* The q and k rows of item's tokens for head (l, h) as f32, [n, d] each (caller frees):
 * what the attention is computed from and what av_vdata_nonfinite counts, read in one
 * place so both always see the same rows. */
static int item_qk(const av_vdata *vd, int l, int h, int64_t item, float **q, float **k, int64_t *nout) {
    *q = *k = NULL;
    if (item < 0 || item >= vd->run.num_items) return av_fail("%s: no item %lld", vd->run.dir, (long long)item);
    if (l < 0 || l >= vd->run.num_layers || h < 0 || h >= vd->run.num_heads)
        return av_fail("%s: no head %d:%d", vd->run.dir, l, h);
    int64_t n = vd->item_len[item];
    int d = vd->run.head_dim;
    int64_t base = (((int64_t)l * vd->run.num_heads + h) * vd->T + vd->item_start[item]) * d;
    /* the keys query head h attends with: its key head's (grouped-query attention) */
    int64_t kbase = (((int64_t)l * vd->run.num_kv_heads + av_run_kv_head(&vd->run, h)) * vd->T + vd->item_start[item]) * d;
    *q = av_malloc((size_t)n * d * sizeof(float));
    *k = av_malloc((size_t)n * d * sizeof(float));
    if (!*q || !*k) {
        free(*q);
        free(*k);
        *q = *k = NULL;
        return AV_ERR;
    }
    load_rows(&vd->run.q, base, n, d, *q);
    load_rows(&vd->run.k, kbase, n, d, *k);
    *nout = n;
    return AV_OK;
}

int av_vdata_nonfinite(const av_vdata *vd, int l, int h, int64_t item, int64_t *bad_q, int64_t *bad_k) {
    *bad_q = *bad_k = 0;
    float *q, *k;
    int64_t n;
    if (item_qk(vd, l, h, item, &q, &k, &n) != AV_OK) return AV_ERR;
    for (int64_t i = 0; i < n * vd->run.head_dim; i++) {
        *bad_q += !isfinite(q[i]);
        *bad_k += !isfinite(k[i]);
    }
    free(q);
    free(k);
    return AV_OK;
}

int av_vdata_attention(const av_vdata *vd, int l, int h, int64_t item, int hide_special,
                       int vnorm_weight, float **Aout, int64_t *nout) {
    *Aout = NULL;
    *nout = 0;
    float *q, *k;
    int64_t n;
    if (item_qk(vd, l, h, item, &q, &k, &n) != AV_OK) return AV_ERR;
    int64_t t0 = vd->item_start[item];
    int d = vd->run.head_dim;
    float *A = av_malloc((size_t)(n * n + 1) * sizeof(float));
    /* a token whose q or k holds NaN/Inf (poisoned or overflowed data) takes no part:
     * its query row stays empty and no query attends to its key, so what is finite is
     * still drawn (av_vdata_nonfinite counts them for the message). The finite keys are
     * moved to the front of k, in order, so each row is av_attention_probs_row over them
     * (what stats computes); with every key finite that is exactly the full row. */
    int64_t *key_of = av_malloc((size_t)(n + 1) * sizeof *key_of);
    double *row = av_malloc((size_t)(n + 1) * sizeof *row);
    if (!A || !key_of || !row) { free(q); free(k); free(A); free(key_of); free(row); return AV_ERR; }
    int64_t nk = 0;
    for (int64_t j = 0; j < n; j++) {
        if (!row_finite(k + j * d, d)) continue;
        if (nk != j) memmove(k + nk * d, k + j * d, (size_t)d * sizeof *k);
        key_of[nk++] = j;
    }
    int64_t m = 0;   /* finite keys at positions <= i (the causal prefix) */
    for (int64_t i = 0; i < n; i++) {
        float *p = A + i * n;
        memset(p, 0, (size_t)n * sizeof *p);
        while (m < nk && key_of[m] <= i) m++;
        int64_t mi = vd->is_decoder ? m : nk;
        if (mi == 0 || !row_finite(q + i * d, d)) continue;
        av_attention_probs_row(row, NULL, q + i * d, k, (int)mi, d);
        for (int64_t j = 0; j < mi; j++) p[key_of[j]] = (float)row[j];
    }
    free(key_of);
    free(row);
    free(q);
    free(k);
    if (hide_special || (vnorm_weight && vd->has_vnorm)) {
        for (int64_t j = 0; j < n; j++) {
            int64_t t = t0 + j;
            float w = 1;
            if (hide_special && (av_vdata_is_special(vd, t) || ((vd->is_decoder || vd->is_vit) && vd->tok_pos[t] == 0))) w = 0;
            if (vnorm_weight && vd->has_vnorm && w > 0)
                w *= av_npy_get_f32(&vd->vnorm, ((int64_t)l * vd->run.num_heads + h) * vd->T + t);
            for (int64_t i = 0; i < n; i++) A[i * n + j] *= w;
        }
        for (int64_t i = 0; i < n; i++) {
            double s = 0;
            for (int64_t j = 0; j < n; j++) s += A[i * n + j];
            for (int64_t j = 0; j < n; j++) A[i * n + j] = s > 0 ? (float)(A[i * n + j] / s) : 0.0f;
        }
    }
    *Aout = A;
    *nout = n;
    return AV_OK;
}
