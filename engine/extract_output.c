/* extract_output.c - RUN.partial of an extraction (extract_job.h): opened afresh or
 * resumed from its checkpoint, its memory-mapped arrays, the token and item files, the
 * checkpoint, and at the end the manifest and the rename to RUN. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "base/npy.h"
#include "base/owned.h"
#include "base/util.h"
#include "engine/extract_job.h"
#include "engine/extract_resume.h"
#include "engine/runfolder.h"

/* How out_open treats the file: a job of one process maps it; in a job of several,
 * rank 0 creates it (sized, header written) and every process then opens it with MPI-IO. */
typedef enum { OUT_MAP, OUT_CREATE, OUT_LAYOUT } out_mode;

/* With reuse, an existing file of exactly the right size and header is opened as it is
 * (a resumed extraction); anything else is created empty. OUT_LAYOUT only computes the
 * path and the sizes. */
static int out_open(av_extract_array *a, const char *dir, const char *name, av_dtype dt, int ndim, const int64_t *shape,
                    int reuse, out_mode mode) {
    memset(a, 0, sizeof *a);
    a->fd = -1;
    av_path_join(a->path, sizeof a->path, dir, name);
    char hdr[512];
    a->hdr = av_npy_header(hdr, sizeof hdr, dt, ndim, shape);
    int64_t count = 1;
    for (int i = 0; i < ndim; i++) count *= shape[i];
    a->size = a->hdr + (size_t)count * av_dtype_size(dt);
    if (mode == OUT_LAYOUT) return AV_OK;
    struct stat st;
    if (reuse && (stat(a->path, &st) != 0 || (size_t)st.st_size != a->size))
        return av_fail("%s: does not match its checkpoint (remove the folder to start afresh)", a->path);
    a->fd = reuse ? open(a->path, O_RDWR) : open(a->path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (a->fd < 0) return av_fail("%s: cannot create (%s)", a->path, strerror(errno));
    /* The blocks are reserved now, not when the mapping is first written: a page of a
     * sparse file that finds the disk full is a SIGBUS, a failed reservation is a line. */
    int e = ftruncate(a->fd, (off_t)a->size) != 0 ? errno : posix_fallocate(a->fd, 0, (off_t)a->size);
    if (e) {
        av_fail("%s: cannot reserve %zu bytes on the disk: %s", a->path, a->size, strerror(e));
        close(a->fd);
        a->fd = -1;
        return AV_ERR;
    }
    if (mode == OUT_CREATE) {
        int ok = pwrite(a->fd, hdr, a->hdr, 0) == (ssize_t)a->hdr;
        close(a->fd);
        a->fd = -1;
        return ok ? AV_OK : av_fail("%s: write failed (%s)", a->path, strerror(errno));
    }
    void *m = mmap(NULL, a->size, PROT_READ | PROT_WRITE, MAP_SHARED, a->fd, 0);
    if (m == MAP_FAILED) {
        av_fail("%s: cannot map %zu bytes (%s)", a->path, a->size, strerror(errno));
        close(a->fd);
        a->fd = -1;
        return AV_ERR;
    }
    a->map = m;
    memcpy(a->map, hdr, a->hdr);
    return AV_OK;
}

/* Puts what the mapping holds, or what this process wrote, on the disk (a checkpoint's
 * first half). */
static int out_flush(av_extract_array *a) {
    if (a->map && msync(a->map, a->size, MS_SYNC) != 0) return av_fail("%s: write failed (%s)", a->path, strerror(errno));
    return a->file ? av_dist_file_sync(a->file) : AV_OK;
}

int av_extract_array_close(av_extract_array *a, int keep) {
    int rc = av_dist_file_close(a->file, keep);
    a->file = NULL;
    if (a->map) {
        if (keep && msync(a->map, a->size, MS_SYNC) != 0) rc = av_fail("%s: write failed (%s)", a->path, strerror(errno));
        munmap(a->map, a->size);
        a->map = NULL;
    }
    if (a->fd >= 0) {
        if (keep && rc == AV_OK && fsync(a->fd) != 0) rc = av_fail("%s: write failed (%s)", a->path, strerror(errno));
        close(a->fd);
        a->fd = -1;
    }
    return rc;
}

/* ---- JSON string output (UTF-8 kept, control characters escaped) -------------------- */
static void json_str(FILE *f, const char *s) {
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
        else if (*p == '\n') fputs("\\n", f);
        else if (*p == '\t') fputs("\\t", f);
        else if (*p == '\r') fputs("\\r", f);
        else if (*p < 0x20) fprintf(f, "\\u%04x", *p);
        else fputc(*p, f);
    }
    fputc('"', f);
}

