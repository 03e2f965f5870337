/* runfolder.h - the run folder (docs/run-folder.md, the whole contract): manifest.json
 * plus .npy arrays.
 *
 *   manifest.json  {"format": "attnviz-run", "version": 1, "model_type", "model_dir",
 *                   "num_layers", "num_heads", "head_dim", "num_items", "num_tokens",
 *                   "dtype", "arrays": {NAME: {"file", "dtype", "shape"}}, ...}
 *                  extract adds: "device", "data", "max_positions", "truncated_items",
 *                  "dropped_items", "f16_overflow" (values stored as +-inf), and per
 *                  [layer][head] the means "vnorm_mean", "qnorm_mean", "knorm_mean" of
 *                  |v|, |q|, |k| over the tokens (from f32, before storage rounding)
 *   q.npy, k.npy   [L, H, T, d] f16|f32      token_item.npy, token_pos.npy [T] i32
 *   tokens.jsonl   {"text","item","pos"[, "row","col"]} per token; items.jsonl per item.
 *                  "text" is the token as the tokenizer spells it ("Ġthe", "▁the",
 *                  "<0xE6>"); text models also write "label", the text it stands for,
 *                  readable: byte-level and byte-fallback tokens decoded to UTF-8, white
 *                  space shown as ␣ ↵ → (av_token_labels, models/tokenizer.h). Runs
 *                  written before "label" existed have none; readers derive it.
 *   proj/<method>-<dim>d.npy [L, H, 2T, dim] f32 (queries, then keys); stats.json
 *
 * Writers put every file in place atomically and the manifest last, so a folder with a
 * manifest is complete. Every command that writes into a run folder (extract replacing
 * it, project, stats, the live view's save) holds its lock, RUN/.lock (base/lock.h), while
 * it works. av_run owns its cJSON manifest, the mappings and the lock; av_run_close frees
 * them. */
#ifndef AV_ENGINE_RUNFOLDER_H
#define AV_ENGINE_RUNFOLDER_H
#include <cjson/cJSON.h>
#include <sys/types.h>
#include "base/lock.h"
#include "base/npy.h"

#define AV_RUN_FORMAT "attnviz-run"
#define AV_RUN_VERSION 1

typedef struct {
    char dir[4096];
    cJSON *manifest;
    char model_type[16];   /* "bert" | "gpt2" | "vit" */
    int num_layers, num_heads, head_dim;
    int64_t num_items, num_tokens;
    av_npy q, k;           /* [L, H, T, d] */
    av_npy token_item;     /* [T] i32 */
    av_npy token_pos;      /* [T] i32 */
    dev_t dev;             /* the folder opened: a folder renamed over it is another run */
    ino_t ino;
    av_folder_lock lock;   /* held between av_run_lock and av_run_unlock (or close) */
} av_run;

/* Reads the manifest, maps q/k/token_item/token_pos and checks every size the manifest
 * states against the arrays on disk: shapes, dtypes, and num_items against the items
 * token_item.npy names. */
int av_run_open(const char *dir, av_run *r);
void av_run_close(av_run *r);

/* 1 when dir is a run folder: its manifest.json says "format": "attnviz-run". What
 * `--force` may replace (base/owned.h). */
int av_run_is_run_folder(const char *dir);

/* Takes the run folder's writer lock ("another attnviz is writing RUN (pid N)" when it
 * is held elsewhere), checks that RUN is still the folder opened (not replaced since)
 * and rereads the manifest, so what this writer adds goes on top of what writers before
 * it added. Held already: nothing to do. */
int av_run_lock(av_run *r);
void av_run_unlock(av_run *r);

/* One head's vectors as f32 rows [T, d] into out (caller allocates T*d floats). */
int av_run_head_q(const av_run *r, int layer, int head, float *out);
int av_run_head_k(const av_run *r, int layer, int head, float *out);

/* Path of a file inside the run folder. */
char *av_run_path(const av_run *r, char *out, size_t n, const char *name);

/* Rewrites manifest.json atomically from r->manifest (after adding entries). */
int av_run_save_manifest(const av_run *r);

/* Manifest building blocks, used by extract and by everything that adds arrays. */
cJSON *av_manifest_new(const char *model_type, const char *model_dir, int num_layers,
                       int num_heads, int head_dim, int64_t num_items, int64_t num_tokens,
                       av_dtype dtype);
int av_manifest_set_array(cJSON *manifest, const char *name, const char *file, av_dtype dtype,
                          int ndim, const int64_t *shape);
int av_manifest_write(const char *dir, const cJSON *manifest);

/* Reads a JSON file into a cJSON tree (caller deletes); errors name the file. */
cJSON *av_json_read(const char *path);
/* Writes a cJSON tree atomically, pretty-printed. */
int av_json_write(const char *path, const cJSON *json);
/* Checked field access: the error names the file and the key. */
int av_json_int(const cJSON *obj, const char *key, const char *file, int64_t *out);
int av_json_str(const cJSON *obj, const char *key, const char *file, const char **out);

/* tokens.jsonl: the token texts, in token order. av_run_tokens_free releases them. */
typedef struct { char **text; int64_t count; } av_run_tokens;
int av_run_load_tokens(const av_run *r, av_run_tokens *t);
void av_run_tokens_free(av_run_tokens *t);
#endif
