/* splat_cpu.h - the CPU renderer of plot.h: accumulates one pass of a head's points into
 * a plot's float arrays with exactly the coverage the GPU path rasterises (a pixel is
 * covered when its centre lies in the point's square of side `size` and, for sizes
 * above 2 pixels, in its disc), and resolves the sums with the resolve shader's
 * arithmetic, so both renderers make the same picture (to a level per channel).
 *
 * Nothing here owns memory: the caller passes the head's points, the per-point colour
 * table and the plot whose arrays receive the sums. */
#ifndef AV_VIEWER_SPLAT_CPU_H
#define AV_VIEWER_SPLAT_CPU_H
#include <stdint.h>
#include "viewer/plot.h"

/* Bits of a colour table entry above its 0xBBGGRR colour. */
#define AV_SPLAT_TOP (1u << 24)    /* highlighted: layer 1, 1.7 x the size */
#define AV_SPLAT_HIDE (1u << 25)   /* not drawn (queries or keys hidden) */
#define AV_SPLAT_NORM (1u << 26)   /* colour from a norm colour table by the point's norm */
#define AV_SPLAT_DIM (1u << 27)    /* with NORM: the dimmed norm colour table */
#define AV_SPLAT_LUT 1024          /* entries of a norm colour table (norm 0..1) */

typedef struct {
    const float *pos;              /* [2T][dim] the head's points, queries then keys */
    int dim;
    int64_t T;
    const uint32_t *col;           /* [2T] colour and AV_SPLAT_* bits of point l */
    const float *norm;             /* [2T] the head's |q|,|k| scaled to 0..1, or NULL */
    const uint32_t *lut, *lut_dim; /* [AV_SPLAT_LUT] norm colour tables, or NULL */
    int size_norm;                 /* size x (0.4 + 1.6 norm) */
    float m[16];                   /* data -> clip space (column-major) */
} av_splat_src;

/* Point l drawn at draw index j (queries and keys interleave: even j = query j/2). */
static inline int64_t av_splat_point(int64_t j, int64_t T) { return (j & 1) ? T + (j >> 1) : j >> 1; }

/* Adds pass `pass` of `passes` (draw indices j = pass, pass + passes, ... < 2T) to p's
 * arrays (p->acc[1] must exist when any entry has AV_SPLAT_TOP), touching only rows
 * row0 <= y < row1 of the plot: threads given disjoint row bands never share a pixel.
 * Returns 1 when a point went to layer 1. */
int av_splat_cpu(const av_splat_src *s, av_plot *p, int pass, int passes, int row0, int row1);

/* The resolve shader's arithmetic (canvas.c) on the CPU: p's sums in rows row0..row1-1
 * into out ([h][w] RGBA8, rows bottom up). */
void av_resolve_cpu(const av_plot *p, const av_resolve_params *rp, uint8_t *out, int row0, int row1);
#endif
