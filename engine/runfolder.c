/* runfolder.c - see runfolder.h. */
#include "engine/runfolder.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

cJSON *av_json_read(const char *path) {
    size_t n;
    char *text = av_read_file(path, &n);
    if (!text) return NULL;
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(text, n, &end, 0);
    if (!j) {
        long at = end ? (long)(end - text) : -1;
        free(text);
        av_fail("%s: invalid JSON near byte %ld", path, at);
        return NULL;
    }
    free(text);
    return j;
}

int av_json_write(const char *path, const cJSON *json) {
    char *s = cJSON_Print(json);
    if (!s) return av_fail("%s: cannot serialise JSON", path);
    size_t n = strlen(s);
    s[n] = '\n'; /* cJSON_Print leaves room only for the NUL: write n bytes, then add newline */
    int rc = av_write_file_atomic(path, s, n + 1);
    free(s);
    return rc;
}

int av_json_int(const cJSON *obj, const char *key, const char *file, int64_t *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v) return av_fail("%s: missing key \"%s\"", file, key);
    if (!cJSON_IsNumber(v) || v->valuedouble != (double)(int64_t)v->valuedouble)
        return av_fail("%s: \"%s\" is not an integer", file, key);
    *out = (int64_t)v->valuedouble;
    return AV_OK;
}

int av_json_str(const cJSON *obj, const char *key, const char *file, const char **out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v) return av_fail("%s: missing key \"%s\"", file, key);
    if (!cJSON_IsString(v)) return av_fail("%s: \"%s\" is not a string", file, key);
    *out = v->valuestring;
    return AV_OK;
}

cJSON *av_manifest_new(const char *model_type, const char *model_dir, int num_layers,
                       int num_heads, int head_dim, int64_t num_items, int64_t num_tokens,
                       av_dtype dtype) {
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "format", AV_RUN_FORMAT);
    cJSON_AddNumberToObject(m, "version", AV_RUN_VERSION);
    cJSON_AddStringToObject(m, "model_type", model_type);
    cJSON_AddStringToObject(m, "model_dir", model_dir);
    cJSON_AddNumberToObject(m, "num_layers", num_layers);
    cJSON_AddNumberToObject(m, "num_heads", num_heads);
    cJSON_AddNumberToObject(m, "head_dim", head_dim);
    cJSON_AddNumberToObject(m, "num_items", (double)num_items);
    cJSON_AddNumberToObject(m, "num_tokens", (double)num_tokens);
    cJSON_AddStringToObject(m, "dtype", av_dtype_name(dtype));
    cJSON_AddObjectToObject(m, "arrays");
    return m;
}

int av_manifest_set_array(cJSON *manifest, const char *name, const char *file, av_dtype dtype,
                          int ndim, const int64_t *shape) {
    cJSON *arrays = cJSON_GetObjectItemCaseSensitive(manifest, "arrays");
    if (!arrays) arrays = cJSON_AddObjectToObject(manifest, "arrays");
    cJSON_DeleteItemFromObjectCaseSensitive(arrays, name);
    cJSON *a = cJSON_AddObjectToObject(arrays, name);
    cJSON_AddStringToObject(a, "file", file);
    cJSON_AddStringToObject(a, "dtype", av_dtype_name(dtype));
    cJSON *s = cJSON_AddArrayToObject(a, "shape");
    for (int i = 0; i < ndim; i++) cJSON_AddItemToArray(s, cJSON_CreateNumber((double)shape[i]));
    return AV_OK;
}

int av_manifest_write(const char *dir, const cJSON *manifest) {
    char path[4096];
    av_path_join(path, sizeof path, dir, "manifest.json");
    return av_json_write(path, manifest);
}

char *av_run_path(const av_run *r, char *out, size_t n, const char *name) {
    return av_path_join(out, n, r->dir, name);
}

/* Maps the array called `name` in the manifest and checks dtype class and shape. */
static int open_array(av_run *r, const char *mpath, const char *name, av_npy *a, int ndim,
                      const int64_t *shape, int want_int) {
    const cJSON *arrays = cJSON_GetObjectItemCaseSensitive(r->manifest, "arrays");
    const cJSON *e = arrays ? cJSON_GetObjectItemCaseSensitive(arrays, name) : NULL;
    const char *file = NULL;
    if (!e || av_json_str(e, "file", mpath, &file) != AV_OK)
        return av_fail("%s: arrays.%s missing or has no file", mpath, name);
    if (strstr(file, "..") || file[0] == '/') return av_fail("%s: arrays.%s.file leaves the run folder", mpath, name);
    char path[4096];
    if (av_npy_open(av_run_path(r, path, sizeof path, file), a) != AV_OK) return AV_ERR;
    int ok = a->ndim == ndim && ((a->dtype == AV_DT_I32) == (want_int != 0));
    for (int i = 0; ok && i < ndim; i++) ok = a->shape[i] == shape[i];
    /* the dtype the manifest states must be the file's: readers and `info` trust it */
    const char *mdt = NULL;
    if (ok && av_json_str(e, "dtype", mpath, &mdt) == AV_OK && strcmp(mdt, av_dtype_name(a->dtype))) {
        av_npy_close(a);
        return av_fail("%s: arrays.%s.dtype is \"%s\", but %s holds %s", mpath, name, mdt, path,
                       av_dtype_name(a->dtype));
    }
    av_clear_error();
    if (!ok) {
        char got[128] = "", want[128] = "";
        for (int i = 0; i < a->ndim; i++) snprintf(got + strlen(got), sizeof got - strlen(got), "%s%lld", i ? "," : "", (long long)a->shape[i]);
        for (int i = 0; i < ndim; i++) snprintf(want + strlen(want), sizeof want - strlen(want), "%s%lld", i ? "," : "", (long long)shape[i]);
        av_npy_close(a);
        return av_fail("%s: shape [%s] %s, manifest says [%s] %s", path, got, av_dtype_name(a->dtype),
                       want, want_int ? "i32" : "f16|f32");
    }
    return AV_OK;
}

