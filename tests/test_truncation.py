"""The truncation of paths to words in its three senses (numerics.truncation): the cross kernel
between word lengths, the solution's extension to other inputs, the level differences, and the
tail estimates against the actual errors measured with much longer words."""

from __future__ import annotations

import dataclasses

import mpmath
import numpy as np
import pytest
from scipy.integrate import solve_ivp
from test_limit import FAST, TWO_STATE_TANH  # same tests/ directory (pytest prepend)

from derivations.inputs.config import load_config, parse_config
from numerics import limit_solver as solver_module
from numerics.kernel import KernelSpec, cross_kernel, kernels_on_words, spec_from_config
from numerics.limit import solve_limit, word_problem
from numerics.limit_solver import g_at, g_extended_at, limit_solver
from numerics.quadrature import QuadratureSettings
from numerics.reference import kernel_entry_mp
from numerics.truncation import level_differences, suffix_average
from numerics.words import word_index

ROUNDING = 1e-13  # double summation over ~1e4-1e5 nodes of O(1) terms

# A(u, v) between u = (0.3, -1) (length 2) and v = (1, 1, -1) (length 3), each read from S = 0,
# default config (tanh, c_std 1, w_std 1, b_max 0.5): numerics.reference.kernel_entry_mp at
# 30 digits (~4 s; recomputed live by the slow test below), an independent tier
CROSS_U, CROSS_V = [0.3, -1.0], [1.0, 1.0, -1.0]
CROSS_REFERENCE = "0.86325474969002797899943883727622"



def test_cross_kernel_against_the_30_digit_tier() -> None:
    """numerics.kernel.cross_kernel between lengths 2 and 3 on the default config agrees with
    the mpmath reference within the same rule's own error estimate (the kernel on the longer
    words, same integrands) plus rounding; a wrong pairing of the words (the reference against
    a neighbouring entry) is farther off than that."""
    config = load_config(None)
    spec = spec_from_config(config)
    cross = cross_kernel(spec, 2, 3)
    assert cross.shape == (9, 27)
    states = [-1.0, 0.3, 1.0]
    u = word_index(np.array([[states.index(x) for x in CROSS_U]]), 3)[0]
    v = word_index(np.array([[states.index(x) for x in CROSS_V]]), 3)[0]
    tolerance = kernels_on_words(spec, (3,))[3].error + ROUNDING
    reference = float(mpmath.mpf(CROSS_REFERENCE))
    assert abs(cross[u, v] - reference) <= tolerance
    assert abs(cross[u, (v + 1) % 27] - reference) > 100 * tolerance  # negative control


@pytest.mark.slow
def test_cross_reference_recomputes() -> None:
    entry = kernel_entry_mp([[x] for x in CROSS_U], [[x] for x in CROSS_V], "tanh", 1.0, 1.0, 0.5)
    with mpmath.workdps(30):
        assert abs(entry.total - mpmath.mpf(CROSS_REFERENCE)) < mpmath.mpf("1e-28")


@pytest.mark.parametrize("path", [None, "examples/antisymmetric_beta_half.toml"])
def test_cross_kernel_between_equal_lengths_is_the_kernel(path: str | None) -> None:
    """The same rule as kernels_on_words (folded tensor rule, d = 1 and the d = 2 disc)."""
    spec = spec_from_config(load_config(path))
    settings = QuadratureSettings(w_step=0.2, b_nodes=8, disc=True)
    K = kernels_on_words(spec, (3,), settings)[3].K
    assert np.max(np.abs(cross_kernel(spec, 3, 3, settings) - K)) <= ROUNDING


