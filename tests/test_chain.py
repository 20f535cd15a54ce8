"""numerics.chain and numerics.seeding (theory.md §1): stationary law, ergodicity, sampling."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from numerics.chain import (
    extend_paths,
    is_ergodic,
    reversed_kernel,
    sample_paths,
    stationary_law,
)
from numerics.seeding import replica_streams

EPS = np.finfo(float).eps
DENOMINATOR = 64  # dyadic chains: entries k/64 are exact in binary floating point


def _primitive(pattern: np.ndarray) -> bool:
    """Independent ergodicity criterion: a non-negative m x m matrix is irreducible and
    aperiodic iff it is primitive iff its ((m-1)^2 + 1)-th power is entrywise positive
    (Wielandt's bound). Computed on the boolean pattern by repeated squaring."""
    m = pattern.shape[0]
    A = pattern.astype(np.int64)
    power = np.eye(m, dtype=np.int64)
    exponent = (m - 1) ** 2 + 1
    while exponent:
        if exponent & 1:
            power = np.minimum(power @ A, 1)
        A = np.minimum(A @ A, 1)
        exponent >>= 1
    return bool(power.all())


@st.composite
def dyadic_chains(draw, max_m: int = 6):
    """Row-stochastic matrices with entries in (1/64) Z, many zeros allowed."""
    m = draw(st.integers(1, max_m))
    rows = []
    for _ in range(m):
        cuts = sorted(draw(st.lists(st.integers(0, DENOMINATOR), min_size=m - 1, max_size=m - 1)))
        bounds = [0, *cuts, DENOMINATOR]
        rows.append([bounds[i + 1] - bounds[i] for i in range(m)])
    return np.array(rows, dtype=np.int64)


@st.composite
def float_chains(draw, max_m: int = 7):
    """Row-stochastic float matrices; each entry is 0 (probability ~1/4) or in [0.01, 1],
    then rows are normalised."""
    m = draw(st.integers(1, max_m))
    positive = st.floats(0.01, 1.0)
    entry = st.one_of(st.just(0.0), positive, positive, positive)
    raw = np.array([[draw(entry) for _ in range(m)] for _ in range(m)])
    assume(np.all(raw.sum(axis=1) > 0))
    return raw / raw.sum(axis=1, keepdims=True)


def _exact_stationary(counts: np.ndarray) -> list[Fraction]:
    """pi P = pi, sum pi = 1 over the rationals (Gauss-Jordan on Fractions), P = counts / 64."""
    m = counts.shape[0]
    # equations: sum_i pi_i (P_ij - delta_ij) = 0 for j < m-1, and sum_i pi_i = 1
    rows = [[Fraction(int(counts[i, j]), DENOMINATOR) - (i == j) for i in range(m)] + [Fraction(0)]
            for j in range(m - 1)]
    rows.append([Fraction(1)] * m + [Fraction(1)])
    for col in range(m):
        pivot = next(r for r in range(col, m) if rows[r][col] != 0)
        rows[col], rows[pivot] = rows[pivot], rows[col]
        rows[col] = [v / rows[col][col] for v in rows[col]]
        for r in range(m):
            if r != col and rows[r][col] != 0:
                factor = rows[r][col]
                rows[r] = [a - factor * b for a, b in zip(rows[r], rows[col], strict=True)]
    return [rows[i][m] for i in range(m)]


def _gth_relative_bound(m: int) -> float:
    """First-order entrywise relative error bound of GTH in floating point, 2 m^3 eps
    (O'Cinneide 1993, Numer. Math. 65, 109-120), plus the final normalisation (m eps)."""
    return 2 * m**3 * EPS + m * EPS


@given(dyadic_chains())
def test_stationary_law_matches_exact_rational(counts):
    assume(_primitive(counts > 0))
    m = counts.shape[0]
    P = counts / DENOMINATOR  # exact in binary floating point
    pi = stationary_law(P)
    exact = _exact_stationary(counts)
    for j in range(m):
        # Entrywise relative accuracy of GTH; the reference is exact, P is exact.
        assert abs(Fraction(pi[j]) - exact[j]) <= Fraction(_gth_relative_bound(m)) * exact[j]


@given(float_chains())
def test_stationary_law_is_invariant(P):
    assume(_primitive(P > 0))
    m = P.shape[0]
    pi = stationary_law(P)
    assert np.all(pi > 0) and abs(pi.sum() - 1.0) <= m * EPS
    # (pi^ P - pi^)_j = sum_i (pi^_i - pi_i) P_ij - (pi^_j - pi_j): at most 2 delta pi_j for an
    # entrywise relative error delta, plus the rounding of the product pi^ P (m eps (pi P)_j).
    delta = _gth_relative_bound(m)
    tolerance = (2 * delta + (m + 1) * EPS) * pi * (1 + delta)
    assert np.all(np.abs(pi @ P - pi) <= tolerance)


@given(float_chains())
def test_gth_agrees_with_linear_solve(P):
    assume(_primitive(P > 0))
    m = P.shape[0]
    A = np.eye(m) - P.T
    A[-1, :] = 1.0  # replace one (redundant) balance equation by the normalisation
    rhs = np.zeros(m)
    rhs[-1] = 1.0
    reference = np.linalg.solve(A, rhs)
    pi = stationary_law(P)
    # LU with partial pivoting is backward stable: forward error <= cond(A) * c m eps (normwise,
    # growth factor ~1 for these small matrices; c = 4 covers the residual of the normalisation
    # row), plus the GTH error of pi itself.
    cond = np.linalg.cond(A, np.inf)
    tolerance = 4 * m * cond * EPS * np.abs(reference).max() + _gth_relative_bound(m) * pi.max()
    assert np.abs(pi - reference).max() <= tolerance


def test_stationary_law_negative_control():
    """The invariance check above can fail: a perturbed law violates it."""
    P = np.array([[0.2, 0.5, 0.3], [0.1, 0.6, 0.3], [0.4, 0.4, 0.2]])
    pi = stationary_law(P)
    np.testing.assert_allclose(pi, [20 / 99, 52 / 99, 27 / 99], rtol=_gth_relative_bound(3))
    wrong = pi * (1 + np.array([1e-12, 0, -1e-12]))
    tolerance = (2 * _gth_relative_bound(3) + 4 * EPS) * pi
    assert not np.all(np.abs(wrong @ P - wrong) <= tolerance)


def test_stationary_law_rejects_reducible():
    with pytest.raises(ValueError, match="not irreducible"):
        stationary_law(np.eye(2))
    with pytest.raises(ValueError, match="not irreducible"):
        stationary_law(np.array([[0.5, 0.5, 0.0], [0.5, 0.5, 0.0], [0.0, 0.0, 1.0]]))


@given(dyadic_chains(max_m=7))
def test_ergodicity_verdict_matches_primitivity(counts):
    pattern = counts > 0
    expected = _primitive(pattern)
    assert is_ergodic(counts / DENOMINATOR) == expected


@pytest.mark.parametrize(
    ("P", "ergodic"),
    [
        ([[0.0, 1.0], [1.0, 0.0]], False),  # period 2
        ([[1.0, 0.0], [0.0, 1.0]], False),  # reducible
        ([[0.5, 0.5], [0.0, 1.0]], False),  # absorbing state
        ([[0, 1, 0], [0, 0, 1], [1, 0, 0]], False),  # 3-cycle, period 3
        ([[0.5, 0.5, 0], [0, 0, 1], [1, 0, 0]], True),  # 3-cycle with a self-loop
        ([[0, 1, 0, 0], [0.5, 0, 0.5, 0], [0, 0.5, 0, 0.5], [0, 0, 1, 0]], False),  # period 2
        ([[0, 1, 0], [0, 0, 1], [0.5, 0.5, 0]], True),  # cycles of length 2 and 3
        ([[1.0]], True),
    ],
)
def test_ergodicity_examples(P, ergodic):
    assert is_ergodic(np.array(P, dtype=float)) is ergodic


def test_sample_paths_laws():
    """Z_0 ~ pi and (Z_0, Z_1) ~ pi_i P_ij over many independent replicas: every empirical
    frequency within 5 binomial standard deviations (false alarm < 1e-5 per cell)."""
    P = np.array([[0.2, 0.5, 0.3], [0.0, 0.6, 0.4], [0.4, 0.0, 0.6]])
    pi = stationary_law(P)
    R = 20000
    rngs = [np.random.default_rng([7, r]) for r in range(R)]
    paths = sample_paths(P, 2, rngs)
    assert paths.shape == (R, 2) and paths.dtype == np.int64
    joint = np.zeros((3, 3))
    np.add.at(joint, (paths[:, 0], paths[:, 1]), 1.0)
    expected = pi[:, None] * P
    sd = np.sqrt(R * expected * (1 - expected))
    assert np.all(np.abs(joint - R * expected) <= 5 * sd + 1e-12)  # zero cells must be empty
    assert joint[1, 0] == 0 and joint[2, 1] == 0


def test_sample_paths_initial_law_and_zero_transitions():
    P = np.array([[0.0, 1.0, 0.0], [0.0, 0.5, 0.5], [1.0, 0.0, 0.0]])
    rngs = [np.random.default_rng([3, r]) for r in range(50)]
    paths = sample_paths(P, 200, rngs, initial=np.array([0.0, 0.0, 1.0]))
    assert np.all(paths[:, 0] == 2)
    moves = P[paths[:, :-1], paths[:, 1:]]
    assert np.all(moves > 0)


def test_sample_paths_batching_invariant():
    P = np.array([[0.3, 0.7], [0.6, 0.4]])
    full = sample_paths(P, 500, [replica_streams(11, r).chain for r in range(4)])
    part = sample_paths(P, 500, [replica_streams(11, r).chain for r in (3, 1)])
    np.testing.assert_array_equal(part, full[[3, 1]])
    assert not np.array_equal(full[0], full[1])


def test_replica_streams_depend_on_seed_and_replica_only():
    a = replica_streams(5, 2)
    b = replica_streams(5, 2)
    for name in ("init", "chain", "noise"):
        np.testing.assert_array_equal(getattr(a, name).random(8), getattr(b, name).random(8))
    c = replica_streams(5, 3)
    d = replica_streams(6, 2)
    first = replica_streams(5, 2)
    draws = {n: getattr(first, n).random(8) for n in ("init", "chain", "noise")}
    assert not np.array_equal(draws["init"], draws["chain"])
    assert not np.array_equal(draws["chain"], draws["noise"])
    assert not np.array_equal(draws["init"], c.init.random(8))
    assert not np.array_equal(draws["init"], d.init.random(8))
    with pytest.raises(ValueError):
        replica_streams(-1, 0)


def test_extend_paths_continues_from_given_states():
    P = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.5, 0.5, 0.0]])
    rngs = [np.random.default_rng([5, r]) for r in range(3)]
    paths = extend_paths(P, np.array([0, 1, 2]), 4, rngs)
    assert paths.shape == (3, 4)
    np.testing.assert_array_equal(paths[:2, 0], [1, 2])  # forced moves
    assert paths[2, 0] in (0, 1)


