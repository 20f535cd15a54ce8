"""Arbitrary-precision references (mpmath, >= 30 digits) for the limit solver (theory.md §7 tier 2).

- :func:`kernel_entry_mp`: A(u, v) on two words (theory.md §3-§4, recursion from S = G = 0 at
  the oldest symbol) per group, by mpmath.quad over w (Gaussian, z = w / w_std on (-inf, inf))
  and b (uniform on [-b_max, b_max]): nested tanh-sinh quadrature, d = 1 or 2.
- :func:`limit_mp`: g_t = (I - expm(-alpha t K D)) ybar with mpmath.expm (theory.md §4).

Independent of the double-precision code: the activations are printed for mpmath from their SymPy
definitions (not taken from numerics.generated) and no quadrature rule is shared.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import mpmath
import sympy
from mpmath import mp

from derivations.activations import Z, activation_derivative

DEFAULT_DPS = 30


def _mp_activation(name: str) -> tuple[Callable, Callable]:
    """(sigma, sigma') in mpmath (theory.md §2): the activation's one SymPy definition
    (derivations.activations) and its ``sympy.diff`` printed for mpmath by ``sympy.lambdify``,
    so every digit is computed at the working precision. Independent of the double-precision
    code: another printer, no stable rewrites, no numerics.generated."""
    sigma, slope = (
        sympy.lambdify(Z, activation_derivative(name, order), "mpmath") for order in (0, 1)
    )
    return (lambda z: mpmath.mpf(sigma(z))), (lambda z: mpmath.mpf(slope(z)))


def _features(word: Sequence[Sequence], w: Sequence, b, sigma, dsigma):
    """theory.md §3 recursion on a word (oldest first) from S = G = 0: (S, G^w (list), G^b)."""
    d = len(w)
    S = mpmath.mpf(0)
    Gw = [mpmath.mpf(0)] * d
    Gb = mpmath.mpf(0)
    for x in word:
        z = mpmath.fsum(w[i] * x[i] for i in range(d)) + b * S
        s1 = dsigma(z)
        Gw = [s1 * (x[i] + b * Gw[i]) for i in range(d)]
        Gb = s1 * (S + b * Gb)
        S = sigma(z)
    return S, Gw, Gb


@dataclass(frozen=True)
class KernelEntry:
    """A(u, v) per group and in total (mpf, summed at the working precision), with
    mpmath.quad's own error estimates (mpf). Compare them inside mp.workdps(dps): outside,
    mpmath arithmetic rounds to the default 15 digits."""

    by_group: dict[str, object]
    errors: dict[str, object]
    total: object


def kernel_entry_mp(
    u: Sequence[Sequence[float]],
    v: Sequence[Sequence[float]],
    activation: str,
    c_std: float,
    w_std: float,
    b_max: float,
    groups: Sequence[str] = ("c", "w", "b"),
    dps: int = DEFAULT_DPS,
) -> KernelEntry:
    """A(u, v) (theory.md §3 kernel, c: E[S S'], w: E[c^2] E[G^w.G^w'], b: E[c^2] E[G^b G^b'])
    for words u, v given as sequences of input vectors (oldest first), by mpmath.quad at
    ``dps`` digits. Float parameters are taken exactly as binary doubles (mpf(x)).

    Integration: z = w / w_std by tanh-sinh on (-inf, 0] and [0, inf) per coordinate (the
    Gaussian density in the integrand), b by nested Gauss-Legendre on [-b_max, b_max]; the
    (z, b) evaluations are cached and shared by the groups. errors: the outer mpmath.quad
    estimate (the inner Gauss-Legendre is iterated by mpmath to full working precision).
    Cost ~10 s per entry for words of length 4 (d = 1); d = 2 is a triple integral (minutes).
    """
    sigma, dsigma = _mp_activation(activation)
    with mp.workdps(dps):
        c2 = mpmath.mpf(c_std) ** 2
        ws, bm = mpmath.mpf(w_std), mpmath.mpf(b_max)
        uu = [[mpmath.mpf(x) for x in row] for row in u]
        vv = [[mpmath.mpf(x) for x in row] for row in v]
        d = len(uu[0])
        cache: dict = {}

        def integrand(group: str, *args):
            key = tuple(args)
            if key not in cache:
                *z, b = args
                w = [ws * zi for zi in z]
                Su, Gwu, Gbu = _features(uu, w, b, sigma, dsigma)
                Sv, Gwv, Gbv = _features(vv, w, b, sigma, dsigma)
                dens = mpmath.exp(-mpmath.fsum(zi * zi for zi in z) / 2) / (
                    mpmath.sqrt(2 * mpmath.pi) ** d)
                cache[key] = {
                    "c": dens * Su * Sv,
                    "w": dens * c2 * mpmath.fsum(Gwu[i] * Gwv[i] for i in range(d)),
                    "b": dens * c2 * Gbu * Gbv,
                }
            return cache[key][group]

        z_range = [-mpmath.inf, 0, mpmath.inf]
        by_group, errors = {}, {}
        for g in groups:
            if b_max == 0:
                def inner(*z, g=g):
                    return integrand(g, *z, mpmath.mpf(0))
            else:
                # nested 1-D: Gauss-Legendre in b (analytic on a finite interval), mean over U
                def inner(*z, g=g):
                    return mpmath.quad(lambda b: integrand(g, *z, b), [-bm, bm],
                                       method="gauss-legendre") / (2 * bm)
            # tanh-sinh over each z coordinate on (-inf, 0] and [0, inf)
            value, err = mpmath.quad(inner, *([z_range] * d), error=True)
            by_group[g] = value
            errors[g] = err
        return KernelEntry(by_group=by_group, errors=errors, total=mpmath.fsum(by_group.values()))


def limit_mp(K, pi, ybar, alpha, times: Sequence[float], dps: int = DEFAULT_DPS):
    """g_t = (I - expm(-alpha t K D)) ybar (theory.md §4) with mpmath.expm at ``dps`` digits.

    K (n x n nested sequences or mpmath matrix), pi (n,), ybar (n,). Returns a list (per t) of
    lists of mpf.
    """
    with mp.workdps(dps):
        Km = mpmath.matrix(K)
        n = Km.rows
        KD = mpmath.matrix(n, n)
        for i in range(n):
            for j in range(n):
                KD[i, j] = Km[i, j] * mpmath.mpf(pi[j])
        y = mpmath.matrix([mpmath.mpf(v) for v in ybar])
        out = []
        for t in times:
            E = mpmath.expm(-mpmath.mpf(alpha) * mpmath.mpf(t) * KD)
            g = y - E * y
            out.append([g[i] for i in range(n)])
        return out
