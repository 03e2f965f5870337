/* dataset.h - what extract reads: DATA is a text file (one item per line), a .jsonl
 * file ({"text": ..., optional "text_b"} per line), "-" (stdin, text lines), or a
 * folder of images (JPEG/PNG, recursive, sorted; optional class label = subfolder).
 * An av_dataset owns its strings; av_dataset_free releases them.
 *
 * Text (.txt or anything not named *.jsonl, and "-", called "<stdin>" in messages):
 *   one item per line; "\n" or "\r\n" line ends; a UTF-8 byte order mark at the start
 *   is dropped; leading/trailing white space is trimmed; blank lines are skipped
 *   (counted in `skipped`, not an error).
 * JSONL (*.jsonl, any case): one JSON object per line with a string "text" and an
 *   optional string "text_b" (a sentence pair; null = absent); other members ignored.
 * Image folder: every *.jpg, *.jpeg, *.png (any case) below DATA, hidden entries
 *   (".name") left out, sorted by their path relative to DATA (bytewise), label = the
 *   first folder of that relative path (NULL for files directly in DATA). Each file's
 *   container is checked (av_image_check: PNG CRCs, JPEG markers up to EOI, size).
 *
 * Bad lines and bad images (invalid UTF-8, a NUL byte, a JSONL line that is not an
 * object or lacks a string "text", an empty "text", an image that fails its check):
 *   every one is REPORTED with its place ("FILE:LINE: invalid UTF-8 at byte N", N
 *   1-based within the line; "FOLDER/x.jpg: JPEG data ends before EOI"), then
 *   - strict = 1: loading stops with that message (AV_ERR). This is the default the
 *     commands use (av_dataset_opts_default); a flag such as --skip-bad turns it off.
 *   - strict = 0: the item is skipped, counted in `bad` (and `skipped`), and the
 *     message goes to opts->on_skip when set; `first_bad` keeps the first one.
 * Loading fails whatever `strict` says when no item is left ("FILE: no items (empty
 * file)", "...: only blank lines", "FOLDER: no JPEG or PNG images", "...: all N lines
 * bad; first: ...").
 *
 * Sampling: max_items > 0 and fewer items than that keeps all. Otherwise sample_seed 0
 * keeps the first max_items items; any other seed keeps a random subset of max_items
 * items chosen reproducibly from the seed (the same seed and file give the same
 * subset on every machine), in source order. Sampling happens after bad items are
 * dropped. */
#ifndef AV_DATASETS_DATASET_H
#define AV_DATASETS_DATASET_H
#include <stdint.h>

typedef enum { AV_DATA_TEXT = 0, AV_DATA_IMAGES = 1 } av_data_kind;

typedef struct {
    char *text;        /* text item: the text; image item: the image path */
    char *text_b;      /* second sentence of a pair, or NULL */
    char *label;       /* image class label (subfolder name) or NULL */
    int64_t line;      /* 1-based source line (text); 1-based rank in sorted order (images) */
} av_item;

typedef struct {
    av_data_kind kind;
    av_item *items;
    int64_t count;
    int64_t skipped;   /* blank lines, invalid lines or unreadable images skipped */
    char source[4096];
    int64_t bad;       /* of `skipped`: invalid lines or unreadable images (strict = 0) */
    int64_t total;     /* items found before sampling */
    char first_bad[1024]; /* message of the first bad line or image, "" when none */
} av_dataset_t;

typedef struct {
    int64_t max_items;     /* 0 = all */
    uint64_t sample_seed;  /* with max_items: reproducible random subset (order kept); 0 = the first max_items */
    int strict;            /* reject instead of skipping bad lines / images */
    /* Optional: called once per skipped bad line or image (strict = 0) with its
     * one-line message, so the CLI can print it as a warning. */
    void (*on_skip)(void *ctx, const char *message);
    void *on_skip_ctx;
} av_dataset_opts;

/* strict = 1, everything else 0: what the commands pass unless told otherwise. */
av_dataset_opts av_dataset_opts_default(void);

/* Loads DATA as described above. Errors name the file (and line) and say what is wrong. */
int av_dataset_load(const char *path, const av_dataset_opts *opts, av_dataset_t *ds);
void av_dataset_free(av_dataset_t *ds);

/* Keeps `keep` of n indices: sets sel[i] = 1 for the chosen ones, 0 otherwise.
 * seed 0: the first `keep`; other seeds: a uniformly random subset of exactly `keep`
 * (selection sampling, Knuth's Algorithm S, driven by splitmix64), so the order of the
 * chosen ones is the source order. Exposed for the tests. */
void av_dataset_sample(int64_t n, int64_t keep, uint64_t seed, unsigned char *sel);
#endif