/* One writer per partial folder: a second extraction of the same RUN stops at once. */
static int lock_partial(av_extract_job *j) { return av_folder_lock_take(&j->lock, j->tmp, j->tmp); }

/* What the marker of an extraction's partial folder says (base/owned.h). */
static const char partial_marker[] = "extract RUN.partial";

/* The partial folder appears with its marker already inside: made under a name of this
 * process, marked, then renamed into place. A process killed in between leaves a folder
 * of that other name, never an unmarked RUN.partial that later runs would refuse. */
static int make_marked_folder(const char *dir) {
    char fresh[4300];
    snprintf(fresh, sizeof fresh, "%s.new-%ld", dir, (long)getpid());
    if (av_mkdir_p(fresh)) return AV_ERR;
    if (av_marker_write(fresh, partial_marker, 1)) {
        av_rm_rf(fresh);
        return AV_ERR;
    }
    if (rename(fresh, dir) != 0) {
        int e = errno;
        av_rm_rf(fresh);
        return av_fail("%s: cannot create: %s", dir, strerror(e));
    }
    return AV_OK;
}

static int refuse_inputs_in(const char *dir, const char *model_dir, const char *data) {
    if (av_path_within(model_dir, dir))
        return av_fail("%s: holds the model being read (%s); choose another -o", dir, model_dir);
    if (strcmp(data, "-") && av_path_within(data, dir))
        return av_fail("%s: holds the data being read (%s); choose another -o", dir, data);
    return AV_OK;
}

int av_extract_check_output(const char *run_dir, const char *model_dir, const char *data, int force) {
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.partial", run_dir);
    if (refuse_inputs_in(run_dir, model_dir, data) || refuse_inputs_in(tmp, model_dir, data)) return AV_ERR;
    if (av_path_within(run_dir, model_dir))
        return av_fail("%s: is inside the model folder %s; choose a run folder outside it", run_dir, model_dir);
    if (strcmp(data, "-") && av_path_within(run_dir, data))
        return av_fail("%s: is inside the data folder %s; choose a run folder outside it", run_dir, data);
    struct stat st;
    if (lstat(run_dir, &st) != 0) return AV_OK;
    if (!force) return av_fail("%s: already exists (use --force to replace it)", run_dir);
    if (!S_ISDIR(st.st_mode))
        return av_fail("%s: exists and is not a folder; --force replaces only run folders: move it away or choose "
                       "another -o", run_dir);
    if (av_dir_is_empty(run_dir)) return AV_OK;
    if (!av_run_is_run_folder(run_dir))
        return av_fail("%s: exists and is not an attnviz run folder (no manifest.json saying \"format\": \"%s\"); "
                       "--force replaces only run folders: move it away or choose another -o", run_dir, AV_RUN_FORMAT);
    /* a run that another attnviz writes into is not replaced under it (asked by one
     * process of a job: two asking at once would find each other's probe) */
    if (av_dist_rank() != 0) return AV_OK;
    av_folder_lock l;
    if (av_folder_lock_take(&l, run_dir, run_dir) != AV_OK) return AV_ERR;
    av_folder_lock_release(&l);
    return AV_OK;
}

int av_extract_checkpoint(av_extract_job *j) {
    if (out_flush(&j->q) || out_flush(&j->k) || out_flush(&j->vn)) return AV_ERR;
    int64_t L = j->cfg->num_layers, H = j->cfg->num_heads;
    av_resume_state st = {j->items_done, j->f16_overflow, j->qsum, j->ksum, j->vsum, L * H};
    if (av_resume_save(j->tmp, j->ckpt, j->params, &st)) return AV_ERR;
    j->last_checkpoint = av_now();
    return AV_OK;
}


/* Closes a stream written with fputs/fprintf, whose failures show only at the end. */
static int close_written(FILE *f, const char *path) {
    errno = 0;
    int bad = fflush(f) != 0 || ferror(f), e = errno;
    if (fclose(f) != 0 && !bad) bad = 1, e = errno;
    return bad ? av_fail("%s: write failed: %s", path, av_write_reason(e)) : AV_OK;
}

