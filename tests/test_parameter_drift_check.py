"""The parameter-drift check (proofs_check.checks.parameter_drift) on synthetic trained levels:
what it measures (each unit's drift over all its parameters, the RMS and the normalised max),
the allowances it states, and its verdicts, against values computed here from the same arrays.
The levels replace the trained-network Monte Carlo (checks._simulations.trained_ladder), so
the check's own arithmetic is tested without the simulation's noise or cost."""

from __future__ import annotations

import dataclasses
import math
import re

import numpy as np
import pytest

from derivations.inputs.files import load_layers
from proofs_check.budget import TINY
from proofs_check.cache import Cache
from proofs_check.checks import CheckContext
from proofs_check.checks import parameter_drift as drift

LADDER = (64, 256, 1024, 4096)
REPLICAS = 32


def _levels(beta: float) -> list[dict[str, np.ndarray]]:
    """Every parameter of every unit moves by N^(beta - 1) times a standard Gaussian (c, both
    components of w in R^2, b), from a start that is not 0: the drift is N^(beta - 1) times a
    chi with 4 degrees of freedom, RMS exactly 2 N^(beta - 1) in expectation."""
    rng = np.random.default_rng(11)
    levels = []
    for n in LADDER:
        scale = n ** (beta - 1.0)
        start = {"c0": rng.standard_normal((REPLICAS, n)),
                 "w0": rng.standard_normal((REPLICAS, n, 2)),
                 "b0": rng.uniform(-0.5, 0.5, (REPLICAS, n))}
        levels.append({**start, "f": np.zeros((REPLICAS, 3)),
                       "cT": start["c0"] + scale * rng.standard_normal((REPLICAS, n)),
                       "wT": start["w0"] + scale * rng.standard_normal((REPLICAS, n, 2)),
                       "bT": start["b0"] + scale * rng.standard_normal((REPLICAS, n))})
    return levels


@pytest.fixture(scope="module")
def checked():
    config = load_layers(None, []).config  # tanh, beta = 0.75, Gaussian c: sqrt(2 log N)
    levels = _levels(float(config.network.beta))
    budget = dataclasses.replace(TINY, n_ladder=LADDER, replicas=REPLICAS,
                                 full_replicas_up_to=None)
    context = CheckContext(config, budget, Cache(None, salt="drift-synthetic"), seed=0)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(drift, "trained_ladder", lambda *args, **kwargs: levels)
        results = {result.name: result for result in drift.run(context)}
    return config, levels, results


def _drifts(level: dict[str, np.ndarray]) -> np.ndarray:
    """|theta_T - theta_0| per replica and unit, the norm over all d + 2 coordinates."""
    moves = np.concatenate([(level["cT"] - level["c0"])[..., None], level["wT"] - level["w0"],
                            (level["bT"] - level["b0"])[..., None]], axis=-1)
    return np.linalg.norm(moves, axis=-1)


def test_a_units_drift_is_the_euclidean_norm_over_all_its_parameters():
    """|theta^i_T - theta^i_0| over (c, w in R^d, b): with increments (1, (2, 4), 2) it is
    sqrt(1 + 4 + 16 + 4) = 5; each group alone gives its own part (R = 1 replica, N = 4 units,
    d = 2: the unit moving only c, only w, only b, and all three)."""
    zero_c, zero_w = np.zeros((1, 4)), np.zeros((1, 4, 2))
    level = {"c0": zero_c, "w0": zero_w, "b0": zero_c,
             "cT": np.array([[1.0, 0.0, 0.0, 1.0]]),
             "wT": np.array([[[0.0, 0.0], [2.0, 4.0], [0.0, 0.0], [2.0, 4.0]]]),
             "bT": np.array([[0.0, 0.0, 2.0, 2.0]])}
    shifted = {key: value + 0.5 for key, value in level.items()}  # only differences count
    for data in (level, shifted):
        np.testing.assert_allclose(drift.unit_drifts(data), [[1.0, np.sqrt(20.0), 2.0, 5.0]],
                                   rtol=1e-15)


def test_the_rms_drift_is_over_every_parameter_of_every_unit(checked):
    _, levels, results = checked
    rms = [math.sqrt(np.mean(_drifts(level) ** 2)) for level in levels]
    np.testing.assert_allclose(results["parameter_drift"].details["rms_drift"], rms, rtol=1e-12)


def test_the_max_drift_is_divided_by_sqrt_2_log_n(checked):
    _, levels, results = checked
    top = [np.mean(np.max(_drifts(level), axis=1)) / math.sqrt(2 * math.log(n))
           for level, n in zip(levels, LADDER, strict=True)]
    details = results["parameter_drift_max"].details
    assert details["log_factor"] == "sqrt(2 log N)"
    np.testing.assert_allclose(details["max_drift_normalised"], top, rtol=1e-12)


