/* cmd_project.c - `attnviz project RUN [...]`: projects the joint query/key cloud of
 * every selected head of a run folder (t-SNE, UMAP or PCA, 2-D or 3-D) into
 * RUN/proj/<method>-<dim>d.npy. The work itself is av_project_run (projectrun.h); the
 * projection job with its interruption line is shared with `attnviz run`. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "base/util.h"
#include "cli/cli.h"
#include "cli/console.h"
#include "cli/signals.h"
#include "engine/dist.h"
#include "engine/projectrun.h"
#include "kernels/backend/device.h"
#include "kernels/tsne/tsne.h"

/* the auto threshold, spelled into the usage text */
#define STR_(x) #x
#define AV_STR(x) STR_(x)

static void usage(void) {
    printf("usage: attnviz project RUN [options]\n"
           "Projects each head's joint cloud of queries and (translated) keys to 2-D or 3-D.\n"
           "  --method tsne|umap|pca   projection (default tsne)\n"
           "  --dim 2|3                output dimensions (default 2)\n"
           "  --heads all|L:H,...      heads to project (default all; others are NaN)\n"
           "  --perplexity P           t-SNE perplexity (default 30; clamped to (n-1)/3)\n"
           "  --neighbors K            UMAP neighbours (default 15)\n"
           "  --tsne-method auto|bh|fft  t-SNE repulsion: Barnes-Hut or FFT interpolation\n"
           "                           (FFT is 2-D only; default auto: FFT in 2-D from\n"
           "                           " AV_STR(AV_TSNE_FFT_AUTO_N) " points, else Barnes-Hut)\n"
           "  --iters N                t-SNE iterations incl. 250 of early exaggeration\n"
           "                           (default 1000); UMAP epochs (default auto)\n"
           "  --seed S                 random seed (default 42)\n"
           "  --no-translate           keep keys where they are (default: move the key\n"
           "                           centroid onto the query centroid)\n"
           "  --scale                  balance mean |q| and |k| (q*c, k/c; default off)\n"
           "  --metric cosine|euclidean  distance for neighbours (default cosine: queries\n"
           "                           land nearer the keys they attend to; see\n"
           "                           docs/projections.md)\n"
           "  --knn auto|exact|approx  neighbour search: FAISS flat or HNSW (default auto:\n"
           "                           exact up to 100000 points)\n"
           "  --device auto|cpu|cuda   where to run (auto: the GPU when there is one)\n"
           "  --force                  recompute the selected heads even if already done\n"
           "  --quality                record kNN preservation (k 10) and trustworthiness\n"
           "                           (k 5) of each head in the manifest\n"
           "  --quiet                  no progress and no informational lines\n"
           "  -h, --help               this text\n"
           "Heads finished earlier with the same parameters are kept: an interrupted job\n"
           "resumes from RUN/proj/.partial-<method>-<dim>d/ (removed once the projection is\n"
           "written), and a later --heads adds to the heads already in the projection.\n"
           "Other parameters replace the projection's heads.\n");
}

int av_cli_project_job(av_run *r, const av_project_opts *o, int quiet, int nargs, char **args) {
    /* the command that resumes: this one, also when `attnviz run` called it (typing
     * `run` again would meet the existing run folder) */
    char cmd[2048] = "attnviz project";
    size_t len = strlen(cmd);
    for (int i = 0; i < nargs && len + 8 < sizeof cmd; i++) {
        const char *quote = strpbrk(args[i], " \t'\"$") ? "'" : "";
        int n = snprintf(cmd + len, sizeof cmd - len, " %s%s%s", quote, args[i], quote);
        if (n < 0 || (size_t)n >= sizeof cmd - len) break;
        len += (size_t)n;
    }
    /* interrupted (Ctrl-C, kill): finished heads are atomic files, so the process may end
     * at once; the line says what is kept and how to go on */
    char line[8192]; /* dir (4096) + the resume command (2048) + the words */
    snprintf(line, sizeof line,
             "%sattnviz project: interrupted; finished heads are kept in %s/proj/.partial-%s-%dd; `%s` resumes\n",
             isatty(2) && !quiet ? "\n" : "", r->dir, av_proj_method_name(o->method), o->dim, cmd);
    if (av_dist_rank() != 0) line[0] = 0; /* under MPI rank 0 says it for the job */
    av_console con;
    av_console_init(&con, "project", quiet);
    av_project_opts po = *o;
    po.ctx = &con.ctx;
    av_cli_signals saved;
    av_cli_catch_fatal(line, &saved);
    int rc = av_project_run(r, &po);
    av_cli_restore_signals(&saved);
    return rc == AV_OK ? 0 : av_cli_fail_last();
}

int av_cmd_project(int argc, char **argv) {
    static const struct option opts[] = {
        AV_PROJECT_LONGOPTS,
        {"device", required_argument, 0, AV_OPT_DEVICE}, {"force", no_argument, 0, AV_OPT_FORCE},
        {"quiet", no_argument, 0, AV_OPT_QUIET}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *cmd = "project";
    av_cli_project p;
    av_cli_project_defaults(&p);
    const char *device = "auto";
    int quiet = 0;
    av_cli_reset_getopt();
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int r = av_cli_project_option(cmd, c, optarg, &p);
        if (r == 2) return 2;
        if (r == 0) continue;
        switch (c) {
        case AV_OPT_DEVICE: device = optarg; break;
        case AV_OPT_FORCE: p.opts.force = 1; break;
        case AV_OPT_QUIET: quiet = 1; break;
        case 'h': usage(); return 0;
        default:
            return av_cli_usage(cmd, "unknown option or missing value '%s'", argv[optind - 1]);
        }
    }
    if (optind + 1 != argc)
        return av_cli_usage(cmd, optind >= argc ? "expects the run folder" : "expects one run folder, got '%s' too",
                            optind < argc ? argv[optind + 1] : "");
    if (av_cli_project_finish(cmd, &p)) return 2;
    av_run r;
    /* under MPI the processes fail together (engine/dist.h), with one line */
    if (av_dist_agree(av_run_open(argv[optind], &r)) != AV_OK) {
        if (r.manifest) av_run_close(&r);
        return av_cli_fail_last();
    }
    int *pairs = NULL, npairs = 0;
    int rc = av_parse_heads(p.heads, r.num_layers, r.num_heads, &pairs, &npairs);
    if (rc == AV_OK) rc = av_device_choose(device, &p.opts.device, NULL, 0);
    if (av_dist_agree(rc) != AV_OK) {
        rc = av_cli_fail_last();
    } else {
        p.opts.heads = pairs;
        p.opts.num_heads = npairs;
        rc = av_cli_project_job(&r, &p.opts, quiet, argc - 1, argv + 1);
    }
    free(pairs);
    av_run_close(&r);
    return rc;
}
