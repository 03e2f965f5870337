/* extract.c - the extraction pipeline's public calls (see extract.h): the options, the
 * model and the dataset, then the steps of extract_job.h in order. */
#include "engine/extract.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "base/util.h"
#include "engine/extract_job.h"

void av_extract_defaults(av_extract_opts *o) {
    memset(o, 0, sizeof *o);
    o->device = AV_DEVICE_CPU;
    o->dtype = AV_DT_F16;
    o->batch = 0; /* automatic: see av_extract_batch_items */
}

/* Option values the command line cannot rule out, and the run folder's name and place. */
static int check_options(const char *run_arg, const char *run_dir, const char *model_dir, const char *data,
                         const av_extract_opts *o) {
    if (!run_dir[0] || !strcmp(run_dir, "/") || !strcmp(run_dir, ".") || !strcmp(run_dir, ".."))
        return av_fail("%s: not a usable run folder name", run_arg);
    if (o->batch < 0) return av_fail("--batch must be positive (or 0: automatic)");
    if (o->max_memory < 0) return av_fail("--max-memory must be positive");
    if (o->sample_seed && !o->max_items) return av_fail("--sample-seed draws a sample of --max-items items: give --max-items too");
    if (o->dtype != AV_DT_F16 && o->dtype != AV_DT_F32) return av_fail("--dtype must be f16 or f32");
    if (o->gemm < AV_GEMM_F32 || o->gemm > AV_GEMM_F16) return av_fail("--gemm: unknown precision %d", (int)o->gemm);
    return av_extract_check_output(run_dir, model_dir, data, o->force);
}

/* The model and its tokenizer (none for ViT), on the chosen backend, in the GEMM
 * precision asked for (set first: in 16 bits the backend keeps converted weights). */
static int load_model(av_extract_job *j) {
    const av_backend *be = j->be;
    if (be->set_gemm) {
        if (be->set_gemm(j->o.gemm)) return AV_ERR;
    } else if (j->o.gemm != AV_GEMM_F32) {
        return av_fail("--gemm %s: the %s device multiplies in f32 only (--gemm is for --device cuda)",
                       av_gemm_name(j->o.gemm), be->name);
    }
    if (av_model_load(j->model_dir, j->be, &j->model)) return AV_ERR;
    av_model_set_qk_rope(&j->model, j->o.qk_rope);
    j->cfg = &j->model.cfg;
    const av_model_config *c = j->cfg;
    /* a GGUF file carries its tokenizer (tokenizer.ggml.*); a folder has its files */
    size_t n = strlen(j->model_dir);
    int gguf = !av_is_dir(j->model_dir) && n > 5 && !strcmp(j->model_dir + n - 5, ".gguf");
    if (c->type != AV_MODEL_VIT && (gguf ? av_tokenizer_load_gguf(j->model_dir, &j->tok)
                                          : av_tokenizer_load(j->model_dir, c->model_type, &j->tok)))
        return AV_ERR;
    if (c->type == AV_MODEL_BERT && (av_tokenizer_cls(j->tok) < 0 || av_tokenizer_sep(j->tok) < 0))
        return av_fail("%s: the vocabulary has no [CLS] or [SEP] token", j->model_dir);
    return AV_OK;
}

/* The dataset, which must hold items of the model's kind (text or images). */
static int load_data(av_extract_job *j) {
    const av_extract_opts *o = &j->o;
    av_dataset_opts dopts = {.max_items = o->max_items, .sample_seed = o->sample_seed, .strict = 1};
    if (av_dataset_load(j->data, &dopts, &j->ds)) return AV_ERR;
    j->have_ds = 1;
    if (j->ds.count == 0) return av_fail("%s: no items", j->data);
    if ((j->cfg->type == AV_MODEL_VIT) != (j->ds.kind == AV_DATA_IMAGES))
        return av_fail("%s: %s data, but %s is a %s model", j->data, j->ds.kind == AV_DATA_IMAGES ? "image" : "text",
                       j->model_dir, j->cfg->model_type);
    return AV_OK;
}

static int copy_path(char *dst, size_t n, const char *src) {
    if ((size_t)snprintf(dst, n, "%s", src) >= n) return av_fail("%.200s...: path too long", src);
    return AV_OK;
}

