/* session.c - shared options of render and view (see session.h). */
#include "viewer/session.h"

#include <stdlib.h>
#include <string.h>
#include "host/cli.h"
#include "host/util.h"

void av_session_defaults(av_session_opts *o) {
    memset(o, 0, sizeof *o);
    o->item = o->token = -1;
    o->lod = -1;
}

int av_session_option(av_session_opts *o, const char *cmd, int opt, const char *arg) {
    long n;
    switch (opt) {
    case AV_OPT_VIEW: {
        av_view_kind k;
        if (av_view_parse(arg, &k) != AV_OK) return av_cli_usage(cmd, "%s", av_last_error());
        o->view = arg;
        return 1;
    }
    case AV_OPT_HEAD: {
        int l, h;
        char extra;
        if (sscanf(arg, "%d:%d%c", &l, &h, &extra) != 2 || l < 0 || h < 0)
            return av_cli_usage(cmd, "--head wants LAYER:HEAD, e.g. 3:7 (got '%s')", arg);
        o->head = arg;
        return 1;
    }
    case AV_OPT_METHOD: o->method = arg; return 1;
    case AV_OPT_DIM:
        if (av_cli_int(cmd, "--dim", arg, 2, 3, &n)) return 2;
        o->dim = (int)n;
        return 1;
    case AV_OPT_COLOR: {
        av_color_mode m;
        if (av_color_parse(arg, &m) != AV_OK) return av_cli_usage(cmd, "%s", av_last_error());
        o->color = arg;
        return 1;
    }
    case AV_OPT_ITEM:
        if (av_cli_int(cmd, "--item", arg, 0, 1L << 40, &n)) return 2;
        o->item = n;
        return 1;
    case AV_OPT_TOKEN:
        if (av_cli_int(cmd, "--token", arg, 0, 1L << 40, &n)) return 2;
        o->token = n;
        return 1;
    case AV_OPT_SEARCH: o->search = arg; return 1;
    case AV_OPT_THEME:
        if (strcmp(arg, "light") && strcmp(arg, "dark")) return av_cli_usage(cmd, "--theme is light or dark (got '%s')", arg);
        o->theme = arg;
        return 1;
    case AV_OPT_HIDE_SPECIAL: o->hide_special = 1; return 1;
    case AV_OPT_VALUE_NORM: o->value_norm = 1; return 1;
    case AV_OPT_ARROWS: o->arrows = 1; return 1;
    case AV_OPT_HIDE_Q: o->hide_queries = 1; return 1;
    case AV_OPT_HIDE_K: o->hide_keys = 1; return 1;
    case AV_OPT_SIZE_NORM: o->size_by_norm = 1; return 1;
    case AV_OPT_LOD:
        if (av_cli_int(cmd, "--lod", arg, 0, 1L << 40, &n)) return 2;
        o->lod = n;
        return 1;
    default: return 0;
    }
}

int av_session_open(const av_session_opts *o, av_vdata *vd, int *proj_index) {
    if (av_vdata_open(o->run, vd) != AV_OK) return AV_ERR;
    av_view_kind k = AV_VIEW_MATRIX;
    if (o->view) av_view_parse(o->view, &k);
    int needs_proj = k == AV_VIEW_MATRIX || k == AV_VIEW_SINGLE;
    *proj_index = -1;
    if (vd->nproj == 0) {
        if (needs_proj || o->method || o->dim) {
            av_fail("%s: no projections yet (proj/ is empty): run `attnviz project %s` first", o->run, o->run);
            av_vdata_close(vd);
            return AV_ERR;
        }
        return AV_OK;
    }
    *proj_index = av_vdata_find_proj(vd, o->method, o->dim ? o->dim : (o->method ? 0 : 2));
    if (*proj_index < 0 && !o->dim && !o->method) *proj_index = av_vdata_find_proj(vd, NULL, 0);
    if (*proj_index < 0) {
        char have[512] = "";
        for (int i = 0; i < vd->nproj; i++)
            snprintf(have + strlen(have), sizeof have - strlen(have), "%s%s-%dd", i ? ", " : "", vd->proj[i].method, vd->proj[i].dim);
        av_fail("%s: no projection %s-%s (the run has %s; make it with `attnviz project %s --method %s --dim %d`)",
                o->run, o->method ? o->method : "*", o->dim ? (o->dim == 3 ? "3d" : "2d") : "*d", have, o->run,
                o->method ? o->method : "tsne", o->dim ? o->dim : 2);
        av_vdata_close(vd);
        return AV_ERR;
    }
    if (av_vdata_load_proj(vd, *proj_index) != AV_OK) { av_vdata_close(vd); return AV_ERR; }
    return AV_OK;
}

int av_session_apply(const av_session_opts *o, av_viewer *v, int proj_index) {
    av_vdata *vd = v->vd;
    if (proj_index >= 0 && av_viewer_set_proj(v, proj_index) != AV_OK) return AV_ERR;
    av_view_kind k = AV_VIEW_MATRIX;
    if (o->view) av_view_parse(o->view, &k);
    if (k == AV_VIEW_IMAGE && !vd->is_vit) return av_fail("%s: the image view needs a ViT run (this one is %s)", o->run, vd->run.model_type);
    if (k == AV_VIEW_SENTENCE && vd->is_vit) return av_fail("%s: the sentence view is for text runs (this one is ViT: use --view image)", o->run);
    av_viewer_set_view(v, k);
    if (o->head) {
        int l = 0, h = 0;
        sscanf(o->head, "%d:%d", &l, &h);
        if (av_viewer_set_head(v, l, h) != AV_OK) return AV_ERR;
    }
    if (o->color) {
        av_color_mode m;
        av_color_parse(o->color, &m);
        if (av_viewer_set_color(v, m) != AV_OK) return AV_ERR;
    }
    if (o->item >= 0 && o->item >= vd->run.num_items)
        return av_fail("%s: no item %lld (the run has %lld)", o->run, (long long)o->item, (long long)vd->run.num_items);
    if (o->token >= 0) {
        int64_t t = o->token;
        if (o->item >= 0) {
            if (t >= vd->item_len[o->item])
                return av_fail("%s: item %lld has %lld tokens, no --token %lld", o->run, (long long)o->item,
                               (long long)vd->item_len[o->item], (long long)t);
            t += vd->item_start[o->item];
        } else if (t >= vd->T) {
            return av_fail("%s: no token %lld (the run has %lld)", o->run, (long long)t, (long long)vd->T);
        }
        av_viewer_select_token(v, t);
    } else if (o->item >= 0) {
        av_viewer_select_token(v, -1);
        v->sel_item = o->item;
        int64_t s = vd->item_start[o->item];
        for (int64_t i = s; i < s + vd->item_len[o->item]; i++) v->flags[i] |= AV_FLAG_ITEM;
        v->flags_dirty = 1;
    }
    if (o->search) av_viewer_set_search(v, o->search);
    if (o->theme) v->dark = !strcmp(o->theme, "dark");
    if (o->value_norm && !vd->has_vnorm) return av_fail("%s: --value-norm needs the value norms (v_norm.npy), which this run does not have", o->run);
    v->hide_special = o->hide_special;
    v->vnorm_weight = o->value_norm;
    v->arrows = o->arrows;
    v->show_q = !o->hide_queries;
    v->show_k = !o->hide_keys;
    if (!v->show_q && !v->show_k) return av_fail("--hide-queries and --hide-keys together leave nothing to draw");
    v->size_by_norm = o->size_by_norm;
    if (o->lod >= 0) v->lod_budget = o->lod;
    return AV_OK;
}
