/* projectrun.c - see projectrun.h. */
#include "engine/projectrun.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "kernels/knn/knn.h"
#include "engine/normalize.h"
#include "engine/context.h"
#include "engine/dist.h"
#include "engine/quality.h"
#include "kernels/tsne/tsne.h"
#include "base/util.h"

const char *av_proj_method_name(av_proj_method m) {
    return m == AV_PROJ_TSNE ? "tsne" : m == AV_PROJ_UMAP ? "umap" : "pca";
}

void av_project_defaults(av_project_opts *o) {
    memset(o, 0, sizeof *o);
    o->method = AV_PROJ_TSNE;
    o->dim = 2;
    o->translate = 1;
    av_tsne_defaults(&o->tsne);
    av_umap_defaults(&o->umap);
    /* one default metric for the command, whatever the method (docs/projections.md) */
    o->umap.metric = o->tsne.metric;
    o->quality_sample = 2000;
    o->parallel_heads_max_points = 2048;
}

int av_parse_heads(const char *spec, int layers, int heads, int **pairs, int *count) {
    *pairs = NULL;
    *count = 0;
    if (!strcmp(spec, "all")) return AV_OK;
    int cap = 1;
    for (const char *s = spec; *s; s++) cap += *s == ',';
    int *out = av_malloc((size_t)cap * 2 * sizeof *out);
    if (!out) return AV_ERR_NOMEM;
    const char *s = spec;
    int n = 0;
    while (1) {
        const char *end = strchr(s, ',');
        size_t len = end ? (size_t)(end - s) : strlen(s);
        char item[64];
        if (len == 0 || len >= sizeof item) { free(out); return av_fail("--heads: empty or overlong item in '%s'", spec); }
        memcpy(item, s, len);
        item[len] = 0;
        char *colon = strchr(item, ':'), *e1, *e2;
        if (!colon) { free(out); return av_fail("--heads: '%s' is not LAYER:HEAD", item); }
        errno = 0;
        long l = strtol(item, &e1, 10), h = strtol(colon + 1, &e2, 10);
        if (errno || e1 != colon || e1 == item || *e2 || e2 == colon + 1) { free(out); return av_fail("--heads: '%s' is not LAYER:HEAD", item); }
        if (l < 0 || l >= layers || h < 0 || h >= heads) {
            free(out);
            return av_fail("--heads: head %ld:%ld does not exist (the model has layers 0-%d, heads 0-%d)", l, h, layers - 1, heads - 1);
        }
        int dup = 0;
        for (int i = 0; i < n; i++) dup |= out[2 * i] == l && out[2 * i + 1] == h;
        if (!dup) { out[2 * n] = (int)l; out[2 * n + 1] = (int)h; n++; }
        if (!end) break;
        s = end + 1;
    }
    *pairs = out;
    *count = n;
    return AV_OK;
}

int av_project_backend_of(const av_project_opts *o, av_project_backend *out, char *note, size_t note_len) {
    if (!o->backend) return av_project_backend_for(o->device, out, note, note_len);
    av_project_backend_complete(o->backend, out, note, note_len);
    return AV_OK;
}

static const char *metric_name(av_metric m) { return m == AV_METRIC_COSINE ? "cosine" : "euclidean"; }
static const char *knn_name(av_knn_method m) { return m == AV_KNN_EXACT ? "exact" : m == AV_KNN_APPROX ? "approx" : "auto"; }
static const char *tsne_method_name(av_tsne_method m) { return m == AV_TSNE_BH ? "bh" : m == AV_TSNE_FFT ? "fft" : "auto"; }

/* The parameters a finished head depends on; heads made with others are not reused. */
static cJSON *params_json(const av_project_opts *o) {
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "method", av_proj_method_name(o->method));
    cJSON_AddNumberToObject(p, "dim", o->dim);
    cJSON_AddBoolToObject(p, "translate", o->translate);
    cJSON_AddBoolToObject(p, "scale", o->scale);
    if (o->method == AV_PROJ_TSNE) {
        const av_tsne_params *t = &o->tsne;
        cJSON_AddStringToObject(p, "metric", metric_name(t->metric));
        cJSON_AddStringToObject(p, "knn", knn_name(t->knn_method));
        cJSON_AddNumberToObject(p, "perplexity", t->perplexity);
        cJSON_AddNumberToObject(p, "iters", t->iters);
        cJSON_AddStringToObject(p, "tsne_method", tsne_method_name(t->method));
        cJSON_AddNumberToObject(p, "theta", t->theta);
        cJSON_AddNumberToObject(p, "early_exaggeration", t->early_exag);
        cJSON_AddNumberToObject(p, "early_iters", t->early_iters);
        if (t->learning_rate > 0) cJSON_AddNumberToObject(p, "learning_rate", t->learning_rate);
        else cJSON_AddStringToObject(p, "learning_rate", "auto: max(n / early_exaggeration, 200)");
        cJSON_AddNumberToObject(p, "seed", (double)t->seed);
    } else if (o->method == AV_PROJ_UMAP) {
        const av_umap_params *u = &o->umap;
        cJSON_AddStringToObject(p, "metric", metric_name(u->metric));
        cJSON_AddStringToObject(p, "knn", knn_name(u->knn_method));
        cJSON_AddNumberToObject(p, "n_neighbors", u->n_neighbors);
        cJSON_AddNumberToObject(p, "min_dist", u->min_dist);
        cJSON_AddNumberToObject(p, "epochs", u->epochs);
        cJSON_AddNumberToObject(p, "seed", (double)u->seed);
    }
    return p;
}

