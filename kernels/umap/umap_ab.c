/* umap_ab.c - UMAP's a and b: the curve 1 / (1 + a x^(2b)) fitted by least squares to
 * the target "1 below min_dist, exp(-(x - min_dist) / spread) above" on 300 points of
 * [0, 3 spread], as umap-learn's find_ab_params does with scipy's curve_fit (also
 * Levenberg-Marquardt from a = b = 1; analytic Jacobian here instead of differences). */
#include "kernels/umap/umap.h"

#include <math.h>
#include "base/util.h"

#define AB_POINTS 300

/* Sum of squared residuals at (a, b); with J^T J and J^T r when jtj != NULL. */
static double residuals(const double *x, const double *y, double a, double b, double jtj[3],
                        double jtr[2]) {
    double s = 0.0;
    if (jtj) jtj[0] = jtj[1] = jtj[2] = jtr[0] = jtr[1] = 0.0;
    for (int i = 0; i < AB_POINTS; i++) {
        double u = x[i] > 0 ? pow(x[i], 2 * b) : 0.0;
        double den = 1.0 + a * u;
        double r = 1.0 / den - y[i];
        s += r * r;
        if (jtj) {
            double ja = -u / (den * den);
            double jb = x[i] > 0 ? -a * u * 2.0 * log(x[i]) / (den * den) : 0.0;
            jtj[0] += ja * ja; jtj[1] += ja * jb; jtj[2] += jb * jb;
            jtr[0] += ja * r; jtr[1] += jb * r;
        }
    }
    return s;
}

int av_umap_find_ab(double spread, double min_dist, double *a_out, double *b_out) {
    if (!(spread > 0) || !(min_dist >= 0) || min_dist > spread)
        return av_fail("umap: need 0 <= min_dist <= spread (got min_dist %g, spread %g)", min_dist, spread);
    double x[AB_POINTS], y[AB_POINTS];
    for (int i = 0; i < AB_POINTS; i++) {
        x[i] = spread * 3.0 * i / (AB_POINTS - 1);   /* np.linspace(0, 3 spread, 300) */
        y[i] = x[i] < min_dist ? 1.0 : exp(-(x[i] - min_dist) / spread);
    }
    double a = 1.0, b = 1.0, lambda = 1e-3, jtj[3], jtr[2];
    double s = residuals(x, y, a, b, jtj, jtr);
    for (int it = 0; it < 500; it++) {
        double m00 = jtj[0] * (1 + lambda), m11 = jtj[2] * (1 + lambda), m01 = jtj[1];
        double det = m00 * m11 - m01 * m01;
        if (!(fabs(det) > 0)) break;
        double da = -(m11 * jtr[0] - m01 * jtr[1]) / det;
        double db = -(m00 * jtr[1] - m01 * jtr[0]) / det;
        double na = a + da, nb = b + db;
        double ns = (na > 0 && nb > 0) ? residuals(x, y, na, nb, NULL, NULL) : INFINITY;
        if (ns < s) {
            int done = fabs(da) < 1e-12 * (1 + fabs(a)) && fabs(db) < 1e-12 * (1 + fabs(b));
            a = na; b = nb;
            int flat = s - ns < 1e-16 * s;
            s = residuals(x, y, a, b, jtj, jtr);
            lambda *= 0.3;
            if (done || flat) break;
        } else {
            lambda *= 10;
            if (lambda > 1e12) break;
        }
    }
    if (!isfinite(a) || !isfinite(b)) return av_fail("umap: the a/b curve fit diverged (min_dist %g, spread %g)", min_dist, spread);
    *a_out = a;
    *b_out = b;
    return AV_OK;
}
