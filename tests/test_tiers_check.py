"""The tiers of evidence (proofs_check.checks.tiers): each tier's deviation, its rival's and its
tolerance, recomputed here by routes of their own.

The end-to-end tests (tests/test_checks_mutants.py, tests/test_degenerate_configs.py) perturb a
tier and watch the verdict. These recompute what each result states:
- generated code: the relative errors of sigma, sigma', sigma'' (double, and the single-
  precision rival) against mpmath's tanh and its closed-form derivatives on [-8, 8];
- Poisson: u, pi and ||Z||_inf by SymPy's own linear algebra, with F the *first* coordinate
  of each state (a d = 2 chain, where the first and last differ), and the stated tolerance;
- kernel: the words of the two states of largest |x|, the double entry at (u, v), and the
  tolerance from the stated error estimates;
- limit: the rival (no pi_L weights) at both times T/2 and T by mpmath's expm, and the
  tolerance 10 n eps (1 + alpha T |M|) max|y| with |M| the top eigenvalue of D^1/2 K D^1/2.
"""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp

from derivations.inputs.config import transition_matrix
from derivations.inputs.files import load_layers
from numerics import generated
from numerics.kernel import kernel_on_words, spec_from_config
from numerics.limit import word_problem
from numerics.poisson_float import poisson_solve, residual_bound
from proofs_check.budget import TINY
from proofs_check.cache import Cache
from proofs_check.checks import CheckContext, tiers

EPS = float(np.finfo(float).eps)
D2_EXAMPLE = "examples/antisymmetric_beta_half.toml"


def _context(path: str | None, salt: str) -> CheckContext:
    return CheckContext(load_layers(path, []).config, TINY, Cache(None, salt=salt), seed=0)


@pytest.fixture(scope="module")
def default_results():
    context = _context(None, "tiers-default")
    return context, {result.name: result for result in tiers.run(context)}


def _relative(value: np.ndarray, ref: np.ndarray) -> float:
    return float(np.max(np.where(ref != 0, np.abs(value - ref) / np.where(ref != 0, abs(ref), 1),
                                 np.abs(value))))


def test_generated_code_is_judged_on_all_three_derivatives_over_the_whole_grid(default_results):
    """tanh, tanh' = 1 - tanh^2, tanh'' = -2 tanh (1 - tanh^2), at 30 digits on 321 points of
    [-8, 8]; the claim is the double code's worst relative error, the rival the float32 one."""
    _, results = default_results
    result = results["tiers_generated"]
    z = np.linspace(-8.0, 8.0, 321)
    with mpmath.workdps(30):
        t = [mpmath.tanh(mpmath.mpf(float(x))) for x in z]
        refs = [np.array([float(v) for v in t]),
                np.array([float(1 - v * v) for v in t]),
                np.array([float(-2 * v * (1 - v * v)) for v in t])]
    codes = (generated.sigma_tanh, generated.sigma_d1_tanh, generated.sigma_d2_tanh)
    double = max(_relative(np.asarray(f(z), dtype=float) * np.ones_like(z), r)
                 for f, r in zip(codes, refs, strict=True))
    single = max(_relative(np.asarray(f(z.astype(np.float32)), dtype=np.float32).astype(float)
                           * np.ones_like(z), r) for f, r in zip(codes, refs, strict=True))
    assert result.measured == pytest.approx(double, rel=1e-6, abs=0)
    assert result.rivals[0].measured == pytest.approx(single, rel=1e-6, abs=0)
    assert result.tolerance == 1e-13 and result.passed and result.rivals[0].rejected


@pytest.mark.parametrize("prefix", ["sigma", "sigma_d1", "sigma_d2"])
@pytest.mark.parametrize("fault", ["relative", "at_zero"])
def test_generated_code_fails_on_a_fault_in_any_one_derivative(monkeypatch, prefix, fault):
    """On every shipped activation the largest rounding error happens to sit in sigma'', so a
    check reading only the last derivative would pass today. A fault of 1e-10 in one
    derivative alone (relative, or an absolute 1e-10 at z = 0, where tanh and tanh'' are 0 and
    the relative error is undefined) must fail the tier."""
    real = getattr(generated, f"{prefix}_tanh")

    def faulty(z):
        value = np.asarray(real(z), dtype=float) * np.ones_like(np.asarray(z, dtype=float))
        if fault == "relative":
            return value * (1 + 1e-10)
        return value + 1e-10 * (np.asarray(z) == 0)

    monkeypatch.setattr(generated, f"{prefix}_tanh", faulty)
    result = tiers._generated(_context(None, f"tiers-generated-{prefix}-{fault}"))
    if fault == "at_zero" and prefix == "sigma_d1":  # tanh'(0) = 1: a relative 1e-10 there
        assert result.measured == pytest.approx(1e-10, rel=1e-3, abs=0)
    assert result.measured >= 0.9e-10 and result.verdict == "fail"


