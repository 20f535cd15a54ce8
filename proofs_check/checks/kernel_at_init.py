"""Check: the empirical kernel at initialisation converges to A at rate N^{-1/2} (theory.md §6).

On words spread over the m^L words (L from the budget, every word read from S = G = 0 before
its oldest symbol on *both* sides, so the truncation is identical and cancels)
the empirical kernel of N i.i.d. units

    A^N(u, v) = (1/N) sum_i [S_i(u) S_i(v) + c_i^2 (G^w_i(u) . G^w_i(v) + G^b_i(u) G^b_i(v))]

(trainable groups only) is computed with the trainer's recursion (numerics.frozen.frozen_memory)
and compared with A from the quadrature of numerics.kernel (an independent code path). The
per-replica error is e = mean_{u,v} (A^N - A)^2; since the units are i.i.d. with mean A,
E[e] = V / N exactly, so the RMS sqrt(mean_r e) has log-log slope exactly -1/2 and no finite-N
bias beyond the quadrature error delta of A (an entrywise bound, numerics.kernel). That moves
the RMS by at most delta at every N (Minkowski), so the window is widened by the largest slope
change such moves can cause (checks._limit.floor_allowance, as for the limit's error in the
main theorem): negligible when delta is far below the RMS at the largest N, unbounded when it
reaches it (then the quadrature, not the theory, decides and the result is inconclusive).
A bound and a sharpness result (proofs_check.rivals). Rivals of the bound, besides the rates 1/4
slower and no convergence: "A^N converges to A without its c (w, b) term", one per trainable
group whose term does not vanish identically here (checks._common.vanishing_terms: with
c_std = 0 the w and b terms are 0, and such a rival is A itself; the result says so), each
tested like the bound on the distance to that kernel (proofs_check.rivals.fit_rival).
"""

from __future__ import annotations

import numpy as np

from derivations.inputs.config import states_array
from numerics.kernel import kernel_on_words, spec_from_config
from numerics.tangent_kernel import empirical_kernel
from numerics.words import enumerate_words, word_label
from proofs_check.cache import Job
from proofs_check.checks import CheckContext
from proofs_check.checks._common import (
    draw_units,
    omitted_rivals_note,
    predicted_exponent,
    spread_indices,
    vanishing_terms,
)
from proofs_check.checks._limit import floor_allowance
from proofs_check.checks.streams import stream_key
from proofs_check.result import CheckResult, FigureData
from proofs_check.rivals import (
    ACCEPTANCE_NOTE,
    RateTest,
    fit_rival,
    rate_base,
    rate_claims,
    rate_figure,
    rate_test,
)
from proofs_check.stats import RateFit, fit_rate

NAME = "kernel_at_init"
TITLE = "kernel at init"
COST = 2.0
EQUATION = "kernel"
CLAIM = (
    "The empirical neural tangent kernel of the RNN at initialisation converges to the limit "
    "kernel A(x, x'), at least at rate N^{-1/2}."
)
SHARP_CLAIM = "The empirical kernel at initialisation approaches A exactly at rate N^{-1/2}."
RIVAL_NAME = "A^N converges to A without its {} term"
SPAWN_KEY = stream_key("kernel_at_init")
BIAS_ALLOWANCE = 0.0  # E[e] = V/N exactly (i.i.d. units); plus A's quadrature: docstring.


def init_word_selection(config, budget, word_length: int) -> np.ndarray:
    """Indices of the budget's init_words words, spread over the m^L words."""
    return spread_indices(config.chain.m**word_length, budget.init_words)


def limit_kernel(context: CheckContext, word_length: int, select: np.ndarray | None = None
                 ) -> dict[str, np.ndarray]:
    """A by quadrature on all words (or the ``select``-ed ones, in that order), per group,
    with its error estimate (cached)."""
    return context.cache.get(limit_kernel_job(context, word_length, select))


def limit_kernel_job(context: CheckContext, word_length: int, select: np.ndarray | None = None
                     ) -> Job:
    """The job of :func:`limit_kernel`."""
    config = context.config
    spec = spec_from_config(config)

    def compute() -> dict[str, np.ndarray]:
        result = kernel_on_words(spec, word_length, select=select)
        out = {"K": result.K, "error": np.array(result.error)}
        for group, part in result.by_group.items():
            out[f"K_{group}"] = part
        return out

    params = {"spec": {"activation": spec.activation, "states": spec.states, "c_std": spec.c_std,
                       "w_std": spec.w_std, "b_max": spec.b_max, "groups": spec.groups},
              "word_length": word_length, "select": select}
    return Job("kernel", params, compute)


