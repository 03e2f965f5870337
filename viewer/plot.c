/* plot.c - plots drawn progressively into a view's cached picture (see plot.h): which
 * plots start over, how many passes a refresh takes, the passes of a frame within its
 * budget on either renderer, the counts' statistics and the resolve. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/util.h"
#include "viewer/gl.h"
#include "viewer/parallel.h"
#include "viewer/splat_cpu.h"
#include "viewer/viewer_internal.h"

const char *av_renderer_name(av_renderer r) {
    return r == AV_RENDERER_CPU ? "cpu" : r == AV_RENDERER_GL ? "gl" : "auto";
}

int av_renderer_parse(const char *name, av_renderer *out) {
    static const char *names[] = {"auto", "gl", "cpu"};
    for (int i = 0; i < 3; i++)
        if (!strcmp(name, names[i])) { *out = (av_renderer)i; return AV_OK; }
    return av_fail("unknown renderer '%s' (auto, gl, cpu)", name);
}

void av_plot_release(av_plot *p) {
    free(p->acc[0]);
    free(p->acc[1]);
    free(p->ids);
    free(p->rgba);
    memset(p, 0, sizeof *p);
}

void av_plots_invalidate(av_plot *plots, int n) {
    for (int i = 0; i < n; i++) plots[i].valid = 0;
}

/* Per-point alpha: a pixel holding the cloud's 90th-percentile count of points reaches
 * 95% coverage (x exposure). A sparse cloud (one point a pixel) gets 0.95; a dense one
 * fainter points, so only its densest pixels saturate and the structure inside stays
 * visible. */
float av_plot_alpha(const av_plot *p, float exposure) {
    float m = p->c90 > 1 ? p->c90 : 1;
    float a = 1 - powf(0.05f, exposure / m);
    return a < 1e-4f ? 1e-4f : a > 0.95f ? 0.95f : a;
}

/* The heat map's top: the 99.5th-percentile count (a few hot pixels, e.g. a token that
 * repeats, do not flatten the rest), / exposure. */
float av_plot_heat_max(const av_plot *p, float exposure) {
    float c = p->c995 / exposure;
    return c > 1 ? c : 1;
}

/* Point diameter from the density: about one point per pixel area of its footprint,
 * between 1 pixel and base_size. The density is the cloud's points over the pixel area
 * of its box, times the share of a sample of them that land on distinct pixels: points
 * stacked on the same spot (a token repeated through the data) count once, so a cloud
 * of a few hundred spots keeps visible points however many tokens sit on each. */
static float density_size(const av_viewer *v, const av_plot_key *k, int64_t shown) {
    const av_vdata *vd = v->vd;
    int dim = av_vdata_dim(vd);
    const float *b = vd->bounds + ((size_t)k->layer * vd->run.num_heads + k->head) * 6;
    float x0 = 1, x1 = -1, y0 = 1, y1 = -1;
    for (int c = 0; c < (dim == 3 ? 8 : 4); c++) {
        float p[3] = {b[(c & 1) ? 3 : 0], b[(c & 2) ? 4 : 1], dim == 3 ? b[(c & 4) ? 5 : 2] : 0};
        float x = k->m[12], y = k->m[13];
        for (int j = 0; j < 3; j++) { x += k->m[j * 4] * p[j]; y += k->m[j * 4 + 1] * p[j]; }
        x0 = fminf(x0, x); x1 = fmaxf(x1, x); y0 = fminf(y0, y); y1 = fmaxf(y1, y);
    }
    x0 = fmaxf(x0, -1); x1 = fminf(x1, 1); y0 = fmaxf(y0, -1); y1 = fminf(y1, 1);
    double area = (double)(x1 - x0) * 0.5 * k->w * (double)(y1 - y0) * 0.5 * k->h;
    if (!(area > 1)) area = 1;
    double d = (double)(shown > 0 ? shown : 1) / area;
    /* the sample: every stride-th point, up to 16384, on a bitmap of the plot's pixels */
    enum { SAMPLE = 16384 };
    int64_t n = 2 * vd->T, stride = n > SAMPLE ? n / SAMPLE : 1, sampled = 0, distinct = 0;
    int64_t px = (int64_t)k->w * k->h;
    uint8_t *bits = av_calloc((size_t)(px + 7) / 8, 1);
    if (bits) {
        const float *pos = av_vdata_point(vd, k->layer, k->head, 0);
        for (int64_t j = 0; j < n; j += stride) {
            int64_t l = av_splat_point(j, vd->T);
            if (!(k->show & (l >= vd->T ? 2 : 1))) continue;
            const float *q = pos + l * dim;
            float x = k->m[12], y = k->m[13];
            for (int c = 0; c < dim; c++) { x += k->m[c * 4] * q[c]; y += k->m[c * 4 + 1] * q[c]; }
            if (!(x >= -1 && x < 1 && y >= -1 && y < 1)) continue;
            int64_t i = (int64_t)((y + 1) * 0.5f * k->h) * k->w + (int64_t)((x + 1) * 0.5f * k->w);
            if (i < 0 || i >= px) continue;
            sampled++;
            if (!(bits[i >> 3] & (1 << (i & 7)))) { bits[i >> 3] |= (uint8_t)(1 << (i & 7)); distinct++; }
        }
        free(bits);
        if (sampled) d *= (double)distinct / (double)sampled;
    }
    float s = (float)sqrt(1 / d);
    return s < 1 ? 1 : s > k->base_size ? k->base_size : s;
}

