/* dataset.h - what extract reads: DATA is a text file (one item per line), a .jsonl
 * file ({"text": ..., optional "text_b"} per line), "-" (stdin, text lines), or a
 * folder of images (JPEG/PNG, recursive, sorted; optional class label = subfolder).
 * An av_dataset owns its strings; av_dataset_free releases them. */
#ifndef AV_DATASETS_DATASET_H
#define AV_DATASETS_DATASET_H
#include <stdint.h>

typedef enum { AV_DATA_TEXT = 0, AV_DATA_IMAGES = 1 } av_data_kind;

typedef struct {
    char *text;        /* text item: the text; image item: the image path */
    char *text_b;      /* second sentence of a pair, or NULL */
    char *label;       /* image class label (subfolder name) or NULL */
    int64_t line;      /* 1-based source line (text) */
} av_item;

typedef struct {
    av_data_kind kind;
    av_item *items;
    int64_t count;
    int64_t skipped;   /* blank lines, invalid lines or unreadable images skipped */
    char source[4096];
} av_dataset_t;

typedef struct {
    int64_t max_items;     /* 0 = all */
    uint64_t sample_seed;  /* with max_items: reproducible random subset (order kept) */
    int strict;            /* reject instead of skipping bad lines / images */
} av_dataset_opts;

/* Loads DATA as described above. Errors name the file (and line) and say what is wrong. */
int av_dataset_load(const char *path, const av_dataset_opts *opts, av_dataset_t *ds);
void av_dataset_free(av_dataset_t *ds);
#endif
