/* bench_llm_driver.c - the attnviz side of bench/bench_llm_cpu.sh: what `attnviz extract`
 * does with a model once the text is tokenized, on token ids given as .npy files, so
 * the decoder LLMs can be timed (and their memory measured) whatever tokenizer files a
 * synthetic checkpoint has.
 *
 *   bench_llm_driver MODEL_DIR IDS.npy LENGTHS.npy BATCH [FIRST_BATCH_ONLY [DUMP_DIR]]
 *
 * IDS.npy: int32 [total] the items' token ids one after another; LENGTHS.npy: int32
 * [items]. Items run longest first in batches of BATCH (extract's order), the q/k of
 * every layer packed to f16 on the backend (av_model_set_pack) and copied into [L, H, T, d]
 * / [L, Hkv, T, d] arrays and |v| into [L, H, T] as extract's sink does. Prints one JSON
 * line: tokens, seconds (forward + storing), cpu_seconds (user + system of the process
 * over the same span), load_seconds, peak_rss_mb (VmHWM over the whole run),
 * weights_mb (av_model's weight_bytes), scratch_mb (one layer in f32). With a non-zero
 * FIRST_BATCH_ONLY only the first batch runs (the memory measurement). With DUMP_DIR the
 * q/k are kept in f32 and written there as q.npy / k.npy (parity checks). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include "base/npy.h"
#include "base/util.h"
#include "models/model.h"

typedef struct {
    int64_t n;                       /* tokens of the whole run */
    int64_t *off;                    /* first token of each item */
    const int64_t *batch_items;
    size_t es;                       /* bytes per stored value: 2 (f16) or 4 (f32, dumps) */
    uint8_t *q, *k;
    float *vn;
} store;

static int sink(void *user, const av_layer_out *o) {
    store *s = user;
    const int H = o->H, Hkv = o->Hkv, d = o->d, l = o->layer;
#pragma omp parallel for schedule(dynamic)
    for (int h = 0; h < H; h++) {
        int64_t first = 0;
        for (int b = 0; b < o->B; b++) {
            int64_t it = s->batch_items[b], len = o->lengths[b];
            int64_t src = (int64_t)h * o->n + first, dst = ((int64_t)l * H + h) * s->n + s->off[it];
            memcpy(s->q + dst * d * s->es, (const uint8_t *)o->qp + src * d * s->es, s->es * (size_t)(len * d));
            if (h < Hkv)
                memcpy(s->k + (((int64_t)l * Hkv + h) * s->n + s->off[it]) * d * s->es,
                       (const uint8_t *)o->kp + src * d * s->es, s->es * (size_t)(len * d));
            memcpy(s->vn + dst, o->vnp + src, sizeof(float) * (size_t)len);
            first += len;
        }
    }
    return 0;
}

static double cpu_seconds(void) {
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)u.ru_utime.tv_sec + u.ru_utime.tv_usec * 1e-6 + (double)u.ru_stime.tv_sec + u.ru_stime.tv_usec * 1e-6;
}

static double vm_hwm_mb(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    double v = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmHWM:", 6)) v = atof(line + 6) / 1024.0;
    if (f) fclose(f);
    return v;
}

static const int32_t *lens_g;
static int by_len_desc(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    if (lens_g[x] != lens_g[y]) return lens_g[x] > lens_g[y] ? -1 : 1;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: bench_llm_driver MODEL_DIR IDS.npy LENGTHS.npy BATCH [FIRST_BATCH_ONLY]\n");
        return 2;
    }
    int batch = atoi(argv[4]), first_only = argc > 5 && atoi(argv[5]);
    const char *dump = argc > 6 ? argv[6] : NULL;
    av_dtype dt = dump ? AV_DT_F32 : AV_DT_F16;
    av_npy ids, lens;
    if (av_npy_open(argv[2], &ids) || av_npy_open(argv[3], &lens)) {
        fprintf(stderr, "%s\n", av_last_error());
        return 2;
    }
    const int32_t *len = lens.data, *all = ids.data;
    int64_t N = lens.count, total = 0;
    int64_t *off = malloc(sizeof(int64_t) * (size_t)N), *order = malloc(sizeof(int64_t) * (size_t)N);
    for (int64_t i = 0; i < N; i++) {
        off[i] = total;
        total += len[i];
        order[i] = i;
    }
    lens_g = len;
    qsort(order, (size_t)N, sizeof *order, by_len_desc);
    double t0 = av_now();
    av_model m;
    if (av_model_load(argv[1], av_backend_cpu(), &m) || av_model_set_pack(&m, dt)) {
        fprintf(stderr, "%s\n", av_last_error());
        return 2;
    }
    double load = av_now() - t0;
    const av_model_config *c = &m.cfg;
    size_t es = av_dtype_size(dt);
    store s = {total, off, NULL, es, malloc(es * (size_t)(c->num_layers * c->num_heads * total * c->head_dim)),
               malloc(es * (size_t)(c->num_layers * c->num_kv_heads * total * c->head_dim)),
               malloc(4 * (size_t)(c->num_layers * c->num_heads * total))};
    int Tmax = len[order[0]];
    int32_t *bids = malloc(sizeof(int32_t) * (size_t)batch * Tmax), *blen = malloc(sizeof(int32_t) * (size_t)batch);
    if (!s.q || !s.k || !s.vn || !bids || !blen) {
        fprintf(stderr, "out of memory\n");
        return 2;
    }
    int64_t tokens = 0;
    double t1 = av_now(), c1 = cpu_seconds();
    for (int64_t at = 0; at < N; at += batch) {
        int nb = (int)(N - at < batch ? N - at : batch), T = len[order[at]];
        for (int b = 0; b < nb; b++) {
            int64_t it = order[at + b];
            blen[b] = len[it];
            memcpy(bids + (int64_t)b * T, all + off[it], sizeof(int32_t) * (size_t)len[it]);
            for (int t = len[it]; t < T; t++) bids[(int64_t)b * T + t] = 0;
            tokens += len[it];
        }
        av_batch bt = {.B = nb, .T = T, .ids = bids, .lengths = blen};
        s.batch_items = order + at;
        if (av_model_forward(&m, &bt, sink, &s, NULL)) {
            fprintf(stderr, "%s\n", av_last_error());
            return 1;
        }
        if (first_only) break;
    }
    double secs = av_now() - t1, cpus = cpu_seconds() - c1;
    printf("{\"tokens\": %lld, \"seconds\": %.4f, \"cpu_seconds\": %.4f, \"load_seconds\": %.4f, \"peak_rss_mb\": %.1f, "
           "\"weights_mb\": %.1f, \"scratch_mb\": %.1f}\n",
           (long long)tokens, secs, cpus, load, vm_hwm_mb(), m.weight_bytes / 1048576.0,
           m.scratch_floats * 4 / 1048576.0);
    if (dump) {
        char path[4096];
        int64_t qs[4] = {c->num_layers, c->num_heads, total, c->head_dim}, ks[4] = {c->num_layers, c->num_kv_heads, total, c->head_dim};
        if (av_npy_write(av_path_join(path, sizeof path, dump, "q.npy"), AV_DT_F32, 4, qs, s.q) ||
            av_npy_write(av_path_join(path, sizeof path, dump, "k.npy"), AV_DT_F32, 4, ks, s.k)) {
            fprintf(stderr, "%s\n", av_last_error());
            return 1;
        }
    }
    av_model_free(&m);
    return 0;
}
