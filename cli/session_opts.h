/* session_opts.h - the command-line options that render and view share (they fill a
 * viewer/session.h av_session_opts): option codes, getopt_long entries, help text and
 * the parser of one option. */
#ifndef AV_CLI_SESSION_OPTS_H
#define AV_CLI_SESSION_OPTS_H
#include "viewer/session.h"

/* Handles one getopt_long option shared by render and view (see AV_SESSION_LONGOPTS).
 * Returns 1 when handled, 0 when not a session option, 2 after printing a usage error. */
int av_session_option(av_session_opts *o, const char *cmd, int opt, const char *arg);

/* Option codes and getopt_long entries for the shared options. */
enum { AV_OPT_VIEW = 1000, AV_OPT_HEAD, AV_OPT_METHOD, AV_OPT_DIM, AV_OPT_COLOR, AV_OPT_ITEM, AV_OPT_TOKEN,
       AV_OPT_SEARCH, AV_OPT_THEME, AV_OPT_HIDE_SPECIAL, AV_OPT_VALUE_NORM, AV_OPT_ARROWS, AV_OPT_HIDE_Q,
       AV_OPT_HIDE_K, AV_OPT_SIZE_NORM, AV_OPT_LOD, AV_OPT_DENSITY, AV_OPT_EXPOSURE, AV_OPT_RENDERER };
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
    "  --hide-special      sentence/image views: hide [CLS]/[SEP] (BERT), first token (GPT-2), class token (ViT)\n" \
    "  --value-norm        weight attention by the keys' value norms |v| (v_norm.npy of the run)\n" \
    "  --arrows            image view: each patch's strongest target as an arrow\n" \
    "  --hide-queries, --hide-keys, --size-by-norm   point display options\n" \
    "  --density           heat map of how many points cover each pixel, per cell / view (key d)\n" \
    "  --exposure E        ink of the points: their alpha (and the heat map's scale) follows how many\n" \
    "                      points share a pixel; E > 1 darker, < 1 lighter (default 1; keys [ and ])\n" \
    "  --lod N             draw at most N points per frame; further frames add the rest (0 = all at once)\n" \
    "  --renderer R        where points are drawn: gl (the GPU), cpu (C threads), auto (default:\n" \
    "                      cpu when OpenGL is a software renderer such as llvmpipe, else gl)\n"
#endif
