#!/usr/bin/env python3
"""The coefficients of the CPU GELU's erf (kernels/gelu/gelu_cpu.c): erf(x) = x * P(x^2) / Q(x^2)
on |x| <= 4 (beyond, erf is +-1 in float), P of degree 6 and Q of degree 5 with Q(0) = 1, fitted
to math.erf by linearised least squares on the relative error with Sanathanan-Koerner
reweighting. In double the fit is within 5e-9 of erf/x; evaluated in float (Horner, as the C
does) within 3.7e-7 of erf everywhere (6 float ulps near |x| = 4), which makes GELU's relative
error 5e-8. A call-free formula that the compiler vectorizes: glibc's erff takes ~10 ns a value,
as long as the MLP's GEMM for BERT-sized layers.

Run: .deps/venv/bin/python kernels/gelu/erf_fit.py   (prints the C arrays and the errors)
"""
import math

import numpy as np

NP, NQ, X_MAX = 6, 5, 4.0


def fit():
    xs = np.linspace(0, X_MAX, 20001)
    t = xs ** 2
    f = np.array([math.erf(x) / x if x > 0 else 2 / math.sqrt(math.pi) for x in xs])
    w = np.ones_like(t)
    for _ in range(30):
        # P(t) - f Q(t) = 0 with Q(0) = 1, each row scaled to a relative error
        A = np.hstack([np.vstack([t ** i for i in range(NP + 1)]).T,
                       -(f[:, None] * np.vstack([t ** j for j in range(1, NQ + 1)]).T)])
        W = w / f
        sol = np.linalg.lstsq(A * W[:, None], f * W, rcond=None)[0]
        p, q = sol[:NP + 1], np.concatenate([[1.0], sol[NP + 1:]])
        w = 1 / np.abs(np.polyval(q[::-1], t))
    return p, q


def check(p, q):
    x = np.float32(np.linspace(-5, 5, 400001))
    c = np.clip(x, np.float32(-X_MAX), np.float32(X_MAX)).astype(np.float32)
    t = (c * c).astype(np.float32)
    P, Q = np.float32(0), np.float32(0)
    for a in p[::-1].astype(np.float32):
        P = (P * t + a).astype(np.float32)
    for a in q[::-1].astype(np.float32):
        Q = (Q * t + a).astype(np.float32)
    got = (c * P / Q).astype(np.float32)
    ref = np.array([math.erf(float(v)) for v in x])
    gelu_ref, gelu = 0.5 * x * (1 + ref), 0.5 * x * (1 + got)
    return np.max(np.abs(got - ref)), np.linalg.norm(gelu - gelu_ref) / np.linalg.norm(gelu_ref)


if __name__ == "__main__":
    p, q = fit()
    print("static const float erf_p[%d] = {%s};" % (NP + 1, ", ".join("%.9ef" % v for v in p)))
    print("static const float erf_q[%d] = {%s};" % (NQ + 1, ", ".join("%.9ef" % v for v in q)))
    e, g = check(p, q)
    print("float evaluation: max |erf error| %.2e, GELU relative L2 %.2e" % (e, g))