int av_extract_open(const char *model_dir, const char *data, const char *run_arg, const av_extract_opts *o,
                    av_extract_job **out) {
    *out = NULL;
    double t0 = av_now();
    /* "out/" and "out" are the same run; the temporary folder must be its sibling */
    char run_dir[4096];
    if (copy_path(run_dir, sizeof run_dir, run_arg)) return AV_ERR;
    for (size_t n = strlen(run_dir); n > 1 && run_dir[n - 1] == '/'; n--) run_dir[n - 1] = 0;
    if (check_options(run_arg, run_dir, model_dir, data, o)) return AV_ERR;
    const av_backend *be = o->device == AV_DEVICE_CUDA ? av_backend_cuda() : av_backend_cpu();
    if (!be) return AV_ERR;
    av_extract_job *j = av_calloc(1, sizeof *j);
    if (!j) return AV_ERR;
    j->o = *o;
    j->t0 = t0;
    j->be = be;
    j->q.fd = j->k.fd = j->vn.fd = -1;
    j->multi = av_dist_size() > 1;
    memcpy(j->run_dir, run_dir, sizeof run_dir);
    /* Under MPI every process reads the same inputs, so a fault of them is met by all;
     * each step that can fail on one process alone is agreed on (engine/dist.h). The
     * batch plan must be the same everywhere: the smallest memory budget decides it. */
    int rc = copy_path(j->model_dir, sizeof j->model_dir, model_dir) || copy_path(j->data, sizeof j->data, data) ||
                     load_model(j) || load_data(j) || av_extract_items(j) ||
                     av_model_set_pack(&j->model, o->dtype) || av_extract_plan_memory(j)
                 ? AV_ERR
                 : AV_OK;
    if (av_dist_agree(rc) || av_dist_min_i64(&j->max_rows)) {
        av_extract_close(j);
        return AV_ERR;
    }
    av_extract_share(j);
    if (av_extract_open_partial(j) || (j->multi && av_dist_counter_open(&j->counter))) {
        av_extract_close(j);
        return AV_ERR;
    }
    *out = j;
    return AV_OK;
}

/* A job of several processes after its batches: when any process failed (it told the
 * others, who stopped after their batch), every process keeps its finished items behind
 * its checkpoint, and all end with one message, the failing process's. */
static int agree_batches(av_extract_job *j, int rc) {
    if (rc) av_dist_counter_fail(j->counter);
    if (av_dist_agree(rc) == AV_OK) return AV_OK;
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", av_last_error());
    if (!j->keep_partial && j->items_done > 0 && av_extract_checkpoint(j) == AV_OK) j->keep_partial = 1;
    j->keep_partial = av_dist_any(j->keep_partial);
    double done = (double)j->items_done;
    if (av_dist_sum_f64(&done, 1)) return AV_ERR;
    /* rank 0's line for the job, agreed again so that it is said once */
    if (av_stop_requested(j->o.ctx))
        av_fail("interrupted after %.0f of %lld items; the same command resumes from %s", done, (long long)j->n_items,
                j->tmp);
    else if (j->keep_partial)
        av_fail("%s (%.0f of %lld items are done and kept in %s; the same command resumes)", msg, done,
                (long long)j->n_items, j->tmp);
    else av_fail("%s", msg);
    return av_dist_agree(AV_ERR);
}

/* After a failure midway: hours of work are not thrown away for one fault, so what is
 * complete is kept behind a checkpoint and the message says so. */
static void keep_done_items(av_extract_job *j) {
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", av_last_error());
    if (av_extract_checkpoint(j) == AV_OK) {
        j->keep_partial = 1;
        av_fail("%s (%lld of %lld items are done and kept in %s; the same command resumes)", msg,
                (long long)j->items_done, (long long)j->n_items, j->tmp);
    } else av_fail("%s", msg);
}