typedef struct {
    const av_run *r;
    const av_project_opts *o;
    char pdir[4096];
    av_progress prog;
    av_project_backend be;  /* the device's projections (kernels/project.h), completed from the CPU's */
    int64_t units_per_head;
    const char *name;       /* "<method>-<dim>d" */
    int heads_done, heads_todo;
    /* the committed proj/<name>.npy when it was made with these parameters: its heads
     * count as done (the partial folder is removed once the array is committed) */
    av_npy prev;
    int have_prev;
    unsigned char *prev_ok; /* [L*H]: head present in prev and reusable */
    cJSON *prev_meta;       /* copy of its manifest "heads" entries */
    /* the heads still to do are handed out one by one from this counter, to the
     * threads of this process and, under MPI, to every process of the job */
    av_dist_counter *counter;
    int multi;              /* several processes: progress is the job's, from the counter */
} job;

static void head_path(const job *j, int l, int h, const char *ext, char *out, size_t n) {
    char name[64];
    snprintf(name, sizeof name, "L%03d-H%03d.%s", l, h, ext);
    av_path_join(out, n, j->pdir, name);
}

static int64_t count_nonfinite(const float *v, int64_t count) {
    int64_t bad = 0;
    for (int64_t i = 0; i < count; i++) bad += !isfinite(v[i]);
    return bad;
}

/* A head in the partial folder, judged by its content and not its size alone: its .npy
 * (written last) [2T, dim] f32 holds finite values only, and its .json names this head.
 * Returns 1 (reusable), 0 (absent) or -1 (there but not reusable; `why` says why). */
static int partial_check(const job *j, int l, int h, char *why, size_t whylen) {
    char jpath[4200], path[4200];
    head_path(j, l, h, "json", jpath, sizeof jpath);
    head_path(j, l, h, "npy", path, sizeof path);
    if (!av_file_exists(jpath) || !av_file_exists(path)) return 0;
    int64_t n = 2 * j->r->num_tokens;
    av_npy a;
    if (av_npy_open(path, &a) != AV_OK) {
        snprintf(why, whylen, "%s", av_last_error());
        av_clear_error();
        return -1;
    }
    int ok = a.dtype == AV_DT_F32 && a.ndim == 2 && a.shape[0] == n && a.shape[1] == j->o->dim;
    int64_t bad = ok ? count_nonfinite(a.data, n * j->o->dim) : 0;
    av_npy_close(&a);
    if (!ok) {
        snprintf(why, whylen, "%s is not [%lld, %d] f32", path, (long long)n, j->o->dim);
        return -1;
    }
    if (bad) {
        snprintf(why, whylen, "%s holds %lld non-finite values", path, (long long)bad);
        return -1;
    }
    cJSON *meta = av_json_read(jpath);
    av_clear_error();
    const cJSON *jl = meta ? cJSON_GetObjectItemCaseSensitive(meta, "layer") : NULL;
    const cJSON *jh = meta ? cJSON_GetObjectItemCaseSensitive(meta, "head") : NULL;
    const cJSON *js = meta ? cJSON_GetObjectItemCaseSensitive(meta, "scale") : NULL;
    ok = cJSON_IsNumber(jl) && cJSON_IsNumber(jh) && jl->valuedouble == l && jh->valuedouble == h &&
         cJSON_IsNumber(js) && isfinite(js->valuedouble) && js->valuedouble > 0;
    cJSON_Delete(meta);
    if (!ok) snprintf(why, whylen, "%s does not describe head %d:%d", jpath, l, h);
    return ok ? 1 : -1;
}

static int partial_done(const job *j, int l, int h) {
    char why[4400];
    return partial_check(j, l, h, why, sizeof why) == 1;
}

/* Partial heads that do not pass partial_check (a file overwritten, truncated, from a
 * disk that lost data) are removed with a line saying why: they are computed again. */
static void drop_bad_partials(const job *j) {
    for (int l = 0; l < j->r->num_layers; l++)
        for (int h = 0; h < j->r->num_heads; h++) {
            char why[4400], path[4200];
            if (partial_check(j, l, h, why, sizeof why) >= 0) continue;
            av_log(j->o->ctx, AV_LOG_WARN, "partial head %d:%d is not reusable (%s); recomputing it", l, h, why);
            head_path(j, l, h, "npy", path, sizeof path);
            unlink(path);
            head_path(j, l, h, "json", path, sizeof path);
            unlink(path);
        }
}

/* A head is done when it is in the partial folder or in the committed array. */
static int head_done(const job *j, int l, int h) {
    return partial_done(j, l, h) || (j->have_prev && j->prev_ok[l * j->r->num_heads + h]);
}

/* The per-head manifest entry of (l, h) in the committed array's record, or NULL. */
static const cJSON *prev_head_meta(const job *j, int l, int h) {
    const cJSON *e;
    cJSON_ArrayForEach(e, j->prev_meta) {
        const cJSON *jl = cJSON_GetObjectItemCaseSensitive(e, "layer"), *jh = cJSON_GetObjectItemCaseSensitive(e, "head");
        if (cJSON_IsNumber(jl) && cJSON_IsNumber(jh) && jl->valueint == l && jh->valueint == h) return e;
    }
    return NULL;
}

/* Opens proj/<name>.npy as a source of finished heads when the manifest records it with
 * the same parameters and the expected shape; with other parameters, says that its
 * heads will be replaced. Nothing found is not an error. */