/* token_item / token_pos / tokens.jsonl / items.jsonl */
static int write_token_files(av_extract_job *j) {
    int rc = AV_OK;
    int64_t n = j->n_tokens;
    int32_t *ti = av_malloc(sizeof(int32_t) * (size_t)n), *tp = av_malloc(sizeof(int32_t) * (size_t)n);
    if (!ti || !tp) { free(ti); free(tp); return AV_ERR; }
    for (int64_t i = 0; i < j->n_items; i++)
        for (int t = 0; t < j->len[i]; t++) {
            ti[j->off[i] + t] = (int32_t)i;
            tp[j->off[i] + t] = t;
        }
    char path[4300];
    if (av_npy_write(av_path_join(path, sizeof path, j->tmp, "token_item.npy"), AV_DT_I32, 1, &n, ti) ||
        av_npy_write(av_path_join(path, sizeof path, j->tmp, "token_pos.npy"), AV_DT_I32, 1, &n, tp))
        rc = AV_ERR;
    free(ti);
    free(tp);
    if (rc) return rc;

    FILE *f = fopen(av_path_join(path, sizeof path, j->tmp, "tokens.jsonl"), "w");
    if (!f) return av_fail("%s: cannot create (%s)", path, strerror(errno));
    int vit = j->cfg->type == AV_MODEL_VIT, g = vit ? j->cfg->image_size / j->cfg->patch_size : 0;
    const char **texts = NULL;
    char **labels = NULL;
    int cap = 0;
    for (int64_t i = 0; i < j->n_items && rc == AV_OK; i++) {
        /* the readable labels of an item's tokens, decoded together (a character may be
         * split over several byte-level or byte-fallback tokens) */
        if (!vit && j->len[i] > cap) {
            cap = j->len[i];
            free(texts);
            free(labels);
            texts = av_malloc((size_t)cap * sizeof *texts);
            labels = av_malloc((size_t)cap * sizeof *labels);
            if (!texts || !labels) { rc = AV_ERR_NOMEM; break; }
        }
        if (!vit) {
            for (int t = 0; t < j->len[i]; t++) {
                const char *s = av_tokenizer_token(j->tok, j->ids[j->off[i] + t]);
                texts[t] = s ? s : "";
            }
            if ((rc = av_token_labels(texts, j->len[i], av_tokenizer_spelling(j->tok), labels))) break;
        }
        for (int t = 0; t < j->len[i]; t++) {
            fputs("{\"text\": ", f);
            if (vit) {
                char s[48];
                if (t == 0) snprintf(s, sizeof s, "[CLS]");
                else snprintf(s, sizeof s, "(%d,%d)", (t - 1) / g, (t - 1) % g);
                json_str(f, s);
                fprintf(f, ", \"item\": %lld, \"pos\": %d, \"row\": %d, \"col\": %d}\n", (long long)i, t,
                        t ? (t - 1) / g : -1, t ? (t - 1) % g : -1);
            } else {
                json_str(f, texts[t]);
                fputs(", \"label\": ", f);
                json_str(f, labels[t]);
                fprintf(f, ", \"item\": %lld, \"pos\": %d}\n", (long long)i, t);
                free(labels[t]);
            }
        }
    }
    free(texts);
    free(labels);
    if (rc) {
        fclose(f);
        return rc;
    }
    if (close_written(f, path)) return AV_ERR;

    f = fopen(av_path_join(path, sizeof path, j->tmp, "items.jsonl"), "w");
    if (!f) return av_fail("%s: cannot create (%s)", path, strerror(errno));
    for (int64_t i = 0; i < j->n_items; i++) {
        const av_item *it = &j->ds.items[j->item_src[i]];
        fputs("{\"text\": ", f);
        char real[PATH_MAX];
        /* image paths are stored absolute, so the viewer finds them from anywhere */
        json_str(f, vit && realpath(it->text, real) ? real : it->text);
        if (it->text_b) { fputs(", \"text_b\": ", f); json_str(f, it->text_b); }
        if (it->label) { fputs(", \"label\": ", f); json_str(f, it->label); }
        fprintf(f, ", \"line\": %lld, \"num_tokens\": %d}\n", (long long)it->line, j->len[i]);
    }
    return close_written(f, path);
}
static int write_manifest(av_extract_job *j) {
    const av_model_config *c = j->cfg;
    const char *model_dir = j->model_dir, *data = j->data;
    char real[PATH_MAX];
    cJSON *m = av_manifest_new(c->model_type, realpath(model_dir, real) ? real : model_dir, c->num_layers,
                               c->num_heads, c->head_dim, j->n_items, j->n_tokens, j->o.dtype);
    if (!m) return av_fail("manifest: out of memory");
    int64_t qs[4] = {c->num_layers, c->num_heads, j->n_tokens, c->head_dim};
    int64_t ks[4] = {c->num_layers, c->num_kv_heads, j->n_tokens, c->head_dim};
    cJSON_AddNumberToObject(m, "num_kv_heads", c->num_kv_heads);
    if (c->type == AV_MODEL_LLAMA) cJSON_AddStringToObject(m, "qk_rope", j->o.qk_rope == AV_QK_PRE_ROPE ? "pre" : "post");
    av_manifest_set_array(m, "q", "q.npy", j->o.dtype, 4, qs);
    av_manifest_set_array(m, "k", "k.npy", j->o.dtype, 4, ks);
    av_manifest_set_array(m, "v_norm", "v_norm.npy", j->o.dtype, 3, qs);
    av_manifest_set_array(m, "token_item", "token_item.npy", AV_DT_I32, 1, &j->n_tokens);
    av_manifest_set_array(m, "token_pos", "token_pos.npy", AV_DT_I32, 1, &j->n_tokens);
    cJSON_AddStringToObject(m, "tokens", "tokens.jsonl");
    cJSON_AddStringToObject(m, "items", "items.jsonl");
    cJSON_AddStringToObject(m, "data", realpath(data, real) ? real : data);
    cJSON_AddStringToObject(m, "device", j->be->name);
    cJSON_AddStringToObject(m, "gemm", av_gemm_name(j->o.gemm));
    cJSON_AddNumberToObject(m, "max_positions", c->max_positions);
    cJSON_AddNumberToObject(m, "truncated_items", (double)j->truncated);
    cJSON_AddNumberToObject(m, "dropped_items", (double)j->dropped);
    cJSON_AddNumberToObject(m, "f16_overflow", (double)j->f16_overflow);
    if (c->type == AV_MODEL_VIT) {
        cJSON_AddNumberToObject(m, "image_size", c->image_size);
        cJSON_AddNumberToObject(m, "patch_size", c->patch_size);
        cJSON_AddNumberToObject(m, "grid", c->image_size / c->patch_size);
    }
    /* per-head mean |v| (the viewer's value-norm weighting without reading v_norm.npy),
     * |q| and |k|, summed in f32 before storage rounding, on the device that ran */
    const char *names[3] = {"vnorm_mean", "qnorm_mean", "knorm_mean"};
    const double *sums[3] = {j->vsum, j->qsum, j->ksum};
    for (int a = 0; a < 3; a++) {
        cJSON *arr = cJSON_AddArrayToObject(m, names[a]);
        for (int l = 0; l < c->num_layers; l++) {
            cJSON *row = cJSON_CreateArray();
            for (int h = 0; h < c->num_heads; h++)
                cJSON_AddItemToArray(row, cJSON_CreateNumber(sums[a][l * c->num_heads + h] / (double)j->n_tokens));
            cJSON_AddItemToArray(arr, row);
        }
    }
    int rc = av_manifest_write(j->tmp, m);
    cJSON_Delete(m);
    return rc;
}