def test_poisson_tier_uses_the_first_coordinate_and_its_stated_bound():
    """d = 2 example: F(xi_s) = first coordinate of xi_s (-1, 1/2, 1; the last would be
    1/2, -1, 1). u, pi and Z = (I - P + 1 pi^T)^-1 by SymPy's linear algebra; the tolerance is
    ||Z||_inf times the LU residual bound, plus 4 eps max|u| (centring) and eps max|u| (u
    rounded to double)."""
    context = _context(D2_EXAMPLE, "tiers-poisson-d2")
    result = tiers._poisson(context)
    P = sp.Matrix(3, 3, [sp.Rational(p) for p in ("1/2", "1/4", "1/4", "1/3", "1/3", "1/3",
                                                   "1/4", "1/2", "1/4")])
    F = sp.Matrix([-1, sp.Rational(1, 2), 1])
    pi = (P.T - sp.eye(3)).nullspace()[0]
    pi = pi / sum(pi)
    Z = (sp.eye(3) - P + sp.ones(3, 1) * pi.T).inv()
    u = Z * (F - sp.ones(3, 1) * (pi.T * F)[0])
    assert result.details["u_exact"] == [str(v) for v in u]
    assert result.details["pi_exact"] == [str(v) for v in pi]
    z_norm = float(max(sum(abs(v) for v in Z.row(i)) for i in range(3)))
    assert result.details["Z_norm_inf"] == pytest.approx(z_norm, rel=1e-15, abs=0)
    u_max = float(max(abs(v) for v in u))
    double = poisson_solve(transition_matrix(context.config), np.array([-1.0, 0.5, 1.0]))
    assert result.tolerance == pytest.approx(
        z_norm * residual_bound(double) + 5 * EPS * u_max, rel=1e-12, abs=0)
    assert result.measured == pytest.approx(
        float(np.max(np.abs(double.u - np.array([float(v) for v in u])))), rel=1e-12, abs=0)
    # The rival centres u by the uniform law nu instead of pi: u* - nu(u*) 1, off by |nu(u*)|.
    (rival,) = result.rivals
    assert "uniform" in rival.name and rival.rejected
    assert rival.measured == pytest.approx(abs(float(sum(u)) / 3), rel=1e-9, abs=0)


def test_kernel_tier_compares_the_entry_of_the_two_extreme_states(default_results):
    """States (-1, 0.3, 1): the two of largest |x| are -1 and 1; u = (1, -1), v = (-1, 1)
    (oldest first). The double entry is K at those two words of length 2 (a distinct pair, not
    a diagonal entry), and the tolerance is the sum of the stated error estimates plus 1e-14
    relative."""
    context, results = default_results
    result = results["tiers_kernel"]
    details = result.details
    assert [[float(x) for x in step] for step in details["words"][0]] == [[1.0], [-1.0]]
    assert [[float(x) for x in step] for step in details["words"][1]] == [[-1.0], [1.0]]
    K = kernel_on_words(spec_from_config(context.config), 2).K
    # word index of (s_old, s_new) among the 9 words, oldest first: 3 s_old + s_new
    assert details["A_double"] == K[3 * 2 + 0, 3 * 0 + 2]
    assert details["A_double"] != K[3 * 2 + 0, 3 * 2 + 0]
    assert result.measured == abs(details["A_double"] - details["A_mpmath"])
    assert result.tolerance == pytest.approx(
        details["double_error_estimate"] + details["mpmath_error_estimate"]
        + 1e-14 * abs(details["A_mpmath"]), rel=1e-15, abs=0)


def test_limit_tier_rival_and_tolerance_at_both_times(default_results):
    """The rival g~_t = (I - expm(-alpha t K)) ybar against g_t = (I - expm(-alpha t K D))
    ybar, both at 30 digits by mpmath, maximised over words and t in {T/2, T}; the tolerance
    10 n eps (1 + alpha T |M|) max|ybar|, |M| = the largest eigenvalue of D^1/2 K D^1/2."""
    context, results = default_results
    result = results["tiers_limit"]
    problem = word_problem(context.config, 2)
    K = kernel_on_words(problem.spec, 2).K
    D = np.diag(problem.pi_L)
    horizon = float(context.config.training.horizon)
    assert result.details["times"] == [horizon / 2, horizon]
    worst = 0.0
    with mpmath.workdps(30):
        y = mpmath.matrix(problem.ybar.tolist())
        eye = mpmath.eye(K.shape[0])
        for t in (horizon / 2, horizon):
            g = (eye - mpmath.expm(-problem.alpha * t * mpmath.matrix((K @ D).tolist()))) * y
            rival = (eye - mpmath.expm(-problem.alpha * t * mpmath.matrix(K.tolist()))) * y
            worst = max(worst, max(float(abs(a - b)) for a, b in zip(rival, g, strict=True)))
    assert result.rivals[0].measured == pytest.approx(worst, rel=1e-9, abs=0)
    root = np.sqrt(problem.pi_L)
    top = float(np.linalg.eigvalsh(root[:, None] * K * root[None, :]).max())
    expected = 10 * 9 * EPS * (1 + problem.alpha * horizon * top) * np.max(np.abs(problem.ybar))
    assert result.tolerance == pytest.approx(expected, rel=1e-9, abs=0)
