"""Confidence intervals for the checks: the log-log rate fit and its replica bootstrap.

All intervals are two-sided 95% unless stated. The rate fit is the one statistic every rate
check uses (theory.md §6): at each N of a ladder, R independent replicas give i.i.d. samples of a
nonnegative error e; the level value is mean_r(e) (or sqrt(mean_r(e^2)) for RMS errors), the
log of the level value is regressed on log N by weighted least squares with the delta-method
variances var(log mean) ~ var_r(e) / (R mean^2), and the slope's standard error comes from the
regression (inflated by the reduced chi-square when the points scatter more than their error
bars say). A replica bootstrap of the same slope is reported beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as _stats

CONFIDENCE = 0.95
CI_LABEL = f"{CONFIDENCE:.0%} CI"  # how every output names an interval of level CONFIDENCE


@dataclass(frozen=True)
class RateFit:
    """Fit of log(level value) = intercept + slope * log N over a ladder of N.

    ``values[j]`` is the level value at ``ns[j]`` and ``value_ci[j]`` its 95% interval; the
    slope's interval ``ci`` uses the t quantile with ``dof`` degrees of freedom;
    ``log_variance[j]`` is the delta-method variance of log values[j] (the WLS weight is its
    inverse).
    """

    ns: np.ndarray
    values: np.ndarray
    value_ci: np.ndarray
    slope: float
    intercept: float
    se: float
    ci: tuple[float, float]
    dof: int
    chi2_reduced: float
    bootstrap_ci: tuple[float, float] | None
    log_variance: np.ndarray

    @property
    def identically_zero(self) -> bool:
        """Every sample at every N is exactly 0 (:func:`fit_rate`: slope -inf, no interval)."""
        return bool(np.all(self.values == 0.0))

    def interval(self, confidence: float) -> tuple[float, float]:
        """The slope's interval at another confidence level (same se and dof)."""
        half = float(_stats.t.ppf(0.5 + confidence / 2, self.dof)) * self.se
        return (self.slope - half, self.slope + half)

    def slope_sensitivity(self, log_bounds: np.ndarray) -> float:
        """Largest change of the fitted slope when each log value moves by at most
        ``log_bounds[j]`` (>= 0, may be inf), the WLS weights held fixed.

        The WLS slope is linear in the logs, slope = sum_j a_j log values[j] with
        a_j = w_j (x_j - xbar_w) / sum_k w_k (x_k - xbar_w)^2, x = log N, w = 1/log_variance,
        xbar_w the weighted mean of x; so the change is at most sum_j |a_j| log_bounds[j]
        (0 * inf counts as 0: a level without weight cannot move the slope).
        """
        x = np.log(self.ns)
        w = 1.0 / np.maximum(self.log_variance, 1e-300)
        centred = x - (w * x).sum() / w.sum()
        a = np.abs(w * centred / (w * centred**2).sum())
        weighted = a > 0
        return float(np.sum(a[weighted] * np.asarray(log_bounds, dtype=float)[weighted]))


def _level_stats(samples: list[np.ndarray], power: int) -> tuple[np.ndarray, np.ndarray]:
    """Level values mean(e)^(1/power) and the delta-method variance of their logs; each level's
    variance from its own replicas (levels may hold different replica counts)."""
    means = np.array([s.mean() for s in samples])
    var_mean = np.array([s.var(ddof=1) / s.size for s in samples])
    var_log = var_mean / np.maximum(means, 1e-300) ** 2 / power**2
    return means ** (1.0 / power), var_log


def _wls(x: np.ndarray, y: np.ndarray, var: np.ndarray) -> tuple[float, float, float, float]:
    """Weighted least squares y = a + s x; returns (s, a, se(s) unscaled, chi2)."""
    w = 1.0 / np.maximum(var, 1e-300)
    sw, swx, swy = w.sum(), (w * x).sum(), (w * y).sum()
    swxx, swxy = (w * x * x).sum(), (w * x * y).sum()
    det = sw * swxx - swx**2
    slope = (sw * swxy - swx * swy) / det
    intercept = (swxx * swy - swx * swxy) / det
    se = np.sqrt(sw / det)
    chi2 = float((w * (y - intercept - slope * x) ** 2).sum())
    return float(slope), float(intercept), float(se), chi2