static int ensure_array(float **a, int64_t *have, int64_t px) {
    if (*have < px) {
        free(*a);
        *have = 0;
        if (!(*a = av_malloc((size_t)px * 4 * sizeof(float)))) return AV_ERR;
        *have = px;
    }
    memset(*a, 0, (size_t)px * 4 * sizeof(float));
    return AV_OK;
}

static int restart(av_viewer *v, av_canvas *c, av_plot *p, const av_plot_key *k) {
    av_vdata *vd = v->vd;
    p->key = *k;
    p->valid = 1;
    p->done = p->passes = 0;
    p->drawn = 0;
    p->dirty = p->fresh = 1;
    p->stats_due = 0;
    p->c90 = p->c995 = 1;
    p->top_used = 0;
    p->n = vd->cur >= 0 && av_vdata_head_projected(vd, k->layer, k->head) ? 2 * vd->T : 0;
    int64_t shown = ((k->show & 1) ? vd->T : 0) + ((k->show & 2) ? vd->T : 0);
    p->size = p->n ? density_size(v, k, shown) : k->base_size;
    av_irect r = {k->x, k->y, k->w, k->h};
    if (v->renderer != AV_RENDERER_CPU) {
        av_canvas_clear(c, r);
        return AV_OK;
    }
    int64_t px = (int64_t)k->w * k->h;
    if (ensure_array(&p->acc[0], &p->acc_px[0], px) != AV_OK) return AV_ERR;
    if (k->any_flag && ensure_array(&p->acc[1], &p->acc_px[1], px) != AV_OK) return AV_ERR;
    if (k->pick) {
        if (p->ids_px < px) {
            free(p->ids);
            p->ids_px = 0;
            if (!(p->ids = av_malloc((size_t)px * sizeof(uint32_t)))) return AV_ERR;
            p->ids_px = px;
        }
        memset(p->ids, 0, (size_t)px * sizeof(uint32_t));
    }
    return AV_OK;
}

static int64_t pass_points(int64_t n, int pass, int passes) { return (n - pass + passes - 1) / passes; }

/* How many passes a refresh of `fresh` points takes: what fits a frame's budget at the
 * measured rate (or the --lod points per frame). */
static int passes_for(const av_viewer *v, int64_t fresh) {
    double ppf = v->lod_budget > 0 ? (double)v->lod_budget : v->budget_ms > 0 ? v->budget_ms * v->rate : 0;
    if (v->direct || ppf <= 0 || fresh <= 0) return 1;
    double P = ceil((double)fresh / ppf);
    return P < 1 ? 1 : P > 65536 ? 65536 : (int)P;
}

typedef struct {
    av_plot *plots;
    const int *list;
    const av_splat_src *src;
    int bands;
    int *top;
} round_job;

