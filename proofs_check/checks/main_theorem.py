"""Check: the main theorem (MODEL.md §3, §6): E|f^N_{floor(Nt)} - g_t(X_{<=floor(Nt)})| = O(N^{-r})
for t <= T, r = min(beta - 1/2, 1 - beta, 1/2) (r = min(1 - beta, 1/2) with antisymmetric
initialisation), and the network frozen at time T, run on fixed words, gives g_T.

Limit: g_t on the m^L words by numerics.limit (kernel quadrature + spectral solution), with its
quadrature and truncation error estimates. The word length is chosen by :func:`select_limit`
from the accuracy the budget's checks need (``Budget.limit_accuracy``): the smallest L (at most
the config's limit.word_length, at least q + 2 for a target of lag q) whose estimated error
delta(L) = quadrature bound + truncation estimate + rounding is <= that accuracy; the config's L
when none is. Monte Carlo: the shared trained-network simulations (checks._simulations) over the
budget's N ladder.

* ``main_theorem``: per replica e = mean over a grid of times t in [T/8, T) of
  (f^N_{floor(Nt)} - g_t(word at floor(Nt)))^2; the RMS sqrt(mean_r e) is fitted against N.
* ``frozen_network``: per replica e = mean over 64 words u drawn from pi_L (an unbiased estimate
  of sum_u pi_L(u) (f_{theta_T}(u) - g_T(u))^2) with the frozen network
  (numerics.frozen.frozen_outputs) reading each word u from S = 0.

Predicted slope -r from derivations.scaling. Bias allowance: (i) the next error term decays
faster by the gap between r and the next rate (1/2 if r < 1/2, else 1/2 more); a relative
correction b N^-gap, |b| <= 1, moves the slope by <= gap N^-gap/(1 - N^-gap) at N_min; (ii) the
truncation + quadrature error delta of g (numerics.limit's estimates, max over words and times):
the measured RMS E(N) of f - g^L and the RMS E*(N) of f - g^infinity over the same samples
differ by at most RMS(g^infinity - g^L) <= delta (Minkowski), so |log E - log E*| <=
-log(1 - delta/E) at every rung (infinite if delta >= E), and the weighted least-squares slope,
linear in the logs, moves by at most sum_j |a_j| (-log(1 - delta/E_j)) (RateFit.slope_sensitivity,
a_j its coefficients). No power-law model of E* is assumed for (ii).
Negative control: the learning-rate exponent off by 1/4: the same networks (same seeds)
trained with eta_N = alpha N^{2 beta - 2 + 1/4} are claimed to follow the same g_t; the same
test (f vs g_t, predicted slope -r) must reject it. A secondary, reported-only control compares
the claim's networks with g computed from ybar without the lagged inputs (ybar(u) replaced by
E[Y_0 | X_0 = u_L]) when the target uses lags, else from the kernel without its b (or c) term.
"""

from __future__ import annotations

import numpy as np

from numerics.frozen import frozen_outputs
from numerics.limit import g_at, limit_solver, solve_limit, suffix_average
from numerics.simulate import time_to_step
from numerics.words import path_word_indices
from proofs_check.checks import CheckContext
from proofs_check.checks._common import (
    ACCEPTANCE_NOTE,
    predicted_exponent,
    rate_accepts,
    rate_control,
    rate_tolerance,
    replica_text,
    states_array,
    subleading_allowance,
)
from proofs_check.checks._simulations import trained_ladder
from proofs_check.result import CheckResult, FigureData
from proofs_check.stats import RateFit, fit_rate

NAME = "main_theorem"
TITLE = "main theorem"
COST = 6.0
EQUATION = "limit_ode"
CLAIM = (
    "The trained network's output tracks the kernel-limit ODE solution: "
    "sup_{t<=T} E|f^N_{floor(Nt)} - g_t(X_{<=floor(Nt)})| = O(N^{-r})."
)
FROZEN_CLAIM = (
    "The network frozen at time T, run on any fixed input word, converges to g_T on that word "
    "at the same rate O(N^{-r})."
)
FORMULA = (r"\frac{d}{dt} g_t(x) = \alpha\, E_{(x', y') \sim \hat\pi}\big[(y' - g_t(x')) A(x, x')"
           r"\big],\quad E|f^N_{\lfloor Nt \rfloor} - g_t| = O(N^{-r}),\ "
           r"r = \min(\beta - \tfrac12, 1 - \beta, \tfrac12)")
