"""The Sobolev check compares each tangent with the derived uniform bound of theory.md §3,

    |G^w| <= L X / (1 - rho),   |G^b| <= L M / (1 - rho),   rho = bbar L,

M = sup |sigma| for a bounded activation and, per unit, |w| X / (1 - bbar) for the linear one.
For tanh these bounds are not attained (|G^b| near L M / (1 - rho) would need sigma' = 1 and
|S| = 1 at once), so a bound made twice too large still holds, still rejects its rival (Lip/2)
and passes: only the wiring of the bounds themselves can catch it. Here the ratios the check
forms are compared with the bounds evaluated by hand on tangents chosen to hit them.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from proofs_check.checks import sobolev_bounds


def _ratios(lip_factor: float, b_max: float, w: np.ndarray, G_w: np.ndarray, G_b: np.ndarray,
            X: float, lip: float, sup_sigma: float) -> tuple[float, float]:
    config = SimpleNamespace(init=SimpleNamespace(b_max=b_max))
    by_step = sobolev_bounds._ratios(lip_factor, config, w, G_w, G_b, X, lip, sup_sigma,
                                     sobolev_bounds._bound_functions())
    return tuple(float(r.max()) for r in by_step)


@pytest.mark.parametrize("lip, sup_sigma, b_max", [(1.0, 1.0, 0.5),  # tanh, erf-like
                                                    (0.25, 1.0, 2.0)])  # sigmoid: L = 1/4
def test_a_bounded_activation_is_held_to_its_derived_bounds(lip, sup_sigma, b_max):
    X = 2.0
    rho = b_max * lip
    bound_w = lip * X / (1 - rho)  # by hand: theory.md §3
    bound_b = lip * sup_sigma / (1 - rho)
    G_w = np.zeros((1, 2, 3, 1))  # (paths, steps, units, d)
    G_w[0, 0, :, 0] = [0.25, 0.5, 1.0]
    G_w[0, 1, :, 0] = [0.1, 0.2, 0.3]
    G_b = np.array([[[0.5, 0.25, 1.0], [0.1, 0.1, 0.1]]])
    ratio_w, ratio_b = _ratios(1.0, b_max, np.ones((3, 1)), G_w * bound_w, G_b * bound_b, X,
                               lip, sup_sigma)
    assert ratio_w == pytest.approx(1.0, rel=1e-14)
    assert ratio_b == pytest.approx(1.0, rel=1e-14)
    # the rival: Lip/2 everywhere, so rho/2 too
    half_w = (lip / 2) * X / (1 - rho / 2)
    half_b = (lip / 2) * sup_sigma / (1 - rho / 2)
    control_w, control_b = _ratios(0.5, b_max, np.ones((3, 1)), G_w * bound_w,
                                   G_b * bound_b, X, lip, sup_sigma)
    assert control_w == pytest.approx(bound_w / half_w, rel=1e-14)
    assert control_b == pytest.approx(bound_b / half_b, rel=1e-14)
    assert control_w > 1.0 and control_b > 1.0


def test_the_linear_activation_uses_each_units_own_sup():
    X, b_max = 2.0, 0.5
    w = np.array([[1.0], [-3.0]])  # |w| = 1, 3: M = |w| X / (1 - bbar) = 4, 12
    bound_b = np.array([4.0, 12.0]) / (1 - b_max)  # L = 1: 8, 24
    G_b = np.array([[[8.0, 12.0]]])  # ratios 1 and 1/2: the larger unit's own bound counts
    G_w = np.full((1, 1, 2, 1), X / (1 - b_max))  # |G^w| at its bound X / (1 - bbar) = 4
    ratio_w, ratio_b = _ratios(1.0, b_max, w, G_w, G_b, X, 1.0, float("inf"))
    assert ratio_w == pytest.approx(1.0, rel=1e-14)
    assert ratio_b == pytest.approx(float(np.max(G_b[0, 0] / bound_b)), rel=1e-14)
    assert ratio_b == pytest.approx(1.0, rel=1e-14)


def test_the_check_reaches_the_bound_on_the_constant_path_of_a_linear_unit():
    """The check's own paths must be able to reach the bound, or a true bound far too loose
    would pass unseen. For sigma(z) = z, G^w_k = sum_{j<=k} b^j x_{k-j}: on the constant path of
    the largest state x = X it tends to X / (1 - b), the bound X / (1 - bbar) as b -> bbar, and
    G^b to |w| X / (1 - b)^2 against its bound |w| X / (1 - bbar)^2. With bbar = 1/2 and the
    quick budget's 2000 units, max b >= 0.995 bbar but with probability 0.9975^2000 < 1%,
    so the ratio exceeds (0.5 / 0.5025)^2 > 0.99 within the quick budget's 60 steps
    (0.5^54 < 1e-16).
    No other path gets there: the states 1 and 1/4 are both positive, so an alternating path
    reaches at most (1 + b/4) / (1 - b^2) = 0.75 of the w bound, and the chain switches state
    with probability 0.95, so a run of five 1s (the least that gives 0.98) starts at a step
    with probability 0.05^4 < 1e-5."""
    from derivations.inputs.config import load_config
    from proofs_check.budget import get_budget
    from proofs_check.cache import Cache
    from proofs_check.checks import CheckContext

    config = load_config("examples/linear_two_state.toml", [
        "chain.states=[[1.0], [0.25]]",
        'chain.transition=[["1/20", "19/20"], ["19/20", "1/20"]]'])
    context = CheckContext(config, get_budget("quick"), Cache(None, salt="t"), seed=0)
    result = sobolev_bounds.run(context)
    assert result.verdict == "pass", result.details
    assert 0.98 <= result.measured <= 1.0 + sobolev_bounds.TOLERANCE, result.measured
