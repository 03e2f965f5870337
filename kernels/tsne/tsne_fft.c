/* tsne_fft.c - 2-D t-SNE repulsion by FFT-accelerated interpolation (FIt-SNE).
 *
 * The square around the embedding is cut into boxes x boxes boxes with 3 equispaced
 * interpolation nodes per box and axis, a g x g grid (g = 3 boxes). Every point spreads
 * four charges (1, y_x, y_y, |y|^2) onto the 9 nodes of its box with Lagrange weights;
 * the grid charges are convolved with the kernel K(d) = 1 / (1 + d^2)^2 sampled at the
 * node spacing (a linear convolution, done as a circular one on a 2g x 2g zero-padded
 * grid by FFTW); the potentials are interpolated back to the points with the same
 * weights. With phi_c(i) = sum_j K_ij q_c(j) and w = 1 / (1 + d^2), K = w^2:
 *   sum_j w_ij^2 (y_i - y_j) = y_i phi_1 - (phi_x, phi_y)
 *   sum_j w_ij = sum_j K_ij (1 + |y_i|^2 - 2 y_i.y_j + |y_j|^2)
 *              = (1 + |y_i|^2) phi_1 - 2 y_i.(phi_x, phi_y) + phi_|y|^2
 * each including j = i (K = 1, no force), so 1 is taken off the second.
 * Coordinates are taken relative to the square's centre, so |y|^2 stays as small as it
 * can and the cancellation in the last line loses little.
 *
 * One kernel and four channels (openTSNE uses the same decomposition). Every loop writes
 * per point or per channel and Z is summed in point order, so the result does not depend
 * on the thread count. */
#include <fftw3.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "kernels/tsne/tsne_fft.h"
#include "base/util.h"

#define NI AV_TSNE_FFT_INTERP

/* Below this many points the team wake-ups cost more than the loops (as in tsne.c). */
#define FFT_PARALLEL_MIN 2048

static int smooth(int m) {
    static const int f[] = {2, 3, 5, 7};
    for (int a = 0; a < 4; a++)
        while (m % f[a] == 0) m /= f[a];
    return m == 1;
}

int av_tsne_fft_boxes(double extent) {
    /* openTSNE rounds up to a table of FFT-friendly sizes; any 7-smooth size is fast in
     * FFTW, and 2 * 3 * boxes (the padded grid) stays 7-smooth */
    if (!(extent < AV_TSNE_FFT_MAX_BOXES)) return AV_TSNE_FFT_MAX_BOXES; /* NaN too */
    int b = extent > AV_TSNE_FFT_MIN_BOXES ? (int)extent : AV_TSNE_FFT_MIN_BOXES;
    while (!smooth(b)) b++;
    return b;
}

static void drop_plans(av_tsne_fft *w) {
    /* the FFTW planner is not thread-safe and heads may run side by side */
#pragma omp critical(av_fftw_planner)
    {
        void **plans[] = {&w->plan_rows, &w->plan_cols, &w->plan_cols_inv, &w->plan_rows_inv, &w->plan_kern};
        for (int a = 0; a < 5; a++) {
            if (*plans[a]) fftw_destroy_plan(*plans[a]);
            *plans[a] = NULL;
        }
    }
    fftw_free(w->grid); fftw_free(w->spec); fftw_free(w->kern); fftw_free(w->kspec);
    w->grid = w->kern = NULL;
    w->spec = w->kspec = NULL;
    w->boxes = w->g = 0;
}

void av_tsne_fft_free(av_tsne_fft *w) {
    drop_plans(w);
    free(w->cell); free(w->wts); free(w->sq);
    memset(w, 0, sizeof *w);
}