/* Puts the finished temporary folder in place of run_dir. What stands there now is
 * checked again (it may have changed during the hours of the run) and replaced under
 * its lock, so no project or stats is writing into the folder that goes. */
static int rename_into_place(const av_extract_job *j) {
    const char *tmp = j->tmp, *run_dir = j->run_dir;
    struct stat st;
    if (lstat(run_dir, &st) == 0) {
        if (av_extract_check_output(run_dir, j->model_dir, j->data, j->o.force)) return AV_ERR;
        av_folder_lock l = {-1, 0};
        if (av_run_is_run_folder(run_dir) && av_folder_lock_take(&l, run_dir, run_dir)) return AV_ERR;
        char old[4300];
        snprintf(old, sizeof old, "%s.old-%ld", run_dir, (long)getpid());
        int rc = AV_OK;
        if (rename(run_dir, old) != 0) rc = av_fail("%s: cannot replace (%s)", run_dir, strerror(errno));
        else if (rename(tmp, run_dir) != 0) {
            int e = errno;
            rename(old, run_dir);
            rc = av_fail("%s: cannot rename %s into place (%s)", run_dir, tmp, strerror(e));
        } else av_rm_rf(old); /* the run folder (or empty folder) checked above, renamed */
        av_folder_lock_release(&l);
        return rc;
    }
    if (rename(tmp, run_dir) != 0) return av_fail("%s: cannot rename %s into place (%s)", run_dir, tmp, strerror(errno));
    return AV_OK;
}