static void round_task(void *ctx, int t) {
    round_job *j = ctx;
    av_plot *p = &j->plots[j->list[t / j->bands]];
    int b = t % j->bands;
    j->top[t] = av_splat_cpu(&j->src[t / j->bands], p, p->done, p->passes, p->key.h * b / j->bands,
                             p->key.h * (b + 1) / j->bands);
}

/* One pass of each listed plot on the CPU: plots side by side on the threads, or, with
 * fewer plots than threads, each plot cut into row bands (a thread per band). */
static int cpu_round(av_viewer *v, av_plot *plots, const int *list, int m) {
    av_splat_src *src = av_malloc((size_t)m * sizeof *src);
    int bands = av_parallel_threads();
    if (m >= bands) bands = 1;
    int tasks = m * bands;
    int *top = av_calloc((size_t)tasks, sizeof(int));
    int rc = src && top ? AV_OK : AV_ERR;
    for (int i = 0; i < m && rc == AV_OK; i++) rc = av_points_cpu_source(v, &plots[list[i]], &src[i]);
    if (rc == AV_OK) {
        round_job j = {plots, list, src, bands, top};
        av_parallel_for(tasks, round_task, &j);
        for (int t = 0; t < tasks; t++) plots[list[t / bands]].top_used |= top[t];
    }
    free(src);
    free(top);
    return rc;
}

static void gl_round(av_viewer *v, const av_canvas *c, av_plot *plots, const int *list, int m) {
    glBindFramebuffer(GL_FRAMEBUFFER, c->acc_fbo);
    for (int i = 0; i < m; i++) {
        av_plot *p = &plots[list[i]];
        av_points_accumulate(v, p, p->done);
        if (p->key.any_flag) p->top_used = 1;
    }
    if (v->budget_ms > 0) glFinish();  /* the budget is time: measure the GPU's */
}

/* The 90th and 99.5th percentiles of the covered pixels' counts (stride floats apart):
 * exact to 1023, then in bins 1/64 of an octave wide. */
static void count_stats(const float *cnt, int64_t npx, int stride, float *c90, float *c995) {
    enum { LIN = 1024, LOGB = 64, NB = LIN + 20 * LOGB };
    uint32_t hist[NB];
    memset(hist, 0, sizeof hist);
    int64_t covered = 0;
    for (int64_t i = 0; i < npx; i++) {
        float c = cnt[i * stride];
        if (c <= 0) continue;
        int b = c < LIN ? (int)c : LIN + (int)(log2f(c / LIN) * LOGB);
        hist[b < NB ? b : NB - 1]++;
        covered++;
    }
    *c90 = *c995 = 1;
    if (!covered) return;
    int64_t want90 = (int64_t)ceil(0.9 * (double)covered), want995 = (int64_t)ceil(0.995 * (double)covered), acc = 0;
    int got90 = 0;
    for (int b = 0; b < NB; b++) {
        acc += hist[b];
        float val = b < LIN ? (float)b : LIN * exp2f((float)(b - LIN) / LOGB);
        if (!got90 && acc >= want90) { *c90 = val; got90 = 1; }
        if (acc >= want995) { *c995 = val; break; }
    }
}

/* After passes, on the GPU renderer: the counts' statistics (the alpha and heat scale
 * follow them) from the accumulation texture. */
static void gl_settle(const av_canvas *c, av_plot *p) {
    const av_plot_key *k = &p->key;
    int64_t px = (int64_t)k->w * k->h;
    float c90 = 1, c995 = 1;
    float *cnt = p->drawn ? av_malloc((size_t)px * sizeof(float)) : NULL;
    if (cnt) {
        av_canvas_read_counts(c, (av_irect){k->x, k->y, k->w, k->h}, cnt);
        count_stats(cnt, px, 1, &c90, &c995);
        free(cnt);
    }
    float scale = p->drawn ? (float)p->n / (float)p->drawn : 1;
    p->c90 = c90 * scale;
    p->c995 = c995 * scale;
    p->stats_due = 0;
}

static av_resolve_params resolve_params(const av_viewer *v, const av_plot *p, const float bg[3]) {
    return (av_resolve_params){{bg[0], bg[1], bg[2]}, av_plot_alpha(p, v->exposure), 1.0f,
                               p->drawn ? (float)p->n / (float)p->drawn : 1, av_plot_heat_max(p, v->exposure),
                               v->heat, p->top_used, v->dark};
}

