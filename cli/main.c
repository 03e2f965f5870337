/* main.c - the attnviz command line: dispatches to cli/cmd_<name>.c. The only place
 * that exits; library code returns a status (see base/util.h). */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include "base/util.h"
#include "cli/cli.h"
#include "engine/dist.h"

typedef struct { const char *name; int (*fn)(int, char **); const char *summary; } command;

static const command commands[] = {
    {"run", av_cmd_run, "extract, project and compute statistics in one go [--view]"},
    {"extract", av_cmd_extract, "run a model over a dataset and store every head's q and k"},
    {"project", av_cmd_project, "project each head's joint q/k cloud (t-SNE, UMAP, PCA)"},
    {"stats", av_cmd_stats, "per-head statistics (norms, distance-attention correlation, ...)"},
    {"render", av_cmd_render, "draw a view to a PNG without a window"},
    {"view", av_cmd_view, "open the interactive viewer"},
    {"info", av_cmd_info, "describe a model folder or a run folder"},
    {"synth", av_cmd_synth, "generate synthetic vision probe images"},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f) {
    fprintf(f, "attnviz - what every attention head does across a whole dataset\n\n"
               "usage: attnviz <command> [options]   (attnviz <command> --help for details)\n\n");
    for (size_t i = 0; i < NCOMMANDS; i++) fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
}

int main(int argc, char **argv) {
    /* A file that grows past the size limit (ulimit -f) is a failed write with its
     * reason ("File too large"), as a full disk is, not a process killed mid-write. */
    signal(SIGXFSZ, SIG_IGN);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (!strcmp(argv[1], commands[i].name)) {
            /* a process of an MPI job (mpirun, srun) joins it; any other does nothing here */
            if (av_dist_init(&argc, &argv) != AV_OK) return av_cli_fail_last();
            av_cli_reset_getopt();
            int rc = commands[i].fn(argc - 1, argv + 1);
            av_dist_finalize();
            return rc;
        }
    fprintf(stderr, "attnviz: unknown command '%s' (see attnviz --help)\n", argv[1]);
    return 2;
}