/* Grids and plans for `boxes` boxes per dimension (kept while the size holds). */
static int prepare_grid(av_tsne_fft *w, int boxes) {
    if (w->boxes == boxes) return AV_OK;
    drop_plans(w);
    int g = boxes * NI, m = 2 * g;
    size_t real = (size_t)m * m, cplx = (size_t)m * (g + 1);
    w->grid = fftw_malloc(4 * real * sizeof(double));
    w->spec = fftw_malloc(4 * cplx * sizeof(fftw_complex));
    w->kern = fftw_malloc(real * sizeof(double));
    w->kspec = fftw_malloc(cplx * sizeof(fftw_complex));
    if (!w->grid || !w->spec || !w->kern || !w->kspec) { drop_plans(w); return av_fail("t-SNE FFT: out of memory for a %dx%d grid", m, m); }
    /* The 2-D transform of a channel as 1-D passes: rows, then columns. Only the first
     * g rows hold charges (the rest is padding), so the forward row pass skips the
     * zero rows, and the inverse row pass makes only the g rows that are read back:
     * a quarter less work than a full 2-D transform each way. */
    int c1 = g + 1;
#pragma omp critical(av_fftw_planner)
    {
        w->plan_rows = fftw_plan_many_dft_r2c(1, &m, g, w->grid, NULL, 1, m, w->spec, NULL, 1, c1, FFTW_ESTIMATE);
        w->plan_cols = fftw_plan_many_dft(1, &m, c1, w->spec, NULL, c1, 1, w->spec, NULL, c1, 1,
                                          FFTW_FORWARD, FFTW_ESTIMATE);
        w->plan_cols_inv = fftw_plan_many_dft(1, &m, c1, w->spec, NULL, c1, 1, w->spec, NULL, c1, 1,
                                              FFTW_BACKWARD, FFTW_ESTIMATE);
        w->plan_rows_inv = fftw_plan_many_dft_c2r(1, &m, g, w->spec, NULL, 1, c1, w->grid, NULL, 1, m, FFTW_ESTIMATE);
        w->plan_kern = fftw_plan_dft_r2c_2d(m, m, w->kern, w->kspec, FFTW_ESTIMATE);
    }
    if (!w->plan_rows || !w->plan_cols || !w->plan_cols_inv || !w->plan_rows_inv || !w->plan_kern) { drop_plans(w); return av_fail("t-SNE FFT: FFTW could not plan a %dx%d transform", m, m); }
    w->boxes = boxes;
    w->g = g;
    return AV_OK;
}

/* Lagrange weights of the NI nodes (k + 0.5) / NI of the unit interval at t. */
static inline void lagrange(double t, double *l) {
    for (int k = 0; k < NI; k++) {
        double tk = (k + 0.5) / NI, v = 1;
        for (int j = 0; j < NI; j++)
            if (j != k) v *= (t - (j + 0.5) / NI) / (tk - (j + 0.5) / NI);
        l[k] = v;
    }
}

