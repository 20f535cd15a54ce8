"""Numerical warnings raised inside a check (NumPy's overflow, invalid value) belong to that
check's evidence: proofs_check.report._run_one records them in its section ("numerical
warnings"), counted per message and place, instead of printing them on the terminal; other
warnings are shown as usual."""

from __future__ import annotations

import dataclasses
import types
import warnings

import numpy as np
import pytest

from proofs_check import render, report
from proofs_check.result import failed_result


def _fake_check(overflows: int, raise_after: bool = False) -> types.ModuleType:
    module = types.ModuleType("fake_check")

    def run(context):
        big = np.full(3, 1e300)
        for _ in range(overflows):
            big * big  # overflow encountered in multiply, once per call (the "always" filter)
        np.log(np.array([-1.0]))  # invalid value encountered in log
        warnings.warn("not a numerical warning", UserWarning, stacklevel=1)
        if raise_after:
            raise ZeroDivisionError("crash after the warnings")
        return failed_result("fake", "a claim", "", "the verdict does not matter here")

    module.run = run
    module.CLAIM = "a claim"
    return module


@pytest.mark.parametrize("crash", [False, True])
def test_numerical_warnings_go_to_the_section_not_the_terminal(monkeypatch, crash) -> None:
    monkeypatch.setattr(report, "_load_check", lambda name: _fake_check(3, crash))
    with warnings.catch_warnings(record=True) as outside:
        warnings.simplefilter("always")
        (result,) = report._run_one("fake", context=None)
    categories = [w.category for w in outside]
    assert RuntimeWarning not in categories and categories == [UserWarning]
    text = result.details["numerical_warnings"]
    assert "overflow encountered in multiply (test_check_warnings.py:" in text
    assert " x3" in text and "invalid value encountered in log" in text
    assert text.count(";") == 1  # two distinct warnings, each once
    assert ("crash after the warnings" in result.details.get("error", "")) is crash
    labels = dict(render._detail_lines(result))
    assert labels["numerical warnings"] == text


def test_a_check_without_warnings_has_no_such_line(monkeypatch) -> None:
    module = types.ModuleType("quiet")
    module.run = lambda context: failed_result("quiet", "c", "", "r")
    monkeypatch.setattr(report, "_load_check", lambda name: module)
    (result,) = report._run_one("quiet", context=None)
    assert "numerical_warnings" not in result.details
    assert "numerical warnings" not in dict(render._detail_lines(result))


def test_many_distinct_warnings_are_capped() -> None:
    caught = []
    for line in range(report.WARNINGS_SHOWN + 3):
        caught.append(warnings.WarningMessage(RuntimeWarning("overflow"), RuntimeWarning,
                                              "/x/numerics/limit.py", line))
    text = report.numerical_warnings(caught)
    assert text.count("overflow (limit.py:") == report.WARNINGS_SHOWN
    assert text.endswith("; and 3 more")


@pytest.mark.parametrize("resolution, line", [
    (0.25, "this budget rejects any exponent farther than 0.25 from the prediction"),
    (float("inf"), "none: the acceptance window is unbounded"),
    (float("nan"), "none: the fit has no finite slope")])
def test_resolution_line_says_what_it_is(resolution, line) -> None:
    """A diverged network's fit (nan) and an unbounded window (inf) are said in words, never
    "rejects any exponent farther than nan"."""
    result = dataclasses.replace(failed_result("r", "c", "", "x"), resolution=resolution)
    assert dict(render._detail_lines(result))["resolution"] == line


def test_a_check_that_crashes_says_so_not_that_its_prediction_was_rejected(monkeypatch) -> None:
    """A crash is a failed check (exit 1) but not a rejected prediction: the verdict line said
    "the prediction is rejected by its own test" above "error: OverflowError ..."."""
    monkeypatch.setattr(report, "_load_check", lambda name: _fake_check(0, raise_after=True))
    with pytest.warns(UserWarning, match="not a numerical warning"):  # passed on, as usual
        (result,) = report._run_one("fake", context=None)
    assert result.verdict == "fail"
    labels = dict(render._detail_lines(result))
    assert "prediction is rejected" not in labels["verdict"]
    assert "stopped before it measured anything" in labels["verdict"]
    assert "ZeroDivisionError: crash after the warnings" in labels["error"]
    rejected = dataclasses.replace(result, details={})  # a real rejection keeps its sentence
    assert render.verdict_explanation(rejected) == "the prediction is rejected by its own test."
