/* session_opts.c - parsing of the options render and view share (session_opts.h). */
#include "cli/session_opts.h"

#include <stdio.h>
#include <string.h>
#include "base/util.h"
#include "cli/cli.h"

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
    case AV_OPT_DENSITY: o->density = 1; return 1;
    case AV_OPT_EXPOSURE:
        if (av_cli_double(cmd, "--exposure", arg, 1.0 / 64, 64, &o->exposure)) return 2;
        return 1;
    case AV_OPT_RENDERER:
        if (av_renderer_parse(arg, &o->renderer) != AV_OK) return av_cli_usage(cmd, "%s", av_last_error());
        return 1;
    default: return 0;
    }
}
