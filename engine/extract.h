/* extract.h - the extraction pipeline behind `attnviz extract` (and the first step of
 * `attnviz run`): model folder + dataset -> run folder (DESIGN.md, engine/runfolder.h).
 *
 * Steps: load the dataset (strict: a bad line or image is an error), tokenize every text
 * item (items longer than the model's positions are truncated and counted) or count the
 * ViT patches, apply --max-tokens (whole items), then run the model in batches (text
 * items sorted by length so batches carry little padding) and stream every layer's
 * per-head q, k and |v| into memory-mapped q.npy [L, H, T, d], k.npy [L, Hkv, T, d] (Hkv
 * key heads: fewer than H with grouped-query attention) and v_norm.npy [L, H, T] at
 * computed offsets, so the run may be far larger than RAM. For RoPE models q and k are
 * taken after RoPE unless qk_rope asks for before (engine/runfolder.h).
 *
 * Atomicity and resume: everything is written into "<RUN>.partial/", the manifest last,
 * and the folder is renamed to RUN only when complete. Every 30 s, and on SIGINT/SIGTERM
 * (which stop the run after the current batch), the arrays are flushed and a checkpoint
 * written (engine/extract_resume.h); the same command later resumes from it. A failure
 * during the forward passes also keeps the items done; a failure before them (bad
 * input) removes the folder. An existing RUN is refused unless force is set (then
 * replaced only after the new one is complete). The caller owns the options; nothing
 * returned needs freeing. */
#ifndef AV_ENGINE_EXTRACT_H
#define AV_ENGINE_EXTRACT_H
#include <stdint.h>
#include "base/npy.h"
#include "models/model.h"

typedef struct {
    const char *device;     /* "auto" | "cpu" | "cuda" */
    int64_t max_items;      /* 0 = all */
    int64_t max_tokens;     /* 0 = no cap; else whole items while the total stays <= cap */
    av_dtype dtype;         /* AV_DT_F16 (default) or AV_DT_F32 for q/k/vnorm */
    int batch;              /* items per forward batch; 0 = automatic (32 on the CPU; on a GPU
                               16384 tokens' worth), cut to the memory budget either way */
    int64_t max_memory;     /* bytes the forward pass may hold on its device, weights included;
                               0 = 90% of a GPU's free memory, no limit on the CPU */
    int force;              /* replace an existing RUN */
    uint64_t sample_seed;   /* with max_items: random subset (0 = the first max_items) */
    int quiet;              /* no device line, no progress */
    av_qk_rope qk_rope;     /* RoPE models: q/k after (default) or before RoPE */
} av_extract_opts;

typedef struct {
    int64_t items, tokens;
    int64_t truncated;      /* items cut to the model's positions */
    int64_t dropped;        /* items that produced no token */
    int64_t f16_overflow;   /* f16 storage: values that round beyond +-65504 and are stored as +-inf */
    double seconds;         /* the whole call */
    double seconds_batches; /* running the batches: the model, and storing q/k/|v| */
    double seconds_store;   /* of those, storing (the sink: into the mapped arrays) */
    double seconds_flush;   /* the final flush of the arrays to disk */
    char device[16];        /* backend used: "cpu" | "cuda" */
} av_extract_result;

void av_extract_defaults(av_extract_opts *o);
/* Runs the pipeline; res may be NULL. AV_ERR with a one-line message naming the file
 * and the fault on bad input; RUN is then untouched. */
int av_extract(const char *model_dir, const char *data, const char *run_dir, const av_extract_opts *o,
               av_extract_result *res);
/* After av_extract failed: the signal (SIGINT, SIGTERM, SIGHUP) that stopped it with a
 * checkpoint, or 0. The CLI then ends by that signal, as a shell expects. */
int av_extract_stop_signal(void);
#endif
