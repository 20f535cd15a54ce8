"""Quadrature rules over theta (numerics.quadrature): exact moments, estimates that bound the
actual error, the neglected tail, Sobol randomisation estimates, and the Gauss-Hermite negative
control of theory.md §8."""

from __future__ import annotations

import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest

from numerics.activations import activation_functions
from numerics.quadrature import (
    TRIM_FLOOR,
    QuadratureSettings,
    legendre_uniform,
    neglected_tail,
    randomisation_error,
    sobol_rules,
    tail_mass,
    tensor_plan,
    tensor_rule,
    trapezoid_gaussian,
    trimmed_settings,
)


def _double_factorial_moment(n: int) -> int:
    """E[Z^n] for Z ~ N(0, 1): (n-1)!! for even n, 0 for odd n."""
    return 0 if n % 2 else math.prod(range(n - 1, 0, -2))


@pytest.mark.parametrize("n", [0, 2, 4, 6, 8])
def test_trapezoid_gaussian_moments(n: int) -> None:
    # Exact reference E[Z^n] = (n-1)!!; the trapezoid rule on an entire integrand converges
    # super-exponentially, so at h = 0.25 the error is rounding: bound 50 eps (n-1)!! (the sum
    # of ~70 positive terms of size <= (n-1)!!).
    z, w = trapezoid_gaussian(0.25, 12.0)
    exact = _double_factorial_moment(n)
    assert abs(np.sum(w * z**n) - exact) <= 50 * np.finfo(float).eps * max(exact, 1)


def test_trapezoid_step_halving_is_nested() -> None:
    z_fine, _ = trapezoid_gaussian(0.05, 8.0)
    z_coarse, _ = trapezoid_gaussian(0.1, 8.0)
    assert set(np.round(z_coarse, 12)) <= set(np.round(z_fine, 12))


@pytest.mark.parametrize("n", [0, 2, 4, 10, 20])
def test_legendre_uniform_moments(n: int) -> None:
    # E[b^n] = b_max^n / (n + 1) for even n (theory.md §4), exact for n <= 2 * nodes - 1.
    b_max = 0.6
    nodes, weights = legendre_uniform(b_max, 16)
    exact = float(Fraction(3, 5) ** n / (n + 1))
    assert abs(np.sum(weights * nodes**n) - exact) <= 1e-15


def test_legendre_degenerate_b() -> None:
    nodes, weights = legendre_uniform(0.0, 16)
    assert nodes.tolist() == [0.0] and weights.tolist() == [1.0]


@pytest.mark.parametrize("a", [4.0, 6.0, 8.0])
def test_tail_mass_matches_mpmath(a: float) -> None:
    with mpmath.workdps(30):
        ref = 2 * mpmath.quad(lambda z: (1 + z * z) * mpmath.npdf(z), [a, mpmath.inf])
    assert abs(tail_mass(a) - float(ref)) <= 1e-12 * float(ref)


def _nested_tanh_tangent(w: np.ndarray, b: np.ndarray, word: list[float]) -> np.ndarray:
    """G^b on a word (theory.md §3 recursion from 0), written out here (not the kernel code)."""
    act = activation_functions("tanh")
    S = np.zeros_like(b)
    G = np.zeros_like(b)
    for x in word:
        z = w * x + b * S
        G = act.d1(z) * (S + b * G)
        S = act.sigma(z)
    return G


# E[G^b(u)^2] on u = (-1, -1, -1, -1), w_std = 1.2, b_max = 0.6 (the word of theory.md §8),
# group b without c^2: 30-digit value from mpmath.quad (numerics.reference.kernel_entry_mp with
# c_std = 1; regenerate: kernel_entry_mp([[-1.0]]*4, [[-1.0]]*4, "tanh", 1, 1.2, 0.6)).
# Re-checked against mpmath in tests/test_reference.py (slow).
S8_WORD_B_TERM = float("0.073948906228810951814889818175468")