static void open_prev(job *j, const char *name) {
    const av_run *r = j->r;
    const cJSON *projs = cJSON_GetObjectItemCaseSensitive(r->manifest, "projections");
    const cJSON *e = cJSON_IsObject(projs) ? cJSON_GetObjectItemCaseSensitive(projs, name) : NULL;
    const cJSON *params = e ? cJSON_GetObjectItemCaseSensitive(e, "params") : NULL;
    const cJSON *heads = e ? cJSON_GetObjectItemCaseSensitive(e, "heads") : NULL;
    if (!cJSON_IsObject(params) || !cJSON_IsArray(heads)) return;
    cJSON *want = params_json(j->o);
    char *ws = cJSON_PrintUnformatted(want), *hs = cJSON_PrintUnformatted(params);
    int same = ws && hs && !strcmp(ws, hs);
    free(ws);
    free(hs);
    cJSON_Delete(want);
    if (!same) {
        av_log(j->o->ctx, AV_LOG_INFO, "proj/%s.npy was made with other parameters; its heads are replaced", name);
        return;
    }
    char file[300], path[4200];
    snprintf(file, sizeof file, "proj/%s.npy", name);
    av_run_path(r, path, sizeof path, file);
    int L = r->num_layers, H = r->num_heads;
    if (!av_file_exists(path) || av_npy_open(path, &j->prev) != AV_OK) { av_clear_error(); return; }
    const av_npy *a = &j->prev;
    if (a->dtype != AV_DT_F32 || a->ndim != 4 || a->shape[0] != L || a->shape[1] != H ||
        a->shape[2] != 2 * r->num_tokens || a->shape[3] != j->o->dim || !(j->prev_ok = calloc((size_t)L * H, 1)) ||
        !(j->prev_meta = cJSON_Duplicate(heads, 1))) {
        free(j->prev_ok);
        j->prev_ok = NULL;
        av_npy_close(&j->prev);
        return;
    }
    j->have_prev = 1;
    int64_t per = 2 * r->num_tokens * j->o->dim;
    for (int l = 0; l < L; l++)
        for (int h = 0; h < H; h++) {
            if (!prev_head_meta(j, l, h)) continue;
            /* a recorded head is reused only when its values are all there */
            int64_t bad = count_nonfinite((const float *)a->data + ((int64_t)l * H + h) * per, per);
            if (bad)
                av_log(j->o->ctx, AV_LOG_WARN, "%s: head %d:%d holds %lld non-finite values; not reused (computed "
                       "again when selected)", path, l, h, (long long)bad);
            j->prev_ok[l * H + h] = !bad;
        }
}

static void close_prev(job *j) {
    if (j->have_prev) av_npy_close(&j->prev);
    free(j->prev_ok);
    cJSON_Delete(j->prev_meta);
    j->have_prev = 0;
    j->prev_ok = NULL;
    j->prev_meta = NULL;
}

/* Progress of one head, or of a batch of `heads` heads moving together. */
typedef struct { job *j; int64_t reported; int heads; } iter_ctx;

/* Under MPI rank 0 shows the whole job: the units of the heads every process finished. */
static void sync_job_progress(job *j, int64_t job_done) {
    if (av_dist_rank() == 0 && job_done > j->prog.done) av_progress_add(&j->prog, job_done - j->prog.done);
}

static void on_iter(void *user, int iter, const float *Y, int64_t n, double kl) {
    (void)Y; (void)n; (void)kl;
    iter_ctx *c = user;
#pragma omp critical(av_project_progress)
    {
        if (c->j->multi) sync_job_progress(c->j, av_dist_counter_done(c->j->counter, 0));
        else av_progress_add(&c->j->prog, (iter - c->reported) * c->heads);
    }
    c->reported = iter;
}

/* Every selected head's q and k must be finite: checked before any work starts, so bad
 * data costs one line and no half-done job. Under MPI each process checks its share. */
static int check_finite(const av_run *r, const int *sel, int nsel) {
    int64_t T = r->num_tokens, d = r->head_dim;
    float *buf = av_malloc((size_t)T * d * sizeof *buf);
    if (!buf) return AV_ERR_NOMEM;
    int rc = AV_OK;
    for (int s = av_dist_rank(); s < nsel && rc == AV_OK; s += av_dist_size()) {
        int l = sel[2 * s], h = sel[2 * s + 1];
        int64_t bq = 0, bk = 0;
        if ((rc = av_run_head_q(r, l, h, buf)) != AV_OK) break;
        bq = count_nonfinite(buf, T * d);
        if ((rc = av_run_head_k(r, l, h, buf)) != AV_OK) break;
        bk = count_nonfinite(buf, T * d);
        if (bq || bk)
            rc = av_fail("%s: head %d:%d has %lld non-finite (NaN/Inf) values in q.npy and %lld in k.npy; "
                         "refusing to project it", r->dir, l, h, (long long)bq, (long long)bk);
    }
    free(buf);
    return rc;
}

/* The .json of a finished head: scale, time, KL and (with --quality) the kNN
 * preservation and trustworthiness; X may be normalised to unit rows in place. */