TIME_POINTS = 32
LR_SHIFT = 0.25  # negative control: learning-rate exponent off by 1/4
FROZEN_WORDS = 64
WINDOW = 48  # steps shown per N in the trajectory figure


def time_grid(horizon: float) -> np.ndarray:
    """t_j = T j / 32, j = 4..31: from T/8 (memory and start-up transients gone) to below T."""
    return horizon * np.arange(4, TIME_POINTS) / TIME_POINTS


def _ybar_without_lags(ybar: np.ndarray, pi_L: np.ndarray, m: int) -> np.ndarray:
    """E[Y_0 | X_0 = u_L] on every word (the lagged inputs averaged out under pi_L)."""
    last = np.arange(ybar.shape[0]) % m  # most recent symbol u_L (oldest-first words)
    num = np.bincount(last, weights=pi_L * ybar, minlength=m)
    den = np.bincount(last, weights=pi_L, minlength=m)
    return (num / den)[last]


def truncation_estimate(diffs: dict[int, float], L: int, rho: float, first_valid: int) -> float:
    """Estimated |g^L - g^infinity| (max over words and times) from the measured differences
    diff_j = max |E[g^j | younger j-1 symbols] - g^(j-1)| (MODEL.md §4: diff_j ~ C rho^j).

    The tail sum_{j>L} diff_j ~ diff_j rho^(L+1-j) / (1 - rho) is extrapolated from the last
    two valid levels j in {L - 1, L} (both words long enough for the target, j >= first_valid)
    and the larger is kept, so one accidentally small difference cannot pass for convergence.
    Infinite when no difference exists (L = 1).
    """
    rho = min(max(float(rho), 0.0), 0.99)
    levels = [j for j in (L - 1, L) if j >= first_valid and j in diffs]
    if not levels:  # words too short for the target: extrapolate what there is (config's L)
        levels = [j for j in (L - 1, L) if j in diffs]
    if not levels:
        return float("inf")
    return max(diffs[j] * rho ** (L + 1 - j) / (1.0 - rho) for j in levels)


def select_limit(config, accuracy: float, times: tuple[float, ...]):
    """The limit on words at the smallest sufficient word length (module docstring).

    Solves L = 1, 2, ... up to the config's word length (each once, ``truncation="none"``),
    measures diff_L against L - 1 and stops at the first L >= q + 2 with
    delta(L) = quadrature + :func:`truncation_estimate` + rounding <= ``accuracy``.
    Returns (LimitResult, delta, info) with info the delta of every L tried.
    """
    from derivations.config import contraction_rate

    L_max = max(int(config.limit.word_length), 1)
    lag = int(config.target.lag)
    first_valid = lag + 2  # g^j and g^(j-1) both have the exact ybar (words >= q + 1 long)
    L_min = min(L_max, first_valid)
    rho = float(contraction_rate(config))
    diffs: dict[int, float] = {}
    tried: dict[int, float] = {}
    previous = None
    result = None
    delta = float("inf")
    for L in range(max(1, L_min - 1), L_max + 1):
        result = solve_limit(config, L, times=times, truncation="none")
        if previous is not None:
            m = result.problem.P.shape[0]
            diffs[L] = float(np.max(np.abs(
                suffix_average(result.g, result.problem.pi_L, m) - previous.g)))
        previous = result
        if L < L_min:
            continue
        estimates = result.error_estimates
        truncation = truncation_estimate(diffs, L, rho, first_valid)
        if rho == 0.0 and L >= lag + 1:
            truncation = 0.0  # no memory (b = 0): words of length q + 1 are exact
        delta = float(estimates.get("quadrature") or 0.0) + truncation + float(
            estimates.get("rounding") or 0.0)
        tried[L] = delta
        if delta <= accuracy:
            break
    assert result is not None
    return result, delta, {"tried": tried, "differences": diffs, "rho": rho}