int av_tsne_fft_repulsion(av_tsne_fft *w, const double *Y, int64_t n, double *neg, double *Zout) {
    if (n > w->cap) {
        free(w->cell); free(w->wts); free(w->sq);
        w->cell = av_malloc((size_t)n * 2 * sizeof *w->cell);
        w->wts = av_malloc((size_t)n * 2 * NI * sizeof *w->wts);
        w->sq = av_malloc((size_t)n * sizeof *w->sq);
        w->cap = n;
        if (!w->cell || !w->wts || !w->sq) {
            free(w->cell); free(w->wts); free(w->sq);
            w->cell = NULL; w->wts = w->sq = NULL; w->cap = 0;
            return AV_ERR_NOMEM;
        }
    }
    double lo = INFINITY, hi = -INFINITY;
    int finite = 1;
    for (int64_t a = 0; a < 2 * n; a++) {
        lo = Y[a] < lo ? Y[a] : lo;
        hi = Y[a] > hi ? Y[a] : hi;
        finite &= isfinite(Y[a]) != 0;
    }
    if (!finite) return av_fail("t-SNE FFT: the embedding holds a non-finite coordinate");
    double extent = hi - lo;
    if (extent < 1e-12) extent = 1e-12; /* all points in one place: any box size works */
    int boxes = av_tsne_fft_boxes(extent);
    if (prepare_grid(w, boxes) != AV_OK) return AV_ERR;
    int g = w->g, m = 2 * g;
    size_t real = (size_t)m * m, cplx = (size_t)m * (g + 1);
    double bw = extent / boxes, h = bw / NI, mid = lo + 0.5 * extent;

    /* each point's box and weights */
#pragma omp parallel for schedule(static) if (n >= FFT_PARALLEL_MIN)
    for (int64_t i = 0; i < n; i++)
        for (int a = 0; a < 2; a++) {
            double t = (Y[i * 2 + a] - lo) / bw;
            int b = (int)t;
            if (b > boxes - 1) b = boxes - 1;
            if (b < 0) b = 0;
            w->cell[i * 2 + a] = b;
            lagrange(t - b, w->wts + (i * 2 + a) * NI);
        }

    /* spread the four charges, one channel per thread */
    double *grid = w->grid;
#pragma omp parallel for schedule(static, 1) if (n >= FFT_PARALLEL_MIN)
    for (int c = 0; c < 4; c++) {
        double *gc = grid + c * real;
        memset(gc, 0, (size_t)g * m * sizeof *gc); /* rows past g are never read */
        for (int64_t i = 0; i < n; i++) {
            double x = Y[i * 2] - mid, y = Y[i * 2 + 1] - mid;
            double q = c == 0 ? 1 : c == 1 ? x : c == 2 ? y : x * x + y * y;
            const double *wx = w->wts + i * 2 * NI, *wy = wx + NI;
            double *base = gc + (size_t)w->cell[i * 2 + 1] * NI * m + (size_t)w->cell[i * 2] * NI;
            for (int b = 0; b < NI; b++) {
                double qy = q * wy[b];
                for (int a = 0; a < NI; a++) base[(size_t)b * m + a] += qy * wx[a];
            }
        }
    }

    /* the kernel at every node offset, arranged circularly (offset -r at m - r); the
     * offset g is never needed between two nodes of a g x g grid */
    double *kern = w->kern;
#pragma omp parallel for schedule(static) if (n >= FFT_PARALLEL_MIN)
    for (int r = 0; r < m; r++) {
        int dr = r < g ? r : r - m;
        for (int s = 0; s < m; s++) {
            int ds = s < g ? s : s - m;
            double d2 = h * h * ((double)dr * dr + (double)ds * ds), k = 1.0 / (1.0 + d2);
            kern[(size_t)r * m + s] = r == g || s == g ? 0 : k * k;
        }
    }
    fftw_execute(w->plan_kern);
    /* per channel: rows, columns, times the kernel's spectrum, columns back, rows back
     * (FFTW's new-array execute is thread-safe; channel offsets keep the alignment the
     * plans were made for, real and cplx being even) */
    fftw_complex *spec = w->spec, *ks = w->kspec;
#pragma omp parallel for schedule(static, 1) if (n >= FFT_PARALLEL_MIN)
    for (int c = 0; c < 4; c++) {
        fftw_complex *sc = spec + c * cplx;
        fftw_execute_dft_r2c(w->plan_rows, grid + c * real, sc);
        memset(sc + (size_t)g * (g + 1), 0, (size_t)(m - g) * (g + 1) * sizeof *sc);
        fftw_execute_dft(w->plan_cols, sc, sc);
        for (size_t a = 0; a < cplx; a++) {
            double re = sc[a][0] * ks[a][0] - sc[a][1] * ks[a][1];
            double im = sc[a][0] * ks[a][1] + sc[a][1] * ks[a][0];
            sc[a][0] = re;
            sc[a][1] = im;
        }
        fftw_execute_dft(w->plan_cols_inv, sc, sc);
        fftw_execute_dft_c2r(w->plan_rows_inv, sc, grid + c * real);
    }

    /* interpolate the potentials back, then the forces and each point's share of Z */
    double scale = 1.0 / (double)real;
    double *sq = w->sq;
#pragma omp parallel for schedule(static) if (n >= FFT_PARALLEL_MIN)
    for (int64_t i = 0; i < n; i++) {
        const double *wx = w->wts + i * 2 * NI, *wy = wx + NI;
        size_t off = (size_t)w->cell[i * 2 + 1] * NI * m + (size_t)w->cell[i * 2] * NI;
        double phi[4];
        for (int c = 0; c < 4; c++) {
            const double *base = grid + c * real + off;
            double s = 0;
            for (int b = 0; b < NI; b++) {
                double r = 0;
                for (int a = 0; a < NI; a++) r += wx[a] * base[(size_t)b * m + a];
                s += wy[b] * r;
            }
            phi[c] = s * scale;
        }
        double x = Y[i * 2] - mid, y = Y[i * 2 + 1] - mid;
        neg[i * 2] = x * phi[0] - phi[1];
        neg[i * 2 + 1] = y * phi[0] - phi[2];
        sq[i] = (1 + x * x + y * y) * phi[0] - 2 * (x * phi[1] + y * phi[2]) + phi[3] - 1;
    }
    double Z = 0;
    for (int64_t i = 0; i < n; i++) Z += sq[i];
    *Zout = Z;
    return AV_OK;
}
