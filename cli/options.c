/* options.c - the parsers of the shared option groups (options.h). */
#include "cli/options.h"

#include <stdio.h>
#include <string.h>
#include "base/util.h"
#include "cli/cli.h"
#include "kernels/ops.h"

/* ---- extract ----------------------------------------------------------------------- */
void av_cli_extract_defaults(av_cli_extract *e) {
    memset(e, 0, sizeof *e);
    av_extract_defaults(&e->opts);
    e->device = "auto";
}

int av_cli_extract_option(const char *cmd, int code, const char *arg, av_cli_extract *e) {
    av_extract_opts *o = &e->opts;
    long v;
    switch (code) {
    case AV_OPT_DEVICE:
        e->device = arg;
        return 0;
    case AV_OPT_MAX_ITEMS:
        if (av_cli_int(cmd, "--max-items", arg, 1, 2000000000L, &v)) return 2;
        o->max_items = v;
        return 0;
    case AV_OPT_MAX_TOKENS:
        if (av_cli_int(cmd, "--max-tokens", arg, 1, 4000000000L, &v)) return 2;
        o->max_tokens = v;
        return 0;
    case AV_OPT_DTYPE:
        if (!strcmp(arg, "f16")) o->dtype = AV_DT_F16;
        else if (!strcmp(arg, "f32")) o->dtype = AV_DT_F32;
        else return av_cli_usage(cmd, "--dtype expects f16 or f32, got '%s'", arg);
        return 0;
    case AV_OPT_BATCH:
        if (!strcmp(arg, "auto")) o->batch = 0;
        else if (av_cli_int(cmd, "--batch", arg, 1, 65535, &v)) return 2;
        else o->batch = (int)v;
        return 0;
    case AV_OPT_MAX_MEMORY:
        return av_cli_bytes(cmd, "--max-memory", arg, &o->max_memory) ? 2 : 0;
    case AV_OPT_GEMM:
        if (av_gemm_parse(arg, &o->gemm) != AV_OK)
            return av_cli_usage(cmd, "--gemm expects f32, tf32, bf16 or f16, got '%s'", arg);
        return 0;
    case AV_OPT_FORCE:
        o->force = 1;
        return 0;
    case AV_OPT_SAMPLE_SEED:
        if (av_cli_int(cmd, "--sample-seed", arg, 0, 0x7fffffffL, &v)) return 2;
        o->sample_seed = (uint64_t)v;
        return 0;
    case AV_OPT_QUIET:
        e->quiet = 1;
        return 0;
    default:
        return 1;
    }
}

/* ---- project ----------------------------------------------------------------------- */
void av_cli_project_defaults(av_cli_project *p) {
    memset(p, 0, sizeof *p);
    av_project_defaults(&p->opts);
    p->heads = "all";
}

int av_cli_project_option(const char *cmd, int code, const char *arg, av_cli_project *p) {
    av_project_opts *o = &p->opts;
    long v;
    double x;
    switch (code) {
    case AV_OPT_PROJ_METHOD:
        if (!strcmp(arg, "tsne")) o->method = AV_PROJ_TSNE;
        else if (!strcmp(arg, "umap")) o->method = AV_PROJ_UMAP;
        else if (!strcmp(arg, "pca")) o->method = AV_PROJ_PCA;
        else return av_cli_usage(cmd, "--method must be tsne, umap or pca, got '%s'", arg);
        break;
    case AV_OPT_PROJ_DIM:
        if (av_cli_int(cmd, "--dim", arg, 2, 3, &v)) return 2;
        o->dim = (int)v;
        break;
    case AV_OPT_HEADS: p->heads = arg; break;
    case AV_OPT_PERPLEXITY:
        if (av_cli_double(cmd, "--perplexity", arg, 1, 10000, &x)) return 2;
        o->tsne.perplexity = x;
        p->have_perp = 1;
        break;
    case AV_OPT_NEIGHBORS:
        if (av_cli_int(cmd, "--neighbors", arg, 2, 1000, &v)) return 2;
        o->umap.n_neighbors = (int)v;
        p->have_nb = 1;
        break;
    case AV_OPT_ITERS:
        if (av_cli_int(cmd, "--iters", arg, 1, 1000000, &p->iters)) return 2;
        p->have_iters = 1;
        break;
    case AV_OPT_SEED:
        if (av_cli_int(cmd, "--seed", arg, 0, 2147483647L, &v)) return 2;
        o->tsne.seed = o->umap.seed = (uint64_t)v;
        break;
    case AV_OPT_NO_TRANSLATE: o->translate = 0; break;
    case AV_OPT_SCALE: o->scale = 1; break;
    case AV_OPT_METRIC:
        if (!strcmp(arg, "euclidean")) o->tsne.metric = o->umap.metric = AV_METRIC_EUCLIDEAN;
        else if (!strcmp(arg, "cosine")) o->tsne.metric = o->umap.metric = AV_METRIC_COSINE;
        else return av_cli_usage(cmd, "--metric must be euclidean or cosine, got '%s'", arg);
        break;
    case AV_OPT_KNN:
        if (!strcmp(arg, "auto")) o->tsne.knn_method = o->umap.knn_method = AV_KNN_AUTO;
        else if (!strcmp(arg, "exact")) o->tsne.knn_method = o->umap.knn_method = AV_KNN_EXACT;
        else if (!strcmp(arg, "approx")) o->tsne.knn_method = o->umap.knn_method = AV_KNN_APPROX;
        else return av_cli_usage(cmd, "--knn must be auto, exact or approx, got '%s'", arg);
        break;
    case AV_OPT_TSNE_METHOD:
        if (!strcmp(arg, "auto")) o->tsne.method = AV_TSNE_AUTO;
        else if (!strcmp(arg, "bh")) o->tsne.method = AV_TSNE_BH;
        else if (!strcmp(arg, "fft")) o->tsne.method = AV_TSNE_FFT;
        else return av_cli_usage(cmd, "--tsne-method must be auto, bh or fft, got '%s'", arg);
        p->have_tm = 1;
        break;
    case AV_OPT_QUALITY: o->quality = 1; break;
    default: return 1;
    }
    p->given = 1;
    return 0;
}

