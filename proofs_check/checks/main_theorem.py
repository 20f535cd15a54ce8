"""Check: the main theorem (theory.md §3, §6): sup_{t<=T} E|f^N_{floor(Nt)} - g_t(X_{<=floor(Nt)})|
= O(N^{-r}), r = min(beta - 1/2, 1 - beta, 1/2) (r = min(1 - beta, 1/2) when f_0 = 0 exactly:
antisymmetric initialisation, or c or S drawn at 0, checks._common.output_vanishes), and the
network frozen at time T, run on fixed words, gives g_T.

Limit: g_t on the m^L words (checks._limit: word length chosen from the budget's accuracy, error
estimate delta; once the ladder has run, lengthened up to the config's cap when the errors
measured at the largest N ask for a smaller delta, checks._limit.refined_limit). Monte Carlo:
the shared trained-network simulations (checks._simulations) over the budget's N ladder.

What is measured (the claim, restated without a window in t): on the grid t_j = T j / 32,
j = 1..32, each replica's mean squared error over the W = min(64, NT/32) steps ending at
k_j = floor(N t_j), every step k compared with g at its own time k/N on the word just read:
e_rj = mean_k (f_k - g_{k/N}(word_k))^2. The statistic is sup_j sqrt(mean_r e_rj), the sup over
the grid of the RMS error, which bounds sup_t E|f - g_t| (E|X| <= sqrt(E X^2)); its log-log slope
is fitted against N (the level's samples: e_{r j*} at the maximising j*).
``frozen_network``: per replica e_r = mean over 64 words u drawn uniformly without replacement
from all m^L words (every word when m^L <= 64) of (f_{theta_T}(u) - g_T(u))^2, the frozen
network reading each word from S = 0. Uniformly, not from pi_L: the claim is for any fixed
input, and a pi_L draw would all but skip the rare words (and never pick one the chain cannot
produce, pi_L(u) = 0), where the network has seen least data; g_T is defined on every word
(theory.md §4: g_t = alpha K D^{1/2} int r_s ds).

Predicted slope -r from derivations.scaling. Allowance: (i) a subleading error term decaying
faster by the gap between r and the next rate (1/2 if r < 1/2, else 1/2 more), relative size
b N^-gap with |b| <= 1, moves the slope by <= gap N^-gap/(1 - N^-gap) at N_min; (ii) the limit's
own error delta moves the slope by at most sum_j |a_j| (-log(1 - delta/E_j))
(checks._limit.floor_allowance), with the truncation in the sense of the statistic
(numerics.truncation): delta_path (L2 over paths) for the path, delta_words (sup over words
read from S = 0) for the frozen network; the rival tests use the same.
Rivals: of the bound, the rate 1/4 slower and no convergence (proofs_check.rivals), and "f^N
converges to h" for every rival limit h of checks._limit (wrong target, kernel term removed),
each by the paired test of proofs_check.rivals.limit_rival at the largest N on the same
samples of the last window (t = T: the limits start together at g_0 = 0 and move apart, while
the start-up error of f_0 decays; fixed before looking at the data); of the sharpness, the
rates 1/4 faster and slower.
"""

from __future__ import annotations

import numpy as np

from derivations.inputs.config import states_array
from numerics.frozen import frozen_outputs
from numerics.words import path_word_indices
from proofs_check.cache import Job
from proofs_check.checks import CheckContext
from proofs_check.checks._common import (
    drift_term_vanishes,
    limit_vanishes,
    omitted_rivals_note,
    output_vanishes,
    predicted_exponent,
    replica_text,
    subleading_allowance,
    vanishing_details,
    vanishing_terms,
)
from proofs_check.checks._limit import (
    CHECK_SENSES,
    KERNEL_RIVAL,
    accuracy_note,
    claim_solver,
    floor_allowance,
    g_on_times,
    limit_job,
    limit_on_words,
    refined_limit,
    rival_solvers,
    window_steps,
)
from proofs_check.checks._simulations import divergence, ladder_jobs, trained_ladder
from proofs_check.checks._word_length import length_hint, measured_differences, needed_length
from proofs_check.checks.ntk_figures import ntk_figures
from proofs_check.checks.streams import stream, stream_key
from proofs_check.result import CheckResult
from proofs_check.rivals import (
    ACCEPTANCE_NOTE,
    limit_rival,
    limit_rivals_figure,
    rate_base,
    rate_claims,
    rate_figure,
    rate_test,
)
from proofs_check.stats import RateFit, fit_rate

