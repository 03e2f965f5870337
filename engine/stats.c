/* stats.c - computing the per-head statistics of stats.h: one pass per head over the
 * run's items, attention recomputed per item from the stored q/k. Heads are handed out
 * one at a time to the OpenMP threads and, under MPI, to every process of the job
 * (engine/dist.h), whose results are then made whole on every process. */
#include "engine/stats.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "base/util.h"
#include "kernels/backend/determinism.h"
#include "engine/dist.h"
#include "kernels/ops.h"

/* Item boundaries: tokens of one item are contiguous and items appear in order. */
typedef struct { int64_t count; int64_t *start; int max_len; } items_t;

static int find_items(const av_run *r, items_t *it) {
    const int32_t *ti = r->token_item.data;
    int64_t T = r->num_tokens, n = 0;
    it->start = av_malloc((size_t)(T + 1) * sizeof(int64_t));
    if (!it->start) return AV_ERR_NOMEM;
    int64_t maxlen = 0;
    for (int64_t t = 0; t < T; t++) {
        if (ti[t] < 0 || ti[t] >= r->num_items) {
            free(it->start);
            return av_fail("%s/token_item.npy: token %lld has item %d, outside [0, %lld)", r->dir,
                           (long long)t, ti[t], (long long)r->num_items);
        }
        if (t > 0 && ti[t] < ti[t - 1]) {
            free(it->start);
            return av_fail("%s/token_item.npy: tokens are not grouped by item (token %lld goes back from item %d to %d)",
                           r->dir, (long long)t, ti[t - 1], ti[t]);
        }
        if (t == 0 || ti[t] != ti[t - 1]) {
            if (n > 0 && t - it->start[n - 1] > maxlen) maxlen = t - it->start[n - 1];
            it->start[n++] = t;
        }
    }
    if (n > 0 && T - it->start[n - 1] > maxlen) maxlen = T - it->start[n - 1];
    it->start[n] = T;
    it->count = n;
    if (maxlen > 65536) { free(it->start); return av_fail("%s: an item has %lld tokens (at most 65536)", r->dir, (long long)maxlen); }
    it->max_len = (int)maxlen;
    return AV_OK;
}

/* Patch grid position of every token (ViT), -1 for the class token: tokens.jsonl's
 * "row"/"col" where present, else derived from token_pos on a square grid after the
 * class token. */
static int patch_grid(const av_run *r, const items_t *it, int32_t *row, int32_t *col) {
    char path[4096];
    av_run_path(r, path, sizeof path, "tokens.jsonl");
    int64_t T = r->num_tokens;
    for (int64_t t = 0; t < T; t++) row[t] = col[t] = -1;
    if (av_file_exists(path)) {
        size_t n;
        char *buf = av_read_file(path, &n);
        if (!buf) return AV_ERR;
        int64_t t = 0, lineno = 0, have = 0;
        for (char *line = buf; *line && t < T;) {
            char *nl = strchr(line, '\n');
            if (nl) *nl = 0;
            lineno++;
            if (*line) {
                cJSON *j = cJSON_Parse(line);
                if (!cJSON_IsObject(j)) { cJSON_Delete(j); free(buf); return av_fail("%s:%lld: not a JSON object", path, (long long)lineno); }
                const cJSON *jr = cJSON_GetObjectItemCaseSensitive(j, "row"), *jc = cJSON_GetObjectItemCaseSensitive(j, "col");
                if (cJSON_IsNumber(jr) && cJSON_IsNumber(jc)) { row[t] = jr->valueint; col[t] = jc->valueint; have++; }
                cJSON_Delete(j);
                t++;
            }
            if (!nl) break;
            line = nl + 1;
        }
        free(buf);
        if (have > 0) return AV_OK;
    }
    const int32_t *pos = r->token_pos.data;
    for (int64_t i = 0; i < it->count; i++) {
        int64_t n = it->start[i + 1] - it->start[i];
        int g = (int)lround(sqrt((double)(n - 1)));
        if (n < 2 || (int64_t)g * g != n - 1)
            return av_fail("%s: ViT item %lld has %lld tokens: not a class token plus a square patch grid, and tokens.jsonl has no row/col",
                           r->dir, (long long)i, (long long)n);
        for (int64_t t = it->start[i]; t < it->start[i + 1]; t++)
            if (pos[t] >= 1) { row[t] = (pos[t] - 1) / g; col[t] = (pos[t] - 1) % g; }
    }
    return AV_OK;
}

typedef struct { double v; int i; } keyed;
static int cmp_keyed(const void *a, const void *b) {
    double x = ((const keyed *)a)->v, y = ((const keyed *)b)->v;
    return (x > y) - (x < y);
}

