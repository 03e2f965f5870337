/* cmd_extract.c - `attnviz extract MODEL_DIR DATA -o RUN [options]`: the command line of
 * the extraction pipeline (engine/extract.h), and the extraction job `attnviz run`
 * shares (av_cli_extract_job). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include "base/util.h"
#include "cli/cli.h"
#include "cli/console.h"
#include "cli/signals.h"
#include "engine/dist.h"
#include "engine/extract.h"

static const char *usage_text =
    "usage: attnviz extract MODEL_DIR DATA -o RUN [options]\n"
    "\n"
    "Runs a Hugging Face model folder (BERT, GPT-2, ViT, Llama/Mistral/Qwen2/Qwen3; safetensors)\n"
    "or a Llama-family .gguf file over DATA and stores every layer's and head's query and key vectors (bias included, before\n"
    "1/sqrt(d); with rotary embeddings after RoPE) and |v| in the run folder RUN: q.npy\n"
    "[layers, heads, tokens, head_dim], k.npy [layers, key heads, tokens, head_dim] (fewer key\n"
    "heads with grouped-query attention), v_norm.npy, token_item.npy,\n"
    "token_pos.npy, tokens.jsonl, items.jsonl, manifest.json. DATA is a text file (one item per\n"
    "line), a .jsonl file ({\"text\": ..., \"text_b\": ...}), or a folder of JPEG/PNG images (ViT).\n"
    "RUN appears only when complete. Ctrl-C (or TERM) stops after the current batch and keeps\n"
    "RUN.partial with a checkpoint; running the same command again resumes from it.\n"
    "\n"
    "options:\n"
    "  -o, --output RUN      the run folder to write (required)\n"
    AV_EXTRACT_OPTIONS_HELP
    "  -h, --help            this text\n";

int av_cli_extract_job(const char *model, const char *data, const char *out, av_cli_extract *e,
                       av_extract_result *res) {
    char device_line[512];
    if (av_device_choose(e->device, &e->opts.device, device_line, sizeof device_line)) return av_cli_fail_last();
    av_console con;
    av_console_init(&con, "extract", e->quiet);
    e->opts.ctx = &con.ctx;
    /* caught before the job opens: a signal while the model loads or the partial folder is
     * made stops the run after its first batch, with a checkpoint, like one that comes later */
    av_cli_signals saved;
    av_cli_catch_stop(&saved);
    av_extract_job *job;
    if (av_extract_open(model, data, out, &e->opts, &job)) {
        av_cli_restore_signals(&saved);
        return av_cli_fail_last();
    }
    /* only now: a fault of the inputs found above stays a one-line error */
    if (!e->quiet && av_dist_rank() == 0) fprintf(stderr, "attnviz: %s\n", device_line);
    int rc = av_extract_run(job, res);
    av_extract_close(job);
    av_cli_restore_signals(&saved);
    e->opts.ctx = NULL;
    if (rc) av_cli_fail_last();
    /* stopped: the checkpoint is written (or the run even finished); end as the signal
     * would have, so the shell sees 130 / 143 */
    av_cli_end_if_stopped();
    return rc ? 2 : 0;
}

int av_cmd_extract(int argc, char **argv) {
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        AV_EXTRACT_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    av_cli_extract e;
    av_cli_extract_defaults(&e);
    const char *out = NULL;
    int c;
    while ((c = getopt_long(argc, argv, ":o:h", longopts, NULL)) != -1) {
        if (c == 'o') out = optarg;
        else if (c == 'h') {
            fputs(usage_text, stdout);
            return 0;
        } else if (c == ':') return av_cli_usage("extract", "%s needs a value", argv[optind - 1]);
        else if (c == '?') return av_cli_usage("extract", "unknown option '%s'", argv[optind - 1]);
        else if (av_cli_extract_option("extract", c, optarg, &e)) return 2;
    }
    if (argc - optind != 2)
        return av_cli_usage("extract", "expected MODEL_DIR and DATA, got %d argument%s", argc - optind,
                            argc - optind == 1 ? "" : "s");
    if (!out) return av_cli_usage("extract", "-o RUN is required");
    av_extract_result res;
    if (av_cli_extract_job(argv[optind], argv[optind + 1], out, &e, &res)) return 2;
    if (av_dist_rank() != 0) return 0; /* under MPI rank 0 speaks for the job */
    if (res.f16_overflow)
        fprintf(stderr, "attnviz extract: warning: %lld values exceed the f16 range and are stored as +-inf; "
                        "rerun with --dtype f32\n", (long long)res.f16_overflow);
    if (!e.quiet)
        fprintf(stderr, "attnviz extract: wrote %s (%lld items, %lld tokens in %.2f s: batches %.2f s, storing q/k "
                        "%.2f s of them; final flush %.2f s)\n", out, (long long)res.items, (long long)res.tokens,
                res.seconds, res.seconds_batches, res.seconds_store, res.seconds_flush);
    return 0;
}
