"""Cross-checks of the chain computations against sympy.stats and QuantEcon.py (issue 6;
theory.md §1, §5).

3. sympy.stats.DiscreteMarkovChain: stationary_distribution() (linsolve) and, for ergodic
   chains, fundamental_matrix() = (I - P + W)^{-1}, W the matrix with every row pi, which is
   our Z = (I - P + 1 pi)^{-1} (theory.md §5): compared with derivations.poisson_exact EXACTLY.
4. QuantEcon.py MarkovChain(P).stationary_distributions (GTH) vs numerics.chain.stationary_law,
   tolerance 1e-12 (issue 6).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from numerics.peer_libraries import CrossCheckResult, quantecon, sympy_stats

FloatArray = NDArray[np.float64]
QUANTECON_TOLERANCE = 1e-12  # issue 6 ("to 1e-12"); GTH is entrywise O(m^3 eps) accurate


def _exact_max_deviation(a: Any, b: Any) -> tuple[float, bool]:
    """(max |a - b| as float, all differences exactly zero) for two SymPy matrices."""
    import sympy as sp

    a, b = sp.Matrix(a), sp.Matrix(b)
    if a.shape != b.shape:
        return float("inf"), False
    diffs = [x - y for x, y in zip(a, b, strict=True)]
    diffs = [diff if diff.is_Rational else sp.simplify(diff) for diff in diffs]
    exact = all(diff == 0 for diff in diffs)
    return max((abs(float(diff)) for diff in diffs), default=0.0), bool(exact)


def compare_sympy_chain(P: Any, *, stationary: Callable[[Any], Any] | None = None,
                        fundamental: Callable[[Any], Any] | None = None,
                        label: str = "") -> list[CrossCheckResult]:
    """sympy.stats.DiscreteMarkovChain vs derivations.poisson_exact (theory.md §1, §5), exactly.

    P: exact (m, m) rational ergodic chain. ``stationary`` / ``fundamental`` replace our
    implementations (negative controls). Two results: pi and Z."""
    import sympy as sp

    from derivations import poisson_exact as poisson

    stats, version = sympy_stats()
    P = sp.ImmutableMatrix(P)
    m = P.shape[0]
    chain = stats.DiscreteMarkovChain("Z", state_space=list(range(m)), trans_probs=P)
    ours_pi = (stationary or poisson.stationary_law)(P)
    ours_z = (fundamental or poisson.fundamental_matrix)(P)
    results = []
    for what, theirs, ours in (("stationary law", chain.stationary_distribution(), ours_pi),
                               ("fundamental matrix", chain.fundamental_matrix(), ours_z)):
        dev, exact = _exact_max_deviation(theirs, ours)
        results.append(CrossCheckResult(
            name=f"{what}{label}: sympy.stats.DiscreteMarkovChain vs derivations.poisson_exact",
            library="sympy", version=version,
            size=f"{sp.Matrix(theirs).rows}x{sp.Matrix(theirs).cols} exact entries (m = {m})",
            max_deviation=dev, tolerance=0.0, tolerance_source="exact rational equality",
            passed=exact))
    return results


# ----------------------------------------------------------------------------- 4. QuantEcon


def compare_quantecon(P: FloatArray, *, stationary: Callable[[FloatArray], FloatArray]
                      | None = None, label: str = "") -> CrossCheckResult:
    """QuantEcon.py MarkovChain (GTH) stationary law vs numerics.chain.stationary_law
    (theory.md §1), tolerance 1e-12 (issue 6). P (m, m) irreducible."""
    from numerics.chain import stationary_law

    qe, version = quantecon()
    P = np.asarray(P, dtype=float)
    laws = qe.MarkovChain(P).stationary_distributions
    ours = (stationary or stationary_law)(P)
    if laws.shape[0] != 1:
        dev = float("inf")
    else:
        dev = float(np.max(np.abs(laws[0] - ours)))
    return CrossCheckResult(
        name=f"stationary law{label}: quantecon.MarkovChain (GTH) vs numerics.chain",
        library="quantecon", version=version, size=f"{P.shape[0]} states",
        max_deviation=dev, tolerance=QUANTECON_TOLERANCE,
        tolerance_source="1e-12 required; GTH entrywise relative error O(m^3 eps)",
        passed=bool(dev <= QUANTECON_TOLERANCE))