def test_step_halving_estimate_bounds_error_and_converges() -> None:
    word = [-1.0] * 4
    values = {}
    for h in (0.4, 0.2, 0.1):
        plan = tensor_plan(1, 1.2, 0.6, QuadratureSettings(w_step=h, half_width=8.0, b_nodes=24))
        rule = plan.fine
        F = _nested_tanh_tangent(rule.w[:, 0], rule.b, word) ** 2
        fine = np.sum(rule.weights * F)
        coarse = 2.0 * np.sum(np.where(plan.on_coarse, rule.weights, 0.0) * F)
        values[h] = (fine, abs(coarse - fine))
    for h, (fine, estimate) in values.items():
        actual = abs(fine - S8_WORD_B_TERM)
        assert actual <= estimate, (h, actual, estimate)
    # "shows convergence, not two equally wrong answers": estimates shrink geometrically
    assert values[0.1][1] < 1e-3 * values[0.4][1]


def test_gauss_hermite_40_fails_the_1e8_bar() -> None:
    # Negative control documenting theory.md §8: Gauss-Hermite (40 nodes in w) x Legendre (24 in
    # b) misses the reference by more than 1e-8 on this nested-tanh word, while the trapezoid
    # rule (step 0.05) meets it.
    x, wx = np.polynomial.hermite_e.hermegauss(40)
    wx = wx / math.sqrt(2 * math.pi)
    b, wb = legendre_uniform(0.6, 24)
    W, B = np.meshgrid(1.2 * x, b, indexing="ij")
    weights = np.outer(wx, wb).ravel()
    gh = np.sum(weights * _nested_tanh_tangent(W.ravel(), B.ravel(), [-1.0] * 4) ** 2)
    assert abs(gh - S8_WORD_B_TERM) > 1e-8
    rule = tensor_rule(1, 1.2, 0.6, 0.05, 8.0, 24)
    trap = np.sum(rule.weights * _nested_tanh_tangent(rule.w[:, 0], rule.b, [-1.0] * 4) ** 2)
    assert abs(trap - S8_WORD_B_TERM) < 1e-8


def test_tensor_rule_two_dimensional_moments() -> None:
    # E[w1^2 w2^2 b^2] = w_std^4 b_max^2 / 3 under mu_0 (independent coordinates).
    rule = tensor_rule(2, 1.3, 0.5, 0.2, 8.0, 8)
    value = np.sum(rule.weights * rule.w[:, 0] ** 2 * rule.w[:, 1] ** 2 * rule.b**2)
    assert abs(value - 1.3**4 * 0.25 / 3) < 1e-12


def test_sobol_randomisation_estimate_covers_truth_and_shrinks() -> None:
    # E[cos(w1) cos(w2) cos(w3) (1 + b)] = exp(-3 s^2 / 2) exactly (characteristic function).
    s = 0.9
    truth = math.exp(-1.5 * s * s)
    half_widths = []
    for log2 in (8, 12):
        rules = sobol_rules(3, s, 0.5, QuadratureSettings(sobol_log2=log2, sobol_scramblings=8))
        vals = np.array([np.sum(r.weights * np.prod(np.cos(r.w), axis=1) * (1 + r.b))
                         for r in rules])
        mean, half = randomisation_error(vals)
        assert abs(mean - truth) <= half
        half_widths.append(float(half))
    assert half_widths[1] < 0.2 * half_widths[0]


def test_sobol_reproducible_and_seed_dependent() -> None:
    a = sobol_rules(3, 1.0, 0.5, QuadratureSettings(sobol_log2=6, seed=3))
    b = sobol_rules(3, 1.0, 0.5, QuadratureSettings(sobol_log2=6, seed=3))
    c = sobol_rules(3, 1.0, 0.5, QuadratureSettings(sobol_log2=6, seed=4))
    assert np.array_equal(a[0].w, b[0].w) and not np.array_equal(a[0].w, c[0].w)


