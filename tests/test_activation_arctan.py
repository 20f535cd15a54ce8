"""The activation arctan end to end (issue 15): added by its one definition in
derivations/activations.py and a regeneration; bounded by pi/2, not by 1.

Hand derivation of its constants (independent of derivations.activations): arctan' = 1/(1+z^2)
is at most 1 (at z = 0); arctan'' = -2z/(1+z^2)^2 has |.| maximal where
(1+z^2) = 4 z^2, z^2 = 1/3: 2/sqrt(3) / (16/9) = 3 sqrt(3)/8; sup |arctan| = pi/2 (at +-inf).
"""

from __future__ import annotations

import importlib.util
import math

import numpy as np
import pytest
import sympy as sp

from derivations.activations import ACTIVATION_NAMES, activation_constants, sup_abs_derivative
from derivations.inputs.config import ConfigError
from derivations.inputs.files import load_layers
from numerics.activations import activation_functions

ARCTAN = ("network.activation=arctan",)


def _config(*overrides: str):
    return load_layers(None, ARCTAN + overrides).config


def test_arctan_is_an_activation_with_its_exact_constants() -> None:
    assert "arctan" in ACTIVATION_NAMES
    assert sup_abs_derivative("arctan", 0) == sp.pi / 2
    assert sup_abs_derivative("arctan", 1) == 1
    assert sp.simplify(sup_abs_derivative("arctan", 2) - 3 * sp.sqrt(3) / 8) == 0
    constants = activation_constants("arctan")
    assert constants.bounded and constants.sup_sigma == math.pi / 2


def test_generated_arctan_functions_match_numpy() -> None:
    act = activation_functions("arctan")
    z = np.linspace(-50, 50, 10_001)
    np.testing.assert_allclose(act.sigma(z), np.arctan(z), rtol=0, atol=4e-16)
    np.testing.assert_allclose(act.d1(z), 1 / (1 + z**2), rtol=4e-16, atol=0)
    np.testing.assert_allclose(act.d2(z), -2 * z / (1 + z**2) ** 2, rtol=1e-15, atol=1e-300)


def test_config_contraction_uses_lipschitz_one() -> None:
    assert _config("init.b_max=0.99").network.activation == "arctan"
    with pytest.raises(ConfigError, match="rho"):
        _config("init.b_max=1.0")


def test_kernel_tail_bound_uses_sup_pi_over_two() -> None:
    # the c-group tail constant is sup|sigma|^2 = (pi/2)^2 (it assumed |sigma| <= 1 before)
    from numerics.kernel import KernelSpec
    from numerics.kernel_errors import tail_constant

    spec = KernelSpec("arctan", np.array([[1.0]]), 1.0, 1.0, 0.5, ("c",))
    assert tail_constant(spec) == pytest.approx((math.pi / 2) ** 2, rel=1e-15)


def test_arctan_memory_exceeds_one_and_stays_below_pi_over_two() -> None:
    from numerics.frozen import frozen_memory

    rng = np.random.default_rng(0)
    w = 4.0 * rng.standard_normal((50, 1))
    b = rng.uniform(-0.5, 0.5, 50)
    inputs = rng.choice([-1.0, 0.3, 1.0], size=(2, 12, 1))
    S = frozen_memory(w, b, "arctan", inputs).S
    assert 1.0 < np.max(np.abs(S)) < math.pi / 2


def test_arctan_simulates_on_both_backends() -> None:
    from numerics.rnn import simulate

    config = _config("run.N=64", "run.replicas=2", "training.horizon=0.5")
    reference = simulate(config, backend="numpy", progress=False)
    assert np.all(np.isfinite(reference.f))
    if importlib.util.find_spec("numba") is None:
        return
    fast = simulate(config, backend="fast", progress=False)
    # rounding-level agreement (the bound is derived in tests/test_fast_backend.py)
    np.testing.assert_allclose(fast.f, reference.f, rtol=0, atol=1e-12)


def test_arctan_limit_solves_with_error_estimates() -> None:
    from numerics.limit import solve_limit

    limit = solve_limit(_config(), 4, (0.5, 1.0))
    assert np.all(np.isfinite(limit.g))
    assert 0 < limit.error_estimates["quadrature"] < 1e-6


@pytest.mark.slow
def test_quick_report_passes_on_an_arctan_config(tmp_path) -> None:
    """Done-when of issue 15: the quick report passes on a config using arctan (exit 0: no
    failed check; inconclusive checks are allowed by the report's own contract)."""
    from proofs_check.cli import main

    assert main(["report", "--set", ARCTAN[0], "--budget", "quick", "--out",
                 str(tmp_path / "report"), "--no-progress"]) == 0
