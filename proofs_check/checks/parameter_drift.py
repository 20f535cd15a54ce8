"""Check: parameter drift over the horizon, max_i |theta^i_{floor(NT)} - theta^i_0| = O(N^{beta-1})
(MODEL.md §6).

Each unit's increment is a sum of floor(N T) SGD steps of size eta_N N^{-beta} O(1) with
eta_N = alpha N^{2 beta - 2}, so every |Delta theta^i| is N^{beta - 1} times an O(1) factor that
depends on theta^i_0. The rate test uses the per-replica mean over units of |Delta theta^i|^2
(RMS drift), whose log-log slope is beta - 1 up to the relative corrections of that factor; the
max over units (the claim's form) carries an extra extreme-value factor ~ sqrt(log N) from the
Gaussian c^i in the w and b updates, so its slope is reported in the details, not tested.
Bias allowance: the O(1) factor is an ergodic time average of (Y - f) S (resp. c G) along the
training trajectory and converges with relative error O(N^{-r}), r the overall rate of MODEL.md §6
(f = g + O(N^{-r})); a relative correction b N^{-r} with |b| <= 1 moves the log-log slope by at
most r N^{-r} / (1 - N^{-r}) at the smallest N of the ladder; that is the allowance.
Negative control: the learning-rate exponent off by 1/4 (eta_N ~ N^{2 beta - 2 + 1/4}), i.e.
the predicted drift exponent beta - 1 + 1/4, by the same test.
"""

from __future__ import annotations

import numpy as np

from proofs_check.checks import CheckContext
from proofs_check.checks._common import (
    ACCEPTANCE_NOTE,
    predicted_exponent,
    rate_accepts,
    rate_control,
    rate_tolerance,
    replica_text,
    subleading_allowance,
)
from proofs_check.checks._simulations import trained_ladder
from proofs_check.result import CheckResult, FigureData
from proofs_check.stats import fit_rate

NAME = "parameter_drift"
TITLE = "parameter drift"
COST = 4.0
EQUATION = "learning_rate_exponent"
CLAIM = (
    "Over the horizon T every unit's parameters move by O(N^{beta - 1}): "
    "max_i |theta^i_{floor(NT)} - theta^i_0| -> 0 at that rate."
)


def unit_drifts(level: dict[str, np.ndarray]) -> np.ndarray:
    """|theta^i_T - theta^i_0| (Euclidean over c, w, b) per replica and unit, (R, N)."""
    dc = level["cT"] - level["c0"]
    dw = level["wT"] - level["w0"]
    db = level["bT"] - level["b0"]
    return np.sqrt(dc * dc + np.sum(dw * dw, axis=-1) + db * db)


def run(context: CheckContext) -> CheckResult:
    config = context.config
    budget = context.budget
    levels = trained_ladder(context, 0.0, 0.95)
    drifts = [unit_drifts(level) for level in levels]
    # per level (R(N),): replica counts may differ between levels (Budget.replicas_at)
    mean_square = [np.mean(d * d, axis=1) for d in drifts]
    maxima = [np.max(d, axis=1) for d in drifts]
    ns = np.array(budget.n_ladder)
    predicted = predicted_exponent("parameter_drift", config)  # beta - 1
    rate = -predicted_exponent("overall", config)
    bias = subleading_allowance(rate, min(budget.n_ladder))
    rng = np.random.default_rng(np.random.SeedSequence(context.seed, spawn_key=(201,)))
    fit = fit_rate(ns, mean_square, power=2, rng=rng)
    fit_max = fit_rate(ns, maxima, power=1)
    ok = rate_accepts(fit, predicted, bias)
    control = rate_control(fit, "learning-rate exponent off by 1/4 (drift exponent beta - 3/4)",
                           predicted + 0.25, bias)
    figure = FigureData(
        kind="rate",
        title="Parameter drift over [0, T]",
        series={"N": fit.ns, "error": fit.values, "error_lo": fit.value_ci[:, 0],
                "error_hi": fit.value_ci[:, 1], "control": fit_max.values},
        meta={"slope": fit.slope, "intercept": fit.intercept, "predicted": predicted,
              "ylabel": "RMS over units of |theta_T - theta_0|",
              "control_label": "max over units (not tested)"},
    )
    return CheckResult(
        name=NAME,
        claim=CLAIM,
        equation=EQUATION,
        quantity="rate exponent of the RMS unit drift |theta_T - theta_0| in N",
        prediction=predicted,
        measured=fit.slope,
        ci=fit.ci,
        tolerance=rate_tolerance(fit, bias),
        tolerance_source=f"{ACCEPTANCE_NOTE} interval of the weighted log-log slope over "
        f"{replica_text(budget)} replicas per N, widened by the subleading-order allowance "
        f"{bias:.3g} = r N_min^-r / (1 - N_min^-r) (the slope change a subleading term of "
        "relative order N^-r can cause)",
        verdict="pass" if ok else "fail",
        negative_control=control,
        figures=(figure,),
        details={"ladder": list(budget.n_ladder),
                 "replicas": [budget.replicas_at(n) for n in budget.n_ladder],
                 "rms_drift": fit.values, "bootstrap_ci": fit.bootstrap_ci,
                 "chi2_reduced": fit.chi2_reduced, "bias_allowance": bias,
                 "max_drift": fit_max.values, "max_drift_slope": fit_max.slope,
                 "max_drift_ci": fit_max.ci},
        formula=r"\max_i |\theta^i_{\lfloor NT \rfloor} - \theta^i_0| = O(N^{\beta - 1})",
    )