def test_three_level_step_halving_estimate_covers_the_error_and_is_sharper() -> None:
    """kernel_errors.step_halving_error on Q(h), Q(2h), Q(4h) of the theory.md §8 word (nodes of one
    rule): it covers the actual error against the 30-digit value at every h, and once the
    halving factor shows convergence it is far below the two-level |Q(2h) - Q(h)|."""
    from numerics.kernel_errors import step_halving_error

    word = [-1.0] * 4
    for h in (0.2, 0.1, 0.05):
        plan = tensor_plan(1, 1.2, 0.6, QuadratureSettings(w_step=h, half_width=8.0, b_nodes=24))
        rule = plan.fine
        F = _nested_tanh_tangent(rule.w[:, 0], rule.b, word) ** 2
        q_h = np.array([np.sum(rule.weights * F)])
        q_2h = np.array([2.0 * np.sum(np.where(plan.on_coarse, rule.weights, 0.0) * F)])
        q_4h = np.array([4.0 * np.sum(np.where(plan.on_coarser, rule.weights, 0.0) * F)])
        estimate = step_halving_error(q_h, q_2h, q_4h)
        actual = abs(float(q_h[0]) - S8_WORD_B_TERM)
        assert actual <= estimate + 4e-16, (h, actual, estimate)  # + rounding of the sums
        if h == 0.1:
            assert estimate < 1e-2 * abs(float(q_2h[0] - q_h[0]))


def test_step_halving_error_model_and_fallbacks() -> None:
    """Synthetic exact errors C exp(-a / h): the estimate covers E_h (conservatively: the model's
    next factor is q^2, the estimate assumes q) and is 100x below D1; without convergence
    (q > 1/4) or with D2 = 0 it falls back to D1 = |K_2h - K_h|."""
    from numerics.kernel_errors import step_halving_error

    exact, C, a = 0.7, 1.0, 2.0
    err = {h: C * math.exp(-a / h) for h in (0.1, 0.2, 0.4)}
    K_h, K_2h, K_4h = (np.array([exact + err[h]]) for h in (0.1, 0.2, 0.4))
    estimate = step_halving_error(K_h, K_2h, K_4h)
    assert err[0.1] <= estimate <= 1e-2 * (err[0.2] - err[0.1])
    slow = step_halving_error(np.array([1.0]), np.array([1.5]), np.array([2.0]))  # q = 1
    assert slow == pytest.approx(0.5)
    flat = step_halving_error(np.array([1.0]), np.array([1.1]), np.array([1.1]))  # D2 = 0
    assert flat == pytest.approx(0.1)


@pytest.mark.parametrize("d, disc, step", [(1, False, 0.1), (1, False, 0.05), (2, True, 0.1),
                                           (2, False, 0.1)])
def test_a_trimmed_rule_is_the_narrowest_whose_tail_bound_meets_the_budget(d, disc, step):
    """Issue 17, item 2: the half-width is the smallest candidate a = k h (the grid ends at a)
    whose bound x neglected tail meets the budget; the next candidate down does not; a budget
    nothing meets leaves the rule as it is; the rest of the rule is unchanged. The tails are
    the closed forms written out here: the disc (a^2 + 3) exp(-a^2 / 2) (polar coordinates),
    the square d times the one-coordinate mass 4 Q(a) + 2 a phi(a)."""
    def tail(a: float) -> float:
        if disc:
            return (a * a + 3) * math.exp(-a * a / 2)
        return d * (2 * math.erfc(a / math.sqrt(2)) + 2 * a * math.exp(-a * a / 2)
                    / math.sqrt(2 * math.pi))

    rung = QuadratureSettings(w_step=step, half_width=8.0, b_nodes=12, disc=disc)
    stride = math.ceil(0.25 / step - 1e-9) * step
    bound = 50.0
    widths = []
    for budget in (1e-3, 1e-6, 1e-9, 1e-12):
        trimmed = trimmed_settings(rung, d, bound, budget)
        a = trimmed.half_width
        widths.append(a)
        assert trimmed == QuadratureSettings(w_step=step, half_width=a, b_nodes=12, disc=disc)
        assert neglected_tail(trimmed, d) == pytest.approx(tail(a), rel=1e-9)
        assert TRIM_FLOOR <= a <= 8.0 and (a == 8.0 or bound * tail(a) <= budget)
        assert bound * tail(a - stride) > budget or a - stride < TRIM_FLOOR
        z, _ = trapezoid_gaussian(step, a)
        assert z[-1] == pytest.approx(a, abs=1e-12)  # no node beyond a, none short of it
    assert widths == sorted(widths) and widths[0] < 6.0 and widths[-1] == 8.0
    assert trimmed_settings(rung, d, bound, 1e-300) == rung
    assert trimmed_settings(rung, d, math.inf, 1.0) == rung


