/* extract.h - the extraction pipeline behind `attnviz extract` (and the first step of
 * `attnviz run`): model folder + dataset -> run folder (docs/run-folder.md).
 *
 * Steps (engine/extract_*.c): load the model and the dataset (strict: a bad line or image
 * is an error); tokenize every text item (items longer than the model's positions are
 * truncated and counted) or count the ViT patches, apply --max-tokens (whole items) and
 * plan the run order; open or resume "<RUN>.partial/"; run the model in batches (text
 * items sorted by length so batches carry little padding) and stream every layer's
 * per-head q, k and |v| into memory-mapped q.npy / k.npy [L, H, T, d] and v_norm.npy
 * [L, H, T] at computed offsets, so the run may be far larger than RAM; finish: flush,
 * write the manifest last and rename the folder to RUN.
 *
 * Atomicity and resume: every 30 s, and when the caller's stop flag is set (the CLI sets
 * it on SIGINT, SIGTERM and SIGHUP: the run stops after the current batch), the arrays
 * are flushed and a checkpoint written (engine/extract_resume.h); the same command later
 * resumes from it. A failure during the forward passes also keeps the items done; a
 * failure before them (bad input) removes the folder. An existing RUN is refused unless
 * force is set (then replaced only after the new one is complete).
 *
 * Two ways to call it: av_extract does everything; av_extract_open, av_extract_run and
 * av_extract_close do the same in two halves, so a caller can say something between
 * "the inputs are good" and the batches (the CLI's line naming the device). The caller
 * owns the options and the context (which must outlive the job); av_extract_close frees
 * the job. Informational lines and progress go to o->ctx (engine/context.h). */
#ifndef AV_ENGINE_EXTRACT_H
#define AV_ENGINE_EXTRACT_H
#include <stdint.h>
#include "base/dtype.h"
#include "engine/context.h"
#include "kernels/backend/device.h"
#include "kernels/ops.h"

typedef struct {
    av_device device;       /* where the model runs (the CLI resolves --device with av_device_choose) */
    int64_t max_items;      /* 0 = all */
    int64_t max_tokens;     /* 0 = no cap; else whole items while the total stays <= cap */
    av_dtype dtype;         /* AV_DT_F16 (default) or AV_DT_F32 for q/k/vnorm */
    int batch;              /* items per forward batch; 0 = automatic (32 on the CPU; on a GPU
                               16384 tokens' worth), cut to the memory budget either way */
    int64_t max_memory;     /* bytes the forward pass may hold on its device, weights included;
                               0 = 90% of a GPU's free memory, no limit on the CPU */
    int force;              /* replace an existing RUN */
    uint64_t sample_seed;   /* with max_items: random subset (0 = the first max_items) */
    av_gemm_precision gemm; /* the matrix products' precision on a GPU (AV_GEMM_F32, the default,
                               is the only one of the CPU): kernels/ops.h */
    const av_context *ctx;  /* stop flag, log and progress; NULL = silent, never stopped */
} av_extract_opts;

typedef struct {
    int64_t items, tokens;
    int64_t truncated;      /* items cut to the model's positions */
    int64_t dropped;        /* items that produced no token */
    int64_t f16_overflow;   /* f16 storage: values that round beyond +-65504 and are stored as +-inf */
    double seconds;         /* the whole job, from av_extract_open */
    double seconds_batches; /* running the batches: the model, and storing q/k/|v| */
    double seconds_store;   /* of those, storing (the sink: into the mapped arrays) */
    double seconds_flush;   /* the final flush of the arrays to disk */
    char device[16];        /* backend used: "cpu" | "cuda" */
} av_extract_result;

/* Defaults: the CPU, f16, automatic batches, no caps, no context. */
void av_extract_defaults(av_extract_opts *o);

/* Runs the whole pipeline; res may be NULL. AV_ERR with a one-line message naming the
 * file and the fault on bad input; RUN is then untouched. */
int av_extract(const char *model_dir, const char *data, const char *run_dir, const av_extract_opts *o,
               av_extract_result *res);

typedef struct av_extract_job av_extract_job;
/* The first half: checks the options, loads the model, the dataset and the tokens, plans
 * the batches and opens (or resumes) RUN.partial. Every fault of the inputs shows here:
 * AV_ERR, *out NULL and nothing left behind. */
int av_extract_open(const char *model_dir, const char *data, const char *run_dir, const av_extract_opts *o,
                    av_extract_job **out);
/* The second half: the batches, then the finished folder renamed to RUN; res may be
 * NULL. Stopped by the context's flag, it fails with "interrupted after N of M items"
 * and keeps the checkpoint. Call av_extract_close afterwards either way. */
int av_extract_run(av_extract_job *j, av_extract_result *res);
/* Frees the job; RUN.partial is removed unless it holds a checkpoint worth resuming. The
 * last error is kept. NULL is allowed. */
void av_extract_close(av_extract_job *j);
#endif
