/* tsne_fft.h - the repulsive forces of a 2-D t-SNE embedding by FFT-accelerated
 * interpolation (Linderman et al. 2019, "Fast interpolation-based t-SNE", the FIt-SNE
 * scheme openTSNE uses as its "fft" method): O(n) per iteration plus an FFT over a grid
 * whose size follows the embedding's extent, against Barnes-Hut's O(n log n).
 *
 * av_tsne_fft is a workspace owned by the caller: zero-initialise it, pass it to every
 * call (grids and FFTW plans are kept and re-made only when the grid size changes), and
 * release it with av_tsne_fft_free. */
#ifndef AV_KERNELS_TSNE_TSNE_FFT_H
#define AV_KERNELS_TSNE_TSNE_FFT_H
#include <stdint.h>

/* Interpolation nodes per box and dimension (openTSNE's n_interpolation_points). */
#define AV_TSNE_FFT_INTERP 3
/* Fewest boxes per dimension; more when the embedding spans more than this many units
 * (one box per unit: openTSNE's min_num_intervals and ints_in_interval). */
#define AV_TSNE_FFT_MIN_BOXES 50

/* Most boxes per dimension: a 2 x 3 x 400 = 2400 squared padded grid takes about 400 MB
 * per workspace (four channels, real and complex); an embedding wider than 400 units
 * gets wider boxes, and less accuracy, instead of more memory. */
#define AV_TSNE_FFT_MAX_BOXES 400

typedef struct {
    int boxes;            /* boxes per dimension of the current grid, 0 before first use */
    int g;                /* grid points per dimension: boxes * AV_TSNE_FFT_INTERP */
    double *grid;         /* [4][2g][2g] charges in, potentials out (zero-padded) */
    void *spec;           /* [4][2g][g+1] complex spectra (fftw_complex) */
    double *kern;         /* [2g][2g] kernel samples, circularly arranged */
    void *kspec;          /* [2g][g+1] kernel spectrum */
    /* fftw_plan: 1-D along rows (only the g rows that hold charges) and along columns,
     * run per channel; the kernel's full 2-D transform */
    void *plan_rows, *plan_cols, *plan_cols_inv, *plan_rows_inv, *plan_kern;
    int32_t *cell;        /* [n][2] box of each point along x and y */
    double *wts;          /* [n][2][3] Lagrange weights of each point per axis */
    double *sq;           /* [n] each point's share of Z, summed in point order */
    int64_t cap;          /* points the per-point arrays hold */
} av_tsne_fft;

/* Repulsion of the 2-D embedding Y [n, 2]: neg[i] = sum_{j != i} w_ij^2 (y_i - y_j)
 * with w_ij = 1 / (1 + |y_i - y_j|^2), and *Z = sum_{i != j} w_ij, both approximated
 * by interpolation on the grid (the same quantities av_tree_repulsion sums). */
int av_tsne_fft_repulsion(av_tsne_fft *w, const double *Y, int64_t n, double *neg, double *Z);
void av_tsne_fft_free(av_tsne_fft *w);

/* Boxes per dimension used for an embedding spanning `extent` units: at least
 * AV_TSNE_FFT_MIN_BOXES, rounded up to a size whose FFT factors into 2, 3, 5 and 7,
 * at most AV_TSNE_FFT_MAX_BOXES. */
int av_tsne_fft_boxes(double extent);
#endif
