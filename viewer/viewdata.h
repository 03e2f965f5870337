/* viewdata.h - everything the viewer reads from a run folder, on the CPU side and
 * independent of OpenGL: the run (q/k mappings), token texts and ViT patch positions,
 * item texts or image paths, the projections on disk (proj/<method>-<dim>d.npy), the
 * loaded projection with per-head bounds, stats.json, colour attributes, token search,
 * and attention recomputed from q/k for one item and one head.
 *
 * av_vdata owns all of it; av_vdata_close frees it. Arrays returned through pointer
 * arguments are caller-owned unless said otherwise. */
#ifndef AV_VIEWER_VIEWDATA_H
#define AV_VIEWER_VIEWDATA_H
#include <stdint.h>
#include <cjson/cJSON.h>
#include "engine/runfolder.h"

#define AV_MAX_PROJ 32

typedef struct { char method[32]; int dim; char file[96]; } av_proj_info;

/* Colour modes (docs/technique.md, "What the views show"). */
typedef enum {
    AV_COLOR_QK = 0,        /* query vs key */
    AV_COLOR_POSITION,      /* position / (item length - 1) */
    AV_COLOR_MOD5,          /* position mod 5 */
    AV_COLOR_PUNCT,         /* punctuation / special tokens / other */
    AV_COLOR_NORM,          /* |q| or |k| of the head, scaled per head */
    AV_COLOR_TOKLEN,        /* characters in the token */
    AV_COLOR_ITEMLEN,       /* tokens in the item */
    AV_COLOR_FREQ,          /* how often the token text occurs in the run (log) */
    AV_COLOR_ROW,           /* ViT patch row */
    AV_COLOR_COL,           /* ViT patch column */
    AV_COLOR_LABEL,         /* the item's class label (items.jsonl "label") */
    /* synthetic images (attnviz synth): the token's image's parameter from the set's
     * params.jsonl; grey where that image's kind does not vary it */
    AV_COLOR_HUE,           /* hue / 360 */
    AV_COLOR_BRIGHTNESS,    /* grey level 0..1 */
    AV_COLOR_FREQUENCY,     /* cycles per image, log-scaled over the run's range */
    AV_COLOR_ANGLE,         /* stripe angle / 180 */
    AV_COLOR_CELLS,         /* checkerboard squares per side, log-scaled over the run's range */
    AV_COLOR_COUNT
} av_color_mode;
/* the synthetic-image parameters, in the order of the modes AV_COLOR_HUE.. */
#define AV_SYNTH_PARAMS (AV_COLOR_COUNT - AV_COLOR_HUE)
const char *av_color_name(av_color_mode m);
int av_color_parse(const char *name, av_color_mode *out);
/* 1 when the mode is categorical (palette), 0 when continuous (colormap). */
int av_color_categorical(av_color_mode m);
/* 1 when the mode's values wrap around (hue, stripe angle): drawn with a colour wheel. */
int av_color_cyclic(av_color_mode m);

typedef struct {
    av_run run;
    int64_t T;                   /* tokens */
    char **tok_text;             /* [T] UTF-8, as the tokenizer spells it ("Ġthe") */
    char **tok_label;            /* [T] what the views show: tokens.jsonl's "label", or for
                                  * runs without one av_token_labels of tok_text */
    int32_t *tok_row, *tok_col;  /* [T] ViT patch row/column, -1 for the class token; NULL for text */
    int32_t *tok_item, *tok_pos; /* [T] copies of token_item / token_pos */
    uint32_t *tok_flags;         /* [T] AV_TOK_* of datasets/categories.h */
    int64_t *item_start, *item_len; /* [num_items] tokens of item i: item_start[i] .. + item_len[i] */
    char **item_text;            /* [num_items] text, or image path for ViT */
    char **item_label;           /* [num_items] class label or NULL */
    int grid;                    /* ViT patch grid side (14 for ViT-B/16), 0 for text */
    int is_vit;
    int is_decoder;              /* gpt2 or a Llama-family LLM: causal, byte-level token spelling,
                                  * the first token an attention sink (hidden with the specials) */
    av_proj_info proj[AV_MAX_PROJ];
    int nproj;
    int cur;                     /* index into proj of the loaded projection, -1 none */
    av_npy pdata;                /* [L, H, 2T, dim] f32 */
    float *bounds;               /* [L*H][6]: min xyz, max xyz of each head's cloud */
    cJSON *stats;                /* stats.json or NULL */
    av_npy vnorm;                /* vnorm.npy [L, H, T] (|v| per token) when the run has it */
    int has_vnorm;
    float *norm01;               /* [L*H*2T] |q|,|k| scaled to 0..1 per head (lazy) */
    /* `attnviz view --live`: an in-memory projection proj[live_idx] (file ""), NaN for
     * every head but the live one; owned here, pdata.data points at it while current */
    float *live, *live_bounds;
    /* [L*H] where each live head's positions are: NULL (live's NaN), or the caller's
     * [2T, dim] (av_vdata_live_update: the live job's slot, not copied); live_dev[c] 1
     * when the head is drawn from positions only the GPU buffer holds (interop) */
    const float **live_head;
    uint8_t *live_dev;
    /* [num_items][AV_SYNTH_PARAMS] hue, brightness, frequency, angle, cells of each item's synthetic image
     * (NaN where its kind has none), from DIR/params.jsonl when every image path of a
     * ViT run is DIR/<kind>/<file> of an `attnviz synth` folder; NULL otherwise */
    double *synth;
    int live_idx;                /* -1 none */
} av_vdata;