/* num_items against token_item.npy: every token names an item below num_items, and the
 * last item names one (each item has at least one token: extract drops empty ones). */
static int check_items(const av_run *r, const char *mpath) {
    const int32_t *ti = r->token_item.data;
    int64_t T = r->num_tokens, top = -1;
    for (int64_t t = 0; t < T; t++) {
        if (ti[t] < 0 || ti[t] >= r->num_items) {
            char path[4200];
            return av_fail("%s: token %lld names item %d, but %s says num_items %lld",
                           av_run_path(r, path, sizeof path, "token_item.npy"), (long long)t, ti[t], mpath,
                           (long long)r->num_items);
        }
        if (ti[t] > top) top = ti[t];
    }
    if (top + 1 != r->num_items)
        return av_fail("%s: num_items is %lld, but token_item.npy names %lld items", mpath, (long long)r->num_items,
                       (long long)(top + 1));
    return AV_OK;
}

int av_run_open(const char *dir, av_run *r) {
    memset(r, 0, sizeof *r);
    r->lock.fd = -1;
    snprintf(r->dir, sizeof r->dir, "%s", dir);
    char mpath[4096];
    av_run_path(r, mpath, sizeof mpath, "manifest.json");
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) return av_fail("%s: not a run folder (no such folder)", dir);
    r->dev = st.st_dev;
    r->ino = st.st_ino;
    if (!av_file_exists(mpath)) return av_fail("%s: not a run folder (no manifest.json; was extract interrupted?)", dir);
    r->manifest = av_json_read(mpath);
    if (!r->manifest) return AV_ERR;
    const char *fmt = NULL, *mt = NULL;
    int64_t L = 0, H = 0, d = 0, I = 0, T = 0, ver = 0;
    if (av_json_str(r->manifest, "format", mpath, &fmt) || av_json_int(r->manifest, "version", mpath, &ver) ||
        av_json_str(r->manifest, "model_type", mpath, &mt) || av_json_int(r->manifest, "num_layers", mpath, &L) ||
        av_json_int(r->manifest, "num_heads", mpath, &H) || av_json_int(r->manifest, "head_dim", mpath, &d) ||
        av_json_int(r->manifest, "num_items", mpath, &I) || av_json_int(r->manifest, "num_tokens", mpath, &T))
        goto fail;
    if (strcmp(fmt, AV_RUN_FORMAT)) { av_fail("%s: format is \"%s\", not \"%s\"", mpath, fmt, AV_RUN_FORMAT); goto fail; }
    if (ver != AV_RUN_VERSION) { av_fail("%s: version %lld not supported (this build reads %d)", mpath, (long long)ver, AV_RUN_VERSION); goto fail; }
    if (L <= 0 || H <= 0 || d <= 0 || I < 0 || T < 0 || L > 4096 || H > 4096 || d > 65536) {
        av_fail("%s: implausible sizes (layers %lld, heads %lld, head_dim %lld)", mpath, (long long)L, (long long)H, (long long)d);
        goto fail;
    }
    snprintf(r->model_type, sizeof r->model_type, "%s", mt);
    r->num_layers = (int)L; r->num_heads = (int)H; r->head_dim = (int)d;
    r->num_items = I; r->num_tokens = T;
    int64_t qshape[4] = {L, H, T, d};
    if (open_array(r, mpath, "q", &r->q, 4, qshape, 0) || open_array(r, mpath, "k", &r->k, 4, qshape, 0) ||
        open_array(r, mpath, "token_item", &r->token_item, 1, &T, 1) ||
        open_array(r, mpath, "token_pos", &r->token_pos, 1, &T, 1) || check_items(r, mpath))
        goto fail;
    /* the dtype the manifest states for the run is q's and k's */
    const char *dt = NULL;
    if (av_json_str(r->manifest, "dtype", mpath, &dt) == AV_OK &&
        (strcmp(dt, av_dtype_name(r->q.dtype)) || strcmp(dt, av_dtype_name(r->k.dtype)))) {
        av_fail("%s: dtype is \"%s\", but q.npy holds %s and k.npy %s", mpath, dt, av_dtype_name(r->q.dtype),
                av_dtype_name(r->k.dtype));
        goto fail;
    }
    av_clear_error();
    return AV_OK;