static int head_meta(const job *j, int l, int h, float *X, const float *Y, int64_t n, int d, float c, double secs,
                     double kl, cJSON **out) {
    const av_project_opts *o = j->o;
    int dim = o->dim, rc = AV_OK;
    cJSON *meta = cJSON_CreateObject();
    *out = meta;
    if (!meta) return AV_ERR_NOMEM;
    cJSON_AddNumberToObject(meta, "layer", l);
    cJSON_AddNumberToObject(meta, "head", h);
    cJSON_AddNumberToObject(meta, "scale", c);
    cJSON_AddNumberToObject(meta, "seconds", round(secs * 1000) / 1000);
    if (o->method == AV_PROJ_TSNE) {
        cJSON_AddNumberToObject(meta, "kl", kl);
        cJSON_AddStringToObject(meta, "kl_kind", av_tsne_kl_is_exact(n) ? "exact" : "barnes-hut estimate");
        /* the GPU t-SNE (kernels/tsne/tsne_bh.cu) has its own repulsion */
        if (j->be.tsne == av_project_backend_cpu()->tsne)
            cJSON_AddStringToObject(meta, "repulsion", av_tsne_uses_fft(n, dim, o->tsne.method) ? "fft" : "barnes-hut");
    }
    if (o->quality) {
        av_metric m = o->method == AV_PROJ_UMAP ? o->umap.metric : o->tsne.metric;
        if (m == AV_METRIC_COSINE && o->method != AV_PROJ_PCA) /* judge in the metric that was projected */
            for (int64_t i = 0; i < n; i++) {
                double s = 0;
                for (int a = 0; a < d; a++) s += (double)X[i * d + a] * X[i * d + a];
                double inv = s > 0 ? 1 / sqrt(s) : 0;
                for (int a = 0; a < d; a++) X[i * d + a] = (float)(X[i * d + a] * inv);
            }
        int64_t sample = n > o->quality_sample ? o->quality_sample : 0;
        double pres, tw;
        if (n >= 12) {
            if ((rc = av_knn_preservation(X, Y, n, d, dim, 10, sample, 1, &pres)) != AV_OK ||
                (rc = av_trustworthiness(X, Y, n, d, dim, 5, sample, 1, &tw)) != AV_OK)
                return rc;
            cJSON_AddNumberToObject(meta, "knn_preservation10", pres);
            cJSON_AddNumberToObject(meta, "trustworthiness5", tw);
            cJSON_AddNumberToObject(meta, "quality_points", (double)(sample ? sample : n));
        }
    }
    return AV_OK;
}

/* Reads head (l, h) into X [2T, d] and normalises it (*c: its scale). */
static int load_head(job *j, int l, int h, float *X, float *c) {
    const av_run *r = j->r;
    int64_t T = r->num_tokens;
    int d = r->head_dim;
    if (av_run_head_q(r, l, h, X) != AV_OK || av_run_head_k(r, l, h, X + T * d) != AV_OK) return AV_ERR;
    *c = 1;
    av_normalize_qk(X, T, d, j->o->translate, j->o->scale, c);
    return AV_OK;
}

/* Keeps a projected head in the partial folder (its .json, then its .npy) and counts it
 * done; reported: the iterations its progress already showed. */
static int store_head(job *j, int l, int h, float *X, const float *Y, float c, double secs, double kl, int64_t reported) {
    int64_t n = 2 * j->r->num_tokens;
    int dim = j->o->dim;
    cJSON *meta = NULL;
    int rc = head_meta(j, l, h, X, Y, n, j->r->head_dim, c, secs, kl, &meta);
    char path[4200];
    if (rc == AV_OK) {
        head_path(j, l, h, "json", path, sizeof path);
        rc = av_json_write(path, meta);
    }
    cJSON_Delete(meta);
    if (rc != AV_OK) return rc;
    head_path(j, l, h, "npy", path, sizeof path);
    int64_t shape[2] = {n, dim};
    if ((rc = av_npy_write(path, AV_DT_F32, 2, shape, Y)) != AV_OK) return rc;
    int64_t job_done = av_dist_counter_done(j->counter, j->units_per_head);
#pragma omp critical(av_project_progress)
    {
        j->heads_done++;
        if (j->multi) sync_job_progress(j, job_done);
        else av_progress_add(&j->prog, j->units_per_head - reported);
        if (isnan(kl)) av_log(j->o->ctx, AV_LOG_DETAIL, "head %d:%d done in %.1fs", l, h, secs);
        else av_log(j->o->ctx, AV_LOG_DETAIL, "head %d:%d done in %.1fs, KL %.4f", l, h, secs, kl);
    }
    return AV_OK;
}

/* A projection's failure, named by run folder and head. */
static int head_failed(job *j, const char *heads) {
    char msg[512];
    snprintf(msg, sizeof msg, "%s", av_last_error());
    return av_fail("%s: head%s %s: %s", j->r->dir, strchr(heads, ',') ? "s" : "", heads, msg);
}

/* Projects one head on the job's backend and stores it in the partial folder. */
static int project_head(job *j, int l, int h) {
    const av_run *r = j->r;
    const av_project_opts *o = j->o;
    int64_t T = r->num_tokens, n = 2 * T;
    int d = r->head_dim, dim = o->dim;
    float *X = av_malloc((size_t)n * d * sizeof *X);
    float *Y = av_malloc((size_t)n * dim * sizeof *Y);
    float c;
    int rc = AV_ERR_NOMEM;
    if (!X || !Y || (rc = load_head(j, l, h, X, &c)) != AV_OK) goto done;
#pragma omp critical(av_project_progress)
    snprintf(j->prog.label, sizeof j->prog.label, "%s head %d:%d (%d/%d done)", j->name, l, h,
             j->heads_done, j->heads_todo);
    double t0 = av_now(), kl = NAN;
    iter_ctx ctx = {j, 0, 1};
    if (o->method == AV_PROJ_TSNE) {
        av_tsne_params p = o->tsne;
        p.dim = dim;
        p.on_iter = on_iter;
        p.user = &ctx;
        p.every = 10;
        rc = j->be.tsne(X, n, d, &p, Y, &kl);
    } else if (o->method == AV_PROJ_UMAP) {
        av_umap_params p = o->umap;
        p.dim = dim;
        rc = j->be.umap(X, n, d, &p, Y);
    } else if (n < 2) {
        rc = av_fail("PCA: head %d:%d has fewer than 2 points", l, h);
    } else {
        rc = j->be.pca(X, n, d, dim, Y, NULL);
    }
    if (rc != AV_OK) {
        char name[32];
        snprintf(name, sizeof name, "%d:%d", l, h);
        rc = head_failed(j, name);
        goto done;
    }
    rc = store_head(j, l, h, X, Y, c, av_now() - t0, kl, ctx.reported);
done:
    free(X);
    free(Y);
    return rc;
}

