/* session.c - the viewer state that render and view share: opening the run and applying
 * the session options (see session.h; their parsing is the CLI's, cli/options.c). */
#include "viewer/session.h"

#include <stdlib.h>
#include <string.h>
#include "base/util.h"

void av_session_defaults(av_session_opts *o) {
    memset(o, 0, sizeof *o);
    o->item = o->token = -1;
    o->lod = -1;
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
    v->heat = o->density;
    if (o->exposure > 0) v->exposure = (float)o->exposure;
    if (o->renderer != AV_RENDERER_AUTO && av_viewer_set_renderer(v, o->renderer) != AV_OK) return AV_ERR;
    return AV_OK;
}
