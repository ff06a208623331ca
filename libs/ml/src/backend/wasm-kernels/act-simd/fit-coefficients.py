#!/usr/bin/env python3
"""Build-time only (not run by the build or tests): how act-kernels.wat's polynomial
coefficients were fitted. Needs numpy (`/usr/bin/python3` on the development VM has it).

  /usr/bin/python3 libs/ml/src/backend/wasm-kernels/act-simd/fit-coefficients.py

Minimax fits by Lawson's iteration (iteratively reweighted least squares) in float64 on dense
grids, weighted for relative error, then rounded to float32. Prints each set with its
float64 fit error; the float32 evaluation in the module's order is what act-simd.spec.ts
measures. The exp polynomial is Cephes expf's and is not refitted here.
"""
import math
import numpy as np


def lawson(xs, target, degree, weight, iters=300):
    a = np.stack([xs ** k for k in range(degree)], 1)
    w = np.ones_like(xs) / len(xs)
    for _ in range(iters):
        sw = np.sqrt(w) * weight
        c, *_ = np.linalg.lstsq(a * sw[:, None], target * sw, rcond=None)
        err = np.abs((a @ c - target) * weight)
        w = w * err
        w /= w.sum()
    return c, float(np.max(np.abs((a @ c - target) * weight)))


def show(name, c, err):
    print(f"{name}: max weighted error {err:.3g}; float32 coefficients, constant term first:")
    print("  " + " ".join(repr(float(np.float32(v))) for v in c))


erf = np.vectorize(math.erf)
erfc = np.vectorize(math.erfc)

# tanh(x) = x + x^3 P(x^2) on |x| < 0.625, relative error.
x = np.linspace(1e-4, 0.625, 20000)
show("tanh P(z)", *lawson(x * x, (np.tanh(x) - x) / x ** 3, 5, x ** 3 / np.tanh(x)))

# erf(x) = x + x Q(x^2) on |x| < 1, Q = erf(x)/x - 1, relative error of erf.
x = np.linspace(1e-4, 1.0, 20000)
show("erf Q(z)", *lawson(x * x, erf(x) / x - 1, 7, x / erf(x)))

# erf(x) = 1 - e^(-x^2) R(1/x) on [1, 4], R fitted to erfc(x) e^(x^2), relative error of R.
x = np.linspace(1.0, 4.0, 30000)
r = erfc(x) * np.exp(x * x)
show("erfc R(u), u = 1/x", *lawson(1 / x, r, 8, 1 / r))