/* The checkpoints in RUN.partial: resume.json, and resume-rank<R>-of-<N>.json of jobs
 * of several processes. */
static void remove_checkpoints(const char *dir) {
    DIR *d = opendir(dir);
    char path[4400];
    for (struct dirent *e; d && (e = readdir(d));)
        if (!strcmp(e->d_name, "resume.json") || !strncmp(e->d_name, "resume-rank", 11))
            unlink(av_path_join(path, sizeof path, dir, e->d_name));
    if (d) closedir(d);
}

int av_extract_publish(av_extract_job *j) {
    if (write_manifest(j)) return AV_ERR;
    /* the run is complete: its checkpoints, marker and lock file are not part of it (its
     * manifest proves it is a run folder now; nothing is written into it after the
     * rename, so the lock may go first) */
    char aux[4300];
    remove_checkpoints(j->tmp);
    unlink(av_path_join(aux, sizeof aux, j->tmp, AV_MARKER_FILE));
    unlink(av_path_join(aux, sizeof aux, j->tmp, ".lock"));
    return rename_into_place(j);
}

/* The arrays of RUN.partial [L, H, T, d] and [L, H, T]. */
static int open_arrays(av_extract_job *j, int reuse, out_mode mode) {
    const av_model_config *c = j->cfg;
    int64_t shape[4] = {c->num_layers, c->num_heads, j->n_tokens, c->head_dim};
    int64_t kshape[4] = {c->num_layers, c->num_kv_heads, j->n_tokens, c->head_dim};
    av_dtype dt = j->o.dtype;
    return out_open(&j->q, j->tmp, "q.npy", dt, 4, shape, reuse, mode) ||
                   out_open(&j->k, j->tmp, "k.npy", dt, 4, kshape, reuse, mode) ||
                   out_open(&j->vn, j->tmp, "v_norm.npy", dt, 3, shape, reuse, mode)
               ? AV_ERR
               : AV_OK;
}

static void zero_sums(av_extract_job *j) {
    size_t LH = (size_t)j->cfg->num_layers * j->cfg->num_heads;
    memset(j->vsum, 0, sizeof(double) * LH);
    memset(j->qsum, 0, sizeof(double) * LH);
    memset(j->ksum, 0, sizeof(double) * LH);
}

/* What stands at RUN.partial before a job uses it: nothing, an empty folder (removed: it
 * holds nothing to lose), or a folder with an extraction's marker. Anything else is
 * refused, never resumed into or removed. */
static int check_partial(const av_extract_job *j) {
    struct stat lst;
    if (lstat(j->tmp, &lst) != 0) return AV_OK;
    if (!av_is_dir(j->tmp)) return av_fail("%s: exists and is not a folder; move it away or choose another -o", j->tmp);
    if (av_dir_is_empty(j->tmp) && rmdir(j->tmp) != 0)
        return av_fail("%s: cannot remove the empty folder: %s", j->tmp, strerror(errno));
    if (av_is_dir(j->tmp) && !av_marker_says(j->tmp, partial_marker))
        return av_fail("%s: exists and was not made by attnviz (it has no %s marker); move it away or choose "
                       "another -o", j->tmp, AV_MARKER_FILE);
    return AV_OK;
}

/* A job of several processes (extract_job.h): each process resumes its share from its
 * own checkpoint, and one without a usable checkpoint does its whole share again (its
 * rows are simply written anew). When no process has one, rank 0 starts the folder
 * afresh. Every step ends in av_dist_agree, so the processes fail together. */