/* t-SNE of `count` heads at once through the backend's batch (pairs todo[2i], todo[2i+1]):
 * each head comes out as project_head would make it; their seconds are the batch's. */
static int project_batch(job *j, const int *todo, int count) {
    const av_run *r = j->r;
    const av_project_opts *o = j->o;
    int64_t n = 2 * r->num_tokens;
    int d = r->head_dim, dim = o->dim;
    float **X = av_calloc((size_t)count, sizeof *X), **Y = av_calloc((size_t)count, sizeof *Y);
    float *scale = av_malloc((size_t)count * sizeof *scale);
    double *kl = av_malloc((size_t)count * sizeof *kl);
    char names[512] = "";
    int rc = AV_ERR_NOMEM;
    if (!X || !Y || !scale || !kl) goto done;
    for (int i = 0; i < count; i++) {
        int l = todo[2 * i], h = todo[2 * i + 1];
        size_t len = strlen(names);
        snprintf(names + len, sizeof names - len, "%s%d:%d", i ? "," : "", l, h);
        X[i] = av_malloc((size_t)n * d * sizeof **X);
        Y[i] = av_malloc((size_t)n * dim * sizeof **Y);
        if (!X[i] || !Y[i]) { rc = AV_ERR_NOMEM; goto done; }
        if ((rc = load_head(j, l, h, X[i], &scale[i])) != AV_OK) goto done;
    }
    snprintf(j->prog.label, sizeof j->prog.label, "%s %d heads from %d:%d (%d/%d done)", j->name, count, todo[0],
             todo[1], j->heads_done, j->heads_todo);
    iter_ctx ctx = {j, 0, count};
    av_tsne_params p = o->tsne;
    p.dim = dim;
    p.on_iter = on_iter;
    p.user = &ctx;
    p.every = 10;
    double t0 = av_now();
    if (j->be.tsne_batch((const float *const *)X, count, n, d, &p, Y, kl) != AV_OK) {
        rc = head_failed(j, names);
        goto done;
    }
    double secs = av_now() - t0;
    rc = AV_OK;
    for (int i = 0; i < count && rc == AV_OK; i++)
        rc = store_head(j, todo[2 * i], todo[2 * i + 1], X[i], Y[i], scale[i], secs, kl[i], ctx.reported);
done:
    for (int i = 0; X && Y && i < count; i++) { free(X[i]); free(Y[i]); }
    free(X); free(Y); free(scale); free(kl);
    return rc;
}

/* Removes proj/<name>.npy.tmp.<pid> files of processes that are gone: a job killed
 * while writing the array (av_npy_writer) leaves one as large as the array itself. */
static void remove_stale_temporaries(const av_run *r, const char *name) {
    char proj[4096], prefix[64], path[4400];
    av_run_path(r, proj, sizeof proj, "proj");
    snprintf(prefix, sizeof prefix, "%s.npy.tmp.", name);
    DIR *d = opendir(proj);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, prefix, strlen(prefix))) continue;
        char *end;
        long pid = strtol(e->d_name + strlen(prefix), &end, 10);
        if (*end || pid <= 0 || pid == (long)getpid()) continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue; /* alive, or not ours to judge */
        av_path_join(path, sizeof path, proj, e->d_name);
        unlink(path);
    }
    closedir(d);
}

/* name is `file` or its atomic-write temporary "<file>.tmp.<pid>" (base/util.h). */
static int is_file_or_temporary(const char *name, const char *file) {
    size_t n = strlen(file);
    if (strncmp(name, file, n)) return 0;
    if (!name[n]) return 1;
    if (strncmp(name + n, ".tmp.", 5) || !name[n + 5]) return 0;
    for (const char *c = name + n + 5; *c; c++)
        if (*c < '0' || *c > '9') return 0;
    return 1;
}

/* Removes a partial folder: the files a projection writes there (heads, params.json
 * and their temporaries), then the folder, which fails while anything else is in it. */
static int remove_partials(const char *pdir) {
    DIR *d = opendir(pdir);
    if (!d) return errno == ENOENT ? AV_OK : av_fail("%s: cannot open: %s", pdir, strerror(errno));
    struct dirent *e;
    char path[4400];
    while ((e = readdir(d))) {
        const char *nm = e->d_name;
        int l, h;
        char head[2][64] = {"", ""};
        if (sscanf(nm, "L%3d-H%3d.", &l, &h) == 2) {
            snprintf(head[0], sizeof head[0], "L%03d-H%03d.npy", l, h);
            snprintf(head[1], sizeof head[1], "L%03d-H%03d.json", l, h);
        }
        if (is_file_or_temporary(nm, "params.json") || (head[0][0] && is_file_or_temporary(nm, head[0])) ||
            (head[1][0] && is_file_or_temporary(nm, head[1])))
            unlink(av_path_join(path, sizeof path, pdir, nm));
    }
    closedir(d);
    if (rmdir(pdir) != 0)
        return av_fail("%s: cannot remove: %s (files not written by attnviz are left in it)", pdir, strerror(errno));
    return AV_OK;
}

static void set_partial_dir(job *j, const char *name) {
    char proj[4096], sub[256];
    av_run_path(j->r, proj, sizeof proj, "proj");
    snprintf(sub, sizeof sub, ".partial-%s", name);
    av_path_join(j->pdir, sizeof j->pdir, proj, sub);
}

