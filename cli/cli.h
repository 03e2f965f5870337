/* cli.h - the attnviz subcommands and what they share.
 *
 * Each subcommand lives in cli/cmd_<name>.c as `int av_cmd_<name>(int argc, char **argv)`
 * (argv[0] is the subcommand's name) and returns the process exit status:
 *   0 success, 2 bad usage or bad input (after printing ONE line to stderr), 1 internal.
 * Options are parsed with getopt_long; every subcommand answers --help on stdout. */
#ifndef AV_CLI_CLI_H
#define AV_CLI_CLI_H
#include "engine/extract.h"

int av_cmd_run(int argc, char **argv);
int av_cmd_extract(int argc, char **argv);
int av_cmd_project(int argc, char **argv);
int av_cmd_stats(int argc, char **argv);
int av_cmd_render(int argc, char **argv);
int av_cmd_view(int argc, char **argv);
int av_cmd_info(int argc, char **argv);
int av_cmd_synth(int argc, char **argv);

/* Prints "attnviz <cmd>: <message>" on stderr and returns 2. */
int av_cli_fail(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "attnviz: <av_last_error()>" on stderr and returns 2. */
int av_cli_fail_last(void);
/* After av_extract failed: like av_cli_fail_last, but an extraction stopped by a signal
 * (with its checkpoint written) ends the process by that signal. */
int av_cli_fail_extract(void);
/* Usage error: "attnviz <cmd>: <message> (see attnviz <cmd> --help)", returns 2. */
int av_cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Parses a whole positive int / double option value; 2 on failure after printing. */
int av_cli_int(const char *cmd, const char *opt, const char *s, long lo, long hi, long *out);
int av_cli_double(const char *cmd, const char *opt, const char *s, double lo, double hi, double *out);
/* Parses a size: bytes, or a number with K, M, G or T (binary units, "B" optional). */
int av_cli_bytes(const char *cmd, const char *opt, const char *s, int64_t *out);
/* Resets getopt state before a subcommand parses its argv. */
void av_cli_reset_getopt(void);

/* The extract options, shared by `extract` and `run` (cli/cmd_extract.c). Put
 * AV_EXTRACT_LONGOPTS into a getopt_long table and hand every code it returns to
 * av_cli_extract_option: 0 = taken, 1 = not an extract option, 2 = bad value (printed). */
enum { AV_OPT_DEVICE = 1000, AV_OPT_MAX_ITEMS, AV_OPT_MAX_TOKENS, AV_OPT_DTYPE, AV_OPT_BATCH,
       AV_OPT_FORCE, AV_OPT_SAMPLE_SEED, AV_OPT_QUIET, AV_OPT_MAX_MEMORY, AV_OPT_QK };
#define AV_EXTRACT_LONGOPTS \
    {"device", required_argument, NULL, AV_OPT_DEVICE}, \
    {"max-items", required_argument, NULL, AV_OPT_MAX_ITEMS}, \
    {"max-tokens", required_argument, NULL, AV_OPT_MAX_TOKENS}, \
    {"dtype", required_argument, NULL, AV_OPT_DTYPE}, \
    {"batch", required_argument, NULL, AV_OPT_BATCH}, \
    {"force", no_argument, NULL, AV_OPT_FORCE}, \
    {"sample-seed", required_argument, NULL, AV_OPT_SAMPLE_SEED}, \
    {"quiet", no_argument, NULL, AV_OPT_QUIET}, \
    {"max-memory", required_argument, NULL, AV_OPT_MAX_MEMORY}, \
    {"qk", required_argument, NULL, AV_OPT_QK}
#define AV_EXTRACT_OPTIONS_HELP \
    "  --device auto|cpu|cuda  where the model runs (auto: CUDA when a GPU is usable)\n" \
    "  --max-items N         use N items of DATA (the first N, or a sample with --sample-seed)\n" \
    "  --sample-seed S       with --max-items: a reproducible random sample (order kept)\n" \
    "  --max-tokens N        stop before the item that would take the total past N tokens\n" \
    "  --dtype f16|f32       storage type of q, k and |v| (default f16)\n" \
    "  --qk post-rope|pre-rope  models with rotary embeddings (Llama family): store q and k\n" \
    "                        after RoPE (default: what the attention is computed from) or before\n" \
    "  --batch N|auto        items per forward batch (auto, the default: 32 on the CPU, on a GPU\n" \
    "                        16384 tokens' worth; longest items first, so batches pad little)\n" \
    "  --max-memory SIZE     device memory the model may hold, weights included (e.g. 8G); the\n" \
    "                        batches shrink to fit (default: 90% of a GPU's free memory)\n" \
    "  --force               replace RUN if it exists\n" \
    "  --quiet               no device line, no progress\n"
int av_cli_extract_option(const char *cmd, int code, const char *arg, av_extract_opts *opts);
#endif
