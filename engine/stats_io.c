/* stats_io.c - the head list of --heads, and the statistics as stats.json, a table and
 * CSV (stats.h). */
#include "engine/stats.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "base/util.h"

int av_stats_parse_heads(const char *spec, int L, int H, int **heads, int *count) {
    *heads = NULL;
    *count = 0;
    if (!spec || !strcmp(spec, "all")) {
        int *h = av_malloc((size_t)L * H * 2 * sizeof(int));
        if (!h) return AV_ERR_NOMEM;
        for (int l = 0; l < L; l++)
            for (int k = 0; k < H; k++) { h[2 * (l * H + k)] = l; h[2 * (l * H + k) + 1] = k; }
        *heads = h;
        *count = L * H;
        return AV_OK;
    }
    int cap = 1;
    for (const char *c = spec; *c; c++) cap += *c == ',';
    int *h = av_malloc((size_t)cap * 2 * sizeof(int));
    char *seen = av_calloc((size_t)L * H, 1);
    if (!h || !seen) { free(h); free(seen); return AV_ERR_NOMEM; }
    int n = 0;
    const char *p = spec;
    while (1) {
        char *end;
        errno = 0;
        long l = strtol(p, &end, 10);
        if (end == p || *end != ':' || errno) goto bad;
        const char *hp = end + 1;
        long k = strtol(hp, &end, 10);
        if (end == hp || (*end != ',' && *end) || errno) goto bad;
        if (l < 0 || l >= L || k < 0 || k >= H) {
            free(h); free(seen);
            return av_fail("--heads: no head %ld:%ld (the run has %d layers x %d heads, numbered from 0)", l, k, L, H);
        }
        if (!seen[l * H + k]) {
            seen[l * H + k] = 1;
            h[2 * n] = (int)l;
            h[2 * n + 1] = (int)k;
            n++;
        }
        if (!*end) break;
        p = end + 1;
    }
    free(seen);
    *heads = h;
    *count = n;
    return AV_OK;
bad:
    free(h); free(seen);
    return av_fail("--heads: \"%s\" is not \"all\" or a list like 0:3,5:11 (layer:head)", spec);
}

static void add_num(cJSON *o, const char *key, double v) {
    if (isfinite(v)) cJSON_AddNumberToObject(o, key, v);
    else cJSON_AddNullToObject(o, key);
}

cJSON *av_stats_json(const av_run *r, const av_head_stats *s, int count) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "format", "attnviz-stats");
    cJSON_AddNumberToObject(j, "version", 1);
    cJSON_AddStringToObject(j, "model_type", r->model_type);
    cJSON_AddNumberToObject(j, "num_layers", r->num_layers);
    cJSON_AddNumberToObject(j, "num_heads", r->num_heads);
    cJSON_AddNumberToObject(j, "num_tokens", (double)r->num_tokens);
    cJSON_AddBoolToObject(j, "causal", !strcmp(r->model_type, "gpt2"));
    cJSON *arr = cJSON_AddArrayToObject(j, "heads");
    for (int i = 0; i < count; i++) {
        const av_head_stats *h = &s[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "layer", h->layer);
        cJSON_AddNumberToObject(o, "head", h->head);
        add_num(o, "q_norm", h->q_norm);
        add_num(o, "k_norm", h->k_norm);
        add_num(o, "qk_norm_ratio", h->qk_norm_ratio);
        add_num(o, "dist_corr", h->dist_corr);
        cJSON_AddNumberToObject(o, "dist_corr_queries", (double)h->dist_corr_queries);
        add_num(o, "attn_first", h->attn_first);
        add_num(o, "attn_self", h->attn_self);
        add_num(o, "attn_prev", h->attn_prev);
        add_num(o, "attn_dist", h->attn_dist);
        add_num(o, "attn_dist_patch", h->attn_dist_patch);
        add_num(o, "qk_cos", h->qk_cos);
        add_num(o, "qk_cka", h->qk_cka);
        add_num(o, "entropy", h->entropy);
        add_num(o, "v_norm", h->v_norm);
        cJSON_AddItemToArray(arr, o);
    }
    return j;
}

static int head_key(const cJSON *h) {
    const cJSON *l = cJSON_GetObjectItemCaseSensitive(h, "layer"), *k = cJSON_GetObjectItemCaseSensitive(h, "head");
    return cJSON_IsNumber(l) && cJSON_IsNumber(k) ? l->valueint * 65536 + k->valueint : -1;
}

/* Heads of an earlier stats.json of the same run that this computation did not cover
 * are kept, so `--heads` refreshes some heads without dropping the others. An earlier
 * file of another shape (or unreadable) is simply replaced. */