NAME = "main_theorem"
TITLE = "main theorem"
COST = 6.0
EQUATION = "limit_ode"
CLAIM = ("The trained network's output tracks the kernel-limit ODE solution: "
         "sup_{t<=T} E|f^N_{floor(Nt)} - g_t(X_{<=floor(Nt)})| = O(N^{-r}).")
SHARP_CLAIM = "The main theorem's error decays exactly like N^{-r} (the bound is attained)."
FROZEN_CLAIM = ("The network frozen at time T, run on any fixed input word, converges to g_T on "
                "that word at the rate O(N^{-r}).")
ZERO_LIMIT_NOTE = ("the rival limits (the target without its lagged inputs, the kernel without "
                   "one of its terms): g_t is identically 0 here, as {}; each rival limit is 0 "
                   "for the same reason (the same odd network and symmetric chain, an even "
                   "rival target), so it is the prediction itself and no measurement could "
                   "reject it. The rate rivals remain")
FROZEN_SHARP_CLAIM = "The frozen network's error decays exactly like N^{-r}."
FORMULA = (r"\sup_{t \le T} E|f^N_{\lfloor Nt \rfloor} - g_t(X_{\le \lfloor Nt \rfloor})| = "
           r"O(N^{-r}),\ r = {}")
RATE = r"\min(\beta - \tfrac12, 1 - \beta, \tfrac12)"
ZERO_OUTPUT_RATE = r"\min(1 - \beta, \tfrac12)\ (f^N_0 = 0\ \mathrm{exactly})"
FROZEN_WORDS = 64
LIMIT_REMEDY = "a more accurate limit"  # delta is part of the allowance (_allowance (ii))
SPAWN_KEY = stream_key("main_theorem")


def window_errors(level: dict[str, np.ndarray], solvers: dict, config, L: int
                  ) -> dict[str, np.ndarray]:
    """name -> e (R, J): per replica and grid time, the mean over the window of
    (f_k - h_{k/N}(word_k))^2 for each limit h (module docstring); words need k >= L - 1."""
    n_units = int(level["c0"].shape[1])
    steps = window_steps(n_units, float(config.training.horizon))
    flat = np.maximum(steps.ravel(), L - 1)
    words = path_word_indices(level["states"], config.chain.m, L)[:, flat - L + 1]  # (R, JW)
    f = level["f"][:, flat]
    out = {}
    for name, solver in solvers.items():
        g = g_on_times(solver, flat / n_units)  # (JW, n_words)
        h_path = g[np.arange(flat.size)[None, :], words]
        out[name] = ((f - h_path) ** 2).reshape(f.shape[0], *steps.shape).mean(axis=2)
    return out


def path_distance(level, solvers: dict, config, L: int, claim: str) -> dict[str, float]:
    """RMS over replicas and the steps of the last window (t = T) of g - h on the words the
    network read."""
    n_units = int(level["c0"].shape[1])
    flat = np.maximum(window_steps(n_units, float(config.training.horizon))[-1], L - 1)
    words = path_word_indices(level["states"], config.chain.m, L)[:, flat - L + 1]
    on_path = {name: g_on_times(s, flat / n_units)[np.arange(flat.size)[None, :], words]
               for name, s in solvers.items()}
    return {name: float(np.sqrt(np.mean((v - on_path[claim]) ** 2)))
            for name, v in on_path.items() if name != claim}


