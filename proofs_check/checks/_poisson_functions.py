"""The functions the Poisson checks test (checks.poisson_fluctuations, theory.md §5) and their
rivals' solutions: the proof's F = (ybar - g_t) A(x*, .) with its x*, the candidates that stand
in where F is constant on the words or its rival variances are too close to sigma^2, and each
candidate's wrong-law rival (checks._common.wrong_law). Chosen from exact quantities only,
before any Monte Carlo."""

from __future__ import annotations

import numpy as np

from numerics.poisson_float import asymptotic_variance_from, poisson_solve
from proofs_check.checks._common import STATISTICAL_LAW_DISTANCE, wrong_law
from proofs_check.checks._limit import limit_on_words


def control_name(law_name: str) -> str:
    """The name of the rival "Poisson solution with ``law_name`` instead of pi"."""
    return f"Poisson solution with {law_name} instead of pi"


def proof_function(pi_L: np.ndarray, residual: np.ndarray, K: np.ndarray) -> np.ndarray:
    """The proof's F(u) = (ybar(u) - g_t(u)) A(x*, u) on the words (module docstring), shape
    (m^L,), from ``residual`` = ybar - g_t (m^L,) and the kernel K (m^L, m^L): x* the most
    probable word whose F is not constant on the words (:func:`constant_on_words`), the most
    probable word when none is (ties: the lower index). A fixed x* could make F constant for
    every budget: with b = 0 and an odd activation, A(x, .) = 0 at a word whose newest symbol
    is 0 (S = sigma(0) = 0, G^w = sigma'(0) 0), as on a three-state chain whose most probable
    state is 0; the drift fluctuation was then 0 at every N."""
    order = np.argsort(-np.asarray(pi_L, dtype=float), kind="stable")
    if np.any(residual != 0.0):  # else F = 0 at every x*
        for star in order:
            F = residual * K[star]
            if not constant_on_words(F):
                return F
    return residual * K[int(order[0])]


SEPARATION = 0.1  # relative distance of each wrong variance from sigma^2 that the choice asks
# A function on the words whose values differ by at most this many units in the last place of
# its largest value is constant: the values come from double-precision evaluations (the
# target, the limit) that agree in exact arithmetic to within a few rounding errors each.
CONSTANT_ULPS = 64


def constant_on_words(values: np.ndarray) -> bool:
    """Whether F on the words, shape (m^L,), is constant to rounding (:data:`CONSTANT_ULPS`):
    then F~ = 0, sigma^2(F) = 0 and every rival variance is 0 as well."""
    values = np.asarray(values, dtype=float)
    scale = float(np.max(np.abs(values)))
    return bool(np.ptp(values) <= CONSTANT_ULPS * np.finfo(float).eps * scale)


def rival_variances(solution, control, rival: str, pi_L) -> dict[str, float]:
    """The two rival theories of the asymptotic variance (module docstring). The wrong-law one
    is the formula 2 nu(F~ u) - nu(F~^2) with nu and its solution u in place of pi: not
    ``control.asymptotic_variance``, the martingale form, which equals the formula only for a
    true Poisson solution (numerics.poisson_float.martingale_variance)."""
    return {"i.i.d. variance pi(F~^2) (no Poisson correction)":
            float(pi_L @ solution.centred**2),
            rival: asymptotic_variance_from(control.pi, control.centred, control.u)}


def candidate_functions(pi_L, F, ybar) -> list[tuple[str, np.ndarray]]:
    """(name, values on the words) of the functions a Poisson check may use, in order: the
    proof's F, ybar, the indicator of the most probable word, leaving out those constant on the
    words (:func:`constant_on_words`; never the indicator, so the list is never empty)."""
    indicator = (np.arange(pi_L.size) == int(np.argmax(pi_L))).astype(float)
    return [(name, values) for name, values in (
        ("the proof's F = (ybar - g_t) A(x*, .)", F),
        ("ybar, the target's conditional mean", ybar),
        ("the indicator of the most probable word", indicator)) if not constant_on_words(values)]


def solutions(Q, pi_L, values):
    """The Poisson solution of ``values``, its wrong-law rival's solution and that rival's name
    (module docstring; the wrong law chosen by the gap in this function's mean)."""
    law_name, law = wrong_law(pi_L, STATISTICAL_LAW_DISTANCE, values=values)
    return (poisson_solve(Q, values, pi=pi_L), poisson_solve(Q, values, pi=law),
            control_name(law_name))


def variance_function(Q, pi_L, F, context, solved_F: tuple | None = None):
    """The function whose asymptotic variance is tested: the proof's F, unless one of the two
    rival variances lies within 10% of its sigma^2 (then no feasible budget tells them apart),
    in which case the first of ybar and the indicator of the most probable word for which both
    rivals are 10% away; failing all, the one whose nearer rival is farthest. Each function has
    its own wrong law (checks._common.wrong_law, chosen by the gap in that function's mean).
    A function constant on the words (to rounding, :func:`constant_on_words`: a constant
    target's ybar, the proof's F of a zero target) is never chosen: its sigma^2 is 0 under
    every theory, and its rivals' relative gaps would be ratios of rounding errors. The
    indicator never is (a chain has at least two states), so one candidate always remains.
    Chosen from exact quantities only, before any Monte Carlo: (name, F, solution, wrong-law
    solution, the wrong-law rival's name). ``solved_F``: :func:`solutions` of F, when known."""
    candidates = []
    for name, values in candidate_functions(pi_L, F, limit_on_words(context)["ybar"]):
        known = values is F and solved_F is not None
        solution, control, rival = solved_F if known else solutions(Q, pi_L, values)
        sigma2 = solution.asymptotic_variance
        gaps = [abs(v - sigma2) / max(abs(sigma2), 1e-300)
                for v in rival_variances(solution, control, rival, pi_L).values()]
        candidates.append((min(gaps), name, values, solution, control, rival))
        if min(gaps) >= SEPARATION:
            return name, values, solution, control, rival
    return max(candidates, key=lambda c: c[0])[1:]
