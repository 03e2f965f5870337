/* cmd_render.c - `attnviz render`: draws one view of a run into a PNG without any
 * display (EGL surfaceless, Mesa's software renderer when there is no GPU). The same
 * drawing code as the window, so the PNG is what `attnviz view` shows. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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
               "  --frames N          benchmark: draw N frames and print the mean frame time\n"
               "  -o FILE.png         the picture (written atomically)\n");
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
    if (av_session_open(&o, &vd, &proj) != AV_OK) return av_cli_fail_last();
    av_headless hl;
    if (av_headless_open(&hl, W, H) != AV_OK) { av_vdata_close(&vd); return av_cli_fail_last(); }
    av_viewer v;
    int rc = 2;
    uint8_t *px = NULL;
    if (av_viewer_init(&v, &vd) != AV_OK) goto done_gl;
    v.target_fbo = hl.fbo;
    if (av_session_apply(&o, &v, proj) != AV_OK) goto done;
    av_viewer_draw(&v, W, H);
    if (frames > 0) {
        glFinish();
        double t0 = av_now();
        for (long i = 0; i < frames; i++) av_viewer_draw(&v, W, H);
        glFinish();
        double ms = (av_now() - t0) * 1000.0 / (double)frames;
        printf("frame_ms %.3f view %s points %lld stride %d size %dx%d\n", ms, av_view_name(v.view),
               (long long)(2 * vd.T * (v.view == AV_VIEW_MATRIX ? (int64_t)vd.run.num_layers * vd.run.num_heads : 1)),
               v.lod_stride, W, H);
    }
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
