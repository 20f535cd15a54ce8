"""The limit g_t on words used by the main-theorem, frozen-network and Poisson checks, chosen
and cached once per report, and the rival limits the network might converge to instead.

Word length: :func:`select_limit` takes the smallest L (at most the config's limit.word_length,
at least q + 2 for a target of lag q) whose estimated error delta(L) = quadrature bound +
spectral bound + truncation estimate + rounding is <= the budget's ``limit_accuracy``; the
config's L when none is. The truncation is estimated in the sense of each statistic that uses
the limit (numerics.truncation): "path" for the main theorem's error along the network's own
path (delta_path), "words" for the frozen network run on words (delta_words); delta is the
larger, and each check's allowance uses its own. Once the N-ladder has run, the main theorem
and the frozen network ask delta_sense <= LIMIT_SHARE x their error at the largest N
(:func:`ladder_targets`); :func:`refined_limit` lengthens the words for them when the budget's
length falls short (up to the config's cap).
Rival limits (:func:`rival_problems`), each the solution of the same ODE with one ingredient
wrong:
* the wrong target: ybar without its lagged inputs, E[Y_0 | X_0] (targets with lags), or the
  target read one step late, y(X_{-1}) (targets without lags); for a network without
  recurrence (b drawn at 0 and frozen: checks._common.kernel_reads_past) g is already the
  limit of E[Y_0 | X_0], so the rival is E[Y_0 | X_0] read one step late;
* the kernel with one term removed: A - A_c, A - A_w, A - A_b for each trainable group (with a
  single trainable group: no learning at all, g = 0).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from numerics.limit import (
    LimitResult,
    LimitSolver,
    g_at,
    limit_solver,
    solve_limit,
    total_error,
)
from numerics.quadrature import settings_ladder
from numerics.simulate import time_to_step
from numerics.truncation import SENSES, first_valid_level, truncation_tail
from proofs_check.cache import Job
from proofs_check.checks import CheckContext
from proofs_check.checks._common import kernel_reads_past
from proofs_check.checks._word_length import CHECK_SENSES, difference_arrays
from proofs_check.stats import RateFit

TIME_POINTS = 32
# The kernel's own error target, as a share of the limit's accuracy target: its quadrature
# rule is the cheapest meeting it (numerics.kernel.kernel_to_accuracy). Propagated to g by
# numerics.limit.quadrature_bound (a factor alpha |ybar|_pi (T + (2/3) sqrt(alpha max A) T^1.5),
# about 2 on the shipped configurations), it takes a few percent of delta.
KERNEL_SHARE = 0.01
# Once the ladder has run, each statistic asks delta <= LIMIT_SHARE x its measured error at the
# largest N (checks._limit.ladder_targets): the floor allowance (ii) of checks.main_theorem is
# then at most |a_top| (-log(1 - 1/5)) = 0.22 |a_top| from the top rung, the budget's design
# ratio (proofs_check.budget), now checked against the errors measured instead of assumed.
LIMIT_SHARE = 0.2
WINDOW_STEPS = 64  # steps per grid time in the main theorem's statistic (its docstring)


def time_grid(horizon: float) -> np.ndarray:
    """t_j = T j / 32, j = 1..32: the times at which the main theorem's error is measured."""
    return horizon * np.arange(1, TIME_POINTS + 1) / TIME_POINTS