/* Average ranks (1-based) of v[0..n) into rank; tmp has room for n. */
static void ranks(const double *v, int n, keyed *tmp, double *rank) {
    for (int i = 0; i < n; i++) tmp[i] = (keyed){v[i], i};
    qsort(tmp, (size_t)n, sizeof(keyed), cmp_keyed);
    for (int a = 0; a < n;) {
        int b = a + 1;
        while (b < n && tmp[b].v == tmp[a].v) b++;
        double avg = 0.5 * (a + 1 + b);   /* mean of ranks a+1 .. b */
        for (int c = a; c < b; c++) rank[tmp[c].i] = avg;
        a = b;
    }
}

/* Pearson correlation of two rank vectors; NAN when either is constant. */
static double pearson(const double *x, const double *y, int n) {
    double mx = 0, my = 0;
    for (int i = 0; i < n; i++) { mx += x[i]; my += y[i]; }
    mx /= n; my /= n;
    double sxy = 0, sxx = 0, syy = 0;
    for (int i = 0; i < n; i++) {
        sxy += (x[i] - mx) * (y[i] - my);
        sxx += (x[i] - mx) * (x[i] - mx);
        syy += (y[i] - my) * (y[i] - my);
    }
    if (!(sxx > 0) || !(syy > 0)) return NAN;
    return sxy / sqrt(sxx * syy);
}

typedef struct {
    double *P, *dots, *dist, *rd, *rs;
    keyed *tmp;
    float *q, *k, *kt;
} scratch;

static int count_nonfinite(const float *x, int64_t n) {
    int64_t c = 0;
    for (int64_t i = 0; i < n; i++) c += !isfinite(x[i]);
    return c > 0x7fffffff ? 0x7fffffff : (int)c;
}

