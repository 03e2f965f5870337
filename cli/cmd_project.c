/* cmd_project.c - `attnviz project RUN [...]`: projects the joint query/key cloud of
 * every selected head of a run folder (t-SNE, UMAP or PCA, 2-D or 3-D) into
 * RUN/proj/<method>-<dim>d.npy. The work itself is av_project_run (projectrun.h). */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli/cli.h"
#include "engine/projectrun.h"
#include "kernels/tsne/tsne.h"
#include "base/util.h"
#include "kernels/backend/device.h"

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

/* Interrupted (Ctrl-C, kill): say what is kept and how to go on, then die of the same
 * signal so the exit status tells the shell what happened. The line is made before
 * the job starts: a handler may only write(). */
static char interrupt_line[4608];
static size_t interrupt_len;

static void on_interrupt(int sig) {
    ssize_t w = write(2, interrupt_line, interrupt_len);
    (void)w;
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Installs on_interrupt for SIGINT, SIGTERM and SIGHUP, except where the signal is
 * ignored (a background job of a shell keeps Ctrl-C away from it on purpose). */
static void catch_interrupts(const char *run_dir, const av_project_opts *o, int argc, char **argv,
                             struct sigaction old[3]) {
    /* the command that resumes: this one, also when `attnviz run` called it (typing
     * `run` again would meet the existing run folder) */
    char cmd[2048] = "attnviz project";
    size_t len = strlen(cmd);
    for (int i = 1; i < argc && len + 8 < sizeof cmd; i++) {
        const char *quote = strpbrk(argv[i], " \t'\"$") ? "'" : "";
        int n = snprintf(cmd + len, sizeof cmd - len, " %s%s%s", quote, argv[i], quote);
        if (n < 0 || (size_t)n >= sizeof cmd - len) break;
        len += (size_t)n;
    }
    snprintf(interrupt_line, sizeof interrupt_line,
             "%sattnviz project: interrupted; finished heads are kept in %s/proj/.partial-%s-%dd; "
             "`%s` resumes\n",
             isatty(2) && !o->quiet ? "\n" : "", run_dir, av_proj_method_name(o->method), o->dim, cmd);
    interrupt_len = strlen(interrupt_line);
    const int sigs[3] = {SIGINT, SIGTERM, SIGHUP};
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < 3; i++) {
        sigaction(sigs[i], NULL, &old[i]);
        if (old[i].sa_handler != SIG_IGN) sigaction(sigs[i], &sa, NULL);
    }
}

static void restore_interrupts(const struct sigaction old[3]) {
    const int sigs[3] = {SIGINT, SIGTERM, SIGHUP};
    for (int i = 0; i < 3; i++) sigaction(sigs[i], &old[i], NULL);
}

