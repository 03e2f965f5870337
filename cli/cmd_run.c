/* cmd_run.c - `attnviz run MODEL_DIR DATA [-o RUN] [options] [--view]`: extract, then
 * project, then stats, then (with --view) the viewer, in one go. Each step is the job the
 * single command runs (cli/cli.h), with the options meant for it, so `run` behaves like
 * the commands typed one by one; its options are all checked before the first step. */
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/util.h"
#include "cli/cli.h"
#include "engine/dist.h"

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

/* The projection step: the run's heads are known now. A stopped projection names the
 * `attnviz project` command that resumes it: RUN, the projection options as typed, the
 * device and --quiet. */
static int project_step(const char *out, av_cli_project *p, const av_cli_extract *e, int nargs, char **args) {
    av_run r;
    /* under MPI the processes fail together (engine/dist.h), with one line */
    if (av_dist_agree(av_run_open(out, &r)) != AV_OK) {
        if (r.manifest) av_run_close(&r);
        return av_cli_fail_last();
    }
    int *pairs = NULL, npairs = 0, rc;
    if (av_dist_agree(av_parse_heads(p->heads, r.num_layers, r.num_heads, &pairs, &npairs)) != AV_OK) {
        rc = av_cli_fail_last();
    } else {
        p->opts.heads = pairs;
        p->opts.num_heads = npairs;
        p->opts.device = e->opts.device;   /* the one extract chose */
        args[0] = (char *)out;
        args[nargs++] = "--device";
        args[nargs++] = (char *)e->device;
        if (e->quiet) args[nargs++] = "--quiet";
        rc = av_cli_project_job(&r, &p->opts, e->quiet, nargs, args);
    }
    free(pairs);
    av_run_close(&r);
    return rc;
}

int av_cmd_run(int argc, char **argv) {
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {"view", no_argument, NULL, AV_OPT_OPEN_VIEW},
        AV_EXTRACT_LONGOPTS,
        AV_PROJECT_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    av_cli_extract e;
    av_cli_extract_defaults(&e);
    av_cli_project p;
    av_cli_project_defaults(&p);
    const char *out = NULL;
    int view = 0, c, idx = 0, rc = 2, nargs = 1;
    /* the projection options as typed (for the line that says how to resume), after a
     * slot for RUN and before room for --device D --quiet */
    char **args = calloc((size_t)argc * 2 + 8, sizeof(char *));
    char (*names)[40] = calloc((size_t)argc + 1, sizeof *names); /* "--<option>" spellings */
    int nnames = 0;
    if (!args || !names) {
        rc = av_cli_fail("run", "out of memory");
        goto done;
    }
    while ((c = getopt_long(argc, argv, ":o:h", longopts, &idx)) != -1) {
        if (c == 'o') out = optarg;
        else if (c == 'h') {
            fputs(usage_text, stdout);
            rc = 0;
            goto done;
        } else if (c == AV_OPT_OPEN_VIEW) view = 1;
        else if (c == ':') {
            rc = av_cli_usage("run", "%s needs a value", argv[optind - 1]);
            goto done;
        } else if (c == '?') {
            rc = av_cli_usage("run", "unknown option '%s'", argv[optind - 1]);
            goto done;
        } else {
            int r = av_cli_extract_option("run", c, optarg, &e);
            if (r == 1) {
                r = av_cli_project_option("run", c, optarg, &p);
                if (r == 0) {
                    snprintf(names[nnames], sizeof names[nnames], "--%s", longopts[idx].name);
                    args[nargs++] = names[nnames++];
                    if (longopts[idx].has_arg) args[nargs++] = optarg;
                }
            }
            if (r) goto done;
        }
    }
    if (argc - optind != 2) {
        rc = av_cli_usage("run", "expected MODEL_DIR and DATA, got %d argument%s", argc - optind,
                          argc - optind == 1 ? "" : "s");
        goto done;
    }
    if (av_cli_project_finish("run", &p)) goto done;
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
    if (!e.opts.force && av_file_exists(man)) {
        rc = av_cli_fail("run", "%s: already exists (--force replaces it; `attnviz project %s` resumes or "
                         "extends its projection, `attnviz stats %s` its statistics)", out, out, out);
        goto done;
    }
    av_extract_result res;
    if (av_cli_extract_job(model, data, out, &e, &res)) goto done;
    const int speak = av_dist_rank() == 0; /* under MPI rank 0 speaks for the job */
    if (res.f16_overflow && speak)
        fprintf(stderr, "attnviz run: warning: %lld values exceed the f16 range and are stored as +-inf; "
                        "rerun with --dtype f32\n", (long long)res.f16_overflow);
    if (!e.quiet && speak)
        fprintf(stderr, "attnviz run: extracted %lld item%s, %lld tokens into %s\n", (long long)res.items, res.items == 1 ? "" : "s",
                (long long)res.tokens, out);
    if (project_step(out, &p, &e, nargs, args)) {
        rc = av_cli_fail("run", "project failed; %s holds the extraction (run attnviz project/stats on it)", out);
        goto done;
    }
    if (av_cli_stats_job(out, "table", "all")) {
        rc = av_cli_fail("run", "stats failed on %s", out);
        goto done;
    }
    rc = 0;
    if (!speak) goto done; /* the viewer too is rank 0's */
    if (!e.quiet && !view)
        fprintf(stderr, "attnviz run: done; look at it with `attnviz view %s` or `attnviz render %s -o matrix.png`\n",
                out, out);
    if (view) rc = av_cli_view_job(out);
done:
    free(args);
    free(names);
    return rc;
}
