"""benchmarks/verdict_calibration.py counts each result's verdicts over seeds: two seeds of the
output at initialisation (an exact prediction; 200/200 PASS in the run README.md records)
count two passes per result, and the printed table says so."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _module(monkeypatch):
    spec = importlib.util.spec_from_file_location("verdict_calibration",
                                                  ROOT / "benchmarks" / "verdict_calibration.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "verdict_calibration", module)
    spec.loader.exec_module(module)
    return module


def test_counts_per_result_over_seeds(monkeypatch, capsys):
    module = _module(monkeypatch)
    counts = module.calibrate("output_at_init", 2, "quick", None)
    assert counts == {("output_at_init", "pass"): 2, ("output_at_init_sharpness", "pass"): 2}
    assert module.main(["--checks", "output_at_init", "--seeds", "2"]) == 0
    out = capsys.readouterr().out
    assert "output_at_init: 2 seeds" in out and "pass    2" in out and "fail    0" in out
