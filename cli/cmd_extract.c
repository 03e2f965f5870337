/* cmd_extract.c - `attnviz extract MODEL_DIR DATA -o RUN [options]`: the command line of
 * the extraction pipeline (engine/extract.h). Also holds the parsing of the extract options,
 * which `attnviz run` shares (av_cli_extract_option). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include "cli/cli.h"
#include "engine/extract.h"
#include "base/util.h"

static const char *usage_text =
    "usage: attnviz extract MODEL_DIR DATA -o RUN [options]\n"
    "\n"
    "Runs a Hugging Face model folder (BERT, GPT-2, ViT, Llama/Mistral/Qwen2/Qwen3; safetensors)\n"
    "over DATA and stores every layer's and head's query and key vectors (bias included, before\n"
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

int av_cli_extract_option(const char *cmd, int code, const char *arg, av_extract_opts *o) {
    long v;
    switch (code) {
    case AV_OPT_DEVICE:
        o->device = arg;
        return 0;
    case AV_OPT_MAX_ITEMS:
        if (av_cli_int(cmd, "--max-items", arg, 1, 2000000000L, &v)) return 2;
        o->max_items = v;
        return 0;
    case AV_OPT_MAX_TOKENS:
        if (av_cli_int(cmd, "--max-tokens", arg, 1, 4000000000L, &v)) return 2;
        o->max_tokens = v;
        return 0;
    case AV_OPT_DTYPE:
        if (!strcmp(arg, "f16")) o->dtype = AV_DT_F16;
        else if (!strcmp(arg, "f32")) o->dtype = AV_DT_F32;
        else return av_cli_usage(cmd, "--dtype expects f16 or f32, got '%s'", arg);
        return 0;
    case AV_OPT_QK:
        if (!strcmp(arg, "post-rope")) o->qk_rope = AV_QK_POST_ROPE;
        else if (!strcmp(arg, "pre-rope")) o->qk_rope = AV_QK_PRE_ROPE;
        else return av_cli_usage(cmd, "--qk expects post-rope or pre-rope, got '%s'", arg);
        return 0;
    case AV_OPT_BATCH:
        if (!strcmp(arg, "auto")) o->batch = 0;
        else if (av_cli_int(cmd, "--batch", arg, 1, 65535, &v)) return 2;
        else o->batch = (int)v;
        return 0;
    case AV_OPT_MAX_MEMORY:
        return av_cli_bytes(cmd, "--max-memory", arg, &o->max_memory) ? 2 : 0;
    case AV_OPT_FORCE:
        o->force = 1;
        return 0;
    case AV_OPT_SAMPLE_SEED:
        if (av_cli_int(cmd, "--sample-seed", arg, 0, 0x7fffffffL, &v)) return 2;
        o->sample_seed = (uint64_t)v;
        return 0;
    case AV_OPT_QUIET:
        o->quiet = 1;
        return 0;
    default:
        return 1;
    }
}

int av_cmd_extract(int argc, char **argv) {
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        AV_EXTRACT_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    av_extract_opts o;
    av_extract_defaults(&o);
    const char *out = NULL;
    int c;
    while ((c = getopt_long(argc, argv, ":o:h", longopts, NULL)) != -1) {
        if (c == 'o') out = optarg;
        else if (c == 'h') {
            fputs(usage_text, stdout);
            return 0;
        } else if (c == ':') return av_cli_usage("extract", "%s needs a value", argv[optind - 1]);
        else if (c == '?') return av_cli_usage("extract", "unknown option '%s'", argv[optind - 1]);
        else {
            int r = av_cli_extract_option("extract", c, optarg, &o);
            if (r) return 2;
        }
    }
    if (argc - optind != 2)
        return av_cli_usage("extract", "expected MODEL_DIR and DATA, got %d argument%s", argc - optind,
                            argc - optind == 1 ? "" : "s");
    if (!out) return av_cli_usage("extract", "-o RUN is required");
    av_extract_result res;
    if (av_extract(argv[optind], argv[optind + 1], out, &o, &res)) return av_cli_fail_extract();
    if (res.f16_overflow)
        fprintf(stderr, "attnviz extract: warning: %lld values exceed the f16 range and are stored as +-inf; "
                        "rerun with --dtype f32\n", (long long)res.f16_overflow);
    if (!o.quiet)
        fprintf(stderr, "attnviz extract: wrote %s (%lld items, %lld tokens in %.2f s: batches %.2f s, storing q/k "
                        "%.2f s of them; final flush %.2f s)\n", out, (long long)res.items, (long long)res.tokens,
                res.seconds, res.seconds_batches, res.seconds_store, res.seconds_flush);
    return 0;
}
