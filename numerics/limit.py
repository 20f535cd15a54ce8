"""The limit ODE on words (theory.md §3-§4) and its solution with error estimates.

On the m^L words (oldest symbol first) with D = diag(pi_L) the limit ODE is linear:

    d/dt g_t = alpha K D (ybar - g_t),  g_0 = 0   =>   g_t = (I - exp(-alpha t K D)) ybar.

With M = D^{1/2} K D^{1/2} = V diag(lambda) V^T (symmetric, PSD since K is a positive-weight
sum of outer products) the series of exp gives, for every word (also pi_L(u) = 0):

    g_t = K D^{1/2} V diag(phi_t(lambda)) V^T D^{1/2} ybar,
    phi_t(lambda) = (1 - exp(-alpha t lambda)) / lambda  (= alpha t at lambda = 0).

The L2(pi_L) training loss l(t) = 1/2 sum_u pi_L(u) (ybar(u) - g_t(u))^2 equals
1/2 |exp(-alpha t M) D^{1/2} ybar|^2, non-increasing in t (lambda >= 0). The eigen-solve
(full up to 2187 words, low rank with a rigorous error bound beyond) is
:mod:`numerics.limit_solver`; this module assembles the problem, solves it and estimates its
errors.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from derivations.errors import InputError, reads_as_zero
from numerics.kernel import (
    KernelResult,
    KernelSpec,
    kernels_on_words,
    kernels_to_accuracy,
    spec_from_config,
)
from numerics.limit_solver import (  # the spectral solve; also importable from here
    LimitSolver,
    g_at,
    g_extended_at,
    limit_solver,
    spectral_bound,
)
from numerics.quadrature import QuadratureSettings
from numerics.truncation import (
    SENSES,
    first_valid_level,
    kernel_suffix_average,
    level_differences,
    truncation_tail,
)
from numerics.words import enumerate_words, path_word_indices, word_stationary_law

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
_EPS = np.finfo(float).eps
BENCHMARK_WORDS = 2187


class LimitToleranceError(InputError):
    """An error estimate of the limit solution exceeds the requested tolerance."""


class TimesError(InputError):
    """Bad list of times."""


def training_loss(pi: FloatArray, ybar: FloatArray, g: FloatArray) -> FloatArray:
    """L2(pi_L) loss 1/2 sum_u pi_L(u) (ybar(u) - g(u))^2; g (..., n) -> (...)."""
    return 0.5 * np.sum(pi * (ybar - g) ** 2, axis=-1)


def g_along_path(g: FloatArray, states: IntArray, m: int, word_length: int) -> FloatArray:
    """g evaluated at the word of each step k >= L-1 of state paths.

    g (..., m^L) on words; states (R, n_steps) -> (..., R, n_steps - L + 1), entry j at step
    k = j + L - 1 (numerics.words.path_word_indices).
    """
    index = path_word_indices(states, m, word_length)
    return np.asarray(g)[..., index]


MAX_TIME = 1e6  # largest t of `rnnkl limit --times`: the quadrature bound grows like t^1.5


def parse_times(text: str) -> tuple[float, ...]:
    """'0.5,1,2' -> (0.5, 1.0, 2.0): finite, 0 <= t <= MAX_TIME, at least one, at most 10000
    characters. Raises TimesError (one line)."""
    if len(str(text)) > 10_000:
        raise TimesError("--times: longer than 10000 characters")
    parts = [p.strip() for p in str(text).split(",")]
    if not parts or any(p == "" for p in parts):
        raise TimesError(f"--times: expected comma-separated numbers >= 0, got {text!r}")
    times = []
    for p in parts:
        try:
            t = float(p)
        except ValueError:
            raise TimesError(f"--times: {p[:24]!r} is not a number") from None
        if not np.isfinite(t) or t < 0:
            raise TimesError(f"--times: {p[:24]!r} must be a finite number >= 0")
        if reads_as_zero(p):
            raise TimesError(f"--times: {p[:24]!r} is beyond double precision (it would be "
                             "read as 0)")
        if t > MAX_TIME:
            raise TimesError(f"--times: {t:.6g} is beyond the largest supported time "
                             f"{MAX_TIME:.0e} (the limit's quadrature error bound grows like "
                             "t^1.5)")
        times.append(t)
    return tuple(times)


@dataclass(frozen=True)
class WordProblem:
    """Words of length L with their law and targets: words (n, L), pi_L (n,), ybar (n,),
    P (m, m), pi (m,), alpha, and the kernel spec."""

    word_length: int
    words: IntArray
    P: FloatArray
    pi: FloatArray
    pi_L: FloatArray
    ybar: FloatArray
    alpha: float
    spec: KernelSpec


def word_problem(config: object, word_length: int) -> WordProblem:
    """Assemble the finite-state problem of theory.md §4 from a Config."""
    from derivations.inputs.config import transition_matrix
    from numerics.chain import stationary_law
    from numerics.targets import ybar_from_config

    P = transition_matrix(config.chain)
    pi = stationary_law(P)
    m = P.shape[0]
    return WordProblem(
        word_length=word_length, words=enumerate_words(m, word_length), P=P, pi=pi,
        pi_L=word_stationary_law(pi, P, word_length), ybar=ybar_from_config(config, word_length),
        alpha=float(config.training.alpha), spec=spec_from_config(config),
    )


@dataclass(frozen=True)
class LimitResult:
    """g_t on words (T, n) with its inputs, the kernel and error estimates (max-abs over words
    and times unless named *_l2, the L2(pi_L) norm)."""

    problem: WordProblem
    times: tuple[float, ...]
    g: FloatArray
    loss: FloatArray
    kernel: KernelResult = field(repr=False)
    solver: LimitSolver = field(repr=False)
    error_estimates: dict[str, object]


def quadrature_bound(kernel_error: float, K: FloatArray, pi: FloatArray, ybar: FloatArray,
                     alpha: float, t: float) -> tuple[float, float]:
    """Bound on |g'_t - g_t| when K' (PSD) differs from K by at most eps = kernel_error entrywise.

    Duhamel: g'_t - g_t = int_0^t exp(-alpha (t-s) K D) alpha (K' - K) D r'_s ds with
    r' = ybar - g'_s, |r'_s|_pi <= |ybar|_pi =: Y (loss non-increasing). |(K'-K) D r|_inf and
    |(K'-K) D r|_pi are <= eps Y; exp(-tau K D) is an L2(pi) contraction, and in sup norm
    |exp(-tau K D) x|_inf <= |x|_inf + sqrt(max_u K_uu tau) |x|_pi (Cauchy-Schwarz in the
    RKHS of K, (1 - e^{-a})^2 / a <= 1), with tau = alpha (t - s). Integrating over s:
    sup-norm  <= alpha eps Y (t + (2/3) sqrt(alpha max K_uu) t^{3/2}),  L2(pi) <= alpha eps Y t.
    (tests/test_error_bounds.py integrates the integrand numerically and builds a case that
    attains the linear term.) Returns (sup bound, L2(pi) bound).
    """
    Y = float(np.sqrt(np.sum(pi * ybar**2)))
    kmax = float(max(np.max(np.diag(K)), 0.0))
    base = alpha * kernel_error * Y
    return float(base * (t + 2.0 / 3.0 * np.sqrt(alpha * kmax) * t**1.5)), float(base * t)


def solves_next_length(m: int, d: int, word_length: float) -> bool:
    """Whether ``solve_limit(truncation="auto")`` estimates the truncation from L + 1: only when
    m^(L+1) <= BENCHMARK_WORDS (d = 1; a ninth of it for d > 1, whose tensor rules are ~30x
    larger). Compared by logarithms (m^L may be huge)."""
    limit_words = BENCHMARK_WORDS if d == 1 else BENCHMARK_WORDS // 9
    return (word_length + 1) * math.log(m) <= math.log(limit_words) + 1e-12


def truncation_mode(truncation: str, m: int, d: int, word_length: int, lag: int) -> str:
    """The truncation estimate :func:`solve_limit` makes for a request ("auto", "next",
    "previous", "none") at word length L for a target of lag q: "auto" is "next" when
    :func:`solves_next_length` else "previous"; "previous" (levels L - 1 and L) becomes "next"
    (levels L and L + 1) when level L - 1 is not a valid one, L - 1 < max(2, q + 2): the tail
    (numerics.truncation.truncation_tail) is extrapolated from two levels whose words are both
    long enough for the target, as one level alone can fall short (the geometric tail of the
    valid level 3 alone did, by 8% along paths, on examples/linear_two_state.toml at L = 3;
    tests/test_truncation.py)."""
    if truncation == "auto":
        truncation = "next" if solves_next_length(m, d, word_length) else "previous"
    if truncation == "previous" and word_length - 1 < first_valid_level(lag):
        truncation = "next"
    return truncation


ERROR_TERMS = ("quadrature", "spectral", "truncation", "rounding")


def total_error(estimates: Mapping[str, object], truncation: float | None = None) -> float:
    """delta: the sum of the limit's error terms (ERROR_TERMS) of :func:`solve_limit`'s
    error_estimates, absent or None terms counting 0; ``truncation``: an estimate of that term
    made elsewhere (the report's word-length choice), in place of the one in ``estimates``."""
    values = dict(estimates)
    if truncation is not None:
        values["truncation"] = truncation
    return float(sum(float(values.get(term) or 0.0) for term in ERROR_TERMS))


def _solve_lengths(config, lengths, times, settings, by_group=True, kernel_accuracy=None,
                   full_fallback=True):
    """{L: (problem, kernel, solver, g)} for each word length, the kernels of all lengths in one
    pass over the quadrature nodes (numerics.kernel.kernels_on_words). Each length but the
    shortest also carries the cross kernel to the next shorter length's words, from the same
    pass and by the same rule (``pairs``), in its solver, for the extension of its solution to
    them (the "words" truncation sense)."""
    lengths = tuple(sorted(set(lengths)))
    problems = {L: word_problem(config, L) for L in lengths}
    spec = problems[lengths[0]].spec
    pairs = tuple(zip(lengths[:-1], lengths[1:], strict=True))
    if kernel_accuracy is not None and settings is None:
        kernels = kernels_to_accuracy(spec, lengths, kernel_accuracy, by_group=by_group,
                                      pairs=pairs)
    else:
        kernels = kernels_on_words(spec, lengths, settings, by_group=by_group, pairs=pairs)
    out = {}
    for shorter, L in zip((None, *lengths[:-1]), lengths, strict=True):
        problem = problems[L]
        cross = None if shorter is None else kernels[L].cross.pop(shorter)
        solver = limit_solver(kernels[L].K, problem.pi_L, problem.ybar, problem.alpha,
                              full_fallback=full_fallback, cross=cross)
        del cross
        out[L] = (problem, kernels.pop(L), solver, g_at(solver, times))
    return out


def solve_limit(
    config: object,
    word_length: int | None = None,
    times: Sequence[float] = (0.5, 1.0, 2.0),
    *,
    settings: QuadratureSettings | None = None,
    tolerance: float | None = None,
    truncation: str = "auto",
    kernel_groups: bool = True,
    kernel_accuracy: float | None = None,
    full_fallback: bool = True,
) -> LimitResult:
    """g_t on the m^L words for a Config (theory.md §3-§4), with error estimates.

    error_estimates: "quadrature_kernel" (max-abs, KernelResult.error) and its parts;
    "quadrature" / "quadrature_l2": the kernel estimate propagated to g at the largest time by
    the rigorous bound of :func:`quadrature_bound`; "truncation_levels": for the two levels j
    measured (g^j vs g^(j-1): L and L + 1 "next", L - 1 and L "previous"; one level, L + 1, when
    L = 1), the difference in each sense of numerics.truncation ("path", "words",
    "average", "average_l2"; numerics.truncation.level_differences), and
    "truncation_differences" the top level's ("level": j, and the senses);
    "truncation_path", "truncation_words", "truncation_average": the estimated error of g^L
    in that sense, numerics.truncation.truncation_tail of both levels (the larger tail
    extrapolated with the profile (j - 1) rho^j of the differences, levels with words >= q + 2
    long), as truncation differences decay like rho^L, the tangents' with a factor L
    (theory.md §4, §6): two levels, so that one accidentally small difference cannot pass for
    convergence; "truncation": the larger of
    "path" and "words" (the senses the report's statistics use); "truncation_difference" the
    top level's "average" difference, "truncation_l2" the tail of "average_l2" and
    "truncation_kernel" the top level's tail for K (max-abs).
    "auto" = "next" when m^(L+1) <= 2187 (d = 1; 243 for d > 1) else "previous", and
    "previous" is "next" when L - 1 < max(2, q + 2) (:func:`truncation_mode`: two valid
    levels); "none" skips it.
    "rounding": n eps (1 + alpha t |M|) max|ybar| (floating-point error of the spectral
    formula, heuristic). "spectral": the bound of numerics.limit_solver.spectral_bound on the
    error of a low-rank solve (0 for the full eigendecomposition, n <= 2187 words).
    The neighbouring lengths' kernels ("next" / "previous") and the cross kernels between
    consecutive lengths are assembled in the same pass over the quadrature nodes as L's
    (numerics.kernel.kernels_on_words: a shorter length's features are a level of the longer
    one's prefix tree), with the same rule.
    ``kernel_accuracy``: the kernel's rule is the cheapest of
    numerics.quadrature.settings_ladder whose error estimate meets it for every length solved
    (numerics.kernel.kernels_to_accuracy; ignored when ``settings`` is given); None: the
    default rules.
    ``full_fallback`` False: a low-rank solve never falls back to the full one
    (numerics.limit_solver.SpectrumRankError instead; the memory model without it is smaller).
    ``kernel_groups`` False: the kernel's parts by group are not kept
    (LimitResult.kernel.by_group empty; less memory). Raises LimitToleranceError if
    ``tolerance`` is given and the sum of quadrature + truncation + rounding estimates exceeds
    it.
    """
    L = int(config.limit.word_length if word_length is None else word_length)
    times = tuple(float(t) for t in times)
    m, d = int(config.chain.m), int(config.chain.d)
    truncation = truncation_mode(truncation, m, d, L, int(config.target.lag))
    top = {"next": L + 1, "previous": L}.get(truncation)  # the longest length solved
    # the neighbouring lengths' kernels come from the same pass (numerics.kernel.kernels_on_words)
    lengths = (L,) if top is None else tuple(range(max(1, top - 2), top + 1))
    solved = _solve_lengths(config, lengths, times, settings, kernel_groups, kernel_accuracy,
                            full_fallback)
    problem, kernel, solver, g = solved[L]
    estimates: dict[str, object] = {
        "quadrature_kernel": kernel.error,
        "quadrature_kernel_parts": dict(kernel.error_parts),
    }
    t_max = max(times, default=0.0)
    sup_bound, l2_bound = quadrature_bound(kernel.error, kernel.K, problem.pi_L, problem.ybar,
                                           problem.alpha, t_max)
    estimates["quadrature"] = sup_bound
    estimates["quadrature_l2"] = l2_bound
    # a low-rank spectral solve (numerics.limit_solver) leaves an error bounded by Duhamel
    estimates["spectral"] = spectral_bound(solver, float(np.max(np.diag(kernel.K))), t_max)
    if top is not None:
        # differences shrink like (L - 1) rho^L (theory.md §4, §6): the error of g^L is their
        # tail extrapolated from the two levels measured (numerics.truncation.truncation_tail)
        from derivations.inputs.config import contraction_rate

        rho = float(contraction_rate(config))
        first_valid = first_valid_level(int(config.target.lag))
        levels = {}
        for j in lengths[1:]:
            long_p, _, long_s, long_g = solved[j]
            levels[j] = level_differences(long_g, long_p.pi_L, solved[j - 1][3], m,
                                          g_extended_at(long_s, times))

        def tail(sense: str) -> float:
            return truncation_tail({j: diff[sense] for j, diff in levels.items()}, L, rho,
                                   first_valid)

        estimates["truncation_levels"] = levels
        estimates["truncation_differences"] = {"level": top, **levels[top]}
        estimates["truncation_difference"] = levels[top]["average"]
        for sense in SENSES:
            estimates[f"truncation_{sense}"] = tail(sense)
        estimates["truncation"] = max(estimates["truncation_path"], estimates["truncation_words"])
        estimates["truncation_l2"] = tail("average_l2")
        long_p, long_k = solved[top][0], solved[top][1].K
        estimates["truncation_kernel"] = truncation_tail({top: float(np.max(np.abs(
            kernel_suffix_average(long_k, long_p.pi_L, m) - solved[top - 1][1].K)))}, L, rho)
        estimates["truncation_method"] = (
            f"differences at L = {', '.join(str(j) for j in levels)} ({truncation})")
    else:
        estimates["truncation"] = None
    n = problem.words.shape[0]
    estimates["rounding"] = float(
        n * _EPS * (1.0 + problem.alpha * max(times, default=0.0) * solver.norm_M)
        * float(np.max(np.abs(problem.ybar))))
    if tolerance is not None:
        total = total_error(estimates)
        if total > tolerance:
            raise LimitToleranceError(
                f"limit error estimate {total:.3g} exceeds the tolerance {tolerance:.3g} "
                f"(quadrature {estimates['quadrature']}, truncation {estimates['truncation']}, "
                f"rounding {estimates['rounding']:.2g}); increase --word-length or refine")
    return LimitResult(problem=problem, times=times, g=g,
                       loss=training_loss(problem.pi_L, problem.ybar, g), kernel=kernel,
                       solver=solver, error_estimates=estimates)