def window_steps(n_units: int, horizon: float) -> np.ndarray:
    """Per grid time t_j the steps k of its window (J, W): W = min(64, NT/32) steps ending at
    min(floor(N t_j), steps - 1), none before step 0."""
    total = time_to_step(n_units, horizon)
    ends = np.array([min(time_to_step(n_units, t), total - 1) for t in time_grid(horizon)])
    width = int(max(1, min(WINDOW_STEPS, total // len(ends))))
    return np.maximum(ends[:, None] - np.arange(width)[None, ::-1], 0)


def _ybar_without_lags(ybar: np.ndarray, pi_L: np.ndarray, m: int) -> np.ndarray:
    """E[Y_0 | X_0 = u_L] on every word (the lagged inputs averaged out under pi_L)."""
    last = np.arange(ybar.shape[0]) % m  # most recent symbol u_L (oldest-first words)
    num = np.bincount(last, weights=pi_L * ybar, minlength=m)
    den = np.bincount(last, weights=pi_L, minlength=m)
    return (num / den)[last]


def _ybar_one_step_late(ybar: np.ndarray, m: int) -> np.ndarray:
    """For a lag-0 target y(X_0): y read at the previous symbol, y(u_{L-1}), on every word."""
    index = np.arange(ybar.shape[0])
    by_symbol = np.zeros(m)
    by_symbol[index % m] = ybar  # ybar depends on the last symbol only
    return by_symbol[(index // m) % m]


def select_limit(config, accuracy: float | Mapping[str, float], times: tuple[float, ...],
                 kernel_groups: bool = True, full_fallback: bool = True, first: int = 1):
    """The limit on words at the smallest sufficient word length (module docstring).

    Solves L = q + 2, q + 3, ... up to the config's word length (each with L - 1 and L - 2 in
    the same pass for the differences, ``truncation="previous"``, which at L = q + 2 solves
    L - 1 and L + 1 instead: two valid levels, numerics.limit.truncation_mode; and the cheapest
    quadrature rule meeting KERNEL_SHARE x ``accuracy``), records the differences of the two
    levels measured in each sense of numerics.truncation, and stops at the first L with
    delta(L) = max(delta_path, delta_words) <= ``accuracy``, where delta_sense = quadrature +
    spectral + :func:`numerics.truncation.truncation_tail` of that sense's differences +
    rounding: "path" for the network along its own path (L2 over the stationary law of paths),
    "words" for the frozen network run on words (sup over words).
    d > 2 (a Sobol ladder, numerics.quadrature.settings_ladder, whose finest rung costs 16
    times its first): each L is first solved with the first rung, and the ladder is climbed
    only where that can decide, at the cap or where delta without its quadrature part meets
    the target; an L met with the first rung is taken as it is (delta counts its quadrature
    bound; the delta recorded for an L passed over is its first rung's). On
    examples/three_dimensional_inputs.toml with ``rnnkl limit --accuracy 1e-4 --times 1``
    (L = 3..8, not met): 206 s climbing at every L, 110 s screened, the same limit at L = 8.
    ``accuracy`` a mapping: a target per sense ({"path": ..., "words": ...}), met when each
    sense's delta meets its own (the kernel's rule from the smallest). ``first``: no length
    below it is tried (a refinement that knows the shorter ones miss).
    Returns (LimitResult, delta, info) with info the delta of every L tried, the differences
    per sense ({sense: {L: diff}}), rho, and at the returned L the truncation estimate of each
    sense and delta_path, delta_words.
    ``kernel_groups`` False: the kernel's groups are not kept, ``full_fallback`` False: no full
    eigen-solve behind the low-rank one (``rnnkl limit --accuracy``, as its memory plan says).
    """
    from derivations.inputs.config import contraction_rate

    L_max = max(int(config.limit.word_length), 1)  # the cap: the config's word length
    lag = int(config.target.lag)
    first_valid = first_valid_level(lag)  # g^j and g^(j-1) both have the exact ybar
    L_min = min(L_max, max(first_valid, int(first)))
    targets = ({sense: float(accuracy[sense]) for sense in CHECK_SENSES}
               if isinstance(accuracy, Mapping) else dict.fromkeys(CHECK_SENSES, float(accuracy)))
    rho = float(contraction_rate(config))
    diffs: dict[str, dict[int, float]] = {sense: {} for sense in SENSES}
    tried: dict[int, float] = {}
    tails = {sense: float("inf") for sense in CHECK_SENSES}
    deltas = dict(tails)
    result = None
    screen = int(config.chain.d) > 2  # a Sobol ladder: its finest rung costs 16 times the first

    def solve(L: int, rules: dict[str, object]) -> LimitResult:
        result = solve_limit(config, L, times=times, truncation="previous" if L > 1 else "none",
                             kernel_groups=kernel_groups, full_fallback=full_fallback, **rules)
        for level, measured in result.error_estimates.get("truncation_levels", {}).items():
            for sense in SENSES:
                diffs[sense][int(level)] = float(measured[sense])
        for sense in CHECK_SENSES:
            tails[sense] = truncation_tail(diffs[sense], L, rho, first_valid)
            if rho == 0.0 and L >= lag + 1:
                tails[sense] = 0.0  # no memory (b = 0): words of length q + 1 are exact
            deltas[sense] = total_error(result.error_estimates, truncation=tails[sense])
        tried[L] = max(deltas.values())
        return result

    def met() -> bool:
        return all(deltas[sense] <= targets[sense] for sense in CHECK_SENSES)

    ladder = {"kernel_accuracy": KERNEL_SHARE * min(targets.values())}
    first_rung = {"settings": settings_ladder(int(config.chain.d))[0]}
    for L in range(L_min, L_max + 1):
        if screen:
            result = solve(L, first_rung)
            quadrature = float(result.error_estimates.get("quadrature") or 0.0)
            if met():
                break
            if L < L_max and any(deltas[sense] - quadrature > targets[sense]
                                 for sense in CHECK_SENSES):
                continue  # missed without its quadrature part: no finer rule can meet it
            if result.kernel.error <= ladder["kernel_accuracy"]:
                continue  # the ladder would choose this same rule: nothing finer to try
        result = solve(L, ladder)
        if met():
            break
    assert result is not None
    delta = tried.get(int(result.problem.word_length), float("inf"))
    return result, delta, {"tried": tried, "differences": diffs, "rho": rho,
                           "truncation": max(tails.values()),
                           **{f"truncation_{sense}": tails[sense] for sense in CHECK_SENSES},
                           **{f"delta_{sense}": deltas[sense] for sense in CHECK_SENSES}}


def limit_on_words(context: CheckContext) -> dict[str, np.ndarray]:
    """The limit at the word length chosen by :func:`select_limit` (cached): g on the time
    grid and at T, the kernel K and its parts by group, pi_L, ybar, the rival target, the
    error estimate delta and the word lengths tried."""
    return context.cache.get(limit_job(context))


def limit_job(context: CheckContext, targets: Mapping[str, float] | None = None,
              first: int = 1) -> Job:
    """The job of :func:`limit_on_words` (the budget's ``limit_accuracy``); with ``targets``
    ({sense: delta}) and ``first``, the refinement of :func:`ladder_targets`."""
    config = context.config
    accuracy: float | dict[str, float] = (
        float(context.budget.limit_accuracy) if targets is None
        else {sense: float(targets[sense]) for sense in CHECK_SENSES})
    horizon = float(config.training.horizon)
    times = time_grid(horizon)

    def compute() -> dict[str, np.ndarray]:
        result, delta, info = select_limit(config, accuracy, tuple(times), first=first)
        problem = result.problem
        m = problem.P.shape[0]
        if int(config.target.lag) > 0 and kernel_reads_past(config):
            wrong_name = "the target without its lagged inputs, E[Y_0 | X_0]"
            ybar_wrong = _ybar_without_lags(problem.ybar, problem.pi_L, m)
        elif int(config.target.lag) > 0:  # no recurrence: g is already E[Y_0 | X_0]'s limit
            wrong_name = "E[Y_0 | X_0] read one step late, at X_{-1}"
            ybar_wrong = _ybar_one_step_late(_ybar_without_lags(problem.ybar, problem.pi_L, m),
                                             m)
        else:
            wrong_name = "the target read one step late, y(X_{-1})"
            ybar_wrong = _ybar_one_step_late(problem.ybar, m)
        tried = sorted(info["tried"].items())
        out = {"times": times, "g": result.g, "K": result.kernel.K, "ybar": problem.ybar,
               "pi_L": problem.pi_L, "alpha": np.array(problem.alpha),
               "delta": np.array(delta), "L": np.array(int(problem.word_length)),
               "tried_L": np.array([t[0] for t in tried], dtype=np.int64),
               "tried_delta": np.array([t[1] for t in tried], dtype=float),
               "quadrature": np.array(float(result.error_estimates.get("quadrature") or 0.0)),
               "truncation": np.array(float(info["truncation"])),
               **{key: np.array(float(info[key])) for sense in CHECK_SENSES
                  for key in (f"truncation_{sense}", f"delta_{sense}")},
               "kernel_rule": np.array(result.kernel.rule), "rho": np.array(info["rho"]),
               **difference_arrays(info["differences"]),
               "ybar_wrong": ybar_wrong, "wrong_target_name": np.array(wrong_name)}
        for group, part in result.kernel.by_group.items():
            out[f"K_{group}"] = part
        return out

    params = {"config": config, "accuracy": accuracy, "times": times, "selection": "smallest-L",
              **({"first": int(first)} if first != 1 else {})}
    return Job("limit", params, compute)


def ladder_targets(top_errors: Mapping[str, float]) -> dict[str, float]:
    """What each statistic asks of the limit once the ladder has run: delta_sense <=
    LIMIT_SHARE x its measured error at the largest N (``top_errors``: {sense: error}; measured
    against the budget's limit, so each carries at most that limit's own delta_sense, which
    shifts its target by at most LIMIT_SHARE x that)."""
    return {sense: LIMIT_SHARE * float(top_errors[sense]) for sense in CHECK_SENSES}


def refined_limit(context: CheckContext, limit: dict[str, np.ndarray],
                  top_errors: Mapping[str, float]) -> tuple[dict[str, np.ndarray], dict]:
    """The limit the ladder asks for (issue 17, item 3): when a statistic's delta exceeds its
    :func:`ladder_targets` target and the budget's length L is below the config's cap, the
    shortest longer length meeting both targets (:func:`select_limit` from L + 1; the config's
    cap when none does), cached as its own job; otherwise ``limit`` itself. Returns (limit,
    choice) with choice {"targets", "top_errors", "first": (L, delta) of the budget's limit,
    "refined": bool}."""
    targets = ladder_targets(top_errors)
    L, cap = int(limit["L"]), max(int(context.config.limit.word_length), 1)
    missed = any(float(limit[f"delta_{sense}"]) > targets[sense] for sense in CHECK_SENSES)
    refine = missed and L < cap and all(t > 0 for t in targets.values())
    choice = {"targets": targets, "top_errors": dict(top_errors),
              "first": (L, float(limit["delta"])), "refined": refine}
    if not refine:
        return limit, choice
    return context.cache.get(limit_job(context, targets, first=L + 1)), choice


def claim_solver(limit: dict[str, np.ndarray]) -> LimitSolver:
    """The limit ODE of the claim on words (spectral solver; g at any time by numerics.g_at)."""
    return limit_solver(limit["K"], limit["pi_L"], limit["ybar"], float(limit["alpha"]))


KERNEL_RIVAL = "f^N converges to the limit of the kernel without its {} term"


def rival_solvers(limit: dict[str, np.ndarray], trainable: tuple[str, ...],
                  vanishing: tuple[str, ...] = ()) -> dict[str, LimitSolver]:
    """name -> solver of each rival limit (module docstring); none drops a term in
    ``vanishing`` (checks._common.vanishing_terms: a term identically 0 here, whose rival
    would be the claim itself)."""
    K, pi_L, alpha = limit["K"], limit["pi_L"], float(limit["alpha"])
    rivals = {f"f^N converges to the limit of {limit['wrong_target_name']}":
              limit_solver(K, pi_L, limit["ybar_wrong"], alpha)}
    groups = [g for g in trainable if f"K_{g}" in limit and g not in vanishing]
    only = "only nonzero term" if vanishing else "only term"
    for group in groups:
        name = (KERNEL_RIVAL.format(group) if len(groups) > 1
                else f"no learning: the kernel without its {only} (g = 0)")
        rivals[name] = limit_solver(K - limit[f"K_{group}"], pi_L, limit["ybar"], alpha)
    return rivals


def g_on_times(solver: LimitSolver, times) -> np.ndarray:
    """g_t on every word at the given times, (len(times), n_words)."""
    return g_at(solver, tuple(float(t) for t in times))


def floor_allowance(fit: RateFit, delta: float) -> float:
    """Allowance (ii) of the module docstring: the largest slope change an error <= delta of g
    can cause, sum_j |a_j| (-log(1 - delta / E_j)) over the rungs (inf if delta >= some E_j).
    An RMS statistic of f - g^L differs from that of f - g^infinity by at most the RMS of
    g^infinity - g^L over its samples (Minkowski): <= delta for a sup-norm delta (words), and
    delta in expectation for an L2 one over the law the samples are drawn from (paths)."""
    values = np.asarray(fit.values, dtype=float)
    ratio = float(delta) / np.maximum(values, 1e-300)
    log_bounds = np.full(values.shape, np.inf)
    inside = ratio < 1.0
    log_bounds[inside] = -np.log1p(-ratio[inside])
    return fit.slope_sensitivity(log_bounds)


def accuracy_note(delta: float, accuracy: float, L: int, config_L: int, budget: str,
                  tried: dict[int, float] | None = None, truncation: float | None = None,
                  rule: str = "", top_error: float | None = None,
                  own: tuple[str, float, float] | None = None,
                  ladder: tuple[float, float, tuple[int, float] | None] | None = None,
                  hint: str = "") -> str:
    """What the report tells the user about the limit's accuracy: the word length chosen and why
    (the shortest of those ``tried`` whose delta meets the budget's target, or the config's
    cap), delta's truncation share, the kernel's quadrature ``rule``, and delta against the
    measured error at the ladder's largest N (``top_error``; the budget's targets are chosen so
    that delta <= 1/5 of it, proofs_check.budget). Not met: the floor allowance (ii) carries it
    and the test is weaker. ``own`` = (what the check compares, its delta, its truncation
    estimate): the check's own delta (its sense of the truncation, numerics.truncation), in
    place of the selection's for the truncation share and the share of the error.
    ``ladder`` = (this statistic's target from :func:`ladder_targets`, its error at the largest
    N against the budget's limit, (L, delta) of the budget's limit when :func:`refined_limit`
    replaced it, else None): what the measured errors asked and whether it is met. ``hint``:
    what to do when a target is missed at the config's cap (:func:`length_hint`)."""
    hint = hint or "raise [limit] word_length for a sharper test"
    tried = dict(tried or {})
    shorter = {k: v for k, v in tried.items() if k < L}
    if ladder is not None and ladder[2] is not None:
        first_L, first_delta = ladder[2]
        text = (f"limit g_t on words of length L = {L}, refined for the measured errors: the "
                f"{budget} budget's target {accuracy:.2g} gave L = {first_L} (delta "
                f"{first_delta:.2g}); estimated error at L = {L}: {delta:.2g}")
        if shorter:
            text += " (longer lengths that fell short: " + ", ".join(
                f"L = {k}: {v:.2g}" for k, v in sorted(shorter.items())) + ")"
    elif delta <= accuracy:
        text = (f"limit g_t on words of length L = {L}: estimated error {delta:.2g} meets the "
                f"{budget} budget's target {accuracy:.2g}")
        if shorter:
            text += (f"; L = {L} is the shortest that does (" + ", ".join(
                f"L = {k}: {v:.2g}" for k, v in sorted(shorter.items())) + ")")
    else:
        text = (f"limit g_t at the config's word length L = {config_L}: estimated error "
                f"{delta:.2g} exceeds the {budget} budget's target {accuracy:.2g}; the finite-N "
                "allowance covers it, at the price of a wider acceptance interval")
        if ladder is None:
            text += f" ({hint})"
    if own is not None:
        text += f"; for {own[0]}: delta = {own[1]:.2g}"
        delta, truncation = own[1], own[2]
    if truncation is not None and np.isfinite(truncation) and delta > 0:
        text += f"; truncation ((L - 1) rho^L tail) {truncation:.2g} of it"
    if rule:
        text += f"; kernel quadrature: {rule}"
    if top_error is not None and top_error > 0 and np.isfinite(delta):
        text += (f"; delta is {delta / top_error:.1%} of the measured error at the largest N "
                 f"({top_error:.3g})")
    if ladder is not None and not np.isfinite(ladder[1]):
        text += ("; the error measured at the largest N is not finite (the network diverged: "
                 "see divergence), so it asks no accuracy of the limit")
    elif ladder is not None:
        target, measured = ladder[0], ladder[1]
        verdict = ("met" if delta <= target else
                   f"not met at the config's word length cap; {hint}" if L >= config_L
                   else "not met")
        text += (f"; the error measured at the largest N against the budget's limit "
                 f"({measured:.3g}) asks delta <= {target:.2g} ({LIMIT_SHARE:.0%} of it): "
                 f"{verdict}")
    return text
