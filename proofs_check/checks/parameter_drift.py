"""Check: parameter drift over the horizon (theory.md §6), two statistics, each its own claim:

* RMS over units of |theta^i_{floor(NT)} - theta^i_0| = O(N^{beta - 1});
* max over units of |theta^i_{floor(NT)} - theta^i_0| = O(N^{beta - 1} sqrt(2 log N)) when c is
  Gaussian and the w or b group trains (their increments carry the factor c^i, and the max of N
  Gaussians grows like sqrt(2 log N)), O(N^{beta - 1} log N) for a linear activation with b
  trained (its b increment is c^i times a Gaussian), O(N^{beta - 1}) otherwise
  (derivations.max_drift). The max is divided by its derived log factor before the fit, so
  both statistics have the predicted exponent beta - 1.

Each unit's increment is a sum of floor(N T) SGD steps of size eta_N N^{-beta} O(1) with
eta_N = alpha N^{2 beta - 2}. Allowances: (i) the O(1) factor is an ergodic time average of
(Y - f) S (resp. c G) along the training trajectory with relative error O(N^{-r}), r the overall
rate (f = g + O(N^{-r})); a relative correction b N^{-r}, |b| <= 1, moves the log-log slope by at
most r N^{-r} / (1 - N^{-r}) at the smallest N of the ladder. (ii) For the max only: the
normalisation sqrt(2 log N) is the leading order of the expected maximum m_N of N standard
half-normals (of N |X Y| for log N); the slope of log(m_N / factor) over the ladder (computed
from m_N by quadrature) is added. Each statistic gives a bound and a sharpness result
(proofs_check.rivals): rivals the rates 1/4 slower and faster and no convergence.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import integrate, special

from proofs_check.cache import Job
from proofs_check.checks import CheckContext
from proofs_check.checks._common import (
    drift_term_vanishes,
    predicted_exponent,
    replica_text,
    subleading_allowance,
    vanishing_details,
)
from proofs_check.checks._simulations import divergence, ladder_jobs, trained_ladder
from proofs_check.checks.streams import stream
from proofs_check.result import CheckResult
from proofs_check.rivals import ACCEPTANCE_NOTE, rate_base, rate_claims, rate_figure, rate_test
from proofs_check.stats import fit_rate

NAME = "parameter_drift"
TITLE = "parameter drift"
COST = 4.0
EQUATION = "learning_rate_exponent"
CLAIM = ("Over the horizon T the parameters move by O(N^{beta - 1}): the RMS over units of "
         "|theta^i_{floor(NT)} - theta^i_0| decays at least like N^{beta - 1}.")
SHARP_CLAIM = "The RMS parameter drift decays exactly like N^{beta - 1} (the bound is attained)."
MAX_CLAIM = ("The largest drift over units, max_i |theta^i_{floor(NT)} - theta^i_0|, is "
             "O(N^{beta - 1} sqrt(2 log N)) (Gaussian c; O(N^{beta - 1}) for bounded c; "
             "O(N^{beta - 1} log N) for a linear activation with b trained, the suite's "
             "derivation): after division by its log factor it decays at least like "
             "N^{beta - 1}.")
MAX_SHARP_CLAIM = ("The largest drift over units, divided by its log factor, decays exactly like "
                   "N^{beta - 1}.")


def unit_drifts(level: dict[str, np.ndarray]) -> np.ndarray:
    """|theta^i_T - theta^i_0| (Euclidean over c, w, b) per replica and unit, (R, N)."""
    dc = level["cT"] - level["c0"]
    dw = level["wT"] - level["w0"]
    db = level["bT"] - level["b0"]
    return np.sqrt(dc * dc + np.sum(dw * dw, axis=-1) + db * db)


LOG_FACTORS = {"bounded": "1 (bounded c)", "gaussian": "sqrt(2 log N)",
               "gaussian_product": "log N"}
LATEX_FACTORS = {"bounded": "", "gaussian": r"\sqrt{2 \log N}", "gaussian_product": r"\log N"}
MAXIMA = {"gaussian": "half-normals", "gaussian_product": "|X Y| (X, Y independent Gaussians)"}


def max_growth(config) -> str:
    """The growth of the max drift beyond N^(beta - 1) for ``config``
    (derivations.max_drift.max_drift_growth): "bounded", "gaussian" or "gaussian_product"."""
    from derivations.max_drift import max_drift_growth

    return max_drift_growth(config.network.activation, config.network.trainable,
                            float(config.init.c_std) > 0, float(config.init.w_std) > 0)


def max_factor(config, n_units: int) -> float:
    """The log factor of the max drift at N (derivations.max_drift.max_drift_scale /
    N^(beta-1)): 1, sqrt(2 log N) or log N."""
    from derivations import max_drift

    return float(max_drift.maximum_growth(max_growth(config)).subs(max_drift.N, n_units))


def _expected_maximum(tail, n_units: int, upper: float,
                      points: list[float] | None = None) -> float:
    """m_N = E max_{i <= N} V_i for i.i.d. V_i >= 0 with P(V > x) = ``tail(x)``:
    int_0^upper 1 - (1 - tail(x))^N dx, in the form -expm1(N log1p(-tail)) that keeps its
    accuracy where N tail(x) is small; ``upper`` where the integrand is below rounding."""
    def exceedance(x: float) -> float:
        p = tail(x)
        return 1.0 if p >= 1.0 else -math.expm1(n_units * math.log1p(-p))

    value, _ = integrate.quad(exceedance, 0.0, upper, limit=400, points=points)
    return float(value)


def expected_halfnormal_max(n_units: int) -> float:
    """m_N = E max_{i <= N} |Z_i|, Z_i standard Gaussian: P(|Z| > x) = erfc(x / sqrt 2)."""
    return _expected_maximum(lambda x: float(special.erfc(x / math.sqrt(2.0))), n_units, 40.0)


def _product_tail(x: float) -> float:
    """P(|X Y| > x), X, Y independent standard Gaussians: (2 / pi) int_x^inf K_0(s) ds (the
    density of derivations.max_drift.gaussian_product_maximum_growth), with the scaled
    k0e(s) = e^s K_0(s) so that the tail keeps its relative accuracy far out."""
    value, _ = integrate.quad(lambda u: special.k0e(x + u) * math.exp(-u), 0.0, math.inf,
                              limit=200)
    return float(2.0 / math.pi * math.exp(-x) * value) if x > 0 else 1.0


def expected_product_max(n_units: int) -> float:
    """m_N = E max_{i <= N} |X_i Y_i| (m_1 = 2 / pi); the tail e^{-x} is below 1e-26 / N
    beyond log N + 60."""
    return _expected_maximum(_product_tail, n_units, math.log(n_units) + 60.0,
                             [math.log(n_units)])


EXPECTED_MAX = {"gaussian": expected_halfnormal_max, "gaussian_product": expected_product_max}


def normalisation_allowance(config, ladder) -> float:
    """Allowance (ii): the largest |slope| of log(m_N / factor(N)) between rungs, m_N the exact
    expected maximum of N of the factor's variables (half-normals, or |products| of two)."""
    growth = max_growth(config)
    if growth == "bounded":
        return 0.0
    ns = np.asarray(ladder, dtype=float)
    ratio = np.log([EXPECTED_MAX[growth](int(n)) / max_factor(config, int(n)) for n in ns])
    return float(np.max(np.abs(np.diff(ratio) / np.diff(np.log(ns)))))


