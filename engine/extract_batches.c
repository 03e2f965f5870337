/* extract_batches.c - the batch loop of an extraction (extract_job.h): items in run
 * order through the model's forward pass, each layer's q, k and |v| stored by the sink
 * into the mapped arrays, a checkpoint every 30 s, and a stop after the batch in which
 * the caller asked for one. */
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "base/dtype.h"
#include "base/util.h"
#include "datasets/image.h"
#include "engine/extract_job.h"
#include "models/image_preprocess.h"

enum { CHECKPOINT_SECONDS = 30 };

/* After each batch (s: the run order's next item): a checkpoint when one is due; when the
 * caller asked to stop, a last one and a stop that leaves the partial folder for the next
 * run; under MPI, a stop when another process failed. */
static int after_batch(av_extract_job *j, int64_t s) {
    j->items_done = s - j->lo;
    const int64_t share = j->hi - j->lo;
    if (av_stop_requested(j->o.ctx)) {
        if (av_extract_checkpoint(j)) return AV_ERR;
        j->keep_partial = 1;
        return av_fail("interrupted after %lld of %lld items; the same command resumes from %s",
                       (long long)j->items_done, (long long)share, j->tmp);
    }
    if (j->multi && av_dist_counter_failed(j->counter)) j->halted = 1;
    if (av_now() - j->last_checkpoint >= CHECKPOINT_SECONDS && j->items_done < share) return av_extract_checkpoint(j);
    return AV_OK;
}

