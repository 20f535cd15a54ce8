"""The lazy-training check (proofs_check.checks.lazy_training) on synthetic trained levels: the
kernel motion it fits, the allowance and the sharpness interval it states, its rivals, and its
exact (static) branch, against values worked out here.

The levels replace the trained-network Monte Carlo (checks._simulations.trained_ladder). Each
unit starts from mu_0's laws and every trained parameter moves by N^(beta - 1) times a Gaussian.
The motion is computed here with numerics.tangent_kernel.empirical_kernel (tested against the
quadrature kernel in tests/test_tangent_kernel.py) on the words the check's docstring names:
Budget.init_words of length init_word_length, spread over all m^L words. At beta = 0.6 the
rates differ: overall r = min(beta - 1/2, 1 - beta, 1/2) = 0.1, lazy bound beta - 1 = -0.4, and
surviving orders beta - 3/2 = -0.9, 2 beta - 2 = -0.8, 3 beta - 3 = -1.2 (not antisymmetric)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from check_references import spread_word_inputs

from derivations.inputs.files import load_layers
from numerics.tangent_kernel import empirical_kernel
from proofs_check.budget import TINY
from proofs_check.cache import Cache
from proofs_check.checks import CheckContext
from proofs_check.checks import lazy_training as lazy

LADDER = (64, 256, 1024)
REPLICAS = 16
BETA = 0.6


def _levels(config, moving: tuple[str, ...], seed: int = 3) -> list[dict[str, np.ndarray]]:
    """Per N: theta_0 from mu_0 (c ~ N(0, c_std^2), w ~ N(0, w_std^2 I_d), b ~ U[-bbar, bbar]),
    theta_T = theta_0 + N^(beta - 1) z for the groups in ``moving`` (the others stay)."""
    rng = np.random.default_rng(seed)
    init, d = config.init, config.chain.d
    levels = []
    for n in LADDER:
        scale = n ** (BETA - 1.0)
        start = {"c0": float(init.c_std) * rng.standard_normal((REPLICAS, n)),
                 "w0": float(init.w_std) * rng.standard_normal((REPLICAS, n, d)),
                 "b0": rng.uniform(-float(init.b_max), float(init.b_max), (REPLICAS, n))}
        end = {f"{g}T": start[f"{g}0"] + (scale * rng.standard_normal(start[f"{g}0"].shape)
                                          if g in moving else 0.0) for g in ("c", "w", "b")}
        levels.append({**start, **end, "f": np.zeros((REPLICAS, 4))})
    return levels


def _run(config, levels):
    budget = dataclasses.replace(TINY, n_ladder=LADDER, replicas=REPLICAS,
                                 full_replicas_up_to=None)
    context = CheckContext(config, budget, Cache(None, salt="lazy-synthetic"), seed=0)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(lazy, "trained_ladder", lambda *args, **kwargs: levels)
        out = lazy.run(context)
    return budget, (out if isinstance(out, tuple) else (out,))


def _inputs(config, budget) -> np.ndarray:
    """The init_words words of length init_word_length spread evenly over all m^L, as input
    arrays (words, L, d)."""
    return spread_word_inputs(config, budget.init_word_length, budget.init_words)


def _motion(config, level, inputs, r: int, groups=None) -> float:
    end = empirical_kernel(config, level["cT"][r], level["wT"][r], level["bT"][r], inputs, groups)
    start = empirical_kernel(config, level["c0"][r], level["w0"][r], level["b0"][r], inputs,
                             groups)
    return float(np.mean((end - start) ** 2))


@pytest.fixture(scope="module")
def moving():
    config = load_layers(None, [f"network.beta={BETA}"]).config
    levels = _levels(config, ("c", "w", "b"))
    budget, (bound, sharp) = _run(config, levels)
    return config, budget, levels, bound, sharp


def test_the_fitted_motion_is_the_rms_over_replicas_of_the_kernels_move(moving):
    """Every trained parameter, b included, enters A^N(theta_T); the level is sqrt(mean_r e_r)."""
    config, budget, levels, bound, _ = moving
    inputs = _inputs(config, budget)
    for row, level in zip(bound.ladder, levels, strict=True):
        e = [_motion(config, level, inputs, r) for r in range(REPLICAS)]
        assert row.value == pytest.approx(math.sqrt(np.mean(e)), rel=1e-9)
    frozen_b = {**levels[-1], "bT": levels[-1]["b0"]}  # the b move matters at these scales
    e_without_b = [_motion(config, frozen_b, inputs, r) for r in range(REPLICAS)]
    assert abs(math.sqrt(np.mean(e_without_b)) / bound.ladder[-1].value - 1) > 1e-3


def test_the_allowance_is_the_overall_rates_subleading_term_at_the_smallest_n(moving):
    _, _, _, bound, sharp = moving
    r, shrink = 0.1, LADDER[0] ** -0.1  # r = beta - 1/2 at beta = 0.6, not 1 - beta
    assert bound.details["allowance"] == pytest.approx(r * shrink / (1 - shrink), rel=1e-12)
    assert sharp.details["allowance"] == bound.details["allowance"]


def test_the_sharpness_interval_and_rivals_are_the_surviving_orders(moving):
    """Prediction: the slowest surviving order 2 beta - 2 = -0.8, interval [3 beta - 3,
    2 beta - 2]; rivals beta - 1 = -0.4 and 1/4 faster than the fastest, -1.45."""
    _, _, _, bound, sharp = moving
    assert bound.prediction == pytest.approx(-0.4)
    assert sharp.prediction == pytest.approx(-0.8)
    assert sharp.details["predicted_interval"] == pytest.approx([-1.2, -0.8])
    assert [rival.prediction for rival in sharp.rivals] == pytest.approx([-0.4, -1.45])
    # the increments here are centred and independent of theta_0, so the first-order term is
    # a centred sum, N^(beta - 3/2), as the c -> -c symmetry makes it in training: the motion
    # falls like the surviving orders (measured -0.85) and every rival is rejected
    assert bound.verdict == sharp.verdict == "pass"
    assert all(rival.rejected for rival in (*bound.rivals, *sharp.rivals))


def _static(moving_groups: tuple[str, ...], mover: tuple[int, int] | None = None):
    """c alone trainable (the kernel S S' depends on frozen w, b only); ``mover``: (rung,
    replica) whose w is moved anyway, against the freeze."""
    config = load_layers(None, ["network.trainable=['c']"]).config
    levels = _levels(config, moving_groups)
    if mover is not None:
        level = levels[mover[0]]
        level["wT"] = level["wT"].copy()
        level["wT"][mover[1]] += 0.01
    budget, results = _run(config, levels)
    return config, budget, levels, results


def test_static_a_kernel_that_does_not_move_passes_and_the_moving_control_is_rejected():
    config, budget, levels, (result,) = _static(("c",))
    assert result.measured == 0.0 and result.verdict == "pass"
    inputs = _inputs(config, budget)
    control = max(_motion(config, level, inputs, r, ("c", "w", "b"))
                  for level in levels for r in range(REPLICAS))
    assert result.rivals[0].measured == pytest.approx(control, rel=1e-12) and control > 0
    assert result.rivals[0].rejected


def test_static_one_replica_moving_the_kernel_fails_the_claim():
    """The measured value is the max over rungs and replicas: one moved replica decides it."""
    config, budget, levels, (result,) = _static(("c",), mover=(1, 5))
    inputs = _inputs(config, budget)
    assert result.measured == pytest.approx(_motion(config, levels[1], inputs, 5), rel=1e-12)
    assert result.measured > 0 and result.verdict == "fail"


def test_static_a_control_that_does_not_move_cannot_reject_its_rival():
    """Nothing trained moved: the control is 0 too, so the measurement would not have seen a
    moving kernel; the rival stands and the claim is inconclusive, not a pass."""
    _, _, _, (result,) = _static(())
    assert result.measured == 0.0 and result.rivals[0].measured == 0.0
    assert not result.rivals[0].rejected and result.verdict == "inconclusive"
