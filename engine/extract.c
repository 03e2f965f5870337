/* extract.c - the extraction pipeline (see extract.h): dataset -> tokens -> batched
 * forward passes -> a complete run folder, renamed into place atomically. */
#include "engine/extract.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "datasets/dataset.h"
#include "datasets/image.h"
#include "engine/extract_resume.h"
#include "engine/progress.h"
#include "engine/runfolder.h"
#include "base/dtype.h"
#include "base/util.h"
#include "kernels/backend/device.h"
#include "models/image_preprocess.h"
#include "models/model.h"
#include "models/tokenizer.h"

void av_extract_defaults(av_extract_opts *o) {
    memset(o, 0, sizeof *o);
    o->device = "auto";
    o->dtype = AV_DT_F16;
    o->batch = 0; /* automatic: see batch_items */
}

/* ---- a memory-mapped output array: header written, body filled at computed offsets -- */
typedef struct {
    int fd;
    uint8_t *map;
    size_t size, hdr;
    char path[4200];
} out_array;

/* With reuse, an existing file of exactly the right size and header is opened as it is
 * (a resumed extraction); anything else is created empty. */
static int out_open(out_array *a, const char *dir, const char *name, av_dtype dt, int ndim, const int64_t *shape,
                    int reuse) {
    memset(a, 0, sizeof *a);
    a->fd = -1;
    av_path_join(a->path, sizeof a->path, dir, name);
    char hdr[512];
    a->hdr = av_npy_header(hdr, sizeof hdr, dt, ndim, shape);
    int64_t count = 1;
    for (int i = 0; i < ndim; i++) count *= shape[i];
    a->size = a->hdr + (size_t)count * av_dtype_size(dt);
    struct stat st;
    if (reuse && (stat(a->path, &st) != 0 || (size_t)st.st_size != a->size))
        return av_fail("%s: does not match its checkpoint (remove the folder to start afresh)", a->path);
    a->fd = reuse ? open(a->path, O_RDWR) : open(a->path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (a->fd < 0) return av_fail("%s: cannot create (%s)", a->path, strerror(errno));
    if (ftruncate(a->fd, (off_t)a->size) != 0) {
        av_fail("%s: cannot size to %zu bytes (%s)", a->path, a->size, strerror(errno));
        close(a->fd);
        a->fd = -1;
        return AV_ERR;
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

/* Puts what the mapping holds on the disk (a checkpoint's first half). */
static int out_flush(out_array *a) {
    if (a->map && msync(a->map, a->size, MS_SYNC) != 0) return av_fail("%s: write failed (%s)", a->path, strerror(errno));
    return AV_OK;
}

/* Flushes and closes; with keep = 0 only releases (the folder is removed anyway). */
static int out_close(out_array *a, int keep) {
    int rc = AV_OK;
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

/* ---- the job ------------------------------------------------------------------------ */
typedef struct {
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
    /* outputs */
    char tmp[4200];
    out_array q, k, vn;
    av_dtype dtype;
    av_qk_rope qk_rope;
    double *qsum, *ksum, *vsum;  /* [L*H] sums of |q|, |k|, |v| (per query head) */
    int64_t f16_overflow;     /* values beyond the f16 range (stored as +-inf) */
    /* the batch being run: item index (into kept items) of each batch row, and the
     * first packed token of each (B + 1 entries) */
    const int64_t *batch_items;
    int64_t *first;
    int64_t *order;           /* run order (run_order) */
    /* batch plan: tokens one batch may hold (from the memory budget) */
    int64_t max_rows;
    /* resume: what decides the arrays, items complete (in run order), last checkpoint */
    cJSON *params;
    int64_t items_done;
    double last_checkpoint;
    int keep_partial;         /* interrupted: leave RUN.partial for the next run */
    int lock_fd;              /* RUN.partial/.lock, held while this process writes there */
    double write_seconds;     /* in the sink: what storing q/k costs inside the batches */
} job;

/* ---- interruption and checkpoints --------------------------------------------------- */
static volatile sig_atomic_t stop_requested;   /* the signal number, 0 = none */
static void on_stop_signal(int sig) { stop_requested = sig; }

int av_extract_stop_signal(void) { return stop_requested; }

enum { CHECKPOINT_SECONDS = 30 };

/* One writer per partial folder: a second extraction of the same RUN stops at once. */
static int lock_partial(job *j) {
    char path[4300];
    av_path_join(path, sizeof path, j->tmp, ".lock");
    j->lock_fd = open(path, O_RDWR | O_CREAT, 0644);
    if (j->lock_fd < 0) return av_fail("%s: cannot create (%s)", path, strerror(errno));
    if (flock(j->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        close(j->lock_fd);
        j->lock_fd = -1;
        return av_fail("%s: another attnviz extract is writing there", j->tmp);
    }
    return AV_OK;
}

/* Flushes the arrays, then records that items_done items are complete. */
static int checkpoint(job *j) {
    if (out_flush(&j->q) || out_flush(&j->k) || out_flush(&j->vn)) return AV_ERR;
    int64_t L = j->cfg->num_layers, H = j->cfg->num_heads;
    av_resume_state st = {j->items_done, j->f16_overflow, j->qsum, j->ksum, j->vsum, L * H};
    if (av_resume_save(j->tmp, j->params, &st)) return AV_ERR;
    j->last_checkpoint = av_now();
    return AV_OK;
}

/* After each batch: a checkpoint when one is due; on SIGINT/SIGTERM a last one and a
 * stop that leaves the partial folder for the next run. */
static int after_batch(job *j, int64_t items_done) {
    j->items_done = items_done;
    /* tests stop a run at a known point without racing a signal against the batches */
    const char *at = getenv("AV_TEST_STOP_AFTER_ITEMS");
    if (at && *at && items_done >= atoll(at)) stop_requested = SIGINT;
    if (stop_requested) {
        if (checkpoint(j)) return AV_ERR;
        j->keep_partial = 1;
        return av_fail("interrupted after %lld of %lld items; the same command resumes from %s",
                       (long long)items_done, (long long)j->n_items, j->tmp);
    }
    if (av_now() - j->last_checkpoint >= CHECKPOINT_SECONDS && items_done < j->n_items) return checkpoint(j);
    return AV_OK;
}


/* The f16 bit patterns of +-inf: where a value beyond the f16 range went. */
static int64_t count_f16_inf(const uint16_t *x, int64_t n) {
    int64_t c = 0;
    for (int64_t i = 0; i < n; i++) c += (x[i] & 0x7fff) == 0x7c00;
    return c;
}

/* One layer of one batch, packed by the forward pass (already in the stored dtype, item
 * by item in batch order): each item's run of tokens goes to its place in the arrays.
 * Items are contiguous in the packed block but not in the arrays (batches are sorted by
 * length, the arrays keep the dataset's order), hence one copy per item and head. Query
 * heads h < H carry q and |v|; key heads h < Hkv (all of them without grouped-query
 * attention) carry k. */
static int sink(void *user, const av_layer_out *o) {
    job *j = user;
    double t0 = av_now();
    const int H = o->H, Hkv = o->Hkv, d = o->d, l = o->layer;
    const int64_t n = j->n_tokens;
    const size_t es = av_dtype_size(j->dtype);
    int64_t over = 0;
    j->first[0] = 0;
    for (int b = 0; b < o->B; b++) j->first[b + 1] = j->first[b] + o->lengths[b];
#pragma omp parallel for schedule(dynamic) reduction(+ : over)
    for (int h = 0; h < H; h++) {
        for (int b = 0; b < o->B; b++) {
            int64_t it = j->batch_items[b], len = j->len[it];
            int64_t dst = ((int64_t)l * H + h) * n + j->off[it];   /* token row in [L, H, T, .] */
            int64_t kdst = ((int64_t)l * Hkv + h) * n + j->off[it]; /* token row in [L, Hkv, T, .] */
            int64_t src = (int64_t)h * o->n + j->first[b];       /* token row in [H, n, .] */
            const uint8_t *qs = (const uint8_t *)o->qp + (size_t)(src * d) * es;
            const uint8_t *ks = (const uint8_t *)o->kp + (size_t)(src * d) * es;
            memcpy(j->q.map + j->q.hdr + (size_t)(dst * d) * es, qs, (size_t)(len * d) * es);
            if (h < Hkv) memcpy(j->k.map + j->k.hdr + (size_t)(kdst * d) * es, ks, (size_t)(len * d) * es);
            const float *vs = o->vnp + src;
            uint8_t *vd = j->vn.map + j->vn.hdr + (size_t)dst * es;
            if (j->dtype == AV_DT_F32) memcpy(vd, vs, (size_t)len * sizeof(float));
            else {
                for (int64_t t = 0; t < len; t++) {
                    uint16_t v16 = av_f32_to_f16(vs[t]);
                    memcpy(vd + 2 * t, &v16, 2);
                    over += (v16 & 0x7fff) == 0x7c00;
                }
                over += count_f16_inf((const uint16_t *)(const void *)qs, len * d);
                if (h < Hkv) over += count_f16_inf((const uint16_t *)(const void *)ks, len * d);
            }
        }
        j->qsum[(int64_t)l * H + h] += o->sums[h];
        j->ksum[(int64_t)l * H + h] += o->sums[H + h];
        j->vsum[(int64_t)l * H + h] += o->sums[2 * H + h];
    }
    j->f16_overflow += over;
    j->write_seconds += av_now() - t0;
    return AV_OK;
}

/* Tokenizes every item; fills len/off/ids/types, applies truncation and --max-tokens. */
static int tokenize_all(job *j, const av_extract_opts *o) {
    const av_model_config *c = j->cfg;
    int64_t N = j->ds.count, cap = 0, used = 0;
    av_encoding enc = {0};
    j->item_src = av_malloc(sizeof(int64_t) * (size_t)N);
    j->len = av_malloc(sizeof(int32_t) * (size_t)N);
    j->off = av_malloc(sizeof(int64_t) * (size_t)N);
    if (!j->item_src || !j->len || !j->off) return AV_ERR;
    int32_t sep = av_tokenizer_sep(j->tok);
    int rc = AV_OK;
    for (int64_t i = 0; i < N; i++) {
        const av_item *it = &j->ds.items[i];
        av_encoding_clear(&enc);
        if (av_tokenizer_encode(j->tok, it->text, it->text_b, &enc)) {
            char msg[1024];
            snprintf(msg, sizeof msg, "%s", av_last_error());
            rc = av_fail("%s:%lld: %s", j->ds.source, (long long)it->line, msg);
            break;
        }
        int n = enc.count;
        if (n == 0) { /* e.g. text the tokenizer maps to nothing: no token to show */
            j->dropped++;
            continue;
        }
        if (n > c->max_positions) {
            /* keep the head of the item; a BERT item keeps its closing [SEP] as
             * transformers' truncation does */
            int ends_sep = sep >= 0 && enc.ids[n - 1] == sep;
            if (ends_sep) {
                enc.ids[c->max_positions - 1] = sep;
                enc.type_ids[c->max_positions - 1] = enc.type_ids[n - 1];
            }
            n = c->max_positions;
            j->truncated++;
        }
        if (o->max_tokens > 0 && used + n > o->max_tokens) {
            if (j->n_items == 0) {
                rc = av_fail("--max-tokens %lld: the first item alone has %d tokens", (long long)o->max_tokens, n);
                break;
            }
            break;
        }
        if (used + n > cap) {
            int64_t ncap = cap ? cap * 2 : 4096;
            while (ncap < used + n) ncap *= 2;
            int32_t *ni = realloc(j->ids, sizeof(int32_t) * (size_t)ncap);
            if (ni) j->ids = ni;
            int32_t *nt = ni ? realloc(j->types, sizeof(int32_t) * (size_t)ncap) : NULL;
            if (nt) j->types = nt;
            if (!ni || !nt) {
                rc = av_fail("out of memory holding %lld token ids", (long long)ncap);
                break;
            }
            cap = ncap;
        }
        memcpy(j->ids + used, enc.ids, sizeof(int32_t) * (size_t)n);
        memcpy(j->types + used, enc.type_ids, sizeof(int32_t) * (size_t)n);
        j->item_src[j->n_items] = i;
        j->len[j->n_items] = n;
        j->off[j->n_items] = used;
        j->n_items++;
        used += n;
    }
    av_encoding_free(&enc);
    j->n_tokens = used;
    if (rc == AV_OK && j->n_items == 0)
        rc = av_fail("%s: no item produced a token", j->ds.source);
    return rc;
}

static int vit_items(job *j, const av_extract_opts *o) {
    int64_t N = j->ds.count, per = j->cfg->max_positions;
    j->item_src = av_malloc(sizeof(int64_t) * (size_t)N);
    j->len = av_malloc(sizeof(int32_t) * (size_t)N);
    j->off = av_malloc(sizeof(int64_t) * (size_t)N);
    if (!j->item_src || !j->len || !j->off) return AV_ERR;
    for (int64_t i = 0; i < N; i++) {
        if (o->max_tokens > 0 && (j->n_items + 1) * per > o->max_tokens) break;
        j->item_src[j->n_items] = i;
        j->len[j->n_items] = (int32_t)per;
        j->off[j->n_items] = j->n_items * per;
        j->n_items++;
    }
    if (j->n_items == 0)
        return av_fail("--max-tokens %lld: one image alone has %lld tokens", (long long)o->max_tokens, (long long)per);
    j->n_tokens = j->n_items * per;
    return AV_OK;
}

/* token_item / token_pos / tokens.jsonl / items.jsonl */
static int write_token_files(job *j) {
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
    for (int64_t i = 0; i < j->n_items; i++)
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
                const char *s = av_tokenizer_token(j->tok, j->ids[j->off[i] + t]);
                json_str(f, s ? s : "");
                fprintf(f, ", \"item\": %lld, \"pos\": %d}\n", (long long)i, t);
            }
        }
    if (fclose(f) != 0) return av_fail("%s: write failed", path);

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
    if (fclose(f) != 0) return av_fail("%s: write failed", path);
    return AV_OK;
}

static int cmp_len_desc(const void *a, const void *b, void *lens) {
    const int32_t *L = lens;
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    if (L[x] != L[y]) return L[x] > L[y] ? -1 : 1;
    return x < y ? -1 : x > y;
}

/* Tokens per batch when the batch size is left to the GPU: enough rows that every GEMM
 * fills the device (bert-base's run at ~full rate from a few thousand rows), few enough
 * that the pinned buffers stay small. */
enum { AUTO_GPU_ROWS = 16384, AUTO_CPU_ITEMS = 32, MAX_BATCH_ITEMS = 65535 };

/* Items in a batch whose longest item has T tokens: --batch (or the automatic size),
 * cut to what the memory budget holds. */
static int batch_items(const job *j, const av_extract_opts *o, int T) {
    int64_t nb = o->batch > 0 ? o->batch : j->model.be->mem_info ? AUTO_GPU_ROWS / T : AUTO_CPU_ITEMS;
    if (nb > j->max_rows / T) nb = j->max_rows / T;
    return (int)(nb < 1 ? 1 : nb > MAX_BATCH_ITEMS ? MAX_BATCH_ITEMS : nb);
}

static double gib(int64_t bytes) { return (double)bytes / (1024.0 * 1024 * 1024); }

/* Sets j->max_rows from --max-memory (weights included) or, on a device, from its free
 * memory after the weights were loaded (90%: the rest is the driver's and other
 * programs'). Fails when even one item of the longest length T does not fit. */
static int plan_memory(job *j, const av_extract_opts *o, int T) {
    const av_backend *be = j->model.be;
    int64_t per, fixed, weights = j->model.weight_bytes;
    av_model_memory(&j->model, &per, &fixed);
    j->max_rows = INT64_MAX;
    if (o->max_memory > 0) {
        int64_t left = o->max_memory - weights - fixed;
        if (left < per * T)
            return av_fail("--max-memory %.2f GiB is too small: the weights take %.2f GiB and one item of %d tokens "
                           "needs %.2f GiB more", gib(o->max_memory), gib(weights), T, gib(fixed + per * T));
        j->max_rows = left / per;
    } else if (be->mem_info) {
        size_t free_b, total_b;
        if (be->mem_info(&free_b, &total_b)) return AV_ERR;
        int64_t left = (int64_t)((double)free_b * 0.9) - fixed;
        if (left < per * T)
            return av_fail("%s device: %.2f GiB free after loading the weights, one item of %d tokens needs %.2f GiB",
                           be->name, gib((int64_t)free_b), T, gib(fixed + per * T));
        j->max_rows = left / per;
    }
    return AV_OK;
}

/* The order items run in: text longest first (ties in dataset order), so batches carry
 * little padding; images as they come. Fixed for given items, which is what lets a
 * checkpoint say "the first N are done". */
static int run_order(job *j) {
    j->order = av_malloc(sizeof(int64_t) * (size_t)j->n_items);
    if (!j->order) return AV_ERR;
    for (int64_t i = 0; i < j->n_items; i++) j->order[i] = i;
    if (j->cfg->type != AV_MODEL_VIT) qsort_r(j->order, (size_t)j->n_items, sizeof *j->order, cmp_len_desc, j->len);
    return AV_OK;
}

static int run_text(job *j, const av_extract_opts *o, av_progress *p) {
    const int64_t *order = j->order;
    /* the plan: longest items first, each batch as wide as its first item */
    int64_t cap_rows = 0, cap_items = 0;
    for (int64_t s = j->items_done; s < j->n_items;) {
        int T = j->len[order[s]], nb = batch_items(j, o, T);
        if (nb > j->n_items - s) nb = (int)(j->n_items - s);
        if ((int64_t)nb * T > cap_rows) cap_rows = (int64_t)nb * T;
        if (nb > cap_items) cap_items = nb;
        s += nb;
    }
    int32_t *ids = av_malloc(sizeof(int32_t) * (size_t)cap_rows), *types = av_malloc(sizeof(int32_t) * (size_t)cap_rows);
    int32_t *lengths = av_malloc(sizeof(int32_t) * (size_t)cap_items);
    j->first = av_malloc(sizeof(int64_t) * (size_t)(cap_items + 1));
    int rc = ids && types && lengths && j->first ? AV_OK : AV_ERR;
    int32_t pad = av_tokenizer_pad(j->tok);
    if (pad < 0) pad = 0; /* any valid id: padded rows are masked and never stored */
    for (int64_t s = j->items_done; rc == AV_OK && s < j->n_items;) {
        int T = j->len[order[s]]; /* longest first */
        int nb = batch_items(j, o, T);
        if (nb > j->n_items - s) nb = (int)(j->n_items - s);
        for (int b = 0; b < nb; b++) {
            int64_t it = order[s + b];
            int n = j->len[it];
            lengths[b] = n;
            memcpy(ids + (int64_t)b * T, j->ids + j->off[it], sizeof(int32_t) * (size_t)n);
            memcpy(types + (int64_t)b * T, j->types + j->off[it], sizeof(int32_t) * (size_t)n);
            for (int t = n; t < T; t++) {
                ids[(int64_t)b * T + t] = pad;
                types[(int64_t)b * T + t] = 0;
            }
        }
        av_batch batch = {.B = nb, .T = T, .ids = ids, .types = j->cfg->type == AV_MODEL_BERT ? types : NULL,
                          .lengths = lengths};
        j->batch_items = order + s;
        rc = av_model_forward(&j->model, &batch, sink, j, NULL);
        int64_t toks = 0;
        for (int b = 0; b < nb; b++) toks += lengths[b];
        if (p) av_progress_add(p, toks);
        s += nb;
        if (rc == AV_OK) rc = after_batch(j, s);
    }
    free(ids);
    free(types);
    free(lengths);
    return rc;
}

/* Decodes and preprocesses one image into out [3, S, S]; the message (thread-local in
 * av_fail) is copied into err so the caller can report it from its own thread. */
static int load_image(const av_model_config *c, const char *path, float *out, char *err, size_t errn) {
    av_image img;
    int rc = av_image_load(path, &img);
    if (rc == AV_OK) {
        rc = av_vit_preprocess(c, img.rgb, img.width, img.height, out);
        av_image_free(&img);
        if (rc) {
            char msg[900];
            snprintf(msg, sizeof msg, "%s", av_last_error());
            av_fail("%s: %s", path, msg);
        }
    }
    if (rc) snprintf(err, errn, "%s", av_last_error());
    return rc;
}

static int run_images(job *j, const av_extract_opts *o, av_progress *p) {
    const av_model_config *c = j->cfg;
    int S = c->image_size, T = (int)c->max_positions, B = batch_items(j, o, T);
    size_t per = (size_t)3 * S * S;
    float *pixels = av_malloc(sizeof(float) * per * (size_t)B);
    int64_t *rows = av_malloc(sizeof(int64_t) * (size_t)B);
    int32_t *lengths = av_malloc(sizeof(int32_t) * (size_t)B);
    char (*errs)[1024] = av_calloc((size_t)B, sizeof *errs);
    j->first = av_malloc(sizeof(int64_t) * (size_t)(B + 1));
    int rc = pixels && rows && lengths && errs && j->first ? AV_OK : AV_ERR;
    for (int64_t s = j->items_done; rc == AV_OK && s < j->n_items; s += B) {
        int nb = (int)(j->n_items - s < B ? j->n_items - s : B), bad = -1;
        /* decoding and resizing are per image and independent: spread over the threads */
#pragma omp parallel for schedule(dynamic)
        for (int b = 0; b < nb; b++) {
            errs[b][0] = 0;
            load_image(c, j->ds.items[j->item_src[s + b]].text, pixels + per * b, errs[b], sizeof errs[b]);
            rows[b] = s + b;
            lengths[b] = T;
        }
        for (int b = nb - 1; b >= 0; b--)
            if (errs[b][0]) bad = b;
        if (bad >= 0) {
            rc = av_fail("%s", errs[bad]);
            break;
        }
        av_batch batch = {.B = nb, .T = T, .lengths = lengths, .pixels = pixels};
        j->batch_items = rows;
        rc = av_model_forward(&j->model, &batch, sink, j, NULL);
        if (p) av_progress_add(p, (int64_t)nb * T);
        if (rc == AV_OK) rc = after_batch(j, s + nb);
    }
    free(pixels);
    free(rows);
    free(lengths);
    free(errs);
    return rc;
}

static int write_manifest(job *j, const char *model_dir, const char *data, const av_backend *be) {
    const av_model_config *c = j->cfg;
    char real[PATH_MAX];
    cJSON *m = av_manifest_new(c->model_type, realpath(model_dir, real) ? real : model_dir, c->num_layers,
                               c->num_heads, c->head_dim, j->n_items, j->n_tokens, j->dtype);
    if (!m) return av_fail("manifest: out of memory");
    int64_t qs[4] = {c->num_layers, c->num_heads, j->n_tokens, c->head_dim};
    int64_t ks[4] = {c->num_layers, c->num_kv_heads, j->n_tokens, c->head_dim};
    cJSON_AddNumberToObject(m, "num_kv_heads", c->num_kv_heads);
    if (c->type == AV_MODEL_LLAMA) cJSON_AddStringToObject(m, "qk_rope", j->qk_rope == AV_QK_PRE_ROPE ? "pre" : "post");
    av_manifest_set_array(m, "q", "q.npy", j->dtype, 4, qs);
    av_manifest_set_array(m, "k", "k.npy", j->dtype, 4, ks);
    av_manifest_set_array(m, "v_norm", "v_norm.npy", j->dtype, 3, qs);
    av_manifest_set_array(m, "token_item", "token_item.npy", AV_DT_I32, 1, &j->n_tokens);
    av_manifest_set_array(m, "token_pos", "token_pos.npy", AV_DT_I32, 1, &j->n_tokens);
    cJSON_AddStringToObject(m, "tokens", "tokens.jsonl");
    cJSON_AddStringToObject(m, "items", "items.jsonl");
    cJSON_AddStringToObject(m, "data", realpath(data, real) ? real : data);
    cJSON_AddStringToObject(m, "device", be->name);
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

/* Puts the finished temporary folder in place of run_dir. */
static int publish(const char *tmp, const char *run_dir, int force) {
    if (av_file_exists(run_dir) || av_is_dir(run_dir)) {
        if (!force) return av_fail("%s: already exists (use --force to replace it)", run_dir);
        char old[4300];
        snprintf(old, sizeof old, "%s.old-%ld", run_dir, (long)getpid());
        if (rename(run_dir, old) != 0) return av_fail("%s: cannot replace (%s)", run_dir, strerror(errno));
        if (rename(tmp, run_dir) != 0) {
            int e = errno;
            rename(old, run_dir);
            return av_fail("%s: cannot rename %s into place (%s)", run_dir, tmp, strerror(e));
        }
        av_rm_rf(old);
        return AV_OK;
    }
    if (rename(tmp, run_dir) != 0) return av_fail("%s: cannot rename %s into place (%s)", run_dir, tmp, strerror(errno));
    return AV_OK;
}

int av_extract(const char *model_dir, const char *data, const char *run_arg, const av_extract_opts *o,
               av_extract_result *res) {
    double t0 = av_now();
    /* "out/" and "out" are the same run; the temporary folder must be its sibling */
    char run_dir[4096];
    snprintf(run_dir, sizeof run_dir, "%s", run_arg);
    for (size_t n = strlen(run_dir); n > 1 && run_dir[n - 1] == '/'; n--) run_dir[n - 1] = 0;
    if (!run_dir[0] || !strcmp(run_dir, "/") || !strcmp(run_dir, ".") || !strcmp(run_dir, ".."))
        return av_fail("%s: not a usable run folder name", run_arg);
    if (o->batch < 0) return av_fail("--batch must be positive (or 0: automatic)");
    if (o->max_memory < 0) return av_fail("--max-memory must be positive");
    if (o->sample_seed && !o->max_items) return av_fail("--sample-seed draws a sample of --max-items items: give --max-items too");
    if (o->dtype != AV_DT_F16 && o->dtype != AV_DT_F32) return av_fail("--dtype must be f16 or f32");
    if ((av_file_exists(run_dir) || av_is_dir(run_dir)) && !o->force)
        return av_fail("%s: already exists (use --force to replace it)", run_dir);
    av_device dev;
    /* quietly here (a bad input found below must stay a one-line error); the line saying
     * which device runs is printed once the inputs are known to be good */
    if (av_device_choose(o->device, 1, &dev)) return AV_ERR;
    const av_backend *be = dev == AV_DEVICE_CUDA ? av_backend_cuda() : av_backend_cpu();
    if (!be) return AV_ERR;

    job j;
    memset(&j, 0, sizeof j);
    j.q.fd = j.k.fd = j.vn.fd = j.lock_fd = -1;
    j.dtype = o->dtype;
    j.qk_rope = o->qk_rope;
    int rc = AV_ERR, tmp_made = 0;
    av_progress prog;
    if (av_model_load(model_dir, be, &j.model)) return AV_ERR;
    j.cfg = &j.model.cfg;
    const av_model_config *c = j.cfg;
    if (c->type != AV_MODEL_VIT && av_tokenizer_load(model_dir, c->model_type, &j.tok)) goto done;
    if (c->type == AV_MODEL_BERT && (av_tokenizer_cls(j.tok) < 0 || av_tokenizer_sep(j.tok) < 0)) {
        av_fail("%s: the vocabulary has no [CLS] or [SEP] token", model_dir);
        goto done;
    }
    av_dataset_opts dopts = {.max_items = o->max_items, .sample_seed = o->sample_seed, .strict = 1};
    if (av_dataset_load(data, &dopts, &j.ds)) goto done;
    j.have_ds = 1;
    if (j.ds.count == 0) {
        av_fail("%s: no items", data);
        goto done;
    }
    if ((c->type == AV_MODEL_VIT) != (j.ds.kind == AV_DATA_IMAGES)) {
        av_fail("%s: %s data, but %s is a %s model", data, j.ds.kind == AV_DATA_IMAGES ? "image" : "text",
                model_dir, c->model_type);
        goto done;
    }
    if ((c->type == AV_MODEL_VIT ? vit_items(&j, o) : tokenize_all(&j, o))) goto done;

    /* RUN.partial: resumed when its checkpoint was made with the same parameters */
    snprintf(j.tmp, sizeof j.tmp, "%s.partial", run_dir);
    int64_t LH = (int64_t)c->num_layers * c->num_heads;
    j.vsum = av_calloc((size_t)LH, sizeof(double));
    j.qsum = av_calloc((size_t)LH, sizeof(double));
    j.ksum = av_calloc((size_t)LH, sizeof(double));
    j.params = av_resume_params(model_dir, data, o, j.n_items, j.n_tokens, c->num_layers, c->num_heads, c->head_dim);
    if (!j.vsum || !j.qsum || !j.ksum || !j.params || run_order(&j)) goto done;
    int resume = 0;
    if (av_is_dir(j.tmp)) {
        if (lock_partial(&j)) goto done;
        av_resume_state st = {0, 0, j.qsum, j.ksum, j.vsum, LH};
        char why[160];
        resume = av_resume_load(j.tmp, j.params, &st, why, sizeof why);
        if (resume) {
            j.items_done = st.items_done;
            j.f16_overflow = st.f16_overflow;
            j.keep_partial = 1;   /* a valid checkpoint stays valid whatever happens next */
        } else {
            if (!o->quiet && why[0]) fprintf(stderr, "attnviz extract: starting %s afresh: %s\n", j.tmp, why);
            memset(j.vsum, 0, sizeof(double) * (size_t)LH);
            memset(j.qsum, 0, sizeof(double) * (size_t)LH);
            memset(j.ksum, 0, sizeof(double) * (size_t)LH);
            close(j.lock_fd);
            j.lock_fd = -1;
            av_rm_rf(j.tmp);
        }
    }
    if (!resume && (av_mkdir_p(j.tmp) || lock_partial(&j))) goto done;
    tmp_made = 1;
    int64_t shape[4] = {c->num_layers, c->num_heads, j.n_tokens, c->head_dim};
    int64_t kshape[4] = {c->num_layers, c->num_kv_heads, j.n_tokens, c->head_dim};
    if (out_open(&j.q, j.tmp, "q.npy", j.dtype, 4, shape, resume) || out_open(&j.k, j.tmp, "k.npy", j.dtype, 4, kshape, resume) ||
        out_open(&j.vn, j.tmp, "v_norm.npy", j.dtype, 3, shape, resume))
        goto done;
    if (write_token_files(&j)) goto done;
    int longest = 1;
    for (int64_t i = 0; i < j.n_items; i++)
        if (j.len[i] > longest) longest = j.len[i];
    av_model_set_qk_rope(&j.model, j.qk_rope);
    if (av_model_set_pack(&j.model, j.dtype) || plan_memory(&j, o, longest)) goto done;

    if (!o->quiet) {
        av_device_choose(o->device, 0, &dev);
        if (be->mem_info || o->max_memory > 0) {
            int nb = batch_items(&j, o, longest);
            fprintf(stderr, "attnviz extract: batches of up to %d items (%lld tokens at the longest item's %d)%s\n", nb,
                    (long long)nb * longest, longest, o->batch > 0 ? "" : ", sized to the memory");
        }
        av_progress_start(&prog, "extract", "tokens", j.n_tokens);
        if (j.items_done) {
            int64_t toks = 0;
            for (int64_t i = 0; i < j.items_done; i++) toks += j.len[j.order[i]];
            av_progress_resume(&prog, toks);
            fprintf(stderr, "attnviz extract: resuming %s: %lld of %lld items were done\n", j.tmp,
                    (long long)j.items_done, (long long)j.n_items);
        }
    }
    /* Ctrl-C, TERM or HUP stops after the current batch with a checkpoint; a second one
     * stops at once (the handler steps aside after the first). An ignored signal stays
     * ignored: a shell keeps Ctrl-C from its background jobs on purpose. */
    const int sigs[3] = {SIGINT, SIGTERM, SIGHUP};
    struct sigaction stop = {0}, old_sa[3];
    stop.sa_handler = on_stop_signal;
    stop.sa_flags = SA_RESETHAND;
    sigemptyset(&stop.sa_mask);
    stop_requested = 0;
    for (int i = 0; i < 3; i++) {
        sigaction(sigs[i], NULL, &old_sa[i]);
        if (old_sa[i].sa_handler != SIG_IGN) sigaction(sigs[i], &stop, NULL);
    }
    j.last_checkpoint = av_now();
    double t_run = av_now();
    const int64_t items_before = j.items_done;
    rc = c->type == AV_MODEL_VIT ? run_images(&j, o, o->quiet ? NULL : &prog) : run_text(&j, o, o->quiet ? NULL : &prog);
    for (int i = 0; i < 3; i++) sigaction(sigs[i], &old_sa[i], NULL);
    t_run = av_now() - t_run;
    if (rc && !j.keep_partial && j.items_done > 0) {
        /* hours of work are not thrown away for one failure: keep what is complete */
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", av_last_error());
        if (checkpoint(&j) == AV_OK) {
            j.keep_partial = 1;
            av_fail("%s (%lld of %lld items are done and kept in %s; the same command resumes)", msg,
                    (long long)j.items_done, (long long)j.n_items, j.tmp);
        } else av_fail("%s", msg);
    }
    if (rc) goto done;
    rc = AV_ERR;
    if (!o->quiet) {
        char note[160];
        snprintf(note, sizeof note, "%lld items on %s", (long long)j.n_items, be->name);
        if (items_before)
            snprintf(note + strlen(note), sizeof note - strlen(note), " (%lld of them in this run)",
                     (long long)(j.n_items - items_before));
        if (j.truncated)
            snprintf(note + strlen(note), sizeof note - strlen(note), ", %lld truncated to %d tokens",
                     (long long)j.truncated, c->max_positions);
        av_progress_done(&prog, note);
    }
    double t_flush = av_now();
    if (out_close(&j.q, 1) || out_close(&j.k, 1) || out_close(&j.vn, 1)) goto done;
    t_flush = av_now() - t_flush;
    if (write_manifest(&j, model_dir, data, be)) goto done;
    char aux[4300];   /* the run is complete: its checkpoint and lock are not part of it */
    unlink(av_path_join(aux, sizeof aux, j.tmp, "resume.json"));
    unlink(av_path_join(aux, sizeof aux, j.tmp, ".lock"));
    if (publish(j.tmp, run_dir, o->force)) goto done;
    tmp_made = 0;
    rc = AV_OK;
    if (res) {
        res->items = j.n_items;
        res->tokens = j.n_tokens;
        res->truncated = j.truncated;
        res->dropped = j.dropped;
        res->f16_overflow = j.f16_overflow;
        res->seconds = av_now() - t0;
        res->seconds_batches = t_run;
        res->seconds_store = j.write_seconds;
        res->seconds_flush = t_flush;
        snprintf(res->device, sizeof res->device, "%s", be->name);
    }
done:
    out_close(&j.q, 0);
    out_close(&j.k, 0);
    out_close(&j.vn, 0);
    if (tmp_made && !j.keep_partial) {
        char keep[1024];
        snprintf(keep, sizeof keep, "%s", av_last_error());
        av_rm_rf(j.tmp);
        av_fail("%s", keep);
    }
    if (j.lock_fd >= 0) close(j.lock_fd);
    cJSON_Delete(j.params);
    free(j.order);
    free(j.vsum);
    free(j.qsum);
    free(j.ksum);
    free(j.first);
    free(j.item_src);
    free(j.len);
    free(j.off);
    free(j.ids);
    free(j.types);
    if (j.have_ds) av_dataset_free(&j.ds);
    if (j.tok) av_tokenizer_free(j.tok);
    av_model_free(&j.model);
    return rc;
}