def test_the_allowances_are_stated_at_the_smallest_n(checked):
    """(i) r N_min^-r / (1 - N_min^-r) with r = 1/4 (beta = 3/4) and N_min = 64; (ii) for the
    max, plus the steepest slope of log(m_N / sqrt(2 log N)) between rungs."""
    config, _, results = checked
    shrink = 64 ** -0.25
    subleading = 0.25 * shrink / (1 - shrink)
    normalisation = drift.normalisation_allowance(config, LADDER)
    assert normalisation > 1e-3

    def stated(name: str) -> float:
        found = re.search(r"widened by the allowance ([0-9.e+-]+)",
                          results[name].tolerance_source)
        assert found is not None
        return float(found.group(1))

    assert stated("parameter_drift") == pytest.approx(subleading, rel=5e-3)
    assert stated("parameter_drift_max") == pytest.approx(subleading + normalisation, rel=5e-3)


def test_drift_of_the_predicted_order_passes_every_claim(checked):
    _, _, results = checked
    assert {name: result.verdict for name, result in results.items()} == {
        "parameter_drift": "pass", "parameter_drift_sharpness": "pass",
        "parameter_drift_max": "pass", "parameter_drift_max_sharpness": "pass"}
    for result in results.values():
        assert all(rival.rejected for rival in result.rivals)


def _run_on(assignments: list[str], budget_changes: dict, salt: str):
    """The check on synthetic levels (``_levels`` at the config's beta) with ``budget_changes``
    applied to the tiny budget on this file's ladder; the levels hold each rung's
    budget.replicas_at(N) replicas."""
    config = load_layers(None, assignments).config
    budget = dataclasses.replace(TINY, **{"n_ladder": LADDER, "replicas": REPLICAS,
                                          "full_replicas_up_to": None, **budget_changes})
    levels = [{key: value[: budget.replicas_at(n)] for key, value in level.items()}
              for level, n in zip(_levels(float(config.network.beta)), LADDER, strict=True)]
    context = CheckContext(config, budget, Cache(None, salt=salt), seed=0)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(drift, "trained_ladder", lambda *args, **kwargs: levels)
        return config, levels, {result.name: result for result in drift.run(context)}


def test_every_rung_states_its_own_replica_count():
    """Past full_replicas_up_to = 256 the rungs hold max(8, round(32 (256 / N)^2)) replicas:
    32, 32, 8, 8. Each result's ladder rows and details state those counts."""
    _, levels, results = _run_on([], {"full_replicas_up_to": 256, "min_replicas": 8},
                                 "drift-replicas")
    counts = [level["c0"].shape[0] for level in levels]
    assert counts == [32, 32, 8, 8]
    for result in results.values():
        assert [row.replicas for row in result.ladder] == counts
        assert result.details["replicas"] == counts


def test_the_subleading_allowance_uses_the_overall_rate_not_the_drift_exponent():
    """beta = 0.6: the overall rate r = min(beta - 1/2, 1 - beta, 1/2) = 0.1 (theory.md §6),
    while the drift exponent is beta - 1 = -0.4. The output error, hence the ergodic averages'
    relative error, is N^-r: the allowance is 0.1 * 64^-0.1 / (1 - 64^-0.1), not the 0.4 one."""
    _, _, results = _run_on(["network.beta=0.6"], {}, "drift-beta-0.6")
    shrink = 64 ** -0.1
    expected = 0.1 * shrink / (1 - shrink)
    found = re.search(r"widened by the allowance ([0-9.e+-]+)",
                      results["parameter_drift"].tolerance_source)
    assert found is not None and float(found.group(1)) == pytest.approx(expected, rel=5e-3)
    assert results["parameter_drift"].details["allowance"] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(("assignments", "factor", "text"), [
    (['network.trainable=["c"]'], lambda n: 1.0, "1 (bounded c)"),  # tanh: c moves by S, bounded
    (["network.activation=linear"], math.log, "log N"),  # b moves by c times a Gaussian
])
def test_the_max_drift_names_and_divides_by_its_own_log_factor(assignments, factor, text):
    """Besides sqrt(2 log N) (the default, above): only c trained with tanh is bounded (no
    factor); linear with b trained carries log N (derivations.max_drift). The quantity, the
    details and the normalised values all use that configuration's factor."""
    _, levels, results = _run_on(assignments, {}, f"drift-growth-{text}")
    result = results["parameter_drift_max"]
    assert result.details["log_factor"] == text
    assert result.quantity == f"rate exponent of max_i |theta_T - theta_0| / {text}"
    top = [np.mean(np.max(_drifts(level), axis=1)) / factor(n)
           for level, n in zip(levels, LADDER, strict=True)]
    np.testing.assert_allclose(result.details["max_drift_normalised"], top, rtol=1e-12)