def frozen_words(context: CheckContext, n_words: int) -> np.ndarray:
    """min(FROZEN_WORDS, n_words) distinct word indices drawn uniformly from all n_words words
    (fixed by the seed), sorted: the mean over them of (f - g)^2 is an unbiased estimate of the
    uniform mean over all words, (1 / n_words) sum_u (f(u) - g(u))^2 (module docstring)."""
    rng = stream(context.seed, "main_theorem_frozen_words")
    return np.sort(rng.choice(n_words, size=min(FROZEN_WORDS, n_words), replace=False))


def _frozen_outputs(level, config, select: np.ndarray, L: int) -> np.ndarray:
    """f_{theta_T}(u) for every replica and selected word of length L (R, n_selected)."""
    from numerics.words import enumerate_words

    inputs = states_array(config)[enumerate_words(config.chain.m, L)[select]]
    out = []
    for r in range(level["cT"].shape[0]):
        out.append(frozen_outputs(level["cT"][r], level["wT"][r], level["bT"][r], config,
                                  float(config.network.beta), inputs)[:, -1])
    return np.stack(out)


def _frozen_job(context: CheckContext, n_units: int, level, select: np.ndarray, L: int) -> Job:
    """The frozen network at T of one rung on the selected words of length L (cached)."""
    config = context.config
    return Job("frozen", {"config": config, "N": n_units,
                          "replicas": context.budget.replicas_at(n_units), "seed": context.seed,
                          "L": L, "words": select},
               lambda: {"f": _frozen_outputs(level, config, select, L)})


def _top_errors(context: CheckContext, limit: dict, level) -> dict[str, float]:
    """The two statistics at the largest N against ``limit`` (the level values of their rate
    fits): "path" sup_j sqrt(mean_r e_rj), "words" the RMS of f_{theta_T} - g_T over the
    frozen words."""
    config, L = context.config, int(limit["L"])
    solver = claim_solver(limit)
    e = window_errors(level, {"claim": solver}, config, L)["claim"]
    select = frozen_words(context, int(limit["pi_L"].shape[0]))
    job = _frozen_job(context, max(context.budget.n_ladder), level, select, L)
    f = context.cache.get(job)["f"]
    g_T = g_on_times(solver, (float(config.training.horizon),))[0][select]
    return {"path": float(np.sqrt(np.max(e.mean(axis=0)))),
            "words": float(np.sqrt(np.mean((f - g_T) ** 2)))}


def _allowance(context: CheckContext, rate: float, delta: float, fit: RateFit) -> float:
    """Allowance (i) + (ii) of the module docstring."""
    gap = 0.5 - rate if rate < 0.5 else 0.5
    return subleading_allowance(gap, min(context.budget.n_ladder)) + floor_allowance(fit, delta)


def _sup_samples(errors: np.ndarray) -> np.ndarray:
    """The level's samples of the sup statistic: e_{r j*}, j* maximising mean_r e_rj."""
    return errors[:, int(np.argmax(errors.mean(axis=0)))]


def jobs(context: CheckContext) -> list[Job]:
    """The jobs this check asks for that need no other result (submitted early)."""
    return [limit_job(context), *ladder_jobs(context)]


