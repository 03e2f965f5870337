/* extract_job.h - inside the extraction (engine/extract.h): the job every step works on,
 * and the steps, one file each:
 *   extract.c          the public calls: options, model, data, then the steps in order
 *   extract_items.c    items -> tokens (text) or patches (ViT), the run order, the batch plan
 *   extract_output.c   RUN.partial: its arrays, token files, checkpoint, manifest, publishing
 *   extract_batches.c  the batch loop: forward passes, the sink that stores q/k/|v|, stops
 * Only these files include this header. The job owns everything it points to;
 * av_extract_close frees it.
 *
 * Under MPI (engine/dist.h) every process loads the model and the data and plans the
 * same batches; the batches are cut into one contiguous share of the run order per
 * process, balanced by tokens ([lo, hi)), so each item is computed in the very batch a
 * single process would put it in. Rank 0 owns RUN.partial (lock, token files, the
 * arrays created at full size, the manifest and the rename); every process writes its
 * items' rows into the arrays in place with MPI-IO and keeps its own checkpoint. */
#ifndef AV_ENGINE_EXTRACT_JOB_H
#define AV_ENGINE_EXTRACT_JOB_H
#include <cjson/cJSON.h>
#include <stdint.h>
#include "base/lock.h"
#include "datasets/dataset.h"
#include "engine/dist.h"
#include "engine/extract.h"
#include "models/model.h"
#include "models/tokenizer.h"

/* An output array, header written, body filled at computed offsets: memory-mapped in a
 * job of one process, written through MPI-IO (file) in a job of several. */
typedef struct {
    int fd;
    uint8_t *map;
    av_dist_file *file;
    size_t size, hdr;
    char path[4200];
} av_extract_array;

struct av_extract_job {
    av_extract_opts o;        /* a copy of the caller's (o.ctx stays the caller's) */
    char model_dir[4096], data[4096], run_dir[4096];
    double t0;                /* when av_extract_open started */
    const av_backend *be;
    av_model model;
    const av_model_config *cfg;
    av_tokenizer *tok;
    av_dataset_t ds;
    int have_ds;
    /* kept items (indices into ds.items), their token counts and first token */
    int64_t n_items, n_tokens;
    int64_t *item_src;
    int32_t *len;
    int64_t *off;
    int32_t *ids, *types;     /* text: all tokens, flat, in token order */
    int64_t truncated, dropped;
    int longest;              /* tokens of the longest item */
    /* outputs */
    char tmp[4200];           /* RUN.partial */
    int tmp_made;             /* this job made or took over tmp: removed on failure unless keep_partial */
    av_extract_array q, k, vn;
    double *qsum, *ksum, *vsum;  /* [L*H] sums of |q|, |k|, |v| (per query head: its key head's |k|, |v|) */
    int64_t f16_overflow;     /* values beyond the f16 range (stored as +-inf) */
    /* the batch being run: item index (into kept items) of each batch row, and the
     * first packed token of each (B + 1 entries) */
    const int64_t *batch_items;
    int64_t *first;
    int64_t *order;           /* the run order: longest text first (extract_items.c) */
    /* batch plan: tokens one batch may hold (from the memory budget) */
    int64_t max_rows;
    /* this process's share of the run order: items lo .. hi-1 (all of them in one process) */
    int64_t lo, hi;
    int multi;                /* a job of several processes */
    /* several processes: the job's progress, and a failure that stops every process */
    av_dist_counter *counter;
    int halted;               /* another process failed: this one stopped after its batch */
    /* resume: what decides the arrays, items complete (of the share, in run order), the
     * checkpoint file's name, last checkpoint */
    cJSON *params;
    int64_t items_done;
    char ckpt[64];
    double last_checkpoint;
    int keep_partial;         /* interrupted or failed midway: leave RUN.partial for the next run */
    av_folder_lock lock;      /* RUN.partial/.lock, held while this process writes there */
    double write_seconds;     /* in the sink: what storing q/k costs inside the batches */
};

/* ---- extract_items.c ---------------------------------------------------------------- */
/* Fills item_src/len/off (and ids/types for text): tokenizes every item, truncates to the
 * model's positions, applies --max-tokens; images count max_positions tokens each. Also
 * sets n_items, n_tokens, longest and the run order. */
int av_extract_items(av_extract_job *j);
/* Items in a batch whose longest item has T tokens: --batch (or the automatic size), cut
 * to what the memory budget holds (av_extract_plan_memory). */
int av_extract_batch_items(const av_extract_job *j, int T);
/* Sets max_rows from --max-memory or the device's free memory; fails when even one item
 * of the longest length does not fit. */
int av_extract_plan_memory(av_extract_job *j);
/* Sets lo, hi: this process's share of the batches, by tokens (the whole run order in a
 * job of one process). max_rows must be the same on every process. */
void av_extract_share(av_extract_job *j);

/* ---- extract_output.c --------------------------------------------------------------- */
/* Where RUN may go: never the model or the data, a folder holding them (RUN or
 * RUN.partial), or a place inside the model folder or the image folder; an existing RUN
 * only with force, and then only when it is a run folder (or an empty folder) that no
 * other attnviz is writing. */
int av_extract_check_output(const char *run_dir, const char *model_dir, const char *data, int force);
/* Opens RUN.partial: resumed when its checkpoint was made with the same parameters
 * (items_done, sums and keep_partial set), else made afresh (a line says why an existing
 * one is not resumed); locks it, maps the arrays and writes the token files. */
int av_extract_open_partial(av_extract_job *j);
/* Flushes the arrays, then records that items_done items (of the share) are complete. */
int av_extract_checkpoint(av_extract_job *j);
/* Flushes and closes one array; with keep = 0 only releases it. */
int av_extract_array_close(av_extract_array *a, int keep);
/* manifest.json, last; then RUN.partial becomes RUN (replacing it with force). */
int av_extract_publish(av_extract_job *j);

/* ---- extract_batches.c -------------------------------------------------------------- */
/* Runs every item not yet done, in run order, checkpointing as it goes; p counts tokens. */
int av_extract_batches(av_extract_job *j, av_progress *p);
#endif
