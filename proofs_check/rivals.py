"""Rivals: the competing theories a check must tell apart from its claim, and the tests that
reject them on the claim's own data.

Rate claims (theory.md §6: every rate is an upper bound). A rate check fits the log-log slope s
of its error over the N ladder; the **acceptance window** is the slope's 99.5% interval
(0.5% per test: a correct theory fails one given test with probability <= 0.5%; the report
makes about 20 such tests, so no family-wise level is claimed) widened on both sides by the
check's stated finite-N allowance. From one fit, two claims (:func:`rate_claims`):

* the **bound** "error = O(N^a)": accepted unless the window lies wholly above a (the error
  decays significantly slower than N^a). Rivals: the rate 1/4 slower (exponent a + 1/4) and no
  convergence (a positive error floor: the slope tends to 0), each rejected when it lies above
  the window;
* its **sharpness** "the exponent is a": accepted when a lies in the window. Rivals: the rate
  1/4 faster (a - 1/4) and 1/4 slower (a + 1/4), each rejected when outside the window, and
  no convergence (rejected when above it). Where the leading coefficient of the predicted
  term vanishes for a configuration the error decays faster: the bound holds while sharpness
  fails, and the result says so. An error exactly 0 at every N (proofs_check.stats.fit_rate:
  slope -inf) is the extreme case: the bound holds, every exponent rival (C N^a' with C > 0)
  is rejected, sharpness fails;
* no convergence is a rival of both claims whenever it is not the slower rival itself
  (:func:`floor_is_a_rival`: a < 0, a != -1/4). For -1/4 < a < 0 (e.g. the main theorem at
  beta = 0.65, a = -0.15) it is the nearest slower rival: the slower one, a + 1/4 > 0, is a
  growing error.

Limit claims ("f^N converges to g") add rivals "f^N converges to h" for other functions h
(:func:`limit_rival`): a paired test on the same samples at the largest N.

A rival that is not rejected makes the check *inconclusive*, and :attr:`Rival.needs` says what
budget would reject it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from scipy import stats as _stats

from proofs_check.result import CheckResult, FigureData, LadderRow, Rival
from proofs_check.stats import RateFit

RIVAL_SHIFT = 0.25  # rival exponents 1/4 above and below the prediction (theory.md §6)
ACCEPTANCE_CONFIDENCE = 0.995
ACCEPTANCE_NOTE = "99.5% (0.5% per test)"


@dataclass(frozen=True)
class RateTest:
    """A rate fit judged against a predicted exponent: the acceptance ``window`` (the slope's
    99.5% interval widened by ``allowance``) and ``half_width`` (of the interval alone).
    ``refinable``: the computed reference whose own error is part of the allowance ("a more
    accurate limit"), named in what an unrejected rival needs; "" when no part is (the
    allowance is then the finite-N terms alone, which no more accurate computation shrinks)."""

    fit: RateFit
    predicted: float
    allowance: float
    replicas: tuple[int, ...]
    refinable: str = ""

    @property
    def half_width(self) -> float:
        lo, hi = self.fit.interval(ACCEPTANCE_CONFIDENCE)
        return 0.5 * (hi - lo)

    @property
    def window(self) -> tuple[float, float]:
        lo, hi = self.fit.interval(ACCEPTANCE_CONFIDENCE)
        return (lo - self.allowance, hi + self.allowance)

    @property
    def resolution(self) -> float:
        """The smallest deviation from the prediction that this budget rejects on both sides:
        every exponent farther than this from ``predicted`` lies outside the window."""
        if self.fit.identically_zero:  # every exponent lies outside the empty window
            return 0.0
        lo, hi = self.window
        return max(hi - self.predicted, self.predicted - lo, 0.0)

    def ladder(self) -> tuple[LadderRow, ...]:
        fit = self.fit
        return tuple(LadderRow(int(n), int(r), float(v), float(ci[0]), float(ci[1]))
                     for n, r, v, ci in zip(fit.ns, self.replicas, fit.values, fit.value_ci,
                                            strict=True))


def rate_test(fit: RateFit, predicted: float, allowance: float,
              replicas: Sequence[int], refinable: str = "") -> RateTest:
    return RateTest(fit, float(predicted), float(allowance), tuple(int(r) for r in replicas),
                    refinable)


def _needs(test: RateTest, exponent: float) -> str:
    """What would reject ``exponent`` if the slope stays where it is: more replicas (the
    interval shrinks like 1/sqrt(R)) unless the allowance alone already covers the gap. A
    phrase that reads after "Would be rejected with" and after "would need" (render)."""
    gap = abs(exponent - test.fit.slope)
    room = gap - test.allowance
    if math.isinf(test.allowance):  # checks._limit.floor_allowance: delta >= an error E_j
        return ("a more accurate limit: no replica count would, as the acceptance window is "
                "unbounded (its allowance has no finite bound: the computed limit's, or limit "
                "kernel's, own error estimate reaches the error measured at some N)")
    if room <= 0 or not math.isfinite(gap):
        remedy = f" or {test.refinable}" if test.refinable else ""
        return (f"a ladder starting at larger N (smaller allowance){remedy}: "
                f"no replica count would, as the finite-N allowance {test.allowance:.3g} "
                f"already spans the gap {gap:.3g} between the fitted slope and this exponent")
    if room * 1e3 < test.half_width:  # over a million times the replicas: not feasible
        return (f"more replicas than is feasible (over a million times as many per N): the "
                f"fitted slope {test.fit.slope:.3g} is within {gap:.2g} of this exponent")
    factor = (test.half_width / room) ** 2
    counts = sorted(set(test.replicas))
    wanted = ", ".join(str(int(math.ceil(r * factor))) for r in counts)
    return (f"about {factor:.1f}x the replicas per N ({wanted} instead of "
            f"{', '.join(map(str, counts))}), if the slope stays at {test.fit.slope:.3g}")


def exponent_rival(test: RateTest, exponent: float, name: str, *, above_only: bool = False
                   ) -> Rival:
    """The rival "the slope is ``exponent``", rejected when the exponent lies outside the
    acceptance window (``above_only``: only when above it, for rivals of a bound)."""
    lo, hi = test.window
    if test.fit.identically_zero:
        return Rival(name, exponent, None, True, _zero_reason(test, exponent))
    if not math.isfinite(test.fit.slope):
        return Rival(name, exponent, None, True,
                     "the level values are not all finite and positive (a diverged network, "
                     "or an error exactly 0 at some N only): no power law fits")
    if above_only and exponent < lo:  # the data decay slower still: only when the claim fails
        return Rival(name, exponent, test.fit.slope, False,
                     f"exponent {exponent:.4g} is below the acceptance window [{lo:.4g}, "
                     f"{hi:.4g}] of the fitted slope {test.fit.slope:.4g}: the error decays no "
                     "faster than this rival says, so the data do not reject it")
    rejected = exponent > hi or (not above_only and exponent < lo)
    where = "outside" if rejected else "inside"
    reason = (f"exponent {exponent:.4g} is {where} the acceptance window [{lo:.4g}, {hi:.4g}] "
              f"of the fitted slope {test.fit.slope:.4g}")
    return Rival(name, exponent, test.fit.slope, rejected, reason,
                 "" if rejected else _needs(test, exponent))


def _zero_reason(test: RateTest, exponent: float) -> str:
    """Why an error that is exactly 0 at every N rejects the exponent: C N^exponent with
    C > 0 is positive at every N (the bound's own claim, C >= 0, holds trivially)."""
    counts = ", ".join(str(r) for r in sorted(set(test.replicas)))
    return (f"the measured error is exactly 0 at every N ({counts} replicas per N): no power "
            f"law C N^{exponent:.4g} with C > 0 gives that")


def slower_rival(test: RateTest) -> Rival:
    a = test.predicted + RIVAL_SHIFT
    return exponent_rival(test, a, f"rate 1/4 slower (exponent {a:.4g})", above_only=True)


def faster_rival(test: RateTest) -> Rival:
    a = test.predicted - RIVAL_SHIFT
    return exponent_rival(test, a, f"rate 1/4 faster (exponent {a:.4g})")


def no_convergence_rival(test: RateTest, name: str = "no convergence (an error floor: slope 0)"
                         ) -> Rival:
    return exponent_rival(test, 0.0, name, above_only=True)


def floor_is_a_rival(predicted: float) -> bool:
    """Whether "no convergence" (slope 0) is a rival of its own beside the rate 1/4 slower
    (module docstring): whenever the error is predicted to decay and the slower rival is not
    slope 0 itself. For -1/4 < a < 0 the slower rival a + 1/4 is a growing error, farther
    from the prediction than the floor: slope 0 is then the *nearest* slower rival, and a
    window that holds it cannot tell convergence from none."""
    return predicted < 0 and predicted + RIVAL_SHIFT != 0


def rate_base(*, name: str, claim: str, equation: str, quantity: str, tolerance_source: str,
              figures: tuple[FigureData, ...] = (), formula: str = "",
              details: dict[str, Any] | None = None) -> CheckResult:
    """What a rate check states before its fit (theory.md §6): its name, bound claim, equation,
    quantity, tolerance source, figures, formula and details. :func:`rate_claims` completes it
    into the bound and sharpness results (prediction, slope, window, verdicts, rivals): the two
    are the one builder of every rate check's results."""
    return CheckResult(name=name, claim=claim, equation=equation, quantity=quantity,
                       prediction=None, measured=None, ci=None, tolerance=None,
                       tolerance_source=tolerance_source, accepted=False, figures=figures,
                       formula=formula, details=dict(details or {}))


def rate_claims(test: RateTest, *, base: CheckResult, sharp_claim: str,
                bound_rivals: Sequence[Rival] = (),
                floor_name: str = "no convergence (an error floor: slope 0)"
                ) -> tuple[CheckResult, CheckResult]:
    """The bound and the sharpness results of one rate fit (module docstring). ``base`` holds
    the name, bound claim, quantity, equation, formula, tolerance source, figures and details;
    the sharpness result is named ``<name>_sharpness``. ``bound_rivals`` are added to the
    bound's exponent rivals (e.g. limits the network might converge to instead);
    ``floor_name`` names the slope-0 rival (included when it differs from the slower one).
    Each claim draws its own rivals and their verdicts (:func:`claim_figures`): the bound on
    all of ``base.figures``, the sharpness on its rate figures."""
    a = test.predicted
    lo, hi = test.window
    floor = [no_convergence_rival(test, floor_name)] if floor_is_a_rival(a) else []
    rivals = [slower_rival(test), *floor]
    common: dict[str, Any] = {
        "prediction": a, "measured": test.fit.slope, "ci": test.fit.ci,
        "tolerance": 0.5 * (hi - lo), "window": (lo, hi), "resolution": test.resolution,
        "ladder": test.ladder(),
    }
    details = dict(base.details, allowance=test.allowance, chi2_reduced=test.fit.chi2_reduced,
                   bootstrap_ci=test.fit.bootstrap_ci)
    bound = replace(base, **common, accepted=bool(lo <= a), rivals=(*rivals, *bound_rivals),
                    details=details, figures=claim_figures(base.figures, rivals, bound_rivals))
    sharp_ok = bool(lo <= a <= hi)
    note = details.get("note", "")
    derived = details.get("leading_term_vanishes", "")  # checks._common.vanishing_details
    if test.fit.identically_zero:
        note = ("the error is exactly 0 at every N: the bound holds trivially and is not "
                "attained; the predicted term's coefficient vanishes for this configuration. "
                + note)
    elif bound.accepted and not sharp_ok and test.fit.slope < a:
        note = ("the bound holds but the error decays faster than predicted: the leading "
                + (f"coefficient of the predicted term vanishes on this configuration (derived: "
                   f"{derived}), so the bound is not attained. " if derived else
                   "coefficient of the predicted term may vanish for this configuration. ")
                + note)
    elif derived:  # the data do not show it (yet): the derived fact is stated all the same
        note = (f"the leading coefficient of the predicted term vanishes on this configuration "
                f"(derived: {derived}), so the bound is not expected to be attained. " + note)
    sharp_rivals = (faster_rival(test), slower_rival(test), *floor)
    sharp = replace(base, **common, name=f"{base.name}_sharpness", claim=sharp_claim,
                    accepted=sharp_ok, rivals=sharp_rivals,
                    details=dict(details, note=note.strip()),
                    figures=claim_figures(base.figures, sharp_rivals, others=False))
    return bound, sharp


def limit_rival(name: str, claim_errors: np.ndarray, rival_errors: np.ndarray,
                distance: float, delta: float) -> Rival:
    """Rival "f^N converges to h" for a function h != g, tested on the claim's samples at the
    largest N: per replica r, e_g[r] and e_h[r] are the mean squared errors of f^N against g and
    against h over the same points, and T = mean_r (e_h - e_g).

    If f^N converged to h with an error E_h like the claim's own (taken as the upper 99.5%
    bound E of sqrt(mean e_g)), Minkowski on the same points gives E_g >= D - E_h, D the RMS
    distance between g and h there, hence T <= tau = 2 D E - D^2 (D >= E), or E^2 (D < E).
    The rival is rejected when the lower 99.5% bound of T exceeds tau, and only when D exceeds
    twice the limit's own error delta (else g and h are not distinguishable at this accuracy;
    at D = 0 exactly, as for a zero target, at no accuracy).
    """
    e_g = np.asarray(claim_errors, dtype=float)
    t = np.asarray(rival_errors, dtype=float) - e_g
    n = t.size
    if n < 2 or not np.all(np.isfinite(t)):
        return Rival(name, None, None, False, "not enough finite samples to test this rival",
                     "more replicas at the largest N")
    q = float(_stats.t.ppf(0.5 + ACCEPTANCE_CONFIDENCE / 2, n - 1))
    mean_t = float(t.mean())
    t_lo = mean_t - q * float(t.std(ddof=1)) / math.sqrt(n)
    e_up = math.sqrt(max(float(e_g.mean()) + q * float(e_g.std(ddof=1)) / math.sqrt(n), 0.0))
    tau = 2.0 * distance * e_up - distance**2 if distance >= e_up else e_up**2
    if distance == 0.0:  # h = g on every point (a zero target: every limit is 0)
        return Rival(name, tau, mean_t, False,
                     "h equals g at every point compared (distance 0): the same limit",
                     "another configuration: here h equals g exactly, so no budget (nor a "
                     "more accurate limit) can tell the claim from h")
    if distance <= 2.0 * delta:
        return Rival(name, tau, mean_t, False,
                     f"h is within {distance:.3g} of g, not more than twice the limit's own "
                     f"error {delta:.3g}: indistinguishable at this accuracy",
                     "a more accurate limit (longer words, finer quadrature)")
    rejected = t_lo > tau
    reason = (f"mean (f-h)^2 - (f-g)^2 at the largest N is {mean_t:.3g} (99.5% lower bound "
              f"{t_lo:.3g}); converging to h would make it at most {tau:.3g} (distance "
              f"g-h {distance:.3g}, network error at most {e_up:.3g})")
    needs = "" if rejected else (
        "a larger N: the network must get closer to g than the distance g-h "
        f"({distance:.3g}); its error there is up to {e_up:.3g}")
    return Rival(name, tau, mean_t, bool(rejected), reason, needs)


def rate_figure(test: RateTest, title: str, ylabel: str,
                rival_fits: dict[str, RateTest] | None = None) -> FigureData:
    """The figure of a rate fit: the per-N values with their 95% intervals, the fitted slope,
    the acceptance window (a wedge of slopes) and the prediction; for rivals tested on fits of
    their own (:func:`fit_rival`), their per-N values. The exponent rivals and every verdict
    are the claim's: :func:`claim_figures` adds them (a bound and its sharpness draw the same
    fit with different rivals)."""
    fit = test.fit
    series = {"N": fit.ns, "error": fit.values, "error_lo": fit.value_ci[:, 0],
              "error_hi": fit.value_ci[:, 1]}
    for name, other in (rival_fits or {}).items():
        series[f"rival: {name}"] = other.fit.values
    return FigureData("rate", title, series,
                      {"slope": fit.slope, "intercept": fit.intercept,
                       "predicted": test.predicted, "window": test.window, "rivals": {},
                       "ylabel": ylabel})


def claim_figures(figures: Sequence[FigureData], slope_rivals: Sequence[Rival],
                  fitted_rivals: Sequence[Rival] = (), *, others: bool = True,
                  interval: tuple[float, float] | None = None) -> tuple[FigureData, ...]:
    """The figures of one claim: each rate figure (:func:`rate_figure`) draws exactly this
    claim's rivals, each labelled with its verdict, as the report's table lists them: the
    ``slope_rivals`` (exponent rivals, a line at the slope each predicts) and the
    ``fitted_rivals`` whose per-N values the figure holds (:func:`fit_rival`; another claim's
    fitted values are dropped). ``interval`` draws a predicted range of slopes in place of the
    predicted slope (lazy_training's sharpness). The other figures are kept when ``others``."""
    out = []
    for fig in figures:
        if fig.kind != "rate":
            out.extend([fig] if others else [])
            continue
        series = {k: v for k, v in fig.series.items() if not k.startswith("rival: ")}
        for rival in fitted_rivals:
            if f"rival: {rival.name}" in fig.series:
                series[f"rival: {rival.name}: {rival.verdict}"] = fig.series[f"rival: {rival.name}"]
        meta = dict(fig.meta, rivals={f"rival: {r.name}: {r.verdict}": float(r.prediction)
                                      for r in slope_rivals if r.prediction is not None})
        if interval is not None:
            meta.pop("predicted", None)
            meta["predicted_interval"] = interval
        out.append(replace(fig, series=series, meta=meta))
    return tuple(out)


def limit_rivals_figure(title: str, rivals: Sequence[Rival]) -> FigureData:
    """The limit rivals' decisions: per rival the measured mean (f-h)^2 - (f-g)^2 and the most
    that convergence to h would allow (its prediction); rejected when the first is above."""
    shown = [r for r in rivals if r.prediction is not None and r.measured is not None]
    return FigureData(
        "rivals", title,
        {"measured": np.array([r.measured for r in shown], dtype=float),
         "allowed": np.array([r.prediction for r in shown], dtype=float)},
        {"labels": [f"{r.name.replace('f^N converges to the limit of ', '')} ({r.verdict})"
                    for r in shown],
         "ylabel": r"mean $(f-h)^2 - (f-g)^2$ at the largest $N$"})


# What a deterministic comparison's unrejected rival needs: no budget changes a computation
# without sampling, only a configuration on which the rival's values differ.
DETERMINISTIC_NEEDS = ("another configuration: this comparison is deterministic (no budget "
                       "changes it), and on this one the rival stays within the tolerance")


def fit_rival(name: str, test: RateTest) -> Rival:
    """Rival "the quantity converges to h instead", tested like the claim's bound on its own
    distance: if it converged to h, the distance to h would decay at least like N^a, so the
    rival is rejected when that distance's acceptance window lies wholly above a."""
    lo, hi = test.window
    if test.fit.identically_zero:  # the distance to h vanishes: the quantity is h
        return Rival(name, test.predicted, None, False,
                     "the distance to h is exactly 0 at every N: the quantity equals h",
                     "another configuration: here the quantity equals h exactly, so no "
                     "budget can tell the claim from h")
    rejected = bool(lo > test.predicted) or not math.isfinite(test.fit.slope)
    where = "above" if rejected else "not above"
    return Rival(name, test.predicted, test.fit.slope, rejected,
                 f"the distance to h has slope {test.fit.slope:.4g}, window [{lo:.4g}, {hi:.4g}], "
                 f"{where} the exponent {test.predicted:.4g} that convergence to h needs",
                 "" if rejected else _needs(test, test.predicted))