def limit_on_words(context: CheckContext) -> dict[str, np.ndarray]:
    """g_t (times (T/8..T) and T) on all words, the control's g, the word length L chosen by
    :func:`select_limit`, and its error estimate delta (cached)."""
    config = context.config
    accuracy = float(context.budget.limit_accuracy)
    horizon = float(config.training.horizon)
    times = np.append(time_grid(horizon), horizon)

    def compute() -> dict[str, np.ndarray]:
        result, delta, info = select_limit(config, accuracy, tuple(times))
        problem = result.problem
        L = int(problem.word_length)
        lag = int(config.target.lag)
        K = result.kernel.K
        if lag > 0:
            control_name = "ybar without the lagged inputs"
            ybar_c = _ybar_without_lags(problem.ybar, problem.pi_L, problem.P.shape[0])
            solver = limit_solver(K, problem.pi_L, ybar_c, problem.alpha)
        else:
            group = "b" if "b" in result.kernel.by_group and len(result.kernel.by_group) > 1 \
                else "c"
            control_name = f"kernel without the {group} term"
            K_c = K - result.kernel.by_group[group]
            solver = limit_solver(K_c, problem.pi_L, problem.ybar, problem.alpha)
        tried = sorted(info["tried"].items())
        return {"times": times, "g": result.g, "g_control": g_at(solver, tuple(times)),
                "K": K, "ybar": problem.ybar,
                "pi_L": problem.pi_L, "delta": np.array(delta), "L": np.array(L),
                "tried_L": np.array([t[0] for t in tried], dtype=np.int64),
                "tried_delta": np.array([t[1] for t in tried], dtype=float),
                "quadrature": np.array(float(result.error_estimates.get("quadrature") or 0.0)),
                "control_name": np.array(control_name)}

    params = {"config": config, "accuracy": accuracy, "times": times, "selection": "smallest-L"}
    return context.cache.get_or_compute("limit", params, compute)


def _trajectory_errors(level, limit, config, g_key: str) -> np.ndarray:
    """Per replica: mean over the time grid of (f - g_t(word))^2, shape (R,)."""
    f = level["f"]
    states = level["states"]
    m = config.chain.m
    L = int(limit["L"])
    n_units = int(level["c0"].shape[1])
    times = time_grid(float(config.training.horizon))
    steps = np.array([time_to_step(n_units, t) for t in times])
    words = path_word_indices(states, m, L)  # (R, steps - L + 1), entry j at step j + L - 1
    g = limit[g_key][: len(times)]  # (times, words)
    g_path = np.take_along_axis(g[None, :, :], words[:, steps - L + 1][:, :, None], axis=2)
    g_path = g_path[:, :, 0]  # (R, times)
    return np.mean((f[:, steps] - g_path) ** 2, axis=1)


def frozen_words(context: CheckContext, pi_L: np.ndarray) -> np.ndarray:
    """FROZEN_WORDS word indices drawn i.i.d. from pi_L (fixed by the seed): the uniform mean
    over them of (f - g)^2 is an unbiased estimate of sum_u pi_L(u) (f(u) - g(u))^2."""
    rng = np.random.default_rng(np.random.SeedSequence(context.seed, spawn_key=(302,)))
    return rng.choice(pi_L.shape[0], size=FROZEN_WORDS, p=pi_L / pi_L.sum())


def _frozen_outputs(level, config, select: np.ndarray, L: int) -> np.ndarray:
    """f_{theta_T}(u) for every replica and selected word of length L (R, n_selected)."""
    from numerics.words import enumerate_words

    inputs = states_array(config)[enumerate_words(config.chain.m, L)[select]]
    out = []
    for r in range(level["cT"].shape[0]):
        out.append(frozen_outputs(level["cT"][r], level["wT"][r], level["bT"][r], config,
                                  float(config.network.beta), inputs)[:, -1])
    return np.stack(out)


def floor_allowance(fit: RateFit, delta: float) -> float:
    """Allowance (ii) of the module docstring: the largest slope change an error <= delta of g
    can cause, sum_j |a_j| (-log(1 - delta / E_j)) over the rungs (inf if delta >= some E_j)."""
    values = np.asarray(fit.values, dtype=float)
    ratio = float(delta) / np.maximum(values, 1e-300)
    log_bounds = np.full(values.shape, np.inf)
    inside = ratio < 1.0
    log_bounds[inside] = -np.log1p(-ratio[inside])
    return fit.slope_sensitivity(log_bounds)