/* Brings the partial folder in line with the parameters: creates it, or empties it
 * when it was made with other parameters (a note says so). */
static int prepare_partials(job *j, const char *name) {
    remove_stale_temporaries(j->r, name);
    set_partial_dir(j, name);
    char pp[4200];
    av_path_join(pp, sizeof pp, j->pdir, "params.json");
    cJSON *want = params_json(j->o);
    char *ws = cJSON_PrintUnformatted(want);
    int rc = AV_OK;
    if (av_is_dir(j->pdir)) {
        cJSON *have = av_file_exists(pp) ? av_json_read(pp) : NULL;
        char *hs = have ? cJSON_PrintUnformatted(have) : NULL;
        if (!hs || strcmp(hs, ws)) {
            av_log(j->o->ctx, AV_LOG_INFO, "%s was made with other parameters; recomputing its heads", j->pdir);
            rc = remove_partials(j->pdir);
        }
        av_clear_error();
        free(hs);
        cJSON_Delete(have);
    }
    if (rc == AV_OK && !av_is_dir(j->pdir)) {
        rc = av_mkdir_p(j->pdir);
        if (rc == AV_OK) rc = av_json_write(pp, want);
    }
    free(ws);
    cJSON_Delete(want);
    return rc;
}

/* Writes proj/<name>.npy from the partial heads (NaN where none) and registers it. */
static int assemble(job *j, const char *name, int *done_out) {
    const av_run *r = j->r;
    const av_project_opts *o = j->o;
    int L = r->num_layers, H = r->num_heads, dim = o->dim;
    int64_t n = 2 * r->num_tokens;
    char file[300], path[4200];
    snprintf(file, sizeof file, "proj/%s.npy", name);
    av_run_path(r, path, sizeof path, file);
    int64_t shape[4] = {L, H, n, dim};
    float *nanrow = av_malloc((size_t)(n * dim > 0 ? n * dim : 1) * sizeof *nanrow);
    if (!nanrow) return AV_ERR_NOMEM;
    for (int64_t i = 0; i < n * dim; i++) nanrow[i] = NAN;
    av_npy_writer w;
    if (av_npy_writer_open(&w, path, AV_DT_F32, 4, shape) != AV_OK) { free(nanrow); return AV_ERR; }
    cJSON *heads = cJSON_CreateArray();
    int done = 0, rc = AV_OK;
    for (int l = 0; l < L && rc == AV_OK; l++)
        for (int h = 0; h < H && rc == AV_OK; h++) {
            if (!partial_done(j, l, h)) {
                if (j->have_prev && j->prev_ok[l * H + h]) {
                    const float *src = (const float *)j->prev.data + ((int64_t)l * H + h) * n * dim;
                    rc = av_npy_writer_append(&w, src, n * dim);
                    cJSON_AddItemToArray(heads, cJSON_Duplicate(prev_head_meta(j, l, h), 1));
                    done++;
                } else {
                    rc = av_npy_writer_append(&w, nanrow, n * dim);
                }
                continue;
            }
            char hp[4200];
            head_path(j, l, h, "json", hp, sizeof hp);
            cJSON *meta = av_json_read(hp);
            av_npy a;
            head_path(j, l, h, "npy", hp, sizeof hp);
            if (!meta || av_npy_open(hp, &a) != AV_OK) { cJSON_Delete(meta); rc = AV_ERR; break; }
            rc = av_npy_writer_append(&w, a.data, n * dim);
            av_npy_close(&a);
            cJSON_AddItemToArray(heads, meta);
            done++;
        }
    free(nanrow);
    if (rc != AV_OK) { av_npy_writer_abort(&w); cJSON_Delete(heads); return rc; }
    if ((rc = av_npy_writer_commit(&w)) != AV_OK) { cJSON_Delete(heads); return rc; }
    char aname[300];
    snprintf(aname, sizeof aname, "proj/%s", name);
    av_manifest_set_array(r->manifest, aname, file, AV_DT_F32, 4, shape);
    cJSON *projs = cJSON_GetObjectItemCaseSensitive(r->manifest, "projections");
    if (!cJSON_IsObject(projs)) {
        cJSON_DeleteItemFromObjectCaseSensitive(r->manifest, "projections");
        projs = cJSON_AddObjectToObject(r->manifest, "projections");
    }
    cJSON_DeleteItemFromObjectCaseSensitive(projs, name);
    cJSON *e = cJSON_AddObjectToObject(projs, name);
    cJSON_AddStringToObject(e, "method", av_proj_method_name(o->method));
    cJSON_AddNumberToObject(e, "dim", dim);
    cJSON_AddStringToObject(e, "array", aname);
    cJSON_AddBoolToObject(e, "translate", o->translate);
    cJSON_AddBoolToObject(e, "scale", o->scale);
    cJSON_AddItemToObject(e, "params", params_json(o));
    cJSON_AddNumberToObject(e, "heads_projected", done);
    cJSON_AddNumberToObject(e, "heads_total", L * H);
    cJSON_AddStringToObject(e, "missing_heads", done < L * H ? "NaN-filled (not projected)" : "none");
    cJSON_AddItemToObject(e, "heads", heads);
    *done_out = done;
    return av_run_save_manifest(r);
}

/* Commits proj/<name>.npy and the manifest, then removes the partial folder: the
 * committed array now holds every finished head (a later run with the same parameters
 * reuses them from there), so keeping the folder would only double the disk use. */
static int finish(job *j, const char *name, int *done) {
    int rc = assemble(j, name, done);
    close_prev(j);
    if (rc != AV_OK) return rc;
    if (remove_partials(j->pdir) != AV_OK) {
        av_log(j->o->ctx, AV_LOG_WARN, "%s", av_last_error());
        av_clear_error();
    }
    return AV_OK;
}