def test_a_trimmed_rule_is_within_its_estimates_of_the_30_digit_value():
    """The word of theory.md §8 on the rule trimmed for a budget of 1e-9: its step-halving
    estimate plus the tail bound cover the actual error against the 30-digit reference. The
    integrand bound of G^b^2: |G^b| <= Lip sup|sigma| / (1 - rho) = 1 / 0.4
    (numerics.kernel_errors.tail_constant), times (1 + z^2) in the tail."""
    bound = (1.0 / (1.0 - 0.6)) ** 2
    rung = QuadratureSettings(w_step=0.05, half_width=8.0, b_nodes=24)
    trimmed = trimmed_settings(rung, 1, bound, 1e-9)
    assert trimmed.half_width < 8.0
    plan = tensor_plan(1, 1.2, 0.6, trimmed)
    F = _nested_tanh_tangent(plan.fine.w[:, 0], plan.fine.b, [-1.0] * 4) ** 2
    fine = np.sum(plan.fine.weights * F)
    coarse = 2.0 * np.sum(np.where(plan.on_coarse, plan.fine.weights, 0.0) * F)
    assert abs(fine - S8_WORD_B_TERM) <= abs(coarse - fine) + bound * plan.tail <= 2e-9


@pytest.mark.parametrize("step", [0.1, 0.05])
def test_a_trimmed_rule_stops_at_the_floor_on_the_strides_grid(step):
    """A budget every candidate meets trims down to the last candidate not below TRIM_FLOOR
    (h = 0.1: stride 0.3, so 4.1; h = 0.05: stride 0.25, so 4.0); every trimmed half-width lies
    on the grid 8 - k * stride, stride the least multiple of h >= 0.25."""
    rung = QuadratureSettings(w_step=step, half_width=8.0, b_nodes=12)
    stride = math.ceil(0.25 / step - 1e-9) * step
    lowest = 8.0 - math.floor((8.0 - TRIM_FLOOR) / stride + 1e-9) * stride
    assert lowest == pytest.approx({0.1: 4.1, 0.05: 4.0}[step], abs=1e-12)
    assert trimmed_settings(rung, 1, 1.0, 1.0).half_width == pytest.approx(lowest, abs=1e-12)
    for budget in (1e-2, 1e-4, 1e-7, 1e-10):
        a = trimmed_settings(rung, 1, 1.0, budget).half_width
        k = (8.0 - a) / stride
        assert k == pytest.approx(round(k), abs=1e-9), (budget, a)


def test_the_disc_keeps_the_nodes_on_its_boundary():
    """d = 2, disc: exactly the lattice nodes (j1 h, j2 h) with j1^2 + j2^2 <= n^2 (n = a / h,
    counted in integers here), boundary included: (8, 0) and the Pythagorean (4.8, 6.4) too."""
    h, a, b_nodes = 0.1, 8.0, 4
    rule = tensor_rule(2, 1.0, 0.5, h, a, b_nodes, disc=True)
    n = round(a / h)
    lattice = sum(1 for j1 in range(-n, n + 1) for j2 in range(-n, n + 1)
                  if j1 * j1 + j2 * j2 <= n * n)
    assert rule.size == lattice * b_nodes
    points = {(round(x / h), round(y / h)) for x, y in rule.w}
    assert {(80, 0), (0, -80), (48, 64), (-64, 48)} <= points


