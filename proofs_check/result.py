"""Results of the checks of the verification report.

A :class:`CheckResult` records one quantitative claim: the claim as a sentence and the stable
name of its equation (``rnnkl equations``), the prediction (a value, a bound or a rate
exponent), the measurement with its 95% confidence interval, the acceptance window the verdict
used and where its width comes from, whether the claim's own test accepted it, its named
**rivals** (competing theories put through a test on the same data, each rejected or not), and
the data of its figures.

Three-valued verdict (:attr:`CheckResult.verdict`):
* ``"pass"``: the prediction is accepted *and* every rival is rejected: the check could tell
  the theory apart from each competitor;
* ``"fail"``: the prediction is rejected;
* ``"inconclusive"``: the prediction is accepted but some rival is not rejected (or the check
  has no rival): the data cannot tell the theory from that rival at this budget; the rival
  says what budget would (:attr:`Rival.needs`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

Verdict = Literal["pass", "fail", "inconclusive"]
VERDICTS: tuple[str, ...] = ("pass", "fail", "inconclusive")


@dataclass(frozen=True)
class Rival:
    """A competing theory, tested on the claim's data with the claim's statistic.

    ``prediction`` is what the rival predicts for the statistic (same units as the claim's
    prediction; None when it predicts a region, said in ``reason``), ``measured`` the value the
    test compared it with, ``rejected`` the outcome and ``reason`` one sentence saying why;
    ``needs`` (when not rejected) what budget would reject it, if any.
    """

    name: str
    prediction: float | None
    measured: float | None
    rejected: bool
    reason: str
    needs: str = ""

    @property
    def verdict(self) -> str:
        return "rejected" if self.rejected else "not rejected"


@dataclass(frozen=True)
class LadderRow:
    """One rung of the N ladder behind a rate fit: the level value and its 95% interval."""

    N: int
    replicas: int
    value: float
    lo: float
    hi: float


@dataclass(frozen=True)
class FigureData:
    """Data for one figure: ``kind`` selects the plotting routine in :mod:`figures`.

    ``series`` maps a label to an array (1-D or 2-D); ``meta`` holds scalars (slopes, labels).
    """

    kind: str
    title: str
    series: dict[str, np.ndarray] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CheckResult:
    """One claim, its measurement, its verdict and its rivals.

    ``prediction``/``measured``/``ci`` are in the units named by ``quantity`` (e.g. "rate
    exponent", "max ratio to bound", "relative error"). ``window`` is the acceptance window
    the verdict used (for a rate: the slope's 99.5% interval widened by the stated
    allowances), ``tolerance`` its half-width (or the bound a value is compared with) and
    ``tolerance_source`` where it comes from. ``accepted``: the claim's own test. ``resolution``:
    the smallest deviation from the prediction this budget can reject (rate checks).
    ``ladder``: the per-N table behind a fit.
    """

    name: str
    claim: str
    equation: str
    quantity: str
    prediction: float | None
    measured: float | None
    ci: tuple[float, float] | None
    tolerance: float | None
    tolerance_source: str
    accepted: bool
    rivals: tuple[Rival, ...] = ()
    window: tuple[float, float] | None = None
    resolution: float | None = None
    ladder: tuple[LadderRow, ...] = ()
    figures: tuple[FigureData, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    formula: str = ""  # LaTeX of the claim (shown as $$...$$); registry LaTeX preferred

    @property
    def verdict(self) -> Verdict:
        """pass / fail / inconclusive (module docstring)."""
        if not self.accepted:
            return "fail"
        if self.rivals and all(r.rejected for r in self.rivals):
            return "pass"
        return "inconclusive"

    @property
    def passed(self) -> bool:
        return self.verdict == "pass"

    @property
    def unrejected(self) -> tuple[Rival, ...]:
        """The rivals this budget could not reject."""
        return tuple(r for r in self.rivals if not r.rejected)


def failed_result(name: str, claim: str, equation: str, reason: str) -> CheckResult:
    """A check that could not be run (missing module, error): verdict fail, no rivals."""
    return CheckResult(
        name=name,
        claim=claim,
        equation=equation,
        quantity="(not measured)",
        prediction=None,
        measured=None,
        ci=None,
        tolerance=None,
        tolerance_source="",
        accepted=False,
        details={"error": reason},
    )


def _jsonable(value: Any) -> Any:
    """Convert numpy scalars/arrays, tuples and non-finite floats to plain JSON values."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        x = float(value)
        return x if math.isfinite(x) else str(x)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    return value


def rival_to_dict(rival: Rival) -> dict[str, Any]:
    return _jsonable({"name": rival.name, "prediction": rival.prediction,
                      "measured": rival.measured, "verdict": rival.verdict,
                      "rejected": rival.rejected, "reason": rival.reason, "needs": rival.needs})


def result_to_dict(result: CheckResult) -> dict[str, Any]:
    """The JSON record of a check (results.json ``checks`` entries; figure arrays omitted)."""
    return _jsonable(
        {
            "name": result.name,
            "claim": result.claim,
            "equation": result.equation,
            "quantity": result.quantity,
            "prediction": result.prediction,
            "measured": result.measured,
            "ci": list(result.ci) if result.ci is not None else None,
            "tolerance": result.tolerance,
            "tolerance_source": result.tolerance_source,
            "window": list(result.window) if result.window is not None else None,
            "resolution": result.resolution,
            "accepted": result.accepted,
            "verdict": result.verdict,
            "passed": result.passed,
            "rivals": [rival_to_dict(r) for r in result.rivals],
            "ladder": [{"N": row.N, "replicas": row.replicas, "value": row.value,
                        "ci": [row.lo, row.hi]} for row in result.ladder],
            "formula": result.formula,
            "details": result.details,
            "seconds": round(result.seconds, 3),
        }
    )
