/* cmd_render.c - `attnviz render`: draws one view of a run into a PNG without any
 * display (EGL surfaceless, Mesa's software renderer when there is no GPU). The same
 * drawing code as the window, so the PNG is what `attnviz view` shows. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include "cli/cli.h"
#include "base/util.h"
#include "viewer/gl.h"
#include "viewer/headless.h"
#include "viewer/png.h"

static void usage(FILE *f) {
    fprintf(f, "usage: attnviz render RUN [options] -o FILE.png\n\n"
               "Draws one view of the run folder RUN into a PNG, without a display.\n\n"
               AV_SESSION_HELP
               "  --size WxH          picture size in pixels (default 1600x1000)\n"
               "  --state             print the viewer state as JSON on stdout (selection, hits, lines drawn)\n"
               "  --frames N          benchmark: print the mean times (ms) of N frames of each kind: full_ms\n"
               "                      every point from nothing in one frame, hover_ms a pointer move,\n"
               "                      pan_ms the first frame after a pan (single view; the matrix: a colour\n"
               "                      change) drawn with the window's budget, detail_ms from that change\n"
               "                      until every point is shown again; open_ms the run's loading; gpu_mb\n"
               "                      the GPU memory the viewer took; the OpenGL renderer; *_cpu_ms the\n"
               "                      same in CPU time of all the process's threads\n"
               "  -o FILE.png         the picture (written atomically)\n");
}

/* CPU time of the process in ms, all threads (the software renderer's included): the
 * figure that holds when other programs share the machine. */
static double cpu_ms(void) {
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e3 + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e3;
}

typedef struct { double wall, cpu; } span;

static void timed_frame(av_viewer *v, int W, int H, span *acc) {
    double t0 = av_now(), c0 = cpu_ms();
    av_viewer_draw(v, W, H);
    glFinish();
    acc->wall += (av_now() - t0) * 1000;
    acc->cpu += cpu_ms() - c0;
}

/* GPU memory the viewer took: positions, per-token colours and flags, the two views'
 * accumulation textures and pictures (the norms too when they were needed). */
static double gpu_mb(const av_viewer *v) {
    double b = (double)v->pos_bytes + (double)(v->vd->T + 1) * 5;
    for (int i = 0; i < 2; i++) b += (double)v->canvas[i].w * v->canvas[i].h * (v->canvas[i].acc_fbo ? 2 * 16 + 4 : 4);
    if (v->norm_tex) b += (double)v->vd->run.num_layers * v->vd->run.num_heads * 2 * v->vd->T * 4;
    return b / 1e6;
}

/* --frames: the frame times bench/bench_viewer.sh reports, on whatever GL this is. */
static void bench(av_viewer *v, int W, int H, long frames, double open_ms) {
    int64_t lod = v->lod_budget;
    double budget = v->budget_ms;
    av_color_mode color = v->color;
    span full = {0, 0}, hover = {0, 0}, pan = {0, 0}, detail = {0, 0};
    v->lod_budget = 0;
    v->budget_ms = 0;
    for (long i = 0; i < frames; i++) {  /* every point, from nothing, in one frame */
        av_viewer_invalidate(v);
        timed_frame(v, W, H, &full);
    }
    int64_t points = v->points_total;
    for (long i = 0; i < frames; i++) {  /* the pointer moves: over other cells, or other points */
        if (v->view == AV_VIEW_MATRIX) {
            int L = v->vd->run.num_layers, Hh = v->vd->run.num_heads;
            float x, y;
            av_viewer_cell_center(v, (int)(i % L), (int)((i * 5) % Hh), &x, &y);
            av_viewer_mouse(v, x, y);
        } else {
            av_viewer_mouse(v, (float)W / 2 + (float)(i % 20) * 9, (float)H / 2 + (float)(i % 7) * 5);
        }
        timed_frame(v, W, H, &hover);
    }
    v->budget_ms = AV_FRAME_BUDGET_MS;  /* as the window draws */
    for (long i = 0; i < frames; i++) {
        if (v->view == AV_VIEW_MATRIX) av_viewer_set_color(v, i % 2 ? color : color == AV_COLOR_QK ? AV_COLOR_POSITION : AV_COLOR_QK);
        else av_viewer_drag(v, 7, 3, 0);
        double t0 = av_now(), c0 = cpu_ms();
        timed_frame(v, W, H, &pan);
        while (v->pending) av_viewer_draw(v, W, H);
        glFinish();
        detail.wall += (av_now() - t0) * 1000;
        detail.cpu += cpu_ms() - c0;
    }
    av_viewer_set_color(v, color);
    v->lod_budget = lod;
    v->budget_ms = budget;
    av_viewer_finish(v, W, H);
    const char *gl = (const char *)glGetString(GL_RENDERER);
    double n = (double)frames;
    printf("frame_ms %.3f full_ms %.3f hover_ms %.3f pan_ms %.3f detail_ms %.3f open_ms %.1f "
           "full_cpu_ms %.1f hover_cpu_ms %.1f pan_cpu_ms %.1f detail_cpu_ms %.1f view %s points %lld "
           "stride %d size %dx%d renderer %s gpu_mb %.1f gl \"%s\"\n", full.wall / n, full.wall / n, hover.wall / n,
           pan.wall / n, detail.wall / n, open_ms, full.cpu / n, hover.cpu / n, pan.cpu / n, detail.cpu / n,
           av_view_name(v->view), (long long)points, v->passes, W, H, av_renderer_name(v->renderer), gpu_mb(v),
           gl ? gl : "?");
}

