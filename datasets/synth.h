/* synth.h - synthetic vision probes: images whose one varying property is known, so a
 * ViT head that groups patches by hue, brightness, spatial frequency or edge angle
 * shows it when the run is coloured by that property.
 *
 *   hue        solid colours (even index) and hue gradients (odd index), full
 *              saturation and value; hue strata cover [0, 360)
 *   brightness uniform grey levels covering [0, 1]
 *   frequency  sinusoidal grey gratings, frequency log-spread from 1 cycle per image to
 *              one cycle per 4 pixels, random orientation and phase
 *   angle      gratings of a fixed period (16 px) whose stripe angle covers [0, 180)
 *   checker    black-and-white checkerboards, 2 to 32 squares per side
 *
 * Everything is a pure function of (seed, kind, index, n): image i of a kind does not
 * depend on how many other kinds are made, and the same seed gives the same files on
 * every machine. Varying values are stratified (value i lies in the i-th of n equal
 * slices of the range, at a seeded random place inside it), so even a small n covers
 * the range.
 *
 * Angles are in degrees counterclockwise with the x axis to the right and y UP (so 0 is
 * horizontal stripes, 90 vertical); frequency is in cycles per image width; phase in
 * radians. Memory: av_synth_render writes into the caller's buffer; av_synth_write
 * owns nothing after it returns. */
#ifndef AV_DATASETS_SYNTH_H
#define AV_DATASETS_SYNTH_H
#include <stdint.h>

typedef enum {
    AV_SYNTH_ANGLE = 0, AV_SYNTH_BRIGHTNESS, AV_SYNTH_CHECKER, AV_SYNTH_FREQUENCY, AV_SYNTH_HUE,
    AV_SYNTH_NKINDS
} av_synth_kind; /* in alphabetical order of their names: the order files sort in */

#define AV_SYNTH_ALL ((1u << AV_SYNTH_NKINDS) - 1u)
#define AV_SYNTH_MAX_N 100000
#define AV_SYNTH_MIN_SIZE 8
#define AV_SYNTH_MAX_SIZE 4096

typedef struct {
    av_synth_kind kind;
    int index;          /* within its kind, 0-based */
    int graded;         /* hue: 0 solid, 1 gradient from hue to hue2 along gradient_angle */
    double hue, hue2;   /* degrees, [0, 360) */
    double gradient_angle; /* hue gradients: direction of change, degrees */
    double brightness;  /* brightness: grey level in [0, 1] */
    double frequency;   /* frequency / angle: cycles per image width */
    double angle;       /* frequency / angle: stripe angle, degrees in [0, 180) */
    double phase;       /* frequency / angle: radians in [0, 2 pi) */
    int cells;          /* checker: squares per side */
} av_synth_params;

const char *av_synth_kind_name(av_synth_kind k);
/* Parses "hue", ..., "checker" (one kind) or "all"; a comma list "hue,angle" is
 * accepted too. Sets a bit mask (1 << kind); AV_ERR with a message otherwise. */
int av_synth_kinds_parse(const char *s, unsigned *mask);

/* The parameters of image `index` of `n` of a kind. */
void av_synth_params_make(av_synth_kind kind, int index, int n, int size, uint64_t seed, av_synth_params *p);
/* Draws the image: size*size RGB triples, row-major, top row first. */
void av_synth_render(const av_synth_params *p, int size, uint8_t *rgb);
/* One line of params.jsonl (no newline): {"file": ..., "kind": ..., "index": ..., and
 * the parameters that the kind varies or uses}. Returns a malloc'd string or NULL. */
char *av_synth_params_json(const av_synth_params *p, const char *file);

typedef struct {
    unsigned kinds;   /* mask of kinds */
    int n;            /* images per kind, 1..AV_SYNTH_MAX_N */
    int size;         /* pixels per side */
    uint64_t seed;
    int force;        /* replace an existing DIR */
    void (*on_image)(void *ctx); /* optional, after each image (progress); called from
                                    * worker threads, one call at a time */
    void *ctx;
} av_synth_opts;

/* Writes DIR/<kind>/<kind>_NNNNN.png for every kind and index, and DIR/params.jsonl with
 * one line per image in the order the files sort in (so it lines up with the items of
 * av_dataset_load(DIR)). Built in a temporary sibling folder, then renamed into place:
 * DIR is either the complete new set or untouched. DIR also gets attnviz's marker
 * (base/owned.h, a hidden file the image loader skips). An existing DIR is an error
 * unless force, and even then unless it carries that marker or is empty: --force
 * replaces a set this function wrote, never anything else. */
int av_synth_write(const char *dir, const av_synth_opts *opts);
#endif