def test_cross_kernel_carries_the_groups_factor_c_std_squared() -> None:
    """The w and b terms of the cross kernel carry E[c^2] = c_std^2 as the kernel's do; every
    shipped configuration has c_std = 1, where a missing factor is invisible. With c_std = 1.7
    cross_kernel(L, L) is still K; the w or b term alone is 1.7^2 times its c_std = 1 value,
    the c term alone the same."""
    base = spec_from_config(load_config(None))
    settings = QuadratureSettings(w_step=0.2, b_nodes=8)
    for groups, factor in ((("c", "w", "b"), None), (("w",), 1.7**2), (("b",), 1.7**2),
                           (("c",), 1.0)):
        spec = dataclasses.replace(base, c_std=1.7, groups=groups)
        cross = cross_kernel(spec, 3, 3, settings)
        K = kernels_on_words(spec, (3,), settings)[3].K
        assert np.max(np.abs(cross - K)) <= ROUNDING, groups
        if factor is not None:
            unit = cross_kernel(dataclasses.replace(spec, c_std=1.0), 3, 3, settings)
            assert np.max(np.abs(cross - factor * unit)) <= ROUNDING * factor, groups


def test_cross_kernel_sobol_is_the_mean_over_scramblings() -> None:
    """d = 3 (Sobol): cross_kernel(L, L) is the kernel's mean over the same scramblings."""
    spec3 = KernelSpec("tanh", np.array([[1.0, 0.0, -0.5], [0.2, 0.8, 0.0]]), 1.0, 1.0, 0.5,
                       ("c", "w", "b"))
    settings = QuadratureSettings(sobol_log2=8, sobol_scramblings=4)
    K = kernels_on_words(spec3, (2,), settings)[2].K
    assert np.max(np.abs(cross_kernel(spec3, 2, 2, settings) - K)) <= ROUNDING


@pytest.mark.parametrize("path", [None, "examples/antisymmetric_beta_half.toml"])
@pytest.mark.parametrize("blocked", [False, True])
def test_cross_kernels_from_the_pass_are_the_cross_kernel(path: str | None,
                                                          blocked: bool) -> None:
    """kernels_on_words(pairs=...) assembles the cross kernels between consecutive lengths in
    the pass over the nodes that makes K: the same values as cross_kernel alone (the same node
    sums), also when the longest length is assembled row block by row block (its cross kernel
    then column block by column block), and each length's K unchanged by the pairs."""
    spec = spec_from_config(load_config(path))
    settings = QuadratureSettings(w_step=0.2, half_width=7.0, b_nodes=8, disc=True)
    lengths, pairs = (2, 3, 4), ((2, 3), (3, 4))
    n = spec.states.shape[0] ** 4
    budget = 8.0 * 6 * n * 7 if blocked else None  # seven rows per block
    plain = kernels_on_words(spec, lengths, settings)
    results = kernels_on_words(spec, lengths, settings, pairs=pairs, block_bytes=budget)
    assert (results[4].rule_sizes["row_blocks"] > 1) is blocked
    for short, long in pairs:
        alone = cross_kernel(spec, short, long, settings)
        assert results[long].cross[short].shape == alone.shape
        assert np.max(np.abs(results[long].cross[short] - alone)) <= ROUNDING
    assert results[2].cross == {}
    for length in lengths:
        assert np.max(np.abs(results[length].K - plain[length].K)) <= ROUNDING


def test_cross_kernels_from_the_pass_sobol_and_bad_pairs() -> None:
    """d = 3 (Sobol): the pass's cross kernel is cross_kernel's mean over the same scramblings;
    pairs that are not (short, long) of the lengths, or a selection of words, are refused."""
    spec3 = KernelSpec("tanh", np.array([[1.0, 0.0, -0.5], [0.2, 0.8, 0.0]]), 1.0, 1.0, 0.5,
                       ("c", "w", "b"))
    settings = QuadratureSettings(sobol_log2=8, sobol_scramblings=4)
    results = kernels_on_words(spec3, (2, 3), settings, pairs=((2, 3),))
    assert np.max(np.abs(results[3].cross[2] - cross_kernel(spec3, 2, 3, settings))) <= ROUNDING
    spec = spec_from_config(load_config(None))
    for pairs in (((3, 2),), ((2, 5),), ((3, 3),)):
        with pytest.raises(ValueError, match="pairs"):
            kernels_on_words(spec, (2, 3), FAST, pairs=pairs)
    with pytest.raises(ValueError, match="select"):
        kernels_on_words(spec, (2, 3), FAST, select=np.arange(5), pairs=((2, 3),))