int av_cmd_render(int argc, char **argv) {
    static const struct option longopts[] = {
        AV_SESSION_LONGOPTS,
        {"size", required_argument, 0, 's'}, {"state", no_argument, 0, 'S'},
        {"frames", required_argument, 0, 'F'}, {"output", required_argument, 0, 'o'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    av_session_opts o;
    av_session_defaults(&o);
    const char *out = NULL;
    int W = 1600, H = 1000, print_state = 0;
    long frames = 0;
    int c;
    while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        int r = av_cli_session_option("render", c, optarg, &o);
        if (r == 2) return 2;
        if (r == 0) continue;
        switch (c) {
        case 'o': out = optarg; break;
        case 'S': print_state = 1; break;
        case 'F': if (av_cli_int("render", "--frames", optarg, 1, 100000, &frames)) return 2; break;
        case 's': {
            char extra;
            if (sscanf(optarg, "%dx%d%c", &W, &H, &extra) != 2 || W < 64 || H < 64 || W > 16384 || H > 16384)
                return av_cli_usage("render", "--size wants WxH between 64 and 16384 (got '%s')", optarg);
            break;
        }
        case 'h': usage(stdout); return 0;
        default: return av_cli_usage("render", "unknown option");
        }
    }
    if (optind != argc - 1) return av_cli_usage("render", "expected one run folder");
    if (!out) return av_cli_usage("render", "missing -o FILE.png");
    /* the picture is always a PNG: a .jpg name would hold PNG bytes that some
     * programs then refuse to open */
    size_t olen = strlen(out);
    if (olen < 5 || strcasecmp(out + olen - 4, ".png"))
        return av_cli_usage("render", "%s: the picture is a PNG; name it FILE.png", out);
    o.run = argv[optind];
    /* fail before drawing when the picture cannot be written where asked */
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", out);
    char *slash = strrchr(dir, '/');
    if (slash) {
        *slash = 0;
        if (*dir && !av_is_dir(dir)) return av_cli_fail("render", "%s: folder %s does not exist", out, dir);
    }

    av_vdata vd;
    int proj;
    double t_open = av_now();
    if (av_session_open(&o, &vd, &proj) != AV_OK) return av_cli_fail_last();
    av_headless hl;
    if (av_headless_open(&hl, W, H) != AV_OK) { av_vdata_close(&vd); return av_cli_fail_last(); }
    av_viewer v;
    int rc = 2;
    uint8_t *px = NULL;
    if (av_viewer_init(&v, &vd) != AV_OK) goto done_gl;
    v.target_fbo = hl.fbo;
    if (av_session_apply(&o, &v, proj) != AV_OK) goto done;
    v.width = W;  /* the layout's size before the first frame (the matrix cells) */
    v.height = H;
    double open_ms = (av_now() - t_open) * 1000;
    av_viewer_draw(&v, W, H);
    /* what the window shows in its status line (e.g. tokens left out of the attention
     * for non-finite q/k) would be lost in a picture: said on stderr instead */
    if (v.note[0]) fprintf(stderr, "attnviz render: warning: %s\n", v.note);
    if (frames > 0) bench(&v, W, H, frames, open_ms);
    px = av_malloc((size_t)W * H * 4);
    if (!px) goto done;
    av_headless_read(&hl, px);
    if (av_png_write_rgba(out, W, H, px) != AV_OK) goto done;
    if (print_state) {
        cJSON *s = av_viewer_state(&v);
        cJSON_AddStringToObject(s, "image_error", v.img_err);
        char *txt = cJSON_PrintUnformatted(s);
        printf("%s\n", txt);
        free(txt);
        cJSON_Delete(s);
    }
    rc = 0;
done:
    free(px);
    av_viewer_free(&v);
done_gl:
    if (rc) av_cli_fail_last();
    av_headless_close(&hl);
    av_vdata_close(&vd);
    return rc;
}
