"""Progress bar: "eta --" until the rate is known (never "nan"), and the report draws it on
stderr only, keeping stdout clean (stdout may be piped into other tools)."""

from __future__ import annotations

import io

from derivations.config import load_config
from numerics.progress import ProgressBar, format_eta
from proofs_check import report as report_module
from proofs_check.budget import TINY


def test_eta_unknown_at_zero_percent():
    stream = io.StringIO()
    bar = ProgressBar(10, "x", enabled=True, stream=stream, min_interval=0.0)
    bar.update(0)
    text = stream.getvalue()
    assert "eta     --" in text and "nan" not in text and "inf" not in text
    assert format_eta(0.0, 0.0).strip() == "--"
    assert format_eta(5.0, 0.0).strip() == "--"
    assert format_eta(0.0, 0.5).strip() == "--"
    assert format_eta(float("nan"), 0.5).strip() == "--"
    assert format_eta(10.0, 0.25).strip() == "30.0s"  # 10 s for a quarter: 30 s to go


def test_report_progress_goes_to_stderr_only(monkeypatch, capsys):
    # Force the bar on (pytest's stderr is not a tty) and run one cheap (missing) check.
    def forced(total, label="", **kwargs):
        assert kwargs.get("enabled") is None  # progress=True: auto (tty) mode
        return ProgressBar(total, label, enabled=True, min_interval=0.0)

    monkeypatch.setattr(report_module, "ProgressBar", forced)
    result = report_module.run_checks(load_config(None), TINY, None, progress=True,
                                      checks=("no_such_check",), crosschecks=False)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "rnnkl report" in captured.err and "100.0%" in captured.err
    assert "nan" not in captured.err
    assert result.results[0].verdict == "fail"  # a missing check is a failed check