def _two_state():
    config = parse_config(TWO_STATE_TANH)
    problem = word_problem(config, 4)
    spec = problem.spec
    K = kernels_on_words(spec, (4,), FAST)[4].K
    return config, problem, spec, K


def test_extension_solves_the_limit_ode_at_other_inputs() -> None:
    """g_extended_at: h_t(x) = alpha int_0^t K_x D (ybar - g_s) ds, integrated with the ODE on
    the words by solve_ivp (DOP853, global error bounded as in tests/test_limit.py); a wrong
    sign of the drift is farther off."""
    _, problem, spec, K = _two_state()
    cross = cross_kernel(spec, 2, 4, FAST)
    pi, ybar, alpha = problem.pi_L, problem.ybar, problem.alpha
    times = [0.0, 0.5, 2.0]
    extended = g_extended_at(limit_solver(K, pi, ybar, alpha, cross=cross), times)
    n = ybar.shape[0]

    def rhs(sign: float):
        def f(t, y):
            drift = alpha * pi * (ybar - sign * y[:n])
            return np.concatenate([K @ drift, cross @ drift])
        return f

    rtol, atol = 1e-11, 1e-13
    sol = solve_ivp(rhs(1.0), (0.0, 2.0), np.zeros(n + 4), t_eval=times, rtol=rtol, atol=atol,
                    method="DOP853")
    bound = (sol.nfev / 12 + 1) * (atol + rtol * np.max(np.abs(sol.y)))
    assert np.max(np.abs(sol.y[n:].T - extended)) <= bound
    bad = solve_ivp(rhs(-1.0), (0.0, 2.0), np.zeros(n + 4), t_eval=times, rtol=rtol, atol=atol,
                    method="DOP853")
    assert np.max(np.abs(bad.y[n:].T - extended)) > 1e3 * bound


def test_extension_to_the_words_themselves_is_g(monkeypatch) -> None:
    """With the kernel itself as the cross kernel the extension is g on the words: for the full
    eigen-solve and for the low-rank one (forced by lowering EXACT_WORDS)."""
    config = load_config(None)
    problem = word_problem(config, 6)  # 729 words: a rank of 128 is below n / 4
    K = kernels_on_words(problem.spec, (6,), FAST)[6].K
    times = (0.5, 2.0)
    for exact in (solver_module.EXACT_WORDS, 100):
        monkeypatch.setattr(solver_module, "EXACT_WORDS", exact)
        solver = limit_solver(K, problem.pi_L, problem.ybar, problem.alpha, cross=K)
        assert (solver.null_term is None) == (exact > 729)
        g = g_at(solver, times)
        assert np.max(np.abs(g_extended_at(solver, times) - g)) <= 1e-12 * np.max(np.abs(g))
    with pytest.raises(ValueError, match="cross kernel"):
        g_extended_at(limit_solver(K, problem.pi_L, problem.ybar, problem.alpha), times)


def test_level_differences_by_hand() -> None:
    """numerics.truncation.level_differences on random values, m = 2, words of length 2 vs 1,
    against loops over the oldest symbol s and the younger word u (index s * n + u)."""
    rng = np.random.default_rng(7)
    m, n, T = 2, 2, 3
    long_g, short_g = rng.normal(size=(T, m * n)), rng.normal(size=(T, n))
    extended = rng.normal(size=(T, n))
    pi = rng.random(m * n)
    pi /= pi.sum()
    path, average = [], []
    for t in range(T):
        path.append(np.sqrt(sum(pi[s * n + u] * (long_g[t, s * n + u] - short_g[t, u]) ** 2
                                for s in range(m) for u in range(n))))
        for u in range(n):
            mass = sum(pi[s * n + u] for s in range(m))
            mean = sum(pi[s * n + u] * long_g[t, s * n + u] for s in range(m)) / mass
            average.append(abs(mean - short_g[t, u]))
    out = level_differences(long_g, pi, short_g, m, extended)
    assert out["path"] == pytest.approx(max(path), rel=1e-14)
    assert out["average"] == pytest.approx(max(average), rel=1e-14)
    assert out["words"] == pytest.approx(np.max(np.abs(extended - short_g)), rel=1e-14)
    assert "words" not in level_differences(long_g, pi, short_g, m)