/* The CPU renderer's resolve of the plots that changed, (plot, row band) tasks on the
 * threads: the counts' statistics first (a task per plot), then the pixels. */
typedef struct {
    const av_viewer *v;
    av_plot *plots;
    const int *list;
    int bands;
    const float *bg;
} resolve_job;

static void stats_task(void *ctx, int i) {
    resolve_job *j = ctx;
    av_plot *p = &j->plots[j->list[i]];
    if (!p->stats_due) return;
    float c90, c995, scale = p->drawn ? (float)p->n / (float)p->drawn : 1;
    count_stats(p->acc[0], (int64_t)p->key.w * p->key.h, 4, &c90, &c995);
    p->c90 = c90 * scale;
    p->c995 = c995 * scale;
    p->stats_due = 0;
}

static void resolve_task(void *ctx, int t) {
    resolve_job *j = ctx;
    av_plot *p = &j->plots[j->list[t / j->bands]];
    int b = t % j->bands, h = p->key.h;
    av_resolve_params rp = resolve_params(j->v, p, j->bg);
    av_resolve_cpu(p, &rp, p->rgba, h * b / j->bands, h * (b + 1) / j->bands);
}

/* The sums of the plots that changed into pixels: on the GPU by the resolve shader; on
 * the CPU renderer by the same arithmetic in C, the pixels then put into the picture
 * (4 bytes a pixel to upload instead of 32 of sums). In direct mode the picture is only
 * the way into the frame. A plot part drawn shows its progress every PROGRESS_S: a
 * resolve costs about what 1.5 M points do, so resolving every frame of a refresh
 * would double its time. */
#define PROGRESS_S 0.25
static void resolve_dirty(av_viewer *v, const av_canvas *c, av_plot *plots, int n, const float bg[3]) {
    int *list = av_malloc((size_t)(n > 0 ? n : 1) * sizeof(int)), m = 0;
    if (!list) return;
    double now = av_now();
    for (int i = 0; i < n; i++) {
        av_plot *p = &plots[i];
        if (!p->valid || !p->dirty) continue;
        if (!v->direct && !p->fresh && p->drawn < p->n && now - p->shown_at < PROGRESS_S) continue;
        p->fresh = 0;
        p->shown_at = now;
        if (v->renderer != AV_RENDERER_CPU) {
            if (p->stats_due) gl_settle(c, p);
            av_resolve_params rp = resolve_params(v, p, bg);
            av_resolve_draw(&v->resolve, c, (av_irect){p->key.x, p->key.y, p->key.w, p->key.h}, &rp,
                            v->direct ? v->target_fbo : c->cache_fbo);
            p->dirty = 0;
            continue;
        }
        int64_t px = (int64_t)p->key.w * p->key.h;
        if (p->rgba_px < px) {
            free(p->rgba);
            p->rgba_px = 0;
            if (!(p->rgba = av_malloc((size_t)px * 4))) {
                snprintf(v->note, sizeof v->note, "%s", av_last_error());
                continue;
            }
            p->rgba_px = px;
        }
        list[m++] = i;
    }
    if (m) {
        resolve_job j = {v, plots, list, m >= av_parallel_threads() ? 1 : av_parallel_threads(), bg};
        av_parallel_for(m, stats_task, &j);
        av_parallel_for(m * j.bands, resolve_task, &j);
        for (int i = 0; i < m; i++) {
            av_plot *p = &plots[list[i]];
            av_irect r = {p->key.x, p->key.y, p->key.w, p->key.h};
            av_canvas_put(c, r, p->rgba);
            if (v->direct) av_canvas_show_rect(c, r, v->target_fbo);
            p->dirty = 0;
        }
    }
    free(list);
}

static int moved(const av_plot_key *a, const av_plot_key *b) {
    return a->x != b->x || a->y != b->y || a->w != b->w || a->h != b->h;
}