def test_reversed_kernel_is_the_time_reversal():
    """pi_j Prev[j, i] = pi_i P[i, j] (detailed balance between the chain and its reversal),
    Prev stochastic with the same stationary law; a non-reversible chain has Prev != P."""
    P = np.array([[0.1, 0.6, 0.3], [0.3, 0.1, 0.6], [0.6, 0.3, 0.1]])
    pi = stationary_law(P)
    Prev = reversed_kernel(P)
    np.testing.assert_allclose(pi[:, None] * Prev, (pi[:, None] * P).T, rtol=0, atol=8 * EPS)
    np.testing.assert_allclose(Prev.sum(axis=1), 1.0, rtol=0, atol=8 * EPS)
    np.testing.assert_allclose(stationary_law(Prev), pi, rtol=1e-14)
    assert np.abs(Prev - P).max() > 0.1


def test_inverse_cdf_never_draws_a_zero_probability_state_at_bin_edges():
    """numerics.chain._draw picks the smallest j with u < cum[j]. Uniforms are drawn from
    [0, 1), so u = 0 and u exactly on a cumulative sum do occur (with probability ~ 2^-53 each,
    but over 10^9 steps they are not impossible): there a zero-probability state must be
    skipped. Rows with zero entries first, in the middle and last."""
    from numerics.chain import _draw, _inverse_cdf_tables

    P = np.array([[0.0, 1.0, 0.0], [0.5, 0.0, 0.5], [0.25, 0.75, 0.0]])
    cum = _inverse_cdf_tables(P)
    edges = np.array([0.0, 0.5, 0.25, 0.25, np.nextafter(1.0, 0.0)])
    rows = np.array([0, 1, 2, 0, 1])
    drawn = _draw(cum[rows], edges)
    assert np.all(P[rows, drawn] > 0), drawn
    assert drawn.tolist() == [1, 2, 1, 1, 2]