static void keep_other_heads(const av_run *r, const char *path, cJSON *j) {
    if (!av_file_exists(path)) return;
    cJSON *old = av_json_read(path);
    if (!old) { av_clear_error(); return; }
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(old, "format");
    const cJSON *nt = cJSON_GetObjectItemCaseSensitive(old, "num_tokens");
    cJSON *oh = cJSON_GetObjectItemCaseSensitive(old, "heads");
    cJSON *nh = cJSON_GetObjectItemCaseSensitive(j, "heads");
    if (cJSON_IsString(fmt) && !strcmp(fmt->valuestring, "attnviz-stats") && cJSON_IsNumber(nt) &&
        nt->valuedouble == (double)r->num_tokens && cJSON_IsArray(oh)) {
        int total = r->num_layers * r->num_heads;
        char *have = calloc((size_t)total, 1);
        cJSON *h;
        cJSON_ArrayForEach(h, nh) {
            int key = head_key(h);
            if (have && key >= 0) have[(key >> 16) * r->num_heads + (key & 0xffff)] = 1;
        }
        cJSON *merged = cJSON_CreateArray();
        for (int l = 0; have && l < r->num_layers; l++)
            for (int k = 0; k < r->num_heads; k++) {
                cJSON *src = have[l * r->num_heads + k] ? nh : oh;
                cJSON_ArrayForEach(h, src)
                    if (head_key(h) == l * 65536 + k) { cJSON_AddItemToArray(merged, cJSON_Duplicate(h, 1)); break; }
            }
        if (have) cJSON_ReplaceItemInObjectCaseSensitive(j, "heads", merged);
        else cJSON_Delete(merged);
        free(have);
    }
    cJSON_Delete(old);
}

int av_stats_save(av_run *r, const av_head_stats *s, int count) {
    /* under the run folder's lock (runfolder.h), unless the caller holds it already */
    int had = r->lock.held;
    if (!had && av_run_lock(r) != AV_OK) return AV_ERR;
    cJSON *j = av_stats_json(r, s, count);
    char path[4096];
    av_run_path(r, path, sizeof path, "stats.json");
    keep_other_heads(r, path, j);
    int rc = av_json_write(path, j);
    cJSON_Delete(j);
    if (rc == AV_OK) {
        cJSON_DeleteItemFromObjectCaseSensitive(r->manifest, "stats");
        cJSON_AddStringToObject(r->manifest, "stats", "stats.json");
        rc = av_run_save_manifest(r);
    }
    if (!had) av_run_unlock(r);
    return rc;
}

/* One right-aligned column: the value, or "-" where the statistic does not apply. */
static void cell(FILE *f, int width, int prec, double v) {
    if (isfinite(v)) fprintf(f, " %*.*f", width, prec, v);
    else fprintf(f, " %*s", width, "-");
}

void av_stats_print_table(FILE *f, const av_head_stats *s, int count) {
    fprintf(f, "%-7s %8s %8s %6s %7s %6s %6s %6s %7s %7s %6s %6s %6s\n", "head", "|q|", "|k|", "q/k",
            "dcorr", "first", "self", "prev", "dist", "pdist", "cos", "cka", "ent");
    for (int i = 0; i < count; i++) {
        const av_head_stats *h = &s[i];
        char name[24];
        snprintf(name, sizeof name, "%d:%d", h->layer, h->head);
        fprintf(f, "%-7s", name);
        cell(f, 8, 3, h->q_norm);
        cell(f, 8, 3, h->k_norm);
        cell(f, 6, 2, h->qk_norm_ratio);
        cell(f, 7, 3, h->dist_corr);
        cell(f, 6, 3, h->attn_first);
        cell(f, 6, 3, h->attn_self);
        cell(f, 6, 3, h->attn_prev);
        cell(f, 7, 2, h->attn_dist);
        cell(f, 7, 2, h->attn_dist_patch);
        cell(f, 6, 3, h->qk_cos);
        cell(f, 6, 3, h->qk_cka);
        cell(f, 6, 3, h->entropy);
        fputc('\n', f);
    }
}

static void csv_num(FILE *f, double v, int last) {
    if (isfinite(v)) fprintf(f, "%.9g", v);
    fputc(last ? '\n' : ',', f);
}

void av_stats_print_csv(FILE *f, const av_head_stats *s, int count) {
    fprintf(f, "layer,head,q_norm,k_norm,qk_norm_ratio,dist_corr,dist_corr_queries,attn_first,attn_self,"
               "attn_prev,attn_dist,attn_dist_patch,qk_cos,qk_cka,entropy,v_norm\n");
    for (int i = 0; i < count; i++) {
        const av_head_stats *h = &s[i];
        fprintf(f, "%d,%d,", h->layer, h->head);
        csv_num(f, h->q_norm, 0); csv_num(f, h->k_norm, 0); csv_num(f, h->qk_norm_ratio, 0);
        csv_num(f, h->dist_corr, 0);
        fprintf(f, "%lld,", (long long)h->dist_corr_queries);
        csv_num(f, h->attn_first, 0); csv_num(f, h->attn_self, 0); csv_num(f, h->attn_prev, 0);
        csv_num(f, h->attn_dist, 0); csv_num(f, h->attn_dist_patch, 0); csv_num(f, h->qk_cos, 0);
        csv_num(f, h->qk_cka, 0); csv_num(f, h->entropy, 0); csv_num(f, h->v_norm, 1);
    }
}