/* The selected heads not done yet, compacted in place at the front of sel (--force
 * first removes their partial files); *skipped counts the others. */
static int heads_todo(job *j, int *sel, int nsel, int *skipped) {
    int ntodo = 0, H = j->r->num_heads;
    *skipped = 0;
    for (int s = 0; s < nsel; s++) {
        int l = sel[2 * s], h = sel[2 * s + 1];
        if (j->o->force) {
            if (j->have_prev) j->prev_ok[l * H + h] = 0;
            char p[4200];
            head_path(j, l, h, "npy", p, sizeof p);
            unlink(p);
            head_path(j, l, h, "json", p, sizeof p);
            unlink(p);
        } else if (head_done(j, l, h)) {
            (*skipped)++;
            continue;
        }
        sel[2 * ntodo] = l; /* ntodo <= s */
        sel[2 * ntodo + 1] = h;
        ntodo++;
    }
    return ntodo;
}

/* Takes heads from the job's counter until none is left or a process failed; err gets
 * this process's first failure. */
static void run_heads(job *j, const int *todo, int ntodo, int batch, int side_by_side, char *err, size_t errn) {
    int failed = 0;
    /* a device with a batch of heads takes them batch at a time (t-SNE) */
    while (batch && !failed && !av_dist_counter_failed(j->counter)) {
        int64_t t = av_dist_counter_take(j->counter, batch);
        if (t >= ntodo) break;
        if (project_batch(j, todo + 2 * t, ntodo - t < batch ? (int)(ntodo - t) : batch) != AV_OK) {
            failed = 1;
            snprintf(err, errn, "%s", av_last_error());
            av_dist_counter_fail(j->counter);
        }
    }
    /* Otherwise one call per head. On the CPU, small heads go side by side, one per
     * thread (the inner OpenMP regions then run on one thread), and large ones one at a
     * time with all threads inside; another device's call fills that device itself. */
#pragma omp parallel if (side_by_side)
    while (!batch) {
        int stop;
#pragma omp atomic read
        stop = failed;
        if (stop || av_dist_counter_failed(j->counter)) break;
        int64_t t = av_dist_counter_take(j->counter, 1);
        if (t >= ntodo) break;
        if (project_head(j, todo[2 * t], todo[2 * t + 1]) != AV_OK) {
#pragma omp critical(av_project_error)
            if (!failed) {
                failed = 1;
                snprintf(err, errn, "%s", av_last_error());
            }
            av_dist_counter_fail(j->counter);
        }
    }
    if (failed) av_fail("%s", err);
}

static int project_run(av_run *r, const av_project_opts *o) {
    if (o->dim != 2 && o->dim != 3) return av_fail("project: --dim must be 2 or 3, got %d", o->dim);
    if (r->num_tokens < 1) return av_fail("%s: the run has no tokens", r->dir);
    if (o->method == AV_PROJ_PCA && o->dim > r->head_dim)
        return av_fail("%s: PCA to %d dimensions of %d-dimensional heads", r->dir, o->dim, r->head_dim);
    char name[32];
    snprintf(name, sizeof name, "%s-%dd", av_proj_method_name(o->method), o->dim);
    int L = r->num_layers, H = r->num_heads;
    int nsel = o->heads ? o->num_heads : L * H;
    int *sel = av_malloc((size_t)(nsel > 0 ? nsel : 1) * 2 * sizeof *sel);
    if (!sel) return AV_ERR_NOMEM;
    for (int s = 0; s < nsel; s++) {
        sel[2 * s] = o->heads ? o->heads[2 * s] : s / H;
        sel[2 * s + 1] = o->heads ? o->heads[2 * s + 1] : s % H;
    }
    job j;
    memset(&j, 0, sizeof j);
    j.r = r;
    j.o = o;
    j.multi = av_dist_size() > 1;
    const int root = av_dist_rank() == 0;
    /* Under MPI every step below that can fail ends in av_dist_agree, so the processes
     * fail together, with one message. Rank 0 alone changes the partial folder and the
     * manifest; the others only add finished heads to the folder. */
    char note[160];
    int rc = av_project_backend_of(o, &j.be, note, sizeof note);
    if (rc == AV_OK) rc = check_finite(r, sel, nsel);
    if (av_dist_agree(rc) != AV_OK) { free(sel); return AV_ERR; }
    set_partial_dir(&j, name);
    if (av_dist_agree(root ? prepare_partials(&j, name) : AV_OK) != AV_OK) { free(sel); return AV_ERR; }
    if (root) drop_bad_partials(&j);
    open_prev(&j, name);
    int ntodo = 0, skipped = 0;
    if (root) ntodo = heads_todo(&j, sel, nsel, &skipped);
    rc = av_dist_bcast(&ntodo, sizeof ntodo);
    if (rc == AV_OK) rc = av_dist_bcast(sel, (size_t)ntodo * 2 * sizeof *sel);
    if (rc == AV_OK) rc = av_dist_counter_open(&j.counter);
    if (av_dist_agree(rc) != AV_OK) {
        close_prev(&j);
        free(sel);
        return AV_ERR;
    }
    int *todo = sel;
    int64_t n = 2 * r->num_tokens;
    /* the method's function as the table has it: the CPU's own, or another device's */
    const av_project_backend *cpu = av_project_backend_cpu();
    int on_cpu = o->method == AV_PROJ_TSNE ? j.be.tsne == cpu->tsne
               : o->method == AV_PROJ_UMAP ? j.be.umap == cpu->umap : j.be.pca == cpu->pca;
    if (note[0]) av_log(o->ctx, AV_LOG_INFO, "%s", note);
    char procs[48] = "";
    if (j.multi) snprintf(procs, sizeof procs, ", %d processes", av_dist_size());
    av_log(o->ctx, AV_LOG_INFO, "%s of %d head%s, %lld points each, on the %s%s", name, nsel,
           nsel == 1 ? "" : "s", (long long)n, on_cpu ? "CPU" : "GPU", procs);
    if (o->method == AV_PROJ_TSNE && av_tsne_effective_perplexity(n, o->tsne.perplexity) != o->tsne.perplexity)
        av_log(o->ctx, AV_LOG_WARN, "perplexity %g is too large for %lld points; using %.4g", o->tsne.perplexity,
               (long long)n, av_tsne_effective_perplexity(n, o->tsne.perplexity));
    if (skipped)
        av_log(o->ctx, AV_LOG_INFO, "%d of %d selected heads already done (--force recomputes them)", skipped, nsel);
    j.units_per_head = o->method == AV_PROJ_TSNE ? o->tsne.iters : 1;
    char label[64];
    snprintf(label, sizeof label, "project %s", name);
    av_progress_start(&j.prog, o->ctx, label, o->method == AV_PROJ_TSNE ? "iters" : "heads",
                      (int64_t)ntodo * j.units_per_head, 0);
    j.name = name;
    j.heads_todo = ntodo;
    char err[1024] = "";
    int batch = o->method == AV_PROJ_TSNE && j.be.tsne_batch && j.be.batch_heads > 1 && ntodo > 1 ? j.be.batch_heads : 0;
    int side_by_side = n <= o->parallel_heads_max_points && on_cpu;
    run_heads(&j, todo, ntodo, batch, side_by_side, err, sizeof err);
    rc = av_dist_agree(err[0] ? AV_ERR : AV_OK);
    free(todo);
    av_dist_counter_close(j.counter);
    char heads_note[96];
    snprintf(heads_note, sizeof heads_note, "%d head%s", ntodo, ntodo == 1 ? "" : "s");
    snprintf(j.prog.label, sizeof j.prog.label, "%s", label);
    if (rc == AV_OK) sync_job_progress(&j, (int64_t)ntodo * j.units_per_head);
    av_progress_end(&j.prog, o->method == AV_PROJ_TSNE ? heads_note : NULL);
    if (rc != AV_OK) { close_prev(&j); return AV_ERR; }
    int done = 0;
    if (root) {
        rc = finish(&j, name, &done);
        if (rc != AV_OK) {
            char msg[1024];
            snprintf(msg, sizeof msg, "%s", av_last_error());
            av_fail("%s (the finished heads are kept in %s; the same command resumes)", msg, j.pdir);
        }
    } else {
        close_prev(&j);
    }
    if (av_dist_agree(rc) != AV_OK) return AV_ERR;
    av_log(o->ctx, AV_LOG_INFO, "wrote proj/%s.npy (%d of %d heads projected%s)", name, done, L * H,
           done < L * H ? ", the others NaN" : "");
    return AV_OK;
}

