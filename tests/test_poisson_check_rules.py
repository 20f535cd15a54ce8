"""Two rules of the Poisson checks (proofs_check.checks.poisson_fluctuations) held to its module
docstring: the proof's F is taken at t = T/2, and the pathwise identity's rival is judged by its
own rounding bound, not the claim's."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from derivations.inputs.files import load_layers
from numerics.chain import stationary_law
from proofs_check.budget import TINY
from proofs_check.cache import Cache
from proofs_check.checks import CheckContext
from proofs_check.checks import poisson_fluctuations as poisson
from proofs_check.checks._poisson_functions import proof_function


def test_the_proofs_function_is_taken_at_half_the_horizon(monkeypatch):
    """F = (ybar - g_t) A(x*, .) at t = T/2: on the grid t_j = T j / 32 that is j = 16, the row
    g[15] (T = 2 here, t = 1). Each row of the stand-in g differs, so another time shows."""
    config = load_layers(None, ["chain.transition=[[\"1/5\",\"1/2\",\"3/10\"],"
                                "[\"1/2\",\"1/4\",\"1/4\"],[\"1/3\",\"1/3\",\"1/3\"]]"]).config
    assert float(config.training.horizon) == 2.0
    P = np.array([[0.2, 0.5, 0.3], [0.5, 0.25, 0.25], [1 / 3, 1 / 3, 1 / 3]])
    pi = stationary_law(P)
    rows = np.arange(1.0, 33.0)[:, None] * np.array([0.01, -0.02, 0.03])  # g_{t_j} = j * v
    K = np.array([[2.0, 0.5, 0.1], [0.5, 1.5, 0.3], [0.1, 0.3, 1.0]])
    ybar = np.array([1.0, -1.0, 0.5])
    limit = {"pi_L": pi, "ybar": ybar, "g": rows, "K": K, "L": 1}
    monkeypatch.setattr(poisson, "limit_on_words", lambda context: limit)
    _, Q, pi_L, F, L = poisson._problem(CheckContext(config, TINY, Cache(None, salt="p"), 0))
    assert L == 1 and Q.shape == (3, 3)
    np.testing.assert_array_equal(F, proof_function(pi, ybar - rows[15], K))
    assert not np.allclose(F, proof_function(pi, ybar - rows[31], K))


def _pathwise(monkeypatch, rival_discrepancy: float) -> poisson.CheckResult:
    """The claim within its bound 1e-12; the rival (control) with its own bound 1e-11."""
    claim, control = SimpleNamespace(u=np.zeros(3)), SimpleNamespace(u=np.zeros(3))
    outcomes = {id(claim): SimpleNamespace(discrepancy=np.array([0.0, -1e-13]), tolerance=1e-12),
                id(control): SimpleNamespace(discrepancy=np.array([rival_discrepancy]),
                                             tolerance=1e-11)}
    monkeypatch.setattr(poisson, "pathwise_decomposition",
                        lambda solution, words: outcomes[id(solution)])
    return poisson._pathwise(claim, control, "the wrong law", np.zeros((2, 5), dtype=int))


@pytest.mark.parametrize(("rival_discrepancy", "rejected"), [(5e-12, False), (3e-11, True)])
def test_the_pathwise_rival_is_judged_by_its_own_rounding_bound(monkeypatch, rival_discrepancy,
                                                                rejected):
    """5e-12 is within the rival's bound 1e-11 (its u is larger, so is its rounding), though
    above the claim's 1e-12: the identity holds for it too, and it is not rejected."""
    result = _pathwise(monkeypatch, rival_discrepancy)
    assert result.accepted and result.measured == 1e-13 and result.tolerance == 1e-12
    (rival,) = result.rivals
    assert rival.rejected is rejected and rival.measured == rival_discrepancy
    assert result.verdict == ("pass" if rejected else "inconclusive")
