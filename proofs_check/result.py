"""Results of the checks of the verification report (issue 5).

A :class:`CheckResult` records one quantitative claim of MODEL.md: the claim as a sentence and
the stable name of its equation (``rnnkl equations``), the prediction (a value, a bound or a
rate exponent), the measurement with its 95% confidence interval, the tolerance and where it
comes from, the verdict, the negative control (a deliberately wrong theory put through the
*same* acceptance test, which must reject it) and the data of the check's figure.

A check passes only when its own test passes *and* its negative control is rejected
(:attr:`CheckResult.passed`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

Verdict = Literal["pass", "fail"]
ControlVerdict = Literal["rejected", "accepted"]


@dataclass(frozen=True)
class NegativeControl:
    """A deliberately wrong theory evaluated by the same acceptance test as the claim.

    ``prediction`` is what the wrong theory predicts (same units as the claim's prediction),
    ``measured`` the statistic the test compared it with, ``verdict`` "rejected" when the test
    rejects the wrong theory (the desired outcome) and ``reason`` one sentence saying why.
    """

    name: str
    prediction: float | None
    measured: float | None
    verdict: ControlVerdict
    reason: str


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
    """One claim of MODEL.md, its measurement, its verdict and its negative control.

    ``prediction``/``measured``/``ci`` are in the units named by ``quantity`` (e.g. "rate
    exponent", "max ratio to bound", "relative error"). ``tolerance`` is the half-width (or
    bound) the acceptance test used and ``tolerance_source`` says where it comes from.
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
    verdict: Verdict
    negative_control: NegativeControl | None
    figures: tuple[FigureData, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    formula: str = ""  # LaTeX of the claim (shown as $$...$$); registry LaTeX preferred

    @property
    def passed(self) -> bool:
        """The check counts as passed: verdict pass and its negative control rejected."""
        control_ok = self.negative_control is not None and (
            self.negative_control.verdict == "rejected"
        )
        return self.verdict == "pass" and control_ok


def failed_result(name: str, claim: str, equation: str, reason: str) -> CheckResult:
    """A check that could not be run (missing module, error): verdict fail, no control."""
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
        verdict="fail",
        negative_control=None,
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


def control_to_dict(control: NegativeControl | None) -> dict[str, Any] | None:
    if control is None:
        return None
    return _jsonable(
        {
            "name": control.name,
            "prediction": control.prediction,
            "measured": control.measured,
            "verdict": control.verdict,
            "reason": control.reason,
        }
    )


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
            "verdict": result.verdict,
            "passed": result.passed,
            "negative_control": control_to_dict(result.negative_control)
            or {"name": None, "verdict": "accepted", "reason": "no control was run"},
            "formula": result.formula,
            "details": result.details,
            "seconds": round(result.seconds, 3),
        }
    )
