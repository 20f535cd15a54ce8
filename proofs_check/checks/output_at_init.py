"""Check: the network output at initialisation is O(N^{1/2 - beta}) (MODEL.md §6), and exactly
0 with antisymmetric initialisation.

The frozen network (numerics.frozen.frozen_outputs) with N i.i.d. units from mu_0 reads every
word of length L from S_{-1} = 0; per replica e = mean over words of f_0(u)^2. The units are
i.i.d. with E[c] = 0, so E[e] = N^{1 - 2 beta} E[c^2 S^2] exactly: the RMS sqrt(mean_r e) has
log-log slope exactly 1/2 - beta, with zero finite-N bias allowance.
Negative control: the exponent off by 1/4 (1/2 - beta + 1/4), by the same test.
Antisymmetric initialisation: the claim is f_0 = 0, tested as max |f_0| <= 1e-12 (rounding);
the control is the unpaired network (same units without the mirrored copies), which the same
test must reject.
"""

from __future__ import annotations

import numpy as np

from numerics.frozen import frozen_outputs
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
from proofs_check.result import CheckResult, FigureData, NegativeControl
from proofs_check.stats import fit_rate

NAME = "output_at_init"
TITLE = "output at init"
COST = 1.0
EQUATION = "predicted_rate"
CLAIM = (
    "At initialisation the network output f^N_0 is of order N^{1/2 - beta} "
    "(identically 0 with antisymmetric initialisation)."
)
SPAWN_KEY = 103
BIAS_ALLOWANCE = 0.0  # E[e] = N^{1-2beta} E[c^2 S^2] exactly; see module docstring.
ZERO_TOLERANCE = 1e-12  # pair sums c S + (-c) S are exactly 0 in floating point; margin only.


def _units(context: CheckContext, n_units: int, replica: int, antisymmetric: bool):
    config = context.config
    rng = np.random.default_rng(
        np.random.SeedSequence(context.seed, spawn_key=(SPAWN_KEY, n_units, replica)))
    if not antisymmetric:
        return draw_units(rng, config, n_units)
    c, w, b = draw_units(rng, config, n_units // 2)
    return np.concatenate([c, -c]), np.concatenate([w, w]), np.concatenate([b, b])


def _outputs(context: CheckContext, antisymmetric: bool, paired: bool) -> np.ndarray:
    """Per (N, replica): mean over words of f_0^2 (or max |f_0| when antisymmetric)."""
    config = context.config
    budget = context.budget
    select = spread_indices(config.chain.m**budget.word_length, budget.init_words)
    inputs = states_array(config)[enumerate_words(config.chain.m, budget.word_length)[select]]
    beta = config.network.beta
    out = np.empty((len(budget.init_ladder), budget.init_replicas))
    for i, n_units in enumerate(budget.init_ladder):
        for r in range(budget.init_replicas):
            c, w, b = _units(context, n_units, r, antisymmetric)
            if antisymmetric and not paired:
                half = n_units // 2  # control: the first half only, no mirrored copies
                c, w, b = c[:half], w[:half], b[:half]
            f = frozen_outputs(c, w, b, config.network.activation, beta, inputs,
                               paired=paired)[:, -1]
            out[i, r] = float(np.max(np.abs(f))) if antisymmetric else float(np.mean(f * f))
        context.progress((i + 1) / len(budget.init_ladder))
    return out


def _run_antisymmetric(context: CheckContext) -> CheckResult:
    budget = context.budget
    params = {"config": context.config, "ladder": budget.init_ladder,
              "replicas": budget.init_replicas, "L": budget.word_length, "seed": context.seed}
    data = context.cache.get_or_compute(
        "output_init_antisym", params,
        lambda: {"paired": _outputs(context, True, True),
                 "unpaired": _outputs(context, True, False)})
    measured = float(data["paired"].max())
    measured_control = float(data["unpaired"].max())
    control_accepted = measured_control <= ZERO_TOLERANCE
    return CheckResult(
        name=NAME,
        claim=CLAIM,
        equation=EQUATION,
        quantity="max |f^N_0| over words, N and replicas",
        prediction=0.0,
        measured=measured,
        ci=None,
        tolerance=ZERO_TOLERANCE,
        tolerance_source="exact cancellation of mirrored pairs; 1e-12 is a rounding margin",
        verdict="pass" if measured <= ZERO_TOLERANCE else "fail",
        negative_control=NegativeControl(
            name="unpaired network (no mirrored copies) claimed to give f_0 = 0",
            prediction=0.0,
            measured=measured_control,
            verdict="accepted" if control_accepted else "rejected",
            reason=f"max |f_0| = {measured_control:.3g} vs tolerance {ZERO_TOLERANCE:g}",
        ),
        details={"ladder": list(budget.init_ladder), "replicas": budget.init_replicas},
    )


def run(context: CheckContext) -> CheckResult:
    config = context.config
    if config.network.antisymmetric:
        return _run_antisymmetric(context)
    budget = context.budget
    predicted = predicted_exponent("output_at_init", config)  # 1/2 - beta
    params = {"config": config, "ladder": budget.init_ladder, "replicas": budget.init_replicas,
              "L": budget.word_length, "seed": context.seed}
    data = context.cache.get_or_compute(
        "output_init", params, lambda: {"f2": _outputs(context, False, True)})
    rng = np.random.default_rng(np.random.SeedSequence(context.seed, spawn_key=(SPAWN_KEY, 0)))
    fit = fit_rate(np.array(budget.init_ladder), data["f2"], power=2, rng=rng)
    ok = rate_accepts(fit, predicted, BIAS_ALLOWANCE)
    control = rate_control(fit, "exponent off by 1/4 (3/4 - beta)", predicted + 0.25,
                           BIAS_ALLOWANCE)
    figure = FigureData(
        kind="rate",
        title="Output at initialisation",
        series={"N": fit.ns, "error": fit.values, "error_lo": fit.value_ci[:, 0],
                "error_hi": fit.value_ci[:, 1]},
        meta={"slope": fit.slope, "intercept": fit.intercept, "predicted": predicted,
              "ylabel": "RMS of f^N_0 over words"},
    )
    return CheckResult(
        name=NAME,
        claim=CLAIM,
        equation=EQUATION,
        quantity="rate exponent of RMS f^N_0 in N",
        prediction=predicted,
        measured=fit.slope,
        ci=fit.ci,
        tolerance=rate_tolerance(fit, BIAS_ALLOWANCE),
        tolerance_source=f"{ACCEPTANCE_NOTE} interval of the weighted log-log slope "
        "(regression standard error, "
        f"{budget.init_replicas} replicas per N); bias allowance 0 since "
        "E[f_0^2] = N^{1-2beta} E[c^2 S^2] exactly",
        verdict="pass" if ok else "fail",
        negative_control=control,
        figures=(figure,),
        formula=r"f^N_0 = N^{-\beta} \sum_i c^i S^i = O(N^{1/2 - \beta})",
        details={"ladder": list(budget.init_ladder), "replicas": budget.init_replicas,
                 "rms": fit.values, "bootstrap_ci": fit.bootstrap_ci,
                 "chi2_reduced": fit.chi2_reduced},
    )