def test_truncation_estimates_cover_the_actual_errors() -> None:
    """solve_limit's truncation estimates at L = 3 (from L = 4) against the actual errors of
    g^3 measured with words of length 9 (a stand-in for whole paths: 0.5^6 below): "path" the
    L2(pi_9) error of g^3 read on the last 3 symbols, "words" g^9 extended to the 3-words read
    from S = 0 minus g^3, "average" the older symbols averaged out. Each estimate covers its
    error and is within a factor 20 of it (not vacuous); that the words estimate cannot stand
    in for the path error: test_path_error_needs_its_own_sense."""
    config = parse_config(TWO_STATE_TANH)
    times = (0.5, 2.0)
    L, long = 3, 9
    est = solve_limit(config, L, times, settings=FAST, truncation="next").error_estimates
    short = solve_limit(config, L, times, settings=FAST, truncation="none")
    problem = word_problem(config, long)
    kernels = kernels_on_words(problem.spec, (long,), FAST)
    solver = limit_solver(kernels[long].K, problem.pi_L, problem.ybar, problem.alpha,
                          cross=cross_kernel(problem.spec, L, long, FAST))
    g_long = g_at(solver, times)
    m = 2
    read = np.tile(short.g, (1, m ** (long - L)))  # g^3 on the last 3 symbols of each 9-word
    actual = {
        "path": float(np.max(np.sqrt(np.sum(problem.pi_L * (g_long - read) ** 2, axis=1)))),
        "words": float(np.max(np.abs(g_extended_at(solver, times) - short.g))),
    }
    projected, pi_long = g_long, problem.pi_L
    for k in range(long, L, -1):
        projected = suffix_average(projected, pi_long, m)
        pi_long = word_problem(config, k - 1).pi_L
    actual["average"] = float(np.max(np.abs(projected - short.g)))
    for sense, error in actual.items():
        assert error <= est[f"truncation_{sense}"] < 20 * error, sense
    assert est["truncation"] == max(est["truncation_path"], est["truncation_words"])


def test_path_error_needs_its_own_sense() -> None:
    """On the default config (m = 3) the L2 error of g^L read on the last L symbols of a path,
    measured with words of length 7 (their own remaining tail ~1e-4), is covered by the
    path-sense estimate (within a factor 20) and, at L = 4, is larger than the words-sense one
    (the frozen network's): the path statistic cannot borrow the words estimate."""
    config = load_config(None)
    times = (0.5, 1.0, 2.0)
    long = 7
    reference = solve_limit(config, long, times, settings=FAST, truncation="none")
    for L in (3, 4):
        est = solve_limit(config, L, times, settings=FAST, truncation="next").error_estimates
        short = solve_limit(config, L, times, settings=FAST, truncation="none")
        read = np.tile(short.g, (1, 3 ** (long - L)))
        actual = float(np.max(np.sqrt(np.sum(
            reference.problem.pi_L * (reference.g - read) ** 2, axis=1))))
        assert actual <= est["truncation_path"] < 20 * actual, L
        if L == 4:  # 9.8e-4 along paths against a words estimate of 4.7e-4
            assert est["truncation_words"] < actual


