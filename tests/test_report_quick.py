"""The quick-budget report end to end: on the built-in default configuration and on an example
(linear_two_state, the fastest shipped example), no check fails, `rnnkl report` exits 0, every
PASS has all its rivals rejected, and results.json matches report.md. Slow (under a minute
each): marked ``slow``."""

from __future__ import annotations

import json
import re

import pytest

from proofs_check.cli import main


def _table(md: str) -> list[list[str]]:
    rows = [line for line in md.splitlines() if line.startswith("| ") and "---" not in line]
    return [[c.strip() for c in re.split(r"(?<!\\)\|", row)[1:-1]] for row in rows[1:]]


@pytest.mark.slow
@pytest.mark.parametrize("config", [None, "examples/linear_two_state.toml"])
def test_quick_report_nothing_fails_and_no_pass_holds_a_rival(config, tmp_path):
    """Quick budget: no check fails and `rnnkl report` exits 0 (inconclusive is allowed at this
    budget); a PASS always has every rival rejected, and no PASS has a rival exponent inside its
    acceptance window; report.md's table matches results.json."""
    args = ["report", "--budget", "quick", "--out", str(tmp_path), "--no-progress"]
    if config:
        args += ["--config", config]
    code = main(args)
    doc = json.loads((tmp_path / "results.json").read_text())
    failures = [(c["name"], c.get("details", {}).get("error")) for c in doc["checks"]
                if c["verdict"] == "fail"]
    assert not failures
    assert all(entry["passed"] for entry in doc["crosschecks"])
    assert code == 0
    names = {c["name"] for c in doc["checks"]}
    assert {"tiers_generated", "tiers_poisson", "tiers_kernel", "tiers_limit",
            "memory_contraction", "sobolev_bounds", "kernel_at_init", "output_at_init",
            "parameter_drift", "parameter_drift_max", "lazy_training", "poisson_pathwise",
            "poisson_variance", "poisson_drift", "main_theorem", "frozen_network"} <= names
    for check in doc["checks"]:
        if check["verdict"] == "pass":
            assert all(r["verdict"] == "rejected" for r in check["rivals"]), check["name"]
            if check["window"] is not None:
                lo, hi = check["window"]
                inside = [r["name"] for r in check["rivals"] if r["prediction"] is not None
                          and "rate" in r["name"] and lo <= r["prediction"] <= hi]
                assert not inside, (check["name"], inside)
        if check["ci"] is not None:
            lo, hi = check["ci"]
            assert lo <= check["measured"] <= hi
    summary = (tmp_path / "report.md").read_text().partition("## Summary")[2]
    rows = _table(summary.partition("\n## ")[0])
    assert [(r[0], r[7]) for r in rows] == [(c["name"], c["verdict"].upper())
                                            for c in doc["checks"]]
