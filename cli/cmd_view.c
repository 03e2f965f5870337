/* cmd_view.c - `attnviz view`: the interactive viewer window (GLFW + OpenGL 3.3), and
 * `view --live`, which projects one head in a worker thread while the window shows it. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include "cli/cli.h"
#include "base/util.h"
#include "cli/session_opts.h"
#include "kernels/backend/device.h"
#include "viewer/window.h"

static void usage(FILE *f) {
    fprintf(f, "usage: attnviz view RUN [options]\n"
               "       attnviz view --live RUN --head L:H --method tsne|umap [--dim 2|3] [projection options]\n\n"
               "Opens the interactive viewer on the run folder RUN: the matrix of all heads, a\n"
               "single head (pan, zoom, orbit, hover, click an item for its attention lines,\n"
               "search with /), the sentence view and the image view (v). Needs a display;\n"
               "`attnviz render` draws the same views into PNGs without one.\n\n"
               AV_SESSION_HELP
               "  --size WxH          window size (default 1400x900)\n"
               "  --script FILE       replay synthetic input from FILE (see viewer/window.h), then exit\n\n"
               "Live projection (--live): the head's t-SNE or UMAP runs while you watch, with the\n"
               "iteration, KL and rate in the bottom bar; when it is done, s saves it into RUN/proj/\n"
               "exactly as `attnviz project RUN --heads L:H` would.\n"
               "  --perplexity P      t-SNE perplexity (default 30)\n"
               "  --iters N           t-SNE iterations (default 1000) or UMAP epochs (default auto)\n"
               "  --neighbors K       UMAP neighbours (default 15)\n"
               "  --seed S            random seed\n"
               "  --metric cosine|euclidean, --no-translate, --scale   as for `attnviz project`\n"
               "  --device auto|cpu|cuda   where the projection runs (auto: the GPU when there is one)\n");
}

int av_cmd_view(int argc, char **argv) {
    enum { O_LIVE = 2000, O_PERP, O_ITERS, O_NB, O_SEED, O_METRIC, O_NOTRANS, O_SCALE, O_DEVICE };
    static const struct option longopts[] = {
        AV_SESSION_LONGOPTS,
        {"size", required_argument, 0, 's'}, {"script", required_argument, 0, 'X'},
        {"live", no_argument, 0, O_LIVE}, {"perplexity", required_argument, 0, O_PERP},
        {"iters", required_argument, 0, O_ITERS}, {"neighbors", required_argument, 0, O_NB},
        {"seed", required_argument, 0, O_SEED}, {"metric", required_argument, 0, O_METRIC},
        {"no-translate", no_argument, 0, O_NOTRANS}, {"scale", no_argument, 0, O_SCALE},
        {"device", required_argument, 0, O_DEVICE}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    av_session_opts o;
    av_session_defaults(&o);
    av_live_opts live;
    memset(&live, 0, sizeof live);
    av_project_defaults(&live.proj);
    int is_live = 0, proj_opts = 0;
    const char *script = NULL, *device = "auto";
    int W = 1400, H = 900;
    long iters = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        int r = av_session_option(&o, "view", c, optarg);
        if (r == 2) return 2;
        if (r == 1) continue;
        long v;
        double x;
        switch (c) {
        case 'X': script = optarg; break;
        case 's': {
            char extra;
            if (sscanf(optarg, "%dx%d%c", &W, &H, &extra) != 2 || W < 200 || H < 150 || W > 16384 || H > 16384)
                return av_cli_usage("view", "--size wants WxH, at least 200x150 (got '%s')", optarg);
            break;
        }
        case O_LIVE: is_live = 1; break;
        case O_PERP:
            if (av_cli_double("view", "--perplexity", optarg, 1, 10000, &x)) return 2;
            live.proj.tsne.perplexity = x;
            proj_opts = 1;
            break;
        case O_ITERS:
            if (av_cli_int("view", "--iters", optarg, 1, 1000000, &iters)) return 2;
            proj_opts = 1;
            break;
        case O_NB:
            if (av_cli_int("view", "--neighbors", optarg, 2, 1000, &v)) return 2;
            live.proj.umap.n_neighbors = (int)v;
            proj_opts = 1;
            break;
        case O_SEED:
            if (av_cli_int("view", "--seed", optarg, 0, 2147483647L, &v)) return 2;
            live.proj.tsne.seed = live.proj.umap.seed = (uint64_t)v;
            proj_opts = 1;
            break;
        case O_METRIC:
            if (!strcmp(optarg, "euclidean")) live.proj.tsne.metric = live.proj.umap.metric = AV_METRIC_EUCLIDEAN;
            else if (!strcmp(optarg, "cosine")) live.proj.tsne.metric = live.proj.umap.metric = AV_METRIC_COSINE;
            else return av_cli_usage("view", "--metric must be euclidean or cosine, got '%s'", optarg);
            proj_opts = 1;
            break;
        case O_NOTRANS: live.proj.translate = 0; proj_opts = 1; break;
        case O_SCALE: live.proj.scale = 1; proj_opts = 1; break;
        case O_DEVICE: device = optarg; proj_opts = 1; break;
        case 'h': usage(stdout); return 0;
        default: return av_cli_usage("view", "unknown option");
        }
    }
    if (optind != argc - 1) return av_cli_usage("view", "expected one run folder");
    o.run = argv[optind];
    if (!is_live) {
        if (proj_opts) return av_cli_usage("view", "projection options (--perplexity, --iters, ...) need --live");
        if (av_window_run(&o, W, H, script) != AV_OK) return av_cli_fail("view", "%s", av_last_error());
        return 0;
    }
    /* --live: the method and head are required; the window opens on the single view */
    if (!o.method || (strcmp(o.method, "tsne") && strcmp(o.method, "umap")))
        return av_cli_usage("view", "--live needs --method tsne or --method umap");
    if (!o.head) return av_cli_usage("view", "--live needs --head L:H");
    live.proj.method = !strcmp(o.method, "tsne") ? AV_PROJ_TSNE : AV_PROJ_UMAP;
    live.proj.dim = live.proj.tsne.dim = live.proj.umap.dim = o.dim ? o.dim : 2;
    if (iters) {
        if (live.proj.method == AV_PROJ_TSNE) {
            live.proj.tsne.iters = (int)iters;
            if (live.proj.tsne.early_iters > iters) live.proj.tsne.early_iters = (int)iters; /* as project does */
        } else {
            live.proj.umap.epochs = (int)iters;
        }
    }
    if (sscanf(o.head, "%d:%d", &live.layer, &live.head) != 2) return av_cli_usage("view", "--head wants L:H");
    if (av_device_choose(device, 1, &live.proj.device) != AV_OK) return av_cli_fail("view", "%s", av_last_error());
    o.method = NULL; /* the live projection is not looked for on disk */
    o.dim = 0;
    if (!o.view) o.view = "single";
    if (av_window_run_live(&o, W, H, script, &live) != AV_OK) return av_cli_fail("view", "%s", av_last_error());
    return 0;
}
