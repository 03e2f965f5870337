/* options.h - the options the commands share, in one place: the codes getopt_long
 * returns for them (one enum for every long-only option of every command, so no two
 * mean different things), their table entries, their help lines and their parsers:
 *   extract   `extract`, `run`                      -> av_extract_opts and the --device word
 *   project   `project`, `run`; the parameters also `view --live`  -> av_cli_project
 *   session   `render`, `view`                      -> av_session_opts (viewer/session.h)
 * A command's options of its own are single characters (-o, -h) or codes of this enum
 * handled in its cli/cmd_<name>.c. Parsers return 0 when the option was taken, 1 when it
 * is not of their group, 2 after printing a usage error. Values are borrowed from argv. */
#ifndef AV_CLI_OPTIONS_H
#define AV_CLI_OPTIONS_H
#include <getopt.h>
#include "engine/extract.h"
#include "engine/projectrun.h"
#include "viewer/session.h"

enum {
    /* extract (AV_EXTRACT_LONGOPTS); `project` takes --device, --force and --quiet too */
    AV_OPT_DEVICE = 1000, AV_OPT_MAX_ITEMS, AV_OPT_MAX_TOKENS, AV_OPT_DTYPE, AV_OPT_BATCH, AV_OPT_FORCE,
    AV_OPT_SAMPLE_SEED, AV_OPT_QUIET, AV_OPT_MAX_MEMORY, AV_OPT_GEMM, AV_OPT_QK,
    /* project (AV_PROJECT_LONGOPTS, AV_PROJECT_PARAM_LONGOPTS) */
    AV_OPT_PROJ_METHOD, AV_OPT_PROJ_DIM, AV_OPT_HEADS, AV_OPT_TSNE_METHOD, AV_OPT_KNN, AV_OPT_QUALITY,
    AV_OPT_PERPLEXITY, AV_OPT_ITERS, AV_OPT_NEIGHBORS, AV_OPT_SEED, AV_OPT_METRIC, AV_OPT_NO_TRANSLATE,
    AV_OPT_SCALE,
    /* session (AV_SESSION_LONGOPTS) */
    AV_OPT_VIEW, AV_OPT_HEAD, AV_OPT_METHOD, AV_OPT_DIM, AV_OPT_COLOR, AV_OPT_ITEM, AV_OPT_TOKEN, AV_OPT_SEARCH,
    AV_OPT_THEME, AV_OPT_HIDE_SPECIAL, AV_OPT_VALUE_NORM, AV_OPT_ARROWS, AV_OPT_HIDE_Q, AV_OPT_HIDE_K,
    AV_OPT_SIZE_NORM, AV_OPT_LOD, AV_OPT_DENSITY, AV_OPT_EXPOSURE, AV_OPT_RENDERER,
    /* one command each */
    AV_OPT_OPEN_VIEW,   /* run --view */
    AV_OPT_LIVE,        /* view --live */
    AV_OPT_INTEROP,     /* view --live --interop auto|off */
};

/* ---- extract --------------------------------------------------------------------- */
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
    {"gemm", required_argument, NULL, AV_OPT_GEMM}, \
    {"qk", required_argument, NULL, AV_OPT_QK}
#define AV_EXTRACT_OPTIONS_HELP \
    "  --device auto|cpu|cuda  where the model runs (auto: CUDA when a GPU is usable)\n" \
    "  --max-items N         use N items of DATA (the first N, or a sample with --sample-seed)\n" \
    "  --sample-seed S       with --max-items: a reproducible random sample (order kept)\n" \
    "  --max-tokens N        stop before the item that would take the total past N tokens\n" \
    "  --dtype f16|f32       storage type of q, k and |v| (default f16)\n" \
    "  --gemm f32|tf32|bf16|f16  what the GPU's matrix products multiply in (default f32, the\n" \
    "                        reference): tf32, bf16 and f16 use the tensor cores (bf16/f16 keep\n" \
    "                        16-bit copies of the weights; relative error ~1e-3..1e-2); CUDA only\n" \
    "  --qk post-rope|pre-rope  models with rotary embeddings (Llama family): store q and k\n" \
    "                        after RoPE (default: what the attention is computed from) or before\n" \
    "  --batch N|auto        items per forward batch (auto, the default: 32 on the CPU, on a GPU\n" \
    "                        16384 tokens' worth; longest items first, so batches pad little)\n" \
    "  --max-memory SIZE     device memory the model may hold, weights included (e.g. 8G); the\n" \
    "                        batches shrink to fit (default: 90% of a GPU's free memory)\n" \
    "  --force               replace RUN if it is a run folder (any other folder is refused)\n" \
    "  --quiet               no device line, no progress\n"

typedef struct {
    av_extract_opts opts;   /* opts.device is set by av_cli_extract_device */
    const char *device;     /* the --device word: "auto", "cpu", "cuda" */
    int quiet;
} av_cli_extract;

void av_cli_extract_defaults(av_cli_extract *e);
int av_cli_extract_option(const char *cmd, int code, const char *arg, av_cli_extract *e);