fail:
    av_run_close(r);
    return AV_ERR;
}

int av_run_is_run_folder(const char *dir) {
    char mpath[4200];
    av_path_join(mpath, sizeof mpath, dir, "manifest.json");
    if (!av_file_exists(mpath)) return 0;
    cJSON *m = av_json_read(mpath);
    av_clear_error();
    const cJSON *f = m ? cJSON_GetObjectItemCaseSensitive(m, "format") : NULL;
    int ours = cJSON_IsString(f) && !strcmp(f->valuestring, AV_RUN_FORMAT);
    cJSON_Delete(m);
    return ours;
}

int av_run_lock(av_run *r) {
    if (r->lock.held) return AV_OK;
    if (av_folder_lock_take(&r->lock, r->dir, r->dir) != AV_OK) return AV_ERR;
    char mpath[4200];
    av_run_path(r, mpath, sizeof mpath, "manifest.json");
    struct stat st;
    cJSON *m = NULL;
    if (stat(r->dir, &st) != 0 || st.st_dev != r->dev || st.st_ino != r->ino) {
        av_fail("%s: was replaced since it was opened (by another extract?); run the command again", r->dir);
    } else if ((m = av_json_read(mpath))) {
        cJSON_Delete(r->manifest);
        r->manifest = m;
        return AV_OK;
    }
    av_folder_lock_release(&r->lock);
    return AV_ERR;
}

void av_run_unlock(av_run *r) { av_folder_lock_release(&r->lock); }

void av_run_close(av_run *r) {
    av_run_unlock(r);
    av_npy_close(&r->q);
    av_npy_close(&r->k);
    av_npy_close(&r->token_item);
    av_npy_close(&r->token_pos);
    if (r->manifest) cJSON_Delete(r->manifest);
    r->manifest = NULL;
}

static int head_rows(const av_run *r, const av_npy *a, int layer, int head, float *out) {
    if (layer < 0 || layer >= r->num_layers || head < 0 || head >= r->num_heads)
        return av_fail("%s: no head %d:%d (the run has %d layers x %d heads)", r->dir, layer, head,
                       r->num_layers, r->num_heads);
    int64_t n = r->num_tokens * r->head_dim;
    int64_t base = ((int64_t)layer * r->num_heads + head) * n;
    if (a->dtype == AV_DT_F32) {
        memcpy(out, (const float *)a->data + base, (size_t)n * sizeof(float));
    } else {
        const uint16_t *h = (const uint16_t *)a->data + base;
        for (int64_t i = 0; i < n; i++) out[i] = av_f16_to_f32(h[i]);
    }
    return AV_OK;
}

int av_run_head_q(const av_run *r, int layer, int head, float *out) { return head_rows(r, &r->q, layer, head, out); }
int av_run_head_k(const av_run *r, int layer, int head, float *out) { return head_rows(r, &r->k, layer, head, out); }

int av_run_save_manifest(const av_run *r) { return av_manifest_write(r->dir, r->manifest); }

int av_run_load_tokens(const av_run *r, av_run_tokens *t) {
    t->text = NULL;
    t->count = 0;
    char path[4096];
    av_run_path(r, path, sizeof path, "tokens.jsonl");
    size_t n;
    char *buf = av_read_file(path, &n);
    if (!buf) return AV_ERR;
    t->text = av_calloc((size_t)r->num_tokens + 1, sizeof(char *));
    if (!t->text) { free(buf); return AV_ERR; }
    char *line = buf;
    int64_t lineno = 0;
    while (*line) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = 0;
        lineno++;
        if (*line) {
            if (t->count >= r->num_tokens) { av_fail("%s: more lines than num_tokens (%lld)", path, (long long)r->num_tokens); goto fail; }
            cJSON *j = cJSON_Parse(line);
            const cJSON *tx = j ? cJSON_GetObjectItemCaseSensitive(j, "text") : NULL;
            if (!cJSON_IsString(tx)) { cJSON_Delete(j); av_fail("%s:%lld: not an object with \"text\"", path, (long long)lineno); goto fail; }
            t->text[t->count++] = strdup(tx->valuestring);
            cJSON_Delete(j);
        }
        if (!nl) break;
        line = nl + 1;
    }
    free(buf);
    if (t->count != r->num_tokens) {
        av_fail("%s: %lld tokens, manifest says %lld", path, (long long)t->count, (long long)r->num_tokens);
        av_run_tokens_free(t);
        return AV_ERR;
    }
    return AV_OK;
fail:
    free(buf);
    av_run_tokens_free(t);
    return AV_ERR;
}

void av_run_tokens_free(av_run_tokens *t) {
    for (int64_t i = 0; t->text && i < t->count; i++) free(t->text[i]);
    free(t->text);
    t->text = NULL;
    t->count = 0;
}
