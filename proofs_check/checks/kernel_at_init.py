"""Check: the empirical kernel at initialisation converges to A at rate N^{-1/2} (MODEL.md §6).

On words spread over the m^L words (L from the budget, every word read from S = G = 0 before
its oldest symbol on *both* sides, so the truncation is identical and cancels)
the empirical kernel of N i.i.d. units

    A^N(u, v) = (1/N) sum_i [S_i(u) S_i(v) + c_i^2 (G^w_i(u) . G^w_i(v) + G^b_i(u) G^b_i(v))]

(trainable groups only) is computed with the trainer's recursion (numerics.frozen.frozen_memory)
and compared with A from the quadrature of numerics.kernel (an independent code path). The
per-replica error is e = mean_{u,v} (A^N - A)^2; since the units are i.i.d. with mean A,
E[e] = V / N exactly, so the RMS sqrt(mean_r e) has log-log slope exactly -1/2 and no finite-N
bias beyond the quadrature error delta of A (which adds delta^2 to E[e]; reported, and
required to be below 1e-6 V / N_max for the zero bias allowance to hold).
Negative control: the same test with A computed without its b term (kernel without b; without
its w term when b is frozen, without its c term when only c is trained).
"""

from __future__ import annotations

import numpy as np

from numerics.frozen import frozen_memory
from numerics.kernel import KernelSpec, kernel_on_words
from numerics.words import enumerate_words
from proofs_check.checks import CheckContext
from proofs_check.checks._common import (
    ACCEPTANCE_NOTE,
    draw_units,
    predicted_exponent,
    rate_accepts,
    rate_control,
    rate_tolerance,
    spread_indices,
    states_array,
)
from proofs_check.result import CheckResult, FigureData
from proofs_check.stats import fit_rate

NAME = "kernel_at_init"
TITLE = "kernel at init"
COST = 2.0
EQUATION = "kernel"
CLAIM = (
    "The empirical neural tangent kernel of the RNN at initialisation converges to the limit "
    "kernel A(x, x') at rate N^{-1/2}."
)
SPAWN_KEY = 102
BIAS_ALLOWANCE = 0.0  # E[e] = V/N exactly (i.i.d. units); see module docstring.


def kernel_spec(config) -> KernelSpec:
    """numerics.kernel.KernelSpec of a Config (float states, trainable groups)."""
    return KernelSpec(
        activation=config.network.activation,
        states=states_array(config),
        c_std=float(config.init.c_std),
        w_std=float(config.init.w_std),
        b_max=float(config.init.b_max),
        groups=tuple(g for g in ("c", "w", "b") if g in config.network.trainable),
    )


def control_group(config) -> str:
    """The kernel term the negative control drops: b if trainable, else w, else c."""
    groups = config.network.trainable
    return "b" if "b" in groups else ("w" if "w" in groups else "c")


def init_word_selection(config, budget, word_length: int) -> np.ndarray:
    """Indices of the budget's init_words words, spread over the m^L words."""
    return spread_indices(config.chain.m**word_length, budget.init_words)


def limit_kernel(context: CheckContext, word_length: int, select: np.ndarray | None = None
                 ) -> dict[str, np.ndarray]:
    """A by quadrature on all words (or the ``select``-ed ones, in that order), per group,
    with its error estimate (cached)."""
    config = context.config
    spec = kernel_spec(config)

    def compute() -> dict[str, np.ndarray]:
        result = kernel_on_words(spec, word_length, select=select)
        out = {"K": result.K, "error": np.array(result.error)}
        for group, part in result.by_group.items():
            out[f"K_{group}"] = part
        return out

    params = {"spec": {"activation": spec.activation, "states": spec.states, "c_std": spec.c_std,
                       "w_std": spec.w_std, "b_max": spec.b_max, "groups": spec.groups},
              "word_length": word_length, "select": select}
    return context.cache.get_or_compute("kernel", params, compute)


