/* extract_items.c - what an extraction runs over (extract_job.h): every item's tokens
 * (text: tokenized, truncated to the model's positions, capped by --max-tokens; images:
 * a fixed number of patches), the order items run in, and how many fit one batch. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/util.h"
#include "engine/extract_job.h"


/* Tokenizes every item; fills len/off/ids/types, applies truncation and --max-tokens. */
static int tokenize_all(av_extract_job *j) {
    const av_extract_opts *o = &j->o;
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

static int vit_items(av_extract_job *j) {
    const av_extract_opts *o = &j->o;
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

int av_extract_batch_items(const av_extract_job *j, int T) {
    const av_extract_opts *o = &j->o;
    int64_t nb = o->batch > 0 ? o->batch : j->model.be->mem_info ? AUTO_GPU_ROWS / T : AUTO_CPU_ITEMS;
    if (nb > j->max_rows / T) nb = j->max_rows / T;
    return (int)(nb < 1 ? 1 : nb > MAX_BATCH_ITEMS ? MAX_BATCH_ITEMS : nb);
}

static double gib(int64_t bytes) { return (double)bytes / (1024.0 * 1024 * 1024); }

/* --max-memory counts the weights; a device's free memory is measured after the weights
 * were loaded, and 90% of it taken (the rest is the driver's and other programs'). */
int av_extract_plan_memory(av_extract_job *j) {
    const av_extract_opts *o = &j->o;
    const int T = j->longest;
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
static int run_order(av_extract_job *j) {
    j->order = av_malloc(sizeof(int64_t) * (size_t)j->n_items);
    if (!j->order) return AV_ERR;
    for (int64_t i = 0; i < j->n_items; i++) j->order[i] = i;
    if (j->cfg->type != AV_MODEL_VIT) qsort_r(j->order, (size_t)j->n_items, sizeof *j->order, cmp_len_desc, j->len);
    return AV_OK;
}

/* Items in the batch that starts at s (of the run order), as the batch loops cut them. */
static int64_t batch_at(const av_extract_job *j, int64_t s) {
    int T = j->cfg->type == AV_MODEL_VIT ? (int)j->cfg->max_positions : j->len[j->order[s]];
    int64_t nb = av_extract_batch_items(j, T);
    return nb < j->n_items - s ? nb : j->n_items - s;
}

void av_extract_share(av_extract_job *j) {
    int64_t size = av_dist_size(), rank = av_dist_rank();
    j->lo = 0;
    j->hi = j->n_items;
    if (size < 2) return;
    /* rank r starts at the first batch that begins at or after r/size of the tokens */
    j->lo = j->hi = j->n_items;
    int64_t acc = 0;
    for (int64_t s = 0; s < j->n_items;) {
        if (j->lo == j->n_items && acc * size >= rank * j->n_tokens) j->lo = s;
        if (rank + 1 < size && j->hi == j->n_items && acc * size >= (rank + 1) * j->n_tokens) j->hi = s;
        int64_t nb = batch_at(j, s);
        for (int64_t b = 0; b < nb; b++) acc += j->len[j->order[s + b]];
        s += nb;
    }
    if (j->hi < j->lo) j->hi = j->lo;
}

int av_extract_items(av_extract_job *j) {
    if ((j->cfg->type == AV_MODEL_VIT ? vit_items(j) : tokenize_all(j)) || run_order(j)) return AV_ERR;
    j->longest = 1;
    for (int64_t i = 0; i < j->n_items; i++)
        if (j->len[i] > j->longest) j->longest = j->len[i];
    return AV_OK;
}
