"""The largest unit's parameter drift (theory.md §6, parameter drift): how max_i |theta^i_T -
theta^i_0| grows beyond N^{beta - 1}, from the tail of the unit's O(1) factor.

At first order each increment of theory.md §2 is N^{beta - 1} times a time average along the
path, read at theta^i_0: c: (Y - f) S, w: c (Y - f) G^w, b: c (Y - f) G^b. The max over N i.i.d.
units of such a factor grows like the level at which N of them expect one exceedance:

* bounded factor (a bounded activation, c not random or not entering): 1;
* c^i times a bounded factor (c Gaussian, w or b trained; theory.md §6): sqrt(2 log N);
* with an unbounded activation (linear), S = sum_j b^j w.x_{-j} and G^b = sum_{j >= 1}
  j b^{j-1} w.x_{-j} are linear forms of the Gaussian w^i (G^w = sum_j b^j x_{-j} stays
  bounded): the c increment is Gaussian when w is random, and the b increment is c^i times a
  Gaussian, a product of two independent Gaussians, whose max grows like log N (this suite's
  derivation beyond theory.md, which states sqrt(2 log N): measured on a linear d = 2
  configuration, Delta b^i fits c^i (w^i . v(b^i)) with R^2 = 0.9999 and holds the maximum).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

import sympy as sp

from derivations.activations import activation_constants
from derivations.scaling import ALPHA, BETA, SUM_OF_N_ORDER_ONE_TERMS, N, learning_rate

X_TAIL = sp.Symbol("x", positive=True)
GROWTHS = ("bounded", "gaussian", "gaussian_product")


@lru_cache(maxsize=1)
def gaussian_maximum_growth() -> sp.Expr:
    """theory.md §6, max drift: the level x at which N i.i.d. standard Gaussians expect one
    exceedance, solved from N e^{-x^2/2} = 1 (the Gaussian tail to leading exponential order):
    x = sqrt(2 log N), the growth of max_i |c^i|."""
    (solution,) = sp.solve(sp.Eq(N * sp.exp(-X_TAIL**2 / 2), 1), X_TAIL)
    return solution


@lru_cache(maxsize=1)
def gaussian_product_maximum_growth() -> sp.Expr:
    """The level x at which N i.i.d. |X Y| (X, Y independent standard Gaussians) expect one
    exceedance, solved from N e^{-x} = 1: the density of |X Y| is 2 K_0(z) / pi ~
    sqrt(2 / (pi z)) e^{-z} (K_0 the modified Bessel function), so its tail is e^{-x} to leading
    exponential order: x = log N, the growth of max_i |c^i (w^i . v)|."""
    (solution,) = sp.solve(sp.Eq(N * sp.exp(-X_TAIL), 1), X_TAIL)
    return solution


def max_drift_growth(activation: str, trainable: Iterable[str], c_random: bool,
                     w_random: bool) -> str:
    """Which factor of the module docstring the max drift carries (one of GROWTHS), for an
    activation, the trained groups and whether c and w are drawn random (c_std, w_std > 0)."""
    groups = set(trainable)
    unbounded = not activation_constants(activation).bounded
    if unbounded and w_random and c_random and "b" in groups:
        return "gaussian_product"
    if (c_random and groups & {"w", "b"}) or (unbounded and w_random and "c" in groups):
        return "gaussian"
    return "bounded"


def maximum_growth(growth: str) -> sp.Expr:
    """The factor of N of ``growth`` (GROWTHS): 1, sqrt(2 log N) or log N."""
    if growth not in GROWTHS:
        raise ValueError(f"unknown growth {growth!r} (one of {GROWTHS})")
    return {"bounded": sp.Integer(1), "gaussian": gaussian_maximum_growth(),
            "gaussian_product": gaussian_product_maximum_growth()}[growth]


def max_drift_scale(growth: str) -> sp.Expr:
    """theory.md §6: the scale of max over units of |theta^i_T - theta^i_0|: N^{beta - 1} (the
    increment eta_N N^{-beta} times a sum of N T terms of order 1) times the factor of
    ``growth``. The RMS over units is N^{beta - 1} whatever the growth."""
    drift = learning_rate() * N ** (-BETA) * SUM_OF_N_ORDER_ONE_TERMS / ALPHA
    return sp.simplify(drift * maximum_growth(growth))
