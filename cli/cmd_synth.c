/* cmd_synth.c - `attnviz synth`: writes a synthetic vision probe set (datasets/synth.h)
 * that `attnviz extract` can read as an image folder, with params.jsonl beside it. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include "datasets/synth.h"
#include "cli/cli.h"
#include "cli/console.h"
#include "engine/context.h"
#include "base/util.h"

static void usage(void) {
    printf("usage: attnviz synth --kind KIND -n N -o DIR [--size PX] [--seed S] [--force]\n\n"
           "Writes N images per kind as DIR/<kind>/<kind>_NNNNN.png and DIR/params.jsonl\n"
           "(one line per image, in file order: its kind and generating parameters).\n\n"
           "  --kind KIND   hue | brightness | frequency | angle | checker | all,\n"
           "                or a comma list (hue,angle)\n"
           "                  hue: solid colours and hue gradients over 0..360 degrees\n"
           "                  brightness: grey levels over 0..1\n"
           "                  frequency: sinusoidal gratings, 1 cycle per image to 1 per 4 px\n"
           "                  angle: 16 px gratings with stripe angles over 0..180 degrees\n"
           "                  checker: checkerboards with 2..32 squares per side\n"
           "  -n N          images per kind (1..%d)\n"
           "  -o DIR        output folder; refused if it exists, unless --force\n"
           "  --size PX     image side in pixels (default 224, %d..%d)\n"
           "  --seed S      the same seed gives the same images (default 0)\n"
           "  --force       replace an existing DIR made by attnviz synth (the old one stays until\n"
           "                the new one is complete); any other folder is refused\n",
           AV_SYNTH_MAX_N, AV_SYNTH_MIN_SIZE, AV_SYNTH_MAX_SIZE);
}

static void tick(void *ctx) { av_progress_add(ctx, 1); }

int av_cmd_synth(int argc, char **argv) {
    static const struct option longopts[] = {
        {"kind", required_argument, 0, 'k'}, {"n", required_argument, 0, 'n'},
        {"output", required_argument, 0, 'o'}, {"size", required_argument, 0, 's'},
        {"seed", required_argument, 0, 'S'}, {"force", no_argument, 0, 'f'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    av_synth_opts o = {0};
    o.size = 224;
    const char *kind = NULL, *out = NULL;
    long v;
    int c;
    while ((c = getopt_long(argc, argv, ":n:o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'k': kind = optarg; break;
        case 'n':
            if (av_cli_int("synth", "-n", optarg, 1, AV_SYNTH_MAX_N, &v)) return 2;
            o.n = (int)v;
            break;
        case 'o': out = optarg; break;
        case 's':
            if (av_cli_int("synth", "--size", optarg, AV_SYNTH_MIN_SIZE, AV_SYNTH_MAX_SIZE, &v)) return 2;
            o.size = (int)v;
            break;
        case 'S':
            if (av_cli_int("synth", "--seed", optarg, 0, 0x7FFFFFFFFFFFFFFFL, &v)) return 2;
            o.seed = (uint64_t)v;
            break;
        case 'f': o.force = 1; break;
        case 'h': usage(); return 0;
        case ':': return av_cli_usage("synth", "%s needs a value", argv[optind - 1]);
        default: return av_cli_usage("synth", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return av_cli_usage("synth", "unexpected argument '%s'", argv[optind]);
    if (!kind) return av_cli_usage("synth", "--kind is required");
    if (!o.n) return av_cli_usage("synth", "-n is required");
    if (!out) return av_cli_usage("synth", "-o DIR is required");
    if (av_synth_kinds_parse(kind, &o.kinds) != AV_OK) return av_cli_usage("synth", "%s", av_last_error());
    int kinds = 0;
    for (unsigned m = o.kinds; m; m >>= 1) kinds += m & 1;
    av_console con;
    av_console_init(&con, "synth", 0);
    av_progress prog;
    av_progress_start(&prog, &con.ctx, "synth", "images", (int64_t)kinds * o.n, 0);
    o.on_image = tick;
    o.ctx = &prog;
    if (av_synth_write(out, &o) != AV_OK) return av_cli_fail_last();
    char note[4200];
    snprintf(note, sizeof note, "%d kind(s) x %d, %d px, seed %llu -> %s", kinds, o.n, o.size,
             (unsigned long long)o.seed, out);
    av_progress_end(&prog, note);
    return 0;
}