void av_cli_project_apply_iters(av_cli_project *p) {
    av_project_opts *o = &p->opts;
    if (!p->have_iters) return;
    if (o->method == AV_PROJ_TSNE) {
        o->tsne.iters = (int)p->iters;
        if (o->tsne.early_iters > o->tsne.iters) o->tsne.early_iters = o->tsne.iters;
    }
    o->umap.epochs = (int)p->iters;
}

int av_cli_project_finish(const char *cmd, av_cli_project *p) {
    const av_project_opts *o = &p->opts;
    if (p->have_perp && o->method != AV_PROJ_TSNE) return av_cli_usage(cmd, "--perplexity applies to --method tsne");
    if (p->have_tm && o->method != AV_PROJ_TSNE) return av_cli_usage(cmd, "--tsne-method applies to --method tsne");
    if (o->tsne.method == AV_TSNE_FFT && o->dim == 3)
        return av_cli_usage(cmd, "--tsne-method fft is 2-D only (use bh with --dim 3)");
    if (p->have_nb && o->method != AV_PROJ_UMAP)
        return av_cli_usage(cmd, "--neighbors applies to --method umap (t-SNE takes 3 x perplexity neighbours)");
    if (p->have_iters && o->method == AV_PROJ_PCA) return av_cli_usage(cmd, "--iters does not apply to --method pca");
    av_cli_project_apply_iters(p);
    return 0;
}

/* ---- session ----------------------------------------------------------------------- */
int av_cli_session_option(const char *cmd, int code, const char *arg, av_session_opts *o) {
    long n;
    switch (code) {
    case AV_OPT_VIEW: {
        av_view_kind k;
        if (av_view_parse(arg, &k) != AV_OK) return av_cli_usage(cmd, "%s", av_last_error());
        o->view = arg;
        return 0;
    }
    case AV_OPT_HEAD: {
        int l, h;
        char extra;
        if (sscanf(arg, "%d:%d%c", &l, &h, &extra) != 2 || l < 0 || h < 0)
            return av_cli_usage(cmd, "--head wants LAYER:HEAD, e.g. 3:7 (got '%s')", arg);
        o->head = arg;
        return 0;
    }
    case AV_OPT_METHOD: o->method = arg; return 0;
    case AV_OPT_DIM:
        if (av_cli_int(cmd, "--dim", arg, 2, 3, &n)) return 2;
        o->dim = (int)n;
        return 0;
    case AV_OPT_COLOR: {
        av_color_mode m;
        if (av_color_parse(arg, &m) != AV_OK) return av_cli_usage(cmd, "%s", av_last_error());
        o->color = arg;
        return 0;
    }
    case AV_OPT_ITEM:
        if (av_cli_int(cmd, "--item", arg, 0, 1L << 40, &n)) return 2;
        o->item = n;
        return 0;
    case AV_OPT_TOKEN:
        if (av_cli_int(cmd, "--token", arg, 0, 1L << 40, &n)) return 2;
        o->token = n;
        return 0;
    case AV_OPT_SEARCH: o->search = arg; return 0;
    case AV_OPT_THEME:
        if (strcmp(arg, "light") && strcmp(arg, "dark")) return av_cli_usage(cmd, "--theme is light or dark (got '%s')", arg);
        o->theme = arg;
        return 0;
    case AV_OPT_HIDE_SPECIAL: o->hide_special = 1; return 0;
    case AV_OPT_VALUE_NORM: o->value_norm = 1; return 0;
    case AV_OPT_ARROWS: o->arrows = 1; return 0;
    case AV_OPT_HIDE_Q: o->hide_queries = 1; return 0;
    case AV_OPT_HIDE_K: o->hide_keys = 1; return 0;
    case AV_OPT_SIZE_NORM: o->size_by_norm = 1; return 0;
    case AV_OPT_LOD:
        if (av_cli_int(cmd, "--lod", arg, 0, 1L << 40, &n)) return 2;
        o->lod = n;
        return 0;
    case AV_OPT_DENSITY: o->density = 1; return 0;
    case AV_OPT_EXPOSURE:
        if (av_cli_double(cmd, "--exposure", arg, 1.0 / 64, 64, &o->exposure)) return 2;
        return 0;
    case AV_OPT_RENDERER:
        if (av_renderer_parse(arg, &o->renderer) != AV_OK) return av_cli_usage(cmd, "%s", av_last_error());
        return 0;
    default: return 1;
    }
}