/* One head. Returns 0, or the count of non-finite values found in q (bad_q) / k. */
static int head_stats(const av_run *r, const items_t *it, const int32_t *row, const int32_t *col,
                      const av_npy *vnorm, int causal, int layer, int head, scratch *s,
                      av_head_stats *out, int *bad_q, int *bad_k) {
    int64_t T = r->num_tokens;
    int d = r->head_dim;
    av_run_head_q(r, layer, head, s->q);
    av_run_head_k(r, layer, head, s->k);
    *bad_q = count_nonfinite(s->q, T * d);
    *bad_k = count_nonfinite(s->k, T * d);
    if (*bad_q || *bad_k) return 1;
    memset(out, 0, sizeof *out);
    out->layer = layer;
    out->head = head;

    /* norms, same-token cosine, means */
    double qn = 0, kn = 0, cs = 0;
    int64_t ncos = 0;
    double *mean_q = calloc((size_t)d, sizeof(double)), *mean_k = calloc((size_t)d, sizeof(double));
    if (!mean_q || !mean_k) { free(mean_q); free(mean_k); return -1; }
    for (int64_t t = 0; t < T; t++) {
        const float *q = s->q + t * d, *k = s->k + t * d;
        double a = 0, b = 0, c = 0;
        for (int j = 0; j < d; j++) {
            a += (double)q[j] * q[j]; b += (double)k[j] * k[j]; c += (double)q[j] * k[j];
            mean_q[j] += q[j]; mean_k[j] += k[j];
        }
        qn += sqrt(a); kn += sqrt(b);
        if (a > 0 && b > 0) { cs += c / sqrt(a * b); ncos++; }
    }
    for (int j = 0; j < d; j++) { mean_q[j] /= T; mean_k[j] /= T; }
    out->q_norm = qn / T;
    out->k_norm = kn / T;
    out->qk_norm_ratio = out->k_norm > 0 ? out->q_norm / out->k_norm : NAN;
    out->qk_cos = ncos ? cs / ncos : NAN;

    /* linear CKA of the centred clouds: the d x d cross products by sgemm */
    float *Qc = s->kt;   /* T x d, reused below for the translated keys */
    float *Kc = s->k;    /* centred in place; k' = Kc + mean(Q) */
    for (int64_t t = 0; t < T; t++)
        for (int j = 0; j < d; j++) {
            Qc[t * d + j] = (float)(s->q[t * d + j] - mean_q[j]);
            Kc[t * d + j] = (float)(s->k[t * d + j] - mean_k[j]);
        }
    float *G = malloc((size_t)3 * d * d * sizeof(float));
    if (!G) { free(mean_q); free(mean_k); return -1; }
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, d, (int)T, 1.0f, Qc, d, Kc, d, 0.0f, G, d);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, d, (int)T, 1.0f, Qc, d, Qc, d, 0.0f, G + d * d, d);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, d, (int)T, 1.0f, Kc, d, Kc, d, 0.0f, G + 2 * d * d, d);
    double fqk = 0, fqq = 0, fkk = 0;
    for (int i = 0; i < d * d; i++) {
        fqk += (double)G[i] * G[i];
        fqq += (double)G[d * d + i] * G[d * d + i];
        fkk += (double)G[2 * d * d + i] * G[2 * d * d + i];
    }
    free(G);
    out->qk_cka = fqq > 0 && fkk > 0 ? fqk / sqrt(fqq * fkk) : NAN;

    /* translated keys k' = k - mean(K) + mean(Q); reload raw k for the logits */
    for (int64_t t = 0; t < T; t++)
        for (int j = 0; j < d; j++) s->kt[t * d + j] = (float)(Kc[t * d + j] + mean_q[j]);
    av_run_head_k(r, layer, head, s->k);
    free(mean_q);
    free(mean_k);

    double first = 0, self = 0, prev = 0, dist = 0, ent = 0, corr = 0, pdist = 0;
    int64_t nprev = 0, ncorr = 0, npatch = 0;
    for (int64_t item = 0; item < it->count; item++) {
        int64_t s0 = it->start[item];
        int n = (int)(it->start[item + 1] - s0);
        const float *q = s->q + s0 * d, *k = s->k + s0 * d, *kt = s->kt + s0 * d;
        for (int i = 0; i < n; i++) {
            int m = causal ? i + 1 : n;   /* keys 0 .. m-1 */
            double *p = s->P;
            av_attention_probs_row(p, s->dots, q + i * d, k, m, d);
            for (int j = 0; j < m; j++) {
                double dd = 0;
                for (int c = 0; c < d; c++) {
                    double t = (double)q[i * d + c] - kt[j * d + c];
                    dd += t * t;
                }
                s->dist[j] = sqrt(dd);
            }
            double h = 0, ad = 0;
            for (int j = 0; j < m; j++) {
                if (p[j] > 0) h -= p[j] * log(p[j]);
                ad += p[j] * abs(i - j);
            }
            first += p[0];
            self += p[i];
            if (i > 0) { prev += p[i - 1]; nprev++; }
            dist += ad;
            ent += h;
            if (m >= 3) {
                ranks(s->dots, m, s->tmp, s->rd);
                ranks(s->dist, m, s->tmp, s->rs);
                double rho = pearson(s->rd, s->rs, m);
                if (!isnan(rho)) { corr += rho; ncorr++; }
            }
            if (row && row[s0 + i] >= 0) {
                double num = 0, den = 0;
                for (int j = 0; j < m; j++) {
                    if (row[s0 + j] < 0) continue;
                    double dr = row[s0 + i] - row[s0 + j], dc = col[s0 + i] - col[s0 + j];
                    num += p[j] * sqrt(dr * dr + dc * dc);
                    den += p[j];
                }
                if (den > 0) { pdist += num / den; npatch++; }
            }
        }
    }
    out->attn_first = first / T;
    out->attn_self = self / T;
    out->attn_prev = nprev ? prev / nprev : NAN;
    out->attn_dist = dist / T;
    out->entropy = ent / T;
    out->dist_corr = ncorr ? corr / ncorr : NAN;
    out->dist_corr_queries = ncorr;
    out->attn_dist_patch = row ? (npatch ? pdist / npatch : NAN) : NAN;
    out->v_norm = NAN;
    if (vnorm) {
        double v = 0;
        int64_t base = ((int64_t)layer * r->num_heads + head) * T;
        for (int64_t t = 0; t < T; t++) v += av_npy_get_f32(vnorm, base + t);
        out->v_norm = v / T;
    }
    return 0;
}

/* The optional |v| array [L, H, T]; *have = 0 when the run did not record it. extract
 * names it "v_norm"; "vnorm", the name some earlier runs carry, is read too. */
static int open_vnorm(const av_run *r, av_npy *a, int *have) {
    *have = 0;
    const cJSON *arrays = cJSON_GetObjectItemCaseSensitive(r->manifest, "arrays");
    const cJSON *e = arrays ? cJSON_GetObjectItemCaseSensitive(arrays, "vnorm") : NULL;
    if (!e && arrays) e = cJSON_GetObjectItemCaseSensitive(arrays, "v_norm");
    if (!e) return AV_OK;
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(e, "file");
    if (!cJSON_IsString(f) || strstr(f->valuestring, "..") || f->valuestring[0] == '/')
        return av_fail("%s/manifest.json: arrays.vnorm has no usable file", r->dir);
    char path[4096];
    if (av_npy_open(av_run_path(r, path, sizeof path, f->valuestring), a) != AV_OK) return AV_ERR;
    if (a->ndim != 3 || a->dtype == AV_DT_I32 || a->shape[0] != r->num_layers ||
        a->shape[1] != r->num_heads || a->shape[2] != r->num_tokens) {
        av_npy_close(a);
        return av_fail("%s: expected f32|f16 [%d, %d, %lld] (layers, heads, tokens)", path, r->num_layers,
                       r->num_heads, (long long)r->num_tokens);
    }
    *have = 1;
    return AV_OK;
}