/* The public calls write into the run folder: under its lock (runfolder.h), taken here
 * unless the caller holds it already. */
int av_project_run(av_run *r, const av_project_opts *o) {
    /* one writer per run folder: in a job of several processes rank 0 holds the lock for
     * them all (the others would find it held by their own job) */
    int take = !r->lock.held && av_dist_rank() == 0;
    if (av_dist_agree(take ? av_run_lock(r) : AV_OK) != AV_OK) return AV_ERR;
    int rc = project_run(r, o);
    if (take) av_run_unlock(r);
    return rc;
}

static int save_head(av_run *r, const av_project_opts *o, int l, int h, float *X, const float *Y, float scale,
                     double kl, double seconds) {
    if (o->dim != 2 && o->dim != 3) return av_fail("project: --dim must be 2 or 3, got %d", o->dim);
    if (l < 0 || l >= r->num_layers || h < 0 || h >= r->num_heads)
        return av_fail("%s: no head %d:%d", r->dir, l, h);
    char name[32];
    snprintf(name, sizeof name, "%s-%dd", av_proj_method_name(o->method), o->dim);
    job j;
    memset(&j, 0, sizeof j);
    j.r = r;
    j.o = o;
    j.name = name;
    /* the device the head was projected on, for what its record says of the method */
    if (av_project_backend_of(o, &j.be, NULL, 0) != AV_OK || prepare_partials(&j, name) != AV_OK) return AV_ERR;
    drop_bad_partials(&j);
    int64_t n = 2 * r->num_tokens;
    cJSON *meta = NULL;
    int rc = head_meta(&j, l, h, X, Y, n, r->head_dim, scale, seconds, kl, &meta);
    char path[4200];
    if (rc == AV_OK) {
        head_path(&j, l, h, "json", path, sizeof path);
        rc = av_json_write(path, meta);
    }
    cJSON_Delete(meta);
    if (rc == AV_OK) {
        head_path(&j, l, h, "npy", path, sizeof path);
        int64_t shape[2] = {n, o->dim};
        rc = av_npy_write(path, AV_DT_F32, 2, shape, Y);
    }
    int done = 0;
    if (rc == AV_OK) {
        open_prev(&j, name);
        rc = finish(&j, name, &done);
    }
    return rc;
}

int av_project_save_head(av_run *r, const av_project_opts *o, int l, int h, float *X, const float *Y,
                         float scale, double kl, double seconds) {
    int had = r->lock.held;
    if (!had && av_run_lock(r) != AV_OK) return AV_ERR;
    int rc = save_head(r, o, l, h, X, Y, scale, kl, seconds);
    if (!had) av_run_unlock(r);
    return rc;
}