def accuracy_note(delta: float, accuracy: float, L: int, config_L: int, budget: str) -> str:
    """What the report tells the user about the limit's accuracy: met, or not met at the
    config's word length (then the floor allowance (ii) carries it and the test is weaker)."""
    if delta <= accuracy:
        return (f"limit g_t on words of length L = {L}: estimated error {delta:.2g} meets the "
                f"{budget} budget's target {accuracy:.2g}")
    return (f"limit g_t at the config's word length L = {config_L}: estimated error "
            f"{delta:.2g} exceeds the {budget} budget's target {accuracy:.2g}; the finite-N "
            "allowance covers it, at the price of a wider acceptance interval (raise "
            "[limit] word_length for a sharper test)")


def _bias(context: CheckContext, rate: float, delta: float, fit: RateFit) -> float:
    """Allowance (i) + (ii) of the module docstring."""
    gap = 0.5 - rate if rate < 0.5 else 0.5
    subleading = subleading_allowance(gap, min(context.budget.n_ladder))
    return subleading + floor_allowance(fit, delta)


def _result(name, claim, quantity, fit, fit_control, predicted, bias, control_name, budget,
            figures, details) -> CheckResult:
    ok = rate_accepts(fit, predicted, bias)
    control = rate_control(fit_control, control_name, predicted, bias)
    return CheckResult(
        name=name, claim=claim, equation=EQUATION, quantity=quantity,
        prediction=predicted, measured=fit.slope, ci=fit.ci,
        tolerance=rate_tolerance(fit, bias),
        tolerance_source=f"{ACCEPTANCE_NOTE} interval of the weighted log-log slope over "
        f"{replica_text(budget)} replicas per N, widened by the finite-N allowance {bias:.3g} "
        "(a subleading term of the error, plus the largest slope change the limit's own error "
        "delta can cause)",
        verdict="pass" if ok else "fail", negative_control=control, figures=figures,
        details=details, formula=FORMULA)


