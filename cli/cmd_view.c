/* cmd_view.c - `attnviz view`: the interactive viewer window (GLFW + OpenGL 3.3), and
 * `view --live`, which projects one head in a worker thread while the window shows it. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include "base/util.h"
#include "cli/cli.h"
#include "cli/console.h"
#include "kernels/backend/device.h"
#include "viewer/window.h"

static void usage(FILE *f) {
    fprintf(f, "usage: attnviz view RUN [options]\n"
               "       attnviz view --live RUN --head L:H[,L:H...] --method tsne|umap [--dim 2|3] [projection options]\n\n"
               "Opens the interactive viewer on the run folder RUN: the matrix of all heads, a\n"
               "single head (pan, zoom, orbit, hover, click an item for its attention lines,\n"
               "search with /), the sentence view and the image view (v). Needs a display;\n"
               "`attnviz render` draws the same views into PNGs without one.\n\n"
               AV_SESSION_HELP
               "  --size WxH          window size (default 1400x900, less where the screen's work area is smaller)\n"
               "  --script FILE       replay synthetic input from FILE (see viewer/window.h), then exit\n\n"
               "Live projection (--live): the head's t-SNE or UMAP runs while you watch, with the\n"
               "iteration, KL and rate in the bottom bar; when it is done, s saves it into RUN/proj/\n"
               "exactly as `attnviz project RUN --heads L:H` would. Several heads (--head L:H,L:H)\n"
               "project side by side (up to 16), shown in the matrix view.\n"
               "  --perplexity P      t-SNE perplexity (default 30)\n"
               "  --iters N           t-SNE iterations (default 1000) or UMAP epochs (default auto)\n"
               "  --neighbors K       UMAP neighbours (default 15)\n"
               "  --seed S            random seed\n"
               "  --metric cosine|euclidean, --no-translate, --scale   as for `attnviz project`\n"
               "  --device auto|cpu|cuda   where the projection runs (auto: the GPU when there is one)\n"
               "  --interop auto|off  on the GPU, write each shown iteration straight into the viewer's\n"
               "                      point buffer (CUDA-OpenGL interop) where possible (auto), or always\n"
               "                      copy it through the host (off); the bottom bar says which\n");
}

int av_cli_view_job(const char *run_dir) {
    av_session_opts o;
    av_session_defaults(&o);
    o.run = run_dir;
    if (av_window_run(&o, 0, 0, NULL, stdout) != AV_OK) return av_cli_fail("view", "%s", av_last_error());
    return 0;
}

int av_cmd_view(int argc, char **argv) {
    static const struct option longopts[] = {
        AV_SESSION_LONGOPTS,
        {"size", required_argument, 0, 's'}, {"script", required_argument, 0, 'X'},
        {"live", no_argument, 0, AV_OPT_LIVE}, AV_PROJECT_PARAM_LONGOPTS,
        {"device", required_argument, 0, AV_OPT_DEVICE}, {"interop", required_argument, 0, AV_OPT_INTEROP},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    av_session_opts o;
    av_session_defaults(&o);
    /* the live projection's parameters, as `attnviz project` takes them */
    av_cli_project live_proj;
    av_cli_project_defaults(&live_proj);
    av_live_opts live;
    memset(&live, 0, sizeof live);
    int is_live = 0, interop = 1, interop_given = 0;
    const char *script = NULL, *device = "auto";
    int W = 0, H = 0;  /* the window's default, fitted to the screen */
    int c;
    const char *head_list = NULL;  /* --head L:H,L:H,... (--live only) */
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (c == AV_OPT_HEAD && strchr(optarg, ',')) {
            head_list = optarg;
            o.head = NULL;
            continue;
        }
        if (c == AV_OPT_HEAD) head_list = NULL;  /* the last --head counts */
        int r = av_cli_session_option("view", c, optarg, &o);
        if (r == 2) return 2;
        if (r == 0) continue;
        r = av_cli_project_option("view", c, optarg, &live_proj);
        if (r == 2) return 2;
        if (r == 0) continue;
        switch (c) {
        case 'X': script = optarg; break;
        case 's': {
            char extra;
            if (sscanf(optarg, "%dx%d%c", &W, &H, &extra) != 2 || W < 200 || H < 150 || W > 16384 || H > 16384)
                return av_cli_usage("view", "--size wants WxH, at least 200x150 (got '%s')", optarg);
            break;
        }
        case AV_OPT_LIVE: is_live = 1; break;
        case AV_OPT_DEVICE: device = optarg; live_proj.given = 1; break;
        case AV_OPT_INTEROP:
            if (strcmp(optarg, "auto") && strcmp(optarg, "off"))
                return av_cli_usage("view", "--interop wants auto or off (got '%s')", optarg);
            interop = !strcmp(optarg, "auto");
            interop_given = 1;
            break;
        case 'h': usage(stdout); return 0;
        default: return av_cli_usage("view", "unknown option");
        }
    }
    if (optind != argc - 1) return av_cli_usage("view", "expected one run folder");
    o.run = argv[optind];
    if (!is_live) {
        if (head_list) return av_cli_usage("view", "several heads (--head %s) need --live", head_list);
        if (live_proj.given || interop_given)
            return av_cli_usage("view", "projection options (--perplexity, --iters, --interop, ...) need --live");
        if (av_window_run(&o, W, H, script, stdout) != AV_OK) return av_cli_fail("view", "%s", av_last_error());
        return 0;
    }
    /* --live: the method and head are required; the window opens on the single view */
    if (!o.method || (strcmp(o.method, "tsne") && strcmp(o.method, "umap")))
        return av_cli_usage("view", "--live needs --method tsne or --method umap");
    if (!o.head && !head_list) return av_cli_usage("view", "--live needs --head L:H");
    av_project_opts *lp = &live_proj.opts;
    lp->method = !strcmp(o.method, "tsne") ? AV_PROJ_TSNE : AV_PROJ_UMAP;
    lp->dim = lp->tsne.dim = lp->umap.dim = o.dim ? o.dim : 2;
    av_cli_project_apply_iters(&live_proj);
    live.proj = *lp;
    live.interop = interop;
    /* --head L:H[,L:H...]: several heads project side by side, shown in the matrix */
    for (const char *h = head_list ? head_list : o.head; *h;) {
        int l, hh, used = 0;
        if (sscanf(h, "%d:%d%n", &l, &hh, &used) != 2 || (h[used] && h[used] != ',') || (h[used] == ',' && !h[used + 1]))
            return av_cli_usage("view", "--head wants L:H or, with --live, L:H,L:H,... (got '%s')", head_list ? head_list : o.head);
        if (live.count == AV_LIVE_MAX_HEADS)
            return av_cli_usage("view", "--live projects at most %d heads at once", AV_LIVE_MAX_HEADS);
        for (int k = 0; k < live.count; k++)
            if (live.heads[2 * k] == l && live.heads[2 * k + 1] == hh)
                return av_cli_usage("view", "--head names %d:%d twice", l, hh);
        live.heads[2 * live.count] = l;
        live.heads[2 * live.count + 1] = hh;
        live.count++;
        h += used + (h[used] == ',');
    }
    if (av_device_choose(device, &live.proj.device, NULL, 0) != AV_OK) return av_cli_fail("view", "%s", av_last_error());
    /* saving the finished projection into the run says what `attnviz project` says */
    av_console con;
    av_console_init(&con, "project", 0);
    live.proj.ctx = &con.ctx;
    o.method = NULL; /* the live projection is not looked for on disk */
    o.dim = 0;
    if (!o.view) o.view = live.count > 1 ? "matrix" : "single";
    if (av_window_run_live(&o, W, H, script, &live, stdout) != AV_OK) return av_cli_fail("view", "%s", av_last_error());
    return 0;
}