int av_cmd_project(int argc, char **argv) {
    static const struct option opts[] = {
        {"method", required_argument, 0, 'm'}, {"dim", required_argument, 0, 'd'},
        {"heads", required_argument, 0, 'H'}, {"perplexity", required_argument, 0, 'p'},
        {"neighbors", required_argument, 0, 'n'}, {"iters", required_argument, 0, 'i'},
        {"seed", required_argument, 0, 's'}, {"no-translate", no_argument, 0, 'T'},
        {"scale", no_argument, 0, 'S'}, {"metric", required_argument, 0, 'M'},
        {"knn", required_argument, 0, 'k'}, {"device", required_argument, 0, 'D'},
        {"tsne-method", required_argument, 0, 't'}, {"force", no_argument, 0, 'f'}, {"quality", no_argument, 0, 'q'},
        {"quiet", no_argument, 0, 'Q'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *cmd = "project";
    av_project_opts o;
    av_project_defaults(&o);
    const char *heads = "all", *device = "auto";
    int have_perp = 0, have_nb = 0, have_iters = 0, have_tm = 0;
    long iters = 0;
    av_cli_reset_getopt();
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        long v;
        double x;
        switch (c) {
        case 'm':
            if (!strcmp(optarg, "tsne")) o.method = AV_PROJ_TSNE;
            else if (!strcmp(optarg, "umap")) o.method = AV_PROJ_UMAP;
            else if (!strcmp(optarg, "pca")) o.method = AV_PROJ_PCA;
            else return av_cli_usage(cmd, "--method must be tsne, umap or pca, got '%s'", optarg);
            break;
        case 'd':
            if (av_cli_int(cmd, "--dim", optarg, 2, 3, &v)) return 2;
            o.dim = (int)v;
            break;
        case 'H': heads = optarg; break;
        case 'p':
            if (av_cli_double(cmd, "--perplexity", optarg, 1, 10000, &x)) return 2;
            o.tsne.perplexity = x;
            have_perp = 1;
            break;
        case 'n':
            if (av_cli_int(cmd, "--neighbors", optarg, 2, 1000, &v)) return 2;
            o.umap.n_neighbors = (int)v;
            have_nb = 1;
            break;
        case 'i':
            if (av_cli_int(cmd, "--iters", optarg, 1, 1000000, &iters)) return 2;
            have_iters = 1;
            break;
        case 's':
            if (av_cli_int(cmd, "--seed", optarg, 0, 2147483647L, &v)) return 2;
            o.tsne.seed = o.umap.seed = (uint64_t)v;
            break;
        case 'T': o.translate = 0; break;
        case 'S': o.scale = 1; break;
        case 'M':
            if (!strcmp(optarg, "euclidean")) o.tsne.metric = o.umap.metric = AV_METRIC_EUCLIDEAN;
            else if (!strcmp(optarg, "cosine")) o.tsne.metric = o.umap.metric = AV_METRIC_COSINE;
            else return av_cli_usage(cmd, "--metric must be euclidean or cosine, got '%s'", optarg);
            break;
        case 'k':
            if (!strcmp(optarg, "auto")) o.tsne.knn_method = o.umap.knn_method = AV_KNN_AUTO;
            else if (!strcmp(optarg, "exact")) o.tsne.knn_method = o.umap.knn_method = AV_KNN_EXACT;
            else if (!strcmp(optarg, "approx")) o.tsne.knn_method = o.umap.knn_method = AV_KNN_APPROX;
            else return av_cli_usage(cmd, "--knn must be auto, exact or approx, got '%s'", optarg);
            break;
        case 't':
            if (!strcmp(optarg, "auto")) o.tsne.method = AV_TSNE_AUTO;
            else if (!strcmp(optarg, "bh")) o.tsne.method = AV_TSNE_BH;
            else if (!strcmp(optarg, "fft")) o.tsne.method = AV_TSNE_FFT;
            else return av_cli_usage(cmd, "--tsne-method must be auto, bh or fft, got '%s'", optarg);
            have_tm = 1;
            break;
        case 'D': device = optarg; break;
        case 'f': o.force = 1; break;
        case 'q': o.quality = 1; break;
        case 'Q': o.quiet = 1; break;
        case 'h': usage(); return 0;
        default:
            return av_cli_usage(cmd, "unknown option or missing value '%s'", argv[optind - 1]);
        }
    }
    if (optind + 1 != argc)
        return av_cli_usage(cmd, optind >= argc ? "expects the run folder" : "expects one run folder, got '%s' too",
                            optind < argc ? argv[optind + 1] : "");
    if (have_perp && o.method != AV_PROJ_TSNE) return av_cli_usage(cmd, "--perplexity applies to --method tsne");
    if (have_tm && o.method != AV_PROJ_TSNE) return av_cli_usage(cmd, "--tsne-method applies to --method tsne");
    if (o.tsne.method == AV_TSNE_FFT && o.dim == 3) return av_cli_usage(cmd, "--tsne-method fft is 2-D only (use bh with --dim 3)");
    if (have_nb && o.method != AV_PROJ_UMAP)
        return av_cli_usage(cmd, "--neighbors applies to --method umap (t-SNE takes 3 x perplexity neighbours)");
    if (have_iters) {
        if (o.method == AV_PROJ_PCA) return av_cli_usage(cmd, "--iters does not apply to --method pca");
        if (o.method == AV_PROJ_TSNE) {
            o.tsne.iters = (int)iters;
            if (o.tsne.early_iters > o.tsne.iters) o.tsne.early_iters = o.tsne.iters;
        }
        o.umap.epochs = (int)iters;
    }
    av_run r;
    if (av_run_open(argv[optind], &r) != AV_OK) return av_cli_fail_last();
    int *pairs = NULL, npairs = 0;
    if (av_parse_heads(heads, r.num_layers, r.num_heads, &pairs, &npairs) != AV_OK ||
        av_device_choose(device, 1, &o.device) != AV_OK) {
        av_run_close(&r);
        return av_cli_fail_last();
    }
    o.heads = pairs;
    o.num_heads = npairs;
    struct sigaction old[3];
    catch_interrupts(r.dir, &o, argc, argv, old);
    int rc = av_project_run(&r, &o);
    restore_interrupts(old);
    free(pairs);
    av_run_close(&r);
    return rc == AV_OK ? 0 : av_cli_fail_last();
}
