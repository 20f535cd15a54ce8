"""The report's "Independent cross-checks" section: listed in report.md, report.html and
results.json; not installed -> "not run" (neither passed nor failed), report not failed; a
comparison beyond tolerance -> report failed (exit 1); a crash -> failed; results cached.
The peer libraries themselves are exercised by tests/crosscheck (marker ``crosscheck``); here
numerics.peer_comparisons.run_all_crosschecks is replaced by stand-ins (fast)."""

from __future__ import annotations

import json

import pytest

import numerics.peer_comparisons as peer_comparisons
import numerics.peer_libraries as peer_libraries
from derivations.inputs.config import load_config
from proofs_check.budget import TINY
from proofs_check.cache import Cache
from proofs_check.crosschecks import NOT_RUN_MESSAGE, run_crosschecks, section_status_line
from proofs_check.render import markdown
from proofs_check.report import Report, results_json, write_report
from proofs_check.result import CheckResult, Rival


def _result(name: str, deviation: float, tolerance: float) -> peer_libraries.CrossCheckResult:
    return peer_libraries.CrossCheckResult(
        name=name, library="quantecon", version="9.9", size="3 states",
        max_deviation=deviation, tolerance=tolerance, tolerance_source="test",
        passed=deviation <= tolerance)


def _passing_check() -> CheckResult:
    return CheckResult(
        name="dummy", claim="c", equation="", quantity="q", prediction=0.0, measured=0.0,
        ci=None, tolerance=1.0, tolerance_source="t", accepted=True,
        rivals=(Rival("wrong", 1.0, 2.0, True, "r"),))


def _report(section) -> Report:
    return Report(config=load_config(None), budget=TINY, results=(_passing_check(),),
                  seconds=0.0, cache_hits=0, cache_misses=0, crosschecks=section)


def _section(monkeypatch, fake, cache=None):
    monkeypatch.setattr(peer_libraries, "missing_libraries", lambda: [])  # as if installed
    monkeypatch.setattr(peer_comparisons, "run_all_crosschecks", fake)
    return run_crosschecks(load_config(None), cache or Cache(None, salt="test"))


def test_passing_crosschecks_listed_everywhere(monkeypatch, tmp_path):
    section = _section(monkeypatch, lambda config: [_result("pi, config chain", 1e-15, 1e-12),
                                                    _result("pi, word chain", 2e-15, 1e-12)])
    report = _report(section)
    assert section.status == "ran" and report.all_passed
    paths = write_report(report, tmp_path)
    doc = json.loads(paths["results"].read_text())
    assert [c["name"] for c in doc["crosschecks"]] == ["pi, config chain", "pi, word chain"]
    assert {"name", "library", "version", "size", "max_deviation", "tolerance",
            "passed"} <= set(doc["crosschecks"][0])
    assert doc["crosschecks"][0]["max_deviation"] == 1e-15
    md = paths["markdown"].read_text()
    assert "## Independent cross-checks" in md
    assert "| pi, word chain | quantecon 9.9 | 3 states | 2e-15 | 1e-12 | PASS |" in md
    page = paths["html"].read_text()
    assert "Independent cross-checks" in page and "pi, config chain" in page


def test_deviation_beyond_tolerance_fails_the_report(monkeypatch):
    section = _section(monkeypatch, lambda config: [_result("ok", 0.0, 1e-12),
                                                    _result("bad", 1e-9, 1e-12)])
    report = _report(section)
    assert section.status == "ran" and not section.passed and not report.all_passed
    assert results_json(report)["summary"]["all_passed"] is False
    assert "| bad | quantecon 9.9 | 3 states | 1e-09 | 1e-12 | FAIL |" in markdown(report)
    assert section_status_line(section).startswith(
        "FAIL: 1 of 2 comparisons within tolerance (")  # the count of the rows, not of all


def test_missing_extra_is_reported_not_failed(monkeypatch):
    def missing(config):
        raise peer_libraries.CrossCheckUnavailable("cross-check needs quantecon")

    section = _section(monkeypatch, missing)
    report = _report(section)
    assert section.status == "not run" and section.passed is None and report.all_passed
    assert NOT_RUN_MESSAGE in markdown(report)
    assert "independent cross-checks: not run" in markdown(report)
    summary = results_json(report)["summary"]
    assert summary["crosschecks"] == "not run" and summary["crosschecks_passed"] is None
    assert "pip install -e '.[crosscheck]'" in markdown(report)
    assert results_json(report)["crosschecks"] == []


def test_a_section_that_ran_no_comparison_does_not_pass(monkeypatch):
    """"ran" with nothing compared is no evidence: not passed, and the report is not passed."""
    section = _section(monkeypatch, lambda config: [])
    assert section.status == "ran" and section.entries == ()
    assert section.passed is False and not _report(section).all_passed


def test_crash_fails_the_report(monkeypatch):
    def crash(config):
        raise ZeroDivisionError("boom")

    section = _section(monkeypatch, crash)
    assert section.status == "error" and "boom" in section.message
    assert not _report(section).all_passed


def test_crosschecks_are_cached(monkeypatch, tmp_path):
    calls = []

    def counted(config):
        calls.append(1)
        return [_result("pi", 1e-15, 1e-12)]

    first = _section(monkeypatch, counted, Cache(tmp_path, salt="s"))
    second = _section(monkeypatch, counted, Cache(tmp_path, salt="s"))
    assert len(calls) == 1
    assert first.entries == second.entries


@pytest.mark.parametrize("flag", [True, False])
def test_cli_exit_code_follows_crosschecks(monkeypatch, tmp_path, flag):
    from proofs_check.commands import report as command

    section = _section(monkeypatch, lambda config: [_result("x", 0.0 if flag else 1.0, 0.5)])
    monkeypatch.setattr(command, "run_checks", lambda *a, **k: _report(section))
    args = type("A", (), {"config": None, "budget": "quick", "out": str(tmp_path),
                          "no_progress": True, "strict": False})()
    assert command.run(args) == (0 if flag else 1)