@pytest.mark.parametrize("disc", [False, True])
def test_the_plans_coarse_grids_are_the_rules_of_step_2h_and_4h(disc):
    """d = 2: the nodes ``on_coarse`` (``on_coarser``) of the fine rule, weighted 2^d (4^d)
    times, are the step-2h (step-4h) rule itself: every coordinate on that grid, not just one;
    ``coarse_b`` (step 2h, half the Legendre nodes) keeps the plan's disc."""
    h, a, w_std, b_max = 0.1, 4.0, 1.3, 0.5
    settings = QuadratureSettings(w_step=h, half_width=a, b_nodes=8, disc=disc)
    plan = tensor_plan(2, w_std, b_max, settings)
    for mask, factor in ((plan.on_coarse, 2), (plan.on_coarser, 4)):
        reference = tensor_rule(2, w_std, b_max, factor * h, a, 8, disc)
        assert int(mask.sum()) == reference.size
        got = sorted(zip(np.round(plan.fine.w[mask] / w_std / h).astype(int).tolist(),
                         np.round(plan.fine.b[mask], 12), strict=True))
        want = sorted(zip(np.round(reference.w / w_std / h).astype(int).tolist(),
                          np.round(reference.b, 12), strict=True))
        assert got == want
        assert factor**2 * plan.fine.weights[mask].sum() == pytest.approx(
            reference.weights.sum(), rel=1e-12)
    assert plan.coarse_b.size == tensor_rule(2, w_std, b_max, 2 * h, a, 4, disc).size
    if disc:
        assert np.all(np.sum((plan.coarse_b.w / w_std) ** 2, axis=1) <= a * a * (1 + 1e-12))


def test_a_plan_without_w_has_no_tail():
    """w_std = 0: the single node w = 0, no Gaussian tail to neglect, every node coarse."""
    plan = tensor_plan(2, 0.0, 0.5, QuadratureSettings(w_step=0.1, half_width=8.0, b_nodes=8))
    assert plan.tail == 0.0 and plan.fine.size == 8
    assert plan.on_coarse.all() and plan.on_coarser.all()
    assert tensor_plan(2, 1.0, 0.5, QuadratureSettings(w_step=0.1, b_nodes=8)).tail > 0.0


def test_folding_refuses_mirror_nodes_with_unequal_weights():
    from numerics.quadrature import Rule, fold_rule

    w = np.array([[-1.0], [0.0], [1.0]])
    b = np.zeros(3)
    folded = fold_rule(Rule(w=w, b=b, weights=np.array([0.25, 0.5, 0.25])))
    assert folded.w.ravel().tolist() == [0.0, 1.0] and folded.weights.tolist() == [0.5, 0.5]
    with pytest.raises(ValueError, match="not symmetric"):
        fold_rule(Rule(w=w, b=b, weights=np.array([0.2, 0.5, 0.3])))


def test_sobol_scramblings_are_independent():
    """No two scramblings share their points, or the randomisation estimate would be 0
    whatever the error."""
    rules = sobol_rules(2, 1.0, 0.5, QuadratureSettings(sobol_log2=5, sobol_scramblings=4))
    for i in range(4):
        for j in range(i):
            assert not np.array_equal(rules[i].w, rules[j].w)


def test_randomisation_error_is_a_student_t_interval():
    """mean +- t_{R-1}(0.9995) s / sqrt(R), s the sample (ddof = 1) standard deviation; the
    numbers recomputed by hand: R = 4, values 1, 2, 3, 6: s = sqrt(14/3), t_3(0.9995) = 12.924."""
    mean, half = randomisation_error(np.array([1.0, 2.0, 3.0, 6.0]))
    assert mean == 3.0
    assert half == pytest.approx(12.923979 * math.sqrt(14.0 / 3.0) / 2.0, rel=1e-6)