/* Opens the run and everything beside it; fails naming the file at fault. A run without
 * projections opens fine (nproj == 0); the caller says which command makes them. */
int av_vdata_open(const char *dir, av_vdata *vd);
void av_vdata_close(av_vdata *vd);

/* Index of the projection (method, dim); method NULL or dim 0 = first match. -1 if none. */
int av_vdata_find_proj(const av_vdata *vd, const char *method, int dim);
/* Maps proj[i] and checks its shape against the run: AV_ERR naming the file. */
int av_vdata_load_proj(av_vdata *vd, int i);
int av_vdata_dim(const av_vdata *vd);
/* Adds the in-memory projection (method, dim) of the live viewer, all NaN, and makes
 * it current. Returns its index. */
int av_vdata_add_live(av_vdata *vd, const char *method, int dim);
/* Makes Y [2T, dim] head (l, h) of the live projection and refits its bounds. Y is not
 * copied: it must stay valid and unchanged until the next update of the head (NULL:
 * back to the NaN of no positions). */
void av_vdata_live_update(av_vdata *vd, int l, int h, const float *Y);
/* Head (l, h) of the live projection is in the GPU's point buffer only (written there
 * through CUDA-OpenGL interop), with these bounds (min xyz, max xyz): it counts as
 * projected, while av_vdata_point keeps giving its last positions on the host. */
void av_vdata_live_device(av_vdata *vd, int l, int h, const float bounds[6]);
/* Pointer to point p (0..2T-1) of head (l, h) in the loaded projection. */
const float *av_vdata_point(const av_vdata *vd, int l, int h, int64_t p);
/* 1 when the loaded projection holds head (l, h); `attnviz project --heads` leaves the
 * heads it did not project NaN, and so does a live projection before its first frame. */
int av_vdata_head_projected(const av_vdata *vd, int l, int h);
/* How many heads the loaded projection holds. */
int av_vdata_heads_projected(const av_vdata *vd);

/* Per-token colour values for mode (length T): categories as small integers for
 * categorical modes, 0..1 for continuous ones. AV_COLOR_NORM: use av_vdata_norms. */
int av_vdata_token_attr(const av_vdata *vd, av_color_mode m, float *out);
/* What the two ends of a continuous mode's colour scale stand for, in the run's own
 * units ("0" and "14 chars", "0" and "38 tokens", "0" and "360 deg"), and what grey
 * stands for where some tokens have no value ("" where none lacks one); for the legend.
 * Costs one pass over the tokens: call it when the mode changes, not every frame. */
void av_vdata_attr_scale(const av_vdata *vd, av_color_mode m, char lo[32], char hi[32], char none[48]);
/* Names of the categories of a categorical mode, for the legend. Returns the count. */
int av_vdata_categories(const av_vdata *vd, av_color_mode m, const char **names, int max);
/* |q| and |k| of every point of every head, scaled per head to 0..1; computed once. */
const float *av_vdata_norms(av_vdata *vd);

/* Marks (bit `bit` of flags[T]) every token whose text, with "##"/"Ġ" stripped and
 * compared case-insensitively, equals text. Returns the number of hits. */
int64_t av_vdata_search(const av_vdata *vd, const char *text, uint8_t *flags, uint8_t bit);

/* The stats.json entry of head (l, h), or NULL. */
const cJSON *av_vdata_head_stats(const av_vdata *vd, int l, int h);

/* Attention of item for head (l, h): A [n, n] row-major, row i = query token i,
 * softmax over keys of q.k/sqrt(d) (k: the key head of h's group), causal (j <= i) for
 * GPT-2 and the LLMs. n = item length. hide_special drops [CLS]/[SEP] (BERT), the first
 * token (GPT-2, the LLMs: their attention sink) or the class token
 * (ViT) from the keys and renormalises each row; vnorm_weight multiplies by |v_j| and
 * renormalises. A token whose q or k holds a non-finite value takes no part: its query
 * row is all zeros and its key gets weight 0 (the rest is still drawn). Caller frees *A. */
int av_vdata_attention(const av_vdata *vd, int l, int h, int64_t item, int hide_special,
                       int vnorm_weight, float **A, int64_t *n);
/* Non-finite (NaN/Inf) values in item's q and k rows of head (l, h): what the views say
 * when av_vdata_attention had to leave tokens out. */
int av_vdata_nonfinite(const av_vdata *vd, int l, int h, int64_t item, int64_t *bad_q, int64_t *bad_k);
/* 1 when token t is special for its model ([CLS]/[SEP]/..., GPT-2's first token, ViT class token). */
int av_vdata_is_special(const av_vdata *vd, int64_t t);
#endif