int av_stats_compute(const av_run *r, const int *heads, int count, av_head_stats *out) {
    /* the heads run side by side, one thread each, and each head's sgemm (CKA) on that
     * thread alone: the same statistics on any thread count (kernels/backend/determinism.h) */
    av_blas_single_thread();
    int causal = av_model_type_causal(r->model_type);
    items_t it = {0};
    int32_t *row = NULL, *col = NULL;
    av_npy vn;
    int have_v = 0, nomem = 0;
    /* bad[3h..3h+2]: non-finite values in q, in k, out of memory */
    int *bad = NULL;
    unsigned char *mine = NULL; /* the heads this process computed */
    av_dist_counter *next = NULL;
    /* Under MPI every process reads the same run: a fault of it is found by all, and
     * every failure is agreed on (engine/dist.h) before the next collective step. */
    int rc = r->num_tokens < 4 ? av_fail("%s: %lld tokens; statistics need at least 4", r->dir, (long long)r->num_tokens)
                               : find_items(r, &it);
    if (rc != AV_OK) it.start = NULL; /* find_items freed it */
    if (rc == AV_OK && !strcmp(r->model_type, "vit")) {
        row = av_malloc((size_t)r->num_tokens * sizeof(int32_t));
        col = av_malloc((size_t)r->num_tokens * sizeof(int32_t));
        rc = !row || !col ? AV_ERR : patch_grid(r, &it, row, col);
    }
    if (rc == AV_OK) rc = open_vnorm(r, &vn, &have_v);
    if (rc == AV_OK) {
        bad = av_calloc((size_t)count * 3 + 1, sizeof(int));
        mine = av_calloc((size_t)count + 1, 1);
        if (!bad || !mine) rc = AV_ERR;
    }
    if (av_dist_agree(rc) != AV_OK || av_dist_counter_open(&next) != AV_OK) {
        rc = AV_ERR;
        goto out;
    }
    int64_t T = r->num_tokens;
    int d = r->head_dim, L = it.max_len;
    #pragma omp parallel reduction(|:nomem)
    {
        scratch s = {0};
        s.P = malloc((size_t)L * sizeof(double));
        s.dots = malloc((size_t)L * sizeof(double));
        s.dist = malloc((size_t)L * sizeof(double));
        s.rd = malloc((size_t)L * sizeof(double));
        s.rs = malloc((size_t)L * sizeof(double));
        s.tmp = malloc((size_t)L * sizeof(keyed));
        s.q = malloc((size_t)(T * d) * sizeof(float));
        s.k = malloc((size_t)(T * d) * sizeof(float));
        s.kt = malloc((size_t)(T * d) * sizeof(float));
        int ok = s.P && s.dots && s.dist && s.rd && s.rs && s.tmp && s.q && s.k && s.kt;
        if (!ok) nomem = 1;
        for (int64_t h; ok && (h = av_dist_counter_take(next, 1)) < count;) {
            mine[h] = 1;
            if (head_stats(r, &it, row, col, have_v ? &vn : NULL, causal, heads[2 * h], heads[2 * h + 1],
                           &s, &out[h], &bad[3 * h], &bad[3 * h + 1]) < 0)
                bad[3 * h + 2] = 1;
        }
        free(s.P); free(s.dots); free(s.dist); free(s.rd); free(s.rs); free(s.tmp);
        free(s.q); free(s.k); free(s.kt);
    }
    rc = nomem ? av_fail("stats: out of memory (%lld tokens x %d dims per head)", (long long)T, d) : AV_OK;
    if (av_dist_agree(rc) != AV_OK || av_dist_share(out, sizeof *out, count, mine) != AV_OK ||
        av_dist_share(bad, 3 * sizeof *bad, count, mine) != AV_OK) {
        rc = AV_ERR;
        goto out;
    }
    int nbad = 0, first = -1;
    for (int h = 0; h < count && rc == AV_OK; h++) {
        if (bad[3 * h + 2]) rc = av_fail("stats: out of memory");
        if (bad[3 * h] || bad[3 * h + 1]) { nbad++; if (first < 0) first = h; }
    }
    if (rc == AV_OK && nbad)
        rc = av_fail("%s/%s: head %d:%d has %d non-finite values (NaN/Inf), %d head(s) affected; refusing to compute statistics",
                     r->dir, bad[3 * first] ? "q.npy" : "k.npy", heads[2 * first], heads[2 * first + 1],
                     bad[3 * first] ? bad[3 * first] : bad[3 * first + 1], nbad);
    /* every process found the same (the results are shared): agreed, it is said once */
    rc = av_dist_agree(rc);
out:
    av_dist_counter_close(next);
    free(mine);
    free(bad);
    if (have_v) av_npy_close(&vn);
    free(row);
    free(col);
    free(it.start);
    return rc;
}
