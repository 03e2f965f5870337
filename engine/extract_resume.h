/* extract_resume.h - the checkpoint that lets an interrupted extraction go on where it
 * stopped (engine/extract.c).
 *
 * An extraction writes into "<RUN>.partial/". Every 30 s, and when it is asked to stop
 * (the stop flag of engine/context.h), it flushes the q/k/|v| arrays to disk and then replaces
 * "<RUN>.partial/resume.json" with: the parameters that decide the arrays' contents
 * ("params": model, data file and its size and time, item selection, dtype, shapes), how
 * many items are complete (items run in a fixed order: longest first for text, dataset
 * order for images) and the running sums the manifest needs. The checkpoint is written
 * after the flush, so it never claims more than the disk holds. A rerun with the same
 * parameters resumes from there; with others it starts afresh. An item redone after a
 * crash is simply written again with the same numbers.
 *
 * Ownership: av_resume_params returns a cJSON the caller deletes; the sums arrays are
 * the caller's. */
#ifndef AV_ENGINE_EXTRACT_RESUME_H
#define AV_ENGINE_EXTRACT_RESUME_H
#include <stdint.h>
#include <cjson/cJSON.h>
#include "engine/extract.h"

typedef struct {
    int64_t items_done;
    int64_t f16_overflow;
    double *qsum, *ksum, *vsum; /* [L*H] each */
    int64_t nsums;              /* L*H */
} av_resume_state;

/* What decides the arrays' contents: NULL (message set) when model_dir or data cannot be
 * resolved. */
cJSON *av_resume_params(const char *model_dir, const char *data, const av_extract_opts *o, int64_t items,
                        int64_t tokens, int layers, int heads, int head_dim);

/* Reads dir/<name> (the checkpoint: resume.json, or under MPI each process's own
 * resume-rank<R>-of-<N>.json, whose items are that process's share) into st when its
 * params equal `params`: returns 1 (resume), 0 (no usable checkpoint: none, unreadable,
 * or made with other parameters; `why` says which, empty when there was none). Never
 * fails. */
int av_resume_load(const char *dir, const char *name, const cJSON *params, av_resume_state *st, char *why,
                   size_t whylen);

/* Writes dir/<name> atomically (temporary file, fsync, rename). */
int av_resume_save(const char *dir, const char *name, const cJSON *params, const av_resume_state *st);
#endif
