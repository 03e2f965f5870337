/* cmd_view.c - `attnviz view`: the interactive viewer window (GLFW + OpenGL 3.3). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include "host/cli.h"
#include "host/util.h"
#include "viewer/window.h"

static void usage(FILE *f) {
    fprintf(f, "usage: attnviz view RUN [options]\n\n"
               "Opens the interactive viewer on the run folder RUN: the matrix of all heads, a\n"
               "single head (pan, zoom, orbit, hover, click an item for its attention lines,\n"
               "search with /), the sentence view and the image view (v). Needs a display;\n"
               "`attnviz render` draws the same views into PNGs without one.\n\n"
               AV_SESSION_HELP
               "  --size WxH          window size (default 1400x900)\n"
               "  --script FILE       replay synthetic input from FILE (see viewer/window.h), then exit\n");
}

int av_cmd_view(int argc, char **argv) {
    static const struct option longopts[] = {
        AV_SESSION_LONGOPTS,
        {"size", required_argument, 0, 's'}, {"script", required_argument, 0, 'X'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    av_session_opts o;
    av_session_defaults(&o);
    const char *script = NULL;
    int W = 1400, H = 900;
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        int r = av_session_option(&o, "view", c, optarg);
        if (r == 2) return 2;
        if (r == 1) continue;
        switch (c) {
        case 'X': script = optarg; break;
        case 's': {
            char extra;
            if (sscanf(optarg, "%dx%d%c", &W, &H, &extra) != 2 || W < 200 || H < 150 || W > 16384 || H > 16384)
                return av_cli_usage("view", "--size wants WxH, at least 200x150 (got '%s')", optarg);
            break;
        }
        case 'h': usage(stdout); return 0;
        default: return av_cli_usage("view", "unknown option");
        }
    }
    if (optind != argc - 1) return av_cli_usage("view", "expected one run folder");
    o.run = argv[optind];
    if (av_window_run(&o, W, H, script) != AV_OK) return av_cli_fail("view", "%s", av_last_error());
    return 0;
}
