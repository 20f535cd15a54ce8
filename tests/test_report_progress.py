"""What the report says while it works: a tqdm bar on a terminal, one plain line per check
when stderr is a file, nothing on stdout; the one-time notice of a slow first step (numba
compiling); and honest words for cross-checks that did not run."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import time

import pytest

from derivations.inputs.config import load_config
from numerics.progress import progress_bar, slow_start_notice
from proofs_check.announce import Announcer, choose_mode
from proofs_check.result import failed_result


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_report_with_stderr_in_a_file_prints_one_line_per_check(tmp_path):
    """`rnnkl report` with stderr redirected to a file (not a terminal): a start line per check
    module, exactly one end line per check of results.json with its verdict, the closing line,
    and nothing on stdout. Shortened run (horizon, word length) to keep the test fast."""
    out = tmp_path / "report"
    with open(tmp_path / "stderr.txt", "w") as err, open(tmp_path / "stdout.txt", "w") as stdout:
        code = subprocess.run(
            [sys.executable, "-m", "proofs_check", "report", "--out", str(out),
             "--set", "training.horizon=0.5", "--set", "limit.word_length=3"],
            stdout=stdout, stderr=err, env={**os.environ, "PYTHONUNBUFFERED": "1"},
            timeout=900, check=False).returncode
    text = (tmp_path / "stderr.txt").read_text()
    assert (tmp_path / "stdout.txt").read_text() == ""
    doc = json.loads((out / "results.json").read_text())
    assert code == (1 if doc["summary"]["failed_any"] else 0), text
    assert "\r" not in text  # no bar redraws in a file
    for check in doc["checks"]:
        ends = re.findall(rf"^rnnkl report: check {check['name']}: "
                          r"(PASS|FAIL|INCONCLUSIVE) in [0-9.]+ s \(ended [0-9:]+\); (.*)$",
                          text, flags=re.MULTILINE)
        assert [verdict for verdict, _ in ends] == [check["verdict"].upper()], (check["name"], text)
        # the rivals' verdicts, as results.json has them
        rivals = check["rivals"]
        rejected = sum(rival["verdict"] == "rejected" for rival in rivals)
        standing = "; ".join(r["name"] for r in rivals if r["verdict"] != "rejected")
        assert ends[0][1] == (f"{rejected} of {len(rivals)} rivals rejected"
                              + (f" (not rejected: {standing})" if standing else ""))
    starts = re.findall(r"^rnnkl report: start (\w+) \(\d+/\d+\) at ", text, flags=re.MULTILINE)
    assert "main_theorem" in starts and "tiers" in starts
    closing = text.strip().splitlines()[-1]
    summary = doc["summary"]
    assert closing.startswith(f"rnnkl report: {summary['passed']} pass, {summary['failed']} "
                              f"fail, {summary['inconclusive']} inconclusive of "
                              f"{summary['checks']} checks")
    assert f"independent cross-checks: {doc['summary']['crosschecks']}" in closing


def test_terminal_mode_draws_a_bar_and_finished_checks_above_it():
    stream = _Terminal()
    assert choose_mode(True, stream) == "bar" and choose_mode(False, stream) == "off"
    assert choose_mode(True, io.StringIO()) == "lines"
    announcer = Announcer(["a", "b"], [1.0, 3.0], mode="bar", stream=stream)
    announcer.start(0)
    announcer.tick(0.5)
    announcer.finish((failed_result("a", "claim", "", "boom"),))
    announcer.start(1)
    announcer.finish(())
    announcer.close()
    text = stream.getvalue()
    assert "rnnkl report: check a: FAIL" in text
    assert "rnnkl report: b" in text  # the bar's label names the running check
    assert "nan" not in text and "inf" not in text


def test_the_bar_advances_by_each_modules_share_of_the_cost():
    """Two modules of relative costs 1 and 3 share the bar's TICKS: a module's ticks move the bar
    within its own share only (a fraction above 1 or below 0 is held to it), and each finished
    module leaves the bar at the sum of the finished shares. Read from the bar's own count."""
    from proofs_check.announce import TICKS

    announcer = Announcer(["a", "b"], [1.0, 3.0], mode="bar", stream=_Terminal())
    bar = announcer._bar  # the tqdm bar the user sees
    announcer.start(0)
    announcer.tick(0.5)
    assert bar.n == pytest.approx(TICKS * 0.5 / 4, abs=0.0)
    announcer.tick(7.0)  # a module that over-reports stays within its share
    assert bar.n == pytest.approx(TICKS * 1 / 4, abs=0.0)
    announcer.finish(())
    announcer.start(1)
    announcer.tick(-3.0)
    assert bar.n == pytest.approx(TICKS * 1 / 4, abs=0.0)
    announcer.tick(0.5)
    assert bar.n == pytest.approx(TICKS * (1 + 1.5) / 4, abs=0.0)
    announcer.finish(())
    assert bar.n == pytest.approx(TICKS, abs=0.0)
    announcer.close()


