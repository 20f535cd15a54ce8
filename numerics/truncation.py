"""The truncation of paths to words (theory.md §4): how far g on words of length L is from the
limit on whole paths, estimated from consecutive word lengths.

g^L (words of length L, read from S = G = 0 before the oldest symbol) stands for the limit g in
three senses, one per statistic that compares a network with it:

* "path": g^L(u) for g(x) on a whole path x ending in the word u (the trained network along its
  own path, proofs_check.checks.main_theorem): the error in L2 of the stationary law of paths,
  | g - g^L |_{L2(pi)}. By Minkowski it is at most sum_{j > L} | g^j - g^(j-1) |_{L2(pi_j)}, the
  pointwise differences of consecutive lengths (g^(j-1) read on the younger j - 1 symbols).
* "words": g^L(u) for g at the word u itself read from S = 0 (the frozen network run on a
  word): g^j extended to the shorter words by the limit ODE itself (numerics.limit_solver.
  g_extended_at with the cross kernel numerics.kernel.cross_kernel) telescopes exactly,
  g(u) - g^L(u) = sum_{j > L} (g^j(u) - g^(j-1)(u)); the error in the sup norm over words.
* "average": g^L(u) for E[g(x) | u], the best function of the word (the older symbols averaged
  out under the stationary chain, :func:`suffix_average`); the sup norm over words.

Each difference decays like C (j - 1) rho^j (rho = b_max Lip(sigma), the memory contraction;
the factor j - 1 from the tangents, theory.md §6), and the tail is extrapolated with that
profile from two measured levels (:func:`truncation_tail`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
RHO_MAX = 0.99  # the truncation tail's contraction rate is clamped here (its sum ~ 1/(1 - rho)^2)
SENSES = ("path", "words", "average")


def suffix_average(values: FloatArray, pi_long: FloatArray, m: int) -> FloatArray:
    """Average over the oldest symbol: (..., m^(L+1)) on (L+1)-words -> (..., m^L) on L-words.

    Weights pi_{L+1}(s u) / pi_L(u) = law of the unseen older symbol given u under the
    stationary chain (time-reversed step); uniform where pi_L(u) = 0.
    """
    n = pi_long.shape[0] // m
    w = pi_long.reshape(m, n)
    total = w.sum(axis=0)
    w = np.where(total > 0, w / np.where(total > 0, total, 1.0), 1.0 / m)
    v = values.reshape(values.shape[:-1] + (m, n))
    return np.einsum("...sn,sn->...n", v, w)  # no temporary of the size of ``values``


def kernel_suffix_average(K_long: FloatArray, pi_long: FloatArray, m: int) -> FloatArray:
    """Average K_{L+1}(s u, s' v) over independent older symbols s, s' (suffix_average twice)."""
    half = suffix_average(K_long, pi_long, m)  # average over s' (columns)
    return suffix_average(half.T, pi_long, m).T


def level_differences(long_g: FloatArray, pi_long: FloatArray, short_g: FloatArray, m: int,
                      extended: FloatArray | None = None) -> dict[str, float]:
    """The difference between g on words of length j (``long_g``, (T, m^j), law ``pi_long``)
    and on length j - 1 (``short_g``, (T, m^(j-1))), max over the times, in each sense of the
    module docstring: "path" max_t | g^j(s u) - g^(j-1)(u) |_{L2(pi_j)}; "words"
    max_t max_u | g^j(u) - g^(j-1)(u) | at the (j-1)-words read from S = 0 (``extended``: g^j
    extended to them, (T, m^(j-1)); absent without it); "average"
    max_t max_u | E[g^j(s u) | u] - g^(j-1)(u) |, and "average_l2" the same in L2(pi_(j-1))."""
    n = short_g.shape[-1]
    pointwise = long_g.reshape(long_g.shape[:-1] + (m, n)) - short_g[..., None, :]
    law = pi_long.reshape(m, n)
    average = suffix_average(long_g, pi_long, m) - short_g
    out = {"path": float(np.max(np.sqrt(np.einsum("...sn,sn->...", pointwise**2, law)))),
           "average": float(np.max(np.abs(average))),
           "average_l2": float(np.max(np.sqrt(np.sum(law.sum(axis=0) * average**2, axis=-1))))}
    if extended is not None:
        out["words"] = float(np.max(np.abs(extended - short_g)))
    return out


def first_valid_level(lag: int) -> int:
    """theory.md §4, truncation levels: the shortest length j whose difference g^j - g^(j-1) is a
    valid level for a target of lag q, j = q + 2 (both words hold the target's window of q + 1
    inputs, so both have the exact ybar); at least 2, as a difference needs two lengths."""
    return max(2, int(lag) + 2)


def truncation_tail(diffs: Mapping[int, float], L: int, rho: float, first_valid: int = 1) -> float:
    """theory.md §4, truncation: the estimated |g^L - g^infinity| (in the norm of the given
    differences) from measured differences diff_j between consecutive word lengths
    (:func:`level_differences`, one sense). The one truncation estimator of the suite
    (numerics.limit.solve_limit, the checks' word-length choice).

    Level j starts the recursion of theory.md §2 j - 1 steps further back. The memory forgets
    that start like rho^(j-1), the tangents like (j - 1) rho^(j-1) (theory.md §6, memory:
    "tangents likewise with a factor k"), so diff_j <= C (j - 1) rho^j, and a measured level
    k >= 2 extrapolates to the tail
        sum_{j > L} diff_k (j - 1) / (k - 1) rho^(j - k)
            = diff_k rho^(L + 1 - k) (L - (L - 1) rho) / ((k - 1) (1 - rho)^2).
    (The plain geometric profile C rho^j fell short on random two-state chains, by up to 32% at
    the words, README "The limit"; tests/test_truncation_coverage.py checks this profile on
    such chains.) The tail is extrapolated from the valid levels
    j in {L - 1, L, L + 1} that were measured (both words long enough for the target,
    j >= first_valid) and the largest is kept, so one accidentally small difference cannot pass
    for convergence. Infinite when no difference exists.
    """
    rho = min(max(float(rho), 0.0), RHO_MAX)
    levels = _tail_levels(diffs, L, first_valid)
    if not levels:
        return float("inf")
    sum_profile = (L - (L - 1) * rho) / (1.0 - rho) ** 2  # sum_{j>L} (j-1) rho^(j-L-1)
    return max(diffs[j] * rho ** (L + 1 - j) * sum_profile / (j - 1) for j in levels)


# the longest word length length_for_tail projects to: at rho = RHO_MAX
# the tail falls by 1e-4 per 1000 lengths, so any target above 1e-300 of a tail is met before
PROJECTION_LIMIT = 100_000


def length_for_tail(diffs: Mapping[int, float], L: int, rho: float, target: float,
                    first_valid: int = 1) -> int | None:
    """The shortest word length L' >= L at which :func:`truncation_tail` would be at most
    ``target`` if the differences not yet measured kept to its (j - 1) rho^j profile, anchored
    at the longest valid level measured (M): at each L' the estimate takes its levels L' - 1,
    L', L' + 1 as :func:`truncation_tail` does, measured where they are (so at L' = L it is the
    estimate itself) and from the profile beyond M. The word length a target asks, as the next
    run's estimate would see it: a projection, not a measurement. The profile is an upper
    envelope of the measured differences (they decayed faster on the default config: from the
    levels up to 5, the projection for the target the estimate met 1-2 lengths later overshot by
    0-3 lengths, tests/test_length_projection.py), so a shorter L' may do. None when no length
    does (target <= 0 or not finite, no measured level, or none up to L + PROJECTION_LIMIT)."""
    levels = _tail_levels(diffs, L, first_valid)
    if not levels or not (target > 0.0 and np.isfinite(target)):
        return None
    valid = [j for j in diffs if j >= max(first_valid, 2)] or levels
    anchor = max(valid)
    rho_c = min(max(float(rho), 0.0), RHO_MAX)

    def level(j: int) -> float:  # measured, else the profile from the anchor
        if j in diffs:
            return float(diffs[j])
        return float(diffs[anchor]) * (j - 1) / (anchor - 1) * rho_c ** (j - anchor)

    for length in range(L, L + PROJECTION_LIMIT):
        known = {j: level(j) for j in (length - 1, length, length + 1)
                 if j in diffs or j > anchor}
        if truncation_tail(known, length, rho, first_valid) <= target:
            return length
    return None


def _tail_levels(diffs: Mapping[int, float], L: int, first_valid: int) -> list[int]:
    """The measured levels :func:`truncation_tail` extrapolates from at length L."""
    levels = [j for j in (L - 1, L, L + 1) if j >= max(first_valid, 2) and j in diffs]
    if not levels:  # words too short for the target: extrapolate what there is (config's L)
        levels = [j for j in (L - 1, L, L + 1) if j >= 2 and j in diffs]
    return levels