def test_low_rank_extension_integrates_the_low_rank_flow(monkeypatch) -> None:
    """The low-rank solve's extension, null term included: with the identity rows as the cross
    kernel, g_extended_at(x_u) = alpha int_0^t pi(u) (ybar - g'_s)(u) ds for the solver's own
    g' (Gauss-Legendre in s, 40 nodes: exact to rounding for these exponentials). The two differ
    only by the low-rank flow's inconsistency, bounded as in spectral_bound by
    alpha^2 eps t^2 / 2 |D^{1/2} ybar|_2 (eps the solver's spectral error)."""
    config = load_config(None)
    problem = word_problem(config, 6)
    K = kernels_on_words(problem.spec, (6,), FAST)[6].K
    monkeypatch.setattr(solver_module, "EXACT_WORDS", 100)
    pi, ybar, alpha, t = problem.pi_L, problem.ybar, problem.alpha, 2.0
    solver = limit_solver(K, pi, ybar, alpha, cross=np.eye(ybar.shape[0])[:50])
    assert solver.null_term is not None and np.max(np.abs(solver.extension_null)) > 1e-6
    nodes, weights = np.polynomial.legendre.leggauss(40)
    s = 0.5 * t * (nodes + 1.0)
    integral = alpha * 0.5 * t * (weights @ (pi * (ybar - g_at(solver, s))))[:50]
    extended = g_extended_at(solver, (t,))[0]
    bound = (alpha**2 * solver.spectral_error * t * t / 2 * np.sqrt(np.sum(pi * ybar**2))
             + 1e-13)
    assert np.max(np.abs(extended - integral)) <= bound


def measured_truncation_errors(config, result, long: int, times) -> dict[str, float]:
    """The errors the truncation estimates of ``result`` (g^L, solve_limit) stand for, measured
    with words of length ``long`` in place of whole paths, max over the times: "path" the
    L2(pi_long) error of g^L read on the last L symbols of each long word, "words" g^long
    extended to the L-words read from S = 0 (numerics.limit_solver.g_extended_at) minus g^L."""
    m, L = int(config.chain.m), result.problem.word_length
    problem = word_problem(config, long)
    kernels = kernels_on_words(problem.spec, (long,), FAST)
    solver = limit_solver(kernels[long].K, problem.pi_L, problem.ybar, problem.alpha,
                          cross=cross_kernel(problem.spec, L, long, FAST))
    read = np.tile(result.g, (1, m ** (long - L)))  # g^L on the last L symbols of each word
    return {
        "path": float(np.max(np.sqrt(np.sum(problem.pi_L * (g_at(solver, times) - read) ** 2,
                                            axis=1)))),
        "words": float(np.max(np.abs(g_extended_at(solver, times) - result.g))),
    }


def test_previous_estimate_needs_two_levels() -> None:
    """On the two-state config the path differences alternate (level 7: 1.4e-4, level 8 about
    the same, level 9: a sixth of it), so the geometric tail extrapolated from the last level
    alone misses the error of g^7 measured with words of length 11 (about 10% short). solve_limit's
    "previous" estimate takes the larger tail of levels 6 and 7 (numerics.truncation.
    truncation_tail), which covers the path and words errors and stays within a factor 20."""
    config = parse_config(TWO_STATE_TANH)
    times = (0.5, 2.0)
    L, long = 7, 11
    result = solve_limit(config, L, times, settings=FAST, truncation="previous")
    est = result.error_estimates
    assert sorted(est["truncation_levels"]) == [L - 1, L]
    actual = measured_truncation_errors(config, result, long, times)
    for sense, error in actual.items():
        assert error <= est[f"truncation_{sense}"] < 20 * error, sense
    rho = 0.5  # b_max Lip(tanh)
    last_level_only = est["truncation_levels"][L]["path"] * rho / (1 - rho)
    assert last_level_only < actual["path"]  # why one level is not enough