def empirical_kernel(config, c: np.ndarray, w: np.ndarray, b: np.ndarray,
                     inputs: np.ndarray) -> np.ndarray:
    """A^N on the given words: inputs (n_words, L, d) -> (n_words, n_words)."""
    memory = frozen_memory(w, b, config, inputs)
    S = memory.S[:, -1]  # (P, N)
    n_units = S.shape[1]
    groups = config.network.trainable
    K = np.zeros((S.shape[0], S.shape[0]))
    if "c" in groups:
        K += S @ S.T
    c2 = c * c
    if "w" in groups:
        Gw = memory.Gw[:, -1]  # (P, N, d)
        for j in range(Gw.shape[2]):
            K += (Gw[:, :, j] * c2) @ Gw[:, :, j].T
    if "b" in groups:
        Gb = memory.Gb[:, -1]
        K += (Gb * c2) @ Gb.T
    return K / n_units


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


def run(context: CheckContext) -> CheckResult:
    config = context.config
    budget = context.budget
    word_length = budget.word_length
    select = init_word_selection(config, budget, word_length)
    kernel = limit_kernel(context, word_length, select)
    predicted = predicted_exponent("kernel_at_init", config)  # -1/2, derivations.scaling
    context.progress(0.2)
    A = kernel["K"]
    dropped = control_group(config)
    A_wrong = A - kernel[f"K_{dropped}"]
    params = {"config": config, "ladder": budget.init_ladder, "replicas": budget.init_replicas,
              "word_length": word_length, "words": select, "seed": context.seed}
    errors = context.cache.get_or_compute(
        "kernel_init_errors", params,
        lambda: _squared_errors(context, word_length, {"claim": A, "control": A_wrong}))
    rng = np.random.default_rng(np.random.SeedSequence(context.seed, spawn_key=(SPAWN_KEY, 0)))
    fit = fit_rate(np.array(budget.init_ladder), errors["claim"], power=2, rng=rng)
    fit_control = fit_rate(np.array(budget.init_ladder), errors["control"], power=2)
    ok = rate_accepts(fit, predicted, BIAS_ALLOWANCE)
    control = rate_control(fit_control, f"kernel without the {dropped} term (A - A_{dropped})",
                           predicted, BIAS_ALLOWANCE)
    quad_error = float(kernel["error"])
    variance_floor = float(errors["claim"][-1].mean())  # ~ V / N_max
    figures = (
        FigureData(
            kind="rate",
            title="Empirical kernel at initialisation vs A",
            series={"N": fit.ns, "error": fit.values, "error_lo": fit.value_ci[:, 0],
                    "error_hi": fit.value_ci[:, 1], "control": fit_control.values},
            meta={"slope": fit.slope, "intercept": fit.intercept,
                  "predicted": predicted, "ylabel": "RMS over word pairs of A^N - A",
                  "control_label": f"vs A without {dropped} term"},
        ),
        FigureData(
            kind="heatmap",
            title=f"Limit kernel A on {A.shape[0]} words of length {word_length}",
            series={"K": kernel["K"]},
            meta={"label": "A(u, v)"},
        ),
    )
    return CheckResult(
        name=NAME,
        claim=CLAIM,
        equation=EQUATION,
        quantity="rate exponent of RMS(A^N - A) in N",
        prediction=predicted,
        measured=fit.slope,
        ci=fit.ci,
        tolerance=rate_tolerance(fit, BIAS_ALLOWANCE),
        tolerance_source=f"{ACCEPTANCE_NOTE} interval of the weighted log-log slope "
        "(regression standard error, "
        f"{budget.init_replicas} replicas per N); finite-N bias allowance 0 because "
        "E[e] = V/N exactly for i.i.d. units",
        verdict="pass" if ok else "fail",
        negative_control=control,
        figures=figures,
        formula=r"\frac{1}{N} \sum_i \big[S^i S'^i + (c^i)^2 (G^{w,i} \cdot G^{w,i\prime} "
        r"+ G^{b,i} G^{b,i\prime})\big] - A(x, x') = O(N^{-1/2})",
        details={"ladder": list(budget.init_ladder), "replicas": budget.init_replicas,
                 "word_length": word_length, "rms_error": fit.values,
                 "bootstrap_ci": fit.bootstrap_ci, "chi2_reduced": fit.chi2_reduced,
                 "quadrature_error": quad_error,
                 "quadrature_bias_ok": quad_error**2 < 1e-6 * variance_floor,
                 "control_slope": fit_control.slope, "control_ci": fit_control.ci},
    )
