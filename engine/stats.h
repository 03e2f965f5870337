/* stats.h - per-head statistics of a run folder (`attnviz stats`, RUN/stats.json).
 *
 * Attention is recomputed from the stored q and k one item at a time,
 * P = softmax(q k^T / sqrt(d)) over the item's tokens (GPT-2, model_type "gpt2": causal,
 * keys j <= i), and never materialised for the whole dataset. Every mean below is over
 * all queries (tokens) of the run, so long items weigh more than short ones.
 *
 *   q_norm, k_norm      mean |q|, mean |k| (raw vectors, bias included)
 *   qk_norm_ratio       q_norm / k_norm
 *   dist_corr           Spearman rank correlation, per query over the keys of its item,
 *                       between q.k and the distance |q - k'| after key translation
 *                       k' = k - mean(K) + mean(Q) (means over the whole run, as the
 *                       projections use), averaged over queries with at least 3 keys
 *                       and non-constant ranks (dist_corr_queries counts them); ties get
 *                       average ranks. Strongly negative when distance means attention.
 *   attn_first          mean P[i, first token of the item]
 *   attn_self           mean P[i, i]
 *   attn_prev           mean P[i, i-1] over queries that have a previous token
 *   attn_dist           mean expected distance in tokens, sum_j P[i,j] |i - j|
 *   attn_dist_patch     ViT only (else null): for patch queries, the expected Euclidean
 *                       distance on the patch grid to the attended patch, given that the
 *                       attention lands on a patch (weights renormalised over patch keys)
 *   qk_cos              mean cosine similarity of q_t and k_t of the same token
 *   qk_cka              linear CKA (Kornblith et al. 2019) of the centred clouds Q and K,
 *                       token-paired: |Qc^T Kc|_F^2 / (|Qc^T Qc|_F |Kc^T Kc|_F), in [0, 1];
 *                       1 when K is an orthogonal map of Q up to scale
 *   entropy             mean entropy of the attention rows, in nats
 *   v_norm              mean |v| when the run has the array "vnorm" [L, H, T] that
 *                       extract writes ("v_norm" accepted too), else null
 *
 * Ownership: av_stats_parse_heads allocates the head list (caller frees); everything
 * else writes into caller buffers or returns a cJSON tree the caller deletes. */
#ifndef AV_ENGINE_STATS_H
#define AV_ENGINE_STATS_H
#include <stdio.h>
#include "engine/runfolder.h"

typedef struct {
    int layer, head;
    double q_norm, k_norm, qk_norm_ratio;
    double dist_corr;
    int64_t dist_corr_queries;
    double attn_first, attn_self, attn_prev, attn_dist, attn_dist_patch;
    double qk_cos, qk_cka, entropy, v_norm;   /* NAN = not available */
} av_head_stats;

/* "all" or a comma-separated list of L:H. *heads gets 2*count ints (layer, head). The
 * error names the head that does not exist. */
int av_stats_parse_heads(const char *spec, int num_layers, int num_heads, int **heads, int *count);

/* Statistics of the listed heads into out[count]. Refuses (AV_ERR, nothing computed)
 * runs with fewer than 4 tokens, tokens not grouped by item, or NaN/Inf in q or k
 * (the message names the array, the head and the count). */
int av_stats_compute(const av_run *r, const int *heads, int count, av_head_stats *out);

/* {"format": "attnviz-stats", "version": 1, "model_type", "causal", "heads": [...]} */
cJSON *av_stats_json(const av_run *r, const av_head_stats *s, int count);
/* Writes RUN/stats.json atomically, then records it in the manifest ("stats"), under the
 * run folder's lock (taken here unless the caller holds it: av_run_lock). Heads of
 * an earlier stats.json of the run that `s` does not cover are kept (in layer, head
 * order), so computing a few heads refreshes them without dropping the rest. */
int av_stats_save(av_run *r, const av_head_stats *s, int count);

void av_stats_print_table(FILE *f, const av_head_stats *s, int count);
void av_stats_print_csv(FILE *f, const av_head_stats *s, int count);
#endif
