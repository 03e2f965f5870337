/* cmd_run.c - `attnviz run MODEL_DIR DATA [-o RUN] [options] [--view]`: extract, then
 * project, then stats, then (with --view) the viewer, in one go. The later steps are run
 * through their own subcommands (av_cmd_project, av_cmd_stats, av_cmd_view) with the
 * options meant for them, so `run` behaves exactly like the commands typed one by one. */
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"
#include "engine/extract.h"
#include "base/util.h"

static const char *usage_text =
    "usage: attnviz run MODEL_DIR DATA [-o RUN] [options] [--view]\n"
    "\n"
    "Extract (see attnviz extract --help), then project every head (attnviz project), then\n"
    "compute the head statistics (attnviz stats) into one run folder; --view opens it.\n"
    "\n"
    "options:\n"
    "  -o, --output RUN      the run folder (default: runs/<model>-<data>)\n"
    AV_EXTRACT_OPTIONS_HELP
    "  --method, --dim, --heads, --perplexity, --tsne-method, --neighbors, --iters, --seed,\n"
    "  --no-translate, --scale, --metric, --knn, --quality   passed to attnviz project\n"
    "                        (see its --help); --quiet quiets it too\n"
    "  --view                open the viewer on the finished run\n"
    "  -h, --help            this text\n";

enum { OPT_VIEW = 2000, OPT_PROJECT_ARG, OPT_PROJECT_FLAG };

int av_cmd_run(int argc, char **argv) {
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {"view", no_argument, NULL, OPT_VIEW},
        AV_EXTRACT_LONGOPTS,
        {"method", required_argument, NULL, OPT_PROJECT_ARG},
        {"dim", required_argument, NULL, OPT_PROJECT_ARG},
        {"heads", required_argument, NULL, OPT_PROJECT_ARG},
        {"perplexity", required_argument, NULL, OPT_PROJECT_ARG},
        {"tsne-method", required_argument, NULL, OPT_PROJECT_ARG},
        {"neighbors", required_argument, NULL, OPT_PROJECT_ARG},
        {"iters", required_argument, NULL, OPT_PROJECT_ARG},
        {"seed", required_argument, NULL, OPT_PROJECT_ARG},
        {"no-translate", no_argument, NULL, OPT_PROJECT_FLAG},
        {"scale", no_argument, NULL, OPT_PROJECT_FLAG},
        {"metric", required_argument, NULL, OPT_PROJECT_ARG},
        {"knn", required_argument, NULL, OPT_PROJECT_ARG},
        {"quality", no_argument, NULL, OPT_PROJECT_FLAG},
        {NULL, 0, NULL, 0},
    };
    av_extract_opts o;
    av_extract_defaults(&o);
    const char *out = NULL;
    int view = 0, c, idx = 0, rc = 2, nnames = 0, pargc = 2;
    /* project's argv: "project" RUN [options meant for it...] --device D */
    char **pargv = calloc((size_t)argc * 2 + 8, sizeof(char *));
    char (*names)[40] = calloc((size_t)argc + 1, sizeof *names); /* "--<option>" spellings */
    if (!pargv || !names) {
        rc = av_cli_fail("run", "out of memory");
        goto done;
    }
    while ((c = getopt_long(argc, argv, ":o:h", longopts, &idx)) != -1) {
        if (c == 'o') out = optarg;
        else if (c == 'h') {
            fputs(usage_text, stdout);
            rc = 0;
            goto done;
        } else if (c == OPT_VIEW) view = 1;
        else if (c == OPT_PROJECT_ARG || c == OPT_PROJECT_FLAG) {
            snprintf(names[nnames], sizeof names[nnames], "--%s", longopts[idx].name);
            pargv[pargc++] = names[nnames++];
            if (c == OPT_PROJECT_ARG) pargv[pargc++] = optarg;
        } else if (c == ':') {
            rc = av_cli_usage("run", "%s needs a value", argv[optind - 1]);
            goto done;
        } else if (c == '?') {
            rc = av_cli_usage("run", "unknown option '%s'", argv[optind - 1]);
            goto done;
        } else if (av_cli_extract_option("run", c, optarg, &o)) {
            goto done;
        }
    }
    if (argc - optind != 2) {
        rc = av_cli_usage("run", "expected MODEL_DIR and DATA, got %d argument%s", argc - optind,
                          argc - optind == 1 ? "" : "s");
        goto done;
    }
    const char *model = argv[optind], *data = argv[optind + 1];
    char def[4096];
    if (!out) { /* runs/<model folder name>-<data name without extension> */
        char m[2048], d[2048];
        snprintf(m, sizeof m, "%s", model);
        snprintf(d, sizeof d, "%s", data);
        char *mb = basename(m), *db = basename(d), *dot = strrchr(db, '.');
        if (dot && dot != db) *dot = 0;
        snprintf(def, sizeof def, "runs/%s-%s", mb, db);
        out = def;
    }
    /* an earlier run there (perhaps stopped in its projection): say how to go on with it,
     * not only that it is there */
    char man[4200];
    snprintf(man, sizeof man, "%s/manifest.json", out);
    if (!o.force && av_file_exists(man)) {
        rc = av_cli_fail("run", "%s: already exists (--force replaces it; `attnviz project %s` resumes or "
                         "extends its projection, `attnviz stats %s` its statistics)", out, out, out);
        goto done;
    }
    av_extract_result res;
    if (av_extract(model, data, out, &o, &res)) {
        rc = av_cli_fail_extract();
        goto done;
    }
    if (res.f16_overflow)
        fprintf(stderr, "attnviz run: warning: %lld values exceed the f16 range and are stored as +-inf; "
                        "rerun with --dtype f32\n", (long long)res.f16_overflow);
    if (!o.quiet)
        fprintf(stderr, "attnviz run: extracted %lld items, %lld tokens into %s\n", (long long)res.items,
                (long long)res.tokens, out);
    pargv[0] = "project";
    pargv[1] = (char *)out;
    pargv[pargc++] = "--device";
    pargv[pargc++] = (char *)o.device;
    if (o.quiet) pargv[pargc++] = "--quiet";
    pargv[pargc] = NULL;
    av_cli_reset_getopt();
    if (av_cmd_project(pargc, pargv)) {
        rc = av_cli_fail("run", "project failed; %s holds the extraction (run attnviz project/stats on it)", out);
        goto done;
    }
    char *sargv[] = {"stats", (char *)out, NULL};
    av_cli_reset_getopt();
    if (av_cmd_stats(2, sargv)) {
        rc = av_cli_fail("run", "stats failed on %s", out);
        goto done;
    }
    rc = 0;
    if (!o.quiet && !view)
        fprintf(stderr, "attnviz run: done; look at it with `attnviz view %s` or `attnviz render %s -o matrix.png`\n",
                out, out);
    if (view) {
        char *vargv[] = {"view", (char *)out, NULL};
        av_cli_reset_getopt();
        rc = av_cmd_view(2, vargv);
    }
done:
    free(pargv);
    free(names);
    return rc;
}
