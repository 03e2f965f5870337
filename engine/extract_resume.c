/* extract_resume.c - the checkpoint of an interrupted extraction: see extract_resume.h. */
#include "engine/extract_resume.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "engine/runfolder.h"
#include "base/util.h"

cJSON *av_resume_params(const char *model_dir, const char *data, const av_extract_opts *o, int64_t items,
                        int64_t tokens, int layers, int heads, int head_dim) {
    char model_real[PATH_MAX], data_real[PATH_MAX];
    struct stat st;
    if (!realpath(model_dir, model_real)) return av_fail("%s: cannot resolve the path", model_dir), NULL;
    /* stdin cannot be checked for sameness: such a run never resumes (size -1) */
    int from_stdin = !strcmp(data, "-");
    if (!from_stdin && (!realpath(data, data_real) || stat(data_real, &st) != 0))
        return av_fail("%s: cannot resolve the path", data), NULL;
    cJSON *p = cJSON_CreateObject();
    if (!p) return av_fail("resume: out of memory"), NULL;
    cJSON_AddStringToObject(p, "model", model_real);
    cJSON_AddStringToObject(p, "data", from_stdin ? "-" : data_real);
    cJSON_AddNumberToObject(p, "data_size", from_stdin ? -1.0 : (double)st.st_size);
    cJSON_AddNumberToObject(p, "data_mtime_ns",
                            from_stdin ? -1.0 : (double)st.st_mtim.tv_sec * 1e9 + (double)st.st_mtim.tv_nsec);
    cJSON_AddNumberToObject(p, "max_items", (double)o->max_items);
    cJSON_AddNumberToObject(p, "max_tokens", (double)o->max_tokens);
    cJSON_AddNumberToObject(p, "sample_seed", (double)o->sample_seed);
    cJSON_AddStringToObject(p, "dtype", av_dtype_name(o->dtype));
    /* q/k from another GEMM precision would mix in: only f32 runs (and checkpoints made
     * before the option existed, which were f32) leave the key out */
    if (o->gemm != AV_GEMM_F32) cJSON_AddStringToObject(p, "gemm", av_gemm_name(o->gemm));
    cJSON_AddStringToObject(p, "qk_rope", o->qk_rope == AV_QK_PRE_ROPE ? "pre" : "post");
    cJSON_AddNumberToObject(p, "items", (double)items);
    cJSON_AddNumberToObject(p, "tokens", (double)tokens);
    cJSON_AddNumberToObject(p, "layers", layers);
    cJSON_AddNumberToObject(p, "heads", heads);
    cJSON_AddNumberToObject(p, "head_dim", head_dim);
    return p;
}

static int read_sums(const cJSON *root, const char *key, double *out, int64_t n) {
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != n) return 0;
    int64_t i = 0;
    for (const cJSON *e = a->child; e; e = e->next, i++) {
        if (!cJSON_IsNumber(e)) return 0;
        out[i] = e->valuedouble;
    }
    return 1;
}

int av_resume_load(const char *dir, const char *name, const cJSON *params, av_resume_state *st, char *why,
                   size_t whylen) {
    char path[4200];
    av_path_join(path, sizeof path, dir, name);
    why[0] = 0;
    if (!av_file_exists(path)) return 0;
    cJSON *root = av_json_read(path);
    av_clear_error();
    const cJSON *p = root ? cJSON_GetObjectItemCaseSensitive(root, "params") : NULL;
    const cJSON *done = root ? cJSON_GetObjectItemCaseSensitive(root, "items_done") : NULL;
    const cJSON *over = root ? cJSON_GetObjectItemCaseSensitive(root, "f16_overflow") : NULL;
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(params, "data");
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(params, "items");
    int ok = 0;
    if (!root || !p || !cJSON_IsNumber(done) || !cJSON_IsNumber(over))
        snprintf(why, whylen, "its checkpoint is unreadable");
    else if (cJSON_IsString(data) && !strcmp(data->valuestring, "-"))
        snprintf(why, whylen, "data from stdin cannot be matched");
    else if (!cJSON_Compare(p, params, 1))
        snprintf(why, whylen, "it was made with other parameters or data");
    else if (done->valuedouble < 0 || !cJSON_IsNumber(items) || done->valuedouble > items->valuedouble ||
             !read_sums(root, "qsum", st->qsum, st->nsums) || !read_sums(root, "ksum", st->ksum, st->nsums) ||
             !read_sums(root, "vsum", st->vsum, st->nsums))
        snprintf(why, whylen, "its checkpoint is inconsistent");
    else {
        st->items_done = (int64_t)done->valuedouble;
        st->f16_overflow = (int64_t)over->valuedouble;
        ok = 1;
    }
    cJSON_Delete(root);
    return ok;
}

static cJSON *sums_json(const double *x, int64_t n) {
    cJSON *a = cJSON_CreateArray();
    for (int64_t i = 0; a && i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber(x[i]));
    return a;
}

int av_resume_save(const char *dir, const char *name, const cJSON *params, const av_resume_state *st) {
    char path[4200];
    av_path_join(path, sizeof path, dir, name);
    cJSON *root = cJSON_CreateObject();
    if (!root) return av_fail("%s: out of memory", path);
    cJSON_AddItemToObject(root, "params", cJSON_Duplicate(params, 1));
    cJSON_AddNumberToObject(root, "items_done", (double)st->items_done);
    cJSON_AddNumberToObject(root, "f16_overflow", (double)st->f16_overflow);
    cJSON_AddItemToObject(root, "qsum", sums_json(st->qsum, st->nsums));
    cJSON_AddItemToObject(root, "ksum", sums_json(st->ksum, st->nsums));
    cJSON_AddItemToObject(root, "vsum", sums_json(st->vsum, st->nsums));
    int rc = av_json_write(path, root);
    cJSON_Delete(root);
    return rc;
}