def fit_rate(
    ns: np.ndarray,
    samples: np.ndarray | Sequence[np.ndarray],
    *,
    power: int = 1,
    rng: np.random.Generator | None = None,
    n_boot: int = 400,
    confidence: float = CONFIDENCE,
) -> RateFit:
    """Log-log rate fit over a ladder (see module docstring).

    ``samples`` shape (levels, R), or a sequence of (R_j,) arrays (R_j replicas at level j),
    holds e (power=1) or e^2 (power=2, RMS errors: the level value
    is sqrt(mean e^2), whose expectation-square is an exact power law when Var ~ N^p).
    The slope's interval is slope +- t_{R_min-1} * se * max(1, sqrt(chi2/(levels - 2))) (the
    Birge-ratio inflation when the levels scatter beyond their error bars); with rng given, a
    replica bootstrap interval is added.
    Every sample exactly 0 (a quantity that vanishes identically, e.g. f_0 when w_std = 0 and
    sigma(0) = 0 make every memory state 0): the fit is degenerate, slope -inf with zero width
    (log 0; RateFit.identically_zero), for the rivals to say so (proofs_check.rivals). A level
    of zeros among positive ones leaves the logs non-finite (slope nan): no power law fits.
    """
    ns = np.asarray(ns, dtype=float)
    samples = [np.asarray(s, dtype=float).ravel() for s in samples]
    counts = np.array([s.size for s in samples])
    if len(samples) != ns.size or ns.size < 2 or counts.min() < 2:
        raise ValueError("need samples of shape (levels >= 2, replicas >= 2)")
    x = np.log(ns)
    with np.errstate(divide="ignore", invalid="ignore"):  # a level of zeros: var_log nan
        values, var_log = _level_stats(samples, power)
    if np.all(values == 0.0):
        zeros = np.zeros(ns.size)
        return RateFit(ns=ns, values=zeros, value_ci=np.zeros((ns.size, 2)), slope=-np.inf,
                       intercept=-np.inf, se=0.0, ci=(-np.inf, -np.inf),
                       dof=max(int(counts.min()) - 1, 1), chi2_reduced=0.0, bootstrap_ci=None,
                       log_variance=zeros)
    with np.errstate(divide="ignore", invalid="ignore"):  # zeros or inf: a non-finite slope
        return _fit_positive(ns, x, samples, counts, values, var_log, power, rng, n_boot,
                             confidence)


def _fit_positive(ns: np.ndarray, x: np.ndarray, samples: list[np.ndarray],
                  counts: np.ndarray, values: np.ndarray, var_log: np.ndarray, power: int,
                  rng: np.random.Generator | None, n_boot: int, confidence: float) -> RateFit:
    """:func:`fit_rate` on level values not all 0."""
    y = np.log(values)
    slope, intercept, se, chi2 = _wls(x, y, var_log)
    dof = max(ns.size - 2, 1)
    chi2_red = chi2 / dof if ns.size > 2 else 1.0
    # Scatter beyond the error bars (chi2/dof > 1) inflates the standard error (Birge ratio);
    # the t quantile uses R - 1 degrees of freedom, as the variances come from R replicas
    # (with unequal counts, the smallest R: the conservative choice).
    se_eff = se * max(1.0, np.sqrt(chi2_red))
    dof_t = max(int(counts.min()) - 1, 1)
    half = float(_stats.t.ppf(0.5 + confidence / 2, dof_t)) * se_eff
    z = float(_stats.norm.ppf(0.5 + confidence / 2))
    spread = np.exp(z * np.sqrt(var_log))
    value_ci = np.stack([values / spread, values * spread], axis=1)
    boot = None
    if rng is not None:
        slopes = np.empty(n_boot)
        for i in range(n_boot):
            resampled = [s[rng.integers(0, s.size, size=s.size)] for s in samples]
            v, vl = _level_stats(resampled, power)
            slopes[i] = _wls(x, np.log(v), vl)[0]
        tail = (1 - confidence) / 2
        boot = (float(np.quantile(slopes, tail)), float(np.quantile(slopes, 1 - tail)))
    return RateFit(
        ns=ns,
        values=values,
        value_ci=value_ci,
        slope=slope,
        intercept=intercept,
        se=float(se_eff),
        ci=(slope - half, slope + half),
        dof=dof_t,
        chi2_reduced=float(chi2_red),
        bootstrap_ci=boot,
        log_variance=var_log,
    )