def _squared_errors(context: CheckContext, word_length: int, references: dict[str, np.ndarray]
                    ) -> dict[str, np.ndarray]:
    config = context.config
    budget = context.budget
    select = init_word_selection(config, budget, word_length)
    inputs = states_array(config)[enumerate_words(config.chain.m, word_length)[select]]
    ladder = budget.init_ladder
    out = {name: np.empty((len(ladder), budget.init_replicas)) for name in references}
    for i, n_units in enumerate(ladder):
        for r in range(budget.init_replicas):
            rng = np.random.default_rng(
                np.random.SeedSequence(context.seed, spawn_key=(SPAWN_KEY, n_units, r)))
            c, w, b = draw_units(rng, config, n_units)
            K = empirical_kernel(config, c, w, b, inputs)
            for name, ref in references.items():
                out[name][i, r] = float(np.mean((K - ref) ** 2))
        context.progress(0.2 + 0.8 * (i + 1) / len(ladder))
    return out


def jobs(context: CheckContext) -> list[Job]:
    """The jobs this check asks for that need no other result (submitted early)."""
    word_length = context.budget.init_word_length
    select = init_word_selection(context.config, context.budget, word_length)
    return [limit_kernel_job(context, word_length, select)]


def run(context: CheckContext) -> tuple[CheckResult, CheckResult]:
    config = context.config
    budget = context.budget
    word_length = budget.init_word_length
    select = init_word_selection(config, budget, word_length)
    kernel = limit_kernel(context, word_length, select)
    predicted = predicted_exponent("kernel_at_init", config)  # -1/2, derivations.scaling
    context.progress(0.2)
    A = kernel["K"]
    vanishing = vanishing_terms(config)  # their rivals would be A itself
    groups = [g for g in ("c", "w", "b") if f"K_{g}" in kernel and g not in vanishing]
    references = {"claim": A} | {f"without_{g}": A - kernel[f"K_{g}"] for g in groups}
    params = {"config": config, "ladder": budget.init_ladder, "replicas": budget.init_replicas,
              "word_length": word_length, "words": select, "seed": context.seed,
              "references": sorted(references)}
    errors = context.cache.get_or_compute(
        "kernel_init_errors", params, lambda: _squared_errors(context, word_length, references))
    rng = np.random.default_rng(np.random.SeedSequence(context.seed, spawn_key=(SPAWN_KEY, 0)))
    ns = np.array(budget.init_ladder)
    replicas = [budget.init_replicas] * ns.size
    quad_error = float(kernel["error"])  # entrywise bound on A's (and each group's) error

    def allowed(fit: RateFit) -> RateTest:
        return rate_test(fit, predicted, BIAS_ALLOWANCE + floor_allowance(fit, quad_error),
                         replicas, "a more accurate limit kernel A (a finer quadrature)")

    test = allowed(fit_rate(ns, errors["claim"], power=2, rng=rng))
    rival_fits = {RIVAL_NAME.format(g):
                  allowed(fit_rate(ns, errors[f"without_{g}"], power=2)) for g in groups}
    kernel_rivals = tuple(fit_rival(name, fit) for name, fit in rival_fits.items())
    figures = (
        rate_figure(test, "Empirical kernel at initialisation vs A",
                    r"RMS over word pairs of $A^N - A$", rival_fits),
        FigureData(
            kind="heatmap",
            title=f"Limit kernel A on {A.shape[0]} words of length {word_length}",
            series={"K": kernel["K"]},
            meta={"label": "A(u, v)",
                  "ticks": [word_label(int(w), config.chain.m, word_length) for w in select]},
        ),
    )
    base = rate_base(
        name=NAME, claim=CLAIM, equation=EQUATION,
        quantity="rate exponent of RMS(A^N - A) in N",
        tolerance_source=f"{ACCEPTANCE_NOTE} interval of the weighted log-log slope "
        f"({budget.init_replicas} replicas per N), widened by the allowance {test.allowance:.3g}: "
        f"the largest slope change the quadrature error {quad_error:.2g} of A can cause "
        "(checks._limit.floor_allowance); no other bias, as E[e] = V/N exactly for i.i.d. units",
        figures=figures,
        formula=r"\frac{1}{N} \sum_i \big[S^i S'^i + (c^i)^2 (G^{w,i} \cdot G^{w,i\prime} "
        r"+ G^{b,i} G^{b,i\prime})\big] - A(x, x') = O(N^{-1/2})",
        details={"ladder": list(budget.init_ladder), "replicas": budget.init_replicas,
                 "word_length": word_length, "rms_error": test.fit.values,
                 "quadrature_error": quad_error, "quadrature_allowance": test.allowance,
                 **({"omitted_rivals": omitted_rivals_note(
                     config, vanishing, RIVAL_NAME)} if vanishing else {})})
    return rate_claims(test, base=base, sharp_claim=SHARP_CLAIM, bound_rivals=kernel_rivals)