def jobs(context: CheckContext) -> list[Job]:
    """The jobs this check asks for that need no other result (submitted early)."""
    return ladder_jobs(context)


def run(context: CheckContext) -> tuple[CheckResult, ...]:
    config = context.config
    budget = context.budget
    levels = trained_ladder(context, 0.0, 0.95)
    drifts = [unit_drifts(level) for level in levels]
    ns = np.array(budget.n_ladder)
    replicas = [budget.replicas_at(n) for n in budget.n_ladder]
    # per level (R(N),): replica counts may differ between levels (Budget.replicas_at)
    mean_square = [np.mean(d * d, axis=1) for d in drifts]
    maxima = [np.max(d, axis=1) / max_factor(config, int(n))
              for d, n in zip(drifts, ns, strict=True)]
    predicted = predicted_exponent("parameter_drift", config)  # beta - 1
    rate = -predicted_exponent("overall", config)
    bias = subleading_allowance(rate, min(budget.n_ladder))
    bias_max = bias + normalisation_allowance(config, budget.n_ladder)
    rng = stream(context.seed, "parameter_drift")
    rms = rate_test(fit_rate(ns, mean_square, power=2, rng=rng), predicted, bias, replicas)
    top = rate_test(fit_rate(ns, maxima, power=1, rng=rng), predicted, bias_max, replicas)
    source = (f"{ACCEPTANCE_NOTE} interval of the weighted log-log slope over "
              f"{replica_text(budget)} replicas per N, widened by the allowance {{:.3g}}: "
              f"r N_min^-r / (1 - N_min^-r) = {bias:.3g} (a subleading term of relative order "
              "N^-r){}")
    details = {"ladder": list(budget.n_ladder), "replicas": replicas,
               "predicted_source": "derivations.scaling.error_exponents, max_drift_scale",
               **vanishing_details(drift_term_vanishes(config, "parameter_drift")),
               **divergence(levels, budget.n_ladder)}
    growth = max_growth(config)
    log_factor = LOG_FACTORS[growth]
    base_rms = rate_base(
        name=NAME, claim=CLAIM, equation=EQUATION,
        quantity="rate exponent of the RMS over units of |theta_T - theta_0|",
        tolerance_source=source.format(bias, ""),
        figures=(rate_figure(rms, "Parameter drift: RMS over units",
                             r"RMS over units of $|\theta_T - \theta_0|$"),),
        details=dict(details, rms_drift=rms.fit.values),
        formula=r"\Big(\frac1N \sum_i |\theta^i_{\lfloor NT \rfloor} - \theta^i_0|^2\Big)^{1/2}"
                r" = O(N^{\beta - 1})")
    base_max = rate_base(
        name=f"{NAME}_max", claim=MAX_CLAIM, equation=EQUATION,
        quantity=f"rate exponent of max_i |theta_T - theta_0| / {log_factor}",
        tolerance_source=source.format(
            bias_max, f", plus the slope of log(m_N / {log_factor}) over the ladder, m_N the "
            f"expected maximum of N {MAXIMA[growth]} ({bias_max - bias:.3g})"
            if growth != "bounded" else ""),
        figures=(rate_figure(top, "Parameter drift: max over units / " + log_factor,
                         r"$\max_i |\theta_T - \theta_0|$ / " + log_factor),),
        details=dict(details, max_drift_normalised=top.fit.values, log_factor=log_factor),
        formula=r"\max_i |\theta^i_{\lfloor NT \rfloor} - \theta^i_0| = "
                r"O\big(N^{\beta - 1}" + LATEX_FACTORS[growth] + r"\big)")
    return (*rate_claims(rms, base=base_rms, sharp_claim=SHARP_CLAIM),
            *rate_claims(top, base=base_max, sharp_claim=MAX_SHARP_CLAIM))