/* Tokens done: under MPI rank 0 shows the whole job's, counted by every process. */
static void progressed(av_extract_job *j, av_progress *p, int64_t toks) {
    if (!j->multi) {
        av_progress_add(p, toks);
        return;
    }
    int64_t job = av_dist_counter_done(j->counter, toks);
    if (av_dist_rank() == 0 && job > p->done) av_progress_add(p, job - p->done);
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
/* n bytes at byte offset off of an output array's body: into the mapping, or through
 * MPI-IO in a job of several processes. */
static int put(av_extract_array *a, size_t off, const void *src, size_t n) {
    if (a->map) {
        memcpy(a->map + a->hdr + off, src, n);
        return AV_OK;
    }
    return av_dist_file_write_at(a->file, (int64_t)(a->hdr + off), src, n);
}

/* A batch's sum of norms on a grid of 2^-16: sums of such values are exact in a double
 * (below 2^37), so the run's totals do not depend on the order batches are added in, and
 * a job of several processes, whose totals add up each process's share, writes the same
 * manifest as one process (the mean moves by under 1e-5 / tokens). */
static double on_grid(double x) { return ldexp(nearbyint(ldexp(x, 16)), -16); }

static int sink(void *user, const av_layer_out *o) {
    av_extract_job *j = user;
    double t0 = av_now();
    const int H = o->H, Hkv = o->Hkv, d = o->d, l = o->layer;
    const int64_t n = j->n_tokens;
    const size_t es = av_dtype_size(j->o.dtype);
    int64_t over = 0;
    int failed = 0;
    char err[1024] = "";
    j->first[0] = 0;
    for (int b = 0; b < o->B; b++) j->first[b + 1] = j->first[b] + o->lengths[b];
#pragma omp parallel for schedule(dynamic) reduction(+ : over)
    for (int h = 0; h < H; h++) {
        uint16_t *v16 = j->o.dtype == AV_DT_F32 ? NULL : malloc(sizeof *v16 * (size_t)j->longest);
        int rc = j->o.dtype == AV_DT_F32 || v16 ? AV_OK : av_fail("out of memory");
        for (int b = 0; b < o->B && rc == AV_OK; b++) {
            int64_t it = j->batch_items[b], len = j->len[it];
            int64_t dst = ((int64_t)l * H + h) * n + j->off[it];    /* token row in [L, H, T, .] */
            int64_t kdst = ((int64_t)l * Hkv + h) * n + j->off[it]; /* token row in [L, Hkv, T, .] */
            int64_t src = (int64_t)h * o->n + j->first[b];          /* token row in [H, n, .] */
            const uint8_t *qs = (const uint8_t *)o->qp + (size_t)(src * d) * es;
            const uint8_t *ks = (const uint8_t *)o->kp + (size_t)(src * d) * es;
            const float *vs = o->vnp + src;
            if (j->o.dtype != AV_DT_F32) {
                for (int64_t t = 0; t < len; t++) {
                    v16[t] = av_f32_to_f16(vs[t]);
                    over += (v16[t] & 0x7fff) == 0x7c00;
                }
                over += count_f16_inf((const uint16_t *)(const void *)qs, len * d);
                if (h < Hkv) over += count_f16_inf((const uint16_t *)(const void *)ks, len * d);
            }
            if (put(&j->q, (size_t)(dst * d) * es, qs, (size_t)(len * d) * es) ||
                (h < Hkv && put(&j->k, (size_t)(kdst * d) * es, ks, (size_t)(len * d) * es)) ||
                put(&j->vn, (size_t)dst * es, v16 ? (const void *)v16 : (const void *)vs, (size_t)len * es))
                rc = AV_ERR;
        }
        free(v16);
        if (rc != AV_OK) {
#pragma omp critical(av_extract_sink)
            if (!failed) {
                failed = 1;
                snprintf(err, sizeof err, "%s", av_last_error());
            }
        }
        j->qsum[(int64_t)l * H + h] += on_grid(o->sums[h]);
        j->ksum[(int64_t)l * H + h] += on_grid(o->sums[H + h]);
        j->vsum[(int64_t)l * H + h] += on_grid(o->sums[2 * H + h]);
    }
    j->f16_overflow += over;
    j->write_seconds += av_now() - t0;
    return failed ? av_fail("%s", err) : AV_OK;
}

static int run_text(av_extract_job *j, av_progress *p) {
    const int64_t *order = j->order;
    /* the plan: longest items first, each batch as wide as its first item */
    int64_t cap_rows = 0, cap_items = 0;
    for (int64_t s = j->lo + j->items_done; s < j->hi;) {
        int T = j->len[order[s]], nb = av_extract_batch_items(j, T);
        if (nb > j->hi - s) nb = (int)(j->hi - s);
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
    for (int64_t s = j->lo + j->items_done; rc == AV_OK && !j->halted && s < j->hi;) {
        int T = j->len[order[s]]; /* longest first */
        int nb = av_extract_batch_items(j, T);
        if (nb > j->hi - s) nb = (int)(j->hi - s);
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
        progressed(j, p, toks);
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

static int run_images(av_extract_job *j, av_progress *p) {
    const av_model_config *c = j->cfg;
    int S = c->image_size, T = (int)c->max_positions, B = av_extract_batch_items(j, T);
    size_t per = (size_t)3 * S * S;
    float *pixels = av_malloc(sizeof(float) * per * (size_t)B);
    int64_t *rows = av_malloc(sizeof(int64_t) * (size_t)B);
    int32_t *lengths = av_malloc(sizeof(int32_t) * (size_t)B);
    char (*errs)[1024] = av_calloc((size_t)B, sizeof *errs);
    j->first = av_malloc(sizeof(int64_t) * (size_t)(B + 1));
    int rc = pixels && rows && lengths && errs && j->first ? AV_OK : AV_ERR;
    for (int64_t s = j->lo + j->items_done; rc == AV_OK && !j->halted && s < j->hi; s += B) {
        int nb = (int)(j->hi - s < B ? j->hi - s : B), bad = -1;
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
        progressed(j, p, (int64_t)nb * T);
        if (rc == AV_OK) rc = after_batch(j, s + nb);
    }
    free(pixels);
    free(rows);
    free(lengths);
    free(errs);
    return rc;
}

int av_extract_batches(av_extract_job *j, av_progress *p) {
    return j->cfg->type == AV_MODEL_VIT ? run_images(j, p) : run_text(j, p);
}
