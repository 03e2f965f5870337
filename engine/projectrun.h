/* projectrun.h - `attnviz project` without the CLI: projects every selected head of a
 * run folder and records the result in it (docs/run-folder.md).
 *
 * For each head: Q and K rows are read as f32, checked finite, stacked into the joint
 * cloud X = [Q; K] (n = 2T), normalised (av_normalize_qk) and projected. Each finished
 * head is kept atomically in RUN/proj/.partial-<method>-<dim>d/L<l>-H<h>.npy (+ .json
 * with its KL, scale and quality), so an interrupted job resumes where it stopped; the
 * folder also holds params.json, and partial heads made with other parameters are
 * discarded. When every selected head is done, RUN/proj/<method>-<dim>d.npy
 * [L, H, 2T, dim] f32 is written atomically (heads never projected are NaN), the
 * manifest gets arrays["proj/<method>-<dim>d"] and projections["<method>-<dim>d"], and
 * the partial folder is removed: a later job with the same parameters takes the heads
 * already in the committed array from there (so --heads can extend a projection), and
 * keeping the folder would double the disk use. With other parameters the committed
 * array's heads are replaced, not mixed in.
 * Informational lines, warnings and progress go to o->ctx (engine/context.h); a job
 * has no stop point of its own (finished heads are already safe on disk, so a caller
 * may end the process at any time). The caller owns the av_run, the options and the
 * context; nothing here keeps pointers to them after returning. */
#ifndef AV_ENGINE_PROJECTRUN_H
#define AV_ENGINE_PROJECTRUN_H
#include "kernels/project.h"
#include "engine/context.h"
#include "engine/runfolder.h"
#include "kernels/backend/device.h"

typedef enum { AV_PROJ_TSNE = 0, AV_PROJ_UMAP = 1, AV_PROJ_PCA = 2 } av_proj_method;

typedef struct {
    av_proj_method method;
    int dim;                 /* 2 or 3 */
    const int *heads;        /* layer,head pairs; NULL = every head */
    int num_heads;
    int translate, scale;    /* av_normalize_qk switches (defaults 1, 0) */
    av_tsne_params tsne;     /* dim, metric and knn_method are taken from here too */
    av_umap_params umap;
    int force;               /* recompute heads already done */
    int quality;             /* kNN preservation (k 10) and trustworthiness (k 5) per head */
    int64_t quality_sample;  /* points sampled for quality on large heads (0 = all) */
    /* heads with at most this many points run side by side, one thread each; larger
     * ones one at a time with all threads inside. Default 2048, the size below which
     * av_tsne keeps a head on one thread anyway (waking the team every iteration costs
     * more than it saves), so side by side is then the only way to use the cores. */
    int64_t parallel_heads_max_points;
    av_device device;        /* as chosen by --device; said in the opening line */
    /* the projections to run (kernels/project.h), completed from the CPU's where they
     * lack a slot; NULL: the device's table */
    const av_project_backend *backend;
    const av_context *ctx;   /* log and progress; NULL = silent */
} av_project_opts;

void av_project_defaults(av_project_opts *o);
const char *av_proj_method_name(av_proj_method m);

/* Parses "all" or "L:H,L:H,..." against a model of L layers x H heads into a new
 * array of pairs (caller frees; NULL and count 0 for "all"). A head outside the model
 * or a malformed item is an error naming it. */
int av_parse_heads(const char *spec, int layers, int heads, int **pairs, int *count);

/* The projection table a job with these options uses: o->backend or the device's,
 * every slot it lacks taken from the CPU's; note says which ("" when none). AV_ERR when
 * the device has no table (CUDA absent). */
int av_project_backend_of(const av_project_opts *o, av_project_backend *out, char *note, size_t note_len);

/* Runs the projection, reporting to o->ctx. Bad data (non-finite q/k values in a
 * selected head, unreadable arrays) is found before anything is printed or written:
 * AV_ERR with a message naming the run folder and the head. */
int av_project_run(av_run *r, const av_project_opts *o);

/* Records one head projected elsewhere (the live viewer) exactly as av_project_run
 * would have: Y [2T, o->dim] becomes the partial head (with its .json: scale, seconds,
 * KL, and quality when o->quality, for which X, the normalised cloud [2T, head_dim],
 * may be rescaled in place), then proj/<method>-<dim>d.npy is rewritten from every
 * partial head and the manifest saved. The caller keeps X and Y. */
int av_project_save_head(av_run *r, const av_project_opts *o, int l, int h, float *X, const float *Y,
                         float scale, double kl, double seconds);
#endif