static int open_partial_multi(av_extract_job *j, av_resume_state *st) {
    const int root = av_dist_rank() == 0, size = av_dist_size();
    snprintf(j->ckpt, sizeof j->ckpt, "resume-rank%d-of-%d.json", av_dist_rank(), size);
    cJSON_AddNumberToObject(j->params, "processes", size);
    cJSON_AddNumberToObject(j->params, "rank", av_dist_rank());
    cJSON_AddNumberToObject(j->params, "first_item", (double)j->lo);
    cJSON_AddNumberToObject(j->params, "end_item", (double)j->hi);
    if (av_dist_agree(root ? check_partial(j) : AV_OK)) return AV_ERR;
    const int existed = av_is_dir(j->tmp);
    if (av_dist_agree(root && existed ? lock_partial(j) : AV_OK)) return AV_ERR;
    char why[160] = "";
    const int resume = existed && av_resume_load(j->tmp, j->ckpt, j->params, st, why, sizeof why);
    const int reuse = av_dist_any(resume);
    int rc = AV_OK;
    j->keep_partial = reuse; /* some process's checkpoint is worth keeping, whatever happens */
    if (resume) {
        j->items_done = st->items_done;
        j->f16_overflow = st->f16_overflow;
    } else {
        zero_sums(j);
    }
    if (!reuse) {
        if (root && existed) {
            av_log(j->o.ctx, AV_LOG_INFO, "starting %s afresh: %s", j->tmp,
                   why[0] ? why : "it holds no checkpoint of a job of this many processes");
            av_folder_lock_release(&j->lock);
            rc = av_rm_rf(j->tmp);
        }
        if (root && rc == AV_OK) rc = make_marked_folder(j->tmp) || lock_partial(j) ? AV_ERR : AV_OK;
    }
    if (root && rc == AV_OK) {
        j->tmp_made = 1;
        rc = open_arrays(j, reuse, OUT_CREATE) || write_token_files(j) ? AV_ERR : AV_OK;
    }
    if (!root) rc = open_arrays(j, reuse, OUT_LAYOUT);
    if (av_dist_agree(rc)) return AV_ERR;
    rc = av_dist_file_open(j->q.path, &j->q.file) || av_dist_file_open(j->k.path, &j->k.file) ||
                 av_dist_file_open(j->vn.path, &j->vn.file)
             ? AV_ERR
             : AV_OK;
    return av_dist_agree(rc);
}

int av_extract_open_partial(av_extract_job *j) {
    const av_model_config *c = j->cfg;
    snprintf(j->tmp, sizeof j->tmp, "%s.partial", j->run_dir);
    snprintf(j->ckpt, sizeof j->ckpt, "resume.json");
    int64_t LH = (int64_t)c->num_layers * c->num_heads;
    j->vsum = av_calloc((size_t)LH, sizeof(double));
    j->qsum = av_calloc((size_t)LH, sizeof(double));
    j->ksum = av_calloc((size_t)LH, sizeof(double));
    j->params = av_resume_params(j->model_dir, j->data, &j->o, j->n_items, j->n_tokens, c->num_layers, c->num_heads,
                                 c->head_dim);
    int rc = j->vsum && j->qsum && j->ksum && j->params ? AV_OK : AV_ERR;
    av_resume_state st = {0, 0, j->qsum, j->ksum, j->vsum, LH};
    if (j->multi) return av_dist_agree(rc) || open_partial_multi(j, &st) ? AV_ERR : AV_OK;
    if (rc) return AV_ERR;
    int resume = 0;
    if (check_partial(j)) return AV_ERR;
    if (av_is_dir(j->tmp)) {
        if (lock_partial(j)) return AV_ERR;
        char why[160];
        resume = av_resume_load(j->tmp, j->ckpt, j->params, &st, why, sizeof why);
        if (resume) {
            j->items_done = st.items_done;
            j->f16_overflow = st.f16_overflow;
            j->keep_partial = 1;   /* a valid checkpoint stays valid whatever happens next */
        } else {
            if (why[0]) av_log(j->o.ctx, AV_LOG_INFO, "starting %s afresh: %s", j->tmp, why);
            zero_sums(j);
            av_folder_lock_release(&j->lock);
            if (av_rm_rf(j->tmp)) return AV_ERR;
        }
    }
    if (!resume) {
        if (make_marked_folder(j->tmp)) return AV_ERR;
        j->tmp_made = 1;
        if (lock_partial(j)) return AV_ERR;
    }
    j->tmp_made = 1;
    if (open_arrays(j, resume, OUT_MAP) || write_token_files(j)) {
        if (resume) {
            char msg[1024];
            snprintf(msg, sizeof msg, "%s", av_last_error());
            av_fail("%s (%s is kept: %lld of %lld items are done; the same command resumes)", msg, j->tmp,
                    (long long)j->items_done, (long long)j->n_items);
        }
        return AV_ERR;
    }
    return AV_OK;
}