def test_lines_mode_numbers_the_modules_from_one():
    stream = io.StringIO()
    announcer = Announcer(["tiers", "memory"], [1.0, 1.0], mode="lines", stream=stream)
    for index in (0, 1):
        announcer.start(index)
        announcer.finish(())
    starts = re.findall(r"^rnnkl report: start (\w+) \((\d+)/(\d+)\) at \d\d:\d\d:\d\d$",
                        stream.getvalue(), flags=re.MULTILINE)
    assert starts == [("tiers", "1", "2"), ("memory", "2", "2")]


def test_off_mode_is_silent():
    stream = io.StringIO()
    announcer = Announcer(["a"], [1.0], mode="off", stream=stream)
    announcer.start(0)
    announcer.finish((failed_result("a", "claim", "", "boom"),))
    announcer.section("independent cross-checks", "not run")
    announcer.close()
    assert stream.getvalue() == ""


def test_progress_bar_draws_only_on_a_terminal():
    plain, terminal = io.StringIO(), _Terminal()
    for stream in (plain, terminal):
        with progress_bar(10, "simulate", stream=stream) as bar:
            bar.update(10)
    assert plain.getvalue() == ""
    assert "simulate" in terminal.getvalue() and "/10 " in terminal.getvalue()


def test_slow_start_notice_speaks_only_when_slow():
    stream = io.StringIO()
    with slow_start_notice("compiling the fast kernels", after=0.05, stream=stream):
        time.sleep(0.3)
    lines = stream.getvalue().splitlines()
    assert lines[0] == "compiling the fast kernels ..."
    assert re.fullmatch(r"compiling the fast kernels: done in \d+ s", lines[1])
    quiet = io.StringIO()
    with slow_start_notice("compiling the fast kernels", after=5.0, stream=quiet):
        pass
    assert quiet.getvalue() == ""


def test_crosschecks_without_the_extra_are_not_run_never_passed(monkeypatch, tmp_path):
    """Missing peer libraries: decided before the cache (no miss on any run), status "not run",
    passed None (null in results.json), and every output says "not run"."""
    from numerics import peer_libraries
    from proofs_check.budget import TINY
    from proofs_check.cache import Cache
    from proofs_check.crosschecks import run_crosschecks
    from proofs_check.render import markdown
    from proofs_check.report import Report, results_json

    monkeypatch.setattr(peer_libraries, "missing_libraries", lambda: ["neural-tangents"])
    config = load_config(None)
    cache = Cache(tmp_path / "cache")
    for _ in range(2):
        section = run_crosschecks(config, cache)
        assert section.status == "not run" and section.passed is None
    assert cache.misses == 0 and cache.hits == 0
    report = Report(config=config, budget=TINY, results=(), seconds=0.0, cache_hits=0,
                    cache_misses=0, crosschecks=section)
    doc = results_json(report)
    assert doc["summary"]["crosschecks_passed"] is None
    assert doc["summary"]["crosschecks"] == "not run"
    assert doc["crosschecks_status"]["passed"] is None
    assert "independent cross-checks: not run" in markdown(report)