def run(context: CheckContext) -> tuple[CheckResult, ...]:
    config = context.config
    budget = context.budget
    limit = limit_on_words(context)
    context.progress(0.1)
    levels = trained_ladder(context, 0.1, 0.8)
    # the limit the measured errors ask for (a longer word length when the budget's falls short)
    limit, choice = refined_limit(context, limit, _top_errors(context, limit, levels[-1]))
    ns = np.array(budget.n_ladder)
    replicas = [budget.replicas_at(n) for n in budget.n_ladder]
    predicted = predicted_exponent("overall", config)  # -r from derivations.scaling
    delta = float(limit["delta"])  # the word-length choice's: the larger of the two below
    delta_path = float(limit["delta_path"])  # the error of g_t as the limit along paths
    delta_words = float(limit["delta_words"])  # ... as the limit at words read from S = 0
    L = int(limit["L"])
    claim = "claim"
    vanishing = vanishing_terms(config)  # kernel terms identically 0: no rival drops them
    zero_limit = limit_vanishes(config)  # g = 0 and every rival limit too: none is named
    solvers = {claim: claim_solver(limit),
               **({} if zero_limit else rival_solvers(limit, config.network.trainable,
                                                      vanishing))}
    errors = [window_errors(level, solvers, config, L) for level in levels]
    rng = np.random.default_rng(np.random.SeedSequence(context.seed, spawn_key=(SPAWN_KEY,)))
    fit = fit_rate(ns, [_sup_samples(e[claim]) for e in errors], power=2, rng=rng)
    test = rate_test(fit, predicted, _allowance(context, -predicted, delta_path, fit), replicas,
                     LIMIT_REMEDY)
    top = errors[-1]
    distances = path_distance(levels[-1], solvers, config, L, claim)
    # at t = T (the last window), where the limits have moved apart and the start-up error
    # of f_0 has decayed: a fixed choice, made before looking at the data
    path_rivals = tuple(limit_rival(name, top[claim][:, -1], top[name][:, -1],
                                    distances[name], delta_path) for name in distances)

    # frozen network at T on words drawn uniformly from all words
    select = frozen_words(context, int(limit["pi_L"].shape[0]))
    frozen_jobs = [_frozen_job(context, n_units, level, select, L)
                   for n_units, level in zip(budget.n_ladder, levels, strict=True)]
    frozen = [arrays["f"] for arrays in context.cache.get_many(frozen_jobs)]
    context.progress(0.95)
    horizon = float(config.training.horizon)
    g_T = {name: g_on_times(s, (horizon,))[0][select] for name, s in solvers.items()}
    fit_f = fit_rate(ns, [np.mean((f - g_T[claim]) ** 2, axis=1) for f in frozen], power=2,
                     rng=rng)
    test_f = rate_test(fit_f, predicted, _allowance(context, -predicted, delta_words, fit_f),
                       replicas, LIMIT_REMEDY)
    word_rivals = tuple(
        limit_rival(name, np.mean((frozen[-1] - g_T[claim]) ** 2, axis=1),
                    np.mean((frozen[-1] - g_T[name]) ** 2, axis=1),
                    float(np.sqrt(np.mean((g_T[name] - g_T[claim]) ** 2))), delta_words)
        for name in solvers if name != claim)

    tried = {int(k): float(v) for k, v in zip(limit["tried_L"], limit["tried_delta"],
                                               strict=True)}
    # the word length each statistic's ladder target asks, projected by the truncation tail
    # (L itself when met; None when no length meets it)
    needed = {sense: needed_length(
        measured_differences(limit), float(limit["rho"]), int(config.target.lag), L,
        {sense: float(limit[f"delta_{sense}"])}, {sense: float(limit[f"truncation_{sense}"])},
        {sense: float(choice["targets"][sense])}) for sense in CHECK_SENSES}

    def note(top_error: float, sense: str) -> str:  # this check's delta against its error
        what = {"path": "g_t along the network's path (L2 over paths)",
                "words": "g_t at words read from S = 0 (sup over words)"}[sense]
        return accuracy_note(delta, float(budget.limit_accuracy), L,
                             int(config.limit.word_length), budget.name, tried,
                             float(limit["truncation"]), str(limit["kernel_rule"]), top_error,
                             own=(what, float(limit[f"delta_{sense}"]),
                                  float(limit[f"truncation_{sense}"])),
                             ladder=(choice["targets"][sense], choice["top_errors"][sense],
                                     choice["first"] if choice["refined"] else None),
                             hint=length_hint(config, needed[sense]))

    common = {
              "ladder": list(budget.n_ladder), "replicas": replicas, "word_length": L,
              "limit_error_estimate": delta, "limit_quadrature_bound": float(limit["quadrature"]),
              "word_lengths_tried": tried, "limit_truncation_estimate": float(limit["truncation"]),
              "limit_kernel_rule": str(limit["kernel_rule"]),
              **{f"limit_{key}_{sense}": float(limit[f"{key}_{sense}"])
                 for sense in CHECK_SENSES for key in ("delta", "truncation")},
              "rival_distances_on_path": distances,
              "limit_ladder_targets": dict(choice["targets"]),
              "limit_refined": bool(choice["refined"]),
              "limit_word_length_needed": needed,
              "limit_budget_choice": {"L": choice["first"][0], "delta": choice["first"][1]},
              "predicted_rate_source": "derivations.scaling.overall_rate",
              **({"omitted_rivals": ZERO_LIMIT_NOTE.format(zero_limit)} if zero_limit else
                 {"omitted_rivals": omitted_rivals_note(config, vanishing, KERNEL_RIVAL)}
                 if vanishing else {}),
              **vanishing_details(drift_term_vanishes(config, "overall")),
              **divergence(levels, budget.n_ladder)}
    source = (f"{ACCEPTANCE_NOTE} interval of the weighted log-log slope over "
              f"{replica_text(budget)} replicas per N, widened by the allowance {{:.3g}} (a "
              "subleading term of the error, plus the largest slope change the limit's own "
              "error delta = {:.2g} can cause: its error as the limit {}, numerics.truncation)")
    figures = ntk_figures(config, budget, limit, solvers[claim], levels, errors, claim, L)
    base = rate_base(
        name=NAME, claim=CLAIM, equation=EQUATION,
        quantity="rate exponent of sup over t_j of the RMS of f^N - g_t along the training path",
        tolerance_source=source.format(test.allowance, delta_path,
                                       "along the path, L2 over paths"),
        figures=(rate_figure(test, "Main theorem: the error along the training path",
                             r"$\sup_t$ RMS of $f^N - g_t$"), *figures,
                 limit_rivals_figure("Rival limits at t = T, largest N", path_rivals)),
        details=dict(common, note=note(float(fit.values[-1]), "path")),
        formula=FORMULA.replace("{}", ZERO_OUTPUT_RATE if output_vanishes(config) else RATE))
    frozen_base = rate_base(
        name="frozen_network", claim=FROZEN_CLAIM, equation=EQUATION,
        quantity=("rate exponent of the RMS over words u (drawn uniformly from all m^L words) "
                  "of f_{theta_T}(u) - g_T(u)"),
        tolerance_source=source.format(test_f.allowance, delta_words,
                                       "at words read from S = 0, sup over words"),
        figures=(rate_figure(test_f, "Frozen network at T on words vs g_T",
                             r"RMS over words of $f_{\theta_T} - g_T$"),
                 limit_rivals_figure("Rival limits on words at T, largest N", word_rivals)),
        details=dict(common, note=note(float(fit_f.values[-1]), "words"),
                     frozen_words={"drawn": int(select.size), "of": int(limit["pi_L"].size),
                                   "with_pi_L_zero": int(np.sum(limit["pi_L"][select] == 0)),
                                   "smallest_pi_L": float(np.min(limit["pi_L"][select]))},
                     rival_distances_on_words={
            name: float(np.sqrt(np.mean((g_T[name] - g_T[claim]) ** 2)))
            for name in solvers if name != claim}),
        formula=r"f_{\theta_T}(u) - g_T(u) = O(N^{-r})")
    return (*rate_claims(test, base=base, sharp_claim=SHARP_CLAIM, bound_rivals=path_rivals),
            *rate_claims(test_f, base=frozen_base, sharp_claim=FROZEN_SHARP_CLAIM,
                         bound_rivals=word_rivals))