def run(context: CheckContext) -> tuple[CheckResult, CheckResult]:
    config = context.config
    budget = context.budget
    limit = limit_on_words(context)
    context.progress(0.1)
    levels = trained_ladder(context, 0.1, 0.4)
    wrong = trained_ladder(context, 0.5, 0.4, lr_shift=LR_SHIFT)
    ns = np.array(budget.n_ladder)
    predicted = predicted_exponent("overall", config)  # -r from derivations.scaling
    rate = -predicted
    delta = float(limit["delta"])
    control_name = "learning-rate exponent off by 1/4 (eta_N = alpha N^(2 beta - 7/4))"
    secondary_name = str(limit["control_name"])
    rng = np.random.default_rng(np.random.SeedSequence(context.seed, spawn_key=(301,)))

    # per level (R(N),): replica counts may differ between levels (Budget.replicas_at)
    traj = [_trajectory_errors(lv, limit, config, "g") for lv in levels]
    traj_s = [_trajectory_errors(lv, limit, config, "g_control") for lv in levels]
    traj_c = [_trajectory_errors(lv, limit, config, "g") for lv in wrong]
    fit = fit_rate(ns, traj, power=2, rng=rng)
    fit_c = fit_rate(ns, traj_c, power=2)
    fit_s = fit_rate(ns, traj_s, power=2)
    bias = _bias(context, rate, delta, fit)

    pi_L = limit["pi_L"]
    L = int(limit["L"])
    select = frozen_words(context, pi_L)
    frozen, frozen_wrong = [], []
    for n_units, level, level_wrong in zip(budget.n_ladder, levels, wrong, strict=True):
        params = {"config": config, "N": n_units, "replicas": budget.replicas_at(n_units),
                  "seed": context.seed, "L": L, "words": select}
        frozen.append(context.cache.get_or_compute(
            "frozen", params,
            lambda lv=level: {"f": _frozen_outputs(lv, config, select, L)})["f"])
        frozen_wrong.append(context.cache.get_or_compute(
            "frozen", dict(params, lr_shift=LR_SHIFT),
            lambda lv=level_wrong: {"f": _frozen_outputs(lv, config, select, L)})["f"])
    context.progress(0.95)
    g_T = limit["g"][-1][select]
    fro = [np.mean((f - g_T) ** 2, axis=1) for f in frozen]
    fro_c = [np.mean((f - g_T) ** 2, axis=1) for f in frozen_wrong]
    fit_f = fit_rate(ns, fro, power=2, rng=rng)
    fit_fc = fit_rate(ns, fro_c, power=2)
    bias_f = _bias(context, rate, delta, fit_f)

    # Trajectory figure: replica 0 of each N, WINDOW consecutive steps from k = floor(N T/2),
    # f^N_k against g_{T/2}(word_k) (g at the grid time T/2; it moves by O(WINDOW/N) meanwhile).
    half = int(np.argmin(np.abs(time_grid(float(config.training.horizon))
                                - float(config.training.horizon) / 2)))
    series = {}
    for n_units, level in zip(budget.n_ladder, levels, strict=True):
        start = time_to_step(n_units, float(config.training.horizon) / 2)
        steps = np.arange(start, min(start + WINDOW, level["f"].shape[1]))
        words = path_word_indices(level["states"][:1], config.chain.m, L)[0]
        series[f"k N={n_units}"] = steps
        series[f"f N={n_units}"] = level["f"][0, steps]
        series[f"g N={n_units}"] = limit["g"][half, words[steps - L + 1]]
    common = {"note": accuracy_note(delta, float(budget.limit_accuracy), L,
                                    int(config.limit.word_length), budget.name),
              "ladder": list(budget.n_ladder),
              "replicas": [budget.replicas_at(n) for n in budget.n_ladder],
              "word_length": L, "config_word_length": int(config.limit.word_length),
              "limit_accuracy": float(budget.limit_accuracy), "limit_error_estimate": delta,
              "limit_quadrature_bound": float(limit["quadrature"]),
              "word_lengths_tried": {int(k): float(v) for k, v in
                                     zip(limit["tried_L"], limit["tried_delta"], strict=True)},
              "predicted_rate_source": "derivations.scaling.overall_rate"}
    main = _result(
        NAME, CLAIM, "rate exponent of RMS_t (f^N - g_t) along the training path", fit, fit_c,
        predicted, bias, control_name, budget,
        (FigureData("rate", "Main theorem: f^N vs g_t along the training path",
                    {"N": fit.ns, "error": fit.values, "error_lo": fit.value_ci[:, 0],
                     "error_hi": fit.value_ci[:, 1], "control": fit_c.values},
                    {"slope": fit.slope, "intercept": fit.intercept, "predicted": predicted,
                     "ylabel": "RMS over t in [T/8, T) of f^N - g_t",
                     "control_label": "learning-rate exponent off by 1/4"}),
         FigureData("trajectories", "f^N_k (dots) and g_{T/2}(word_k) (line) from k = N T/2",
                    series, {"ylabel": "output", "ladder": list(budget.n_ladder)}),
         FigureData("heatmap", f"Limit kernel A on all {limit['K'].shape[0]} words of length "
                    f"{L} (lexicographic, oldest symbol first)",
                    {"K": limit["K"]}, {"label": "A(u, v)"})),
        dict(common, rms_error=fit.values, bootstrap_ci=fit.bootstrap_ci,
             chi2_reduced=fit.chi2_reduced, bias_allowance=bias,
             control_slope=fit_c.slope, control_ci=fit_c.ci, control_rms=fit_c.values,
             secondary_control=secondary_name, secondary_control_slope=fit_s.slope,
             secondary_control_rms=fit_s.values,
             secondary_control_rejected=not rate_accepts(fit_s, predicted, bias)))
    frozen_result = _result(
        "frozen_network", FROZEN_CLAIM, "rate exponent of the pi_L-RMS of f_{theta_T}(u) - g_T(u)",
        fit_f, fit_fc, predicted, bias_f, control_name, budget,
        (FigureData("rate", "Frozen network at T on words vs g_T",
                    {"N": fit_f.ns, "error": fit_f.values, "error_lo": fit_f.value_ci[:, 0],
                     "error_hi": fit_f.value_ci[:, 1], "control": fit_fc.values},
                    {"slope": fit_f.slope, "intercept": fit_f.intercept, "predicted": predicted,
                     "ylabel": "pi_L-RMS over words of f_theta_T - g_T",
                     "control_label": "learning-rate exponent off by 1/4"}),),
        dict(common, rms_error=fit_f.values, bootstrap_ci=fit_f.bootstrap_ci,
             chi2_reduced=fit_f.chi2_reduced, bias_allowance=bias_f,
             control_slope=fit_fc.slope, control_ci=fit_fc.ci, control_rms=fit_fc.values))
    return main, frozen_result