void av_plots_frame(av_viewer *v, av_canvas *c, av_plot *plots, const av_plot_key *keys, int n,
                    const float clear[3], const float under[3]) {
    double t0 = av_now();
    int made = av_canvas_ensure(c, v->width, v->height, clear, v->renderer != AV_RENDERER_CPU);
    if (made < 0) {
        snprintf(v->note, sizeof v->note, "%s", av_last_error());
        return;
    }
    if (made) av_plots_invalidate(plots, n);
    if (c->res_exposure != v->exposure || c->res_heat != v->heat) {
        for (int i = 0; i < n; i++) plots[i].dirty = 1;
        c->res_exposure = v->exposure;
        c->res_heat = v->heat;
    }
    /* plots that moved or changed size leave their old pixels in the picture */
    for (int i = 0; i < n && !made; i++)
        if (plots[i].valid && moved(&plots[i].key, &keys[i])) {
            av_canvas_clear_picture(c);
            for (int j = 0; j < n; j++) plots[j].dirty = 1;
            break;
        }
    int64_t fresh = 0;
    int restarted = 0;
    for (int i = 0; i < n; i++) {
        av_plot *p = &plots[i];
        if (!v->direct && p->valid && !memcmp(&p->key, &keys[i], sizeof keys[i])) continue;
        if (restart(v, c, p, &keys[i]) != AV_OK) {
            snprintf(v->note, sizeof v->note, "%s", av_last_error());
            p->valid = 0;
            continue;
        }
        p->passes = -1;
        fresh += p->n;
        restarted = 1;
    }
    if (restarted) {
        int P = passes_for(v, fresh);
        for (int i = 0; i < n; i++)
            if (plots[i].valid && plots[i].passes < 0) plots[i].passes = plots[i].n ? P : 0;
    }

    /* rounds: one pass of every unfinished plot, while the budget lasts (at least one) */
    int *list = av_malloc((size_t)(n > 0 ? n : 1) * sizeof(int));
    int64_t frame_pts = 0;
    while (list) {
        int m = 0;
        int64_t round_pts = 0;
        for (int i = 0; i < n; i++) {
            av_plot *p = &plots[i];
            if (p->valid && p->n && p->done < p->passes) {
                list[m++] = i;
                round_pts += pass_points(p->n, p->done, p->passes);
            }
        }
        if (!m || (v->lod_budget > 0 && frame_pts > 0 && frame_pts + round_pts > v->lod_budget)) break;
        double r0 = av_now();
        if (v->renderer == AV_RENDERER_CPU) {
            if (cpu_round(v, plots, list, m) != AV_OK) {
                snprintf(v->note, sizeof v->note, "%s", av_last_error());
                break;
            }
        } else {
            gl_round(v, c, plots, list, m);
        }
        for (int i = 0; i < m; i++) {
            av_plot *p = &plots[list[i]];
            p->drawn += pass_points(p->n, p->done, p->passes);
            p->done++;
            p->dirty = p->stats_due = 1;
        }
        frame_pts += round_pts;
        double ms = (av_now() - r0) * 1000;
        if (ms > 1) v->rate = 0.7 * v->rate + 0.3 * (double)round_pts / ms;
        if (v->budget_ms > 0 && (av_now() - t0) * 1000 >= v->budget_ms) break;
    }
    free(list);

    /* what changed into the picture (or straight into the frame) */
    resolve_dirty(v, c, plots, n, under);
    int64_t total = 0, shown = 0;
    int passes = 1;
    for (int i = 0; i < n; i++) {
        av_plot *p = &plots[i];
        if (!p->valid) continue;
        total += p->n;
        shown += p->drawn;
        if (p->drawn < p->n && p->passes > passes) passes = p->passes;
    }
    glBindFramebuffer(GL_FRAMEBUFFER, v->target_fbo);
    glViewport(0, 0, v->width, v->height);
    v->points_total = total;
    v->points_shown = shown;
    v->points_drawn = frame_pts;
    v->passes = shown < total ? passes : 1;
    v->pending = shown < total;
    v->work_ms = (av_now() - t0) * 1000;
    if (frame_pts > 0 || restarted) v->refresh_acc += v->work_ms;
    if (!v->pending && v->refresh_acc > 0) {
        v->refresh_ms = v->refresh_acc;
        v->refresh_acc = 0;
    }
}