def test_previous_needs_two_valid_levels() -> None:
    """examples/linear_two_state.toml (lag q = 1) at L = q + 2 = 3: level L - 1 = 2 compares
    g^2 with g^1, whose words are too short for the target, so "previous" would extrapolate
    level 3 alone, which falls short of the path error measured with words of length 11
    (by 8%). solve_limit therefore estimates from levels 3 and 4 (numerics.limit.
    truncation_mode), which covers it (and stays within a factor 20)."""
    config = load_config("examples/linear_two_state.toml")
    times = (0.5, 1.0, 2.0)
    L, rho = 3, 0.5  # b_max Lip(linear)
    result = solve_limit(config, L, times, settings=FAST, truncation="previous")
    est = result.error_estimates
    assert sorted(est["truncation_levels"]) == [L, L + 1]
    actual = measured_truncation_errors(config, result, 11, times)["path"]
    assert actual <= est["truncation_path"] < 20 * actual
    one_level = est["truncation_levels"][L]["path"] * rho / (1 - rho)
    assert one_level < actual  # why level 3 alone is not enough


@pytest.mark.parametrize(("request_", "m", "d", "L", "lag", "mode"), [
    ("auto", 3, 1, 5, 1, "next"),  # 3^6 = 729 <= 2187 words
    ("auto", 3, 1, 7, 1, "previous"),  # 3^8 > 2187, and levels 6, 7 are valid
    ("auto", 3, 2, 5, 0, "previous"),  # d > 1: 3^6 > 243
    ("previous", 3, 1, 3, 1, "next"),  # level 2 < q + 2 = 3
    ("previous", 3, 1, 4, 1, "previous"),  # levels 3, 4
    ("previous", 2, 1, 2, 0, "next"),  # level 1 would need g^0
    ("previous", 2, 1, 3, 0, "previous"),  # levels 2, 3
    ("previous", 3, 2, 4, 2, "next"),  # the d = 2 example's lag 2: level 3 < 4
    ("auto", 3, 2, 5, 2, "previous"),  # levels 4, 5
    ("next", 3, 1, 9, 1, "next"),
    ("none", 3, 1, 2, 1, "none"),
])
def test_truncation_mode(request_: str, m: int, d: int, L: int, lag: int, mode: str) -> None:
    """The estimate solve_limit makes: levels L - 1, L when both are valid (>= max(2, q + 2)),
    else L, L + 1; "auto" by the size of m^(L + 1) (numerics.limit.solves_next_length)."""
    from numerics.limit import truncation_mode

    assert truncation_mode(request_, m, d, L, lag) == mode


def test_memory_plan_counts_the_next_length_where_previous_is_too_short() -> None:
    """The report's and --accuracy's plan (truncation "previous") at a cap L = q + 2 counts the
    m^(L+1) words solve_limit then solves; at a longer cap, the cap's own words."""
    from numerics.costs import MemoryCap, limit_bytes
    from proofs_check.commands._sizes import check_limit

    config = load_config(None)  # m = 3, d = 1, lag 1
    cap = MemoryCap(2**40, "test")
    for L, nxt in ((3, True), (5, False)):
        planned = check_limit(config, L, cap, field="limit.word_length", truncation="previous")
        assert planned == limit_bytes(3, L, 1, nxt)


def test_a_refusal_at_the_shortest_valid_length_says_why_the_next_length_counts() -> None:
    """At L = q + 2 the plan counts m^(L+1) words (the test above); a refusal there named only
    L's own words, so "limit.word_length = 3 needs 25 GiB" read as if 3 were the size asked
    for (found with a 12-state chain). It now says L + 1 is solved too, and why, within the CLI's
    300-character line; at a longer L, where the cost is L's own, it does not."""
    from numerics.costs import MemoryCap, ResourceError, limit_bytes
    from proofs_check.commands._sizes import check_limit

    config = load_config(None)  # m = 3, d = 1, lag 1: q + 2 = 3
    for L, nxt in ((3, True), (5, False)):
        cap = MemoryCap(int(limit_bytes(3, L, 1, nxt)) - 1, "test")
        with pytest.raises(ResourceError) as info:
            check_limit(config, L, cap, field="limit.word_length", truncation="previous")
        message = str(info.value)
        said = f"(L = {L} solves L + 1 = {L + 1} too: two valid truncation levels need words >= 3"
        assert (said in message) is nxt, message
        assert "\n" not in message and len(message) <= 300
