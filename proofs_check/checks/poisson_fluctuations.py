"""Checks of the Poisson-equation step of the proof (theory.md §5), on the word chain of length L
(L = the word length of the main theorem's limit, checks.main_theorem.select_limit) with the
function the proof uses,

    F(u) = (ybar(u) - g_t(u)) A(x*, u),   t = T/2, x* the most probable word whose F is
                                         not constant on the words,

(checks._poisson_functions.proof_function; g_t, A and ybar from the limit computation of the
main theorem). Three results:

* ``poisson_pathwise``: sum_{k<n} F~(Z_k) = u(Z_0) - u(Z_n) + M_n on R stationary paths, with
  u from numerics.poisson_float; the test is max |discrepancy| <= the rounding bound of
  numerics.poisson_float.pathwise_decomposition (O(n m eps max|u|), derived there); on
  ybar or a word indicator where F is constant on the words
  (checks._poisson_functions.candidate_functions).
* ``poisson_variance``: sigma^2(F) = 2 pi(F~ u) - pi(F~^2) against Monte Carlo: batch sums of
  b steps along R paths (the budget's poisson_replicas paths of poisson_steps steps) give
  X = (S_b - b pi F)/sqrt(b) with E[X^2] = Var(S_b)/b; the 99.5%
  chi-square interval (as for the rate tests) widened by the exact finite-b bias
  |Var(S_b)/b - sigma^2| (summed autocovariances, :func:`finite_batch_bias`) must contain
  sigma^2. Batches of one path are treated as independent: their correlation is
  O(tau / b) with tau the mixing time (a few L steps) << b.
* ``poisson_drift``: the drift fluctuation D_N = sup_{t<=T} |(1/N) sum_{k<Nt} F~(Z_k)| is
  O(N^{-1/2}) (F as for the pathwise identity): log-log slope of sqrt(E D_N^2) over the
  budget's ladder of N. By the pathwise
  identity D_N = sup |u(Z_0) - u(Z_k) + M_k| / N, a martingale (CLT size N^{-1/2}) plus a
  boundary term O(1/N): relative correction N^{-1/2}, allowance gap N^-gap/(1 - N^-gap),
  gap = 1/2, at the smallest N; or, if larger, the chain's own finite-n correction
  (:func:`mixing_allowance`, exact from the autocovariances), which a slowly mixing chain
  needs: there the ladder sees the crossover to N^{-1/2}, not the rate.
Rival of the pathwise identity and the drift: the Poisson solution with the pi weights
replaced by another law nu (F centred by nu's mean, (I - P + 1 nu^T) u = F - nu(F); nu uniform
unless it is within 0.1 of pi_L in total variation, as on an i.i.d. uniform chain, where it
would be pi_L itself, or moves the mean of F by less than 1% of F's range, as every
flip-symmetric law does for the odd F of a sign-symmetric chain: checks._common.wrong_law), put
through the same tests; the drift also
gets the exponent rivals of a rate (bound and sharpness, proofs_check.rivals). Rivals of the
variance: the wrong-law sigma^2 and the i.i.d. variance pi(F~^2) (Poisson correction dropped),
both by the same interval. The variance formula holds for every F; it is tested on the
proof's F unless a rival's variance is within 10% of sigma^2 there (no feasible budget could
tell them apart), else on ybar or a word indicator (checks._poisson_functions.variance_function,
exact quantities only, fixed before any Monte Carlo, never a function constant on the words),
each candidate with its own wrong law.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from derivations.inputs.config import transition_matrix
from numerics.chain import sample_paths, stationary_law
from numerics.poisson_float import (
    pathwise_decomposition,
)
from numerics.variance_estimators import (
    chi_square_interval,
    stationary_autocovariances,
    sum_variance,
)
from numerics.words import path_word_indices, word_transition_matrix
from proofs_check.cache import Job
from proofs_check.checks import CheckContext
from proofs_check.checks._common import (
    predicted_exponent,
    subleading_allowance,
)
from proofs_check.checks._limit import limit_job, limit_on_words, time_grid
from proofs_check.checks._poisson_functions import (
    candidate_functions,
    proof_function,
    rival_variances,
    solutions,
    variance_function,
)
from proofs_check.checks.streams import stream_key
from proofs_check.result import CheckResult, FigureData, Rival
from proofs_check.rivals import (
    ACCEPTANCE_CONFIDENCE,
    ACCEPTANCE_NOTE,
    DETERMINISTIC_NEEDS,
    fit_rival,
    rate_base,
    rate_claims,
    rate_figure,
    rate_test,
)
from proofs_check.stats import fit_rate

NAME = "poisson"
TITLE = "Poisson equation"
COST = 2.0
EQUATION = "poisson_equation"
SPAWN_KEY = stream_key("poisson")
PATHWISE_PATHS = 8
BATCHES_PER_PATH = 40  # batch length = poisson_steps / 40 >> the mixing time (bias exact)
FORMULA = (r"(I - P) u = F - \pi(F),\ \pi(u) = 0;\quad \sum_{k<n} (F(Z_k) - \pi F) = u(Z_0) - "
           r"u(Z_n) + M_n;\quad \sigma^2(F) = 2 \pi(\tilde F u) - \pi(\tilde F^2)")


def _problem(context: CheckContext):
    """Word chain Q, pi_L and F on words (module docstring)."""
    config = context.config
    limit = limit_on_words(context)
    horizon = float(config.training.horizon)
    times = time_grid(horizon)
    index = int(np.argmin(np.abs(times - horizon / 2)))
    pi_L = limit["pi_L"]
    F = proof_function(pi_L, limit["ybar"] - limit["g"][index], limit["K"])
    P = transition_matrix(config)
    L = int(limit["L"])
    Q = word_transition_matrix(P, L)
    return P, Q, pi_L, F, L


def _paths(context: CheckContext, P: np.ndarray, n_paths: int, n_steps: int, L: int, tag: int):
    """Word-chain paths (n_paths, n_steps): stationary base-chain paths read as words."""
    rngs = [np.random.default_rng(np.random.SeedSequence(context.seed, spawn_key=(SPAWN_KEY, tag,
                                                                                   r)))
            for r in range(n_paths)]
    base = sample_paths(P, n_steps + L - 1, rngs, stationary_law(P))
    return path_word_indices(base, P.shape[0], L)


def _pathwise(solution, control, rival: str, words) -> CheckResult:
    claim = pathwise_decomposition(solution, words)
    wrong = pathwise_decomposition(control, words)
    measured = float(np.max(np.abs(claim.discrepancy)))
    measured_c = float(np.max(np.abs(wrong.discrepancy)))
    accepted = measured_c <= wrong.tolerance
    return CheckResult(
        name="poisson_pathwise",
        claim="The Poisson solution turns the centred ergodic sum into boundary terms plus a "
        "martingale: sum_{k<n} (F(Z_k) - pi F) = u(Z_0) - u(Z_n) + M_n on every path.",
        equation="poisson_solution", quantity="max |sum F~ - (u(Z_0) - u(Z_n) + M_n)|",
        prediction=0.0, measured=measured, ci=None, tolerance=claim.tolerance,
        tolerance_source="rounding-error bound of numerics.poisson_float.pathwise_decomposition "
        "(n m eps max|u| + solve residual), identity exact in exact arithmetic",
        accepted=measured <= claim.tolerance,
        rivals=(Rival(
            rival, 0.0, measured_c, not accepted,
            f"max discrepancy {measured_c:.3g} vs tolerance {wrong.tolerance:.3g}",
            "" if not accepted else DETERMINISTIC_NEEDS),),
        details={"paths": int(words.shape[0]), "steps": int(words.shape[1] - 1),
                 "states": int(solution.u.size)},
        formula=FORMULA)


# The most lags the finite-b bias sums (all of them took 3 s on a two-state chain, measured in
# tests/test_slow_mixing_drift.py; a word chain's sparse steps cost more): enough for a chain
# whose correlations decay like lambda^k with lambda up to about 0.9998 (lambda^k < 1e-17
# needs k = 39 / (1 - lambda) lags). A chain that mixes more slowly gets no bias: inf.
BIAS_MAX_LAG = 200_000


def finite_batch_bias(Q: np.ndarray, centred: np.ndarray, pi: np.ndarray, block: int) -> float:
    """|Var_pi(S_b)/b - sigma^2| = |2 sum_{k<b} (k/b) Cov_k + 2 sum_{k>=b} Cov_k| with
    Cov_k = pi(F~ Q^k F~) (numerics.variance_estimators.stationary_autocovariances), summed
    until Q^k F~ has settled to a constant within rounding; inf when it has not within
    BIAS_MAX_LAG lags (the bias is then unknown and the check gives no verdict). The sum once
    stopped at 20 b lags, as if the tail were below rounding on every chain: on a sticky chain
    (flip probability 1/1000, b = 50) it dropped a fifth of sigma^2, and the check FAILED a
    correct sigma^2."""
    max_lag = max(BIAS_MAX_LAG, int(block))
    covariances = stationary_autocovariances(Q, centred, pi, max_lag)
    if covariances.size > max_lag:  # never fell below rounding: the tail is not known
        return math.inf
    sigma2 = float(covariances[0] + 2.0 * np.sum(covariances[1:]))
    return abs(sigma2 - sum_variance(covariances, block))


def mixing_allowance(Q: np.ndarray, centred: np.ndarray, pi: np.ndarray,
                     ladder: tuple[int, ...], steps: tuple[int, ...]) -> float:
    """Slope allowance of the drift's rate fit for the chain's finite-n variance: the sum over
    the n = floor(N T) ``steps`` of each rung N of ``ladder`` has Var_pi(S_n)/n = V(n) ->
    sigma^2 with a correction of relative order tau / n (tau the chain's memory; V exact from
    the autocovariances, numerics.variance_estimators.sum_variance), so the RMS at N carries
    the factor c_N = sqrt(V(n) / sigma^2). A weighted least-squares slope is a weighted mean
    (weights >= 0) of the pairwise slopes, so these factors move it by at most
    max_{i<j} |log c_j - log c_i| / (log N_j - log N_i). Exact for the endpoint t = T; the
    sup over t <= T is taken to follow it (a stand-in, stated in the check). On a slowly
    mixing chain (tau comparable to N_min T) this is what widens the window: the fit sees the
    crossover to N^-1/2, not the rate itself. 0 for a constant F (every V(n) = 0)."""
    covariances = stationary_autocovariances(Q, centred, pi, max(steps))
    variances = np.array([sum_variance(covariances, n) for n in steps])
    if not np.any(variances > 0.0):
        return 0.0
    if not np.all(variances > 0.0):
        return math.inf
    # sigma^2 cancels from the differences of log c_N: exact with the first max(steps) terms
    logs, x = 0.5 * np.log(variances), np.log(np.asarray(ladder, dtype=float))
    return float(max(abs(logs[j] - logs[i]) / (x[j] - x[i])
                     for i in range(len(steps)) for j in range(i + 1, len(steps))))


def _variance_needs(gap: float, bias: float, half_width: float) -> str:
    """What would reject a wrong sigma^2 at distance ``gap`` from the prediction, if the
    estimate stays where it is: more batches (the interval's half-width ``half_width`` shrinks
    like 1/sqrt(batches)) unless the finite-b ``bias`` alone spans the gap. A phrase that reads
    after "Would be rejected with" (as proofs_check.rivals' phrases)."""
    if gap == 0.0:
        return ("another function or configuration: here the rival's sigma^2 equals the "
                "prediction, so no number of batches separates them")
    room = gap - bias
    if room <= 0.0:
        return (f"longer batches (a smaller finite-b bias): no number of batches would, as the "
                f"bias {bias:.2g} already spans the gap {gap:.2g} between the rival's sigma^2 "
                "and the prediction")
    if room * 1e3 < half_width:  # over a million times the batches: not feasible
        return (f"more batches than is feasible (over a million times as many): the rival's "
                f"sigma^2 is within {gap:.2g} of the prediction")
    return f"about {(half_width / room) ** 2:.1f}x the batches, if the estimate stays where it is"


def _variance(solution, control, rival: str, Q, F, pi_L, words) -> CheckResult:
    n_paths, n_steps = words.shape
    block = n_steps // BATCHES_PER_PATH
    values = F[words[:, : block * BATCHES_PER_PATH]].reshape(n_paths * BATCHES_PER_PATH, block)
    X2 = (values.sum(axis=1) - block * solution.mean) ** 2 / block
    bias = finite_batch_bias(Q, solution.centred, pi_L, block)
    lo, hi = chi_square_interval(float(X2.mean()), X2.size, ACCEPTANCE_CONFIDENCE)
    ci = chi_square_interval(float(X2.mean()), X2.size, 0.95)
    sigma2 = solution.asymptotic_variance
    wrong = rival_variances(solution, control, rival, pi_L)
    ok = lo - bias <= sigma2 <= hi + bias
    rivals = tuple(
        Rival(name, value, float(X2.mean()), not (lo - bias <= value <= hi + bias),
              f"wrong sigma^2 = {value:.4g} vs acceptance interval "
              f"[{lo - bias:.4g}, {hi + bias:.4g}]",
              "" if not (lo - bias <= value <= hi + bias) else
              _variance_needs(abs(value - sigma2), bias, 0.5 * (hi - lo)))
        for name, value in wrong.items())
    return CheckResult(
        name="poisson_variance",
        claim="The asymptotic variance of the ergodic sum is sigma^2(F) = 2 pi(F~ u) - pi(F~^2).",
        equation="asymptotic_variance", quantity="sigma^2(F)",
        prediction=sigma2, measured=float(X2.mean()), ci=ci,
        tolerance=0.5 * (hi - lo) + bias,
        tolerance_source=f"{ACCEPTANCE_NOTE} chi-square interval over {X2.size} batch sums of "
        f"{block} steps, widened by the exact finite-b bias {bias:.2g}" if math.isfinite(bias)
        else f"{ACCEPTANCE_NOTE} chi-square interval over {X2.size} batch sums of {block} "
        f"steps; the finite-b bias is unknown (the chain's autocovariances have not decayed "
        f"below rounding within {BIAS_MAX_LAG} lags), so the window is unbounded: no verdict",
        accepted=bool(ok), rivals=rivals, window=(lo - bias, hi + bias),
        details={"batches": int(X2.size), "batch_length": block, "finite_b_bias": bias},
        formula=FORMULA)


def _drift(context, solution, control, rival: str, P, F, L) -> tuple[CheckResult, CheckResult]:
    config, budget = context.config, context.budget
    horizon = float(config.training.horizon)
    ladder = budget.poisson_ladder
    steps = tuple(int(math.floor(n_units * horizon)) for n_units in ladder)  # n per rung
    params = {"config": config, "ladder": ladder, "R": budget.poisson_replicas,
              "seed": context.seed, "L": L, "F": F}

    def compute() -> dict[str, np.ndarray]:
        out = {"claim": np.empty((len(ladder), budget.poisson_replicas)),
               "control": np.empty((len(ladder), budget.poisson_replicas))}
        for i, n_units in enumerate(ladder):
            words = _paths(context, P, budget.poisson_replicas, steps[i], L, 10 + i)
            values = F[words]
            for key, mean in (("claim", solution.mean), ("control", control.mean)):
                partial = np.cumsum(values - mean, axis=1) / n_units
                out[key][i] = np.max(partial**2, axis=1)
            if i == len(ladder) - 1:
                out["example"] = np.cumsum(values[:4] - solution.mean, axis=1) / n_units
            context.progress(0.4 + 0.6 * (i + 1) / len(ladder))
        return out

    data = context.cache.get_or_compute("poisson_drift", params, compute)
    ns = np.array(ladder)
    predicted = predicted_exponent("kernel_at_init", config)  # -1/2: CLT order, scaling
    boundary = subleading_allowance(0.5, min(ladder))
    mixing = mixing_allowance(solution.transition, solution.centred, solution.pi,
                              tuple(ladder), steps)
    bias = max(boundary, mixing)
    rng = np.random.default_rng(np.random.SeedSequence(context.seed, spawn_key=(SPAWN_KEY, 2)))
    replicas = [budget.poisson_replicas] * ns.size
    test = rate_test(fit_rate(ns, data["claim"], power=2, rng=rng), predicted, bias, replicas)
    control_fit = rate_test(fit_rate(ns, data["control"], power=2), predicted, bias, replicas)
    n_max = ladder[-1]
    example = data["example"]
    t = np.arange(1, example.shape[1] + 1) / n_max
    band = 2.0 * np.sqrt(solution.asymptotic_variance * t / n_max)
    figures = (
        rate_figure(test, "Drift fluctuation of the ergodic sum",
                    r"RMS of $\sup_{t \leq T} |\frac{1}{N}\sum_{k<Nt} \tilde F(Z_k)|$",
                    {rival: control_fit}),
        FigureData("poisson", f"Drift fluctuation paths at N = {n_max}",
                   {"x": t, **{f"path {j + 1}": example[j] for j in range(example.shape[0])},
                    "band_lo": -band, "band_hi": band},
                   {"xlabel": "$t$", "ylabel": r"$\frac{1}{N}\sum_{k<Nt} \tilde F(Z_k)$",
                    "band_label": r"$\pm 2\sqrt{\sigma^2 t / N}$"}),
    )
    base = rate_base(
        name="poisson_drift",
        claim="The drift fluctuation (1/N) sum_{k<Nt} [F(Z_k) - pi F] is O(N^{-1/2}) uniformly "
        "in t <= T.",
        equation="poisson_equation", quantity="rate exponent of RMS sup_t |drift fluctuation|",
        tolerance_source=f"{ACCEPTANCE_NOTE} interval of the weighted log-log slope over "
        f"{budget.poisson_replicas} paths per N, widened by {bias:.3g}, the larger of the "
        f"boundary-term allowance {boundary:.3g} (relative order N^-1/2 at the smallest N) and "
        f"the chain's finite-n variance allowance {mixing:.3g} (exact Var(S_n)/n against "
        "sigma^2 at the ladder's n = floor(N T), the endpoint standing for the sup)",
        figures=figures,
        details={"ladder": list(ladder), "paths": budget.poisson_replicas,
                 "boundary_allowance": boundary, "mixing_allowance": mixing,
                 "rms_sup": test.fit.values},
        formula=FORMULA)
    return rate_claims(test, base=base, bound_rivals=(fit_rival(rival, control_fit),),
                       sharp_claim="The drift fluctuation decays exactly like N^{-1/2}.")


def jobs(context: CheckContext) -> list[Job]:
    """The jobs this check asks for that need no other result (submitted early)."""
    return [limit_job(context)]


def run(context: CheckContext) -> tuple[CheckResult, ...]:
    budget = context.budget
    P, Q, pi_L, F, L = _problem(context)
    solution, control, rival = solutions(Q, pi_L, F)
    context.progress(0.1)
    words = _paths(context, P, PATHWISE_PATHS, budget.poisson_steps, L, 0)
    # the identity and the drift's rate hold for every F; where the proof's F is constant on
    # the words (a zero target: F = 0) both sides vanish, the drift is 0 at every N and no rival
    # could fail, so the next candidate is used for both
    name_p, F_p = candidate_functions(pi_L, F, limit_on_words(context)["ybar"])[0]
    solved_p = (solution, control, rival) if F_p is F else solutions(Q, pi_L, F_p)
    note = "" if F_p is F else f"F = {name_p}: the proof's F is constant on the words."

    def labelled(result: CheckResult) -> CheckResult:
        details = dict(result.details, function=name_p)
        if note:  # after any note of the result's own (a sharpness result's)
            details["note"] = " ".join(filter(None, (details.get("note", ""), note)))
        return dataclasses.replace(result, details=details)

    pathwise = labelled(_pathwise(*solved_p, words))
    context.progress(0.2)
    many = _paths(context, P, budget.poisson_replicas, budget.poisson_steps, L, 1)
    name, F_v, solution_v, control_v, rival_v = variance_function(Q, pi_L, F, context,
                                                                 (solution, control, rival))
    variance = _variance(solution_v, control_v, rival_v, Q, F_v, pi_L, many)
    variance = dataclasses.replace(variance, details=dict(
        variance.details, function=name,
        note=f"F = {name} (both rival variances at least 10% from sigma^2, else the function "
        "where they are farthest; never one constant on the words; chosen from exact values "
        "before any Monte Carlo)"))
    context.progress(0.4)
    return pathwise, variance, *map(labelled, _drift(context, *solved_p, P, F_p, L))