/* ---- project ----------------------------------------------------------------------- */
/* The projection's parameters, which `view --live` takes too. */
#define AV_PROJECT_PARAM_LONGOPTS \
    {"perplexity", required_argument, NULL, AV_OPT_PERPLEXITY}, \
    {"iters", required_argument, NULL, AV_OPT_ITERS}, \
    {"neighbors", required_argument, NULL, AV_OPT_NEIGHBORS}, \
    {"seed", required_argument, NULL, AV_OPT_SEED}, \
    {"metric", required_argument, NULL, AV_OPT_METRIC}, \
    {"no-translate", no_argument, NULL, AV_OPT_NO_TRANSLATE}, \
    {"scale", no_argument, NULL, AV_OPT_SCALE}
#define AV_PROJECT_LONGOPTS \
    {"method", required_argument, NULL, AV_OPT_PROJ_METHOD}, \
    {"dim", required_argument, NULL, AV_OPT_PROJ_DIM}, \
    {"heads", required_argument, NULL, AV_OPT_HEADS}, \
    {"tsne-method", required_argument, NULL, AV_OPT_TSNE_METHOD}, \
    {"knn", required_argument, NULL, AV_OPT_KNN}, \
    {"quality", no_argument, NULL, AV_OPT_QUALITY}, \
    AV_PROJECT_PARAM_LONGOPTS

typedef struct {
    av_project_opts opts;
    const char *heads;      /* --heads, checked against the run (av_parse_heads); default "all" */
    long iters;             /* --iters, applied to the method by av_cli_project_finish */
    int have_perp, have_nb, have_iters, have_tm;
    int given;              /* any option of the group was given */
} av_cli_project;

void av_cli_project_defaults(av_cli_project *p);
int av_cli_project_option(const char *cmd, int code, const char *arg, av_cli_project *p);
/* The checks between options, then --iters applied to the method; 0, or 2 after
 * printing a usage error. */
int av_cli_project_finish(const char *cmd, av_cli_project *p);
/* --iters alone: t-SNE iterations (early exaggeration cut to fit) or UMAP epochs. */
void av_cli_project_apply_iters(av_cli_project *p);

/* ---- session ----------------------------------------------------------------------- */
#define AV_SESSION_LONGOPTS \
    {"view", required_argument, 0, AV_OPT_VIEW}, {"head", required_argument, 0, AV_OPT_HEAD}, \
    {"method", required_argument, 0, AV_OPT_METHOD}, {"dim", required_argument, 0, AV_OPT_DIM}, \
    {"color", required_argument, 0, AV_OPT_COLOR}, {"item", required_argument, 0, AV_OPT_ITEM}, \
    {"token", required_argument, 0, AV_OPT_TOKEN}, {"search", required_argument, 0, AV_OPT_SEARCH}, \
    {"theme", required_argument, 0, AV_OPT_THEME}, {"hide-special", no_argument, 0, AV_OPT_HIDE_SPECIAL}, \
    {"value-norm", no_argument, 0, AV_OPT_VALUE_NORM}, {"arrows", no_argument, 0, AV_OPT_ARROWS}, \
    {"hide-queries", no_argument, 0, AV_OPT_HIDE_Q}, {"hide-keys", no_argument, 0, AV_OPT_HIDE_K}, \
    {"size-by-norm", no_argument, 0, AV_OPT_SIZE_NORM}, {"lod", required_argument, 0, AV_OPT_LOD}, \
    {"density", no_argument, 0, AV_OPT_DENSITY}, {"exposure", required_argument, 0, AV_OPT_EXPOSURE}, \
    {"renderer", required_argument, 0, AV_OPT_RENDERER}

#define AV_SESSION_HELP \
    "  --view matrix|single|sentence|image   which view (default matrix)\n" \
    "  --head L:H          the head of the single / sentence / image view (default 0:0)\n" \
    "  --method M --dim D  projection proj/M-Dd.npy (default: t-SNE, else UMAP, else PCA; 2-D)\n" \
    "  --color MODE        qk, position, mod5, punct, norm, toklen, itemlen, freq, row, col, label,\n" \
    "                      hue, brightness, frequency, angle, cells (ViT runs of an `attnviz synth` folder)\n" \
    "  --item I            select item I (sentence / image views; highlights it elsewhere)\n" \
    "  --token T           select token T (its position in --item I, else a global token index)\n" \
    "  --search TEXT       highlight every token equal to TEXT (case-insensitive; ## and the GPT-2 space mark ignored)\n" \
    "  --theme light|dark  colours\n" \
    "  --hide-special      sentence/image views: hide [CLS]/[SEP] (BERT), first token (GPT-2, LLMs), class token (ViT)\n" \
    "  --value-norm        weight attention by the keys' value norms |v| (v_norm.npy of the run)\n" \
    "  --arrows            image view: each patch's strongest target as an arrow\n" \
    "  --hide-queries, --hide-keys, --size-by-norm   point display options\n" \
    "  --density           heat map of how many points cover each pixel, per cell / view (key d)\n" \
    "  --exposure E        ink of the points: their alpha (and the heat map's scale) follows how many\n" \
    "                      points share a pixel; E > 1 darker, < 1 lighter (default 1; keys [ and ])\n" \
    "  --lod N             draw at most N points per frame; further frames add the rest (0 = all at once)\n" \
    "  --renderer R        where points are drawn: gl (the GPU), cpu (C threads), auto (default:\n" \
    "                      cpu when OpenGL is a software renderer such as llvmpipe, else gl)\n"

int av_cli_session_option(const char *cmd, int code, const char *arg, av_session_opts *o);
#endif
