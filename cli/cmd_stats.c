/* cmd_stats.c - `attnviz stats RUN [--format table|csv|json] [--heads all|L:H,...]`:
 * computes the per-head statistics of stats.h, writes RUN/stats.json (atomically, then
 * the manifest) and prints them on stdout. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"
#include "engine/dist.h"
#include "engine/stats.h"
#include "base/util.h"

static const char *usage =
    "usage: attnviz stats RUN [--format table|csv|json] [--heads all|L:H,...]\n"
    "\n"
    "Per-head statistics of a run folder, recomputing attention item by item from the\n"
    "stored q/k (causal for GPT-2). Writes RUN/stats.json and prints the statistics.\n"
    "  --format F   table (default: key columns, one row per head), csv (every column)\n"
    "               or json (the stats.json document; with --heads, of those heads only,\n"
    "               while RUN/stats.json keeps the other heads' entries)\n"
    "  --heads S    all (default) or a list of layer:head, e.g. 0:3,5:11\n"
    "Columns: |q| |k| mean norms and q/k their ratio; dcorr the Spearman correlation of\n"
    "q.k with the q-k distance after key translation (per query, averaged; negative =\n"
    "distance means attention); first/self/prev mean attention to the item's first token,\n"
    "to the token itself, to the previous token; dist the mean attention distance in\n"
    "tokens, pdist in patches (ViT); cos the mean cosine of q and k of one token; cka the\n"
    "linear CKA of the Q and K clouds; ent the mean attention entropy (nats). See\n"
    "engine/stats.h for the exact definitions.\n";

int av_cli_stats_job(const char *run_dir, const char *format, const char *heads_spec) {
    av_run run;
    /* under MPI the processes fail together (engine/dist.h), with one line; the heads
     * are shared out between them and rank 0 writes and prints the result. Locked from
     * the start (by rank 0 for the whole job): a second writer is refused before the
     * work, not after. */
    if (av_dist_agree(av_run_open(run_dir, &run)) != AV_OK) {
        if (run.manifest) av_run_close(&run);
        return av_cli_fail_last();
    }
    if (av_dist_agree(av_dist_rank() == 0 ? av_run_lock(&run) : AV_OK) != AV_OK) {
        av_run_close(&run);
        return av_cli_fail_last();
    }
    int *heads = NULL, count = 0, rc = 2;
    av_head_stats *st = NULL;
    if (av_dist_agree(av_stats_parse_heads(heads_spec, run.num_layers, run.num_heads, &heads, &count)) != AV_OK) {
        rc = av_cli_fail("stats", "%s", av_last_error());
        goto done;
    }
    st = av_calloc((size_t)count + 1, sizeof *st);
    if (av_dist_agree(st ? AV_OK : AV_ERR) != AV_OK || av_stats_compute(&run, heads, count, st) != AV_OK ||
        av_dist_agree(av_dist_rank() == 0 ? av_stats_save(&run, st, count) : AV_OK) != AV_OK) {
        rc = av_cli_fail_last();
        goto done;
    }
    if (av_dist_rank() != 0) {
        rc = 0;
        goto done;
    }
    if (!strcmp(format, "table")) {
        av_stats_print_table(stdout, st, count);
    } else if (!strcmp(format, "csv")) {
        av_stats_print_csv(stdout, st, count);
    } else {
        cJSON *j = av_stats_json(&run, st, count);
        char *s = cJSON_Print(j);
        if (s) puts(s);
        free(s);
        cJSON_Delete(j);
    }
    rc = fflush(stdout) == 0 ? 0 : 1;
done:
    free(heads);
    free(st);
    av_run_close(&run);
    return rc;
}

int av_cmd_stats(int argc, char **argv) {
    static const struct option opts[] = {
        {"format", required_argument, 0, 'f'},
        {"heads", required_argument, 0, 'H'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    const char *format = "table", *heads_spec = "all";
    av_cli_reset_getopt();
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'f': format = optarg; break;
        case 'H': heads_spec = optarg; break;
        case 'h': fputs(usage, stdout); return 0;
        default: return av_cli_usage("stats", "unknown option or missing value: %s", argv[optind - 1]);
        }
    }
    if (strcmp(format, "table") && strcmp(format, "csv") && strcmp(format, "json"))
        return av_cli_usage("stats", "--format is table, csv or json, not '%s'", format);
    if (optind != argc - 1) return av_cli_usage("stats", "expects one run folder");
    return av_cli_stats_job(argv[optind], format, heads_spec);
}