int av_extract_run(av_extract_job *j, av_extract_result *res) {
    const av_extract_opts *o = &j->o;
    const av_model_config *c = j->cfg;
    if (j->be->mem_info || o->max_memory > 0) {
        int nb = av_extract_batch_items(j, j->longest);
        av_log(o->ctx, AV_LOG_INFO, "batches of up to %d items (%lld tokens at the longest item's %d)%s", nb,
               (long long)nb * j->longest, j->longest, o->batch > 0 ? "" : ", sized to the memory");
    }
    int64_t toks_done = 0;
    for (int64_t i = j->lo; i < j->lo + j->items_done; i++) toks_done += j->len[j->order[i]];
    /* several processes: the job's tokens and items done (rank 0 shows the job) */
    double done[2] = {(double)toks_done, (double)j->items_done};
    if (j->multi) {
        if (av_dist_sum_f64(done, 2)) return AV_ERR;
        av_dist_counter_done(j->counter, toks_done);
    }
    av_progress prog;
    av_progress_start(&prog, o->ctx, "extract", "tokens", j->n_tokens, (int64_t)done[0]);
    if (done[1] > 0)
        av_log(o->ctx, AV_LOG_INFO, "resuming %s: %lld of %lld items were done", j->tmp, (long long)done[1],
               (long long)j->n_items);
    j->last_checkpoint = av_now();
    double t_run = av_now();
    int rc = av_extract_batches(j, &prog);
    t_run = av_now() - t_run;
    if (j->multi) rc = agree_batches(j, rc);
    else if (rc && !j->keep_partial && j->items_done > 0) keep_done_items(j);
    if (rc) return rc;
    char note[160];
    snprintf(note, sizeof note, "%lld item%s on %s", (long long)j->n_items, j->n_items == 1 ? "" : "s", j->be->name);
    if (done[1] > 0)
        snprintf(note + strlen(note), sizeof note - strlen(note), " (%lld of them in this run)",
                 (long long)(j->n_items - (int64_t)done[1]));
    if (j->multi) snprintf(note + strlen(note), sizeof note - strlen(note), ", %d processes", av_dist_size());
    if (j->truncated)
        snprintf(note + strlen(note), sizeof note - strlen(note), ", %lld truncated to %d tokens",
                 (long long)j->truncated, c->max_positions);
    av_progress_end(&prog, note);
    double t_flush = av_now();
    rc = av_extract_array_close(&j->q, 1) || av_extract_array_close(&j->k, 1) || av_extract_array_close(&j->vn, 1)
             ? AV_ERR
             : AV_OK;
    t_flush = av_now() - t_flush;
    if (j->multi) {
        /* every process's rows are on the disk: rank 0 sums the means and publishes */
        int64_t LH = (int64_t)c->num_layers * c->num_heads;
        double over = (double)j->f16_overflow;
        if (av_dist_agree(rc) || av_dist_sum_f64(j->qsum, LH) || av_dist_sum_f64(j->ksum, LH) ||
            av_dist_sum_f64(j->vsum, LH) || av_dist_sum_f64(&over, 1))
            return AV_ERR;
        j->f16_overflow = (int64_t)over;
        if (av_dist_agree(av_dist_rank() == 0 ? av_extract_publish(j) : AV_OK)) return AV_ERR;
    } else if (rc || av_extract_publish(j)) {
        return AV_ERR;
    }
    j->tmp_made = 0;
    if (res) {
        res->items = j->n_items;
        res->tokens = j->n_tokens;
        res->truncated = j->truncated;
        res->dropped = j->dropped;
        res->f16_overflow = j->f16_overflow;
        res->seconds = av_now() - j->t0;
        res->seconds_batches = t_run;
        res->seconds_store = j->write_seconds;
        res->seconds_flush = t_flush;
        snprintf(res->device, sizeof res->device, "%s", j->be->name);
    }
    return AV_OK;
}

void av_extract_close(av_extract_job *j) {
    if (!j) return;
    av_dist_counter_close(j->counter);
    av_extract_array_close(&j->q, 0);
    av_extract_array_close(&j->k, 0);
    av_extract_array_close(&j->vn, 0);
    if (j->tmp_made && !j->keep_partial) {
        /* only after a failure (a finished job has renamed it): the line says where the
         * partly written folder went */
        char keep[1024];
        snprintf(keep, sizeof keep, "%s", av_last_error());
        if (av_rm_rf(j->tmp) == AV_OK) av_fail("%s (%s removed)", keep, j->tmp);
        else av_fail("%s (%s could not be removed: %s)", keep, j->tmp, av_last_error());
    }
    av_folder_lock_release(&j->lock);
    cJSON_Delete(j->params);
    free(j->order);
    free(j->vsum);
    free(j->qsum);
    free(j->ksum);
    free(j->first);
    free(j->item_src);
    free(j->len);
    free(j->off);
    free(j->ids);
    free(j->types);
    if (j->have_ds) av_dataset_free(&j->ds);
    if (j->tok) av_tokenizer_free(j->tok);
    av_model_free(&j->model);
    free(j);
}

int av_extract(const char *model_dir, const char *data, const char *run_dir, const av_extract_opts *o,
               av_extract_result *res) {
    av_extract_job *j;
    if (av_extract_open(model_dir, data, run_dir, o, &j)) return AV_ERR;
    int rc = av_extract_run(j, res);
    av_extract_close(j);
    return rc;
}
